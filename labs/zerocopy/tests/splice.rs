//! Public tests: moving pages by reference.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    /// A spliced buffer is a reference to the page, not a copy of it.
    fn push_takes_a_reference_not_a_copy() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.push(spliced(&page, 100, 1000)).is_ok());
        assert_eq!(page.page_count(), 2, "the test's and the ring's");
        let b = r.buf(0).expect("one buffer");
        assert!(b.page.same_page(&page));
        assert_eq!((b.offset, b.len), (100, 1000));
        assert_eq!(held(&r), pattern(100, 1000));
    }

    /// Reading a spliced buffer to its end releases it and its page
    /// reference at once.
    fn reading_releases_the_reference() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.push(spliced(&page, 0, 10)).is_ok());
        let mut out = [0u8; 4];
        assert_eq!(r.read(&mut out), 4);
        assert_eq!(page.page_count(), 2, "6 bytes left in the buffer");
        let mut out = [0u8; 100];
        assert_eq!(r.read(&mut out), 6);
        assert_eq!(page.page_count(), 1, "the buffer and its reference are gone");
    }

    /// splice_out moves a buffer whole when it is all wanted, and shares a
    /// part of it otherwise.
    fn splice_out_whole_and_partial() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.push(spliced(&page, 0, 3000)).is_ok());
        let part = r.splice_out(1000).expect("a buffer");
        assert_eq!((part.offset, part.len), (0, 1000));
        assert_eq!(page.page_count(), 3, "the test, the ring, the part");
        assert_eq!(layout(&r), vec![(1000, 2000, 0)]);
        let rest = r.splice_out(5000).expect("the rest");
        assert_eq!((rest.offset, rest.len), (1000, 2000));
        assert!(r.is_empty());
        drop((part, rest));
        assert_eq!(page.page_count(), 1);
    }
}
