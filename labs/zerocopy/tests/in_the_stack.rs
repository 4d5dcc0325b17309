//! Public test: your ring inside the simulated stack.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    /// sendfile() through your ring: the client gets the file, and the
    /// server copies nothing, as with the stack's own ring.
    fn sendfile_copies_nothing() {
        let size = 300_000;
        let yours = sendfile_scenario(Whose::Yours, size, 1 << 20);
        assert!(yours.bytes == pattern(0, size), "the client did not get the file");
        let (from_user, to_user, _, refs) = yours.costs;
        assert_eq!((from_user, to_user), (0, 0), "sendfile copied bytes");
        let theirs = sendfile_scenario(Whose::Stack, size, 1 << 20);
        assert_eq!(refs, theirs.costs.3, "page references taken");
        assert_eq!(yours.rets, theirs.rets, "sendfile's return values");
    }
}
