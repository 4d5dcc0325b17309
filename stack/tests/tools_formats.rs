//! Differential tests of `stack::tools` against the real tools on this
//! machine: open real sockets, read what the kernel and the tools print for
//! them, feed the same values to our formatters, and demand the same bytes.
//!
//! Each test skips (with a note on stdout) when the tool or file it needs is
//! missing, so the suite still passes on a machine without iproute2 or
//! net-tools.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use stack::tools::{
    Counter, HZ, IfStatsRow, InetSockRow, L4Proto, NeighRow, NetstatOpts, NstatOpts, NudState,
    RouteRow, SoftnetRow, SsOpts, TCP_LISTEN, TCP_TIME_WAIT, USER_HZ, ip_neigh, ip_route,
    ip_s_link, netstat, nstat, proc_net_raw, proc_net_raw6, proc_net_snmp, proc_net_softnet_stat,
    proc_net_tcp, proc_net_tcp6, proc_net_udp, proc_net_udp6, ss,
};

// ---------------------------------------------------------------- helpers

/// Runs a tool; `None` (after printing why the test skips) if it is not
/// installed or fails.
fn run(tool: &str, args: &[&str], envs: &[(&str, &str)]) -> Option<String> {
    let mut cmd = Command::new(tool);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => {
            println!(
                "skipping: `{tool} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            println!("skipping: `{tool}` is not installed");
            None
        }
        Err(e) => {
            println!("skipping: cannot run `{tool}`: {e}");
            None
        }
    }
}

fn read_proc(path: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("skipping: cannot read {path}: {e}");
            None
        }
    }
}

fn inode_of(fd: &impl AsRawFd) -> u64 {
    std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// The inverse of the kernel's `%08X` per 32-bit word of an address.
fn parse_hex_addr(s: &str) -> Option<IpAddr> {
    match s.len() {
        8 => {
            let w = u32::from_str_radix(s, 16).ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(w.to_le_bytes())))
        }
        32 => {
            let mut o = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&s[8 * i..8 * i + 8], 16).ok()?;
                o[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

fn parse_endpoint(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    Some(SocketAddr::new(
        parse_hex_addr(addr)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

fn clock_t_to_jiffies(ticks: u64) -> u64 {
    ticks * (HZ / USER_HZ)
}

/// One socket line of a `/proc/net` table parsed back into a row.
fn parse_sock_line(line: &str, proto: L4Proto) -> Option<InetSockRow> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 12 {
        return None;
    }
    let hex32 = |s: &str| u32::from_str_radix(s, 16).ok();
    let (tx, rx) = f[4].split_once(':')?;
    let (tr, when) = f[5].split_once(':')?;
    let mut row = InetSockRow {
        proto,
        bucket: f[0].trim_end_matches(':').parse().ok()?,
        local: parse_endpoint(f[1])?,
        remote: parse_endpoint(f[2])?,
        state: u8::from_str_radix(f[3], 16).ok()?,
        tx_queue: hex32(tx)?,
        rx_queue: hex32(rx)?,
        timer: u8::from_str_radix(tr, 16).ok()?,
        timer_expires_jiffies: clock_t_to_jiffies(u64::from_str_radix(when, 16).ok()?),
        retransmits: u8::from_str_radix(f[6], 16).ok()?,
        uid: f[7].parse().ok()?,
        probes_out: f[8].parse().ok()?,
        inode: f[9].parse().ok()?,
        refcnt: f[10].parse().ok()?,
        sk_ptr: u64::from_str_radix(f[11], 16).ok()?,
        ..Default::default()
    };
    match proto {
        L4Proto::Udp | L4Proto::Raw => row.drops = f.get(12)?.parse().ok()?,
        L4Proto::Tcp if f.len() == 17 => {
            row.rto_jiffies = clock_t_to_jiffies(f[12].parse().ok()?);
            row.ato_jiffies = clock_t_to_jiffies(f[13].parse().ok()?);
            row.quick_pingpong = f[14].parse().ok()?;
            row.cwnd = f[15].parse().ok()?;
            row.ssthresh = match f[16] {
                "-1" => u32::MAX,
                s => s.parse().ok()?,
            };
        }
        L4Proto::Tcp => {}
    }
    Some(row)
}

/// The header and the lines of a `/proc/net` table that `keep` selects,
/// with the rows parsed from them.
fn proc_table(
    path: &str,
    proto: L4Proto,
    keep: impl Fn(&InetSockRow) -> bool,
) -> Option<(String, Vec<InetSockRow>)> {
    let text = read_proc(path)?;
    let mut lines = text.split_inclusive('\n');
    let mut expected = lines.next()?.to_string();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for line in lines {
        let row = parse_sock_line(line, proto)
            .unwrap_or_else(|| panic!("unparsable line in {path}: {line:?}"));
        // A table that changes while it is read in several read() calls
        // can repeat a line (the kernel resumes by counting entries).
        if keep(&row) && seen.insert(line) {
            expected.push_str(line);
            rows.push(row);
        }
    }
    Some((expected, rows))
}

/// Compares our output with the real tool's, a few times over: sockets
/// that other tests open and close meanwhile can make one reading of a
/// `/proc` table or one `ss` dump skip or repeat an entry. `attempt`
/// returns `(ours, real)`, or `None` to skip the test.
fn eventually_equal(what: &str, mut attempt: impl FnMut() -> Option<(String, String)>) {
    let mut last = None;
    for _ in 0..5 {
        let Some((ours, real)) = attempt() else {
            return;
        };
        if ours == real {
            return;
        }
        last = Some((ours, real));
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some((ours, real)) = last {
        assert_eq!(ours, real, "{what}");
    }
}

fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The name `/proc/PID/stat` gives this process, which `ss -p` shows.
fn own_comm() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    match (stat.find('('), stat.rfind(')')) {
        (Some(a), Some(b)) if a < b => stat[a + 1..b].to_string(),
        _ => String::new(),
    }
}

// ------------------------------------------------------------- fixtures

/// UDP sockets in every shape `ss` and `/proc` tell apart.
struct UdpFixture {
    socks: Vec<UdpSocket>,
    /// Ports of the IPv6-only sockets.
    v6only: HashSet<u16>,
}

impl UdpFixture {
    fn new() -> UdpFixture {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        // Unread datagrams give a nonzero Recv-Q.
        b.send(&[0u8; 100]).unwrap();
        b.send(&[0u8; 10]).unwrap();
        let mut socks = vec![a, b];
        let mut v6only = HashSet::new();
        if let Ok(c) = UdpSocket::bind("[::]:0") {
            let d = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
            d.set_only_v6(true).unwrap();
            d.bind(&"[::]:0".parse::<SocketAddr>().unwrap().into())
                .unwrap();
            let d: UdpSocket = d.into();
            v6only.insert(d.local_addr().unwrap().port());
            socks.push(c);
            socks.push(d);
            if let Ok(e) = UdpSocket::bind("[::1]:0") {
                e.connect(("::1", socks[2].local_addr().unwrap().port()))
                    .unwrap();
                socks.push(e);
            }
            if let Ok(f) = UdpSocket::bind("[::ffff:127.0.0.1]:0") {
                socks.push(f);
            }
        } else {
            println!("note: no IPv6 here; testing IPv4 sockets only");
        }
        // Wait until the datagrams are queued at the receiver.
        let a_ino = inode_of(&socks[0]);
        wait_for(|| {
            proc_table("/proc/net/udp", L4Proto::Udp, |r| r.inode == a_ino)
                .is_some_and(|(_, rows)| rows.first().is_some_and(|r| r.rx_queue > 0))
        });
        UdpFixture { socks, v6only }
    }

    fn ports(&self) -> HashSet<u16> {
        self.socks
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect()
    }

    fn fds(&self) -> HashMap<u64, i32> {
        self.socks
            .iter()
            .map(|s| (inode_of(s), s.as_raw_fd()))
            .collect()
    }

    /// Our rows from /proc/net/udp and udp6, in file order.
    fn rows(&self) -> Option<Vec<InetSockRow>> {
        let ports = self.ports();
        let keep = |r: &InetSockRow| ports.contains(&r.local.port());
        let (_, mut rows) = proc_table("/proc/net/udp", L4Proto::Udp, keep)?;
        if let Some((_, rows6)) = proc_table("/proc/net/udp6", L4Proto::Udp, keep) {
            rows.extend(rows6);
        }
        for r in &mut rows {
            r.v6only = self.v6only.contains(&r.local.port());
        }
        Some(rows)
    }
}

/// A listener with backlog 7, a connection to it with unread data, and a
/// connection in TIME-WAIT; IPv4, plus IPv6 when the machine has it.
struct TcpFixture {
    listeners: Vec<TcpListener>,
    streams: Vec<TcpStream>,
    ports: HashSet<u16>,
}

const BACKLOG: i32 = 7;

impl TcpFixture {
    fn new() -> TcpFixture {
        let mut fx = TcpFixture {
            listeners: Vec::new(),
            streams: Vec::new(),
            ports: HashSet::new(),
        };
        fx.add("127.0.0.1:0");
        if fx.add_checked("[::1]:0").is_none() {
            println!("note: no IPv6 here; testing IPv4 sockets only");
        }
        fx
    }

    fn add(&mut self, addr: &str) {
        self.add_checked(addr).unwrap();
    }

    fn add_checked(&mut self, addr: &str) -> Option<()> {
        let addr: SocketAddr = addr.parse().unwrap();
        let l = Socket::new(Domain::for_address(addr), Type::STREAM, None).ok()?;
        l.bind(&addr.into()).ok()?;
        l.listen(BACKLOG).ok()?;
        let l: TcpListener = l.into();
        let laddr = l.local_addr().unwrap();
        self.ports.insert(laddr.port());

        // An established pair; the client keeps a keepalive timer running,
        // and the server has 5 unread bytes.
        let c = TcpStream::connect(laddr).unwrap();
        socket2::SockRef::from(&c).set_keepalive(true).unwrap();
        let (s, _) = l.accept().unwrap();
        std::io::Write::write_all(&mut &c, b"hello").unwrap();
        self.ports.insert(c.local_addr().unwrap().port());

        // A pair closed client-first leaves the client in TIME-WAIT.
        let tw = TcpStream::connect(laddr).unwrap();
        let tw_port = tw.local_addr().unwrap().port();
        self.ports.insert(tw_port);
        let (tws, _) = l.accept().unwrap();
        drop(tw);
        drop(tws);
        let file = if laddr.is_ipv4() {
            "/proc/net/tcp"
        } else {
            "/proc/net/tcp6"
        };
        wait_for(|| {
            proc_table(file, L4Proto::Tcp, |r| r.local.port() == tw_port)
                .is_some_and(|(_, rows)| rows.iter().any(|r| r.state == TCP_TIME_WAIT))
        });
        wait_for(|| {
            proc_table(file, L4Proto::Tcp, |r| {
                r.local.port() == laddr.port() && r.rx_queue == 5
            })
            .is_some_and(|(_, rows)| !rows.is_empty())
        });
        self.listeners.push(l);
        self.streams.push(c);
        self.streams.push(s);
        Some(())
    }
}

// ------------------------------------------------------ /proc/net tables

#[test]
fn proc_net_udp_and_udp6_match_the_kernel() {
    let fx = UdpFixture::new();
    let ports = fx.ports();
    let keep = |r: &InetSockRow| ports.contains(&r.local.port());
    let Some((want, rows)) = proc_table("/proc/net/udp", L4Proto::Udp, keep) else {
        return;
    };
    assert!(rows.iter().any(|r| r.rx_queue > 0 && r.state == 7));
    assert!(rows.iter().any(|r| r.state == 1));
    assert_eq!(proc_net_udp(&rows), want);
    // Rows of other protocols and families are not listed.
    let mut mixed = rows.clone();
    mixed.push(InetSockRow {
        local: "[::1]:9".parse().unwrap(),
        ..Default::default()
    });
    mixed.push(InetSockRow {
        proto: L4Proto::Tcp,
        ..Default::default()
    });
    assert_eq!(proc_net_udp(&mixed), want);

    if let Some((want6, rows6)) = proc_table("/proc/net/udp6", L4Proto::Udp, keep) {
        assert!(rows6.len() >= 2, "{want6}");
        assert_eq!(proc_net_udp6(&rows6), want6);
    }
}

#[test]
fn proc_net_tcp_and_tcp6_match_the_kernel() {
    let fx = TcpFixture::new();
    let ports = &fx.ports;
    let keep =
        |r: &InetSockRow| ports.contains(&r.local.port()) || ports.contains(&r.remote.port());
    let Some((want, rows)) = proc_table("/proc/net/tcp", L4Proto::Tcp, keep) else {
        return;
    };
    let states: HashSet<u8> = rows.iter().map(|r| r.state).collect();
    assert!(
        states.contains(&TCP_LISTEN) && states.contains(&1) && states.contains(&TCP_TIME_WAIT),
        "{want}"
    );
    assert!(
        rows.iter().any(|r| r.timer == 2),
        "a keepalive timer: {want}"
    );
    assert_eq!(proc_net_tcp(&rows), want);

    if let Some((want6, rows6)) = proc_table("/proc/net/tcp6", L4Proto::Tcp, keep) {
        assert_eq!(proc_net_tcp6(&rows6), want6);
    }
}

#[test]
fn proc_net_raw_and_raw6_match_the_kernel() {
    let v4 = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4));
    let v4 = match v4 {
        Ok(s) => s,
        Err(e) => {
            println!("skipping: cannot open a raw socket: {e}");
            return;
        }
    };
    let v4c = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(253))).unwrap();
    v4c.connect(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let inodes: HashSet<u64> = [inode_of(&v4), inode_of(&v4c)].into();
    let keep = |r: &InetSockRow| inodes.contains(&r.inode);
    let Some((want, rows)) = proc_table("/proc/net/raw", L4Proto::Raw, keep) else {
        return;
    };
    assert_eq!(rows.len(), 2, "{want}");
    assert_eq!(proc_net_raw(&rows), want);

    // ss -w shows the protocol number as the local port.
    let ports = [253u16].into();
    eventually_equal("ss -wan", || {
        let (_, rows) = proc_table("/proc/net/raw", L4Proto::Raw, keep)?;
        let real = run_ss("-wan", &ports)?;
        let ours: Vec<InetSockRow> = rows.into_iter().filter(|r| r.local.port() == 253).collect();
        Some((ss(&ours, SsOpts::from_flags("-wan").unwrap()), real))
    });

    if let Ok(v6) = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)) {
        let ino = inode_of(&v6);
        if let Some((want6, rows6)) = proc_table("/proc/net/raw6", L4Proto::Raw, |r| r.inode == ino)
        {
            assert_eq!(rows6.len(), 1, "{want6}");
            assert_eq!(proc_net_raw6(&rows6), want6);
        }
    }
}

#[test]
fn proc_net_softnet_stat_matches_the_kernel() {
    let Some(text) = read_proc("/proc/net/softnet_stat") else {
        return;
    };
    let mut rows = Vec::new();
    for line in text.lines() {
        let c: Vec<u32> = line
            .split_whitespace()
            .map(|w| u32::from_str_radix(w, 16).unwrap())
            .collect();
        assert_eq!(c.len(), 15, "Linux 6.18 prints 15 columns: {line}");
        // The columns that were fastroute and cpu_collision stay zero.
        assert!(c[3..9].iter().all(|&v| v == 0), "{line}");
        assert_eq!(c[11], c[13] + c[14], "backlog = input + process: {line}");
        rows.push(SoftnetRow {
            processed: c[0],
            dropped: c[1],
            time_squeeze: c[2],
            received_rps: c[9],
            flow_limit_count: c[10],
            backlog_len: c[11],
            cpu: c[12],
            process_qlen: c[14],
        });
    }
    assert_eq!(proc_net_softnet_stat(&rows), text);
}

/// `/proc/net/snmp`-style tables parsed into (prefix, [(name, value)]).
fn parse_snmp(text: &str) -> Vec<(String, Vec<(String, i64)>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut tables = Vec::new();
    for pair in lines.chunks(2) {
        let [names, values] = pair else {
            panic!("odd line count: {text}");
        };
        let (prefix, names) = names.split_once(": ").unwrap();
        let (prefix2, values) = values.split_once(": ").unwrap();
        assert_eq!(prefix, prefix2);
        let fields = names
            .split(' ')
            .zip(values.split(' '))
            .map(|(n, v)| (n.to_string(), v.parse().unwrap()))
            .collect();
        tables.push((prefix.to_string(), fields));
    }
    tables
}

fn format_snmp(tables: &[(String, Vec<(String, i64)>)]) -> String {
    let fields: Vec<Vec<(&str, i64)>> = tables
        .iter()
        .map(|(_, f)| f.iter().map(|(n, v)| (n.as_str(), *v)).collect())
        .collect();
    let args: Vec<(&str, &[(&str, i64)])> = tables
        .iter()
        .zip(&fields)
        .map(|((p, _), f)| (p.as_str(), f.as_slice()))
        .collect();
    proc_net_snmp(&args)
}

#[test]
fn proc_net_snmp_and_netstat_match_the_kernel() {
    for path in ["/proc/net/snmp", "/proc/net/netstat"] {
        let Some(text) = read_proc(path) else {
            continue;
        };
        let tables = parse_snmp(&text);
        assert!(!tables.is_empty());
        assert_eq!(format_snmp(&tables), text, "{path}");
    }
}

// ------------------------------------------------------------------ nstat

#[test]
fn nstat_matches_real_nstat() {
    let hist = std::env::temp_dir().join(format!("stack-nstat-{}", std::process::id()));
    let hist_s = hist.to_string_lossy().into_owned();
    let out = run("nstat", &["-az"], &[("NSTAT_HISTORY", &hist_s)]);
    let _ = std::fs::remove_file(&hist);
    let Some(out) = out else {
        return;
    };
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("#kernel"));
    let mut counters = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "{line}");
        if f[2] != "0.0" {
            println!("skipping: nstat reports rates (a daemon is running)");
            return;
        }
        counters.push(Counter {
            name: f[0].to_string(),
            value: f[1].parse().unwrap(),
        });
    }
    assert_eq!(nstat(&counters, NstatOpts { zeros: true }), out);

    // Without -z the zero counters go.
    let nonzero: String = out
        .split_inclusive('\n')
        .filter(|l| l.starts_with('#') || l.split_whitespace().nth(1) != Some("0"))
        .collect();
    assert_eq!(nstat(&counters, NstatOpts { zeros: false }), nonzero);

    // nstat's names are the /proc tables' in its order (snmp, snmp6,
    // netstat), minus the configuration values; ours drops the same ones.
    let mut all = Vec::new();
    for path in ["/proc/net/snmp", "/proc/net/snmp6", "/proc/net/netstat"] {
        let Some(text) = read_proc(path) else {
            return;
        };
        if path.ends_with("snmp6") {
            for line in text.lines() {
                if let Some(name) = line.split_whitespace().next() {
                    all.push(Counter {
                        name: name.to_string(),
                        value: 1,
                    });
                }
            }
        } else {
            for (prefix, fields) in parse_snmp(&text) {
                for (name, _) in fields {
                    all.push(Counter {
                        name: format!("{prefix}{name}"),
                        value: 1,
                    });
                }
            }
        }
    }
    if std::path::Path::new("/proc/net/sctp/snmp").exists() {
        println!("skipping the name check: SCTP counters come first");
        return;
    }
    let ours: Vec<String> = nstat(&all, NstatOpts { zeros: true })
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    let theirs: Vec<String> = counters.iter().map(|c| c.name.clone()).collect();
    assert_eq!(ours, theirs);
}

// --------------------------------------------------------------------- ss

/// `sport = :P or sport = :Q …`: only our sockets.
fn ss_filter(ports: &HashSet<u16>) -> Vec<String> {
    let mut ports: Vec<u16> = ports.iter().copied().collect();
    ports.sort_unstable();
    let mut args = Vec::new();
    for p in ports {
        if !args.is_empty() {
            args.push("or".to_string());
        }
        args.extend(["sport".to_string(), "=".to_string(), format!(":{p}")]);
    }
    args
}

fn run_ss(flags: &str, ports: &HashSet<u16>) -> Option<String> {
    let mut args = vec![flags.to_string()];
    args.extend(ss_filter(ports));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("ss", &args, &[])
}

fn with_process(rows: &mut [InetSockRow], fds: &HashMap<u64, i32>) {
    let comm = own_comm();
    for r in rows {
        if let Some(fd) = fds.get(&r.inode) {
            r.process = Some((comm.clone(), std::process::id(), *fd));
        }
    }
}

#[test]
fn ss_udp_matches_real_ss() {
    let fx = UdpFixture::new();
    for flags in ["-uan", "-uanp", "-uln", "-un"] {
        eventually_equal(&format!("ss {flags}"), || {
            let mut rows = fx.rows()?;
            with_process(&mut rows, &fx.fds());
            let real = run_ss(flags, &fx.ports())?;
            Some((ss(&rows, SsOpts::from_flags(flags).unwrap()), real))
        });
    }
}

fn tcp_rows(fx: &TcpFixture) -> Option<Vec<InetSockRow>> {
    let ports = &fx.ports;
    let keep = |r: &InetSockRow| ports.contains(&r.local.port());
    let (_, mut rows) = proc_table("/proc/net/tcp", L4Proto::Tcp, keep)?;
    if let Some((_, rows6)) = proc_table("/proc/net/tcp6", L4Proto::Tcp, keep) {
        rows.extend(rows6);
    }
    for r in &mut rows {
        if r.state == TCP_LISTEN {
            r.tx_queue = BACKLOG as u32;
        }
    }
    Some(rows)
}

#[test]
fn ss_tcp_and_udp_match_real_ss() {
    let udp = UdpFixture::new();
    let tcp = TcpFixture::new();
    let fds = all_fds(&udp, &tcp);
    let ports: HashSet<u16> = udp.ports().union(&tcp.ports).copied().collect();
    for flags in ["-tan", "-tanp", "-tuan", "-tuanp", "-tn", "-tln"] {
        eventually_equal(&format!("ss {flags}"), || {
            let mut rows = udp.rows()?;
            rows.extend(tcp_rows(&tcp)?);
            with_process(&mut rows, &fds);
            let real = run_ss(flags, &ports)?;
            Some((ss(&rows, SsOpts::from_flags(flags).unwrap()), real))
        });
    }
}

fn all_fds(udp: &UdpFixture, tcp: &TcpFixture) -> HashMap<u64, i32> {
    let mut fds = udp.fds();
    for l in &tcp.listeners {
        fds.insert(inode_of(l), l.as_raw_fd());
    }
    for s in &tcp.streams {
        fds.insert(inode_of(s), s.as_raw_fd());
    }
    fds
}

/// On a terminal ss spreads the spare width over the columns; `script`
/// gives it one.
#[test]
fn ss_on_a_terminal_matches_real_ss() {
    let fx = UdpFixture::new();
    let filter = ss_filter(&fx.ports()).join(" ");
    // 60 columns is too narrow for one line, so the layout wraps too.
    for (flags, cols) in [
        ("-uan", 60usize),
        ("-uan", 80),
        ("-uanp", 100),
        ("-uan", 160),
    ] {
        eventually_equal(&format!("ss {flags} on {cols} columns"), || {
            let mut rows = fx.rows()?;
            with_process(&mut rows, &fx.fds());
            let cmd = format!("stty cols {cols}; ss {flags} {filter}");
            let real = run("script", &["-qec", &cmd, "/dev/null"], &[])?;
            let real = real.replace("\r\n", "\n");
            if !real.starts_with("State") {
                println!("skipping: unexpected output from script: {real:?}");
                return None;
            }
            let opts = SsOpts {
                screen_width: Some(cols),
                ..SsOpts::from_flags(flags).unwrap()
            };
            Some((ss(&rows, opts), real))
        });
    }
}

// ---------------------------------------------------------------- netstat

/// The port of a `netstat` address column (`127.0.0.1:5000`, `:::*`).
fn netstat_port(col: &str) -> Option<u16> {
    col.rsplit(':').next()?.parse().ok()
}

#[test]
fn netstat_matches_real_netstat() {
    let udp = UdpFixture::new();
    let tcp = TcpFixture::new();
    let fds = all_fds(&udp, &tcp);
    let (udp_ports, tcp_ports) = (udp.ports(), tcp.ports.clone());
    // netstat -p shows argv[0]'s basename, not comm.
    let prog = std::env::args()
        .next()
        .and_then(|a| a.rsplit('/').next().map(str::to_string))
        .unwrap_or_default();

    for (flags, opts) in [
        ("-an", NetstatOpts::default()),
        ("-anp", NetstatOpts { programs: true }),
    ] {
        eventually_equal(&format!("netstat {flags}"), || {
            // netstat reads /proc in the order tcp, tcp6, udp, udp6.
            let mut rows = tcp_rows(&tcp)?;
            rows.extend(udp.rows()?);
            for r in &mut rows {
                if let Some(fd) = fds.get(&r.inode) {
                    r.process = Some((prog.clone(), std::process::id(), *fd));
                }
            }
            let real = run("netstat", &[flags], &[])?;
            // The Internet part: the two header lines, then our sockets.
            let mut want = String::new();
            for (i, line) in real.split_inclusive('\n').enumerate() {
                if line.starts_with("Active UNIX") {
                    break;
                }
                // Ours by the protocol and the local port: every socket of
                // the fixtures has one of its ports there. (Not by the
                // foreign port: another test's connection to a port number
                // one of ours also uses, on the other address family, is
                // not ours; nor is another test's TCP socket on a port
                // number one of our UDP sockets has.)
                let f: Vec<&str> = line.split_whitespace().collect();
                let ports = if f.first().is_some_and(|p| p.starts_with("tcp")) {
                    &tcp_ports
                } else {
                    &udp_ports
                };
                let ours = f.len() >= 5 && netstat_port(f[3]).is_some_and(|p| ports.contains(&p));
                if i < 2 || ours {
                    want.push_str(line);
                }
            }
            Some((netstat(&rows, opts), want))
        });
    }
}

// --------------------------------------------------------------------- ip

/// Flag names as `&'static str`, as [`IfStatsRow`] wants them.
fn static_flag(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

/// One `ip -s link` block parsed back; `None` if it has anything our row
/// does not model (altname, link-netnsid, master, xdp …).
fn parse_link_block(lines: &[&str]) -> Option<IfStatsRow> {
    if lines.len() != 6 {
        return None;
    }
    let head: Vec<&str> = lines[0].split(' ').collect();
    let ifindex = head.first()?.strip_suffix(':')?.parse().ok()?;
    let name = head.get(1)?.strip_suffix(':')?.to_string();
    let flags = head
        .get(2)?
        .strip_prefix('<')?
        .strip_suffix('>')?
        .split(',')
        .filter(|f| !f.is_empty())
        .map(static_flag)
        .collect();
    let mut row = IfStatsRow {
        ifindex,
        name,
        flags,
        ..Default::default()
    };
    let mut kv = head[3..].iter().filter(|s| !s.is_empty());
    while let Some(&k) = kv.next() {
        let v = *kv.next()?;
        match (k, v) {
            ("mtu", v) => row.mtu = v.parse().ok()?,
            ("qdisc", v) => row.qdisc = v.to_string(),
            ("state", v) => row.state = v.to_string(),
            ("mode", "DEFAULT") | ("group", "default") => {}
            ("qlen", v) => row.qlen = v.parse().ok()?,
            _ => return None,
        }
    }
    let link: Vec<&str> = lines[1].split_whitespace().collect();
    row.link_type = link.first()?.strip_prefix("link/")?.to_string();
    match link.as_slice() {
        [_] => {}
        [_, mac] => row.mac = (*mac).to_string(),
        [_, mac, "brd", brd] => {
            row.mac = (*mac).to_string();
            row.brd = (*brd).to_string();
        }
        _ => return None,
    }
    let nums = |l: &str| -> Option<Vec<u64>> {
        let v: Vec<u64> = l
            .split_whitespace()
            .map(|w| w.parse().ok())
            .collect::<Option<_>>()?;
        (v.len() == 6).then_some(v)
    };
    let rx = nums(lines[3])?;
    let tx = nums(lines[5])?;
    (
        row.rx_bytes,
        row.rx_packets,
        row.rx_errors,
        row.rx_dropped,
        row.rx_missed,
        row.rx_mcast,
    ) = (rx[0], rx[1], rx[2], rx[3], rx[4], rx[5]);
    (
        row.tx_bytes,
        row.tx_packets,
        row.tx_errors,
        row.tx_dropped,
        row.tx_carrier,
        row.tx_collisions,
    ) = (tx[0], tx[1], tx[2], tx[3], tx[4], tx[5]);
    Some(row)
}

#[test]
fn ip_s_link_matches_real_ip() {
    let Some(lo) = run("ip", &["-s", "link", "show", "lo"], &[]) else {
        return;
    };
    let lines: Vec<&str> = lo.lines().collect();
    let row = parse_link_block(&lines).expect("lo parses");
    assert_eq!(ip_s_link(&[row]), lo);

    let Some(all) = run("ip", &["-s", "link"], &[]) else {
        return;
    };
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in all.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            blocks.push(Vec::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push(line);
        }
    }
    for b in blocks {
        match parse_link_block(&b) {
            Some(row) => {
                let want: String = b.iter().map(|l| format!("{l}\n")).collect();
                assert_eq!(ip_s_link(&[row]), want);
            }
            None => println!("note: not modelled, skipped: {}", b[0]),
        }
    }
}

fn parse_neigh(line: &str) -> Option<NeighRow> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let dst = f.first()?.parse().ok()?;
    let mut row = NeighRow {
        dst,
        dev: String::new(),
        lladdr: None,
        router: false,
        state: NudState::Failed,
    };
    let mut i = 1;
    let mut state = None;
    while i < f.len() {
        match f[i] {
            "dev" => {
                row.dev = f.get(i + 1)?.to_string();
                i += 1;
            }
            "lladdr" => {
                row.lladdr = Some(f.get(i + 1)?.to_string());
                i += 1;
            }
            "router" => row.router = true,
            s => {
                state = Some(match s {
                    "INCOMPLETE" => NudState::Incomplete,
                    "REACHABLE" => NudState::Reachable,
                    "STALE" => NudState::Stale,
                    "DELAY" => NudState::Delay,
                    "PROBE" => NudState::Probe,
                    "FAILED" => NudState::Failed,
                    "NOARP" => NudState::Noarp,
                    "PERMANENT" => NudState::Permanent,
                    _ => return None,
                });
                if i + 1 != f.len() {
                    return None;
                }
            }
        }
        i += 1;
    }
    row.state = state?;
    Some(row)
}

#[test]
fn ip_neigh_matches_real_ip() {
    let Some(real) = run("ip", &["neigh"], &[]) else {
        return;
    };
    if real.is_empty() {
        println!("note: the neighbour table is empty");
    }
    for line in real.split_inclusive('\n') {
        match parse_neigh(line) {
            Some(row) => assert_eq!(ip_neigh(&[row]), line),
            None => println!("note: not modelled, skipped: {line}"),
        }
    }
}

fn parse_route(line: &str) -> Option<RouteRow> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let mut row = RouteRow::default();
    let mut i = 0;
    if matches!(
        f.first(),
        Some(&("local" | "broadcast" | "unreachable" | "blackhole" | "prohibit" | "multicast"))
    ) {
        row.route_type = Some(f[0].to_string());
        i = 1;
    }
    let dst = *f.get(i)?;
    if dst != "default" {
        row.dst = Some(match dst.split_once('/') {
            Some((a, l)) => (a.parse().ok()?, l.parse().ok()?),
            None => {
                let a: IpAddr = dst.parse().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        });
    }
    i += 1;
    while i < f.len() {
        let v = f.get(i + 1).copied();
        match f[i] {
            "via" => row.via = Some(v?.parse().ok()?),
            "dev" => row.dev = Some(v?.to_string()),
            "proto" => row.proto = Some(v?.to_string()),
            "scope" => row.scope = Some(v?.to_string()),
            "src" => row.src = Some(v?.parse().ok()?),
            "metric" => row.metric = Some(v?.parse().ok()?),
            "pref" => row.pref = Some(v?.to_string()),
            "onlink" => {
                row.onlink = true;
                i += 1;
                continue;
            }
            "linkdown" => {
                row.linkdown = true;
                i += 1;
                continue;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(row)
}

#[test]
fn ip_route_matches_real_ip() {
    for args in [
        &["route"][..],
        &["-6", "route"][..],
        &["route", "show", "table", "local"][..],
    ] {
        let Some(real) = run("ip", args, &[]) else {
            return;
        };
        for line in real.split_inclusive('\n') {
            match parse_route(line) {
                Some(row) => assert_eq!(ip_route(&[row]), line, "ip {}", args.join(" ")),
                None => println!("note: not modelled, skipped: {line}"),
            }
        }
    }
}
