//! The netlink socket (`net/netlink/af_netlink.c`).
//!
//! A netlink socket has a port id instead of an address: `bind()` with
//! `nl_pid` 0, or the first `sendmsg()`, picks one (`netlink_autobind()`:
//! the process's pid, or a negative number if that is taken). The kernel's
//! end is port id 0. `sendmsg()` to it runs the request at once, in the
//! caller's context (`netlink_unicast_kernel()` → `netlink_rcv_skb()` →
//! `rtnetlink_rcv_msg()`), and the answers land on the caller's receive
//! queue as datagrams.
//!
//! A dump (`NLM_F_DUMP`) is not produced all at once: `netlink_dump_start()`
//! fills one `sk_buff` (`NLMSG_GOODSIZE`, 3776 bytes, or the largest buffer
//! the reader has passed to `recvmsg()` so far, up to 32 KiB less overhead)
//! with as many messages as fit, and each `recvmsg()` that finds the receive
//! queue at most half full fills the next (`netlink_recvmsg()` →
//! `netlink_dump()`). When nothing is left, `NLMSG_DONE` comes in a datagram
//! of its own. So a reader loops on `recv()` until it sees `NLMSG_DONE`.
//!
//! Every message is checked by `netlink_rcv_skb()`: one without
//! `NLM_F_REQUEST`, or a control message (type below 16), is only
//! acknowledged if `NLM_F_ACK` asks for it; an error is always reported as
//! an `NLMSG_ERROR` carrying the negative errno and the request (header and
//! payload); a success with `NLM_F_ACK` gets an `NLMSG_ERROR` with error 0
//! and the request's header only (`NLM_F_CAPPED`). Dumps are not
//! acknowledged.
//!
//! Each socket belongs to the namespace of the process that made it, and
//! the kernel answers about that namespace only.
//!
//! Simplified: only `NETLINK_ROUTE`; no multicast groups (a `bind()` to
//! groups is accepted and nothing is ever sent to them); no
//! `NETLINK_EXT_ACK`, `NETLINK_CAP_ACK` or strict checking options; a
//! taken port id is replaced by -4097, -4098, … rather than a random
//! negative number.

use std::collections::VecDeque;
use std::task::Poll;

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::world::World;
use crate::net::core::sock::SockType;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{NETLINK_ROUTE, SOCK_DGRAM, SOCK_RAW, SockAddr};

use super::{NLM_F_MULTI, NLMSG_DONE, NlMsg};

/// `NLMSG_GOODSIZE`: `SKB_WITH_OVERHEAD(PAGE_SIZE)`, a dump datagram's size
/// before the reader has said how large its buffer is.
pub const NLMSG_GOODSIZE: usize = 4096 - 320;
/// The most a dump datagram grows to for a large reader buffer
/// (`SKB_WITH_OVERHEAD(32768)`).
pub const NETLINK_MAX_RECVMSG_LEN: usize = 32768 - 320;
/// `MAX_LINKS`: netlink protocol numbers.
pub const MAX_LINKS: i32 = 32;

/// A dump in progress (`struct netlink_callback`): the messages still to
/// send, each already encoded, and the `NLMSG_DONE` that ends them.
#[derive(Debug)]
pub(crate) struct Dump {
    pending: VecDeque<Vec<u8>>,
    done: Vec<u8>,
}

/// `struct netlink_sock`.
#[derive(Debug)]
pub(crate) struct NetlinkSock {
    /// `SOCK_RAW` or `SOCK_DGRAM`, as created (they behave alike).
    pub(crate) sock_type: i32,
    /// `portid`: 0 until bound.
    pub(crate) portid: u32,
    pub(crate) bound: bool,
    /// `dst_portid`: where `send()` without an address goes (0, the kernel).
    pub(crate) dst_portid: u32,
    /// `max_recvmsg_len`: the largest buffer a `recvmsg()` has offered.
    pub(crate) max_recvmsg_len: usize,
    /// `cb_running`: a dump that has more to send.
    pub(crate) dump: Option<Dump>,
}

impl NetlinkSock {
    pub(crate) fn new(sock_type: i32) -> NetlinkSock {
        NetlinkSock {
            sock_type,
            portid: 0,
            bound: false,
            dst_portid: 0,
            max_recvmsg_len: 0,
            dump: None,
        }
    }
}

impl World {
    fn nlk(&self, sk: SockId) -> &NetlinkSock {
        self.sk(sk).netlink.as_deref().expect("a netlink socket")
    }

    fn nlk_mut(&mut self, sk: SockId) -> &mut NetlinkSock {
        self.sk_mut(sk)
            .netlink
            .as_deref_mut()
            .expect("a netlink socket")
    }

    /// `netlink_create()`: `SOCK_RAW` or `SOCK_DGRAM` only
    /// (`ESOCKTNOSUPPORT`), and a protocol the kernel has
    /// (`EPROTONOSUPPORT`; only `NETLINK_ROUTE` here).
    pub(crate) fn netlink_check_create(&self, base: i32, protocol: i32) -> Result<SockType, Errno> {
        if base != SOCK_RAW && base != SOCK_DGRAM {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        if !(0..MAX_LINKS).contains(&protocol) || protocol != NETLINK_ROUTE {
            return Err(Errno::EPROTONOSUPPORT);
        }
        Ok(SockType::Raw)
    }

    /// Hashes the socket under `portid` (`netlink_insert()`).
    fn netlink_insert(&mut self, sk: SockId, portid: u32) -> Result<(), Errno> {
        let ns = self.sk(sk).netns;
        if self.ns(ns).netlink.contains_key(&portid) {
            return Err(Errno::EADDRINUSE);
        }
        self.ns_mut(ns).netlink.insert(portid, sk);
        let nl = self.nlk_mut(sk);
        nl.portid = portid;
        nl.bound = true;
        Ok(())
    }

    /// `netlink_autobind()`: the process's pid if free, else a negative id.
    fn netlink_autobind(&mut self, pid: Pid, sk: SockId) -> Result<(), Errno> {
        if self.nlk(sk).bound {
            return Ok(());
        }
        let tgid: u32 = pid.to_string().parse().unwrap_or(0);
        if self.netlink_insert(sk, tgid).is_ok() {
            return Ok(());
        }
        let mut rover: i32 = -4097;
        loop {
            if self.netlink_insert(sk, rover as u32).is_ok() {
                return Ok(());
            }
            rover = rover.checked_sub(1).ok_or(Errno::EADDRINUSE)?;
        }
    }

    /// `netlink_bind()`: `nl_pid` 0 asks for an automatic port id.
    pub(crate) fn netlink_bind(
        &mut self,
        pid: Pid,
        sk: SockId,
        addr: SockAddr,
    ) -> Result<(), Errno> {
        let SockAddr::Netlink { pid: want, .. } = addr else {
            return Err(Errno::EINVAL);
        };
        if self.nlk(sk).bound {
            // Rebinding to another port id is refused; the same one is fine.
            return if want == 0 || want == self.nlk(sk).portid {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            };
        }
        if want == 0 {
            return self.netlink_autobind(pid, sk);
        }
        self.netlink_insert(sk, want)
    }

    /// `netlink_connect()`: sets the default destination; `AF_UNSPEC`
    /// resets it to the kernel.
    pub(crate) fn netlink_connect(
        &mut self,
        pid: Pid,
        sk: SockId,
        addr: SockAddr,
    ) -> Result<(), Errno> {
        match addr {
            SockAddr::Unspec => {
                self.nlk_mut(sk).dst_portid = 0;
                Ok(())
            }
            SockAddr::Netlink { pid: dst, .. } => {
                self.netlink_autobind(pid, sk)?;
                self.nlk_mut(sk).dst_portid = dst;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `netlink_sendmsg()`: to the kernel, the request is handled before
    /// the call returns; to another socket's port id, the bytes are queued
    /// there (`ECONNREFUSED` if nobody has that id).
    pub(crate) fn netlink_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        addr: Option<SockAddr>,
    ) -> Poll<Result<usize, Errno>> {
        let dst = match addr {
            None => self.nlk(sk).dst_portid,
            Some(SockAddr::Netlink { pid: dst, .. }) => dst,
            Some(_) => return Poll::Ready(Err(Errno::EINVAL)),
        };
        if buf.len() + 32 > self.sk(sk).sndbuf as usize {
            return Poll::Ready(Err(Errno::EMSGSIZE));
        }
        if let Err(e) = self.netlink_autobind(pid, sk) {
            return Poll::Ready(Err(e));
        }
        let host = self.sk(sk).host;
        self.costs(host).copied_from_user += buf.len() as u64;
        if dst != 0 {
            let ns = self.sk(sk).netns;
            let Some(&to) = self.ns(ns).netlink.get(&dst) else {
                return Poll::Ready(Err(Errno::ECONNREFUSED));
            };
            let from = self.nlk(sk).portid;
            self.netlink_queue(to, buf.to_vec(), from);
            return Poll::Ready(Ok(buf.len()));
        }
        self.trace(host, Layer::Netlink, |_w| {
            format!(
                "netlink_sendmsg: {} B to the kernel: netlink_rcv_skb",
                buf.len()
            )
        });
        self.netlink_rcv_skb(sk, buf);
        Poll::Ready(Ok(buf.len()))
    }

    /// `netlink_unicast()` to a socket: one datagram on its receive queue.
    /// A full queue drops it and leaves `ENOBUFS` for the reader
    /// (`netlink_overrun()`).
    pub(crate) fn netlink_queue(&mut self, to: SockId, bytes: Vec<u8>, from_portid: u32) {
        let size = bytes.len();
        let Some(mut skb) = self.alloc_skb(size, 0) else {
            return;
        };
        if skb.put_data(&bytes).is_err() {
            return;
        }
        // NETLINK_CB(skb).portid: skb->cb is each protocol's own, and the
        // sender's port id sits where TCP keeps a sequence number.
        skb.cb.seq = from_portid;
        if !self.sock_queue_rcv_skb(to, skb) {
            self.sk_mut(to).err = Some(Errno::ENOBUFS);
            self.sk_wake(to, crate::kernel::wait::Wakeup::ErrorReport);
        }
    }

    /// `netlink_dump_start()`: keep the answer's messages and send the
    /// first datagram of it now.
    pub(crate) fn netlink_dump_start(&mut self, sk: SockId, msgs: Vec<Vec<u8>>, seq: u32) {
        let portid = self.nlk(sk).portid;
        let mut done = NlMsg::new(NLMSG_DONE, NLM_F_MULTI, seq, portid);
        done.put(&0i32.to_ne_bytes());
        self.nlk_mut(sk).dump = Some(Dump {
            pending: msgs.into(),
            done: done.finish(),
        });
        self.netlink_dump(sk);
    }

    /// `netlink_dump()`: one more datagram of the dump in progress, unless
    /// the receive queue is full: as many messages as fit, or, when none is
    /// left, `NLMSG_DONE` alone.
    fn netlink_dump(&mut self, sk: SockId) {
        if self.sk(sk).rmem_alloc() >= self.sk(sk).rcvbuf() {
            return;
        }
        let host = self.sk(sk).host;
        let size = NLMSG_GOODSIZE.max(self.nlk(sk).max_recvmsg_len);
        let portid = self.nlk(sk).portid;
        let Some(dump) = self.nlk_mut(sk).dump.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        let mut n = 0;
        while let Some(m) = dump.pending.front() {
            if !out.is_empty() && out.len() + m.len() > size {
                break;
            }
            out.extend(dump.pending.pop_front().unwrap_or_default());
            n += 1;
        }
        if out.is_empty() {
            let done = std::mem::take(&mut dump.done);
            self.nlk_mut(sk).dump = None;
            self.trace(host, Layer::Netlink, |_w| {
                "netlink_dump: nothing left: NLMSG_DONE".to_string()
            });
            self.netlink_queue(sk, done, 0);
            return;
        }
        let len = out.len();
        self.trace(host, Layer::Netlink, |_w| {
            format!("netlink_dump: {n} message(s), {len} B in one datagram of at most {size} B")
        });
        self.netlink_queue(sk, out, portid);
    }

    /// `netlink_recvmsg()`: one datagram; then, if a dump is running and
    /// the queue has room, its next part.
    pub(crate) fn netlink_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        let nl = self.nlk_mut(sk);
        nl.max_recvmsg_len = nl
            .max_recvmsg_len
            .max(buf.len())
            .min(NETLINK_MAX_RECVMSG_LEN);
        let from = self.sk(sk).receive_queue.peek().map_or(0, |skb| skb.cb.seq);
        let got = match self.skb_recv_datagram(pid, sk, buf, flags, nonblock) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r,
        };
        let s = self.sk(sk);
        if s.netlink.as_deref().is_some_and(|n| n.dump.is_some())
            && s.rmem_alloc() <= s.rcvbuf() / 2
        {
            self.netlink_dump(sk);
        }
        Poll::Ready(got.map(|g| {
            let src = SockAddr::Netlink {
                pid: from,
                groups: 0,
            };
            (g.n, Some(src))
        }))
    }

    /// `netlink_release()`.
    pub(crate) fn netlink_release(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        if let Some(nl) = self.sk(sk).netlink.as_deref()
            && nl.bound
        {
            let portid = nl.portid;
            self.ns_mut(ns).netlink.remove(&portid);
        }
        self.sk_release(sk);
    }
}

#[cfg(test)]
mod tests {
    use crate::net::netlink::user::{self, Reply};
    use crate::net::netlink::*;
    use crate::prelude::*;

    const KERNEL: SockAddr = SockAddr::Netlink { pid: 0, groups: 0 };

    /// The answer to a dump is polled in like any datagram: `POLLIN` while
    /// part of it waits, and the reader sees it a datagram at a time.
    #[test]
    fn a_dump_is_read_datagram_by_datagram_and_polls_readable() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        for i in 0..40 {
            sim.ip(h, &format!("link add br{i} type bridge")).unwrap();
        }
        sim.spawn(h, "nl", |p| async move {
            let fd = p.socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE)?;
            let mut pfd = [PollFd::new(fd, POLLIN | POLLOUT)];
            p.poll(&mut pfd, 0).await?;
            assert_eq!(pfd[0].revents, POLLOUT);
            p.sendto(fd, &user::dump_request(RTM_GETLINK, 0, 5), 0, KERNEL)
                .await?;
            p.poll(&mut pfd, 0).await?;
            assert_eq!(pfd[0].revents, POLLIN | POLLOUT);
            let mut sizes = Vec::new();
            let mut links = 0;
            loop {
                let mut buf = vec![0u8; 8192];
                let n = p.recv(fd, &mut buf, 0).await?;
                sizes.push(n);
                let replies = user::parse(&buf[..n]);
                links += replies
                    .iter()
                    .filter(|r| matches!(r, Reply::Link(_)))
                    .count();
                if replies.contains(&Reply::Done) {
                    break;
                }
            }
            assert_eq!(links, 41, "lo and 40 bridges");
            // The first datagram is at most NLMSG_GOODSIZE; later ones as
            // large as the reader's buffer; NLMSG_DONE comes alone.
            assert!(sizes[0] <= af_netlink::NLMSG_GOODSIZE, "{sizes:?}");
            assert!(sizes[1] > af_netlink::NLMSG_GOODSIZE, "{sizes:?}");
            assert_eq!(*sizes.last().unwrap(), 20);
            assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_TYPE), Ok(SOCK_DGRAM));
            assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_DOMAIN), Ok(AF_NETLINK));
            Ok(())
        });
        assert!(sim.run().is_ok());
    }

    #[test]
    fn port_ids_and_bad_calls() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.spawn(h, "nl", |p| async move {
            assert_eq!(
                p.socket(AF_NETLINK, SOCK_STREAM, 0),
                Err(Errno::ESOCKTNOSUPPORT)
            );
            assert_eq!(
                p.socket(AF_NETLINK, SOCK_RAW, 99),
                Err(Errno::EPROTONOSUPPORT)
            );
            let a = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
            let b = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
            // The first automatic port id is the pid; the next a negative one.
            p.bind(a, KERNEL)?;
            p.bind(b, KERNEL)?;
            let pid: u32 = p.pid().to_string().parse().unwrap();
            assert_eq!(p.getsockname(a)?, SockAddr::Netlink { pid, groups: 0 });
            assert_eq!(
                p.getsockname(b)?,
                SockAddr::Netlink {
                    pid: -4097i32 as u32,
                    groups: 0
                }
            );
            let c = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
            assert_eq!(
                p.bind(c, SockAddr::Netlink { pid, groups: 0 }),
                Err(Errno::EADDRINUSE)
            );
            assert_eq!(p.bind(c, "127.0.0.1:1"), Err(Errno::EINVAL));
            assert_eq!(
                p.sendto(c, b"x", 0, "127.0.0.1:1").await,
                Err(Errno::EINVAL)
            );
            assert_eq!(p.shutdown(c, SHUT_RDWR), Err(Errno::EOPNOTSUPP));
            // A short message is ignored; nothing comes back.
            assert_eq!(p.sendto(c, &[1, 2], 0, KERNEL).await, Ok(2));
            let mut buf = [0u8; 64];
            assert_eq!(p.recv(c, &mut buf, MSG_DONTWAIT).await, Err(Errno::EAGAIN));
            // One socket to another: delivered as is, from the sender's id.
            let hello = NlMsg::new(NLMSG_NOOP, 0, 1, 0).finish();
            p.sendto(c, &hello, 0, SockAddr::Netlink { pid, groups: 0 })
                .await?;
            let (n, from) = p.recvfrom(a, &mut buf, 0).await?;
            assert_eq!(&buf[..n], &hello[..]);
            let SockAddr::Netlink { pid: cpid, .. } = p.getsockname(c)? else {
                unreachable!()
            };
            assert_eq!(
                from,
                Some(SockAddr::Netlink {
                    pid: cpid,
                    groups: 0
                })
            );
            assert_eq!(
                p.sendto(
                    c,
                    &hello,
                    0,
                    SockAddr::Netlink {
                        pid: 12345,
                        groups: 0
                    }
                )
                .await,
                Err(Errno::ECONNREFUSED)
            );
            Ok(())
        });
        assert!(sim.run().is_ok());
    }
}
