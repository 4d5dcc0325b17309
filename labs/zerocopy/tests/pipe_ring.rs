//! Public tests: the ring, written and read by copying.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    /// Bytes come out in the order they went in; a small write after
    /// another tops up the same page (PIPE_BUF_FLAG_CAN_MERGE).
    fn small_writes_merge_into_one_buffer() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert!(r.is_empty());
        assert_eq!(r.write(&pattern(0, 100), true), 100);
        assert_eq!(r.write(&pattern(100, 50), true), 50);
        assert_eq!(layout(&r), vec![(0, 150, PIPE_BUF_FLAG_CAN_MERGE)]);
        assert_eq!((r.occupancy(), r.bytes()), (1, 150));
        assert_eq!(drain(&mut r), pattern(0, 150));
        assert!(r.is_empty());
    }

    /// A big write takes a page per 4096 bytes; capacity is in buffers:
    /// 16 of them, 65536 bytes, and no more.
    fn a_big_write_fills_sixteen_pages() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 100_000), true), 65536);
        assert!(r.is_full());
        assert_eq!(r.occupancy(), 16);
        assert_eq!(r.write(&[1, 2, 3], true), 0, "a full ring takes nothing");
        let mut out = vec![0u8; 5000];
        assert_eq!(r.read(&mut out), 5000);
        assert_eq!(out, pattern(0, 5000));
        assert_eq!(r.occupancy(), 15, "the first page was released");
    }

    /// A write of at most PIPE_BUF bytes that does not fit in the last
    /// buffer takes a fresh page whole: it is never split.
    fn a_small_write_is_atomic() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 4000), true), 4000);
        assert_eq!(r.write(&pattern(4000, 200), true), 200);
        assert_eq!(layout(&r).iter().map(|b| b.1).collect::<Vec<_>>(), vec![4000, 200]);
        assert_eq!(drain(&mut r), pattern(0, 4200));
    }

    /// head and tail are free-running counters.
    fn head_and_tail_count_buffers() {
        let mut r = PipeRing::starting_at(4, 10);
        assert_eq!((r.head(), r.tail()), (10, 10));
        assert_eq!(r.write(&pattern(0, 3 * 4096), true), 3 * 4096);
        assert_eq!((r.head(), r.tail(), r.occupancy()), (13, 10, 3));
        let mut out = vec![0u8; 4096];
        assert_eq!(r.read(&mut out), 4096);
        assert_eq!((r.head(), r.tail(), r.occupancy()), (13, 11, 2));
    }
}
