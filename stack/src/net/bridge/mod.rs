//! The software bridge (`net/bridge/`): a learning Ethernet switch inside
//! the kernel, the thing `docker0` and `cni0` are.
//!
//! A bridge is a device (`br0`, `br_dev_setup()`) with ports: other
//! devices enslaved to it (`ip link set veth1 master br0`, `br_add_if()`).
//! A port no longer hands what it receives to the IP stack: its
//! `rx_handler`, `br_handle_frame()`, takes every frame first
//! (`__netif_receive_skb_core()`), and `br_handle_frame_finish()`
//! (`br_input.c`):
//!
//! 1. learns: the frame's source MAC is now reachable through this port
//!    (`br_fdb_update()`, the forwarding database, `bridge fdb`);
//! 2. looks the destination MAC up in the FDB (`br_fdb_find_rcu()`):
//!    - the bridge's own address or a port's: the frame is for this host
//!      and goes up through `br0` (`br_pass_frame_up()`: `skb->dev` becomes
//!      the bridge, and `netif_receive_skb()` gives it to IP or ARP);
//!    - a known station: forwarded out of that one port (`br_forward()`),
//!      unless it is the port it came in on;
//!    - unknown unicast: flooded out of every other port (`br_flood()`);
//!    - broadcast (ARP requests) and multicast: flooded, and also passed up.
//!
//! Sending from the host through `br0` (`br_dev_xmit()`, `br_device.c`)
//! makes the same choice without the learning. Frames leave a port with
//! `dev_queue_xmit()` (`br_dev_queue_push_xmit()`), so through a veth they
//! reach the other end's namespace. Each port but the last gets a clone
//! when a frame is flooded (`maybe_deliver()`).
//!
//! An FDB entry ages out `ageing_time` (300 s) after it was last seen.
//! With STP off (the default) a port forwards as soon as it is up
//! (`br_make_forwarding()` skips the listening and learning states).
//!
//! Simplified: no STP, no VLAN filtering, no multicast snooping (multicast
//! is flooded and passed up like broadcast), no hairpin mode, no netfilter
//! hooks; an entry's age is checked when it is looked up rather than by the
//! periodic `br_fdb_cleanup()`; the bridge keeps its own MAC address, as if
//! one had been set with `ip link set br0 address` (the kernel otherwise
//! takes the lowest port's).

use std::collections::BTreeMap;

use crate::kernel::ids::{DevId, NetNsId};
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::net::core::skbuff::{PacketType, SkBuff};
use crate::observe::trace::Layer;
use crate::sim::time::{Nanos, secs};
use crate::uapi::errno::Errno;
use crate::wire::ethernet::{ETH_DATA_LEN, EthHdr, MacAddr};

/// `BR_DEFAULT_AGEING_TIME`: an FDB entry's life since last seen.
pub const BR_DEFAULT_AGEING_TIME: Nanos = secs(300);

/// One forwarding-database entry (`struct net_bridge_fdb_entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FdbEntry {
    /// The port it was learned on; `None` for the bridge's own address.
    pub(crate) port: Option<DevId>,
    /// `BR_FDB_LOCAL`: an address of the bridge or of one of its ports;
    /// frames to it are for this host. Local entries never age.
    pub(crate) local: bool,
    /// When a frame from it was last seen (`updated`).
    pub(crate) updated: Nanos,
    /// Creation order: `fdb_list` has the newest entry first, which is the
    /// order `bridge fdb show` lists a device's entries in.
    pub(crate) created: u64,
}

/// `struct net_bridge`.
#[derive(Debug, Default)]
pub(crate) struct Bridge {
    /// The ports, in the order they were added (port numbers 1, 2, …).
    pub(crate) ports: Vec<DevId>,
    /// The forwarding database (`fdb_hash_tbl`).
    pub(crate) fdb: BTreeMap<MacAddr, FdbEntry>,
    /// Frames flooded (unknown unicast or broadcast) and forwarded to one
    /// port, for the chapter's counters.
    pub(crate) flooded: u64,
    pub(crate) forwarded: u64,
    /// Entries created so far.
    pub(crate) fdb_created: u64,
}

impl Bridge {
    /// `fdb_create()`, or a refresh of the entry already there (which
    /// keeps its place in the list).
    fn fdb_insert(&mut self, mac: MacAddr, port: Option<DevId>, local: bool, now: Nanos) {
        let created = match self.fdb.get(&mac) {
            Some(e) => e.created,
            None => {
                self.fdb_created += 1;
                self.fdb_created
            }
        };
        self.fdb.insert(
            mac,
            FdbEntry {
                port,
                local,
                updated: now,
                created,
            },
        );
    }
}

/// Where a frame goes, once the FDB has been asked.
enum Verdict {
    /// Up through the bridge device (its own or a port's address).
    Local,
    /// Out of one port.
    Forward(DevId),
    /// Out of every port but the ingress one; also up if `local`.
    Flood { local: bool },
    /// Nowhere: the destination sits behind the port it came in on.
    Filter,
}

impl World {
    fn bridge(&self, br: DevId) -> &Bridge {
        match &self.dev(br).kind {
            DevKind::Bridge(b) => b,
            _ => unreachable!("not a bridge"),
        }
    }

    fn bridge_mut(&mut self, br: DevId) -> &mut Bridge {
        match &mut self.dev_mut(br).kind {
            DevKind::Bridge(b) => b,
            _ => unreachable!("not a bridge"),
        }
    }

    /// `br_add_bridge()`: `ip link add NAME type bridge`, down, with a
    /// local FDB entry for its own address.
    pub(crate) fn br_add_bridge(&mut self, ns: NetNsId, name: &str) -> Result<DevId, Errno> {
        self.check_new_dev_name(ns, name)?;
        let host = self.ns(ns).host;
        let kind = DevKind::Bridge(Box::default());
        let br = self.new_dev(host, ns, name.to_string(), ETH_DATA_LEN as u32, kind);
        let d = self.dev_mut(br);
        d.up = false;
        d.activated = false;
        let mac = d.mac;
        self.bridge_mut(br).fdb_insert(mac, None, true, 0);
        Ok(br)
    }

    /// `br_add_if()`: `ip link set DEV master BR`. The device must be an
    /// Ethernet device of the same namespace that is not already a port
    /// (`EBUSY`) and not a bridge itself (`ELOOP`); its address becomes a
    /// local FDB entry.
    pub(crate) fn br_add_if(&mut self, br: DevId, dev: DevId) -> Result<(), Errno> {
        if !matches!(self.dev(br).kind, DevKind::Bridge(_)) {
            return Err(Errno::EOPNOTSUPP);
        }
        match self.dev(dev).kind {
            DevKind::Loopback => return Err(Errno::EINVAL),
            DevKind::Bridge(_) => return Err(Errno::ELOOP),
            _ => {}
        }
        if self.dev(dev).master.is_some() {
            return Err(Errno::EBUSY);
        }
        if self.dev(dev).netns != self.dev(br).netns {
            return Err(Errno::EINVAL);
        }
        let mac = self.dev(dev).mac;
        self.dev_mut(dev).master = Some(br);
        let b = self.bridge_mut(br);
        b.ports.push(dev);
        b.fdb_insert(mac, Some(dev), true, 0);
        let host = self.dev(br).host;
        self.trace(host, Layer::Bridge, |w| {
            format!(
                "br_add_if: {} is now port {} of {}",
                w.dev(dev).name,
                w.bridge(br).ports.len(),
                w.dev(br).name
            )
        });
        Ok(())
    }

    /// `br_fdb_find_rcu()`: a live entry for `mac`.
    fn br_fdb_find(&self, br: DevId, mac: MacAddr) -> Option<FdbEntry> {
        let e = *self.bridge(br).fdb.get(&mac)?;
        let fresh = e.local || self.now.saturating_sub(e.updated) < BR_DEFAULT_AGEING_TIME;
        fresh.then_some(e)
    }

    /// `br_fdb_update()`: learn that `src` is behind `port`.
    fn br_fdb_update(&mut self, br: DevId, port: DevId, src: MacAddr) {
        if src.is_multicast() || src == MacAddr::ZERO {
            return;
        }
        let now = self.now;
        let host = self.dev(br).host;
        let old = self.bridge(br).fdb.get(&src).copied();
        if old.is_some_and(|e| e.local) {
            // "received packet on PORT with own address as source address"
            return;
        }
        if old.is_some_and(|e| now.saturating_sub(e.updated) >= BR_DEFAULT_AGEING_TIME) {
            // br_fdb_cleanup() would have deleted it by now: learned anew.
            self.bridge_mut(br).fdb.remove(&src);
        }
        self.bridge_mut(br).fdb_insert(src, Some(port), false, now);
        let learned = match old {
            None => true,
            Some(e) => {
                e.port != Some(port) || now.saturating_sub(e.updated) >= BR_DEFAULT_AGEING_TIME
            }
        };
        if learned {
            self.trace(host, Layer::Bridge, |w| {
                format!(
                    "{}: br_fdb_update learns {src} is behind port {}",
                    w.dev(br).name,
                    w.dev(port).name
                )
            });
        }
    }

    /// The FDB's answer for a destination, seen from `ingress` (`None`
    /// when the host itself sends through the bridge).
    fn br_decide(&self, br: DevId, dst: MacAddr, ingress: Option<DevId>) -> Verdict {
        if dst.is_broadcast() || dst.is_multicast() {
            return Verdict::Flood {
                local: ingress.is_some(),
            };
        }
        match self.br_fdb_find(br, dst) {
            Some(e) if e.local && ingress.is_some() => Verdict::Local,
            // The host sending to its own address does not use the bridge.
            Some(e) if e.local => Verdict::Filter,
            Some(FdbEntry { port: Some(p), .. }) if Some(p) == ingress => Verdict::Filter,
            Some(FdbEntry { port: Some(p), .. }) => Verdict::Forward(p),
            _ => Verdict::Flood { local: false },
        }
    }

    /// `br_handle_frame()` → `br_handle_frame_finish()`: a frame arrived
    /// on `port`. Its Ethernet header has been pulled (`eth_type_trans()`).
    pub(crate) fn br_handle_frame(&mut self, port: DevId, skb: SkBuff) {
        let Some(br) = self.dev(port).master else {
            return self.kfree_skb(skb);
        };
        let Some(eth) = skb.mac_header_bytes().and_then(|h| EthHdr::parse(h).ok()) else {
            return self.kfree_skb(skb);
        };
        if !self.dev(br).up {
            // A port of a down bridge drops everything (BR_STATE_DISABLED).
            self.dev_mut(port).stats.rx_dropped += 1;
            return self.kfree_skb(skb);
        }
        self.br_fdb_update(br, port, eth.src);
        let verdict = self.br_decide(br, eth.dst, Some(port));
        self.br_deliver(br, Some(port), eth.dst, verdict, skb);
    }

    /// `br_dev_xmit()`: the host sends a frame through the bridge device.
    pub(crate) fn br_dev_xmit(&mut self, br: DevId, mut skb: SkBuff) {
        let len = skb.len() as u64;
        let d = self.dev_mut(br);
        d.stats.tx_packets += 1;
        d.stats.tx_bytes += len;
        let Some(eth) = EthHdr::parse(skb.data()).ok() else {
            return self.kfree_skb(skb);
        };
        skb.reset_mac_header();
        let _ = skb.pull(EthHdr::LEN);
        let verdict = self.br_decide(br, eth.dst, None);
        self.br_deliver(br, None, eth.dst, verdict, skb);
    }

    /// Carries out the FDB's verdict.
    fn br_deliver(
        &mut self,
        br: DevId,
        ingress: Option<DevId>,
        dst: MacAddr,
        verdict: Verdict,
        skb: SkBuff,
    ) {
        let host = self.dev(br).host;
        let from = |w: &World| match ingress {
            Some(p) => format!("from port {}", w.dev(p).name),
            None => format!("sent by the host through {}", w.dev(br).name),
        };
        match verdict {
            Verdict::Local => {
                self.trace(host, Layer::Bridge, |w| {
                    format!(
                        "{}: frame {} for {dst}, a local address: br_pass_frame_up",
                        w.dev(br).name,
                        from(w)
                    )
                });
                self.br_pass_frame_up(br, skb);
            }
            Verdict::Forward(p) => {
                self.bridge_mut(br).forwarded += 1;
                self.trace(host, Layer::Bridge, |w| {
                    format!(
                        "{}: frame {} for {dst}, known behind {}: br_forward",
                        w.dev(br).name,
                        from(w),
                        w.dev(p).name
                    )
                });
                self.br_forward(p, skb);
            }
            Verdict::Filter => {
                self.trace(host, Layer::Bridge, |w| {
                    format!(
                        "{}: frame {} for {dst} stays where it came from: dropped",
                        w.dev(br).name,
                        from(w)
                    )
                });
                self.consume_skb(skb);
            }
            Verdict::Flood { local } => self.br_flood(br, ingress, dst, local, skb),
        }
    }

    /// `br_flood()`: out of every forwarding port but the ingress one, a
    /// clone for each but the last; up through the bridge too if `local`.
    fn br_flood(
        &mut self,
        br: DevId,
        ingress: Option<DevId>,
        dst: MacAddr,
        local: bool,
        mut skb: SkBuff,
    ) {
        let host = self.dev(br).host;
        let ports: Vec<DevId> = self
            .bridge(br)
            .ports
            .iter()
            .copied()
            .filter(|&p| Some(p) != ingress && self.netif_oper_up(p))
            .collect();
        self.bridge_mut(br).flooded += 1;
        self.trace(host, Layer::Bridge, |w| {
            let names: Vec<&str> = ports.iter().map(|&p| w.dev(p).name.as_str()).collect();
            let why = if dst.is_broadcast() {
                "broadcast"
            } else if dst.is_multicast() {
                "multicast"
            } else {
                "unknown destination"
            };
            format!(
                "{}: {why} {dst}: br_flood to [{}]{}",
                w.dev(br).name,
                names.join(", "),
                if local { " and up to the host" } else { "" }
            )
        });
        let n = ports.len();
        for (i, p) in ports.into_iter().enumerate() {
            let last = i + 1 == n && !local;
            if last {
                self.br_forward(p, skb);
                return;
            }
            let clone = skb.skb_clone();
            self.br_forward(p, clone);
        }
        if local {
            self.br_pass_frame_up(br, skb);
        } else {
            self.consume_skb(skb);
        }
    }

    /// `br_forward()` → `br_dev_queue_push_xmit()`: the Ethernet header
    /// goes back on and the frame leaves by the port.
    fn br_forward(&mut self, port: DevId, mut skb: SkBuff) {
        if skb.push(EthHdr::LEN).is_err() {
            return self.kfree_skb(skb);
        }
        skb.dev = Some(port);
        self.dev_queue_xmit(port, skb);
    }

    /// `br_pass_frame_up()`: the frame is for this host: it arrives on the
    /// bridge device, which counts it, and goes to `netif_receive_skb()`.
    fn br_pass_frame_up(&mut self, br: DevId, mut skb: SkBuff) {
        let len = skb.len() as u64;
        let d = self.dev_mut(br);
        d.stats.rx_packets += 1;
        d.stats.rx_bytes += len;
        let own = d.mac;
        if let Some(eth) = skb.mac_header_bytes().and_then(|h| EthHdr::parse(h).ok()) {
            skb.pkt_type = PacketType::classify(eth.dst, own);
        }
        skb.dev = Some(br);
        self.netif_receive_skb(skb);
    }

    /// `bridge fdb show br BR`, the bridge's own entries (the `master`
    /// lines of `br_fdb_dump()`): per device, the bridge first and then its
    /// ports, newest entry first (`rtnl_fdb_dump()` walks the devices, and
    /// `fdb_list` for each). The devices' multicast `self` entries are not
    /// modelled.
    pub(crate) fn bridge_fdb_show(&self, ns: NetNsId, br: &str) -> String {
        let Ok(b) = self.dev_get_by_name(ns, br) else {
            return format!("Cannot find device \"{br}\"\n");
        };
        if !matches!(self.dev(b).kind, DevKind::Bridge(_)) {
            return String::new();
        }
        let mut out = String::new();
        let devs = std::iter::once(b).chain(self.bridge(b).ports.iter().copied());
        for d in devs {
            let mut entries: Vec<(MacAddr, FdbEntry)> = self
                .bridge(b)
                .fdb
                .iter()
                .filter(|(_, e)| e.port.unwrap_or(b) == d)
                .filter_map(|(&mac, _)| Some((mac, self.br_fdb_find(b, mac)?)))
                .collect();
            entries.sort_by_key(|(_, e)| std::cmp::Reverse(e.created));
            for (mac, e) in entries {
                let state = if e.local { "permanent" } else { "" };
                out.push_str(&format!(
                    "{mac} dev {} master {br} {state}\n",
                    self.dev(d).name
                ));
            }
        }
        out
    }
}
