//! Placeholder replaced by the TCP benchmark.
fn main() {}
