//! IP input: check the header, decide whether the packet is for this host,
//! reassemble fragments, and hand the payload to its protocol
//! (`net/ipv4/ip_input.c`: `ip_rcv()` → `ip_rcv_core()` →
//! `ip_rcv_finish()` → `ip_local_deliver()` → `ip_local_deliver_finish()`;
//! `net/ipv4/ip_fragment.c` for reassembly). IPv6 input is in
//! [`crate::net::ipv6::ip6_input`].
//!
//! Every malformed packet is dropped and counted under the counter the
//! kernel uses: `InHdrErrors` (bad version or header length),
//! `InCsumErrors` (bad header checksum), `InTruncatedPkts` (shorter than
//! its `tot_len`), `InAddrErrors` (not for us: this host does not forward).
//!
//! Simplified: no forwarding, no reassembly timeout (an incomplete
//! datagram waits forever), no IPv6 extension headers.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::kernel::ids::{DevId, NetNsId};
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::net::ipv4::icmp::Unreach;
use crate::observe::trace::Layer;
use crate::wire::WireError;
use crate::wire::ipv4::{IP_MF, IP_OFFSET, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4Hdr};

/// Fragments waiting for their siblings, keyed like `struct ipq`:
/// (source, destination, id, protocol) → (offset → bytes, total length once
/// the last fragment is seen).
pub(crate) type ReasmKey = (Ipv4Addr, Ipv4Addr, u16, u8);

/// A datagram being reassembled.
#[derive(Debug, Default)]
pub(crate) struct ReasmQueue {
    pub(crate) parts: BTreeMap<usize, Vec<u8>>,
    pub(crate) total: Option<usize>,
}

impl World {
    /// `ip_rcv()`.
    pub(crate) fn ip_rcv(&mut self, dev: DevId, mut skb: SkBuff) {
        let ns = self.dev(dev).netns;
        let host = self.dev(dev).host;
        if self.ip_rcv_otherhost(dev, &skb) {
            return self.kfree_skb(skb);
        }
        // "Must drop socket now because of tproxy": a packet that crossed a
        // veth still charges its sender until here.
        self.skb_orphan(&mut skb);
        // __IP_UPD_PO_STATS(IN, skb->len): every packet that reaches IP,
        // malformed or padded, counts with all its bytes.
        self.ns_mut(ns).mib.inc(Mib::IpInReceives);
        self.ns_mut(ns)
            .mib
            .add(Mib::IpExtInOctets, skb.len() as u64);
        // The header is linear; its length checks need the whole packet.
        let whole = skb.is_nonlinear().then(|| skb.to_vec());
        let hdr = match Ipv4Hdr::parse(whole.as_deref().unwrap_or(skb.data())) {
            Ok(h) => h,
            Err(e) => {
                let mib = &mut self.ns_mut(ns).mib;
                match e {
                    WireError::CsumError => {
                        mib.inc(Mib::IpExtInCsumErrors);
                        mib.inc(Mib::IpInHdrErrors);
                    }
                    WireError::Truncated => mib.inc(Mib::IpExtInTruncatedPkts),
                    _ => mib.inc(Mib::IpInHdrErrors),
                }
                self.trace(host, Layer::Ip, |_w| {
                    format!("ip_rcv: malformed IPv4 header ({e}): dropped")
                });
                self.kfree_skb(skb);
                return;
            }
        };
        // Ethernet padding beyond tot_len goes (pskb_trim_rcsum()).
        skb.trim(hdr.tot_len as usize);
        skb.reset_network_header();
        if !self.is_local_addr(ns, IpAddr::V4(hdr.daddr)) && !hdr.daddr.is_broadcast() {
            self.ns_mut(ns).mib.inc(Mib::IpInAddrErrors);
            self.trace(host, Layer::Ip, |_w| {
                format!(
                    "ip_rcv: {} is not ours and forwarding is off: dropped",
                    hdr.daddr
                )
            });
            self.kfree_skb(skb);
            return;
        }
        let hlen = hdr.ihl as usize * 4;
        let _ = skb.pull(hlen);
        let fragment = hdr.frag_off & (IP_MF | IP_OFFSET) != 0;
        self.trace(host, Layer::Ip, |_w| {
            format!(
                "ip_rcv: IPv4 {} -> {} proto {} checks out; ip_local_deliver{}",
                hdr.saddr,
                hdr.daddr,
                hdr.protocol,
                if fragment { " (fragment)" } else { "" }
            )
        });
        let skb = if fragment {
            match self.ip_defrag(ns, skb, &hdr) {
                Some(whole) => whole,
                None => return,
            }
        } else {
            skb
        };
        let Some(skb) = self.skb_orphan_frags_rx(ns, host, skb) else {
            return;
        };
        // ip_local_deliver_finish(): raw sockets get their copies first.
        let mut skb = skb;
        let raw = self.raw_v4_input(ns, &mut skb, &hdr, fragment);
        // ip_protocol_deliver_rcu(): delivered if a protocol handler takes it.
        let (s, d) = (IpAddr::V4(hdr.saddr), IpAddr::V4(hdr.daddr));
        match hdr.protocol {
            IPPROTO_UDP => {
                self.ns_mut(ns).mib.inc(Mib::IpInDelivers);
                self.udp_rcv(ns, skb, s, d)
            }
            IPPROTO_TCP => {
                self.ns_mut(ns).mib.inc(Mib::IpInDelivers);
                self.tcp_v4_rcv(ns, skb, s, d)
            }
            IPPROTO_ICMP => {
                self.ns_mut(ns).mib.inc(Mib::IpInDelivers);
                self.icmp_rcv(ns, skb, hdr.saddr, hdr.daddr)
            }
            _ if raw => {
                // A raw socket took it: delivered, and nobody is told it
                // was unreachable.
                self.ns_mut(ns).mib.inc(Mib::IpInDelivers);
                self.consume_skb(skb);
            }
            proto => {
                self.ns_mut(ns).mib.inc(Mib::IpInUnknownProtos);
                self.trace(host, Layer::Ip, |_w| {
                    format!("no handler for IP protocol {proto}: ICMP protocol unreachable")
                });
                self.icmp_dest_unreach(ns, &skb, s, d, Unreach::Protocol);
                self.kfree_skb(skb);
            }
        }
    }

    /// `ip_rcv_core()`: a frame addressed to another station's MAC (seen
    /// on a veth, which does no filtering) is not for IP.
    pub(crate) fn ip_rcv_otherhost(&mut self, dev: DevId, skb: &SkBuff) -> bool {
        if skb.pkt_type != crate::net::core::skbuff::PacketType::OtherHost {
            return false;
        }
        let host = self.dev(dev).host;
        self.trace(host, Layer::Ip, |w| {
            format!(
                "ip_rcv on {}: frame for another station (PACKET_OTHERHOST): dropped",
                w.dev(dev).name
            )
        });
        true
    }

    /// `ip_defrag()`: keep fragments until the datagram is whole.
    fn ip_defrag(&mut self, ns: NetNsId, skb: SkBuff, hdr: &Ipv4Hdr) -> Option<SkBuff> {
        let host = self.ns(ns).host;
        self.ns_mut(ns).mib.inc(Mib::IpReasmReqds);
        let key: ReasmKey = (hdr.saddr, hdr.daddr, hdr.id, hdr.protocol);
        let offset = (hdr.frag_off & IP_OFFSET) as usize * 8;
        let data = skb.to_vec();
        let end = offset + data.len();
        self.kfree_skb(skb);
        let q = self.ns_mut(ns).reasm.entry(key).or_default();
        q.parts.insert(offset, data);
        if hdr.frag_off & IP_MF == 0 {
            q.total = Some(end);
        }
        let total = q.total?;
        // Whole when the parts cover 0..total without a gap.
        let mut covered = 0;
        for (&off, part) in &q.parts {
            if off > covered {
                return None;
            }
            covered = covered.max(off + part.len());
        }
        if covered < total {
            return None;
        }
        let q = self.ns_mut(ns).reasm.remove(&key)?;
        let mut whole = vec![0u8; total];
        for (off, part) in q.parts {
            let end = (off + part.len()).min(total);
            whole[off..end].copy_from_slice(&part[..end - off]);
        }
        self.ns_mut(ns).mib.inc(Mib::IpReasmOKs);
        let mut skb = self.alloc_skb(total, 0)?;
        let _ = skb.put_data(&whole);
        self.trace(host, Layer::Ip, |_w| {
            format!("ip_defrag: datagram id {} reassembled ({total} B)", key.2)
        });
        Some(skb)
    }
}
