//! Differential tests of UDP sockets. Every scenario is written once, as a
//! function generic over the socket API of `common::inet` ([`Api`]), and
//! runs twice: on this machine's kernel over 127.0.0.1 ([`Real`]: `socket2`
//! and `nix`) and in the simulation ([`SimApi`]: a process on one host).
//! Each run boils what it saw down to the same plain data (numbers, errno
//! names, bytes, `/proc/net/udp` and `/proc/net/snmp` values); [`same`]
//! compares the real value with the simulated one and prints both on
//! failure. Where a test also asserts what Linux does, it asserts it of
//! the real side.
//!
//! Two scenarios need the process to themselves (the EMFILE one lowers
//! `RLIMIT_NOFILE`; the fd-numbering one counts on no other thread opening
//! fds): nextest runs each test in its own process, and under plain
//! `cargo test` their real-kernel side is skipped with a note and the
//! simulation is compared with what the kernel gives.
//!
//! Other programs on the machine may send UDP too, so namespace-wide
//! counters (`/proc/net/snmp`) are only required to cover what our own
//! socket saw ([`Api::alone`] says where they must match exactly);
//! per-socket numbers must match exactly.
//!
//! A test marked `#[ignore = "sim differs: ..."]` asserts what the kernel
//! does where the simulation does not do it yet; run them with
//! `cargo nextest run -p stack --test differential_udp --run-ignored all`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use stack::prelude::*;

mod common;
use common::inet::*;
use common::*;

// ---------------------------------------------------------------- helpers

/// True when this test has its process to itself (nextest's
/// process-per-test mode), so it may change process-wide state such as
/// `RLIMIT_NOFILE` and count on no other thread opening fds meanwhile.
/// Under `cargo test` the tests of a file share one process.
fn own_process() -> bool {
    let alone = std::env::var("NEXTEST_EXECUTION_MODE").is_ok_and(|m| m == "process-per-test");
    if !alone {
        println!(
            "note: not run by nextest in process-per-test mode: the real-kernel side of this \
             test is skipped and the simulation is checked against the expected values only"
        );
    }
    alone
}

fn udp<A: Api>(a: &A) -> i32 {
    a.socket(SOCK_DGRAM)
        .expect("socket(AF_INET, SOCK_DGRAM, 0)")
}

/// A UDP socket bound to an ephemeral port of 127.0.0.1, and its address.
fn bound_udp<A: Api>(a: &A) -> (i32, String) {
    let s = udp(a);
    a.bind(s, "127.0.0.1:0").expect("bind");
    (s, a.getsockname(s).expect("getsockname").to_string())
}

/// `recv()` into 16 bytes: its value.
async fn recv_len<A: Api>(a: &A, fd: i32, flags: i32) -> R<usize> {
    a.recv(fd, 16, flags).await.map(|(n, _)| n)
}

/// A UDP port that is free on this machine right now (for the wildcard
/// address, hence for every address), for both sides.
fn free_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.local_addr())
        .expect("bind to an ephemeral port")
        .port()
}

/// `alloc_fd()`'s choice: the lowest number not in `open`.
fn lowest_free(open: &[i32]) -> i32 {
    (0..)
        .find(|fd| !open.contains(fd))
        .expect("some fd is free")
}

/// The row of `/proc/net/udp` for a local port: (rx_queue, drops).
fn udp_row(proc_net_udp: &str, port: u16) -> Option<(u32, u64)> {
    proc_net_udp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(f.get(1)?.split(':').nth(1)?, 16).ok()?;
        if local_port != port {
            return None;
        }
        let rx_queue = u32::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()?;
        let drops = f.get(12)?.parse().ok()?;
        Some((rx_queue, drops))
    })
}

/// `Recv-Q` of the socket on `port`, from `/proc/net/udp`.
fn recv_q_of<A: Api>(a: &A, port: u16) -> u32 {
    udp_row(&a.sh("cat /proc/net/udp"), port)
        .expect("our socket in /proc/net/udp")
        .0
}

fn port_in(addr: &str) -> u16 {
    addr.parse::<SocketAddr>().expect("an address").port()
}

/// One counter of the `Udp:` table of `/proc/net/snmp`.
fn snmp_udp(proc_net_snmp: &str, field: &str) -> u64 {
    mib_in(proc_net_snmp, "Udp", field)
}

// ---------------------------------------------------------------- fd numbering

/// `socket()` takes the lowest free fd, and a closed number is reused first.
#[derive(Debug, PartialEq)]
struct FdNumbering {
    first_is_lowest_free: bool,
    second_is_lowest_free_after_first: bool,
    reopen_after_close_gets_first: bool,
    reopen_after_closing_both_gets_first: bool,
}

/// What the scenario saw, and the four fds it got.
async fn fd_numbering<A: Api>(a: &A) -> (FdNumbering, [i32; 4]) {
    let lowest = lowest_free(&a.open_fds());
    let first = udp(a);
    let next = lowest_free(&a.open_fds());
    let second = udp(a);
    a.close(first).expect("close");
    let third = udp(a);
    a.close(third).expect("close");
    a.close(second).expect("close");
    let fourth = udp(a);
    let seen = FdNumbering {
        first_is_lowest_free: first == lowest,
        second_is_lowest_free_after_first: second == next,
        reopen_after_close_gets_first: third == first,
        reopen_after_closing_both_gets_first: fourth == first,
    };
    (seen, [first, second, third, fourth])
}

#[test]
fn fd_numbering_takes_the_lowest_free_number() {
    let (seen, fds) = in_sim(async |a| fd_numbering(a).await);
    let real = if own_process() {
        on_kernel(async |a| fd_numbering(a).await).0
    } else {
        FdNumbering {
            first_is_lowest_free: true,
            second_is_lowest_free_after_first: true,
            reopen_after_close_gets_first: true,
            reopen_after_closing_both_gets_first: true,
        }
    };
    same("fd numbering", real, seen);
    // In the simulation nothing but the terminal is open: 3 comes first.
    assert_eq!(fds, [3, 4, 3, 3]);
}

// ---------------------------------------------------------------- EMFILE

/// `RLIMIT_NOFILE` for the EMFILE scenario, low enough to reach quickly and
/// above every fd the test harness itself holds.
const NOFILE: u32 = 32;

#[derive(Debug, PartialEq)]
struct Emfile {
    errno: &'static str,
    strerror: String,
    /// Sockets opened before the failure == NOFILE − fds already open.
    opened_every_free_slot: bool,
    /// After closing one, `socket()` works again and reuses its number.
    reopen_reuses_the_closed_fd: bool,
}

/// The real side puts the limit back when it is done.
async fn emfile<A: Api>(a: &A) -> Emfile {
    let already = a
        .open_fds()
        .into_iter()
        .filter(|&fd| (fd as u32) < NOFILE)
        .count();
    a.set_nofile(NOFILE);
    let mut fds = Vec::new();
    let errno = loop {
        match a.socket(SOCK_DGRAM) {
            Ok(fd) => fds.push(fd),
            Err(e) => break e,
        }
        assert!(
            fds.len() <= NOFILE as usize,
            "RLIMIT_NOFILE was not enforced"
        );
    };
    let opened = fds.len();
    let freed = fds[opened / 2];
    a.close(freed).expect("close");
    let again = a.socket(SOCK_DGRAM);
    Emfile {
        errno,
        strerror: a.strerror(errno),
        opened_every_free_slot: opened == NOFILE as usize - already,
        reopen_reuses_the_closed_fd: again == Ok(freed),
    }
}

#[test]
fn emfile_when_rlimit_nofile_is_reached() {
    let real = if own_process() {
        on_kernel(async |a| emfile(a).await)
    } else {
        Emfile {
            errno: "EMFILE",
            strerror: "Too many open files".into(),
            opened_every_free_slot: true,
            reopen_reuses_the_closed_fd: true,
        }
    };
    assert_eq!(real.errno, "EMFILE", "{real:?}");
    assert_eq!(real.strerror, "Too many open files");
    same("EMFILE", real, in_sim(async |a| emfile(a).await));
}

// ---------------------------------------------------------------- EADDRINUSE

/// Two binds of the same port: (description, first bind, second bind).
type BindPair = (&'static str, R<()>, R<()>);

/// An address to bind, with `SO_REUSEADDR` and `SO_REUSEPORT`.
type BindTo = (&'static str, bool, bool);

/// The first socket, then the second.
type BindCase = (&'static str, BindTo, BindTo);

const BIND_CASES: &[BindCase] = &[
    (
        "same address",
        ("127.0.0.1", false, false),
        ("127.0.0.1", false, false),
    ),
    (
        "same address, both SO_REUSEADDR",
        ("127.0.0.1", true, false),
        ("127.0.0.1", true, false),
    ),
    (
        "same address, only the first SO_REUSEADDR",
        ("127.0.0.1", true, false),
        ("127.0.0.1", false, false),
    ),
    (
        "same address, only the second SO_REUSEADDR",
        ("127.0.0.1", false, false),
        ("127.0.0.1", true, false),
    ),
    (
        "same address, both SO_REUSEPORT",
        ("127.0.0.1", false, true),
        ("127.0.0.1", false, true),
    ),
    (
        "specific, then wildcard",
        ("127.0.0.1", false, false),
        ("0.0.0.0", false, false),
    ),
    (
        "wildcard, then specific",
        ("0.0.0.0", false, false),
        ("127.0.0.1", false, false),
    ),
    (
        "wildcard twice",
        ("0.0.0.0", false, false),
        ("0.0.0.0", false, false),
    ),
    (
        "wildcard twice, both SO_REUSEADDR",
        ("0.0.0.0", true, false),
        ("0.0.0.0", true, false),
    ),
    (
        "two different loopback addresses",
        ("127.0.0.1", false, false),
        ("127.0.0.2", false, false),
    ),
];

/// A new socket with the options of `to`, bound to its address and
/// `port`: the socket, and what `bind()` gave.
fn bind_to<A: Api>(a: &A, (ip, reuseaddr, reuseport): BindTo, port: u16) -> (i32, R<()>) {
    let s = udp(a);
    a.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, reuseaddr as i32)
        .expect("SO_REUSEADDR");
    a.setsockopt(s, SOL_SOCKET, SO_REUSEPORT, reuseport as i32)
        .expect("SO_REUSEPORT");
    let r = a.bind(s, &format!("{ip}:{port}"));
    (s, r)
}

async fn addr_in_use<A: Api>(a: &A, port: u16) -> Vec<BindPair> {
    let mut out = Vec::new();
    for &(what, first, second) in BIND_CASES {
        let (x, rx) = bind_to(a, first, port);
        let (y, ry) = bind_to(a, second, port);
        a.close(x).expect("close");
        a.close(y).expect("close");
        out.push((what, rx, ry));
    }
    let plain = ("127.0.0.1", false, false);
    let (x, rx) = bind_to(a, plain, port);
    a.close(x).expect("close");
    let (y, ry) = bind_to(a, plain, port);
    a.close(y).expect("close");
    out.push((
        "the port is free again once the first socket is closed",
        rx,
        ry,
    ));
    out
}

#[test]
fn eaddrinuse_and_so_reuseaddr() {
    let port = free_port();
    let (real, simulated) = both!(addr_in_use, port);
    assert_eq!(real[0].2, Err("EADDRINUSE"), "{real:#?}");
    same(&format!("binding port {port} twice"), real, simulated);
}

// ---------------------------------------------------------------- message boundaries

#[derive(Debug, PartialEq)]
struct Boundaries {
    /// Three datagrams of 100, 200 and 300 bytes read into 1000-byte buffers.
    whole: Vec<R<Vec<u8>>>,
    /// A 100-byte datagram read into a 50-byte buffer.
    cut: R<Vec<u8>>,
    /// The next read: the following datagram, not the rest of the cut one.
    after_cut: R<Vec<u8>>,
    /// A 300-byte datagram read into 50 bytes with `MSG_TRUNC`.
    trunc_len: R<usize>,
    /// Nothing is left of it.
    after_trunc: R<usize>,
    /// `MSG_PEEK` twice, then a plain read: the same datagram three times.
    peeks: Vec<R<Vec<u8>>>,
}

/// The datagrams the scenario sends, in order: (length, fill byte).
const DATAGRAMS: &[(usize, u8)] = &[
    (100, b'a'),
    (200, b'b'),
    (300, b'c'),
    (100, b'd'),
    (200, b'e'),
    (300, b'f'),
    (60, b'g'),
];

async fn boundaries<A: Api>(a: &A) -> Boundaries {
    let (rx, to) = bound_udp(a);
    let (tx, _) = bound_udp(a);
    for &(n, fill) in DATAGRAMS {
        a.sendto(tx, &vec![fill; n], 0, Some(&to))
            .await
            .expect("sendto");
    }
    let read = async |len, flags| a.recv(rx, len, flags).await.map(|(_, b)| b);
    let mut whole = Vec::new();
    for _ in 0..3 {
        whole.push(read(1000, 0).await);
    }
    let cut = read(50, 0).await;
    let after_cut = read(1000, 0).await;
    let trunc_len = a.recv(rx, 50, MSG_TRUNC).await.map(|(n, _)| n);
    let peeks = vec![
        read(1000, MSG_PEEK).await,
        read(1000, MSG_PEEK).await,
        read(1000, 0).await,
    ];
    let after_trunc = a.recv(rx, 50, MSG_DONTWAIT).await.map(|(n, _)| n);
    Boundaries {
        whole,
        cut,
        after_cut,
        trunc_len,
        after_trunc,
        peeks,
    }
}

#[test]
fn udp_keeps_message_boundaries() {
    let (real, simulated) = both!(boundaries);
    let lens: Vec<_> = real
        .whole
        .iter()
        .map(|d| d.as_ref().map(Vec::len))
        .collect();
    assert_eq!(lens, [Ok(100), Ok(200), Ok(300)]);
    assert_eq!(real.trunc_len, Ok(300));
    assert_eq!(real.after_trunc, Err("EAGAIN"));
    same("message boundaries", real, simulated);
}

// ---------------------------------------------------------------- EAGAIN

#[derive(Debug, PartialEq)]
struct NonBlocking {
    /// `socket(SOCK_DGRAM | SOCK_NONBLOCK)`: `F_GETFL`, then `recv()`.
    sock_nonblock_getfl: R<i32>,
    sock_nonblock_recv: R<usize>,
    /// A blocking socket: `F_GETFL`, `F_SETFL O_NONBLOCK`, `F_GETFL`, `recv()`.
    blocking_getfl: R<i32>,
    setfl: R<()>,
    setfl_getfl: R<i32>,
    fcntl_recv: R<usize>,
    /// Back to blocking with `F_SETFL` without `O_NONBLOCK`: `F_GETFL`,
    /// then `recv(MSG_DONTWAIT)`.
    cleared_getfl: R<i32>,
    dontwait_recv: R<usize>,
    /// The same on a bound socket.
    bound_dontwait_recv: R<usize>,
}

async fn nonblocking<A: Api>(a: &A) -> NonBlocking {
    let getfl = |fd| a.fcntl(fd, F_GETFL, 0);
    let nb = a.socket(SOCK_DGRAM | SOCK_NONBLOCK).expect("socket");
    let sock_nonblock_getfl = getfl(nb);
    let sock_nonblock_recv = recv_len(a, nb, 0).await;
    let fd = udp(a);
    let blocking_getfl = getfl(fd);
    let setfl = set_nonblocking(a, fd, true);
    let setfl_getfl = getfl(fd);
    let fcntl_recv = recv_len(a, fd, 0).await;
    set_nonblocking(a, fd, false).expect("F_SETFL");
    let cleared_getfl = getfl(fd);
    let dontwait_recv = recv_len(a, fd, MSG_DONTWAIT).await;
    a.bind(fd, "127.0.0.1:0").expect("bind");
    let bound_dontwait_recv = recv_len(a, fd, MSG_DONTWAIT).await;
    NonBlocking {
        sock_nonblock_getfl,
        sock_nonblock_recv,
        blocking_getfl,
        setfl,
        setfl_getfl,
        fcntl_recv,
        cleared_getfl,
        dontwait_recv,
        bound_dontwait_recv,
    }
}

#[test]
fn eagain_on_an_empty_nonblocking_socket() {
    let (real, simulated) = both!(nonblocking);
    assert_eq!(real.sock_nonblock_recv, Err("EAGAIN"));
    assert_eq!(real.fcntl_recv, Err("EAGAIN"));
    assert_eq!(real.dontwait_recv, Err("EAGAIN"));
    same("EAGAIN", real, simulated);
}

#[derive(Debug, PartialEq)]
struct CloseOnExec {
    /// `F_GETFD & FD_CLOEXEC` of a plain `socket()`.
    plain: bool,
    /// Of `socket(SOCK_DGRAM | SOCK_CLOEXEC)`.
    sock_cloexec: bool,
    /// After `F_SETFD FD_CLOEXEC` on the plain one, then after `F_SETFD 0`.
    set: bool,
    cleared: bool,
}

async fn cloexec<A: Api>(a: &A) -> CloseOnExec {
    let on = |fd| {
        a.fcntl(fd, F_GETFD, 0)
            .map(|f| f & FD_CLOEXEC != 0)
            .expect("F_GETFD")
    };
    let plain = udp(a);
    let with = a.socket(SOCK_DGRAM | SOCK_CLOEXEC).expect("socket");
    let plain_flag = on(plain);
    a.fcntl(plain, F_SETFD, FD_CLOEXEC).expect("F_SETFD");
    let set = on(plain);
    a.fcntl(plain, F_SETFD, 0).expect("F_SETFD");
    CloseOnExec {
        plain: plain_flag,
        sock_cloexec: on(with),
        set,
        cleared: on(plain),
    }
}

/// `FD_CLOEXEC` is a flag of the fd-table slot (`close_on_exec()`), set by
/// `SOCK_CLOEXEC` or `F_SETFD` and read back by `F_GETFD`.
#[test]
fn fd_cloexec_flag() {
    let (real, simulated) = both!(cloexec);
    assert_eq!(
        real,
        CloseOnExec {
            plain: false,
            sock_cloexec: true,
            set: true,
            cleared: false,
        }
    );
    same("FD_CLOEXEC", real, simulated);
}

// ---------------------------------------------------------------- buffer sizes

/// Values given to `SO_RCVBUF`/`SO_SNDBUF`, from below the floor to above
/// the `rmem_max`/`wmem_max` cap (4194304 on this machine and in the
/// simulation, see `differential_sysctl.rs`), including a negative one.
const BUF_SIZES: &[i32] = &[
    -1,
    0,
    1,
    1000,
    1152,
    2048,
    2304,
    4096,
    100_000,
    3_000_000,
    5_000_000,
    i32::MAX,
];

/// (value set, value `getsockopt` returns) for each of [`BUF_SIZES`].
async fn bufsizes<A: Api>(a: &A, rcv: bool) -> Vec<(i32, R<i32>)> {
    let opt = if rcv { SO_RCVBUF } else { SO_SNDBUF };
    let mut out = Vec::new();
    for &v in BUF_SIZES {
        let fd = udp(a);
        let got = a
            .setsockopt(fd, SOL_SOCKET, opt, v)
            .and_then(|()| a.getsockopt(fd, SOL_SOCKET, opt));
        a.close(fd).expect("close");
        out.push((v, got));
    }
    out
}

/// `sk_setsockopt()`: `min_t(u32, val, sysctl_rmem_max)` (so -1 becomes the
/// cap), then `__sock_set_rcvbuf()`: `max_t(int, val * 2, SOCK_MIN_RCVBUF)`
/// where `SOCK_MIN_RCVBUF` is `TCP_SKB_MIN_TRUESIZE` = 2048 +
/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))` = 2304 (include/net/sock.h).
/// Only `SOCK_MIN_SNDBUF` is twice that.
#[test]
fn so_rcvbuf_is_capped_doubled_and_floored() {
    let (real, simulated) = both!(bufsizes, true);
    same("SO_RCVBUF", real, simulated);
}

/// `SO_SNDBUF`: `min_t(u32, val, sysctl_wmem_max)`, doubled, floored at
/// `SOCK_MIN_SNDBUF` = 4608.
#[test]
fn so_sndbuf_is_capped_doubled_and_floored() {
    let (real, simulated) = both!(bufsizes, false);
    same("SO_SNDBUF", real, simulated);
}

/// The non-negative part of the `SO_SNDBUF` table, where the kernel's
/// unsigned comparison and the simulation's signed one agree.
#[test]
fn so_sndbuf_nonnegative_values() {
    let keep = |v: Vec<(i32, R<i32>)>| v.into_iter().filter(|&(v, _)| v >= 0).collect::<Vec<_>>();
    let (real, simulated) = both!(bufsizes, false);
    same("SO_SNDBUF (v >= 0)", keep(real), keep(simulated));
}

// ---------------------------------------------------------------- receive-buffer drops

const BURST: usize = 50;
const SMALL: usize = 64;

#[derive(Debug, PartialEq)]
struct RcvbufDrops {
    /// `getsockopt(SO_RCVBUF)` after setting it.
    rcvbuf: R<i32>,
    /// `Recv-Q` (`rx_queue` of /proc/net/udp) with the burst queued.
    recv_q: u32,
    /// The socket's `drops` column.
    socket_drops: u64,
    /// Datagrams read before `EAGAIN`.
    read: usize,
    /// The namespace's `RcvbufErrors` and `InErrors` moved by at least the
    /// socket's drops (exactly, in the simulation, where nothing else runs).
    rcvbuf_errors_cover_drops: bool,
    in_errors_cover_drops: bool,
}

/// `SO_RCVBUF` on a receiver, then a burst of `count` datagrams of `len`
/// bytes to it.
async fn rcvbuf_drops<A: Api>(a: &A, so_rcvbuf: i32, len: usize, count: usize) -> RcvbufDrops {
    let rx = udp(a);
    a.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, so_rcvbuf)
        .expect("SO_RCVBUF");
    a.bind(rx, "127.0.0.1:0").expect("bind");
    let to = a.getsockname(rx).expect("getsockname").to_string();
    let (tx, _) = bound_udp(a);
    let before = a.sh("cat /proc/net/snmp");
    for i in 0..count {
        a.sendto(tx, &vec![i as u8; len], 0, Some(&to))
            .await
            .expect("sendto");
    }
    a.settle().await;
    let (recv_q, socket_drops) =
        udp_row(&a.sh("cat /proc/net/udp"), port_in(&to)).expect("our socket in /proc/net/udp");
    let after = a.sh("cat /proc/net/snmp");
    let mut read = 0;
    while a.recv(rx, len + 1, MSG_DONTWAIT).await.is_ok() {
        read += 1;
    }
    let delta = |f| snmp_udp(&after, f) - snmp_udp(&before, f);
    if a.alone() {
        assert_eq!(delta("RcvbufErrors"), socket_drops);
        assert_eq!(delta("InErrors"), socket_drops);
    }
    RcvbufDrops {
        rcvbuf: a.getsockopt(rx, SOL_SOCKET, SO_RCVBUF),
        recv_q,
        socket_drops,
        read,
        rcvbuf_errors_cover_drops: delta("RcvbufErrors") >= socket_drops,
        in_errors_cover_drops: delta("InErrors") >= socket_drops,
    }
}

fn rcvbuf_drops_real(so_rcvbuf: i32, len: usize, count: usize) -> RcvbufDrops {
    on_kernel(async |a| rcvbuf_drops(a, so_rcvbuf, len, count).await)
}

/// Also checks that the world's own counter agrees with what the process
/// read.
fn rcvbuf_drops_sim(so_rcvbuf: i32, len: usize, count: usize) -> RcvbufDrops {
    let (seen, world, host) =
        in_sim_world(async move |a| rcvbuf_drops(a, so_rcvbuf, len, count).await);
    assert_eq!(
        world.counter(host, Mib::UdpRcvbufErrors),
        seen.socket_drops,
        "Sim::counter agrees with /proc/net/snmp"
    );
    seen
}

/// The full scenario: `SO_RCVBUF` 2048, a burst of 50 datagrams of 64
/// bytes. On Linux 6.18 `sk_rcvbuf` becomes 4096 (see
/// [`so_rcvbuf_is_capped_doubled_and_floored`]), a 64-byte datagram on
/// loopback has a truesize of 832, and `__udp_enqueue_schedule_skb()`
/// drops when `rmem + truesize > rcvbuf` unless the queue is empty ("Accept
/// the packet if queue is empty", net/ipv4/udp.c): 4 are queued, 46 dropped.
#[test]
fn receive_buffer_overflow_drops() {
    let real = rcvbuf_drops_real(2048, SMALL, BURST);
    assert_eq!(real.read + real.socket_drops as usize, BURST, "{real:?}");
    assert!(real.rcvbuf_errors_cover_drops && real.in_errors_cover_drops);
    same(
        "receive-buffer drops",
        real,
        rcvbuf_drops_sim(2048, SMALL, BURST),
    );
}

/// The enqueue test alone, with an `SO_RCVBUF` (2500, so `sk_rcvbuf` 5000)
/// that both worlds turn into the same `sk_rcvbuf`. Linux 6.18 queues a
/// datagram only if `rmem + truesize <= rcvbuf` (or the queue is empty):
/// 6 × 832 = 4992 fit, the 7th would make 5824 and is dropped. (Before
/// 6.18 the kernel tested `rmem > rcvbuf` before charging, which let the
/// queue overshoot by one datagram and queued 7; the simulation follows
/// 6.18.)
#[test]
fn udp_enqueue_drops_what_would_overflow_the_buffer() {
    let real = rcvbuf_drops_real(2500, SMALL, BURST);
    assert_eq!(real.rcvbuf, Ok(5000));
    assert_eq!(real.read, 6, "{real:?}");
    same(
        "receive-buffer drops, sk_rcvbuf 5000",
        real,
        rcvbuf_drops_sim(2500, SMALL, BURST),
    );
}

/// What holds in both worlds whatever the buffer arithmetic: every datagram
/// of the burst is either read or counted as a drop of this socket, and the
/// namespace counters account for the socket's drops.
#[test]
fn receive_buffer_overflow_accounting() {
    let check = |who: &str, d: &RcvbufDrops| {
        assert_eq!(d.read + d.socket_drops as usize, BURST, "{who}: {d:?}");
        assert!(d.socket_drops > 0, "{who}: the burst overflowed: {d:?}");
        assert!(
            d.rcvbuf_errors_cover_drops && d.in_errors_cover_drops,
            "{who}: {d:?}"
        );
    };
    check("real kernel", &rcvbuf_drops_real(2048, SMALL, BURST));
    check("simulation", &rcvbuf_drops_sim(2048, SMALL, BURST));
}

/// A datagram whose truesize alone exceeds the whole receive buffer is
/// still queued when the queue is empty (both rules agree there), and the
/// next one is dropped.
#[test]
fn one_datagram_always_fits_an_empty_queue() {
    // 4096 / 4608 bytes of buffer against datagrams of ~8 KiB truesize.
    let real = rcvbuf_drops_real(2048, 6000, 3);
    assert_eq!((real.read, real.socket_drops), (1, 2), "{real:?}");
    let sim = rcvbuf_drops_sim(2048, 6000, 3);
    // sk_rcvbuf itself differs (see so_rcvbuf_is_capped_doubled_and_floored).
    let outcome = |d: &RcvbufDrops| (d.recv_q, d.socket_drops, d.read);
    same("one big datagram", outcome(&real), outcome(&sim));
}

#[derive(Debug, PartialEq)]
struct RecvQ {
    /// `rx_queue` with one 64-byte datagram queued: its truesize.
    one: u32,
    /// And with two.
    two: u32,
    /// After reading both.
    drained: u32,
}

async fn recv_q<A: Api>(a: &A) -> RecvQ {
    let (rx, to) = bound_udp(a);
    let port = port_in(&to);
    let (tx, _) = bound_udp(a);
    a.sendto(tx, &[1; SMALL], 0, Some(&to))
        .await
        .expect("sendto");
    a.settle().await;
    let one = recv_q_of(a, port);
    a.sendto(tx, &[2; SMALL], 0, Some(&to))
        .await
        .expect("sendto");
    a.settle().await;
    let two = recv_q_of(a, port);
    for _ in 0..2 {
        a.recv(rx, 100, 0).await.expect("recv");
    }
    RecvQ {
        one,
        two,
        drained: recv_q_of(a, port),
    }
}

/// `Recv-Q` of a UDP socket is `sk_rmem_alloc`, the sum of the queued
/// datagrams' truesize: 832 for a 64-byte datagram on this machine's loopback.
#[test]
fn recv_q_is_the_truesize_of_what_is_queued() {
    let (real, simulated) = both!(recv_q);
    assert_eq!(real.two, 2 * real.one);
    assert_eq!(real.drained, 0);
    same("Recv-Q", real, simulated);
}

/// Payload sizes whose loopback truesize is that of one linear buffer: the
/// whole packet in `alloc_skb()`'s head, rounded to the small-head slab or a
/// kmalloc size class. Around each step, up to the largest linear one.
const LINEAR_PAYLOADS: &[usize] = &[
    0, 1, 64, 100, 150, 200, 300, 500, 1000, 1472, 2000, 4000, 9000, 16_004,
];

/// Payload sizes `__ip_append_data()` puts in page fragments: when
/// `fraglen + alloc_extra` (payload + 8 + 20 + 16 + 15) reaches
/// `SKB_MAX_ALLOC` (`(PAGE_SIZE << 2)` − `SKB_DATA_ALIGN(sizeof(struct
/// skb_shared_info))` = 16064) on a device with `NETIF_F_SG` (loopback has
/// it), the head holds only the headers and the payload goes in page frags,
/// charged byte for byte: truesize = 832 + payload.
const PAGED_PAYLOADS: &[usize] = &[16_005, 16_010, 20_000, 30_000, 65_507];

/// `Recv-Q` of a new receiver after one datagram of each payload size.
async fn truesize<A: Api>(a: &A, payloads: &[usize]) -> Vec<(usize, u32)> {
    let (tx, _) = bound_udp(a);
    let mut out = Vec::new();
    for &n in payloads {
        let (rx, to) = bound_udp(a);
        a.sendto(tx, &vec![7; n], 0, Some(&to))
            .await
            .expect("sendto");
        a.wait(Duration::from_millis(10)).await;
        out.push((n, recv_q_of(a, port_in(&to))));
        a.close(rx).expect("close");
    }
    out
}

/// `Recv-Q` of one queued datagram, for payloads of every size class that
/// loopback sends in a single linear buffer.
#[test]
fn loopback_truesize_of_linear_datagrams() {
    let (real, simulated) = both!(truesize, LINEAR_PAYLOADS);
    same("truesize of one datagram", real, simulated);
}

/// The same for datagrams large enough to be built from page fragments:
/// the kernel charges 832 + payload (30000 → 30832, 65507 → 66339); the
/// simulation allocates one linear buffer rounded to a power of two
/// (30000 → 33024, 65507 → 131328).
#[test]
fn loopback_truesize_of_paged_datagrams() {
    let (real, simulated) = both!(truesize, PAGED_PAYLOADS);
    assert!(real.iter().all(|&(n, t)| t as usize == n + 832), "{real:?}");
    same("truesize of one large datagram", real, simulated);
}

// ---------------------------------------------------------------- ECONNREFUSED

#[derive(Debug, PartialEq)]
struct Refused {
    /// Connected socket: send, then recv.
    send: R<usize>,
    recv: R<usize>,
    recv_after: R<usize>,
    /// Connected socket: send, then send again.
    second_send: R<usize>,
    recv_after_send: R<usize>,
    /// Connected socket: send, then `getsockopt(SO_ERROR)` twice.
    so_error: R<i32>,
    so_error_again: R<i32>,
    recv_after_so_error: R<usize>,
    /// Unconnected socket: sendto, recv, sendto.
    unconnected_sendto: R<usize>,
    unconnected_recv: R<usize>,
    unconnected_sendto_again: R<usize>,
}

/// Sockets connected to `port`, where nobody listens, each sending once;
/// the ICMP port unreachable comes back while the scenario settles.
async fn refused<A: Api>(a: &A, port: u16) -> Refused {
    let peer = local(port);
    let connected = async || {
        let s = udp(a);
        a.connect(s, &peer).await.expect("connect");
        s
    };
    let s = connected().await;
    let send = a.send(s, b"x", 0).await;
    a.settle().await;
    let recv = recv_len(a, s, 0).await;
    let recv_after = recv_len(a, s, MSG_DONTWAIT).await;

    let s = connected().await;
    a.send(s, b"x", 0).await.expect("send");
    a.settle().await;
    let second_send = a.send(s, b"x", 0).await;
    let recv_after_send = recv_len(a, s, MSG_DONTWAIT).await;

    let s = connected().await;
    a.send(s, b"x", 0).await.expect("send");
    a.settle().await;
    let so_error = a.getsockopt(s, SOL_SOCKET, SO_ERROR);
    let so_error_again = a.getsockopt(s, SOL_SOCKET, SO_ERROR);
    let recv_after_so_error = recv_len(a, s, MSG_DONTWAIT).await;

    let d = udp(a);
    let unconnected_sendto = a.sendto(d, b"x", 0, Some(&peer)).await;
    a.settle().await;
    let unconnected_recv = recv_len(a, d, MSG_DONTWAIT).await;
    let unconnected_sendto_again = a.sendto(d, b"x", 0, Some(&peer)).await;
    Refused {
        send,
        recv,
        recv_after,
        second_send,
        recv_after_send,
        so_error,
        so_error_again,
        recv_after_so_error,
        unconnected_sendto,
        unconnected_recv,
        unconnected_sendto_again,
    }
}

#[test]
fn econnrefused_on_a_connected_socket_only() {
    let port = free_port();
    let (real, simulated) = both!(refused, port);
    assert_eq!(real.recv, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.second_send, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.unconnected_recv, Err("EAGAIN"), "{real:#?}");
    same(&format!("ECONNREFUSED from port {port}"), real, simulated);
}

// ---------------------------------------------------------------- names

#[derive(Debug, PartialEq)]
struct Names {
    unbound: R<SocketAddr>,
    peer_unconnected: R<SocketAddr>,
    /// After `connect()`: the local address, whether its port is an
    /// ephemeral one (in `ip_local_port_range`), and the peer.
    local_ip: R<IpAddr>,
    ephemeral_port: bool,
    peer: R<SocketAddr>,
    /// `bind(0.0.0.0:0)`: the wildcard with an ephemeral port.
    bound_any_ip: R<IpAddr>,
    bound_any_ephemeral: bool,
}

const PEER: &str = "127.0.0.1:9";

fn ephemeral(port: u16) -> bool {
    // net.ipv4.ip_local_port_range, the same in both worlds (see
    // differential_sysctl.rs).
    (32768..=60999).contains(&port)
}

async fn names<A: Api>(a: &A) -> Names {
    let s = udp(a);
    let unbound = a.getsockname(s);
    let peer_unconnected = a.getpeername(s);
    a.connect(s, PEER).await.expect("connect");
    let mine = a.getsockname(s).expect("getsockname");
    let b = udp(a);
    a.bind(b, "0.0.0.0:0").expect("bind");
    let bound = a.getsockname(b).expect("getsockname");
    Names {
        unbound,
        peer_unconnected,
        local_ip: Ok(mine.ip()),
        ephemeral_port: ephemeral(mine.port()),
        peer: a.getpeername(s),
        bound_any_ip: Ok(bound.ip()),
        bound_any_ephemeral: ephemeral(bound.port()),
    }
}

#[test]
fn getsockname_and_getpeername() {
    let (real, simulated) = both!(names);
    assert_eq!(real.unbound, Ok("0.0.0.0:0".parse().unwrap()));
    assert_eq!(real.peer_unconnected, Err("ENOTCONN"));
    assert_eq!(real.local_ip, Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    same("getsockname/getpeername", real, simulated);
}

// ---------------------------------------------------------------- shutdown

#[derive(Debug, PartialEq)]
struct Shutdown {
    /// Unconnected: `shutdown(SHUT_RD)` fails, yet a blocking `recv()` now
    /// returns 0 at once.
    shut_rd: R<()>,
    blocking_recv: R<usize>,
    /// Unconnected: `shutdown(SHUT_WR)` fails, yet `sendto()` now gets EPIPE.
    shut_wr: R<()>,
    sendto: R<usize>,
    /// Connected: `shutdown(SHUT_RDWR)` succeeds; queued data is still
    /// read, then `recv()` returns 0 and `send()` fails.
    connected_shut: R<()>,
    queued: R<usize>,
    connected_recv: R<usize>,
    connected_send: R<usize>,
}

async fn shutdown<A: Api>(a: &A) -> Shutdown {
    let s = udp(a);
    let shut_rd = a.shutdown(s, SHUT_RD);
    let blocking_recv = recv_len(a, s, 0).await;
    let w = udp(a);
    let shut_wr = a.shutdown(w, SHUT_WR);
    let sendto = a.sendto(w, b"x", MSG_NOSIGNAL, Some(PEER)).await;

    let (rx, rx_addr) = bound_udp(a);
    let (tx, tx_addr) = bound_udp(a);
    a.connect(rx, &tx_addr).await.expect("connect");
    a.sendto(tx, b"queued", 0, Some(&rx_addr))
        .await
        .expect("sendto");
    a.settle().await;
    let connected_shut = a.shutdown(rx, SHUT_RDWR);
    let queued = recv_len(a, rx, 0).await;
    let connected_recv = recv_len(a, rx, 0).await;
    let connected_send = send(a, rx, b"x").await;
    Shutdown {
        shut_rd,
        blocking_recv,
        shut_wr,
        sendto,
        connected_shut,
        queued,
        connected_recv,
        connected_send,
    }
}

/// `inet_shutdown()` answers `ENOTCONN` on an unconnected socket but falls
/// through and sets the shutdown bits anyway ("Hack to wake up other
/// listeners").
#[test]
fn shutdown_of_an_unconnected_socket() {
    let (real, simulated) = both!(shutdown);
    assert_eq!(real.shut_rd, Err("ENOTCONN"));
    assert_eq!(real.blocking_recv, Ok(0));
    assert_eq!(real.sendto, Err("EPIPE"));
    same("shutdown", real, simulated);
}

#[derive(Debug, PartialEq)]
struct NonBlockingAfterShutRd {
    sock_nonblock: R<usize>,
    dontwait: R<usize>,
    blocking: R<usize>,
}

async fn nonblocking_after_shut_rd<A: Api>(a: &A) -> NonBlockingAfterShutRd {
    let nb = a.socket(SOCK_DGRAM | SOCK_NONBLOCK).expect("socket");
    let _ = a.shutdown(nb, SHUT_RD);
    let s = udp(a);
    let _ = a.shutdown(s, SHUT_RD);
    NonBlockingAfterShutRd {
        sock_nonblock: recv_len(a, nb, 0).await,
        dontwait: recv_len(a, s, MSG_DONTWAIT).await,
        blocking: recv_len(a, s, 0).await,
    }
}

/// After `SHUT_RD` an empty socket reads as end of file only for a caller
/// that would wait: `__skb_recv_udp()` returns `-EAGAIN` when `timeo` is 0
/// and only `__skb_wait_for_more_packets()` looks at `RCV_SHUTDOWN`.
#[test]
fn nonblocking_recv_after_shut_rd_is_eagain() {
    let (real, simulated) = both!(nonblocking_after_shut_rd);
    assert_eq!(
        real,
        NonBlockingAfterShutRd {
            sock_nonblock: Err("EAGAIN"),
            dontwait: Err("EAGAIN"),
            blocking: Ok(0),
        }
    );
    same("recv after SHUT_RD", real, simulated);
}
