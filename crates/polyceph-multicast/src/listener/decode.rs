//! What a listener makes of a payload: the untyped channel passes bytes and
//! envelopes on, a typed channel checks them against its type.

use std::any::type_name;
use std::borrow::Cow;
use std::marker::PhantomData;

use polyceph::{Address, Body, Envelope, Name};
use serde::de::DeserializeOwned;

use crate::error::DecodeError;

/// Makes mail of raw payloads, and checks envelopes.
pub(crate) trait Decode: Send + Sync + 'static {
    /// Mail for a raw payload; hands the payload back if it does not decode.
    fn raw(
        &self,
        sender: Name,
        to: Address,
        subject: Cow<'static, str>,
        payload: Vec<u8>,
    ) -> Result<Envelope, (DecodeError, Vec<u8>)>;

    /// Checks that an envelope's body is what the channel carries.
    fn check(&self, envelope: &Envelope) -> Result<(), DecodeError>;

    /// The type carried, for logs.
    fn type_name(&self) -> &'static str;
}

/// The untyped channel: a raw payload becomes a `Vec<u8>` body, an envelope
/// goes on as it is.
#[derive(Debug)]
pub(crate) struct Untyped;

impl Decode for Untyped {
    fn raw(
        &self,
        sender: Name,
        to: Address,
        subject: Cow<'static, str>,
        payload: Vec<u8>,
    ) -> Result<Envelope, (DecodeError, Vec<u8>)> {
        Ok(Envelope::new(sender, to, subject, payload))
    }

    fn check(&self, _envelope: &Envelope) -> Result<(), DecodeError> {
        Ok(())
    }

    fn type_name(&self) -> &'static str {
        "bytes or envelopes"
    }
}

/// A typed channel: a raw payload must decode as a `T` (which becomes the
/// body), an envelope's body must read as a `T`.
pub(crate) struct Typed<T>(PhantomData<fn() -> T>);

impl<T> Typed<T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: Body + DeserializeOwned + Clone> Decode for Typed<T> {
    fn raw(
        &self,
        sender: Name,
        to: Address,
        subject: Cow<'static, str>,
        payload: Vec<u8>,
    ) -> Result<Envelope, (DecodeError, Vec<u8>)> {
        match rmp_serde::from_slice::<T>(&payload) {
            Ok(value) => Ok(Envelope::new(sender, to, subject, value)),
            Err(e) => Err((DecodeError::Payload { expected: type_name::<T>(), reason: e.to_string() }, payload)),
        }
    }

    fn check(&self, envelope: &Envelope) -> Result<(), DecodeError> {
        envelope.body::<T>().map(drop).map_err(DecodeError::Body)
    }

    fn type_name(&self) -> &'static str {
        type_name::<T>()
    }
}
