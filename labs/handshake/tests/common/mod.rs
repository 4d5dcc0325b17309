//! What the tests share: a tiny packetdrill-like script runner for your
//! state machine, plain-value views of your queues, and simulations that
//! run every listener on your queues or on the stack's own.
#![allow(dead_code, unused_imports)]

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use std::net::SocketAddr;

pub use lab_handshake::{
    ACK, CheckReq, Config, ConnRequest, Errno, FIN, Nanos, RST, ReqskTimer, RequestSock,
    RequestSockQueue, SYN, Segment, TcpConn, ms, secs, state_name,
};
pub use stack::ids::SockId;

// ---------------------------------------------------------------------
// Scripts for the state machine.
// ---------------------------------------------------------------------

/// Runs a script against a fresh [`TcpConn`] with initial sequence number
/// `iss` and Linux's default settings. See [`script_with`].
pub fn script(iss: u32, text: &str) {
    script_with(iss, Config::default(), text)
}

/// Runs a script, one step a line (`#` starts a comment):
///
/// | line | meaning |
/// |---|---|
/// | `at 1.5` | time moves to 1.5 s; every timer due on the way fires at its instant |
/// | `connect`, `listen`, `close`, `shutdown` | the call; `connect -> EISCONN` expects that error |
/// | `read 5` | the process reads; expects 5 bytes |
/// | `< S. seq=100 ack=1001 len=10` | a segment arrives (flags `S`, `F`, `R`, `.` for ACK) |
/// | `> . seq=1001 ack=101` | the next segment we sent must be this one |
/// | `state ESTABLISHED` | the state, as `ss` names it (`tcp_state_names`) |
/// | `error ECONNRESET`, `error none` | `sk_err` |
/// | `timer 3`, `timer none` | when the armed timer fires (seconds) |
///
/// Every segment sent must be matched by a `>` line before the next
/// arrival, call or `at`; and by the end of the script.
pub fn script_with(iss: u32, cfg: Config, text: &str) {
    let mut r = Runner {
        conn: TcpConn::new(iss, cfg),
        now: 0,
        sent: Vec::new(),
        log: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        r.step(i + 1, line);
        r.log.push(line.to_string());
    }
    assert!(
        r.sent.is_empty(),
        "at the end of the script: unexpected segments sent: {}",
        r.show_sent()
    );
}

struct Runner {
    conn: TcpConn,
    now: Nanos,
    sent: Vec<Segment>,
    log: Vec<String>,
}

impl Runner {
    fn show_sent(&self) -> String {
        self.sent
            .iter()
            .map(|s| format!("> {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn context(&self, n: usize, line: &str) -> String {
        let tail: Vec<&String> = self.log.iter().rev().take(6).rev().collect();
        format!(
            "script line {n} `{line}` (t={}), after:\n  {}",
            fmt_secs(self.now),
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    }

    fn expect_quiet(&self, n: usize, line: &str) {
        assert!(
            self.sent.is_empty(),
            "{}\nunexpected segments sent before this line: {}",
            self.context(n, line),
            self.show_sent()
        );
    }

    fn step(&mut self, n: usize, line: &str) {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            ">" => {
                assert!(
                    !self.sent.is_empty(),
                    "{}\nexpected `> {rest}`, but nothing more was sent",
                    self.context(n, line)
                );
                let got = self.sent.remove(0).to_string();
                assert_eq!(got, rest, "{}\nthe segment sent", self.context(n, line));
            }
            "<" => {
                self.expect_quiet(n, line);
                let seg = parse_segment(rest);
                let out = self.conn.segment(&seg, self.now);
                self.sent.extend(out);
            }
            "at" => {
                self.expect_quiet(n, line);
                let t = parse_secs(rest);
                assert!(t >= self.now, "script line {n}: time goes forward");
                let mut fired = 0;
                while let Some(at) = self.conn.next_timer() {
                    if at > t || fired > 64 {
                        break;
                    }
                    self.now = self.now.max(at);
                    let out = self.conn.timer(self.now);
                    self.sent.extend(out);
                    fired += 1;
                }
                self.now = t;
            }
            "connect" | "close" | "shutdown" | "listen" => {
                self.expect_quiet(n, line);
                let r = match word {
                    "connect" => self.conn.connect(self.now),
                    "close" => Ok(self.conn.close(self.now)),
                    "shutdown" => self.conn.shutdown_write(self.now),
                    _ => self.conn.listen().map(|()| Vec::new()),
                };
                let want = rest.strip_prefix("->").map(str::trim);
                match (r, want) {
                    (Ok(out), None) => self.sent.extend(out),
                    (Err(e), Some(w)) => {
                        assert_eq!(e.name(), w, "{}\nthe error", self.context(n, line))
                    }
                    (Ok(_), Some(w)) => panic!("{}\nexpected {w}, got Ok", self.context(n, line)),
                    (Err(e), None) => panic!("{}\nunexpected {}", self.context(n, line), e.name()),
                }
            }
            "read" => {
                self.expect_quiet(n, line);
                let want: u32 = rest.parse().unwrap_or(0);
                assert_eq!(
                    self.conn.read(),
                    want,
                    "{}\nbytes read",
                    self.context(n, line)
                );
            }
            "state" => {
                let got = state_name(self.conn.state());
                assert_eq!(got, rest, "{}\nthe state", self.context(n, line));
            }
            "error" => {
                let got = self.conn.error().map_or("none", |e| e.name());
                assert_eq!(got, rest, "{}\nsk_err", self.context(n, line));
            }
            "timer" => {
                let got = self.conn.next_timer().map_or("none".into(), fmt_secs);
                let want = if rest == "none" {
                    rest.to_string()
                } else {
                    fmt_secs(parse_secs(rest))
                };
                assert_eq!(got, want, "{}\nthe armed timer", self.context(n, line));
            }
            _ => panic!("script line {n}: unknown step `{line}`"),
        }
    }
}

/// `S. seq=1 ack=2 len=3` as a segment.
pub fn parse_segment(text: &str) -> Segment {
    let mut parts = text.split_whitespace();
    let mut seg = Segment::default();
    for c in parts.next().unwrap_or("").chars() {
        seg.flags |= match c {
            'S' => SYN,
            'F' => FIN,
            'R' => RST,
            '.' => ACK,
            'P' => 0,
            _ => panic!("unknown flag {c} in `{text}`"),
        };
    }
    for kv in parts {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "0"));
        let v: u32 = v
            .parse()
            .unwrap_or_else(|_| panic!("bad number in `{text}`"));
        match k {
            "seq" => seg.seq = v,
            "ack" => seg.ack = v,
            "len" => seg.len = v,
            _ => panic!("unknown field {k} in `{text}`"),
        }
    }
    seg
}

/// `1.5` (seconds) as nanoseconds.
pub fn parse_secs(text: &str) -> Nanos {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let whole: u64 = whole
        .parse()
        .unwrap_or_else(|_| panic!("bad time `{text}`"));
    let mut digits = frac.to_string();
    digits.truncate(9);
    while digits.len() < 9 {
        digits.push('0');
    }
    let frac: u64 = digits.parse().unwrap_or(0);
    whole * 1_000_000_000 + frac
}

/// Nanoseconds as seconds, `1.5`.
pub fn fmt_secs(t: Nanos) -> String {
    let s = format!("{}.{:09}", t / 1_000_000_000, t % 1_000_000_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---------------------------------------------------------------------
// Two state machines talking.
// ---------------------------------------------------------------------

/// Runs a client (iss 1000) and a server (iss 5000, listening) joined by a
/// wire with `latency` each way. `calls` are the user calls, at their
/// instants: (time, side: 0 client / 1 server, "connect" | "close" |
/// "shutdown"). Returns, for each instant in `samples`, both states as
/// `CLIENT/SERVER`.
pub fn pair(latency: Nanos, calls: &[(Nanos, usize, &str)], samples: &[Nanos]) -> Vec<String> {
    let cfg = Config::default();
    let mut side = [TcpConn::new(1000, cfg), TcpConn::new(5000, cfg)];
    side[1].listen().ok();
    // Segments in flight: (arrival, sequence, to side, segment).
    let mut wire: Vec<(Nanos, u64, usize, Segment)> = Vec::new();
    let mut order = 0u64;
    let mut out = Vec::new();
    let mut calls: Vec<(Nanos, usize, &str)> = calls.to_vec();
    calls.sort_by_key(|c| c.0);
    let mut ci = 0;
    let mut si = 0;
    for _ in 0..10_000 {
        // The next thing to happen: a call, an arrival, a timer, a sample.
        let mut next = Nanos::MAX;
        if let Some(c) = calls.get(ci) {
            next = next.min(c.0);
        }
        if let Some(w) = wire.iter().map(|w| w.0).min() {
            next = next.min(w);
        }
        for s in &side {
            if let Some(t) = s.next_timer() {
                next = next.min(t);
            }
        }
        if let Some(&t) = samples.get(si) {
            if t <= next {
                out.push(format!(
                    "{}/{}",
                    state_name(side[0].state()),
                    state_name(side[1].state())
                ));
                si += 1;
                continue;
            }
        } else {
            break;
        }
        let now = next;
        let mut sends: Vec<(usize, Segment)> = Vec::new();
        if calls.get(ci).is_some_and(|c| c.0 == now) {
            let (_, who, what) = calls[ci];
            ci += 1;
            let segs = match what {
                "connect" => side[who].connect(now).unwrap_or_default(),
                "close" => side[who].close(now),
                "shutdown" => side[who].shutdown_write(now).unwrap_or_default(),
                _ => Vec::new(),
            };
            sends.extend(segs.into_iter().map(|s| (who, s)));
        } else if let Some(i) = (0..wire.len())
            .filter(|&i| wire[i].0 == now)
            .min_by_key(|&i| wire[i].1)
        {
            let (_, _, to, seg) = wire.remove(i);
            let segs = side[to].segment(&seg, now);
            sends.extend(segs.into_iter().map(|s| (to, s)));
        } else {
            for (who, conn) in side.iter_mut().enumerate() {
                if conn.next_timer() == Some(now) {
                    let segs = conn.timer(now);
                    sends.extend(segs.into_iter().map(|s| (who, s)));
                }
            }
        }
        for (from, seg) in sends {
            order += 1;
            wire.push((now + latency, order, 1 - from, seg));
        }
    }
    out
}

// ---------------------------------------------------------------------
// The queues.
// ---------------------------------------------------------------------

/// Your queues.
pub fn queues() -> Box<dyn RequestSockQueue> {
    lab_handshake::boxed()
}

/// The peer `10.0.0.1:<port>`.
pub fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

/// A request from `peer(port)` to `10.0.0.2:80`, our ISN `iss`.
pub fn req(port: u16, iss: u32) -> RequestSock {
    RequestSock::new(SocketAddr::from(([10, 0, 0, 2], 80)), peer(port), iss, 7)
}

/// What `conn_request` decided, as the kernel's words.
pub fn admit(q: &dyn RequestSockQueue, backlog: u32, syncookies: bool) -> &'static str {
    match q.conn_request(backlog, syncookies) {
        ConnRequest::Queue => "queue",
        ConnRequest::Cookie => "cookie",
        ConnRequest::DropSynQueueFull => "drop: SYN queue full",
        ConnRequest::DropAcceptQueueFull => "drop: accept queue full",
    }
}

/// What `check_req` decided, as plain words (a child by its peer port).
pub fn check(
    q: &mut dyn RequestSockQueue,
    port: u16,
    ack: u32,
    backlog: u32,
    abort: bool,
) -> String {
    match q.check_req(peer(port), ack, backlog, abort) {
        CheckReq::NoRequest => "no request".into(),
        CheckReq::BadAck => "bad ack".into(),
        CheckReq::Child(r) => format!("child from port {}", r.remote.port()),
        CheckReq::Overflow { reset } => format!("overflow, reset {reset}"),
    }
}

/// What the request timer did, as plain words.
pub fn fire(q: &mut dyn RequestSockQueue, port: u16, now: Nanos, retries: u32) -> String {
    match q.timer(peer(port), now, retries) {
        ReqskTimer::Nothing => "nothing".into(),
        ReqskTimer::Expire => "expire".into(),
        ReqskTimer::Resend { retrans, next_at } => {
            format!("resend #{retrans}, next at {}", fmt_secs(next_at))
        }
    }
}

/// The request from `peer(port)` as (retrans, acked, timer_at), if any.
pub fn request_of(q: &dyn RequestSockQueue, port: u16) -> Option<(u32, bool, String)> {
    q.request(peer(port))
        .map(|r| (r.retrans, r.acked, fmt_secs(r.timer_at)))
}

/// The peers' ports of the SYN queue, in its order.
pub fn syn_ports(q: &dyn RequestSockQueue) -> Vec<u16> {
    q.requests().iter().map(|r| r.remote.port()).collect()
}

/// A child handle.
pub fn child(n: u32) -> SockId {
    SockId::from_raw(n)
}

/// Drives every request's timer to its end, the way the stack's timer
/// events would: returns the instants of the resends and of the expiry.
pub fn timer_story(q: &mut dyn RequestSockQueue, port: u16, retries: u32) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let Some((_, _, at)) = request_of(q, port) else {
            break;
        };
        let at = parse_secs(&at);
        out.push(format!("{}: {}", fmt_secs(at), fire(q, port, at, retries)));
    }
    out
}

// ---------------------------------------------------------------------
// Inside the full stack.
// ---------------------------------------------------------------------

/// A client and a server joined by a 1 ms link; the server's listeners use
/// your queues (`student`) or the stack's own.
pub fn world(student: bool) -> (stack::sim::Sim, stack::ids::HostId, stack::ids::HostId) {
    use stack::prelude::*;
    let mut sim = Sim::new(1);
    if student {
        sim.set_request_queue(lab_handshake::boxed);
    }
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );
    sim.set_tracing(false);
    (sim, client, server)
}

/// The lines of a tool's output that contain one of `words`.
pub fn grep(text: &str, words: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| words.iter().any(|w| l.contains(w)))
        .map(str::to_string)
        .collect()
}

/// A log the scenario's processes write.
pub type Log = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

/// Appends a line to a log.
pub fn note(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

/// A client (iss 1000) that connected to a peer whose ISN is 5000.
pub const CLIENT_EST: &str = "
    connect
    > S seq=1000
    < S. seq=5000 ack=1001
    > . seq=1001 ack=5001
    state ESTABLISHED
";

/// A listener (iss 5000) that accepted a peer whose ISN is 100.
pub const SERVER_EST: &str = "
    listen
    < S seq=100
    > S. seq=5000 ack=101
    < . seq=101 ack=5001
    state ESTABLISHED
";

/// The MAC address `ip link` shows for a device.
pub fn mac_of(ip_link: &str, dev: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    let mut lines = ip_link
        .lines()
        .skip_while(|l| !l.contains(&format!(" {dev}:")));
    let mac = lines
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    for (o, part) in out.iter_mut().zip(mac.split(':')) {
        *o = u8::from_str_radix(part, 16).unwrap_or(0);
    }
    out
}

/// What `hping3 -S` puts on the wire: a SYN with an MSS option from a
/// forged IPv4 source address (`src`, `sport`) to `dst:dport`, in an
/// Ethernet frame for `dst_mac`, built with the stack's own header types.
pub fn spoofed_syn(
    dst_mac: [u8; 6],
    src: std::net::Ipv4Addr,
    sport: u16,
    dst: [u8; 4],
    dport: u16,
) -> Vec<u8> {
    use stack::wire::tcp::{TcpFlags, TcpHdr, TcpOptions};
    let dst = std::net::Ipv4Addr::from(dst);
    let options = TcpOptions {
        mss: Some(1460),
        ..TcpOptions::default()
    };
    let seq = u32::from(src) ^ 0x5eed;
    let tcp_hdr = TcpHdr::new(sport, dport, seq, 0, TcpFlags::SYN, 64240, options);
    forged_tcp_frame(dst_mac, src, dst, &tcp_hdr)
}

/// A TCP segment (header only) from `src` to `dst` with its checksum, in an
/// IPv4 packet in an Ethernet frame for `dst_mac`, from a made-up MAC: what
/// a raw socket on another machine could send.
pub fn forged_tcp_frame(
    dst_mac: [u8; 6],
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    tcp_hdr: &stack::wire::tcp::TcpHdr,
) -> Vec<u8> {
    use stack::wire::ethernet::{ETH_P_IP, EthHdr, MacAddr};
    use stack::wire::ipv4::{IPPROTO_TCP, Ipv4Hdr};
    use stack::wire::tcp::fill_checksum_v4;
    let mut tcp = vec![0u8; tcp_hdr.header_len()];
    tcp_hdr.write(&mut tcp).ok();
    fill_checksum_v4(src, dst, &mut tcp).ok();
    let ip = Ipv4Hdr {
        tot_len: (Ipv4Hdr::LEN + tcp.len()) as u16,
        protocol: IPPROTO_TCP,
        saddr: src,
        daddr: dst,
        ..Ipv4Hdr::default()
    };
    let eth = EthHdr {
        dst: MacAddr(dst_mac),
        src: MacAddr([0x02, 0xba, 0xd0, 0, 0, 1]),
        ethertype: ETH_P_IP,
    };
    let mut frame = vec![0u8; EthHdr::LEN + Ipv4Hdr::LEN];
    eth.write(&mut frame).ok();
    ip.write(&mut frame[EthHdr::LEN..]).ok();
    frame.extend_from_slice(&tcp);
    frame
}
