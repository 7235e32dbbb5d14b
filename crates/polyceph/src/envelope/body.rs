//! Envelope bodies: a typed value between local actors, msgpack bytes from the wire.

use std::any::{Any, type_name};
use std::fmt;
use std::sync::Arc;

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
    fn to_msgpack(&self) -> Result<Vec<u8>, rmp_serde::encode::Error>;
}

impl<T: Body> ErasedBody for T {
    fn type_name(&self) -> &'static str {
        type_name::<T>()
    }

    fn to_msgpack(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec_named(self)
    }
}

const WIRE_TYPE: &str = "msgpack bytes";

/// The body slot of an envelope. Cloning shares the value.
#[derive(Clone)]
pub(crate) enum BodySlot {
    Local(Arc<dyn ErasedBody>),
    Wire(Arc<[u8]>),
}

impl BodySlot {
    pub(crate) fn local<T: Body>(body: T) -> Self {
        Self::Local(Arc::new(body))
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Local(body) => body.type_name(),
            Self::Wire(_) => WIRE_TYPE,
        }
    }

    /// Reads the body as a `T`: a clone when it is a `T`, otherwise a
    /// conversion through msgpack, exactly as if it had crossed the wire.
    pub(crate) fn get<T: DeserializeOwned + Clone + 'static>(&self) -> Result<T, BodyError> {
        match self {
            Self::Local(body) => {
                let any: &dyn Any = &**body;
                if let Some(value) = any.downcast_ref::<T>() {
                    return Ok(value.clone());
                }
                let bytes = body
                    .to_msgpack()
                    .map_err(|e| BodyError::Encode { found: body.type_name(), reason: e.to_string() })?;
                decode(&bytes, body.type_name())
            }
            Self::Wire(bytes) => decode(bytes, WIRE_TYPE),
        }
    }

    pub(crate) fn get_ref<T: 'static>(&self) -> Result<&T, BodyError> {
        let wrong = || BodyError::WrongType { expected: type_name::<T>(), found: self.type_name() };
        match self {
            Self::Local(body) => {
                let any: &dyn Any = &**body;
                any.downcast_ref::<T>().ok_or_else(wrong)
            }
            Self::Wire(_) => Err(wrong()),
        }
    }

    /// Moves the body out as a `T` without cloning when this envelope holds
    /// the only reference to a `T`; converts through msgpack otherwise.
    pub(crate) fn into_value<T: DeserializeOwned + Send + Sync + 'static>(self) -> Result<T, BodyError> {
        match self {
            Self::Local(body) => {
                let found = body.type_name();
                let any: &dyn Any = &*body;
                if any.is::<T>() && Arc::strong_count(&body) == 1 {
                    let any: Arc<dyn Any + Send + Sync> = body;
                    return match any.downcast::<T>().map(Arc::try_unwrap) {
                        Ok(Ok(value)) => Ok(value),
                        _ => Err(BodyError::WrongType { expected: type_name::<T>(), found }),
                    };
                }
                let bytes = body.to_msgpack().map_err(|e| BodyError::Encode { found, reason: e.to_string() })?;
                decode(&bytes, found)
            }
            Self::Wire(bytes) => decode(&bytes, WIRE_TYPE),
        }
    }

    pub(crate) fn to_msgpack(&self) -> Result<Vec<u8>, BodyError> {
        match self {
            Self::Local(body) => {
                body.to_msgpack().map_err(|e| BodyError::Encode { found: body.type_name(), reason: e.to_string() })
            }
            Self::Wire(bytes) => Ok(bytes.to_vec()),
        }
    }

    /// The body as a generic [`Value`], for printing.
    pub(crate) fn to_value(&self) -> Option<Value> {
        let bytes = self.to_msgpack().ok()?;
        rmp_serde::from_slice(&bytes).ok()
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

fn decode<T: DeserializeOwned>(bytes: &[u8], found: &'static str) -> Result<T, BodyError> {
    rmp_serde::from_slice(bytes).map_err(|e| BodyError::Decode {
        expected: type_name::<T>(),
        found,
        reason: e.to_string(),
    })
}
