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
//! or not. The threshold is wide on purpose: a stall is 40 ms and more, a
//! quick request well under a millisecond, so scheduling noise on a busy
//! machine does not change the class; the run is repeated and each request
//! takes the class most runs gave it.
//!
//! The scenario is written once, generic over the socket API of
//! `common::inet` ([`Api`]), and runs on this machine's kernel over
//! loopback (a monotonic clock; the server's read waits on a thread of its
//! own) and in the simulation (virtual time; the read waits in a child
//! process); [`same`] compares the classes. Where it changes
//! `net.ipv4.tcp_pingpong_thresh`, the real side runs in a network
//! namespace of its own (a thread that `unshare(CLONE_NEWNET)`s, so the
//! rest of the machine keeps its setting).
//!
//! Linux (6.x) enters pingpong mode once the server answers within `ato`
//! of the request (`tcp_event_data_sent()`), and from then on delays its
//! ACKs (`tcp_in_quickack_mode()` is false), so the stall starts at the
//! second request; when the delayed-ACK timer fires, pingpong mode ends
//! (`tcp_delack_timer_handler()`) and the answer starts it again.

use std::time::Duration;

use stack::prelude::*;

mod common;
use common::inet::*;
use common::*;

const REQUESTS: usize = 12;
const RESPONSE: usize = 100;
/// A request slower than this waited for a delayed ACK.
const STALL: Duration = Duration::from_millis(20);
/// Runs per scenario; each request takes the majority class. The
/// simulation's runs agree, but running it as often keeps one body.
const RUNS: usize = 3;

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

/// Each request's latency, from the header's `send()` to the whole
/// response.
async fn requests<A: Api>(a: &A, sc: Scenario) -> Vec<Duration> {
    let l = listener(a, 0, 8);
    let c = a.socket(SOCK_STREAM).expect("socket");
    a.setsockopt(c, IPPROTO_TCP, TCP_NODELAY, sc.nodelay.into())
        .expect("TCP_NODELAY");
    a.connect(c, &local(port_of(a, l)))
        .await
        .expect("connect over loopback");
    let s = a.accept(l).await.expect("accept");
    let (header, body) = (vec![b'h'; sc.header], vec![b'b'; sc.body]);
    let mut out = Vec::new();
    for _ in 0..REQUESTS {
        // The server already waits in its read when the request comes, as
        // a server does.
        let server_read = a.spawn_recv(s, sc.header + sc.body, MSG_WAITALL);
        a.wait(Duration::from_millis(1)).await;
        let start = a.clock();
        send(a, c, &header).await.expect("the header");
        send(a, c, &body).await.expect("the body");
        let (n, _) = a.join(server_read).await.expect("the request");
        assert_eq!(n, sc.header + sc.body, "the whole request");
        send(a, s, &[b'r'; RESPONSE]).await.expect("the response");
        let (n, _) = a
            .recv(c, RESPONSE, MSG_WAITALL)
            .await
            .expect("the response");
        assert_eq!(n, RESPONSE, "the whole response");
        out.push(a.clock() - start);
    }
    for fd in [c, s, l] {
        a.close(fd).expect("close");
    }
    out
}

/// The classes of `RUNS` runs, with `net.ipv4.tcp_pingpong_thresh` set to
/// `thresh` if given.
async fn runs<A: Api>(a: &A, sc: Scenario, thresh: Option<u8>) -> Vec<String> {
    if let Some(t) = thresh {
        a.sysctl("net.ipv4.tcp_pingpong_thresh", &t.to_string())
            .await;
    }
    let mut out = Vec::new();
    for _ in 0..RUNS {
        out.push(classes(&requests(a, sc).await));
    }
    out
}

fn majority(runs: &[String]) -> String {
    (0..REQUESTS)
        .map(|i| {
            let stalled = runs.iter().filter(|r| r.as_bytes()[i] == b'S').count();
            if 2 * stalled > runs.len() { 'S' } else { '.' }
        })
        .collect()
}

/// Compares the majority classes, the real runs printed.
fn compare_runs(what: &str, real: Vec<String>, sim: Vec<String>) {
    println!("real kernel, {what}: {real:?}");
    same(
        &format!("stalled requests, {what}"),
        majority(&real),
        majority(&sim),
    );
}

fn compare(sc: Scenario) {
    let (real, sim) = both!(runs, sc, None);
    compare_runs(&format!("{sc:?}"), real, sim);
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
        let Some((real, sim)) = both_in_a_new_netns!(runs, sc, Some(thresh)) else {
            return;
        };
        compare_runs(&format!("tcp_pingpong_thresh {thresh}, {sc:?}"), real, sim);
    }
}
