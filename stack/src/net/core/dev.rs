//! Network devices: `struct net_device` (`include/linux/netdevice.h`) and
//! the transmit side of the device layer, `dev_queue_xmit()` with its qdisc
//! (`net/core/dev.c`, `net/sched/sch_generic.c`).
//!
//! Four kinds of device exist: the loopback device (`drivers/net/loopback.c`),
//! which hands every transmitted packet straight back to the receive path
//! through the per-CPU backlog; an Ethernet NIC with descriptor rings,
//! DMA and interrupts (`nic`), cabled to another host's NIC by a `link`; a
//! veth pair (`veth`), whose two ends hand frames to each other, usually
//! across two namespaces; and a software bridge (`bridge`) that switches
//! frames between the devices enslaved to it.
//!
//! Simplified: the qdisc is a single FIFO bounded by `txqueuelen` (like
//! `pfifo`), not `fq_codel` or `pfifo_fast`'s three bands.

use std::collections::VecDeque;
use std::net::IpAddr;

use crate::drivers::net::nic::Nic;
use crate::kernel::ids::{DevId, HostId, NetNsId};
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::observe::trace::Layer;
use crate::wire::ethernet::MacAddr;

/// Interface counters (`struct rtnl_link_stats64`), as `ip -s link` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DevStats {
    /// Frames handed up the stack.
    pub rx_packets: u64,
    /// Bytes in those frames.
    pub rx_bytes: u64,
    /// Malformed frames the driver refused.
    pub rx_errors: u64,
    /// Frames dropped after reception (no protocol handler, backlog full).
    pub rx_dropped: u64,
    /// Frames the NIC dropped because the RX ring had no free descriptor
    /// (`rx_missed_errors`, "missed" in `ip -s link`).
    pub rx_missed: u64,
    /// Frames put on the wire.
    pub tx_packets: u64,
    /// Bytes in those frames.
    pub tx_bytes: u64,
    /// Frames the device could not send.
    pub tx_errors: u64,
    /// Frames dropped before transmission (qdisc full).
    pub tx_dropped: u64,
}

/// The queueing discipline in front of a device's TX ring.
#[derive(Debug)]
pub(crate) struct Qdisc {
    pub(crate) queue: VecDeque<SkBuff>,
    /// `txqueuelen`: packets the qdisc holds before it drops.
    pub(crate) limit: usize,
    pub(crate) drops: u64,
    pub(crate) sent_packets: u64,
    pub(crate) sent_bytes: u64,
}

impl Qdisc {
    pub(crate) fn new(limit: usize) -> Qdisc {
        Qdisc {
            queue: VecDeque::new(),
            limit,
            drops: 0,
            sent_packets: 0,
            sent_bytes: 0,
        }
    }
}

/// What kind of device this is.
#[derive(Debug)]
pub(crate) enum DevKind {
    /// `lo`: transmit is receive.
    Loopback,
    /// An Ethernet NIC with rings, DMA and an IRQ line.
    Nic(Box<Nic>),
    /// One end of a veth pair (`struct veth_priv`): what it sends, its
    /// peer receives.
    Veth {
        /// The other end.
        peer: DevId,
    },
    /// A software bridge (`struct net_bridge`).
    Bridge(Box<crate::net::bridge::Bridge>),
    /// A tun device (`struct tun_struct`): a process reads what it sends
    /// and writes what it receives.
    Tun(Box<crate::drivers::net::tun::TunQueue>),
}

/// An address assigned to an interface (`struct in_ifaddr`/`inet6_ifaddr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length of its subnet.
    pub prefix: u8,
}

/// `struct net_device`.
#[derive(Debug)]
pub(crate) struct NetDevice {
    pub(crate) name: String,
    pub(crate) ifindex: u32,
    pub(crate) host: HostId,
    pub(crate) netns: NetNsId,
    pub(crate) mtu: u32,
    pub(crate) mac: MacAddr,
    pub(crate) up: bool,
    pub(crate) addrs: Vec<IfAddr>,
    pub(crate) stats: DevStats,
    /// `None` is `noqueue` (loopback, veth, bridge): packets go straight
    /// to the driver.
    pub(crate) qdisc: Option<Qdisc>,
    /// The bridge this device is a port of (`netdev_master_upper_dev_get()`,
    /// `IFLA_MASTER`).
    pub(crate) master: Option<DevId>,
    /// Opened at least once, so its qdisc is attached (`dev_activate()`);
    /// before that `ip link` shows `qdisc noop`.
    pub(crate) activated: bool,
    pub(crate) kind: DevKind,
}

impl NetDevice {
    pub(crate) fn is_loopback(&self) -> bool {
        matches!(self.kind, DevKind::Loopback)
    }

    /// `IFF_NOARP`: no neighbour resolution, the link-layer addresses are
    /// zero (loopback, tun).
    pub(crate) fn is_noarp(&self) -> bool {
        matches!(self.kind, DevKind::Loopback | DevKind::Tun(_))
    }

    pub(crate) fn nic(&self) -> Option<&Nic> {
        match &self.kind {
            DevKind::Nic(n) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn nic_mut(&mut self) -> Option<&mut Nic> {
        match &mut self.kind {
            DevKind::Nic(n) => Some(n),
            _ => None,
        }
    }
}

/// What became of a packet handed to `dev_queue_xmit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XmitResult {
    /// Queued or sent (`NET_XMIT_SUCCESS`).
    Ok,
    /// Dropped by the qdisc (`NET_XMIT_DROP`); the sender sees `ENOBUFS`.
    Dropped,
}

impl World {
    /// `dev_queue_xmit()`: hand a fully built frame (Ethernet header
    /// included) to a device. With a qdisc the frame waits its turn;
    /// without one (loopback) it goes straight to the driver.
    pub(crate) fn dev_queue_xmit(&mut self, dev: DevId, skb: SkBuff) -> XmitResult {
        // rcu_read_lock_bh(): bottom halves are off while the packet goes down;
        // a softirq raised meanwhile (loopback's netif_rx) runs when they come
        // back on, still inside the caller's system call.
        let host = self.dev(dev).host;
        let was_disabled = std::mem::replace(&mut self.host_mut(host).softnet.bh_disabled, true);
        let result = self.dev_queue_xmit_locked(dev, skb);
        self.host_mut(host).softnet.bh_disabled = was_disabled;
        if !was_disabled {
            self.local_bh_enable(host);
        }
        result
    }

    fn dev_queue_xmit_locked(&mut self, dev: DevId, skb: SkBuff) -> XmitResult {
        let host = self.dev(dev).host;
        if !self.dev(dev).up {
            self.dev_mut(dev).stats.tx_dropped += 1;
            self.kfree_skb(skb);
            return XmitResult::Dropped;
        }
        match self.dev(dev).kind {
            DevKind::Loopback => {
                self.loopback_xmit(dev, skb);
                return XmitResult::Ok;
            }
            DevKind::Veth { .. } => {
                self.veth_xmit(dev, skb);
                return XmitResult::Ok;
            }
            DevKind::Bridge(_) => {
                self.br_dev_xmit(dev, skb);
                return XmitResult::Ok;
            }
            DevKind::Tun(_) => {
                self.tun_net_xmit(dev, skb);
                return XmitResult::Ok;
            }
            DevKind::Nic(_) => {}
        }
        let len = skb.len();
        let d = self.dev_mut(dev);
        let q = d.qdisc.as_mut().expect("NICs have a qdisc");
        if q.queue.len() >= q.limit {
            q.drops += 1;
            d.stats.tx_dropped += 1;
            let limit = q.limit;
            self.trace(host, Layer::Dev, |w| {
                let name = &w.dev(dev).name;
                format!("qdisc of {name} full ({limit} packets): frame of {len} B dropped")
            });
            self.kfree_skb(skb);
            return XmitResult::Dropped;
        }
        q.queue.push_back(skb);
        let qlen = q.queue.len();
        self.trace(host, Layer::Dev, |w| {
            let name = &w.dev(dev).name;
            format!(
                "dev_queue_xmit on {name}: qdisc enqueue, qlen {} -> {qlen}",
                qlen - 1
            )
        });
        self.qdisc_run(dev);
        XmitResult::Ok
    }

    /// `__qdisc_run()`: move frames from the qdisc to the driver while the
    /// TX ring has room; when it is full the queue is "stopped" and frames
    /// wait in the qdisc until TX completions free descriptors.
    pub(crate) fn qdisc_run(&mut self, dev: DevId) {
        loop {
            let d = self.dev_mut(dev);
            let ring_full = d.nic().is_none_or(|n| n.tx_ring_full());
            let Some(q) = d.qdisc.as_mut() else { return };
            if ring_full || q.queue.is_empty() {
                return;
            }
            let skb = q.queue.pop_front().expect("checked non-empty");
            q.sent_packets += 1;
            q.sent_bytes += skb.len() as u64;
            self.nic_start_xmit(dev, skb);
        }
    }
}
