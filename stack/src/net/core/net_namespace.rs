//! A network namespace, `struct net` (`include/net/net_namespace.h`,
//! `net/core/net_namespace.c`): its own devices (at least `lo`), addresses,
//! routes, neighbour table, socket tables, sysctls and SNMP counters. Every
//! host starts with one, `init_net`; `ip netns add NAME` makes more
//! (`copy_net_ns()` → `setup_net()`), which is what a container runtime does
//! for each container.
//!
//! A fresh namespace is empty but for a loopback device that is **down**
//! and has no address: `loopback_net_init()` registers `lo`, and only
//! bringing it up (`ip link set lo up`) adds 127.0.0.1/8 and ::1
//! (`inetdev_event(NETDEV_UP)`, `addrconf_notify()`). Until then a socket in
//! the namespace cannot reach 127.0.0.1 (`ENETUNREACH`). The simulation keeps
//! that rule: [`crate::sim::Sim::add_netns`] gives a namespace whose `lo` is down, and
//! the program brings it up with [`crate::sim::Sim::link_set_up`] or `sim.ip(ns, "link
//! set lo up")`, as a container runtime does.
//!
//! Its sysctls are those of a fresh `struct net`: most are the kernel's
//! compiled-in defaults (`tcp_sk_init()`, `inet_init_net()`,
//! `preinit_net_sysctl()` for `somaxconn`), whatever `init_net` was tuned to; `tcp_rmem` and
//! `tcp_wmem` are copied from `init_net` when the namespace is made
//! (`tcp_sk_init()`). `net.core.{r,w}mem_{default,max}` are global: a child
//! namespace shows `init_net`'s values read-only (writing them is `EACCES`,
//! as this machine's 6.18 kernel does), and the `net.core.netdev_*` and
//! `dev_weight` tunables exist only in `init_net` (`ENOENT` elsewhere).
//!
//! Sockets belong to the namespace of the process that created them: the
//! UDP, TCP, raw and netlink tables are per namespace, so the same port can
//! be bound in two namespaces and a socket never sees another namespace's
//! `127.0.0.1`.
//!
//! Simplified: a namespace cannot be deleted; devices cannot move between
//! namespaces after creation (a veth end is created directly in its
//! namespace, as `ip link add ... peer ... netns NAME` does).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::kernel::ids::{DevId, HostId, NetNsId};
use crate::kernel::world::World;
use crate::net::core::neighbour::NeighTable;
use crate::net::core::snmp::MibTable;
use crate::net::core::sysctl::Sysctls;
use crate::net::ipv4::route::Fib;
use crate::net::ipv4::udp::UdpTable;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;

/// `struct net`.
#[derive(Debug)]
pub(crate) struct NetNs {
    pub(crate) host: HostId,
    /// The name `ip netns add` gave it (a file in `/var/run/netns`);
    /// `None` for `init_net`.
    pub(crate) name: Option<String>,
    pub(crate) devs: Vec<DevId>,
    pub(crate) lo: DevId,
    pub(crate) sysctl: Sysctls,
    pub(crate) mib: MibTable,
    pub(crate) fib: Fib,
    pub(crate) neigh: NeighTable,
    pub(crate) udp: UdpTable,
    pub(crate) tcp: crate::net::ipv4::tcp::TcpTable,
    /// Raw IPv4 sockets (`raw_v4_hashinfo`), in creation order.
    pub(crate) raw: Vec<crate::kernel::ids::SockId>,
    /// Netlink sockets by port id (`nl_table[NETLINK_ROUTE]`).
    pub(crate) netlink: BTreeMap<u32, crate::kernel::ids::SockId>,
    /// The ids this namespace has given other namespaces (`netns_ids`,
    /// `peernet2id_alloc()`), which `IFLA_LINK_NETNSID` reports.
    pub(crate) nsids: BTreeMap<NetNsId, i32>,
    /// Bound abstract `AF_UNIX` names (`net->unx.table`).
    pub(crate) unix: crate::net::unix::UnixTable,
    /// The IPv4 identification counter for outgoing datagrams.
    pub(crate) ip_id: u16,
    /// Per-destination ICMP rate-limit buckets (`inet_peer_xrlim_allow`):
    /// tokens in nanoseconds and the instant they were last topped up.
    pub(crate) icmp_peers: BTreeMap<IpAddr, (Nanos, Nanos)>,
    /// IPv4 datagrams being reassembled (`netns_frags`).
    pub(crate) reasm:
        BTreeMap<crate::net::ipv4::ip_input::ReasmKey, crate::net::ipv4::ip_input::ReasmQueue>,
}

impl NetNs {
    /// An empty namespace (no devices yet) on `host`.
    pub(crate) fn new(host: HostId, name: Option<String>, sysctl: Sysctls) -> NetNs {
        NetNs {
            host,
            name,
            devs: Vec::new(),
            lo: DevId(0),
            sysctl,
            mib: Default::default(),
            fib: Default::default(),
            neigh: Default::default(),
            udp: Default::default(),
            tcp: Default::default(),
            raw: Vec::new(),
            netlink: BTreeMap::new(),
            nsids: BTreeMap::new(),
            unix: Default::default(),
            ip_id: 0,
            icmp_peers: Default::default(),
            reasm: Default::default(),
        }
    }
}

impl World {
    /// `copy_net_ns()` → `setup_net()`: a new namespace on `host` with a
    /// down, address-less `lo`. `EEXIST` if the host already has a
    /// namespace of that name (the file in `/var/run/netns` exists).
    pub(crate) fn copy_net_ns(&mut self, host: HostId, name: &str) -> Result<NetNsId, Errno> {
        if name.is_empty() || name.contains('/') {
            return Err(Errno::EINVAL);
        }
        if self.netns_by_name(host, name).is_some() {
            return Err(Errno::EEXIST);
        }
        let init = self.host(host).init_net;
        let sysctl = self.ns(init).sysctl.for_new_netns();
        let id = NetNsId(self.netns.len() as u32);
        self.netns
            .push(NetNs::new(host, Some(name.to_string()), sysctl));
        let lo = self.new_loopback(host, id);
        let d = self.dev_mut(lo);
        d.up = false;
        d.activated = false;
        Ok(id)
    }

    /// The namespace `ip netns` knows by this name on `host`.
    pub(crate) fn netns_by_name(&self, host: HostId, name: &str) -> Option<NetNsId> {
        (0..self.netns.len() as u32)
            .map(NetNsId)
            .find(|&n| self.ns(n).host == host && self.ns(n).name.as_deref() == Some(name))
    }

    /// `peernet2id_alloc()`: the id `ns` knows `peer` by, allocated on
    /// first use (the lowest free number, from 0).
    pub(crate) fn peernet2id_alloc(&mut self, ns: NetNsId, peer: NetNsId) -> i32 {
        if let Some(&id) = self.ns(ns).nsids.get(&peer) {
            return id;
        }
        let ids = &mut self.ns_mut(ns).nsids;
        let id = (0..).find(|i| !ids.values().any(|v| v == i)).unwrap_or(0);
        ids.insert(peer, id);
        id
    }

    /// `__dev_get_by_name()`: `ENODEV` if the namespace has no such device.
    pub(crate) fn dev_get_by_name(&self, ns: NetNsId, name: &str) -> Result<DevId, Errno> {
        self.ns(ns)
            .devs
            .iter()
            .copied()
            .find(|&d| self.dev(d).name == name)
            .ok_or(Errno::ENODEV)
    }

    /// `sysctl -n NAME` in a namespace: `ENOENT` for a tunable the
    /// namespace does not have.
    pub(crate) fn sysctl_get(&self, ns: NetNsId, name: &str) -> Result<String, Errno> {
        if !self.is_init_net(ns) && crate::net::core::sysctl::INIT_NET_ONLY.contains(&name) {
            return Err(Errno::ENOENT);
        }
        self.ns(ns).sysctl.get(name)
    }

    /// `sysctl -w NAME=VALUE` in a namespace. A global tunable written in
    /// `init_net` changes what every namespace of the host sees; written
    /// elsewhere it is `EACCES` (its `/proc/sys` file is read-only there).
    pub(crate) fn sysctl_set(&mut self, ns: NetNsId, name: &str, value: &str) -> Result<(), Errno> {
        let init = self.is_init_net(ns);
        if !init && crate::net::core::sysctl::INIT_NET_ONLY.contains(&name) {
            return Err(Errno::ENOENT);
        }
        if !crate::net::core::sysctl::GLOBAL.contains(&name) {
            return self.ns_mut(ns).sysctl.set(name, value);
        }
        if !init {
            return Err(Errno::EACCES);
        }
        self.ns_mut(ns).sysctl.set(name, value)?;
        let host = self.ns(ns).host;
        let global = self.ns(ns).sysctl.clone();
        for n in &mut self.netns {
            if n.host == host {
                n.sysctl.copy_global_from(&global);
            }
        }
        Ok(())
    }

    /// Whether this is its host's initial namespace.
    pub(crate) fn is_init_net(&self, ns: NetNsId) -> bool {
        self.host(self.ns(ns).host).init_net == ns
    }

    /// The namespace's name as `ip` prints it after `link-netns`.
    pub(crate) fn netns_name(&self, ns: NetNsId) -> Option<&str> {
        self.ns(ns).name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    /// A fresh namespace's `lo` is down and has no address; bringing it up
    /// adds 127.0.0.1/8 and ::1, as `inetdev_event()` and
    /// `addrconf_notify()` do.
    #[test]
    fn a_new_namespace_has_only_a_down_loopback() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        let ns = sim.add_netns(h, "ctr1").unwrap();
        assert_eq!(sim.add_netns(h, "ctr1"), Err(Errno::EEXIST));
        assert_eq!(
            sim.sh(ns, "ip addr"),
            "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000\n    \
             link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        );
        sim.link_set_up(ns, "lo").unwrap();
        let up = sim.sh(ns, "ip addr");
        assert!(up.contains("<LOOPBACK,UP,LOWER_UP>"), "{up}");
        assert!(up.contains("inet 127.0.0.1/8 scope host lo"), "{up}");
        assert!(up.contains("inet6 ::1/128 scope host "), "{up}");
        assert_eq!(sim.netns(h, "ctr1"), Some(ns));
        assert_ne!(sim.init_net(h), ns);
    }

    /// Tunables of a new namespace: defaults, not init_net's values, except
    /// the ones the kernel copies; the global ones are absent.
    #[test]
    fn a_new_namespace_gets_default_sysctls() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.sysctl(h, "net.core.somaxconn", "128").unwrap();
        sim.sysctl(h, "net.ipv4.tcp_rmem", "4096 65536 1000000")
            .unwrap();
        sim.sysctl(h, "net.core.rmem_max", "1000000").unwrap();
        let ns = sim.add_netns(h, "ctr1").unwrap();
        assert_eq!(sim.sysctl_get(ns, "net.core.somaxconn").unwrap(), "4096");
        assert_eq!(
            sim.sysctl_get(ns, "net.ipv4.tcp_rmem").unwrap(),
            "4096\t65536\t1000000"
        );
        assert_eq!(sim.sysctl_get(ns, "net.core.rmem_max").unwrap(), "1000000");
        assert_eq!(
            sim.sysctl(ns, "net.core.rmem_max", "5000"),
            Err(Errno::EACCES)
        );
        sim.sysctl(h, "net.core.rmem_max", "2000000").unwrap();
        assert_eq!(sim.sysctl_get(ns, "net.core.rmem_max").unwrap(), "2000000");
        assert_eq!(
            sim.sysctl_get(ns, "net.core.netdev_max_backlog"),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            sim.sysctl(ns, "net.core.netdev_max_backlog", "10"),
            Err(Errno::ENOENT)
        );
    }
}
