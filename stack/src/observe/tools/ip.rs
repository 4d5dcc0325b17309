//! `ip link`, `ip -s link`, `ip addr`, `ip neigh` and `ip route`
//! (iproute2 6.1).
//!
//! The kernel answers these over rtnetlink: `rtnl_fill_ifinfo()` in
//! net/core/rtnetlink.c (with `struct rtnl_link_stats64` from
//! `dev_get_stats()`), `neigh_fill_info()` in net/core/neighbour.c, and
//! `fib_dump_info()` in net/ipv4/fib_semantics.c (`rt6_fill_node()` for
//! IPv6). The text is iproute2's: `print_linkinfo()` and `print_stats64()`
//! in ip/ipaddress.c (`print_addrinfo()` for `ip addr`), `print_neigh()` in
//! ip/ipneigh.c, `print_route()` in
//! ip/iproute.c. Most fields are printed as `"name value "`, so many lines
//! end in a space.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{IfStatsRow, ntop};

/// `print_link_flags()` prints the flags it knows in this order, whatever
/// their bit order.
const FLAG_ORDER: [&str; 18] = [
    "LOOPBACK",
    "BROADCAST",
    "POINTOPOINT",
    "MULTICAST",
    "NOARP",
    "ALLMULTI",
    "PROMISC",
    "MASTER",
    "SLAVE",
    "DEBUG",
    "DYNAMIC",
    "AUTOMEDIA",
    "PORTSEL",
    "NOTRAILERS",
    "UP",
    "LOWER_UP",
    "DORMANT",
    "ECHO",
];

fn link_flags(flags: &[&'static str]) -> String {
    let mut names: Vec<&str> = Vec::new();
    // Reported when the device is up but has no carrier (IFF_RUNNING off).
    if flags.contains(&"NO-CARRIER") {
        names.push("NO-CARRIER");
    }
    names.extend(FLAG_ORDER.iter().copied().filter(|f| flags.contains(f)));
    names.extend(
        flags
            .iter()
            .copied()
            .filter(|f| *f != "NO-CARRIER" && !FLAG_ORDER.contains(f)),
    );
    names.join(",")
}

/// Digits of `v`, as `size_columns()` counts them.
fn digits(mut v: u64) -> usize {
    let mut len = 1;
    while v > 9 {
        len += 1;
        v /= 10;
    }
    len
}

/// The two lines `print_linkinfo()` starts every device with. `ip link`
/// (`do_link`) prints the link mode, `ip addr` does not.
fn link_head(out: &mut String, r: &IfStatsRow, do_link: bool) {
    let _ = write!(
        out,
        "{}: {}: <{}> mtu {} qdisc {} ",
        r.ifindex,
        r.name,
        link_flags(&r.flags),
        r.mtu,
        r.qdisc,
    );
    if let Some(m) = &r.master {
        let _ = write!(out, "master {m} ");
    }
    let _ = write!(out, "state {} ", r.state);
    if do_link {
        out.push_str("mode DEFAULT ");
    }
    out.push_str("group default ");
    if r.qlen != 0 {
        let _ = write!(out, "qlen {}", r.qlen);
    }
    let _ = write!(out, "\n    link/{} ", r.link_type);
    if !r.mac.is_empty() {
        out.push_str(&r.mac);
    }
    if !r.brd.is_empty() {
        let _ = write!(out, " brd {}", r.brd);
    }
    if let Some(n) = &r.link_netns {
        let _ = write!(out, " {n}");
    }
    out.push('\n');
}

/// What `ip link` prints for these devices.
pub fn ip_link(rows: &[IfStatsRow]) -> String {
    let mut out = String::new();
    for r in rows {
        link_head(&mut out, r, true);
    }
    out
}

/// One address for [`ip_addr`] (`struct ifaddrmsg` and its attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrRow {
    /// The interface's index.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Broadcast address, if one was set (`brd`).
    pub brd: Option<IpAddr>,
    /// `host`, `link` or `global`.
    pub scope: String,
    /// The IPv4 label (the device name unless set); IPv6 has none.
    pub label: Option<String>,
}

/// What `ip addr` prints: each device's link lines followed by its
/// addresses, IPv4 first, each with its (here always infinite) lifetimes.
pub fn ip_addr(links: &[IfStatsRow], addrs: &[AddrRow]) -> String {
    let mut out = String::new();
    for r in links {
        link_head(&mut out, r, false);
        let mine = addrs.iter().filter(|a| a.ifindex == r.ifindex);
        let (v4, v6): (Vec<&AddrRow>, Vec<&AddrRow>) = mine.partition(|a| a.addr.is_ipv4());
        for a in v4.into_iter().chain(v6) {
            let family = if a.addr.is_ipv4() { "inet" } else { "inet6" };
            let _ = write!(out, "    {family} {}/{} ", ntop(&a.addr), a.prefix);
            if let Some(b) = &a.brd {
                let _ = write!(out, "brd {} ", ntop(b));
            }
            let _ = write!(out, "scope {} ", a.scope);
            if let Some(l) = &a.label {
                out.push_str(l);
            }
            out.push_str("\n       valid_lft forever preferred_lft forever\n");
        }
    }
    out
}

/// What `ip -s link` prints for these devices: for each, the link line, the
/// `link/` line, and RX and TX counter tables whose columns widen to fit
/// the largest number (shared between RX and TX).
pub fn ip_s_link(rows: &[IfStatsRow]) -> String {
    let mut out = String::new();
    for r in rows {
        link_head(&mut out, r, true);

        // Minimum widths are the longest header word of each column across
        // every table ip can print ("*X errors:", "packets", … "compressed").
        let mut cols = [10usize, 7, 6, 7, 7, 7, 10];
        let rx = [
            r.rx_bytes,
            r.rx_packets,
            r.rx_errors,
            r.rx_dropped,
            r.rx_missed,
            r.rx_mcast,
        ];
        let tx = [
            r.tx_bytes,
            r.tx_packets,
            r.tx_errors,
            r.tx_dropped,
            r.tx_carrier,
            r.tx_collisions,
        ];
        for (i, v) in rx.iter().chain(tx.iter()).enumerate() {
            let c = &mut cols[i % 6];
            *c = (*c).max(digits(*v));
        }
        for (label, names, values) in [
            (
                "RX",
                ["bytes", "packets", "errors", "dropped", "missed", "mcast"],
                rx,
            ),
            (
                "TX",
                [
                    "bytes", "packets", "errors", "dropped", "carrier", "collsns",
                ],
                tx,
            ),
        ] {
            let _ = write!(out, "    {label}: {:>w$}", names[0], w = cols[0] - 4);
            for (name, w) in names.iter().zip(cols.iter()).skip(1) {
                let _ = write!(out, " {name:>w$}");
            }
            // The empty "compressed" heading is still padded out.
            let _ = writeln!(out, " {:>w$}", "", w = cols[6]);
            out.push_str("    ");
            for (v, w) in values.iter().zip(cols.iter()) {
                let _ = write!(out, "{v:>w$} ");
            }
            out.push('\n');
        }
    }
    out
}

/// Neighbour (ARP/NDP) entry state, `NUD_*` in include/uapi/linux/neighbour.h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudState {
    /// Resolution in progress; no link-layer address yet.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Valid but unconfirmed; will be checked on next use.
    Stale,
    /// Waiting before probing.
    Delay,
    /// Sending unicast probes.
    Probe,
    /// Resolution failed.
    Failed,
    /// No resolution needed (e.g. on a NOARP device).
    Noarp,
    /// Added by hand.
    Permanent,
}

impl NudState {
    pub fn name(self) -> &'static str {
        match self {
            NudState::Incomplete => "INCOMPLETE",
            NudState::Reachable => "REACHABLE",
            NudState::Stale => "STALE",
            NudState::Delay => "DELAY",
            NudState::Probe => "PROBE",
            NudState::Failed => "FAILED",
            NudState::Noarp => "NOARP",
            NudState::Permanent => "PERMANENT",
        }
    }
}

/// One neighbour-table entry for [`ip_neigh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighRow {
    /// The neighbour's IP address.
    pub dst: IpAddr,
    /// Device it was resolved on.
    pub dev: String,
    /// Link-layer address as text, once known.
    pub lladdr: Option<String>,
    /// `NTF_ROUTER`: the neighbour said it is an IPv6 router.
    pub router: bool,
    /// State.
    pub state: NudState,
}

/// What `ip neigh` prints for these entries, e.g.
/// `10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE ` (every field,
/// the state included, is followed by a space).
pub fn ip_neigh(rows: &[NeighRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let _ = write!(out, "{} dev {} ", ntop(&r.dst), r.dev);
        if let Some(ll) = &r.lladdr {
            let _ = write!(out, "lladdr {ll} ");
        }
        if r.router {
            out.push_str("router ");
        }
        let _ = writeln!(out, "{} ", r.state.name());
    }
    out
}

/// One route for [`ip_route`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRow {
    /// Route type when not `unicast` (`local`, `broadcast`, `unreachable`,
    /// `blackhole` …), which ip prints first.
    pub route_type: Option<String>,
    /// Destination prefix; `None` for the default route.
    pub dst: Option<(IpAddr, u8)>,
    /// Gateway.
    pub via: Option<IpAddr>,
    /// Output device.
    pub dev: Option<String>,
    /// Who installed it (`kernel`, `static`, `dhcp`, `ra` …); `None` for
    /// `boot`, the default, which ip does not print.
    pub proto: Option<String>,
    /// Scope when not `global` (`link`, `host`).
    pub scope: Option<String>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// Metric (priority); IPv4 routes the kernel adds have none.
    pub metric: Option<u32>,
    /// `RTNH_F_ONLINK`.
    pub onlink: bool,
    /// `RTNH_F_LINKDOWN`: the device has no carrier.
    pub linkdown: bool,
    /// IPv6 router preference (`low`, `medium`, `high`); IPv6 routes always
    /// carry one, IPv4 routes never.
    pub pref: Option<String>,
}

/// What `ip route` (or `ip -6 route`) prints for these routes, e.g.
/// `10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 `. Every
/// field ends in a space except `pref`, so IPv4 lines end in a space and
/// IPv6 lines do not.
pub fn ip_route(rows: &[RouteRow]) -> String {
    let mut out = String::new();
    for r in rows {
        if let Some(t) = &r.route_type {
            let _ = write!(out, "{t} ");
        }
        match r.dst {
            None => out.push_str("default "),
            Some((addr, len)) => {
                let host_len = if addr.is_ipv4() { 32 } else { 128 };
                if len == host_len {
                    let _ = write!(out, "{} ", ntop(&addr));
                } else {
                    let _ = write!(out, "{}/{len} ", ntop(&addr));
                }
            }
        }
        if let Some(via) = &r.via {
            let _ = write!(out, "via {} ", ntop(via));
        }
        if let Some(dev) = &r.dev {
            let _ = write!(out, "dev {dev} ");
        }
        if let Some(proto) = &r.proto {
            let _ = write!(out, "proto {proto} ");
        }
        if let Some(scope) = &r.scope {
            let _ = write!(out, "scope {scope} ");
        }
        if let Some(src) = &r.src {
            let _ = write!(out, "src {} ", ntop(src));
        }
        if let Some(metric) = r.metric {
            let _ = write!(out, "metric {metric} ");
        }
        if r.onlink {
            out.push_str("onlink ");
        }
        if r.linkdown {
            out.push_str("linkdown ");
        }
        if let Some(pref) = &r.pref {
            let _ = write!(out, "pref {pref}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_block() {
        let lo = IfStatsRow {
            ifindex: 1,
            name: "lo".into(),
            flags: vec!["UP", "LOOPBACK", "LOWER_UP"],
            mtu: 65536,
            qdisc: "noqueue".into(),
            state: "UNKNOWN".into(),
            qlen: 1000,
            link_type: "loopback".into(),
            mac: "00:00:00:00:00:00".into(),
            brd: "00:00:00:00:00:00".into(),
            rx_bytes: 3193,
            rx_packets: 29,
            tx_bytes: 3193,
            tx_packets: 29,
            ..Default::default()
        };
        assert_eq!(
            ip_s_link(&[lo]),
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n\
             \x20   link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n\
             \x20   RX:  bytes packets errors dropped  missed   mcast           \n\
             \x20         3193      29      0       0       0       0 \n\
             \x20   TX:  bytes packets errors dropped carrier collsns           \n\
             \x20         3193      29      0       0       0       0 \n"
        );
    }

    #[test]
    fn neigh_and_routes() {
        let n = NeighRow {
            dst: "10.0.0.2".parse().unwrap(),
            dev: "eth0".into(),
            lladdr: Some("02:00:00:00:00:02".into()),
            router: false,
            state: NudState::Reachable,
        };
        assert_eq!(
            ip_neigh(&[n]),
            "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE \n"
        );
        let routes = [
            RouteRow {
                via: Some("10.0.0.254".parse().unwrap()),
                dev: Some("eth0".into()),
                ..Default::default()
            },
            RouteRow {
                dst: Some(("10.0.0.0".parse().unwrap(), 24)),
                dev: Some("eth0".into()),
                proto: Some("kernel".into()),
                scope: Some("link".into()),
                src: Some("10.0.0.1".parse().unwrap()),
                ..Default::default()
            },
        ];
        assert_eq!(
            ip_route(&routes),
            "default via 10.0.0.254 dev eth0 \n\
             10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n"
        );
    }
}
