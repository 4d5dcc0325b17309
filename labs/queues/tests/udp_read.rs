//! Public tests: UDP's whole-datagram read.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use lab_queues::{Errno, MSG_PEEK, MSG_TRUNC, RcvQueue, rx_skb, udp_recvmsg};

lab_receipt::graded! {
    /// Each read takes exactly one datagram.
    fn one_datagram_per_read() {
        let mut q = RcvQueue::new(1 << 20);
        q.enqueue(rx_skb(b"one")).expect("room");
        q.enqueue(rx_skb(b"two!")).expect("room");
        let mut buf = [0u8; 100];
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (3, 0));
        assert_eq!(&buf[..3], b"one");
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!(r.ret, 4);
        assert_eq!(&buf[..4], b"two!");
        assert_eq!(udp_recvmsg(&mut q, &mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(q.rmem_alloc(), 0);
    }

    /// A datagram longer than the buffer is cut; the rest is gone.
    fn truncates() {
        let mut q = RcvQueue::new(1 << 20);
        q.enqueue(rx_skb(b"0123456789")).expect("room");
        q.enqueue(rx_skb(b"next")).expect("room");
        let mut buf = [0u8; 4];
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (4, MSG_TRUNC));
        assert_eq!(&buf, b"0123");
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (4, 0));
        assert_eq!(&buf, b"next");
    }

    /// With MSG_TRUNC the call returns the datagram's real length.
    fn msg_trunc_returns_real_length() {
        let mut q = RcvQueue::new(1 << 20);
        q.enqueue(rx_skb(b"0123456789")).expect("room");
        let mut buf = [0u8; 4];
        let r = udp_recvmsg(&mut q, &mut buf, MSG_TRUNC | MSG_PEEK).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (10, MSG_TRUNC));
        assert_eq!(q.qlen(), 1, "MSG_PEEK leaves it queued");
        let mut big = [0u8; 16];
        let r = udp_recvmsg(&mut q, &mut big, MSG_TRUNC).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (10, 0));
        assert_eq!(&big[..10], b"0123456789");
        assert!(q.is_empty());
    }
}
