//! What an application usually needs: `use polyceph::prelude::*;`.

pub use crate::{
    Actor, ActorOptions, Address, AppHandle, Application, Context, Envelope, ExitReason, Filter, FullPolicy, Mode,
    QueueKind, Restart, Result, Value,
};
