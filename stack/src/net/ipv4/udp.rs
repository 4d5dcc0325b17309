//! UDP (`net/ipv4/udp.c`, `net/ipv6/udp.c`): datagrams with their
//! boundaries kept, one `sk_buff` per datagram from `sendto()` to
//! `recvfrom()`.
//!
//! Send (`udp_sendmsg()`): the payload is copied from user memory into a
//! new `sk_buff` charged to the socket's `sk_wmem_alloc` (the call sleeps,
//! or fails with `EAGAIN`, while that is at or above `sk_sndbuf`); the UDP
//! header and then the IP header are pushed in front, and the packet goes
//! to the routing and device layers.
//!
//! Receive (`__udp4_lib_rcv()`): the socket is found by its ports and
//! addresses (the best-scoring match); no socket means `NoPorts` and an
//! ICMP port unreachable back to the sender. The datagram is queued on the
//! socket's receive queue and charged to `sk_rmem_alloc` by its `truesize`
//! (`__udp_enqueue_schedule_skb()`); if charging it would take the queue
//! past `sk_rcvbuf`, the datagram is dropped and counted (`sk_drops`,
//! `RcvbufErrors` and `InErrors`), unless the queue is empty — so one
//! datagram always fits, however small the buffer (Linux 6.18 and later;
//! before that the test was whether the queue already held more than
//! `sk_rcvbuf`). `recvfrom()` takes one whole datagram; bytes beyond the
//! caller's buffer are discarded (`MSG_TRUNC`). `InDatagrams` counts
//! datagrams *read*, not received, as in the kernel. A datagram whose
//! checksum fails is queued all the same when a socket matches: the kernel
//! folds the check into the copy to user, so `recvfrom()` drops it then,
//! counting `InCsumErrors` and `InErrors`, and returns the next one.
//!
//! Errors (`__udp4_lib_err()`): an ICMP port unreachable for a datagram a
//! *connected* socket sent sets `sk_err = ECONNREFUSED`, which the next
//! call on that socket returns.
//!
//! Simplified: IPv6 sockets behave as `IPV6_V6ONLY` (no IPv4-mapped
//! traffic); no `SO_REUSEPORT` groups (the option is accepted for binding);
//! no UDP GSO/GRO, no `MSG_MORE` corking.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use crate::kernel::ids::{NetNsId, Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::world::World;
use crate::net::core::receive_queue;
use crate::net::core::skbuff::{SKB_MAX_ALLOC, SkBuff};
use crate::net::core::snmp::Mib;
use crate::net::core::sock::{Family, RCV_SHUTDOWN, TCP_ESTABLISHED};
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{MSG_PEEK, MSG_ZEROCOPY, SockAddr};
use crate::wire::udp::UdpHdr;

/// Largest UDP payload over IPv4: 65535 − 20 (IP) − 8 (UDP).
pub const UDP_MAX_PAYLOAD_V4: usize = 65507;
/// Largest UDP payload over IPv6: 65535 − 8 (the IPv6 header is not counted).
pub const UDP_MAX_PAYLOAD_V6: usize = 65527;
/// `LL_RESERVED_SPACE()` of an Ethernet device: headroom for the link header.
pub const LL_RESERVED_SPACE: usize = 16;

/// A namespace's UDP sockets by local port (`udp_table`), each chain in
/// binding order.
#[derive(Debug, Default)]
pub(crate) struct UdpTable {
    pub(crate) ports: BTreeMap<u16, Vec<SockId>>,
}

impl World {
    fn udp_mib(&mut self, ns: NetNsId, v4: Mib, v6: Mib, family: Family) {
        let m = if family == Family::Inet { v4 } else { v6 };
        self.ns_mut(ns).mib.inc(m);
    }

    /// `udp_lib_get_port()`: take `port` (or, for 0, a free ephemeral
    /// port) unless a socket already bound there conflicts.
    pub(crate) fn udp_get_port(&mut self, sk: SockId, port: u16) -> Result<u16, Errno> {
        let ns = self.sk(sk).netns;
        let port = if port == 0 {
            let (lo, hi) = self.ns(ns).sysctl.ip_local_port_range;
            let span = (hi - lo) as u32 + 1;
            // Like the kernel, start at a random point and walk the range.
            let start = self.rng.u32(0..span);
            (0..span)
                .map(|i| lo + ((start + i) % span) as u16)
                .find(|&p| !self.udp_port_conflict(sk, p))
                .ok_or(Errno::EAGAIN)?
        } else {
            if self.udp_port_conflict(sk, port) {
                return Err(Errno::EADDRINUSE);
            }
            port
        };
        self.sk_mut(sk).num = port;
        self.ns_mut(ns).udp.ports.entry(port).or_default().push(sk);
        Ok(port)
    }

    /// `udp_lib_lport_inuse()`: another socket of the family on the port
    /// whose address overlaps ours, unless both asked for sharing.
    fn udp_port_conflict(&self, sk: SockId, port: u16) -> bool {
        let me = self.sk(sk);
        let Some(chain) = self.ns(me.netns).udp.ports.get(&port) else {
            return false;
        };
        chain.iter().filter(|&&o| o != sk).any(|&o| {
            let other = self.sk(o);
            other.family == me.family
                && (other.rcv_saddr.is_unspecified()
                    || me.rcv_saddr.is_unspecified()
                    || other.rcv_saddr == me.rcv_saddr)
                && !(other.reuseaddr && me.reuseaddr)
                && !(other.reuseport && me.reuseport && other.uid == me.uid)
        })
    }

    /// Removes a socket from the UDP table (`udp_lib_unhash()`).
    pub(crate) fn udp_unhash(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let port = self.sk(sk).num;
        if port == 0 {
            return;
        }
        let table = &mut self.ns_mut(ns).udp.ports;
        if let Some(chain) = table.get_mut(&port) {
            chain.retain(|&s| s != sk);
            if chain.is_empty() {
                table.remove(&port);
            }
        }
        self.sk_mut(sk).num = 0;
    }

    /// `__udp4_lib_lookup()`: the socket that should get a datagram from
    /// `src` to `dst`. Each candidate on the port scores points for every
    /// field that matches exactly; a field that is set and differs rules it
    /// out; the highest score wins, the earliest bound among equals.
    pub(crate) fn udp_lookup(
        &self,
        ns: NetNsId,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Option<SockId> {
        let family = if dst.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        };
        let chain = self.ns(ns).udp.ports.get(&dst.port())?;
        let mut best: Option<(u32, SockId)> = None;
        for &id in chain {
            let s = self.sk(id);
            if s.family != family {
                continue;
            }
            let mut score = 1;
            if !s.rcv_saddr.is_unspecified() {
                if s.rcv_saddr != dst.ip() {
                    continue;
                }
                score += 4;
            }
            if let Some(peer) = s.daddr {
                if peer != src {
                    continue;
                }
                score += 8;
            }
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// `udp_sendmsg()`.
    pub(crate) fn udp_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        flags: i32,
        addr: Option<SockAddr>,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        let family = self.sk(sk).family;
        let max = if family == Family::Inet {
            UDP_MAX_PAYLOAD_V4
        } else {
            UDP_MAX_PAYLOAD_V6
        };
        if buf.len() > max {
            return Poll::Ready(Err(Errno::EMSGSIZE));
        }
        let dst = match addr {
            // An AF_UNIX address: udp_sendmsg() checks the length, then the
            // family; udpv6_sendmsg() refuses any family but its two.
            Some(SockAddr::Unix(u)) => {
                return Poll::Ready(Err(if family == Family::Inet && u.addrlen() >= 16 {
                    Errno::EAFNOSUPPORT
                } else {
                    Errno::EINVAL
                }));
            }
            Some(SockAddr::Inet(a)) => {
                let ok = matches!(
                    (family, a),
                    (Family::Inet, SocketAddr::V4(_)) | (Family::Inet6, SocketAddr::V6(_))
                );
                if !ok {
                    return Poll::Ready(Err(if family == Family::Inet {
                        Errno::EAFNOSUPPORT
                    } else {
                        Errno::EINVAL
                    }));
                }
                if a.port() == 0 {
                    return Poll::Ready(Err(Errno::EINVAL));
                }
                a
            }
            Some(SockAddr::Netlink { .. }) => return Poll::Ready(Err(Errno::EAFNOSUPPORT)),
            Some(SockAddr::Unspec) | None => match self.sk(sk).daddr {
                Some(a) if self.sk(sk).state == TCP_ESTABLISHED => a,
                _ => return Poll::Ready(Err(Errno::EDESTADDRREQ)),
            },
        };
        let ns = self.sk(sk).netns;
        let rt = match self.ip_route_output(ns, dst.ip()) {
            Ok(rt) => rt,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Err(e) = self.inet_autobind(sk) {
            return Poll::Ready(Err(e));
        }
        // __ip_append_data(): a MSG_ZEROCOPY send on a SO_ZEROCOPY socket
        // takes its notification id first. The UDP header counts as data,
        // so even an empty datagram takes one. Without corking there is no
        // earlier buffer to join.
        let uarg = if flags & MSG_ZEROCOPY != 0 && self.sk(sk).zc.enabled {
            match self.msg_zerocopy_realloc(sk, buf.len() + UdpHdr::LEN, None) {
                Some(u) => Some(u),
                None => return Poll::Ready(Err(Errno::ENOBUFS)),
            }
        } else {
            None
        };
        // sock_alloc_send_pskb(): a pending error or a shut-down write side
        // fails the call; a full send buffer makes it sleep. Either way the
        // zero-copy id goes back (net_zcopy_put_abort()).
        let (wmem, sndbuf) = (self.sk(sk).wmem_alloc, self.sk(sk).sndbuf);
        let blocked = if let Some(e) = self.sock_error(sk) {
            Some(Poll::Ready(Err(e)))
        } else if self.sk(sk).shutdown & crate::net::core::sock::SEND_SHUTDOWN != 0 {
            Some(Poll::Ready(Err(Errno::EPIPE)))
        } else if wmem >= sndbuf {
            if nonblock {
                Some(Poll::Ready(Err(Errno::EAGAIN)))
            } else {
                self.sleep_on(pid, sk, WaitFor::SendSpace);
                Some(Poll::Pending)
            }
        } else {
            None
        };
        if let Some(r) = blocked {
            if let Some(u) = uarg {
                self.msg_zerocopy_put_abort(u);
            }
            return r;
        }
        let host = self.sk(sk).host;
        let ip_hlen = if family == Family::Inet { 20 } else { 40 };
        // __ip_append_data(): room for IP + UDP headers, the link header
        // (hh_len) and 15 bytes of alignment slack.
        let headroom = LL_RESERVED_SPACE + ip_hlen + UdpHdr::LEN;
        // Zero-copy needs a device that gathers and checksums
        // (CHECKSUM_PARTIAL, so the datagram must fit the MTU).
        let mtu = self.dev(rt.dev).mtu as usize;
        let zc = uarg
            .as_ref()
            .filter(|_| rt.dev_sg && ip_hlen + UdpHdr::LEN + buf.len() <= mtu);
        let skb = match zc {
            Some(u) => {
                let (zc, pinned) = crate::net::core::zerocopy::TxZc::pin(u, buf);
                self.zerocopy_pinned(host, sk, pinned);
                self.alloc_skb_zerocopy(headroom, buf, &zc)
            }
            None => {
                // __ip_append_data(): a datagram whose linear buffer would
                // pass SKB_MAX_ALLOC goes, on a device that can gather
                // (loopback), into page fragments charged byte for byte;
                // only the headers are linear.
                let paged = rt.dev_sg && headroom + buf.len() + 15 >= SKB_MAX_ALLOC;
                let skb = self.alloc_skb_with_payload(headroom, buf, paged);
                if skb.is_some() {
                    self.costs(host).copied_from_user += buf.len() as u64;
                }
                skb
            }
        };
        let Some(mut skb) = skb else {
            if let Some(u) = uarg {
                self.msg_zerocopy_put_abort(u);
            }
            return Poll::Ready(Err(Errno::ENOBUFS));
        };
        if let Some(u) = uarg.as_ref().filter(|_| zc.is_none()) {
            // Copied after all: the skb still holds the buffer, so the
            // notification comes when it is freed, marked COPIED.
            u.set_copied();
            skb.zcopy_set(u);
        }
        let before = self.sk(sk).wmem_alloc;
        self.skb_set_owner_w(&mut skb, sk);
        let after = self.sk(sk).wmem_alloc;
        let (id, truesize) = (skb.id, skb.truesize());
        let zerocopy = zc.is_some();
        self.trace(host, Layer::Sock, |_w| {
            let how = if zerocopy {
                "MSG_ZEROCOPY: user pages of"
            } else {
                "copy_from_user"
            };
            format!(
                "{how} {} B into skb#{id} (truesize {truesize}); sk_wmem_alloc {before} -> {after} of sk_sndbuf {sndbuf}",
                buf.len()
            )
        });
        let src = SocketAddr::new(
            if self.sk(sk).rcv_saddr.is_unspecified() {
                rt.src
            } else {
                self.sk(sk).rcv_saddr
            },
            self.sk(sk).num,
        );
        let len = (UdpHdr::LEN + buf.len()) as u16;
        let hdr = UdpHdr {
            source: src.port(),
            dest: dst.port(),
            len,
            check: 0,
        };
        if let Ok(room) = skb.push(UdpHdr::LEN) {
            let _ = hdr.write(room);
        }
        crate::net::ipv4::fill_l4_checksum(
            &mut skb,
            src.ip(),
            dst.ip(),
            crate::wire::ipv4::IPPROTO_UDP,
        );
        skb.reset_transport_header();
        self.trace(host, Layer::Udp, |_w| {
            format!(
                "udp_sendmsg: UDP header pushed ({} -> {}, len {len})",
                src.port(),
                dst.port()
            )
        });
        let ipc = self.inet_ipcm(sk);
        let result = self.ip_send_skb(
            ns,
            skb,
            src.ip(),
            dst.ip(),
            crate::wire::ipv4::IPPROTO_UDP,
            rt,
            ipc,
        );
        match result {
            Ok(()) => {
                self.udp_mib(ns, Mib::UdpOutDatagrams, Mib::Udp6OutDatagrams, family);
                Poll::Ready(Ok(buf.len()))
            }
            // A qdisc drop is ENOBUFS, which UDP swallows unless IP_RECVERR
            // is set, counting SndbufErrors (udp_send_skb()).
            Err(Errno::ENOBUFS) => {
                self.udp_mib(ns, Mib::UdpSndbufErrors, Mib::Udp6SndbufErrors, family);
                Poll::Ready(Ok(buf.len()))
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// `udp_recvmsg()`: one whole datagram, or sleep until there is one.
    pub(crate) fn udp_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        // __skb_recv_udp() checks the socket error first, even with data queued.
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let family = self.sk(sk).family;
        let peek = flags & MSG_PEEK != 0;
        // A datagram that arrived with a bad checksum was queued anyway: the
        // check is folded into the copy to user (csum_copy_err). It is
        // dropped and counted here, and the next datagram is tried.
        while self
            .sk(sk)
            .receive_queue
            .peek()
            .is_some_and(|skb| skb.cb.csum_bad)
        {
            let s = self.sk_mut(sk);
            let bad = s.receive_queue.dequeue().expect("peeked");
            s.drops += 1; // __sk_queue_drop_skb()
            self.udp_mib(ns, Mib::UdpInCsumErrors, Mib::Udp6InCsumErrors, family);
            self.udp_mib(ns, Mib::UdpInErrors, Mib::Udp6InErrors, family);
            self.trace(host, Layer::Udp, |_w| {
                format!(
                    "udp_recvmsg: skb#{} fails its checksum at copy time: dropped",
                    bad.id
                )
            });
            self.kfree_skb(bad);
        }
        let s = self.sk_mut(sk);
        let Some((src, id)) = s.receive_queue.peek().map(|skb| (skb.cb.src, skb.id)) else {
            // __skb_recv_udp(): a non-blocking call never looks at the
            // shutdown bits; only the wait (__skb_wait_for_more_packets)
            // returns 0 for a read side that is shut.
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
                return Poll::Ready(Ok((0, None)));
            }
            self.sleep_on(pid, sk, WaitFor::Datagram);
            return Poll::Pending;
        };
        let before = s.rmem_alloc();
        let n = match receive_queue::udp_recvmsg(&mut s.receive_queue, buf, flags) {
            Ok(r) => r.ret,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let copied = n.min(buf.len());
        self.costs(host).copied_to_user += copied as u64;
        if !peek {
            let s = self.sk(sk);
            let after = s.rmem_alloc();
            let left = s.receive_queue.qlen();
            self.udp_mib(ns, Mib::UdpInDatagrams, Mib::Udp6InDatagrams, family);
            self.trace(host, Layer::Sock, |_w| {
                format!(
                    "udp_recvmsg: skb#{id} dequeued ({left} left), copy_to_user {copied} B; sk_rmem_alloc {before} -> {after}"
                )
            });
        }
        Poll::Ready(Ok((n, src.map(SockAddr::Inet))))
    }

    /// `__udp4_lib_rcv()` / `__udp6_lib_rcv()`: the UDP header is at
    /// `skb.data()`; `src`/`dst` are the IP addresses.
    pub(crate) fn udp_rcv(&mut self, ns: NetNsId, mut skb: SkBuff, saddr: IpAddr, daddr: IpAddr) {
        let host = self.ns(ns).host;
        let family = if daddr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        };
        // The header is linear; its length check needs the whole datagram.
        let whole = skb.is_nonlinear().then(|| skb.to_vec());
        let bytes = whole.as_deref().unwrap_or(skb.data());
        let Ok(hdr) = UdpHdr::parse(bytes) else {
            self.udp_mib(ns, Mib::UdpInErrors, Mib::Udp6InErrors, family);
            self.kfree_skb(skb);
            return;
        };
        // A packet that never left memory (loopback: CHECKSUM_PARTIAL) is
        // not checked; one from a wire is, over pseudo-header and datagram.
        let csum_ok = skb.cb.csum_unnecessary || hdr.check == 0 && family == Family::Inet || {
            let dgram = bytes.get(..hdr.len as usize).unwrap_or(bytes);
            match (saddr, daddr) {
                (IpAddr::V4(s), IpAddr::V4(d)) => crate::wire::udp::udp_verify_v4(s, d, dgram),
                (IpAddr::V6(s), IpAddr::V6(d)) => crate::wire::udp::udp_verify_v6(s, d, dgram),
                _ => false,
            }
        };
        let src = SocketAddr::new(saddr, hdr.source);
        let dst = SocketAddr::new(daddr, hdr.dest);
        // Drop padding beyond the UDP length, then the header itself.
        skb.trim(hdr.len as usize);
        skb.reset_transport_header();
        let _ = skb.pull(UdpHdr::LEN);
        skb.cb.src = Some(src);
        skb.cb.dst = Some(dst);
        skb.cb.csum_bad = !csum_ok;
        let Some(sk) = self.udp_lookup(ns, src, dst) else {
            // With no socket the checksum is checked before anything is
            // counted or answered: a corrupt datagram is not "no port".
            if !csum_ok {
                self.udp_mib(ns, Mib::UdpInCsumErrors, Mib::Udp6InCsumErrors, family);
                self.udp_mib(ns, Mib::UdpInErrors, Mib::Udp6InErrors, family);
                self.trace(host, Layer::Udp, |_w| {
                    "bad UDP checksum: dropped".to_string()
                });
                self.kfree_skb(skb);
                return;
            }
            self.udp_mib(ns, Mib::UdpNoPorts, Mib::Udp6NoPorts, family);
            self.trace(host, Layer::Udp, |_w| {
                format!(
                    "UDP demux: no socket on port {}: NoPorts, ICMP port unreachable to {src}",
                    dst.port()
                )
            });
            self.icmp_port_unreachable(ns, &skb, src.ip(), dst.ip());
            self.kfree_skb(skb);
            return;
        };
        let local = self.sk(sk).local();
        self.trace(host, Layer::Udp, |_w| {
            format!("UDP demux: {src} -> {dst} matches socket {local}")
        });
        self.udp_queue_rcv_skb(sk, skb);
    }

    /// `__udp_enqueue_schedule_skb()`: charge `sk_rmem_alloc` and queue, or
    /// drop when it would take a non-empty queue past `sk_rcvbuf`.
    fn udp_queue_rcv_skb(&mut self, sk: SockId, skb: SkBuff) {
        let ns = self.sk(sk).netns;
        let host = self.sk(sk).host;
        let family = self.sk(sk).family;
        let truesize = skb.truesize() as u32;
        let id = skb.id;
        let s = self.sk_mut(sk);
        let (rmem, rcvbuf) = (s.rmem_alloc(), s.rcvbuf());
        // 6.18: drop what would overflow the buffer, unless the queue is
        // empty, so one datagram always fits however small the buffer.
        if s.receive_queue.enqueue(skb).is_err() {
            let drops = s.sk_drops();
            self.udp_mib(ns, Mib::UdpRcvbufErrors, Mib::Udp6RcvbufErrors, family);
            self.udp_mib(ns, Mib::UdpInErrors, Mib::Udp6InErrors, family);
            self.trace(host, Layer::Sock, |_w| {
                format!("receive buffer full (sk_rmem_alloc {rmem} + truesize {truesize} > sk_rcvbuf {rcvbuf}): datagram dropped, sk_drops {drops}, RcvbufErrors")
            });
            return;
        }
        let qlen = s.receive_queue.qlen();
        let after = s.rmem_alloc();
        self.trace(host, Layer::Sock, |_w| {
            format!(
                "skb#{id} queued on sk_receive_queue ({} -> {qlen}); sk_rmem_alloc {rmem} -> {after} of sk_rcvbuf {rcvbuf}",
                qlen - 1
            )
        });
        self.sk_wake(sk, crate::kernel::wait::Wakeup::DataReady);
    }

    /// `__udp4_lib_err()`: an ICMP error about a datagram we sent from
    /// `local` to `remote`. A connected socket takes it as `sk_err`, and
    /// with `IP_RECVERR` any socket does. Simplified: with `IP_RECVERR`
    /// Linux also queues the error, with the ICMP type and the offender's
    /// address, on the error queue (`ip_icmp_error()`); the stack does not.
    pub(crate) fn udp_err(
        &mut self,
        ns: NetNsId,
        local: SocketAddr,
        remote: SocketAddr,
        err: Errno,
    ) {
        let host = self.ns(ns).host;
        // The lookup is from the remote's point of view, as the kernel does.
        let Some(sk) = self.udp_lookup(ns, remote, local) else {
            return;
        };
        if self.sk(sk).state != TCP_ESTABLISHED && !self.sk(sk).recverr {
            // Without IP_RECVERR an unconnected socket ignores ICMP errors.
            self.trace(host, Layer::Udp, |_w| {
                format!("ICMP error for unconnected socket {local}: ignored")
            });
            return;
        }
        self.sk_mut(sk).err = Some(err);
        self.trace(host, Layer::Udp, |_w| {
            format!(
                "ICMP error for connected socket {local}: sk_err = {}",
                err.name()
            )
        });
        self.sk_wake(sk, crate::kernel::wait::Wakeup::ErrorReport);
    }
}
