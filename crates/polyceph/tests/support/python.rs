//! Finding a Python that has `msgpack`, for the interoperability tests of
//! every crate (included by path: `#[path = ...] mod python;`).
//!
//! Python is `$POLYCEPH_PYTHON` if set, else `python3` if it has msgpack,
//! else the virtualenv `cargo xtask test` makes in `target/python-venv`.
//! Without any, the test fails saying how to get one: an interop test never
//! passes without running Python.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// How to get a Python with msgpack, for the failure messages.
const HOW_TO_GET_MSGPACK: &str = "run `cargo xtask test` (it makes target/python-venv with msgpack), \
     or `pip install msgpack` for python3, or set POLYCEPH_PYTHON to a Python that has msgpack";

fn has_msgpack(python: &OsStr) -> bool {
    Command::new(python)
        .args(["-c", "import msgpack"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The Python to run: `$POLYCEPH_PYTHON`, else `python3`, else the
/// virtualenv of `cargo xtask test`, the first that can `import msgpack`.
pub(crate) fn python() -> &'static OsStr {
    static PYTHON: OnceLock<OsString> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(python) = std::env::var_os("POLYCEPH_PYTHON").filter(|p| !p.is_empty()) {
            assert!(has_msgpack(&python), "POLYCEPH_PYTHON={python:?} cannot `import msgpack`: {HOW_TO_GET_MSGPACK}");
            return python;
        }
        // Both crates' manifests are two levels below the workspace root.
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv/bin/python");
        for candidate in [OsString::from("python3"), venv.into_os_string()] {
            if has_msgpack(&candidate) {
                return candidate;
            }
        }
        panic!("no Python with msgpack found for an interop test: {HOW_TO_GET_MSGPACK}");
    })
}
