//! The configuring half of iproute2's `ip` command: the lines an
//! administrator (or a container runtime) types to build namespaces, veth
//! pairs, bridges, addresses and routes. Each becomes the change the kernel
//! makes for the rtnetlink request `ip` would send (`RTM_NEWLINK`,
//! `RTM_NEWADDR`, `RTM_NEWROUTE`), with the errno the kernel would answer.
//!
//! Understood, with an optional `-n NAME` before the object to act inside
//! namespace NAME (as `ip -n NAME` does):
//!
//! ```text
//! netns add NAME
//! link add NAME type veth peer name PEER [netns NS]
//! link add NAME type bridge
//! link set DEV up | down | master BR
//! addr add ADDR/PREFIX dev DEV
//! route add DST/PREFIX|default via GW
//! ```
//!
//! The views (`ip addr`, `ip link`, `ip route`, …) are in [`crate::observe::views`].

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::sim::InNetNs;
use crate::sim::Sim;
use crate::sim::topology::parse_cidr;
use crate::uapi::errno::Errno;

impl World {
    /// Runs one `ip` configuration command in namespace `ns`.
    pub(crate) fn ip_cmd(&mut self, ns: NetNsId, words: &[&str]) -> Result<(), Errno> {
        let host = self.ns(ns).host;
        match words {
            ["-n", name, rest @ ..] => {
                let inner = self.netns_by_name(host, name).ok_or(Errno::ENOENT)?;
                self.ip_cmd(inner, rest)
            }
            ["netns", "add", name] => self.copy_net_ns(host, name).map(|_| ()),
            [
                "link",
                "add",
                name,
                "type",
                "veth",
                "peer",
                "name",
                peer,
                rest @ ..,
            ] => {
                let peer_ns = match rest {
                    [] => ns,
                    ["netns", other] => self.netns_by_name(host, other).ok_or(Errno::ENOENT)?,
                    _ => return Err(Errno::EINVAL),
                };
                self.veth_newlink(ns, name, peer_ns, peer).map(|_| ())
            }
            ["link", "add", name, "type", "bridge"] => self.br_add_bridge(ns, name).map(|_| ()),
            ["link", "set", dev, "up"] | ["link", "set", "dev", dev, "up"] => {
                let d = self.dev_get_by_name(ns, dev)?;
                self.dev_open(d);
                Ok(())
            }
            ["link", "set", dev, "down"] | ["link", "set", "dev", dev, "down"] => {
                let d = self.dev_get_by_name(ns, dev)?;
                self.dev_close(d);
                Ok(())
            }
            ["link", "set", dev, "master", br] | ["link", "set", "dev", dev, "master", br] => {
                let d = self.dev_get_by_name(ns, dev)?;
                let b = self.dev_get_by_name(ns, br)?;
                self.br_add_if(b, d)
            }
            ["addr" | "address", "add", cidr, "dev", dev] => {
                let (addr, prefix) = parse_cidr(cidr)?;
                let d = self.dev_get_by_name(ns, dev)?;
                self.addr_add(d, addr, prefix)
            }
            ["route", "add", dst, "via", gw] => self.route_add_via(ns, dst, gw),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Sim {
    /// Runs an `ip` configuration command (see [`crate::sim::iproute2`]) on a
    /// host or in a namespace, e.g. `sim.ip(host, "link add br0 type
    /// bridge")`. `EINVAL` for a command it does not understand.
    pub fn ip(&mut self, at: impl InNetNs, cmd: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let words: Vec<&str> = cmd.split_whitespace().collect();
        self.world.borrow_mut().ip_cmd(ns, &words)
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    #[test]
    fn commands_build_a_topology_and_bad_ones_fail() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.ip(h, "netns add ctr1").unwrap();
        sim.ip(h, "link add veth1 type veth peer name eth0 netns ctr1")
            .unwrap();
        sim.ip(h, "-n ctr1 addr add 10.0.0.2/24 dev eth0").unwrap();
        sim.ip(h, "-n ctr1 link set eth0 up").unwrap();
        let ctr1 = sim.netns(h, "ctr1").unwrap();
        assert!(sim.sh(ctr1, "ip addr").contains("inet 10.0.0.2/24"));
        assert_eq!(sim.ip(h, "link set nope up"), Err(Errno::ENODEV));
        assert_eq!(sim.ip(h, "-n nope link set eth0 up"), Err(Errno::ENOENT));
        assert_eq!(
            sim.ip(h, "link add veth1 type veth peer name x"),
            Err(Errno::EEXIST)
        );
        assert_eq!(sim.ip(h, "fly away"), Err(Errno::EINVAL));
        assert_eq!(
            sim.ip(h, "link add averyveryverylongname type bridge"),
            Err(Errno::EINVAL)
        );
    }
}
