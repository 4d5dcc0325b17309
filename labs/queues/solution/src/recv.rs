//! Reading from a receive queue: TCP's byte stream and UDP's datagrams.
//!
//! Both calls here are non-blocking (`MSG_DONTWAIT`): with nothing to read
//! they fail with `EAGAIN` where a blocking call would sleep on the
//! socket's wait queue. Bytes go to the caller's `buf` with
//! `SkBuff::copy_bits` (the kernel's `skb_copy_datagram_msg()`).
//!
//! **TCP** (`tcp_recvmsg_locked()`, `net/ipv4/tcp.c`) sees no boundaries:
//! one read may take the rest of one segment and the start of the next,
//! and a small buffer takes part of a segment, leaving the rest for the
//! next read. The socket remembers how far the reader got in
//! `tp->copied_seq`, the sequence number of the next byte to read; each
//! skb knows the sequence number of its first byte,
//! `TCP_SKB_CB(skb)->seq` (here `skb.cb.seq`), so the reader's place in
//! the oldest skb is `copied_seq - seq` (sequence numbers are 32 bits and
//! wrap around: compute with wrapping arithmetic). An skb leaves the
//! queue, and its `truesize` is uncharged, only once its last byte has
//! been read (`tcp_eat_recv_skb()`). `MSG_PEEK` copies the same bytes but
//! moves nothing: `copied_seq` stays and every skb stays queued.
//!
//! **UDP** (`udp_recvmsg()`, `net/ipv4/udp.c`) keeps boundaries: each call
//! takes exactly one datagram, whole. If the caller's buffer is shorter,
//! the bytes that do not fit are discarded with the datagram, and the
//! kernel sets `MSG_TRUNC` in `msg.msg_flags`. The return value is the
//! number of bytes copied, unless the caller passed `MSG_TRUNC` in its
//! flags: then it is the datagram's real length, even if larger than the
//! buffer (so a program can learn a datagram's size, e.g. with a
//! zero-length buffer and `MSG_PEEK | MSG_TRUNC`). `MSG_PEEK` copies the
//! datagram and leaves it queued.

use super::rcv_queue::RcvQueue;
use super::{Errno, MSG_PEEK, MSG_TRUNC, Recv};

/// `tcp_recvmsg()` without blocking: copy up to `buf.len()` bytes of the
/// stream, starting at `*copied_seq`, across as many skbs as it takes.
/// Unless `flags` has `MSG_PEEK`, advance `*copied_seq` past them and
/// dequeue every skb read to its end. Returns the bytes copied; 0 for an
/// empty `buf`; `EAGAIN` when nothing is queued.
pub fn tcp_recvmsg(
    q: &mut RcvQueue,
    copied_seq: &mut u32,
    buf: &mut [u8],
    flags: i32,
) -> Result<usize, Errno> {
    if buf.is_empty() {
        return Ok(0);
    }
    let peek = flags & MSG_PEEK != 0;
    let mut seq = *copied_seq;
    let mut copied = 0;
    let mut idx = 0;
    while copied < buf.len() {
        let Some(skb) = q.get(idx) else {
            break;
        };
        let offset = seq.wrapping_sub(skb.cb.seq) as usize;
        if offset >= skb.len() {
            break;
        }
        let n = (skb.len() - offset).min(buf.len() - copied);
        if skb.copy_bits(offset, &mut buf[copied..copied + n]).is_err() {
            break;
        }
        copied += n;
        seq = seq.wrapping_add(n as u32);
        if offset + n == skb.len() {
            if peek {
                idx += 1;
            } else {
                q.dequeue();
            }
        }
    }
    if copied == 0 {
        return Err(Errno::EAGAIN);
    }
    if !peek {
        *copied_seq = seq;
    }
    Ok(copied)
}

/// `udp_recvmsg()` without blocking: take the oldest datagram whole (or,
/// with `MSG_PEEK`, copy it and leave it queued), copy what fits in
/// `buf`, and report as described above. `EAGAIN` when nothing is queued.
pub fn udp_recvmsg(q: &mut RcvQueue, buf: &mut [u8], flags: i32) -> Result<Recv, Errno> {
    let peek = flags & MSG_PEEK != 0;
    let taken;
    let skb = if peek {
        q.peek().ok_or(Errno::EAGAIN)?
    } else {
        taken = q.dequeue().ok_or(Errno::EAGAIN)?;
        &taken
    };
    let len = skb.len();
    let copied = len.min(buf.len());
    skb.copy_bits(0, &mut buf[..copied])
        .map_err(|_| Errno::EFAULT)?;
    let msg_flags = if copied < len { MSG_TRUNC } else { 0 };
    let ret = if flags & MSG_TRUNC != 0 { len } else { copied };
    Ok(Recv { ret, msg_flags })
}
