//! IP output: route the packet, put the IP header in front of it, cut it
//! into fragments if it is larger than the device's MTU, and hand it to the
//! neighbour layer (`net/ipv4/ip_output.c`: `ip_send_skb()`,
//! `ip_local_out()`, `ip_finish_output()`, `ip_fragment()`). IPv6 output
//! is in [`crate::net::ipv6::ip6_output`].
//!
//! Simplified: no IP options; IPv4 fragments are cut from the finished
//! datagram (the kernel usually builds them directly in
//! `__ip_append_data()`, with the same result on the wire); IPv6 is not
//! fragmented (it runs on loopback, whose MTU is 65536).

use std::net::{IpAddr, Ipv4Addr};

use crate::kernel::ids::{NetNsId, SockId};
use crate::kernel::world::World;
use crate::net::core::dev::XmitResult;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::net::ipv4::route::RouteResult;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::wire::ethernet::ETH_P_IP;
use crate::wire::ipv4::{IP_DF, IP_MF, Ipv4Hdr};

/// What a sender asks of the IP header (`struct ipcm_cookie`): a TTL
/// other than `ip_default_ttl`, and the type of service.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ipcm {
    pub(crate) ttl: Option<u8>,
    pub(crate) tos: u8,
}

impl World {
    /// `ip_route_output_key()`: local destinations leave by `lo`; others
    /// take the longest matching route.
    pub(crate) fn ip_route_output(
        &mut self,
        ns: NetNsId,
        daddr: IpAddr,
    ) -> Result<RouteResult, Errno> {
        let lo = self.ns(ns).lo;
        if self.is_local_addr(ns, daddr) {
            let src = match daddr {
                IpAddr::V4(a) if a.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                other => other,
            };
            return Ok(RouteResult {
                dev: lo,
                nexthop: daddr,
                src,
                local: true,
                dev_sg: true,
            });
        }
        let Some(r) = self.ns(ns).fib.lookup(daddr).cloned() else {
            let m = if daddr.is_ipv4() {
                Mib::IpOutNoRoutes
            } else {
                Mib::Ip6OutNoRoutes
            };
            self.ns_mut(ns).mib.inc(m);
            return Err(Errno::ENETUNREACH);
        };
        let src = r.src.or_else(|| {
            self.dev(r.dev)
                .addrs
                .iter()
                .map(|a| a.addr)
                .find(|a| a.is_ipv4() == daddr.is_ipv4())
        });
        let Some(src) = src else {
            return Err(Errno::EADDRNOTAVAIL);
        };
        Ok(RouteResult {
            dev: r.dev,
            nexthop: r.via.unwrap_or(daddr),
            src,
            local: false,
            dev_sg: self.dev(r.dev).nic().is_some_and(|n| n.sg),
        })
    }

    /// The sending socket's IP options (`ipcm_init_sk()`): its `IP_TTL`
    /// and `IP_TOS`; none for a packet no socket sends.
    pub(crate) fn inet_ipcm(&self, sk: SockId) -> Ipcm {
        self.socks.get(&sk).map_or_else(Ipcm::default, |s| Ipcm {
            ttl: u8::try_from(s.uc_ttl).ok(),
            tos: s.tos,
        })
    }

    /// `ip_send_skb()`: the packet's payload (transport header first) is at
    /// `skb.data()`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ip_send_skb(
        &mut self,
        ns: NetNsId,
        skb: SkBuff,
        saddr: IpAddr,
        daddr: IpAddr,
        protocol: u8,
        rt: RouteResult,
        ipc: Ipcm,
    ) -> Result<(), Errno> {
        match (saddr, daddr) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.ip4_output(ns, skb, s, d, protocol, rt, (true, ipc))
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => self.ip6_output(ns, skb, s, d, protocol, rt),
            _ => {
                self.kfree_skb(skb);
                Err(Errno::EAFNOSUPPORT)
            }
        }
    }

    /// `icmp_push_reply()`: the kernel's own ICMP messages (echo replies,
    /// errors) go out from a socket with path MTU discovery off
    /// (`IP_PMTUDISC_DONT`), so without DF and with a counted IP id, and
    /// with the type of service `icmp_send()` or `icmp_reply()` chose.
    pub(crate) fn ip_send_skb_icmp(
        &mut self,
        ns: NetNsId,
        skb: SkBuff,
        saddr: IpAddr,
        daddr: IpAddr,
        rt: RouteResult,
        tos: u8,
    ) -> Result<(), Errno> {
        match (saddr, daddr) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let proto = crate::wire::ipv4::IPPROTO_ICMP;
                self.ip4_output(ns, skb, s, d, proto, rt, (false, Ipcm { ttl: None, tos }))
            }
            _ => self.ip_send_skb(
                ns,
                skb,
                saddr,
                daddr,
                crate::wire::ipv4::IPPROTO_ICMPV6,
                rt,
                Ipcm::default(),
            ),
        }
    }

    /// `ip_local_out()` for a datagram whose IP header is already in
    /// place (`raw_send_hdrinc()`).
    pub(crate) fn ip_local_out_prebuilt(
        &mut self,
        ns: NetNsId,
        skb: SkBuff,
        rt: RouteResult,
    ) -> Result<(), Errno> {
        self.ns_mut(ns).mib.inc(Mib::IpOutRequests);
        self.ip_finish_output(ns, skb, rt)
    }

    #[allow(clippy::too_many_arguments)]
    fn ip4_output(
        &mut self,
        ns: NetNsId,
        mut skb: SkBuff,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        protocol: u8,
        rt: RouteResult,
        (pmtudisc, ipc): (bool, Ipcm),
    ) -> Result<(), Errno> {
        let host = self.ns(ns).host;
        let mtu = self.dev(rt.dev).mtu as usize;
        let ttl = ipc.ttl.unwrap_or(self.ns(ns).sysctl.ip_default_ttl);
        let tos = ipc.tos;
        let id = {
            let n = self.ns_mut(ns);
            n.ip_id = n.ip_id.wrapping_add(1);
            n.ip_id
        };
        self.ns_mut(ns).mib.inc(Mib::IpOutRequests);
        let total = skb.len() + Ipv4Hdr::LEN;
        let dev_name = self.dev(rt.dev).name.clone();
        if total <= mtu {
            // Path MTU discovery is on by default: DF is set, and a DF
            // datagram from an unconnected socket carries id 0
            // (ip_select_ident_segs()). Without it the id is counted.
            let (id, df) = if pmtudisc { (0, IP_DF) } else { (id, 0) };
            self.push_ipv4(&mut skb, saddr, daddr, protocol, ttl, id, df);
            if tos != 0 {
                set_tos(&mut skb, tos);
            }
            self.trace(host, Layer::Ip, |_w| {
                format!("ip_output: IPv4 header pushed ({saddr} -> {daddr}, id {id}, ttl {ttl}, {total} B); route via {dev_name}")
            });
            return self.ip_finish_output(ns, skb, rt);
        }
        // ip_fragment(): every fragment but the last carries a multiple of 8.
        let per = (mtu - Ipv4Hdr::LEN) & !7;
        let payload = skb.to_vec();
        let owner = skb.owner;
        self.kfree_skb(skb);
        let count = payload.len().div_ceil(per);
        self.trace(host, Layer::Ip, |_w| {
            format!(
                "ip_fragment: {total} B datagram exceeds MTU {mtu} of {dev_name}: {count} fragments"
            )
        });
        for (i, chunk) in payload.chunks(per).enumerate() {
            let offset = (i * per / 8) as u16;
            let more = if i + 1 < count { IP_MF } else { 0 };
            let headroom = Ipv4Hdr::LEN + crate::net::ipv4::udp::LL_RESERVED_SPACE;
            let Some(mut frag) = self.alloc_skb(headroom + chunk.len(), headroom) else {
                continue;
            };
            let _ = frag.put_data(chunk);
            if let Some(sk) = owner
                && self.socks.contains_key(&sk)
            {
                self.skb_set_owner_w(&mut frag, sk);
            }
            self.push_ipv4(&mut frag, saddr, daddr, protocol, ttl, id, more | offset);
            self.ns_mut(ns).mib.inc(Mib::IpFragCreates);
            // ip_fragment() stops at the first fragment the device refuses.
            self.ip_finish_output(ns, frag, rt)?;
        }
        self.ns_mut(ns).mib.inc(Mib::IpFragOKs);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push_ipv4(
        &mut self,
        skb: &mut SkBuff,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        protocol: u8,
        ttl: u8,
        id: u16,
        frag_off: u16,
    ) {
        let hdr = Ipv4Hdr {
            ihl: 5,
            tos: 0,
            tot_len: (skb.len() + Ipv4Hdr::LEN) as u16,
            id,
            frag_off,
            ttl,
            protocol,
            check: 0,
            saddr,
            daddr,
        };
        if let Ok(room) = skb.push(Ipv4Hdr::LEN) {
            let _ = hdr.write(room);
        }
        skb.reset_network_header();
    }

    /// `ip_finish_output2()`: count and pass to the neighbour layer.
    fn ip_finish_output(&mut self, ns: NetNsId, skb: SkBuff, rt: RouteResult) -> Result<(), Errno> {
        self.ns_mut(ns).mib.inc(Mib::IpOutTransmits);
        self.ns_mut(ns)
            .mib
            .add(Mib::IpExtOutOctets, skb.len() as u64);
        xmit_errno(self.neigh_output(rt.dev, rt.nexthop, ETH_P_IP, skb))
    }
}

/// Rewrites the type of service of the IPv4 header at `skb.data()`.
fn set_tos(skb: &mut SkBuff, tos: u8) {
    let d = skb.data_mut();
    if d.len() >= Ipv4Hdr::LEN {
        d[1] = tos;
        d[10..12].copy_from_slice(&[0, 0]);
        let check = crate::wire::checksum::checksum(&d[..Ipv4Hdr::LEN]);
        d[10..12].copy_from_slice(&check.to_be_bytes());
    }
}

/// `net_xmit_errno()`: a packet the qdisc dropped is `ENOBUFS` to the sender.
pub(crate) fn xmit_errno(r: XmitResult) -> Result<(), Errno> {
    match r {
        XmitResult::Ok => Ok(()),
        XmitResult::Dropped => Err(Errno::ENOBUFS),
    }
}
