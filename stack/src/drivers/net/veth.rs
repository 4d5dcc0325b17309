//! Virtual Ethernet pairs (`drivers/net/veth.c`): two devices joined back
//! to back, usually with one end in a container's namespace and the other
//! in the host's. Whatever one end transmits, the other receives.
//!
//! `veth_newlink()` registers the peer first and then the device itself,
//! both down; `veth_open()` turns on both carriers once both ends are up.
//! `veth_xmit()` is the whole data path: no ring, no DMA, no wire, no
//! delay. It counts the frame as sent on this end and received on the
//! peer (`veth_get_stats64()` reports the peer's TX as this end's RX),
//! and hands the `sk_buff` itself to the peer through `veth_forward_skb()` →
//! `__dev_forward_skb()` (which drops it if the peer is down, and scrubs it
//! when it crosses namespaces) → `eth_type_trans()` → `__netif_rx()`, onto
//! this CPU's backlog, exactly like a packet sent on `lo`. The receive side
//! then runs in the NET_RX softirq, as soon as the sender's
//! `dev_queue_xmit()` turns bottom halves back on.
//!
//! The sending socket keeps its claim on the packet across the pair (it is
//! not orphaned here, "skbuff: preserve sock reference when scrubbing the
//! skb"); `ip_rcv()` on the far side drops it.
//!
//! Simplified: no XDP, no NAPI mode (`veth` uses the backlog unless GRO or
//! XDP is turned on), no MTU check on forwarding.

use crate::kernel::ids::{DevId, NetNsId};
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::net::core::skbuff::SkBuff;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::wire::ethernet::ETH_DATA_LEN;

/// `IFNAMSIZ`: a device name holds at most 15 bytes and its NUL.
pub const IFNAMSIZ: usize = 16;

impl World {
    /// `dev_valid_name()`, and the name must be free in its namespace.
    pub(crate) fn check_new_dev_name(&self, ns: NetNsId, name: &str) -> Result<(), Errno> {
        let bad = name.is_empty()
            || name.len() >= IFNAMSIZ
            || name == "."
            || name == ".."
            || name.contains(['/', ':'])
            || name.chars().any(char::is_whitespace);
        if bad {
            return Err(Errno::EINVAL);
        }
        if self.dev_get_by_name(ns, name).is_ok() {
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    /// `veth_newlink()`: `ip link add NAME type veth peer name PEER netns
    /// NS`. The peer is registered first, so it takes the lower ifindex when
    /// both ends share a namespace. Both ends start down.
    pub(crate) fn veth_newlink(
        &mut self,
        ns: NetNsId,
        name: &str,
        peer_ns: NetNsId,
        peer_name: &str,
    ) -> Result<(DevId, DevId), Errno> {
        self.check_new_dev_name(ns, name)?;
        self.check_new_dev_name(peer_ns, peer_name)?;
        if ns == peer_ns && name == peer_name {
            return Err(Errno::EEXIST);
        }
        let host = self.ns(ns).host;
        if self.ns(peer_ns).host != host {
            // A veth pair lives inside one kernel.
            return Err(Errno::EINVAL);
        }
        // Placeholder peers, fixed up once both exist.
        let kind = || DevKind::Veth { peer: DevId(0) };
        let peer = self.new_dev(
            host,
            peer_ns,
            peer_name.to_string(),
            ETH_DATA_LEN as u32,
            kind(),
        );
        let dev = self.new_dev(host, ns, name.to_string(), ETH_DATA_LEN as u32, kind());
        self.dev_mut(peer).kind = DevKind::Veth { peer: dev };
        self.dev_mut(dev).kind = DevKind::Veth { peer };
        for d in [dev, peer] {
            let dm = self.dev_mut(d);
            dm.up = false;
            dm.activated = false;
        }
        if ns != peer_ns {
            self.peernet2id_alloc(ns, peer_ns);
            self.peernet2id_alloc(peer_ns, ns);
        }
        self.trace(host, Layer::Dev, |w| {
            format!(
                "veth_newlink: {} ({}) <-> {} ({})",
                w.dev(dev).name,
                w.netns_label(ns),
                w.dev(peer).name,
                w.netns_label(peer_ns)
            )
        });
        Ok((dev, peer))
    }

    /// `veth_xmit()`: the frame (Ethernet header included) goes straight
    /// to the peer's receive path.
    pub(crate) fn veth_xmit(&mut self, dev: DevId, mut skb: SkBuff) {
        let DevKind::Veth { peer } = self.dev(dev).kind else {
            self.kfree_skb(skb);
            return;
        };
        let host = self.dev(dev).host;
        let len = skb.len() as u64;
        if !self.dev(peer).up {
            // __dev_forward_skb() refuses it (the peer counts rx_dropped),
            // and veth_xmit() counts it dropped on this end.
            self.dev_mut(peer).stats.rx_dropped += 1;
            self.dev_mut(dev).stats.tx_dropped += 1;
            self.trace(host, Layer::Dev, |w| {
                format!(
                    "veth_xmit on {}: peer {} is down, frame dropped",
                    w.dev(dev).name,
                    w.dev(peer).name
                )
            });
            self.kfree_skb(skb);
            return;
        }
        let d = self.dev_mut(dev);
        d.stats.tx_packets += 1;
        d.stats.tx_bytes += len;
        let p = self.dev_mut(peer);
        p.stats.rx_packets += 1;
        p.stats.rx_bytes += len;
        let now = self.now;
        let bytes = skb.to_vec();
        self.log_wire(crate::observe::capture::WireFrame {
            from: dev,
            to: peer,
            sent: now,
            arrived: Some(now),
            bytes,
        });
        // skb_scrub_packet(): what belonged to the sender's namespace goes.
        if self.dev(dev).netns != self.dev(peer).netns {
            skb.mark = 0;
        }
        skb.priority = 0;
        self.trace(host, Layer::Dev, |w| {
            format!(
                "veth_xmit on {}: {len} B frame handed to peer {} ({}), no wire: __netif_rx",
                w.dev(dev).name,
                w.dev(peer).name,
                w.netns_label(w.dev(peer).netns)
            )
        });
        match self.eth_type_trans(peer, skb) {
            Some(skb) => self.netif_rx(peer, skb),
            None => self.dev_mut(peer).stats.rx_errors += 1,
        }
    }

    /// A namespace as the trace names it: its `ip netns` name, or the
    /// host's name for `init_net`.
    pub(crate) fn netns_label(&self, ns: NetNsId) -> String {
        match self.netns_name(ns) {
            Some(n) => format!("netns {n}"),
            None => format!("{}'s init_net", self.host(self.ns(ns).host).name),
        }
    }
}
