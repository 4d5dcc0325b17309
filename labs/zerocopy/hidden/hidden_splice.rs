//! Hidden tests: page references through the ring, counted exactly.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    /// A write never merges into a spliced buffer, even with room: that
    /// would write into the page cache (Dirty Pipe).
    fn never_merges_into_a_spliced_page() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.push(spliced(&page, 0, 100)).is_ok());
        assert_eq!(r.write(b"overwrite", true), 9);
        assert_eq!(r.occupancy(), 2);
        let mut check = vec![0u8; 4096];
        page.read(0, &mut check).expect("page");
        assert_eq!(check, pattern(0, 4096), "the spliced page was written to");
        let mut want = pattern(0, 100);
        want.extend_from_slice(b"overwrite");
        assert_eq!(drain(&mut r), want);
    }

    /// Every way out drops the page reference when the buffer goes, not
    /// when its slot is reused.
    fn references_go_when_the_buffer_goes() {
        let pages: Vec<Page> = (0..4).map(|i| page_of(&[i as u8; 4096])).collect();
        let mut r = PipeRing::new(4);
        for p in &pages {
            assert!(r.push(spliced(p, 0, 4096)).is_ok());
        }
        let counts = |pages: &[Page]| pages.iter().map(Page::page_count).collect::<Vec<_>>();
        assert_eq!(counts(&pages), vec![2, 2, 2, 2]);
        let mut out = vec![0u8; 4096 + 10];
        assert_eq!(r.read(&mut out), 4096 + 10);
        assert_eq!(counts(&pages), vec![1, 2, 2, 2], "read");
        assert_eq!(r.consume(4086 + 100), 1);
        assert_eq!(counts(&pages), vec![1, 1, 2, 2], "consume");
        let moved = r.splice_out(4096 - 100).expect("buffer 2, whole");
        assert_eq!(counts(&pages), vec![1, 1, 2, 2], "moved, not taken");
        drop(moved);
        assert_eq!(counts(&pages), vec![1, 1, 1, 2], "splice_out whole");
        r.clear();
        assert_eq!(counts(&pages), vec![1, 1, 1, 1], "clear");
        assert!(r.is_empty());
    }

    /// A part handed on is a second reference that can never be merged
    /// into: a write to the pipe it goes to must not scribble over the
    /// bytes still waiting in this one.
    fn a_shared_part_is_neither_mergeable_nor_a_gift() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 3000), true), 3000);
        let part = r.splice_out(1000).expect("a part");
        assert_eq!((part.offset, part.len, part.flags), (0, 1000, 0));
        assert!(part.page.same_page(&r.buf(0).expect("rest").page));
        assert_eq!(part.page.page_count(), 2);
        let mut out = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(out.push(part).is_ok());
        assert_eq!(out.write(b"appended", true), 8);
        assert_eq!(out.occupancy(), 2, "nothing merged into the shared page");
        assert_eq!(drain(&mut r), pattern(1000, 2000), "the rest is intact");
        let mut want = pattern(0, 1000);
        want.extend_from_slice(b"appended");
        assert_eq!(drain(&mut out), want);
    }

    /// A gift (vmsplice SPLICE_F_GIFT) moved whole keeps its flags; a part
    /// of it is no gift.
    fn flags_move_with_a_whole_buffer() {
        let page = page_of(&pattern(0, 4096));
        let mut b = spliced(&page, 0, 4096);
        b.flags = PIPE_BUF_FLAG_GIFT;
        b.ops = PipeBufOps::User;
        let mut r = PipeRing::new(2);
        assert!(r.push(b).is_ok());
        let part = r.splice_out(96).expect("part");
        assert_eq!((part.flags, part.ops), (0, PipeBufOps::User));
        let whole = r.splice_out(4000).expect("whole");
        assert_eq!((whole.offset, whole.len, whole.flags), (96, 4000, PIPE_BUF_FLAG_GIFT));
        assert!(r.splice_out(1).is_none() && r.splice_out(0).is_none());
        assert_eq!(page.page_count(), 3);
    }

    /// Pushing copies nothing: the buffer in the ring is the page given,
    /// so a later change to the page shows through the pipe (which is why
    /// vmsplice's user must not touch its memory until it is read).
    fn a_pushed_page_is_shared_not_copied() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.push(spliced(&page, 10, 20)).is_ok());
        page.write(10, b"changed!").expect("page");
        let mut want = b"changed!".to_vec();
        want.extend_from_slice(&pattern(18, 12));
        assert_eq!(drain(&mut r), want);
        assert_eq!(page.page_count(), 1);
    }
}
