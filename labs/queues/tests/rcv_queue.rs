//! Public tests: the receive queue and its memory accounting.

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
}
