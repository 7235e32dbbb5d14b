//! Case-insensitive names for actors, groups and topics.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use ecow::EcoString;

/// The name of an actor, group or topic.
///
/// Names compare and hash case-insensitively (`"Main"` and `"main"` are the
/// same actor) but keep the spelling they were created with for display.
/// Names of up to 15 bytes are stored inline (no allocation; cloning is a
/// copy); longer ones share their text.
///
/// # Examples
///
/// ```
/// use polyceph::Name;
///
/// assert_eq!(Name::new("Main"), Name::new("mAIN"));
/// assert_eq!(Name::new("Main").to_string(), "Main");
/// ```
#[derive(Clone)]
pub struct Name(EcoString);

impl Name {
    /// Makes a name from any string.
    pub fn new(name: impl AsRef<str>) -> Self {
        Self(EcoString::from(name.as_ref()))
    }

    /// The name as it was spelled when created.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name equals `other`, ignoring case.
    pub fn is(&self, other: &str) -> bool {
        eq_ignore_case(&self.0, other)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        eq_ignore_case(&self.0, &other.0)
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.is(other)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_ignore_case(&self.0, state);
    }
}

impl From<&str> for Name {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for Name {
    fn from(name: String) -> Self {
        Self(EcoString::from(name))
    }
}

impl From<&Name> for Name {
    fn from(name: &Name) -> Self {
        name.clone()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::new(text))
    }
}

/// A borrowed name used to look up a [`Name`] key without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameRef<'a>(pub(crate) &'a str);

impl Hash for NameRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_ignore_case(self.0, state);
    }
}

impl hashbrown::Equivalent<Name> for NameRef<'_> {
    fn equivalent(&self, key: &Name) -> bool {
        eq_ignore_case(self.0, &key.0)
    }
}

fn folded(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase)
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    // The common cases settle in one pass: the same spelling (most lookups
    // use the name the actor was registered with), or equal up to ASCII case.
    if a.len() == b.len() && (a == b || a.eq_ignore_ascii_case(b)) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    folded(a).eq(folded(b))
}

/// The hash of a name, case ignored, as the directory's tables keep it
/// (one random seed per process).
pub(crate) fn hash_of(name: &str) -> u64 {
    static STATE: std::sync::LazyLock<hashbrown::DefaultHashBuilder> = std::sync::LazyLock::new(Default::default);
    STATE.hash_one(NameRef(name))
}

/// Hashes the lowercase form. An ASCII name is lowered as it is hashed; any
/// other is folded into a `String` first. Both feed the hasher the same
/// bytes in the same pieces for the same lowercase text, which `Hash`/`Eq`
/// consistency needs when one spelling is ASCII and the other is not
/// (KELVIN SIGN lowers to ASCII `k`).
fn hash_ignore_case<H: Hasher>(text: &str, state: &mut H) {
    if text.is_ascii() {
        write_lowered(text.as_bytes(), state);
    } else {
        let lower: String = folded(text).collect();
        write_lowered(lower.as_bytes(), state);
    }
    state.write_u8(0xff);
}

/// Writes `bytes`, ASCII letters lowered, in pieces of 16 bytes: a name
/// stored inline (up to 15 bytes) is one small copy and one `write`.
fn write_lowered<H: Hasher>(bytes: &[u8], state: &mut H) {
    for piece in bytes.chunks(16) {
        let mut lower = [0_u8; 16];
        lower[..piece.len()].copy_from_slice(piece);
        lower.make_ascii_lowercase();
        state.write(&lower[..piece.len()]);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn names_ignore_case_also_beyond_ascii() {
        assert_eq!(Name::new("Ärger"), Name::new("äRGER"));
        assert_ne!(Name::new("main"), Name::new("mains"));
    }

    #[test]
    fn borrowed_lookup_hashes_like_the_owned_name() {
        let state = hashbrown::DefaultHashBuilder::default();
        let long = "A-Name-Longer-Than-Sixteen-Bytes-\u{212A}elvin";
        let mixed = ["Main", "ÄRGER", "\u{212A}elvin", long, "an-ascii-name-of-more-than-32-bytes"];
        for text in mixed {
            let lower = text.to_lowercase();
            assert_eq!(state.hash_one(Name::new(text)), state.hash_one(NameRef(&lower)));
            assert_eq!(state.hash_one(Name::new(text)), state.hash_one(Name::new(text.to_uppercase())));
            assert_eq!(Name::new(text), Name::new(&lower));
        }
        // The KELVIN SIGN lowers to an ASCII `k`: the same name as the ASCII spelling.
        assert_eq!(state.hash_one(Name::new("\u{212A}elvin")), state.hash_one(Name::new("Kelvin")));
        assert_eq!(Name::new("\u{212A}elvin"), Name::new("kELVIN"));
    }
}
