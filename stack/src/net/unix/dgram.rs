//! `AF_UNIX` datagrams (`net/unix/af_unix.c`): `unix_dgram_connect()`,
//! `unix_dgram_sendmsg()` and `__unix_dgram_recvmsg()`, which
//! `SOCK_SEQPACKET` uses too (`unix_seqpacket_sendmsg()`,
//! `unix_seqpacket_recvmsg()`, which first require a connection).
//!
//! One message is one skb, charged to the sender's `sk_wmem_alloc` and
//! queued on the receiver; the reader gets one whole message per call, cut
//! to its buffer (the rest is lost; with `MSG_TRUNC` the call returns the
//! message's real length). Two limits apply to a sender: its own
//! `sk_sndbuf`, and, unless the receiver is connected back to it (a
//! socketpair, say), the receiver's queue length: past
//! `net.unix.max_dgram_qlen` queued datagrams, it sleeps on the receiver's
//! `peer_wait` (or gets `EAGAIN`), as a logger's clients do when the
//! logging daemon (`/dev/log`) falls behind.

use std::task::Poll;

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitObj, Wakeup};
use crate::kernel::world::World;
use crate::net::core::skbuff::{MAX_SKB_FRAGS, PAGE_SIZE, SKB_MAX_ALLOC, SkBuff};
use crate::net::core::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN, SockType, TCP_CLOSE, TCP_ESTABLISHED};
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{MSG_PEEK, MSG_TRUNC, SockAddr};

use super::af_unix::unix_validate_addr;
use super::stream::page_align;

impl World {
    /// `unix_may_send()`: `other` takes datagrams from anyone while it has
    /// no peer, and only from its peer once connected.
    fn unix_may_send(&self, sk: SockId, other: SockId) -> bool {
        self.u(other).peer.is_none_or(|p| p == sk)
    }

    /// `unix_dgram_connect()`: set (or with `AF_UNSPEC` dissolve) the
    /// default destination. The receiver must not be connected to someone
    /// else (`EPERM`). Leaving a peer drops what it had sent us, and
    /// reports `ECONNRESET` to it if it was connected back.
    pub(crate) fn unix_dgram_connect(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        let other = match addr {
            SockAddr::Unspec => None,
            _ => {
                let a = unix_validate_addr(addr)?;
                let o = self.unix_find_other(sk, &a)?;
                if !self.unix_may_send(sk, o) {
                    return Err(Errno::EPERM);
                }
                self.sk_mut(sk).state = TCP_ESTABLISHED;
                self.sk_mut(o).state = TCP_ESTABLISHED;
                Some(o)
            }
        };
        let old = self.unix_set_peer(sk, other);
        if let Some(old) = old {
            if other.is_none() {
                self.sk_mut(sk).state = TCP_CLOSE;
            }
            self.unix_dgram_peer_wake_disconnect(sk, old);
            self.sk_wake(sk, Wakeup::WriteSpace);
            if other != Some(old) {
                self.unix_dgram_disconnected(sk, old);
                if self.socks.contains_key(&old) && self.u(old).peer.is_none() {
                    self.sk_mut(old).state = TCP_CLOSE;
                }
            }
            self.unix_sock_put(old);
        }
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| match other {
            Some(o) => format!(
                "unix_dgram_connect: {} sends to {} by default",
                w.unix_label(sk),
                w.unix_label(o)
            ),
            None => format!("unix_dgram_connect: {} has no peer", w.unix_label(sk)),
        });
        Ok(())
    }

    /// `unix_dgram_disconnected()`: what the old peer sent is purged; a
    /// peer that was connected back learns of it as `ECONNRESET`.
    fn unix_dgram_disconnected(&mut self, sk: SockId, other: SockId) {
        if self.sk(sk).unix_rq().is_empty() {
            return;
        }
        let purged: Vec<SkBuff> =
            std::iter::from_fn(|| self.sk_mut(sk).unix_rq_mut().dequeue()).collect();
        for skb in purged {
            self.kfree_skb(skb);
        }
        self.unix_peer_wait_wake(sk, Wakeup::StateChange);
        if self.unix_alive(other) && self.u(other).peer == Some(sk) {
            self.sk_mut(other).err = Some(Errno::ECONNRESET);
            self.sk_wake(other, Wakeup::ErrorReport);
        }
    }

    /// Takes back the datagram this process allocated before it went to
    /// sleep on a full receiver.
    fn unix_take_pending(&mut self, sk: SockId, pid: Pid) -> Option<SkBuff> {
        let pending = &mut self.u_mut(sk).pending;
        let i = pending.iter().position(|(p, _)| *p == pid)?;
        Some(pending.remove(i).1)
    }

    /// `unix_dgram_sendmsg()` (and `unix_seqpacket_sendmsg()`).
    pub(crate) fn unix_dgram_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        msg: super::UnixMsg<'_>,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        let super::UnixMsg { buf, addr, files } = msg;
        let seqpacket = self.sk(sk).ty == SockType::SeqPacket;
        // A seqpacket socket sends to its peer, whatever address is given.
        let addr = if seqpacket { None } else { addr };
        let skb = match self.unix_take_pending(sk, pid) {
            Some(skb) => skb,
            None => match self.unix_dgram_alloc(pid, sk, buf, addr, nonblock, seqpacket) {
                Ok(skb) => {
                    self.unix_attach_fds(skb.id, files);
                    skb
                }
                Err(r) => return r,
            },
        };
        let mut other = match addr {
            Some(a) => unix_validate_addr(a).and_then(|a| self.unix_find_other(sk, &a)),
            None => self.u(sk).peer.ok_or(Errno::ECONNRESET),
        };
        // restart_locked:
        let other = loop {
            let o = match other {
                Ok(o) => o,
                Err(e) => {
                    self.kfree_skb(skb);
                    return Poll::Ready(Err(e));
                }
            };
            if !self.unix_may_send(sk, o) {
                self.kfree_skb(skb);
                return Poll::Ready(Err(Errno::EPERM));
            }
            if self.unix_alive(o) {
                break o;
            }
            // Only a peer can be a closed sock: names are gone with them.
            if seqpacket {
                self.kfree_skb(skb);
                return Poll::Ready(Err(Errno::EPIPE));
            }
            if self.u(sk).peer == Some(o) {
                self.unix_set_peer(sk, None);
                self.unix_dgram_peer_wake_disconnect(sk, o);
                self.sk_wake(sk, Wakeup::WriteSpace);
                self.sk_mut(sk).state = TCP_CLOSE;
                self.unix_dgram_disconnected(sk, o);
                self.unix_sock_put(o);
                self.kfree_skb(skb);
                return Poll::Ready(Err(Errno::ECONNREFUSED));
            }
            other = Err(Errno::ECONNREFUSED);
        };
        if self.sk(other).shutdown & RCV_SHUTDOWN != 0 {
            self.kfree_skb(skb);
            return Poll::Ready(Err(Errno::EPIPE));
        }
        if other != sk && self.u(other).peer != Some(sk) && self.unix_recvq_full(other) {
            if !nonblock {
                // unix_wait_for_peer(): the datagram, and its charge, wait
                // with the sender.
                self.u_mut(sk).pending.push((pid, skb));
                self.sleep_on_obj(pid, WaitObj::UnixPeerWait(other), WaitFor::SendSpace, true);
                return Poll::Pending;
            }
            if self.u(sk).peer != Some(other) || self.unix_dgram_peer_wake_me(sk, other) {
                self.kfree_skb(skb);
                return Poll::Ready(Err(Errno::EAGAIN));
            }
        }
        let (id, truesize, len) = (skb.id, skb.truesize(), skb.len());
        self.sk_mut(other).unix_rq_mut().queue_tail(skb);
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| {
            let s = w.sk(sk);
            format!(
                "unix_dgram_sendmsg: skb#{id} ({len} B, truesize {truesize}) queued on {} ({} datagrams); sk_wmem_alloc {} of sk_sndbuf {}",
                w.unix_label(other),
                w.sk(other).unix_rq().qlen(),
                s.wmem_alloc,
                s.sndbuf
            )
        });
        self.sk_wake(other, Wakeup::DataReady);
        Poll::Ready(Ok(buf.len()))
    }

    /// The first half of `unix_dgram_sendmsg()`: the checks, then
    /// `sock_alloc_send_pskb()` (which may sleep on the sender's own buffer)
    /// and the copy from user memory. `Err` holds what the call returns.
    fn unix_dgram_alloc(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        addr: Option<SockAddr>,
        nonblock: bool,
        seqpacket: bool,
    ) -> Result<SkBuff, Poll<Result<usize, Errno>>> {
        let fail = |e: Errno| Poll::Ready(Err(e));
        if seqpacket {
            if let Some(e) = self.sock_error(sk) {
                return Err(fail(e));
            }
            if self.sk(sk).state != TCP_ESTABLISHED {
                return Err(fail(Errno::ENOTCONN));
            }
        }
        match addr {
            Some(a) => {
                unix_validate_addr(a).map_err(fail)?;
            }
            None if self.u(sk).peer.is_none() => return Err(fail(Errno::ENOTCONN)),
            None => {}
        }
        let sndbuf = self.sk(sk).sndbuf as usize;
        if buf.len() > sndbuf.saturating_sub(32) {
            return Err(fail(Errno::EMSGSIZE));
        }
        if let Some(e) = self.sock_error(sk) {
            return Err(fail(e));
        }
        if self.sk(sk).shutdown & SEND_SHUTDOWN != 0 {
            return Err(fail(Errno::EPIPE));
        }
        if self.sk(sk).wmem_alloc as usize >= sndbuf {
            if nonblock {
                return Err(fail(Errno::EAGAIN));
            }
            self.sleep_on(pid, sk, WaitFor::SendSpace);
            return Err(Poll::Pending);
        }
        // A datagram past the largest linear head puts its tail in pages.
        let data_len = if buf.len() > SKB_MAX_ALLOC {
            page_align((buf.len() - SKB_MAX_ALLOC).min(MAX_SKB_FRAGS * PAGE_SIZE))
        } else {
            0
        };
        let Some(mut skb) = self.unix_alloc_skb(buf, data_len) else {
            return Err(fail(Errno::ENOBUFS));
        };
        let host = self.sk(sk).host;
        self.costs(host).copied_from_user += buf.len() as u64;
        self.skb_set_owner_w(&mut skb, sk);
        Ok(skb)
    }

    /// `__unix_dgram_recvmsg()` (and `unix_seqpacket_recvmsg()`): one whole
    /// message, cut to the buffer; files passed with it go to `files`.
    pub(crate) fn unix_dgram_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
        files: &mut Vec<crate::kernel::ids::FileId>,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        let seqpacket = self.sk(sk).ty == SockType::SeqPacket;
        if seqpacket && self.sk(sk).state != TCP_ESTABLISHED {
            return Poll::Ready(Err(Errno::ENOTCONN));
        }
        // __skb_try_recv_datagram(): a pending error comes first.
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        let peek = flags & MSG_PEEK != 0;
        let Some(skb) = self.sk(sk).unix_rq().peek() else {
            let shut = self.sk(sk).shutdown & RCV_SHUTDOWN != 0;
            if nonblock {
                // A non-blocking seqpacket read sees the end of a
                // disconnected stream; a datagram one only EAGAIN.
                return Poll::Ready(if seqpacket && shut {
                    Ok((0, None))
                } else {
                    Err(Errno::EAGAIN)
                });
            }
            // __skb_wait_for_more_packets().
            if shut {
                return Poll::Ready(Ok((0, None)));
            }
            // Datagram readers wait exclusively: one datagram, one reader.
            self.sleep_on_obj(pid, WaitObj::Sock(sk), WaitFor::Datagram, true);
            return Poll::Pending;
        };
        let len = skb.len();
        let n = len.min(buf.len());
        if skb.copy_bits(0, &mut buf[..n]).is_err() {
            return Poll::Ready(Err(Errno::EFAULT));
        }
        let sender = skb.owner;
        let id = skb.id;
        files.extend(self.unix_detach_fds(id, peek));
        // Senders waiting for room in our queue may go on.
        self.unix_peer_wait_wake(sk, Wakeup::PeerWait);
        let from = sender
            .and_then(|o| self.unix_getname(o, false).ok())
            .filter(|a| !a.is_unnamed())
            .map(SockAddr::Unix);
        let host = self.sk(sk).host;
        self.costs(host).copied_to_user += n as u64;
        if !peek && let Some(skb) = self.sk_mut(sk).unix_rq_mut().dequeue() {
            self.trace(host, Layer::Unix, |w| {
                format!(
                    "unix_dgram_recvmsg: skb#{id} dequeued ({} left), copy_to_user {n} of {len} B{}",
                    w.sk(sk).unix_rq().qlen(),
                    if n < len { " (the rest is discarded: MSG_TRUNC)" } else { "" }
                )
            });
            self.consume_skb(skb);
        }
        let ret = if flags & MSG_TRUNC != 0 { len } else { n };
        Poll::Ready(Ok((ret, from)))
    }
}
