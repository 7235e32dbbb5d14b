//! Envelope bodies: a typed value between local actors, msgpack bytes from the wire.

use std::any::{Any, type_name};
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::BodyError;
use crate::value::Value;

/// What a body must be: serializable (so it can cross the wire), shareable
/// between threads, and owning its data.
///
/// Implemented for every type that qualifies; users never implement it.
pub trait Body: Serialize + Send + Sync + 'static {}

impl<T: Serialize + Send + Sync + 'static> Body for T {}

/// A body behind a type-erased pointer, with what is needed to read it as
/// another type or put it on the wire.
pub(crate) trait ErasedBody: Any + Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The body's msgpack bytes, if it is already encoded.
    fn encoded(&self) -> Option<&[u8]>;
    fn to_msgpack(&self) -> Result<Vec<u8>, rmp_serde::encode::Error>;
    /// Appends the body's msgpack bytes to `out`.
    fn write_msgpack(&self, out: &mut Vec<u8>) -> Result<(), rmp_serde::encode::Error>;
}

impl<T: Body> ErasedBody for T {
    fn type_name(&self) -> &'static str {
        type_name::<T>()
    }

    fn encoded(&self) -> Option<&[u8]> {
        None
    }

    fn to_msgpack(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec_named(self)
    }

    fn write_msgpack(&self, out: &mut Vec<u8>) -> Result<(), rmp_serde::encode::Error> {
        rmp_serde::encode::write_named(out, self)
    }
}

/// A body that arrived from the wire: msgpack bytes, decoded on demand.
/// Deliberately not `Serialize`, so it is no [`Body`] of its own.
///
/// Generic over where the bytes live: a small body is kept inline, in the
/// body slot's own allocation (see [`BodySlot::wire`]).
struct Encoded<B>(B);

impl<B: AsRef<[u8]> + Send + Sync + 'static> ErasedBody for Encoded<B> {
    fn type_name(&self) -> &'static str {
        WIRE_TYPE
    }

    fn encoded(&self) -> Option<&[u8]> {
        Some(self.0.as_ref())
    }

    fn to_msgpack(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        Ok(self.0.as_ref().to_vec())
    }

    fn write_msgpack(&self, out: &mut Vec<u8>) -> Result<(), rmp_serde::encode::Error> {
        out.extend_from_slice(self.0.as_ref());
        Ok(())
    }
}

/// Up to [`Inline::CAPACITY`] bytes stored in place.
struct Inline {
    len: u8,
    bytes: [u8; Inline::CAPACITY],
}

impl Inline {
    /// Sized so that the slot's allocation (two reference counts, this)
    /// stays within 112 bytes, like the envelope's.
    const CAPACITY: usize = 95;
}

impl AsRef<[u8]> for Inline {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

const WIRE_TYPE: &str = "msgpack bytes";

/// The body slot of an envelope: one pointer. Cloning shares the value.
#[derive(Clone)]
pub(crate) struct BodySlot(Arc<dyn ErasedBody>);

impl BodySlot {
    pub(crate) fn local<T: Body>(body: T) -> Self {
        Self(Arc::new(body))
    }

    /// A body of msgpack bytes (one msgpack value), decoded on demand.
    /// Small bodies (most mail) are copied into the slot's one allocation;
    /// larger ones get their own.
    pub(crate) fn wire(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= Inline::CAPACITY => {
                let mut inline = Inline { len, bytes: [0; Inline::CAPACITY] };
                inline.bytes[..bytes.len()].copy_from_slice(bytes);
                Self(Arc::new(Encoded(inline)))
            }
            _ => Self::wire_owned(bytes.into()),
        }
    }

    /// A body of msgpack bytes already owned.
    pub(crate) fn wire_owned(bytes: Box<[u8]>) -> Self {
        Self(Arc::new(Encoded(bytes)))
    }

    /// A body of msgpack bytes that shares a buffer (a frame as it was
    /// read), not copied out of it.
    pub(crate) fn wire_shared(bytes: Bytes) -> Self {
        Self(Arc::new(Encoded(bytes)))
    }

    /// The body's msgpack bytes, if it came from the wire.
    pub(crate) fn encoded(&self) -> Option<&[u8]> {
        self.0.encoded()
    }

    pub(crate) fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    /// Reads the body as a `T`: a clone when it is a `T`, otherwise a
    /// conversion through msgpack, exactly as if it had crossed the wire.
    pub(crate) fn get<T: DeserializeOwned + Clone + 'static>(&self) -> Result<T, BodyError> {
        let any: &dyn Any = &*self.0;
        match any.downcast_ref::<T>() {
            Some(value) => Ok(value.clone()),
            None => self.convert(),
        }
    }

    pub(crate) fn get_ref<T: 'static>(&self) -> Result<&T, BodyError> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref::<T>().ok_or(BodyError::WrongType { expected: type_name::<T>(), found: self.type_name() })
    }

    /// Moves the body out as a `T` without cloning when this envelope holds
    /// the only reference to a `T`; converts through msgpack otherwise.
    pub(crate) fn into_value<T: DeserializeOwned + Send + Sync + 'static>(self) -> Result<T, BodyError> {
        let any: &dyn Any = &*self.0;
        if !any.is::<T>() || Arc::strong_count(&self.0) != 1 {
            return self.convert();
        }
        let found = self.type_name();
        let any: Arc<dyn Any + Send + Sync> = self.0;
        match any.downcast::<T>().map(Arc::try_unwrap) {
            Ok(Ok(value)) => Ok(value),
            _ => Err(BodyError::WrongType { expected: type_name::<T>(), found }),
        }
    }

    /// Decodes the msgpack form of the body as a `T`.
    fn convert<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let found = self.type_name();
        let decode = |bytes: &[u8]| {
            rmp_serde::from_slice(bytes).map_err(|e| BodyError::Decode {
                expected: type_name::<T>(),
                found,
                reason: e.to_string(),
            })
        };
        match self.0.encoded() {
            Some(bytes) => decode(bytes),
            None => decode(&self.to_msgpack()?),
        }
    }

    pub(crate) fn to_msgpack(&self) -> Result<Vec<u8>, BodyError> {
        self.0.to_msgpack().map_err(|e| self.encode_error(&e))
    }

    /// Appends the body's msgpack bytes to `out`.
    pub(crate) fn write_msgpack(&self, out: &mut Vec<u8>) -> Result<(), BodyError> {
        self.0.write_msgpack(out).map_err(|e| self.encode_error(&e))
    }

    fn encode_error(&self, error: &rmp_serde::encode::Error) -> BodyError {
        BodyError::Encode { found: self.type_name(), reason: error.to_string() }
    }

    /// The body as a generic [`Value`], for printing.
    pub(crate) fn to_value(&self) -> Option<Value> {
        self.convert().ok()
    }
}

impl fmt::Debug for BodySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_value() {
            Some(Value::Str(s)) => write!(f, "{s:?}"),
            Some(value) => write!(f, "{value}"),
            None => write!(f, "<{}>", self.type_name()),
        }
    }
}
