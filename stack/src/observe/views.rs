//! The simulation seen through the real tools: this module fills the row
//! types of [`crate::observe::tools`] from the kernel state and runs a small shell
//! of commands, so a program (or the book) can print exactly what `ss
//! -uan`, `ss -xa`, `netstat -an`, `nstat -az`, `ip link`, `ip -s link`,
//! `ip addr`, `ip neigh`, `ip route`, `sysctl` and `cat
//! /proc/net/{udp,udp6,raw,unix,snmp,softnet_stat}` would show on the
//! simulated host, in any of its network namespaces (`ip -n NAME ...`, `ip
//! netns exec NAME CMD`), and the bridge's own entries of `bridge fdb show
//! br BR`.
//!
//! Where the kernel reads a value the simulation does not have, the doc of
//! the row filler says what stands in for it (the kernel pointer prints as
//! zeros; `net_hash_mix()` is 0, so a UDP socket's hash bucket is its port
//! modulo the table size).

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::net::core::snmp::Mib;
use crate::net::core::sock::Family;
use crate::observe::tools::{
    self, AddrRow, Counter, IfStatsRow, InetSockRow, L4Proto, NeighRow, NstatOpts, RouteRow,
    SoftnetRow, SsOpts,
};

/// `UDP_HTABLE_SIZE` as this machine's kernel sized it at boot
/// ("UDP hash table entries: 16384").
pub const UDP_HTABLE_SIZE: u32 = 16384;

impl World {
    /// Every inet socket of the namespace, in hash-bucket order as
    /// `/proc/net/udp` walks them.
    pub(crate) fn inet_rows(&self, ns: NetNsId) -> Vec<InetSockRow> {
        let mut rows: Vec<InetSockRow> = self
            .socks
            .values()
            .filter(|s| {
                s.netns == ns
                    && s.family != Family::Unix
                    && s.ty == crate::net::core::sock::SockType::Dgram
                    && !s.dead
                    && s.num != 0
            })
            .map(|s| {
                let remote = s.daddr.unwrap_or_else(|| {
                    std::net::SocketAddr::new(
                        crate::net::ipv4::af_inet::unspecified_like(s.rcv_saddr),
                        0,
                    )
                });
                InetSockRow {
                    proto: L4Proto::Udp,
                    state: s.state,
                    local: s.local(),
                    remote,
                    tx_queue: s.wmem_alloc,
                    rx_queue: s.rmem_alloc(),
                    uid: s.uid,
                    inode: s.inode,
                    refcnt: 2,
                    drops: s.sk_drops(),
                    bucket: s.num as u32 % UDP_HTABLE_SIZE,
                    process: self.owner_of(s.id),
                    v6only: s.family == Family::Inet6,
                    ..InetSockRow::default()
                }
            })
            .collect();
        rows.sort_by_key(|r| (r.bucket, r.inode));
        rows.extend(self.raw_rows(ns));
        rows.extend(self.tcp_rows(ns));
        rows
    }

    /// Raw sockets as `raw_seq_show()` walks them: chain by chain
    /// (`raw_hashfunc()` of the protocol), newest first within a chain.
    fn raw_rows(&self, ns: NetNsId) -> Vec<InetSockRow> {
        let mut rows: Vec<(u32, usize, InetSockRow)> = self
            .ns(ns)
            .raw
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let s = self.sk(id);
                let bucket = crate::net::ipv4::raw::raw_hashfunc(s.num);
                let remote = s.daddr.unwrap_or_else(|| {
                    std::net::SocketAddr::new(
                        crate::net::ipv4::af_inet::unspecified_like(s.rcv_saddr),
                        0,
                    )
                });
                let row = InetSockRow {
                    proto: L4Proto::Raw,
                    state: s.state,
                    local: s.local(),
                    remote,
                    tx_queue: s.wmem_alloc,
                    rx_queue: s.rmem_alloc(),
                    uid: s.uid,
                    inode: s.inode,
                    refcnt: 2,
                    drops: s.sk_drops(),
                    bucket,
                    process: self.owner_of(s.id),
                    ..InetSockRow::default()
                };
                (bucket, usize::MAX - i, row)
            })
            .collect();
        rows.sort_by_key(|(b, order, _)| (*b, *order));
        rows.into_iter().map(|(_, _, r)| r).collect()
    }

    /// TCP sockets as `tcp4_seq_show()` walks them: listeners first, then
    /// the established table (TIME_WAIT included) and the requests waiting
    /// in SYN queues (SYN-RECV, which live in that table too); `sl` is a
    /// running count.
    fn tcp_rows(&self, ns: NetNsId) -> Vec<InetSockRow> {
        let mut rows = self.tcp_sock_rows(ns);
        let now = self.now;
        let table = &self.ns(ns).tcp;
        for &l in table.listeners.values().flatten() {
            let tp = self.sk(l).tcp.as_deref().expect("tcp");
            for req in tp.queues.0.requests().into_iter().filter(|r| !r.cookie) {
                rows.push(InetSockRow {
                    proto: L4Proto::Tcp,
                    state: crate::net::ipv4::tcp::TCP_SYN_RECV,
                    local: req.local,
                    remote: req.remote,
                    bucket: rows.len() as u32,
                    v6only: req.local.is_ipv6(),
                    timer: 1,
                    timer_expires_jiffies: req.timer_at.saturating_sub(now) / 1_000_000,
                    retransmits: req.retrans.min(255) as u8,
                    ..InetSockRow::default()
                });
            }
        }
        rows
    }

    fn tcp_sock_rows(&self, ns: NetNsId) -> Vec<InetSockRow> {
        let now = self.now;
        let table = &self.ns(ns).tcp;
        let listeners = table.listeners.values().flatten();
        let connected = table.ehash.values();
        listeners
            .chain(connected)
            .enumerate()
            .map(|(i, &id)| {
                let s = self.sk(id);
                let tp = s.tcp.as_deref().expect("tcp");
                let listen = s.state == crate::net::ipv4::tcp::TCP_LISTEN;
                let (rx, tx) = if listen {
                    (tp.queues.0.accept_queue_len() as u32, tp.max_ack_backlog)
                } else if s.state == crate::net::ipv4::tcp::TCP_TIME_WAIT {
                    (0, 0)
                } else {
                    (
                        tp.rcv_nxt.wrapping_sub(tp.copied_seq),
                        tp.write_seq.wrapping_sub(tp.snd_una),
                    )
                };
                let remote = s.daddr.unwrap_or_else(|| {
                    std::net::SocketAddr::new(
                        crate::net::ipv4::af_inet::unspecified_like(s.rcv_saddr),
                        0,
                    )
                });
                // get_tcp4_sock(): 1 retransmit, 4 zero-window probe
                // (ICSK_TIME_PROBE0), 2 the socket's own timer (keepalive),
                // 3 for a time-wait socket.
                let (timer, expires) = match (tp.tw_at, tp.rto_at, tp.probe_at, tp.keepalive_at) {
                    (Some(t), ..) if s.state == crate::net::ipv4::tcp::TCP_TIME_WAIT => {
                        (3, t.saturating_sub(now))
                    }
                    (_, Some(t), ..) => (1, t.saturating_sub(now)),
                    (_, None, Some(t), _) => (4, t.saturating_sub(now)),
                    (_, None, None, Some(t)) => (2, t.saturating_sub(now)),
                    _ => (0, 0),
                };
                InetSockRow {
                    proto: L4Proto::Tcp,
                    state: s.state,
                    local: s.local(),
                    remote,
                    tx_queue: tx,
                    rx_queue: rx,
                    uid: s.uid,
                    inode: s.inode,
                    refcnt: 1,
                    bucket: i as u32,
                    process: self.owner_of(id),
                    v6only: s.family == Family::Inet6,
                    timer,
                    timer_expires_jiffies: expires / 1_000_000,
                    retransmits: tp.retransmits.min(255) as u8,
                    // icsk_probes_out: zero-window or keepalive probes.
                    probes_out: (tp.probes_out + tp.keepalive_probes).min(255) as u8,
                    rto_jiffies: tp.rto / 1_000_000,
                    ato_jiffies: tp.ato / 1_000_000,
                    quick_pingpong: (tp.quick << 1)
                        | tp.in_pingpong_mode(self.ns(s.netns).sysctl.tcp_pingpong_thresh) as u32,
                    cwnd: tp.cwnd,
                    ssthresh: tp.ssthresh,
                    info: (!listen && s.state != crate::net::ipv4::tcp::TCP_TIME_WAIT)
                        .then(|| tcp_info_line(tp)),
                    ..InetSockRow::default()
                }
            })
            .collect()
    }

    /// The process holding a socket, as `ss -p` finds it through
    /// `/proc/PID/fd`: (name, pid, fd).
    pub(crate) fn owner_of(&self, sk: crate::kernel::ids::SockId) -> Option<(String, u32, i32)> {
        self.tasks.iter().find_map(|t| {
            t.files
                .iter()
                .find_map(|(fd, file)| match &self.files[&file].kind {
                    crate::fs::file::FileKind::Socket(s) if s.sk == sk => {
                        Some((t.comm.clone(), t.pid.to_string().parse().unwrap_or(0), fd))
                    }
                    _ => None,
                })
        })
    }

    fn softnet_rows(&self, ns: NetNsId) -> Vec<SoftnetRow> {
        let sd = &self.host(self.ns(ns).host).softnet;
        vec![SoftnetRow {
            cpu: 0,
            processed: sd.processed,
            dropped: sd.dropped,
            time_squeeze: sd.time_squeeze,
            backlog_len: sd.input_pkt_queue.len() as u32,
            ..SoftnetRow::default()
        }]
    }

    /// Each device of the namespace as `rtnl_fill_ifinfo()` describes it
    /// and `print_linkinfo()` shows it: a veth end is named `NAME@PEER`
    /// (or `NAME@ifN` when the peer is in another namespace, followed by
    /// `link-netns NAME` or `link-netnsid N`), and gets `M-DOWN` while a
    /// peer in the same namespace is down.
    pub(crate) fn ifstats_rows(&self, ns: NetNsId) -> Vec<IfStatsRow> {
        use crate::net::core::operstate::*;
        self.ns(ns)
            .devs
            .iter()
            .map(|&d| {
                let dev = self.dev(d);
                let lo = dev.is_loopback();
                let f = self.dev_flags(d);
                let mut flags = Vec::new();
                if f & IFF_UP != 0 && f & IFF_RUNNING == 0 {
                    flags.push("NO-CARRIER");
                }
                for (bit, name) in [
                    (IFF_LOOPBACK, "LOOPBACK"),
                    (IFF_BROADCAST, "BROADCAST"),
                    (IFF_MULTICAST, "MULTICAST"),
                    (IFF_UP, "UP"),
                    (IFF_LOWER_UP, "LOWER_UP"),
                ] {
                    if f & bit != 0 {
                        flags.push(name);
                    }
                }
                let mut name = dev.name.clone();
                let mut link_netns = None;
                if let DevKind::Veth { peer } = dev.kind {
                    let p = self.dev(peer);
                    if p.netns == ns {
                        name = format!("{name}@{}", p.name);
                        if !p.up {
                            flags.push("M-DOWN");
                        }
                    } else {
                        name = format!("{name}@if{}", p.ifindex);
                        link_netns = Some(match self.netns_name(p.netns) {
                            Some(n) => format!("link-netns {n}"),
                            None => format!(
                                "link-netnsid {}",
                                self.ns(ns).nsids.get(&p.netns).copied().unwrap_or(-1)
                            ),
                        });
                    }
                }
                let s = dev.stats;
                IfStatsRow {
                    ifindex: dev.ifindex,
                    name,
                    flags,
                    mtu: dev.mtu,
                    qdisc: self.qdisc_name(d).into(),
                    state: self.operstate(d).name().into(),
                    qlen: 1000,
                    link_type: if lo { "loopback" } else { "ether" }.into(),
                    mac: dev.mac.to_string(),
                    brd: if lo {
                        "00:00:00:00:00:00".into()
                    } else {
                        "ff:ff:ff:ff:ff:ff".into()
                    },
                    master: dev.master.map(|m| self.dev(m).name.clone()),
                    link_netns,
                    rx_bytes: s.rx_bytes,
                    rx_packets: s.rx_packets,
                    rx_errors: s.rx_errors,
                    rx_dropped: s.rx_dropped,
                    rx_missed: s.rx_missed,
                    tx_bytes: s.tx_bytes,
                    tx_packets: s.tx_packets,
                    tx_errors: s.tx_errors,
                    tx_dropped: s.tx_dropped,
                    ..IfStatsRow::default()
                }
            })
            .collect()
    }

    /// Every address of the namespace (`inet_dump_ifaddr()`,
    /// `inet6_dump_addr()`): device by device, in the order they were
    /// added.
    pub(crate) fn addr_rows(&self, ns: NetNsId) -> Vec<AddrRow> {
        let mut rows = Vec::new();
        for &d in &self.ns(ns).devs {
            let dev = self.dev(d);
            for a in &dev.addrs {
                rows.push(AddrRow {
                    ifindex: dev.ifindex,
                    addr: a.addr,
                    prefix: a.prefix,
                    brd: None,
                    scope: addr_scope(a.addr).into(),
                    label: a.addr.is_ipv4().then(|| dev.name.clone()),
                });
            }
        }
        rows
    }

    fn neigh_rows(&self, ns: NetNsId) -> Vec<NeighRow> {
        self.ns(ns)
            .neigh
            .entries
            .iter()
            .map(|((dev, ip), n)| NeighRow {
                dst: *ip,
                dev: self.dev(*dev).name.clone(),
                lladdr: n.mac.map(|m| m.to_string()),
                router: false,
                state: n.state,
            })
            .collect()
    }

    /// Routes as `ip route` shows them: `table` 254 for the main table
    /// (which `ip route` lists), 255 for `ip route show table local`.
    fn route_rows(&self, ns: NetNsId, v6: bool, table: u8) -> Vec<RouteRow> {
        use crate::net::ipv4::route::*;
        self.fib_dump(ns, v6)
            .into_iter()
            .filter(|e| e.table == table)
            .map(|e| RouteRow {
                route_type: match e.rtype {
                    RTN_LOCAL => Some("local".into()),
                    RTN_BROADCAST => Some("broadcast".into()),
                    _ => None,
                },
                dst: if e.prefix == 0 && e.table == RT_TABLE_MAIN {
                    None
                } else {
                    Some((e.dst, e.prefix))
                },
                via: e.gateway,
                dev: Some(self.dev(e.oif).name.clone()),
                proto: (e.proto == RTPROT_KERNEL).then(|| "kernel".to_string()),
                scope: match e.scope {
                    RT_SCOPE_LINK => Some("link".into()),
                    RT_SCOPE_HOST => Some("host".into()),
                    _ => None,
                },
                src: e.prefsrc,
                linkdown: e.linkdown,
                ..RouteRow::default()
            })
            .collect()
    }

    fn counters(&self, ns: NetNsId) -> Vec<Counter> {
        self.ns(ns)
            .mib
            .iter()
            .map(|(m, v)| Counter {
                name: m.name().to_string(),
                value: v,
            })
            .collect()
    }

    fn snmp_file(&self, ns: NetNsId) -> String {
        let mib = &self.ns(ns).mib;
        let udp: Vec<(&str, i64)> = [
            ("InDatagrams", Mib::UdpInDatagrams),
            ("NoPorts", Mib::UdpNoPorts),
            ("InErrors", Mib::UdpInErrors),
            ("OutDatagrams", Mib::UdpOutDatagrams),
            ("RcvbufErrors", Mib::UdpRcvbufErrors),
            ("SndbufErrors", Mib::UdpSndbufErrors),
            ("InCsumErrors", Mib::UdpInCsumErrors),
        ]
        .into_iter()
        .map(|(n, m)| (n, mib.get(m) as i64))
        .chain([("IgnoredMulti", 0), ("MemErrors", 0)])
        .collect();
        tools::proc_net_snmp(&[("Udp", &udp)])
    }
}

/// The scope the kernel gives an address: `host` for loopback addresses,
/// `link` for IPv6 link-local ones, `global` for the rest.
fn addr_scope(a: std::net::IpAddr) -> &'static str {
    match a {
        std::net::IpAddr::V4(v4) if v4.is_loopback() => "host",
        std::net::IpAddr::V6(v6) if v6.is_loopback() => "host",
        std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => "link",
        _ => "global",
    }
}

/// What `ss -i` prints for a connection (`tcp_show_info()` in iproute2's
/// `misc/ss.c`), for the fields the simulation models, in ss's order.
/// Times are in milliseconds as ss prints them.
fn tcp_info_line(tp: &crate::net::ipv4::tcp::TcpSock) -> String {
    let msf = |ns: u64| {
        let v = ns as f64 / 1e6;
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let mut parts = Vec::new();
    // `tcpi_options`: ss prints " ts", " sack", " ecn" before the algorithm.
    if tp.ts.ok {
        parts.push("ts".to_string());
    }
    if tp.sack_ok {
        parts.push("sack".to_string());
    }
    parts.extend([
        tp.opts.congestion.name().to_string(),
        format!("wscale:{},{}", tp.snd_wscale, tp.rcv_wscale),
        format!("rto:{}", msf(tp.rto)),
    ]);
    if tp.retransmits > 0 {
        parts.push(format!("backoff:{}", tp.retransmits));
    }
    if let Some(srtt) = tp.srtt {
        parts.push(format!("rtt:{}/{}", msf(srtt), msf(tp.rttvar)));
    }
    parts.push(format!("mss:{}", tp.size_goal()));
    parts.push(format!("cwnd:{}", tp.cwnd));
    if tp.ssthresh < 0xFFFF {
        parts.push(format!("ssthresh:{}", tp.ssthresh));
    }
    parts.push(format!("segs_out:{}", tp.segs_out));
    parts.push(format!("segs_in:{}", tp.segs_in));
    let unacked = tp
        .write_queue
        .iter()
        .filter(|x| x.sent_at.is_some())
        .count();
    if unacked > 0 {
        parts.push(format!("unacked:{unacked}"));
    }
    // tcp_show_info(): the scoreboard, as ss prints it.
    let sb = &tp.sb;
    if sb.retrans_out > 0 || sb.total_retrans > 0 {
        parts.push(format!("retrans:{}/{}", sb.retrans_out, sb.total_retrans));
    }
    if sb.lost_out > 0 {
        parts.push(format!("lost:{}", sb.lost_out));
    }
    if sb.sacked_out > 0 {
        parts.push(format!("sacked:{}", sb.sacked_out));
    }
    if sb.reordering != 3 {
        parts.push(format!("reordering:{}", sb.reordering));
    }
    // ss prints rcv_rtt and rcv_space only once they are measured.
    if tp.rcv_rtt.rtt_us > 0 {
        parts.push(format!(
            "rcv_rtt:{}",
            msf(u64::from(tp.rcv_rtt.rtt_us >> 3) * 1000)
        ));
    }
    if tp.rcvq_space.space > 0 {
        parts.push(format!("rcv_space:{}", tp.rcvq_space.space));
        parts.push(format!("rcv_ssthresh:{}", tp.rcv_ssthresh));
    }
    parts.push(format!("snd_wnd:{}", tp.snd_wnd));
    parts.join(" ")
}

/// Runs one command line on a namespace and returns what it prints.
/// Unknown commands print what a shell prints for them.
pub(crate) fn run_tool(w: &World, ns: NetNsId, cmd: &str) -> String {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    match words.as_slice() {
        ["ss", flags] => match SsOpts::from_flags(flags) {
            Some(opts) => tools::ss_with_unix(&w.inet_rows(ns), &w.unix_rows(ns), opts),
            None => format!("ss: invalid option -- '{flags}'\n"),
        },
        ["netstat", "-an"] | ["netstat", "-uan"] | ["netstat", "-tan"] => {
            tools::netstat_an(&w.inet_rows(ns))
        }
        ["netstat", "-anp"] | ["netstat", "-uanp"] | ["netstat", "-tanp"] => {
            tools::netstat_anp(&w.inet_rows(ns))
        }
        ["cat", "/proc/net/udp"] => tools::proc_net_udp(&w.inet_rows(ns)),
        ["cat", "/proc/net/udp6"] => tools::proc_net_udp6(&w.inet_rows(ns)),
        ["cat", "/proc/net/tcp"] => tools::proc_net_tcp(&w.inet_rows(ns)),
        ["cat", "/proc/net/raw"] => tools::proc_net_raw(&w.inet_rows(ns)),
        ["cat", "/proc/net/tcp6"] => tools::proc_net_tcp6(&w.inet_rows(ns)),
        ["cat", "/proc/net/unix"] => tools::proc_net_unix(&w.unix_rows(ns)),
        ["cat", "/proc/net/softnet_stat"] => tools::proc_net_softnet_stat(&w.softnet_rows(ns)),
        ["cat", "/proc/net/snmp"] => w.snmp_file(ns),
        ["nstat", "-az"] | ["nstat", "-za"] => {
            tools::nstat(&w.counters(ns), NstatOpts { zeros: true })
        }
        ["nstat"] | ["nstat", "-a"] => tools::nstat(&w.counters(ns), NstatOpts { zeros: false }),
        ["ip", "-n", name, rest @ ..] | ["ip", "netns", "exec", name, "ip", rest @ ..] => {
            match w.netns_by_name(w.ns(ns).host, name) {
                Some(inner) => run_tool(w, inner, &format!("ip {}", rest.join(" "))),
                None => {
                    format!("Cannot open network namespace \"{name}\": No such file or directory\n")
                }
            }
        }
        ["ip", "netns", "exec", name, rest @ ..] => match w.netns_by_name(w.ns(ns).host, name) {
            Some(inner) => run_tool(w, inner, &rest.join(" ")),
            None => {
                format!("Cannot open network namespace \"{name}\": No such file or directory\n")
            }
        },
        ["ip", "-s", "link"] | ["ip", "-s", "link", "show"] => {
            tools::ip_s_link(&w.ifstats_rows(ns))
        }
        ["ip", "link"] | ["ip", "link", "show"] => tools::ip_link(&w.ifstats_rows(ns)),
        ["ip", "addr" | "a" | "address"] | ["ip", "addr" | "address", "show"] => {
            tools::ip_addr(&w.ifstats_rows(ns), &w.addr_rows(ns))
        }
        ["ip", "neigh"] => tools::ip_neigh(&w.neigh_rows(ns)),
        ["ip", "route"] | ["ip", "route", "show"] => {
            tools::ip_route(&w.route_rows(ns, false, crate::net::ipv4::route::RT_TABLE_MAIN))
        }
        ["ip", "route", "show", "table", "local"] => {
            tools::ip_route(&w.route_rows(ns, false, crate::net::ipv4::route::RT_TABLE_LOCAL))
        }
        ["ip", "-6", "route"] => {
            tools::ip_route(&w.route_rows(ns, true, crate::net::ipv4::route::RT_TABLE_MAIN))
        }
        ["bridge", "fdb", "show", "br", br] => w.bridge_fdb_show(ns, br),
        ["sysctl", "-n", name] => match w.sysctl_get(ns, name) {
            Ok(v) => format!("{v}\n"),
            Err(_) => format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                name.replace('.', "/")
            ),
        },
        ["sysctl", name] => match w.sysctl_get(ns, name) {
            Ok(v) => format!("{name} = {v}\n"),
            Err(_) => format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                name.replace('.', "/")
            ),
        },
        _ => format!("sh: {cmd}: command not found\n"),
    }
}

impl crate::kernel::syscalls::Process {
    /// Runs one of the observability tools on this process's host, as a
    /// shell would: `ss -uan`, `netstat -an`, `cat /proc/net/udp`, `nstat`,
    /// `ip -s link`, … (see [`run_tool`]).
    pub fn sh(&self, cmd: &str) -> String {
        let w = self.world.borrow();
        let ns = w.task(self.pid).netns;
        run_tool(&w, ns, cmd)
    }
}
