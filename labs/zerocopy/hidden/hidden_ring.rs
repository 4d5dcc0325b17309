//! Hidden tests: the ring's edge cases (merge rule, atomicity, capacity
//! in slots, counters wrapping at 2^32, resizing).

mod common;
use common::*;

lab_receipt::graded! {
    /// Only the first len % 4096 bytes merge, and only if all of them fit;
    /// a whole number of pages never merges.
    fn only_the_remainder_merges_and_only_whole() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 10), true), 10);
        assert_eq!(r.write(&pattern(10, 4096 + 20), true), 4116);
        assert_eq!(
            layout(&r).iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(),
            vec![(0, 30), (0, 4096)]
        );
        assert_eq!(r.write(&pattern(4126, 4096), true), 4096);
        assert_eq!(r.occupancy(), 3, "a whole page never merges");
        // 4000 bytes do not fit after 4096: a fresh buffer, not a split.
        assert_eq!(r.write(&pattern(8222, 4000), true), 4000);
        assert_eq!(r.occupancy(), 4);
        assert_eq!(drain(&mut r), pattern(0, 12222));
    }

    /// merge = false (a write resumed after sleeping) never merges.
    fn no_merge_when_not_asked() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 10), true), 10);
        assert_eq!(r.write(&pattern(10, 10), false), 10);
        assert_eq!(r.occupancy(), 2);
        assert_eq!(drain(&mut r), pattern(0, 20));
    }

    /// A full ring whose last buffer has some room takes no part of a
    /// small write that does not fit whole: PIPE_BUF atomicity.
    fn a_full_ring_takes_nothing_of_a_write_that_does_not_fit() {
        let mut r = PipeRing::new(2);
        assert_eq!(r.write(&pattern(0, 4096 + 4000), true), 8096);
        assert!(r.is_full());
        assert_eq!(r.write(&pattern(8096, 200), true), 0, "no room for 200 whole");
        assert_eq!(r.write(&pattern(8096, 96), true), 96, "96 fit in the last page");
        assert_eq!(r.bytes(), 8192);
        assert_eq!(drain(&mut r), pattern(0, 8192));
    }

    /// Capacity is counted in slots: 16 tiny spliced buffers fill it.
    fn capacity_is_slots_not_bytes() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        for i in 0..16 {
            assert!(r.push(spliced(&page, i, 1)).is_ok(), "buffer {i}");
        }
        assert!(r.is_full());
        assert_eq!(r.bytes(), 16);
        assert!(r.push(spliced(&page, 0, 1)).is_err(), "a 17th buffer");
        assert_eq!(r.write(b"x", true), 0, "nothing merges into spliced buffers");
        assert_eq!(page.page_count(), 17, "the refused buffer's reference went back");
    }

    /// The counters wrap at 2^32 and nothing notices.
    fn counters_wrap_at_two_to_the_32() {
        let mut r = PipeRing::starting_at(4, u32::MAX - 1);
        let mut next = 0;
        let mut read = 0;
        for round in 0..6 {
            assert_eq!(r.write(&pattern(next, 3 * 4096), true), 3 * 4096, "round {round}");
            next += 3 * 4096;
            assert_eq!(r.occupancy(), 3);
            assert!(!r.is_full() && !r.is_empty());
            let mut out = vec![0u8; 3 * 4096];
            assert_eq!(r.read(&mut out), 3 * 4096);
            assert_eq!(out, pattern(read, 3 * 4096), "round {round}");
            read += 3 * 4096;
        }
        assert_eq!(r.head(), (u32::MAX - 1).wrapping_add(18));
        assert_eq!(r.tail(), r.head());
        assert!(r.is_empty());
    }

    /// F_SETPIPE_SZ: EBUSY below the occupancy; otherwise the buffers keep
    /// their order, renumbered from 0.
    fn resizing_keeps_the_buffers() {
        let mut r = PipeRing::starting_at(4, u32::MAX - 1);
        assert_eq!(r.write(&pattern(0, 3 * 4096), true), 3 * 4096);
        let mut out = vec![0u8; 4096];
        assert_eq!(r.read(&mut out), 4096);
        assert_eq!(r.write(&pattern(3 * 4096, 2 * 4096), true), 2 * 4096);
        assert_eq!(r.set_max_usage(2), Err(Errno::EBUSY));
        assert_eq!(r.max_usage(), 4);
        assert_eq!(r.set_max_usage(8), Ok(()));
        assert_eq!((r.tail(), r.head(), r.max_usage()), (0, 4, 8));
        assert_eq!(r.write(&pattern(5 * 4096, 4 * 4096), true), 4 * 4096);
        assert!(r.is_full());
        assert_eq!(drain(&mut r), pattern(4096, 8 * 4096));
    }
}
