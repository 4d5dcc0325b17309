//! rtnetlink: the kernel's answers to `NETLINK_ROUTE` requests
//! (`net/core/rtnetlink.c`: `rtnetlink_rcv_msg()`, `rtnl_dump_ifinfo()`,
//! `rtnl_fill_ifinfo()`, `rtnl_getlink()`, `rtnl_dump_all()`;
//! `net/ipv4/devinet.c`: `inet_dump_ifaddr()`, `inet_fill_ifaddr()`;
//! `net/ipv6/addrconf.c`: `inet6_fill_ifaddr()`; `net/ipv4/fib_frontend.c`:
//! `inet_dump_fib()`, with `fib_dump_info()` from `fib_semantics.c`).
//!
//! Understood: `RTM_GETLINK` (a dump of every device of the caller's
//! namespace, or one device by index or name), `RTM_GETADDR` and
//! `RTM_GETROUTE` dumps (family `AF_INET`, `AF_INET6`, or any other value,
//! which like `AF_UNSPEC` means every family, IPv4 first, as
//! `rtnl_dump_all()` does). A type above `RTM_MAX`, or one with no handler
//! for its family, is `EOPNOTSUPP`, as in the kernel.
//!
//! Each message carries the attributes the simulation has values for, in
//! the kernel's order; the kernel sends more (queue counts, GSO limits,
//! `IFLA_AF_SPEC`, `IFLA_MAP`, …), so its messages are longer and a dump
//! datagram holds fewer of them.
//!
//! Simplified: requests that change things (`RTM_NEWLINK`, `RTM_NEWADDR`,
//! `RTM_NEWROUTE`, …) are not carried out: they get `EOPNOTSUPP` (the
//! configuration is made with [`crate::sim::iproute2`] instead); the IPv6 route
//! dump holds only the main table's IPv6 routes (the kernel's local and
//! multicast routes are not kept); address lifetimes are infinite and
//! their timestamps 0.
//!
//! The kernel keeps this in `net/core/rtnetlink.c`; here it sits beside
//! [`crate::net::netlink::af_netlink`], whose requests it answers.

use std::net::IpAddr;

use crate::kernel::ids::{DevId, NetNsId, SockId};
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;

use super::*;

/// `AF_INET`, as `rtgen_family` carries it.
const FAMILY_INET: u8 = 2;
/// `AF_INET6`.
const FAMILY_INET6: u8 = 10;

/// What became of one request.
enum Outcome {
    /// Handled; acknowledge if asked.
    Done,
    /// A dump started: no acknowledgement.
    Dump,
}

impl World {
    /// `netlink_rcv_skb()`: each message of a `sendmsg()` to the kernel in
    /// turn; a malformed length ends the walk silently.
    pub(crate) fn netlink_rcv_skb(&mut self, sk: SockId, buf: &[u8]) {
        for (h, payload) in messages(buf) {
            let result = if h.flags & NLM_F_REQUEST == 0 || h.ty < NLMSG_MIN_TYPE {
                Ok(Outcome::Done)
            } else {
                self.rtnetlink_rcv_msg(sk, &h, payload)
            };
            match result {
                Ok(Outcome::Dump) => {}
                Ok(Outcome::Done) if h.flags & NLM_F_ACK == 0 => {}
                Ok(Outcome::Done) => self.netlink_ack(sk, &h, payload, 0),
                Err(e) => self.netlink_ack(sk, &h, payload, -e.raw()),
            }
        }
    }

    /// `netlink_ack()`: `NLMSG_ERROR` with the (negative) error and the
    /// request's header, and its payload too when it failed.
    fn netlink_ack(&mut self, sk: SockId, h: &NlMsgHdr, payload: &[u8], err: i32) {
        let portid = self.sk(sk).netlink.as_deref().map_or(0, |n| n.portid);
        let flags = if err == 0 { NLM_F_CAPPED } else { 0 };
        let mut m = NlMsg::new(NLMSG_ERROR, flags, h.seq, portid);
        m.put(&err.to_ne_bytes()).put(&h.to_bytes());
        if err != 0 {
            m.put(payload);
        }
        let host = self.sk(sk).host;
        self.trace(host, Layer::Netlink, |_w| {
            if err == 0 {
                format!("netlink_ack: request type {} seq {} done", h.ty, h.seq)
            } else {
                let name = Errno::from_raw(-err).map_or("?", Errno::name);
                format!(
                    "netlink_ack: request type {} seq {} failed: {name}",
                    h.ty, h.seq
                )
            }
        });
        let bytes = m.finish();
        self.netlink_queue(sk, bytes, 0);
    }

    /// `rtnetlink_rcv_msg()`.
    fn rtnetlink_rcv_msg(
        &mut self,
        sk: SockId,
        h: &NlMsgHdr,
        payload: &[u8],
    ) -> Result<Outcome, Errno> {
        if h.ty > RTM_MAX {
            return Err(Errno::EOPNOTSUPP);
        }
        // "All the messages must have at least 1 byte length."
        let Some(&family) = payload.first() else {
            return Ok(Outcome::Done);
        };
        let ns = self.sk(sk).netns;
        let portid = self.sk(sk).netlink.as_deref().map_or(0, |n| n.portid);
        let dump = h.flags & NLM_F_DUMP == NLM_F_DUMP;
        let host = self.sk(sk).host;
        let msgs = match (h.ty, dump) {
            (RTM_GETLINK, true) => self.rtnl_dump_ifinfo(ns, h.seq, portid),
            (RTM_GETADDR, true) => self.inet_dump_ifaddr(ns, family, h.seq, portid),
            (RTM_GETROUTE, true) => self.inet_dump_fib(ns, family, h.seq, portid),
            (RTM_GETLINK, false) => return self.rtnl_getlink(sk, ns, h, payload),
            _ => return Err(Errno::EOPNOTSUPP),
        };
        self.trace(host, Layer::Netlink, |_w| {
            let what = match h.ty {
                RTM_GETLINK => "rtnl_dump_ifinfo",
                RTM_GETADDR => "inet_dump_ifaddr",
                _ => "inet_dump_fib",
            };
            format!(
                "rtnetlink_rcv_msg: type {} dump: {what}, {} message(s)",
                h.ty,
                msgs.len()
            )
        });
        self.netlink_dump_start(sk, msgs, h.seq);
        Ok(Outcome::Dump)
    }

    /// `rtnl_getlink()`: one device, by `ifi_index` or `IFLA_IFNAME`.
    fn rtnl_getlink(
        &mut self,
        sk: SockId,
        ns: NetNsId,
        h: &NlMsgHdr,
        payload: &[u8],
    ) -> Result<Outcome, Errno> {
        if payload.len() < 16 {
            return Err(Errno::EINVAL);
        }
        let index = i32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
        let dev = if index > 0 {
            self.ns(ns)
                .devs
                .iter()
                .copied()
                .find(|&d| self.dev(d).ifindex == index as u32)
                .ok_or(Errno::ENODEV)?
        } else {
            let name = attrs(&payload[16..])
                .into_iter()
                .find(|(t, _)| *t == IFLA_IFNAME)
                .map(|(_, v)| {
                    String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or(v)).into_owned()
                })
                .ok_or(Errno::EINVAL)?;
            self.dev_get_by_name(ns, &name)?
        };
        let portid = self.sk(sk).netlink.as_deref().map_or(0, |n| n.portid);
        let msg = self.rtnl_fill_ifinfo(ns, dev, 0, h.seq, portid);
        self.netlink_queue(sk, msg, 0);
        Ok(Outcome::Done)
    }

    /// `rtnl_dump_ifinfo()`: every device, by ifindex.
    fn rtnl_dump_ifinfo(&self, ns: NetNsId, seq: u32, portid: u32) -> Vec<Vec<u8>> {
        let mut devs = self.ns(ns).devs.clone();
        devs.sort_by_key(|&d| self.dev(d).ifindex);
        devs.into_iter()
            .map(|d| self.rtnl_fill_ifinfo(ns, d, NLM_F_MULTI, seq, portid))
            .collect()
    }

    /// `rtnl_fill_ifinfo()`: `RTM_NEWLINK` for one device.
    fn rtnl_fill_ifinfo(
        &self,
        ns: NetNsId,
        d: DevId,
        flags: u16,
        seq: u32,
        portid: u32,
    ) -> Vec<u8> {
        let dev = self.dev(d);
        let lo = dev.is_loopback();
        let mut m = NlMsg::new(RTM_NEWLINK, flags, seq, portid);
        let mut ifi = [0u8; 16];
        let ty = if lo { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
        ifi[2..4].copy_from_slice(&ty.to_ne_bytes());
        ifi[4..8].copy_from_slice(&(dev.ifindex as i32).to_ne_bytes());
        ifi[8..12].copy_from_slice(&self.dev_flags(d).to_ne_bytes());
        m.put(&ifi);
        m.attr_str(IFLA_IFNAME, &dev.name)
            .attr_u32(IFLA_TXQLEN, crate::sim::topology::DEFAULT_TXQUEUELEN as u32)
            .attr_u8(IFLA_OPERSTATE, self.operstate(d) as u8)
            .attr_u8(IFLA_LINKMODE, 0)
            .attr_u32(IFLA_MTU, dev.mtu);
        let mtu_range = match dev.kind {
            DevKind::Loopback => Some((0, 0)),
            DevKind::Veth { .. } | DevKind::Bridge(_) | DevKind::Tun(_) => Some((68, 65535)),
            DevKind::Nic(_) => None,
        };
        if let Some((min, max)) = mtu_range {
            m.attr_u32(IFLA_MIN_MTU, min).attr_u32(IFLA_MAX_MTU, max);
        }
        let (promisc, allmulti) = self.port_promisc(d);
        m.attr_u32(IFLA_GROUP, 0)
            .attr_u32(IFLA_PROMISCUITY, promisc)
            .attr_u32(IFLA_ALLMULTI, allmulti);
        if let Some(br) = dev.master {
            m.attr_u32(IFLA_MASTER, self.dev(br).ifindex);
        }
        m.attr_u8(IFLA_CARRIER, self.carrier_ok(d) as u8)
            .attr(IFLA_ADDRESS, &dev.mac.0);
        let brd = if lo { [0u8; 6] } else { [0xff; 6] };
        m.attr(IFLA_BROADCAST, &brd);
        let s = dev.stats;
        let stats = [
            s.rx_packets,
            s.tx_packets,
            s.rx_bytes,
            s.tx_bytes,
            s.rx_errors,
            s.tx_errors,
            s.rx_dropped,
            s.tx_dropped,
            0, // multicast
            0, // collisions
            0, // rx_length_errors
            0, // rx_over_errors
            0, // rx_crc_errors
            0, // rx_frame_errors
            0, // rx_fifo_errors
            s.rx_missed,
            0, // tx_aborted_errors
            0, // tx_carrier_errors
            0, // tx_fifo_errors
            0, // tx_heartbeat_errors
            0, // tx_window_errors
            0, // rx_compressed
            0, // tx_compressed
            0, // rx_nohandler
            0, // rx_otherhost_dropped
        ];
        let s64: Vec<u8> = stats.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let s32: Vec<u8> = stats[..24]
            .iter()
            .flat_map(|&v| (v as u32).to_ne_bytes())
            .collect();
        m.attr(IFLA_STATS64, &s64).attr(IFLA_STATS, &s32);
        let kind = match dev.kind {
            DevKind::Veth { .. } => Some("veth"),
            DevKind::Bridge(_) => Some("bridge"),
            DevKind::Tun(_) => Some("tun"),
            _ => None,
        };
        if kind.is_some() || dev.master.is_some() {
            m.nest_start(IFLA_LINKINFO);
            if let Some(k) = kind {
                m.attr_str(IFLA_INFO_KIND, k);
            }
            if dev.master.is_some() {
                m.attr_str(IFLA_INFO_SLAVE_KIND, "bridge");
            }
            m.nest_end();
        }
        if let DevKind::Veth { peer } = dev.kind {
            let p = self.dev(peer);
            if p.netns != ns {
                let id = self.ns(ns).nsids.get(&p.netns).copied().unwrap_or(-1);
                m.attr(IFLA_LINK_NETNSID, &id.to_ne_bytes());
            }
            m.attr_u32(IFLA_LINK, p.ifindex);
        }
        m.attr_str(IFLA_QDISC, self.qdisc_name(d));
        m.finish()
    }

    /// A device's `promiscuity` and `allmulti` counts: a bridge port is
    /// put in all-multicast mode (`br_add_if()`), and in promiscuous mode
    /// while the bridge has more than one port that learns and floods
    /// (`br_manage_promisc()`).
    fn port_promisc(&self, d: DevId) -> (u32, u32) {
        let Some(br) = self.dev(d).master else {
            return (0, 0);
        };
        let ports = match &self.dev(br).kind {
            DevKind::Bridge(b) => b.ports.len(),
            _ => 0,
        };
        (u32::from(ports > 1), 1)
    }

    /// `inet_dump_ifaddr()` / `inet6_dump_addr()`: addresses device by
    /// device, IPv4 first when every family is asked for.
    fn inet_dump_ifaddr(&self, ns: NetNsId, family: u8, seq: u32, portid: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for v6 in [false, true] {
            if (family == FAMILY_INET && v6) || (family == FAMILY_INET6 && !v6) {
                continue;
            }
            for &d in &self.ns(ns).devs {
                let dev = self.dev(d);
                for a in dev.addrs.iter().filter(|a| a.addr.is_ipv6() == v6) {
                    out.push(self.fill_ifaddr(dev, a.addr, a.prefix, seq, portid));
                }
            }
        }
        out
    }

    /// `inet_fill_ifaddr()` / `inet6_fill_ifaddr()`.
    fn fill_ifaddr(
        &self,
        dev: &crate::net::core::dev::NetDevice,
        addr: IpAddr,
        prefix: u8,
        seq: u32,
        portid: u32,
    ) -> Vec<u8> {
        let loopback = addr.is_loopback();
        let scope = if loopback {
            crate::net::ipv4::route::RT_SCOPE_HOST
        } else {
            0
        };
        let (family, bytes) = match addr {
            IpAddr::V4(a) => (FAMILY_INET, a.octets().to_vec()),
            IpAddr::V6(a) => (FAMILY_INET6, a.octets().to_vec()),
        };
        let mut m = NlMsg::new(RTM_NEWADDR, NLM_F_MULTI, seq, portid);
        let mut ifa = [family, prefix, IFA_F_PERMANENT as u8, scope, 0, 0, 0, 0];
        ifa[4..8].copy_from_slice(&dev.ifindex.to_ne_bytes());
        m.put(&ifa);
        // prefered_lft, valid_lft (forever), cstamp, tstamp.
        let mut cache = [0u8; 16];
        cache[..8].copy_from_slice(&[0xff; 8]);
        m.attr(IFA_ADDRESS, &bytes);
        if family == FAMILY_INET {
            m.attr(IFA_LOCAL, &bytes)
                .attr_str(IFA_LABEL, &dev.name)
                .attr_u32(IFA_FLAGS, IFA_F_PERMANENT)
                .attr(IFA_CACHEINFO, &cache);
        } else {
            m.attr(IFA_CACHEINFO, &cache)
                .attr_u32(IFA_FLAGS, IFA_F_PERMANENT);
            // IFAPROT_KERNEL_LO for ::1, added by the kernel with lo.
            if loopback {
                m.attr_u8(IFA_PROTO, 1);
            }
        }
        m.finish()
    }

    /// `inet_dump_fib()` (and `inet6_dump_fib()` for the main table's
    /// IPv6 routes): `RTM_NEWROUTE` for each route, main table first.
    fn inet_dump_fib(&self, ns: NetNsId, family: u8, seq: u32, portid: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for v6 in [false, true] {
            if (family == FAMILY_INET && v6) || (family == FAMILY_INET6 && !v6) {
                continue;
            }
            for e in self.fib_dump(ns, v6) {
                let mut m = NlMsg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
                let fam = if v6 { FAMILY_INET6 } else { FAMILY_INET };
                let mut rtm = [
                    fam, e.prefix, 0, 0, e.table, e.proto, e.scope, e.rtype, 0, 0, 0, 0,
                ];
                let flags = if e.linkdown { RTNH_F_LINKDOWN } else { 0 };
                rtm[8..12].copy_from_slice(&flags.to_ne_bytes());
                m.put(&rtm);
                m.attr_u32(RTA_TABLE, u32::from(e.table));
                let ip = |a: IpAddr| match a {
                    IpAddr::V4(v) => v.octets().to_vec(),
                    IpAddr::V6(v) => v.octets().to_vec(),
                };
                if e.prefix > 0 {
                    m.attr(RTA_DST, &ip(e.dst));
                }
                if let Some(src) = e.prefsrc {
                    m.attr(RTA_PREFSRC, &ip(src));
                }
                if let Some(gw) = e.gateway {
                    m.attr(RTA_GATEWAY, &ip(gw));
                }
                m.attr_u32(RTA_OIF, self.dev(e.oif).ifindex);
                out.push(m.finish());
            }
        }
        out
    }
}
