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
//! Each scenario is written once, generic over the socket API of
//! `common::inet` ([`Api`]), and runs on this machine's kernel in a network
//! namespace of its own (a thread that `unshare(CLONE_NEWNET)`s, so that
//! its `tcp_syncookies` and counters are the scenario's alone and the
//! machine's sysctls are untouched) and in the simulation; [`same`]
//! compares the two.
//!
//! On plain loopback a handshake completes inside the client's `connect()`
//! (the SYN, SYN-ACK and ACK are processed in softirq before it returns),
//! so the SYN queue never holds more than one request and only the accept
//! queue decides. To let requests pile up, the real namespace's `lo` sends
//! through a slow token bucket (`tc qdisc add dev lo root tbf rate 64kbit`:
//! about 9 ms a packet; this kernel has no `netem`): the SYNs queue in it,
//! and the SYN-ACKs, then the final ACKs, queue behind them (one FIFO), so
//! every SYN reaches the listener before any final ACK. The simulation has
//! no traffic control; there the clients and the listener are on two hosts
//! joined by a link with `DELAY_MS` of latency, so that there too every
//! SYN arrives before any final ACK. That is the one split: a simulated
//! process lives on one host, so the scenario's steps (the same generic
//! functions) are divided between a listener process and a clients process
//! ([`burst_over_a_link`]). Both sides sample `ss -tan` and the listener's
//! counters `SAMPLE_MS` after the burst of connects, once the handshakes
//! are over (about 25 packets on the real side; in the simulation an ARP
//! exchange and 3 latencies) and before the first SYN or SYN-ACK
//! retransmission (1 s).

use std::process::Command;
use std::time::Duration;

use stack::prelude::*;

mod common;
use common::inet::*;
use common::*;

/// One-way delay of every packet in the simulation.
const DELAY_MS: u64 = 50;
/// When the queues and counters are sampled, from the first `connect()`.
const SAMPLE: Duration = Duration::from_millis(500);
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
const EARLY: Duration = Duration::from_millis(300);

/// What is stable at `SAMPLE`.
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

/// What the listener's namespace shows: its `ss -tan` and counters.
struct ListenerView {
    ss: String,
    counters: [u64; 3],
}

fn listener_view<A: Api>(a: &A) -> ListenerView {
    ListenerView {
        ss: a.sh("ss -tan"),
        counters: ["ListenOverflows", "ListenDrops", "SyncookiesSent"].map(|f| a.mib("TcpExt", f)),
    }
}

/// `clients_ss`: `ss -tan` where the clients are.
fn seen(clients_ss: &str, at_listener: &ListenerView) -> Seen {
    let (clients_established, clients_syn_sent, _, _) = count_ss(clients_ss);
    let (_, _, syn_recv, listener) = count_ss(&at_listener.ss);
    let [listen_overflows, listen_drops, syncookies_sent] = at_listener.counters;
    Seen {
        clients_established,
        clients_syn_sent,
        syn_recv,
        listener,
        listen_overflows,
        listen_drops,
        syncookies_sent,
    }
}

async fn set_syncookies<A: Api>(a: &A, sc: Scenario) {
    a.sysctl("net.ipv4.tcp_syncookies", &sc.syncookies.to_string())
        .await;
}

/// A non-blocking connect to `ip`:`PORT`.
async fn start_connect<A: Api>(a: &A, ip: &str) -> i32 {
    let c = a.socket(SOCK_STREAM | SOCK_NONBLOCK).expect("socket");
    let r = a.connect(c, &format!("{ip}:{PORT}")).await;
    assert_eq!(r, Err("EINPROGRESS"), "a non-blocking connect");
    c
}

/// The clients' part: the early clients, the time they are given, the
/// burst, then `SAMPLE` for the handshakes.
async fn connect_burst<A: Api>(a: &A, ip: &str, sc: Scenario) -> Vec<i32> {
    let mut fds = Vec::new();
    for i in 0..sc.early + CLIENTS {
        if i == sc.early && sc.early > 0 {
            a.wait(EARLY).await;
        }
        fds.push(start_connect(a, ip).await);
    }
    a.wait(SAMPLE).await;
    fds
}

fn close_all<A: Api>(a: &A, fds: impl IntoIterator<Item = i32>) {
    for fd in fds {
        a.close(fd).expect("close");
    }
}

/// The scenario in one namespace: over loopback on the kernel (slowed down
/// there when `delayed`), and in the simulation when not `delayed`.
async fn burst<A: Api>(a: &A, sc: Scenario) -> Seen {
    set_syncookies(a, sc).await;
    let l = listener(a, PORT, sc.backlog);
    let clients = connect_burst(a, "127.0.0.1", sc).await;
    let view = listener_view(a);
    close_all(a, clients.into_iter().chain([l]));
    seen(&view.ss, &view)
}

/// The simulation's `delayed` scenario: the listener on one host, the
/// clients on another, `DELAY_MS` apart. The listener's host is sampled
/// when the clients' is: both once the handshakes are over, where nothing
/// moves until the first retransmission.
fn burst_over_a_link(sc: Scenario) -> Seen {
    let link = LinkConfig::default().latency(ms(DELAY_MS));
    let before_burst = if sc.early > 0 { EARLY } else { Duration::ZERO };
    let (at_listener, clients_ss) = in_sim_over_a_link(
        link,
        async move |a| {
            set_syncookies(a, sc).await;
            let l = listener_on(a, SERVER_IP, PORT, sc.backlog);
            a.wait(before_burst + SAMPLE).await;
            let view = listener_view(a);
            close_all(a, [l]);
            view
        },
        async move |a| {
            set_syncookies(a, sc).await;
            let clients = connect_burst(a, SERVER_IP, sc).await;
            let ss = a.sh("ss -tan");
            close_all(a, clients);
            ss
        },
    );
    seen(&clients_ss, &at_listener)
}

/// Slows down loopback in the real namespace (see the module's comment):
/// the kernel's stand-in for the simulation's link. Called on the
/// namespace's thread, whose children start in its namespace, so never on
/// the machine's own `lo`.
fn slow_loopback() {
    let ok = Command::new("tc")
        .args([
            "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "64kbit", "burst", "128", "limit",
            "100000",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "tc qdisc add dev lo root tbf");
}

fn compare(sc: Scenario) {
    let real = on_kernel_in_a_new_netns(async move |a| {
        if sc.delayed {
            slow_loopback();
        }
        burst(a, sc).await
    });
    let Some(real) = real else {
        return;
    };
    println!("real kernel, {sc:?}: {real:#?}");
    let sim = if sc.delayed {
        burst_over_a_link(sc)
    } else {
        in_sim(async move |a| burst(a, sc).await)
    };
    same(&format!("{sc:?}"), real, sim);
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

async fn dropped_syn<A: Api>(a: &A, after: Duration) -> DroppedSyn {
    a.sysctl("net.ipv4.tcp_syncookies", "0").await;
    let l = listener(a, PORT, 0);
    let first = a.socket(SOCK_STREAM).expect("socket");
    a.connect(first, &local(PORT))
        .await
        .expect("the first connects");
    let c = start_connect(a, "127.0.0.1").await;
    a.wait(after).await;
    let seen = DroppedSyn {
        out_segs: a.mib("Tcp", "OutSegs"),
        retrans_segs: a.mib("Tcp", "RetransSegs"),
        listen_overflows: a.mib("TcpExt", "ListenOverflows"),
        listen_drops: a.mib("TcpExt", "ListenDrops"),
    };
    close_all(a, [l, first, c]);
    seen
}

fn dropped_syn_after(ms_in: u64) {
    let Some((real, sim)) = both_in_a_new_netns!(dropped_syn, Duration::from_millis(ms_in)) else {
        return;
    };
    let what = format!("a SYN dropped by a full accept queue, {ms_in} ms in");
    same(&what, real, sim);
}
