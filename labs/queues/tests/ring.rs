//! Public tests: the RX descriptor ring.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use lab_queues::DescRing;

lab_receipt::graded! {
    /// Items come out in the order they went in.
    fn fifo_order() {
        let mut r = DescRing::new(4);
        for i in 0..3 {
            assert!(r.produce(i).is_ok());
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.consume(), Some(0));
        assert_eq!(r.consume(), Some(1));
        assert_eq!(r.consume(), Some(2));
        assert_eq!(r.consume(), None);
        assert!(r.is_empty());
    }

    /// A full ring refuses the newest item, hands it back and counts it.
    fn full_ring_drops_and_counts() {
        let mut r = DescRing::new(2);
        assert_eq!(r.produce('a'), Ok(0));
        assert_eq!(r.produce('b'), Ok(1));
        assert!(r.is_full());
        assert_eq!(r.produce('c'), Err('c'));
        assert_eq!(r.dropped(), 1);
        // What was in the ring is untouched.
        assert_eq!(r.consume(), Some('a'));
        assert_eq!(r.consume(), Some('b'));
    }

    /// Slots are reused: the slot number is the producer index modulo the size.
    fn wraps_around() {
        let mut r = DescRing::new(3);
        assert_eq!(r.produce(10), Ok(0));
        assert_eq!(r.produce(11), Ok(1));
        assert_eq!(r.consume(), Some(10));
        assert_eq!(r.produce(12), Ok(2));
        assert_eq!(r.produce(13), Ok(0));
        assert_eq!(r.get(0), Some(&11));
        assert_eq!(r.get(2), Some(&13));
        assert_eq!(r.get(3), None);
        assert_eq!((r.prod(), r.cons(), r.len()), (4, 1, 3));
    }
}
