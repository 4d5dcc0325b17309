//! ICMP, the part UDP and `ping` need: "port unreachable" sent when a
//! datagram finds no socket, and its effect on the sender; and the answer
//! to an echo request (`net/ipv4/icmp.c`: `icmp_send()`, `icmp_rcv()`,
//! `icmp_unreach()`, `icmp_echo()` → `icmp_reply()`), and the ICMPv6 errors
//! sent for IPv6 datagrams (`icmp6_send()`, `net/ipv6/icmp.c`); ICMPv6
//! input is in [`crate::net::ipv6::icmp`].
//!
//! The echo reply is the request with its type changed to 0: the same
//! code, identifier, sequence number and data, a new checksum, sent back
//! from the address the request was sent to. Like every message the kernel
//! itself sends, it leaves from a socket with path MTU discovery off, so
//! without DF. Whoever asked (a raw socket, see [`crate::net::ipv4::raw`]) finds
//! the reply on its own receive queue; the kernel keeps nothing.
//!
//! The error carries the offending datagram's IP header and the start of
//! its payload (up to 576 bytes in all for IPv4), so the receiver can find
//! the socket that sent it: `icmp_unreach()` reads the inner header and calls
//! the protocol's error handler (`udp_err()`).
//!
//! Errors to other hosts are rate-limited per destination
//! (`icmpv4_xrlim_allow()`: a token bucket of `icmp_ratelimit` ms per
//! message, burst 6); errors sent over loopback are never limited.
//!
//! Simplified: only destination-unreachable and echo are generated and acted
//! on; the global `icmp_msgs_per_sec` limit and `icmp_echo_ignore_*` are not
//! modelled.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;
use crate::wire::icmp::{
    ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH,
    ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, IcmpHdr,
};
use crate::wire::icmp::{fill_checksum, fill_checksum_v6, icmp_verify};
use crate::wire::ipv4::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP, Ipv4Hdr};
use crate::wire::ipv6::Ipv6Hdr;

/// Why a packet could not be delivered locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unreach {
    /// No socket on the port (`ICMP_PORT_UNREACH`).
    Port,
    /// No handler for the IP protocol (`ICMP_PROT_UNREACH`).
    Protocol,
}

/// An ICMPv4 error is at most 576 bytes.
const ICMP_MAX_V4: usize = 576;
/// An ICMPv6 error is at most the IPv6 minimum MTU.
const ICMP_MAX_V6: usize = 1280;
/// `XRLIM_BURST_FACTOR`.
const XRLIM_BURST_FACTOR: u64 = 6;

impl World {
    /// `inet_peer_xrlim_allow()`: may we send one more error to `dst`?
    fn icmp_rate_allow(&mut self, ns: NetNsId, dst: IpAddr, rt_local: bool) -> bool {
        if rt_local {
            return true;
        }
        let now = self.now;
        let timeout: Nanos = self.ns(ns).sysctl.icmp_ratelimit as Nanos * 1_000_000;
        if timeout == 0 {
            return true;
        }
        let cap = XRLIM_BURST_FACTOR * timeout;
        let (tokens, last) = self
            .ns(ns)
            .icmp_peers
            .get(&dst)
            .copied()
            .unwrap_or((cap, now));
        let tokens = (tokens + (now - last)).min(cap);
        let (allowed, tokens) = if tokens >= timeout {
            (true, tokens - timeout)
        } else {
            (false, tokens)
        };
        self.ns_mut(ns).icmp_peers.insert(dst, (tokens, now));
        allowed
    }

    /// `icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH)` for a UDP
    /// datagram that found no socket. `skb`'s network header is the
    /// offending datagram's.
    pub(crate) fn icmp_port_unreachable(
        &mut self,
        ns: NetNsId,
        skb: &SkBuff,
        src: IpAddr,
        dst: IpAddr,
    ) {
        self.icmp_dest_unreach(ns, skb, src, dst, Unreach::Port);
    }

    /// `icmp_send(skb, ICMP_DEST_UNREACH, code)`: tell `src`, which sent
    /// `skb` to our `dst`, that it could not be delivered.
    pub(crate) fn icmp_dest_unreach(
        &mut self,
        ns: NetNsId,
        skb: &SkBuff,
        src: IpAddr,
        dst: IpAddr,
        why: Unreach,
    ) {
        let host = self.ns(ns).host;
        // The offending packet from its IP header on, frags included.
        let mut original = skb.network_header_bytes().unwrap_or_default().to_vec();
        if skb.is_nonlinear() {
            original.extend_from_slice(&skb.to_vec()[skb.headlen()..]);
        }
        let (src, dst) = (SocketAddr::new(src, 0), SocketAddr::new(dst, 0));
        let Ok(rt) = self.ip_route_output(ns, src.ip()) else {
            return;
        };
        if !self.icmp_rate_allow(ns, src.ip(), rt.local) {
            self.ns_mut(ns).mib.inc(Mib::IcmpOutRateLimitHost);
            self.trace(host, Layer::Icmp, |_w| {
                format!("ICMP error to {} rate-limited", src.ip())
            });
            return;
        }
        let (ty, code, max, ip_hlen, proto) = match src.ip() {
            IpAddr::V4(_) => (
                ICMP_DEST_UNREACH,
                match why {
                    Unreach::Port => ICMP_PORT_UNREACH,
                    Unreach::Protocol => ICMP_PROT_UNREACH,
                },
                ICMP_MAX_V4,
                Ipv4Hdr::LEN,
                IPPROTO_ICMP,
            ),
            IpAddr::V6(_) => (
                ICMPV6_DEST_UNREACH,
                ICMPV6_PORT_UNREACH,
                ICMP_MAX_V6,
                Ipv6Hdr::LEN,
                IPPROTO_ICMPV6,
            ),
        };
        let quoted = &original[..original.len().min(max - ip_hlen - IcmpHdr::LEN)];
        let headroom = ip_hlen + IcmpHdr::LEN + crate::net::ipv4::udp::LL_RESERVED_SPACE;
        let Some(mut out) = self.alloc_skb(headroom + quoted.len(), headroom) else {
            return;
        };
        let _ = out.put_data(quoted);
        let hdr = IcmpHdr {
            icmp_type: ty,
            code,
            checksum: 0,
            rest: [0; 4],
        };
        if let Ok(room) = out.push(IcmpHdr::LEN) {
            let _ = hdr.write(room);
        }
        // The error goes from the address the datagram was sent to, back to its sender.
        let _ = match (dst.ip(), src.ip()) {
            (IpAddr::V6(s), IpAddr::V6(d)) => fill_checksum_v6(s, d, out.data_mut()),
            _ => fill_checksum(out.data_mut()),
        };
        if src.is_ipv4() {
            self.icmp_out_count(ns, ICMP_DEST_UNREACH);
        } else {
            let mib = &mut self.ns_mut(ns).mib;
            mib.inc(Mib::Icmp6OutMsgs);
            mib.inc(Mib::Icmp6OutDestUnreachs);
            mib.inc(Mib::Icmp6OutType1);
        }
        self.trace(host, Layer::Icmp, |_w| {
            format!(
                "icmp_send: destination unreachable ({}) to {}, quoting {} B",
                match why {
                    Unreach::Port => "port",
                    Unreach::Protocol => "protocol",
                },
                src.ip(),
                quoted.len()
            )
        });
        // An error goes with the offending packet's TOS and
        // IPTOS_PREC_INTERNETCONTROL (icmp_send()).
        let tos = skb
            .network_header_bytes()
            .and_then(|h| h.get(1))
            .copied()
            .unwrap_or(0)
            | 0xc0;
        let _ = match proto {
            IPPROTO_ICMP => self.ip_send_skb_icmp(ns, out, dst.ip(), src.ip(), rt, tos),
            _ => self.ip_send_skb(
                ns,
                out,
                dst.ip(),
                src.ip(),
                proto,
                rt,
                crate::net::ipv4::ip_output::Ipcm::default(),
            ),
        };
    }

    /// `icmp_rcv()`.
    pub(crate) fn icmp_rcv(&mut self, ns: NetNsId, skb: SkBuff, saddr: Ipv4Addr, daddr: Ipv4Addr) {
        let host = self.ns(ns).host;
        let data = skb.to_vec();
        let tos = skb
            .network_header_bytes()
            .and_then(|h| h.get(1))
            .copied()
            .unwrap_or(0);
        self.consume_skb(skb);
        // Counted as received before anything is checked.
        self.ns_mut(ns).mib.inc(Mib::IcmpInMsgs);
        let Ok(hdr) = IcmpHdr::parse(&data) else {
            self.ns_mut(ns).mib.inc(Mib::IcmpInErrors);
            return;
        };
        if !icmp_verify(&data) {
            let mib = &mut self.ns_mut(ns).mib;
            mib.inc(Mib::IcmpInCsumErrors);
            mib.inc(Mib::IcmpInErrors);
            self.trace(host, Layer::Icmp, |_w| {
                format!(
                    "icmp_rcv: bad checksum on type {} from {saddr}: dropped",
                    hdr.icmp_type
                )
            });
            return;
        }
        match hdr.icmp_type {
            ICMP_ECHO => return self.icmp_echo(ns, &data, saddr, daddr, tos),
            ICMP_ECHOREPLY => {
                let mib = &mut self.ns_mut(ns).mib;
                mib.inc(Mib::IcmpInEchoReps);
                mib.inc(Mib::IcmpMsgInType0);
                self.trace(host, Layer::Icmp, |_w| {
                    format!(
                        "icmp_rcv: echo reply id {} seq {} from {saddr} (only raw sockets take it)",
                        hdr.echo_id(),
                        hdr.echo_seq()
                    )
                });
                return;
            }
            ICMP_DEST_UNREACH => {}
            _ => return,
        }
        let mib = &mut self.ns_mut(ns).mib;
        mib.inc(Mib::IcmpInDestUnreachs);
        mib.inc(Mib::IcmpMsgInType3);
        // icmp_err_convert[]: only protocol and port unreachable are "hard".
        let err = match hdr.code {
            2 => Errno::ENOPROTOOPT,
            ICMP_PORT_UNREACH => Errno::ECONNREFUSED,
            _ => return,
        };
        let inner = &data[IcmpHdr::LEN..];
        let Some((local, remote)) = inner_udp_v4(inner) else {
            return;
        };
        self.trace(host, Layer::Icmp, |_w| {
            format!(
                "icmp_rcv: destination unreachable for UDP {local} -> {remote}: {}",
                err.name()
            )
        });
        self.udp_err(ns, local, remote, err);
    }

    /// `icmp_echo()` → `icmp_reply()`: answer an echo request with the
    /// same code, id, sequence and data, from the address it was sent to.
    fn icmp_echo(
        &mut self,
        ns: NetNsId,
        request: &[u8],
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        tos: u8,
    ) {
        let host = self.ns(ns).host;
        let mib = &mut self.ns_mut(ns).mib;
        mib.inc(Mib::IcmpInEchos);
        mib.inc(Mib::IcmpMsgInType8);
        let Ok(rt) = self.ip_route_output(ns, IpAddr::V4(saddr)) else {
            return;
        };
        let headroom = crate::net::ipv4::udp::LL_RESERVED_SPACE + Ipv4Hdr::LEN;
        let Some(mut out) = self.alloc_skb(headroom + request.len(), headroom) else {
            return;
        };
        if out.put_data(request).is_err() {
            return;
        }
        let reply = out.data_mut();
        reply[0] = crate::wire::icmp::ICMP_ECHOREPLY;
        let _ = fill_checksum(reply);
        self.icmp_out_count(ns, crate::wire::icmp::ICMP_ECHOREPLY);
        let id = u16::from_be_bytes([request[4], request[5]]);
        let seq = u16::from_be_bytes([request[6], request[7]]);
        self.trace(host, Layer::Icmp, |_w| {
            format!(
                "icmp_echo: echo request id {id} seq {seq} from {saddr}: reply with the same {} B",
                request.len() - IcmpHdr::LEN
            )
        });
        // The reply keeps the request's TOS (icmp_reply()).
        let _ = self.ip_send_skb_icmp(ns, out, IpAddr::V4(daddr), IpAddr::V4(saddr), rt, tos);
    }
}

/// The (source, destination) of the UDP datagram quoted in an ICMPv4 error.
fn inner_udp_v4(inner: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let ihl = (*inner.first()? & 0x0f) as usize * 4;
    if ihl < 20 || inner.len() < ihl + 4 || inner[9] != IPPROTO_UDP {
        return None;
    }
    let s = Ipv4Addr::new(inner[12], inner[13], inner[14], inner[15]);
    let d = Ipv4Addr::new(inner[16], inner[17], inner[18], inner[19]);
    let sport = u16::from_be_bytes([inner[ihl], inner[ihl + 1]]);
    let dport = u16::from_be_bytes([inner[ihl + 2], inner[ihl + 3]]);
    Some((
        SocketAddr::new(s.into(), sport),
        SocketAddr::new(d.into(), dport),
    ))
}
