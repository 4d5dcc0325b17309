//! What the differential tests share: results with errno names, the
//! comparison that prints both sides, and running a program in a fresh
//! simulated world. [`inet`] is the socket API the `AF_INET` scenarios are
//! written against.
// Each test file uses its own part of this module.
#![allow(dead_code)]

pub mod examples;
pub mod inet;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use stack::prelude::*;

/// What a call gave: its value, or the name of the errno it failed with.
pub type R<T> = Result<T, &'static str>;

/// How long the real side waits for loopback traffic (and ICMP errors) to
/// be processed; the simulation sleeps the same span of virtual time.
pub const SETTLE: Duration = Duration::from_millis(50);

/// The kernel the simulation's behaviour was checked against: its
/// `major.minor`. A scenario compared on another kernel may differ for
/// reasons of that kernel's version (Linux 6.5 changed the SYN
/// retransmission schedule, 6.6 the receive window), so there the
/// comparison is skipped with a note, unless `DIFFERENTIAL_ANY_KERNEL=1`
/// asks for it.
pub const REFERENCE_KERNEL: &str = "6.18";

/// Why the comparison is skipped on this machine, if it is.
pub fn other_kernel() -> Option<String> {
    if std::env::var_os("DIFFERENTIAL_ANY_KERNEL").is_some_and(|v| v == "1") {
        return None;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let release = release.trim();
    let ours = release.split('.').take(2).collect::<Vec<_>>().join(".");
    (ours != REFERENCE_KERNEL).then(|| {
        format!(
            "this machine runs Linux {release}; the simulation's expectations were taken from              {REFERENCE_KERNEL} (set DIFFERENTIAL_ANY_KERNEL=1 to compare anyway)"
        )
    })
}

/// Fails with both sides printed unless they agree (on the reference
/// kernel; elsewhere it says why it does not compare).
#[track_caller]
pub fn same<T: PartialEq + Debug>(scenario: &str, real: T, sim: T) {
    if let Some(why) = other_kernel() {
        eprintln!("note: {scenario}: not compared: {why}");
        return;
    }
    assert!(
        real == sim,
        "{scenario}: the simulation differs from this machine's kernel\n\
         real kernel: {real:#?}\n\
         simulation:  {sim:#?}"
    );
}

pub fn errno_name(raw: Option<i32>) -> &'static str {
    raw.and_then(Errno::from_raw)
        .map_or("(not an errno)", Errno::name)
}

/// A real call's result with the errno by name.
pub fn real<T>(r: io::Result<T>) -> R<T> {
    r.map_err(|e| errno_name(e.raw_os_error()))
}

/// A `nix` call's result with the errno by name.
pub fn nix_r<T>(r: nix::Result<T>) -> R<T> {
    r.map_err(|e| errno_name(Some(e as i32)))
}

/// A simulated call's result with the errno by name.
pub fn sim<T>(r: SysResult<T>) -> R<T> {
    r.map_err(Errno::name)
}

pub fn sockaddr(s: &str) -> SockAddr {
    SockAddr::from(s.parse::<SocketAddr>().expect("address literal"))
}

/// Runs a real-side scenario: its calls are the kernel's, which wait (if
/// at all) inside the call, so the future is ready at the first poll.
pub fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a real-side call would have blocked"),
    }
}

/// The fds open in this process (the scenarios run on one thread).
pub fn open_fds() -> BTreeSet<i32> {
    let listed: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // The listing's own fd is closed by now.
    listed
        .into_iter()
        .filter(|fd| std::fs::metadata(format!("/proc/self/fd/{fd}")).is_ok())
        .collect()
}

/// Spawns `body` on `host` (or in a namespace) and returns a slot that
/// holds its value once it has returned `Ok`.
pub fn spawn_collect<T, F, Fut>(
    world: &mut Sim,
    host: impl InNetNs,
    name: &str,
    body: F,
) -> Rc<RefCell<Option<T>>>
where
    T: 'static,
    F: FnOnce(Process) -> Fut,
    Fut: Future<Output = SysResult<T>> + 'static,
{
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    world.spawn(host, name, move |p| {
        let fut = body(p);
        async move {
            let v = fut.await?;
            *out.borrow_mut() = Some(v);
            Ok(())
        }
    });
    slot
}

/// Runs `body` as the only process of a fresh one-host world (loopback
/// only) and returns its value; the run must end cleanly.
pub fn run_sim<T, F, Fut>(body: F) -> T
where
    T: 'static,
    F: FnOnce(Process) -> Fut,
    Fut: Future<Output = SysResult<T>> + 'static,
{
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    let slot = spawn_collect(&mut world, host, "test", body);
    let report = world.run();
    assert!(
        report.is_ok(),
        "the simulated process did not finish:\n{report}"
    );
    slot.take().expect("the process stored its result")
}

// ------------------------------------------------------- TCP over loopback

/// A read that should never wait this long on loopback.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

pub fn local(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

pub fn tcp4() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket(AF_INET, SOCK_STREAM, 0)")
}

/// A listening socket on 127.0.0.1:`port` (0: an ephemeral one).
pub fn real_listener(port: u16, backlog: i32) -> Socket {
    let l = tcp4();
    l.bind(&sockaddr(&local(port))).expect("bind the listener");
    l.listen(backlog).expect("listen");
    l
}

pub fn real_port(s: &Socket) -> u16 {
    s.local_addr()
        .expect("getsockname")
        .as_socket()
        .expect("inet")
        .port()
}

/// A connected pair over loopback: (client, server's accepted socket), both
/// with a read timeout; the listener is closed.
pub fn real_pair() -> (Socket, Socket) {
    let l = real_listener(0, 8);
    let c = tcp4();
    c.connect(&sockaddr(&local(real_port(&l))))
        .expect("connect to our own listener");
    let (a, _) = l.accept().expect("accept");
    for s in [&c, &a] {
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    }
    (c, a)
}

/// A TCP socket listening on 127.0.0.1:`port`.
pub fn sim_listener(p: &Process, port: u16, backlog: i32) -> SysResult<i32> {
    sim_listener_on(p, "127.0.0.1", port, backlog)
}

/// A TCP socket listening on `ip`:`port`.
pub fn sim_listener_on(p: &Process, ip: &str, port: u16, backlog: i32) -> SysResult<i32> {
    let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.bind(l, format!("{ip}:{port}"))?;
    p.listen(l, backlog)?;
    Ok(l)
}

pub fn sim_port(p: &Process, fd: i32) -> SysResult<u16> {
    Ok(p.getsockname(fd)?.inet().expect("inet").port())
}

/// A connected pair over loopback: (client, server's accepted fd); the
/// listener is closed.
pub async fn sim_pair(p: &Process) -> SysResult<(i32, i32)> {
    let l = sim_listener(p, 0, 8)?;
    let to = p.getsockname(l)?;
    let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.connect(c, to).await?;
    let (a, _) = p.accept(l).await?;
    p.close(l)?;
    Ok((c, a))
}

/// Compiles a C program (with Debian's usual `-O2 -D_FORTIFY_SOURCE=2`)
/// and runs it with `args`: for what only C can do to the kernel, such as
/// passing a NULL event or an fd that is not open, or for socket options
/// that neither `nix` nor `socket2` wraps (the tests forbid `unsafe`).
pub fn c_probe(name: &str, src: &str, args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("stack-probe-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c, src).expect("write the probe");
    let cc = std::process::Command::new("gcc")
        .args(["-O2", "-D_FORTIFY_SOURCE=2", "-o"])
        .arg(&exe)
        .arg(&c)
        .status()
        .expect("gcc runs");
    assert!(cc.success(), "gcc compiled {name}.c");
    // glibc writes fatal messages to the terminal unless told otherwise.
    let out = std::process::Command::new(&exe)
        .args(args)
        .env("LIBC_FATAL_STDERR_", "1")
        .output()
        .expect("the probe runs");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A counter of this thread's network namespace, as `nstat` reads it:
/// `table` is `Tcp`, `Udp`, `Ip`… (in `/proc/net/snmp`) or `TcpExt`,
/// `IpExt` (in `/proc/net/netstat`).
pub fn real_mib(table: &str, field: &str) -> u64 {
    let file = if table.ends_with("Ext") {
        "netstat"
    } else {
        "snmp"
    };
    let path = format!("/proc/thread-self/net/{file}");
    mib_in(&std::fs::read_to_string(&path).expect(&path), table, field)
}

/// One counter of `table` in the text of `/proc/net/snmp` or
/// `/proc/net/netstat` (a header line of names, then a line of values).
pub fn mib_in(text: &str, table: &str, field: &str) -> u64 {
    let prefix = format!("{table}:");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert!(lines.len() >= 2, "no {table}: table in\n{text}");
    let col = lines[0]
        .split_whitespace()
        .position(|w| w == field)
        .unwrap_or_else(|| panic!("no {field} in {}", lines[0]));
    lines[1]
        .split_whitespace()
        .nth(col)
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

/// Compiles a small C program (the tests forbid `unsafe`, and some calls
/// have no safe wrapper) into this target's test folder and returns its
/// path. Built under a temporary name and renamed, so parallel test
/// processes never run a half-written binary.
pub fn build_c_probe(name: &str, source: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join(name);
    let c = dir.join(format!("{name}-{}.c", std::process::id()));
    let tmp = dir.join(format!("{name}-{}", std::process::id()));
    std::fs::write(&c, source).expect("write the probe");
    let ok = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&tmp)
        .arg(&c)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "gcc compiles {name}");
    std::fs::rename(&tmp, &exe).expect("install the probe");
    let _ = std::fs::remove_file(&c);
    exe
}
