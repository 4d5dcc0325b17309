//! Differential test of which resets an established connection believes
//! (RFC 5961 3.2, `tcp_validate_incoming()` in net/ipv4/tcp_input.c): a
//! RST whose sequence number is exactly `rcv_nxt` ends the connection; one
//! elsewhere in the receive window is answered with a challenge ACK
//! (`tcp_send_challenge_ack()`, `TCPChallengeACK`; at most one per socket
//! every `tcp_invalid_ratelimit`, 500 ms, else `TCPACKSkippedChallenge`);
//! one outside the window is dropped.
//!
//! Each scenario is written once, generic over the socket API of
//! `common::inet` ([`Api`]), and runs on this machine's kernel in a network
//! namespace of its own (so that the counters are the connection's alone)
//! and in the simulation on one host; both over loopback. The resets are
//! forged: a raw `IPPROTO_TCP` socket (the tests run as root; the
//! simulation's processes are root) sees the SYN-ACK, so the client's
//! `rcv_nxt` is its sequence number + 1, and sends bare TCP headers the
//! kernel wraps in an IP header (127.0.0.1 to 127.0.0.1). After each reset,
//! the client tries a non-blocking `recv()`: `EAGAIN` while the connection
//! lives, `ECONNRESET` once reset. Then the same for a connection the
//! server has closed, with the client in TIME_WAIT or in CLOSE_WAIT, seen
//! through `ss -tan`. [`same`] compares the two runs.

use std::net::Ipv4Addr;
use std::time::Duration;

use stack::prelude::*;
use stack::wire::tcp::{TcpFlags, TcpHdr, TcpOptions, fill_checksum_v4};

mod common;
use common::inet::*;
use common::*;

const PORT: u16 = 6000;

/// A forged reset: its sequence number relative to the client's
/// `rcv_nxt`, and the pause before it (for the rate limit).
#[derive(Clone, Copy, Debug)]
struct Step {
    what: &'static str,
    offset: u32,
    pause_ms: u64,
}

const STEPS: &[Step] = &[
    Step {
        what: "outside the window",
        offset: 0x4000_0000,
        pause_ms: 50,
    },
    Step {
        what: "in the window",
        offset: 1000,
        pause_ms: 50,
    },
    Step {
        what: "in the window again, 50 ms later",
        offset: 2000,
        pause_ms: 50,
    },
    Step {
        what: "in the window, 700 ms later",
        offset: 3000,
        pause_ms: 700,
    },
    Step {
        what: "at rcv_nxt - 1",
        offset: u32::MAX,
        pause_ms: 50,
    },
    Step {
        what: "at rcv_nxt",
        offset: 0,
        pause_ms: 50,
    },
];

/// How long after a reset the client reads and the counters are taken.
const LOOK: Duration = Duration::from_millis(20);

/// What one reset did.
#[derive(Debug, PartialEq)]
struct Seen {
    what: &'static str,
    /// The client's non-blocking `recv()`.
    read: R<usize>,
    challenge_acks: u64,
    skipped_challenges: u64,
}

/// A bare RST segment with its checksum.
fn rst_segment(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, seq: u32) -> Vec<u8> {
    let hdr = TcpHdr::new(
        sport,
        dport,
        seq,
        0,
        TcpFlags::RST,
        0,
        TcpOptions::default(),
    );
    let mut tcp = vec![0u8; hdr.header_len()];
    hdr.write(&mut tcp).expect("room for the header");
    fill_checksum_v4(src, dst, &mut tcp).expect("a whole header");
    tcp
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The sequence number of the SYN-ACK from `PORT` to `cport` in an IPv4
/// packet, if that is what it is.
fn synack_seq(ip: &[u8], cport: u16) -> Option<u32> {
    let ihl = usize::from(ip.first()? & 0xf) * 4;
    let tcp = ip.get(ihl..ihl + 20)?;
    let (sport, dport) = (
        u16::from_be_bytes([tcp[0], tcp[1]]),
        u16::from_be_bytes([tcp[2], tcp[3]]),
    );
    let syn_ack = tcp[13] & 0x12 == 0x12;
    (sport == PORT && dport == cport && syn_ack).then(|| be32(&tcp[4..8]))
}

/// A connection over loopback, and a raw socket that saw its SYN-ACK.
struct Conn {
    raw: i32,
    client: i32,
    server: i32,
    cport: u16,
    /// The server's initial sequence number.
    isn: u32,
}

/// The simulation's processes may open raw sockets.
const RAW_IN_SIM: &str = "a raw socket in the simulation";

/// `None` (with a note) where this process may not open a raw socket.
async fn connection<A: Api>(a: &A) -> Option<Conn> {
    // Open before the handshake, so that it gets the SYN-ACK.
    let raw = match a.socket_with(SOCK_RAW, IPPROTO_TCP) {
        Ok(fd) => fd,
        Err(e) => {
            println!("note: skipping: no raw socket: {e}");
            return None;
        }
    };
    let l = listener(a, PORT, 8);
    let client = a.socket(SOCK_STREAM).expect("socket");
    a.connect(client, &local(PORT)).await.expect("connect");
    let server = a.accept(l).await.expect("accept");
    let cport = port_of(a, client);
    // The SYN, the SYN-ACK and the ACK: a few more would mean it is lost.
    for _ in 0..8 {
        let (_, ip) = a.recv(raw, 2048, 0).await.expect("a TCP packet");
        if let Some(isn) = synack_seq(&ip, cport) {
            return Some(Conn {
                raw,
                client,
                server,
                cport,
                isn,
            });
        }
    }
    panic!("the raw socket saw no SYN-ACK");
}

/// A forged reset from the server's port to the client's; then `LOOK`
/// for it to act.
async fn forge<A: Api>(a: &A, c: &Conn, seq: u32) {
    let lo = Ipv4Addr::LOCALHOST;
    let seg = rst_segment(lo, PORT, lo, c.cport, seq);
    a.sendto(c.raw, &seg, 0, Some("127.0.0.1:0"))
        .await
        .expect("send the forged reset");
    a.wait(LOOK).await;
}

async fn resets<A: Api>(a: &A) -> Option<Vec<Seen>> {
    let c = connection(a).await?;
    let rcv_nxt = c.isn.wrapping_add(1);
    let mut out = Vec::new();
    for st in STEPS {
        a.wait(Duration::from_millis(st.pause_ms)).await;
        forge(a, &c, rcv_nxt.wrapping_add(st.offset)).await;
        out.push(Seen {
            what: st.what,
            read: a.recv(c.client, 1, MSG_DONTWAIT).await.map(|(n, _)| n),
            challenge_acks: a.mib("TcpExt", "TCPChallengeACK"),
            skipped_challenges: a.mib("TcpExt", "TCPACKSkippedChallenge"),
        });
    }
    Some(out)
}

/// Only a reset at `rcv_nxt` is believed; one at `rcv_nxt - 1` is not
/// either while the peer has sent no FIN (`tcp_reset_check()`).
#[test]
fn only_a_reset_at_rcv_nxt_ends_a_connection() {
    let Some((Some(real), sim)) = both_in_a_new_netns!(resets) else {
        return;
    };
    same("forged resets", real, sim.expect(RAW_IN_SIM));
}

/// Forged resets at a connection the server has closed, the client's
/// socket in TIME_WAIT (the client closed first) or in CLOSE_WAIT (it has
/// not closed). TIME_WAIT (`tcp_timewait_state_process()`, `tcp_rfc1337`
/// 0) ends only on a reset at exactly `rcv_nxt`, past the server's FIN;
/// CLOSE_WAIT (`tcp_validate_incoming()`) also on one at `rcv_nxt - 1`,
/// the FIN's own sequence number (`tcp_reset_check()`: the peer may have
/// sent its reset before it saw the ACK of its FIN).
const CLOSING_STEPS: &[(&str, u32)] = &[
    ("in the window", 1000),
    ("outside the window", 0x4000_0000),
    ("at the server's FIN (rcv_nxt - 1)", u32::MAX),
    ("at rcv_nxt", 0),
];

/// The client's rows in `state` in `ss -tan`.
fn rows_in(ss: &str, state: &str) -> usize {
    ss.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 5 && f[0] == state && f[4].ends_with(&format!(":{PORT}"))
        })
        .count()
}

type Closing = Vec<(&'static str, usize)>;

async fn closing<A: Api>(a: &A, client_closes: bool, state: &'static str) -> Option<Closing> {
    let c = connection(a).await?;
    if client_closes {
        a.close(c.client).expect("close the client");
        a.settle().await;
    }
    a.close(c.server).expect("close the server's socket");
    a.settle().await;
    let rcv_nxt = c.isn.wrapping_add(2);
    let mut out = vec![("before", rows_in(&a.sh("ss -tan"), state))];
    for &(what, offset) in CLOSING_STEPS {
        forge(a, &c, rcv_nxt.wrapping_add(offset)).await;
        out.push((what, rows_in(&a.sh("ss -tan"), state)));
    }
    Some(out)
}

#[test]
fn only_a_reset_at_rcv_nxt_ends_time_wait() {
    let Some((Some(real), sim)) = both_in_a_new_netns!(closing, true, "TIME-WAIT") else {
        return;
    };
    assert_eq!(real[0], ("before", 1), "the client is in TIME_WAIT");
    same("forged resets in TIME_WAIT", real, sim.expect(RAW_IN_SIM));
}

#[test]
fn close_wait_also_takes_a_reset_at_the_fin() {
    let Some((Some(real), sim)) = both_in_a_new_netns!(closing, false, "CLOSE-WAIT") else {
        return;
    };
    assert_eq!(real[0], ("before", 1), "the client is in CLOSE_WAIT");
    same("forged resets in CLOSE_WAIT", real, sim.expect(RAW_IN_SIM));
}
