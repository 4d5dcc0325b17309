//! Public tests: the receive queue and its memory accounting.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use lab_queues::{Errno, RcvQueue, rx_skb};

lab_receipt::graded! {
    /// Queuing charges the skb's truesize, not its length; taking it uncharges.
    fn charges_truesize() {
        let skb = rx_skb(&[7; 100]);
        let truesize = skb.truesize();
        assert!(truesize > 2048, "a NIC buffer costs 2 KiB and more");
        let mut q = RcvQueue::new(1 << 20);
        q.enqueue(skb).expect("room");
        assert_eq!(q.rmem_alloc(), truesize);
        assert_eq!(q.qlen(), 1);
        assert_eq!(q.bytes(), 100);
        let skb = q.dequeue().expect("queued");
        assert_eq!(skb.len(), 100);
        assert_eq!(q.rmem_alloc(), 0);
        assert!(q.dequeue().is_none());
    }

    /// Once the buffer is full, datagrams are dropped and counted.
    fn drops_when_full() {
        let ts = rx_skb(b"x").truesize();
        let mut q = RcvQueue::new(3 * ts);
        for _ in 0..3 {
            q.enqueue(rx_skb(b"x")).expect("room for three");
        }
        assert_eq!(q.enqueue(rx_skb(b"x")), Err(Errno::ENOMEM));
        assert_eq!(q.enqueue(rx_skb(b"x")), Err(Errno::ENOMEM));
        assert_eq!((q.qlen(), q.drops(), q.rmem_alloc()), (3, 2, 3 * ts));
        q.dequeue();
        q.enqueue(rx_skb(b"x")).expect("room again");
        assert_eq!(q.qlen(), 3);
    }

    /// An empty queue admits one skb however small the buffer.
    fn empty_queue_admits_one() {
        let mut q = RcvQueue::new(100);
        q.enqueue(rx_skb(b"hello")).expect("the queue is empty");
        assert_eq!(q.enqueue(rx_skb(b"world")), Err(Errno::ENOMEM));
        assert_eq!((q.qlen(), q.drops()), (1, 1));
    }

    /// `queue_tail` charges whatever the limit; `enqueue` then sees the charge.
    fn queue_tail_charges_past_the_limit() {
        let ts = rx_skb(b"x").truesize();
        let mut q = RcvQueue::new(ts);
        q.queue_tail(rx_skb(b"a"));
        q.queue_tail(rx_skb(b"b"));
        assert_eq!((q.qlen(), q.rmem_alloc(), q.drops()), (2, 2 * ts, 0));
        assert_eq!(q.enqueue(rx_skb(b"c")), Err(Errno::ENOMEM));
        assert_eq!(q.dequeue().map(|skb| skb.to_vec()), Some(b"a".to_vec()));
        assert_eq!((q.qlen(), q.rmem_alloc(), q.drops()), (1, ts, 1));
    }

    /// A new `SO_RCVBUF` limits the next skb and leaves what is queued.
    fn set_rcvbuf_applies_to_the_next_skb() {
        let ts = rx_skb(b"x").truesize();
        let mut q = RcvQueue::new(4 * ts);
        for _ in 0..3 {
            q.enqueue(rx_skb(b"x")).expect("room for three");
        }
        q.set_rcvbuf(ts);
        assert_eq!((q.rcvbuf(), q.qlen(), q.rmem_alloc()), (ts, 3, 3 * ts));
        assert_eq!(q.enqueue(rx_skb(b"x")), Err(Errno::ENOMEM));
        q.set_rcvbuf(8 * ts);
        q.enqueue(rx_skb(b"x")).expect("room under the new limit");
        assert_eq!((q.qlen(), q.drops()), (4, 1));
    }
}
