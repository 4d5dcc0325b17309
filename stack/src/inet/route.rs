//! Routing: which device and next hop a packet for a destination leaves
//! by, and with which source address (`net/ipv4/route.c`,
//! `ip_route_output_key()`; `net/ipv4/fib_trie.c` for the lookup).
//!
//! Destinations that are this namespace's own addresses (and all of
//! 127.0.0.0/8) match the *local* table first and leave by `lo`, as on
//! Linux, where `ip route show table local` lists them. Everything else is
//! a longest-prefix match in the main table.
//!
//! Simplified: one main table searched linearly (a trie in the kernel), no
//! policy rules, no metrics, no route cache.

use std::net::IpAddr;

use crate::errno::Errno;
use crate::ids::DevId;

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
