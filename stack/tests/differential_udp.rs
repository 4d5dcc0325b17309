//! Differential tests of UDP sockets: every scenario runs twice, once on
//! this machine's kernel over loopback and once in the simulation, and each
//! run boils what it saw down to the same plain data (numbers, errno names,
//! bytes). The two must be equal; on failure both are printed.
//!
//! The real side uses `std::net`, `socket2` and `nix` on 127.0.0.1 only.
//! Two scenarios need the process to themselves (the EMFILE one lowers
//! `RLIMIT_NOFILE`; the fd-numbering one counts on no other thread opening
//! fds): nextest runs each test in its own process, and under plain
//! `cargo test` their real-kernel side is skipped with a note.
//!
//! Other programs on the machine may send UDP too, so namespace-wide
//! counters (`/proc/net/snmp`) are only required to cover what our own
//! socket saw; per-socket numbers must match exactly.
//!
//! A test marked `#[ignore = "sim differs: ..."]` asserts what the kernel
//! does where the simulation does not do it yet; run them with
//! `cargo nextest run -p stack --test differential_udp --run-ignored all`.

use std::fmt::Debug;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use nix::sys::socket::{MsgFlags, SockaddrIn, recv, sendto};
use socket2::{Domain, SockAddr, Socket, Type};
use stack::prelude::*;

mod common;
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

/// glibc's text for an errno, as `perror()` prints it.
fn real_strerror(raw: i32) -> String {
    let shown = io::Error::from_raw_os_error(raw).to_string();
    let suffix = format!(" (os error {raw})");
    shown.strip_suffix(&suffix).unwrap_or(&shown).to_string()
}

fn udp4() -> Socket {
    Socket::new(Domain::IPV4, Type::DGRAM, None).expect("socket(AF_INET, SOCK_DGRAM, 0)")
}

fn inet_of(a: SockAddr) -> SocketAddr {
    a.as_socket().expect("an inet address")
}

fn sim_inet(a: stack::uapi::SockAddr) -> SocketAddr {
    a.inet().expect("an inet address")
}

/// A UDP port that is free on this machine right now (for the wildcard
/// address, hence for every address). The simulation uses the same number.
fn free_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.local_addr())
        .expect("bind to an ephemeral port")
        .port()
}

/// The fds open in this process, from `/proc/self/fd`, without the one the
/// listing itself used.
fn real_open_fds() -> Vec<RawFd> {
    let listed: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The directory's own fd was closed when the iterator was dropped.
    listed
        .into_iter()
        .filter(|fd| std::fs::metadata(format!("/proc/self/fd/{fd}")).is_ok())
        .collect()
}

/// The fds open in a simulated process, from its `/proc/PID/fd` listing.
fn sim_open_fds(p: &Process) -> Vec<RawFd> {
    p.fd_table()
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace().rev();
            let _target = words.next()?;
            let _arrow = words.next()?;
            words.next()?.parse().ok()
        })
        .collect()
}

/// `alloc_fd()`'s choice: the lowest number not in `open`.
fn lowest_free(open: &[RawFd]) -> RawFd {
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

/// One counter of the `Udp:` table of `/proc/net/snmp`.
fn snmp_udp(proc_net_snmp: &str, field: &str) -> u64 {
    mib_in(proc_net_snmp, "Udp", field)
}

fn read_real(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
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

fn fd_numbering_real() -> FdNumbering {
    let lowest = lowest_free(&real_open_fds());
    let a = udp4();
    let next = lowest_free(&real_open_fds());
    let b = udp4();
    let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
    drop(a);
    let c = udp4();
    let fc = c.as_raw_fd();
    drop(c);
    drop(b);
    let d = udp4();
    FdNumbering {
        first_is_lowest_free: fa == lowest,
        second_is_lowest_free_after_first: fb == next,
        reopen_after_close_gets_first: fc == fa,
        reopen_after_closing_both_gets_first: d.as_raw_fd() == fa,
    }
}

fn fd_numbering_sim() -> (FdNumbering, [i32; 4]) {
    run_sim(|p| async move {
        let lowest = lowest_free(&sim_open_fds(&p));
        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let next = lowest_free(&sim_open_fds(&p));
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.close(a)?;
        let c = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.close(c)?;
        p.close(b)?;
        let d = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let seen = FdNumbering {
            first_is_lowest_free: a == lowest,
            second_is_lowest_free_after_first: b == next,
            reopen_after_close_gets_first: c == a,
            reopen_after_closing_both_gets_first: d == a,
        };
        Ok((seen, [a, b, c, d]))
    })
}

#[test]
fn fd_numbering_takes_the_lowest_free_number() {
    let (seen, fds) = fd_numbering_sim();
    let real = if own_process() {
        fd_numbering_real()
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

fn emfile_real() -> Emfile {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let already = real_open_fds()
        .into_iter()
        .filter(|&fd| (fd as u32) < NOFILE)
        .count();
    setrlimit(Resource::RLIMIT_NOFILE, NOFILE.into(), hard).expect("setrlimit");
    let mut socks = Vec::new();
    let err = loop {
        match Socket::new(Domain::IPV4, Type::DGRAM, None) {
            Ok(s) => socks.push(s),
            Err(e) => break e,
        }
        assert!(
            socks.len() <= NOFILE as usize,
            "RLIMIT_NOFILE was not enforced"
        );
    };
    let opened = socks.len();
    let middle = socks.remove(opened / 2);
    let freed = middle.as_raw_fd();
    drop(middle);
    let again = Socket::new(Domain::IPV4, Type::DGRAM, None);
    let reopen_reuses_the_closed_fd = again.is_ok_and(|s| s.as_raw_fd() == freed);
    drop(socks);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("restore RLIMIT_NOFILE");
    let raw = err.raw_os_error().expect("an errno");
    Emfile {
        errno: errno_name(Some(raw)),
        strerror: real_strerror(raw),
        opened_every_free_slot: opened == NOFILE as usize - already,
        reopen_reuses_the_closed_fd,
    }
}

fn emfile_sim() -> Emfile {
    run_sim(|p| async move {
        p.set_nofile_limit(NOFILE);
        let already = sim_open_fds(&p)
            .into_iter()
            .filter(|&fd| (fd as u32) < NOFILE)
            .count();
        let mut fds = Vec::new();
        let err = loop {
            match p.socket(AF_INET, SOCK_DGRAM, 0) {
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
        p.close(freed)?;
        let again = p.socket(AF_INET, SOCK_DGRAM, 0);
        Ok(Emfile {
            errno: err.name(),
            strerror: err.strerror().to_string(),
            opened_every_free_slot: opened == NOFILE as usize - already,
            reopen_reuses_the_closed_fd: again == Ok(freed),
        })
    })
}

#[test]
fn emfile_when_rlimit_nofile_is_reached() {
    let real = if own_process() {
        emfile_real()
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
    same("EMFILE", real, emfile_sim());
}

// ---------------------------------------------------------------- EADDRINUSE

/// Two binds of the same port: (description, first bind, second bind).
type BindPair = (&'static str, R<()>, R<()>);

/// (first address, SO_REUSEADDR, SO_REUSEPORT) then the same for the second.
type BindCase = (
    &'static str,
    (&'static str, bool, bool),
    (&'static str, bool, bool),
);

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

fn addr_in_use_real(port: u16) -> Vec<BindPair> {
    let open = |(ip, reuseaddr, reuseport): (&str, bool, bool)| {
        let s = udp4();
        s.set_reuse_address(reuseaddr).expect("SO_REUSEADDR");
        s.set_reuse_port(reuseport).expect("SO_REUSEPORT");
        let r = real(s.bind(&sockaddr(&format!("{ip}:{port}"))));
        (s, r)
    };
    let mut out: Vec<BindPair> = BIND_CASES
        .iter()
        .map(|&(what, first, second)| {
            let (_a, ra) = open(first);
            let (_b, rb) = open(second);
            (what, ra, rb)
        })
        .collect();
    let (a, ra) = open(("127.0.0.1", false, false));
    drop(a);
    let (_b, rb) = open(("127.0.0.1", false, false));
    out.push((
        "the port is free again once the first socket is closed",
        ra,
        rb,
    ));
    out
}

fn addr_in_use_sim(port: u16) -> Vec<BindPair> {
    run_sim(move |p| async move {
        let open = |(ip, reuseaddr, reuseport): (&str, bool, bool)| -> SysResult<(i32, R<()>)> {
            let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            p.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, reuseaddr as i32)?;
            p.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, reuseport as i32)?;
            Ok((fd, sim(p.bind(fd, format!("{ip}:{port}")))))
        };
        let mut out = Vec::new();
        for &(what, first, second) in BIND_CASES {
            let (a, ra) = open(first)?;
            let (b, rb) = open(second)?;
            p.close(a)?;
            p.close(b)?;
            out.push((what, ra, rb));
        }
        let (a, ra) = open(("127.0.0.1", false, false))?;
        p.close(a)?;
        let (b, rb) = open(("127.0.0.1", false, false))?;
        p.close(b)?;
        out.push((
            "the port is free again once the first socket is closed",
            ra,
            rb,
        ));
        Ok(out)
    })
}

#[test]
fn eaddrinuse_and_so_reuseaddr() {
    let port = free_port();
    let real = addr_in_use_real(port);
    assert_eq!(real[0].2, Err("EADDRINUSE"), "{real:#?}");
    same(
        &format!("binding port {port} twice"),
        real,
        addr_in_use_sim(port),
    );
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

fn boundaries_real() -> Boundaries {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    for &(n, fill) in DATAGRAMS {
        tx.send_to(&vec![fill; n], to).unwrap();
    }
    let fd = rx.as_raw_fd();
    let read = |len: usize, flags: MsgFlags| -> R<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = nix_r(recv(fd, &mut buf, flags))?;
        buf.truncate(n.min(len));
        Ok(buf)
    };
    let whole = (0..3).map(|_| read(1000, MsgFlags::empty())).collect();
    let cut = read(50, MsgFlags::empty());
    let after_cut = read(1000, MsgFlags::empty());
    let mut small = [0u8; 50];
    let trunc_len = nix_r(recv(fd, &mut small, MsgFlags::MSG_TRUNC));
    let peeks = vec![
        read(1000, MsgFlags::MSG_PEEK),
        read(1000, MsgFlags::MSG_PEEK),
        read(1000, MsgFlags::empty()),
    ];
    let after_trunc = nix_r(recv(fd, &mut small, MsgFlags::MSG_DONTWAIT));
    Boundaries {
        whole,
        cut,
        after_cut,
        trunc_len,
        after_trunc,
        peeks,
    }
}

fn boundaries_sim() -> Boundaries {
    run_sim(|p| async move {
        let rx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(rx, "127.0.0.1:0")?;
        let to = p.getsockname(rx)?;
        let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(tx, "127.0.0.1:0")?;
        for &(n, fill) in DATAGRAMS {
            p.sendto(tx, &vec![fill; n], 0, to).await?;
        }
        async fn read(p: &Process, fd: i32, len: usize, flags: i32) -> R<Vec<u8>> {
            let mut buf = vec![0u8; len];
            let n = sim(p.recv(fd, &mut buf, flags).await)?;
            buf.truncate(n.min(len));
            Ok(buf)
        }
        let mut whole = Vec::new();
        for _ in 0..3 {
            whole.push(read(&p, rx, 1000, 0).await);
        }
        let cut = read(&p, rx, 50, 0).await;
        let after_cut = read(&p, rx, 1000, 0).await;
        let mut small = [0u8; 50];
        let trunc_len = sim(p.recv(rx, &mut small, MSG_TRUNC).await);
        let peeks = vec![
            read(&p, rx, 1000, MSG_PEEK).await,
            read(&p, rx, 1000, MSG_PEEK).await,
            read(&p, rx, 1000, 0).await,
        ];
        let after_trunc = sim(p.recv(rx, &mut small, MSG_DONTWAIT).await);
        Ok(Boundaries {
            whole,
            cut,
            after_cut,
            trunc_len,
            after_trunc,
            peeks,
        })
    })
}

#[test]
fn udp_keeps_message_boundaries() {
    let real = boundaries_real();
    let lens: Vec<_> = real
        .whole
        .iter()
        .map(|d| d.as_ref().map(Vec::len))
        .collect();
    assert_eq!(lens, [Ok(100), Ok(200), Ok(300)]);
    assert_eq!(real.trunc_len, Ok(300));
    assert_eq!(real.after_trunc, Err("EAGAIN"));
    same("message boundaries", real, boundaries_sim());
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

/// `O_CLOEXEC`: an fd flag, not a file status flag; `F_GETFL` never shows it.
const O_CLOEXEC: i32 = 0o2000000;

/// What `fcntl(fd, F_GETFL)` returns: the `flags:` line of
/// `/proc/self/fdinfo/FD` is `f_flags` (octal) with `O_CLOEXEC` added when
/// the fd has it; `F_GETFL` is `f_flags` itself. (nix's `fcntl` needs its
/// "fs" feature, which this crate does not enable.)
fn real_getfl(fd: RawFd) -> R<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).map_err(|_| "EBADF")?;
    let octal = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("a flags: line")
        .trim();
    Ok(i32::from_str_radix(octal, 8).expect("octal flags") & !O_CLOEXEC)
}

fn nonblocking_real() -> NonBlocking {
    let mut buf = [0u8; 16];
    let nb = Socket::new(Domain::IPV4, Type::DGRAM.nonblocking(), None).unwrap();
    let sock_nonblock_getfl = real_getfl(nb.as_raw_fd());
    let sock_nonblock_recv = nix_r(recv(nb.as_raw_fd(), &mut buf, MsgFlags::empty()));
    let s = udp4();
    let fd = s.as_raw_fd();
    let blocking_getfl = real_getfl(fd);
    // socket2 does F_GETFL, then F_SETFL with O_NONBLOCK or-ed in.
    let setfl = real(s.set_nonblocking(true));
    let setfl_getfl = real_getfl(fd);
    let fcntl_recv = nix_r(recv(fd, &mut buf, MsgFlags::empty()));
    s.set_nonblocking(false).unwrap();
    let cleared_getfl = real_getfl(fd);
    let dontwait_recv = nix_r(recv(fd, &mut buf, MsgFlags::MSG_DONTWAIT));
    s.bind(&sockaddr("127.0.0.1:0")).unwrap();
    let bound_dontwait_recv = nix_r(recv(fd, &mut buf, MsgFlags::MSG_DONTWAIT));
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

fn nonblocking_sim() -> NonBlocking {
    run_sim(|p| async move {
        let mut buf = [0u8; 16];
        let nb = p.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)?;
        let sock_nonblock_getfl = sim(p.fcntl(nb, F_GETFL, 0));
        let sock_nonblock_recv = sim(p.recv(nb, &mut buf, 0).await);
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let blocking_getfl = sim(p.fcntl(fd, F_GETFL, 0));
        let flags = p.fcntl(fd, F_GETFL, 0)?;
        let setfl = sim(p.fcntl(fd, F_SETFL, flags | O_NONBLOCK)).map(drop);
        let setfl_getfl = sim(p.fcntl(fd, F_GETFL, 0));
        let fcntl_recv = sim(p.recv(fd, &mut buf, 0).await);
        let flags = p.fcntl(fd, F_GETFL, 0)?;
        p.fcntl(fd, F_SETFL, flags & !O_NONBLOCK)?;
        let cleared_getfl = sim(p.fcntl(fd, F_GETFL, 0));
        let dontwait_recv = sim(p.recv(fd, &mut buf, MSG_DONTWAIT).await);
        p.bind(fd, "127.0.0.1:0")?;
        let bound_dontwait_recv = sim(p.recv(fd, &mut buf, MSG_DONTWAIT).await);
        Ok(NonBlocking {
            sock_nonblock_getfl,
            sock_nonblock_recv,
            blocking_getfl,
            setfl,
            setfl_getfl,
            fcntl_recv,
            cleared_getfl,
            dontwait_recv,
            bound_dontwait_recv,
        })
    })
}

#[test]
fn eagain_on_an_empty_nonblocking_socket() {
    let real = nonblocking_real();
    assert_eq!(real.sock_nonblock_recv, Err("EAGAIN"));
    assert_eq!(real.fcntl_recv, Err("EAGAIN"));
    assert_eq!(real.dontwait_recv, Err("EAGAIN"));
    same("EAGAIN", real, nonblocking_sim());
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

/// Whether `close_on_exec(fd)`: `/proc/self/fdinfo/FD` adds `O_CLOEXEC` to
/// the `flags:` it shows exactly then (what `F_GETFD` reports as
/// `FD_CLOEXEC`; nix's `fcntl` needs a feature this crate lacks).
fn real_cloexec(fd: RawFd) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("fdinfo");
    let octal = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("a flags: line")
        .trim();
    i32::from_str_radix(octal, 8).expect("octal flags") & O_CLOEXEC != 0
}

fn cloexec_real() -> CloseOnExec {
    // socket2's `Socket::new` adds SOCK_CLOEXEC; `new_raw` passes the type as is.
    let plain = Socket::new_raw(Domain::IPV4, Type::DGRAM, None).unwrap();
    let with = Socket::new_raw(Domain::IPV4, Type::DGRAM.cloexec(), None).unwrap();
    let plain_flag = real_cloexec(plain.as_raw_fd());
    plain.set_cloexec(true).unwrap();
    let set = real_cloexec(plain.as_raw_fd());
    plain.set_cloexec(false).unwrap();
    CloseOnExec {
        plain: plain_flag,
        sock_cloexec: real_cloexec(with.as_raw_fd()),
        set,
        cleared: real_cloexec(plain.as_raw_fd()),
    }
}

fn cloexec_sim() -> CloseOnExec {
    run_sim(|p| async move {
        let cloexec = |fd| p.fcntl(fd, F_GETFD, 0).map(|f| f & FD_CLOEXEC != 0);
        let plain = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let with = p.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)?;
        let plain_flag = cloexec(plain)?;
        p.fcntl(plain, F_SETFD, FD_CLOEXEC)?;
        let set = cloexec(plain)?;
        p.fcntl(plain, F_SETFD, 0)?;
        Ok(CloseOnExec {
            plain: plain_flag,
            sock_cloexec: cloexec(with)?,
            set,
            cleared: cloexec(plain)?,
        })
    })
}

/// `FD_CLOEXEC` is a flag of the fd-table slot (`close_on_exec()`), set by
/// `SOCK_CLOEXEC` or `F_SETFD` and read back by `F_GETFD`.
#[test]
fn fd_cloexec_flag() {
    let real = cloexec_real();
    assert_eq!(
        real,
        CloseOnExec {
            plain: false,
            sock_cloexec: true,
            set: true,
            cleared: false,
        }
    );
    same("FD_CLOEXEC", real, cloexec_sim());
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
fn bufsizes_real(rcv: bool) -> Vec<(i32, R<i32>)> {
    BUF_SIZES
        .iter()
        .map(|&v| {
            let s = udp4();
            // socket2 passes the size on as a C int: -1 arrives as -1.
            let got = if rcv {
                s.set_recv_buffer_size(v as usize)
                    .and_then(|()| s.recv_buffer_size())
            } else {
                s.set_send_buffer_size(v as usize)
                    .and_then(|()| s.send_buffer_size())
            };
            (v, real(got).map(|n| n as i32))
        })
        .collect()
}

fn bufsizes_sim(rcv: bool) -> Vec<(i32, R<i32>)> {
    let opt = if rcv { SO_RCVBUF } else { SO_SNDBUF };
    run_sim(move |p| async move {
        let mut out = Vec::new();
        for &v in BUF_SIZES {
            let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            let got = sim(p
                .setsockopt(fd, SOL_SOCKET, opt, v)
                .and_then(|()| p.getsockopt(fd, SOL_SOCKET, opt)));
            p.close(fd)?;
            out.push((v, got));
        }
        Ok(out)
    })
}

/// `sk_setsockopt()`: `min_t(u32, val, sysctl_rmem_max)` (so -1 becomes the
/// cap), then `__sock_set_rcvbuf()`: `max_t(int, val * 2, SOCK_MIN_RCVBUF)`
/// where `SOCK_MIN_RCVBUF` is `TCP_SKB_MIN_TRUESIZE` = 2048 +
/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))` = 2304 (include/net/sock.h).
/// Only `SOCK_MIN_SNDBUF` is twice that.
#[test]

fn so_rcvbuf_is_capped_doubled_and_floored() {
    same("SO_RCVBUF", bufsizes_real(true), bufsizes_sim(true));
}

/// `SO_SNDBUF`: `min_t(u32, val, sysctl_wmem_max)`, doubled, floored at
/// `SOCK_MIN_SNDBUF` = 4608.
#[test]

fn so_sndbuf_is_capped_doubled_and_floored() {
    same("SO_SNDBUF", bufsizes_real(false), bufsizes_sim(false));
}

/// The non-negative part of the `SO_SNDBUF` table, where the kernel's
/// unsigned comparison and the simulation's signed one agree.
#[test]
fn so_sndbuf_nonnegative_values() {
    let keep = |v: Vec<(i32, R<i32>)>| v.into_iter().filter(|&(v, _)| v >= 0).collect::<Vec<_>>();
    same(
        "SO_SNDBUF (v >= 0)",
        keep(bufsizes_real(false)),
        keep(bufsizes_sim(false)),
    );
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

fn rcvbuf_drops_real(so_rcvbuf: i32, len: usize, count: usize) -> RcvbufDrops {
    let rx = udp4();
    rx.set_recv_buffer_size(so_rcvbuf as usize).unwrap();
    rx.bind(&sockaddr("127.0.0.1:0")).unwrap();
    let port = inet_of(rx.local_addr().unwrap()).port();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let before = read_real("/proc/net/snmp");
    for i in 0..count {
        tx.send_to(&vec![i as u8; len], ("127.0.0.1", port))
            .unwrap();
    }
    std::thread::sleep(SETTLE);
    let (recv_q, socket_drops) =
        udp_row(&read_real("/proc/net/udp"), port).expect("our socket in /proc/net/udp");
    let after = read_real("/proc/net/snmp");
    let mut read = 0;
    let mut buf = vec![0u8; len + 1];
    while recv(rx.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT).is_ok() {
        read += 1;
    }
    let delta = |f| snmp_udp(&after, f) - snmp_udp(&before, f);
    RcvbufDrops {
        rcvbuf: real(rx.recv_buffer_size()).map(|n| n as i32),
        recv_q,
        socket_drops,
        read,
        rcvbuf_errors_cover_drops: delta("RcvbufErrors") >= socket_drops,
        in_errors_cover_drops: delta("InErrors") >= socket_drops,
    }
}

fn rcvbuf_drops_sim(so_rcvbuf: i32, len: usize, count: usize) -> RcvbufDrops {
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    let slot = spawn_collect(&mut world, host, "test", move |p| async move {
        let rx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, so_rcvbuf)?;
        p.bind(rx, "127.0.0.1:0")?;
        let to = p.getsockname(rx)?;
        let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(tx, "127.0.0.1:0")?;
        let before = p.sh("cat /proc/net/snmp");
        for i in 0..count {
            p.sendto(tx, &vec![i as u8; len], 0, to).await?;
        }
        p.sleep(ms(50)).await;
        let (recv_q, socket_drops) = udp_row(&p.sh("cat /proc/net/udp"), sim_inet(to).port())
            .expect("our socket in /proc/net/udp");
        let after = p.sh("cat /proc/net/snmp");
        let mut read = 0;
        let mut buf = vec![0u8; len + 1];
        while p.recv(rx, &mut buf, MSG_DONTWAIT).await.is_ok() {
            read += 1;
        }
        let delta = |f| snmp_udp(&after, f) - snmp_udp(&before, f);
        // Nothing else runs in the simulation: the counters move exactly.
        assert_eq!(delta("RcvbufErrors"), socket_drops);
        assert_eq!(delta("InErrors"), socket_drops);
        Ok(RcvbufDrops {
            rcvbuf: sim(p.getsockopt(rx, SOL_SOCKET, SO_RCVBUF)),
            recv_q,
            socket_drops,
            read,
            rcvbuf_errors_cover_drops: delta("RcvbufErrors") >= socket_drops,
            in_errors_cover_drops: delta("InErrors") >= socket_drops,
        })
    });
    let report = world.run();
    assert!(report.is_ok(), "{report}");
    let seen = slot.take().expect("result");
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

fn recv_q_real() -> RecvQ {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let q = || udp_row(&read_real("/proc/net/udp"), port).expect("row").0;
    tx.send_to(&[1; SMALL], ("127.0.0.1", port)).unwrap();
    std::thread::sleep(SETTLE);
    let one = q();
    tx.send_to(&[2; SMALL], ("127.0.0.1", port)).unwrap();
    std::thread::sleep(SETTLE);
    let two = q();
    let mut buf = [0u8; 100];
    rx.recv(&mut buf).unwrap();
    rx.recv(&mut buf).unwrap();
    RecvQ {
        one,
        two,
        drained: q(),
    }
}

fn recv_q_sim() -> RecvQ {
    run_sim(|p| async move {
        let rx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(rx, "127.0.0.1:0")?;
        let to = p.getsockname(rx)?;
        let port = sim_inet(to).port();
        let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let q = |p: &Process| udp_row(&p.sh("cat /proc/net/udp"), port).expect("row").0;
        p.sendto(tx, &[1; SMALL], 0, to).await?;
        p.sleep(ms(50)).await;
        let one = q(&p);
        p.sendto(tx, &[2; SMALL], 0, to).await?;
        p.sleep(ms(50)).await;
        let two = q(&p);
        let mut buf = [0u8; 100];
        p.recv(rx, &mut buf, 0).await?;
        p.recv(rx, &mut buf, 0).await?;
        Ok(RecvQ {
            one,
            two,
            drained: q(&p),
        })
    })
}

/// `Recv-Q` of a UDP socket is `sk_rmem_alloc`, the sum of the queued
/// datagrams' truesize: 832 for a 64-byte datagram on this machine's loopback.
#[test]
fn recv_q_is_the_truesize_of_what_is_queued() {
    let real = recv_q_real();
    assert_eq!(real.two, 2 * real.one);
    assert_eq!(real.drained, 0);
    same("Recv-Q", real, recv_q_sim());
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

fn truesize_real(payloads: &[usize]) -> Vec<(usize, u32)> {
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    payloads
        .iter()
        .map(|&n| {
            let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = rx.local_addr().unwrap().port();
            tx.send_to(&vec![7; n], ("127.0.0.1", port)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
            (
                n,
                udp_row(&read_real("/proc/net/udp"), port).expect("row").0,
            )
        })
        .collect()
}

fn truesize_sim(payloads: &'static [usize]) -> Vec<(usize, u32)> {
    run_sim(move |p| async move {
        let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let mut out = Vec::new();
        for &n in payloads {
            let rx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            p.bind(rx, "127.0.0.1:0")?;
            let to = p.getsockname(rx)?;
            p.sendto(tx, &vec![7; n], 0, to).await?;
            p.sleep(ms(10)).await;
            let q = udp_row(&p.sh("cat /proc/net/udp"), sim_inet(to).port()).expect("row");
            out.push((n, q.0));
            p.close(rx)?;
        }
        Ok(out)
    })
}

/// `Recv-Q` of one queued datagram, for payloads of every size class that
/// loopback sends in a single linear buffer.
#[test]
fn loopback_truesize_of_linear_datagrams() {
    same(
        "truesize of one datagram",
        truesize_real(LINEAR_PAYLOADS),
        truesize_sim(LINEAR_PAYLOADS),
    );
}

/// The same for datagrams large enough to be built from page fragments:
/// the kernel charges 832 + payload (30000 → 30832, 65507 → 66339); the
/// simulation allocates one linear buffer rounded to a power of two
/// (30000 → 33024, 65507 → 131328).
#[test]

fn loopback_truesize_of_paged_datagrams() {
    let real = truesize_real(PAGED_PAYLOADS);
    assert!(real.iter().all(|&(n, t)| t as usize == n + 832), "{real:?}");
    same(
        "truesize of one large datagram",
        real,
        truesize_sim(PAGED_PAYLOADS),
    );
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

fn refused_real(port: u16) -> Refused {
    let peer = sockaddr(&format!("127.0.0.1:{port}"));
    let mut buf = [0u8; 16];
    let connected = || {
        let s = udp4();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.connect(&peer).unwrap();
        s
    };
    let dontwait =
        |s: &Socket, buf: &mut [u8]| nix_r(recv(s.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT));

    let a = connected();
    let send = real(a.send(b"x"));
    std::thread::sleep(SETTLE);
    let recv_ = nix_r(recv(a.as_raw_fd(), &mut buf, MsgFlags::empty()));
    let recv_after = dontwait(&a, &mut buf);

    let b = connected();
    real(b.send(b"x")).unwrap();
    std::thread::sleep(SETTLE);
    let second_send = real(b.send(b"x"));
    let recv_after_send = dontwait(&b, &mut buf);

    let c = connected();
    real(c.send(b"x")).unwrap();
    std::thread::sleep(SETTLE);
    let raw_err =
        |s: &Socket| real(s.take_error()).map(|e| e.and_then(|e| e.raw_os_error()).unwrap_or(0));
    let so_error = raw_err(&c);
    let so_error_again = raw_err(&c);
    let recv_after_so_error = dontwait(&c, &mut buf);

    let d = udp4();
    let unconnected_sendto = real(d.send_to(b"x", &peer));
    std::thread::sleep(SETTLE);
    let unconnected_recv = dontwait(&d, &mut buf);
    let unconnected_sendto_again = real(d.send_to(b"x", &peer));
    Refused {
        send,
        recv: recv_,
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

fn refused_sim(port: u16) -> Refused {
    run_sim(move |p| async move {
        let peer = format!("127.0.0.1:{port}");
        let mut buf = [0u8; 16];
        let settle = ms(50);

        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(a, peer.as_str()).await?;
        let send = sim(p.send(a, b"x", 0).await);
        p.sleep(settle).await;
        let recv_ = sim(p.recv(a, &mut buf, 0).await);
        let recv_after = sim(p.recv(a, &mut buf, MSG_DONTWAIT).await);

        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(b, peer.as_str()).await?;
        p.send(b, b"x", 0).await?;
        p.sleep(settle).await;
        let second_send = sim(p.send(b, b"x", 0).await);
        let recv_after_send = sim(p.recv(b, &mut buf, MSG_DONTWAIT).await);

        let c = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(c, peer.as_str()).await?;
        p.send(c, b"x", 0).await?;
        p.sleep(settle).await;
        let so_error = sim(p.getsockopt(c, SOL_SOCKET, SO_ERROR));
        let so_error_again = sim(p.getsockopt(c, SOL_SOCKET, SO_ERROR));
        let recv_after_so_error = sim(p.recv(c, &mut buf, MSG_DONTWAIT).await);

        let d = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let unconnected_sendto = sim(p.sendto(d, b"x", 0, peer.as_str()).await);
        p.sleep(settle).await;
        let unconnected_recv = sim(p.recv(d, &mut buf, MSG_DONTWAIT).await);
        let unconnected_sendto_again = sim(p.sendto(d, b"x", 0, peer.as_str()).await);
        Ok(Refused {
            send,
            recv: recv_,
            recv_after,
            second_send,
            recv_after_send,
            so_error,
            so_error_again,
            recv_after_so_error,
            unconnected_sendto,
            unconnected_recv,
            unconnected_sendto_again,
        })
    })
}

#[test]
fn econnrefused_on_a_connected_socket_only() {
    let port = free_port();
    let real = refused_real(port);
    assert_eq!(real.recv, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.second_send, Err("ECONNREFUSED"), "{real:#?}");
    assert_eq!(real.unconnected_recv, Err("EAGAIN"), "{real:#?}");
    same(
        &format!("ECONNREFUSED from port {port}"),
        real,
        refused_sim(port),
    );
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

fn names_real() -> Names {
    let s = udp4();
    let unbound = real(s.local_addr()).map(inet_of);
    let peer_unconnected = real(s.peer_addr()).map(inet_of);
    s.connect(&sockaddr(PEER)).unwrap();
    let local = inet_of(s.local_addr().unwrap());
    let b = udp4();
    b.bind(&sockaddr("0.0.0.0:0")).unwrap();
    let bound = inet_of(b.local_addr().unwrap());
    Names {
        unbound,
        peer_unconnected,
        local_ip: Ok(local.ip()),
        ephemeral_port: ephemeral(local.port()),
        peer: real(s.peer_addr()).map(inet_of),
        bound_any_ip: Ok(bound.ip()),
        bound_any_ephemeral: ephemeral(bound.port()),
    }
}

fn names_sim() -> Names {
    run_sim(|p| async move {
        let s = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let unbound = sim(p.getsockname(s)).map(sim_inet);
        let peer_unconnected = sim(p.getpeername(s)).map(sim_inet);
        p.connect(s, PEER).await?;
        let local = sim_inet(p.getsockname(s)?);
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(b, "0.0.0.0:0")?;
        let bound = sim_inet(p.getsockname(b)?);
        Ok(Names {
            unbound,
            peer_unconnected,
            local_ip: Ok(local.ip()),
            ephemeral_port: ephemeral(local.port()),
            peer: sim(p.getpeername(s)).map(sim_inet),
            bound_any_ip: Ok(bound.ip()),
            bound_any_ephemeral: ephemeral(bound.port()),
        })
    })
}

#[test]
fn getsockname_and_getpeername() {
    let real = names_real();
    assert_eq!(real.unbound, Ok("0.0.0.0:0".parse().unwrap()));
    assert_eq!(real.peer_unconnected, Err("ENOTCONN"));
    assert_eq!(real.local_ip, Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    same("getsockname/getpeername", real, names_sim());
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

fn shutdown_real() -> Shutdown {
    use nix::sys::socket::Shutdown as How;
    use nix::sys::socket::shutdown;
    let mut buf = [0u8; 16];
    let target = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9));
    let s = udp4();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let fd = s.as_raw_fd();
    let shut_rd = nix_r(shutdown(fd, How::Read));
    let blocking_recv = nix_r(recv(fd, &mut buf, MsgFlags::empty()));
    let w = udp4();
    let shut_wr = nix_r(shutdown(w.as_raw_fd(), How::Write));
    let sendto_ = nix_r(sendto(w.as_raw_fd(), b"x", &target, MsgFlags::MSG_NOSIGNAL));

    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.connect(tx.local_addr().unwrap()).unwrap();
    tx.send_to(b"queued", rx.local_addr().unwrap()).unwrap();
    std::thread::sleep(SETTLE);
    let rfd = rx.as_raw_fd();
    let connected_shut = nix_r(shutdown(rfd, How::Both));
    let queued = nix_r(recv(rfd, &mut buf, MsgFlags::empty()));
    let connected_recv = nix_r(recv(rfd, &mut buf, MsgFlags::empty()));
    let connected_send = nix_r(nix::sys::socket::send(rfd, b"x", MsgFlags::MSG_NOSIGNAL));
    Shutdown {
        shut_rd,
        blocking_recv,
        shut_wr,
        sendto: sendto_,
        connected_shut,
        queued,
        connected_recv,
        connected_send,
    }
}

fn shutdown_sim() -> Shutdown {
    run_sim(|p| async move {
        let mut buf = [0u8; 16];
        let s = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let shut_rd = sim(p.shutdown(s, SHUT_RD));
        let blocking_recv = sim(p.recv(s, &mut buf, 0).await);
        let w = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let shut_wr = sim(p.shutdown(w, SHUT_WR));
        let sendto_ = sim(p.sendto(w, b"x", 0, "127.0.0.1:9").await);

        let rx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(rx, "127.0.0.1:0")?;
        let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(tx, "127.0.0.1:0")?;
        p.connect(rx, p.getsockname(tx)?).await?;
        p.sendto(tx, b"queued", 0, p.getsockname(rx)?).await?;
        p.sleep(ms(50)).await;
        let connected_shut = sim(p.shutdown(rx, SHUT_RDWR));
        let queued = sim(p.recv(rx, &mut buf, 0).await);
        let connected_recv = sim(p.recv(rx, &mut buf, 0).await);
        let connected_send = sim(p.send(rx, b"x", 0).await);
        Ok(Shutdown {
            shut_rd,
            blocking_recv,
            shut_wr,
            sendto: sendto_,
            connected_shut,
            queued,
            connected_recv,
            connected_send,
        })
    })
}

/// `inet_shutdown()` answers `ENOTCONN` on an unconnected socket but falls
/// through and sets the shutdown bits anyway ("Hack to wake up other
/// listeners").
#[test]
fn shutdown_of_an_unconnected_socket() {
    let real = shutdown_real();
    assert_eq!(real.shut_rd, Err("ENOTCONN"));
    assert_eq!(real.blocking_recv, Ok(0));
    assert_eq!(real.sendto, Err("EPIPE"));
    same("shutdown", real, shutdown_sim());
}

#[derive(Debug, PartialEq)]
struct NonBlockingAfterShutRd {
    sock_nonblock: R<usize>,
    dontwait: R<usize>,
    blocking: R<usize>,
}

fn nonblocking_after_shut_rd_real() -> NonBlockingAfterShutRd {
    use nix::sys::socket::Shutdown as How;
    use nix::sys::socket::shutdown;
    let mut buf = [0u8; 16];
    let nb = Socket::new(Domain::IPV4, Type::DGRAM.nonblocking(), None).unwrap();
    let _ = shutdown(nb.as_raw_fd(), How::Read);
    let s = udp4();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = shutdown(s.as_raw_fd(), How::Read);
    NonBlockingAfterShutRd {
        sock_nonblock: nix_r(recv(nb.as_raw_fd(), &mut buf, MsgFlags::empty())),
        dontwait: nix_r(recv(s.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT)),
        blocking: nix_r(recv(s.as_raw_fd(), &mut buf, MsgFlags::empty())),
    }
}

fn nonblocking_after_shut_rd_sim() -> NonBlockingAfterShutRd {
    run_sim(|p| async move {
        let mut buf = [0u8; 16];
        let nb = p.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)?;
        let _ = p.shutdown(nb, SHUT_RD);
        let s = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let _ = p.shutdown(s, SHUT_RD);
        Ok(NonBlockingAfterShutRd {
            sock_nonblock: sim(p.recv(nb, &mut buf, 0).await),
            dontwait: sim(p.recv(s, &mut buf, MSG_DONTWAIT).await),
            blocking: sim(p.recv(s, &mut buf, 0).await),
        })
    })
}

/// After `SHUT_RD` an empty socket reads as end of file only for a caller
/// that would wait: `__skb_recv_udp()` returns `-EAGAIN` when `timeo` is 0
/// and only `__skb_wait_for_more_packets()` looks at `RCV_SHUTDOWN`.
#[test]

fn nonblocking_recv_after_shut_rd_is_eagain() {
    let real = nonblocking_after_shut_rd_real();
    assert_eq!(
        real,
        NonBlockingAfterShutRd {
            sock_nonblock: Err("EAGAIN"),
            dontwait: Err("EAGAIN"),
            blocking: Ok(0),
        }
    );
    same("recv after SHUT_RD", real, nonblocking_after_shut_rd_sim());
}
