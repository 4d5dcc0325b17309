//! The system calls `AF_UNIX` adds to the [`Process`] API: `socketpair()`,
//! `unlink()` for socket files, `getsockopt(SO_PEERCRED)`, and a poll of
//! one socket. The usual socket calls (`socket`, `bind`, `connect`,
//! `listen`, `accept`, `send`, `recv`, `shutdown`, `close`) take unix
//! sockets and addresses as they are (see [`crate::uapi::UnixAddr`]).

use crate::kernel::ids::Pid;
use crate::kernel::syscalls::{Process, SysResult};

/// `struct ucred`, what `getsockopt(SO_PEERCRED)` fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ucred {
    /// The peer process: the one that called `connect()` (seen from the
    /// accepted socket), `listen()` (seen from the client and from the
    /// listener itself) or `socketpair()`; `None` (pid 0) if none did.
    pub pid: Option<Pid>,
    /// Its user: 0, since the simulation runs everything as root, or
    /// `u32::MAX` (-1) without a peer.
    pub uid: u32,
    /// Its group, likewise.
    pub gid: u32,
}

impl Process {
    /// `socketpair(domain, type, protocol)`: two connected `AF_UNIX`
    /// sockets on the two lowest free fds. `type` may carry
    /// `SOCK_NONBLOCK` and `SOCK_CLOEXEC`. Other families give
    /// `EOPNOTSUPP` (inet) or `EAFNOSUPPORT`.
    pub fn socketpair(&self, domain: i32, ty: i32, protocol: i32) -> SysResult<(i32, i32)> {
        self.call(
            || {
                format!(
                    "socketpair({}, {}, {protocol})",
                    crate::uapi::family_name(domain),
                    crate::uapi::type_name(ty)
                )
            },
            |w| w.sys_socketpair(self.pid, domain, ty, protocol),
        )
    }

    /// `unlink(path)`: removes a name from this host's file system: the
    /// socket file a `bind()` left, or a regular file (`ENOENT` if there is
    /// neither). A socket file outlives its socket: until it is unlinked,
    /// `bind()` to the name fails with `EADDRINUSE`, `connect()` with
    /// `ECONNREFUSED` and `open()` with `ENXIO`.
    pub fn unlink(&self, path: &str) -> SysResult<()> {
        self.call(
            || format!("unlink(\"{path}\")"),
            |w| w.sys_unlink(self.pid, path.as_bytes()),
        )
    }

    /// `ioctl(fd, SIOCINQ)` / `ioctl(fd, SIOCOUTQ)` on a socket
    /// (`unix_ioctl()`, `udp_ioctl()`, `tcp_ioctl()`): the bytes a reader
    /// could get now (for a datagram socket, the first datagram's), and
    /// what is still to send: the send-buffer memory charged for `AF_UNIX`
    /// and UDP (`sk_wmem_alloc`: truesize, not bytes), the bytes not yet
    /// acknowledged for TCP (`SIOCOUTQNSD`: not yet sent). `EINVAL` for
    /// `SIOCINQ` on a listener; `ENOTTY` for other requests, `ENOTSOCK`
    /// for other files.
    pub fn ioctl(&self, fd: i32, request: i32) -> SysResult<i32> {
        self.call(
            || format!("ioctl({fd}, {request:#x})"),
            |w| w.sys_sock_ioctl(self.pid, fd, request),
        )
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)`: who is at the other end
    /// of an `AF_UNIX` socket, as the kernel recorded it at `connect()`,
    /// `listen()` or `socketpair()` time (`cred_to_ucred()`: pid 0 and ids
    /// -1 when nobody did, as on any other socket).
    pub fn peercred(&self, fd: i32) -> SysResult<Ucred> {
        self.call(
            || format!("getsockopt({fd}, SOL_SOCKET, SO_PEERCRED)"),
            |w| {
                let (_, sk) = w.sockfd_lookup(self.pid, fd)?;
                let pid = w
                    .socks
                    .get(&sk)
                    .and_then(|s| s.unix.as_deref())
                    .and_then(|u| u.peer_pid);
                let id = if pid.is_some() { 0 } else { u32::MAX };
                Ok(Ucred {
                    pid,
                    uid: id,
                    gid: id,
                })
            },
        )
    }
}
