//! Differential tests of a listener's SYN queue: how many half-open
//! requests `tcp_conn_request()` admits before it answers with SYN cookies
//! or drops SYNs, with a listener that never calls `accept()`.
//!
//! `inet_csk_reqsk_queue_is_full()` (include/net/inet_connection_sock.h)
//! is `inet_csk_reqsk_queue_len(sk) > sk_max_ack_backlog` since early 2025
//! ("tcp/dccp: allow a connection when sk_max_ack_backlog is zero"; it was
//! `>=` before), so the SYN queue takes backlog + 1 requests, as the
//! accept queue takes backlog + 1 children (`sk_acceptq_is_full()`).
//!
//! On plain loopback a handshake completes inside the client's `connect()`
//! (the SYN, SYN-ACK and ACK are processed in softirq before it returns),
//! so the SYN queue never holds more than one request and only the accept
//! queue decides. To let requests pile up, the real runs happen in a
//! network namespace of their own (a thread that `unshare(CLONE_NEWNET)`s;
//! the machine's sysctls are untouched) whose `lo` sends through a slow
//! token bucket (`tc qdisc add dev lo root tbf rate 64kbit`: about 9 ms a
//! packet; this kernel has no `netem`): the SYNs queue in it, and the
//! SYN-ACKs, then the final ACKs, queue behind them (one FIFO), so every
//! SYN reaches the listener before any final ACK. The simulation puts the
//! clients and the listener on two hosts joined by a link with
//! `DELAY_MS` of latency: there too every SYN arrives before any final
//! ACK. Both sides sample `ss -tan` and the listener's counters
//! `SAMPLE_MS` after the burst of connects, once the handshakes are over
//! (about 25 packets on the real side; in the simulation an ARP exchange
//! and 3 latencies) and before the first SYN or SYN-ACK retransmission
//! (1 s).

use std::process::Command;
use std::time::Duration;

use stack::prelude::*;

mod common;
use common::*;

/// One-way delay of every packet in the simulation.
const DELAY_MS: u64 = 50;
/// When the queues and counters are sampled, from the first `connect()`.
const SAMPLE_MS: u64 = 500;
/// Clients per scenario.
const CLIENTS: usize = 8;
const PORT: u16 = 5555;

#[derive(Clone, Copy, Debug)]
struct Scenario {
    backlog: i32,
    /// `net.ipv4.tcp_syncookies`.
    syncookies: u8,
    /// Let every SYN arrive before any final ACK (else plain loopback).
    delayed: bool,
    /// Clients that connect, and are left time to finish their handshakes,
    /// before the `CLIENTS` connect at once.
    early: usize,
}

/// How long the early clients are given (in the simulation: ARP, then a
/// handshake, 5 latencies).
const EARLY_MS: u64 = 300;

/// What is stable at `SAMPLE_MS`.
#[derive(Debug, PartialEq)]
struct Seen {
    /// Clients in ESTAB and in SYN-SENT.
    clients_established: usize,
    clients_syn_sent: usize,
    /// Requests the listener holds in SYN-RECV.
    syn_recv: usize,
    /// The listener's Recv-Q (accept queue length) and Send-Q (backlog).
    listener: Option<(u32, u32)>,
    /// Counters of the listener's namespace.
    listen_overflows: u64,
    listen_drops: u64,
    syncookies_sent: u64,
}

/// Counts of `ss -tan` output: (ESTAB clients, SYN-SENT clients,
/// SYN-RECV on the listener's port, the listener's queues).
fn count_ss(text: &str) -> (usize, usize, usize, Option<(u32, u32)>) {
    let (mut est, mut sent, mut recv, mut listener) = (0, 0, 0, None);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let local_port = f[3].rsplit(':').next() == Some(&PORT.to_string()[..]);
        let peer_port = f[4].rsplit(':').next() == Some(&PORT.to_string()[..]);
        match f[0] {
            "LISTEN" if local_port => {
                listener = Some((f[1].parse().unwrap_or(0), f[2].parse().unwrap_or(0)));
            }
            "ESTAB" if peer_port => est += 1,
            "SYN-SENT" if peer_port => sent += 1,
            "SYN-RECV" if local_port => recv += 1,
            _ => {}
        }
    }
    (est, sent, recv, listener)
}

/// One `TcpExt:` counter of this thread's namespace (`/proc/thread-self`:
/// `/proc/net` would show the main thread's).
fn real_tcpext(field: &str) -> u64 {
    real_mib("TcpExt", field)
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .expect("the tool runs");
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The scenario on this machine's kernel, in a fresh namespace; `None`
/// when this process may not make one (not root).
fn real_side(sc: Scenario) -> Option<Seen> {
    std::thread::spawn(move || {
        use nix::sched::{CloneFlags, unshare};
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
            return None;
        }
        // Children (ip, tc, ss) start in this thread's namespace.
        run("ip", &["link", "set", "lo", "up"]);
        if sc.delayed {
            run(
                "tc",
                &[
                    "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "64kbit", "burst", "128",
                    "limit", "100000",
                ],
            );
        }
        std::fs::write(
            "/proc/sys/net/ipv4/tcp_syncookies",
            sc.syncookies.to_string(),
        )
        .expect("set the namespace's tcp_syncookies");
        let l = real_listener(PORT, sc.backlog);
        let to = sockaddr(&local(PORT));
        let connect = |_| {
            let c = tcp4();
            c.set_nonblocking(true).unwrap();
            let r = real(c.connect(&to));
            assert_eq!(r, Err("EINPROGRESS"), "a non-blocking connect");
            c
        };
        let mut clients: Vec<_> = (0..sc.early).map(connect).collect();
        if sc.early > 0 {
            std::thread::sleep(Duration::from_millis(EARLY_MS));
        }
        clients.extend((0..CLIENTS).map(connect));
        std::thread::sleep(Duration::from_millis(SAMPLE_MS));
        let (clients_established, clients_syn_sent, syn_recv, listener) =
            count_ss(&run("ss", &["-tan"]));
        let seen = Seen {
            clients_established,
            clients_syn_sent,
            syn_recv,
            listener,
            listen_overflows: real_tcpext("ListenOverflows"),
            listen_drops: real_tcpext("ListenDrops"),
            syncookies_sent: real_tcpext("SyncookiesSent"),
        };
        drop((clients, l));
        println!("real kernel, {sc:?}: {seen:#?}");
        Some(seen)
    })
    .join()
    .expect("the namespace thread")
}

fn sim_side(sc: Scenario) -> Seen {
    let mut world = Sim::new(1);
    world.set_tracing(std::env::var("SIMTRACE").is_ok());
    let (client_host, server_host, server_ip) = if sc.delayed {
        let a = world.add_host("client");
        let b = world.add_host("server");
        let cfg = LinkConfig::default().latency(ms(DELAY_MS));
        world.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
        (a, b, "10.0.0.2")
    } else {
        let h = world.add_host("box");
        (h, h, "127.0.0.1")
    };
    for h in [client_host, server_host] {
        world
            .sysctl(h, "net.ipv4.tcp_syncookies", &sc.syncookies.to_string())
            .expect("a valid tcp_syncookies");
    }
    world.spawn(server_host, "server", move |p| async move {
        let _l = sim_listener_on(&p, server_ip, PORT, sc.backlog)?;
        p.sleep(secs(2)).await;
        Ok(())
    });
    world.spawn(client_host, "clients", move |p| async move {
        p.sleep(ms(1)).await;
        let mut fds = Vec::new();
        for i in 0..sc.early + CLIENTS {
            if i == sc.early && sc.early > 0 {
                p.sleep(ms(EARLY_MS)).await;
            }
            let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            let r = sim(p.connect(c, format!("{server_ip}:{PORT}")).await);
            assert_eq!(r, Err("EINPROGRESS"), "a non-blocking connect");
            fds.push(c);
        }
        p.sleep(secs(2)).await;
        Ok(())
    });
    let early = if sc.early > 0 { EARLY_MS } else { 0 };
    world.run_until(ms(1 + early + SAMPLE_MS));
    if std::env::var("SIMTRACE").is_ok() {
        println!("{}", world.trace_text());
    }
    let (clients_established, clients_syn_sent, _, _) = count_ss(&world.sh(client_host, "ss -tan"));
    let (_, _, syn_recv, listener) = count_ss(&world.sh(server_host, "ss -tan"));
    Seen {
        clients_established,
        clients_syn_sent,
        syn_recv,
        listener,
        listen_overflows: world.counter(server_host, Mib::TcpExtListenOverflows),
        listen_drops: world.counter(server_host, Mib::TcpExtListenDrops),
        syncookies_sent: world.counter(server_host, Mib::TcpExtSyncookiesSent),
    }
}

fn compare(sc: Scenario) {
    let Some(real) = real_side(sc) else {
        return;
    };
    same(&format!("{sc:?}"), real, sim_side(sc));
}

/// The machine's own `net.ipv4.tcp_syncookies` (1 by default: cookies
/// once the SYN queue is full).
fn host_syncookies() -> u8 {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_syncookies")
        .expect("tcp_syncookies")
        .trim()
        .parse()
        .expect("a number")
}

/// All SYNs arrive before any final ACK: the SYN queue admits
/// backlog + 1 requests, the later SYNs get cookies (or are dropped);
/// at the final ACKs the accept queue takes backlog + 1 children and
/// drops the rest (`ListenOverflows`).
#[test]
fn syn_queue_holds_backlog_plus_one() {
    for syncookies in [host_syncookies(), 0] {
        for backlog in [0, 2] {
            compare(Scenario {
                backlog,
                syncookies,
                delayed: true,
                early: 0,
            });
        }
    }
}

/// Plain loopback: each handshake completes inside `connect()`, so only
/// the accept queue limits; backlog 0 still lets one connection in.
#[test]
fn without_delay_the_accept_queue_decides() {
    for syncookies in [host_syncookies(), 0] {
        for backlog in [0, 2] {
            compare(Scenario {
                backlog,
                syncookies,
                delayed: false,
                early: 0,
            });
        }
    }
}

/// One child already waits in the accept queue when the burst comes: the
/// SYN queue still admits backlog + 1 requests, but only backlog of them
/// find room in the accept queue at their final ACK; the last stays in
/// SYN-RECV (`tcp_check_req()` marks it `acked` and drops the ACK,
/// counting `ListenOverflows`), its client ESTABLISHED.
#[test]
fn a_request_left_in_syn_recv_by_a_full_accept_queue() {
    for syncookies in [host_syncookies(), 0] {
        compare(Scenario {
            backlog: 2,
            syncookies,
            delayed: true,
            early: 1,
        });
    }
}

/// What a client whose SYNs a full accept queue drops sees counted, 1.5 s
/// in: its SYN and one retransmission (at 1 s, whichever schedule).
#[derive(Debug, PartialEq)]
struct DroppedSyn {
    out_segs: u64,
    retrans_segs: u64,
    listen_overflows: u64,
    listen_drops: u64,
}

/// `listen(fd, 0)` with one connection already in the accept queue (full
/// at backlog + 1) and `tcp_syncookies` 0: the next client's SYN is
/// dropped and resent. `TcpOutSegs` counts the SYN once, as
/// `__tcp_transmit_skb()` counts only segments past `snd_nxt`; the resent
/// one is in `TcpRetransSegs`.
#[test]
fn a_dropped_syn_is_resent_and_counted_once() {
    dropped_syn_after(1500);
}

/// The same, 3.5 s in: Linux 6.5 and later resend a SYN at fixed 1 s steps
/// first (`tcp_syn_linear_timeouts`, 4), so three retransmissions have
/// gone, where the classic backoff (1 s, 2 s, 4 s) would have sent two.
#[test]
fn the_first_syn_retransmissions_are_a_second_apart() {
    dropped_syn_after(3500);
}

fn dropped_syn_after(ms_in: u64) {
    let real = std::thread::spawn(move || {
        use nix::sched::{CloneFlags, unshare};
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
            return None;
        }
        run("ip", &["link", "set", "lo", "up"]);
        std::fs::write("/proc/sys/net/ipv4/tcp_syncookies", "0").expect("tcp_syncookies");
        let l = real_listener(PORT, 0);
        let first = tcp4();
        first
            .connect(&sockaddr(&local(PORT)))
            .expect("the first connects");
        let c = tcp4();
        c.set_nonblocking(true).unwrap();
        assert_eq!(real(c.connect(&sockaddr(&local(PORT)))), Err("EINPROGRESS"));
        std::thread::sleep(Duration::from_millis(ms_in));
        let seen = DroppedSyn {
            out_segs: real_mib("Tcp", "OutSegs"),
            retrans_segs: real_mib("Tcp", "RetransSegs"),
            listen_overflows: real_mib("TcpExt", "ListenOverflows"),
            listen_drops: real_mib("TcpExt", "ListenDrops"),
        };
        drop((l, first, c));
        Some(seen)
    })
    .join()
    .expect("the namespace thread");
    let Some(real) = real else { return };
    let mut world = Sim::new(1);
    let h = world.add_host("box");
    world.sysctl(h, "net.ipv4.tcp_syncookies", "0").unwrap();
    world.spawn(h, "test", |p| async move {
        let _l = sim_listener(&p, PORT, 0)?;
        let first = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(first, local(PORT)).await?;
        let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        assert_eq!(sim(p.connect(c, local(PORT)).await), Err("EINPROGRESS"));
        p.sleep(secs(5)).await;
        Ok(())
    });
    world.run_until(ms(ms_in));
    let sim = DroppedSyn {
        out_segs: world.counter(h, Mib::TcpOutSegs),
        retrans_segs: world.counter(h, Mib::TcpRetransSegs),
        listen_overflows: world.counter(h, Mib::TcpExtListenOverflows),
        listen_drops: world.counter(h, Mib::TcpExtListenDrops),
    };
    let what = format!("a SYN dropped by a full accept queue, {ms_in} ms in");
    same(&what, real, sim);
}
