//! `AF_UNIX` connections and byte streams (`net/unix/af_unix.c`):
//! `unix_stream_connect()`, `unix_accept()`, `unix_stream_sendmsg()` and
//! `unix_stream_read_generic()`.
//!
//! There is no handshake: `connect()` finds the listener by name, makes
//! the server side's sock itself, joins the two back to back and queues
//! the new sock on the listener (as a one-byte skb whose owner is the new
//! sock); `accept()` dequeues it and gives it an inode and an fd. The
//! listener's queue holds at most `backlog + 1` of them; a client finding
//! it full sleeps on the listener's `peer_wait` until an `accept()` makes
//! room, or gets `EAGAIN` if non-blocking.
//!
//! A write cuts the bytes into skbs of at most half the send buffer less
//! 64 bytes, and at most 36544 bytes (`SKB_MAX_HEAD(0)` linear and up to
//! 32 KiB in pages), each charged to the *writer's* `sk_wmem_alloc` and
//! queued on the *reader's* receive queue; it sleeps (or stops with what
//! it wrote, or `EAGAIN`) while the writer's charge is at or above
//! `sk_sndbuf`. A read takes bytes across skbs and frees each skb it
//! empties, which returns the charge and may wake the writer.

use std::task::Poll;

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitObj, Wakeup};
use crate::kernel::world::World;
use crate::net::core::sock::{
    RCV_SHUTDOWN, SEND_SHUTDOWN, SockType, SocketState, TCP_CLOSE, TCP_ESTABLISHED,
};
use crate::net::ipv4::tcp::TCP_LISTEN;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{MSG_PEEK, SockAddr};

use super::af_unix::unix_validate_addr;

/// `SKB_MAX_HEAD(0)`: the linear room of a one-page skb head.
const SKB_MAX_HEAD0: usize =
    crate::net::core::skbuff::PAGE_SIZE - crate::net::core::skbuff::SKB_SHINFO_SIZE;
/// `UNIX_SKB_FRAGS_SZ`: `PAGE_SIZE << get_order(32768)`.
const UNIX_SKB_FRAGS_SZ: usize = 32768;

/// `PAGE_ALIGN()`.
pub(crate) fn page_align(n: usize) -> usize {
    n.div_ceil(crate::net::core::skbuff::PAGE_SIZE) * crate::net::core::skbuff::PAGE_SIZE
}

impl World {
    /// `unix_stream_connect()` (also for `SOCK_SEQPACKET`).
    pub(crate) fn unix_stream_connect(
        &mut self,
        pid: Pid,
        sk: SockId,
        addr: SockAddr,
        nonblock: bool,
    ) -> Poll<Result<(), Errno>> {
        let a = match unix_validate_addr(addr) {
            Ok(a) => a,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let other = match self.unix_find_other(sk, &a) {
            Ok(o) => o,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let o = self.sk(other);
        if o.state != TCP_LISTEN || o.shutdown & RCV_SHUTDOWN != 0 {
            return Poll::Ready(Err(Errno::ECONNREFUSED));
        }
        if self.unix_recvq_full(other) {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            // unix_wait_for_peer(): one connect() is let in per accept().
            self.sleep_on_obj(pid, WaitObj::UnixPeerWait(other), WaitFor::Connect, true);
            return Poll::Pending;
        }
        match self.sk(sk).state {
            TCP_CLOSE => {}
            TCP_ESTABLISHED => return Poll::Ready(Err(Errno::EISCONN)),
            _ => return Poll::Ready(Err(Errno::EINVAL)),
        }
        let ty = self.sk(sk).ty;
        let newsk = self.unix_create1(pid, ty);
        self.unix_set_peer(newsk, Some(sk));
        let (addr, path, listener_pid) = {
            let ou = self.u(other);
            (ou.addr, ou.path, ou.peer_pid)
        };
        let nu = self.u_mut(newsk);
        nu.peer_pid = Some(pid);
        nu.addr = addr;
        nu.path = path;
        self.sk_mut(newsk).state = TCP_ESTABLISHED;
        self.u_mut(sk).peer_pid = listener_pid;
        let s = self.sk_mut(sk);
        s.sock_state = SocketState::Connected;
        s.state = TCP_ESTABLISHED;
        self.unix_set_peer(sk, Some(newsk));
        // sock_wmalloc(newsk, 1): the new sock travels to the listener as a
        // one-byte skb it owns (GFP_KERNEL: this one is not memcg-charged).
        let Some(mut skb) = self.alloc_skb(1, 0) else {
            return Poll::Ready(Err(Errno::ENOBUFS));
        };
        self.skb_set_owner_w(&mut skb, newsk);
        self.sk_mut(other).unix_rq_mut().queue_tail(skb);
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| {
            let l = w.sk(other);
            format!(
                "unix_stream_connect: {} connected; the server side's new sock waits on {} ({} of at most {} queued)",
                w.unix_label(sk),
                w.unix_label(other),
                l.unix_rq().qlen(),
                w.u(other).max_ack_backlog + 1
            )
        });
        self.sk_wake(other, Wakeup::DataReady);
        Poll::Ready(Ok(()))
    }

    /// `unix_accept()`: the next queued connection's sock
    /// (`skb_recv_datagram()` on the listener), which then lets one waiting
    /// `connect()` in.
    pub(crate) fn unix_accept(
        &mut self,
        pid: Pid,
        sk: SockId,
        nonblock: bool,
    ) -> Poll<Result<SockId, Errno>> {
        if self.sk(sk).ty == SockType::Dgram {
            return Poll::Ready(Err(Errno::EOPNOTSUPP));
        }
        if self.sk(sk).state != TCP_LISTEN {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        let Some(skb) = self.sk_mut(sk).unix_rq_mut().dequeue() else {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            // A shut-down listener wakes its acceptors with nothing: EINVAL.
            if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
                return Poll::Ready(Err(Errno::EINVAL));
            }
            self.sleep_on(pid, sk, WaitFor::Connection);
            return Poll::Pending;
        };
        let tsk = skb.owner;
        self.consume_skb(skb);
        let Some(tsk) = tsk.filter(|&t| self.socks.contains_key(&t)) else {
            return Poll::Ready(Err(Errno::EINVAL));
        };
        self.unix_peer_wait_wake(sk, Wakeup::PeerWait);
        self.sk_mut(tsk).sock_state = SocketState::Connected;
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| {
            format!(
                "unix_accept: a connection taken off {} ({} left)",
                w.unix_label(sk),
                w.sk(sk).unix_rq().qlen()
            )
        });
        Poll::Ready(Ok(tsk))
    }

    /// `unix_stream_sendmsg()`: `copied` is what earlier runs of this call
    /// (before it slept) already queued.
    pub(crate) fn unix_stream_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        msg: super::UnixMsg<'_>,
        copied: &mut usize,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        let super::UnixMsg { buf, addr, files } = msg;
        let sent = *copied;
        let partial = |e: Errno| Poll::Ready(if sent > 0 { Ok(sent) } else { Err(e) });
        if addr.is_some() {
            return Poll::Ready(Err(if self.sk(sk).state == TCP_ESTABLISHED {
                Errno::EISCONN
            } else {
                Errno::EOPNOTSUPP
            }));
        }
        let Some(other) = self.u(sk).peer else {
            return Poll::Ready(Err(Errno::ENOTCONN));
        };
        if self.sk(sk).shutdown & SEND_SHUTDOWN != 0 {
            return partial(Errno::EPIPE);
        }
        let host = self.sk(sk).host;
        while *copied < buf.len() {
            let sent = *copied;
            let partial = |e: Errno| Poll::Ready(if sent > 0 { Ok(sent) } else { Err(e) });
            let sndbuf = self.sk(sk).sndbuf as usize;
            // Keep two skbs in flight; fall back to order-0 pages.
            let size = (buf.len() - sent)
                .min((sndbuf >> 1).saturating_sub(64))
                .min(SKB_MAX_HEAD0 + UNIX_SKB_FRAGS_SZ);
            let data_len = size.min(page_align(size.saturating_sub(SKB_MAX_HEAD0)));
            // sock_alloc_send_pskb().
            if let Some(e) = self.sock_error(sk) {
                return partial(e);
            }
            if self.sk(sk).shutdown & SEND_SHUTDOWN != 0 {
                return partial(Errno::EPIPE);
            }
            if self.sk(sk).wmem_alloc as usize >= sndbuf {
                if nonblock {
                    return partial(Errno::EAGAIN);
                }
                self.sleep_on(pid, sk, WaitFor::SendSpace);
                return Poll::Pending;
            }
            let chunk = &buf[sent..sent + size];
            let Some(mut skb) = self.unix_alloc_skb(chunk, data_len) else {
                return partial(Errno::ENOBUFS);
            };
            self.costs(host).copied_from_user += size as u64;
            // Passed files ride on the first skb only.
            if sent == 0 {
                self.unix_attach_fds(skb.id, files);
            }
            let before = self.sk(sk).wmem_alloc;
            self.skb_set_owner_w(&mut skb, sk);
            if !self.unix_alive(other) || self.sk(other).shutdown & RCV_SHUTDOWN != 0 {
                self.kfree_skb(skb);
                return partial(Errno::EPIPE);
            }
            let (id, truesize) = (skb.id, skb.truesize());
            self.sk_mut(other).unix_rq_mut().queue_tail(skb);
            self.trace(host, Layer::Unix, |w| {
                let s = w.sk(sk);
                format!(
                    "unix_stream_sendmsg: copy_from_user {size} B into skb#{id} (truesize {truesize}), queued on the peer's receive queue ({} skbs, {} bytes unread); sk_wmem_alloc {before} -> {} of sk_sndbuf {}",
                    w.sk(other).unix_rq().qlen(),
                    w.unix_inq_len(other),
                    s.wmem_alloc,
                    s.sndbuf
                )
            });
            self.sk_wake(other, Wakeup::DataReady);
            *copied += size;
        }
        Poll::Ready(Ok(*copied))
    }

    /// `unix_stream_recvmsg()` (`unix_stream_read_generic()`): bytes from
    /// the head of the receive queue, across skbs, until the buffer is full
    /// or the queue empty. An empty queue returns the pending error, then
    /// end of file once the peer has shut down or closed, or sleeps.
    /// Files passed with the bytes read go to `files`; the read stops after
    /// the skb that carried them.
    pub(crate) fn unix_stream_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
        files: &mut Vec<crate::kernel::ids::FileId>,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        if self.sk(sk).state != TCP_ESTABLISHED {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        let peek = flags & MSG_PEEK != 0;
        let host = self.sk(sk).host;
        let mut copied = 0;
        let mut from = None;
        let mut at = 0;
        loop {
            let q = self.sk(sk).unix_rq();
            let skb = if peek { q.iter().nth(at) } else { q.peek() };
            let Some(skb) = skb else {
                // The reader's target is one byte (no SO_RCVLOWAT, no
                // MSG_WAITALL).
                if copied > 0 {
                    break;
                }
                if let Some(e) = self.sock_error(sk) {
                    return Poll::Ready(Err(e));
                }
                if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
                    break;
                }
                if nonblock {
                    return Poll::Ready(Err(Errno::EAGAIN));
                }
                self.sleep_on(pid, sk, WaitFor::Data);
                return Poll::Pending;
            };
            if from.is_none() {
                from = skb
                    .owner
                    .and_then(|o| self.unix_getname(o, false).ok())
                    .filter(|a| !a.is_unnamed())
                    .map(SockAddr::Unix);
            }
            let consumed = skb.cb.consumed;
            let chunk = (skb.len() - consumed).min(buf.len() - copied);
            if skb
                .copy_bits(consumed, &mut buf[copied..copied + chunk])
                .is_err()
            {
                return Poll::Ready(Err(Errno::EFAULT));
            }
            copied += chunk;
            let id = skb.id;
            let carried = self.unix_skb_has_fds(id);
            if carried {
                files.extend(self.unix_detach_fds(id, peek));
            }
            if peek {
                if carried {
                    break;
                }
                at += 1;
            } else {
                let Some(head) = self.sk_mut(sk).unix_rq_mut().peek_mut() else {
                    break;
                };
                head.cb.consumed += chunk;
                if head.cb.consumed < head.len() {
                    break;
                }
                if let Some(done) = self.sk_mut(sk).unix_rq_mut().dequeue() {
                    let id = done.id;
                    self.trace(host, Layer::Unix, |_w| {
                        format!("unix_stream_recvmsg: skb#{id} read to the end: consume_skb (the writer's charge comes back)")
                    });
                    self.consume_skb(done);
                }
                if carried {
                    break;
                }
            }
            if copied == buf.len() {
                break;
            }
        }
        self.costs(host).copied_to_user += copied as u64;
        Poll::Ready(Ok((copied, from)))
    }
}
