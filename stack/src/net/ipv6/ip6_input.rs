//! IPv6 input (`net/ipv6/ip6_input.c`: `ipv6_rcv()` → `ip6_rcv_core()`
//! → `ip6_input_finish()`): check the header, decide whether the packet is
//! for this host, and hand the payload to its protocol.

use crate::kernel::ids::DevId;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::wire::WireError;
use crate::wire::ipv4::{IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};
use crate::wire::ipv6::Ipv6Hdr;
use std::net::IpAddr;

impl World {
    /// `ipv6_rcv()`.
    pub(crate) fn ipv6_rcv(&mut self, dev: DevId, mut skb: SkBuff) {
        let ns = self.dev(dev).netns;
        let host = self.dev(dev).host;
        if self.ip_rcv_otherhost(dev, &skb) {
            return self.kfree_skb(skb);
        }
        self.skb_orphan(&mut skb);
        self.ns_mut(ns).mib.inc(Mib::Ip6InReceives);
        let whole = skb.is_nonlinear().then(|| skb.to_vec());
        let hdr = match Ipv6Hdr::parse(whole.as_deref().unwrap_or(skb.data())) {
            Ok(h) => h,
            Err(e) => {
                let m = if e == WireError::Truncated {
                    Mib::Ip6InTruncatedPkts
                } else {
                    Mib::Ip6InHdrErrors
                };
                self.ns_mut(ns).mib.inc(m);
                self.kfree_skb(skb);
                return;
            }
        };
        skb.trim(Ipv6Hdr::LEN + hdr.payload_len as usize);
        skb.reset_network_header();
        let ours = self.is_local_addr(ns, IpAddr::V6(hdr.daddr));
        if !ours {
            self.ns_mut(ns).mib.inc(Mib::Ip6InAddrErrors);
            self.kfree_skb(skb);
            return;
        }
        let _ = skb.pull(Ipv6Hdr::LEN);
        self.trace(host, Layer::Ip, |_w| {
            format!(
                "ipv6_rcv: {} -> {} next header {}; ip6_input",
                hdr.saddr, hdr.daddr, hdr.next_header
            )
        });
        let Some(skb) = self.skb_orphan_frags_rx(ns, host, skb) else {
            return;
        };
        self.ns_mut(ns).mib.inc(Mib::Ip6InDelivers);
        let (s, d) = (IpAddr::V6(hdr.saddr), IpAddr::V6(hdr.daddr));
        match hdr.next_header {
            IPPROTO_UDP => self.udp_rcv(ns, skb, s, d),
            IPPROTO_TCP => self.tcp_v4_rcv(ns, skb, s, d),
            IPPROTO_ICMPV6 => self.icmpv6_rcv(ns, skb, hdr.saddr, hdr.daddr),
            _ => {
                self.ns_mut(ns).mib.inc(Mib::Ip6InUnknownProtos);
                self.kfree_skb(skb);
            }
        }
    }
}
