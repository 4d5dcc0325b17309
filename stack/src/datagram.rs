//! Receiving one datagram from a socket's receive queue, for the
//! protocols that keep message boundaries and need nothing of their own on
//! the way out: raw IP and netlink (`net/core/datagram.c`:
//! `skb_recv_datagram()`, `__skb_wait_for_more_packets()`,
//! `skb_copy_datagram_msg()`; `net/core/sock.c`: `__sock_queue_rcv_skb()`).
//!
//! One call takes one whole `sk_buff`: a buffer too short for it gets its
//! first bytes and `MSG_TRUNC`, and the rest is lost; with `MSG_TRUNC` in
//! the flags the call returns the datagram's real length. `MSG_PEEK` leaves
//! it queued. An empty queue makes the call sleep on the socket's wait
//! queue, or fail with `EAGAIN` when non-blocking.

use std::net::SocketAddr;
use std::task::Poll;

use crate::errno::Errno;
use crate::ids::{Pid, SockId};
use crate::sim::World;
use crate::skbuff::SkBuff;
use crate::task::WaitFor;
use crate::uapi::{MSG_PEEK, MSG_TRUNC};
use crate::wait::Wakeup;

/// What [`World::skb_recv_datagram`] hands back: bytes copied (or the
/// datagram's length with `MSG_TRUNC`) and its source.
pub(crate) struct Received {
    pub(crate) n: usize,
    pub(crate) src: Option<SocketAddr>,
}

impl World {
    /// `__sock_queue_rcv_skb()`: queue a datagram unless the receive
    /// buffer is already full (`sk_rmem_alloc >= sk_rcvbuf`: dropped and
    /// counted in `sk_drops`). Returns whether it was queued.
    pub(crate) fn sock_queue_rcv_skb(&mut self, sk: SockId, skb: SkBuff) -> bool {
        let truesize = skb.truesize() as u32;
        let s = self.sk_mut(sk);
        if s.rmem_alloc >= s.rcvbuf {
            s.drops += 1;
            self.kfree_skb(skb);
            return false;
        }
        s.rmem_alloc += truesize;
        s.receive_queue.queue_tail(skb);
        self.sk_wake(sk, Wakeup::DataReady);
        true
    }

    /// `skb_recv_datagram()` + `skb_copy_datagram_msg()`: one datagram
    /// into `buf`, or sleep until there is one.
    pub(crate) fn skb_recv_datagram(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
    ) -> Poll<Result<Received, Errno>> {
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        let peek = flags & MSG_PEEK != 0;
        let s = self.sk_mut(sk);
        let taken = if peek {
            s.receive_queue
                .peek()
                .map(|skb| (skb.to_vec(), skb.cb.src, 0))
        } else {
            s.receive_queue
                .dequeue()
                .map(|skb| (skb.to_vec(), skb.cb.src, skb.truesize()))
        };
        let Some((data, src, truesize)) = taken else {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            if self.sk(sk).shutdown & crate::sock::RCV_SHUTDOWN != 0 {
                return Poll::Ready(Ok(Received { n: 0, src: None }));
            }
            self.sleep_on(pid, sk, WaitFor::Datagram);
            return Poll::Pending;
        };
        let s = self.sk_mut(sk);
        s.rmem_alloc = s.rmem_alloc.saturating_sub(truesize as u32);
        let copied = data.len().min(buf.len());
        buf[..copied].copy_from_slice(&data[..copied]);
        let host = self.sk(sk).host;
        self.costs(host).copied_to_user += copied as u64;
        let n = if flags & MSG_TRUNC != 0 {
            data.len()
        } else {
            copied
        };
        Poll::Ready(Ok(Received { n, src }))
    }
}
