//! `datagram_poll()` (`net/core/datagram.c`) and `udp_poll()`
//! (`net/ipv4/udp.c`): a datagram socket's readiness.
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

use crate::ids::SockId;
use crate::sim::World;
use crate::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN};
use crate::uapi::*;

impl World {
    pub(crate) fn udp_poll(&self, sk: SockId) -> u32 {
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
