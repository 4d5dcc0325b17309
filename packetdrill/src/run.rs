//! Runs one script against a fresh simulated host: events in order, each
//! at its time, as packetdrill's `run.c` and `run_packet.c` do.
//!
//! - An inbound packet (`<`) is built from the script, its sequence and
//!   acknowledgment numbers moved from the script's space (both sides
//!   start at 0) into the connection's, and written to the tun device.
//! - An outbound packet (`>`) is the next packet the host sent: the runner
//!   runs the simulation event by event until one appears, maps it back
//!   into the script's space and compares flags, sequence numbers, window,
//!   options (kind by kind) and payload length, then its time against the
//!   script's within the tolerance. Consecutive segments are joined when
//!   the script expects one larger packet, as packetdrill joins a TSO/GSO
//!   super-packet.
//! - A system call runs in the host's process; one that blocks goes on
//!   while later events happen, and must return within the tolerance of
//!   the end time written after `...`, or of its start when none is.
//! - A shell command and a Python block run through the [`Env`] the caller
//!   gives, so that this module needs no operating-system facility.
//!
//! Simplified: one connection per script (every script in `net/tcp` has
//! at most one at a time), IPv4 only.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use stack::prelude::*;

use crate::host::{Host, TUN};
use crate::script::{
    Action, Direction, Event, EventTime, Packet, Script, Syscall, TcpOption, TcpOptions,
};
use crate::shell;
use crate::syscalls::{LOCAL_IP, PORT, REMOTE_IP};
use crate::wire::{TcpPacket, WireOption};

/// What the runner needs from outside: the files a script's shell lines
/// name, and a Python interpreter.
pub trait Env {
    /// The text of `path`, relative to the script's folder.
    fn read_file(&self, path: &str) -> Option<String>;
    /// Runs `code` (a Python block with the variables it reads assigned
    /// first); `Err` with the interpreter's message if it failed.
    fn python(&self, code: &str) -> Result<(), String>;
}

/// Why a script failed: the line and what differed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The script line (1-based).
    pub line: usize,
    /// What differed, in packetdrill's words where it has them.
    pub message: String,
}

/// The remote side's initial sequence number in live packets.
const REMOTE_ISN: u32 = 0;
/// The remote port when the script's peer connects to a listener.
const REMOTE_PORT: u16 = 53000;
/// How long a `*` packet may take.
const ANY_TIME_LIMIT: Nanos = 120 * 1_000_000_000;

/// The connection the script plays the other end of.
#[derive(Default)]
struct Conn {
    local_port: Option<u16>,
    remote_port: Option<u16>,
    local_isn: Option<u32>,
    /// Script TSval → the host's TSval, from outbound packets.
    ts_map: HashMap<u32, u32>,
    /// The first (script, live) TSval pair, to interpolate from.
    ts_first: Option<(u32, u32)>,
}

/// A blocking call still in progress.
struct Pending {
    line: usize,
    name: String,
    /// It must return no earlier and no later than these.
    window: (Nanos, Nanos),
}

struct Runner<'a> {
    host: Host,
    env: &'a dyn Env,
    tolerance: Nanos,
    ts_tick_usecs: Option<u64>,
    /// Script time 0 in simulated time.
    t0: Nanos,
    conn: Conn,
    sent: VecDeque<(Nanos, Vec<u8>)>,
    pending: Option<Pending>,
    /// Set when a blocking call failed: the failure is its line's, not
    /// the line of the event during which it was found.
    failed_call: Option<usize>,
    /// The socket a Python block's `tcpi_*` describe: the last one
    /// accepted or connected (packetdrill's `socket_under_test`).
    under_test: Option<i32>,
}

/// Runs `script` on a fresh host.
pub fn run(script: &Script, env: &dyn Env) -> Result<(), Failure> {
    let mut tolerance = 4_000_000;
    let mut ts_tick_usecs = None;
    for (name, value) in &script.options {
        let n = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (name.as_str(), n) {
            ("tolerance_usecs", Some(n)) => tolerance = n * 1_000,
            ("tcp_ts_tick_usecs", Some(n)) => ts_tick_usecs = Some(n),
            _ => {}
        }
    }
    let host = Host::new();
    let t0 = host.sim.now();
    let mut r = Runner {
        host,
        env,
        tolerance,
        ts_tick_usecs,
        t0,
        conn: Conn::default(),
        sent: VecDeque::new(),
        pending: None,
        failed_call: None,
        under_test: None,
    };
    let mut last = 0.0f64;
    for ev in &script.events {
        let at = match ev.time {
            EventTime::Absolute(t) | EventTime::AbsoluteRange(t, _) => t,
            EventTime::Relative(d) | EventTime::RelativeRange(d, _) => last + d,
            EventTime::Any => last,
        };
        let at_ns = r.t0 + secs_to_ns(at);
        let observed = r.event(ev, last, at_ns).map_err(|message| Failure {
            line: r.failed_call.unwrap_or(ev.line),
            message,
        })?;
        // After a packet whose time was a range (or `*`), later relative
        // times count from when it came, as packetdrill's
        // adjust_relative_event_times() does.
        last = match (ev.time, observed) {
            (
                EventTime::Any | EventTime::AbsoluteRange(..) | EventTime::RelativeRange(..),
                Some(t),
            ) => (t - r.t0) as f64 / 1e9,
            _ => at,
        };
    }
    if let Some((end, line)) = r.pending.as_ref().map(|p| (p.window.1, p.line)) {
        r.advance(end)
            .map_err(|message| Failure { line, message })?;
        if let Some(p) = &r.pending {
            return Err(Failure {
                line: p.line,
                message: format!("{} is still blocked when the script ends", p.name),
            });
        }
    }
    Ok(())
}

fn secs_to_ns(s: f64) -> Nanos {
    (s * 1e9).round().max(0.0) as Nanos
}

fn fmt_s(t: Nanos) -> String {
    format!("{:.6}", t as f64 / 1e9)
}

impl Runner<'_> {
    /// Handles one event due at `at_ns` (simulated time), the previous
    /// one having been at `last` (script seconds); returns when it
    /// happened if that was not fixed (a `*` packet).
    fn event(&mut self, ev: &Event, last: f64, at_ns: Nanos) -> Result<Option<Nanos>, String> {
        match &ev.action {
            Action::Packet(p) if p.direction == Direction::Inbound => {
                self.advance(at_ns)?;
                self.inject(p)?;
                Ok(None)
            }
            Action::Packet(p) => {
                let (lo, hi) = match ev.time {
                    EventTime::Any => (self.host.sim.now(), self.host.sim.now() + ANY_TIME_LIMIT),
                    EventTime::AbsoluteRange(_, b) => (at_ns, self.t0 + secs_to_ns(b)),
                    EventTime::RelativeRange(a, b) => (at_ns, at_ns + secs_to_ns(b - a)),
                    _ => (at_ns.saturating_sub(self.tolerance), at_ns + self.tolerance),
                };
                self.expect(p, (lo, hi), at_ns).map(Some)
            }
            Action::OtherPacket(text) => {
                Err(format!("the runner handles TCP packets only: {text}"))
            }
            Action::Syscall(call) => {
                self.advance(at_ns)?;
                self.syscall(ev.line, call, last, at_ns, ev.time)?;
                Ok(None)
            }
            Action::Command(cmd) => {
                self.advance(at_ns)?;
                shell::run(cmd, &mut self.host, self.env)?;
                Ok(None)
            }
            Action::Code(code) => {
                self.advance(at_ns)?;
                self.python(code)?;
                Ok(None)
            }
        }
    }

    /// Runs the simulation to `t`, collecting what the host sends and
    /// checking that a blocking call returns inside its window.
    fn advance(&mut self, t: Nanos) -> Result<(), String> {
        loop {
            let step = match &self.pending {
                Some(p) if p.window.1 < t => p.window.1,
                _ => t,
            };
            if step >= self.host.sim.now() {
                self.host.sim.run_until(step);
            }
            self.collect();
            self.check_pending()?;
            if step >= t {
                return Ok(());
            }
        }
    }

    /// Runs to the next pending event only, for a driver waiting on a packet.
    fn step_to(&mut self, limit: Nanos) -> bool {
        match self.host.sim.next_event_time() {
            Some(t) if t <= limit => {
                let t = t.max(self.host.sim.now());
                self.host.sim.run_until(t);
                self.collect();
                true
            }
            _ => false,
        }
    }

    fn collect(&mut self) {
        if let Ok(pkts) = self.host.sim.tun_read(self.host.id, TUN) {
            self.sent.extend(pkts);
        }
    }

    fn check_pending(&mut self) -> Result<(), String> {
        let now = self.host.sim.now();
        let line = self.pending.as_ref().map(|p| p.line);
        let r = self.check_pending_call(now);
        if r.is_err() {
            self.failed_call = line;
        }
        r
    }

    fn check_pending_call(&mut self, now: Nanos) -> Result<(), String> {
        if let Some((t, verdict)) = self.host.take_done() {
            let p = self.pending.take();
            verdict?;
            if let Some(p) = p
                && t < p.window.0
            {
                return Err(format!(
                    "timing error: expected {} to return at {} sec but it returned at {} sec",
                    p.name,
                    fmt_s(p.window.0 - self.t0 + self.tolerance),
                    fmt_s(t - self.t0),
                ));
            }
        } else if let Some(p) = &self.pending
            && now >= p.window.1
        {
            return Err(format!(
                "{} is still blocked at {} sec; the script expects it to return by {} sec",
                p.name,
                fmt_s(now - self.t0),
                fmt_s(p.window.1 - self.t0)
            ));
        }
        Ok(())
    }

    /// Starts a call; `...END` is absolute after an absolute time, and
    /// otherwise counts from the previous event (`last`), not from the
    /// call's own start: `+.1...0.200 read()` returns 0.2 s after the event
    /// before it.
    fn syscall(
        &mut self,
        line: usize,
        call: &Syscall,
        last: f64,
        at_ns: Nanos,
        time: EventTime,
    ) -> Result<(), String> {
        if let Some(p) = &self.pending {
            return Err(format!(
                "{}() starts while {} (line {}) is still blocked; the runner runs one call at a time",
                call.name, p.name, p.line
            ));
        }
        let window = match call.end_time {
            Some(end) => {
                let end = match time {
                    EventTime::Absolute(_) => end,
                    _ => last + end,
                };
                let end = self.t0 + secs_to_ns(end);
                (end.saturating_sub(self.tolerance), end + self.tolerance)
            }
            None => (at_ns.saturating_sub(self.tolerance), at_ns + self.tolerance),
        };
        self.pending = Some(Pending {
            line,
            name: format!("{}()", call.name),
            window,
        });
        let fd = match (call.name.as_str(), call.args.first(), &call.result) {
            ("accept" | "accept4", _, crate::script::Expr::Int(fd)) => Some(*fd as i32),
            ("connect", Some(crate::script::Expr::Int(fd)), _) => Some(*fd as i32),
            _ => None,
        };
        if fd.is_some() {
            self.under_test = fd;
        }
        self.host.start_call(call.clone());
        self.collect();
        self.check_pending()
    }

    /// Runs a Python block with the socket's `tcp_info` fields assigned
    /// first, as packetdrill does. A field the simulation does not model
    /// is not assigned, so a block that reads it fails on its name.
    fn python(&mut self, code: &str) -> Result<(), String> {
        let fd = self
            .under_test
            .ok_or("a Python block before any connection: no tcp_info to read")?;
        let info = self
            .host
            .tcp_info(fd)
            .map_err(|e| format!("getsockopt(TCP_INFO) on fd {fd}: {e}"))?;
        let mut program = String::from(
            "TCP_CA_Open = 0\nTCP_CA_Disorder = 1\nTCP_CA_CWR = 2\nTCP_CA_Recovery = 3\nTCP_CA_Loss = 4\n",
        );
        for (name, value) in info.fields() {
            program.push_str(&format!("{name} = {value}\n"));
        }
        program.push_str(code);
        program.push('\n');
        self.env.python(&program)
    }

    /// The live packet for a script's inbound one.
    fn inject(&mut self, p: &Packet) -> Result<(), String> {
        let flags = flag_bits(&p.flags)?;
        let syn_only = flags & 0x12 == 0x02;
        if syn_only && self.conn.remote_port.is_none() {
            // A SYN to the listener: a new connection from the script.
            self.conn = Conn {
                local_port: Some(PORT),
                remote_port: Some(REMOTE_PORT),
                ..Conn::default()
            };
        }
        let (Some(local_port), Some(remote_port)) = (self.conn.local_port, self.conn.remote_port)
        else {
            return Err("inbound packet for no connection (no SYN or connect() yet)".into());
        };
        let local_isn = self.conn.local_isn.unwrap_or(0);
        let has_ack = flags & 0x10 != 0;
        let mut options = Vec::new();
        match &p.options {
            None => {}
            Some(TcpOptions::Any) => {
                return Err("an inbound packet cannot have <...> options".into());
            }
            Some(TcpOptions::List(list)) => {
                for o in list {
                    options.push(self.inbound_option(o, has_ack)?);
                }
            }
        }
        let packet = TcpPacket {
            saddr: REMOTE_IP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
            daddr: LOCAL_IP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
            tos: ecn_bits(p.ecn.as_deref())?.unwrap_or(0),
            sport: remote_port,
            dport: local_port,
            seq: p.start_seq.wrapping_add(REMOTE_ISN),
            ack: if has_ack {
                p.ack.unwrap_or(0).wrapping_add(local_isn)
            } else {
                0
            },
            flags,
            win: p.win.unwrap_or(0) as u16,
            urg: p.urg.unwrap_or(0) as u16,
            options,
            payload_len: p.len as usize,
        };
        self.host
            .sim
            .tun_write(self.host.id, TUN, &packet.to_bytes())
            .map_err(|e| format!("writing to the tun device failed: {e}"))?;
        self.host.settle();
        self.collect();
        self.check_pending()
    }

    fn inbound_option(&self, o: &TcpOption, has_ack: bool) -> Result<WireOption, String> {
        let local_isn = self.conn.local_isn.unwrap_or(0);
        Ok(match o {
            TcpOption::Nop => WireOption::Nop,
            TcpOption::Eol => WireOption::Eol,
            TcpOption::Mss(m) => WireOption::Mss(*m),
            TcpOption::Wscale(w) => WireOption::Wscale(*w),
            TcpOption::SackOk => WireOption::SackOk,
            TcpOption::Sack(blocks) => WireOption::Sack(
                blocks
                    .iter()
                    .map(|(l, r)| (l.wrapping_add(local_isn), r.wrapping_add(local_isn)))
                    .collect(),
            ),
            TcpOption::Timestamp { val, ecr } => {
                let ecr = if has_ack {
                    match (self.conn.ts_map.get(ecr), self.conn.ts_first) {
                        (Some(live), _) => *live,
                        (None, Some((script, live))) => ecr.wrapping_sub(script).wrapping_add(live),
                        (None, None) => {
                            return Err(format!(
                                "unable to infer live TS ecr for script TS ecr {ecr}; no matching or preceding outbound TS val"
                            ));
                        }
                    }
                } else {
                    *ecr
                };
                WireOption::Timestamp(*val, ecr)
            }
            TcpOption::Other(text) => return Err(format!("the runner cannot send option {text}")),
        })
    }

    /// Waits for the host's next packet and compares it with `p`.
    fn expect(
        &mut self,
        p: &Packet,
        window: (Nanos, Nanos),
        at_ns: Nanos,
    ) -> Result<Nanos, String> {
        let (t, bytes) = self.next_sent(window.1, at_ns)?;
        let Some(mut live) = TcpPacket::parse(&bytes) else {
            return Err("the host sent a packet that is not IPv4 TCP".into());
        };
        // Learn the connection from the host's SYN or SYN-ACK.
        if live.flags & 0x02 != 0 {
            if live.flags & 0x10 == 0 {
                self.conn = Conn {
                    local_port: Some(live.sport),
                    remote_port: Some(live.dport),
                    ..Conn::default()
                };
            }
            self.conn.local_isn = Some(live.seq);
        }
        // Join the segments that follow into the packet the script expects,
        // as packetdrill joins a TSO/GSO super-packet: contiguous, same
        // flags but PSH and FIN and same ack, all of one size but the last;
        // the joined packet carries the last one's flags, window and time.
        let want_len = p.len as usize;
        let mut t = t;
        let mut prev_len = live.payload_len;
        while live.payload_len < want_len && prev_len > 0 {
            let Ok((t2, bytes)) = self.next_sent(window.1, at_ns) else {
                break;
            };
            let Some(next) = TcpPacket::parse(&bytes) else {
                return Err("the host sent a packet that is not IPv4 TCP".into());
            };
            let contiguous = next.seq == live.seq.wrapping_add(live.payload_len as u32)
                && next.ack == live.ack
                && (next.flags | 0x09) == (live.flags | 0x09)
                && live.flags & 0x01 == 0;
            let last = live.payload_len + next.payload_len >= want_len;
            if !contiguous || (!last && next.payload_len != prev_len) {
                return Err(format!(
                    "the segments after {}:{} do not join into the packet the script expects (fragment of {} bytes at seq {})",
                    live.seq.wrapping_sub(self.conn.local_isn.unwrap_or(0)),
                    live.seq
                        .wrapping_add(live.payload_len as u32)
                        .wrapping_sub(self.conn.local_isn.unwrap_or(0)),
                    next.payload_len,
                    next.seq.wrapping_sub(self.conn.local_isn.unwrap_or(0)),
                ));
            }
            live.payload_len += next.payload_len;
            live.flags = (live.flags & !0x09) | (next.flags & 0x09);
            live.win = next.win;
            prev_len = next.payload_len;
            t = t2;
        }
        self.compare(p, &live)
            .map_err(|e| format!("{e} (actual packet: {})", self.live_text(&live)))?;
        let (lo, hi) = window;
        if t < lo || t > hi {
            return Err(format!(
                "timing error: expected outbound packet at {} sec but happened at {} sec; tolerance {} sec",
                fmt_s(at_ns - self.t0),
                fmt_s(t - self.t0),
                fmt_s(self.tolerance)
            ));
        }
        Ok(t)
    }

    /// The oldest packet the host sent, running the simulation event by
    /// event until there is one or `limit` passes.
    fn next_sent(&mut self, limit: Nanos, at_ns: Nanos) -> Result<(Nanos, Vec<u8>), String> {
        loop {
            // A blocking call must still return on time while we wait.
            self.check_pending()?;
            if let Some(p) = self.sent.pop_front() {
                return Ok(p);
            }
            let stop = match &self.pending {
                Some(p) => limit.min(p.window.1),
                None => limit,
            };
            if !self.step_to(stop) {
                if stop < limit {
                    self.advance(stop)?;
                    self.advance(stop + 1)?;
                    continue;
                }
                self.advance(limit)?;
                if let Some(p) = self.sent.pop_front() {
                    return Ok(p);
                }
                return Err(format!(
                    "expected an outbound packet at {} sec, but the host sent none by {} sec",
                    fmt_s(at_ns - self.t0),
                    fmt_s(limit - self.t0)
                ));
            }
        }
    }

    /// A live packet as a script would write it, in script space.
    fn live_text(&self, live: &TcpPacket) -> String {
        let isn = self.conn.local_isn.unwrap_or(0);
        let mut flags: String = [
            (0x02, 'S'),
            (0x01, 'F'),
            (0x04, 'R'),
            (0x08, 'P'),
            (0x20, 'U'),
            (0x40, 'E'),
            (0x80, 'W'),
        ]
        .iter()
        .filter(|(bit, _)| live.flags & bit != 0)
        .map(|(_, c)| *c)
        .collect();
        if live.flags & 0x10 != 0 {
            flags.push('.');
        }
        let seq = live.seq.wrapping_sub(isn);
        let mut text = format!(
            "{flags} {seq}:{}({})",
            seq.wrapping_add(live.payload_len as u32),
            live.payload_len
        );
        if live.flags & 0x10 != 0 {
            text.push_str(&format!(" ack {}", live.ack.wrapping_sub(REMOTE_ISN)));
        }
        text.push_str(&format!(" win {}", live.win));
        if !live.options.is_empty() {
            let opts: Vec<String> = live.options.iter().map(wire_option_text).collect();
            text.push_str(&format!(" <{}>", opts.join(",")));
        }
        text
    }

    /// Compares a live packet, mapped into script space, with the script's.
    fn compare(&mut self, p: &Packet, live: &TcpPacket) -> Result<(), String> {
        let local_isn = self.conn.local_isn.unwrap_or(0);
        let want_flags = flag_bits(&p.flags)?;
        let field = |name: &str, want: u64, got: u64| -> Result<(), String> {
            if want == got {
                Ok(())
            } else {
                Err(format!(
                    "live packet field {name}: expected: {want} ({want:#x}) vs actual: {got} ({got:#x})"
                ))
            }
        };
        for (bit, name) in [
            (0x02, "tcp_syn"),
            (0x04, "tcp_rst"),
            (0x01, "tcp_fin"),
            (0x08, "tcp_psh"),
            (0x10, "tcp_ack"),
            (0x20, "tcp_urg"),
            (0x40, "tcp_ece"),
            (0x80, "tcp_cwr"),
        ] {
            field(
                name,
                u64::from(want_flags & bit != 0),
                u64::from(live.flags & bit != 0),
            )?;
        }
        if let Some(want) = ecn_bits(p.ecn.as_deref())? {
            field("ip_ecn", want.into(), (live.tos & 3).into())?;
        }
        field(
            "tcp_seq",
            p.start_seq.into(),
            live.seq.wrapping_sub(local_isn).into(),
        )?;
        let live_ack = if live.flags & 0x10 != 0 {
            live.ack.wrapping_sub(REMOTE_ISN)
        } else {
            live.ack
        };
        field("tcp_ack_seq", p.ack.unwrap_or(0).into(), live_ack.into())?;
        if let Some(win) = p.win {
            field("tcp_window", win.into(), live.win.into())?;
        }
        if live.payload_len != p.len as usize {
            return Err(format!(
                "live packet payload: expected {} bytes vs actual {} bytes",
                p.len, live.payload_len
            ));
        }
        self.compare_options(p, live)
    }

    fn compare_options(&mut self, p: &Packet, live: &TcpPacket) -> Result<(), String> {
        let want: &[TcpOption] = match &p.options {
            Some(TcpOptions::Any) => {
                self.learn_ts(None, live);
                return Ok(());
            }
            Some(TcpOptions::List(l)) => l,
            None => &[],
        };
        let bad = || {
            format!(
                "bad outbound TCP options: expected <{}> vs actual <{}>",
                want.iter()
                    .map(script_option_text)
                    .collect::<Vec<_>>()
                    .join(","),
                live.options
                    .iter()
                    .map(wire_option_text)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        if want.len() != live.options.len() {
            return Err(bad());
        }
        for (w, l) in want.iter().zip(&live.options) {
            let ok = match (w, l) {
                (TcpOption::Nop, WireOption::Nop) | (TcpOption::Eol, WireOption::Eol) => true,
                (TcpOption::SackOk, WireOption::SackOk) => true,
                (TcpOption::Mss(a), WireOption::Mss(b)) => a == b,
                (TcpOption::Wscale(a), WireOption::Wscale(b)) => a == b,
                (TcpOption::Sack(a), WireOption::Sack(b)) => {
                    a.len() == b.len()
                        && a.iter().zip(b).all(|(x, y)| {
                            x.0 == y.0.wrapping_sub(REMOTE_ISN)
                                && x.1 == y.1.wrapping_sub(REMOTE_ISN)
                        })
                }
                (TcpOption::Timestamp { val, .. }, WireOption::Timestamp(lv, _)) => {
                    self.check_tsval(*val, *lv)?;
                    true
                }
                _ => false,
            };
            if !ok {
                return Err(bad());
            }
        }
        let script_val = want.iter().find_map(|o| match o {
            TcpOption::Timestamp { val, .. } => Some(*val),
            _ => None,
        });
        self.learn_ts(script_val, live);
        Ok(())
    }

    /// With `--tcp_ts_tick_usecs`, the host's TSval must have moved from
    /// its first one as the script's moved from its first, within the
    /// tolerance.
    fn check_tsval(&self, script: u32, live: u32) -> Result<(), String> {
        let (Some(tick), Some((s0, l0))) = (self.ts_tick_usecs, self.conn.ts_first) else {
            return Ok(());
        };
        let mapped = s0.wrapping_add(live.wrapping_sub(l0));
        let off = (mapped.wrapping_sub(script) as i32).unsigned_abs() as u64;
        if off * tick * 1_000 > self.tolerance {
            return Err(format!(
                "bad outbound TCP timestamp value {mapped} (script {script}), tolerance {} usecs",
                self.tolerance / 1_000
            ));
        }
        Ok(())
    }

    fn learn_ts(&mut self, script_val: Option<u32>, live: &TcpPacket) {
        let live_val = live.options.iter().find_map(|o| match o {
            WireOption::Timestamp(v, _) => Some(*v),
            _ => None,
        });
        if let (Some(s), Some(l)) = (script_val, live_val) {
            self.conn.ts_map.insert(s, l);
            self.conn.ts_first.get_or_insert((s, l));
        }
    }
}

/// The flags byte for a script's flags word.
fn flag_bits(word: &str) -> Result<u8, String> {
    let mut f = 0u8;
    for c in word.chars() {
        f |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            '.' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'W' => 0x80,
            '-' => 0,
            other => return Err(format!("unknown TCP flag {other}")),
        };
    }
    Ok(f)
}

/// The ECN bits of `[noecn]`, `[ect0]`, `[ect1]`, `[ce]`.
fn ecn_bits(ecn: Option<&str>) -> Result<Option<u8>, String> {
    Ok(match ecn {
        None => None,
        Some("noecn") => Some(0),
        Some("ect1") => Some(1),
        Some("ect0") => Some(2),
        Some("ce") => Some(3),
        Some(other) => return Err(format!("the runner does not handle [{other}]")),
    })
}

fn script_option_text(o: &TcpOption) -> String {
    match o {
        TcpOption::Nop => "nop".into(),
        TcpOption::Eol => "eol".into(),
        TcpOption::Mss(m) => format!("mss {m}"),
        TcpOption::Wscale(w) => format!("wscale {w}"),
        TcpOption::SackOk => "sackOK".into(),
        TcpOption::Sack(b) => format!(
            "sack {}",
            b.iter()
                .map(|(l, r)| format!("{l}:{r}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        TcpOption::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOption::Other(t) => t.clone(),
    }
}

fn wire_option_text(o: &WireOption) -> String {
    match o {
        WireOption::Nop => "nop".into(),
        WireOption::Eol => "eol".into(),
        WireOption::Mss(m) => format!("mss {m}"),
        WireOption::Wscale(w) => format!("wscale {w}"),
        WireOption::SackOk => "sackOK".into(),
        WireOption::Sack(b) => format!(
            "sack {}",
            b.iter()
                .map(|(l, r)| format!(
                    "{}:{}",
                    l.wrapping_sub(REMOTE_ISN),
                    r.wrapping_sub(REMOTE_ISN)
                ))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        WireOption::Timestamp(v, e) => format!("TS val {v} ecr {e}"),
        WireOption::Other(k, _) => format!("kind {k}"),
    }
}
