//! The neighbour table and ARP: turning a next-hop IP address into the
//! Ethernet address a frame must carry (`net/core/neighbour.c`,
//! `net/ipv4/arp.c`).
//!
//! The first packet to an unknown neighbour finds no entry: one is created
//! `INCOMPLETE`, the packet waits on the entry's queue, and an ARP request
//! is broadcast ("who has 10.0.0.2? tell 10.0.0.1"). The owner of the
//! address answers with a unicast reply, learning the asker's address as it
//! does; the reply makes the entry `REACHABLE` and the waiting packets leave.
//! That first exchange is why the first packet to a new neighbour takes a
//! round trip longer. `ip neigh` shows the table.
//!
//! An unanswered request is repeated every second (`retrans_time_ms`); after
//! three (`mcast_solicit`) the entry fails and its waiting packets are
//! dropped (`neigh_timer_handler()`).
//!
//! Simplified: a failed entry is forgotten at once (the next packet starts
//! over) and sends no ICMP host unreachable; no aging from `REACHABLE` to
//! `STALE`. While unresolved, an entry holds packets up to
//! `unres_qlen_bytes` of `truesize` and drops the oldest beyond that, as
//! `__neigh_event_send()` does. IPv6 neighbour discovery is not modelled:
//! IPv6 runs on loopback only.
//!
//! ARP lives here too, next to the table it fills, rather than in
//! `net/ipv4/arp.c`: it is the table's only resolver in the simulation.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::kernel::ids::DevId;
use crate::kernel::world::World;
use crate::net::core::dev::XmitResult;
use crate::net::core::skbuff::SkBuff;
use crate::observe::trace::Layer;
use crate::wire::arp::{ARPOP_REPLY, ARPOP_REQUEST, ArpHdr};
use crate::wire::ethernet::{ETH_P_ARP, EthHdr, MacAddr};

/// `unres_qlen_bytes`: the truesize an unresolved entry may hold
/// (`/proc/sys/net/ipv4/neigh/default/unres_qlen_bytes`).
pub const UNRES_QLEN_BYTES: usize = 212_992;

pub use crate::observe::tools::NudState;

/// One neighbour (`struct neighbour`).
#[derive(Debug)]
pub(crate) struct Neighbour {
    pub(crate) mac: Option<MacAddr>,
    pub(crate) state: NudState,
    pub(crate) queue: Vec<SkBuff>,
    /// ARP requests sent for it while unresolved.
    pub(crate) probes: u32,
}

/// `retrans_time_ms`: the wait between two ARP requests.
pub const ARP_RETRANS_TIME: crate::sim::time::Nanos = crate::sim::time::secs(1);
/// `mcast_solicit`: requests before giving up.
pub const ARP_MCAST_SOLICIT: u32 = 3;

/// A namespace's neighbour table (`arp_tbl`), keyed by device and address.
#[derive(Debug, Default)]
pub(crate) struct NeighTable {
    pub(crate) entries: BTreeMap<(DevId, IpAddr), Neighbour>,
}

impl World {
    /// `neigh_output()`: put the Ethernet header on a packet for `nexthop`
    /// and send it, resolving the address first if needed.
    pub(crate) fn neigh_output(
        &mut self,
        dev: DevId,
        nexthop: IpAddr,
        ethertype: u16,
        mut skb: SkBuff,
    ) -> XmitResult {
        let host = self.dev(dev).host;
        if self.dev(dev).is_noarp() {
            // lo and tun are NOARP: the header carries zero addresses.
            self.push_eth(&mut skb, MacAddr::ZERO, MacAddr::ZERO, ethertype);
            return self.dev_queue_xmit(dev, skb);
        }
        let ns = self.dev(dev).netns;
        let known = self
            .ns(ns)
            .neigh
            .entries
            .get(&(dev, nexthop))
            .and_then(|n| n.mac);
        if let Some(mac) = known {
            let src = self.dev(dev).mac;
            self.push_eth(&mut skb, src, mac, ethertype);
            self.trace(host, Layer::Neigh, |_w| {
                format!("neighbour {nexthop} is {mac}: Ethernet header pushed")
            });
            return self.dev_queue_xmit(dev, skb);
        }
        skb.protocol = ethertype;
        let table = &mut self.ns_mut(ns).neigh.entries;
        let fresh = !table.contains_key(&(dev, nexthop));
        let entry = table.entry((dev, nexthop)).or_insert(Neighbour {
            mac: None,
            state: NudState::Incomplete,
            queue: Vec::new(),
            probes: 0,
        });
        let mut dropped = Vec::new();
        let mut held: usize = entry.queue.iter().map(SkBuff::truesize).sum();
        while !entry.queue.is_empty() && held + skb.truesize() > UNRES_QLEN_BYTES {
            let old = entry.queue.remove(0);
            held -= old.truesize();
            dropped.push(old);
        }
        entry.queue.push(skb);
        let waiting = entry.queue.len();
        self.trace(host, Layer::Neigh, |_w| {
            format!("neighbour {nexthop} unresolved: INCOMPLETE, packet waits ({waiting} queued)")
        });
        for old in dropped {
            self.kfree_skb(old);
        }
        if fresh && let IpAddr::V4(target) = nexthop {
            self.arp_solicit(dev, target);
        }
        XmitResult::Ok
    }

    /// Sends an ARP request for `target` and arms the retry timer.
    fn arp_solicit(&mut self, dev: DevId, target: Ipv4Addr) {
        let ns = self.dev(dev).netns;
        if let Some(n) = self
            .ns_mut(ns)
            .neigh
            .entries
            .get_mut(&(dev, IpAddr::V4(target)))
        {
            n.probes += 1;
        }
        self.arp_send(
            dev,
            ARPOP_REQUEST,
            target,
            MacAddr::BROADCAST,
            MacAddr::ZERO,
        );
        let at = self.now + ARP_RETRANS_TIME;
        self.schedule(
            at,
            crate::sim::event::Event::NeighTimer {
                dev,
                ip: IpAddr::V4(target),
            },
        );
    }

    /// `neigh_timer_handler()`: still unresolved? Ask again, or give up.
    pub(crate) fn neigh_timer(&mut self, dev: DevId, ip: IpAddr) {
        let ns = self.dev(dev).netns;
        let host = self.dev(dev).host;
        let Some(n) = self.ns(ns).neigh.entries.get(&(dev, ip)) else {
            return;
        };
        if n.state != NudState::Incomplete {
            return;
        }
        if n.probes < ARP_MCAST_SOLICIT {
            if let IpAddr::V4(target) = ip {
                self.arp_solicit(dev, target);
            }
            return;
        }
        let n = self
            .ns_mut(ns)
            .neigh
            .entries
            .remove(&(dev, ip))
            .expect("checked");
        let dropped = n.queue.len();
        self.trace(host, Layer::Neigh, |_w| {
            format!("no ARP reply from {ip} after {ARP_MCAST_SOLICIT} requests: FAILED, {dropped} waiting packet(s) dropped")
        });
        for skb in n.queue {
            self.kfree_skb(skb);
        }
    }

    /// Pushes an Ethernet header onto the packet.
    pub(crate) fn push_eth(
        &mut self,
        skb: &mut SkBuff,
        src: MacAddr,
        dst: MacAddr,
        ethertype: u16,
    ) {
        let hdr = EthHdr {
            dst,
            src,
            ethertype,
        };
        if let Ok(room) = skb.push(EthHdr::LEN) {
            let _ = hdr.write(room);
        }
        skb.reset_mac_header();
        skb.protocol = ethertype;
    }

    /// `arp_send()`: build and transmit one ARP packet.
    fn arp_send(&mut self, dev: DevId, op: u16, tip: Ipv4Addr, dst: MacAddr, tha: MacAddr) {
        let host = self.dev(dev).host;
        let Some(sip) = self.first_v4(dev) else {
            return;
        };
        let sha = self.dev(dev).mac;
        let arp = ArpHdr {
            op,
            sha,
            spa: sip,
            tha,
            tpa: tip,
        };
        let Some(mut skb) = self.alloc_skb(ArpHdr::LEN + 16 + 15, 16) else {
            return;
        };
        if let Ok(room) = skb.put(ArpHdr::LEN) {
            let _ = arp.write(room);
        }
        self.push_eth(&mut skb, sha, dst, ETH_P_ARP);
        self.trace(host, Layer::Neigh, |_w| {
            if op == ARPOP_REQUEST {
                format!("ARP request broadcast: who has {tip}? tell {sip}")
            } else {
                format!("ARP reply to {tip}: {sip} is at {sha}")
            }
        });
        self.dev_queue_xmit(dev, skb);
    }

    fn first_v4(&self, dev: DevId) -> Option<Ipv4Addr> {
        self.dev(dev).addrs.iter().find_map(|a| match a.addr {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
    }

    /// `arp_rcv()` → `arp_process()`: answer requests for our addresses and
    /// learn the sender; a reply completes an `INCOMPLETE` entry.
    pub(crate) fn arp_rcv(&mut self, dev: DevId, skb: SkBuff) {
        let host = self.dev(dev).host;
        // ARP has no counters: a malformed packet is just dropped, and so
        // is one for another station.
        if skb.pkt_type == crate::net::core::skbuff::PacketType::OtherHost {
            self.kfree_skb(skb);
            return;
        }
        let Ok(arp) = ArpHdr::parse(skb.data()) else {
            self.kfree_skb(skb);
            return;
        };
        self.consume_skb(skb);
        let ours = self
            .dev(dev)
            .addrs
            .iter()
            .any(|a| a.addr == IpAddr::V4(arp.tpa));
        let ns = self.dev(dev).netns;
        let known = self
            .ns(ns)
            .neigh
            .entries
            .contains_key(&(dev, IpAddr::V4(arp.spa)));
        if ours || known {
            self.neigh_update(dev, IpAddr::V4(arp.spa), arp.sha);
        }
        if ours && arp.op == ARPOP_REQUEST {
            self.trace(host, Layer::Neigh, |_w| {
                format!(
                    "ARP request for our {} from {}: learn it, reply",
                    arp.tpa, arp.spa
                )
            });
            self.arp_send(dev, ARPOP_REPLY, arp.spa, arp.sha, arp.sha);
        }
    }

    /// `neigh_update()`: the address is now known; release waiting packets.
    fn neigh_update(&mut self, dev: DevId, ip: IpAddr, mac: MacAddr) {
        let host = self.dev(dev).host;
        let ns = self.dev(dev).netns;
        let table = &mut self.ns_mut(ns).neigh.entries;
        let was = table.get(&(dev, ip)).map(|n| n.state);
        let entry = table.entry((dev, ip)).or_insert(Neighbour {
            mac: None,
            state: NudState::Incomplete,
            queue: Vec::new(),
            probes: 0,
        });
        if entry.state == NudState::Permanent {
            return;
        }
        entry.mac = Some(mac);
        entry.state = NudState::Reachable;
        let waiting = std::mem::take(&mut entry.queue);
        self.events.cancel_neigh(dev, ip);
        let n = waiting.len();
        match was {
            Some(NudState::Reachable) => {}
            Some(state) => self.trace(host, Layer::Neigh, |_w| {
                format!(
                    "neighbour {ip} {} -> REACHABLE at {mac}; {n} waiting packet(s) sent",
                    state.name()
                )
            }),
            None => self.trace(host, Layer::Neigh, |_w| {
                format!("neighbour {ip} learned from its ARP request: REACHABLE at {mac}")
            }),
        }
        let src = self.dev(dev).mac;
        for mut skb in waiting {
            let ethertype = skb.protocol;
            self.push_eth(&mut skb, src, mac, ethertype);
            self.dev_queue_xmit(dev, skb);
        }
    }
}
