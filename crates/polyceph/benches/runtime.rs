//! Placeholder, replaced by the runtime benchmark.
fn main() {}
