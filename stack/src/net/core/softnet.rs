//! The receive side of the device layer: the per-CPU `softnet_data`, the
//! NET_RX softirq and NAPI (`net/core/dev.c`).
//!
//! Two roads lead into the stack. A NAPI driver's poll function hands
//! frames to `netif_receive_skb()` from the softirq. A non-NAPI driver, and
//! the loopback device, call `netif_rx()` instead, which queues the packet on
//! this CPU's backlog (`input_pkt_queue`, `enqueue_to_backlog()`): the queue
//! takes packets while it holds no more than `netdev_max_backlog`, and drops
//! beyond that (the second column of `/proc/net/softnet_stat`). The backlog is
//! itself drained by a NAPI instance, `process_backlog()`, with weight
//! `dev_weight`.
//!
//! `net_rx_action()` is the softirq: it polls every NAPI instance on the
//! CPU's poll list, each up to its weight, until the list is empty or the
//! run's budget is spent (`netdev_budget` packets or `netdev_budget_usecs`);
//! stopping with work left counts a `time_squeeze` and leaves the rest to
//! the next run (in the kernel, ksoftirqd).
//!
//! Simplified: one CPU per host, no RPS/RFS, no GRO. Each packet the softirq
//! handles costs a fixed CPU time ([`SOFTIRQ_NS_PER_PACKET`]); the softirq's
//! work is done at the instant it runs, and its next run cannot start before
//! that CPU time has passed.
//!
//! Named after `struct softnet_data`, not after its file: the kernel keeps
//! the receive side in `net/core/dev.c` with the transmit side, and here
//! it is apart from [`crate::net::core::dev`] so each half reads alone.

use std::collections::VecDeque;

use crate::kernel::ids::{DevId, HostId};
use crate::kernel::world::World;
use crate::net::core::skbuff::{PacketType, SkBuff};
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::sim::time::Nanos;
use crate::wire::ethernet::{ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, EthHdr, MacAddr};

/// CPU time the softirq spends on one received packet, driver to socket.
pub const SOFTIRQ_NS_PER_PACKET: Nanos = 1_000;

/// A NAPI instance on a CPU's poll list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Napi {
    /// A NIC's NAPI context.
    Dev(DevId),
    /// The per-CPU backlog's (`process_backlog`).
    Backlog,
}

/// `struct softnet_data`: one CPU's receive state and counters.
#[derive(Debug, Default)]
pub(crate) struct SoftnetData {
    pub(crate) input_pkt_queue: VecDeque<SkBuff>,
    pub(crate) poll_list: VecDeque<Napi>,
    pub(crate) softirq_pending: bool,
    pub(crate) in_softirq: bool,
    /// Bottom halves are disabled (`local_bh_disable()`): a raised softirq
    /// waits for `local_bh_enable()` instead of a timer.
    pub(crate) bh_disabled: bool,
    /// The CPU is busy with softirq work until this instant.
    pub(crate) busy_until: Nanos,
    /// Packets handed to the protocol layers (`processed`).
    pub(crate) processed: u32,
    /// Packets dropped because the backlog was full (`dropped`).
    pub(crate) dropped: u32,
    /// Softirq runs that stopped with work left (`time_squeeze`).
    pub(crate) time_squeeze: u32,
}

impl World {
    /// `napi_schedule()`: put a NAPI instance on the CPU's poll list and
    /// raise NET_RX.
    pub(crate) fn napi_schedule(&mut self, host: HostId, napi: Napi) {
        let sd = &mut self.host_mut(host).softnet;
        if sd.poll_list.contains(&napi) {
            return;
        }
        sd.poll_list.push_back(napi);
        self.raise_net_rx(host);
    }

    /// `raise_softirq(NET_RX_SOFTIRQ)`: the softirq runs at the next
    /// opportunity: when the CPU is free of earlier softirq work.
    fn raise_net_rx(&mut self, host: HostId) {
        let now = self.now;
        let sd = &mut self.host_mut(host).softnet;
        if sd.softirq_pending || sd.in_softirq {
            return;
        }
        sd.softirq_pending = true;
        if sd.bh_disabled {
            return;
        }
        let at = sd.busy_until.max(now);
        self.schedule(at, Event::NetRxSoftirq { host });
    }

    pub(crate) fn net_rx_softirq_event(&mut self, host: HostId) {
        if self.host(host).softnet.softirq_pending {
            self.net_rx_action(host);
        }
    }

    /// `local_bh_enable()` in process context: a softirq raised while
    /// bottom halves were off runs now, before the system call returns.
    pub(crate) fn local_bh_enable(&mut self, host: HostId) {
        let sd = &self.host(host).softnet;
        if sd.softirq_pending && !sd.in_softirq && !sd.bh_disabled {
            self.net_rx_action(host);
        }
    }

    /// `net_rx_action()`: the NET_RX softirq.
    pub(crate) fn net_rx_action(&mut self, host: HostId) {
        let ns = self.host(host).init_net;
        let budget_pkts = self.ns(ns).sysctl.netdev_budget as usize;
        let budget_ns = self.ns(ns).sysctl.netdev_budget_usecs as Nanos * 1_000;
        let dev_weight = self.ns(ns).sysctl.dev_weight as usize;
        {
            let sd = &mut self.host_mut(host).softnet;
            sd.softirq_pending = false;
            sd.in_softirq = true;
        }
        self.costs(host).softirq_runs += 1;
        self.trace(host, Layer::Softirq, |w| {
            let list = w.poll_list_names(host);
            format!("NET_RX softirq: net_rx_action polls [{list}], budget {budget_pkts}")
        });
        let mut done = 0usize;
        let mut squeezed = false;
        while let Some(napi) = self.host_mut(host).softnet.poll_list.pop_front() {
            let weight = match napi {
                Napi::Dev(_) => crate::drivers::net::nic::NAPI_POLL_WEIGHT,
                Napi::Backlog => dev_weight,
            };
            let work = match napi {
                Napi::Dev(dev) => self.nic_napi_poll(dev, weight),
                Napi::Backlog => self.process_backlog(host, weight),
            };
            done += work;
            if work >= weight {
                // Still has work: back to the tail of the list, still scheduled.
                self.host_mut(host).softnet.poll_list.push_back(napi);
            }
            let spent = done as Nanos * SOFTIRQ_NS_PER_PACKET;
            if done >= budget_pkts || spent >= budget_ns {
                squeezed = !self.host(host).softnet.poll_list.is_empty();
                break;
            }
        }
        let now = self.now;
        let sd = &mut self.host_mut(host).softnet;
        sd.in_softirq = false;
        sd.busy_until = now + done as Nanos * SOFTIRQ_NS_PER_PACKET;
        if squeezed {
            sd.time_squeeze += 1;
            let squeeze = sd.time_squeeze;
            self.trace(host, Layer::Softirq, |_w| {
                format!("budget spent after {done} packets with work left: time_squeeze {squeeze}, ksoftirqd continues")
            });
        }
        if !self.host(host).softnet.poll_list.is_empty() {
            self.raise_net_rx(host);
        }
    }

    fn poll_list_names(&self, host: HostId) -> String {
        self.host(host)
            .softnet
            .poll_list
            .iter()
            .map(|n| match n {
                Napi::Dev(d) => self.dev(*d).name.clone(),
                Napi::Backlog => "backlog".to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `netif_rx()` → `enqueue_to_backlog()`.
    pub(crate) fn netif_rx(&mut self, dev: DevId, mut skb: SkBuff) {
        skb.dev = Some(dev);
        let host = self.dev(dev).host;
        let max = self.ns(self.host(host).init_net).sysctl.netdev_max_backlog as usize;
        let sd = &mut self.host_mut(host).softnet;
        let qlen = sd.input_pkt_queue.len();
        // The kernel admits while qlen <= max, so max + 1 packets can wait.
        if qlen <= max {
            sd.input_pkt_queue.push_back(skb);
            self.trace(host, Layer::Softirq, |_w| {
                format!("netif_rx: enqueue_to_backlog, input_pkt_queue {qlen} -> {} (max {max}); raise NET_RX", qlen + 1)
            });
            self.napi_schedule(host, Napi::Backlog);
        } else {
            sd.dropped += 1;
            let dropped = sd.dropped;
            self.dev_mut(dev).stats.rx_dropped += 1;
            self.trace(host, Layer::Softirq, |_w| {
                format!("netif_rx: backlog full ({qlen} > {max}): packet dropped, softnet dropped {dropped}")
            });
            self.kfree_skb(skb);
        }
    }

    /// `process_backlog()`: the backlog's NAPI poll.
    fn process_backlog(&mut self, host: HostId, quota: usize) -> usize {
        let mut work = 0;
        while work < quota {
            let Some(skb) = self.host_mut(host).softnet.input_pkt_queue.pop_front() else {
                break;
            };
            work += 1;
            self.netif_receive_skb(skb);
        }
        work
    }

    /// `eth_type_trans()`: read the Ethernet header, set `skb->protocol`
    /// and `skb->pkt_type`, and pull the header so `data` points at the
    /// network header.
    pub(crate) fn eth_type_trans(&mut self, dev: DevId, mut skb: SkBuff) -> Option<SkBuff> {
        let hdr = EthHdr::parse(skb.data()).ok()?;
        skb.reset_mac_header();
        skb.pull(EthHdr::LEN)?;
        skb.protocol = hdr.ethertype;
        skb.pkt_type = PacketType::classify(hdr.dst, self.dev(dev).mac);
        skb.dev = Some(dev);
        Some(skb)
    }

    /// `__netif_receive_skb()`: hand a packet to its protocol's handler
    /// (`ip_rcv`, `ipv6_rcv`, `arp_rcv`) by `skb->protocol`.
    pub(crate) fn netif_receive_skb(&mut self, skb: SkBuff) {
        let Some(dev) = skb.dev else { return };
        let host = self.dev(dev).host;
        self.host_mut(host).softnet.processed += 1;
        // A bridge port's rx_handler (br_handle_frame) takes every frame.
        if self.dev(dev).master.is_some() {
            return self.br_handle_frame(dev, skb);
        }
        match skb.protocol {
            ETH_P_IP => self.ip_rcv(dev, skb),
            ETH_P_IPV6 => self.ipv6_rcv(dev, skb),
            ETH_P_ARP => self.arp_rcv(dev, skb),
            other => {
                self.dev_mut(dev).stats.rx_dropped += 1;
                self.trace(host, Layer::Dev, |_w| {
                    format!("no handler for ethertype {other:#06x}: dropped")
                });
                self.kfree_skb(skb);
            }
        }
    }
}

impl PacketType {
    /// What `eth_type_trans()` makes of a destination MAC on a device
    /// whose own address is `own`.
    pub(crate) fn classify(dst: MacAddr, own: MacAddr) -> PacketType {
        if dst.is_broadcast() {
            PacketType::Broadcast
        } else if dst.is_multicast() {
            PacketType::Multicast
        } else if dst == own {
            PacketType::Host
        } else {
            PacketType::OtherHost
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::net::core::skbuff::SkBuff;
    use crate::prelude::*;

    /// With the softirq held off (as when it is already running, or
    /// deferred to ksoftirqd), `netif_rx` admits packets while the backlog
    /// holds no more than `netdev_max_backlog`, and drops and counts the rest
    /// in the second column of `/proc/net/softnet_stat`.
    #[test]
    fn the_backlog_admits_max_plus_one_then_drops_and_counts() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.sysctl(h, "net.core.netdev_max_backlog", "4").unwrap();
        {
            let mut w = sim.world.borrow_mut();
            let lo = w.ns(w.host(h).init_net).lo;
            w.host_mut(h).softnet.in_softirq = true;
            for _ in 0..9 {
                let skb = SkBuff::alloc_skb(64).unwrap();
                w.netif_rx(lo, skb);
            }
            assert_eq!(w.host(h).softnet.input_pkt_queue.len(), 5);
            w.host_mut(h).softnet.in_softirq = false;
        }
        let stat = sim.sh(h, "cat /proc/net/softnet_stat");
        let cols: Vec<&str> = stat.split_whitespace().collect();
        assert_eq!(cols[1], "00000004", "{stat}");
        assert_eq!(sim.dev_stats(h, "lo").unwrap().rx_dropped, 4);
    }

    /// The backlog is drained by the softirq, `dev_weight` packets per poll,
    /// and `processed` counts each packet handed up.
    #[test]
    fn the_softirq_drains_the_backlog() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        {
            let mut w = sim.world.borrow_mut();
            let lo = w.ns(w.host(h).init_net).lo;
            w.host_mut(h).softnet.in_softirq = true;
            for _ in 0..100 {
                let skb = SkBuff::alloc_skb(64).unwrap();
                w.netif_rx(lo, skb);
            }
            w.host_mut(h).softnet.in_softirq = false;
            w.net_rx_action(h);
            assert!(w.host(h).softnet.input_pkt_queue.is_empty());
            assert_eq!(w.host(h).softnet.processed, 100);
        }
    }
}
