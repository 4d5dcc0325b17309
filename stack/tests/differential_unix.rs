//! Differential tests of `AF_UNIX` sockets: every scenario is written once,
//! against a small socket API ([`Api`]), and run twice: on this machine's
//! kernel (raw `libc` calls on real unix sockets, bound to abstract names
//! and to files under `/tmp` that carry this test process's pid) and in
//! the simulation. Each run writes down what a program sees, one line per
//! call (return value or errno name, bytes, poll bits, `SIOCINQ`/
//! `SIOCOUTQ`); the two logs must be equal line for line.
//!
//! The scenarios never block: sockets that might are non-blocking or the
//! calls carry `MSG_DONTWAIT`, so the real side runs straight through.
//! They cover the errno of each misuse; end of file, `EPIPE` and
//! `ECONNRESET` after `shutdown()` and `close()` with and without unread
//! data; message boundaries and truncation; how many datagrams and how
//! many stream bytes a non-blocking sender gets in before `EAGAIN` (which
//! checks the kernel's truesize accounting for several write sizes); the
//! listener's backlog; names; and the poll bits in each state.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use stack::prelude::*;

mod common;
use common::*;

/// Every poll bit a program can ask for (`POLLERR`/`POLLHUP` come anyway).
const ASK: u32 = POLLIN | EPOLLPRI | POLLOUT | EPOLLRDNORM | EPOLLWRNORM | EPOLLWRBAND | POLLRDHUP;
/// `SOCK_PACKET`: a type `AF_UNIX` does not have.
const SOCK_PACKET: i32 = 10;
/// Non-blocking, and no `SIGPIPE` on the real side.
const NB: i32 = MSG_DONTWAIT | MSG_NOSIGNAL;

/// A name both sides bind.
#[derive(Clone, Debug)]
enum Addr {
    /// An abstract name.
    Abs(String),
    /// A file system name.
    Path(String),
    /// Only `sun_family`: autobind.
    Unnamed,
}

/// Names unique to this test process, so tests running in parallel (and
/// other programs) do not collide on the real side.
#[derive(Clone)]
struct Names(String);

impl Names {
    /// Also removes socket files an earlier run with the same pid left.
    fn new(test: &str) -> Names {
        let tag = format!("h4u-{}-{test}", std::process::id());
        if let Ok(dir) = std::fs::read_dir("/tmp") {
            for e in dir.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{tag}-"))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Names(tag)
    }
    fn abs(&self, s: &str) -> Addr {
        Addr::Abs(format!("{}-{s}", self.0))
    }
    fn path(&self, s: &str) -> Addr {
        Addr::Path(format!("/tmp/{}-{s}", self.0))
    }
}

/// What a scenario writes down: one line per observation.
#[derive(Default)]
struct Log(Vec<String>);

impl Log {
    fn put(&mut self, what: &str, v: impl Debug) {
        self.0.push(format!("{what}: {v:?}"));
    }
}

/// Fails at the first line where the two logs differ, with both logs.
#[track_caller]
fn same_log(scenario: &str, real: Vec<String>, sim: Vec<String>) {
    if let Some(why) = other_kernel() {
        eprintln!("note: {scenario}: not compared: {why}");
        return;
    }
    if real == sim {
        // Shown with --no-capture.
        println!("{scenario}: both sides saw\n  {}", real.join("\n  "));
        return;
    }
    let at = real
        .iter()
        .zip(&sim)
        .position(|(a, b)| a != b)
        .unwrap_or(real.len().min(sim.len()));
    panic!(
        "{scenario}: the simulation differs from this machine's kernel at line {at}\n\
         real kernel: {:?}\n\
         simulation:  {:?}\n\n\
         real log:\n  {}\n\nsimulation log:\n  {}",
        real.get(at),
        sim.get(at),
        real.join("\n  "),
        sim.join("\n  ")
    );
}

/// A received message: what the call returned, the bytes it copied, and
/// the sender's name (`None` when the kernel gave no address).
type Recv = (usize, Vec<u8>, Option<Vec<u8>>);

/// What `recvmsg()` with `SCM_RIGHTS` gave: the value, the bytes, the new
/// fds, and whether `MSG_CTRUNC` was set.
type RecvdFds = (usize, Vec<u8>, Vec<i32>, bool);

/// The calls the scenarios make, on either side. Names come back as the
/// raw `sun_path` bytes the kernel returns.
trait Api {
    fn socket(&self, ty: i32, protocol: i32) -> R<i32>;
    fn socketpair(&self, domain: i32, ty: i32) -> R<(i32, i32)>;
    fn bind(&self, fd: i32, a: &Addr) -> R<()>;
    async fn connect(&self, fd: i32, a: &Addr) -> R<()>;
    fn listen(&self, fd: i32, backlog: i32) -> R<()>;
    async fn accept(&self, fd: i32) -> R<(i32, Vec<u8>)>;
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, a: Option<&Addr>) -> R<usize>;
    async fn recvfrom(&self, fd: i32, len: usize, flags: i32) -> R<Recv>;
    fn shutdown(&self, fd: i32, how: i32) -> R<()>;
    fn close(&self, fd: i32) -> R<()>;
    fn unlink(&self, a: &Addr) -> R<()>;
    fn getsockname(&self, fd: i32) -> R<Vec<u8>>;
    fn getpeername(&self, fd: i32) -> R<Vec<u8>>;
    async fn poll(&self, fd: i32) -> u32;
    fn ioctl(&self, fd: i32, req: i32) -> R<i32>;
    fn getsockopt(&self, fd: i32, opt: i32) -> R<i32>;
    /// `sendmsg()` with `SCM_RIGHTS` for `fds` (none: no control message).
    async fn send_fds(&self, fd: i32, buf: &[u8], fds: &[i32], flags: i32) -> R<usize>;
    /// `recvmsg()` with a control buffer for `room` fds (0: none at all):
    /// the value, the bytes, the fds received and `msg_flags & MSG_CTRUNC`.
    async fn recv_fds(&self, fd: i32, len: usize, room: usize, flags: i32) -> R<RecvdFds>;
    /// A new epoll instance watching `fd` for `events`.
    fn epoll_watch(&self, fd: i32, events: u32) -> i32;
    /// `open(path, flags)` and, if that worked, `close()`.
    fn open_close(&self, a: &Addr, flags: i32) -> R<()>;
    /// The inode of the socket behind `fd` (`/proc/self/fd` links).
    fn inode(&self, fd: i32) -> u64;
    /// What a shell command prints (`ss -xan`, `cat /proc/net/unix`).
    fn sh(&self, cmd: &str) -> String;
    /// `epoll_wait(ep, .., 0)`: the events of the items that are ready.
    async fn epoll_wait0(&self, ep: i32) -> Vec<u32>;

    async fn send(&self, fd: i32, buf: &[u8], flags: i32) -> R<usize> {
        self.sendto(fd, buf, flags, None).await
    }
    async fn recv(&self, fd: i32, len: usize, flags: i32) -> R<(usize, Vec<u8>)> {
        self.recvfrom(fd, len, flags).await.map(|(n, b, _)| (n, b))
    }
}

// ------------------------------------------------------------- real side

/// The real side: sockets made with `socket2` (without `SOCK_CLOEXEC`, so
/// the ioctl probe inherits them), kept by fd number until closed.
#[derive(Default)]
struct Real {
    fds: RefCell<BTreeMap<i32, OwnedFd>>,
    /// Fds received with `SCM_RIGHTS`: plain numbers (owning them would
    /// take `unsafe`), used through `nix`'s raw-fd calls.
    received: RefCell<std::collections::BTreeSet<i32>>,
    epolls: RefCell<Vec<nix::sys::epoll::Epoll>>,
}

fn io_r<T>(r: std::io::Result<T>) -> R<T> {
    r.map_err(|e| errno_name(e.raw_os_error()))
}

fn s2_addr(a: &Addr) -> socket2::SockAddr {
    let bytes: Vec<u8> = match a {
        Addr::Abs(n) => std::iter::once(0).chain(n.bytes()).collect(),
        Addr::Path(p) => p.bytes().collect(),
        Addr::Unnamed => Vec::new(),
    };
    socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes)).expect("a unix address")
}

/// The `sun_path` bytes of a name the kernel returned (its length minus
/// `sun_family`).
fn nix_name(a: &nix::sys::socket::UnixAddr) -> Vec<u8> {
    use nix::sys::socket::SockaddrLike;
    let len = (a.len() as usize).saturating_sub(2);
    a.as_ref().sun_path[..len]
        .iter()
        .map(|&c| c as u8)
        .collect()
}

/// The same from a `socket2` address.
fn s2_name(a: &socket2::SockAddr) -> Vec<u8> {
    let len = (a.len() as usize).saturating_sub(2);
    let mut v = match (a.as_abstract_namespace(), a.as_pathname()) {
        (Some(ns), _) => std::iter::once(0).chain(ns.iter().copied()).collect(),
        (_, Some(p)) => p.as_os_str().as_bytes().to_vec(),
        _ => Vec::new(),
    };
    v.resize(len, 0);
    v
}

/// `ioctl(fd, request, &int)` through a small C program that inherits the
/// fd (the crate forbids `unsafe`, and neither `nix` nor `socket2` wraps
/// `SIOCINQ`/`SIOCOUTQ`). Built once per target directory.
fn c_ioctl(fd: i32, req: i32) -> R<i32> {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    let exe = PROBE.get_or_init(|| {
        build_c_probe(
            "unix_ioctl_probe",
            "#include <stdio.h>\n#include <stdlib.h>\n#include <errno.h>\n#include <sys/ioctl.h>\n\
             int main(int argc, char **argv) {\n\
               int v = 0;\n\
               if (argc != 3) return 2;\n\
               if (ioctl(atoi(argv[1]), (unsigned long)strtol(argv[2], 0, 0), &v) < 0) printf(\"E%d\\n\", errno);\n\
               else printf(\"%d\\n\", v);\n\
               return 0;\n\
             }\n",
        )
    });
    let out = Command::new(exe)
        .args([fd.to_string(), req.to_string()])
        .output()
        .expect("the probe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let text = text.trim();
    match text.strip_prefix('E') {
        Some(e) => Err(errno_name(e.parse().ok())),
        None => Ok(text.parse().expect("a number")),
    }
}

impl Real {
    fn keep(&self, s: socket2::Socket) -> i32 {
        let fd: OwnedFd = s.into();
        let n = fd.as_raw_fd();
        self.fds.borrow_mut().insert(n, fd);
        n
    }
    fn with<T>(&self, fd: i32, f: impl FnOnce(socket2::SockRef<'_>) -> T) -> T {
        let fds = self.fds.borrow();
        f(socket2::SockRef::from(fds.get(&fd).expect("an open fd")))
    }
}

impl Api for Real {
    fn socket(&self, ty: i32, protocol: i32) -> R<i32> {
        let proto = (protocol != 0).then_some(socket2::Protocol::from(protocol));
        io_r(socket2::Socket::new_raw(
            socket2::Domain::from(AF_UNIX),
            socket2::Type::from(ty),
            proto,
        ))
        .map(|s| self.keep(s))
    }
    fn socketpair(&self, domain: i32, ty: i32) -> R<(i32, i32)> {
        io_r(socket2::Socket::pair_raw(
            socket2::Domain::from(domain),
            socket2::Type::from(ty),
            None,
        ))
        .map(|(a, b)| (self.keep(a), self.keep(b)))
    }
    fn bind(&self, fd: i32, a: &Addr) -> R<()> {
        io_r(self.with(fd, |s| s.bind(&s2_addr(a))))
    }
    async fn connect(&self, fd: i32, a: &Addr) -> R<()> {
        io_r(self.with(fd, |s| s.connect(&s2_addr(a))))
    }
    fn listen(&self, fd: i32, backlog: i32) -> R<()> {
        io_r(self.with(fd, |s| s.listen(backlog)))
    }
    async fn accept(&self, fd: i32) -> R<(i32, Vec<u8>)> {
        io_r(self.with(fd, |s| s.accept_raw())).map(|(s, a)| (self.keep(s), s2_name(&a)))
    }
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, a: Option<&Addr>) -> R<usize> {
        if self.received.borrow().contains(&fd) {
            return nix_r(nix::sys::socket::send(
                fd,
                buf,
                nix::sys::socket::MsgFlags::from_bits_retain(flags),
            ));
        }
        io_r(self.with(fd, |s| match a {
            Some(a) => s.send_to_with_flags(buf, &s2_addr(a), flags),
            None => s.send_with_flags(buf, flags),
        }))
    }
    async fn recvfrom(&self, fd: i32, len: usize, flags: i32) -> R<Recv> {
        use nix::sys::socket::{MsgFlags, UnixAddr, recvmsg};
        let mut buf = vec![0u8; len];
        let (n, from) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let m = nix_r(recvmsg::<UnixAddr>(
                fd,
                &mut iov,
                None,
                MsgFlags::from_bits_retain(flags),
            ))?;
            // nix always gives an address, its length what the kernel
            // wrote: 0 when the sender had no name.
            let from = m
                .address
                .filter(|a| nix::sys::socket::SockaddrLike::len(a) > 0)
                .map(|a| nix_name(&a));
            (m.bytes, from)
        };
        buf.truncate(n.min(len));
        Ok((n, buf, from))
    }
    fn shutdown(&self, fd: i32, how: i32) -> R<()> {
        let how = match how {
            SHUT_RD => Shutdown::Read,
            SHUT_WR => Shutdown::Write,
            _ => Shutdown::Both,
        };
        io_r(self.with(fd, |s| s.shutdown(how)))
    }
    fn close(&self, fd: i32) -> R<()> {
        if self.received.borrow_mut().remove(&fd) {
            return nix_r(nix::unistd::close(fd));
        }
        self.fds.borrow_mut().remove(&fd).map(drop).ok_or("EBADF")
    }
    async fn send_fds(&self, fd: i32, buf: &[u8], fds: &[i32], flags: i32) -> R<usize> {
        use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
        let iov = [std::io::IoSlice::new(buf)];
        let cmsgs = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsgs };
        nix_r(sendmsg::<()>(
            fd,
            &iov,
            cmsgs,
            MsgFlags::from_bits_retain(flags),
            None,
        ))
    }
    async fn recv_fds(&self, fd: i32, len: usize, room: usize, flags: i32) -> R<RecvdFds> {
        use nix::sys::socket::{MsgFlags, recvmsg};
        let mut buf = vec![0u8; len];
        // A control buffer with room for exactly `room` fds:
        // CMSG_LEN(room * sizeof(int)), a 16-byte header and the ints.
        let mut control = Vec::with_capacity(16 + 4 * room);
        // nix will not parse control messages once MSG_CTRUNC is set, so
        // the new fds are found in /proc/self/fd instead.
        let before = open_fds();
        let (n, ctrunc) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let m = nix_r(recvmsg::<()>(
                fd,
                &mut iov,
                (room > 0).then_some(&mut control),
                MsgFlags::from_bits_retain(flags),
            ))?;
            (m.bytes, m.flags.contains(MsgFlags::MSG_CTRUNC))
        };
        let fds: Vec<i32> = open_fds().difference(&before).copied().collect();
        self.received.borrow_mut().extend(&fds);
        buf.truncate(n.min(len));
        Ok((n, buf, fds, ctrunc))
    }
    fn unlink(&self, a: &Addr) -> R<()> {
        match a {
            Addr::Path(p) => std::fs::remove_file(p).map_err(|e| errno_name(e.raw_os_error())),
            _ => Err("not a path"),
        }
    }
    fn getsockname(&self, fd: i32) -> R<Vec<u8>> {
        nix_r(nix::sys::socket::getsockname::<nix::sys::socket::UnixAddr>(
            fd,
        ))
        .map(|a| nix_name(&a))
    }
    fn getpeername(&self, fd: i32) -> R<Vec<u8>> {
        nix_r(nix::sys::socket::getpeername::<nix::sys::socket::UnixAddr>(
            fd,
        ))
        .map(|a| nix_name(&a))
    }
    /// The mask through a level-triggered epoll, which reports what
    /// `poll()` would (`nix`'s poll flags lack `POLLRDHUP`).
    async fn poll(&self, fd: i32) -> u32 {
        use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
        let fds = self.fds.borrow();
        let owned = fds.get(&fd).expect("an open fd");
        let ep = Epoll::new(EpollCreateFlags::empty()).expect("epoll_create1");
        ep.add(
            owned,
            EpollEvent::new(EpollFlags::from_bits_retain(ASK as i32), 0),
        )
        .expect("EPOLL_CTL_ADD");
        let mut ev = [EpollEvent::empty()];
        match ep.wait(&mut ev, EpollTimeout::ZERO) {
            Ok(1) => ev[0].events().bits() as u32,
            _ => 0,
        }
    }
    fn ioctl(&self, fd: i32, req: i32) -> R<i32> {
        c_ioctl(fd, req)
    }
    fn getsockopt(&self, fd: i32, opt: i32) -> R<i32> {
        self.with(fd, |s| match opt {
            SO_TYPE => io_r(s.r#type()).map(i32::from),
            SO_DOMAIN => io_r(s.domain()).map(i32::from),
            SO_PROTOCOL => io_r(s.protocol()).map(|p| p.map_or(0, i32::from)),
            SO_SNDBUF => io_r(s.send_buffer_size()).map(|v| v as i32),
            SO_RCVBUF => io_r(s.recv_buffer_size()).map(|v| v as i32),
            SO_ERROR => io_r(s.take_error()).map(|e| e.and_then(|e| e.raw_os_error()).unwrap_or(0)),
            _ => Err("unsupported option"),
        })
    }
    fn epoll_watch(&self, fd: i32, events: u32) -> i32 {
        use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
        let ep = Epoll::new(EpollCreateFlags::empty()).expect("epoll_create1");
        let fds = self.fds.borrow();
        ep.add(
            fds.get(&fd).expect("an open fd"),
            EpollEvent::new(EpollFlags::from_bits_retain(events as i32), fd as u64),
        )
        .expect("EPOLL_CTL_ADD");
        let mut eps = self.epolls.borrow_mut();
        eps.push(ep);
        eps.len() as i32 - 1
    }
    fn inode(&self, fd: i32) -> u64 {
        std::fs::metadata(format!("/proc/self/fd/{fd}")).map_or(0, |m| m.ino())
    }
    fn open_close(&self, a: &Addr, flags: i32) -> R<()> {
        let Addr::Path(p) = a else {
            return Err("not a path");
        };
        let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
        let fd = nix_r(nix::fcntl::open(
            p.as_str(),
            nix::fcntl::OFlag::from_bits_retain(flags),
            mode,
        ))?;
        nix_r(nix::unistd::close(fd))
    }
    fn sh(&self, cmd: &str) -> String {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        Command::new(words[0])
            .args(&words[1..])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
    async fn epoll_wait0(&self, ep: i32) -> Vec<u32> {
        use nix::sys::epoll::{EpollEvent, EpollTimeout};
        let eps = self.epolls.borrow();
        let mut ev = [EpollEvent::empty(); 4];
        let n = eps[ep as usize]
            .wait(&mut ev, EpollTimeout::ZERO)
            .expect("epoll_wait");
        ev[..n].iter().map(|e| e.events().bits() as u32).collect()
    }
}

// ------------------------------------------------------- simulation side

struct SimApi(Process);

fn sim_addr(a: &Addr) -> UnixAddr {
    match a {
        Addr::Abs(n) => UnixAddr::abstract_name(n),
        Addr::Path(p) => UnixAddr::path(p),
        Addr::Unnamed => Ok(UnixAddr::unnamed()),
    }
    .expect("a valid unix address")
}

fn sim_name(a: SockAddr) -> Vec<u8> {
    a.unix().map(|u| u.sun_path().to_vec()).unwrap_or_default()
}

impl Api for SimApi {
    fn socket(&self, ty: i32, protocol: i32) -> R<i32> {
        sim(self.0.socket(AF_UNIX, ty, protocol))
    }
    fn socketpair(&self, domain: i32, ty: i32) -> R<(i32, i32)> {
        sim(self.0.socketpair(domain, ty, 0))
    }
    fn bind(&self, fd: i32, a: &Addr) -> R<()> {
        sim(self.0.bind(fd, sim_addr(a)))
    }
    async fn connect(&self, fd: i32, a: &Addr) -> R<()> {
        sim(self.0.connect(fd, sim_addr(a)).await)
    }
    fn listen(&self, fd: i32, backlog: i32) -> R<()> {
        sim(self.0.listen(fd, backlog))
    }
    async fn accept(&self, fd: i32) -> R<(i32, Vec<u8>)> {
        sim(self.0.accept(fd).await).map(|(n, a)| (n, sim_name(a)))
    }
    async fn sendto(&self, fd: i32, buf: &[u8], flags: i32, a: Option<&Addr>) -> R<usize> {
        sim(match a {
            Some(a) => self.0.sendto(fd, buf, flags, sim_addr(a)).await,
            None => self.0.send(fd, buf, flags).await,
        })
    }
    async fn recvfrom(&self, fd: i32, len: usize, flags: i32) -> R<Recv> {
        let mut buf = vec![0u8; len];
        sim(self.0.recvfrom(fd, &mut buf, flags).await).map(|(n, from)| {
            buf.truncate(n.min(len));
            (n, buf, from.map(sim_name))
        })
    }
    fn shutdown(&self, fd: i32, how: i32) -> R<()> {
        sim(self.0.shutdown(fd, how))
    }
    fn close(&self, fd: i32) -> R<()> {
        sim(self.0.close(fd))
    }
    async fn send_fds(&self, fd: i32, buf: &[u8], fds: &[i32], flags: i32) -> R<usize> {
        sim(self.0.send_fds(fd, buf, fds, flags).await)
    }
    async fn recv_fds(&self, fd: i32, len: usize, room: usize, flags: i32) -> R<RecvdFds> {
        let mut buf = vec![0u8; len];
        sim(self.0.recv_fds(fd, &mut buf, room, flags).await).map(|r| {
            buf.truncate(r.len.min(len));
            (r.len, buf, r.fds, r.msg_flags & MSG_CTRUNC != 0)
        })
    }
    fn unlink(&self, a: &Addr) -> R<()> {
        match a {
            Addr::Path(p) => sim(self.0.unlink(p)),
            _ => Err("not a path"),
        }
    }
    fn getsockname(&self, fd: i32) -> R<Vec<u8>> {
        sim(self.0.getsockname(fd)).map(sim_name)
    }
    fn getpeername(&self, fd: i32) -> R<Vec<u8>> {
        sim(self.0.getpeername(fd)).map(sim_name)
    }
    async fn poll(&self, fd: i32) -> u32 {
        let mut fds = [PollFd::new(fd, ASK)];
        let _ = self.0.poll(&mut fds, 0).await;
        fds[0].revents
    }
    fn ioctl(&self, fd: i32, req: i32) -> R<i32> {
        sim(self.0.ioctl(fd, req))
    }
    fn getsockopt(&self, fd: i32, opt: i32) -> R<i32> {
        sim(self.0.getsockopt(fd, SOL_SOCKET, opt))
    }
    fn epoll_watch(&self, fd: i32, events: u32) -> i32 {
        let ep = self.0.epoll_create1(0).expect("epoll_create1");
        self.0
            .epoll_ctl(
                ep,
                EPOLL_CTL_ADD,
                fd,
                Some(EpollEvent {
                    events,
                    data: fd as u64,
                }),
            )
            .expect("EPOLL_CTL_ADD");
        ep
    }
    fn open_close(&self, a: &Addr, flags: i32) -> R<()> {
        let Addr::Path(p) = a else {
            return Err("not a path");
        };
        let fd = sim(self.0.open(p, flags))?;
        sim(self.0.close(fd))
    }
    fn inode(&self, fd: i32) -> u64 {
        let table = self.0.fd_table();
        let link = format!(" {fd} -> socket:[");
        table
            .lines()
            .find_map(|l| l.split_once(&link)?.1.strip_suffix(']')?.parse().ok())
            .unwrap_or(0)
    }
    fn sh(&self, cmd: &str) -> String {
        self.0.sh(cmd)
    }
    async fn epoll_wait0(&self, ep: i32) -> Vec<u32> {
        let v = self.0.epoll_wait(ep, 4, 0).await.expect("epoll_wait");
        v.iter().map(|e| e.events).collect()
    }
}

/// Runs `scenario` on the kernel and in the simulation and compares the
/// logs.
macro_rules! differential {
    ($test:ident, $scenario:ident) => {
        #[test]
        fn $test() {
            let names = Names::new(stringify!($test));
            let real = now($scenario(&Real::default(), &names));
            let n = names.clone();
            let sim = run_sim(move |p| async move { Ok($scenario(&SimApi(p), &n).await) });
            same_log(stringify!($test), real.0, sim.0);
        }
    };
}

/// Poll bits by name, so a difference reads at once.
fn bits(mask: u32) -> String {
    let names = [
        (POLLIN, "IN"),
        (EPOLLPRI, "PRI"),
        (POLLOUT, "OUT"),
        (POLLERR, "ERR"),
        (POLLHUP, "HUP"),
        (EPOLLRDNORM, "RDNORM"),
        (EPOLLWRNORM, "WRNORM"),
        (EPOLLWRBAND, "WRBAND"),
        (POLLRDHUP, "RDHUP"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "-".to_string()
    } else {
        v.join("|")
    }
}

async fn poll_bits<A: Api>(a: &A, fd: i32) -> String {
    bits(a.poll(fd).await)
}

// ------------------------------------------------------------- scenarios

/// The errno of each misuse, and the option values a new socket reports.
async fn errnos<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    log.put("socket(SOCK_PACKET)", a.socket(SOCK_PACKET, 0).map(|_| ()));
    log.put("socket(protocol 5)", a.socket(SOCK_STREAM, 5).map(|_| ()));
    log.put(
        "socket(protocol AF_UNIX)",
        a.socket(SOCK_STREAM, AF_UNIX).map(|_| ()),
    );
    log.put(
        "socketpair(AF_INET)",
        a.socketpair(AF_INET, SOCK_STREAM).map(|_| ()),
    );
    // 12 was AF_DECnet, gone since Linux 6.1.
    log.put("socketpair(12)", a.socketpair(12, SOCK_DGRAM).map(|_| ()));

    let s = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
    for opt in [
        SO_TYPE,
        SO_DOMAIN,
        SO_PROTOCOL,
        SO_SNDBUF,
        SO_RCVBUF,
        SO_ERROR,
    ] {
        log.put(&format!("stream getsockopt {opt}"), a.getsockopt(s, opt));
    }
    log.put("listen, unbound", a.listen(s, 5));
    log.put("recv, unconnected stream", a.recv(s, 10, NB).await);
    log.put("send, unconnected stream", a.send(s, b"x", NB).await);
    log.put(
        "sendto, unconnected stream",
        a.sendto(s, b"x", NB, Some(&n.abs("nobody"))).await,
    );
    log.put("getpeername, unconnected", a.getpeername(s));
    log.put("getsockname, unbound", a.getsockname(s));
    log.put("accept, not listening", a.accept(s).await.map(|_| ()));
    log.put("shutdown, unconnected", a.shutdown(s, SHUT_WR));
    log.put("SIOCINQ, unconnected", a.ioctl(s, SIOCINQ));
    log.put("SIOCOUTQ, unconnected", a.ioctl(s, SIOCOUTQ));
    log.put(
        "connect, unbound abstract name",
        a.connect(s, &n.abs("nobody")).await,
    );
    log.put(
        "connect, missing file",
        a.connect(s, &n.path("nobody")).await,
    );

    // Abstract names.
    let srv = n.abs("srv");
    log.put("bind abstract", a.bind(s, &srv));
    log.put("getsockname, bound", a.getsockname(s));
    log.put("bind again, another name", a.bind(s, &n.abs("other")));
    log.put("bind again, unnamed (autobind)", a.bind(s, &Addr::Unnamed));
    let s2 = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind a taken name", a.bind(s2, &srv));
    let d2 = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind a taken name, datagram socket", a.bind(d2, &srv));
    log.put(
        "connect, bound but not listening",
        a.connect(s2, &srv).await,
    );
    log.put("SIOCINQ, listener", {
        let _ = a.listen(s, 5);
        a.ioctl(s, SIOCINQ)
    });
    log.put("listen, datagram socket", a.listen(d2, 5));
    log.put("accept, datagram socket", a.accept(d2).await.map(|_| ()));

    // Connected sockets.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put(
        "connect, connected, to a listener",
        a.connect(x, &srv).await,
    );
    log.put(
        "connect, connected, to nobody",
        a.connect(x, &n.abs("nobody")).await,
    );
    log.put("listen, connected", a.listen(x, 5));
    log.put(
        "sendto with an address, connected stream",
        a.sendto(x, b"x", NB, Some(&srv)).await,
    );
    log.put(
        "bind, connected (socketpair)",
        a.bind(y, &n.abs("pairname")),
    );
    log.put("getsockname after", a.getsockname(y));
    log.put("getpeername of the other end", a.getpeername(x));

    // File system names.
    let p = n.path("p");
    let d = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind file", a.bind(d, &p));
    log.put("getsockname, file", a.getsockname(d));
    let s3 = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind an existing file", a.bind(s3, &p));
    log.put("bind an existing file, same socket", a.bind(d, &p));
    let p2 = n.path("p2");
    log.put("bind again, another file", a.bind(d, &p2));
    log.put("connect to that file", a.connect(s3, &p2).await);
    log.put("connect stream to a datagram file", a.connect(s3, &p).await);
    let d3 = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("connect datagram to the file", a.connect(d3, &p).await);
    log.put("close the bound socket", a.close(d));
    log.put("connect after its close", a.connect(s3, &p).await);
    log.put(
        "sendto after its close",
        a.sendto(d3, b"x", NB, Some(&p)).await,
    );
    log.put("bind after its close", a.bind(s3, &p));
    log.put("unlink", a.unlink(&p));
    log.put("connect after unlink", a.connect(s3, &p).await);
    log.put("bind after unlink", a.bind(s3, &p));
    log.put("unlink a missing file", a.unlink(&n.path("nobody")));
    // Socket files and regular files share the names.
    log.put("open the socket file", a.open_close(&p, O_RDONLY));
    log.put(
        "create it exclusively",
        a.open_close(&p, O_RDWR | O_CREAT | O_EXCL),
    );
    let f = n.path("regular");
    log.put("create a regular file", a.open_close(&f, O_RDWR | O_CREAT));
    let s4 = a.socket(SOCK_STREAM, 0).expect("socket");
    let d4 = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind to the regular file", a.bind(s4, &f));
    log.put("connect to the regular file", a.connect(s4, &f).await);
    log.put(
        "sendto the regular file",
        a.sendto(d4, b"x", NB, Some(&f)).await,
    );
    log.put("unlink the regular file", a.unlink(&f));
    log.put("connect after its unlink", a.connect(s4, &f).await);
    log.put("bind there now", a.bind(s4, &f));
    log.put("open that socket file", a.open_close(&f, O_RDWR | O_CREAT));
    let _ = a.unlink(&f);
    let _ = a.unlink(&p);

    // Datagram sockets.
    let u = a.socket(SOCK_DGRAM, 0).expect("socket");
    for opt in [SO_TYPE, SO_PROTOCOL, SO_SNDBUF, SO_RCVBUF] {
        log.put(&format!("datagram getsockopt {opt}"), a.getsockopt(u, opt));
    }
    log.put("send, unconnected datagram", a.send(u, b"x", NB).await);
    log.put("recv, nothing queued", a.recv(u, 10, NB).await);
    log.put(
        "sendto, missing abstract name",
        a.sendto(u, b"x", NB, Some(&n.abs("nobody"))).await,
    );
    log.put(
        "sendto, missing file",
        a.sendto(u, b"x", NB, Some(&n.path("nobody"))).await,
    );
    let r = a.socket(SOCK_DGRAM, 0).expect("socket");
    let q = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind receiver", a.bind(r, &n.abs("r")));
    log.put("bind other", a.bind(q, &n.abs("q")));
    log.put(
        "receiver connects to other",
        a.connect(r, &n.abs("q")).await,
    );
    log.put(
        "connect to a receiver connected elsewhere",
        a.connect(u, &n.abs("r")).await,
    );
    log.put(
        "sendto a receiver connected elsewhere",
        a.sendto(u, b"x", NB, Some(&n.abs("r"))).await,
    );
    log.put(
        "other sends to the receiver",
        a.sendto(q, b"hi", NB, Some(&n.abs("r"))).await,
    );
    log.put("receiver reads", a.recvfrom(r, 10, NB).await);
    let (e, f) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
    let sndbuf = a.getsockopt(e, SO_SNDBUF).expect("SO_SNDBUF") as usize;
    log.put(
        "send sndbuf - 31 bytes",
        a.send(e, &vec![7; sndbuf - 31], NB).await,
    );
    log.put(
        "send sndbuf - 32 bytes",
        a.send(e, &vec![7; sndbuf - 32], NB).await,
    );
    log.put("SIOCINQ of the receiver", a.ioctl(f, SIOCINQ));
    log.put("SIOCOUTQ of the sender", a.ioctl(e, SIOCOUTQ));
    log
}

/// End of file and `EPIPE` after `shutdown()`, and the poll bits on the
/// way.
async fn stream_shutdown<A: Api>(a: &A, _n: &Names) -> Log {
    let mut log = Log::default();
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("poll x, fresh pair", poll_bits(a, x).await);
    log.put("x sends", a.send(x, b"hello", NB).await);
    log.put("poll y", poll_bits(a, y).await);
    log.put("SIOCINQ y", a.ioctl(y, SIOCINQ));
    log.put("SIOCOUTQ x", a.ioctl(x, SIOCOUTQ));
    log.put("x shuts down writing", a.shutdown(x, SHUT_WR));
    log.put("poll x", poll_bits(a, x).await);
    log.put("poll y", poll_bits(a, y).await);
    log.put("y reads", a.recv(y, 100, NB).await);
    log.put("y reads again: end of file", a.recv(y, 100, NB).await);
    log.put("x sends after SHUT_WR", a.send(x, b"z", NB).await);
    log.put("y sends", a.send(y, b"x", NB).await);
    log.put("x reads", a.recv(x, 100, NB).await);
    log.put("x reads, nothing there", a.recv(x, 100, NB).await);
    log.put("x shuts down reading", a.shutdown(x, SHUT_RD));
    log.put("poll x", poll_bits(a, x).await);
    log.put("poll y", poll_bits(a, y).await);
    log.put(
        "y sends after the peer's SHUT_RD",
        a.send(y, b"x", NB).await,
    );
    log.put("x reads after its SHUT_RD", a.recv(x, 100, NB).await);
    log.put("getpeername x", a.getpeername(x));
    log
}

/// `close()` with and without unread data, for streams, datagrams and a
/// listener with connections not yet accepted.
async fn close_with_and_without_unread<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    // The closer leaves data unread: the peer gets ECONNRESET once.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("x sends", a.send(x, b"unread", NB).await);
    log.put("y closes without reading", a.close(y));
    log.put("poll x", poll_bits(a, x).await);
    log.put("x sends", a.send(x, b"more", NB).await);
    log.put("x reads", a.recv(x, 100, NB).await);
    log.put("x reads again", a.recv(x, 100, NB).await);
    log.put("x SO_ERROR", a.getsockopt(x, SO_ERROR));
    log.put("poll x after", poll_bits(a, x).await);
    log.put("x getpeername", a.getpeername(x));
    log.put("x SIOCOUTQ", a.ioctl(x, SIOCOUTQ));

    // The closer had read everything: a clean end of file.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("y sends", a.send(y, b"data", NB).await);
    log.put("y closes", a.close(y));
    log.put("poll x", poll_bits(a, x).await);
    log.put("x SO_ERROR", a.getsockopt(x, SO_ERROR));
    log.put("x reads", a.recv(x, 100, NB).await);
    log.put("x reads again", a.recv(x, 100, NB).await);
    log.put("x sends", a.send(x, b"more", NB).await);

    // Datagrams: the peer's close is ECONNREFUSED, then no peer at all.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
    log.put("y sends", a.send(y, b"to x", NB).await);
    log.put("x closes with it unread", a.close(x));
    log.put("poll y", poll_bits(a, y).await);
    log.put("y reads", a.recv(y, 100, NB).await);
    log.put("y sends", a.send(y, b"x", NB).await);
    log.put("y sends again", a.send(y, b"x", NB).await);
    log.put("y SO_ERROR", a.getsockopt(y, SO_ERROR));
    log.put("poll y after", poll_bits(a, y).await);

    // A datagram socket whose peer reconnects elsewhere with our data
    // unread on it: the data are dropped and we get ECONNRESET.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
    let z = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind z", a.bind(z, &n.abs("z")));
    log.put("y sends to x", a.send(y, b"lost", NB).await);
    log.put("x connects to z", a.connect(x, &n.abs("z")).await);
    log.put("x SIOCINQ", a.ioctl(x, SIOCINQ));
    log.put("poll y", poll_bits(a, y).await);
    log.put("y reads", a.recv(y, 100, NB).await);
    log.put("y sends to x", a.send(y, b"x", NB).await);

    // A listener closed with connections it never accepted.
    let l = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind listener", a.bind(l, &n.abs("l")));
    log.put("listen", a.listen(l, 5));
    let c = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("connect", a.connect(c, &n.abs("l")).await);
    log.put("client sends before accept", a.send(c, b"early", NB).await);
    log.put("poll client", poll_bits(a, c).await);
    log.put("poll listener", poll_bits(a, l).await);
    log.put("close the listener", a.close(l));
    log.put("poll client", poll_bits(a, c).await);
    log.put("client reads", a.recv(c, 10, NB).await);
    log.put("client reads again", a.recv(c, 10, NB).await);
    log.put("client sends", a.send(c, b"x", NB).await);
    log.put("client SIOCOUTQ", a.ioctl(c, SIOCOUTQ));
    log.put("connect to the closed listener", {
        let c2 = a.socket(SOCK_STREAM, 0).expect("socket");
        a.connect(c2, &n.abs("l")).await
    });

    // A client that writes and closes before its connection is accepted:
    // the server still gets the connection, the data and then end of file.
    let l = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
    log.put("bind listener", a.bind(l, &n.abs("l2")));
    log.put("listen", a.listen(l, 5));
    let c = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("connect", a.connect(c, &n.abs("l2")).await);
    log.put("client sends", a.send(c, b"bye", NB).await);
    log.put("client closes", a.close(c));
    let s = a.accept(l).await;
    log.put("accept", s.as_ref().map(|(_, name)| name.clone()));
    if let Ok((s, _)) = s {
        log.put("poll accepted", poll_bits(a, s).await);
        log.put("server reads", a.recv(s, 10, NB).await);
        log.put("server reads again", a.recv(s, 10, NB).await);
        log.put("server sends", a.send(s, b"x", NB).await);
    }
    log.put("accept, none left", a.accept(l).await.map(|_| ()));
    log
}

/// Datagrams keep their boundaries and are cut to the reader's buffer; a
/// stream joins writes and splits reads anywhere.
async fn boundaries_and_truncation<A: Api>(a: &A, _n: &Names) -> Log {
    let mut log = Log::default();
    for ty in [SOCK_DGRAM, SOCK_SEQPACKET] {
        let (x, y) = a.socketpair(AF_UNIX, ty).expect("socketpair");
        for m in [&b"hello"[..], b"hello world", b"", b"abc", b"truncated"] {
            log.put(
                &format!("{ty}: send {} bytes", m.len()),
                a.send(x, m, NB).await,
            );
        }
        log.put("SIOCINQ", a.ioctl(y, SIOCINQ));
        log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
        log.put("recv 8", a.recv(y, 8, NB).await);
        log.put("recv 8", a.recv(y, 8, NB).await);
        log.put("recv 8 (empty datagram)", a.recv(y, 8, NB).await);
        log.put("recv 8, MSG_PEEK", a.recv(y, 8, NB | MSG_PEEK).await);
        log.put("recv 1, MSG_TRUNC", a.recv(y, 1, NB | MSG_TRUNC).await);
        log.put("recv 4, MSG_TRUNC", a.recv(y, 4, NB | MSG_TRUNC).await);
        log.put("recv, queue empty", a.recv(y, 8, NB).await);
        log.put("SIOCOUTQ after", a.ioctl(x, SIOCOUTQ));
    }
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("stream: send 5", a.send(x, b"hello", NB).await);
    log.put("send 11", a.send(x, b"hello world", NB).await);
    log.put("send 0", a.send(x, b"", NB).await);
    log.put("SIOCINQ", a.ioctl(y, SIOCINQ));
    log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
    log.put("recv 3, MSG_PEEK", a.recv(y, 3, NB | MSG_PEEK).await);
    log.put("recv 100, MSG_PEEK", a.recv(y, 100, NB | MSG_PEEK).await);
    log.put("recv 7", a.recv(y, 7, NB).await);
    log.put("SIOCINQ", a.ioctl(y, SIOCINQ));
    log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
    log.put("recv 100, MSG_TRUNC", a.recv(y, 100, NB | MSG_TRUNC).await);
    log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
    log.put("recv, empty", a.recv(y, 100, NB).await);
    log
}

/// How many datagrams a non-blocking sender queues before `EAGAIN`: to a
/// receiver that is not connected back, `max_dgram_qlen + 1`, whatever
/// their size (if the send buffer allows); to its socketpair peer, as
/// many as its send buffer holds. A read lets one more in.
async fn dgram_queue_limit<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    for size in [1usize, 100, 4096, 65536] {
        let msg = vec![1u8; size];
        // To a bound receiver, connected.
        let r = a.socket(SOCK_DGRAM, 0).expect("socket");
        let name = n.abs(&format!("r{size}"));
        log.put("bind receiver", a.bind(r, &name));
        let s = a.socket(SOCK_DGRAM, 0).expect("socket");
        log.put("connect sender", a.connect(s, &name).await);
        log.put("poll sender", poll_bits(a, s).await);
        let (count, last) = fill(a, s, &msg, None).await;
        log.put(&format!("{size} B, connected: sent"), (count, last));
        log.put("sender SIOCOUTQ", a.ioctl(s, SIOCOUTQ));
        log.put("poll sender (full)", poll_bits(a, s).await);
        log.put("poll receiver", poll_bits(a, r).await);
        log.put("receiver reads one", a.recv(r, 1, NB).await.map(|(n, _)| n));
        log.put("poll sender", poll_bits(a, s).await);
        log.put("send one more", a.send(s, &msg, NB).await);
        log.put("and another", a.send(s, &msg, NB).await);

        // Unconnected, by address: the same limit.
        let u = a.socket(SOCK_DGRAM, 0).expect("socket");
        let (count, last) = fill(a, u, &msg, Some(&name)).await;
        log.put(&format!("{size} B, sendto a full receiver"), (count, last));
        let r2 = a.socket(SOCK_DGRAM, 0).expect("socket");
        let name2 = n.abs(&format!("r2-{size}"));
        log.put("bind receiver 2", a.bind(r2, &name2));
        let (count, last) = fill(a, u, &msg, Some(&name2)).await;
        log.put(&format!("{size} B, sendto another receiver"), (count, last));
        log.put("SIOCOUTQ", a.ioctl(u, SIOCOUTQ));

        // Socketpair: only the send buffer limits.
        let (x, y) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
        let (count, last) = fill(a, x, &msg, None).await;
        log.put(&format!("{size} B, socketpair: sent"), (count, last));
        log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
        log.put("poll x", poll_bits(a, x).await);
        log.put("poll y", poll_bits(a, y).await);
        // Reading lets the writer go on once three quarters are free.
        let mut read = 0;
        while a.recv(y, 1, NB).await.is_ok() {
            read += 1;
            if a.poll(x).await & POLLOUT != 0 {
                break;
            }
        }
        log.put("reads until x is writable", read);
        log.put("SIOCOUTQ then", a.ioctl(x, SIOCOUTQ));
    }
    log
}

/// Sends `msg` without blocking until the call fails: how many went in,
/// and the error that stopped it.
async fn fill<A: Api>(a: &A, fd: i32, msg: &[u8], to: Option<&Addr>) -> (usize, R<usize>) {
    let mut count = 0;
    loop {
        match a.sendto(fd, msg, NB, to).await {
            Ok(_) if count < 100_000 => count += 1,
            other => return (count, other),
        }
    }
}

/// How many bytes a non-blocking stream writer gets in before `EAGAIN`
/// with the default buffers, for several write sizes (each write is cut
/// into skbs whose truesize is charged), and when the reader lets it go
/// on.
async fn stream_fill<A: Api>(a: &A, _n: &Names) -> Log {
    let mut log = Log::default();
    for size in [1usize, 100, 4096, 65536, 300_000] {
        let msg = vec![2u8; size];
        let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
        let mut calls = 0;
        let mut total = 0;
        let stop = loop {
            match a.send(x, &msg, NB).await {
                Ok(k) if calls < 1_000_000 => {
                    calls += 1;
                    total += k;
                }
                other => break other,
            }
        };
        log.put(&format!("{size} B writes"), (calls, total, stop));
        log.put("SIOCOUTQ", a.ioctl(x, SIOCOUTQ));
        log.put("SIOCINQ", a.ioctl(y, SIOCINQ));
        log.put("poll x", poll_bits(a, x).await);
        log.put("poll y", poll_bits(a, y).await);
        // Read in 16 KiB pieces; note when the writer becomes writable.
        let mut steps = Vec::new();
        while let Ok((k, _)) = a.recv(y, 16384, NB).await {
            let out = a.ioctl(x, SIOCOUTQ).unwrap_or(-1);
            let w = a.poll(x).await & POLLOUT != 0;
            steps.push((k, out, w));
        }
        log.put("reads (bytes, writer's SIOCOUTQ, writer writable)", steps);
    }
    log
}

/// The listener's queue: `backlog + 1` connections wait for `accept()`;
/// then a non-blocking `connect()` gets `EAGAIN`, until an accept.
async fn listen_backlog<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    for backlog in [0, 2] {
        let l = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
        let name = n.abs(&format!("l{backlog}"));
        log.put("bind", a.bind(l, &name));
        log.put("poll, not listening", poll_bits(a, l).await);
        log.put("listen", a.listen(l, backlog));
        log.put("poll, listening", poll_bits(a, l).await);
        let mut ok = 0;
        let stop = loop {
            let c = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
            match a.connect(c, &name).await {
                Ok(()) if ok < 100 => {
                    ok += 1;
                    if ok == 1 {
                        log.put("poll client", poll_bits(a, c).await);
                    }
                }
                other => break other,
            }
        };
        log.put(&format!("backlog {backlog}: connects"), (ok, stop));
        log.put("poll listener", poll_bits(a, l).await);
        let acc = a.accept(l).await;
        log.put("accept", acc.as_ref().map(|(_, p)| p.clone()));
        if let Ok((s, _)) = acc {
            log.put("poll accepted", poll_bits(a, s).await);
            log.put("getsockname accepted", a.getsockname(s));
        }
        let c = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
        log.put("one more connect", a.connect(c, &name).await);
        log.put("and another", {
            let c = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
            a.connect(c, &name).await
        });
        log.put("listen again, backlog + 1", a.listen(l, backlog + 1));
        log.put("then a connect", {
            let c = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
            a.connect(c, &name).await
        });
    }
    log
}

/// Names: unnamed, abstract, file and automatic; what `accept()`,
/// `getpeername()` and `recvfrom()` report.
async fn names<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("pair getsockname", a.getsockname(x));
    log.put("pair getpeername", a.getpeername(y));

    let l = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind listener", a.bind(l, &n.abs("srv")));
    log.put("listen", a.listen(l, 5));
    let c = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("connect, unnamed client", a.connect(c, &n.abs("srv")).await);
    log.put("client getsockname", a.getsockname(c));
    log.put("client getpeername", a.getpeername(c));
    let acc = a.accept(l).await.expect("accept");
    log.put("accept's peer", &acc.1);
    log.put("accepted getsockname", a.getsockname(acc.0));
    log.put("accepted getpeername", a.getpeername(acc.0));
    log.put("server sends", a.send(acc.0, b"hi", NB).await);
    log.put("client recvfrom", a.recvfrom(c, 10, NB).await);
    log.put("client sends", a.send(c, b"hi", NB).await);
    log.put("server recvfrom", a.recvfrom(acc.0, 10, NB).await);
    log.put("the server closes", a.close(acc.0));
    log.put("client getpeername after", a.getpeername(c));

    let c2 = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind client", a.bind(c2, &n.abs("cli")));
    log.put("connect, named client", a.connect(c2, &n.abs("srv")).await);
    let acc2 = a.accept(l).await.expect("accept");
    log.put("accept's peer", &acc2.1);
    log.put("accepted getpeername", a.getpeername(acc2.0));

    // Automatic names: five hex digits after the NUL.
    let au = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("autobind", a.bind(au, &Addr::Unnamed));
    let name = a.getsockname(au).unwrap_or_default();
    log.put(
        "autobound name: length, leading NUL, hex digits",
        (
            name.len(),
            name.first().copied(),
            name[1..].iter().all(u8::is_ascii_hexdigit),
        ),
    );
    log.put("autobind again", a.bind(au, &Addr::Unnamed));
    log.put("name kept", a.getsockname(au).map(|m| m == name));

    // Datagram senders' names.
    let r = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind receiver to a file", a.bind(r, &n.path("r")));
    let anon = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put(
        "unnamed sends",
        a.sendto(anon, b"a", NB, Some(&n.path("r"))).await,
    );
    let named = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind sender", a.bind(named, &n.abs("sender")));
    log.put(
        "named sends",
        a.sendto(named, b"b", NB, Some(&n.path("r"))).await,
    );
    log.put("named closes", a.close(named));
    log.put("recvfrom (unnamed)", a.recvfrom(r, 10, NB).await);
    log.put("recvfrom (named, now closed)", a.recvfrom(r, 10, NB).await);
    log.put("receiver getsockname", a.getsockname(r));
    let _ = a.unlink(&n.path("r"));
    log
}

/// Sequenced packets: connections like a stream, boundaries like
/// datagrams, end of file like a stream.
async fn seqpacket<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    let s = a.socket(SOCK_SEQPACKET | SOCK_NONBLOCK, 0).expect("socket");
    log.put("poll, fresh", poll_bits(a, s).await);
    log.put("recv, unconnected", a.recv(s, 10, NB).await);
    log.put("send, unconnected", a.send(s, b"x", NB).await);
    log.put("bind", a.bind(s, &n.abs("seq")));
    log.put("listen", a.listen(s, 1));
    log.put("poll, listening", poll_bits(a, s).await);
    let c = a.socket(SOCK_SEQPACKET, 0).expect("socket");
    log.put("connect", a.connect(c, &n.abs("seq")).await);
    log.put("stream client connects", {
        let st = a.socket(SOCK_STREAM, 0).expect("socket");
        a.connect(st, &n.abs("seq")).await
    });
    let acc = a.accept(s).await.expect("accept");
    log.put("client sends 2 messages", {
        let one = a.send(c, b"first", NB).await;
        let two = a.send(c, b"second message", NB).await;
        (one, two)
    });
    log.put("SIOCINQ", a.ioctl(acc.0, SIOCINQ));
    log.put("server reads 3", a.recv(acc.0, 3, NB).await);
    log.put(
        "server reads 3, MSG_TRUNC",
        a.recv(acc.0, 3, NB | MSG_TRUNC).await,
    );
    log.put("server reads, nothing", a.recv(acc.0, 3, NB).await);
    log.put(
        "sendto with an address is ignored",
        a.sendto(c, b"x", NB, Some(&n.abs("nobody"))).await,
    );
    log.put("server reads", a.recv(acc.0, 3, NB).await);
    log.put("client closes", a.close(c));
    log.put("poll server", poll_bits(a, acc.0).await);
    log.put("server reads: end", a.recv(acc.0, 3, NB).await);
    log.put("server sends", a.send(acc.0, b"x", NB).await);
    let (x, y) = a.socketpair(AF_UNIX, SOCK_SEQPACKET).expect("socketpair");
    log.put("pair: x shuts down writing", a.shutdown(x, SHUT_WR));
    log.put("poll y", poll_bits(a, y).await);
    log.put("y reads", a.recv(y, 3, NB).await);
    log
}

/// Poll bits of each kind of socket from creation on.
async fn poll_states<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    for ty in [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET] {
        let s = a.socket(ty, 0).expect("socket");
        log.put(&format!("{ty}: fresh"), poll_bits(a, s).await);
        log.put("bound", {
            let _ = a.bind(s, &n.abs(&format!("poll{ty}")));
            poll_bits(a, s).await
        });
        log.put("shut down reading", {
            let _ = a.shutdown(s, SHUT_RD);
            poll_bits(a, s).await
        });
        log.put("shut down both", {
            let _ = a.shutdown(s, SHUT_WR);
            poll_bits(a, s).await
        });
        let (x, y) = a.socketpair(AF_UNIX, ty).expect("socketpair");
        log.put("pair", poll_bits(a, x).await);
        log.put("peer shut down writing", {
            let _ = a.shutdown(y, SHUT_WR);
            poll_bits(a, x).await
        });
        log.put("peer shut down both", {
            let _ = a.shutdown(y, SHUT_RD);
            poll_bits(a, x).await
        });
        log.put("peer closed", {
            let _ = a.close(y);
            poll_bits(a, x).await
        });
    }
    log
}

/// What epoll reports as buffers fill and drain: a writer hears
/// `EPOLLOUT` only when three quarters of its send buffer are free again,
/// a datagram sender to a full receiver hears it when the receiver reads
/// (the `peer_wait` relay), and the edge-triggered forms report each
/// change once.
async fn epoll_wakeups<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    let evs = |v: Vec<u32>| v.into_iter().map(bits).collect::<Vec<_>>();
    // A datagram sender connected to a receiver that does not read.
    let r = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind receiver", a.bind(r, &n.abs("r")));
    let s = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("connect", a.connect(s, &n.abs("r")).await);
    let lt = a.epoll_watch(s, EPOLLOUT);
    let et = a.epoll_watch(s, EPOLLOUT | EPOLLET);
    log.put("LT, empty queue", evs(a.epoll_wait0(lt).await));
    log.put("ET, empty queue", evs(a.epoll_wait0(et).await));
    log.put("ET, again", evs(a.epoll_wait0(et).await));
    log.put("fill", fill(a, s, b"m", None).await);
    log.put("LT, full", evs(a.epoll_wait0(lt).await));
    log.put("ET, full", evs(a.epoll_wait0(et).await));
    log.put(
        "receiver reads one",
        a.recv(r, 10, NB).await.map(|(k, _)| k),
    );
    log.put("LT, after a read", evs(a.epoll_wait0(lt).await));
    log.put("ET, after a read", evs(a.epoll_wait0(et).await));
    log.put("ET, again", evs(a.epoll_wait0(et).await));
    log.put("send", a.send(s, b"m", NB).await);
    log.put("ET, full again", evs(a.epoll_wait0(et).await));
    log.put(
        "receiver reads one",
        a.recv(r, 10, NB).await.map(|(k, _)| k),
    );
    log.put("ET, after a read", evs(a.epoll_wait0(et).await));

    // A stream writer: EPOLLOUT comes back at a quarter of the buffer.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    let et = a.epoll_watch(x, EPOLLOUT | EPOLLET);
    let yin = a.epoll_watch(y, EPOLLIN | EPOLLRDHUP | EPOLLET);
    log.put("stream writer ET", evs(a.epoll_wait0(et).await));
    log.put("reader ET, nothing", evs(a.epoll_wait0(yin).await));
    let mut sent = 0;
    while let Ok(k) = a.send(x, &[3u8; 4096], NB).await {
        sent += k;
    }
    log.put("writer filled", sent);
    log.put("reader ET", evs(a.epoll_wait0(yin).await));
    log.put("reader ET, again", evs(a.epoll_wait0(yin).await));
    let mut seen = Vec::new();
    while let Ok((k, _)) = a.recv(y, 8192, NB).await {
        seen.push((
            k,
            a.ioctl(x, SIOCOUTQ).unwrap_or(-1),
            evs(a.epoll_wait0(et).await),
        ));
    }
    log.put(
        "reads: (bytes, writer's SIOCOUTQ, writer's ET events)",
        seen,
    );
    log.put("writer sends", a.send(x, b"z", NB).await);
    log.put("reader ET", evs(a.epoll_wait0(yin).await));
    log.put("writer shuts down writing", a.shutdown(x, SHUT_WR));
    log.put("reader ET", evs(a.epoll_wait0(yin).await));
    log.put("writer closes", a.close(x));
    log.put("reader ET", evs(a.epoll_wait0(yin).await));

    // A listener: a connection is EPOLLIN.
    let l = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
    log.put("bind listener", a.bind(l, &n.abs("l")));
    log.put("listen", a.listen(l, 1));
    let lin = a.epoll_watch(l, EPOLLIN | EPOLLET);
    log.put("listener ET", evs(a.epoll_wait0(lin).await));
    let c = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("connect", a.connect(c, &n.abs("l")).await);
    log.put("listener ET", evs(a.epoll_wait0(lin).await));
    log
}

/// What `ss -xan` and `/proc/net/unix` say about a set of sockets: each
/// row by the socket's role (inodes differ between the two sides), with
/// its netid, state, queues, name and peer, and its `/proc` reference
/// count, flags, type and state.
async fn tool_views<A: Api>(a: &A, n: &Names) -> Log {
    let mut log = Log::default();
    let mut roles: Vec<(u64, &str)> = Vec::new();
    // A listener with one accepted connection (data queued both ways) and
    // one not yet accepted.
    let l = a.socket(SOCK_STREAM | SOCK_NONBLOCK, 0).expect("socket");
    log.put("bind", a.bind(l, &n.abs("l")));
    log.put("listen", a.listen(l, 7));
    let c1 = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("connect", a.connect(c1, &n.abs("l")).await);
    let (s1, _) = a.accept(l).await.expect("accept");
    log.put("client sends", a.send(c1, &[1; 3000], NB).await);
    log.put("server sends", a.send(s1, &[1; 5], NB).await);
    let c2 = a.socket(SOCK_STREAM, 0).expect("socket");
    log.put("bind client 2", a.bind(c2, &n.abs("c2")));
    log.put("connect client 2", a.connect(c2, &n.abs("l")).await);
    log.put("client 2 sends", a.send(c2, &[1; 10], NB).await);
    // Datagrams: a pair with two queued, a file-bound receiver with a
    // connected sender, an unconnected socket.
    let (x, y) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
    log.put("x sends", a.send(x, &[1; 100], NB).await);
    log.put("x sends", a.send(x, &[1; 7], NB).await);
    let r = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("bind receiver", a.bind(r, &n.path("r")));
    let snd = a.socket(SOCK_DGRAM, 0).expect("socket");
    log.put("connect sender", a.connect(snd, &n.path("r")).await);
    log.put("sender sends", a.send(snd, &[1; 50], NB).await);
    let u = a.socket(SOCK_DGRAM, 0).expect("socket");
    // A pair whose one end closed.
    let (p, q) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("q closes", a.close(q));
    for (fd, role) in [
        (l, "listener"),
        (c1, "client1"),
        (s1, "server1"),
        (c2, "client2"),
        (x, "x"),
        (y, "y"),
        (r, "receiver"),
        (snd, "sender"),
        (u, "unbound"),
        (p, "orphan"),
    ] {
        roles.push((a.inode(fd), role));
    }
    let role = |ino: &str| -> String {
        match ino.parse::<u64>() {
            Ok(0) => "0".to_string(),
            Ok(i) => roles
                .iter()
                .find(|(r, _)| *r == i)
                .map_or_else(|| "someone else".to_string(), |(_, n)| n.to_string()),
            Err(_) => ino.to_string(),
        }
    };
    let ours = |ino: &str| {
        ino.parse::<u64>()
            .is_ok_and(|i| roles.iter().any(|(r, _)| *r == i))
    };
    let name_of = |t: &str| t.replace(&n.0, "TAG");
    let mut ss_rows: Vec<String> = a
        .sh("ss -xan")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            (t.len() >= 8 && ours(t[5])).then(|| {
                format!(
                    "{} {} {} {} {} {} -> {} {}",
                    role(t[5]),
                    t[0],
                    t[1],
                    t[2],
                    t[3],
                    name_of(t[4]),
                    t[6],
                    role(t[7])
                )
            })
        })
        .collect();
    ss_rows.sort();
    log.put("ss -xan", ss_rows);
    let mut proc_rows: Vec<String> = a
        .sh("cat /proc/net/unix")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            let path = t.get(7).map(|p| name_of(p)).unwrap_or_default();
            let embryo = t.get(6) == Some(&"0") && path.contains("TAG");
            (t.len() >= 7 && (ours(t[6]) || embryo)).then(|| {
                format!(
                    "{} refs {} flags {} type {} st {} {path}",
                    role(t[6]),
                    t[1],
                    t[3],
                    t[4],
                    t[5]
                )
            })
        })
        .collect();
    proc_rows.sort();
    log.put("/proc/net/unix", proc_rows);
    let _ = a.unlink(&n.path("r"));
    log
}

/// Passing open files (`SCM_RIGHTS`): the receiver's new fd is the same
/// socket (writing to it reaches the other end, and the other end sees end
/// of file only when every copy is closed); files a reader has no room for,
/// or never reads, are closed; a stream read stops after the write that
/// carried files.
async fn pass_fds<A: Api>(a: &A, _n: &Names) -> Log {
    let mut log = Log::default();
    fn got(r: &R<RecvdFds>) -> R<(usize, Vec<u8>, usize, bool)> {
        r.clone().map(|(n, b, fds, ct)| (n, b, fds.len(), ct))
    }
    let (ch, cr) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    // Pass one end of another pair and close our copy.
    let (p, q) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("send q", a.send_fds(ch, b"x", &[q], NB).await);
    log.put("close our q", a.close(q));
    log.put("SIOCOUTQ of the sender", a.ioctl(ch, SIOCOUTQ));
    log.put("p, q still open", a.recv(p, 10, NB).await);
    let r = a.recv_fds(cr, 10, 4, NB).await;
    log.put("receive it", got(&r));
    if let Ok((_, _, fds, _)) = &r {
        let q2 = fds[0];
        log.put("write to the received fd", a.send(q2, b"hello", NB).await);
        log.put("p reads", a.recv(p, 10, NB).await);
        log.put("close the received fd", a.close(q2));
        log.put("p reads: end of file", a.recv(p, 10, NB).await);
    }
    // A plain recv() has no room: the file is closed.
    let (p, q) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("send q", a.send_fds(ch, b"y", &[q], NB).await);
    log.put("close our q", a.close(q));
    log.put("plain recv", a.recv(cr, 10, NB).await);
    log.put("p reads: end of file", a.recv(p, 10, NB).await);
    // Room for one of three.
    let (p, q) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put(
        "send q three times",
        a.send_fds(ch, b"z", &[q, q, q], NB).await,
    );
    log.put("close our q", a.close(q));
    let r = a.recv_fds(cr, 10, 1, NB).await;
    log.put("room for one", got(&r));
    log.put("p, one copy left", a.recv(p, 10, NB).await);
    if let Ok((_, _, fds, _)) = &r {
        for &f in fds {
            let _ = a.close(f);
        }
    }
    log.put(
        "p reads after closing it: end of file",
        a.recv(p, 10, NB).await,
    );
    // A stream read stops after the write that carried files.
    let (_p, q) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("send ab + q", a.send_fds(ch, b"ab", &[q], NB).await);
    log.put("send cd", a.send(ch, b"cd", NB).await);
    log.put("send ef + q", a.send_fds(ch, b"ef", &[q], NB).await);
    log.put("send gh", a.send(ch, b"gh", NB).await);
    for _ in 0..4 {
        log.put("recvmsg", got(&a.recv_fds(cr, 100, 4, NB).await));
    }
    log.put("no bytes, one file", a.send_fds(ch, b"", &[q], NB).await);
    log.put("recvmsg", got(&a.recv_fds(cr, 100, 4, NB).await));
    // Datagrams, MSG_PEEK gives copies.
    let (d1, d2) = a.socketpair(AF_UNIX, SOCK_DGRAM).expect("socketpair");
    log.put("dgram send q", a.send_fds(d1, b"dg", &[q], NB).await);
    log.put("SIOCOUTQ", a.ioctl(d1, SIOCOUTQ));
    let peeked = a.recv_fds(d2, 10, 4, NB | MSG_PEEK).await;
    let taken = a.recv_fds(d2, 10, 4, NB).await;
    log.put("peek", got(&peeked));
    log.put("recv", got(&taken));
    log.put(
        "peek and recv gave two fds",
        matches!((&peeked, &taken), (Ok((_, _, x, _)), Ok((_, _, y, _))) if x != y),
    );
    log.put("dgram, room too small", {
        let _ = a.send_fds(d1, b"dg", &[q, q], NB).await;
        got(&a.recv_fds(d2, 10, 1, NB).await)
    });
    // Unread files are closed with the socket that held them.
    let (p, q3) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    let (c1, c2) = a.socketpair(AF_UNIX, SOCK_STREAM).expect("socketpair");
    log.put("send q3", a.send_fds(c1, b"w", &[q3], NB).await);
    log.put("close our q3", a.close(q3));
    log.put("p, q3 in flight", a.recv(p, 10, NB).await);
    log.put("the receiver closes unread", a.close(c2));
    log.put("p reads: end of file", a.recv(p, 10, NB).await);
    // Errors.
    log.put("a bad fd", a.send_fds(ch, b"x", &[9999], NB).await);
    log.put("254 fds", a.send_fds(ch, b"x", &[q; 254], NB).await);
    log.put("253 fds", a.send_fds(ch, b"x", &[q; 253], NB).await);
    let r = a.recv_fds(cr, 10, 253, NB).await;
    log.put("received", got(&r));
    if let Ok((_, _, fds, _)) = r {
        for f in fds {
            let _ = a.close(f);
        }
    }
    log
}

differential!(errnos_of_misuse, errnos);
/// `SCM_RIGHTS`: the real side finds the fds it received in
/// `/proc/self/fd`, so it needs the process to itself (nextest's
/// process-per-test mode); otherwise only the simulation runs.
#[test]
fn scm_rights_passes_open_files() {
    let names = Names::new("scm_rights");
    let n = names.clone();
    let sim = run_sim(move |p| async move { Ok(pass_fds(&SimApi(p), &n).await) });
    if std::env::var("NEXTEST_EXECUTION_MODE").is_ok_and(|m| m == "process-per-test") {
        let real = now(pass_fds(&Real::default(), &names));
        same_log("scm_rights_passes_open_files", real.0, sim.0);
    } else {
        println!("note: not run by nextest in process-per-test mode: the real side is skipped");
    }
}
differential!(ss_and_proc_net_unix_rows, tool_views);
differential!(epoll_wakeups_as_buffers_drain, epoll_wakeups);
differential!(eof_and_epipe_after_shutdown, stream_shutdown);
differential!(close_with_unread_data_resets, close_with_and_without_unread);
differential!(message_boundaries_and_truncation, boundaries_and_truncation);
differential!(datagram_queue_limit_and_sndbuf, dgram_queue_limit);
differential!(stream_bytes_before_eagain, stream_fill);
differential!(listen_backlog_and_eagain, listen_backlog);
differential!(names_and_addresses, names);
differential!(seqpacket_boundaries_and_eof, seqpacket);
differential!(poll_bits_by_state, poll_states);

// ------------------------------------------------------------ tool formats

/// A row of real `ss -x` output, read back into the formatter's input.
fn parse_ss_row(line: &str) -> Option<stack::tools::UnixSockRow> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() < 8 {
        return None;
    }
    let state = match t[1] {
        "ESTAB" => 1,
        "UNCONN" => 7,
        "LISTEN" => 10,
        _ => return None,
    };
    let process = t.get(8).and_then(|u| {
        // users:(("comm",pid=N,fd=M))
        let inner = u.strip_prefix("users:((\"")?.strip_suffix("))")?;
        let (comm, rest) = inner.split_once("\",pid=")?;
        let (pid, fd) = rest.split_once(",fd=")?;
        Some((comm.to_string(), pid.parse().ok()?, fd.parse().ok()?))
    });
    Some(stack::tools::UnixSockRow {
        ty: match t[0] {
            "u_str" => SOCK_STREAM,
            "u_seq" => SOCK_SEQPACKET,
            _ => SOCK_DGRAM,
        },
        state,
        rqueue: t[2].parse().ok()?,
        wqueue: t[3].parse().ok()?,
        name: (t[4] != "*").then(|| t[4].to_string()),
        inode: t[5].parse().ok()?,
        peer_inode: t[7].parse().ok()?,
        has_socket: true,
        process,
        ..Default::default()
    })
}

/// A line of the real `/proc/net/unix`, read back likewise.
fn parse_proc_row(line: &str) -> Option<stack::tools::UnixSockRow> {
    let t: Vec<&str> = line.split_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s, 16).ok();
    let st = hex(t.get(5)?)?;
    let flags = hex(t.get(3)?)?;
    Some(stack::tools::UnixSockRow {
        sk_ptr: hex(t.first()?.trim_end_matches(':'))?,
        refcnt: hex(t.get(1)?)? as u32,
        ty: hex(t.get(4)?)? as i32,
        state: if flags != 0 {
            10
        } else if st == 2 || st == 3 {
            1
        } else {
            7
        },
        has_socket: st == 1 || st == 3,
        inode: t.get(6)?.parse().ok()?,
        name: t.get(7).map(|s| s.to_string()),
        ..Default::default()
    })
}

/// Our formatters print what the real `ss -x` and `/proc/net/unix` print
/// for the same rows, byte for byte (column widths, padding, the unix
/// address delimiter, the process column, the `Num` and `St` fields).
#[test]
fn ss_x_and_proc_net_unix_formats_match_the_real_tools() {
    let n = Names::new("formats");
    let a = Real::default();
    // Close-on-exec, so that `ss` itself does not hold them (and show up
    // in the process column).
    let l = a.socket(SOCK_STREAM | SOCK_CLOEXEC, 0).expect("socket");
    a.bind(l, &n.abs("listener")).expect("bind");
    a.listen(l, 3).expect("listen");
    let c = a.socket(SOCK_STREAM | SOCK_CLOEXEC, 0).expect("socket");
    now(a.connect(c, &n.abs("listener"))).expect("connect");
    now(a.send(c, b"hello", NB)).expect("send");
    let d = a.socket(SOCK_DGRAM | SOCK_CLOEXEC, 0).expect("socket");
    a.bind(d, &n.abs("d")).expect("bind");
    let p = a.socket(SOCK_DGRAM | SOCK_CLOEXEC, 0).expect("socket");
    a.bind(p, &n.path("p")).expect("bind");
    let s = a.socket(SOCK_DGRAM | SOCK_CLOEXEC, 0).expect("socket");
    now(a.connect(s, &n.path("p"))).expect("connect");
    now(a.send(s, b"abc", NB)).expect("send");
    let filter = format!("src @{}-* or src /tmp/{}-*", n.0, n.0);
    for flags in ["-xa", "-xan", "-xap", "-xl", "-x"] {
        let real = a.sh(&format!("ss {flags} {filter}"));
        if real.is_empty() {
            println!("skipping: ss is not installed");
            return;
        }
        let rows: Vec<_> = real.lines().skip(1).filter_map(parse_ss_row).collect();
        if flags != "-x" {
            assert!(rows.len() >= 2, "ss {flags} listed our sockets:\n{real}");
        }
        let ours = stack::tools::ss_with_unix(
            &[],
            &rows,
            stack::tools::SsOpts::from_flags(flags).unwrap(),
        );
        assert_eq!(ours, real, "ss {flags}");
    }
    let inodes: Vec<u64> = [l, c, d, p, s].iter().map(|&fd| a.inode(fd)).collect();
    let proc = a.sh("cat /proc/net/unix");
    let mut lines = proc.lines();
    let header = lines.next().unwrap_or_default();
    let mine: Vec<&str> = lines
        .filter(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            let ino: u64 = t.get(6).and_then(|i| i.parse().ok()).unwrap_or(u64::MAX);
            inodes.contains(&ino) || (ino == 0 && l.contains(&n.0))
        })
        .collect();
    assert_eq!(
        mine.len(),
        6,
        "our five sockets and the unaccepted one:\n{proc}"
    );
    let rows: Vec<_> = mine.iter().filter_map(|l| parse_proc_row(l)).collect();
    let real = format!("{header}\n{}\n", mine.join("\n"));
    assert_eq!(stack::tools::proc_net_unix(&rows), real);
    let _ = a.unlink(&n.path("p"));
}
