//! ICMPv6 input (`net/ipv6/icmp.c`: `icmpv6_rcv()` → `icmpv6_notify()`):
//! a destination-unreachable message finds the UDP socket that sent the
//! datagram it quotes. Errors are sent by
//! [`crate::net::ipv4::icmp`]'s `icmp_dest_unreach()`, which builds the
//! ICMPv6 message for an IPv6 datagram as `icmp6_send()` does.

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::wire::icmp::icmpv6_verify;
use crate::wire::icmp::{ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, IcmpHdr};
use crate::wire::ipv4::IPPROTO_UDP;
use std::net::{Ipv6Addr, SocketAddr};

impl World {
    /// `icmpv6_rcv()`: the IPv6 counterpart for destination unreachable.
    pub(crate) fn icmpv6_rcv(
        &mut self,
        ns: NetNsId,
        skb: SkBuff,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
    ) {
        let host = self.ns(ns).host;
        let data = skb.to_vec();
        self.consume_skb(skb);
        let Ok(hdr) = IcmpHdr::parse(&data) else {
            self.ns_mut(ns).mib.inc(Mib::Icmp6InErrors);
            return;
        };
        if !icmpv6_verify(saddr, daddr, &data) {
            self.ns_mut(ns).mib.inc(Mib::Icmp6InErrors);
            return;
        }
        self.ns_mut(ns).mib.inc(Mib::Icmp6InMsgs);
        if hdr.icmp_type != ICMPV6_DEST_UNREACH {
            return;
        }
        let mib = &mut self.ns_mut(ns).mib;
        mib.inc(Mib::Icmp6InDestUnreachs);
        mib.inc(Mib::Icmp6InType1);
        if hdr.code != ICMPV6_PORT_UNREACH {
            return;
        }
        let inner = &data[IcmpHdr::LEN..];
        let Some((local, remote)) = inner_udp_v6(inner) else {
            return;
        };
        self.trace(host, Layer::Icmp, |_w| {
            format!("icmpv6_rcv: port unreachable for UDP {local} -> {remote}: ECONNREFUSED")
        });
        self.udp_err(ns, local, remote, Errno::ECONNREFUSED);
    }
}

/// The same for an ICMPv6 error.
fn inner_udp_v6(inner: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    if inner.len() < 44 || inner[6] != IPPROTO_UDP {
        return None;
    }
    let s: [u8; 16] = inner[8..24].try_into().ok()?;
    let d: [u8; 16] = inner[24..40].try_into().ok()?;
    let sport = u16::from_be_bytes([inner[40], inner[41]]);
    let dport = u16::from_be_bytes([inner[42], inner[43]]);
    Some((
        SocketAddr::new(Ipv6Addr::from(s).into(), sport),
        SocketAddr::new(Ipv6Addr::from(d).into(), dport),
    ))
}
