//! Routing: which device and next hop a packet for a destination leaves
//! by, and with which source address (`net/ipv4/route.c`,
//! `ip_route_output_key()`; `net/ipv4/fib_trie.c` for the lookup).
//!
//! Destinations that are this namespace's own addresses (and all of
//! 127.0.0.0/8) match the *local* table first and leave by `lo`, as on
//! Linux, where `ip route show table local` lists them. Everything else is
//! a longest-prefix match in the main table.
//!
//! The tables can also be listed as the kernel dumps them for `ip route`
//! and rtnetlink (`inet_dump_fib()` → `fib_table_dump()`): the main table
//! (254) and then the local table (255), each in the trie's order, by
//! destination and, for one destination, longest prefix first. The local
//! table is derived from the addresses, as `fib_add_ifaddr()` fills it: a
//! `local` route for each address (kept while its device is down), and,
//! while the device is up, a `broadcast` route for its subnet's broadcast
//! address and, on a loopback device, a `local` route for the whole prefix.
//!
//! Simplified: one main table searched linearly (a trie in the kernel), no
//! policy rules, no metrics, no route cache; the local table is not kept
//! but computed from the addresses when it is listed.

use std::net::IpAddr;

use crate::kernel::ids::DevId;
use crate::uapi::errno::Errno;

/// One route in the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination prefix.
    pub dst: IpAddr,
    /// The prefix length.
    pub prefix: u8,
    /// Output device.
    pub dev: DevId,
    /// Gateway, if the destination is not on the link.
    pub via: Option<IpAddr>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// Set for routes the kernel adds with an address (`proto kernel`).
    pub kernel: bool,
}

/// The main routing table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fib {
    pub(crate) routes: Vec<Route>,
}

/// The result of a route lookup (`struct rtable` reduced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteResult {
    pub(crate) dev: DevId,
    /// The address the neighbour layer resolves: the gateway or the
    /// destination itself.
    pub(crate) nexthop: IpAddr,
    pub(crate) src: IpAddr,
    /// Delivered to this host (`RTN_LOCAL`).
    pub(crate) local: bool,
    /// The device can gather a packet from page fragments (`NETIF_F_SG`):
    /// loopback can; a simulated NIC only if its link was configured with
    /// scatter-gather.
    pub(crate) dev_sg: bool,
}

/// True when `addr` lies in `net/prefix`.
pub(crate) fn in_prefix(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix.min(32))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix.min(128) as u32)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Fib {
    /// Longest-prefix match; among equal prefixes the first added wins.
    pub(crate) fn lookup(&self, daddr: IpAddr) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| in_prefix(daddr, r.dst, r.prefix))
            .fold(None, |best: Option<&Route>, r| match best {
                Some(b) if b.prefix >= r.prefix => Some(b),
                _ => Some(r),
            })
    }

    /// `ip route add`: refuses an exact duplicate with `EEXIST`.
    pub(crate) fn add(&mut self, r: Route) -> Result<(), Errno> {
        if self
            .routes
            .iter()
            .any(|x| x.dst == r.dst && x.prefix == r.prefix)
        {
            return Err(Errno::EEXIST);
        }
        self.routes.push(r);
        Ok(())
    }
}

/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u8 = 254;
/// `RT_TABLE_LOCAL`.
pub const RT_TABLE_LOCAL: u8 = 255;
/// `RTN_UNICAST`.
pub const RTN_UNICAST: u8 = 1;
/// `RTN_LOCAL`.
pub const RTN_LOCAL: u8 = 2;
/// `RTN_BROADCAST`.
pub const RTN_BROADCAST: u8 = 3;
/// `RTPROT_KERNEL`: installed by the kernel for an address.
pub const RTPROT_KERNEL: u8 = 2;
/// `RTPROT_BOOT`: installed by `ip route add` without a `proto`.
pub const RTPROT_BOOT: u8 = 3;
/// `RT_SCOPE_UNIVERSE`.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_LINK`.
pub const RT_SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_HOST`.
pub const RT_SCOPE_HOST: u8 = 254;

/// One route as `fib_dump_info()` describes it (`struct rtmsg` and its
/// attributes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FibEntry {
    pub(crate) table: u8,
    pub(crate) rtype: u8,
    pub(crate) proto: u8,
    pub(crate) scope: u8,
    pub(crate) dst: IpAddr,
    pub(crate) prefix: u8,
    pub(crate) gateway: Option<IpAddr>,
    pub(crate) prefsrc: Option<IpAddr>,
    pub(crate) oif: DevId,
    /// `RTNH_F_LINKDOWN`: the device has no carrier.
    pub(crate) linkdown: bool,
}

impl crate::kernel::world::World {
    /// `inet_dump_fib()` for one address family: the main table, then
    /// (IPv4) the local table, each in trie order.
    pub(crate) fn fib_dump(&self, ns: crate::kernel::ids::NetNsId, v6: bool) -> Vec<FibEntry> {
        let key = |e: &FibEntry| (e.dst, std::cmp::Reverse(e.prefix));
        let mut main: Vec<FibEntry> = self
            .ns(ns)
            .fib
            .routes
            .iter()
            .filter(|r| r.dst.is_ipv6() == v6)
            .map(|r| FibEntry {
                table: RT_TABLE_MAIN,
                rtype: RTN_UNICAST,
                proto: if r.kernel { RTPROT_KERNEL } else { RTPROT_BOOT },
                scope: if r.via.is_none() && r.kernel {
                    RT_SCOPE_LINK
                } else {
                    RT_SCOPE_UNIVERSE
                },
                dst: r.dst,
                prefix: r.prefix,
                gateway: r.via,
                prefsrc: r.src,
                oif: r.dev,
                linkdown: !self.carrier_ok(r.dev),
            })
            .collect();
        main.sort_by_key(key);
        if v6 {
            return main;
        }
        let mut local: Vec<FibEntry> = Vec::new();
        for &d in &self.ns(ns).devs {
            let dev = self.dev(d);
            for a in &dev.addrs {
                let IpAddr::V4(addr) = a.addr else { continue };
                let entry = |rtype, scope, dst: IpAddr, prefix| FibEntry {
                    table: RT_TABLE_LOCAL,
                    rtype,
                    proto: RTPROT_KERNEL,
                    scope,
                    dst,
                    prefix,
                    gateway: None,
                    prefsrc: Some(a.addr),
                    oif: d,
                    linkdown: rtype == RTN_BROADCAST && !self.carrier_ok(d),
                };
                local.push(entry(RTN_LOCAL, RT_SCOPE_HOST, a.addr, 32));
                if !dev.up || a.prefix >= 31 {
                    continue;
                }
                let mask = u32::MAX.checked_shl(32 - a.prefix as u32).unwrap_or(0);
                let net = u32::from(addr) & mask;
                if dev.is_loopback() {
                    let dst = IpAddr::V4(net.into());
                    local.push(entry(RTN_LOCAL, RT_SCOPE_HOST, dst, a.prefix));
                }
                let brd = IpAddr::V4((net | !mask).into());
                local.push(entry(RTN_BROADCAST, RT_SCOPE_LINK, brd, 32));
            }
        }
        local.sort_by_key(key);
        local.dedup_by(|a, b| a.dst == b.dst && a.prefix == b.prefix && a.rtype == b.rtype);
        main.extend(local);
        main
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, prefix: u8, dev: u32) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            prefix,
            dev: DevId(dev),
            via: None,
            src: None,
            kernel: false,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut fib = Fib::default();
        fib.add(route("0.0.0.0", 0, 1)).unwrap();
        fib.add(route("10.0.0.0", 8, 2)).unwrap();
        fib.add(route("10.1.0.0", 16, 3)).unwrap();
        let dev = |a: &str| fib.lookup(a.parse().unwrap()).map(|r| r.dev.0);
        assert_eq!(dev("10.1.2.3"), Some(3));
        assert_eq!(dev("10.2.0.1"), Some(2));
        assert_eq!(dev("192.168.0.1"), Some(1));
        assert_eq!(dev("::1"), None);
        assert_eq!(fib.add(route("10.0.0.0", 8, 9)), Err(Errno::EEXIST));
    }

    #[test]
    fn prefixes() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_prefix(a("10.0.0.7"), a("10.0.0.0"), 24));
        assert!(!in_prefix(a("10.0.1.7"), a("10.0.0.0"), 24));
        assert!(in_prefix(a("1.2.3.4"), a("0.0.0.0"), 0));
        assert!(in_prefix(a("fd00::1"), a("fd00::"), 64));
        assert!(!in_prefix(a("fd01::1"), a("fd00::"), 64));
    }
}
