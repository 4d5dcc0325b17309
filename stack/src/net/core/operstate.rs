//! A device going up and down, and what that does to its carrier, its
//! flags, its addresses and its routes: `dev_open()`/`dev_close()`
//! (`net/core/dev.c`), `netif_carrier_on()`/`netif_carrier_off()` and the
//! RFC 2863 operational state (`net/core/link_watch.c`,
//! `default_operstate()`), `dev_get_flags()`, and the routing side,
//! `fib_netdev_event()` (`net/ipv4/fib_frontend.c`).
//!
//! `IFF_UP` is the administrative state, set by `ip link set DEV up`.
//! The carrier (`IFF_LOWER_UP`, `IFF_RUNNING`) is the link's physical state:
//! a NIC has it while cabled; a veth end has it while both ends are up
//! (`veth_open()` turns both carriers on when the second end comes up); a
//! bridge has it while one of its ports is forwarding (`br_port_carrier_check()`);
//! `lo` always. A device that is up without carrier shows `NO-CARRIER` and
//! operstate `DOWN`, or `LOWERLAYERDOWN` when it sits on another device
//! (its `iflink` differs from its ifindex, as a veth's does).
//!
//! Coming up, a device gets the connected route of each of its addresses
//! (and `lo` gets 127.0.0.1/8 and ::1 the first time); going down, every
//! route through it is flushed (`fib_disable_ip()`), while the `local`
//! routes of its own addresses stay.
//!
//! Named after the state it models (`Documentation/networking/operstates.rst`):
//! the kernel spreads it over `dev.c`, `link_watch.c` and `fib_frontend.c`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kernel::ids::DevId;
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::observe::trace::Layer;

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_BROADCAST`.
pub const IFF_BROADCAST: u32 = 0x2;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_POINTOPOINT`: a link with one peer and no broadcast.
pub const IFF_POINTOPOINT: u32 = 0x10;
/// `IFF_NOARP`: no neighbour resolution on the link.
pub const IFF_NOARP: u32 = 0x80;
/// `IFF_RUNNING`: up and with carrier.
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_MULTICAST`.
pub const IFF_MULTICAST: u32 = 0x1000;
/// `IFF_LOWER_UP`: the carrier is on.
pub const IFF_LOWER_UP: u32 = 0x10000;

/// RFC 2863 operational states (`IF_OPER_*`, `include/uapi/linux/if.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN`: the driver does not report one (`lo`).
    Unknown = 0,
    /// `IF_OPER_DOWN`.
    Down = 2,
    /// `IF_OPER_LOWERLAYERDOWN`: down because the device below is.
    LowerLayerDown = 3,
    /// `IF_OPER_UP`.
    Up = 6,
}

impl OperState {
    /// The word `ip link` prints after `state`.
    pub fn name(self) -> &'static str {
        match self {
            OperState::Unknown => "UNKNOWN",
            OperState::Down => "DOWN",
            OperState::LowerLayerDown => "LOWERLAYERDOWN",
            OperState::Up => "UP",
        }
    }
}

impl World {
    /// `netif_carrier_ok()`: the link's state, apart from whether the
    /// device is up. `lo` and a cabled NIC always have carrier; a veth end
    /// while both ends are up; a bridge while it is up and has a port that
    /// is up with carrier.
    pub(crate) fn carrier_ok(&self, dev: DevId) -> bool {
        let d = self.dev(dev);
        match &d.kind {
            // A tun device has carrier while its file is attached, which
            // here is always.
            DevKind::Loopback | DevKind::Nic(_) | DevKind::Tun(_) => true,
            DevKind::Veth { peer } => d.up && self.dev(*peer).up,
            DevKind::Bridge(br) => d.up && br.ports.iter().any(|&p| self.netif_oper_up(p)),
        }
    }

    /// Up and with carrier (`IFF_RUNNING`): the device can carry frames.
    pub(crate) fn netif_oper_up(&self, dev: DevId) -> bool {
        self.dev(dev).up && self.carrier_ok(dev)
    }

    /// `dev_get_iflink()`: the ifindex of the device this one sits on (a
    /// veth's peer), or its own.
    pub(crate) fn dev_iflink(&self, dev: DevId) -> u32 {
        match self.dev(dev).kind {
            DevKind::Veth { peer } => self.dev(peer).ifindex,
            _ => self.dev(dev).ifindex,
        }
    }

    /// `dev_get_flags()`: `IFF_*` as `ifi_flags` reports them.
    pub(crate) fn dev_flags(&self, dev: DevId) -> u32 {
        let d = self.dev(dev);
        let mut f = if d.is_loopback() {
            IFF_LOOPBACK
        } else if matches!(d.kind, DevKind::Tun(_)) {
            // tun_net_init() for IFF_TUN.
            IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST
        } else {
            IFF_BROADCAST | IFF_MULTICAST
        };
        if d.up {
            f |= IFF_UP;
        }
        if self.netif_oper_up(dev) {
            f |= IFF_RUNNING | IFF_LOWER_UP;
        }
        f
    }

    /// The operational state (`dev->operstate`, `default_operstate()`).
    pub(crate) fn operstate(&self, dev: DevId) -> OperState {
        let d = self.dev(dev);
        if !d.up {
            OperState::Down
        } else if d.is_loopback() {
            OperState::Unknown
        } else if self.carrier_ok(dev) {
            OperState::Up
        } else if self.dev_iflink(dev) != d.ifindex {
            OperState::LowerLayerDown
        } else {
            OperState::Down
        }
    }

    /// The qdisc `ip link` names: `noop` until the device has been opened
    /// (`dev_activate()` attaches the real one), `noqueue` for the devices
    /// that have none.
    pub(crate) fn qdisc_name(&self, dev: DevId) -> &'static str {
        let d = self.dev(dev);
        match d.kind {
            _ if !d.activated => "noop",
            DevKind::Nic(_) => "pfifo_fast",
            _ => "noqueue",
        }
    }

    /// `dev_open()`: `ip link set DEV up`.
    pub(crate) fn dev_open(&mut self, dev: DevId) {
        if self.dev(dev).up {
            return;
        }
        let d = self.dev_mut(dev);
        d.up = true;
        d.activated = true;
        let host = d.host;
        if d.is_loopback() {
            // inetdev_event(NETDEV_UP) and addrconf's init_loopback(); an
            // address already there stays as it is.
            let _ = self.addr_add(dev, IpAddr::V4(Ipv4Addr::LOCALHOST), 8);
            let _ = self.addr_add(dev, IpAddr::V6(Ipv6Addr::LOCALHOST), 128);
        }
        for a in self.dev(dev).addrs.clone() {
            self.fib_add_prefix_route(dev, a.addr, a.prefix);
        }
        self.trace(host, Layer::Dev, |w| {
            format!("dev_open: {} is up", w.dev(dev).name)
        });
    }

    /// `dev_close()`: `ip link set DEV down`. Queued frames are dropped
    /// and every route through the device goes (`fib_disable_ip()`).
    pub(crate) fn dev_close(&mut self, dev: DevId) {
        if !self.dev(dev).up {
            return;
        }
        let d = self.dev_mut(dev);
        d.up = false;
        let host = d.host;
        let ns = d.netns;
        let flushed: Vec<_> = d
            .qdisc
            .as_mut()
            .map(|q| q.queue.drain(..).collect())
            .unwrap_or_default();
        for skb in flushed {
            self.kfree_skb(skb);
        }
        self.ns_mut(ns).fib.routes.retain(|r| r.dev != dev);
        self.trace(host, Layer::Dev, |w| {
            format!("dev_close: {} is down, its routes flushed", w.dev(dev).name)
        });
    }
}
