//! Differential tests of TCP sockets: every scenario runs twice, once on
//! this machine's kernel over loopback and once in the simulation (one
//! host, 127.0.0.1), and each run boils what it saw down to the same plain
//! data (errno names, byte counts, the states and queues `ss -tan` and
//! `/proc/net/tcp` print). The two must be equal; on failure both are
//! printed.
//!
//! The real side uses `socket2` and `nix` on 127.0.0.1 only, with read
//! timeouts and bounded loops, and runs `ss -tan` (iproute2) to see states.
//! Other programs on the machine may hold TCP sockets too, so rows are
//! picked by the test's own listening port.
//!
//! What is compared is what a program can rely on; where Linux and the
//! simulation may legitimately differ (how many bytes fit in a send buffer
//! that Linux autotunes and the simulation does not), only the stable part
//! is asserted and both numbers are printed.
//!
//! Two tests whose loopback version is ignored (see their reasons) have a
//! twin, `..._sim_over_a_link`, that runs the simulated side between two
//! hosts on an Ethernet link instead: what they compare does not depend on
//! the path, and the twin keeps the rest of the behaviour checked.
//!
//! A test marked `#[ignore = "sim differs: ..."]` asserts what the kernel
//! does where the simulation does not do it yet; run them with
//! `cargo nextest run -p stack --test differential_tcp --run-ignored all`.

use std::fmt::Debug;
use std::future::Future;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::socket::{MsgFlags, recv, send};
use socket2::{Domain, SockAddr, Socket, Type};
use stack::prelude::*;

mod common;
use common::*;

// ---------------------------------------------------------------- helpers

const SIM_SETTLE: Nanos = ms(50);

/// A TCP port that is free on 127.0.0.1 right now. The simulation uses the
/// same number.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind to an ephemeral port")
        .port()
}

fn tcp4_nonblocking() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None)
        .expect("socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)")
}

/// `recv()` into a buffer of `len`, the bytes as text.
fn real_read(s: &Socket, len: usize, flags: MsgFlags) -> R<String> {
    let mut buf = vec![0u8; len];
    let n = nix_r(recv(s.as_raw_fd(), &mut buf, flags))?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// `send()` with `MSG_NOSIGNAL`, so that a broken connection gives EPIPE
/// instead of killing the test with SIGPIPE.
fn real_send(s: &Socket, data: &[u8]) -> R<usize> {
    nix_r(send(s.as_raw_fd(), data, MsgFlags::MSG_NOSIGNAL))
}

/// `getsockopt(SO_ERROR)`: the pending error by name, "0" for none.
fn real_so_error(s: &Socket) -> R<&'static str> {
    real(s.take_error()).map(|e| match e {
        None => "0",
        Some(e) => errno_name(e.raw_os_error()),
    })
}

fn so_error_name(v: i32) -> &'static str {
    if v == 0 { "0" } else { errno_name(Some(v)) }
}

fn sim_so_error(p: &Process, fd: i32) -> R<&'static str> {
    sim(p.getsockopt(fd, SOL_SOCKET, SO_ERROR)).map(so_error_name)
}

async fn sim_read(p: &Process, fd: i32, len: usize, flags: i32) -> R<String> {
    let mut buf = vec![0u8; len];
    let n = sim(p.recv(fd, &mut buf, flags).await)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

async fn sim_send(p: &Process, fd: i32, data: &[u8]) -> R<usize> {
    sim(p.send(fd, data, MSG_NOSIGNAL).await)
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

fn real_ss() -> Vec<SsRow> {
    let out = Command::new("ss")
        .arg("-tan")
        .output()
        .expect("run ss -tan (iproute2)");
    assert!(out.status.success(), "ss -tan failed: {out:?}");
    parse_ss(&String::from_utf8_lossy(&out.stdout))
}

fn sim_ss(p: &Process) -> Vec<SsRow> {
    parse_ss(&p.sh("ss -tan"))
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

/// One counter of the `TcpExt:` table of `/proc/net/netstat` (real) or of
/// `nstat -az` (simulation).
fn real_tcpext(field: &str) -> u64 {
    real_mib("TcpExt", field)
}

fn sim_nstat(p: &Process, name: &str) -> u64 {
    p.sh("nstat -az")
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in nstat -az"))
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

fn accept_queue_real(backlog: i32) -> AcceptQueue {
    let l = real_listener(0, backlog);
    let port = real_port(&l);
    let to = sockaddr(&local(port));
    let before = real_tcpext("ListenOverflows");
    let n = backlog as usize + 4;
    let clients: Vec<Socket> = (0..n).map(|_| tcp4_nonblocking()).collect();
    let connects = clients.iter().map(|c| real(c.connect(&to))).collect();
    std::thread::sleep(SETTLE);
    let rows = by_role(&real_ss(), port);
    let (listener, clients_established, clients_syn_sent, server_established) = summarize(&rows);
    let second_connects = clients.iter().map(|c| real(c.connect(&to))).collect();
    let overflows = real_tcpext("ListenOverflows") - before;
    AcceptQueue {
        backlog,
        connects,
        listener,
        clients_established,
        clients_syn_sent,
        server_established,
        second_connects,
        overflows_counted: overflows >= clients_syn_sent as u64,
    }
}

fn accept_queue_sim(backlog: i32) -> AcceptQueue {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, backlog)?;
        let to = p.getsockname(l)?;
        let before = sim_nstat(&p, "TcpExtListenOverflows");
        let mut clients = Vec::new();
        let mut connects = Vec::new();
        for _ in 0..backlog + 4 {
            let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            connects.push(sim(p.connect(c, to).await));
            clients.push(c);
        }
        p.sleep(SIM_SETTLE).await;
        let rows = by_role(&sim_ss(&p), port);
        let (listener, clients_established, clients_syn_sent, server_established) =
            summarize(&rows);
        let mut second_connects = Vec::new();
        for &c in &clients {
            second_connects.push(sim(p.connect(c, to).await));
        }
        let overflows = sim_nstat(&p, "TcpExtListenOverflows") - before;
        Ok(AcceptQueue {
            backlog,
            connects,
            listener,
            clients_established,
            clients_syn_sent,
            server_established,
            second_connects,
            overflows_counted: overflows >= clients_syn_sent as u64,
        })
    })
}

/// `sk_acceptq_is_full()` is `sk_ack_backlog > sk_max_ack_backlog`: the
/// queue takes backlog + 1 connections; later SYNs are dropped
/// (`tcp_conn_request()`), leaving their clients in SYN-SENT.
#[test]
fn accept_queue_holds_backlog_plus_one() {
    for backlog in [1, 2, 3] {
        let real = accept_queue_real(backlog);
        let b = backlog as u32;
        assert_eq!(real.listener, Some((b + 1, b)), "{real:#?}");
        assert_eq!(real.clients_established, backlog as usize + 1, "{real:#?}");
        assert_eq!(real.clients_syn_sent, 3, "{real:#?}");
        same(
            &format!("accept queue with backlog {backlog}"),
            real,
            accept_queue_sim(backlog),
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

fn refused_real(port: u16) -> Refused {
    let to = sockaddr(&local(port));
    let a = tcp4();
    let blocking = real(a.connect(&to));
    let so_error_after_blocking = real_so_error(&a);
    let blocking_again = real(a.connect(&to));
    let b = tcp4_nonblocking();
    let nonblocking = real(b.connect(&to));
    std::thread::sleep(SETTLE);
    let so_error = real_so_error(&b);
    let so_error_again = real_so_error(&b);
    let getpeername = real(b.peer_addr()).map(drop);
    let c = tcp4_nonblocking();
    let _ = c.connect(&to);
    std::thread::sleep(SETTLE);
    let recv_ = real_read(&c, 16, MsgFlags::empty());
    let recv_again = real_read(&c, 16, MsgFlags::empty());
    Refused {
        blocking,
        so_error_after_blocking,
        blocking_again,
        nonblocking,
        so_error,
        so_error_again,
        getpeername,
        recv: recv_,
        recv_again,
    }
}

fn refused_sim(port: u16) -> Refused {
    run_sim(move |p| async move {
        let to = local(port);
        let a = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let blocking = sim(p.connect(a, to.as_str()).await);
        let so_error_after_blocking = sim_so_error(&p, a);
        let blocking_again = sim(p.connect(a, to.as_str()).await);
        let b = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let nonblocking = sim(p.connect(b, to.as_str()).await);
        p.sleep(SIM_SETTLE).await;
        let so_error = sim_so_error(&p, b);
        let so_error_again = sim_so_error(&p, b);
        let getpeername = sim(p.getpeername(b)).map(drop);
        let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(c, to.as_str()).await;
        p.sleep(SIM_SETTLE).await;
        let recv_ = sim_read(&p, c, 16, 0).await;
        let recv_again = sim_read(&p, c, 16, 0).await;
        Ok(Refused {
            blocking,
            so_error_after_blocking,
            blocking_again,
            nonblocking,
            so_error,
            so_error_again,
            getpeername,
            recv: recv_,
            recv_again,
        })
    })
}

#[test]
fn econnrefused_without_a_listener() {
    let port = free_port();
    let real = refused_real(port);
    assert_eq!(real.blocking, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.nonblocking, Err("EINPROGRESS"), "{real:#?}");
    assert_eq!(real.so_error, Ok("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.blocking_again, Err("ECONNREFUSED"), "{real:#?}");
    same(
        &format!("connect to port {port} with no listener"),
        real,
        refused_sim(port),
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

fn connect_again_real(port: u16) -> ConnectAgain {
    let to = sockaddr(&local(port));
    let b = tcp4_nonblocking();
    let _ = b.connect(&to);
    std::thread::sleep(SETTLE);
    let second = real(b.connect(&to));
    let so_error_after_second = real_so_error(&b);
    let third = real(b.connect(&to));
    let c = tcp4_nonblocking();
    let _ = c.connect(&to);
    std::thread::sleep(SETTLE);
    let _ = real_so_error(&c);
    let after_so_error = real(c.connect(&to));
    ConnectAgain {
        second,
        so_error_after_second,
        third,
        after_so_error,
    }
}

fn connect_again_sim(port: u16) -> ConnectAgain {
    run_sim(move |p| async move {
        let to = local(port);
        let b = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(b, to.as_str()).await;
        p.sleep(SIM_SETTLE).await;
        let second = sim(p.connect(b, to.as_str()).await);
        let so_error_after_second = sim_so_error(&p, b);
        let third = sim(p.connect(b, to.as_str()).await);
        let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(c, to.as_str()).await;
        p.sleep(SIM_SETTLE).await;
        let _ = sim_so_error(&p, c);
        let after_so_error = sim(p.connect(c, to.as_str()).await);
        Ok(ConnectAgain {
            second,
            so_error_after_second,
            third,
            after_so_error,
        })
    })
}

#[test]

fn connect_again_after_a_refused_attempt() {
    let port = free_port();
    let real = connect_again_real(port);
    assert_eq!(
        real,
        ConnectAgain {
            second: Err("ECONNREFUSED"),
            so_error_after_second: Ok("0"),
            third: Err("EINPROGRESS"),
            after_so_error: Err("ECONNABORTED"),
        }
    );
    same(
        &format!("connect again to port {port}"),
        real,
        connect_again_sim(port),
    );
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

fn real_bind(ip: &str, port: u16, reuseaddr: bool) -> R<()> {
    let s = tcp4();
    s.set_reuse_address(reuseaddr).unwrap();
    real(s.bind(&sockaddr(&format!("{ip}:{port}"))))
}

fn sim_bind(p: &Process, ip: &str, port: u16, reuseaddr: bool) -> SysResult<R<()>> {
    let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, reuseaddr as i32)?;
    let r = sim(p.bind(s, format!("{ip}:{port}")));
    p.close(s)?;
    Ok(r)
}

/// TIME_WAIT on the client's port: the client (bound to an explicit port,
/// `SO_REUSEADDR` as given) closes first. Then, with the listener closed
/// or not, TIME_WAIT on the server's port: the server closes first.
fn time_wait_bind_real(first_reuseaddr: bool) -> [TimeWaitBind; 3] {
    let probe = |port: u16| TimeWaitBind {
        rows: rows_of_port(&real_ss(), port),
        bind_plain: real_bind("127.0.0.1", port, false),
        bind_reuseaddr: real_bind("127.0.0.1", port, true),
        bind_any_plain: real_bind("0.0.0.0", port, false),
        bind_any_reuseaddr: real_bind("0.0.0.0", port, true),
    };
    // Client side.
    let l = real_listener(0, 8);
    let c = tcp4();
    c.set_reuse_address(first_reuseaddr).unwrap();
    c.bind(&sockaddr("127.0.0.1:0")).unwrap();
    let cport = real_port(&c);
    c.connect(&sockaddr(&local(real_port(&l)))).unwrap();
    let (a, _) = l.accept().unwrap();
    drop(c);
    std::thread::sleep(SETTLE);
    drop(a);
    std::thread::sleep(SETTLE);
    let client = probe(cport);
    drop(l);
    // Server side, listener still open, then closed.
    let l = tcp4();
    l.set_reuse_address(first_reuseaddr).unwrap();
    l.bind(&sockaddr("127.0.0.1:0")).unwrap();
    l.listen(8).unwrap();
    let sport = real_port(&l);
    let c = tcp4();
    c.connect(&sockaddr(&local(sport))).unwrap();
    let (a, _) = l.accept().unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    drop(c);
    std::thread::sleep(SETTLE);
    let server_listening = TimeWaitBind {
        rows: rows_of_port(&real_ss(), sport)
            .into_iter()
            .filter(|r| r.0 != "LISTEN")
            .collect(),
        bind_plain: real_bind("127.0.0.1", sport, false),
        bind_reuseaddr: real_bind("127.0.0.1", sport, true),
        bind_any_plain: real_bind("0.0.0.0", sport, false),
        bind_any_reuseaddr: real_bind("0.0.0.0", sport, true),
    };
    drop(l);
    let server = probe(sport);
    [client, server_listening, server]
}

fn time_wait_bind_sim(first_reuseaddr: bool) -> [TimeWaitBind; 3] {
    run_sim(move |p| async move {
        async fn probe(p: &Process, port: u16, no_listener: bool) -> SysResult<TimeWaitBind> {
            Ok(TimeWaitBind {
                rows: rows_of_port(&sim_ss(p), port)
                    .into_iter()
                    .filter(|r| no_listener || r.0 != "LISTEN")
                    .collect(),
                bind_plain: sim_bind(p, "127.0.0.1", port, false)?,
                bind_reuseaddr: sim_bind(p, "127.0.0.1", port, true)?,
                bind_any_plain: sim_bind(p, "0.0.0.0", port, false)?,
                bind_any_reuseaddr: sim_bind(p, "0.0.0.0", port, true)?,
            })
        }
        let reuse = first_reuseaddr as i32;
        // Client side.
        let l = sim_listener(&p, 0, 8)?;
        let to = p.getsockname(l)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(c, SOL_SOCKET, SO_REUSEADDR, reuse)?;
        p.bind(c, "127.0.0.1:0")?;
        let cport = sim_port(&p, c)?;
        p.connect(c, to).await?;
        let (a, _) = p.accept(l).await?;
        p.close(c)?;
        p.sleep(SIM_SETTLE).await;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let client = probe(&p, cport, true).await?;
        p.close(l)?;
        // Server side.
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, reuse)?;
        p.bind(l, "127.0.0.1:0")?;
        p.listen(l, 8)?;
        let sport = sim_port(&p, l)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(sport)).await?;
        let (a, _) = p.accept(l).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        p.close(c)?;
        p.sleep(SIM_SETTLE).await;
        let server_listening = probe(&p, sport, false).await?;
        p.close(l)?;
        let server = probe(&p, sport, true).await?;
        Ok([client, server_listening, server])
    })
}

/// `MSG_WAITALL` reads: what three reads of 100 bytes returned. (1) 50
/// bytes were queued and 50 more come 100 ms later: the read waits for
/// them; (2) 50 queued, with `MSG_DONTWAIT` too: the 50 at once; (3) 30
/// queued and then the peer closes: the 30 at end of stream.
fn waitall_real() -> Vec<R<String>> {
    let l = real_listener(0, 8);
    let c = tcp4();
    c.connect(&sockaddr(&local(real_port(&l)))).unwrap();
    let (a, _) = l.accept().unwrap();
    a.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut seen = Vec::new();
    real_send(&c, &[b'a'; 50]).unwrap();
    let reader = std::thread::spawn(move || {
        let r = real_read(&a, 100, MsgFlags::MSG_WAITALL);
        (a, r)
    });
    std::thread::sleep(Duration::from_millis(100));
    real_send(&c, &[b'b'; 50]).unwrap();
    let (a, r) = reader.join().unwrap();
    seen.push(r);
    real_send(&c, &[b'c'; 50]).unwrap();
    std::thread::sleep(SETTLE);
    seen.push(real_read(
        &a,
        100,
        MsgFlags::MSG_WAITALL | MsgFlags::MSG_DONTWAIT,
    ));
    real_send(&c, &[b'd'; 30]).unwrap();
    let reader = std::thread::spawn(move || real_read(&a, 100, MsgFlags::MSG_WAITALL));
    std::thread::sleep(Duration::from_millis(100));
    drop(c);
    seen.push(reader.join().unwrap());
    seen
}

fn waitall_sim() -> Vec<R<String>> {
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    let seen = spawn_collect(&mut world, host, "server", |p| async move {
        let l = sim_listener(&p, 8080, 8)?;
        let (a, _) = p.accept(l).await?;
        let mut seen = Vec::new();
        p.sleep(SIM_SETTLE).await;
        seen.push(sim_read(&p, a, 100, MSG_WAITALL).await);
        p.sleep(SIM_SETTLE).await;
        seen.push(sim_read(&p, a, 100, MSG_WAITALL | MSG_DONTWAIT).await);
        p.sleep(SIM_SETTLE).await;
        seen.push(sim_read(&p, a, 100, MSG_WAITALL).await);
        Ok(seen)
    });
    spawn_collect(&mut world, host, "client", |p| async move {
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(8080)).await?;
        sim_send(&p, c, &[b'a'; 50]).await.unwrap();
        p.sleep(SIM_SETTLE + ms(100)).await;
        sim_send(&p, c, &[b'b'; 50]).await.unwrap();
        sim_send(&p, c, &[b'c'; 50]).await.unwrap();
        p.sleep(SIM_SETTLE * 2).await;
        sim_send(&p, c, &[b'd'; 30]).await.unwrap();
        p.sleep(SIM_SETTLE + ms(100)).await;
        p.close(c)?;
        Ok(())
    });
    let report = world.run();
    assert!(report.is_ok(), "{report}");
    seen.take().expect("the server finished")
}

#[test]
fn msg_waitall_waits_for_the_whole_buffer() {
    let real = waitall_real();
    assert_eq!(
        real.iter()
            .map(|r| r.as_ref().map(String::len))
            .collect::<Vec<_>>(),
        [Ok(100), Ok(50), Ok(30)],
        "{real:?}"
    );
    same("recv(100, MSG_WAITALL)", real, waitall_sim());
}

/// `connect()` to `0.0.0.0:port`, TCP then UDP: the result and the peer
/// `getpeername()` then gives. The unspecified address means this host
/// (`ip_route_connect()`), so both reach the listener on 127.0.0.1.
fn connect_any_real() -> Vec<(R<()>, Option<String>)> {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    let t = tcp4();
    let tr = real(t.connect(&sockaddr(&format!("0.0.0.0:{port}"))));
    let u = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    let ur = real(u.connect(&sockaddr(&format!("0.0.0.0:{port}"))));
    let peer = |s: &Socket| {
        s.peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.ip().to_string())
    };
    vec![(tr, peer(&t)), (ur, peer(&u))]
}

fn connect_any_sim() -> Vec<(R<()>, Option<String>)> {
    run_sim(|p| async move {
        let l = sim_listener(&p, 0, 8)?;
        let port = sim_port(&p, l)?;
        let t = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let tr = sim(p.connect(t, format!("0.0.0.0:{port}")).await);
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let ur = sim(p.connect(u, format!("0.0.0.0:{port}")).await);
        let peer = |fd| {
            p.getpeername(fd)
                .ok()
                .and_then(|a| a.inet())
                .map(|a| a.ip().to_string())
        };
        Ok(vec![(tr, peer(t)), (ur, peer(u))])
    })
}

#[test]
fn connect_to_the_unspecified_address_reaches_this_host() {
    let real = connect_any_real();
    assert_eq!(
        real,
        [
            (Ok(()), Some("127.0.0.1".to_string())),
            (Ok(()), Some("127.0.0.1".to_string()))
        ]
    );
    same("connect(0.0.0.0:port)", real, connect_any_sim());
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

fn keepalive_real(lo_down: bool) -> Option<Keepalive> {
    std::thread::spawn(move || {
        use nix::sched::{CloneFlags, unshare};
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
            return None;
        }
        let ip = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?}");
        };
        ip(&["link", "set", "lo", "up"]);
        let l = real_listener(KEEPALIVE_PORT, 8);
        let c = tcp4();
        c.connect(&sockaddr(&local(KEEPALIVE_PORT))).unwrap();
        let (a, _) = l.accept().unwrap();
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(1))
            .with_interval(Duration::from_secs(1))
            .with_retries(2);
        c.set_tcp_keepalive(&keepalive).unwrap();
        if lo_down {
            ip(&["link", "set", "lo", "down"]);
        }
        std::thread::sleep(Duration::from_millis(3500));
        let seen = Keepalive {
            probes: real_mib("TcpExt", "TCPKeepAlive"),
            so_error: real_so_error(&c),
            aborted: real_mib("TcpExt", "TCPAbortOnTimeout"),
        };
        drop((l, a, c));
        Some(seen)
    })
    .join()
    .expect("the namespace thread")
}

fn keepalive_sim(lo_down: bool) -> Keepalive {
    let mut world = Sim::new(1);
    let h = world.add_host("box");
    let so_error = spawn_collect(&mut world, h, "test", |p| async move {
        let _l = sim_listener(&p, KEEPALIVE_PORT, 8)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(KEEPALIVE_PORT)).await?;
        p.setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, 1)?;
        p.setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, 1)?;
        p.setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, 1)?;
        p.setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, 2)?;
        p.sleep(ms(3500)).await;
        Ok(sim_so_error(&p, c))
    });
    world.run_until(ms(1));
    if lo_down {
        world.link_set_down(h, "lo").unwrap();
    }
    world.run_until(ms(3502));
    let so_error = so_error.take().expect("the test finished");
    Keepalive {
        probes: world.counter(h, Mib::TcpExtTCPKeepAlive),
        so_error,
        aborted: world.counter(h, Mib::TcpExtTCPAbortOnTimeout),
    }
}

#[test]
fn keepalive_probes_an_idle_connection_and_gives_up_on_a_silent_one() {
    for lo_down in [false, true] {
        let Some(real) = keepalive_real(lo_down) else {
            return;
        };
        same(
            &format!("keepalive, loopback down: {lo_down}"),
            real,
            keepalive_sim(lo_down),
        );
    }
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
fn listener_gone_real() -> ListenerGone {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    let c = tcp4();
    c.connect(&sockaddr(&local(port))).unwrap();
    std::thread::sleep(SETTLE);
    drop(l);
    std::thread::sleep(SETTLE);
    let gone = ListenerGone {
        rows: rows_of_port(&real_ss(), port),
        bind_plain: real_bind("127.0.0.1", port, false),
        bind_reuseaddr: real_bind("127.0.0.1", port, true),
    };
    drop(c);
    gone
}

fn listener_gone_sim() -> ListenerGone {
    run_sim(|p| async move {
        let l = sim_listener(&p, 0, 8)?;
        let port = sim_port(&p, l)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(port)).await?;
        p.sleep(SIM_SETTLE).await;
        p.close(l)?;
        p.sleep(SIM_SETTLE).await;
        Ok(ListenerGone {
            rows: rows_of_port(&sim_ss(&p), port),
            bind_plain: sim_bind(&p, "127.0.0.1", port, false)?,
            bind_reuseaddr: sim_bind(&p, "127.0.0.1", port, true)?,
        })
    })
}

#[test]
fn a_closed_listener_frees_its_port_with_a_connection_unaccepted() {
    let real = listener_gone_real();
    assert_eq!(real.bind_plain, Ok(()), "{real:#?}");
    same(
        "bind() to the port of a closed listener that had an unaccepted connection",
        real,
        listener_gone_sim(),
    );
}

/// A TIME_WAIT socket keeps the `SO_REUSEADDR` of the socket it replaced
/// (`sk_reuse`), and `inet_bind_conflict()` lets a new socket share the
/// port only if both have it: `SO_REUSEADDR` on the new socket alone is
/// not enough.
#[test]
fn eaddrinuse_over_time_wait() {
    for first_reuseaddr in [false, true] {
        let real = time_wait_bind_real(first_reuseaddr);
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
            time_wait_bind_sim(first_reuseaddr),
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

fn restart_real() -> [Restart; 2] {
    let reuse_sock = || {
        let s = tcp4();
        s.set_reuse_address(true).unwrap();
        s
    };
    let relisten = |port: u16| {
        let n = reuse_sock();
        let bind = real(n.bind(&sockaddr(&local(port))));
        let listen = real(n.listen(8));
        let c = tcp4();
        let connect = if listen.is_ok() {
            real(c.connect(&sockaddr(&local(port))))
        } else {
            Err("(not tried)")
        };
        Restart {
            bind,
            listen,
            connect,
        }
    };
    let l = reuse_sock();
    l.bind(&sockaddr("127.0.0.1:0")).unwrap();
    l.listen(8).unwrap();
    let sport = real_port(&l);
    let c = tcp4();
    c.connect(&sockaddr(&local(sport))).unwrap();
    let (a, _) = l.accept().unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    drop(c);
    std::thread::sleep(SETTLE);
    drop(l);
    let server = relisten(sport);

    let l = real_listener(0, 8);
    let c = reuse_sock();
    c.bind(&sockaddr("127.0.0.1:0")).unwrap();
    let cport = real_port(&c);
    c.connect(&sockaddr(&local(real_port(&l)))).unwrap();
    let (a, _) = l.accept().unwrap();
    drop(c);
    std::thread::sleep(SETTLE);
    drop(a);
    std::thread::sleep(SETTLE);
    let client = relisten(cport);
    [server, client]
}

fn restart_sim() -> [Restart; 2] {
    run_sim(|p| async move {
        async fn relisten(p: &Process, port: u16) -> SysResult<Restart> {
            let n = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.setsockopt(n, SOL_SOCKET, SO_REUSEADDR, 1)?;
            let bind = sim(p.bind(n, local(port)));
            let listen = sim(p.listen(n, 8));
            let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
            let connect = if listen.is_ok() {
                sim(p.connect(c, local(port)).await)
            } else {
                Err("(not tried)")
            };
            Ok(Restart {
                bind,
                listen,
                connect,
            })
        }
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, 1)?;
        p.bind(l, "127.0.0.1:0")?;
        p.listen(l, 8)?;
        let sport = sim_port(&p, l)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(sport)).await?;
        let (a, _) = p.accept(l).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        p.close(c)?;
        p.sleep(SIM_SETTLE).await;
        p.close(l)?;
        let server = relisten(&p, sport).await?;

        let l = sim_listener(&p, 0, 8)?;
        let to = p.getsockname(l)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(c, SOL_SOCKET, SO_REUSEADDR, 1)?;
        p.bind(c, "127.0.0.1:0")?;
        let cport = sim_port(&p, c)?;
        p.connect(c, to).await?;
        let (a, _) = p.accept(l).await?;
        p.close(c)?;
        p.sleep(SIM_SETTLE).await;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let client = relisten(&p, cport).await?;
        Ok([server, client])
    })
}

/// `inet_csk_get_port()` from `listen()` calls `inet_csk_bind_conflict()`
/// with `relax`: a TIME_WAIT with `sk_reuse` does not conflict with a new
/// socket that has `SO_REUSEADDR`, whatever that socket is about to do.
#[test]
fn server_restart_with_so_reuseaddr_over_time_wait() {
    let real = restart_real();
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
    same("restart over TIME_WAIT", real, restart_sim());
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

fn real_opts(reuseaddr: bool, reuseport: bool) -> Socket {
    let s = tcp4();
    s.set_reuse_address(reuseaddr).unwrap();
    s.set_reuse_port(reuseport).unwrap();
    s
}

fn sim_opts(p: &Process, reuseaddr: bool, reuseport: bool) -> SysResult<i32> {
    let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, reuseaddr as i32)?;
    p.setsockopt(s, SOL_SOCKET, SO_REUSEPORT, reuseport as i32)?;
    Ok(s)
}

/// The first socket binds and listens, then the second binds and listens.
fn two_listeners_real(port: u16) -> TwoListeners {
    LISTEN_CASES
        .iter()
        .map(|&(what, (ra, pa), (rb, pb))| {
            let a = real_opts(ra, pa);
            a.bind(&sockaddr(&local(port))).unwrap();
            a.listen(8).unwrap();
            let b = real_opts(rb, pb);
            let bind = real(b.bind(&sockaddr(&local(port))));
            let listen = bind.is_ok().then(|| real(b.listen(8)));
            (what, bind, listen)
        })
        .collect()
}

fn two_listeners_sim(port: u16) -> TwoListeners {
    run_sim(move |p| async move {
        let mut out = Vec::new();
        for &(what, (ra, pa), (rb, pb)) in LISTEN_CASES {
            let a = sim_opts(&p, ra, pa)?;
            p.bind(a, local(port))?;
            p.listen(a, 8)?;
            let b = sim_opts(&p, rb, pb)?;
            let bind = sim(p.bind(b, local(port)));
            let listen = bind.is_ok().then(|| sim(p.listen(b, 8)));
            p.close(a)?;
            p.close(b)?;
            out.push((what, bind, listen));
        }
        Ok(out)
    })
}

#[test]
fn two_listeners_on_one_port() {
    let port = free_port();
    let real = two_listeners_real(port);
    assert_eq!(real[0].1, Err("EADDRINUSE"), "{real:#?}");
    assert_eq!(real[2], ("both SO_REUSEPORT", Ok(()), Some(Ok(()))));
    same(
        &format!("a second listener on port {port}"),
        real,
        two_listeners_sim(port),
    );
}

/// Both sockets bind first; then the first listens, then the second.
type BindThenListen = Vec<(&'static str, R<()>, Option<(R<()>, R<()>)>)>;

fn bind_then_listen_real(port: u16) -> BindThenListen {
    LISTEN_CASES
        .iter()
        .map(|&(what, (ra, pa), (rb, pb))| {
            let a = real_opts(ra, pa);
            a.bind(&sockaddr(&local(port))).unwrap();
            let b = real_opts(rb, pb);
            let bind = real(b.bind(&sockaddr(&local(port))));
            let listens = bind.is_ok().then(|| (real(a.listen(8)), real(b.listen(8))));
            (what, bind, listens)
        })
        .collect()
}

fn bind_then_listen_sim(port: u16) -> BindThenListen {
    run_sim(move |p| async move {
        let mut out = Vec::new();
        for &(what, (ra, pa), (rb, pb)) in LISTEN_CASES {
            let a = sim_opts(&p, ra, pa)?;
            p.bind(a, local(port))?;
            let b = sim_opts(&p, rb, pb)?;
            let bind = sim(p.bind(b, local(port)));
            let listens = bind
                .is_ok()
                .then(|| (sim(p.listen(a, 8)), sim(p.listen(b, 8))));
            p.close(a)?;
            p.close(b)?;
            out.push((what, bind, listens));
        }
        Ok(out)
    })
}

/// Two sockets bound to one port with `SO_REUSEADDR`: the first may listen
/// (the other is not in LISTEN), the second then may not.
#[test]
fn two_sockets_bound_with_so_reuseaddr_then_listen() {
    let port = free_port();
    let real = bind_then_listen_real(port);
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
        bind_then_listen_sim(port),
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
}

fn text<T: Debug>(r: R<T>) -> R<String> {
    r.map(|v| format!("{v:?}"))
}

fn reset_real() -> ResetOrders {
    let reset = || {
        let (c, a) = real_pair();
        real_send(&c, b"hello").unwrap();
        std::thread::sleep(SETTLE);
        drop(a);
        std::thread::sleep(SETTLE);
        c
    };
    let rd = |c: &Socket| text(real_read(c, 100, MsgFlags::empty()));
    let wr = |c: &Socket| text(real_send(c, b"x"));
    let so = |c: &Socket| text(real_so_error(c));
    let c = reset();
    let read_first = vec![rd(&c), rd(&c), wr(&c), wr(&c), so(&c)];
    let c = reset();
    let send_first = vec![wr(&c), wr(&c), rd(&c), rd(&c)];
    let c = reset();
    let so_error_first = vec![
        so(&c),
        so(&c),
        rd(&c),
        wr(&c),
        text(real(c.peer_addr()).map(drop)),
        text(real(c.shutdown(std::net::Shutdown::Write))),
    ];
    ResetOrders {
        read_first,
        send_first,
        so_error_first,
    }
}

fn reset_sim() -> ResetOrders {
    run_sim(|p| async move {
        async fn reset(p: &Process) -> SysResult<i32> {
            let (c, a) = sim_pair(p).await?;
            p.send(c, b"hello", 0).await?;
            p.sleep(SIM_SETTLE).await;
            p.close(a)?;
            p.sleep(SIM_SETTLE).await;
            Ok(c)
        }
        let rd = async |c: i32| text(sim_read(&p, c, 100, 0).await);
        let wr = async |c: i32| text(sim_send(&p, c, b"x").await);
        let so = |c: i32| text(sim_so_error(&p, c));
        let c = reset(&p).await?;
        let read_first = vec![rd(c).await, rd(c).await, wr(c).await, wr(c).await, so(c)];
        let c = reset(&p).await?;
        let send_first = vec![wr(c).await, wr(c).await, rd(c).await, rd(c).await];
        let c = reset(&p).await?;
        let so_error_first = vec![
            so(c),
            so(c),
            rd(c).await,
            wr(c).await,
            text(sim(p.getpeername(c)).map(drop)),
            text(sim(p.shutdown(c, SHUT_WR))),
        ];
        Ok(ResetOrders {
            read_first,
            send_first,
            so_error_first,
        })
    })
}

/// `tcp_reset()` sets `sk_err = ECONNRESET` and closes; the first call to
/// look (`recv`, `send` or `SO_ERROR`) takes the error, later reads see
/// end of file (the socket is shut down) and later writes `EPIPE`.
#[test]
fn rst_on_close_with_unread_data() {
    let real = reset_real();
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
    same("calls after an RST", real, reset_sim());
}

/// Variations: the server read part of the data; the client had unread
/// data of its own when the RST came; `SO_LINGER` 0 with nothing unread.
#[derive(Debug, PartialEq)]
struct ResetVariants {
    partial_read: Vec<R<String>>,
    client_had_data: Vec<R<String>>,
    linger_zero: Vec<R<String>>,
}

fn reset_variants_real() -> ResetVariants {
    let rd = |c: &Socket| real_read(c, 100, MsgFlags::empty());
    let (c, a) = real_pair();
    real_send(&c, b"hello world").unwrap();
    std::thread::sleep(SETTLE);
    real_read(&a, 5, MsgFlags::empty()).unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    let partial_read = vec![rd(&c), rd(&c)];

    let (c, a) = real_pair();
    real_send(&a, b"from server").unwrap();
    real_send(&c, b"hello").unwrap();
    std::thread::sleep(SETTLE);
    drop(a);
    std::thread::sleep(SETTLE);
    let client_had_data = vec![rd(&c), rd(&c), rd(&c)];

    let (c, a) = real_pair();
    a.set_linger(Some(Duration::ZERO)).unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    let linger_zero = vec![rd(&c), rd(&c), text(real_send(&c, b"x"))];
    ResetVariants {
        partial_read,
        client_had_data,
        linger_zero,
    }
}

fn reset_variants_sim() -> ResetVariants {
    run_sim(|p| async move {
        let rd = async |c: i32| sim_read(&p, c, 100, 0).await;
        let (c, a) = sim_pair(&p).await?;
        p.send(c, b"hello world", 0).await?;
        p.sleep(SIM_SETTLE).await;
        sim_read(&p, a, 5, 0).await.unwrap();
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let partial_read = vec![rd(c).await, rd(c).await];

        let (c, a) = sim_pair(&p).await?;
        p.send(a, b"from server", 0).await?;
        p.send(c, b"hello", 0).await?;
        p.sleep(SIM_SETTLE).await;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let client_had_data = vec![rd(c).await, rd(c).await, rd(c).await];

        let (c, a) = sim_pair(&p).await?;
        p.set_linger(a, Some(0))?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let linger_zero = vec![rd(c).await, rd(c).await, text(sim_send(&p, c, b"x").await)];
        Ok(ResetVariants {
            partial_read,
            client_had_data,
            linger_zero,
        })
    })
}

#[test]
fn rst_variants() {
    let real = reset_variants_real();
    assert_eq!(real.partial_read, [Err("ECONNRESET"), Ok(String::new())]);
    assert_eq!(
        real.client_had_data,
        [
            Ok("from server".to_string()),
            Err("ECONNRESET"),
            Ok(String::new())
        ]
    );
    same("RST variants", real, reset_variants_sim());
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

fn reset_close_wait_real() -> ResetInCloseWait {
    let rd = |c: &Socket| real_read(c, 100, MsgFlags::empty());
    let (c, a) = real_pair();
    drop(a);
    std::thread::sleep(SETTLE);
    let mut send_again = vec![rd(&c), text(real_send(&c, b"x"))];
    std::thread::sleep(SETTLE);
    send_again.extend([text(real_send(&c, b"x")), rd(&c), text(real_so_error(&c))]);

    let (c, a) = real_pair();
    drop(a);
    std::thread::sleep(SETTLE);
    let first = text(real_send(&c, b"x"));
    std::thread::sleep(SETTLE);
    let so_error = vec![first, text(real_so_error(&c)), rd(&c)];
    ResetInCloseWait {
        send_again,
        so_error,
    }
}

fn reset_close_wait_sim() -> ResetInCloseWait {
    run_sim(|p| async move {
        let rd = async |c: i32| sim_read(&p, c, 100, 0).await;
        let (c, a) = sim_pair(&p).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let mut send_again = vec![rd(c).await, text(sim_send(&p, c, b"x").await)];
        p.sleep(SIM_SETTLE).await;
        send_again.extend([
            text(sim_send(&p, c, b"x").await),
            rd(c).await,
            text(sim_so_error(&p, c)),
        ]);

        let (c, a) = sim_pair(&p).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let first = text(sim_send(&p, c, b"x").await);
        p.sleep(SIM_SETTLE).await;
        let so_error = vec![first, text(sim_so_error(&p, c)), rd(c).await];
        Ok(ResetInCloseWait {
            send_again,
            so_error,
        })
    })
}

#[test]
fn rst_in_close_wait_is_epipe() {
    let real = reset_close_wait_real();
    assert_eq!(real.so_error[1], Ok("\"EPIPE\"".to_string()), "{real:#?}");
    same("RST in CLOSE_WAIT", real, reset_close_wait_sim());
}

// ---------------------------------------------------------------- 5. EOF

#[derive(Debug, PartialEq)]
struct PeerClosed {
    /// read, read, read, read with MSG_DONTWAIT.
    reads: Vec<R<String>>,
}

fn peer_closed_real() -> PeerClosed {
    let (c, a) = real_pair();
    real_send(&a, b"bye").unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    let rd = |flags| real_read(&c, 100, flags);
    PeerClosed {
        reads: vec![
            rd(MsgFlags::empty()),
            rd(MsgFlags::empty()),
            rd(MsgFlags::empty()),
            rd(MsgFlags::MSG_DONTWAIT),
        ],
    }
}

fn peer_closed_sim() -> PeerClosed {
    run_sim(|p| async move {
        let (c, a) = sim_pair(&p).await?;
        p.send(a, b"bye", 0).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let reads = vec![
            sim_read(&p, c, 100, 0).await,
            sim_read(&p, c, 100, 0).await,
            sim_read(&p, c, 100, 0).await,
            sim_read(&p, c, 100, MSG_DONTWAIT).await,
        ];
        Ok(PeerClosed { reads })
    })
}

#[test]
fn read_returns_zero_after_the_peers_fin() {
    let real = peer_closed_real();
    assert_eq!(
        real.reads,
        [
            Ok("bye".to_string()),
            Ok(String::new()),
            Ok(String::new()),
            Ok(String::new())
        ]
    );
    same("reads after the peer's FIN", real, peer_closed_sim());
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

fn half_close_real() -> HalfClose {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    let c = tcp4();
    c.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    c.connect(&sockaddr(&local(port))).unwrap();
    let (a, _) = l.accept().unwrap();
    a.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    drop(l);
    real_send(&c, b"request").unwrap();
    let shutdown = real(c.shutdown(std::net::Shutdown::Write));
    let shutdown_again = real(c.shutdown(std::net::Shutdown::Write));
    let send_after = real_send(&c, b"more");
    std::thread::sleep(SETTLE);
    let server_reads = vec![
        real_read(&a, 100, MsgFlags::empty()),
        real_read(&a, 100, MsgFlags::empty()),
    ];
    let half_closed = by_role(&real_ss(), port);
    real_send(&a, b"reply").unwrap();
    drop(a);
    std::thread::sleep(SETTLE);
    let client_reads = vec![
        real_read(&c, 100, MsgFlags::empty()),
        real_read(&c, 100, MsgFlags::empty()),
    ];
    let done = by_role(&real_ss(), port);
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

fn half_close_sim() -> HalfClose {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, 8)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(port)).await?;
        let (a, _) = p.accept(l).await?;
        p.close(l)?;
        p.send(c, b"request", 0).await?;
        let shutdown = sim(p.shutdown(c, SHUT_WR));
        let shutdown_again = sim(p.shutdown(c, SHUT_WR));
        let send_after = sim_send(&p, c, b"more").await;
        p.sleep(SIM_SETTLE).await;
        let server_reads = vec![sim_read(&p, a, 100, 0).await, sim_read(&p, a, 100, 0).await];
        let half_closed = by_role(&sim_ss(&p), port);
        p.send(a, b"reply", 0).await?;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let client_reads = vec![sim_read(&p, c, 100, 0).await, sim_read(&p, c, 100, 0).await];
        let done = by_role(&sim_ss(&p), port);
        Ok(HalfClose {
            shutdown,
            shutdown_again,
            send_after,
            server_reads,
            half_closed,
            client_reads,
            done,
        })
    })
}

#[test]
fn shutdown_wr_half_closes() {
    let real = half_close_real();
    assert_eq!(
        real.server_reads,
        [Ok("request".to_string()), Ok(String::new())]
    );
    assert_eq!(
        real.client_reads,
        [Ok("reply".to_string()), Ok(String::new())]
    );
    assert_eq!(real.send_after, Err("EPIPE"));
    same("shutdown(SHUT_WR)", real, half_close_sim());
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

fn unit(r: R<()>) -> R<&'static str> {
    r.map(|()| "0")
}

fn nonblocking_connect_real() -> NonBlockingConnect {
    let l = real_listener(0, 8);
    let to = sockaddr(&local(real_port(&l)));
    let c = tcp4_nonblocking();
    let mut open = vec![unit(real(c.connect(&to)))];
    std::thread::sleep(SETTLE);
    open.push(unit(real(c.connect(&to))));
    open.push(unit(real(c.connect(&to))));
    open.push(real_so_error(&c));

    let l = real_listener(0, 0);
    let port = real_port(&l);
    let to = sockaddr(&local(port));
    let filler = tcp4();
    filler.connect(&to).unwrap();
    let c = tcp4_nonblocking();
    let start = Instant::now();
    let mut full = vec![unit(real(c.connect(&to)))];
    std::thread::sleep(SETTLE);
    full.push(unit(real(c.connect(&to))));
    full.push(real_so_error(&c));
    full.push(unit(real(c.peer_addr()).map(drop)));
    let cport = real_port(&c);
    let state_while_pending = real_ss()
        .into_iter()
        .filter(|r| r.local.port() == cport)
        .map(|r| r.state)
        .collect();
    let (_accepted, _) = l.accept().unwrap();
    let mut completed = Err("(never)");
    for _ in 0..100 {
        completed = unit(real(c.connect(&to)));
        if completed != Err("EALREADY") {
            break;
        }
        std::thread::sleep(SETTLE);
    }
    let completed_after_secs = start.elapsed().as_secs();
    let after = vec![unit(real(c.connect(&to))), real_so_error(&c)];
    NonBlockingConnect {
        open,
        full,
        state_while_pending,
        completed,
        completed_after_secs,
        after,
    }
}

fn nonblocking_connect_sim() -> NonBlockingConnect {
    run_sim(|p| async move {
        let unit_ = |r: SysResult<()>| unit(sim(r));
        let l = sim_listener(&p, 0, 8)?;
        let to = p.getsockname(l)?;
        let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let mut open = vec![unit_(p.connect(c, to).await)];
        p.sleep(SIM_SETTLE).await;
        open.push(unit_(p.connect(c, to).await));
        open.push(unit_(p.connect(c, to).await));
        open.push(sim_so_error(&p, c));

        let l = sim_listener(&p, 0, 0)?;
        let to = p.getsockname(l)?;
        let filler = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(filler, to).await?;
        let c = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let start = p.now();
        let mut full = vec![unit_(p.connect(c, to).await)];
        p.sleep(SIM_SETTLE).await;
        full.push(unit_(p.connect(c, to).await));
        full.push(sim_so_error(&p, c));
        full.push(unit_(p.getpeername(c).map(drop)));
        let cport = sim_port(&p, c)?;
        let state_while_pending = sim_ss(&p)
            .into_iter()
            .filter(|r| r.local.port() == cport)
            .map(|r| r.state)
            .collect();
        p.accept(l).await?;
        let mut completed = Err("(never)");
        for _ in 0..100 {
            completed = unit_(p.connect(c, to).await);
            if completed != Err("EALREADY") {
                break;
            }
            p.sleep(SIM_SETTLE).await;
        }
        let completed_after_secs = (p.now() - start) / secs(1);
        let after = vec![unit_(p.connect(c, to).await), sim_so_error(&p, c)];
        Ok(NonBlockingConnect {
            open,
            full,
            state_while_pending,
            completed,
            completed_after_secs,
            after,
        })
    })
}

/// `__inet_stream_connect()`: `EINPROGRESS`, `EALREADY` while the SYN is
/// out, 0 once (the call that sees the handshake done moves the socket to
/// SS_CONNECTED), then `EISCONN`. A SYN dropped by a full accept queue is
/// retransmitted after `TCP_TIMEOUT_INIT` (1 s) and gets in once there is
/// room.
#[test]
fn nonblocking_connect_einprogress_ealready_eisconn() {
    let real = nonblocking_connect_real();
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
    same("non-blocking connect", real, nonblocking_connect_sim());
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

fn closing_real(client_first: bool) -> Closing {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    let c = tcp4();
    c.connect(&sockaddr(&local(port))).unwrap();
    let (a, _) = l.accept().unwrap();
    a.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    c.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    drop(l);
    let (active, passive) = if client_first { (c, a) } else { (a, c) };
    drop(active);
    std::thread::sleep(SETTLE);
    let after_first_close = by_role(&real_ss(), port);
    let passive_read = real_read(&passive, 100, MsgFlags::empty());
    let after_eof_read = by_role(&real_ss(), port);
    drop(passive);
    std::thread::sleep(SETTLE);
    Closing {
        after_first_close,
        passive_read,
        after_eof_read,
        after_both: by_role(&real_ss(), port),
    }
}

fn closing_sim(client_first: bool) -> Closing {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, 8)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, local(port)).await?;
        let (a, _) = p.accept(l).await?;
        p.close(l)?;
        let (active, passive) = if client_first { (c, a) } else { (a, c) };
        p.close(active)?;
        p.sleep(SIM_SETTLE).await;
        let after_first_close = by_role(&sim_ss(&p), port);
        let passive_read = sim_read(&p, passive, 100, 0).await;
        let after_eof_read = by_role(&sim_ss(&p), port);
        p.close(passive)?;
        p.sleep(SIM_SETTLE).await;
        Ok(Closing {
            after_first_close,
            passive_read,
            after_eof_read,
            after_both: by_role(&sim_ss(&p), port),
        })
    })
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
        let real = closing_real(client_first);
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
        same(
            &format!("closing, {active} first"),
            real,
            closing_sim(client_first),
        );
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

/// Reads with a buffer of `read_len` until all of `pattern()` is in.
fn read_chunks(
    read_len: usize,
    mut read: impl FnMut(&mut [u8]) -> R<usize>,
) -> (Vec<R<usize>>, bool) {
    let data = pattern();
    let mut got = Vec::new();
    let mut counts = Vec::new();
    while got.len() < data.len() && counts.len() < 100 {
        let mut buf = vec![0u8; read_len];
        let r = read(&mut buf);
        if let Ok(n) = r {
            got.extend_from_slice(&buf[..n]);
        }
        let stop = !matches!(r, Ok(n) if n > 0);
        counts.push(r);
        if stop {
            break;
        }
    }
    (counts, got == data)
}

fn chunks_real(read_len: usize) -> Chunks {
    let (c, a) = real_pair();
    let data = pattern();
    let mut at = 0;
    for n in WRITES {
        assert_eq!(real_send(&c, &data[at..at + n]), Ok(n));
        at += n;
    }
    drop(c);
    std::thread::sleep(SETTLE);
    let (counts, identical) = read_chunks(read_len, |buf| {
        nix_r(recv(a.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT))
    });
    let mut buf = [0u8; 16];
    Chunks {
        read_len,
        counts: counts_text(&counts),
        identical,
        eof: nix_r(recv(a.as_raw_fd(), &mut buf, MsgFlags::empty())),
    }
}

/// The reading side in the simulation. Reads are non-blocking on both
/// sides: everything should be queued already, and `EAGAIN` shows when it
/// is not.
async fn sim_chunks(p: &Process, a: i32, read_len: usize) -> Chunks {
    let mut counts = Vec::new();
    let data = pattern();
    let mut got = Vec::new();
    while got.len() < data.len() && counts.len() < 100 {
        let mut buf = vec![0u8; read_len];
        let r = sim(p.recv(a, &mut buf, MSG_DONTWAIT).await);
        if let Ok(n) = r {
            got.extend_from_slice(&buf[..n]);
        }
        let stop = !matches!(r, Ok(n) if n > 0);
        counts.push(r);
        if stop {
            break;
        }
    }
    let mut buf = [0u8; 16];
    Chunks {
        read_len,
        counts: counts_text(&counts),
        identical: got == data,
        eof: sim(p.recv(a, &mut buf, 0).await),
    }
}

async fn sim_write_pattern(p: &Process, c: i32) -> SysResult<()> {
    let data = pattern();
    let mut at = 0;
    for n in WRITES {
        assert_eq!(p.send(c, &data[at..at + n], 0).await, Ok(n));
        at += n;
    }
    p.close(c)
}

fn chunks_sim(read_len: usize) -> Chunks {
    run_sim(move |p| async move {
        let (c, a) = sim_pair(&p).await?;
        sim_write_pattern(&p, c).await?;
        p.sleep(SIM_SETTLE).await;
        Ok(sim_chunks(&p, a, read_len).await)
    })
}

const READ_LENS: [usize; 2] = [700, 4096];

fn expected_chunks(read_len: usize) -> String {
    let total: usize = WRITES.iter().sum();
    let mut want = vec![read_len.to_string(); total / read_len];
    want.push((total % read_len).to_string());
    want.join(" ")
}

/// TCP keeps no write boundaries: once everything is queued a read takes
/// min(buffer, available), across the segments.
#[test]

fn byte_stream_reads_ignore_write_boundaries() {
    let real: Vec<Chunks> = READ_LENS.iter().map(|&n| chunks_real(n)).collect();
    for r in &real {
        assert_eq!(r.counts, expected_chunks(r.read_len), "{r:#?}");
        assert!(r.identical);
        assert_eq!(r.eof, Ok(0));
    }
    let simulated = READ_LENS.iter().map(|&n| chunks_sim(n)).collect();
    same(
        &format!("reads after writes of {WRITES:?} over loopback"),
        real,
        simulated,
    );
}

/// The host names and addresses of the two-host world: a client on one
/// host and a server on another, joined by a gigabit link (MTU 1500).
const LINK_CLIENT: &str = "10.0.0.1/24";
const LINK_SERVER: &str = "10.0.0.2/24";
const SERVER_IP: &str = "10.0.0.2";

/// Runs a server process and a client process on two hosts joined by a
/// link; both must finish cleanly.
fn run_sim_link<S, C, FS, FC, US, UC>(server: FS, client: FC) -> (S, C)
where
    S: 'static,
    C: 'static,
    FS: FnOnce(Process) -> US,
    FC: FnOnce(Process) -> UC,
    US: Future<Output = SysResult<S>> + 'static,
    UC: Future<Output = SysResult<C>> + 'static,
{
    let mut world = Sim::new(1);
    let a = world.add_host("client");
    let b = world.add_host("server");
    world.add_link(a, LINK_CLIENT, b, LINK_SERVER, LinkConfig::default());
    let s = spawn_collect(&mut world, b, "server", server);
    let c = spawn_collect(&mut world, a, "client", client);
    let report = world.run();
    assert!(
        report.is_ok(),
        "the simulated processes did not finish:\n{report}"
    );
    let s = s.take().expect("the server stored its result");
    let c = c.take().expect("the client stored its result");
    (s, c)
}

fn chunks_sim_link(read_len: usize) -> Chunks {
    let port = free_port();
    let (chunks, ()) = run_sim_link(
        move |p| async move {
            let l = sim_listener_on(&p, SERVER_IP, port, 8)?;
            let (a, _) = p.accept(l).await?;
            p.sleep(ms(500)).await;
            Ok(sim_chunks(&p, a, read_len).await)
        },
        move |p| async move {
            p.sleep(ms(1)).await;
            let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(c, format!("{SERVER_IP}:{port}")).await?;
            sim_write_pattern(&p, c).await
        },
    );
    chunks
}

/// The same comparison with the simulated connection between two hosts on
/// an Ethernet link (MSS 1460), away from the loopback window problem
/// above: what a read returns once all data is queued does not depend on
/// the path.
#[test]
fn byte_stream_reads_ignore_write_boundaries_sim_over_a_link() {
    let real: Vec<Chunks> = READ_LENS.iter().map(|&n| chunks_real(n)).collect();
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

fn backpressure_real() -> (Backpressure, usize) {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    let w = tcp4();
    w.connect(&sockaddr(&local(port))).unwrap();
    let (r, _) = l.accept().unwrap();
    r.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    w.set_nonblocking(true).unwrap();
    let chunk = vec![7u8; CHUNK];
    let first = real_send(&w, &chunk[..1000]);
    let mut accepted = *first.as_ref().unwrap_or(&0);
    let mut ended_with = Err("(bound reached)");
    let mut sends = 0;
    for _ in 0..MAX_PAUSES {
        let mut progressed = false;
        while sends < MAX_CHUNKS {
            sends += 1;
            match real_send(&w, &chunk) {
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
        std::thread::sleep(SETTLE);
        if !progressed {
            break;
        }
    }
    let rows = by_role(&real_ss(), port);
    let mut read = 0;
    let mut buf = vec![0u8; CHUNK];
    while read < accepted {
        match nix_r(recv(r.as_raw_fd(), &mut buf, MsgFlags::empty())) {
            Ok(n) if n > 0 => read += n,
            _ => break,
        }
    }
    let seen = Backpressure {
        first_send_whole: first == Ok(1000),
        ended_with,
        accepted_some: accepted > 0,
        send_q_nonempty: rows.iter().any(|s| s.role == "client" && s.send_q > 0),
        recv_q_nonempty: rows.iter().any(|s| s.role == "server" && s.recv_q > 0),
        drained_all: read == accepted,
        send_after_drain: real_send(&w, b"more"),
    };
    (seen, accepted)
}

/// The writer's part: (first send, how the loop ended, bytes accepted).
/// It writes until `EAGAIN`, pauses, and goes on until a write right after
/// a pause still gets `EAGAIN`: the receiver is full, not just slow.
async fn sim_fill(p: &Process, w: i32) -> (R<usize>, R<usize>, usize) {
    let chunk = vec![7u8; CHUNK];
    let first = sim_send(p, w, &chunk[..1000]).await;
    let mut accepted = *first.as_ref().unwrap_or(&0);
    let mut ended_with = Err("(bound reached)");
    let mut sends = 0;
    for _ in 0..MAX_PAUSES {
        let mut progressed = false;
        while sends < MAX_CHUNKS {
            sends += 1;
            match sim_send(p, w, &chunk).await {
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
        p.sleep(SIM_SETTLE).await;
        if !progressed {
            break;
        }
    }
    (first, ended_with, accepted)
}

/// The reader's part: reads until `accepted` bytes are in.
async fn sim_drain(p: &Process, r: i32, accepted: usize) -> bool {
    let mut read = 0;
    let mut buf = vec![0u8; CHUNK];
    while read < accepted {
        match p.recv(r, &mut buf, 0).await {
            Ok(n) if n > 0 => read += n,
            _ => break,
        }
    }
    read == accepted
}

fn backpressure_sim() -> (Backpressure, usize) {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, 8)?;
        let w = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(w, local(port)).await;
        let (r, _) = p.accept(l).await?;
        let (first, ended_with, accepted) = sim_fill(&p, w).await;
        let rows = by_role(&sim_ss(&p), port);
        let drained_all = sim_drain(&p, r, accepted).await;
        let seen = Backpressure {
            first_send_whole: first == Ok(1000),
            ended_with,
            accepted_some: accepted > 0,
            send_q_nonempty: rows.iter().any(|s| s.role == "client" && s.send_q > 0),
            recv_q_nonempty: rows.iter().any(|s| s.role == "server" && s.recv_q > 0),
            drained_all,
            send_after_drain: sim_send(&p, w, b"more").await,
        };
        Ok((seen, accepted))
    })
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
    let (real, real_bytes) = backpressure_real();
    let (simulated, sim_bytes) = backpressure_sim();
    println!("bytes accepted before EAGAIN: real kernel {real_bytes}, simulation {sim_bytes}");
    assert_eq!(real, expected_backpressure());
    same("a writer nobody reads, over loopback", real, simulated);
}

fn backpressure_sim_link() -> (Backpressure, usize) {
    let port = free_port();
    let accepted_cell = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let shared = accepted_cell.clone();
    let ((recv_q_nonempty, drained_all), (first, ended_with, accepted, send_q_nonempty, after)) =
        run_sim_link(
            move |p| async move {
                let l = sim_listener_on(&p, SERVER_IP, port, 8)?;
                let (r, _) = p.accept(l).await?;
                // The writer is stuck well before this (its pauses are 50 ms).
                p.sleep(secs(5)).await;
                let rows = by_role(&sim_ss(&p), port);
                let recv_q = rows.iter().any(|s| s.role == "server" && s.recv_q > 0);
                let drained = sim_drain(&p, r, shared.get()).await;
                Ok((recv_q, drained))
            },
            move |p| async move {
                p.sleep(ms(1)).await;
                let w = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
                let _ = p.connect(w, format!("{SERVER_IP}:{port}")).await;
                p.sleep(ms(10)).await;
                let (first, ended_with, accepted) = sim_fill(&p, w).await;
                accepted_cell.set(accepted);
                let rows = by_role(&sim_ss(&p), port);
                let send_q = rows.iter().any(|s| s.role == "client" && s.send_q > 0);
                p.sleep(secs(10)).await;
                let after = sim_send(&p, w, b"more").await;
                Ok((first, ended_with, accepted, send_q, after))
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

/// The same with the simulated connection between two hosts on an
/// Ethernet link (MSS 1460), away from the loopback MSS problem above.
#[test]
fn send_returns_before_delivery_then_eagain_sim_over_a_link() {
    let (real, real_bytes) = backpressure_real();
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

fn real_peer_ip(s: &Socket) -> R<IpAddr> {
    real(s.peer_addr()).map(|a| a.as_socket().expect("inet").ip())
}

fn sim_peer_ip(p: &Process, fd: i32) -> R<IpAddr> {
    sim(p.getpeername(fd)).map(|a| a.inet().expect("inet").ip())
}

fn peer_names_real() -> PeerNames {
    let fresh = real_peer_ip(&tcp4());
    let l0 = real_listener(0, 0);
    let to0 = sockaddr(&local(real_port(&l0)));
    let filler = tcp4();
    filler.connect(&to0).unwrap();
    let pending = tcp4_nonblocking();
    let _ = pending.connect(&to0);
    std::thread::sleep(SETTLE);
    let syn_sent = real_peer_ip(&pending);
    let listener = real_peer_ip(&l0);

    let (c, a) = real_pair();
    let connected = real_peer_ip(&c);
    let accepted = real_peer_ip(&a);
    drop(a);
    std::thread::sleep(SETTLE);
    let close_wait = real_peer_ip(&c);

    let (c, a) = real_pair();
    real_send(&c, b"unread").unwrap();
    std::thread::sleep(SETTLE);
    drop(a);
    std::thread::sleep(SETTLE);
    let after_rst = real_peer_ip(&c);

    let (c, a) = real_pair();
    c.shutdown(std::net::Shutdown::Both).unwrap();
    std::thread::sleep(SETTLE);
    drop(a);
    std::thread::sleep(SETTLE);
    let after_both_closed = real_peer_ip(&c);
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

fn peer_names_sim() -> PeerNames {
    run_sim(|p| async move {
        let fresh = sim_peer_ip(&p, p.socket(AF_INET, SOCK_STREAM, 0)?);
        let l0 = sim_listener(&p, 0, 0)?;
        let to0 = p.getsockname(l0)?;
        let filler = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(filler, to0).await?;
        let pending = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(pending, to0).await;
        p.sleep(SIM_SETTLE).await;
        let syn_sent = sim_peer_ip(&p, pending);
        let listener = sim_peer_ip(&p, l0);

        let (c, a) = sim_pair(&p).await?;
        let connected = sim_peer_ip(&p, c);
        let accepted = sim_peer_ip(&p, a);
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let close_wait = sim_peer_ip(&p, c);

        let (c, a) = sim_pair(&p).await?;
        p.send(c, b"unread", 0).await?;
        p.sleep(SIM_SETTLE).await;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let after_rst = sim_peer_ip(&p, c);

        let (c, a) = sim_pair(&p).await?;
        p.shutdown(c, SHUT_RDWR)?;
        p.sleep(SIM_SETTLE).await;
        p.close(a)?;
        p.sleep(SIM_SETTLE).await;
        let after_both_closed = sim_peer_ip(&p, c);
        Ok(PeerNames {
            fresh,
            syn_sent,
            listener,
            connected,
            accepted,
            close_wait,
            after_rst,
            after_both_closed,
        })
    })
}

/// `inet_getname()`: `ENOTCONN` without a peer port, or in CLOSE or
/// SYN_SENT.
#[test]
fn getpeername_enotconn_unless_connected() {
    let real = peer_names_real();
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
    same("getpeername", real, peer_names_sim());
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

fn misuse_real() -> Misuse {
    let (c, a) = real_pair();
    let l0 = real_listener(0, 0);
    let to0 = sockaddr(&local(real_port(&l0)));
    let filler = tcp4();
    filler.connect(&to0).unwrap();
    let pending = tcp4_nonblocking();
    let _ = pending.connect(&to0);
    std::thread::sleep(SETTLE);
    let bound = tcp4();
    bound.bind(&sockaddr("127.0.0.1:0")).unwrap();
    let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    let l = real_listener(0, 8);
    let port = real_port(&l);
    l.set_nonblocking(true).unwrap();
    let relisten = real(l.listen(3));
    let relisten_send_q = by_role(&real_ss(), port)
        .iter()
        .find(|s| s.role == "listener")
        .map(|s| s.send_q);
    Misuse {
        listen_connected: real(c.listen(1)),
        listen_accepted: real(a.listen(1)),
        listen_syn_sent: real(pending.listen(1)),
        accept_fresh: real(tcp4().accept()).map(drop),
        accept_bound: real(bound.accept()).map(drop),
        accept_connected: real(c.accept()).map(drop),
        accept_nonblocking_empty: real(l.accept()).map(drop),
        listen_udp: real(udp.listen(1)),
        accept_udp: real(udp.accept()).map(drop),
        connect_listener: real(l.connect(&sockaddr(&local(port)))),
        relisten,
        relisten_send_q,
    }
}

fn misuse_sim() -> Misuse {
    let port = free_port();
    run_sim(move |p| async move {
        let (c, a) = sim_pair(&p).await?;
        let l0 = sim_listener(&p, 0, 0)?;
        let to0 = p.getsockname(l0)?;
        let filler = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(filler, to0).await?;
        let pending = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(pending, to0).await;
        p.sleep(SIM_SETTLE).await;
        let bound = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(bound, "127.0.0.1:0")?;
        let udp = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let fresh = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let l = sim_listener(&p, port, 8)?;
        p.fcntl(l, F_SETFL, O_NONBLOCK)?;
        let relisten = sim(p.listen(l, 3));
        let relisten_send_q = by_role(&sim_ss(&p), port)
            .iter()
            .find(|s| s.role == "listener")
            .map(|s| s.send_q);
        Ok(Misuse {
            listen_connected: sim(p.listen(c, 1)),
            listen_accepted: sim(p.listen(a, 1)),
            listen_syn_sent: sim(p.listen(pending, 1)),
            accept_fresh: sim(p.accept(fresh).await).map(drop),
            accept_bound: sim(p.accept(bound).await).map(drop),
            accept_connected: sim(p.accept(c).await).map(drop),
            accept_nonblocking_empty: sim(p.accept(l).await).map(drop),
            listen_udp: sim(p.listen(udp, 1)),
            accept_udp: sim(p.accept(udp).await).map(drop),
            connect_listener: sim(p.connect(l, local(port)).await),
            relisten,
            relisten_send_q,
        })
    })
}

#[test]
fn listen_accept_connect_misuse() {
    let real = misuse_real();
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
    same("listen/accept/connect misuse", real, misuse_sim());
}

/// Data calls on a listener.
#[derive(Debug, PartialEq)]
struct ListenerData {
    recv: R<String>,
    send: R<usize>,
}

fn listener_data_real() -> ListenerData {
    let l = real_listener(0, 8);
    l.set_nonblocking(true).unwrap();
    ListenerData {
        recv: real_read(&l, 10, MsgFlags::empty()),
        send: real_send(&l, b"x"),
    }
}

fn listener_data_sim() -> ListenerData {
    run_sim(|p| async move {
        let l = sim_listener(&p, 0, 8)?;
        p.fcntl(l, F_SETFL, O_NONBLOCK)?;
        Ok(ListenerData {
            recv: sim_read(&p, l, 10, 0).await,
            send: sim_send(&p, l, b"x").await,
        })
    })
}

/// `tcp_recvmsg()` on a listener is `ENOTCONN`; `tcp_sendmsg()` finds no
/// connection (`sk_stream_wait_connect()` → `EPIPE`).
#[test]
fn data_calls_on_a_listener() {
    let real = listener_data_real();
    assert_eq!(
        real,
        ListenerData {
            recv: Err("ENOTCONN"),
            send: Err("EPIPE"),
        }
    );
    same("recv/send on a listener", real, listener_data_sim());
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

fn listener_shutdown_real() -> ListenerShutdown {
    let l = real_listener(0, 8);
    let port = real_port(&l);
    l.set_nonblocking(true).unwrap();
    let shutdown = real(l.shutdown(std::net::Shutdown::Both));
    let listed_after = !by_role(&real_ss(), port).is_empty();
    let accept_after = real(l.accept()).map(drop);
    let connect_after = real(tcp4().connect(&sockaddr(&local(port))));
    let listen_again = real(l.listen(8));
    ListenerShutdown {
        shutdown,
        listed_after,
        accept_after,
        connect_after,
        listen_again,
    }
}

fn listener_shutdown_sim() -> ListenerShutdown {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, 8)?;
        p.fcntl(l, F_SETFL, O_NONBLOCK)?;
        let shutdown = sim(p.shutdown(l, SHUT_RDWR));
        let listed_after = !by_role(&sim_ss(&p), port).is_empty();
        let accept_after = sim(p.accept(l).await).map(drop);
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let connect_after = sim(p.connect(c, local(port)).await);
        let listen_again = sim(p.listen(l, 8));
        Ok(ListenerShutdown {
            shutdown,
            listed_after,
            accept_after,
            connect_after,
            listen_again,
        })
    })
}

#[test]

fn shutdown_of_a_listener() {
    let real = listener_shutdown_real();
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
    same("shutdown of a listener", real, listener_shutdown_sim());
}

/// A socket whose SYN goes unanswered (the listener's accept queue is
/// full), in SYN_SENT.
struct Pending {
    pending: Socket,
    to: SockAddr,
    /// The listener and the connection that fills its queue.
    _keep: [Socket; 2],
}

fn real_pending() -> Pending {
    let l0 = real_listener(0, 0);
    let to = sockaddr(&local(real_port(&l0)));
    let filler = tcp4();
    filler.connect(&to).unwrap();
    let s = tcp4_nonblocking();
    let _ = s.connect(&to);
    std::thread::sleep(SETTLE);
    Pending {
        pending: s,
        to,
        _keep: [l0, filler],
    }
}

async fn sim_pending(p: &Process) -> SysResult<(i32, stack::uapi::SockAddr)> {
    let l0 = sim_listener(p, 0, 0)?;
    let to = p.getsockname(l0)?;
    let filler = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.connect(filler, to).await?;
    let s = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
    let _ = p.connect(s, to).await;
    p.sleep(SIM_SETTLE).await;
    Ok((s, to))
}

/// Data calls in SYN_SENT on a non-blocking socket: the handshake is not
/// over, so both would wait.
#[derive(Debug, PartialEq)]
struct SynSentCalls {
    send: R<usize>,
    recv: R<String>,
    so_error: R<&'static str>,
}

fn syn_sent_real() -> SynSentCalls {
    let p = real_pending();
    let s = &p.pending;
    SynSentCalls {
        send: real_send(s, b"x"),
        recv: real_read(s, 10, MsgFlags::empty()),
        so_error: real_so_error(s),
    }
}

fn syn_sent_sim() -> SynSentCalls {
    run_sim(|p| async move {
        let (s, _) = sim_pending(&p).await?;
        Ok(SynSentCalls {
            send: sim_send(&p, s, b"x").await,
            recv: sim_read(&p, s, 10, 0).await,
            so_error: sim_so_error(&p, s),
        })
    })
}

#[test]
fn calls_in_syn_sent() {
    let real = syn_sent_real();
    assert_eq!(
        real,
        SynSentCalls {
            send: Err("EAGAIN"),
            recv: Err("EAGAIN"),
            so_error: Ok("0"),
        }
    );
    same("calls in SYN_SENT", real, syn_sent_sim());
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

fn syn_sent_shutdown_real() -> SynSentShutdown {
    let p = real_pending();
    let s = &p.pending;
    let sport = real_port(s);
    let shutdown = real(s.shutdown(std::net::Shutdown::Write));
    let listed_after = real_ss().iter().any(|r| r.local.port() == sport);
    SynSentShutdown {
        shutdown,
        listed_after,
        recv_after: real_read(s, 10, MsgFlags::empty()),
        send_after: real_send(s, b"x"),
        connect_again: real(s.connect(&p.to)),
    }
}

fn syn_sent_shutdown_sim() -> SynSentShutdown {
    run_sim(|p| async move {
        let (s, to) = sim_pending(&p).await?;
        let sport = sim_port(&p, s)?;
        let shutdown = sim(p.shutdown(s, SHUT_WR));
        let listed_after = sim_ss(&p).iter().any(|r| r.local.port() == sport);
        Ok(SynSentShutdown {
            shutdown,
            listed_after,
            recv_after: sim_read(&p, s, 10, 0).await,
            send_after: sim_send(&p, s, b"x").await,
            connect_again: sim(p.connect(s, to).await),
        })
    })
}

#[test]

fn shutdown_in_syn_sent() {
    let real = syn_sent_shutdown_real();
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
    same("shutdown in SYN_SENT", real, syn_sent_shutdown_sim());
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
fn proc_tcp_real() -> ProcTcp {
    let l = real_listener(0, 5);
    let port = real_port(&l);
    let c1 = tcp4();
    c1.connect(&sockaddr(&local(port))).unwrap();
    let (_a1, _) = l.accept().unwrap();
    let c2 = tcp4();
    c2.connect(&sockaddr(&local(port))).unwrap();
    real_send(&c1, b"0123456789").unwrap();
    std::thread::sleep(SETTLE);
    parse_proc_tcp(
        &std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp"),
        port,
    )
}

fn proc_tcp_sim() -> ProcTcp {
    let port = free_port();
    run_sim(move |p| async move {
        let l = sim_listener(&p, port, 5)?;
        let c1 = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c1, local(port)).await?;
        let _a1 = p.accept(l).await?;
        let c2 = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c2, local(port)).await?;
        p.send(c1, b"0123456789", 0).await?;
        p.sleep(SIM_SETTLE).await;
        Ok(parse_proc_tcp(&p.sh("cat /proc/net/tcp"), port))
    })
}

#[test]
fn proc_net_tcp_listen_and_established_rows() {
    let real = proc_tcp_real();
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
    same("/proc/net/tcp", real, proc_tcp_sim());
}
