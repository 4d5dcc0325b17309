//! How fast the simulation moves a TCP byte stream and how much one
//! simulated connection costs, set beside smoltcp and the real kernel on
//! this machine.
//!
//! Run it with `cargo bench -p stack --bench tcp_bulk`. Without `--bench`
//! on the command line (as `cargo test --benches` runs it) every size is
//! tiny, so the binary doubles as a smoke test that ends in a second or two.
//!
//! What is measured:
//!
//! - **Bulk transfer.** One connection carries [`Plan::bulk`] bytes one
//!   way: the sender `write()`s [`CHUNK`]-byte pieces and closes; the
//!   receiver `read()`s with a [`CHUNK`]-byte buffer until end of stream
//!   and compares every byte with what was sent (a position-dependent
//!   pattern), so loss, duplication or reordering would show. Paths:
//!   - the simulation over one host's loopback (127.0.0.1, MTU 65536),
//!     with 64 KiB writes and again with [`LOOPBACK_SMALL`] writes
//!     (segments smaller than the MSS),
//!   - the simulation across a link between two hosts (1 Gbit/s, and
//!     10 Gbit/s; 10 us, MTU 1500) with default socket buffers, and at
//!     10 Gbit/s once more with the sender's `SO_SNDBUF` at [`BIG_SNDBUF`],
//!   - smoltcp 0.12: two TCP sockets in one `Interface` over its
//!     `Loopback` device (`Medium::Ip`, 64 KiB socket buffers; that device
//!     tells smoltcp to skip checksums), driven by a poll loop in this
//!     thread,
//!   - the real kernel over 127.0.0.1, receiver in a second thread.
//!
//!   Wall time is that of `Sim::run()` (sim: building the world is
//!   excluded, the handshake and the close are included), of the poll loop
//!   (smoltcp: from `connect()` to the last byte), or from `connect()` to
//!   the receiver's end of stream (real). Virtual time runs from the end of
//!   the sender's `connect()` to the receiver's last data `read()`. Each
//!   path runs [`Plan::reps`] times; the fastest run is shown.
//! - **Many connections.** N connections are opened to one server and
//!   each carries one [`MSG_LEN`]-byte message there and back; every
//!   connection stays open until all are echoed. The server is one process
//!   (a process blocks in one call at a time): it `accept()`s N, then
//!   reads and echoes each in accept order, then closes them all; a client
//!   reads its echo and then waits for the server's close (end of stream).
//!   In the simulation the clients are either N processes (one connection
//!   each) or one process (connect all, write all, read all);
//!   `net.core.somaxconn` is raised to N so the accept queue does not drop
//!   SYNs while the server is not yet scheduled. Each such run happens in
//!   a fresh child process (this binary again), so its memory figures are
//!   its own: peak memory per connection is `VmHWM` at the end (reset by
//!   writing 5 to `/proc/self/clear_refs` first) less `VmRSS` before the
//!   world is built, over N; "all open" is `VmRSS` when the last echo has
//!   been read back less the same start, over N (heap the simulation has
//!   freed by then mostly stays resident, so it is close to the peak). Both
//!   ends of every connection are in the figure, as with the kernel's. The real kernel
//!   runs the server in a child process and the client (sequential
//!   blocking connects, then writes, then reads) in this one, so that
//!   neither needs more than N descriptors; its memory is the growth of
//!   the kernel's slab caches (`/proc/slabinfo`, readable by root) from
//!   before the first connect to when the last echo is read back, over N.
//!
//! The soft `RLIMIT_NOFILE` is raised to the hard one; if that still does
//! not leave room for N descriptors the real-kernel N is scaled down, and
//! the output says so.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stack::prelude::*;
use stack::sim::time::fmt_duration;

mod common;
use common::*;

/// Bytes per `write()` / `read()` in the bulk transfers.
const CHUNK: usize = 64 * 1024;
/// The write size of the second simulated loopback run: well below the
/// loopback MSS, so segments are smaller than the MSS and Nagle, delayed
/// ACK and the send buffer's size decide the pace.
const LOOPBACK_SMALL: usize = 16 * 1024;
/// `SO_SNDBUF` of the third link run (the kernel doubles it, and a size set
/// by the program is no longer grown by the kernel): room for the
/// bandwidth-delay product of 10 Gbit/s whatever the default does.
const BIG_SNDBUF: i32 = 256 * 1024;
/// The data pattern repeats with this (prime) period, so a shifted,
/// repeated or missing piece does not match.
const PERIOD: usize = 251;
/// Bytes of each echo message.
const MSG_LEN: usize = 64;
const PORT: u16 = 5001;
/// smoltcp socket buffer size (each direction, each socket).
const SMOLTCP_BUF: usize = 64 * 1024;
/// Set in a child process's environment: the role it plays.
const CHILD_ENV: &str = "TCP_BULK_BENCH_CHILD";
/// Descriptors kept free besides the connections (stdio, pipes, listener).
const FD_SLACK: u64 = 64;

/// How large this run is.
struct Plan {
    full: bool,
    /// Bytes per bulk transfer.
    bulk: u64,
    /// Times each bulk transfer runs; the fastest is reported.
    reps: usize,
    /// Connections in the echo test.
    conns: usize,
    /// Times each echo test runs; the fastest is reported.
    echo_reps: usize,
}

fn main() {
    if let Ok(role) = std::env::var(CHILD_ENV) {
        child_main(&role);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan {
            full,
            bulk: 100 << 20,
            reps: 5,
            conns: 10_000,
            echo_reps: 3,
        }
    } else {
        Plan {
            full,
            bulk: 256 << 10,
            reps: 1,
            conns: 50,
            echo_reps: 1,
        }
    };
    let mut notes = Vec::new();
    bulk_section(&plan, &mut notes);
    println!();
    echo_section(&plan, &mut notes);
    println!();
    for n in &notes {
        println!("note: {n}");
    }
}

// ---------------------------------------------------------------------
// Bulk transfer
// ---------------------------------------------------------------------

/// A bulk path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bulk {
    /// One simulated host, 127.0.0.1, with writes and reads of this size.
    SimLoopback(usize),
    /// Two simulated hosts and a link of `bps` bit/s; the sender sets
    /// `SO_SNDBUF` to `sndbuf` if given.
    SimLink {
        bps: u64,
        sndbuf: Option<i32>,
    },
    Smoltcp,
    Real,
}

impl Bulk {
    fn label(self) -> String {
        match self {
            Bulk::SimLoopback(_) => "sim: loopback 127.0.0.1".into(),
            Bulk::SimLink { bps, sndbuf } => {
                let gbit = bps / 1_000_000_000;
                match sndbuf {
                    Some(b) => format!("sim: {gbit} Gbit/s, SNDBUF {}K", b / 1024),
                    None => format!("sim: 2 hosts, {gbit} Gbit/s"),
                }
            }
            Bulk::Smoltcp => "smoltcp: Loopback device".into(),
            Bulk::Real => "real kernel: 127.0.0.1".into(),
        }
    }

    /// Bytes per `write()` and `read()`.
    fn io_size(self) -> usize {
        match self {
            Bulk::SimLoopback(n) => n,
            _ => CHUNK,
        }
    }
}

/// One timed bulk transfer.
struct BulkRun {
    sent: u64,
    received: u64,
    /// Stream offset of the first byte that differed from what was sent.
    corrupt_at: Option<u64>,
    wall: Duration,
    /// Simulation only: virtual time, events handled, segments sent by
    /// the sender and by the receiver, retransmissions.
    virt: Option<Nanos>,
    events: Option<u64>,
    /// `None` for the receiver's count on loopback, where both ends are
    /// one host and its counter holds both.
    segs: Option<(u64, Option<u64>, u64)>,
    /// Why the run is not clean (the run reported a deadlock or an error,
    /// or the bytes are not the ones sent), if it is not.
    problem: Option<String>,
    /// Counters worth a look in a clean run (drops, retransmissions).
    remarks: Vec<String>,
}

fn bulk_section(plan: &Plan, notes: &mut Vec<String>) {
    let paths = [
        Bulk::SimLoopback(CHUNK),
        Bulk::SimLoopback(LOOPBACK_SMALL),
        Bulk::SimLink {
            bps: 1_000_000_000,
            sndbuf: None,
        },
        Bulk::SimLink {
            bps: 10_000_000_000,
            sndbuf: None,
        },
        Bulk::SimLink {
            bps: 10_000_000_000,
            sndbuf: Some(BIG_SNDBUF),
        },
        Bulk::Smoltcp,
        Bulk::Real,
    ];
    let mut results: Vec<(Bulk, Result<BulkRun, String>)> = Vec::new();
    for path in paths {
        let r = best_of(plan.reps, || run_bulk(path, plan.bulk));
        results.push((path, r));
    }
    let rate_of = |which: Bulk| {
        results
            .iter()
            .find(|(p, _)| *p == which)
            .and_then(|(_, r)| r.as_ref().ok())
            .filter(|r| r.problem.is_none())
            .map(|r| mib_per_s(r.received, r.wall))
    };
    let smol_rate = rate_of(Bulk::Smoltcp);
    let real_rate = rate_of(Bulk::Real);

    println!(
        "tcp_bulk: one connection, {} one way, {} B writes and reads unless the io column \
         says otherwise, best of {}{}",
        size(plan.bulk),
        grouped(CHUNK as u64),
        plan.reps,
        if plan.full {
            ""
        } else {
            "; test mode, pass --bench for full sizes"
        }
    );
    println!(
        "{:<27} {:>4} {:>10} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>9} {:>10} {:>16}",
        "path",
        "io",
        "received",
        "intact",
        "wall",
        "MiB/s",
        "vs smol",
        "vs real",
        "virt",
        "virt Mbit/s",
        "events",
        "events/s",
        "segs tx/rx/rtx"
    );
    for (path, r) in &results {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                println!("{:<27} skipped: {e}", path.label());
                continue;
            }
        };
        let rate = mib_per_s(r.received, r.wall);
        let intact = r.received == plan.bulk && r.sent == plan.bulk && r.corrupt_at.is_none();
        let clean = intact && r.problem.is_none();
        let ratio = |base: Option<f64>| match base {
            Some(b) if b > 0.0 && clean => format!("{:.3}x", rate / b),
            _ => "-".into(),
        };
        let (virt, virt_rate) = match r.virt {
            _ if !clean => ("-".into(), "-".into()),
            Some(0) => ("0".to_string(), "inf".to_string()),
            Some(v) => (
                fmt_duration(v),
                format!("{:.0}", r.received as f64 * 8.0 / v as f64 * 1e3),
            ),
            None => ("-".into(), "-".into()),
        };
        let (events, ev_rate) = match r.events {
            Some(e) => (grouped(e), grouped(per_sec(e, r.wall) as u64)),
            None => ("-".into(), "-".into()),
        };
        let segs = match r.segs {
            Some((tx, Some(rx), rtx)) => format!("{}/{}/{}", grouped(tx), grouped(rx), rtx),
            Some((both, None, rtx)) => format!("{} both/{}", grouped(both), rtx),
            None => "-".into(),
        };
        println!(
            "{:<27} {:>4} {:>10} {:>6} {:>8} {:>8.1} {:>8} {:>8} {:>9} {:>11} {:>9} {:>10} {:>16}",
            path.label(),
            format!("{}K", path.io_size() / 1024),
            size(r.received),
            if intact { "yes" } else { "NO" },
            fmt_wall(r.wall),
            rate,
            ratio(smol_rate),
            ratio(real_rate),
            virt,
            virt_rate,
            events,
            ev_rate,
            segs
        );
        let who = format!("{} ({}K writes)", path.label(), path.io_size() / 1024);
        if let Some(p) = &r.problem {
            notes.push(format!("{who}: FAILED: {p}"));
        }
        if !r.remarks.is_empty() {
            notes.push(format!("{who}: {}", r.remarks.join("; ")));
        }
    }
    println!(
        "received / intact: bytes the receiver read before end of stream, and whether they are \
         exactly the bytes sent. MiB/s: bytes received over wall time; vs smol / vs real: that \
         rate over smoltcp's / the real kernel's (clean runs only). virt: virtual time from the \
         end of connect() to the last read(); on loopback system calls and the inline softirq \
         take none, so there it is only time spent waiting for timers (delayed ACK, \
         retransmission). virt Mbit/s: payload bits over virtual seconds. events: \
         RunReport::events (frames, TX completions, softirqs, timers). segs: TcpOutSegs of the \
         sender / of the receiver (on loopback both ends are one host, counted once), \
         TcpRetransSegs of the sender."
    );
}

fn run_bulk(path: Bulk, total: u64) -> Result<BulkRun, String> {
    match path {
        Bulk::SimLoopback(_) | Bulk::SimLink { .. } => Ok(sim_bulk(path, total)),
        Bulk::Smoltcp => smoltcp_bulk(total),
        Bulk::Real => real_bulk(total),
    }
}

/// The fastest of `reps` runs (an error only if every run failed); a run
/// with a problem is kept over a clean one only if it is the only kind.
fn best_of(
    reps: usize,
    mut run: impl FnMut() -> Result<BulkRun, String>,
) -> Result<BulkRun, String> {
    let mut best = run();
    for _ in 1..reps {
        best = match (best, run()) {
            (Ok(b), Ok(r)) => {
                let key = |x: &BulkRun| (x.problem.is_some(), x.wall);
                Ok(if key(&r) < key(&b) { r } else { b })
            }
            (Ok(b), Err(_)) => Ok(b),
            (Err(_), r) => r,
        };
    }
    best
}

/// The byte pattern the bulk transfers carry: byte `i` of the stream is
/// `i % PERIOD`. Any `len` bytes from any offset are a slice of this.
fn pattern(len: usize) -> Vec<u8> {
    (0..len + PERIOD).map(|i| (i % PERIOD) as u8).collect()
}

/// The `n` bytes the stream holds at offset `pos` (`n <= CHUNK`).
fn expected(pat: &[u8], pos: u64, n: usize) -> &[u8] {
    let o = (pos % PERIOD as u64) as usize;
    &pat[o..o + n]
}

/// What a receiver has checked so far.
#[derive(Clone, Copy, Default)]
struct Check {
    got: u64,
    bad_at: Option<u64>,
}

impl Check {
    fn take(&mut self, pat: &[u8], data: &[u8]) {
        for piece in data.chunks(CHUNK) {
            if self.bad_at.is_none() {
                let want = expected(pat, self.got, piece.len());
                if piece != want {
                    let i = piece.iter().zip(want).position(|(a, b)| a != b);
                    self.bad_at = Some(self.got + i.unwrap_or(0) as u64);
                }
            }
            self.got += piece.len() as u64;
        }
    }
}

/// One transfer through the simulation.
fn sim_bulk(path: Bulk, total: u64) -> BulkRun {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let (b, dst) = match path {
        Bulk::SimLink { bps, .. } => {
            let b = sim.add_host("b");
            let cfg = LinkConfig::default().bandwidth_bps(bps);
            sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
            (b, SocketAddr::from(([10, 0, 0, 2], PORT)))
        }
        _ => (a, SocketAddr::from(([127, 0, 0, 1], PORT))),
    };
    sim.set_tracing(false);
    let io = path.io_size();
    let sndbuf = match path {
        Bulk::SimLink { sndbuf, .. } => sndbuf,
        _ => None,
    };

    let pat = Rc::new(pattern(CHUNK));
    let check = Rc::new(Cell::new(Check::default()));
    let sent = Rc::new(Cell::new(0u64));
    let t_start = Rc::new(Cell::new(0 as Nanos));
    let t_last = Rc::new(Cell::new(0 as Nanos));
    {
        let (pat, check, t_last) = (pat.clone(), check.clone(), t_last.clone());
        sim.spawn(b, "receiver", move |p| async move {
            let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(l, dst)?;
            p.listen(l, 1)?;
            let (fd, _) = p.accept(l).await?;
            p.close(l)?;
            let mut buf = vec![0u8; io];
            loop {
                let n = p.read(fd, &mut buf).await?;
                if n == 0 {
                    break;
                }
                let mut c = check.get();
                c.take(&pat, &buf[..n]);
                check.set(c);
                t_last.set(p.now());
            }
            p.close(fd)
        });
    }
    {
        let (pat, sent, t_start) = (pat.clone(), sent.clone(), t_start.clone());
        sim.spawn(a, "sender", move |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            if let Some(b) = sndbuf {
                p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, b)?;
            }
            p.connect(fd, dst).await?;
            t_start.set(p.now());
            let mut pos = 0u64;
            while pos < total {
                let n = (total - pos).min(io as u64) as usize;
                let w = p.write(fd, expected(&pat, pos, n)).await?;
                pos += w as u64;
                sent.set(pos);
            }
            p.close(fd)
        });
    }

    let start = Instant::now();
    let report = sim.run();
    let wall = start.elapsed();

    let c = check.get();
    let mut problems = Vec::new();
    let mut remarks = Vec::new();
    if !report.is_ok() {
        problems.push(format!("run not clean: {}", report.to_string().trim_end()));
    }
    if c.got != total || sent.get() != total {
        problems.push(format!(
            "sent {} B, received {} B of {total}",
            sent.get(),
            c.got
        ));
    }
    if let Some(at) = c.bad_at {
        problems.push(format!("data differs from what was sent at offset {at}"));
    }
    let hosts = if a == b {
        vec![(a, "host")]
    } else {
        vec![(a, "sender"), (b, "receiver")]
    };
    for (h, who) in hosts {
        for (m, v) in [
            ("TcpExtTCPRcvQDrop", sim.counter(h, Mib::TcpExtTCPRcvQDrop)),
            ("TcpExtTCPTimeouts", sim.counter(h, Mib::TcpExtTCPTimeouts)),
            ("TcpInErrs", sim.counter(h, Mib::TcpInErrs)),
            ("IpInHdrErrors", sim.counter(h, Mib::IpInHdrErrors)),
        ] {
            if v > 0 {
                remarks.push(format!("{who} {m} {v}"));
            }
        }
        if let Some(s) = sim.dev_stats(h, "eth0")
            && (s.rx_missed > 0 || s.rx_dropped > 0 || s.tx_dropped > 0)
        {
            remarks.push(format!(
                "{who}/eth0 rx_missed {} rx_dropped {} tx_dropped {}",
                s.rx_missed, s.rx_dropped, s.tx_dropped
            ));
        }
    }
    let out_a = sim.counter(a, Mib::TcpOutSegs);
    let out_b = sim.counter(b, Mib::TcpOutSegs);
    let retrans = sim.counter(a, Mib::TcpRetransSegs);
    if retrans > 0 {
        remarks.push(format!("sender TcpRetransSegs {retrans}"));
    }
    let delacks = sim.counter(b, Mib::TcpExtDelayedACKs);
    if a == b && delacks > 0 {
        // On loopback nothing else takes virtual time: each is a stall.
        remarks.push(format!(
            "TcpExtDelayedACKs {delacks} (each a {} wait on loopback)",
            fmt_duration(stack::inet::tcp::TCP_DELACK_MIN)
        ));
    }
    // On loopback both ends share one host's counters.
    let segs = if a == b {
        (out_a, None, retrans)
    } else {
        (out_a, Some(out_b), retrans)
    };
    BulkRun {
        sent: sent.get(),
        received: c.got,
        corrupt_at: c.bad_at,
        wall,
        virt: Some(t_last.get().saturating_sub(t_start.get())),
        events: Some(report.events),
        segs: Some(segs),
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
        remarks,
    }
}

/// One transfer through smoltcp: both sockets on one interface over its
/// loopback device, polled from this thread as smoltcp's own loopback
/// benchmark does.
fn smoltcp_bulk(total: u64) -> Result<BulkRun, String> {
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::phy::{Loopback, Medium};
    use smoltcp::socket::tcp;
    use smoltcp::time::Instant as SmolInstant;
    use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

    let pat = pattern(CHUNK);
    let mut dev = Loopback::new(Medium::Ip);
    let mut iface = Interface::new(
        Config::new(HardwareAddress::Ip),
        &mut dev,
        SmolInstant::now(),
    );
    let mut added = Ok(());
    iface.update_ip_addrs(|addrs| {
        added = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
    });
    added.map_err(|_| "cannot add 127.0.0.1/8".to_string())?;
    let new_socket = || {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; SMOLTCP_BUF]),
            tcp::SocketBuffer::new(vec![0; SMOLTCP_BUF]),
        )
    };
    let mut sockets = SocketSet::new(Vec::new());
    let server = sockets.add(new_socket());
    let client = sockets.add(new_socket());
    sockets
        .get_mut::<tcp::Socket>(server)
        .listen(PORT)
        .map_err(|e| format!("listen: {e}"))?;

    let start = Instant::now();
    sockets
        .get_mut::<tcp::Socket>(client)
        .connect(iface.context(), (IpAddress::v4(127, 0, 0, 1), PORT), 49152)
        .map_err(|e| format!("connect: {e}"))?;
    let mut check = Check::default();
    let mut sent = 0u64;
    let mut closed = false;
    let give_up = start + Duration::from_secs(60);
    let mut problem = None;
    while check.got < total {
        iface.poll(SmolInstant::now(), &mut dev, &mut sockets);
        let s = sockets.get_mut::<tcp::Socket>(server);
        while s.can_recv() {
            let r = s.recv(|data| {
                check.take(&pat, data);
                (data.len(), ())
            });
            if r.is_err() {
                break;
            }
        }
        let c = sockets.get_mut::<tcp::Socket>(client);
        while sent < total && c.can_send() {
            let n = c
                .send(|room| {
                    let n = room.len().min(CHUNK).min((total - sent) as usize);
                    room[..n].copy_from_slice(expected(&pat, sent, n));
                    (n, n)
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            sent += n as u64;
        }
        if sent == total && !closed {
            c.close();
            closed = true;
        }
        if Instant::now() > give_up {
            problem = Some(format!("gave up after 60 s at {} B", check.got));
            break;
        }
    }
    let wall = start.elapsed();
    if check.got != total && problem.is_none() {
        problem = Some(format!("received {} B of {total}", check.got));
    }
    if let Some(at) = check.bad_at {
        problem = Some(format!("data differs at offset {at}"));
    }
    Ok(BulkRun {
        sent,
        received: check.got,
        corrupt_at: check.bad_at,
        wall,
        virt: None,
        events: None,
        segs: None,
        problem,
        remarks: Vec::new(),
    })
}

/// One transfer through the real kernel's loopback: this thread sends, a
/// second one receives.
fn real_bulk(total: u64) -> Result<BulkRun, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("getsockname: {e}"))?;
    let pat = Arc::new(pattern(CHUNK));
    let rx_pat = pat.clone();
    let start = Instant::now();
    let receiver = std::thread::spawn(move || -> Result<Check, String> {
        let (mut s, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
        let mut buf = vec![0u8; CHUNK];
        let mut check = Check::default();
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Ok(check),
                Ok(n) => check.take(&rx_pat, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    });
    let mut sent = 0u64;
    let send = (|| -> Result<(), String> {
        let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        while sent < total {
            let n = (total - sent).min(CHUNK as u64) as usize;
            s.write_all(expected(&pat, sent, n))
                .map_err(|e| format!("write: {e}"))?;
            sent += n as u64;
        }
        Ok(())
    })();
    let check = receiver
        .join()
        .map_err(|_| "receiver thread panicked".to_string())?;
    let wall = start.elapsed();
    send?;
    let check = check?;
    let problem = if check.got != total {
        Some(format!("received {} B of {total}", check.got))
    } else {
        check
            .bad_at
            .map(|at| format!("data differs at offset {at}"))
    };
    Ok(BulkRun {
        sent,
        received: check.got,
        corrupt_at: check.bad_at,
        wall,
        virt: None,
        events: None,
        segs: None,
        problem,
        remarks: Vec::new(),
    })
}

// ---------------------------------------------------------------------
// Many connections
// ---------------------------------------------------------------------

/// One run of the echo test, as a child process reports it.
#[derive(Debug, Default)]
struct EchoRun {
    n: usize,
    /// Connections whose echo came back intact.
    echoed: u64,
    /// Wall time from the start of the run to the last echo.
    wall_echo: Duration,
    /// Wall time of the whole run, close and TIME_WAIT included (sim).
    wall_total: Duration,
    /// Virtual time of the last echo, and of the end of the run.
    virt_echo: Option<Nanos>,
    virt_end: Option<Nanos>,
    events: Option<u64>,
    /// Bytes per connection at peak, and with all connections open.
    peak_per_conn: Option<f64>,
    open_per_conn: Option<f64>,
    /// How the memory was measured.
    mem_how: String,
    problem: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Echo {
    /// Simulation, one client process per connection.
    SimProcs,
    /// Simulation, one client process for all connections.
    SimOneProc,
    Real,
}

impl Echo {
    fn label(self) -> &'static str {
        match self {
            Echo::SimProcs => "sim: N client processes",
            Echo::SimOneProc => "sim: 1 client process",
            Echo::Real => "real kernel: 127.0.0.1",
        }
    }

    fn role(self) -> &'static str {
        match self {
            Echo::SimProcs => "sim-echo-procs",
            Echo::SimOneProc => "sim-echo-one",
            Echo::Real => "real-echo-server",
        }
    }
}

fn echo_section(plan: &Plan, notes: &mut Vec<String>) {
    let n = plan.conns;
    println!(
        "tcp_echo: N = {} concurrent connections to one server on 127.0.0.1, one {MSG_LEN} B \
         message echoed on each, all kept open until every echo is back; best of {}",
        grouped(n as u64),
        plan.echo_reps
    );
    println!(
        "{:<25} {:>7} {:>8} {:>10} {:>10} {:>8} {:>9} {:>9} {:>10} {:>12} {:>12}",
        "path",
        "N",
        "echoed",
        "wall",
        "conns/s",
        "vs real",
        "run wall",
        "virt",
        "events",
        "B/conn peak",
        "B/conn open"
    );
    let runs: Vec<(Echo, Result<EchoRun, String>)> = [Echo::SimProcs, Echo::SimOneProc, Echo::Real]
        .into_iter()
        .map(|e| {
            let mut best: Result<EchoRun, String> = Err("not run".into());
            for _ in 0..plan.echo_reps {
                let r = match e {
                    Echo::Real => real_echo(n),
                    _ => sim_echo_in_child(e, n),
                };
                let key = |x: &EchoRun| (x.problem.is_some(), x.wall_echo);
                best = match (best, r) {
                    (Ok(b), Ok(r)) => Ok(if key(&r) < key(&b) { r } else { b }),
                    (Ok(b), Err(_)) => Ok(b),
                    (Err(_), r) => r,
                };
            }
            (e, best)
        })
        .collect();
    let real_rate = runs
        .iter()
        .find(|(e, _)| *e == Echo::Real)
        .and_then(|(_, r)| r.as_ref().ok())
        .map(|r| per_sec(r.echoed, r.wall_echo));
    for (e, r) in &runs {
        let r = match r {
            Ok(r) => r,
            Err(err) => {
                println!("{:<25} skipped: {err}", e.label());
                continue;
            }
        };
        let rate = per_sec(r.echoed, r.wall_echo);
        let ratio = match real_rate {
            Some(b) if b > 0.0 => format!("{:.2}x", rate / b),
            _ => "-".into(),
        };
        let opt_b = |v: Option<f64>| v.map_or("-".to_string(), |b| grouped(b.max(0.0) as u64));
        println!(
            "{:<25} {:>7} {:>8} {:>10} {:>10} {:>8} {:>9} {:>9} {:>10} {:>12} {:>12}",
            e.label(),
            grouped(r.n as u64),
            grouped(r.echoed),
            fmt_wall(r.wall_echo),
            grouped(rate as u64),
            ratio,
            if r.wall_total.is_zero() {
                "-".into()
            } else {
                fmt_wall(r.wall_total)
            },
            r.virt_echo.map_or("-".into(), fmt_duration),
            r.events.map_or("-".into(), grouped),
            opt_b(r.peak_per_conn),
            opt_b(r.open_per_conn),
        );
        println!("  {:<23} memory: {}", "", r.mem_how);
        if let Some(end) = r.virt_end {
            println!(
                "  {:<23} virtual end of run {} (TIME_WAIT timers included)",
                "",
                fmt_duration(end)
            );
        }
        if let Some(p) = &r.problem {
            notes.push(format!("{}: {p}", e.label()));
        }
    }
    println!(
        "wall: from the start of the run (sim: Sim::run(); real: the first connect()) to the \
         last echo read back; conns/s: N over that; run wall: all of Sim::run(), closes and \
         TIME_WAIT included; virt: virtual time of the last echo (on loopback system calls and \
         the inline softirq take none). B/conn: memory over N, both ends of each connection \
         (sim: growth of this child's VmHWM (peak) and VmRSS (when the last echo is read): \
         sockets, queues, buffers, processes, fds; real: kernel slab growth by then)."
    );
}

/// Runs one simulated echo test in a fresh copy of this binary.
fn sim_echo_in_child(e: Echo, n: usize) -> Result<EchoRun, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(exe)
        .env(CHILD_ENV, e.role())
        .arg(n.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start a child: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("child gave no result ({}): {}", out.status, text.trim()))?;
    parse_echo(line)
}

/// What a child process was asked to do.
fn child_main(role: &str) {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    match role {
        "sim-echo-procs" => say(&format!("RESULT {}", format_echo(&sim_echo(n, false)))),
        "sim-echo-one" => say(&format!("RESULT {}", format_echo(&sim_echo(n, true)))),
        "real-echo-server" => {
            if let Err(e) = real_echo_server(n) {
                say(&format!("ERROR {e}"));
            }
        }
        other => say(&format!("ERROR unknown role {other}")),
    }
}

/// A line to the parent process; a parent that stopped listening is no
/// reason to panic.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The message client `i` sends.
fn message(i: usize) -> [u8; MSG_LEN] {
    let mut m = [b'.'; MSG_LEN];
    let text = format!("hello from client {i}");
    m[..text.len()].copy_from_slice(text.as_bytes());
    m
}

/// Reads until `buf` is full or the stream ends; the bytes read.
async fn read_full(p: &Process, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = p.read(fd, &mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Writes all of `buf`.
async fn write_all(p: &Process, fd: i32, buf: &[u8]) -> SysResult<()> {
    let mut done = 0;
    while done < buf.len() {
        done += p.write(fd, &buf[done..]).await?;
    }
    Ok(())
}

/// The moment the last echo was read back by its client.
#[derive(Clone, Copy)]
struct EchoDone {
    /// Wall time since the start of the run.
    wall: Duration,
    virt: Nanos,
    /// `VmRSS` then.
    rss_kib: Option<u64>,
}

/// The echo test in the simulation (run in a child process).
fn sim_echo(n: usize, one_client: bool) -> EchoRun {
    let rss0 = status_kib("VmRSS");
    // Linux: writing 5 resets the peak resident set to the current one.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let start = Instant::now();
    let mut sim = Sim::new(2);
    let h = sim.add_host("h");
    sim.set_tracing(false);
    let mut problems = Vec::new();
    if let Err(e) = sim.sysctl(h, "net.core.somaxconn", &n.max(128).to_string()) {
        problems.push(format!("sysctl net.core.somaxconn: {e}"));
    }
    let dst = SocketAddr::from(([127, 0, 0, 1], PORT));
    // When the last echo was read back: wall time, virtual time, VmRSS.
    let done: Rc<Cell<Option<EchoDone>>> = Rc::new(Cell::new(None));
    // Echoes read back, and those intact.
    let back = Rc::new(Cell::new(0u64));
    let echoed = Rc::new(Cell::new(0u64));
    let nofile = n as u32 + FD_SLACK as u32;
    // A client read an echo; the last one notes the moment.
    let note_echo = {
        let (done, back, echoed) = (done.clone(), back.clone(), echoed.clone());
        move |p: &Process, intact: bool| {
            echoed.set(echoed.get() + intact as u64);
            back.set(back.get() + 1);
            if back.get() == n as u64 {
                done.set(Some(EchoDone {
                    wall: start.elapsed(),
                    virt: p.now(),
                    rss_kib: status_kib("VmRSS"),
                }));
            }
        }
    };
    {
        sim.spawn(h, "server", move |p| async move {
            p.set_nofile_limit(nofile);
            let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(l, dst)?;
            p.listen(l, n as i32)?;
            let mut fds = Vec::with_capacity(n);
            for _ in 0..n {
                fds.push(p.accept(l).await?.0);
            }
            let mut buf = [0u8; MSG_LEN];
            for &fd in &fds {
                let got = read_full(&p, fd, &mut buf).await?;
                write_all(&p, fd, &buf[..got]).await?;
            }
            for fd in fds {
                p.close(fd)?;
            }
            p.close(l)
        });
    }
    if one_client {
        sim.spawn(h, "client", move |p| async move {
            p.set_nofile_limit(nofile);
            let mut fds = Vec::with_capacity(n);
            for _ in 0..n {
                let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
                p.connect(fd, dst).await?;
                fds.push(fd);
            }
            for (i, &fd) in fds.iter().enumerate() {
                write_all(&p, fd, &message(i)).await?;
            }
            let mut buf = [0u8; MSG_LEN];
            for (i, &fd) in fds.iter().enumerate() {
                let got = read_full(&p, fd, &mut buf).await?;
                note_echo(&p, got == MSG_LEN && buf == message(i));
            }
            for fd in fds {
                // End of stream: the server closed.
                let _ = p.read(fd, &mut buf).await?;
                p.close(fd)?;
            }
            Ok(())
        });
    } else {
        for i in 0..n {
            let note_echo = note_echo.clone();
            sim.spawn(h, "client", move |p| async move {
                let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
                p.connect(fd, dst).await?;
                let msg = message(i);
                write_all(&p, fd, &msg).await?;
                let mut buf = [0u8; MSG_LEN];
                let got = read_full(&p, fd, &mut buf).await?;
                note_echo(&p, got == MSG_LEN && buf == msg);
                let _ = p.read(fd, &mut buf).await?;
                p.close(fd)
            });
        }
    }
    let report = sim.run();
    let wall_total = start.elapsed();
    let hwm = status_kib("VmHWM");
    if !report.is_ok() {
        let text = report.to_string();
        let mut lines: Vec<&str> = text.lines().take(6).collect();
        if text.lines().count() > 6 {
            lines.push("...");
        }
        problems.push(format!("run not clean: {}", lines.join(" / ")));
    }
    if echoed.get() != n as u64 {
        problems.push(format!("{} of {n} echoes came back", echoed.get()));
    }
    for m in [
        Mib::TcpExtListenOverflows,
        Mib::TcpExtListenDrops,
        Mib::TcpExtSyncookiesSent,
        Mib::TcpRetransSegs,
        Mib::TcpExtTCPTimeouts,
        Mib::TcpEstabResets,
    ] {
        let v = sim.counter(h, m);
        if v > 0 {
            problems.push(format!("{m:?} {v}"));
        }
    }
    let done = done.get();
    let per_conn = |kib: Option<u64>| match (rss0, kib) {
        (Some(a), Some(b)) if n > 0 => Some((b as f64 - a as f64) * 1024.0 / n as f64),
        _ => None,
    };
    EchoRun {
        n,
        echoed: echoed.get(),
        wall_echo: done.map_or(wall_total, |d| d.wall),
        wall_total,
        virt_echo: done.map(|d| d.virt),
        virt_end: Some(report.at),
        events: Some(report.events),
        // The kernel updates VmHWM lazily (per-thread RSS counters are
        // folded in batches), so it can trail a VmRSS read just before.
        peak_per_conn: if hwm_reset {
            per_conn(hwm.max(done.and_then(|d| d.rss_kib)))
        } else {
            None
        },
        open_per_conn: per_conn(done.and_then(|d| d.rss_kib)),
        mem_how: format!(
            "VmRSS {} KiB before the world is built, {} KiB when the last echo is read, \
             VmHWM {} KiB{}",
            rss0.map_or("?".into(), grouped),
            done.and_then(|d| d.rss_kib).map_or("?".into(), grouped),
            hwm.map_or("?".into(), grouped),
            if hwm_reset {
                ""
            } else {
                " (could not reset VmHWM: peak not shown)"
            }
        ),
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

/// An [`EchoRun`] as one line: numbers separated by spaces, then `|` and
/// the memory note, then `|` and the problem.
fn format_echo(r: &EchoRun) -> String {
    let o = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    format!(
        "{} {} {} {} {} {} {} {} {}|{}|{}",
        r.n,
        r.echoed,
        r.wall_echo.as_nanos(),
        r.wall_total.as_nanos(),
        o(r.virt_echo),
        o(r.virt_end),
        o(r.events),
        f(r.peak_per_conn),
        f(r.open_per_conn),
        r.mem_how.replace('|', "/"),
        r.problem.as_deref().unwrap_or("").replace('|', "/"),
    )
}

fn parse_echo(line: &str) -> Result<EchoRun, String> {
    let mut parts = line.splitn(3, '|');
    let nums: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
    let mem_how = parts.next().unwrap_or("").to_string();
    let problem = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
    if nums.len() != 9 {
        return Err(format!("malformed result from child: {line}"));
    }
    let u = |i: usize| nums[i].parse::<u64>().ok();
    let f = |i: usize| nums[i].parse::<f64>().ok();
    Ok(EchoRun {
        n: u(0).unwrap_or(0) as usize,
        echoed: u(1).unwrap_or(0),
        wall_echo: Duration::from_nanos(u(2).unwrap_or(0)),
        wall_total: Duration::from_nanos(u(3).unwrap_or(0)),
        virt_echo: u(4),
        virt_end: u(5),
        events: u(6),
        peak_per_conn: f(7),
        open_per_conn: f(8),
        mem_how,
        problem,
    })
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; the soft limit now.
fn raise_nofile() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// The real-kernel echo server (in a child process): accept `n`, echo
/// each, then hold every connection open until stdin closes.
fn real_echo_server(n: usize) -> Result<(), String> {
    use socket2::{Domain, SockRef, Socket, Type};
    let limit = raise_nofile().unwrap_or(1024);
    if (n as u64) + FD_SLACK > limit {
        return Err(format!("RLIMIT_NOFILE {limit} is too low for {n}"));
    }
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| format!("socket: {e}"))?;
    s.set_reuse_address(true)
        .map_err(|e| format!("SO_REUSEADDR: {e}"))?;
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    s.bind(&any.into()).map_err(|e| format!("bind: {e}"))?;
    s.listen(n.min(65_535) as i32)
        .map_err(|e| format!("listen: {e}"))?;
    let listener: TcpListener = s.into();
    let port = listener
        .local_addr()
        .map_err(|e| format!("getsockname: {e}"))?
        .port();
    say(&format!("PORT {port}"));
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let (c, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
        // Abort at exit instead of leaving N TIME_WAIT sockets in the
        // kernel's caches, where they would blur the next run's figure.
        SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .map_err(|e| format!("SO_LINGER: {e}"))?;
        conns.push(c);
    }
    let mut buf = [0u8; MSG_LEN];
    for c in &mut conns {
        c.read_exact(&mut buf).map_err(|e| format!("read: {e}"))?;
        c.write_all(&buf).map_err(|e| format!("write: {e}"))?;
    }
    say(&format!("ECHOED {n}"));
    // Hold the connections until the parent has measured.
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    Ok(())
}

/// Kills and reaps a child this benchmark started, if it is still there.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// The echo test over the real kernel: the server is a child process,
/// the client this one.
fn real_echo(n_wanted: usize) -> Result<EchoRun, String> {
    let limit = raise_nofile().ok_or("getrlimit failed")?;
    let n = n_wanted.min(limit.saturating_sub(FD_SLACK) as usize);
    if n == 0 {
        return Err(format!("RLIMIT_NOFILE {limit} leaves no room"));
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let child = Command::new(exe)
        .env(CHILD_ENV, Echo::Real.role())
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the server process: {e}"))?;
    let mut child = ChildGuard(child);
    let stdout = child.0.stdout.take().ok_or("no stdout from the server")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .and_then(Result::ok)
        .ok_or("the server process said nothing")?;
    let port: u16 = match first.strip_prefix("PORT ") {
        Some(p) => p.trim().parse().map_err(|_| format!("bad port {p}"))?,
        None => return Err(format!("server: {first}")),
    };
    let dst = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    let slab_before = slab_bytes();
    let start = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let c = TcpStream::connect_timeout(&dst, Duration::from_secs(10))
            .map_err(|e| format!("connect #{i}: {e}"))?;
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
        conns.push(c);
    }
    for (i, c) in conns.iter_mut().enumerate() {
        c.write_all(&message(i))
            .map_err(|e| format!("write #{i}: {e}"))?;
    }
    let mut echoed = 0u64;
    let mut buf = [0u8; MSG_LEN];
    for (i, c) in conns.iter_mut().enumerate() {
        c.read_exact(&mut buf)
            .map_err(|e| format!("read #{i}: {e}"))?;
        if buf == message(i) {
            echoed += 1;
        }
    }
    let wall = start.elapsed();
    let slab_after = slab_bytes();
    let sockstat = tcp_sockstat();

    // Let the server close first (its side keeps TIME_WAIT), then ours.
    drop(child.0.stdin.take());
    let _ = child.0.wait();
    drop(conns);

    let mut problem = None;
    if echoed != n as u64 {
        problem = Some(format!("{echoed} of {n} echoes came back"));
    }
    if n < n_wanted {
        let scaled = format!(
            "scaled down from {} to {} connections: RLIMIT_NOFILE is {limit}",
            grouped(n_wanted as u64),
            grouped(n as u64)
        );
        problem = Some(match problem {
            Some(p) => format!("{p}; {scaled}"),
            None => scaled,
        });
    }
    let (per_conn, how) = match (&slab_before, &slab_after) {
        (Some((b, _)), Some((a, _))) => (
            // Both ends of every connection are in the kernel's caches.
            Some((*a as f64 - *b as f64) / n as f64),
            format!(
                "/proc/slabinfo growth {} KiB{}; {}",
                grouped(a.saturating_sub(*b) / 1024),
                top_growth(&slab_before, &slab_after, n),
                sockstat.unwrap_or_default()
            ),
        ),
        _ => (
            None,
            format!(
                "/proc/slabinfo not readable; {}",
                sockstat.unwrap_or_default()
            ),
        ),
    };
    Ok(EchoRun {
        n,
        echoed,
        wall_echo: wall,
        wall_total: Duration::ZERO,
        virt_echo: None,
        virt_end: None,
        events: None,
        peak_per_conn: None,
        open_per_conn: per_conn,
        mem_how: how,
        problem,
    })
}

type Slab = (u64, BTreeMap<String, (u64, u64)>);

/// Bytes held in slab objects (active objects × object size), and the
/// caches: name → (active objects, object size).
fn slab_bytes() -> Option<Slab> {
    let caches = slabinfo()?;
    let total = caches.values().map(|(n, s)| n * s).sum();
    Some((total, caches))
}

/// The caches that grew by at least one object per connection.
fn top_growth(before: &Option<Slab>, after: &Option<Slab>, n: usize) -> String {
    let (Some((_, b)), Some((_, a))) = (before, after) else {
        return String::new();
    };
    let mut grew: Vec<(String, f64, u64)> = a
        .iter()
        .filter_map(|(name, &(objs, size))| {
            let old = b.get(name).map_or(0, |&(o, _)| o);
            let per = (objs as f64 - old as f64) / n as f64;
            (per >= 0.9).then(|| (name.clone(), per, size))
        })
        .collect();
    grew.sort_by(|x, y| (y.1 * y.2 as f64).total_cmp(&(x.1 * x.2 as f64)));
    let names: Vec<String> = grew
        .iter()
        .take(8)
        .map(|(name, per, size)| format!("{name} {per:.1}x{size}"))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

/// The `TCP:` line of `/proc/net/sockstat`.
fn tcp_sockstat() -> Option<String> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    text.lines()
        .find(|l| l.starts_with("TCP:"))
        .map(|l| format!("sockstat with all open: {l}"))
}

// ---------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------

fn mib_per_s(bytes: u64, wall: Duration) -> f64 {
    let s = wall.as_secs_f64();
    if s > 0.0 {
        bytes as f64 / (1024.0 * 1024.0) / s
    } else {
        0.0
    }
}

fn per_sec(count: u64, wall: Duration) -> f64 {
    let s = wall.as_secs_f64();
    if s > 0.0 { count as f64 / s } else { 0.0 }
}

fn fmt_wall(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2}s")
    } else {
        format!("{:.1}ms", s * 1e3)
    }
}

fn size(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
    } else {
        format!("{:.0} KiB", b as f64 / 1024.0)
    }
}
