//! Datagram sockets' common parts (`net/core/datagram.c`).
//!
//! Readiness: `datagram_poll()` and `udp_poll()` (`net/ipv4/udp.c`).
//!
//! Readable when a datagram is queued, or once `shutdown(SHUT_RD)` was
//! called (then also `EPOLLRDHUP`); `EPOLLHUP` once both directions are
//! shut; writable while less than half of `sk_sndbuf` is in flight
//! (`sock_writeable()`); `EPOLLERR` with an error pending (an ICMP error on
//! a connected socket) or anything on the error queue (zero-copy
//! notifications).
//!
//! Simplified: `udp_poll()`'s check that drops a queued datagram with a bad
//! checksum before reporting `EPOLLIN` to a blocking caller is left out, so
//! such a datagram reports readable (the kernel would discard it first).
//!
//! Receiving, for the protocols that keep message boundaries and need
//! nothing of their own on the way out, raw IP and netlink:
//! `skb_recv_datagram()`, `__skb_wait_for_more_packets()`,
//! `skb_copy_datagram_msg()`, and `__sock_queue_rcv_skb()`
//! (`net/core/sock.c`). The queue and the read are the queues lab's
//! ([`crate::net::core::receive_queue`]), as UDP's are. One call takes one whole `sk_buff`: a buffer too
//! short for it gets its first bytes and `MSG_TRUNC`, and the rest is
//! lost; with `MSG_TRUNC` in the flags the call returns the datagram's
//! real length. `MSG_PEEK` leaves it queued. An empty queue makes the call
//! sleep on the socket's wait queue, or fail with `EAGAIN` when
//! non-blocking.

use std::net::SocketAddr;
use std::task::Poll;

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::Wakeup;
use crate::kernel::world::World;
use crate::net::core::receive_queue::udp_recvmsg;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN};
use crate::uapi::errno::Errno;
use crate::uapi::*;

impl World {
    pub(crate) fn udp_poll(&self, sk: SockId) -> u32 {
        self.datagram_poll(sk)
    }

    /// `datagram_poll()`: the readiness of any datagram socket (raw and
    /// netlink sockets use it as is).
    pub(crate) fn datagram_poll(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        // sk_err set or the error queue not empty.
        let mut mask = self.sock_poll_err(sk);
        if s.shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
        }
        if s.shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN {
            mask |= EPOLLHUP;
        }
        if !s.receive_queue.is_empty() {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        if sock_writeable(s.sndbuf, s.wmem_alloc) {
            mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
        }
        mask
    }
}

/// `sock_writeable()`: `sk_wmem_alloc < sk_sndbuf / 2`. The kernel's
/// `sk_wmem_alloc` starts at 1 (the socket holds a reference to itself);
/// ours starts at 0, hence the `+ 1`.
pub(crate) fn sock_writeable(sndbuf: u32, wmem_alloc: u32) -> bool {
    wmem_alloc + 1 < sndbuf >> 1
}

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
        let s = self.sk_mut(sk);
        if s.rmem_alloc() >= s.rcvbuf() {
            s.drops += 1;
            self.kfree_skb(skb);
            return false;
        }
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
        let s = self.sk_mut(sk);
        let Some(src) = s.receive_queue.peek().map(|skb| skb.cb.src) else {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
                return Poll::Ready(Ok(Received { n: 0, src: None }));
            }
            self.sleep_on(pid, sk, WaitFor::Datagram);
            return Poll::Pending;
        };
        let n = match udp_recvmsg(&mut s.receive_queue, buf, flags) {
            Ok(r) => r.ret,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let host = self.sk(sk).host;
        self.costs(host).copied_to_user += n.min(buf.len()) as u64;
        Poll::Ready(Ok(Received { n, src }))
    }
}
