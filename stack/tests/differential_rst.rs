//! Differential test of which resets an established connection believes
//! (RFC 5961 3.2, `tcp_validate_incoming()` in net/ipv4/tcp_input.c): a
//! RST whose sequence number is exactly `rcv_nxt` ends the connection; one
//! elsewhere in the receive window is answered with a challenge ACK
//! (`tcp_send_challenge_ack()`, `TCPChallengeACK`; at most one per socket
//! every `tcp_invalid_ratelimit`, 500 ms, else `TCPACKSkippedChallenge`);
//! one outside the window is dropped.
//!
//! The resets are forged. On the real side a raw `IPPROTO_TCP` socket (we
//! are root) sees the SYN-ACK, so the client's `rcv_nxt` is its sequence
//! number + 1, and sends bare TCP headers the kernel wraps in an IP header
//! (127.0.0.1 to 127.0.0.1), in a network namespace of its own so that the
//! counters are the connection's alone. In the simulation, the client and
//! the server are on two hosts joined by a link; the SYN-ACK is read from
//! the client's capture and the resets are put on its wire with
//! `Sim::inject_frame`. After each reset, the client tries a non-blocking
//! `read()`: `EAGAIN` while the connection lives, `ECONNRESET` once reset.
//! Then the same for a connection the server has closed, with the client
//! in TIME_WAIT or in CLOSE_WAIT, seen through `ss -tan`.

use std::io::Read;
use std::net::Ipv4Addr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use stack::prelude::*;
use stack::wire::ethernet::{ETH_P_IP, EthHdr, MacAddr};
use stack::wire::ipv4::{IPPROTO_TCP, Ipv4Hdr};
use stack::wire::tcp::{TcpFlags, TcpHdr, TcpOptions, fill_checksum_v4};

mod common;
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
const LOOK_MS: u64 = 20;

/// What one reset did.
#[derive(Debug, PartialEq)]
struct Seen {
    what: &'static str,
    /// The client's non-blocking `read()`.
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

fn real_tcpext(field: &str) -> u64 {
    real_mib("TcpExt", field)
}

/// A connection over loopback in a fresh namespace, and a raw socket
/// that saw its SYN-ACK. Called on the namespace's thread; `None` when
/// this process may not make one (not root).
struct RealConn {
    raw: Socket,
    _listener: Socket,
    client: Socket,
    server: Socket,
    cport: u16,
    /// The server's initial sequence number.
    isn: u32,
}

fn real_connection() -> Option<RealConn> {
    use nix::sched::{CloneFlags, unshare};
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
        println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
        return None;
    }
    let up = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip runs");
    assert!(up.success(), "ip link set lo up");
    let raw = match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)) {
        Ok(s) => s,
        Err(e) => {
            println!("note: skipping the real side: no raw socket: {e}");
            return None;
        }
    };
    raw.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let listener = real_listener(PORT, 8);
    let client = tcp4();
    client.connect(&sockaddr(&local(PORT))).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    let cport = real_port(&client);
    let mut buf = [0u8; 2048];
    let isn = loop {
        let n = (&raw)
            .read(&mut buf)
            .expect("the raw socket sees the SYN-ACK");
        if let Some(seq) = synack_seq(&buf[..n], cport) {
            break seq;
        }
    };
    Some(RealConn {
        raw,
        _listener: listener,
        client,
        server,
        cport,
        isn,
    })
}

/// A forged reset from the server's port to the client's; then
/// `LOOK_MS` for it to act.
fn real_forge(raw: &Socket, cport: u16, seq: u32) {
    let lo = Ipv4Addr::LOCALHOST;
    let seg = rst_segment(lo, PORT, lo, cport, seq);
    raw.send_to(&seg, &sockaddr("127.0.0.1:0"))
        .expect("send the forged reset");
    std::thread::sleep(Duration::from_millis(LOOK_MS));
}

fn real_side() -> Option<Vec<Seen>> {
    std::thread::spawn(|| {
        let conn = real_connection()?;
        let rcv_nxt = conn.isn.wrapping_add(1);
        conn.client.set_nonblocking(true).unwrap();
        let mut out = Vec::new();
        for st in STEPS {
            std::thread::sleep(Duration::from_millis(st.pause_ms));
            real_forge(&conn.raw, conn.cport, rcv_nxt.wrapping_add(st.offset));
            let mut one = [0u8; 1];
            out.push(Seen {
                what: st.what,
                read: real((&conn.client).read(&mut one)),
                challenge_acks: real_tcpext("TCPChallengeACK"),
                skipped_challenges: real_tcpext("TCPACKSkippedChallenge"),
            });
        }
        println!("real kernel: {out:#?}");
        Some(out)
    })
    .join()
    .expect("the namespace thread")
}

/// The MAC address of `dev` in `ip link` output.
fn mac_of(ip_link: &str, dev: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    let mac = ip_link
        .lines()
        .skip_while(|l| !l.contains(&format!(" {dev}:")))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    for (o, part) in out.iter_mut().zip(mac.split(':')) {
        *o = u8::from_str_radix(part, 16).unwrap_or(0);
    }
    out
}

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Two hosts joined by a link, with a server on the second that accepts
/// one connection and closes it at `server_close` (if given).
fn sim_world(server_close: Option<Nanos>) -> (Sim, HostId) {
    let mut world = Sim::new(1);
    let a = world.add_host("client");
    let b = world.add_host("server");
    world.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    world.spawn(b, "server", move |p| async move {
        let l = sim_listener_on(&p, "10.0.0.2", PORT, 8)?;
        let (fd, _) = p.accept(l).await?;
        if let Some(t) = server_close {
            p.sleep(t - p.now()).await;
            p.close(fd)?;
        }
        p.sleep(secs(10)).await;
        Ok(())
    });
    (world, a)
}

/// The client's port and the server's initial sequence number, from the
/// SYN-ACK in the client's capture.
fn sim_synack(world: &Sim, a: HostId) -> (u16, u32) {
    let frames = stack::pcap::parse_pcap(&world.pcap(a, "eth0").expect("eth0")).expect("a capture");
    frames
        .iter()
        .find_map(|(_, f)| {
            let ip = f.get(EthHdr::LEN..)?;
            let ihl = usize::from(ip.first()? & 0xf) * 4;
            let dport = u16::from_be_bytes([*ip.get(ihl + 2)?, *ip.get(ihl + 3)?]);
            Some((dport, synack_seq(ip, dport)?))
        })
        .expect("the client received a SYN-ACK")
}

/// Puts a forged reset from the server on the client's wire now.
fn sim_forge(world: &mut Sim, a: HostId, cport: u16, seq: u32) {
    let tcp = rst_segment(SERVER_IP, PORT, CLIENT_IP, cport, seq);
    let ip = Ipv4Hdr {
        tot_len: (Ipv4Hdr::LEN + tcp.len()) as u16,
        protocol: IPPROTO_TCP,
        saddr: SERVER_IP,
        daddr: CLIENT_IP,
        ..Ipv4Hdr::default()
    };
    let eth = EthHdr {
        dst: MacAddr(mac_of(&world.sh(a, "ip link"), "eth0")),
        src: MacAddr([0x02, 0xba, 0xd0, 0, 0, 1]),
        ethertype: ETH_P_IP,
    };
    let mut frame = vec![0u8; EthHdr::LEN + Ipv4Hdr::LEN];
    eth.write(&mut frame).expect("room");
    ip.write(&mut frame[EthHdr::LEN..]).expect("room");
    frame.extend_from_slice(&tcp);
    world.inject_frame(a, "eth0", frame).expect("eth0 is a NIC");
}

fn sim_side() -> Vec<Seen> {
    let (mut world, a) = sim_world(None);
    // When each reset is put on the wire, from 100 ms on.
    let mut at = Vec::new();
    let mut t = ms(100);
    for st in STEPS {
        t += ms(st.pause_ms);
        at.push(t);
    }
    let reads = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = reads.clone();
    let look: Vec<Nanos> = at.iter().map(|&t| t + ms(LOOK_MS)).collect();
    world.spawn(a, "client", move |p| async move {
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, format!("{SERVER_IP}:{PORT}")).await?;
        for t in look {
            p.sleep(t - p.now()).await;
            let mut one = [0u8; 1];
            let r = sim(p.recv(c, &mut one, MSG_DONTWAIT).await);
            log.borrow_mut().push(r);
        }
        Ok(())
    });
    world.run_until(ms(100));
    let (cport, isn) = sim_synack(&world, a);
    let rcv_nxt = isn.wrapping_add(1);
    let mut out = Vec::new();
    for (i, st) in STEPS.iter().enumerate() {
        world.run_until(at[i]);
        sim_forge(&mut world, a, cport, rcv_nxt.wrapping_add(st.offset));
        world.run_until(at[i] + ms(LOOK_MS) + 1);
        out.push(Seen {
            what: st.what,
            read: reads.borrow().get(i).cloned().unwrap_or(Err("no read")),
            challenge_acks: world.counter(a, Mib::TcpExtTCPChallengeACK),
            skipped_challenges: world.counter(a, Mib::TcpExtTCPACKSkippedChallenge),
        });
    }
    out
}

/// Only a reset at `rcv_nxt` is believed; one at `rcv_nxt - 1` is not
/// either while the peer has sent no FIN (`tcp_reset_check()`).
#[test]
fn only_a_reset_at_rcv_nxt_ends_a_connection() {
    let Some(real) = real_side() else {
        return;
    };
    same("forged resets", real, sim_side());
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

fn real_ss_text() -> String {
    let out = std::process::Command::new("ss")
        .arg("-tan")
        .output()
        .expect("ss runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

type Closing = Vec<(&'static str, usize)>;

fn closing_real(client_closes: bool, state: &'static str) -> Option<Closing> {
    std::thread::spawn(move || {
        let RealConn {
            raw,
            _listener,
            client,
            server,
            cport,
            isn,
        } = real_connection()?;
        let _client = if client_closes {
            drop(client);
            std::thread::sleep(SETTLE);
            None
        } else {
            Some(client)
        };
        drop(server);
        std::thread::sleep(SETTLE);
        let rcv_nxt = isn.wrapping_add(2);
        let mut out = vec![("before", rows_in(&real_ss_text(), state))];
        for &(what, offset) in CLOSING_STEPS {
            real_forge(&raw, cport, rcv_nxt.wrapping_add(offset));
            out.push((what, rows_in(&real_ss_text(), state)));
        }
        println!("real kernel, {state}: {out:#?}");
        Some(out)
    })
    .join()
    .expect("the namespace thread")
}

fn closing_sim(client_closes: bool, state: &'static str) -> Closing {
    let (mut world, a) = sim_world(Some(ms(150)));
    world.spawn(a, "client", move |p| async move {
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, format!("{SERVER_IP}:{PORT}")).await?;
        p.sleep(ms(100) - p.now()).await;
        if client_closes {
            p.close(c)?;
        } else {
            p.sleep(secs(10)).await;
        }
        Ok(())
    });
    world.run_until(ms(200));
    let (cport, isn) = sim_synack(&world, a);
    let rcv_nxt = isn.wrapping_add(2);
    let mut out = vec![("before", rows_in(&world.sh(a, "ss -tan"), state))];
    let mut t = ms(200);
    for &(what, offset) in CLOSING_STEPS {
        sim_forge(&mut world, a, cport, rcv_nxt.wrapping_add(offset));
        t += ms(LOOK_MS);
        world.run_until(t);
        out.push((what, rows_in(&world.sh(a, "ss -tan"), state)));
    }
    out
}

#[test]
fn only_a_reset_at_rcv_nxt_ends_time_wait() {
    let Some(real) = closing_real(true, "TIME-WAIT") else {
        return;
    };
    assert_eq!(real[0], ("before", 1), "the client is in TIME_WAIT");
    same(
        "forged resets in TIME_WAIT",
        real,
        closing_sim(true, "TIME-WAIT"),
    );
}

#[test]
fn close_wait_also_takes_a_reset_at_the_fin() {
    let Some(real) = closing_real(false, "CLOSE-WAIT") else {
        return;
    };
    assert_eq!(real[0], ("before", 1), "the client is in CLOSE_WAIT");
    same(
        "forged resets in CLOSE_WAIT",
        real,
        closing_sim(false, "CLOSE-WAIT"),
    );
}
