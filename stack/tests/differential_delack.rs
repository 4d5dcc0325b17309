//! Differential tests of delayed ACK on a request/response connection:
//! Nagle's algorithm on the client meets the server's delayed ACK, and
//! Linux's pingpong ("interactive") mode decides on which request the
//! 40 ms stall begins.
//!
//! The scenario: a client writes each request in two pieces, a header and
//! a body, and waits for a 100-byte response; the server reads the whole
//! request, then answers. The header goes out at once; the body is smaller
//! than the MSS and the header is unacknowledged, so Nagle holds it
//! (`tcp_nagle_check()`, `tcp_minshall_check()`) until the server's ACK of
//! the header. Loopback's MSS is 65483, so any header and body below that
//! show it. Whether that ACK comes at once or after the delayed-ACK timer
//! is what is compared: each request is classed as stalled (over 20 ms)
//! or not, on this machine's kernel over loopback (two threads, a
//! monotonic clock) and in the simulation (virtual time). The threshold is
//! wide on purpose: a stall is 40 ms and more, a quick request well under
//! a millisecond, so scheduling noise on a busy machine does not change
//! the class; the real run is repeated and each request takes the class
//! most runs gave it.
//!
//! Linux (6.x) enters pingpong mode once the server answers within `ato`
//! of the request (`tcp_event_data_sent()`), and from then on delays its
//! ACKs (`tcp_in_quickack_mode()` is false), so the stall starts at the
//! second request; when the delayed-ACK timer fires, pingpong mode ends
//! (`tcp_delack_timer_handler()`) and the answer starts it again.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use stack::prelude::*;

mod common;
use common::*;

const REQUESTS: usize = 12;
const RESPONSE: usize = 100;
/// A request slower than this waited for a delayed ACK.
const STALL: Duration = Duration::from_millis(20);
/// Real runs per scenario; each request takes the majority class.
const REAL_RUNS: usize = 3;

#[derive(Clone, Copy, Debug)]
struct Scenario {
    header: usize,
    body: usize,
    nodelay: bool,
}

/// Per request: `S` for stalled, `.` for not.
fn classes(latencies: &[Duration]) -> String {
    latencies
        .iter()
        .map(|&d| if d > STALL { 'S' } else { '.' })
        .collect()
}

fn real_once(sc: Scenario) -> Vec<Duration> {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let addr = l.local_addr().expect("getsockname");
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut req = vec![0u8; sc.header + sc.body];
        for _ in 0..REQUESTS {
            s.read_exact(&mut req).expect("the whole request");
            s.write_all(&[b'r'; RESPONSE]).expect("the response");
        }
    });
    let mut c = TcpStream::connect(addr).expect("connect over loopback");
    c.set_nodelay(sc.nodelay).unwrap();
    c.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let (header, body) = (vec![b'h'; sc.header], vec![b'b'; sc.body]);
    let mut resp = [0u8; RESPONSE];
    let mut out = Vec::new();
    for _ in 0..REQUESTS {
        std::thread::sleep(Duration::from_millis(1));
        let start = Instant::now();
        c.write_all(&header).unwrap();
        c.write_all(&body).unwrap();
        c.read_exact(&mut resp).expect("the response");
        out.push(start.elapsed());
    }
    server.join().expect("the server thread");
    out
}

/// The real kernel's classes: per request, the class most runs gave.
fn real(sc: Scenario) -> String {
    let runs: Vec<String> = (0..REAL_RUNS).map(|_| classes(&real_once(sc))).collect();
    println!("real kernel, {sc:?}: {runs:?}");
    majority(&runs)
}

fn majority(runs: &[String]) -> String {
    (0..REQUESTS)
        .map(|i| {
            let stalled = runs.iter().filter(|r| r.as_bytes()[i] == b'S').count();
            if 2 * stalled > runs.len() { 'S' } else { '.' }
        })
        .collect()
}

fn sim_run(sc: Scenario, pingpong_thresh: Option<u8>) -> String {
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    if let Some(t) = pingpong_thresh {
        world
            .sysctl(host, "net.ipv4.tcp_pingpong_thresh", &t.to_string())
            .expect("a valid threshold");
    }
    let port = 8080;
    world.spawn(host, "server", move |p| async move {
        let l = sim_listener(&p, port, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut req = vec![0u8; sc.header + sc.body];
        for _ in 0..REQUESTS {
            let mut got = 0;
            while got < req.len() {
                got += p.read(fd, &mut req[got..]).await?;
            }
            p.write(fd, &[b'r'; RESPONSE]).await?;
        }
        Ok(())
    });
    let slot = spawn_collect(&mut world, host, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if sc.nodelay {
            p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)?;
        }
        p.connect(fd, local(port)).await?;
        let (header, body) = (vec![b'h'; sc.header], vec![b'b'; sc.body]);
        let mut out = Vec::new();
        for _ in 0..REQUESTS {
            p.sleep(ms(1)).await;
            let start = p.now();
            p.write(fd, &header).await?;
            p.write(fd, &body).await?;
            let mut resp = [0u8; RESPONSE];
            let mut got = 0;
            while got < RESPONSE {
                got += p.read(fd, &mut resp[got..]).await?;
            }
            out.push(Duration::from_nanos(p.now() - start));
        }
        Ok(out)
    });
    let report = world.run();
    assert!(report.is_ok(), "the simulation did not finish:\n{report}");
    let latencies = slot.take().expect("the client finished");
    classes(&latencies)
}

fn compare(sc: Scenario) {
    let (real, sim) = (real(sc), sim_run(sc, None));
    same(&format!("stalled requests, {sc:?}"), real, sim);
}

/// A 700-byte header and a 200-byte body: the first request goes quickly
/// (quick-ack mode), every later one waits for the delayed ACK (pingpong
/// mode from the first response on).
#[test]
fn header_and_body_stall_from_the_second_request() {
    compare(Scenario {
        header: 700,
        body: 200,
        nodelay: false,
    });
}

/// A header smaller than the 536-byte `rcv_mss` the server starts with:
/// a small segment (`ICSK_ACK_PUSHED`) is acknowledged when the reader
/// drains it, but not in pingpong mode, so the stall is the same.
#[test]
fn small_header_stalls_too() {
    compare(Scenario {
        header: 300,
        body: 200,
        nodelay: false,
    });
}

/// `TCP_NODELAY` on the client: the body does not wait for the ACK, and
/// no request stalls.
#[test]
fn nodelay_never_stalls() {
    compare(Scenario {
        header: 700,
        body: 200,
        nodelay: true,
    });
}

/// The real runs in a network namespace of their own (a thread that
/// `unshare(CLONE_NEWNET)`s, so the rest of the machine keeps its
/// setting) with `net.ipv4.tcp_pingpong_thresh` set to `thresh`; `None`
/// when this process may not make one (not root).
fn real_with_thresh(sc: Scenario, thresh: u8) -> Option<String> {
    std::thread::spawn(move || {
        use nix::sched::{CloneFlags, unshare};
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
            return None;
        }
        // A child process starts in the namespace of the thread that
        // forks it; so does a thread, and /proc/sys/net shows this one's.
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip runs");
        assert!(up.success(), "ip link set lo up");
        std::fs::write("/proc/sys/net/ipv4/tcp_pingpong_thresh", thresh.to_string())
            .expect("set the namespace's tcp_pingpong_thresh");
        let runs: Vec<String> = (0..REAL_RUNS).map(|_| classes(&real_once(sc))).collect();
        println!("real kernel, tcp_pingpong_thresh {thresh}, {sc:?}: {runs:?}");
        Some(majority(&runs))
    })
    .join()
    .expect("the namespace thread")
}

/// `net.ipv4.tcp_pingpong_thresh` above 1: the server must answer that
/// many times in a row before it delays its ACKs, and each stall (the
/// delayed-ACK timer firing) starts the count again, so a stall comes
/// every `thresh` requests.
#[test]
fn pingpong_thresh_spaces_the_stalls() {
    let sc = Scenario {
        header: 700,
        body: 200,
        nodelay: false,
    };
    for thresh in [2, 3] {
        let Some(real) = real_with_thresh(sc, thresh) else {
            return;
        };
        let sim = sim_run(sc, Some(thresh));
        same(
            &format!("stalled requests, tcp_pingpong_thresh {thresh}, {sc:?}"),
            real,
            sim,
        );
    }
}
