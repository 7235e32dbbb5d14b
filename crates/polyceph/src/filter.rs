//! Filters: which mail a handler wants.

use std::fmt;
use std::ops;

use regex::Regex;

use crate::Envelope;
use crate::error::FilterError;

/// A predicate over envelopes: regular expressions on fields and headers,
/// combined with and / or / not.
///
/// A field filter reads the text form of a field or header (see
/// [`Envelope::field`]) and matches when its regex finds a match anywhere in
/// it (anchor with `^…$` for a whole match; `(?i)` ignores case). A missing
/// header never matches. Patterns are compiled when the filter is made, so an
/// invalid regex is an error there, never at delivery.
///
/// # Examples
///
/// ```
/// use polyceph::{Envelope, Filter};
///
/// let salutation = Filter::subject(r"(?i)^salutation$")?;
/// let urgent = Filter::header("level", r"^(warn|error)$")?;
/// let from_hello = Filter::sender("^hello$")?;
///
/// let mail = Envelope::new("hello", "main", "SALUTATION", ()).with_header("level", "warn");
/// assert!(salutation.matches(&mail));
/// assert!((salutation.clone() & from_hello).matches(&mail));
/// assert!((urgent | Filter::subject("never")?).matches(&mail));
/// assert!(!(!salutation).matches(&mail));
/// assert!(Filter::subject("(").is_err());
/// # Ok::<(), polyceph::error::FilterError>(())
/// ```
#[derive(Clone)]
pub struct Filter(Node);

#[derive(Clone)]
enum Node {
    Any,
    Field(Field, Pattern),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

/// A compiled pattern, with a shortcut for the most common kind of filter:
/// a whole literal (`^salutation$`, `(?i)^salutation$`), compared directly
/// instead of through the regex engine. The shortcut answers exactly as the
/// regex would; the regex is kept for everything else.
#[derive(Clone)]
struct Pattern {
    regex: Regex,
    literal: Option<Literal>,
}

#[derive(Clone)]
struct Literal {
    text: String,
    ignore_ascii_case: bool,
}

impl Pattern {
    fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(pattern)?;
        let (ignore_ascii_case, anchored) = match pattern.strip_prefix("(?i)") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let literal = anchored
            .strip_prefix('^')
            .and_then(|rest| rest.strip_suffix('$'))
            .filter(|text| regex::escape(text) == *text && (!ignore_ascii_case || text.is_ascii()))
            .map(|text| Literal { text: text.to_owned(), ignore_ascii_case });
        Ok(Self { regex, literal })
    }

    fn is_match(&self, text: &str) -> bool {
        match &self.literal {
            Some(Literal { text: want, ignore_ascii_case: false }) => text == want,
            // Unicode case folding can map non-ASCII text onto ASCII letters
            // (KELVIN SIGN is `k`): leave such text to the regex.
            Some(Literal { text: want, ignore_ascii_case: true }) if text.is_ascii() => text.eq_ignore_ascii_case(want),
            _ => self.regex.is_match(text),
        }
    }
}

#[derive(Clone)]
enum Field {
    Subject,
    Sender,
    Other(String),
}

impl Filter {
    /// Matches every envelope.
    pub fn any() -> Self {
        Self(Node::Any)
    }

    /// Matches when the subject matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`FilterError::InvalidRegex`] if `pattern` is not a valid regex.
    pub fn subject(pattern: &str) -> Result<Self, FilterError> {
        Self::field_kind(Field::Subject, "subject", pattern)
    }

    /// Matches when the sender's name matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`FilterError::InvalidRegex`] if `pattern` is not a valid regex.
    pub fn sender(pattern: &str) -> Result<Self, FilterError> {
        Self::field_kind(Field::Sender, "sender", pattern)
    }

    /// Matches when the recipient's text form (`main`, `topic:t`, ...) matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`FilterError::InvalidRegex`] if `pattern` is not a valid regex.
    pub fn recipient(pattern: &str) -> Result<Self, FilterError> {
        Self::header("recipient", pattern)
    }

    /// Matches when the field or custom header `name` (see [`Envelope::field`])
    /// is present and its text form matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`FilterError::InvalidRegex`] if `pattern` is not a valid regex.
    pub fn header(name: &str, pattern: &str) -> Result<Self, FilterError> {
        let field = match name {
            "subject" => Field::Subject,
            "sender" => Field::Sender,
            other => Field::Other(other.to_owned()),
        };
        Self::field_kind(field, name, pattern)
    }

    fn field_kind(field: Field, name: &str, pattern: &str) -> Result<Self, FilterError> {
        let compiled = Pattern::new(pattern).map_err(|source| FilterError::InvalidRegex {
            field: name.to_owned(),
            pattern: pattern.to_owned(),
            source,
        })?;
        Ok(Self(Node::Field(field, compiled)))
    }

    /// Matches when both match.
    #[must_use]
    pub fn and(self, other: Filter) -> Self {
        Self(Node::And(Box::new(self.0), Box::new(other.0)))
    }

    /// Matches when either matches.
    #[must_use]
    pub fn or(self, other: Filter) -> Self {
        Self(Node::Or(Box::new(self.0), Box::new(other.0)))
    }

    /// Matches when this one does not.
    #[must_use]
    pub fn negate(self) -> Self {
        Self(Node::Not(Box::new(self.0)))
    }

    /// Whether `mail` passes this filter.
    pub fn matches(&self, mail: &Envelope) -> bool {
        self.0.matches(mail)
    }
}

impl Node {
    fn matches(&self, mail: &Envelope) -> bool {
        match self {
            Self::Any => true,
            Self::Field(Field::Subject, re) => re.is_match(mail.subject()),
            Self::Field(Field::Sender, re) => re.is_match(mail.sender().as_str()),
            Self::Field(Field::Other(name), re) => mail.field(name).is_some_and(|text| re.is_match(&text)),
            Self::And(a, b) => a.matches(mail) && b.matches(mail),
            Self::Or(a, b) => a.matches(mail) || b.matches(mail),
            Self::Not(a) => !a.matches(mail),
        }
    }
}

impl ops::BitAnd for Filter {
    type Output = Filter;
    fn bitand(self, rhs: Filter) -> Filter {
        self.and(rhs)
    }
}

impl ops::BitOr for Filter {
    type Output = Filter;
    fn bitor(self, rhs: Filter) -> Filter {
        self.or(rhs)
    }
}

impl ops::Not for Filter {
    type Output = Filter;
    fn not(self) -> Filter {
        self.negate()
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Field(field, re) => {
                let name = match field {
                    Field::Subject => "subject",
                    Field::Sender => "sender",
                    Field::Other(name) => name,
                };
                write!(f, "{name} ~ /{}/", re.regex.as_str())
            }
            Self::And(a, b) => write!(f, "({a} and {b})"),
            Self::Or(a, b) => write!(f, "({a} or {b})"),
            Self::Not(a) => write!(f, "not {a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;

    #[test]
    fn non_string_headers_match_on_their_text_form() {
        let mail = Envelope::new("a", Address::topic("t"), "s", ()).with_header("count", 42).with_header("ok", true);
        assert!(Filter::header("count", "^42$").unwrap().matches(&mail));
        assert!(Filter::header("ok", "^true$").unwrap().matches(&mail));
        assert!(Filter::recipient("^topic:t$").unwrap().matches(&mail));
        assert!(Filter::header("thread_index", "^1$").unwrap().matches(&mail));
        assert!(!Filter::header("missing", "").unwrap().matches(&mail));
    }

    #[test]
    fn literal_shortcut_answers_as_the_regex_does() {
        let patterns = ["^tell$", "(?i)^SALUTATION$", "^a.b$", "^$", "(?i)^k$", "tell", "^te(ll)$"];
        let texts = ["tell", "TELL", "salutation", "Salutation", "a.b", "axb", "", "k", "K", "\u{212A}", "tell\n"];
        for pattern in patterns {
            let compiled = Pattern::new(pattern).unwrap();
            let regex = Regex::new(pattern).unwrap();
            for text in texts {
                assert_eq!(compiled.is_match(text), regex.is_match(text), "{pattern:?} on {text:?}");
            }
        }
        assert!(Pattern::new("^tell$").unwrap().literal.is_some());
        assert!(Pattern::new("^a.b$").unwrap().literal.is_none());
    }

    #[test]
    fn filters_print_readably() {
        let filter = Filter::subject("^a$").unwrap() & !Filter::sender("b").unwrap();
        assert_eq!(filter.to_string(), "(subject ~ /^a$/ and not sender ~ /b/)");
    }
}
