//! The system-call interface a simulated process programs against.
//!
//! A [`Process`] is handed to each process's `async` body. Its methods are
//! the POSIX calls with Linux's semantics and errno values; they take raw
//! `i32` fds and the `AF_*`/`SOCK_*`/`SO_*` constants of [`crate::uapi`],
//! so a snippet reads like the C it teaches. Calls that can sleep in the
//! kernel (`recvfrom`, `sendto`, `read`, `write`, `connect`, `sleep`) are
//! `async`: each `.await` is where a real thread could block.
//!
//! The kernel's entry path is `arch/x86/entry/` and each call's
//! `SYSCALL_DEFINE` sits with its subsystem; here [`Process`] is the entry,
//! and each subsystem adds its calls to it in its own module (the socket
//! calls here and in `net/`, epoll's in `fs/eventpoll.rs`, …), as the
//! kernel does.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use crate::fs::file::FileKind;
use crate::kernel::host::Costs;
use crate::kernel::ids::Pid;
use crate::kernel::task::TaskState;
use crate::kernel::world::World;
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;
use crate::uapi::{SockAddr, ToSockAddr};

/// Result of a system call: the value, or the errno Linux would set.
pub type SysResult<T> = Result<T, Errno>;

/// The calling process, as seen by the kernel: every system call goes
/// through it.
#[derive(Clone)]
pub struct Process {
    pub(crate) world: Rc<RefCell<World>>,
    pub(crate) pid: Pid,
}

impl Process {
    /// Enters the kernel on the process's behalf. What the host's counters
    /// grow by meanwhile is this process's doing, and is added to its own.
    pub(crate) fn kernel<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut w = self.world.borrow_mut();
        let host = w.task(self.pid).host;
        let before = w.host(host).costs;
        let r = f(&mut w);
        // Zero-copy buffers the call freed report before the process goes on.
        w.zerocopy_run_callbacks();
        let spent = w.host(host).costs.since(&before);
        w.task_mut(self.pid).costs.add(&spent);
        r
    }

    /// Counts the call; with tracing on, records its entry. The call's
    /// text (as `strace` would print it) is built only when something will
    /// read it: the trace, or a deadlock report if the call sleeps.
    fn enter<N: FnOnce() -> String>(&self, w: &mut World, name: &mut Option<N>) {
        let pid = self.pid;
        let host = w.task(pid).host;
        let t = w.task_mut(pid);
        t.syscalls += 1;
        t.syscall.clear();
        w.costs(host).syscalls += 1;
        if w.trace.enabled
            && let Some(n) = name.take()
        {
            let call = n();
            w.trace(host, Layer::Syscall, |w| {
                format!("{}[{pid}]: {call}", w.task(pid).comm)
            });
            w.task_mut(pid).syscall = call;
        }
    }

    /// Runs a call that completes at once.
    pub(crate) fn call<R>(
        &self,
        name: impl FnOnce() -> String,
        f: impl FnOnce(&mut World) -> R,
    ) -> R {
        let mut name = Some(name);
        self.kernel(|w| {
            self.enter(w, &mut name);
            f(w)
        })
    }

    /// Runs a call that may sleep: `f` is re-run after every wakeup until it
    /// returns `Ready`.
    pub(crate) async fn blocking<R>(
        &self,
        name: impl FnOnce() -> String,
        mut f: impl FnMut(&mut World) -> Poll<R>,
    ) -> R {
        let mut name = Some(name);
        let mut entered = false;
        poll_fn(|_| {
            self.kernel(|w| {
                if !entered {
                    entered = true;
                    self.enter(w, &mut name);
                }
                let r = f(w);
                if r.is_pending()
                    && let Some(n) = name.take()
                {
                    w.name_sleeping_call(self.pid, n());
                }
                r
            })
        })
        .await
    }

    /// This process's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The current virtual time.
    pub fn now(&self) -> Nanos {
        self.world.borrow().now
    }

    /// `socket(domain, type, protocol)`: a new socket on the lowest free fd.
    pub fn socket(&self, domain: i32, ty: i32, protocol: i32) -> SysResult<i32> {
        self.call(
            || {
                format!(
                    "socket({}, {}, {protocol})",
                    crate::uapi::family_name(domain),
                    crate::uapi::type_name(ty)
                )
            },
            |w| w.sys_socket(self.pid, domain, ty, protocol),
        )
    }

    /// `bind(fd, addr)`.
    pub fn bind(&self, fd: i32, addr: impl ToSockAddr) -> SysResult<()> {
        let addr = addr.to_sock_addr()?;
        self.call(
            || format!("bind({fd}, {addr})"),
            |w| w.sys_bind(self.pid, fd, addr),
        )
    }

    /// `connect(fd, addr)`. On a UDP socket it only records the peer; on a
    /// TCP socket it sends a SYN and, unless non-blocking, sleeps until the
    /// handshake is over.
    pub async fn connect(&self, fd: i32, addr: impl ToSockAddr) -> SysResult<()> {
        let addr = addr.to_sock_addr()?;
        let mut first = true;
        self.blocking(
            || format!("connect({fd}, {addr})"),
            |w| {
                let r = w.sys_connect(self.pid, fd, addr, first);
                first = false;
                r
            },
        )
        .await
    }

    /// `listen(fd, backlog)`.
    pub fn listen(&self, fd: i32, backlog: i32) -> SysResult<()> {
        self.call(
            || format!("listen({fd}, {backlog})"),
            |w| w.sys_listen(self.pid, fd, backlog),
        )
    }

    /// `accept(fd)`: the new connection's fd and its peer.
    pub async fn accept(&self, fd: i32) -> SysResult<(i32, SockAddr)> {
        self.accept4(fd, 0).await
    }

    /// `accept4(fd, flags)`, with `SOCK_NONBLOCK` / `SOCK_CLOEXEC`.
    pub async fn accept4(&self, fd: i32, flags: i32) -> SysResult<(i32, SockAddr)> {
        self.blocking(
            || format!("accept({fd})"),
            |w| w.sys_accept(self.pid, fd, flags),
        )
        .await
    }

    /// `setsockopt(fd, SOL_SOCKET, SO_LINGER, ...)`: `Some(0)` makes
    /// `close()` abort the connection with RST; `None` turns lingering off.
    pub fn set_linger(&self, fd: i32, secs: Option<u32>) -> SysResult<()> {
        self.call(
            || format!("setsockopt({fd}, SOL_SOCKET, SO_LINGER, {secs:?})"),
            |w| w.sys_set_linger(self.pid, fd, secs),
        )
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_LINGER, &linger)`: `l_onoff` and
    /// `l_linger` (which keeps its value when lingering is turned off).
    pub fn get_linger(&self, fd: i32) -> SysResult<(bool, u32)> {
        self.call(
            || format!("getsockopt({fd}, SOL_SOCKET, SO_LINGER)"),
            |w| w.sys_get_linger(self.pid, fd),
        )
    }

    /// `setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, strlen(name))`:
    /// `"cubic"` or `"reno"`; another name gives `ENOENT`.
    pub fn set_congestion(&self, fd: i32, name: &str) -> SysResult<()> {
        self.call(
            || format!("setsockopt({fd}, IPPROTO_TCP, TCP_CONGESTION, {name:?})"),
            |w| w.sys_set_congestion(self.pid, fd, name.as_bytes()),
        )
    }

    /// `getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION)`: the congestion
    /// control's name.
    pub fn get_congestion(&self, fd: i32) -> SysResult<String> {
        self.call(
            || format!("getsockopt({fd}, IPPROTO_TCP, TCP_CONGESTION)"),
            |w| w.sys_get_congestion(self.pid, fd).map(str::to_string),
        )
    }

    /// `sendto(fd, buf, flags, addr)`.
    pub async fn sendto(
        &self,
        fd: i32,
        buf: &[u8],
        flags: i32,
        addr: impl ToSockAddr,
    ) -> SysResult<usize> {
        let addr = addr.to_sock_addr()?;
        self.blocking(|| format!("sendto({fd}, {} bytes, {addr})", buf.len()), {
            let mut copied = 0;
            move |w: &mut World| w.sys_sendto(self.pid, fd, buf, flags, Some(addr), &mut copied)
        })
        .await
    }

    /// `send(fd, buf, flags)`: to the connected peer.
    pub async fn send(&self, fd: i32, buf: &[u8], flags: i32) -> SysResult<usize> {
        self.blocking(|| format!("send({fd}, {} bytes)", buf.len()), {
            let mut copied = 0;
            move |w: &mut World| w.sys_sendto(self.pid, fd, buf, flags, None, &mut copied)
        })
        .await
    }

    /// `write(fd, buf)`.
    pub async fn write(&self, fd: i32, buf: &[u8]) -> SysResult<usize> {
        self.blocking(|| format!("write({fd}, {} bytes)", buf.len()), {
            let mut st = crate::fs::file::RwProgress::default();
            move |w: &mut World| w.sys_write(self.pid, fd, buf, &mut st)
        })
        .await
    }

    /// `recvfrom(fd, buf, flags)`: bytes received and the sender.
    pub async fn recvfrom(
        &self,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SockAddr>)> {
        let len = buf.len();
        let mut st = crate::fs::file::RwProgress::default();
        self.blocking(
            || format!("recvfrom({fd}, buf of {len})"),
            |w| w.sys_recvfrom(self.pid, fd, buf, flags, &mut st),
        )
        .await
    }

    /// `recv(fd, buf, flags)`.
    pub async fn recv(&self, fd: i32, buf: &mut [u8], flags: i32) -> SysResult<usize> {
        let len = buf.len();
        let mut st = crate::fs::file::RwProgress::default();
        self.blocking(
            || format!("recv({fd}, buf of {len})"),
            |w| {
                w.sys_recvfrom(self.pid, fd, buf, flags, &mut st)
                    .map(|r| r.map(|(n, _)| n))
            },
        )
        .await
    }

    /// `read(fd, buf)`.
    pub async fn read(&self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        let len = buf.len();
        let mut st = crate::fs::file::RwProgress::default();
        self.blocking(
            || format!("read({fd}, buf of {len})"),
            |w| w.sys_read(self.pid, fd, buf, &mut st),
        )
        .await
    }

    /// `dup(fd)`: another fd for the same open file.
    pub fn dup(&self, fd: i32) -> SysResult<i32> {
        self.call(|| format!("dup({fd})"), |w| w.sys_dup(self.pid, fd))
    }

    /// `close(fd)`.
    pub fn close(&self, fd: i32) -> SysResult<()> {
        self.call(|| format!("close({fd})"), |w| w.sys_close(self.pid, fd))
    }

    /// `shutdown(fd, how)`.
    pub fn shutdown(&self, fd: i32, how: i32) -> SysResult<()> {
        self.call(
            || format!("shutdown({fd}, {how})"),
            |w| w.sys_shutdown(self.pid, fd, how),
        )
    }

    /// `getsockname(fd)`.
    pub fn getsockname(&self, fd: i32) -> SysResult<SockAddr> {
        self.call(
            || format!("getsockname({fd})"),
            |w| w.sys_getsockname(self.pid, fd),
        )
    }

    /// `getpeername(fd)`.
    pub fn getpeername(&self, fd: i32) -> SysResult<SockAddr> {
        self.call(
            || format!("getpeername({fd})"),
            |w| w.sys_getpeername(self.pid, fd),
        )
    }

    /// `setsockopt(fd, level, optname, &val, sizeof(int))`.
    pub fn setsockopt(&self, fd: i32, level: i32, optname: i32, val: i32) -> SysResult<()> {
        self.call(
            || {
                format!(
                    "setsockopt({fd}, {level}, {}, {val})",
                    crate::uapi::sockopt_name(level, optname)
                )
            },
            |w| w.sys_setsockopt(self.pid, fd, level, optname, val),
        )
    }

    /// `getsockopt(fd, level, optname)` for `int` options.
    pub fn getsockopt(&self, fd: i32, level: i32, optname: i32) -> SysResult<i32> {
        self.call(
            || {
                format!(
                    "getsockopt({fd}, {level}, {})",
                    crate::uapi::sockopt_name(level, optname)
                )
            },
            |w| w.sys_getsockopt(self.pid, fd, level, optname),
        )
    }

    /// `fcntl(fd, cmd, arg)`: `F_GETFL`/`F_SETFL` with `O_NONBLOCK`.
    pub fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> SysResult<i32> {
        self.call(
            || format!("fcntl({fd}, {cmd}, {arg:#o})"),
            |w| w.sys_fcntl(self.pid, fd, cmd, arg),
        )
    }

    /// `setrlimit(RLIMIT_NOFILE, n)`: the soft limit on open fds.
    pub fn set_nofile_limit(&self, n: u32) {
        self.call(
            || format!("setrlimit(RLIMIT_NOFILE, {n})"),
            |w| w.task_mut(self.pid).rlimit_nofile = n,
        )
    }

    /// `nanosleep(d)`: sleep for `d` of virtual time.
    pub async fn sleep(&self, d: Nanos) {
        let mut armed = false;
        self.blocking(
            || format!("nanosleep({})", crate::sim::time::fmt_duration(d)),
            |w| {
                if armed {
                    return Poll::Ready(());
                }
                armed = true;
                let until = w.now + d;
                w.task_mut(self.pid).state = TaskState::Sleeping { until };
                w.schedule(until, Event::Wake { pid: self.pid });
                Poll::Pending
            },
        )
        .await
    }

    /// The process's fd table as `ls -l /proc/PID/fd` lists it.
    pub fn fd_table(&self) -> String {
        let w = self.world.borrow();
        let t = w.task(self.pid);
        let mut out = String::new();
        for (fd, file) in t.files.iter() {
            let f = &w.files[&file];
            let target = match &f.kind {
                FileKind::Tty => "/dev/pts/0".to_string(),
                FileKind::Epoll => "anon_inode:[eventpoll]".to_string(),
                FileKind::IoUring => "anon_inode:[io_uring]".to_string(),
                FileKind::Socket(s) => match w.socks.get(&s.sk) {
                    Some(sk) => format!("socket:[{}]", sk.inode),
                    None => "socket:[?]".to_string(),
                },
                FileKind::Pipe(p) => format!("pipe:[{}]", w.pipe(*p).ino),
                FileKind::Regular(r) => w
                    .file_inode(r)
                    .map_or_else(|| "(deleted)".to_string(), |i| i.path.clone()),
            };
            // The link's permissions show the file's access mode.
            let r = if f.readable() { 'r' } else { '-' };
            let x = if f.writable() { 'w' } else { '-' };
            out.push_str(&format!("l{r}{x}x------ 1 root root 64 {fd} -> {target}\n"));
        }
        out
    }

    /// The number of open fds.
    pub fn open_fds(&self) -> usize {
        self.world.borrow().task(self.pid).files.len()
    }

    /// This host's cost counters so far.
    pub fn costs(&self) -> Costs {
        let w = self.world.borrow();
        w.host(w.task(self.pid).host).costs
    }

    /// This process's own share of the counters: what its system calls
    /// have cost so far, including the work they ran inline (a send over
    /// loopback runs the receiver's softirq); other processes' calls and
    /// work done from timers are not in it.
    pub fn process_costs(&self) -> Costs {
        self.world.borrow().task(self.pid).costs
    }

    /// Prints a line prefixed with the virtual time and the process, and
    /// records it in the trace.
    pub fn log(&self, msg: impl AsRef<str>) {
        let mut w = self.world.borrow_mut();
        let host = w.task(self.pid).host;
        let comm = w.task(self.pid).comm.clone();
        let msg = msg.as_ref().to_string();
        println!("[{}] {comm}: {msg}", crate::sim::time::fmt_instant(w.now));
        w.trace(host, Layer::User, |_w| format!("{comm}: {msg}"));
    }
}
