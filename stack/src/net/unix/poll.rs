//! What `poll()` and `epoll` see on an `AF_UNIX` socket
//! (`net/unix/af_unix.c`: `unix_poll()` for streams, `unix_dgram_poll()`
//! for datagram and seqpacket sockets), and the write-space wakeup that
//! goes with it (`unix_writable()`, `unix_write_space()`).
//!
//! A unix socket counts as writable only while at most a *quarter* of its
//! send buffer is charged (TCP and UDP say half): the writer is woken when
//! the reader has drained three quarters. A datagram socket is also
//! unwritable while its peer's queue is full (for a peer not connected back
//! to it); then it asks the peer's `peer_wait` to relay the wakeup when the
//! queue drains (`unix_dgram_peer_wake_me()`), so a poller is not left
//! waiting.

use crate::fs::file::FileKind;
use crate::kernel::ids::{FileId, SockId};
use crate::kernel::wait::Wakeup;
use crate::kernel::world::World;
use crate::net::core::sock::{RCV_SHUTDOWN, Sock, SockType, TCP_CLOSE};
use crate::net::ipv4::tcp::TCP_LISTEN;
use crate::uapi::*;

use super::af_unix::SHUTDOWN_MASK;

/// `unix_writable()`: not a listener, and `sk_wmem_alloc` (whose counter
/// starts at 1, hence `extra`) at most a quarter of `sk_sndbuf`.
fn unix_writable(s: &Sock, extra: u64) -> bool {
    s.state != TCP_LISTEN && (s.wmem_alloc as u64 + extra) * 4 <= s.sndbuf as u64
}

const POLLOUT_BITS: u32 = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;

impl World {
    /// `unix_write_space()`: called as each of the socket's skbs is freed
    /// (`sock_wfree()`, which still holds one unit of the counter then);
    /// wakes writers once the socket is writable again.
    pub(crate) fn unix_write_space(&mut self, sk: SockId) {
        let s = self.sk(sk);
        if unix_writable(s, 2) && !s.wq.is_empty() {
            self.sk_wake(sk, Wakeup::WriteSpace);
        }
    }

    /// The part of `unix_dgram_poll()` that changes state: a datagram
    /// socket found unwritable because its peer's queue is full asks that
    /// peer's `peer_wait` to relay the wakeup when the queue drains
    /// (`unix_dgram_peer_wake_me()`), so its pollers hear of it. Done for
    /// every poll of `file` before its mask is read; nothing for other
    /// files.
    pub(crate) fn unix_dgram_poll_wait(&mut self, file: FileId) {
        let Some(crate::fs::file::File {
            kind: FileKind::Socket(s),
            ..
        }) = self.files.get(&file)
        else {
            return;
        };
        let sk = s.sk;
        if !self.is_unix(sk) || self.sk(sk).ty == SockType::Stream {
            return;
        }
        if unix_writable(self.sk(sk), 1)
            && let Some(other) = self.u(sk).peer
            && self.socks.contains_key(&other)
            && self.u(other).peer != Some(sk)
            && self.unix_recvq_full(other)
        {
            self.unix_dgram_peer_wake_me(sk, other);
        }
    }

    /// `unix_poll()`.
    pub(crate) fn unix_poll(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        let mut mask = 0;
        if s.err.is_some() {
            mask |= EPOLLERR;
        }
        if s.shutdown == SHUTDOWN_MASK {
            mask |= EPOLLHUP;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
        }
        if !s.unix_rq().is_empty() {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        // Never connected, or closed.
        if s.state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        // Writable also once the peer is gone, so a writer is not stuck:
        // its write then fails with EPIPE.
        if unix_writable(s, 1) {
            mask |= POLLOUT_BITS;
        }
        mask
    }

    /// `unix_dgram_poll()` (for datagram and seqpacket sockets): also
    /// unwritable while the peer, not connected back, has a full queue.
    pub(crate) fn unix_dgram_poll(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        let mut mask = 0;
        if s.err.is_some() {
            mask |= EPOLLERR;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
        }
        if s.shutdown == SHUTDOWN_MASK {
            mask |= EPOLLHUP;
        }
        if !s.unix_rq().is_empty() {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        if s.ty == SockType::SeqPacket && s.state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        let peer_full = self.u(sk).peer.is_some_and(|other| {
            self.unix_alive(other) && self.u(other).peer != Some(sk) && self.unix_recvq_full(other)
        });
        if unix_writable(s, 1) && !peer_full {
            mask |= POLLOUT_BITS;
        }
        mask
    }
}
