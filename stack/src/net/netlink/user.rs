//! The user's side of rtnetlink: what a C program does with
//! `struct nlmsghdr`, `struct ifinfomsg`, `struct rtmsg` and the `RTA_*`
//! macros, for programs written against the simulation (and for tests that
//! read the real kernel's answers the same way).
//!
//! [`dump_request`] builds a dump request; [`parse`] turns the datagrams
//! that come back into [`Reply`] values; [`Link::ip_link_row`] and
//! [`Route::ip_route_row`] hand them to the formatters of
//! [`crate::observe::tools`], so they print the way `ip link` and `ip route` print
//! them (iproute2's `print_linkinfo()` and `print_route()` do the same with
//! the same bytes).
//!
//! Not kernel code: the user-space half of netlink (what iproute2's `libnetlink`
//! does), beside the kernel half it talks to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::observe::tools::{IfStatsRow, RouteRow};

/// A dump request: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_DUMP`) followed by
/// the family header `RTM_GETLINK` (`struct ifinfomsg`, 16 bytes),
/// `RTM_GETADDR` (`struct ifaddrmsg`, 8) or `RTM_GETROUTE` (`struct
/// rtmsg`, 12) takes, with only the family set.
pub fn dump_request(ty: u16, family: u8, seq: u32) -> Vec<u8> {
    let len = match ty {
        RTM_GETLINK => 16,
        RTM_GETADDR => 8,
        _ => 12,
    };
    let mut body = vec![0u8; len];
    body[0] = family;
    let mut m = NlMsg::new(ty, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
    m.put(&body);
    m.finish()
}

/// One device, from `RTM_NEWLINK`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// `ifi_index`.
    pub ifindex: i32,
    /// `ifi_type` (`ARPHRD_*`).
    pub link_type: u16,
    /// `ifi_flags` (`IFF_*`).
    pub flags: u32,
    /// `IFLA_IFNAME`.
    pub name: String,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_MIN_MTU`.
    pub min_mtu: Option<u32>,
    /// `IFLA_MAX_MTU`.
    pub max_mtu: Option<u32>,
    /// `IFLA_TXQLEN`.
    pub txqlen: Option<u32>,
    /// `IFLA_OPERSTATE` (`IF_OPER_*`).
    pub operstate: Option<u8>,
    /// `IFLA_LINKMODE`.
    pub linkmode: Option<u8>,
    /// `IFLA_GROUP`.
    pub group: Option<u32>,
    /// `IFLA_PROMISCUITY`.
    pub promiscuity: Option<u32>,
    /// `IFLA_ALLMULTI`.
    pub allmulti: Option<u32>,
    /// `IFLA_CARRIER`.
    pub carrier: Option<u8>,
    /// `IFLA_MASTER`.
    pub master: Option<u32>,
    /// `IFLA_ADDRESS`.
    pub address: Option<Vec<u8>>,
    /// `IFLA_BROADCAST`.
    pub broadcast: Option<Vec<u8>>,
    /// `IFLA_LINK`.
    pub link: Option<u32>,
    /// `IFLA_LINK_NETNSID`.
    pub link_netnsid: Option<i32>,
    /// `IFLA_QDISC`.
    pub qdisc: Option<String>,
    /// `IFLA_INFO_KIND` inside `IFLA_LINKINFO`.
    pub kind: Option<String>,
    /// `IFLA_INFO_SLAVE_KIND` inside `IFLA_LINKINFO`.
    pub slave_kind: Option<String>,
    /// `rx_packets`, `tx_packets`, `rx_bytes`, `tx_bytes` of `IFLA_STATS64`.
    pub stats: Option<[u64; 4]>,
    /// Every attribute type, in the order they came.
    pub attr_types: Vec<u16>,
}

/// One address, from `RTM_NEWADDR`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addr {
    /// `ifa_family`.
    pub family: u8,
    /// `ifa_prefixlen`.
    pub prefix: u8,
    /// `ifa_flags`.
    pub flags: u8,
    /// `ifa_scope`.
    pub scope: u8,
    /// `ifa_index`.
    pub ifindex: u32,
    /// `IFA_ADDRESS`.
    pub address: Option<IpAddr>,
    /// `IFA_LOCAL`.
    pub local: Option<IpAddr>,
    /// `IFA_LABEL`.
    pub label: Option<String>,
    /// `IFA_FLAGS`.
    pub ifa_flags: Option<u32>,
    /// Every attribute type, in the order they came.
    pub attr_types: Vec<u16>,
}

/// One route, from `RTM_NEWROUTE`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// `rtm_family`.
    pub family: u8,
    /// `rtm_dst_len`.
    pub dst_len: u8,
    /// `rtm_table`.
    pub table: u8,
    /// `rtm_protocol`.
    pub protocol: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// `rtm_type`.
    pub rtype: u8,
    /// `rtm_flags`.
    pub flags: u32,
    /// `RTA_TABLE`.
    pub table_attr: Option<u32>,
    /// `RTA_DST`.
    pub dst: Option<IpAddr>,
    /// `RTA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `RTA_PREFSRC`.
    pub prefsrc: Option<IpAddr>,
    /// `RTA_OIF`.
    pub oif: Option<u32>,
    /// Every attribute type, in the order they came.
    pub attr_types: Vec<u16>,
}

/// One message of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `RTM_NEWLINK`.
    Link(Link),
    /// `RTM_NEWADDR`.
    Addr(Addr),
    /// `RTM_NEWROUTE`.
    Route(Route),
    /// `NLMSG_DONE`: the dump is complete.
    Done,
    /// `NLMSG_ERROR`: the error (negative errno, 0 for an
    /// acknowledgement), with the header of the request it answers.
    Error {
        /// The error, as the kernel puts it (`-EOPNOTSUPP` is -95).
        error: i32,
        /// The request's header.
        request: Option<NlMsgHdr>,
    },
    /// Any other type.
    Other(u16),
}

fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn str_of(v: &[u8]) -> String {
    String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or(v)).into_owned()
}

fn ip_of(v: &[u8]) -> Option<IpAddr> {
    match v.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        16 => {
            let b: [u8; 16] = v.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

impl Link {
    /// Reads the payload of an `RTM_NEWLINK` (after the `nlmsghdr`).
    pub fn parse(p: &[u8]) -> Option<Link> {
        let head = p.get(..16)?;
        let mut l = Link {
            link_type: u16::from_ne_bytes([head[2], head[3]]),
            ifindex: i32::from_ne_bytes(head[4..8].try_into().ok()?),
            flags: u32::from_ne_bytes(head[8..12].try_into().ok()?),
            ..Link::default()
        };
        for (t, v) in attrs(&p[16..]) {
            l.attr_types.push(t);
            match t {
                IFLA_IFNAME => l.name = str_of(v),
                IFLA_MTU => l.mtu = u32_of(v),
                IFLA_MIN_MTU => l.min_mtu = u32_of(v),
                IFLA_MAX_MTU => l.max_mtu = u32_of(v),
                IFLA_TXQLEN => l.txqlen = u32_of(v),
                IFLA_OPERSTATE => l.operstate = v.first().copied(),
                IFLA_LINKMODE => l.linkmode = v.first().copied(),
                IFLA_GROUP => l.group = u32_of(v),
                IFLA_PROMISCUITY => l.promiscuity = u32_of(v),
                IFLA_ALLMULTI => l.allmulti = u32_of(v),
                IFLA_CARRIER => l.carrier = v.first().copied(),
                IFLA_MASTER => l.master = u32_of(v),
                IFLA_ADDRESS => l.address = Some(v.to_vec()),
                IFLA_BROADCAST => l.broadcast = Some(v.to_vec()),
                IFLA_LINK => l.link = u32_of(v),
                IFLA_LINK_NETNSID => l.link_netnsid = u32_of(v).map(|x| x as i32),
                IFLA_QDISC => l.qdisc = Some(str_of(v)),
                IFLA_STATS64 if v.len() >= 32 => {
                    let n = |i: usize| {
                        u64::from_ne_bytes(v[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
                    };
                    l.stats = Some([n(0), n(1), n(2), n(3)]);
                }
                IFLA_LINKINFO => {
                    for (it, iv) in attrs(v) {
                        match it {
                            IFLA_INFO_KIND => l.kind = Some(str_of(iv)),
                            IFLA_INFO_SLAVE_KIND => l.slave_kind = Some(str_of(iv)),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Some(l)
    }

    /// The device as `ip link` shows it. `name_of` turns an ifindex of
    /// this namespace into a name (for `@peer` and `master`); a link
    /// partner in another namespace shows as `@ifN` and `link-netnsid N`,
    /// which is what `ip` prints when it cannot name the namespace.
    pub fn ip_link_row(&self, name_of: &dyn Fn(u32) -> Option<String>) -> IfStatsRow {
        use crate::net::core::operstate::*;
        let mut flags = Vec::new();
        if self.flags & IFF_UP != 0 && self.flags & IFF_RUNNING == 0 {
            flags.push("NO-CARRIER");
        }
        for (bit, name) in [
            (IFF_LOOPBACK, "LOOPBACK"),
            (IFF_BROADCAST, "BROADCAST"),
            (IFF_MULTICAST, "MULTICAST"),
            (IFF_UP, "UP"),
            (IFF_LOWER_UP, "LOWER_UP"),
        ] {
            if self.flags & bit != 0 {
                flags.push(name);
            }
        }
        let mut name = self.name.clone();
        let mut link_netns = None;
        if let Some(link) = self.link.filter(|&l| l != 0 && l as i32 != self.ifindex) {
            match self.link_netnsid {
                Some(id) => {
                    name = format!("{name}@if{link}");
                    link_netns = Some(format!("link-netnsid {id}"));
                }
                None => name = format!("{name}@{}", name_of(link).unwrap_or_default()),
            }
        }
        let mac = |v: &Option<Vec<u8>>| {
            v.as_deref()
                .map(|b| {
                    b.iter()
                        .map(|x| format!("{x:02x}"))
                        .collect::<Vec<_>>()
                        .join(":")
                })
                .unwrap_or_default()
        };
        let state = match self.operstate {
            Some(0) => "UNKNOWN",
            Some(2) => "DOWN",
            Some(3) => "LOWERLAYERDOWN",
            Some(6) => "UP",
            _ => "UNKNOWN",
        };
        IfStatsRow {
            ifindex: self.ifindex as u32,
            name,
            flags,
            mtu: self.mtu.unwrap_or(0),
            qdisc: self.qdisc.clone().unwrap_or_default(),
            state: state.into(),
            qlen: self.txqlen.unwrap_or(0),
            link_type: if self.link_type == ARPHRD_LOOPBACK {
                "loopback"
            } else {
                "ether"
            }
            .into(),
            mac: mac(&self.address),
            brd: mac(&self.broadcast),
            master: self.master.and_then(name_of),
            link_netns,
            ..IfStatsRow::default()
        }
    }
}

impl Addr {
    /// Reads the payload of an `RTM_NEWADDR`.
    pub fn parse(p: &[u8]) -> Option<Addr> {
        let head = p.get(..8)?;
        let mut a = Addr {
            family: head[0],
            prefix: head[1],
            flags: head[2],
            scope: head[3],
            ifindex: u32::from_ne_bytes(head[4..8].try_into().ok()?),
            ..Addr::default()
        };
        for (t, v) in attrs(&p[8..]) {
            a.attr_types.push(t);
            match t {
                IFA_ADDRESS => a.address = ip_of(v),
                IFA_LOCAL => a.local = ip_of(v),
                IFA_LABEL => a.label = Some(str_of(v)),
                IFA_FLAGS => a.ifa_flags = u32_of(v),
                _ => {}
            }
        }
        Some(a)
    }
}

impl Route {
    /// Reads the payload of an `RTM_NEWROUTE`.
    pub fn parse(p: &[u8]) -> Option<Route> {
        let head = p.get(..12)?;
        let mut r = Route {
            family: head[0],
            dst_len: head[1],
            table: head[4],
            protocol: head[5],
            scope: head[6],
            rtype: head[7],
            flags: u32::from_ne_bytes(head[8..12].try_into().ok()?),
            ..Route::default()
        };
        for (t, v) in attrs(&p[12..]) {
            r.attr_types.push(t);
            match t {
                RTA_TABLE => r.table_attr = u32_of(v),
                RTA_DST => r.dst = ip_of(v),
                RTA_GATEWAY => r.gateway = ip_of(v),
                RTA_PREFSRC => r.prefsrc = ip_of(v),
                RTA_OIF => r.oif = u32_of(v),
                _ => {}
            }
        }
        Some(r)
    }

    /// The route as `ip route` shows it (`print_route()`); `name_of` names
    /// the output device.
    pub fn ip_route_row(&self, name_of: &dyn Fn(u32) -> Option<String>) -> RouteRow {
        use crate::net::ipv4::route::*;
        let any = if self.family == 10 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        RouteRow {
            route_type: match self.rtype {
                RTN_LOCAL => Some("local".into()),
                RTN_BROADCAST => Some("broadcast".into()),
                _ => None,
            },
            dst: (self.dst_len > 0 || self.table != RT_TABLE_MAIN)
                .then(|| (self.dst.unwrap_or(any), self.dst_len)),
            via: self.gateway,
            dev: self.oif.and_then(name_of),
            proto: match self.protocol {
                RTPROT_KERNEL => Some("kernel".into()),
                RTPROT_BOOT => None,
                p => Some(p.to_string()),
            },
            scope: match self.scope {
                RT_SCOPE_LINK => Some("link".into()),
                RT_SCOPE_HOST => Some("host".into()),
                _ => None,
            },
            src: self.prefsrc,
            linkdown: self.flags & RTNH_F_LINKDOWN != 0,
            ..RouteRow::default()
        }
    }
}

/// Every message in a datagram the kernel sent.
pub fn parse(buf: &[u8]) -> Vec<Reply> {
    messages(buf)
        .into_iter()
        .map(|(h, p)| match h.ty {
            RTM_NEWLINK => Link::parse(p).map_or(Reply::Other(h.ty), Reply::Link),
            RTM_NEWADDR => Addr::parse(p).map_or(Reply::Other(h.ty), Reply::Addr),
            RTM_NEWROUTE => Route::parse(p).map_or(Reply::Other(h.ty), Reply::Route),
            NLMSG_DONE => Reply::Done,
            NLMSG_ERROR => Reply::Error {
                error: p
                    .get(..4)
                    .map_or(0, |e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]])),
                request: p.get(4..).and_then(NlMsgHdr::parse),
            },
            other => Reply::Other(other),
        })
        .collect()
}
