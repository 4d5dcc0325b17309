//! The simulation seen through the real tools: this module fills the row
//! types of [`crate::tools`] from the kernel state and runs a small shell
//! of commands, so a program (or the book) can print exactly what `ss
//! -uan`, `ss -xa`, `netstat -an`, `nstat -az`, `ip -s link`, `ip neigh`,
//! `ip route`, `sysctl` and `cat /proc/net/{udp,udp6,unix,snmp,softnet_stat}`
//! would show on the simulated host.
//!
//! Where the kernel reads a value the simulation does not have, the doc of
//! the row filler says what stands in for it (the kernel pointer prints as
//! zeros; `net_hash_mix()` is 0, so a UDP socket's hash bucket is its port
//! modulo the table size).

use crate::ids::NetNsId;
use crate::netdev::DevKind;
use crate::sim::World;
use crate::snmp::Mib;
use crate::sock::Family;
use crate::tools::{
    self, Counter, IfStatsRow, InetSockRow, L4Proto, NeighRow, NstatOpts, RouteRow, SoftnetRow,
    SsOpts,
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
                    && s.ty == crate::sock::SockType::Dgram
                    && !s.dead
                    && s.num != 0
            })
            .map(|s| {
                let remote = s.daddr.unwrap_or_else(|| {
                    std::net::SocketAddr::new(
                        crate::inet::af_inet::unspecified_like(s.rcv_saddr),
                        0,
                    )
                });
                InetSockRow {
                    proto: L4Proto::Udp,
                    state: s.state,
                    local: s.local(),
                    remote,
                    tx_queue: s.wmem_alloc,
                    rx_queue: s.rmem_alloc,
                    uid: s.uid,
                    inode: s.inode,
                    refcnt: 2,
                    drops: s.drops,
                    bucket: s.num as u32 % UDP_HTABLE_SIZE,
                    process: self.owner_of(s.id),
                    v6only: s.family == Family::Inet6,
                    ..InetSockRow::default()
                }
            })
            .collect();
        rows.sort_by_key(|r| (r.bucket, r.inode));
        rows.extend(self.tcp_rows(ns));
        rows
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
            for req in tp.syn_queue.values().filter(|r| !r.cookie) {
                rows.push(InetSockRow {
                    proto: L4Proto::Tcp,
                    state: crate::inet::tcp::TCP_SYN_RECV,
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
                let listen = s.state == crate::inet::tcp::TCP_LISTEN;
                let (rx, tx) = if listen {
                    (tp.accept_queue.len() as u32, tp.max_ack_backlog)
                } else if s.state == crate::inet::tcp::TCP_TIME_WAIT {
                    (0, 0)
                } else {
                    (
                        tp.rcv_nxt.wrapping_sub(tp.copied_seq),
                        tp.write_seq.wrapping_sub(tp.snd_una),
                    )
                };
                let remote = s.daddr.unwrap_or_else(|| {
                    std::net::SocketAddr::new(
                        crate::inet::af_inet::unspecified_like(s.rcv_saddr),
                        0,
                    )
                });
                let (timer, expires) = match (tp.tw_at, tp.rto_at) {
                    (Some(t), _) if s.state == crate::inet::tcp::TCP_TIME_WAIT => {
                        (3, t.saturating_sub(now))
                    }
                    (_, Some(t)) => (1, t.saturating_sub(now)),
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
                    rto_jiffies: tp.rto / 1_000_000,
                    cwnd: tp.cwnd,
                    ssthresh: tp.ssthresh,
                    info: (!listen && s.state != crate::inet::tcp::TCP_TIME_WAIT)
                        .then(|| tcp_info_line(s, tp)),
                    ..InetSockRow::default()
                }
            })
            .collect()
    }

    /// The process holding a socket, as `ss -p` finds it through
    /// `/proc/PID/fd`: (name, pid, fd).
    pub(crate) fn owner_of(&self, sk: crate::ids::SockId) -> Option<(String, u32, i32)> {
        self.tasks.iter().find_map(|t| {
            t.files
                .iter()
                .find_map(|(fd, file)| match &self.files[&file].kind {
                    crate::fs::FileKind::Socket(s) if s.sk == sk => {
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

    fn ifstats_rows(&self, ns: NetNsId) -> Vec<IfStatsRow> {
        self.ns(ns)
            .devs
            .iter()
            .map(|&d| {
                let dev = self.dev(d);
                let lo = matches!(dev.kind, DevKind::Loopback);
                let mut flags = if lo {
                    vec!["LOOPBACK"]
                } else {
                    vec!["BROADCAST", "MULTICAST"]
                };
                if dev.up {
                    flags.extend(["UP", "LOWER_UP"]);
                }
                let s = dev.stats;
                IfStatsRow {
                    ifindex: dev.ifindex,
                    name: dev.name.clone(),
                    flags,
                    mtu: dev.mtu,
                    qdisc: if lo { "noqueue" } else { "pfifo_fast" }.into(),
                    state: if lo {
                        "UNKNOWN"
                    } else if dev.up {
                        "UP"
                    } else {
                        "DOWN"
                    }
                    .into(),
                    qlen: 1000,
                    link_type: if lo { "loopback" } else { "ether" }.into(),
                    mac: dev.mac.to_string(),
                    brd: if lo {
                        "00:00:00:00:00:00".into()
                    } else {
                        "ff:ff:ff:ff:ff:ff".into()
                    },
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

    fn route_rows(&self, ns: NetNsId, v6: bool) -> Vec<RouteRow> {
        self.ns(ns)
            .fib
            .routes
            .iter()
            .filter(|r| r.dst.is_ipv6() == v6)
            .map(|r| RouteRow {
                dst: if r.prefix == 0 {
                    None
                } else {
                    Some((r.dst, r.prefix))
                },
                via: r.via,
                dev: Some(self.dev(r.dev).name.clone()),
                proto: r.kernel.then(|| "kernel".to_string()),
                scope: r.kernel.then(|| "link".to_string()),
                src: r.src,
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

/// What `ss -i` prints for a connection (`tcp_show_info()` in iproute2's
/// `misc/ss.c`), for the fields the simulation models, in ss's order.
/// Times are in milliseconds as ss prints them.
fn tcp_info_line(s: &crate::sock::Sock, tp: &crate::inet::tcp::TcpSock) -> String {
    let msf = |ns: u64| {
        let v = ns as f64 / 1e6;
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let mut parts = vec![
        "reno".to_string(),
        format!("wscale:{},{}", tp.snd_wscale, tp.rcv_wscale),
        format!("rto:{}", msf(tp.rto)),
    ];
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
    parts.push(format!("rcv_space:{}", s.rcvbuf / 2));
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
        ["cat", "/proc/net/tcp6"] => tools::proc_net_tcp6(&w.inet_rows(ns)),
        ["cat", "/proc/net/unix"] => tools::proc_net_unix(&w.unix_rows(ns)),
        ["cat", "/proc/net/softnet_stat"] => tools::proc_net_softnet_stat(&w.softnet_rows(ns)),
        ["cat", "/proc/net/snmp"] => w.snmp_file(ns),
        ["nstat", "-az"] | ["nstat", "-za"] => {
            tools::nstat(&w.counters(ns), NstatOpts { zeros: true })
        }
        ["nstat"] | ["nstat", "-a"] => tools::nstat(&w.counters(ns), NstatOpts { zeros: false }),
        ["ip", "-s", "link"] => tools::ip_s_link(&w.ifstats_rows(ns)),
        ["ip", "neigh"] => tools::ip_neigh(&w.neigh_rows(ns)),
        ["ip", "route"] => tools::ip_route(&w.route_rows(ns, false)),
        ["ip", "-6", "route"] => tools::ip_route(&w.route_rows(ns, true)),
        ["sysctl", "-n", name] => match w.ns(ns).sysctl.get(name) {
            Ok(v) => format!("{v}\n"),
            Err(_) => format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                name.replace('.', "/")
            ),
        },
        ["sysctl", name] => match w.ns(ns).sysctl.get(name) {
            Ok(v) => format!("{name} = {v}\n"),
            Err(_) => format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                name.replace('.', "/")
            ),
        },
        _ => format!("sh: {cmd}: command not found\n"),
    }
}
