//! The `->poll` file operation: what a file says when asked "are you
//! ready?" (`vfs_poll()`, `include/linux/poll.h`; `sock_poll()` in
//! `net/socket.c`).
//!
//! `select()`, `poll()` and epoll all ask the same question through the same
//! method. It returns a mask of `EPOLL*` bits (the `POLL*` bits have the same
//! values) computed from the object's state right now, and, when the caller
//! passes a poll table, it also hooks the caller onto the object's wait queue
//! (`poll_wait()`), so the caller hears about the next change. Each call is
//! counted in [`crate::kernel::host::Costs::fds_polled`]: this is the work `select()`
//! and `poll()` repeat for every fd on every call, and epoll does only for
//! the fds that became ready.

use crate::kernel::ids::{FileId, HostId, SockId};
use crate::kernel::wait::WaitObj;
use crate::kernel::world::World;
use crate::net::core::sock::{Family, SockType};

impl World {
    /// `vfs_poll(file, NULL)`: the file's readiness mask now, counted as one
    /// poll of one fd on the cost counters of `host`, where the caller runs.
    pub(crate) fn vfs_poll(&mut self, host: HostId, file: FileId) -> u32 {
        self.costs(host).fds_polled += 1;
        self.unix_dgram_poll_wait(file);
        self.file_poll_mask(file)
    }

    /// The readiness mask of a file, without counting it.
    pub(crate) fn file_poll_mask(&self, file: FileId) -> u32 {
        use crate::fs::file::FileKind;
        use crate::uapi::*;
        let Some(f) = self.files.get(&file) else {
            return 0;
        };
        match &f.kind {
            // A terminal with nothing typed would block a reader; the
            // simulation's terminal reads as end of file, which is "ready".
            FileKind::Tty => EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM,
            FileKind::Socket(s) => self.sock_poll(s.sk),
            FileKind::Epoll => self.ep_eventpoll_poll(file),
            FileKind::IoUring => self.io_uring_poll(file),
            FileKind::Pipe(_) => self.pipe_poll(file),
            // No ->poll: DEFAULT_POLLMASK, a regular file never blocks.
            FileKind::Regular(_) => EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM,
        }
    }

    /// The wait queue a poller of this file hooks onto (`poll_wait()`'s
    /// argument in the file's `->poll`), if the file ever changes.
    pub(crate) fn file_wait_obj(&self, file: FileId) -> Option<WaitObj> {
        use crate::fs::file::FileKind;
        match &self.files.get(&file)?.kind {
            FileKind::Tty => None,
            FileKind::Socket(s) => Some(WaitObj::Sock(s.sk)),
            FileKind::Epoll => Some(WaitObj::EpollPoll(file)),
            FileKind::IoUring => Some(WaitObj::IoUring(file)),
            FileKind::Pipe(_) => self.pipe_wait_obj(file),
            FileKind::Regular(_) => None,
        }
    }

    /// `sock_poll()` → the protocol's `->poll`: `tcp_poll` for stream
    /// sockets, `udp_poll` for UDP ones, `datagram_poll` for raw and
    /// netlink sockets, `unix_poll` and `unix_dgram_poll` for `AF_UNIX`.
    pub(crate) fn sock_poll(&self, sk: SockId) -> u32 {
        let Some(s) = self.socks.get(&sk) else {
            return 0;
        };
        match (s.family, s.ty) {
            (Family::Inet | Family::Inet6, SockType::Stream) => self.tcp_poll(sk),
            (Family::Inet | Family::Inet6, SockType::Dgram) => self.udp_poll(sk),
            (Family::Netlink, _) | (_, SockType::Raw) => self.datagram_poll(sk),
            (Family::Unix, SockType::Stream) => self.unix_poll(sk),
            (Family::Unix, _) => self.unix_dgram_poll(sk),
            (_, SockType::SeqPacket) => 0,
        }
    }
}
