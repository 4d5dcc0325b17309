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
        // What sendfile returned and the page references it took: on the
        // stack's own ring (in your repository, yours as well) and on your
        // lab's, each against what the reference printed.
        let seen = |s: &Seen| {
            vec![
                format!("sendfile returned {:?}", s.rets),
                format!("pages referenced {}", s.costs.3),
            ]
        };
        let theirs = sendfile_scenario(Whose::Stack, size, 1 << 20);
        let want = lab_receipt::expected(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected/sendfile.txt"),
            include_str!("expected/sendfile.txt"),
            &seen(&theirs),
        );
        assert_eq!(seen(&theirs), want, "the stack running your ring");
        let yours = sendfile_scenario(Whose::Yours, size, 1 << 20);
        assert!(yours.bytes == pattern(0, size), "the client did not get the file");
        let (from_user, to_user, _, _) = yours.costs;
        assert_eq!((from_user, to_user), (0, 0), "sendfile copied bytes");
        assert_eq!(seen(&yours), want, "your lab's ring plugged in");
    }
}
