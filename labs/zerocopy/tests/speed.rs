//! Public test: how fast your ring moves pages by reference. The grader
//! times this test's process (the median of a few runs) and reports the
//! figure in MiB/s; the test earns no points (a smaller hidden test holds
//! the 100 MiB/s floor). The line it prints is its own measure of your
//! ring alone, for you to read.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

/// Rounds of 16 pages: 4 GiB, the `work` of the figure in `lab.toml`
/// (in MiB).
const ROUNDS: usize = 65536;

lab_receipt::graded! {
    fn pipe_splice_speed() {
        let (spliced, secs) = lab_zerocopy::splice_rounds(ROUNDS, lab_receipt::seed());
        let mibs = spliced.bytes as f64 / secs.max(1e-9) / f64::from(1 << 20);
        println!("{} bytes in {secs:.3} s of your ring: {mibs:.1} MiB/s", spliced.bytes);
        assert_eq!(spliced.bytes, ROUNDS * 16 * 4096);
        lab_receipt::computed!(spliced.digest);
    }
}
