//! Raw IPv4 sockets (`net/ipv4/raw.c`): `socket(AF_INET, SOCK_RAW,
//! IPPROTO_ICMP)`, what `ping` uses to send echo requests it builds
//! itself.
//!
//! Send (`raw_sendmsg()`): the buffer is the IP payload (for ICMP, the
//! ICMP header the program filled in, checksum included; the kernel does
//! not touch it); the kernel routes it and puts an IPv4 header in front,
//! with the socket's protocol number. A socket of protocol `IPPROTO_RAW`
//! supplies the IP header too (`IP_HDRINCL`, `raw_send_hdrinc()`): the
//! kernel fills in the total length, the checksum and, if zero, the source
//! address.
//!
//! Receive (`raw_v4_input()`, called from `ip_local_deliver_finish()`
//! *before* the protocol's own handler): every raw socket of the
//! namespace whose protocol matches, and whose bound and connected
//! addresses (if any) match the datagram's, gets a clone of the **whole
//! datagram, IP header included**. Then the protocol handles it as usual:
//! an echo request still gets its reply from `icmp_echo()`, and a UDP
//! datagram still reaches its UDP socket. So a raw ICMP socket pinging
//! 127.0.0.1 reads its own echo request first, then the reply; and every
//! raw ICMP socket on the host sees both. A protocol with no handler but a
//! raw socket is not "unreachable": the raw socket took it.
//!
//! The simulation runs as root, so `socket(AF_INET, SOCK_RAW, ...)` never
//! fails with `EPERM` (which needs `CAP_NET_RAW`).
//!
//! Simplified: no `ICMP_FILTER`, no `IP_HDRINCL` option on other
//! protocols, no raw IPv6; ICMP errors about datagrams a raw socket sent
//! are not reported to it (`raw_err()`); only echo, echo reply and
//! destination unreachable have their own `Icmp*` counters on send.

use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use crate::kernel::ids::{NetNsId, Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::net::core::sock::{SockType, TCP_CLOSE, TCP_ESTABLISHED};
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{IPPROTO_IP, IPPROTO_MAX, IPPROTO_RAW, SockAddr};
use crate::wire::ipv4::{IPPROTO_ICMP, Ipv4Hdr};

/// `RAW_HTABLE_LOG`: raw sockets hash into 256 chains by protocol.
pub const RAW_HTABLE_LOG: u32 = 8;

/// `hash_32(proto, RAW_HTABLE_LOG)` with `net_hash_mix()` 0: the chain,
/// and so the `sl` column of `/proc/net/raw`.
pub(crate) fn raw_hashfunc(proto: u16) -> u32 {
    (u32::from(proto).wrapping_mul(0x61C8_8647)) >> (32 - RAW_HTABLE_LOG)
}

/// `inet_create()` for `SOCK_RAW`: protocol 0 matches no entry
/// (`EPROTONOSUPPORT`); anything outside `0..IPPROTO_MAX` is `EINVAL`.
pub(crate) fn raw_check_create(protocol: i32) -> Result<SockType, Errno> {
    if !(0..IPPROTO_MAX).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    if protocol == IPPROTO_IP {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(SockType::Raw)
}

impl World {
    /// `raw_bind()`: sets the local address that received datagrams must
    /// be sent to (and sent ones come from). No port is involved.
    pub(crate) fn raw_bind(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        let SockAddr::Inet(SocketAddr::V4(a)) = addr else {
            return Err(Errno::EINVAL);
        };
        if self.sk(sk).state != TCP_CLOSE {
            return Err(Errno::EINVAL);
        }
        let ip = IpAddr::V4(*a.ip());
        let ns = self.sk(sk).netns;
        let ok = a.ip().is_unspecified()
            || a.ip().is_multicast()
            || a.ip().is_broadcast()
            || a.ip().is_loopback()
            || self.is_local_addr(ns, ip);
        if !ok {
            return Err(Errno::EADDRNOTAVAIL);
        }
        self.sk_mut(sk).rcv_saddr = ip;
        Ok(())
    }

    /// `ip4_datagram_connect()` on a raw socket: a default destination
    /// (and a filter on what is received); no port, no autobind.
    pub(crate) fn raw_connect(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        let a = match addr {
            SockAddr::Unspec => {
                let s = self.sk_mut(sk);
                s.daddr = None;
                s.state = TCP_CLOSE;
                return Ok(());
            }
            SockAddr::Inet(a @ SocketAddr::V4(_)) => a,
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        let ns = self.sk(sk).netns;
        let rt = self.ip_route_output(ns, a.ip())?;
        let s = self.sk_mut(sk);
        if s.rcv_saddr.is_unspecified() {
            s.rcv_saddr = rt.src;
        }
        s.daddr = Some(SocketAddr::new(a.ip(), 0));
        s.state = TCP_ESTABLISHED;
        Ok(())
    }

    /// `raw_sendmsg()`.
    pub(crate) fn raw_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        addr: Option<SockAddr>,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        if buf.len() > 0xFFFF {
            return Poll::Ready(Err(Errno::EMSGSIZE));
        }
        let daddr = match addr {
            Some(SockAddr::Inet(SocketAddr::V4(a))) => *a.ip(),
            Some(
                SockAddr::Inet(SocketAddr::V6(_)) | SockAddr::Netlink { .. } | SockAddr::Unix(_),
            ) => {
                return Poll::Ready(Err(Errno::EAFNOSUPPORT));
            }
            Some(SockAddr::Unspec) | None => match self.sk(sk).daddr {
                Some(SocketAddr::V4(a)) if self.sk(sk).state == TCP_ESTABLISHED => *a.ip(),
                _ => return Poll::Ready(Err(Errno::EDESTADDRREQ)),
            },
        };
        let ns = self.sk(sk).netns;
        let rt = match self.ip_route_output(ns, IpAddr::V4(daddr)) {
            Ok(rt) => rt,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        if self.sk(sk).wmem_alloc >= self.sk(sk).sndbuf {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            self.sleep_on(pid, sk, WaitFor::SendSpace);
            return Poll::Pending;
        }
        let proto = self.sk(sk).protocol;
        let saddr = match self.sk(sk).rcv_saddr {
            a if a.is_unspecified() || a.is_multicast() => rt.src,
            a => a,
        };
        let headroom = crate::net::ipv4::udp::LL_RESERVED_SPACE + Ipv4Hdr::LEN;
        let Some(mut skb) = self.alloc_skb_with_payload(headroom, buf, false) else {
            return Poll::Ready(Err(Errno::ENOBUFS));
        };
        let host = self.sk(sk).host;
        self.costs(host).copied_from_user += buf.len() as u64;
        self.skb_set_owner_w(&mut skb, sk);
        self.trace(host, Layer::Ip, |_w| {
            format!(
                "raw_sendmsg: {} B for {daddr}, protocol {proto}: the payload as the program built it",
                buf.len()
            )
        });
        if proto == IPPROTO_RAW as u16 {
            return Poll::Ready(self.raw_send_hdrinc(ns, skb, saddr, rt).map(|()| buf.len()));
        }
        if proto == u16::from(IPPROTO_ICMP)
            && let Some(&ty) = buf.first()
        {
            self.icmp_out_count(ns, ty);
        }
        let ipc = self.inet_ipcm(sk);
        match self.ip_send_skb(ns, skb, saddr, IpAddr::V4(daddr), proto as u8, rt, ipc) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// `raw_send_hdrinc()`: the program wrote the IP header; the kernel
    /// fixes its length, checksum and (if zero) source, and sends it as is.
    fn raw_send_hdrinc(
        &mut self,
        ns: NetNsId,
        mut skb: SkBuff,
        saddr: IpAddr,
        rt: crate::net::ipv4::route::RouteResult,
    ) -> Result<(), Errno> {
        let len = skb.len();
        let data = skb.data_mut();
        let ihl = usize::from(data.first().copied().unwrap_or(0) & 0x0f) * 4;
        if len < Ipv4Hdr::LEN || ihl < Ipv4Hdr::LEN || ihl > len {
            self.kfree_skb(skb);
            return Err(Errno::EINVAL);
        }
        data[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        if data[12..16] == [0; 4]
            && let IpAddr::V4(s) = saddr
        {
            data[12..16].copy_from_slice(&s.octets());
        }
        data[10..12].copy_from_slice(&[0, 0]);
        let check = crate::wire::checksum::checksum(&data[..ihl]);
        data[10..12].copy_from_slice(&check.to_be_bytes());
        skb.reset_network_header();
        self.ip_local_out_prebuilt(ns, skb, rt)
    }

    /// `raw_v4_input()`: a clone of the datagram, IP header and all, for
    /// every raw socket of the namespace that wants it. `skb` has had its
    /// IP header pulled; `header` is that header as received (rewritten for
    /// a reassembled datagram). Returns whether any socket took a copy.
    pub(crate) fn raw_v4_input(
        &mut self,
        ns: NetNsId,
        skb: &mut SkBuff,
        hdr: &Ipv4Hdr,
        reassembled: bool,
    ) -> bool {
        let host = self.ns(ns).host;
        let (saddr, daddr) = (IpAddr::V4(hdr.saddr), IpAddr::V4(hdr.daddr));
        // The chain is walked newest first (sk_add_node() adds at the head).
        let takers: Vec<SockId> = self
            .ns(ns)
            .raw
            .iter()
            .rev()
            .copied()
            .filter(|&id| {
                let s = self.sk(id);
                s.num == u16::from(hdr.protocol)
                    && (s.rcv_saddr.is_unspecified() || s.rcv_saddr == daddr)
                    && s.daddr.is_none_or(|d| d.ip() == saddr)
            })
            .collect();
        let hlen = usize::from(hdr.ihl) * 4;
        for &id in &takers {
            let clone = if reassembled {
                self.rebuild_datagram(hdr, skb)
            } else {
                let mut c = skb.skb_clone();
                match c.push(hlen) {
                    Ok(_) => Some(c),
                    Err(_) => None,
                }
            };
            let Some(mut clone) = clone else { continue };
            clone.cb.src = Some(SocketAddr::new(saddr, 0));
            let len = clone.len();
            let queued = self.sock_queue_rcv_skb(id, clone);
            let inode = self.socks.get(&id).map_or(0, |s| s.inode);
            self.trace(host, Layer::Ip, |_w| {
                format!(
                    "raw_v4_input: {} -> {} proto {}: a {len} B copy, IP header included, {} raw socket (inode {inode})",
                    hdr.saddr,
                    hdr.daddr,
                    hdr.protocol,
                    if queued { "queued on a" } else { "dropped (receive buffer full) by a" },
                )
            });
        }
        !takers.is_empty()
    }

    /// A reassembled datagram with a fresh header (no fragment bits).
    fn rebuild_datagram(&mut self, hdr: &Ipv4Hdr, skb: &SkBuff) -> Option<SkBuff> {
        let payload = skb.to_vec();
        let h = Ipv4Hdr {
            ihl: 5,
            tot_len: (Ipv4Hdr::LEN + payload.len()) as u16,
            frag_off: 0,
            ..*hdr
        };
        let mut out = self.alloc_skb(Ipv4Hdr::LEN + payload.len(), 0)?;
        h.write(out.put(Ipv4Hdr::LEN).ok()?).ok()?;
        out.put_data(&payload).ok()?;
        Some(out)
    }

    /// `raw_recvmsg()`: one whole datagram, IP header first, and its
    /// source address (port 0).
    pub(crate) fn raw_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        self.skb_recv_datagram(pid, sk, buf, flags, nonblock)
            .map(|r| r.map(|got| (got.n, got.src.map(SockAddr::Inet))))
    }

    /// `raw_close()`: unhash and release.
    pub(crate) fn raw_close(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        self.ns_mut(ns).raw.retain(|&s| s != sk);
        self.sk_release(sk);
    }

    /// `icmp_out_count()`: an ICMP message of type `ty` leaves.
    pub(crate) fn icmp_out_count(&mut self, ns: NetNsId, ty: u8) {
        let mib = &mut self.ns_mut(ns).mib;
        mib.inc(Mib::IcmpOutMsgs);
        let (counter, msg) = match ty {
            crate::wire::icmp::ICMP_ECHOREPLY => (Mib::IcmpOutEchoReps, Mib::IcmpMsgOutType0),
            crate::wire::icmp::ICMP_DEST_UNREACH => {
                (Mib::IcmpOutDestUnreachs, Mib::IcmpMsgOutType3)
            }
            crate::wire::icmp::ICMP_ECHO => (Mib::IcmpOutEchos, Mib::IcmpMsgOutType8),
            _ => return,
        };
        mib.inc(counter);
        mib.inc(msg);
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    /// An echo request `ping` builds: type 8, id, sequence, checksum.
    fn echo(id: u16, seq: u16) -> Vec<u8> {
        let mut m = vec![8, 0, 0, 0];
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(b"abcdefgh");
        let _ = crate::wire::icmp::fill_checksum(&mut m);
        m
    }

    /// A ping to another host: `poll()` sleeps until the reply has crossed
    /// the link and `raw_v4_input()` woke the socket; the datagram read
    /// starts with the reply's IPv4 header.
    #[test]
    fn poll_wakes_when_the_reply_arrives() {
        let mut sim = Sim::new(1);
        let a = sim.add_host("a");
        let b = sim.add_host("b");
        sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
        let got = std::rc::Rc::new(std::cell::RefCell::new(None));
        let out = got.clone();
        sim.spawn(a, "ping", |p| async move {
            let fd = p.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)?;
            let mut pfd = [PollFd::new(fd, POLLIN)];
            assert_eq!(p.poll(&mut pfd, 0).await?, 0, "nothing to read yet");
            p.sendto(fd, &echo(7, 1), 0, "10.0.0.2:0").await?;
            let sent = p.now();
            assert_eq!(p.poll(&mut pfd, -1).await?, 1);
            assert_ne!(pfd[0].revents & POLLIN, 0);
            let mut buf = [0u8; 128];
            let (n, from) = p.recvfrom(fd, &mut buf, 0).await?;
            *out.borrow_mut() = Some((p.now() > sent, n, buf[0], buf[9], buf[20], from));
            Ok(())
        });
        assert!(sim.run().is_ok());
        let (waited, n, ver_ihl, proto, icmp_type, from) = got.take().unwrap();
        assert!(waited, "the reply takes a round trip");
        assert_eq!((n, ver_ihl, proto, icmp_type), (20 + 16, 0x45, 1, 0));
        assert_eq!(
            from.and_then(|a| a.inet())
                .map(|a| a.to_string())
                .as_deref(),
            Some("10.0.0.2:0")
        );
    }

    #[test]
    fn bad_protocols_and_addresses() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.spawn(h, "p", |p| async move {
            assert_eq!(p.socket(AF_INET, SOCK_RAW, 0), Err(Errno::EPROTONOSUPPORT));
            assert_eq!(p.socket(AF_INET, SOCK_RAW, IPPROTO_MAX), Err(Errno::EINVAL));
            assert_eq!(p.socket(AF_INET, SOCK_RAW, -1), Err(Errno::EINVAL));
            let fd = p.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)?;
            assert_eq!(p.bind(fd, "10.9.9.9:0"), Err(Errno::EADDRNOTAVAIL));
            assert_eq!(p.send(fd, b"x", 0).await, Err(Errno::EDESTADDRREQ));
            assert_eq!(
                p.sendto(fd, b"x", 0, "[::1]:0").await,
                Err(Errno::EAFNOSUPPORT)
            );
            assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_TYPE), Ok(SOCK_RAW));
            assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_ICMP));
            Ok(())
        });
        assert!(sim.run().is_ok());
    }
}
