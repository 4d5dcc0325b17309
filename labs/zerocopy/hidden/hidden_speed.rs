//! Hidden test: the speed floor. The reference moves over a GiB/s by
//! reference in a debug build; 100 MiB/s leaves room for any ring that
//! does not copy pages or walk the whole ring per operation. The grader
//! times it (`[[figure]] pipe_splice_floor` in `lab.toml`).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

/// Rounds of 16 pages: 256 MiB.
const ROUNDS: usize = 4096;

lab_receipt::graded! {
    fn at_least_100_mib_per_s() {
        let (spliced, _) = lab_zerocopy::splice_rounds(ROUNDS, lab_receipt::seed());
        assert_eq!(spliced.bytes, ROUNDS * 16 * 4096);
        lab_receipt::computed!(spliced.digest);
    }
}
