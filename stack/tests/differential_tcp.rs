//! Differential tests of TCP sockets. Every scenario is written once, as a
//! function generic over the socket API of `common::inet` ([`Api`]), and
//! runs twice: on this machine's kernel over 127.0.0.1 ([`Real`]: `socket2`
//! and `nix`, real sleeps, read timeouts, bounded loops) and in the
//! simulation ([`SimApi`]: a process on one host, 127.0.0.1, virtual time).
//! Each run boils what it saw down to the same plain data (errno names,
//! byte counts, the states and queues `ss -tan` and `/proc/net/tcp` print,
//! `nstat` counters); [`same`] compares the real value with the simulated
//! one and prints both on failure. Where a test also asserts what Linux
//! does, it asserts it of the real side.
//!
//! Other programs on the machine may hold TCP sockets too, so rows are
//! picked by the test's own listening port.
//!
//! What is compared is what a program can rely on; where Linux and the
//! simulation may legitimately differ (how many bytes fit in a send buffer
//! that Linux autotunes and the simulation does not), only the stable part
//! is compared and both numbers are printed.
//!
//! The keepalive scenario takes loopback down: its real side runs in a
//! network namespace of its own, its simulated side has the runner take
//! the link down. The two `..._sim_over_a_link` tests are the one place
//! where a scenario has two bodies: they compare the kernel over loopback
//! with a simulation between two hosts on an Ethernet link, and one
//! simulated process cannot hold sockets on two hosts, so there the
//! scenario's steps (the same generic functions) are split between a
//! server process and a client process.
//!
//! A test marked `#[ignore = "sim differs: ..."]` asserts what the kernel
//! does where the simulation does not do it yet; run them with
//! `cargo nextest run -p stack --test differential_tcp --run-ignored all`.

use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use stack::prelude::*;

mod common;
use common::inet::*;
use common::*;

// ---------------------------------------------------------------- helpers

/// A TCP port that is free on 127.0.0.1 right now, for both sides.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind to an ephemeral port")
        .port()
}

fn tcp<A: Api>(a: &A) -> i32 {
    a.socket(SOCK_STREAM)
        .expect("socket(AF_INET, SOCK_STREAM, 0)")
}

fn tcp_nonblocking<A: Api>(a: &A) -> i32 {
    a.socket(SOCK_STREAM | SOCK_NONBLOCK)
        .expect("socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)")
}

/// A TCP socket with `SO_REUSEADDR` and `SO_REUSEPORT` as given.
fn tcp_with<A: Api>(a: &A, reuseaddr: bool, reuseport: bool) -> i32 {
    let s = tcp(a);
    a.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, reuseaddr as i32)
        .expect("SO_REUSEADDR");
    a.setsockopt(s, SOL_SOCKET, SO_REUSEPORT, reuseport as i32)
        .expect("SO_REUSEPORT");
    s
}

fn close_all<A: Api>(a: &A, fds: &[i32]) {
    for &fd in fds {
        a.close(fd).expect("close");
    }
}

/// One row of `ss -tan`.
#[derive(Debug, Clone, PartialEq)]
struct SsRow {
    state: String,
    recv_q: u32,
    send_q: u32,
    local: SocketAddr,
    /// `None` for a listener's `0.0.0.0:*`.
    peer: Option<SocketAddr>,
}

fn parse_ss(text: &str) -> Vec<SsRow> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 5 {
                return None;
            }
            Some(SsRow {
                state: f[0].to_string(),
                recv_q: f[1].parse().ok()?,
                send_q: f[2].parse().ok()?,
                local: f[3].parse().ok()?,
                peer: f[4].parse().ok(),
            })
        })
        .collect()
}

fn ss<A: Api>(a: &A) -> Vec<SsRow> {
    parse_ss(&a.sh("ss -tan"))
}

/// A socket of a scenario as `ss -tan` shows it, named by its role with
/// respect to the listening port: the listener itself, a connection on the
/// server side (local port = the port), or on the client side (peer port
/// = the port).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    role: &'static str,
    state: String,
    recv_q: u32,
    send_q: u32,
}

fn role_of(local: SocketAddr, peer: Option<SocketAddr>, port: u16) -> Option<&'static str> {
    match peer {
        None if local.port() == port => Some("listener"),
        Some(_) if local.port() == port => Some("server"),
        Some(p) if p.port() == port => Some("client"),
        _ => None,
    }
}

fn by_role(rows: &[SsRow], port: u16) -> Vec<Seen> {
    let mut out: Vec<Seen> = rows
        .iter()
        .filter_map(|r| {
            Some(Seen {
                role: role_of(r.local, r.peer, port)?,
                state: r.state.clone(),
                recv_q: r.recv_q,
                send_q: r.send_q,
            })
        })
        .collect();
    out.sort();
    out
}

fn text<T: Debug>(r: R<T>) -> R<String> {
    r.map(|v| format!("{v:?}"))
}

fn unit(r: R<()>) -> R<&'static str> {
    r.map(|()| "0")
}

/// A non-blocking socket that started to connect to `to` and has had time
/// to hear back.
async fn settled_attempt<A: Api>(a: &A, to: &str) -> i32 {
    let s = tcp_nonblocking(a);
    let _ = a.connect(s, to).await;
    a.settle().await;
    s
}

/// A connection's client in SYN_SENT: its SYN goes unanswered because the
/// listener's accept queue (backlog 0) is full. (The client, the listener.)
async fn syn_sent_socket<A: Api>(a: &A) -> (i32, i32) {
    let l0 = listener(a, 0, 0);
    let to = local(port_of(a, l0));
    let filler = tcp(a);
    a.connect(filler, &to).await.expect("the filler connects");
    (settled_attempt(a, &to).await, l0)
}

// ---------------------------------------------------------------- 1. accept queue

/// `listen(backlog)`, never `accept()`, and backlog + 4 non-blocking
/// connects.
#[derive(Debug, PartialEq)]
struct AcceptQueue {
    backlog: i32,
    /// The first `connect()` of each client.
    connects: Vec<R<()>>,
    /// The listener's Recv-Q (accept queue length) and Send-Q (backlog).
    listener: Option<(u32, u32)>,
    clients_established: usize,
    clients_syn_sent: usize,
    /// Children waiting in the accept queue, as `ss` lists them.
    server_established: usize,
    /// A second `connect()` of each client: 0 once connected, `EALREADY`
    /// while its SYN goes unanswered.
    second_connects: Vec<R<()>>,
    /// `TcpExtListenOverflows` went up by at least one per dropped SYN.
    overflows_counted: bool,
}

fn summarize(rows: &[Seen]) -> (Option<(u32, u32)>, usize, usize, usize) {
    let listener = rows
        .iter()
        .find(|s| s.role == "listener")
        .map(|s| (s.recv_q, s.send_q));
    let count = |role: &str, state: &str| {
        rows.iter()
            .filter(|s| s.role == role && s.state == state)
            .count()
    };
    (
        listener,
        count("client", "ESTAB"),
        count("client", "SYN-SENT"),
        count("server", "ESTAB"),
    )
}

async fn accept_queue<A: Api>(a: &A, backlog: i32) -> AcceptQueue {
    let l = listener(a, 0, backlog);
    let port = port_of(a, l);
    let to = local(port);
    let before = a.mib("TcpExt", "ListenOverflows");
    let mut clients = Vec::new();
    let mut connects = Vec::new();
    for _ in 0..backlog + 4 {
        let c = tcp_nonblocking(a);
        connects.push(a.connect(c, &to).await);
        clients.push(c);
    }
    a.settle().await;
    let rows = by_role(&ss(a), port);
    let (queue, clients_established, clients_syn_sent, server_established) = summarize(&rows);
    let mut second_connects = Vec::new();
    for &c in &clients {
        second_connects.push(a.connect(c, &to).await);
    }
    let overflows = a.mib("TcpExt", "ListenOverflows") - before;
    AcceptQueue {
        backlog,
        connects,
        listener: queue,
        clients_established,
        clients_syn_sent,
        server_established,
        second_connects,
        overflows_counted: overflows >= clients_syn_sent as u64,
    }
}

/// `sk_acceptq_is_full()` is `sk_ack_backlog > sk_max_ack_backlog`: the
/// queue takes backlog + 1 connections; later SYNs are dropped
/// (`tcp_conn_request()`), leaving their clients in SYN-SENT.
#[test]
fn accept_queue_holds_backlog_plus_one() {
    for backlog in [1, 2, 3] {
        let (real, simulated) = both!(accept_queue, backlog);
        let b = backlog as u32;
        assert_eq!(real.listener, Some((b + 1, b)), "{real:#?}");
        assert_eq!(real.clients_established, backlog as usize + 1, "{real:#?}");
        assert_eq!(real.clients_syn_sent, 3, "{real:#?}");
        same(
            &format!("accept queue with backlog {backlog}"),
            real,
            simulated,
        );
    }
}

// ---------------------------------------------------------------- 2. ECONNREFUSED

#[derive(Debug, PartialEq)]
struct Refused {
    /// Blocking `connect()` to a port nobody listens on, then `SO_ERROR`.
    blocking: R<()>,
    so_error_after_blocking: R<&'static str>,
    /// `connect()` again on that socket: a new attempt, refused again.
    blocking_again: R<()>,
    /// Non-blocking: `EINPROGRESS`, then after a while `SO_ERROR` twice.
    nonblocking: R<()>,
    so_error: R<&'static str>,
    so_error_again: R<&'static str>,
    getpeername: R<()>,
    /// Non-blocking, then `recv()` instead of `SO_ERROR`: the error there,
    /// then end of file.
    recv: R<String>,
    recv_again: R<String>,
}

async fn refused<A: Api>(a: &A, port: u16) -> Refused {
    let to = local(port);
    let s = tcp(a);
    let blocking = a.connect(s, &to).await;
    let so_error_after_blocking = so_error(a, s);
    let blocking_again = a.connect(s, &to).await;
    let b = tcp_nonblocking(a);
    let nonblocking = a.connect(b, &to).await;
    a.settle().await;
    let first_error = so_error(a, b);
    let so_error_again = so_error(a, b);
    let getpeername = a.getpeername(b).map(drop);
    let c = settled_attempt(a, &to).await;
    let recv = read_text(a, c, 16, 0).await;
    let recv_again = read_text(a, c, 16, 0).await;
    Refused {
        blocking,
        so_error_after_blocking,
        blocking_again,
        nonblocking,
        so_error: first_error,
        so_error_again,
        getpeername,
        recv,
        recv_again,
    }
}

#[test]
fn econnrefused_without_a_listener() {
    let port = free_port();
    let (real, simulated) = both!(refused, port);
    assert_eq!(real.blocking, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.nonblocking, Err("EINPROGRESS"), "{real:#?}");
    assert_eq!(real.so_error, Ok("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.blocking_again, Err("ECONNREFUSED"), "{real:#?}");
    same(
        &format!("connect to port {port} with no listener"),
        real,
        simulated,
    );
}

/// `connect()` again on a non-blocking socket after a refused attempt.
#[derive(Debug, PartialEq)]
struct ConnectAgain {
    /// Non-blocking, error not yet fetched: the second `connect()` returns
    /// it (`sock_error()` in `__inet_stream_connect()`), `SO_ERROR` is then
    /// 0, and a third call starts a new attempt.
    second: R<()>,
    so_error_after_second: R<&'static str>,
    third: R<()>,
    /// Non-blocking, error fetched with `SO_ERROR` first: the second
    /// `connect()` finds the socket closed with no error: `ECONNABORTED`.
    after_so_error: R<()>,
}

async fn connect_again<A: Api>(a: &A, port: u16) -> ConnectAgain {
    let to = local(port);
    let b = settled_attempt(a, &to).await;
    let second = a.connect(b, &to).await;
    let so_error_after_second = so_error(a, b);
    let third = a.connect(b, &to).await;
    let c = settled_attempt(a, &to).await;
    let _ = so_error(a, c);
    let after_so_error = a.connect(c, &to).await;
    ConnectAgain {
        second,
        so_error_after_second,
        third,
        after_so_error,
    }
}

#[test]
fn connect_again_after_a_refused_attempt() {
    let port = free_port();
    let (real, simulated) = both!(connect_again, port);
    assert_eq!(
        real,
        ConnectAgain {
            second: Err("ECONNREFUSED"),
            so_error_after_second: Ok("0"),
            third: Err("EINPROGRESS"),
            after_so_error: Err("ECONNABORTED"),
        }
    );
    same(&format!("connect again to port {port}"), real, simulated);
}

// ---------------------------------------------------------------- 3. EADDRINUSE

/// Binding the local port of a connection now in TIME_WAIT.
#[derive(Debug, PartialEq)]
struct TimeWaitBind {
    /// `ss -tan` rows of the port: the TIME-WAIT alone.
    rows: Vec<(String, u32, u32)>,
    /// `bind(127.0.0.1:port)` without, then with `SO_REUSEADDR`.
    bind_plain: R<()>,
    bind_reuseaddr: R<()>,
    /// `bind(0.0.0.0:port)` without, then with `SO_REUSEADDR`.
    bind_any_plain: R<()>,
    bind_any_reuseaddr: R<()>,
}

fn rows_of_port(rows: &[SsRow], port: u16) -> Vec<(String, u32, u32)> {
    rows.iter()
        .filter(|r| r.local.port() == port)
        .map(|r| (r.state.clone(), r.recv_q, r.send_q))
        .collect()
}

/// `bind(ip:port)` of a new socket, `SO_REUSEADDR` as given, which is then
/// closed.
fn try_bind<A: Api>(a: &A, ip: &str, port: u16, reuseaddr: bool) -> R<()> {
    let s = tcp_with(a, reuseaddr, false);
    let r = a.bind(s, &format!("{ip}:{port}"));
    a.close(s).expect("close");
    r
}

/// The port's rows (but the listener's, if `skip_listener`) and what
/// binding it gives.
fn time_wait_probe<A: Api>(a: &A, port: u16, skip_listener: bool) -> TimeWaitBind {
    TimeWaitBind {
        rows: rows_of_port(&ss(a), port)
            .into_iter()
            .filter(|r| !skip_listener || r.0 != "LISTEN")
            .collect(),
        bind_plain: try_bind(a, "127.0.0.1", port, false),
        bind_reuseaddr: try_bind(a, "127.0.0.1", port, true),
        bind_any_plain: try_bind(a, "0.0.0.0", port, false),
        bind_any_reuseaddr: try_bind(a, "0.0.0.0", port, true),
    }
}

/// Closes `first`, then `second`, letting each close play out.
async fn close_in_turn<A: Api>(a: &A, first: i32, second: i32) {
    a.close(first).expect("close");
    a.settle().await;
    a.close(second).expect("close");
    a.settle().await;
}

/// TIME_WAIT on a client's port: a client bound to an ephemeral port of
/// 127.0.0.1 (`SO_REUSEADDR` as given) connects to a new listener and
/// closes first. (The client's port, the listener.)
async fn client_time_wait<A: Api>(a: &A, reuseaddr: bool) -> (u16, i32) {
    let l = listener(a, 0, 8);
    let c = tcp_with(a, reuseaddr, false);
    a.bind(c, "127.0.0.1:0").expect("bind");
    let cport = port_of(a, c);
    a.connect(c, &local(port_of(a, l))).await.expect("connect");
    let s = a.accept(l).await.expect("accept");
    close_in_turn(a, c, s).await;
    (cport, l)
}

/// TIME_WAIT on a server's port: a listener on an ephemeral port of
/// 127.0.0.1 (`SO_REUSEADDR` as given) accepts a connection and closes it
/// first. (The listener, its port.)
async fn server_time_wait<A: Api>(a: &A, reuseaddr: bool) -> (i32, u16) {
    let l = tcp_with(a, reuseaddr, false);
    a.bind(l, "127.0.0.1:0").expect("bind");
    a.listen(l, 8).expect("listen");
    let sport = port_of(a, l);
    let c = tcp(a);
    a.connect(c, &local(sport)).await.expect("connect");
    let s = a.accept(l).await.expect("accept");
    close_in_turn(a, s, c).await;
    (l, sport)
}

/// TIME_WAIT on the client's port, then, with the listener open and then
/// closed, on the server's port.
async fn time_wait_bind<A: Api>(a: &A, first_reuseaddr: bool) -> [TimeWaitBind; 3] {
    let (cport, l) = client_time_wait(a, first_reuseaddr).await;
    let client = time_wait_probe(a, cport, false);
    a.close(l).expect("close");
    let (l, sport) = server_time_wait(a, first_reuseaddr).await;
    let server_listening = time_wait_probe(a, sport, true);
    a.close(l).expect("close");
    let server = time_wait_probe(a, sport, false);
    [client, server_listening, server]
}

/// `MSG_WAITALL` reads: what three reads of 100 bytes returned. (1) 50
/// bytes were queued and 50 more come 100 ms later: the read waits for
/// them; (2) 50 queued, with `MSG_DONTWAIT` too: the 50 at once; (3) 30
/// queued and then the peer closes: the 30 at end of stream.
async fn waitall<A: Api>(a: &A) -> Vec<R<String>> {
    let (c, s) = pair(a).await;
    let later = Duration::from_millis(100);
    let mut seen = Vec::new();
    send(a, c, &[b'a'; 50]).await.expect("send");
    let reader = a.spawn_recv(s, 100, MSG_WAITALL);
    a.wait(later).await;
    send(a, c, &[b'b'; 50]).await.expect("send");
    seen.push(text_of(a.join(reader).await));
    send(a, c, &[b'c'; 50]).await.expect("send");
    a.settle().await;
    seen.push(read_text(a, s, 100, MSG_WAITALL | MSG_DONTWAIT).await);
    send(a, c, &[b'd'; 30]).await.expect("send");
    let reader = a.spawn_recv(s, 100, MSG_WAITALL);
    a.wait(later).await;
    a.close(c).expect("close");
    seen.push(text_of(a.join(reader).await));
    seen
}

#[test]
fn msg_waitall_waits_for_the_whole_buffer() {
    let (real, simulated) = both!(waitall);
    assert_eq!(
        real.iter()
            .map(|r| r.as_ref().map(String::len))
            .collect::<Vec<_>>(),
        [Ok(100), Ok(50), Ok(30)],
        "{real:?}"
    );
    same("recv(100, MSG_WAITALL)", real, simulated);
}

/// `connect()` to `0.0.0.0:port`, TCP then UDP: the result and the peer
/// `getpeername()` then gives. The unspecified address means this host
/// (`ip_route_connect()`), so both reach the listener on 127.0.0.1.
async fn connect_any<A: Api>(a: &A) -> Vec<(R<()>, Option<String>)> {
    let l = listener(a, 0, 8);
    let to = format!("0.0.0.0:{}", port_of(a, l));
    let t = tcp(a);
    let tr = a.connect(t, &to).await;
    let u = a.socket(SOCK_DGRAM).expect("socket");
    let ur = a.connect(u, &to).await;
    let peer = |fd| a.getpeername(fd).ok().map(|p| p.ip().to_string());
    vec![(tr, peer(t)), (ur, peer(u))]
}

#[test]
fn connect_to_the_unspecified_address_reaches_this_host() {
    let (real, simulated) = both!(connect_any);
    assert_eq!(
        real,
        [
            (Ok(()), Some("127.0.0.1".to_string())),
            (Ok(()), Some("127.0.0.1".to_string()))
        ]
    );
    same("connect(0.0.0.0:port)", real, simulated);
}

/// Keepalive on an idle connection (`SO_KEEPALIVE` with `TCP_KEEPIDLE`
/// 1 s, `TCP_KEEPINTVL` 1 s, `TCP_KEEPCNT` 2), 3.5 s in: the probes sent
/// (`TCPKeepAlive`) and the client's pending error. Answered, a probe
/// goes every second; with loopback down, two go unanswered and the
/// third round resets the connection with `ETIMEDOUT`.
#[derive(Debug, PartialEq)]
struct Keepalive {
    probes: u64,
    so_error: R<&'static str>,
    aborted: u64,
}

const KEEPALIVE_PORT: u16 = 5601;

/// Counters are read for the whole namespace: the real side needs one of
/// its own (see the test).
async fn keepalive<A: Api>(a: &A, lo_down: bool) -> Keepalive {
    let l = listener(a, KEEPALIVE_PORT, 8);
    let c = tcp(a);
    a.connect(c, &local(KEEPALIVE_PORT)).await.expect("connect");
    let _s = a.accept(l).await.expect("accept");
    for (level, opt, val) in [
        (SOL_SOCKET, SO_KEEPALIVE, 1),
        (IPPROTO_TCP, TCP_KEEPIDLE, 1),
        (IPPROTO_TCP, TCP_KEEPINTVL, 1),
        (IPPROTO_TCP, TCP_KEEPCNT, 2),
    ] {
        a.setsockopt(c, level, opt, val)
            .expect("a keepalive option");
    }
    if lo_down {
        a.ip("link set lo down").await;
    }
    a.wait(Duration::from_millis(3500)).await;
    Keepalive {
        probes: a.mib("TcpExt", "TCPKeepAlive"),
        so_error: so_error(a, c),
        aborted: a.mib("TcpExt", "TCPAbortOnTimeout"),
    }
}

/// The real side runs in a fresh network namespace: it takes loopback
/// down, and counts probes and aborts namespace-wide.
#[test]
fn keepalive_probes_an_idle_connection_and_gives_up_on_a_silent_one() {
    for lo_down in [false, true] {
        let Some(real) = on_kernel_in_a_new_netns(async move |a| keepalive(a, lo_down).await)
        else {
            return;
        };
        same(
            &format!("keepalive, loopback down: {lo_down}"),
            real,
            in_sim(async move |a| keepalive(a, lo_down).await),
        );
    }
}

/// What a connection with `TCP_USER_TIMEOUT` does once its data stops
/// being acknowledged.
#[derive(Debug, PartialEq)]
struct UserTimeout {
    /// `SO_ERROR` 1.5 s after the write (the timeout is 2 s), then at 3 s.
    early: R<&'static str>,
    late: R<&'static str>,
    aborted: u64,
}

/// Loopback goes down under an established connection with a 2 s user
/// timeout, and data is written: the connection gives up after 2 s of
/// retransmissions, long before `tcp_retries2` would.
async fn user_timeout<A: Api>(a: &A) -> UserTimeout {
    let l = listener(a, KEEPALIVE_PORT, 8);
    let c = tcp(a);
    a.connect(c, &local(KEEPALIVE_PORT)).await.expect("connect");
    let _s = a.accept(l).await.expect("accept");
    a.setsockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 2000)
        .expect("TCP_USER_TIMEOUT");
    a.ip("link set lo down").await;
    send(a, c, b"lost").await.expect("the write is queued");
    a.wait(Duration::from_millis(1500)).await;
    let early = so_error(a, c);
    a.wait(Duration::from_millis(1500)).await;
    UserTimeout {
        early,
        late: so_error(a, c),
        aborted: a.mib("TcpExt", "TCPAbortOnTimeout"),
    }
}

#[test]
fn tcp_user_timeout_ends_a_connection_whose_data_is_not_acknowledged() {
    let Some(real) = on_kernel_in_a_new_netns(async move |a| user_timeout(a).await) else {
        return;
    };
    assert_eq!(real.late, Ok("ETIMEDOUT"), "{real:?}");
    same(
        "TCP_USER_TIMEOUT with loopback down",
        real,
        in_sim(async move |a| user_timeout(a).await),
    );
}

/// What is left of a listener's port once the listener is closed.
#[derive(Debug, PartialEq)]
struct ListenerGone {
    /// `ss -tan` rows whose local port is the listener's.
    rows: Vec<(String, u32, u32)>,
    /// `bind(127.0.0.1:port)` without, then with `SO_REUSEADDR`.
    bind_plain: R<()>,
    bind_reuseaddr: R<()>,
}

/// A listener with one connection in its accept queue, never accepted, is
/// closed (`inet_csk_listen_stop()` resets the child): the port is free.
async fn listener_gone<A: Api>(a: &A) -> ListenerGone {
    let l = listener(a, 0, 8);
    let port = port_of(a, l);
    let c = tcp(a);
    a.connect(c, &local(port)).await.expect("connect");
    a.settle().await;
    a.close(l).expect("close");
    a.settle().await;
    ListenerGone {
        rows: rows_of_port(&ss(a), port),
        bind_plain: try_bind(a, "127.0.0.1", port, false),
        bind_reuseaddr: try_bind(a, "127.0.0.1", port, true),
    }
}

#[test]
fn a_closed_listener_frees_its_port_with_a_connection_unaccepted() {
    let (real, simulated) = both!(listener_gone);
    assert_eq!(real.bind_plain, Ok(()), "{real:#?}");
    same(
        "bind() to the port of a closed listener that had an unaccepted connection",
        real,
        simulated,
    );
}

/// A TIME_WAIT socket keeps the `SO_REUSEADDR` of the socket it replaced
/// (`sk_reuse`), and `inet_bind_conflict()` lets a new socket share the
/// port only if both have it: `SO_REUSEADDR` on the new socket alone is
/// not enough.
#[test]
fn eaddrinuse_over_time_wait() {
    for first_reuseaddr in [false, true] {
        let (real, simulated) = both!(time_wait_bind, first_reuseaddr);
        for tw in &real {
            assert_eq!(tw.rows, [("TIME-WAIT".to_string(), 0, 0)], "{real:#?}");
            assert_eq!(tw.bind_plain, Err("EADDRINUSE"), "{real:#?}");
        }
        assert_eq!(real[1].bind_reuseaddr, Err("EADDRINUSE"), "{real:#?}");
        let expect = if first_reuseaddr {
            Ok(())
        } else {
            Err("EADDRINUSE")
        };
        assert_eq!(real[0].bind_reuseaddr, expect, "{real:#?}");
        assert_eq!(real[2].bind_reuseaddr, expect, "{real:#?}");
        same(
            &format!(
                "bind over TIME_WAIT (client port, listening server port, closed server port), \
                 first socket SO_REUSEADDR {first_reuseaddr}"
            ),
            real,
            simulated,
        );
    }
}

/// The server restart: everything had `SO_REUSEADDR`, the old server
/// closed its connection first (TIME_WAIT on its port) and exited; the
/// new one binds, listens, and a client connects. The same on a port whose
/// TIME_WAIT was left by a client.
#[derive(Debug, PartialEq)]
struct Restart {
    bind: R<()>,
    listen: R<()>,
    connect: R<()>,
}

/// A new server with `SO_REUSEADDR` on `port`, and a client of it.
async fn relisten<A: Api>(a: &A, port: u16) -> Restart {
    let n = tcp_with(a, true, false);
    let bind = a.bind(n, &local(port));
    let listen = a.listen(n, 8);
    let c = tcp(a);
    let connect = if listen.is_ok() {
        a.connect(c, &local(port)).await
    } else {
        Err("(not tried)")
    };
    close_all(a, &[n, c]);
    Restart {
        bind,
        listen,
        connect,
    }
}

async fn restart<A: Api>(a: &A) -> [Restart; 2] {
    let (l, sport) = server_time_wait(a, true).await;
    a.close(l).expect("close");
    let server = relisten(a, sport).await;
    let (cport, _l) = client_time_wait(a, true).await;
    let client = relisten(a, cport).await;
    [server, client]
}

/// `inet_csk_get_port()` from `listen()` calls `inet_csk_bind_conflict()`
/// with `relax`: a TIME_WAIT with `sk_reuse` does not conflict with a new
/// socket that has `SO_REUSEADDR`, whatever that socket is about to do.
#[test]
fn server_restart_with_so_reuseaddr_over_time_wait() {
    let (real, simulated) = both!(restart);
    for r in &real {
        assert_eq!(
            *r,
            Restart {
                bind: Ok(()),
                listen: Ok(()),
                connect: Ok(()),
            }
        );
    }
    same("restart over TIME_WAIT", real, simulated);
}

/// (SO_REUSEADDR, SO_REUSEPORT) of the first listener, then of the second.
type ListenCase = (&'static str, (bool, bool), (bool, bool));

const LISTEN_CASES: &[ListenCase] = &[
    ("neither", (false, false), (false, false)),
    ("both SO_REUSEADDR", (true, false), (true, false)),
    ("both SO_REUSEPORT", (false, true), (false, true)),
    ("only the first SO_REUSEADDR", (true, false), (false, false)),
    (
        "only the second SO_REUSEADDR",
        (false, false),
        (true, false),
    ),
];

/// For each case: the second socket's bind, and its listen if the bind
/// worked.
type TwoListeners = Vec<(&'static str, R<()>, Option<R<()>>)>;

/// The first socket binds and listens, then the second binds and listens.
async fn two_listeners<A: Api>(a: &A, port: u16) -> TwoListeners {
    let mut out = Vec::new();
    for &(what, (ra, pa), (rb, pb)) in LISTEN_CASES {
        let first = tcp_with(a, ra, pa);
        a.bind(first, &local(port)).expect("bind");
        a.listen(first, 8).expect("listen");
        let second = tcp_with(a, rb, pb);
        let bind = a.bind(second, &local(port));
        let listen = bind.is_ok().then(|| a.listen(second, 8));
        close_all(a, &[first, second]);
        out.push((what, bind, listen));
    }
    out
}

#[test]
fn two_listeners_on_one_port() {
    let port = free_port();
    let (real, simulated) = both!(two_listeners, port);
    assert_eq!(real[0].1, Err("EADDRINUSE"), "{real:#?}");
    assert_eq!(real[2], ("both SO_REUSEPORT", Ok(()), Some(Ok(()))));
    same(
        &format!("a second listener on port {port}"),
        real,
        simulated,
    );
}

/// Both sockets bind first; then the first listens, then the second.
type BindThenListen = Vec<(&'static str, R<()>, Option<(R<()>, R<()>)>)>;

async fn bind_then_listen<A: Api>(a: &A, port: u16) -> BindThenListen {
    let mut out = Vec::new();
    for &(what, (ra, pa), (rb, pb)) in LISTEN_CASES {
        let first = tcp_with(a, ra, pa);
        a.bind(first, &local(port)).expect("bind");
        let second = tcp_with(a, rb, pb);
        let bind = a.bind(second, &local(port));
        let listens = bind
            .is_ok()
            .then(|| (a.listen(first, 8), a.listen(second, 8)));
        close_all(a, &[first, second]);
        out.push((what, bind, listens));
    }
    out
}

/// Two sockets bound to one port with `SO_REUSEADDR`: the first may listen
/// (the other is not in LISTEN), the second then may not.
#[test]
fn two_sockets_bound_with_so_reuseaddr_then_listen() {
    let port = free_port();
    let (real, simulated) = both!(bind_then_listen, port);
    assert_eq!(
        real[1],
        (
            "both SO_REUSEADDR",
            Ok(()),
            Some((Ok(()), Err("EADDRINUSE")))
        )
    );
    same(
        &format!("bind twice, then listen on port {port}"),
        real,
        simulated,
    );
}

// ---------------------------------------------------------------- 4. RST

/// The server closes with bytes from the client unread: `tcp_close()`
/// sends RST. What the client's calls give afterwards, in three orders.
#[derive(Debug, PartialEq)]
struct ResetOrders {
    /// read, read, send, send, SO_ERROR.
    read_first: Vec<R<String>>,
    /// send, send, read, read.
    send_first: Vec<R<String>>,
    /// SO_ERROR, SO_ERROR, read, send, getpeername, shutdown(SHUT_WR).
    so_error_first: Vec<R<String>>,
    /// read, then the calls that do not look at `sk_err`: connect, bind,
    /// listen, shutdown.
    other_calls: Vec<R<String>>,
}

/// A client whose server closed with "hello" unread (an RST came).
async fn reset_client<A: Api>(a: &A) -> i32 {
    let (c, s) = pair(a).await;
    send(a, c, b"hello").await.expect("send");
    a.settle().await;
    a.close(s).expect("close");
    a.settle().await;
    c
}

async fn reset_orders<A: Api>(a: &A) -> ResetOrders {
    let rd = async |c| text(read_text(a, c, 100, 0).await);
    let wr = async |c| text(send(a, c, b"x").await);
    let so = |c| text(so_error(a, c));
    let c = reset_client(a).await;
    let read_first = vec![rd(c).await, rd(c).await, wr(c).await, wr(c).await, so(c)];
    let c = reset_client(a).await;
    let send_first = vec![wr(c).await, wr(c).await, rd(c).await, rd(c).await];
    let c = reset_client(a).await;
    let so_error_first = vec![
        so(c),
        so(c),
        rd(c).await,
        wr(c).await,
        text(a.getpeername(c).map(drop)),
        text(a.shutdown(c, SHUT_WR)),
    ];
    let c = reset_client(a).await;
    let other_calls = vec![
        rd(c).await,
        text(a.connect(c, "127.0.0.1:1").await),
        text(a.bind(c, "127.0.0.1:0")),
        text(a.listen(c, 1)),
        text(a.shutdown(c, SHUT_RDWR)),
    ];
    ResetOrders {
        read_first,
        send_first,
        so_error_first,
        other_calls,
    }
}

/// `tcp_reset()` sets `sk_err = ECONNRESET` and closes; the first call to
/// look (`recv`, `send` or `SO_ERROR`) takes the error, later reads see
/// end of file (the socket is shut down) and later writes `EPIPE`.
#[test]
fn rst_on_close_with_unread_data() {
    let (real, simulated) = both!(reset_orders);
    let e = |s: &'static str| Err::<String, _>(s);
    let zero = || Ok::<_, &str>(format!("{:?}", ""));
    assert_eq!(
        real.read_first,
        [
            e("ECONNRESET"),
            zero(),
            e("EPIPE"),
            e("EPIPE"),
            Ok("\"0\"".into())
        ]
    );
    assert_eq!(
        real.send_first,
        [e("ECONNRESET"), e("EPIPE"), zero(), zero()]
    );
    // connect() sees the struct socket still SS_CONNECTED; bind() succeeds
    // because moving to CLOSE released the port connect() had chosen
    // (tcp_set_state() -> inet_put_port(), inet_num 0 again); listen()
    // refuses a socket that is not SS_UNCONNECTED.
    assert_eq!(
        real.other_calls,
        [
            e("ECONNRESET"),
            e("EISCONN"),
            Ok("()".into()),
            e("EINVAL"),
            e("ENOTCONN")
        ]
    );
    same("calls after an RST", real, simulated);
}

/// Variations: the server read part of the data; the client had unread
/// data of its own when the RST came; `SO_LINGER` 0 with nothing unread.
#[derive(Debug, PartialEq)]
struct ResetVariants {
    partial_read: Vec<R<String>>,
    client_had_data: Vec<R<String>>,
    linger_zero: Vec<R<String>>,
}

async fn reset_variants<A: Api>(a: &A) -> ResetVariants {
    let rd = async |c| read_text(a, c, 100, 0).await;
    let (c, s) = pair(a).await;
    send(a, c, b"hello world").await.expect("send");
    a.settle().await;
    read_text(a, s, 5, 0).await.expect("read part");
    a.close(s).expect("close");
    a.settle().await;
    let partial_read = vec![rd(c).await, rd(c).await];

    let (c, s) = pair(a).await;
    send(a, s, b"from server").await.expect("send");
    send(a, c, b"hello").await.expect("send");
    a.settle().await;
    a.close(s).expect("close");
    a.settle().await;
    let client_had_data = vec![rd(c).await, rd(c).await, rd(c).await];

    let (c, s) = pair(a).await;
    a.set_linger(s, Some(0)).expect("SO_LINGER");
    a.close(s).expect("close");
    a.settle().await;
    let linger_zero = vec![rd(c).await, rd(c).await, text(send(a, c, b"x").await)];
    ResetVariants {
        partial_read,
        client_had_data,
        linger_zero,
    }
}

#[test]
fn rst_variants() {
    let (real, simulated) = both!(reset_variants);
    assert_eq!(real.partial_read, [Err("ECONNRESET"), Ok(String::new())]);
    assert_eq!(
        real.client_had_data,
        [
            Ok("from server".to_string()),
            Err("ECONNRESET"),
            Ok(String::new())
        ]
    );
    same("RST variants", real, simulated);
}

/// The peer closed normally (we are in CLOSE_WAIT), we write anyway: the
/// orphaned peer answers with RST, which in CLOSE_WAIT sets `EPIPE`, not
/// `ECONNRESET` (`tcp_reset()`).
#[derive(Debug, PartialEq)]
struct ResetInCloseWait {
    /// read (EOF), send, (RST comes), send, read, SO_ERROR.
    send_again: Vec<R<String>>,
    /// send, (RST comes), SO_ERROR, read.
    so_error: Vec<R<String>>,
}

async fn reset_close_wait<A: Api>(a: &A) -> ResetInCloseWait {
    let rd = async |c| read_text(a, c, 100, 0).await;
    let (c, s) = pair(a).await;
    a.close(s).expect("close");
    a.settle().await;
    let mut send_again = vec![rd(c).await, text(send(a, c, b"x").await)];
    a.settle().await;
    send_again.extend([
        text(send(a, c, b"x").await),
        rd(c).await,
        text(so_error(a, c)),
    ]);

    let (c, s) = pair(a).await;
    a.close(s).expect("close");
    a.settle().await;
    let first = text(send(a, c, b"x").await);
    a.settle().await;
    let after = vec![first, text(so_error(a, c)), rd(c).await];
    ResetInCloseWait {
        send_again,
        so_error: after,
    }
}

#[test]
fn rst_in_close_wait_is_epipe() {
    let (real, simulated) = both!(reset_close_wait);
    assert_eq!(real.so_error[1], Ok("\"EPIPE\"".to_string()), "{real:#?}");
    same("RST in CLOSE_WAIT", real, simulated);
}

// ---------------------------------------------------------------- 5. EOF

#[derive(Debug, PartialEq)]
struct PeerClosed {
    /// read, read, read, read with MSG_DONTWAIT.
    reads: Vec<R<String>>,
}

async fn peer_closed<A: Api>(a: &A) -> PeerClosed {
    let (c, s) = pair(a).await;
    send(a, s, b"bye").await.expect("send");
    a.close(s).expect("close");
    a.settle().await;
    let mut reads = Vec::new();
    for flags in [0, 0, 0, MSG_DONTWAIT] {
        reads.push(read_text(a, c, 100, flags).await);
    }
    PeerClosed { reads }
}

#[test]
fn read_returns_zero_after_the_peers_fin() {
    let (real, simulated) = both!(peer_closed);
    assert_eq!(
        real.reads,
        [
            Ok("bye".to_string()),
            Ok(String::new()),
            Ok(String::new()),
            Ok(String::new())
        ]
    );
    same("reads after the peer's FIN", real, simulated);
}

// ---------------------------------------------------------------- 6. SHUT_WR

#[derive(Debug, PartialEq)]
struct HalfClose {
    shutdown: R<()>,
    shutdown_again: R<()>,
    send_after: R<usize>,
    /// The server reads the request, then end of file.
    server_reads: Vec<R<String>>,
    /// States after the server read end of file.
    half_closed: Vec<Seen>,
    /// The server answers and closes; the client reads it, then 0.
    client_reads: Vec<R<String>>,
    /// States once both are done.
    done: Vec<Seen>,
}

/// A connection to a listener on an ephemeral port, which is then closed:
/// (client, server side, the port).
async fn connection<A: Api>(a: &A, backlog: i32) -> (i32, i32, u16) {
    let l = listener(a, 0, backlog);
    let port = port_of(a, l);
    let c = tcp(a);
    a.connect(c, &local(port)).await.expect("connect");
    let s = a.accept(l).await.expect("accept");
    a.close(l).expect("close");
    (c, s, port)
}

async fn half_close<A: Api>(a: &A) -> HalfClose {
    let (c, s, port) = connection(a, 8).await;
    send(a, c, b"request").await.expect("send");
    let shutdown = a.shutdown(c, SHUT_WR);
    let shutdown_again = a.shutdown(c, SHUT_WR);
    let send_after = send(a, c, b"more").await;
    a.settle().await;
    let server_reads = vec![read_text(a, s, 100, 0).await, read_text(a, s, 100, 0).await];
    let half_closed = by_role(&ss(a), port);
    send(a, s, b"reply").await.expect("send");
    a.close(s).expect("close");
    a.settle().await;
    let client_reads = vec![read_text(a, c, 100, 0).await, read_text(a, c, 100, 0).await];
    let done = by_role(&ss(a), port);
    HalfClose {
        shutdown,
        shutdown_again,
        send_after,
        server_reads,
        half_closed,
        client_reads,
        done,
    }
}

#[test]
fn shutdown_wr_half_closes() {
    let (real, simulated) = both!(half_close);
    assert_eq!(
        real.server_reads,
        [Ok("request".to_string()), Ok(String::new())]
    );
    assert_eq!(
        real.client_reads,
        [Ok("reply".to_string()), Ok(String::new())]
    );
    assert_eq!(real.send_after, Err("EPIPE"));
    same("shutdown(SHUT_WR)", real, simulated);
}

// ---------------------------------------------------------------- 7. non-blocking connect

#[derive(Debug, PartialEq)]
struct NonBlockingConnect {
    /// To a listener with room: connect, (settle), connect, connect,
    /// SO_ERROR.
    open: Vec<R<&'static str>>,
    /// To a listener whose accept queue is full, so the SYN goes
    /// unanswered: connect, (settle), connect, SO_ERROR, getpeername, the
    /// state `ss` shows.
    full: Vec<R<&'static str>>,
    state_while_pending: Vec<String>,
    /// After one connection is accepted: the next connect() that is not
    /// EALREADY, when (whole seconds after the first connect()), then
    /// connect and SO_ERROR again.
    completed: R<&'static str>,
    completed_after_secs: u64,
    after: Vec<R<&'static str>>,
}

async fn nonblocking_connect<A: Api>(a: &A) -> NonBlockingConnect {
    let l = listener(a, 0, 8);
    let to = local(port_of(a, l));
    let c = tcp_nonblocking(a);
    let mut open = vec![unit(a.connect(c, &to).await)];
    a.settle().await;
    open.push(unit(a.connect(c, &to).await));
    open.push(unit(a.connect(c, &to).await));
    open.push(so_error(a, c));

    let l = listener(a, 0, 0);
    let to = local(port_of(a, l));
    let filler = tcp(a);
    a.connect(filler, &to).await.expect("the filler connects");
    let c = tcp_nonblocking(a);
    let start = a.clock();
    let mut full = vec![unit(a.connect(c, &to).await)];
    a.settle().await;
    full.push(unit(a.connect(c, &to).await));
    full.push(so_error(a, c));
    full.push(unit(a.getpeername(c).map(drop)));
    let cport = port_of(a, c);
    let state_while_pending = ss(a)
        .into_iter()
        .filter(|r| r.local.port() == cport)
        .map(|r| r.state)
        .collect();
    let _accepted = a.accept(l).await.expect("accept");
    let mut completed = Err("(never)");
    for _ in 0..100 {
        completed = unit(a.connect(c, &to).await);
        if completed != Err("EALREADY") {
            break;
        }
        a.settle().await;
    }
    let completed_after_secs = (a.clock() - start).as_secs();
    let after = vec![unit(a.connect(c, &to).await), so_error(a, c)];
    NonBlockingConnect {
        open,
        full,
        state_while_pending,
        completed,
        completed_after_secs,
        after,
    }
}

/// `__inet_stream_connect()`: `EINPROGRESS`, `EALREADY` while the SYN is
/// out, 0 once (the call that sees the handshake done moves the socket to
/// SS_CONNECTED), then `EISCONN`. A SYN dropped by a full accept queue is
/// retransmitted after `TCP_TIMEOUT_INIT` (1 s) and gets in once there is
/// room.
#[test]
fn nonblocking_connect_einprogress_ealready_eisconn() {
    let (real, simulated) = both!(nonblocking_connect);
    assert_eq!(
        real.open,
        [Err("EINPROGRESS"), Ok("0"), Err("EISCONN"), Ok("0")]
    );
    assert_eq!(
        real.full,
        [
            Err("EINPROGRESS"),
            Err("EALREADY"),
            Ok("0"),
            Err("ENOTCONN")
        ]
    );
    assert_eq!(real.completed, Ok("0"), "{real:#?}");
    same("non-blocking connect", real, simulated);
}

// ---------------------------------------------------------------- 8. TIME_WAIT, CLOSE_WAIT

#[derive(Debug, PartialEq)]
struct Closing {
    /// After the first close: FIN-WAIT-2 and CLOSE-WAIT (Recv-Q 1: the FIN
    /// is counted until it is read).
    after_first_close: Vec<Seen>,
    /// The passive side reads end of file.
    passive_read: R<String>,
    after_eof_read: Vec<Seen>,
    /// Both closed: the active closer in TIME-WAIT, the passive one gone.
    after_both: Vec<Seen>,
}

async fn closing<A: Api>(a: &A, client_first: bool) -> Closing {
    let (c, s, port) = connection(a, 8).await;
    let (active, passive) = if client_first { (c, s) } else { (s, c) };
    a.close(active).expect("close");
    a.settle().await;
    let after_first_close = by_role(&ss(a), port);
    let passive_read = read_text(a, passive, 100, 0).await;
    let after_eof_read = by_role(&ss(a), port);
    a.close(passive).expect("close");
    a.settle().await;
    Closing {
        after_first_close,
        passive_read,
        after_eof_read,
        after_both: by_role(&ss(a), port),
    }
}

fn seen(role: &'static str, state: &str, recv_q: u32) -> Seen {
    Seen {
        role,
        state: state.into(),
        recv_q,
        send_q: 0,
    }
}

#[test]
fn time_wait_on_the_active_closer_close_wait_on_the_other() {
    for client_first in [true, false] {
        let (real, simulated) = both!(closing, client_first);
        let (active, passive) = if client_first {
            ("client", "server")
        } else {
            ("server", "client")
        };
        let mut want = vec![
            seen(active, "FIN-WAIT-2", 0),
            seen(passive, "CLOSE-WAIT", 1),
        ];
        want.sort();
        assert_eq!(real.after_first_close, want, "{real:#?}");
        assert_eq!(real.after_both, [seen(active, "TIME-WAIT", 0)], "{real:#?}");
        same(&format!("closing, {active} first"), real, simulated);
    }
}

// ---------------------------------------------------------------- 9. byte stream

const WRITES: [usize; 3] = [1000, 2000, 5000];

/// What each read returned once everything had arrived (counts, or the
/// errno name), whether the bytes came back in order, and a read after the
/// writer closed (end of file).
#[derive(Debug, PartialEq)]
struct Chunks {
    read_len: usize,
    counts: String,
    identical: bool,
    eof: R<usize>,
}

fn pattern() -> Vec<u8> {
    (0..WRITES.iter().sum::<usize>())
        .map(|i| (i % 251) as u8)
        .collect()
}

fn counts_text(counts: &[R<usize>]) -> String {
    counts
        .iter()
        .map(|r| match r {
            Ok(n) => n.to_string(),
            Err(e) => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The writer's part: `pattern()` in the writes of `WRITES`, then close.
async fn write_pattern<A: Api>(a: &A, c: i32) {
    let data = pattern();
    let mut at = 0;
    for n in WRITES {
        assert_eq!(send(a, c, &data[at..at + n]).await, Ok(n));
        at += n;
    }
    a.close(c).expect("close");
}

/// The reader's part: reads with a buffer of `read_len` until all of
/// `pattern()` is in. Reads are non-blocking: everything should be queued
/// already, and `EAGAIN` shows when it is not.
async fn read_chunks<A: Api>(a: &A, s: i32, read_len: usize) -> Chunks {
    let data = pattern();
    let mut got = Vec::new();
    let mut counts = Vec::new();
    while got.len() < data.len() && counts.len() < 100 {
        let r = a.recv(s, read_len, MSG_DONTWAIT).await;
        if let Ok((_, bytes)) = &r {
            got.extend_from_slice(bytes);
        }
        let r = r.map(|(n, _)| n);
        let stop = !matches!(r, Ok(n) if n > 0);
        counts.push(r);
        if stop {
            break;
        }
    }
    Chunks {
        read_len,
        counts: counts_text(&counts),
        identical: got == data,
        eof: a.recv(s, 16, 0).await.map(|(n, _)| n),
    }
}

async fn chunks<A: Api>(a: &A, read_len: usize) -> Chunks {
    let (c, s) = pair(a).await;
    write_pattern(a, c).await;
    a.settle().await;
    read_chunks(a, s, read_len).await
}

const READ_LENS: [usize; 2] = [700, 4096];

fn expected_chunks(read_len: usize) -> String {
    let total: usize = WRITES.iter().sum();
    let mut want = vec![read_len.to_string(); total / read_len];
    want.push((total % read_len).to_string());
    want.join(" ")
}

fn chunks_real() -> Vec<Chunks> {
    READ_LENS
        .iter()
        .map(|&n| on_kernel(async |a| chunks(a, n).await))
        .collect()
}

/// TCP keeps no write boundaries: once everything is queued a read takes
/// min(buffer, available), across the segments.
#[test]
fn byte_stream_reads_ignore_write_boundaries() {
    let real = chunks_real();
    for r in &real {
        assert_eq!(r.counts, expected_chunks(r.read_len), "{r:#?}");
        assert!(r.identical);
        assert_eq!(r.eof, Ok(0));
    }
    let simulated = READ_LENS
        .iter()
        .map(|&n| in_sim(async move |a| chunks(a, n).await))
        .collect();
    same(
        &format!("reads after writes of {WRITES:?} over loopback"),
        real,
        simulated,
    );
}

/// The same comparison with the simulated connection between two hosts on
/// an Ethernet link (MSS 1460), away from the loopback window problem
/// above: what a read returns once all data is queued does not depend on
/// the path.
#[test]
fn byte_stream_reads_ignore_write_boundaries_sim_over_a_link() {
    let real = chunks_real();
    for r in &real {
        assert_eq!(r.counts, expected_chunks(r.read_len), "{r:#?}");
    }
    let simulated = READ_LENS.iter().map(|&n| chunks_sim_link(n)).collect();
    same(
        &format!("reads after writes of {WRITES:?} (simulation over a link)"),
        real,
        simulated,
    );
}

// ---------------------------------------------------------------- 10. send buffer

/// A writer on a non-blocking socket writes 1000 bytes, then 64 KiB chunks
/// to a reader that does not read, until `EAGAIN` even after a pause.
#[derive(Debug, PartialEq)]
struct Backpressure {
    /// The first send of 1000 bytes returned 1000 although nothing was read.
    first_send_whole: bool,
    /// The loop ended on EAGAIN (and not on the bound or another error).
    ended_with: R<usize>,
    accepted_some: bool,
    /// While stuck: the writer's Send-Q and the reader's Recv-Q are both
    /// non-empty (data waits in both buffers).
    send_q_nonempty: bool,
    recv_q_nonempty: bool,
    /// The reader drains everything, then the writer can send again.
    drained_all: bool,
    send_after_drain: R<usize>,
}

const CHUNK: usize = 64 * 1024;
/// At most this many chunks (64 MiB): Linux autotunes its buffers to a few
/// MiB at most on loopback.
const MAX_CHUNKS: usize = 1024;
/// At most this many pauses of `SETTLE` between runs of writes.
const MAX_PAUSES: usize = 20;

/// The writer's part: (first send, how the loop ended, bytes accepted).
/// It writes until `EAGAIN`, pauses, and goes on until a write right after
/// a pause still gets `EAGAIN`: the receiver is full, not just slow.
async fn fill<A: Api>(a: &A, w: i32) -> (R<usize>, R<usize>, usize) {
    let chunk = vec![7u8; CHUNK];
    let first = send(a, w, &chunk[..1000]).await;
    let mut accepted = *first.as_ref().unwrap_or(&0);
    let mut ended_with = Err("(bound reached)");
    let mut sends = 0;
    for _ in 0..MAX_PAUSES {
        let mut progressed = false;
        while sends < MAX_CHUNKS {
            sends += 1;
            match send(a, w, &chunk).await {
                Ok(n) => {
                    accepted += n;
                    progressed = true;
                }
                Err(e) => {
                    ended_with = Err(e);
                    break;
                }
            }
        }
        a.settle().await;
        if !progressed {
            break;
        }
    }
    (first, ended_with, accepted)
}

/// The reader's part: reads until `accepted` bytes are in.
async fn drain<A: Api>(a: &A, r: i32, accepted: usize) -> bool {
    let mut read = 0;
    while read < accepted {
        match a.recv(r, CHUNK, 0).await {
            Ok((n, _)) if n > 0 => read += n,
            _ => break,
        }
    }
    read == accepted
}

fn any_queue(rows: &[Seen], role: &str, queue: impl Fn(&Seen) -> u32) -> bool {
    rows.iter().any(|s| s.role == role && queue(s) > 0)
}

async fn backpressure<A: Api>(a: &A) -> (Backpressure, usize) {
    let (w, r, port) = connection(a, 8).await;
    set_nonblocking(a, w, true).expect("O_NONBLOCK");
    let (first, ended_with, accepted) = fill(a, w).await;
    let rows = by_role(&ss(a), port);
    let drained_all = drain(a, r, accepted).await;
    let seen = Backpressure {
        first_send_whole: first == Ok(1000),
        ended_with,
        accepted_some: accepted > 0,
        send_q_nonempty: any_queue(&rows, "client", |s| s.send_q),
        recv_q_nonempty: any_queue(&rows, "server", |s| s.recv_q),
        drained_all,
        send_after_drain: send(a, w, b"more").await,
    };
    (seen, accepted)
}

/// What Linux does: the shape of the run, whatever the buffer sizes.
fn expected_backpressure() -> Backpressure {
    Backpressure {
        first_send_whole: true,
        ended_with: Err("EAGAIN"),
        accepted_some: true,
        send_q_nonempty: true,
        recv_q_nonempty: true,
        drained_all: true,
        send_after_drain: Ok(4),
    }
}

/// `send()` returns once the bytes are in the send buffer, not when the
/// peer has them; with nobody reading, a non-blocking writer ends on
/// `EAGAIN`. How much fits differs (Linux autotunes both buffers, the
/// simulation keeps `tcp_wmem[1]` / `tcp_rmem[1]`), so only the shape is
/// compared; both numbers are printed.
#[test]
fn send_returns_before_delivery_then_eagain() {
    let ((real, real_bytes), (simulated, sim_bytes)) = both!(backpressure);
    println!("bytes accepted before EAGAIN: real kernel {real_bytes}, simulation {sim_bytes}");
    assert_eq!(real, expected_backpressure());
    same("a writer nobody reads, over loopback", real, simulated);
}

/// The same with the simulated connection between two hosts on an
/// Ethernet link (MSS 1460), away from the loopback MSS problem above.
#[test]
fn send_returns_before_delivery_then_eagain_sim_over_a_link() {
    let (real, real_bytes) = on_kernel(async |a| backpressure(a).await);
    let (simulated, sim_bytes) = backpressure_sim_link();
    println!(
        "bytes accepted before EAGAIN: real kernel (loopback) {real_bytes}, \
         simulation (link) {sim_bytes}"
    );
    assert_eq!(real, expected_backpressure());
    same(
        "a writer nobody reads (simulation over a link)",
        real,
        simulated,
    );
}

// ---------------------------------------------------------------- the simulation over a link
//
// The one exception to a single body per scenario: these compare the
// kernel over loopback (the scenarios above) with a simulation between two
// hosts. A simulated process lives on one host, so the scenario's steps
// (`write_pattern`/`read_chunks`, `fill`/`drain`) are split between a
// server process and a client process ([`in_sim_over_a_link`], a gigabit
// link, MTU 1500), with waits long enough for the link.

/// The client's connection to the server host.
async fn link_client(a: &SimApi, port: u16, ty: i32) -> i32 {
    a.wait(Duration::from_millis(1)).await;
    let c = a.socket(ty).expect("socket");
    let _ = a.connect(c, &format!("{SERVER_IP}:{port}")).await;
    c
}

fn chunks_sim_link(read_len: usize) -> Chunks {
    let port = free_port();
    let (chunks, ()) = in_sim_over_a_link(
        LinkConfig::default(),
        async move |a| {
            let l = listener_on(a, SERVER_IP, port, 8);
            let s = a.accept(l).await.expect("accept");
            a.wait(Duration::from_millis(500)).await;
            read_chunks(a, s, read_len).await
        },
        async move |a| {
            let c = link_client(a, port, SOCK_STREAM).await;
            write_pattern(a, c).await;
        },
    );
    chunks
}

fn backpressure_sim_link() -> (Backpressure, usize) {
    let port = free_port();
    let accepted_cell = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let shared = accepted_cell.clone();
    let ((recv_q_nonempty, drained_all), (first, ended_with, accepted, send_q_nonempty, after)) =
        in_sim_over_a_link(
            LinkConfig::default(),
            async move |a| {
                let l = listener_on(a, SERVER_IP, port, 8);
                let r = a.accept(l).await.expect("accept");
                // The writer is stuck well before this (its pauses are 50 ms).
                a.wait(Duration::from_secs(5)).await;
                let recv_q = any_queue(&by_role(&ss(a), port), "server", |s| s.recv_q);
                let drained = drain(a, r, shared.get()).await;
                (recv_q, drained)
            },
            async move |a| {
                let w = link_client(a, port, SOCK_STREAM | SOCK_NONBLOCK).await;
                a.wait(Duration::from_millis(10)).await;
                let (first, ended_with, accepted) = fill(a, w).await;
                accepted_cell.set(accepted);
                let send_q = any_queue(&by_role(&ss(a), port), "client", |s| s.send_q);
                a.wait(Duration::from_secs(10)).await;
                let after = send(a, w, b"more").await;
                (first, ended_with, accepted, send_q, after)
            },
        );
    let seen = Backpressure {
        first_send_whole: first == Ok(1000),
        ended_with,
        accepted_some: accepted > 0,
        send_q_nonempty,
        recv_q_nonempty,
        drained_all,
        send_after_drain: after,
    };
    (seen, accepted)
}

// ---------------------------------------------------------------- 11. errors

/// `getpeername()` through a connection's life.
#[derive(Debug, PartialEq)]
struct PeerNames {
    fresh: R<IpAddr>,
    syn_sent: R<IpAddr>,
    listener: R<IpAddr>,
    connected: R<IpAddr>,
    accepted: R<IpAddr>,
    /// The peer closed (CLOSE_WAIT): still connected.
    close_wait: R<IpAddr>,
    /// Reset by the peer (CLOSE).
    after_rst: R<IpAddr>,
    /// We shut down both ways and the peer closed too: CLOSE on our side.
    after_both_closed: R<IpAddr>,
}

async fn peer_names<A: Api>(a: &A) -> PeerNames {
    let peer_ip = |fd| a.getpeername(fd).map(|p| p.ip());
    let fresh = peer_ip(tcp(a));
    let (pending, l0) = syn_sent_socket(a).await;
    let syn_sent = peer_ip(pending);
    let listener = peer_ip(l0);

    let (c, s) = pair(a).await;
    let connected = peer_ip(c);
    let accepted = peer_ip(s);
    a.close(s).expect("close");
    a.settle().await;
    let close_wait = peer_ip(c);

    let c = reset_client(a).await;
    let after_rst = peer_ip(c);

    let (c, s) = pair(a).await;
    a.shutdown(c, SHUT_RDWR).expect("shutdown");
    a.settle().await;
    a.close(s).expect("close");
    a.settle().await;
    let after_both_closed = peer_ip(c);
    PeerNames {
        fresh,
        syn_sent,
        listener,
        connected,
        accepted,
        close_wait,
        after_rst,
        after_both_closed,
    }
}

/// `inet_getname()`: `ENOTCONN` without a peer port, or in CLOSE or
/// SYN_SENT.
#[test]
fn getpeername_enotconn_unless_connected() {
    let (real, simulated) = both!(peer_names);
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(
        real,
        PeerNames {
            fresh: Err("ENOTCONN"),
            syn_sent: Err("ENOTCONN"),
            listener: Err("ENOTCONN"),
            connected: Ok(lo),
            accepted: Ok(lo),
            close_wait: Ok(lo),
            after_rst: Err("ENOTCONN"),
            after_both_closed: Err("ENOTCONN"),
        }
    );
    same("getpeername", real, simulated);
}

/// `listen()`, `accept()` and `connect()` on sockets in the wrong state or
/// of the wrong type.
#[derive(Debug, PartialEq)]
struct Misuse {
    listen_connected: R<()>,
    listen_accepted: R<()>,
    listen_syn_sent: R<()>,
    accept_fresh: R<()>,
    accept_bound: R<()>,
    accept_connected: R<()>,
    accept_nonblocking_empty: R<()>,
    listen_udp: R<()>,
    accept_udp: R<()>,
    connect_listener: R<()>,
    /// `listen()` again on a listener changes its backlog (Send-Q).
    relisten: R<()>,
    relisten_send_q: Option<u32>,
}

/// A listener on an ephemeral port, non-blocking: (it, its port).
fn nonblocking_listener<A: Api>(a: &A) -> (i32, u16) {
    let l = listener(a, 0, 8);
    set_nonblocking(a, l, true).expect("O_NONBLOCK");
    (l, port_of(a, l))
}

async fn misuse<A: Api>(a: &A) -> Misuse {
    let (c, s) = pair(a).await;
    let (pending, _l0) = syn_sent_socket(a).await;
    let bound = tcp(a);
    a.bind(bound, "127.0.0.1:0").expect("bind");
    let udp = a.socket(SOCK_DGRAM).expect("socket");
    let (l, port) = nonblocking_listener(a);
    let relisten = a.listen(l, 3);
    let relisten_send_q = by_role(&ss(a), port)
        .iter()
        .find(|s| s.role == "listener")
        .map(|s| s.send_q);
    Misuse {
        listen_connected: a.listen(c, 1),
        listen_accepted: a.listen(s, 1),
        listen_syn_sent: a.listen(pending, 1),
        accept_fresh: a.accept(tcp(a)).await.map(drop),
        accept_bound: a.accept(bound).await.map(drop),
        accept_connected: a.accept(c).await.map(drop),
        accept_nonblocking_empty: a.accept(l).await.map(drop),
        listen_udp: a.listen(udp, 1),
        accept_udp: a.accept(udp).await.map(drop),
        connect_listener: a.connect(l, &local(port)).await,
        relisten,
        relisten_send_q,
    }
}

#[test]
fn listen_accept_connect_misuse() {
    let (real, simulated) = both!(misuse);
    assert_eq!(
        real,
        Misuse {
            listen_connected: Err("EINVAL"),
            listen_accepted: Err("EINVAL"),
            listen_syn_sent: Err("EINVAL"),
            accept_fresh: Err("EINVAL"),
            accept_bound: Err("EINVAL"),
            accept_connected: Err("EINVAL"),
            accept_nonblocking_empty: Err("EAGAIN"),
            listen_udp: Err("EOPNOTSUPP"),
            accept_udp: Err("EOPNOTSUPP"),
            connect_listener: Err("EISCONN"),
            relisten: Ok(()),
            relisten_send_q: Some(3),
        }
    );
    same("listen/accept/connect misuse", real, simulated);
}

/// Data calls on a listener.
#[derive(Debug, PartialEq)]
struct ListenerData {
    recv: R<String>,
    send: R<usize>,
}

async fn listener_data<A: Api>(a: &A) -> ListenerData {
    let (l, _) = nonblocking_listener(a);
    ListenerData {
        recv: read_text(a, l, 10, 0).await,
        send: send(a, l, b"x").await,
    }
}

/// `tcp_recvmsg()` on a listener is `ENOTCONN`; `tcp_sendmsg()` finds no
/// connection (`sk_stream_wait_connect()` → `EPIPE`).
#[test]
fn data_calls_on_a_listener() {
    let (real, simulated) = both!(listener_data);
    assert_eq!(
        real,
        ListenerData {
            recv: Err("ENOTCONN"),
            send: Err("EPIPE"),
        }
    );
    same("recv/send on a listener", real, simulated);
}

/// `shutdown(SHUT_RDWR)` of a listener stops it (`inet_shutdown()` →
/// `tcp_disconnect()`): it leaves the table, `accept()` fails, a client is
/// refused, and the socket can listen again.
#[derive(Debug, PartialEq)]
struct ListenerShutdown {
    shutdown: R<()>,
    listed_after: bool,
    accept_after: R<()>,
    connect_after: R<()>,
    listen_again: R<()>,
}

async fn listener_shutdown<A: Api>(a: &A) -> ListenerShutdown {
    let (l, port) = nonblocking_listener(a);
    let shutdown = a.shutdown(l, SHUT_RDWR);
    let listed_after = !by_role(&ss(a), port).is_empty();
    let accept_after = a.accept(l).await.map(drop);
    let connect_after = a.connect(tcp(a), &local(port)).await;
    let listen_again = a.listen(l, 8);
    ListenerShutdown {
        shutdown,
        listed_after,
        accept_after,
        connect_after,
        listen_again,
    }
}

#[test]
fn shutdown_of_a_listener() {
    let (real, simulated) = both!(listener_shutdown);
    assert_eq!(
        real,
        ListenerShutdown {
            shutdown: Ok(()),
            listed_after: false,
            accept_after: Err("EINVAL"),
            connect_after: Err("ECONNREFUSED"),
            listen_again: Ok(()),
        }
    );
    same("shutdown of a listener", real, simulated);
}

/// Data calls in SYN_SENT on a non-blocking socket: the handshake is not
/// over, so both would wait.
#[derive(Debug, PartialEq)]
struct SynSentCalls {
    send: R<usize>,
    recv: R<String>,
    so_error: R<&'static str>,
}

async fn syn_sent<A: Api>(a: &A) -> SynSentCalls {
    let (s, _l0) = syn_sent_socket(a).await;
    SynSentCalls {
        send: send(a, s, b"x").await,
        recv: read_text(a, s, 10, 0).await,
        so_error: so_error(a, s),
    }
}

#[test]
fn calls_in_syn_sent() {
    let (real, simulated) = both!(syn_sent);
    assert_eq!(
        real,
        SynSentCalls {
            send: Err("EAGAIN"),
            recv: Err("EAGAIN"),
            so_error: Ok("0"),
        }
    );
    same("calls in SYN_SENT", real, simulated);
}

/// `shutdown()` in SYN_SENT aborts the attempt (`inet_shutdown()` →
/// `tcp_disconnect()`, which sets `ECONNRESET`); the socket can connect
/// again.
#[derive(Debug, PartialEq)]
struct SynSentShutdown {
    shutdown: R<()>,
    listed_after: bool,
    recv_after: R<String>,
    send_after: R<usize>,
    connect_again: R<()>,
}

async fn syn_sent_shutdown<A: Api>(a: &A) -> SynSentShutdown {
    let (s, l0) = syn_sent_socket(a).await;
    let sport = port_of(a, s);
    let shutdown = a.shutdown(s, SHUT_WR);
    let listed_after = ss(a).iter().any(|r| r.local.port() == sport);
    SynSentShutdown {
        shutdown,
        listed_after,
        recv_after: read_text(a, s, 10, 0).await,
        send_after: send(a, s, b"x").await,
        connect_again: a.connect(s, &local(port_of(a, l0))).await,
    }
}

#[test]
fn shutdown_in_syn_sent() {
    let (real, simulated) = both!(syn_sent_shutdown);
    assert_eq!(
        real,
        SynSentShutdown {
            shutdown: Ok(()),
            listed_after: false,
            recv_after: Err("ECONNRESET"),
            send_after: Err("EPIPE"),
            connect_again: Err("EINPROGRESS"),
        }
    );
    same("shutdown in SYN_SENT", real, simulated);
}

// ---------------------------------------------------------------- 12. /proc/net/tcp

/// One line of `/proc/net/tcp`, with what varies from run to run (ports,
/// inode, pointer, timers' internals) left out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ProcTcpRow {
    role: &'static str,
    st: String,
    tx_queue: u32,
    rx_queue: u32,
    local_ip: String,
    rem_ip: String,
    /// `tr:tm->when`, `retrnsmt`, `timeout`.
    timer: String,
    retrnsmt: String,
    timeout: String,
    /// `icsk_ack.ato` in clock ticks and `(icsk_ack.quick << 1) |
    /// pingpong`: the delayed-ACK engine's state (`delack.rs`).
    ato: String,
    quick_pingpong: String,
    fields: usize,
    width: usize,
}

#[derive(Debug, PartialEq)]
struct ProcTcp {
    header: String,
    rows: Vec<ProcTcpRow>,
}

fn hex_port(addr: &str) -> Option<(String, u16)> {
    let (ip, port) = addr.split_once(':')?;
    Some((ip.to_string(), u16::from_str_radix(port, 16).ok()?))
}

fn parse_proc_tcp(text: &str, port: u16) -> ProcTcp {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let mut rows: Vec<ProcTcpRow> = lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local_ip, lport) = hex_port(f.get(1)?)?;
            let (rem_ip, rport) = hex_port(f.get(2)?)?;
            let ip = |p: u16| SocketAddr::new("0.0.0.0".parse().unwrap(), p);
            let peer = (rport != 0).then(|| ip(rport));
            let role = role_of(ip(lport), peer, port)?;
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some(ProcTcpRow {
                role,
                st: f.get(3)?.to_string(),
                tx_queue: u32::from_str_radix(tx, 16).ok()?,
                rx_queue: u32::from_str_radix(rx, 16).ok()?,
                local_ip,
                rem_ip,
                timer: f.get(5)?.to_string(),
                retrnsmt: f.get(6)?.to_string(),
                timeout: f.get(8)?.to_string(),
                ato: f.get(13).unwrap_or(&"").to_string(),
                quick_pingpong: f.get(14).unwrap_or(&"").to_string(),
                fields: f.len(),
                width: line.len(),
            })
        })
        .collect();
    rows.sort();
    ProcTcp { header, rows }
}

/// A listener with one connection accepted (10 bytes from the client
/// unread on the server side) and one still in the accept queue.
async fn proc_tcp<A: Api>(a: &A) -> ProcTcp {
    let l = listener(a, 0, 5);
    let port = port_of(a, l);
    let c1 = tcp(a);
    a.connect(c1, &local(port)).await.expect("connect");
    let _s1 = a.accept(l).await.expect("accept");
    let c2 = tcp(a);
    a.connect(c2, &local(port)).await.expect("connect");
    send(a, c1, b"0123456789").await.expect("send");
    a.settle().await;
    parse_proc_tcp(&a.sh("cat /proc/net/tcp"), port)
}

#[test]
fn proc_net_tcp_listen_and_established_rows() {
    let (real, simulated) = both!(proc_tcp);
    let states: Vec<(&str, &str, u32, u32)> = real
        .rows
        .iter()
        .map(|r| (r.role, r.st.as_str(), r.tx_queue, r.rx_queue))
        .collect();
    assert_eq!(
        states,
        [
            ("client", "01", 0, 0),
            ("client", "01", 0, 0),
            ("listener", "0A", 0, 1),
            ("server", "01", 0, 0),
            ("server", "01", 0, 10),
        ],
        "{real:#?}"
    );
    same("/proc/net/tcp", real, simulated);
}
