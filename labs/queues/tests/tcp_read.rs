//! Public tests: TCP's byte-stream read.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use lab_queues::{Errno, MSG_PEEK, RcvQueue, rx_segment, tcp_recvmsg};

fn queue(segments: &[&[u8]], first_seq: u32) -> RcvQueue {
    let mut q = RcvQueue::new(1 << 20);
    let mut seq = first_seq;
    for s in segments {
        q.enqueue(rx_segment(seq, s)).expect("room");
        seq = seq.wrapping_add(s.len() as u32);
    }
    q
}

lab_receipt::graded! {
    /// One read takes bytes from several segments.
    fn reads_across_segments() {
        let mut q = queue(&[b"hel", b"lo ", b"world"], 1000);
        let mut seq = 1000;
        let mut buf = [0u8; 64];
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut buf, 0), Ok(11));
        assert_eq!(&buf[..11], b"hello world");
        assert_eq!(seq, 1011);
        assert!(q.is_empty());
        assert_eq!(q.rmem_alloc(), 0);
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut buf, 0), Err(Errno::EAGAIN));
    }

    /// A small buffer takes part of a segment; the next read goes on from there.
    fn partial_segment() {
        let mut q = queue(&[b"abcdef"], 1);
        let mut seq = 1;
        let mut buf = [0u8; 4];
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut buf, 0), Ok(4));
        assert_eq!(&buf, b"abcd");
        assert_eq!(q.qlen(), 1, "the segment stays until its last byte is read");
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut buf, 0), Ok(2));
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(q.qlen(), 0);
    }

    /// MSG_PEEK copies without consuming.
    fn peek_leaves_data() {
        let mut q = queue(&[b"ab", b"cd"], 7);
        let mut seq = 7;
        let mut buf = [0u8; 3];
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut buf, MSG_PEEK), Ok(3));
        assert_eq!(&buf, b"abc");
        assert_eq!((seq, q.qlen()), (7, 2));
        let mut all = [0u8; 8];
        assert_eq!(tcp_recvmsg(&mut q, &mut seq, &mut all, 0), Ok(4));
        assert_eq!(&all[..4], b"abcd");
    }
}
