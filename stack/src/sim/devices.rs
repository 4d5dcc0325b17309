//! Network devices an administrator makes and switches: network
//! namespaces, veth pairs, bridges, tun devices, and `ip link set DEV up|down`. Each
//! call does what the kernel does for the rtnetlink request `ip` sends;
//! the work is in the kernel's modules (`net::core::net_namespace`,
//! `drivers::net::veth`, `drivers::net::tun`, `net::bridge`, `net::core::operstate`).

use crate::kernel::ids::{HostId, NetNsId};
use crate::net::core::dev::DevKind;
use crate::sim::Sim;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;

impl Sim {
    /// `ip netns add NAME` on `host`: a new, empty network namespace whose
    /// only device is a loopback that is down and has no address (bring it
    /// up with [`Sim::link_set_up`]). `EEXIST` if the name is taken.
    pub fn add_netns(&mut self, host: HostId, name: &str) -> Result<NetNsId, Errno> {
        self.world.borrow_mut().copy_net_ns(host, name)
    }

    /// The namespace called `name` on `host`, if there is one.
    pub fn netns(&self, host: HostId, name: &str) -> Option<NetNsId> {
        self.world.borrow().netns_by_name(host, name)
    }

    /// A host's initial namespace, `init_net`.
    pub fn init_net(&self, host: HostId) -> NetNsId {
        self.world.borrow().host(host).init_net
    }
}

impl Sim {
    /// A veth pair with one end in each namespace, both up: `ip link add
    /// NAME type veth peer name PEER netns NS` followed by `ip link set
    /// ... up` on both ends. Addresses come with [`Sim::addr_add`].
    /// `EEXIST` if a name is taken in its namespace, `EINVAL` for a bad
    /// name.
    pub fn add_veth(
        &mut self,
        a: impl InNetNs,
        a_name: &str,
        b: impl InNetNs,
        b_name: &str,
    ) -> Result<(), Errno> {
        let (a, b) = (a.netns_id(self), b.netns_id(self));
        let mut w = self.world.borrow_mut();
        let (dev, peer) = w.veth_newlink(a, a_name, b, b_name)?;
        w.dev_open(dev);
        w.dev_open(peer);
        Ok(())
    }
}

impl Sim {
    /// `ip link add NAME type bridge` and `ip link set NAME up` in a
    /// host's initial namespace or in a namespace.
    pub fn add_bridge(&mut self, at: impl crate::sim::InNetNs, name: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let br = w.br_add_bridge(ns, name)?;
        w.dev_open(br);
        Ok(())
    }

    /// `ip link set DEV master BR`: makes `dev` a port of the bridge `br`.
    pub fn link_set_master(
        &mut self,
        at: impl crate::sim::InNetNs,
        dev: &str,
        br: &str,
    ) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let d = w.dev_get_by_name(ns, dev)?;
        let b = w.dev_get_by_name(ns, br)?;
        w.br_add_if(b, d)
    }

    /// A bridge's counters: frames it flooded and frames it forwarded to
    /// a single port. `None` if there is no such bridge.
    pub fn bridge_counts(&self, at: impl crate::sim::InNetNs, br: &str) -> Option<(u64, u64)> {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        let b = w.dev_get_by_name(ns, br).ok()?;
        match &w.dev(b).kind {
            DevKind::Bridge(b) => Some((b.flooded, b.forwarded)),
            _ => None,
        }
    }
}

impl Sim {
    /// `ip link set DEV up` in a host's initial namespace or in a
    /// namespace. `ENODEV` if there is no such device.
    pub fn link_set_up(&mut self, at: impl crate::sim::InNetNs, dev: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let d = w.dev_get_by_name(ns, dev)?;
        w.dev_open(d);
        Ok(())
    }

    /// `ip link set DEV down`.
    pub fn link_set_down(&mut self, at: impl crate::sim::InNetNs, dev: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let d = w.dev_get_by_name(ns, dev)?;
        w.dev_close(d);
        Ok(())
    }
}

/// What the simulation's API accepts where a network namespace is meant:
/// a host (its initial namespace, `init_net`) or a namespace made with
/// [`Sim::add_netns`].
pub trait InNetNs: Copy {
    /// The namespace this names.
    fn netns_id(self, sim: &Sim) -> NetNsId;
}

impl InNetNs for HostId {
    fn netns_id(self, sim: &Sim) -> NetNsId {
        sim.world.borrow().host(self).init_net
    }
}

impl InNetNs for NetNsId {
    fn netns_id(self, _sim: &Sim) -> NetNsId {
        self
    }
}

impl Sim {
    /// `open("/dev/net/tun")` and `TUNSETIFF` with `IFF_TUN | IFF_NO_PI`: a
    /// tun device, up, through which the program driving the simulation
    /// plays a remote host ([`Sim::tun_write`], [`Sim::tun_read`]). `EEXIST`
    /// if the name is taken, `EINVAL` for a bad name.
    pub fn add_tun(&mut self, at: impl InNetNs, name: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let dev = w.tun_newlink(ns, name)?;
        w.dev_open(dev);
        Ok(())
    }

    /// `write()` on a tun device's file: `packet` (an IPv4 or IPv6 packet)
    /// arrives on the device now. `ENODEV` if there is no such device,
    /// `EINVAL` if it is not a tun device or the bytes are not IP.
    pub fn tun_write(&mut self, at: impl InNetNs, name: &str, packet: &[u8]) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let dev = w.dev_get_by_name(ns, name)?;
        w.tun_get_user(dev, packet)?;
        let host = w.ns(ns).host;
        // tun_get_user() runs the softirq it raised before write() returns
        // (netif_rx_ni()).
        w.local_bh_enable(host);
        Ok(())
    }

    /// `read()`s on a tun device's file until it is empty: every packet
    /// the stack has sent on it since the last call, oldest first, each
    /// with the instant it was sent. `ENODEV` if there is no such device.
    pub fn tun_read(
        &mut self,
        at: impl InNetNs,
        name: &str,
    ) -> Result<Vec<(Nanos, Vec<u8>)>, Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let dev = w.dev_get_by_name(ns, name)?;
        Ok(w.tun_do_read(dev))
    }
}
