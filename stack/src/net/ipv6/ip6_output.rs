//! IPv6 output (`net/ipv6/ip6_output.c`: `ip6_xmit()`, `ip6_output()`,
//! `ip6_finish_output2()`): put the IPv6 header in front of the packet and
//! hand it to the neighbour layer.
//!
//! Simplified: no fragmentation (loopback's MTU is 65536).

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::net::ipv4::ip_output::xmit_errno;
use crate::net::ipv4::route::RouteResult;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::wire::ethernet::ETH_P_IPV6;
use crate::wire::ipv6::Ipv6Hdr;

impl World {
    pub(crate) fn ip6_output(
        &mut self,
        ns: NetNsId,
        mut skb: SkBuff,
        saddr: std::net::Ipv6Addr,
        daddr: std::net::Ipv6Addr,
        protocol: u8,
        rt: RouteResult,
    ) -> Result<(), Errno> {
        let host = self.ns(ns).host;
        let mtu = self.dev(rt.dev).mtu as usize;
        if skb.len() + Ipv6Hdr::LEN > mtu {
            self.kfree_skb(skb);
            return Err(Errno::EMSGSIZE);
        }
        self.ns_mut(ns).mib.inc(Mib::Ip6OutRequests);
        let hdr = Ipv6Hdr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: skb.len() as u16,
            next_header: protocol,
            hop_limit: 64,
            saddr,
            daddr,
        };
        if let Ok(room) = skb.push(Ipv6Hdr::LEN) {
            let _ = hdr.write(room);
        }
        skb.reset_network_header();
        let dev_name = self.dev(rt.dev).name.clone();
        self.trace(host, Layer::Ip, |_w| {
            format!("ip6_output: IPv6 header pushed ({saddr} -> {daddr}); route via {dev_name}")
        });
        self.ns_mut(ns).mib.inc(Mib::Ip6OutTransmits);
        xmit_errno(self.neigh_output(rt.dev, rt.nexthop, ETH_P_IPV6, skb))
    }
}
