//! The socket-level operations of `AF_UNIX` (`net/unix/af_unix.c`):
//! creating a sock (`unix_create()`, `unix_create1()`), naming it
//! (`unix_bind()`, `unix_autobind()`), finding the sock a name belongs to
//! (`unix_find_other()`), `unix_listen()`, `unix_socketpair()`,
//! `unix_getname()`, `unix_shutdown()` and `close()`
//! (`unix_release_sock()`), with the peer pointers and the `peer_wait`
//! queue they all share.

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitObj, Wakeup};
use crate::kernel::world::World;
use crate::net::core::receive_queue::RcvQueue;
use crate::net::core::skbuff::{PAGE_SIZE, Page, SkBuff, SlabModel};
use crate::net::core::sock::{
    Family, RCV_SHUTDOWN, SEND_SHUTDOWN, Sock, SockType, SocketState, TCP_CLOSE, TCP_ESTABLISHED,
};
use crate::net::ipv4::tcp::TCP_LISTEN;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::*;

use super::UnixSock;

/// `SHUTDOWN_MASK`: both directions shut.
pub(crate) const SHUTDOWN_MASK: u8 = RCV_SHUTDOWN | SEND_SHUTDOWN;

/// The `SOCK_*` number of a socket type.
pub(crate) fn type_number(ty: SockType) -> i32 {
    match ty {
        SockType::Stream => SOCK_STREAM,
        SockType::Dgram => SOCK_DGRAM,
        SockType::SeqPacket => SOCK_SEQPACKET,
        SockType::Raw => SOCK_RAW,
    }
}

/// A socket file's name as the host's file system keys it: the same
/// spelling as its regular files (`crate::fs::ramfs::normalize`).
fn fs_name(path: &[u8]) -> Vec<u8> {
    if path.starts_with(b"/") {
        path.to_vec()
    } else {
        [b"/", path].concat()
    }
}

/// `unix_validate_addr()`: an `AF_UNIX` address longer than `sun_family`.
/// Anything else (an inet address, `AF_UNSPEC`, the unnamed address) is
/// `EINVAL`.
pub(crate) fn unix_validate_addr(addr: SockAddr) -> Result<UnixAddr, Errno> {
    match addr {
        SockAddr::Unix(a) if !a.is_unnamed() => Ok(a),
        _ => Err(Errno::EINVAL),
    }
}

impl World {
    /// The `struct unix_sock` of an `AF_UNIX` sock.
    pub(crate) fn u(&self, sk: SockId) -> &UnixSock {
        self.sk(sk).unix.as_deref().expect("an AF_UNIX sock")
    }

    pub(crate) fn u_mut(&mut self, sk: SockId) -> &mut UnixSock {
        self.sk_mut(sk)
            .unix
            .as_deref_mut()
            .expect("an AF_UNIX sock")
    }

    /// Whether `sk` is an `AF_UNIX` sock.
    pub(crate) fn is_unix(&self, sk: SockId) -> bool {
        self.socks
            .get(&sk)
            .is_some_and(|s| s.family == Family::Unix)
    }

    /// Whether the sock is still open (not `SOCK_DEAD`).
    pub(crate) fn unix_alive(&self, sk: SockId) -> bool {
        self.socks.get(&sk).is_some_and(|s| !s.dead)
    }

    /// `unix_create()`: check the protocol and the type (`SOCK_RAW` is
    /// taken as `SOCK_DGRAM`, as BSD did), then make the sock.
    pub(crate) fn unix_create(
        &mut self,
        pid: Pid,
        ty: i32,
        protocol: i32,
    ) -> Result<SockId, Errno> {
        if protocol != 0 && protocol != AF_UNIX {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let ty = match ty {
            SOCK_STREAM => SockType::Stream,
            SOCK_DGRAM | SOCK_RAW => SockType::Dgram,
            SOCK_SEQPACKET => SockType::SeqPacket,
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        Ok(self.unix_create1(pid, ty))
    }

    /// `unix_create1()` with `sock_init_data()`: buffers from
    /// `net.core.{r,w}mem_default`, the backlog from
    /// `net.unix.max_dgram_qlen`. No inode yet: a sock made by `connect()`
    /// for the server side gets one when it is accepted.
    pub(crate) fn unix_create1(&mut self, pid: Pid, ty: SockType) -> SockId {
        let host = self.task(pid).host;
        let netns = self.task(pid).netns;
        let sysctl = &self.ns(netns).sysctl;
        let (rcvbuf, sndbuf) = (sysctl.rmem_default, sysctl.wmem_default);
        let qlen = sysctl.unix_max_dgram_qlen as u32;
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        self.socks.insert(
            id,
            Sock {
                receive_queue: RcvQueue::new(rcvbuf as usize),
                sndbuf,
                unix: Some(Box::new(UnixSock::new(qlen))),
                ..Sock::new(id, host, netns, Family::Unix, ty)
            },
        );
        id
    }

    /// `socket(AF_UNIX, type, protocol)`: a sock with its inode, on the
    /// lowest free fd.
    pub(crate) fn unix_socket(
        &mut self,
        pid: Pid,
        ty: i32,
        flags: i32,
        protocol: i32,
    ) -> Result<i32, Errno> {
        let sk = self.unix_create(pid, ty, protocol)?;
        let host = self.sk(sk).host;
        let inode = self.next_inode(host);
        self.sk_mut(sk).inode = inode;
        match self.sock_map_fd(pid, sk, flags) {
            Ok(fd) => {
                self.trace(host, Layer::Unix, |w| {
                    format!(
                        "unix_create: struct socket + struct unix_sock ({}), inode {inode}; fd {fd} -> struct file",
                        w.unix_type_name(sk)
                    )
                });
                Ok(fd)
            }
            Err(e) => {
                self.socks.remove(&sk);
                Err(e)
            }
        }
    }

    /// `socketpair(domain, type, protocol)`: two socks joined back to back
    /// (`unix_socketpair()`), on the two lowest free fds. Only `AF_UNIX`
    /// has pairs: an inet family gives `EOPNOTSUPP` (`sock_no_socketpair`).
    pub(crate) fn sys_socketpair(
        &mut self,
        pid: Pid,
        domain: i32,
        ty: i32,
        protocol: i32,
    ) -> Result<(i32, i32), Errno> {
        let base = ty & SOCK_TYPE_MASK;
        let flags = ty & !SOCK_TYPE_MASK;
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        // __sys_socketpair() takes both fds before it makes the sockets.
        let nofile = self.task(pid).rlimit_nofile;
        if self.task(pid).files.len() as u32 + 2 > nofile {
            return Err(Errno::EMFILE);
        }
        if !(0..AF_MAX).contains(&domain) {
            return Err(Errno::EAFNOSUPPORT);
        }
        if !(0..SOCK_MAX).contains(&base) {
            return Err(Errno::EINVAL);
        }
        match domain {
            AF_UNIX => {}
            AF_INET | AF_INET6 => return Err(Errno::EOPNOTSUPP),
            _ => return Err(Errno::EAFNOSUPPORT),
        }
        let host = self.task(pid).host;
        let a = self.unix_create(pid, base, protocol)?;
        let ino_a = self.next_inode(host);
        self.sk_mut(a).inode = ino_a;
        let b = self.unix_create1(pid, self.sk(a).ty);
        let ino_b = self.next_inode(host);
        self.sk_mut(b).inode = ino_b;
        self.unix_set_peer(a, Some(b));
        self.unix_set_peer(b, Some(a));
        for s in [a, b] {
            self.u_mut(s).peer_pid = Some(pid);
            let sk = self.sk_mut(s);
            sk.state = TCP_ESTABLISHED;
            sk.sock_state = SocketState::Connected;
        }
        // There is room for both fds, so neither mapping fails.
        let fa = self.sock_map_fd(pid, a, flags)?;
        let fb = self.sock_map_fd(pid, b, flags)?;
        self.trace(host, Layer::Unix, |w| {
            format!(
                "unix_socketpair: two {} socks joined back to back, inodes {ino_a} and {ino_b}; fds {fa} and {fb}",
                w.unix_type_name(a)
            )
        });
        Ok((fa, fb))
    }

    /// "stream", "dgram" or "seqpacket", for the trace.
    pub(crate) fn unix_type_name(&self, sk: SockId) -> &'static str {
        match self.sk(sk).ty {
            SockType::Stream => "stream",
            SockType::Dgram => "dgram",
            SockType::SeqPacket => "seqpacket",
            SockType::Raw => "raw",
        }
    }

    /// The socket type's `->sendmsg`: `unix_stream_sendmsg()`, or
    /// `unix_dgram_sendmsg()` (also for seqpacket).
    pub(crate) fn unix_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        msg: super::UnixMsg<'_>,
        copied: &mut usize,
        nonblock: bool,
    ) -> std::task::Poll<Result<usize, Errno>> {
        if self.sk(sk).ty == SockType::Stream {
            self.unix_stream_sendmsg(pid, sk, msg, copied, nonblock)
        } else {
            self.unix_dgram_sendmsg(pid, sk, msg, nonblock)
        }
    }

    /// The socket type's `->recvmsg`; files passed with what was read are
    /// added to `files` (the caller installs or closes them).
    pub(crate) fn unix_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
        files: &mut Vec<crate::kernel::ids::FileId>,
    ) -> std::task::Poll<Result<(usize, Option<SockAddr>), Errno>> {
        if self.sk(sk).ty == SockType::Stream {
            self.unix_stream_recvmsg(pid, sk, buf, flags, nonblock, files)
        } else {
            self.unix_dgram_recvmsg(pid, sk, buf, flags, nonblock, files)
        }
    }

    /// `unix_peer(sk) = other`, taking the reference the pointer holds
    /// (`sock_hold()`). The old peer's reference is the caller's to drop
    /// with [`World::unix_sock_put`], as the kernel's callers do.
    pub(crate) fn unix_set_peer(&mut self, sk: SockId, other: Option<SockId>) -> Option<SockId> {
        if let Some(o) = other {
            self.u_mut(o).refs += 1;
        }
        std::mem::replace(&mut self.u_mut(sk).peer, other)
    }

    /// `sock_put()` of a peer reference: a closed sock nobody points at any
    /// more, and whose packets are all freed, goes.
    pub(crate) fn unix_sock_put(&mut self, sk: SockId) {
        let Some(s) = self.socks.get_mut(&sk) else {
            return;
        };
        if let Some(u) = s.unix.as_deref_mut() {
            u.refs = u.refs.saturating_sub(1);
        }
        if s.dead && s.may_free() {
            self.socks.remove(&sk);
        }
    }

    /// `unix_bind()`: a name for the socket. Only `sun_family` (address
    /// length 2) asks for an automatic abstract name.
    pub(crate) fn unix_bind(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        if addr.unix().is_some_and(|a| a.is_unnamed()) {
            return self.unix_autobind(sk);
        }
        let a = unix_validate_addr(addr)?;
        let r = if a.is_abstract() {
            self.unix_bind_abstract(sk, a)
        } else {
            self.unix_bind_bsd(sk, a)
        };
        if r.is_ok() {
            let host = self.sk(sk).host;
            self.trace(host, Layer::Unix, |w| {
                format!(
                    "unix_bind: socket:[{}] is now {a}{}",
                    w.sk(sk).inode,
                    if a.is_abstract() {
                        " (abstract: in the namespace's table, gone with the socket)"
                    } else {
                        " (a socket file: it stays until unlink())"
                    }
                )
            });
        }
        r
    }

    /// `unix_bind_bsd()`: make the socket file (`mknod`, `EADDRINUSE` if
    /// the name exists, whoever made it, socket or regular file), then bind;
    /// a socket that already has a name gets `EINVAL` and the new file is
    /// removed again.
    fn unix_bind_bsd(&mut self, sk: SockId, a: UnixAddr) -> Result<(), Errno> {
        let path = fs_name(a.path_bytes().unwrap_or_default());
        let host = self.sk(sk).host;
        if self.host(host).unix_fs.files.contains_key(&path)
            || self.regular_file_exists(host, &path)
        {
            return Err(Errno::EADDRINUSE);
        }
        if self.u(sk).addr.is_some() {
            return Err(Errno::EINVAL);
        }
        self.host_mut(host).unix_fs.files.insert(path, Some(sk));
        let u = self.u_mut(sk);
        u.addr = Some(a);
        u.path = true;
        Ok(())
    }

    /// `unix_bind_abstract()`.
    fn unix_bind_abstract(&mut self, sk: SockId, a: UnixAddr) -> Result<(), Errno> {
        if self.u(sk).addr.is_some() {
            return Err(Errno::EINVAL);
        }
        let key = (type_number(self.sk(sk).ty), a.sun_path().to_vec());
        let ns = self.sk(sk).netns;
        if self.ns(ns).unix.names.contains_key(&key) {
            return Err(Errno::EADDRINUSE);
        }
        self.ns_mut(ns).unix.names.insert(key, sk);
        self.u_mut(sk).addr = Some(a);
        Ok(())
    }

    /// `unix_autobind()`: an abstract name of five hex digits, tried from a
    /// random start; a socket that already has a name keeps it (and the
    /// call succeeds). `ENOSPC` once all 2^20 names are taken.
    pub(crate) fn unix_autobind(&mut self, sk: SockId) -> Result<(), Errno> {
        if self.u(sk).addr.is_some() {
            return Ok(());
        }
        let mut ordernum = self.rng.u32(..);
        let lastnum = ordernum & 0xFFFFF;
        let ty = type_number(self.sk(sk).ty);
        let ns = self.sk(sk).netns;
        loop {
            ordernum = (ordernum + 1) & 0xFFFFF;
            let name = format!("{ordernum:05x}");
            let a = UnixAddr::abstract_name(&name)?;
            let key = (ty, a.sun_path().to_vec());
            if !self.ns(ns).unix.names.contains_key(&key) {
                self.ns_mut(ns).unix.names.insert(key, sk);
                self.u_mut(sk).addr = Some(a);
                let host = self.sk(sk).host;
                self.trace(host, Layer::Unix, |w| {
                    format!("unix_autobind: socket:[{}] is now {a}", w.sk(sk).inode)
                });
                return Ok(());
            }
            if ordernum == lastnum {
                return Err(Errno::ENOSPC);
            }
        }
    }

    /// `unix_find_other()`: the open sock bound to `a`, as `sk` may reach
    /// it. A file system name that does not exist is `ENOENT`; one whose
    /// socket has closed is `ECONNREFUSED` (the file outlives it); one of
    /// another socket type is `EPROTOTYPE`. An abstract name is looked up
    /// among sockets of `sk`'s type only: `ECONNREFUSED` if none.
    pub(crate) fn unix_find_other(&self, sk: SockId, a: &UnixAddr) -> Result<SockId, Errno> {
        let ty = self.sk(sk).ty;
        if a.is_abstract() {
            let key = (type_number(ty), a.sun_path().to_vec());
            let ns = self.sk(sk).netns;
            return self
                .ns(ns)
                .unix
                .names
                .get(&key)
                .copied()
                .ok_or(Errno::ECONNREFUSED);
        }
        let path = fs_name(a.path_bytes().unwrap_or_default());
        let host = self.sk(sk).host;
        match self.host(host).unix_fs.files.get(&path) {
            // A regular file is there, but no socket.
            None if self.regular_file_exists(host, &path) => Err(Errno::ECONNREFUSED),
            None => Err(Errno::ENOENT),
            Some(None) => Err(Errno::ECONNREFUSED),
            Some(Some(o)) if self.sk(*o).ty != ty => Err(Errno::EPROTOTYPE),
            Some(Some(o)) => Ok(*o),
        }
    }

    /// Whether a socket file has this name on the host.
    pub(crate) fn unix_socket_file_exists(
        &self,
        host: crate::kernel::ids::HostId,
        path: &[u8],
    ) -> bool {
        self.host(host).unix_fs.files.contains_key(&fs_name(path))
    }

    /// Whether a regular file (`crate::fs::ramfs`) has this name on the host.
    fn regular_file_exists(&self, host: crate::kernel::ids::HostId, path: &[u8]) -> bool {
        std::str::from_utf8(path).is_ok_and(|p| self.host(host).ramfs.exists(p))
    }

    /// `unlink(path)`: removes a socket file (or a regular file, see
    /// `crate::fs::ramfs`). The socket bound to it (if still open) keeps its
    /// name, but nobody can reach it by that name any more, and a new socket
    /// may bind it.
    pub(crate) fn sys_unlink(&mut self, pid: Pid, path: &[u8]) -> Result<(), Errno> {
        let host = self.task(pid).host;
        if let Ok(p) = std::str::from_utf8(path)
            && self.host_mut(host).ramfs.unlink(p)
        {
            return Ok(());
        }
        match self.host_mut(host).unix_fs.files.remove(&fs_name(path)) {
            Some(_) => {
                self.trace(host, Layer::Unix, |_w| {
                    format!(
                        "unlink: socket file {} removed",
                        String::from_utf8_lossy(path)
                    )
                });
                Ok(())
            }
            None => Err(Errno::ENOENT),
        }
    }

    /// `unix_listen()`: a named stream or seqpacket socket starts taking
    /// connections; the backlog is capped at `net.core.somaxconn` (as an
    /// unsigned number, so a negative one means the cap) by `__sys_listen()`.
    pub(crate) fn unix_listen(&mut self, pid: Pid, sk: SockId, backlog: i32) -> Result<(), Errno> {
        if self.sk(sk).ty == SockType::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.u(sk).addr.is_none() {
            return Err(Errno::EINVAL);
        }
        let state = self.sk(sk).state;
        if state != TCP_CLOSE && state != TCP_LISTEN {
            return Err(Errno::EINVAL);
        }
        let somaxconn = self.ns(self.sk(sk).netns).sysctl.somaxconn;
        let backlog = (backlog as u32).min(somaxconn);
        // A bigger backlog may let waiting connect()s in.
        if backlog > self.u(sk).max_ack_backlog {
            self.unix_peer_wait_wake(sk, Wakeup::StateChange);
        }
        let u = self.u_mut(sk);
        u.max_ack_backlog = backlog;
        u.peer_pid = Some(pid);
        self.sk_mut(sk).state = TCP_LISTEN;
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| {
            format!(
                "unix_listen: {} listens, backlog {backlog} (at most {} connections wait for accept())",
                w.unix_label(sk),
                backlog + 1
            )
        });
        Ok(())
    }

    /// `unix_recvq_full()`: more skbs queued than `sk_max_ack_backlog`.
    pub(crate) fn unix_recvq_full(&self, sk: SockId) -> bool {
        let s = self.sk(sk);
        s.unix_rq().qlen() as u64 > s.unix.as_ref().map_or(0, |u| u.max_ack_backlog) as u64
    }

    /// `unix_getname()`: the socket's own name, or with `peer` its peer's
    /// (`ENOTCONN` without one); unnamed if it has none. A peer that has
    /// closed still answers: the pointer to it stays until this socket
    /// closes too.
    pub(crate) fn unix_getname(&self, sk: SockId, peer: bool) -> Result<UnixAddr, Errno> {
        let target = if peer {
            self.u(sk).peer.ok_or(Errno::ENOTCONN)?
        } else {
            sk
        };
        Ok(self
            .socks
            .get(&target)
            .and_then(|s| s.unix.as_deref())
            .and_then(|u| u.addr)
            .unwrap_or_else(UnixAddr::unnamed))
    }

    /// `unix_shutdown()`: shut our side; on a connected stream or
    /// seqpacket socket the peer's opposite side is shut as well (our
    /// `SHUT_WR` is its end of file, our `SHUT_RD` its `EPIPE`).
    pub(crate) fn unix_shutdown(&mut self, sk: SockId, how: i32) -> Result<(), Errno> {
        if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        self.sk_mut(sk).shutdown |= mode;
        let other = self.u(sk).peer;
        self.sk_wake(sk, Wakeup::StateChange);
        let connected = self.sk(sk).ty != SockType::Dgram;
        if let Some(o) = other.filter(|_| connected) {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            self.sk_mut(o).shutdown |= peer_mode;
            let host = self.sk(sk).host;
            self.trace(host, Layer::Unix, |w| {
                format!(
                    "unix_shutdown: {} shut {}; its peer {} shut {}",
                    w.unix_label(sk),
                    shutdown_name(mode),
                    w.unix_label(o),
                    shutdown_name(peer_mode)
                )
            });
            self.sk_wake(o, Wakeup::StateChange);
        }
        Ok(())
    }

    /// `unix_release()`: the last fd of the socket is closed.
    pub(crate) fn unix_release(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        self.trace(host, Layer::Unix, |w| {
            format!(
                "sock_close: last reference gone: unix_release_sock({})",
                w.unix_label(sk)
            )
        });
        self.unix_release_sock(sk, false);
    }

    /// `unix_release_sock()`: the name goes (a socket file stays), the sock
    /// is marked dead and shut both ways. A stream peer is shut both ways
    /// and woken, with `ECONNRESET` if this socket had unread data or was
    /// never accepted (`embrion`). Whatever is queued here is freed (which
    /// gives the senders their write memory back); a listener's queued
    /// connections are released in turn. The sock itself stays while
    /// packets or peers still hold it.
    pub(crate) fn unix_release_sock(&mut self, sk: SockId, embrion: bool) {
        // The caller's reference keeps the sock while it is taken apart,
        // even when its last packet (sent to itself) or its own peer
        // pointer (connected to itself) goes meanwhile.
        self.u_mut(sk).refs += 1;
        self.unix_unhash(sk);
        let s = self.sk_mut(sk);
        s.dead = true;
        s.shutdown = SHUTDOWN_MASK;
        let state = s.state;
        s.state = TCP_CLOSE;
        let ty = s.ty;
        let unread = !s.unix_rq().is_empty();
        let skpair = self.u_mut(sk).peer.take();
        self.unix_peer_wait_wake(sk, Wakeup::StateChange);
        if let Some(p) = skpair {
            if ty != SockType::Dgram && self.socks.contains_key(&p) {
                let reset = unread || embrion;
                let ps = self.sk_mut(p);
                ps.shutdown = SHUTDOWN_MASK;
                if reset {
                    ps.err = Some(Errno::ECONNRESET);
                }
                let host = self.sk(sk).host;
                self.trace(host, Layer::Unix, |w| {
                    format!(
                        "unix_release_sock: peer {} shut down both ways{}",
                        w.unix_label(p),
                        if reset {
                            if unread {
                                "; sk_err = ECONNRESET (data were left unread)"
                            } else {
                                "; sk_err = ECONNRESET (the connection was never accepted)"
                            }
                        } else {
                            ""
                        }
                    )
                });
                self.sk_wake(p, Wakeup::StateChange);
            }
            self.unix_dgram_peer_wake_disconnect(sk, p);
            self.unix_sock_put(p);
        }
        if let Some(other) = self.u(sk).peer_wake {
            self.unix_dgram_peer_wake_disconnect(sk, other);
        }
        while let Some(skb) = self.sk_mut(sk).unix_rq_mut().dequeue() {
            if state == TCP_LISTEN
                && let Some(embryo) = skb.owner
                && self.unix_alive(embryo)
            {
                self.unix_release_sock(embryo, true);
            }
            self.kfree_skb(skb);
        }
        let pending: Vec<SkBuff> = self
            .u_mut(sk)
            .pending
            .drain(..)
            .map(|(_, skb)| skb)
            .collect();
        for skb in pending {
            self.kfree_skb(skb);
        }
        self.unix_sock_put(sk);
    }

    /// `unix_remove_socket()` and `unix_remove_bsd_socket()`: the name is no
    /// longer found. A socket file stays, with no socket behind it.
    fn unix_unhash(&mut self, sk: SockId) {
        let Some(a) = self.u(sk).addr else { return };
        if a.is_abstract() {
            let key = (type_number(self.sk(sk).ty), a.sun_path().to_vec());
            let ns = self.sk(sk).netns;
            if self.ns(ns).unix.names.get(&key) == Some(&sk) {
                self.ns_mut(ns).unix.names.remove(&key);
            }
        } else if let Some(p) = a.path_bytes() {
            let host = self.sk(sk).host;
            if let Some(slot) = self.host_mut(host).unix_fs.files.get_mut(&fs_name(p))
                && *slot == Some(sk)
            {
                *slot = None;
            }
        }
    }

    /// Wakes a sock's `peer_wait`: first the socks relaying it to their
    /// own wait queue for poll and epoll (`unix_dgram_peer_wake_relay()`,
    /// each unhooking itself), then the connect()s and senders asleep on
    /// it.
    pub(crate) fn unix_peer_wait_wake(&mut self, sk: SockId, why: Wakeup) {
        let relays = match self.socks.get_mut(&sk).and_then(|s| s.unix.as_deref_mut()) {
            Some(u) => std::mem::take(&mut u.relays),
            None => return,
        };
        // The relay passes the wakeup's key on: room to write, or (no key)
        // a change for everyone.
        let relayed = if why == Wakeup::StateChange {
            Wakeup::StateChange
        } else {
            Wakeup::WriteSpace
        };
        for r in relays {
            if let Some(ru) = self.socks.get_mut(&r).and_then(|s| s.unix.as_deref_mut()) {
                ru.peer_wake = None;
                self.sk_wake(r, relayed);
            }
        }
        self.wake_up(WaitObj::UnixPeerWait(sk), why);
    }

    /// `unix_dgram_peer_wake_connect()`: relay `other`'s `peer_wait` to
    /// `sk`; true if it was not relayed yet.
    pub(crate) fn unix_dgram_peer_wake_connect(&mut self, sk: SockId, other: SockId) -> bool {
        if self.u(sk).peer_wake.is_some() || !self.socks.contains_key(&other) {
            return false;
        }
        self.u_mut(sk).peer_wake = Some(other);
        self.u_mut(other).relays.push(sk);
        true
    }

    /// `unix_dgram_peer_wake_disconnect()`.
    pub(crate) fn unix_dgram_peer_wake_disconnect(&mut self, sk: SockId, other: SockId) {
        if self.u(sk).peer_wake != Some(other) {
            return;
        }
        self.u_mut(sk).peer_wake = None;
        if let Some(ou) = self
            .socks
            .get_mut(&other)
            .and_then(|s| s.unix.as_deref_mut())
        {
            ou.relays.retain(|&r| r != sk);
        }
    }

    /// `unix_dgram_peer_wake_me()`: while `other`'s queue is full (and it
    /// is open), keep the relay and say so; otherwise drop it again.
    pub(crate) fn unix_dgram_peer_wake_me(&mut self, sk: SockId, other: SockId) -> bool {
        let connected = self.unix_dgram_peer_wake_connect(sk, other);
        if self.unix_alive(other) && self.unix_recvq_full(other) {
            return true;
        }
        if connected {
            self.unix_dgram_peer_wake_disconnect(sk, other);
        }
        false
    }

    /// `sock_alloc_send_pskb()`'s buffer for `payload`, the last `data_len`
    /// bytes of it in pages (`alloc_skb_with_frags()`). Unix socks allocate
    /// with `GFP_KERNEL_ACCOUNT`, which keeps memcg-accounted heads out of
    /// the small-head slab, so the linear part is a kmalloc object.
    pub(crate) fn unix_alloc_skb(&mut self, payload: &[u8], data_len: usize) -> Option<SkBuff> {
        let linear = payload.len().checked_sub(data_len)?;
        let mut skb = SkBuff::alloc_skb_with(linear, SlabModel::KMALLOC_ONLY).ok()?;
        skb.id = self.next_skb_id();
        skb.put_data(&payload[..linear]).ok()?;
        for chunk in payload[linear..].chunks(PAGE_SIZE) {
            let page = Page::alloc();
            page.write(0, chunk).ok()?;
            skb.add_rx_frag(page, 0, chunk.len(), PAGE_SIZE).ok()?;
        }
        Some(skb)
    }

    /// A sock as the trace and the deadlock report name it:
    /// `unix stream socket:[40002] @server`.
    pub(crate) fn unix_label(&self, sk: SockId) -> String {
        let Some(s) = self.socks.get(&sk) else {
            return "a closed unix socket".to_string();
        };
        let ty = self.unix_type_name(sk);
        let name = s
            .unix
            .as_deref()
            .and_then(|u| u.addr)
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        if s.inode == 0 {
            format!("unix {ty} socket (not yet accepted){name}")
        } else {
            format!("unix {ty} socket:[{}]{name}", s.inode)
        }
    }

    /// What a sleeper on a unix socket's own wait queue waits for.
    pub(crate) fn unix_describe_wait(&self, sk: SockId, waits: WaitFor) -> String {
        let me = self.unix_label(sk);
        let s = self.sk(sk);
        let peer = self
            .u(sk)
            .peer
            .map(|p| self.unix_label(p))
            .unwrap_or_else(|| "no peer".to_string());
        match waits {
            WaitFor::Data | WaitFor::Datagram => format!(
                "data on {me} (receive queue empty; its peer {peer} has not shut down or closed)"
            ),
            WaitFor::SendSpace => {
                let unread = self.u(sk).peer.map_or(0, |p| self.unix_inq_len(p));
                format!(
                    "send buffer space on {me} (sk_wmem_alloc {} >= sk_sndbuf {}: its peer {peer} has {unread} unread bytes and must read)",
                    s.wmem_alloc, s.sndbuf
                )
            }
            WaitFor::Connection => format!("a connection on {me} (nothing to accept)"),
            WaitFor::Connect => format!("{me} to connect"),
            WaitFor::Events => format!("an event on {me}"),
        }
    }

    /// What a sleeper on a unix socket's `peer_wait` waits for: room in a
    /// listener's backlog, or in a receiver's datagram queue.
    pub(crate) fn unix_describe_peer_wait(&self, sk: SockId, waits: WaitFor) -> String {
        let them = self.unix_label(sk);
        let Some(s) = self.socks.get(&sk) else {
            return them;
        };
        let qlen = s.unix_rq().qlen();
        let max = self.u(sk).max_ack_backlog;
        match waits {
            WaitFor::Connect => format!(
                "room in the backlog of {them} ({qlen} waiting for accept(), more than its backlog {max})"
            ),
            _ => format!(
                "room in the receive queue of {them} ({qlen} datagrams queued, more than max_dgram_qlen {max}; nobody reads them)"
            ),
        }
    }

    /// `sock_ioctl()` → `unix_ioctl()` / `udp_ioctl()`: `SIOCINQ` and
    /// `SIOCOUTQ`.
    pub(crate) fn sys_sock_ioctl(&self, pid: Pid, fd: i32, request: i32) -> Result<i32, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        let s = self.sk(sk);
        if s.tcp.is_some() {
            return self.tcp_ioctl(sk, request);
        }
        match request {
            SIOCOUTQ => Ok(s.wmem_alloc as i32),
            SIOCINQ if s.family == Family::Unix => {
                if s.state == TCP_LISTEN {
                    return Err(Errno::EINVAL);
                }
                Ok(self.unix_inq_len(sk) as i32)
            }
            // udp_ioctl(): the first datagram's payload.
            SIOCINQ => Ok(s.unix_rq().peek().map_or(0, SkBuff::len) as i32),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// `unix_inq_len()`: the bytes a reader could get (for a datagram
    /// socket, the first datagram's).
    pub(crate) fn unix_inq_len(&self, sk: SockId) -> usize {
        let Some(s) = self.socks.get(&sk) else {
            return 0;
        };
        if s.ty == SockType::Dgram {
            return s.unix_rq().peek().map_or(0, SkBuff::len);
        }
        s.unix_rq()
            .iter()
            .map(|skb| skb.len() - skb.cb.consumed)
            .sum()
    }
}

fn shutdown_name(mode: u8) -> &'static str {
    match mode {
        RCV_SHUTDOWN => "for reading",
        SEND_SHUTDOWN => "for writing",
        _ => "both ways",
    }
}
