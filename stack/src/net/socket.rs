//! The socket layer: system calls on file descriptors, dispatched to the
//! protocol (`net/socket.c`: `__sys_socket`, `__sys_bind`, `__sys_connect`,
//! `__sys_sendto`, `__sys_recvfrom`, `__sys_shutdown`, `sock_close`, and
//! `sock_setsockopt` in `net/core/sock.c`).
//!
//! Each call finds the `struct file` behind the fd (`EBADF` if there is
//! none, `ENOTSOCK` if it is not a socket), then the `struct sock`, then asks
//! the protocol. Calls that may sleep return `Poll::Pending` after putting
//! the process on the socket's wait queue; the executor polls them again
//! after a wakeup, and they re-check, as the kernel's wait loops do.

use std::task::Poll;

use crate::fs::file::{File, FileKind, O_NONBLOCK, O_RDWR, RwProgress, SocketFile};
use crate::kernel::ids::{FileId, Pid, SockId};
use crate::kernel::world::World;
use crate::net::ipv4::tcp::TcpSock;
use crate::uapi::errno::Errno;

use crate::kernel::task::WaitFor;
use crate::net::core::receive_queue::RcvQueue;
use crate::net::core::sock::{Family, Sock, SockType};
use crate::observe::trace::Layer;
use crate::uapi::*;

impl World {
    /// Runs a system call's work on a stream socket with the socket held
    /// (`lock_sock()` ... `release_sock()`); other sockets pass straight.
    pub(crate) fn with_sock<R>(&mut self, sk: SockId, f: impl FnOnce(&mut World) -> R) -> R {
        let stream = self.sk(sk).tcp.is_some();
        if stream {
            self.lock_sock(sk);
        }
        let r = f(self);
        if stream {
            self.release_sock(sk);
        }
        r
    }

    /// `sockfd_lookup()`: fd → file → sock.
    pub(crate) fn sockfd_lookup(&self, pid: Pid, fd: i32) -> Result<(FileId, SockId), Errno> {
        let file = self.task(pid).files.get(fd)?;
        match &self.files[&file].kind {
            FileKind::Socket(s) => Ok((file, s.sk)),
            _ => Err(Errno::ENOTSOCK),
        }
    }

    pub(crate) fn file_of(&self, pid: Pid, fd: i32) -> Result<&File, Errno> {
        let file = self.task(pid).files.get(fd)?;
        Ok(&self.files[&file])
    }

    /// Opens the terminal on fds 0, 1 and 2 of a new process.
    pub(crate) fn open_stdio(&mut self, pid: Pid) {
        for _ in 0..3 {
            let id = self.new_file(File {
                flags: O_RDWR,
                count: 1,
                kind: FileKind::Tty,
            });
            let nofile = self.task(pid).rlimit_nofile;
            // Three slots are always under any usable limit.
            let _ = self.task_mut(pid).files.alloc(id, nofile);
        }
    }

    pub(crate) fn new_file(&mut self, f: File) -> FileId {
        let id = FileId(self.next_file);
        self.next_file += 1;
        self.files.insert(id, f);
        id
    }

    /// `socket(domain, type, protocol)`.
    pub(crate) fn sys_socket(
        &mut self,
        pid: Pid,
        domain: i32,
        ty: i32,
        protocol: i32,
    ) -> Result<i32, Errno> {
        let base = ty & SOCK_TYPE_MASK;
        let flags = ty & !SOCK_TYPE_MASK;
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        if !(0..AF_MAX).contains(&domain) {
            return Err(Errno::EAFNOSUPPORT);
        }
        if !(0..SOCK_MAX).contains(&base) {
            return Err(Errno::EINVAL);
        }
        if domain == AF_UNIX {
            return self.unix_socket(pid, base, flags, protocol);
        }
        let family = match domain {
            AF_INET => Family::Inet,
            AF_INET6 => Family::Inet6,
            AF_NETLINK => Family::Netlink,
            // Other families arrive with later chapters.
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        let sock_type = match (family, base, protocol) {
            (Family::Netlink, _, _) => self.netlink_check_create(base, protocol)?,
            // inet_create(): find the protocol switch entry for the type.
            (_, SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => SockType::Dgram,
            (_, SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
            (_, SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => SockType::Stream,
            (_, SOCK_STREAM, _) => return Err(Errno::EPROTONOSUPPORT),
            (Family::Inet, SOCK_RAW, _) => crate::net::ipv4::raw::raw_check_create(protocol)?,
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        let host = self.task(pid).host;
        let netns = self.task(pid).netns;
        let sysctl = &self.ns(netns).sysctl;
        let (rcvbuf, sndbuf, protocol) = match sock_type {
            SockType::Dgram => (sysctl.rmem_default, sysctl.wmem_default, IPPROTO_UDP),
            SockType::Stream => (sysctl.tcp_rmem.1, sysctl.tcp_wmem.1, IPPROTO_TCP),
            SockType::Raw => (sysctl.rmem_default, sysctl.wmem_default, protocol),
            SockType::SeqPacket => (sysctl.tcp_rmem.1, sysctl.tcp_wmem.1, IPPROTO_TCP),
        };
        let inode = self.next_inode(host);
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        let unspecified = match family {
            Family::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
            _ => std::net::Ipv4Addr::UNSPECIFIED.into(),
        };
        // tcp_assign_congestion_control(): the namespace's default now.
        let congestion = self.ns(netns).sysctl.tcp_congestion_control;
        self.socks.insert(
            id,
            Sock {
                protocol: protocol as u16,
                rcv_saddr: unspecified,
                // A raw socket's "port" is its protocol (inet_num).
                num: if sock_type == SockType::Raw && family == Family::Inet {
                    protocol as u16
                } else {
                    0
                },
                receive_queue: RcvQueue::new(rcvbuf as usize),
                sndbuf,
                inode,
                tcp: (sock_type == SockType::Stream).then(|| {
                    let mut tp = Box::new(TcpSock::new(0));
                    tp.opts.congestion = congestion;
                    tp
                }),
                netlink: (family == Family::Netlink)
                    .then(|| Box::new(crate::net::netlink::af_netlink::NetlinkSock::new(base))),
                ..Sock::new(id, host, netns, family, sock_type)
            },
        );
        match self.sock_map_fd(pid, id, flags) {
            Ok(fd) => {
                let proto = match (family, sock_type) {
                    (_, SockType::Stream) => "TCP",
                    (_, SockType::Dgram) => "UDP",
                    (Family::Netlink, _) => "NETLINK_ROUTE",
                    _ => "raw",
                };
                if sock_type == SockType::Raw && family == Family::Inet {
                    self.ns_mut(netns).raw.push(id);
                }
                self.trace(host, Layer::Sock, |_w| {
                    format!("sock_create: struct socket + struct sock ({proto}), inode {inode}; fd {fd} -> struct file")
                });
                Ok(fd)
            }
            Err(e) => {
                self.socks.remove(&id);
                Err(e)
            }
        }
    }

    /// `get_next_ino()`: an inode number for a socket, a pipe or a file.
    pub(crate) fn next_inode(&mut self, host: crate::kernel::ids::HostId) -> u64 {
        let h = self.host_mut(host);
        h.next_inode += 1;
        h.next_inode
    }

    /// `sock_map_fd()`: a file for the socket on the lowest free fd, or
    /// `EMFILE`.
    pub(crate) fn sock_map_fd(&mut self, pid: Pid, sk: SockId, flags: i32) -> Result<i32, Errno> {
        let file = self.new_file(File {
            flags: O_RDWR
                | if flags & SOCK_NONBLOCK != 0 {
                    O_NONBLOCK
                } else {
                    0
                },
            count: 1,
            kind: FileKind::Socket(SocketFile { sk }),
        });
        let nofile = self.task(pid).rlimit_nofile;
        match self.task_mut(pid).files.alloc(file, nofile) {
            Ok(fd) => {
                if flags & SOCK_CLOEXEC != 0 {
                    let _ = self.task_mut(pid).files.set_cloexec(fd, true);
                }
                Ok(fd)
            }
            Err(e) => {
                self.files.remove(&file);
                Err(e)
            }
        }
    }

    /// `listen(fd, backlog)`.
    pub(crate) fn sys_listen(&mut self, pid: Pid, fd: i32, backlog: i32) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.is_unix(sk) {
            return self.unix_listen(pid, sk, backlog);
        }
        if self.sk(sk).ty != SockType::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        self.with_sock(sk, |w| w.tcp_listen(sk, backlog))
    }

    /// `accept4(fd, flags)`: a new fd for the next established connection.
    /// The fd is reserved first, so at `RLIMIT_NOFILE` the call fails with
    /// `EMFILE` and the connection stays queued, as in `do_accept()`.
    pub(crate) fn sys_accept(
        &mut self,
        pid: Pid,
        fd: i32,
        flags: i32,
    ) -> Poll<Result<(i32, SockAddr), Errno>> {
        self.do_accept(pid, fd, flags, false)
    }

    /// `do_accept()`; `dontwait` makes it non-blocking whatever the file's
    /// flags (`IO_URING_F_NONBLOCK`, for io_uring's first attempt).
    pub(crate) fn do_accept(
        &mut self,
        pid: Pid,
        fd: i32,
        flags: i32,
        dontwait: bool,
    ) -> Poll<Result<(i32, SockAddr), Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let unix = self.is_unix(sk);
        if self.sk(sk).ty == SockType::Dgram {
            return Poll::Ready(Err(Errno::EOPNOTSUPP));
        }
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        let nofile = self.task(pid).rlimit_nofile;
        if self.task(pid).files.len() as u32 >= nofile {
            return Poll::Ready(Err(Errno::EMFILE));
        }
        let nonblock = dontwait || self.nonblocking(file, 0);
        let accepted = if unix {
            self.unix_accept(pid, sk, nonblock)
        } else {
            self.with_sock(sk, |w| w.tcp_accept(pid, sk, nonblock))
        };
        match accepted {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(child)) => {
                let host = self.sk(child).host;
                let inode = self.next_inode(host);
                self.sk_mut(child).inode = inode;
                let peer = if unix {
                    self.unix_getname(child, true)
                        .map_or(SockAddr::Unspec, SockAddr::Unix)
                } else {
                    self.sk(child)
                        .daddr
                        .map_or(SockAddr::Unspec, SockAddr::Inet)
                };
                match self.sock_map_fd(pid, child, flags) {
                    Ok(newfd) => Poll::Ready(Ok((newfd, peer))),
                    Err(e) => Poll::Ready(Err(e)),
                }
            }
        }
    }

    /// `close(fd)`: drop the fd; the last reference to the file releases
    /// the socket (`sock_close()` → `udp_lib_close()`).
    pub(crate) fn sys_close(&mut self, pid: Pid, fd: i32) -> Result<(), Errno> {
        let file = self.task_mut(pid).files.remove(fd)?;
        self.fput(file);
        Ok(())
    }

    /// `fput()`: one reference fewer to an open file.
    pub(crate) fn fput(&mut self, file: FileId) {
        let f = self.files.get_mut(&file).expect("open file");
        f.count -= 1;
        if f.count > 0 {
            return;
        }
        self.eventpoll_release(file);
        let f = self.files.remove(&file).expect("open file");
        if let FileKind::Epoll = f.kind {
            self.ep_free(file);
        }
        if let FileKind::IoUring = f.kind {
            self.io_ring_release(file);
        }
        if let FileKind::Pipe(p) = f.kind {
            self.pipe_release(p, &f);
            return;
        }
        if let FileKind::Socket(s) = f.kind {
            let host = self.sk(s.sk).host;
            if self.is_unix(s.sk) {
                self.unix_release(s.sk);
                return;
            }
            if self.sk(s.sk).ty == SockType::Stream {
                self.trace(host, Layer::Sock, |_w| {
                    "sock_close: last reference gone: tcp_close".to_string()
                });
                self.with_sock(s.sk, |w| w.tcp_close(s.sk));
                return;
            }
            match (self.sk(s.sk).family, self.sk(s.sk).ty) {
                (Family::Netlink, _) => return self.netlink_release(s.sk),
                (_, SockType::Raw) => return self.raw_close(s.sk),
                _ => {}
            }
            let port = self.sk(s.sk).num;
            self.udp_unhash(s.sk);
            self.sk_release(s.sk);
            self.trace(host, Layer::Sock, |_w| {
                format!("sock_close: last reference gone, socket released (port {port} free)")
            });
        }
    }

    /// Puts the process to sleep on the socket's wait queue, inside the
    /// system call it is making (`sk_wait_event`).
    pub(crate) fn sleep_on(&mut self, pid: Pid, sk: SockId, waits: WaitFor) {
        // accept() waits exclusively (`inet_csk_wait_for_connect`), so one
        // connection wakes one acceptor, not all of them.
        let exclusive = waits == WaitFor::Connection;
        self.sleep_on_obj(
            pid,
            crate::kernel::wait::WaitObj::Sock(sk),
            waits,
            exclusive,
        );
    }

    /// What a sleeper on a socket waits for, in words, from its state now.
    pub(crate) fn describe_sock_wait(&self, sk: SockId, waits: WaitFor) -> String {
        let Some(s) = self.socks.get(&sk) else {
            return "a socket that is gone".to_string();
        };
        if s.family == Family::Unix {
            return self.unix_describe_wait(sk, waits);
        }
        match waits {
            WaitFor::Datagram => match (s.family, s.ty) {
                (Family::Netlink, _) => format!(
                    "a netlink message on port id {} (receive queue empty)",
                    s.netlink.as_deref().map_or(0, |n| n.portid)
                ),
                (_, SockType::Raw) => format!(
                    "a datagram on a raw socket of protocol {} (receive queue empty)",
                    s.protocol
                ),
                _ => format!("a datagram on UDP {} (receive queue empty)", s.local()),
            },
            WaitFor::SendSpace => match s.tcp.as_deref() {
                // sk_stream_write_space() wakes a writer once free space
                // is at least half of what is queued: say so, since the
                // queue may have shrunk below sk_sndbuf without that.
                Some(tp) => format!(
                    "send buffer space (sk_wmem_queued {} of sk_sndbuf {}; woken when the free space is at least half the queued) on TCP {} -> {}",
                    tp.wmem_queued,
                    s.sndbuf,
                    s.local(),
                    s.daddr.map(|a| a.to_string()).unwrap_or_default()
                ),
                None => format!(
                    "send buffer space (sk_wmem_alloc {} >= sk_sndbuf {}) on UDP {}",
                    s.wmem_alloc,
                    s.sndbuf,
                    s.local()
                ),
            },
            WaitFor::Data => format!(
                "data on TCP {} -> {} (receive queue empty, peer has not closed)",
                s.local(),
                s.daddr.map(|a| a.to_string()).unwrap_or_default()
            ),
            WaitFor::Connect => format!(
                "the handshake with {} to finish",
                s.daddr.map(|a| a.to_string()).unwrap_or_default()
            ),
            WaitFor::Events => format!("an event on socket {}", s.local()),
            WaitFor::Connection => {
                format!("a connection on TCP {} (accept queue empty)", s.local())
            }
        }
    }

    pub(crate) fn nonblocking(&self, file: FileId, flags: i32) -> bool {
        self.files[&file].nonblocking() || flags & MSG_DONTWAIT != 0
    }

    /// `bind(fd, addr)`.
    pub(crate) fn sys_bind(&mut self, pid: Pid, fd: i32, addr: SockAddr) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.is_unix(sk) {
            return self.unix_bind(sk, addr);
        }
        match (self.sk(sk).family, self.sk(sk).ty) {
            (Family::Netlink, _) => return self.netlink_bind(pid, sk, addr),
            (_, SockType::Raw) => return self.raw_bind(sk, addr),
            _ => {}
        }
        self.inet_bind(sk, addr)
    }

    /// `connect(fd, addr)` on a datagram socket: sets the default peer.
    pub(crate) fn sys_connect(
        &mut self,
        pid: Pid,
        fd: i32,
        addr: SockAddr,
        first: bool,
    ) -> Poll<Result<(), Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let nonblock = self.nonblocking(file, 0);
        if self.is_unix(sk) {
            if self.sk(sk).ty == SockType::Dgram {
                return Poll::Ready(self.unix_dgram_connect(sk, addr));
            }
            return self.unix_stream_connect(pid, sk, addr, nonblock);
        }
        if self.sk(sk).ty == SockType::Stream {
            return self.with_sock(sk, |w| w.tcp_connect(pid, sk, addr, nonblock, first));
        }
        match (self.sk(sk).family, self.sk(sk).ty) {
            (Family::Netlink, _) => Poll::Ready(self.netlink_connect(pid, sk, addr)),
            (_, SockType::Raw) => Poll::Ready(self.raw_connect(sk, addr)),
            _ => Poll::Ready(self.ip4_datagram_connect(sk, addr)),
        }
    }

    /// `sendto(fd, buf, len, flags, addr)`; `send`/`write` pass no address.
    pub(crate) fn sys_sendto(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &[u8],
        flags: i32,
        addr: Option<SockAddr>,
        copied: &mut usize,
    ) -> Poll<Result<usize, Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let nonblock = self.nonblocking(file, flags);
        if self.is_unix(sk) {
            let msg = crate::net::unix::UnixMsg {
                buf,
                addr,
                files: &[],
            };
            return self.unix_sendmsg(pid, sk, msg, copied, nonblock);
        }
        if self.sk(sk).ty == SockType::Stream {
            // TCP ignores the address of a sendto() on a connected socket.
            return self.with_sock(sk, |w| w.tcp_sendmsg(pid, sk, buf, flags, copied, nonblock));
        }
        match (self.sk(sk).family, self.sk(sk).ty) {
            (Family::Netlink, _) => return self.netlink_sendmsg(pid, sk, buf, addr),
            (_, SockType::Raw) => return self.raw_sendmsg(pid, sk, buf, addr, nonblock),
            _ => {}
        }
        self.udp_sendmsg(pid, sk, buf, flags, addr, nonblock)
    }

    /// `write(fd, buf)`: on a socket, `send(fd, buf, 0)`; on a pipe,
    /// `pipe_write()`; on a regular file, into the page cache; the
    /// terminal swallows everything.
    pub(crate) fn sys_write(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &[u8],
        st: &mut RwProgress,
    ) -> Poll<Result<usize, Errno>> {
        match self.file_of(pid, fd).map(|f| &f.kind) {
            Err(e) => Poll::Ready(Err(e)),
            Ok(FileKind::Tty) => Poll::Ready(Ok(buf.len())),
            // An epoll instance has no write (or read) file operation.
            Ok(FileKind::Epoll | FileKind::IoUring) => Poll::Ready(Err(Errno::EINVAL)),
            Ok(FileKind::Pipe(_)) => self.pipe_write(pid, fd, buf, st),
            Ok(FileKind::Regular(_)) => Poll::Ready(self.regular_write(pid, fd, buf)),
            Ok(FileKind::Socket(_)) => self.sys_sendto(pid, fd, buf, 0, None, &mut st.done),
        }
    }

    /// `recvfrom(fd, buf, len, flags)`; `recv`/`read` ignore the address.
    pub(crate) fn sys_recvfrom(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        st: &mut RwProgress,
    ) -> Poll<Result<(usize, Option<SockAddr>), Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let nonblock = self.nonblocking(file, flags);
        // AF_UNIX has no error queue: MSG_ERRQUEUE reads data as usual.
        if self.is_unix(sk) {
            let mut files = Vec::new();
            let r = self.unix_recvmsg(pid, sk, buf, flags, nonblock, &mut files);
            // No room for control messages: passed files are closed
            // (scm_recv() → scm_destroy()).
            for f in files {
                self.fput(f);
            }
            return r;
        }
        // The error queue is read without the socket lock and never waits
        // (tcp_recvmsg(), udp_recvmsg() → inet_recv_error()).
        if flags & MSG_ERRQUEUE != 0 {
            return Poll::Ready(self.inet_recv_error(sk, buf).map(|m| (m.len, None)));
        }
        if self.sk(sk).ty == SockType::Stream {
            return self
                .with_sock(sk, |w| w.tcp_recvmsg(pid, sk, buf, flags, nonblock, st))
                .map(|r| r.map(|n| (n, None)));
        }
        match (self.sk(sk).family, self.sk(sk).ty) {
            (Family::Netlink, _) => return self.netlink_recvmsg(pid, sk, buf, flags, nonblock),
            (_, SockType::Raw) => return self.raw_recvmsg(pid, sk, buf, flags, nonblock),
            _ => {}
        }
        self.udp_recvmsg(pid, sk, buf, flags, nonblock)
    }

    /// `read(fd, buf)`: on a socket, `recv(fd, buf, 0)`; on a pipe,
    /// `pipe_read()`; on a regular file, from the page cache; the terminal
    /// reads as end of file, like `/dev/null`.
    pub(crate) fn sys_read(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &mut [u8],
        st: &mut RwProgress,
    ) -> Poll<Result<usize, Errno>> {
        match self.file_of(pid, fd).map(|f| &f.kind) {
            Err(e) => Poll::Ready(Err(e)),
            Ok(FileKind::Tty) => Poll::Ready(Ok(0)),
            Ok(FileKind::Epoll | FileKind::IoUring) => Poll::Ready(Err(Errno::EINVAL)),
            Ok(FileKind::Pipe(_)) => self.pipe_read(pid, fd, buf, st),
            Ok(FileKind::Regular(_)) => Poll::Ready(self.regular_read(pid, fd, buf)),
            Ok(FileKind::Socket(_)) => self
                .sys_recvfrom(pid, fd, buf, 0, st)
                .map(|r| r.map(|(n, _)| n)),
        }
    }

    /// `shutdown(fd, how)`.
    pub(crate) fn sys_shutdown(&mut self, pid: Pid, fd: i32, how: i32) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.is_unix(sk) {
            return self.unix_shutdown(sk, how);
        }
        if self.sk(sk).ty == SockType::Stream {
            if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
                return Err(Errno::EINVAL);
            }
            return self.with_sock(sk, |w| w.tcp_shutdown(sk, (how + 1) as u8));
        }
        if self.sk(sk).family == Family::Netlink {
            // netlink_ops.shutdown is sock_no_shutdown.
            return Err(Errno::EOPNOTSUPP);
        }
        self.inet_shutdown(sk, how)
    }

    /// `getsockname(fd)`.
    pub(crate) fn sys_getsockname(&self, pid: Pid, fd: i32) -> Result<SockAddr, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.is_unix(sk) {
            return self.unix_getname(sk, false).map(SockAddr::Unix);
        }
        if let Some(nl) = self.sk(sk).netlink.as_deref() {
            return Ok(SockAddr::Netlink {
                pid: nl.portid,
                groups: 0,
            });
        }
        Ok(SockAddr::Inet(self.sk(sk).local()))
    }

    /// `getpeername(fd)`: `ENOTCONN` unless connected.
    pub(crate) fn sys_getpeername(&self, pid: Pid, fd: i32) -> Result<SockAddr, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.is_unix(sk) {
            return self.unix_getname(sk, true).map(SockAddr::Unix);
        }
        let s = self.sk(sk);
        if let Some(nl) = s.netlink.as_deref() {
            // netlink_getname(peer): the default destination, the kernel
            // (port id 0) unless connect() chose another.
            return Ok(SockAddr::Netlink {
                pid: nl.dst_portid,
                groups: 0,
            });
        }
        // inet_getname(): a TCP socket that is closed or still in SYN_SENT
        // has no peer yet.
        if s.ty == SockType::Stream
            && matches!(
                s.state,
                crate::net::ipv4::tcp::TCP_CLOSE
                    | crate::net::ipv4::tcp::TCP_SYN_SENT
                    | crate::net::ipv4::tcp::TCP_LISTEN
            )
        {
            return Err(Errno::ENOTCONN);
        }
        s.daddr.map(SockAddr::Inet).ok_or(Errno::ENOTCONN)
    }

    /// `setsockopt(fd, SOL_SOCKET, SO_LINGER, {on, secs})`, on any socket.
    /// Only a zero timeout changes what the simulation does (a TCP close
    /// sends RST); a positive one is kept and reported, and behaves as off
    /// (close does not block).
    pub(crate) fn sys_set_linger(
        &mut self,
        pid: Pid,
        fd: i32,
        linger: Option<u32>,
    ) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        let s = self.sk_mut(sk);
        s.linger = match linger {
            Some(secs) => (true, secs),
            None => (false, s.linger.1),
        };
        Ok(())
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_LINGER)`: the whole `struct linger`.
    pub(crate) fn sys_get_linger(&mut self, pid: Pid, fd: i32) -> Result<(bool, u32), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        Ok(self.sk(sk).linger)
    }

    /// `setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, len)`.
    pub(crate) fn sys_set_congestion(
        &mut self,
        pid: Pid,
        fd: i32,
        name: &[u8],
    ) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.sk(sk).tcp.is_none() {
            return Err(Errno::ENOPROTOOPT);
        }
        self.tcp_set_congestion(sk, name)
    }

    /// `getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION)`: the algorithm's name.
    pub(crate) fn sys_get_congestion(&mut self, pid: Pid, fd: i32) -> Result<&'static str, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        match self.sk(sk).tcp.as_deref() {
            Some(tp) => Ok(tp.opts.congestion.name()),
            None => Err(Errno::ENOPROTOOPT),
        }
    }

    /// `setsockopt(fd, level, optname, &val, sizeof(int))`
    /// (`sk_setsockopt()` in `net/core/sock.c`).
    pub(crate) fn sys_setsockopt(
        &mut self,
        pid: Pid,
        fd: i32,
        level: i32,
        opt: i32,
        val: i32,
    ) -> Result<(), Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if level == IPPROTO_TCP && self.sk(sk).tcp.is_some() {
            return self.do_tcp_setsockopt(sk, opt, val);
        }
        if level == IPPROTO_IP && self.sk(sk).family == Family::Inet {
            return self.do_ip_setsockopt(sk, opt, val);
        }
        if level != SOL_SOCKET {
            // AF_UNIX has no options of its own (no ->setsockopt).
            return Err(if self.is_unix(sk) {
                Errno::EOPNOTSUPP
            } else {
                Errno::ENOPROTOOPT
            });
        }
        self.sk_setsockopt(sk, opt, val)
    }

    /// `getsockopt(fd, level, optname)` for `int` options.
    pub(crate) fn sys_getsockopt(
        &mut self,
        pid: Pid,
        fd: i32,
        level: i32,
        opt: i32,
    ) -> Result<i32, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if level == IPPROTO_TCP && self.sk(sk).tcp.is_some() {
            return self.do_tcp_getsockopt(sk, opt);
        }
        if level == IPPROTO_IP && self.sk(sk).family == Family::Inet {
            return self.do_ip_getsockopt(sk, opt);
        }
        if level != SOL_SOCKET {
            // An unknown level falls through UDP to the IP layer, whose
            // getsockopt says EOPNOTSUPP for IPv4 (do_ip_getsockopt) and
            // ENOPROTOOPT for IPv6 (ipv6_getsockopt); setsockopt says
            // ENOPROTOOPT for both.
            return Err(match self.sk(sk).family {
                Family::Inet if level != IPPROTO_IP && level != IPPROTO_UDP => Errno::EOPNOTSUPP,
                Family::Unix => Errno::EOPNOTSUPP,
                _ => Errno::ENOPROTOOPT,
            });
        }
        self.sk_getsockopt(sk, opt)
    }

    /// `fcntl(fd, cmd, arg)` for the file-status and fd flags.
    pub(crate) fn sys_fcntl(
        &mut self,
        pid: Pid,
        fd: i32,
        cmd: i32,
        arg: i32,
    ) -> Result<i32, Errno> {
        let file = self.task(pid).files.get(fd)?;
        match cmd {
            F_GETFL => Ok(self.files[&file].flags),
            F_SETFL => {
                let f = self.files.get_mut(&file).expect("open file");
                // Only the status flags may change; the access mode stays.
                f.flags = (f.flags & !O_NONBLOCK) | (arg & O_NONBLOCK);
                Ok(0)
            }
            F_GETFD => Ok(if self.task(pid).files.cloexec(fd)? {
                FD_CLOEXEC
            } else {
                0
            }),
            F_SETFD => {
                self.task_mut(pid)
                    .files
                    .set_cloexec(fd, arg & FD_CLOEXEC != 0)?;
                Ok(0)
            }
            F_GETPIPE_SZ | F_SETPIPE_SZ => self.pipe_fcntl(pid, fd, cmd, arg),
            _ => Err(Errno::EINVAL),
        }
    }
}
