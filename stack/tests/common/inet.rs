//! The socket API of the `AF_INET` differential tests
//! (`differential_tcp.rs`, `differential_udp.rs`, `differential_rst.rs`,
//! `differential_synqueue.rs`, `differential_delack.rs`). A scenario is
//! written once, generic over [`Api`], and runs on both sides:
//!
//! - [`Real`]: this machine's kernel, through `socket2` and `nix`, over
//!   127.0.0.1 (or in a network namespace the test makes). Time passes by
//!   sleeping; a call that would wait, waits.
//! - [`SimApi`]: a simulated [`Process`] on a one-host world. Time passes
//!   as virtual time; a call that would wait is a future the simulation
//!   drives.
//!
//! Calls give what a program sees, errnos by name ([`R`]), so a scenario
//! can boil them down to plain data that [`same`] compares.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use stack::prelude::*;

use super::*;

/// What `recv()` gave: its value (with `MSG_TRUNC`, more than was copied)
/// and the bytes it copied.
pub type Got = (usize, Vec<u8>);

/// The calls the scenarios make, on either side. Addresses are written as
/// `"ip:port"`; sockets are `AF_INET`.
pub trait Api {
    /// A call left waiting in the background (a thread, a child process)
    /// while the scenario goes on to what will end the wait.
    type Reader;

    /// `socket(AF_INET, ty, protocol)`. A raw socket (`SOCK_RAW`) gets
    /// every datagram of its protocol, IP header included, and what it
    /// sends is the IP payload.
    fn socket_with(&self, ty: i32, protocol: i32) -> R<i32>;
    fn bind(&self, fd: i32, addr: &str) -> R<()>;
    fn listen(&self, fd: i32, backlog: i32) -> R<()>;
    async fn connect(&self, fd: i32, addr: &str) -> R<()>;
    /// The new connection's fd.
    async fn accept(&self, fd: i32) -> R<i32>;
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, to: Option<&str>) -> R<usize>;
    async fn recv(&self, fd: i32, len: usize, flags: i32) -> R<Got>;
    fn shutdown(&self, fd: i32, how: i32) -> R<()>;
    fn close(&self, fd: i32) -> R<()>;
    /// An integer option (those the scenarios use).
    fn setsockopt(&self, fd: i32, level: i32, opt: i32, val: i32) -> R<()>;
    fn getsockopt(&self, fd: i32, level: i32, opt: i32) -> R<i32>;
    /// `SO_LINGER`: on with that many seconds, or off.
    fn set_linger(&self, fd: i32, secs: Option<u32>) -> R<()>;
    fn getsockname(&self, fd: i32) -> R<SocketAddr>;
    fn getpeername(&self, fd: i32) -> R<SocketAddr>;
    /// `F_GETFL`, `F_SETFL`, `F_GETFD` or `F_SETFD`.
    fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32>;
    /// The fds open in the process, from its `/proc/PID/fd`.
    fn open_fds(&self) -> Vec<i32>;
    /// `setrlimit(RLIMIT_NOFILE)`, soft limit `n`.
    fn set_nofile(&self, n: u32);
    /// `strerror()` of an errno named as [`R`] names it.
    fn strerror(&self, errno: &str) -> String;
    /// What a command prints (`ss -tan`, `cat /proc/net/udp`).
    fn sh(&self, cmd: &str) -> String;
    /// One counter as `nstat` shows it: `table` `TcpExt`, `Udp`, ….
    fn mib(&self, table: &str, field: &str) -> u64;
    /// Whether nothing but the scenario sends or receives in its network
    /// namespace, so that namespace-wide counters move exactly as its
    /// sockets do (in the simulation; not on a shared machine).
    fn alone(&self) -> bool;
    /// Lets `d` pass.
    async fn wait(&self, d: Duration);
    /// A monotonic clock.
    fn clock(&self) -> Duration;
    /// An `ip` configuration command (`link set lo down`) in the scenario's
    /// network namespace, in force when this returns.
    async fn ip(&self, cmd: &str);
    /// `sysctl -w name=value` in the scenario's network namespace, in
    /// force when this returns.
    async fn sysctl(&self, name: &str, value: &str);
    /// `recv()` in the background: the call may wait for what the scenario
    /// does next.
    fn spawn_recv(&self, fd: i32, len: usize, flags: i32) -> Self::Reader;
    /// What a background `recv()` gave, once it has returned.
    async fn join(&self, reader: Self::Reader) -> R<Got>;

    /// `socket(AF_INET, ty, 0)`.
    fn socket(&self, ty: i32) -> R<i32> {
        self.socket_with(ty, 0)
    }
    /// Long enough for loopback traffic (and ICMP errors) to be processed.
    async fn settle(&self) {
        self.wait(SETTLE).await;
    }
    async fn send(&self, fd: i32, buf: &[u8], flags: i32) -> R<usize> {
        self.sendto(fd, buf, flags, None).await
    }
}

// ------------------------------------------------------------ scenario helpers

/// A TCP socket listening on 127.0.0.1:`port` (0: an ephemeral one).
pub fn listener<A: Api>(a: &A, port: u16, backlog: i32) -> i32 {
    listener_on(a, "127.0.0.1", port, backlog)
}

/// A TCP socket listening on `ip`:`port`.
pub fn listener_on<A: Api>(a: &A, ip: &str, port: u16, backlog: i32) -> i32 {
    let l = a.socket(SOCK_STREAM).expect("socket");
    a.bind(l, &format!("{ip}:{port}"))
        .expect("bind the listener");
    a.listen(l, backlog).expect("listen");
    l
}

pub fn port_of<A: Api>(a: &A, fd: i32) -> u16 {
    a.getsockname(fd).expect("getsockname").port()
}

/// A connected pair over loopback: (client, server's accepted socket); the
/// listener is closed.
pub async fn pair<A: Api>(a: &A) -> (i32, i32) {
    let l = listener(a, 0, 8);
    let c = a.socket(SOCK_STREAM).expect("socket");
    a.connect(c, &local(port_of(a, l)))
        .await
        .expect("connect to our own listener");
    let s = a.accept(l).await.expect("accept");
    a.close(l).expect("close the listener");
    (c, s)
}

/// `send()` with `MSG_NOSIGNAL`, so that a broken connection gives `EPIPE`
/// instead of a signal.
pub async fn send<A: Api>(a: &A, fd: i32, data: &[u8]) -> R<usize> {
    a.send(fd, data, MSG_NOSIGNAL).await
}

/// `recv()` into a buffer of `len`, the bytes as text.
pub async fn read_text<A: Api>(a: &A, fd: i32, len: usize, flags: i32) -> R<String> {
    text_of(a.recv(fd, len, flags).await)
}

pub fn text_of(r: R<Got>) -> R<String> {
    r.map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
}

/// `getsockopt(SO_ERROR)`: the pending error by name, "0" for none.
pub fn so_error<A: Api>(a: &A, fd: i32) -> R<&'static str> {
    a.getsockopt(fd, SOL_SOCKET, SO_ERROR)
        .map(|v| if v == 0 { "0" } else { errno_name(Some(v)) })
}

/// `F_GETFL`, then `F_SETFL` with `O_NONBLOCK` set or cleared.
pub fn set_nonblocking<A: Api>(a: &A, fd: i32, on: bool) -> R<()> {
    let flags = a.fcntl(fd, F_GETFL, 0)?;
    let flags = if on {
        flags | O_NONBLOCK
    } else {
        flags & !O_NONBLOCK
    };
    a.fcntl(fd, F_SETFL, flags).map(drop)
}

fn errno_by_name(name: &str) -> Errno {
    *Errno::ALL
        .iter()
        .find(|e| e.name() == name)
        .unwrap_or_else(|| panic!("no errno {name}"))
}

// ------------------------------------------------------------------ runners

/// Runs `scenario` on this machine's kernel.
pub fn on_kernel<T>(scenario: impl AsyncFnOnce(&Real) -> T) -> T {
    now(scenario(&Real::new(false)))
}

/// Runs `scenario` on this machine's kernel on a thread of its own in a
/// new network namespace with loopback up, where it may change the
/// namespace's links; `None` (with a note) where this process may not make
/// one.
pub fn on_kernel_in_a_new_netns<T, F>(scenario: F) -> Option<T>
where
    T: Send + 'static,
    F: AsyncFnOnce(&Real) -> T + Send + 'static,
{
    std::thread::spawn(move || {
        use nix::sched::{CloneFlags, unshare};
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            println!("note: skipping the real side: unshare(CLONE_NEWNET): {e}");
            return None;
        }
        let a = Real::new(true);
        now(a.ip("link set lo up"));
        Some(now(scenario(&a)))
    })
    .join()
    .expect("the namespace thread")
}

/// Runs `scenario` in the simulation, as the only process of a one-host
/// world; the run must end cleanly.
pub fn in_sim<T: 'static>(scenario: impl AsyncFnOnce(&SimApi) -> T + 'static) -> T {
    in_sim_world(scenario).0
}

/// How long the simulation runs in steps of [`TICK`] while the scenario
/// lives: longer than any scenario here. Past it the run goes on in one
/// go, so that a run that never ends is still reported as stalled.
const TICKING: Nanos = secs(30);

/// The same, with the world and the host afterwards.
pub fn in_sim_world<T: 'static>(
    scenario: impl AsyncFnOnce(&SimApi) -> T + 'static,
) -> (T, Sim, HostId) {
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    let (slot, commands) = spawn_scenario(&mut world, host, "test", scenario);
    drive(&mut world, &[(host, commands)]);
    let value = slot.take().expect("the scenario stored its result");
    (value, world, host)
}

/// The addresses of the two-host world of [`in_sim_over_a_link`].
pub const LINK_CLIENT: &str = "10.0.0.1/24";
pub const LINK_SERVER: &str = "10.0.0.2/24";
pub const SERVER_IP: &str = "10.0.0.2";

/// Runs a server scenario and a client scenario in the simulation, each
/// the only process of its host, the two hosts joined by `link`
/// ([`LINK_CLIENT`], [`LINK_SERVER`]); both runs must end cleanly. For a
/// scenario that needs a path loopback does not have: a simulated process
/// lives on one host, so its steps are split between the two.
pub fn in_sim_over_a_link<S: 'static, C: 'static>(
    link: LinkConfig,
    server: impl AsyncFnOnce(&SimApi) -> S + 'static,
    client: impl AsyncFnOnce(&SimApi) -> C + 'static,
) -> (S, C) {
    let mut world = Sim::new(1);
    let a = world.add_host("client");
    let b = world.add_host("server");
    world.add_link(a, LINK_CLIENT, b, LINK_SERVER, link);
    let (s, on_b) = spawn_scenario(&mut world, b, "server", server);
    let (c, on_a) = spawn_scenario(&mut world, a, "client", client);
    drive(&mut world, &[(b, on_b), (a, on_a)]);
    let s = s.take().expect("the server stored its result");
    let c = c.take().expect("the client stored its result");
    (s, c)
}

/// Command lines (`ip …`, `sysctl -w …`) a simulated scenario has asked
/// the program driving its world to run on its host.
type Commands = Rc<RefCell<Vec<String>>>;

fn spawn_scenario<T: 'static>(
    world: &mut Sim,
    host: HostId,
    name: &str,
    scenario: impl AsyncFnOnce(&SimApi) -> T + 'static,
) -> (Rc<RefCell<Option<T>>>, Commands) {
    let commands = Commands::default();
    let queue = commands.clone();
    let slot = spawn_collect(world, host, name, move |p| async move {
        Ok(scenario(&SimApi { p, commands: queue }).await)
    });
    (slot, commands)
}

/// Runs the world to its end. Only the program driving the world may
/// change its links and settings, so while the scenarios live it runs in
/// ticks and the commands they asked for are run between two (see
/// `SimApi::administer`).
fn drive(world: &mut Sim, hosts: &[(HostId, Commands)]) {
    loop {
        let report = world.run_until(world.now() + TICK);
        for (host, commands) in hosts {
            let pending: Vec<String> = commands.borrow_mut().drain(..).collect();
            for cmd in pending {
                administer(world, *host, &cmd);
            }
        }
        let over = report.exits.iter().all(|(_, _, e)| *e != Exit::NotFinished);
        if over || report.deadlock.is_some() || world.now() >= TICKING {
            break;
        }
    }
    let report = world.run();
    assert!(
        report.is_ok(),
        "the simulated process did not finish:\n{report}"
    );
    for (_, commands) in hosts {
        assert!(
            commands.borrow().is_empty(),
            "a command came after {TICKING} ns: it was never run"
        );
    }
}

fn administer(world: &mut Sim, host: HostId, cmd: &str) {
    let done = if let Some(args) = cmd.strip_prefix("ip ") {
        world.ip(host, args)
    } else if let Some(setting) = cmd.strip_prefix("sysctl -w ") {
        let (name, value) = setting.split_once('=').expect("NAME=VALUE");
        world.sysctl(host, name, value)
    } else {
        panic!("{cmd}: not a command the runner runs")
    };
    done.unwrap_or_else(|e| panic!("{cmd}: {}", e.name()));
}

/// Runs `scenario(api, args…)` on this machine's kernel and in the
/// simulation: (real, simulated).
// Test files that do not use the macro compile this module too.
#[allow(unused_macros)]
macro_rules! both {
    ($scenario:ident $(, $arg:expr)* $(,)?) => {
        (
            on_kernel(async |a| $scenario(a $(, $arg)*).await),
            in_sim(async move |a| $scenario(a $(, $arg)*).await),
        )
    };
}
#[allow(unused_imports)]
pub(crate) use both;

/// The same with the kernel's side in a network namespace of its own
/// ([`on_kernel_in_a_new_netns`]), for a scenario that changes its
/// settings or counts what crosses it: `Some((real, simulated))`, or
/// `None` (with a note) where this process may not make a namespace.
#[allow(unused_macros)]
macro_rules! both_in_a_new_netns {
    ($scenario:ident $(, $arg:expr)* $(,)?) => {
        on_kernel_in_a_new_netns(async move |a| $scenario(a $(, $arg)*).await)
            .map(|real| (real, in_sim(async move |a| $scenario(a $(, $arg)*).await)))
    };
}
#[allow(unused_imports)]
pub(crate) use both_in_a_new_netns;

// ---------------------------------------------------------------- real side

/// The real side: sockets made with `socket2` (without `SOCK_CLOEXEC`
/// unless asked), kept by fd number until closed.
pub struct Real {
    fds: RefCell<BTreeMap<i32, OwnedFd>>,
    start: Instant,
    /// `RLIMIT_NOFILE` before [`Api::set_nofile`], put back on drop.
    nofile: Cell<Option<(u64, u64)>>,
    /// Whether the scenario runs in a network namespace of its own and so
    /// may change its links.
    own_netns: bool,
}

impl Real {
    fn new(own_netns: bool) -> Real {
        Real {
            fds: RefCell::default(),
            start: Instant::now(),
            nofile: Cell::new(None),
            own_netns,
        }
    }

    fn keep(&self, s: Socket) -> i32 {
        // A scenario whose kernel does not answer as expected should fail,
        // not hang.
        let _ = s.set_read_timeout(Some(READ_TIMEOUT));
        let fd: OwnedFd = s.into();
        let n = fd.as_raw_fd();
        self.fds.borrow_mut().insert(n, fd);
        n
    }

    fn with<T>(&self, fd: i32, f: impl FnOnce(SockRef<'_>) -> T) -> T {
        let fds = self.fds.borrow();
        f(SockRef::from(fds.get(&fd).expect("an open fd")))
    }
}

impl Drop for Real {
    fn drop(&mut self) {
        self.fds.borrow_mut().clear();
        if let Some((soft, hard)) = self.nofile.take() {
            use nix::sys::resource::{Resource, setrlimit};
            setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("restore RLIMIT_NOFILE");
        }
    }
}

fn nix_recv(fd: i32, len: usize, flags: i32) -> R<Got> {
    let mut buf = vec![0u8; len];
    let n = nix_r(nix::sys::socket::recv(
        fd,
        &mut buf,
        nix::sys::socket::MsgFlags::from_bits_retain(flags),
    ))?;
    buf.truncate(n.min(len));
    Ok((n, buf))
}

impl Api for Real {
    type Reader = JoinHandle<R<Got>>;

    fn socket_with(&self, ty: i32, protocol: i32) -> R<i32> {
        let protocol = Some(Protocol::from(protocol));
        real(Socket::new_raw(Domain::IPV4, Type::from(ty), protocol)).map(|s| self.keep(s))
    }
    fn bind(&self, fd: i32, addr: &str) -> R<()> {
        real(self.with(fd, |s| s.bind(&sockaddr(addr))))
    }
    fn listen(&self, fd: i32, backlog: i32) -> R<()> {
        real(self.with(fd, |s| s.listen(backlog)))
    }
    async fn connect(&self, fd: i32, addr: &str) -> R<()> {
        real(self.with(fd, |s| s.connect(&sockaddr(addr))))
    }
    async fn accept(&self, fd: i32) -> R<i32> {
        real(self.with(fd, |s| s.accept_raw())).map(|(s, _)| self.keep(s))
    }
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, to: Option<&str>) -> R<usize> {
        real(self.with(fd, |s| match to {
            Some(to) => s.send_to_with_flags(buf, &sockaddr(to), flags),
            None => s.send_with_flags(buf, flags),
        }))
    }
    async fn recv(&self, fd: i32, len: usize, flags: i32) -> R<Got> {
        nix_recv(fd, len, flags)
    }
    fn shutdown(&self, fd: i32, how: i32) -> R<()> {
        use nix::sys::socket::Shutdown;
        let how = match how {
            SHUT_RD => Shutdown::Read,
            SHUT_WR => Shutdown::Write,
            _ => Shutdown::Both,
        };
        nix_r(nix::sys::socket::shutdown(fd, how))
    }
    fn close(&self, fd: i32) -> R<()> {
        self.fds.borrow_mut().remove(&fd).map(drop).ok_or("EBADF")
    }
    fn setsockopt(&self, fd: i32, level: i32, opt: i32, val: i32) -> R<()> {
        use nix::sys::socket::{setsockopt, sockopt};
        let on = val != 0;
        let fds = self.fds.borrow();
        let f = fds.get(&fd).expect("an open fd");
        let s = SockRef::from(f);
        match (level, opt) {
            (SOL_SOCKET, SO_REUSEADDR) => real(s.set_reuse_address(on)),
            (SOL_SOCKET, SO_REUSEPORT) => real(s.set_reuse_port(on)),
            (SOL_SOCKET, SO_KEEPALIVE) => real(s.set_keepalive(on)),
            // socket2 passes the size on as a C int: -1 arrives as -1.
            (SOL_SOCKET, SO_RCVBUF) => real(s.set_recv_buffer_size(val as usize)),
            (SOL_SOCKET, SO_SNDBUF) => real(s.set_send_buffer_size(val as usize)),
            (IPPROTO_TCP, TCP_NODELAY) => real(s.set_nodelay(on)),
            (IPPROTO_TCP, TCP_KEEPIDLE) => {
                nix_r(setsockopt(f, sockopt::TcpKeepIdle, &(val as u32)))
            }
            (IPPROTO_TCP, TCP_KEEPINTVL) => {
                nix_r(setsockopt(f, sockopt::TcpKeepInterval, &(val as u32)))
            }
            (IPPROTO_TCP, TCP_KEEPCNT) => {
                nix_r(setsockopt(f, sockopt::TcpKeepCount, &(val as u32)))
            }
            (IPPROTO_TCP, TCP_USER_TIMEOUT) => {
                nix_r(setsockopt(f, sockopt::TcpUserTimeout, &(val as u32)))
            }
            _ => panic!("setsockopt level {level} option {opt}: not wired to the real side"),
        }
    }
    fn getsockopt(&self, fd: i32, level: i32, opt: i32) -> R<i32> {
        self.with(fd, |s| match (level, opt) {
            (SOL_SOCKET, SO_ERROR) => {
                real(s.take_error()).map(|e| e.and_then(|e| e.raw_os_error()).unwrap_or(0))
            }
            (SOL_SOCKET, SO_RCVBUF) => real(s.recv_buffer_size()).map(|n| n as i32),
            (SOL_SOCKET, SO_SNDBUF) => real(s.send_buffer_size()).map(|n| n as i32),
            _ => panic!("getsockopt level {level} option {opt}: not wired to the real side"),
        })
    }
    fn set_linger(&self, fd: i32, secs: Option<u32>) -> R<()> {
        let linger = secs.map(|s| Duration::from_secs(s.into()));
        real(self.with(fd, |s| s.set_linger(linger)))
    }
    fn getsockname(&self, fd: i32) -> R<SocketAddr> {
        real(self.with(fd, |s| s.local_addr())).map(|a| a.as_socket().expect("inet"))
    }
    fn getpeername(&self, fd: i32) -> R<SocketAddr> {
        real(self.with(fd, |s| s.peer_addr())).map(|a| a.as_socket().expect("inet"))
    }
    fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32> {
        use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
        let arg = match cmd {
            F_GETFL => FcntlArg::F_GETFL,
            F_SETFL => FcntlArg::F_SETFL(OFlag::from_bits_retain(arg)),
            F_GETFD => FcntlArg::F_GETFD,
            F_SETFD => FcntlArg::F_SETFD(FdFlag::from_bits_retain(arg)),
            _ => panic!("fcntl command {cmd}: not wired to the real side"),
        };
        nix_r(fcntl(fd, arg))
    }
    fn open_fds(&self) -> Vec<i32> {
        open_fds().into_iter().collect()
    }
    fn set_nofile(&self, n: u32) {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        if self.nofile.get().is_none() {
            self.nofile.set(Some((soft, hard)));
        }
        setrlimit(Resource::RLIMIT_NOFILE, n.into(), hard).expect("setrlimit");
    }
    fn strerror(&self, errno: &str) -> String {
        let raw = errno_by_name(errno).raw();
        let shown = std::io::Error::from_raw_os_error(raw).to_string();
        let suffix = format!(" (os error {raw})");
        shown.strip_suffix(&suffix).unwrap_or(&shown).to_string()
    }
    fn sh(&self, cmd: &str) -> String {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let out = Command::new(words[0])
            .args(&words[1..])
            .output()
            .unwrap_or_else(|e| panic!("run {cmd}: {e}"));
        assert!(out.status.success(), "{cmd} failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn mib(&self, table: &str, field: &str) -> u64 {
        real_mib(table, field)
    }
    fn alone(&self) -> bool {
        false
    }
    async fn wait(&self, d: Duration) {
        std::thread::sleep(d);
    }
    fn clock(&self) -> Duration {
        self.start.elapsed()
    }
    async fn ip(&self, cmd: &str) {
        // Never the machine's own links.
        assert!(
            self.own_netns,
            "ip {cmd}: only in a namespace of the test's own"
        );
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let ok = Command::new("ip")
            .args(&words)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip {cmd}");
    }
    async fn sysctl(&self, name: &str, value: &str) {
        // Never the machine's own settings.
        assert!(
            self.own_netns,
            "sysctl {name}: only in a namespace of the test's own"
        );
        // `/proc/sys/net` is the calling thread's namespace's.
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        std::fs::write(&path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
    }
    fn spawn_recv(&self, fd: i32, len: usize, flags: i32) -> Self::Reader {
        std::thread::spawn(move || nix_recv(fd, len, flags))
    }
    async fn join(&self, reader: Self::Reader) -> R<Got> {
        reader.join().expect("the reading thread")
    }
}

// ---------------------------------------------------------- simulation side

/// The simulation's side: a process, and the commands it has asked the
/// runner ([`in_sim_world`], [`in_sim_over_a_link`]) to run.
pub struct SimApi {
    p: Process,
    commands: Commands,
}

/// How often the runner looks for commands to run.
const TICK: Nanos = ms(1);

impl SimApi {
    /// Asks the runner, which runs the world in ticks, to run `cmd` at the
    /// end of this tick, and sleeps until just after that.
    async fn administer(&self, cmd: String) {
        self.commands.borrow_mut().push(cmd);
        let now = self.p.now();
        let end_of_tick = now.div_ceil(TICK).max(1) * TICK;
        self.p.sleep(end_of_tick - now + 1).await;
    }
}

/// A background `recv()`: the pipe the child writes a byte to when it is
/// done, and where it leaves what the call gave.
pub struct SimReader {
    done: i32,
    got: Rc<RefCell<Option<R<Got>>>>,
}

impl Api for SimApi {
    type Reader = SimReader;

    fn socket_with(&self, ty: i32, protocol: i32) -> R<i32> {
        sim(self.p.socket(AF_INET, ty, protocol))
    }
    fn bind(&self, fd: i32, addr: &str) -> R<()> {
        sim(self.p.bind(fd, addr))
    }
    fn listen(&self, fd: i32, backlog: i32) -> R<()> {
        sim(self.p.listen(fd, backlog))
    }
    async fn connect(&self, fd: i32, addr: &str) -> R<()> {
        sim(self.p.connect(fd, addr).await)
    }
    async fn accept(&self, fd: i32) -> R<i32> {
        sim(self.p.accept(fd).await).map(|(n, _)| n)
    }
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, to: Option<&str>) -> R<usize> {
        sim(match to {
            Some(to) => self.p.sendto(fd, buf, flags, to).await,
            None => self.p.send(fd, buf, flags).await,
        })
    }
    async fn recv(&self, fd: i32, len: usize, flags: i32) -> R<Got> {
        sim_recv(&self.p, fd, len, flags).await
    }
    fn shutdown(&self, fd: i32, how: i32) -> R<()> {
        sim(self.p.shutdown(fd, how))
    }
    fn close(&self, fd: i32) -> R<()> {
        sim(self.p.close(fd))
    }
    fn setsockopt(&self, fd: i32, level: i32, opt: i32, val: i32) -> R<()> {
        sim(self.p.setsockopt(fd, level, opt, val))
    }
    fn getsockopt(&self, fd: i32, level: i32, opt: i32) -> R<i32> {
        sim(self.p.getsockopt(fd, level, opt))
    }
    fn set_linger(&self, fd: i32, secs: Option<u32>) -> R<()> {
        sim(self.p.set_linger(fd, secs))
    }
    fn getsockname(&self, fd: i32) -> R<SocketAddr> {
        sim(self.p.getsockname(fd)).map(|a| a.inet().expect("inet"))
    }
    fn getpeername(&self, fd: i32) -> R<SocketAddr> {
        sim(self.p.getpeername(fd)).map(|a| a.inet().expect("inet"))
    }
    fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32> {
        sim(self.p.fcntl(fd, cmd, arg))
    }
    fn open_fds(&self) -> Vec<i32> {
        sim_open_fds(&self.p)
    }
    fn set_nofile(&self, n: u32) {
        self.p.set_nofile_limit(n);
    }
    fn strerror(&self, errno: &str) -> String {
        errno_by_name(errno).strerror().to_string()
    }
    fn sh(&self, cmd: &str) -> String {
        self.p.sh(cmd)
    }
    fn mib(&self, table: &str, field: &str) -> u64 {
        let name = format!("{table}{field}");
        self.p
            .sh("nstat -az")
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name.as_str())).then(|| w.next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no {name} in nstat -az"))
    }
    fn alone(&self) -> bool {
        true
    }
    async fn wait(&self, d: Duration) {
        self.p.sleep(d.as_nanos() as Nanos).await;
    }
    fn clock(&self) -> Duration {
        Duration::from_nanos(self.p.now())
    }
    async fn ip(&self, cmd: &str) {
        self.administer(format!("ip {cmd}")).await;
    }
    async fn sysctl(&self, name: &str, value: &str) {
        self.administer(format!("sysctl -w {name}={value}")).await;
    }
    /// A child process (`fork()`) that keeps only `fd` and the pipe it
    /// signals on, so that closing a socket here still closes it.
    fn spawn_recv(&self, fd: i32, len: usize, flags: i32) -> SimReader {
        let (done, signal) = self.p.pipe().expect("pipe");
        let got = Rc::new(RefCell::new(None));
        let slot = got.clone();
        self.p
            .fork("reader", move |c| async move {
                for other in sim_open_fds(&c) {
                    if other != fd && other != signal {
                        c.close(other)?;
                    }
                }
                *slot.borrow_mut() = Some(sim_recv(&c, fd, len, flags).await);
                c.write(signal, b"x").await?;
                Ok(())
            })
            .expect("fork");
        self.p.close(signal).expect("close the pipe's write end");
        SimReader { done, got }
    }
    async fn join(&self, reader: SimReader) -> R<Got> {
        let mut byte = [0u8; 1];
        self.p
            .read(reader.done, &mut byte)
            .await
            .expect("the reader's signal");
        self.p.close(reader.done).expect("close the pipe");
        reader.got.take().expect("the reader stored what it got")
    }
}

async fn sim_recv(p: &Process, fd: i32, len: usize, flags: i32) -> R<Got> {
    let mut buf = vec![0u8; len];
    let n = sim(p.recv(fd, &mut buf, flags).await)?;
    buf.truncate(n.min(len));
    Ok((n, buf))
}

/// The fds open in a simulated process, from its `/proc/PID/fd` listing.
fn sim_open_fds(p: &Process) -> Vec<i32> {
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
