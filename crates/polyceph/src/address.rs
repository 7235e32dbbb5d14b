//! Where mail goes.

use std::fmt;

use crate::Name;

/// Where an [`Envelope`](crate::Envelope) goes.
///
/// | address | who gets the mail |
/// |---|---|
/// | [`Address::Actor`] | the one actor with that name |
/// | [`Address::Group`] | one member of the group, taking turns (round-robin) |
/// | [`Address::Topic`] | a copy for every subscriber |
/// | [`Address::Everyone`] | a copy for every running actor but the sender |
///
/// A plain string converts to an actor address. The text form, used on the
/// wire and by [`Address::parse`], is `name`, `group:name`, `topic:name` or `*`.
///
/// # Examples
///
/// ```
/// use polyceph::Address;
///
/// assert_eq!(Address::from("main"), Address::actor("Main"));
/// assert_eq!(Address::parse("topic:telemetry"), Address::topic("telemetry"));
/// assert_eq!(Address::group("workers").to_string(), "group:workers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// One actor, by name.
    Actor(Name),
    /// One member of a group, round-robin.
    Group(Name),
    /// Every subscriber of a topic.
    Topic(Name),
    /// Every running actor except the sender.
    Everyone,
}

impl Address {
    /// The address of one actor.
    pub fn actor(name: impl Into<Name>) -> Self {
        Self::Actor(name.into())
    }

    /// The address of a group.
    pub fn group(name: impl Into<Name>) -> Self {
        Self::Group(name.into())
    }

    /// The address of a topic.
    pub fn topic(name: impl Into<Name>) -> Self {
        Self::Topic(name.into())
    }

    /// Parses the text form: `group:name`, `topic:name`, `*`, or an actor name.
    pub fn parse(text: &str) -> Self {
        if text == "*" {
            Self::Everyone
        } else if let Some(name) = text.strip_prefix("group:") {
            Self::group(name)
        } else if let Some(name) = text.strip_prefix("topic:") {
            Self::topic(name)
        } else {
            Self::actor(text)
        }
    }

    /// The actor, group or topic name; `None` for [`Address::Everyone`].
    pub fn name(&self) -> Option<&Name> {
        match self {
            Self::Actor(n) | Self::Group(n) | Self::Topic(n) => Some(n),
            Self::Everyone => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Actor(n) => write!(f, "{n}"),
            Self::Group(n) => write!(f, "group:{n}"),
            Self::Topic(n) => write!(f, "topic:{n}"),
            Self::Everyone => f.write_str("*"),
        }
    }
}

impl From<&str> for Address {
    fn from(name: &str) -> Self {
        Self::actor(name)
    }
}

impl From<String> for Address {
    fn from(name: String) -> Self {
        Self::actor(name)
    }
}

impl From<Name> for Address {
    fn from(name: Name) -> Self {
        Self::Actor(name)
    }
}

impl From<&Name> for Address {
    fn from(name: &Name) -> Self {
        Self::Actor(name.clone())
    }
}

impl From<&Address> for Address {
    fn from(address: &Address) -> Self {
        address.clone()
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Self::parse(&text))
    }
}
