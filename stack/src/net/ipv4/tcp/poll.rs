//! `tcp_poll()` (`net/ipv4/tcp.c`) and `inet_csk_listen_poll()`
//! (`include/net/inet_connection_sock.h`): a TCP socket's readiness.
//!
//! A listener is readable when its accept queue holds a connection. Any
//! other socket: `EPOLLHUP` once both directions are shut or it is closed
//! (so a fresh, unconnected socket reports `EPOLLOUT | EPOLLHUP`, a
//! well-known surprise); `EPOLLIN | EPOLLRDHUP` once the peer's FIN has
//! arrived; readable with data queued; writable while the send buffer has
//! room (`__sk_stream_is_writeable`: free space at least half of what is
//! queued, and below `sk_sndbuf`) and, with `TCP_NOTSENT_LOWAT` (or
//! `net.ipv4.tcp_notsent_lowat`), twice the bytes not yet sent are below
//! it (`tcp_stream_memory_free()`); `EPOLLERR` with an error pending or
//! anything on the error queue. A
//! socket still in SYN_SENT reports neither readable nor writable.
//!
//! Readable means `SO_RCVLOWAT` bytes queued (1 by default), or fewer
//! when waiting for more could not work: the receive buffer is nearly
//! full or the window left is smaller than a segment
//! (`tcp_epollin_ready()`).
//!
//! Simplified: no urgent data (`EPOLLPRI`), no Fast Open.

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN, TCP_CLOSE};
use crate::uapi::*;

use super::{TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT};

impl World {
    pub(crate) fn tcp_poll(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        let Some(tp) = s.tcp.as_deref() else {
            return 0;
        };
        if s.state == TCP_LISTEN {
            return if tp.queues.0.accept_queue_len() == 0 {
                0
            } else {
                EPOLLIN | EPOLLRDNORM
            };
        }
        let mut mask = 0;
        if s.shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || s.state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        }
        if s.state != TCP_SYN_SENT && s.state != TCP_SYN_RECV {
            let avail = tp.rcv_nxt.wrapping_sub(tp.copied_seq);
            // tcp_rmem_pressure(): more than 7/8 of the buffer taken.
            let pressure = s.rmem_alloc() > s.rcvbuf() - s.rcvbuf() / 8;
            let window = tp.rcv_wup.wrapping_add(tp.rcv_wnd).wrapping_sub(tp.rcv_nxt) as i32;
            let ready =
                avail >= s.rcvlowat.max(1) as u32 || pressure || window <= tp.rcv_mss as i32;
            if avail > 0 && !s.receive_queue.is_empty() && ready {
                mask |= EPOLLIN | EPOLLRDNORM;
            }
            if s.shutdown & SEND_SHUTDOWN != 0
                || (sk_stream_is_writeable(s.sndbuf, tp.wmem_queued)
                    && self.tcp_stream_memory_free(sk, 1))
            {
                mask |= EPOLLOUT | EPOLLWRNORM;
            }
        }
        // sk_err set or the error queue not empty (zero-copy notifications).
        mask | self.sock_poll_err(sk)
    }
}

impl World {
    /// `tcp_notsent_lowat()`: the socket's `TCP_NOTSENT_LOWAT`, else the
    /// namespace's `tcp_notsent_lowat` (no limit by default).
    pub(crate) fn tcp_notsent_lowat(&self, sk: SockId) -> u32 {
        match self.tp(sk).opts.notsent_lowat {
            0 => self.ns(self.sk(sk).netns).sysctl.tcp_notsent_lowat,
            n => n,
        }
    }

    /// `tcp_stream_memory_free()`: the bytes written and not yet sent,
    /// doubled when `wake` is 1 (for readiness, so that a writer is woken
    /// only once it can write a good amount), are below the low-water
    /// mark.
    pub(crate) fn tcp_stream_memory_free(&self, sk: SockId, wake: u32) -> bool {
        let tp = self.tp(sk);
        let notsent = u64::from(tp.write_seq.wrapping_sub(tp.snd_nxt));
        (notsent << wake) < u64::from(self.tcp_notsent_lowat(sk))
    }
}

/// `__sk_stream_is_writeable()`: `sk_stream_wspace() >=
/// sk_stream_min_wspace()` and `sk_wmem_queued < sk_sndbuf`.
pub(crate) fn sk_stream_is_writeable(sndbuf: u32, wmem_queued: u32) -> bool {
    let wspace = sndbuf as i64 - wmem_queued as i64;
    wspace >= (wmem_queued >> 1) as i64 && wmem_queued < sndbuf
}
