//! Header values and the header map.

use std::collections::BTreeMap;
use std::fmt;

use ecow::EcoString;
use smallvec::SmallVec;

/// The value of a header: strings, integers, floats, booleans, bytes, lists
/// and maps, as e-mail's `X-` headers carry text and msgpack carries values.
///
/// Every value has a text form ([`Display`](fmt::Display)) that
/// [`Filter`](crate::Filter)s match against: strings are themselves, numbers
/// and booleans are written as Rust writes them, bytes as lowercase hex, and
/// lists and maps JSON-like (`["a", 1]`, `{"k": true}`).
///
/// # Examples
///
/// ```
/// use polyceph::Value;
///
/// assert_eq!(Value::from(123).to_string(), "123");
/// assert_eq!(Value::from(vec!["Arg1", "Arg2"]).to_string(), r#"["Arg1", "Arg2"]"#);
/// assert_eq!(Value::from("plain").as_str(), Some("plain"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// No value (msgpack `nil`, JSON `null`).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`; smaller ones are always [`Value::Int`].
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string: up to 15 bytes are stored inline, longer ones are shared,
    /// so cloning a string value never copies it
    /// ([`EcoString`](crate::EcoString)).
    Str(EcoString),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values.
    List(Vec<Value>),
    /// A map from string keys to values.
    Map(BTreeMap<String, Value>),
    /// A msgpack extension value (a timestamp is type -1) that a peer sent:
    /// kept as it came, so forwarding it loses nothing.
    Ext(i8, Vec<u8>),
}

impl Value {
    /// Makes a [`Value::Bytes`] (a `Vec<u8>` converts to a list of integers instead).
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Bytes(bytes.into())
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Int(i) => Some(i),
            Self::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// The number as a float, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Float(f) => Some(f),
            Self::Int(i) => Some(i as f64),
            Self::UInt(u) => Some(u as f64),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes, if this is [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    fn fmt_nested(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => write!(f, "{s:?}"),
            other => fmt::Display::fmt(other, f),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nil => f.write_str("nil"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::UInt(u) => write!(f, "{u}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Str(s) => f.write_str(s),
            Self::Bytes(bytes) => {
                f.write_str("0x")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Self::Ext(tag, data) => {
                write!(f, "ext({tag}, 0x")?;
                data.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
                f.write_str(")")
            }
            Self::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt_nested(f)?;
                }
                f.write_str("]")
            }
            Self::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key:?}: ")?;
                    value.fmt_nested(f)?;
                }
                f.write_str("}")
            }
        }
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Self::Int(i64::from(v)) }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Self::UInt(v), Self::Int)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Self::from(v as u64)
    }
}

impl From<isize> for Value {
    fn from(v: isize) -> Self {
        Self::Int(v as i64)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Self::Float(f64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Str(v.into())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Str(v.into())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Str(v.as_str().into())
    }
}

impl From<EcoString> for Value {
    fn from(v: EcoString) -> Self {
        Self::Str(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Self::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>, const N: usize> From<[T; N]> for Value {
    fn from(v: [T; N]) -> Self {
        Self::List(v.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<String>, T: Into<Value>> From<BTreeMap<K, T>> for Value {
    fn from(v: BTreeMap<K, T>) -> Self {
        Self::Map(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<String>, T: Into<Value>, const N: usize> From<[(K, T); N]> for Value {
    fn from(v: [(K, T); N]) -> Self {
        Self::Map(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Nil, Into::into)
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Nil => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Int(i) => s.serialize_i64(*i),
            Self::UInt(u) => s.serialize_u64(*u),
            Self::Float(x) => s.serialize_f64(*x),
            Self::Str(v) => s.serialize_str(v),
            Self::Bytes(b) => s.serialize_bytes(b),
            Self::List(items) => s.collect_seq(items),
            Self::Map(entries) => s.collect_map(entries),
            // rmp-serde's convention for extension values.
            Self::Ext(tag, data) => s.serialize_newtype_struct(EXT_STRUCT, &(tag, serde_bytes::Bytes::new(data))),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// The newtype-struct name rmp-serde reads and writes msgpack extensions as.
const EXT_STRUCT: &str = "_ExtStruct";

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    /// rmp-serde hands msgpack extensions over as a newtype struct.
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (tag, data): (i8, serde_bytes::ByteBuf) = serde::Deserialize::deserialize(d)?;
        Ok(Value::Ext(tag, data.into_vec()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The size hint comes from untrusted input: cap what it may reserve.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<Value, Value>()? {
            // Scalar keys that are not strings (valid in msgpack) keep their
            // text form; lists, maps and extensions as keys are refused (their
            // text form re-escapes at each level and could grow without bound).
            let key = match key {
                Value::Str(s) => s.into(),
                Value::List(_) | Value::Map(_) | Value::Ext(..) => {
                    return Err(serde::de::Error::custom("a map key must be a string or another scalar"));
                }
                other => other.to_string(),
            };
            entries.insert(key, value);
        }
        Ok(Value::Map(entries))
    }
}

/// The custom headers of an [`Envelope`](crate::Envelope): names to
/// [`Value`]s, kept sorted by name.
///
/// Header names are case-sensitive. The envelope's own fields (`id`,
/// `subject`, ...) are not headers; [`Envelope::field`](crate::Envelope::field)
/// reads both.
///
/// Mail carries a few headers at most, so they are kept in one sorted
/// vector whose first header is stored in place (a second moves them all
/// to one allocation), and names of up to 15 bytes are stored inline:
/// setting one header `"topic"` allocates nothing for the map or the name.
///
/// # Examples
///
/// ```
/// use polyceph::Headers;
///
/// let mut headers = Headers::new();
/// headers.insert("acme", 123);
/// headers.insert("zeta", "last");
/// headers.insert("alpha", true);
/// assert_eq!(headers.get("acme").and_then(|v| v.as_i64()), Some(123));
/// assert_eq!(headers.len(), 3);
/// let names: Vec<&str> = headers.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["acme", "alpha", "zeta"]);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Headers(SmallVec<[(EcoString, Value); 1]>);

impl Headers {
    /// An empty header map. It does not allocate, and neither does its
    /// first header (most mail has none or one): the vector of headers is
    /// allocated from the second on.
    pub const fn new() -> Self {
        Self(SmallVec::new_const())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| key.as_str().cmp(name))
    }

    /// Sets a header, returning the value it replaces.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl Into<Value>) -> Option<Value> {
        let name = name.as_ref();
        match self.find(name) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value.into())),
            Err(at) => {
                self.0.insert(at, (EcoString::from(name), value.into()));
                None
            }
        }
    }

    /// The value of a header.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|at| &self.0[at].1)
    }

    /// Removes a header, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.find(name).ok().map(|at| self.0.remove(at).1)
    }

    /// Whether a header is set.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// How many headers are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no header is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The headers in name order.
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter(self.0.iter())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: Into<Value>> FromIterator<(K, V)> for Headers {
    /// Later values of a name replace earlier ones.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a Value);
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The headers of a [`Headers`] in name order: see [`Headers::iter`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a>(std::slice::Iter<'a, (EcoString, Value)>);

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(name, value)| (name.as_str(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for HeaderIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(name, value)| (name.as_str(), value))
    }
}

impl ExactSizeIterator for HeaderIter<'_> {}

impl serde::Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A map's later duplicate replaces the earlier, as before.
        let map = BTreeMap::<String, Value>::deserialize(deserializer)?;
        Ok(Self(map.into_iter().map(|(name, value)| (EcoString::from(name), value)).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_are_stable() {
        assert_eq!(Value::from(true).to_string(), "true");
        assert_eq!(Value::from(1.5).to_string(), "1.5");
        assert_eq!(Value::bytes([0x0a, 0xff]).to_string(), "0x0aff");
        assert_eq!(Value::from([("abc", 123), ("xyz", 789)]).to_string(), r#"{"abc": 123, "xyz": 789}"#);
        assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
        assert_eq!(Value::from(7_u64), Value::Int(7));
    }

    #[test]
    fn values_round_trip_through_msgpack() {
        let value = Value::from([
            ("bytes", Value::bytes(*b"raw")),
            ("list", Value::from(vec![Value::Nil, Value::from(-3), Value::from(2.5)])),
            ("big", Value::from(u64::MAX)),
            ("flag", Value::from(false)),
        ]);
        let bytes = rmp_serde::to_vec(&value).expect("encodes");
        let back: Value = rmp_serde::from_slice(&bytes).expect("decodes");
        assert_eq!(back, value);
    }
}
