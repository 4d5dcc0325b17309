//! Public test: how fast your queues move bytes. The grader times this
//! test's process (the median of a few runs) and reports the throughput
//! figure in Gbit/s; the test earns no points (a smaller hidden test
//! holds the 0.1 Gbit/s floor). The line it prints is its own measure of
//! your code alone, for you to read.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

/// Rounds of [`lab_queues::PUMP_BATCH`] frames of 1448 bytes: 0.37 GB,
/// the `work` of the figure in `lab.toml` (in Gbit).
const ROUNDS: usize = 1000;

lab_receipt::graded! {
    fn throughput() {
        let seed = lab_receipt::seed();
        let (pumped, secs) = lab_queues::pump(1448, ROUNDS, seed);
        let gbps = pumped.bytes as f64 * 8.0 / secs.max(1e-9) / 1e9;
        println!("{} bytes in {secs:.3} s of your code: {gbps:.3} Gbit/s", pumped.bytes);
        assert_eq!(pumped.bytes, ROUNDS * lab_queues::PUMP_BATCH * 1448);
        lab_receipt::computed!(pumped.digest);
    }
}
