//! Hidden tests: UDP's datagram read at its edges.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use lab_queues::{Errno, MSG_PEEK, MSG_TRUNC, RcvQueue, rx_skb, udp_recvmsg};

fn queue(datagrams: &[&[u8]]) -> RcvQueue {
    let mut q = RcvQueue::new(1 << 20);
    for d in datagrams {
        q.enqueue(rx_skb(d)).expect("room");
    }
    q
}

lab_receipt::graded! {
    /// A zero-length buffer with MSG_PEEK | MSG_TRUNC learns the size of
    /// the next datagram and leaves it queued.
    fn size_probe() {
        let mut q = queue(&[&[5; 1234]]);
        let r = udp_recvmsg(&mut q, &mut [], MSG_PEEK | MSG_TRUNC).expect("queued");
        assert_eq!((r.ret, r.msg_flags), (1234, MSG_TRUNC));
        let mut buf = vec![0u8; r.ret];
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("still queued");
        assert_eq!((r.ret, r.msg_flags), (1234, 0));
        assert!(buf.iter().all(|&b| b == 5));
    }

    /// Without MSG_TRUNC a short read returns what was copied, flags it,
    /// and the rest of the datagram is gone.
    fn truncation_discards_the_rest() {
        let mut q = queue(&[b"abcdefgh", b"ij"]);
        let mut buf = [0u8; 3];
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((r.ret, r.msg_flags, &buf), (3, MSG_TRUNC, b"abc"));
        let r = udp_recvmsg(&mut q, &mut buf, MSG_TRUNC).expect("queued");
        assert_eq!((r.ret, r.msg_flags, &buf[..2]), (2, 0, &b"ij"[..]));
        assert_eq!(udp_recvmsg(&mut q, &mut buf, 0), Err(Errno::EAGAIN));
    }

    /// An empty datagram is a datagram: reading it returns 0 and takes it.
    fn empty_datagram() {
        let mut q = queue(&[b"", b"x"]);
        let mut buf = [0u8; 8];
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("an empty datagram");
        assert_eq!((r.ret, r.msg_flags, q.qlen()), (0, 0, 1));
        let r = udp_recvmsg(&mut q, &mut buf, 0).expect("x");
        assert_eq!((r.ret, buf[0]), (1, b'x'));
        assert_eq!(udp_recvmsg(&mut q, &mut buf, 0), Err(Errno::EAGAIN));
    }

    /// Reading releases the datagram's truesize; peeking does not.
    fn memory_released_on_read_only() {
        let mut q = queue(&[&[1; 100], &[2; 100]]);
        let each = q.rmem_alloc() / 2;
        let mut buf = [0u8; 50];
        for _ in 0..3 {
            udp_recvmsg(&mut q, &mut buf, MSG_PEEK).expect("queued");
        }
        assert_eq!((q.qlen(), q.rmem_alloc()), (2, 2 * each));
        udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((q.qlen(), q.rmem_alloc(), buf[0]), (1, each, 1));
        udp_recvmsg(&mut q, &mut buf, 0).expect("queued");
        assert_eq!((q.qlen(), q.rmem_alloc(), buf[0]), (0, 0, 2));
    }
}
