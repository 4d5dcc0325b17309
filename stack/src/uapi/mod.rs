//! The constants of the user-space API, with Linux's values
//! (`include/uapi/linux/socket.h`, `include/linux/socket.h`,
//! `include/uapi/asm-generic/socket.h`, `include/uapi/linux/in.h`,
//! `include/uapi/asm-generic/fcntl.h`). Programs written against the
//! simulation use the same names and numbers as C programs do.

pub mod errno;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::uapi::errno::Errno;

/// `AF_UNSPEC`.
pub const AF_UNSPEC: i32 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: i32 = 1;
/// `AF_INET`.
pub const AF_INET: i32 = 2;
/// `AF_INET6`.
pub const AF_INET6: i32 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: i32 = 16;
/// `AF_PACKET`.
pub const AF_PACKET: i32 = 17;
/// `AF_MAX` (`NPROTO`): families at or above this do not exist.
pub const AF_MAX: i32 = 46;

/// `SOCK_STREAM`.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: i32 = 5;
/// `SOCK_NONBLOCK`, or-ed into the type.
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// `SOCK_CLOEXEC`, or-ed into the type.
pub const SOCK_CLOEXEC: i32 = 0o2000000;
/// `SOCK_TYPE_MASK`.
pub const SOCK_TYPE_MASK: i32 = 0xf;
/// `SOCK_MAX`: types at or above this are invalid.
pub const SOCK_MAX: i32 = 11;

/// `IPPROTO_IP` (0: the default protocol for the type).
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_ICMP`.
pub const IPPROTO_ICMP: i32 = 1;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_RAW`: a raw socket that supplies whole IP headers and
/// receives nothing.
pub const IPPROTO_RAW: i32 = 255;
/// `IPPROTO_MAX`: protocol numbers at or above this are invalid.
pub const IPPROTO_MAX: i32 = 263;
/// `NETLINK_ROUTE`: the routing and link family of netlink (rtnetlink).
pub const NETLINK_ROUTE: i32 = 0;

/// `TCP_NODELAY` (level `IPPROTO_TCP`).
pub const TCP_NODELAY: i32 = 1;
/// `TCP_MAXSEG`: the largest segment this socket will send (`user_mss`).
pub const TCP_MAXSEG: i32 = 2;
/// `TCP_CORK`: hold partial segments until uncorked.
pub const TCP_CORK: i32 = 3;
/// `TCP_KEEPIDLE`: seconds idle before the first keepalive probe.
pub const TCP_KEEPIDLE: i32 = 4;
/// `TCP_KEEPINTVL`: seconds between keepalive probes.
pub const TCP_KEEPINTVL: i32 = 5;
/// `TCP_KEEPCNT`: unanswered probes before the connection is dropped.
pub const TCP_KEEPCNT: i32 = 6;
/// `TCP_QUICKACK`: acknowledge at once (1) or leave ACKs delayed (0).
pub const TCP_QUICKACK: i32 = 12;
/// `TCP_CONGESTION`: the congestion control by name (a string option:
/// `Process::set_congestion`, `Process::get_congestion`).
pub const TCP_CONGESTION: i32 = 13;
/// `TCP_USER_TIMEOUT`: milliseconds sent data may stay unacknowledged.
pub const TCP_USER_TIMEOUT: i32 = 18;
/// `TCP_INQ`: `recvmsg()` on the socket reports the bytes left to read
/// in a `TCP_CM_INQ` control message.
pub const TCP_INQ: i32 = 36;
/// `TCP_CM_INQ`: the control message `TCP_INQ` asks for (`SOL_TCP`).
pub const TCP_CM_INQ: i32 = TCP_INQ;
/// `TCP_NOTSENT_LOWAT`: unsent bytes above which the socket is not
/// writable.
pub const TCP_NOTSENT_LOWAT: i32 = 25;
/// `TCP_INFO`: the connection's `struct tcp_info` (`Process::tcp_info`).
pub const TCP_INFO: i32 = 11;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`.
pub const SO_ERROR: i32 = 4;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_KEEPALIVE`: send keepalive probes on an idle connection.
pub const SO_KEEPALIVE: i32 = 9;
/// `SO_PRIORITY`: the packets' queueing priority.
pub const SO_PRIORITY: i32 = 12;
/// `SO_REUSEPORT`.
pub const SO_REUSEPORT: i32 = 15;
/// `SO_RCVLOWAT`: the bytes a read waits for.
pub const SO_RCVLOWAT: i32 = 18;
/// `SO_ACCEPTCONN`: whether the socket listens (read only).
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;

/// `MSG_PEEK`.
pub const MSG_PEEK: i32 = 0x2;
/// `MSG_TRUNC`.
pub const MSG_TRUNC: i32 = 0x20;
/// `MSG_WAITALL`: a stream read waits until the whole buffer is filled
/// (or end of stream, an error, or the connection's end).
pub const MSG_WAITALL: i32 = 0x100;
/// `MSG_EOR`: on TCP, the end of a record: later data is not coalesced
/// into the same buffer.
pub const MSG_EOR: i32 = 0x80;
/// `MSG_MORE`: more data follows; do not push what is queued yet.
pub const MSG_MORE: i32 = 0x8000;
/// `MSG_DONTWAIT`.
pub const MSG_DONTWAIT: i32 = 0x40;
/// `MSG_NOSIGNAL`: no `SIGPIPE` on a broken stream (accepted; the
/// simulation sends no signals).
pub const MSG_NOSIGNAL: i32 = 0x4000;

/// `SHUT_RD`.
pub const SHUT_RD: i32 = 0;
/// `SHUT_WR`.
pub const SHUT_WR: i32 = 1;
/// `SHUT_RDWR`.
pub const SHUT_RDWR: i32 = 2;

/// `F_GETFD`.
pub const F_GETFD: i32 = 1;
/// `F_SETFD`.
pub const F_SETFD: i32 = 2;
/// `F_GETFL`.
pub const F_GETFL: i32 = 3;
/// `F_SETFL`.
pub const F_SETFL: i32 = 4;
/// `FD_CLOEXEC`.
pub const FD_CLOEXEC: i32 = 1;
/// `O_NONBLOCK`, as `fcntl(F_GETFL)` reports it.
pub const O_NONBLOCK: i32 = 0o4000;
/// `O_RDWR`: sockets are opened read-write.
pub const O_RDWR: i32 = 2;

/// A socket address as passed to and returned from system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// `struct sockaddr_in` / `sockaddr_in6`.
    Inet(SocketAddr),
    /// `AF_UNSPEC`: for `connect()`, "dissolve the association".
    Unspec,
    /// `struct sockaddr_nl`: a netlink port id (0 is the kernel) and a
    /// bitmask of multicast groups.
    Netlink {
        /// `nl_pid`.
        pid: u32,
        /// `nl_groups`.
        groups: u32,
    },
    /// `struct sockaddr_un`.
    Unix(UnixAddr),
}

impl SockAddr {
    /// The inet address, if this is one.
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            SockAddr::Inet(a) => Some(*a),
            SockAddr::Unspec | SockAddr::Netlink { .. } | SockAddr::Unix(_) => None,
        }
    }

    /// The address family number.
    pub fn family(&self) -> i32 {
        match self {
            SockAddr::Inet(SocketAddr::V4(_)) => AF_INET,
            SockAddr::Inet(SocketAddr::V6(_)) => AF_INET6,
            SockAddr::Unspec => AF_UNSPEC,
            SockAddr::Netlink { .. } => AF_NETLINK,
            SockAddr::Unix(_) => AF_UNIX,
        }
    }

    /// The `socklen_t` a C program passes with this address:
    /// `sizeof(struct sockaddr_in)` or `sockaddr_in6`, `sizeof(struct
    /// sockaddr)` for `AF_UNSPEC`, and for `AF_UNIX` the family plus the
    /// name ([`UnixAddr::addrlen`]). A protocol checks it before the family.
    pub fn addrlen(&self) -> usize {
        match self {
            SockAddr::Inet(SocketAddr::V4(_)) | SockAddr::Unspec => 16,
            SockAddr::Inet(SocketAddr::V6(_)) => 28,
            SockAddr::Unix(a) => a.addrlen(),
            // sizeof(struct sockaddr_nl)
            SockAddr::Netlink { .. } => 12,
        }
    }

    /// The `AF_UNIX` address, if this is one.
    pub fn unix(&self) -> Option<UnixAddr> {
        match self {
            SockAddr::Unix(a) => Some(*a),
            _ => None,
        }
    }
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockAddr::Inet(a) => write!(f, "{a}"),
            SockAddr::Unspec => write!(f, "AF_UNSPEC"),
            SockAddr::Netlink { pid, groups } => {
                write!(
                    f,
                    "{{nl_family=AF_NETLINK, nl_pid={pid}, nl_groups={groups:08x}}}"
                )
            }
            SockAddr::Unix(a) => write!(f, "{a}"),
        }
    }
}

/// Anything a program may pass where C passes a `struct sockaddr *`.
pub trait ToSockAddr {
    /// The address, or `EINVAL` if it cannot be one.
    fn to_sock_addr(&self) -> Result<SockAddr, Errno>;
}

impl ToSockAddr for SockAddr {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        Ok(*self)
    }
}

impl ToSockAddr for SocketAddr {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Inet(*self))
    }
}

impl ToSockAddr for &str {
    /// `"10.0.0.2:9000"` or `"[::1]:9000"`; for `AF_UNIX`, a file system
    /// name starting with `/` or `.` (`"/run/app.sock"`), or an abstract
    /// name written as `ss` prints it, `"@name"` (see [`UnixAddr`]).
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        if let Some(name) = self.strip_prefix('@') {
            return UnixAddr::abstract_name(name).map(SockAddr::Unix);
        }
        if self.starts_with('/') || self.starts_with('.') {
            return UnixAddr::path(self).map(SockAddr::Unix);
        }
        self.parse::<SocketAddr>()
            .map(SockAddr::Inet)
            .map_err(|_| Errno::EINVAL)
    }
}

impl ToSockAddr for String {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        self.as_str().to_sock_addr()
    }
}

impl ToSockAddr for (Ipv4Addr, u16) {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Inet(SocketAddr::new(IpAddr::V4(self.0), self.1)))
    }
}

impl ToSockAddr for (Ipv6Addr, u16) {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Inet(SocketAddr::new(IpAddr::V6(self.0), self.1)))
    }
}

/// The C name of an address family, for traces.
pub fn family_name(domain: i32) -> String {
    match domain {
        AF_UNSPEC => "AF_UNSPEC".into(),
        AF_UNIX => "AF_UNIX".into(),
        AF_INET => "AF_INET".into(),
        AF_INET6 => "AF_INET6".into(),
        AF_NETLINK => "AF_NETLINK".into(),
        AF_PACKET => "AF_PACKET".into(),
        n => n.to_string(),
    }
}

/// The C name of a socket type with its flags, for traces.
pub fn type_name(ty: i32) -> String {
    let mut s = match ty & SOCK_TYPE_MASK {
        SOCK_STREAM => "SOCK_STREAM".to_string(),
        SOCK_DGRAM => "SOCK_DGRAM".to_string(),
        SOCK_RAW => "SOCK_RAW".to_string(),
        SOCK_SEQPACKET => "SOCK_SEQPACKET".to_string(),
        n => n.to_string(),
    };
    if ty & SOCK_NONBLOCK != 0 {
        s.push_str("|SOCK_NONBLOCK");
    }
    if ty & SOCK_CLOEXEC != 0 {
        s.push_str("|SOCK_CLOEXEC");
    }
    s
}

/// The C name of a socket option, for traces.
pub fn sockopt_name(level: i32, opt: i32) -> String {
    if level != SOL_SOCKET {
        return opt.to_string();
    }
    match opt {
        SO_REUSEADDR => "SO_REUSEADDR".into(),
        SO_TYPE => "SO_TYPE".into(),
        SO_ERROR => "SO_ERROR".into(),
        SO_SNDBUF => "SO_SNDBUF".into(),
        SO_RCVBUF => "SO_RCVBUF".into(),
        SO_REUSEPORT => "SO_REUSEPORT".into(),
        SO_KEEPALIVE => "SO_KEEPALIVE".into(),
        SO_PRIORITY => "SO_PRIORITY".into(),
        SO_RCVLOWAT => "SO_RCVLOWAT".into(),
        SO_ACCEPTCONN => "SO_ACCEPTCONN".into(),
        SO_PROTOCOL => "SO_PROTOCOL".into(),
        SO_DOMAIN => "SO_DOMAIN".into(),
        SO_ZEROCOPY => "SO_ZEROCOPY".into(),
        SO_MEMINFO => "SO_MEMINFO".into(),
        n => n.to_string(),
    }
}

/// `struct epoll_event` (`include/uapi/linux/eventpoll.h`): what to watch (or what happened) and the caller's
/// cookie, returned untouched with each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollEvent {
    /// `EPOLLIN`, `EPOLLOUT`, … and the flags `EPOLLET`, `EPOLLONESHOT`,
    /// `EPOLLEXCLUSIVE`.
    pub events: u32,
    /// `epoll_data`: usually the fd.
    pub data: u64,
}

/// `EPOLLIN` / `POLLIN`: there is data to read (`include/uapi/linux/eventpoll.h`,
/// `include/uapi/asm-generic/poll.h`: the poll and epoll bits are the same).
pub const EPOLLIN: u32 = 0x001;
/// `EPOLLPRI`: urgent data.
pub const EPOLLPRI: u32 = 0x002;
/// `EPOLLOUT`: writing will not block.
pub const EPOLLOUT: u32 = 0x004;
/// `EPOLLERR`: an error is pending (always reported, never asked for).
pub const EPOLLERR: u32 = 0x008;
/// `EPOLLHUP`: hung up (always reported, never asked for).
pub const EPOLLHUP: u32 = 0x010;
/// `POLLNVAL`: the fd is not open (poll only).
pub const POLLNVAL: u32 = 0x020;
/// `EPOLLRDNORM`.
pub const EPOLLRDNORM: u32 = 0x040;
/// `EPOLLRDBAND`.
pub const EPOLLRDBAND: u32 = 0x080;
/// `EPOLLWRNORM`.
pub const EPOLLWRNORM: u32 = 0x100;
/// `EPOLLWRBAND`.
pub const EPOLLWRBAND: u32 = 0x200;
/// `EPOLLMSG`.
pub const EPOLLMSG: u32 = 0x400;
/// `EPOLLRDHUP`: the peer shut down its writing half.
pub const EPOLLRDHUP: u32 = 0x2000;
/// `EPOLLEXCLUSIVE`: wake one of the epoll instances waiting on the file.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`: report once, then disable until `EPOLL_CTL_MOD`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`: edge-triggered.
pub const EPOLLET: u32 = 1 << 31;
/// `POLLIN`, the `poll()` name of [`EPOLLIN`].
pub const POLLIN: u32 = EPOLLIN;
/// `POLLOUT`.
pub const POLLOUT: u32 = EPOLLOUT;
/// `POLLERR`.
pub const POLLERR: u32 = EPOLLERR;
/// `POLLHUP`.
pub const POLLHUP: u32 = EPOLLHUP;
/// `POLLRDHUP`.
pub const POLLRDHUP: u32 = EPOLLRDHUP;

// ------------------------------------------------- files, pipes and splice
// (`include/uapi/asm-generic/fcntl.h`, `include/uapi/linux/fs.h`,
// `include/linux/splice.h`, `include/uapi/linux/stat.h`)

/// `O_RDONLY`.
pub const O_RDONLY: i32 = 0;
/// `O_WRONLY`.
pub const O_WRONLY: i32 = 1;
/// `O_ACCMODE`: the access-mode bits of the flags.
pub const O_ACCMODE: i32 = 3;
/// `O_CREAT`: create the file if it does not exist.
pub const O_CREAT: i32 = 0o100;
/// `O_EXCL`: with `O_CREAT`, fail with `EEXIST` if the file exists.
pub const O_EXCL: i32 = 0o200;
/// `O_TRUNC`: empty the file on open (if opened for writing).
pub const O_TRUNC: i32 = 0o1000;
/// `O_APPEND`: every write goes to the end of the file.
pub const O_APPEND: i32 = 0o2000;
/// `O_DIRECT` (for a pipe: packet mode, not modelled).
pub const O_DIRECT: i32 = 0o40000;
/// `O_LARGEFILE`: set by `open()` on 64-bit kernels (`force_o_largefile()`),
/// so `fcntl(F_GETFL)` shows it on regular files.
pub const O_LARGEFILE: i32 = 0o100000;
/// `O_CLOEXEC` (the same bit as `SOCK_CLOEXEC`).
pub const O_CLOEXEC: i32 = 0o2000000;

/// `SEEK_SET`: the offset is from the start of the file.
pub const SEEK_SET: i32 = 0;
/// `SEEK_CUR`: from the current position.
pub const SEEK_CUR: i32 = 1;
/// `SEEK_END`: from the end of the file.
pub const SEEK_END: i32 = 2;

/// `F_SETPIPE_SZ` (`F_LINUX_SPECIFIC_BASE + 7`).
pub const F_SETPIPE_SZ: i32 = 1031;
/// `F_GETPIPE_SZ` (`F_LINUX_SPECIFIC_BASE + 8`).
pub const F_GETPIPE_SZ: i32 = 1032;
/// `PIPE_BUF`: a write of at most this many bytes to a pipe is atomic.
pub const PIPE_BUF: usize = 4096;

/// `SPLICE_F_MOVE`: a hint, ignored since 2.6.21.
pub const SPLICE_F_MOVE: u32 = 0x01;
/// `SPLICE_F_NONBLOCK`: do not sleep on the pipe.
pub const SPLICE_F_NONBLOCK: u32 = 0x02;
/// `SPLICE_F_MORE`: more data follows (a hint to a socket).
pub const SPLICE_F_MORE: u32 = 0x04;
/// `SPLICE_F_GIFT`: for `vmsplice()`, the pages are given to the kernel.
pub const SPLICE_F_GIFT: u32 = 0x08;
/// `SPLICE_F_ALL`: every valid flag.
pub const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/// `S_IFMT`: the file-type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// `S_IFSOCK`: a socket.
pub const S_IFSOCK: u32 = 0o140000;
/// `S_IFREG`: a regular file.
pub const S_IFREG: u32 = 0o100000;
/// `S_IFCHR`: a character device (the terminal).
pub const S_IFCHR: u32 = 0o020000;
/// `S_IFIFO`: a pipe.
pub const S_IFIFO: u32 = 0o010000;

/// What `fstat()` reports (`struct stat`, the fields the simulation
/// knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// `st_ino`.
    pub st_ino: u64,
    /// `st_mode`: the file type (`S_IFREG`, `S_IFIFO`, ...) and permissions.
    pub st_mode: u32,
    /// `st_size`: bytes in a regular file; 0 for pipes and sockets.
    pub st_size: u64,
}
// ---- MSG_ZEROCOPY and the error queue (include/uapi/asm-generic/socket.h,
// include/linux/socket.h, include/uapi/linux/errqueue.h, include/uapi/linux/in.h,
// include/uapi/linux/in6.h, include/uapi/linux/sock_diag.h)

/// `SO_ZEROCOPY`: allow `MSG_ZEROCOPY` sends on this socket.
pub const SO_ZEROCOPY: i32 = 60;
/// `SO_MEMINFO`: the socket's memory counters, `SK_MEMINFO_VARS` `u32`s.
pub const SO_MEMINFO: i32 = 55;
/// `MSG_ZEROCOPY`: send from the user's pages without copying them (with
/// `SO_ZEROCOPY` set; ignored otherwise).
pub const MSG_ZEROCOPY: i32 = 0x400_0000;
/// `MSG_ERRQUEUE`: read the socket's error queue instead of its data.
pub const MSG_ERRQUEUE: i32 = 0x2000;
/// `MSG_CTRUNC`: the control buffer was too small for a control message.
pub const MSG_CTRUNC: i32 = 0x8;
/// `SOL_IP`: the level of IPv4 control messages (= `IPPROTO_IP`).
pub const SOL_IP: i32 = 0;
/// `SOL_IPV6` (= `IPPROTO_IPV6`).
pub const SOL_IPV6: i32 = 41;
/// `IP_TOS` (level `IPPROTO_IP`): the type-of-service byte of what the
/// socket sends.
pub const IP_TOS: i32 = 1;
/// `IP_TTL` (level `IPPROTO_IP`): the TTL of what the socket sends.
pub const IP_TTL: i32 = 2;
/// `IP_RECVERR`: as an option, report ICMP errors to any socket (and
/// queue them); also the type of an IPv4 error-queue control message.
pub const IP_RECVERR: i32 = 11;
/// `IPV6_RECVERR`: the type of an IPv6 error-queue control message.
pub const IPV6_RECVERR: i32 = 25;
/// `SO_EE_ORIGIN_NONE`.
pub const SO_EE_ORIGIN_NONE: u8 = 0;
/// `SO_EE_ORIGIN_LOCAL`: an error this host found.
pub const SO_EE_ORIGIN_LOCAL: u8 = 1;
/// `SO_EE_ORIGIN_ICMP`: an ICMP error.
pub const SO_EE_ORIGIN_ICMP: u8 = 2;
/// `SO_EE_ORIGIN_ICMP6`: an ICMPv6 error.
pub const SO_EE_ORIGIN_ICMP6: u8 = 3;
/// `SO_EE_ORIGIN_TXSTATUS` (= `SO_EE_ORIGIN_TIMESTAMPING`).
pub const SO_EE_ORIGIN_TXSTATUS: u8 = 4;
/// `SO_EE_ORIGIN_ZEROCOPY`: a `MSG_ZEROCOPY` completion.
pub const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
/// `SO_EE_CODE_ZEROCOPY_COPIED`: the kernel had to copy the data after all.
pub const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;
/// `SK_MEMINFO_RMEM_ALLOC`: index into the `SO_MEMINFO` array.
pub const SK_MEMINFO_RMEM_ALLOC: usize = 0;
/// `SK_MEMINFO_RCVBUF`.
pub const SK_MEMINFO_RCVBUF: usize = 1;
/// `SK_MEMINFO_WMEM_ALLOC`.
pub const SK_MEMINFO_WMEM_ALLOC: usize = 2;
/// `SK_MEMINFO_SNDBUF`.
pub const SK_MEMINFO_SNDBUF: usize = 3;
/// `SK_MEMINFO_FWD_ALLOC`.
pub const SK_MEMINFO_FWD_ALLOC: usize = 4;
/// `SK_MEMINFO_WMEM_QUEUED`.
pub const SK_MEMINFO_WMEM_QUEUED: usize = 5;
/// `SK_MEMINFO_OPTMEM`: `sk_omem_alloc`, where pending zero-copy
/// notifications are charged.
pub const SK_MEMINFO_OPTMEM: usize = 6;
/// `SK_MEMINFO_BACKLOG`.
pub const SK_MEMINFO_BACKLOG: usize = 7;
/// `SK_MEMINFO_DROPS`.
pub const SK_MEMINFO_DROPS: usize = 8;
/// `SK_MEMINFO_VARS`: the length of the `SO_MEMINFO` array.
pub const SK_MEMINFO_VARS: usize = 9;

// ------------------------------------------------------------- AF_UNIX

/// `SIOCINQ` (`FIONREAD`): bytes waiting to be read (`ioctl`).
pub const SIOCINQ: i32 = 0x541B;
/// `SIOCOUTQ` (`TIOCOUTQ`): for a unix or UDP socket, the send-buffer
/// memory charged (`sk_wmem_alloc`).
pub const SIOCOUTQ: i32 = 0x5411;

/// `SCM_RIGHTS`: a control message (level `SOL_SOCKET`) carrying file
/// descriptors over an `AF_UNIX` socket.
pub const SCM_RIGHTS: i32 = 1;
/// `SCM_MAX_FD`: at most this many descriptors in one message.
pub const SCM_MAX_FD: usize = 253;
/// `MSG_CMSG_CLOEXEC`: descriptors received with `SCM_RIGHTS` get
/// `FD_CLOEXEC`.
pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;

/// `UNIX_PATH_MAX`: the size of `sun_path` in `struct sockaddr_un`
/// (`include/uapi/linux/un.h`).
pub const UNIX_PATH_MAX: usize = 108;

/// `struct sockaddr_un`, as `bind()`, `connect()`, `getsockname()` and
/// `recvfrom()` pass it, in its three forms (unix(7)):
///
/// - a *file system* name, `"/run/app.sock"`: `bind()` creates a socket
///   file there, which outlives the socket until it is unlinked;
/// - an *abstract* name, a leading NUL byte and then any bytes, which `ss`
///   and `/proc/net/unix` print with an `@` in place of the NUL; it
///   disappears with the socket;
/// - *unnamed*: only `sun_family` (address length 2), what an unbound
///   socket reports, and what `bind()` takes as "pick an abstract name for
///   me" (autobind: five hex digits).
///
/// The bytes kept are `sun_path` as the kernel stores it in `struct
/// unix_address` (`unix_mkname_bsd()`): a path with its terminating NUL, an
/// abstract name with its leading NUL, so [`UnixAddr::addrlen`] is the
/// `socklen_t` `getsockname()` returns.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixAddr {
    len: u8,
    sun_path: [u8; UNIX_PATH_MAX + 1],
}

impl UnixAddr {
    /// `offsetof(struct sockaddr_un, sun_path)`: `sun_family` only.
    pub const FAMILY_LEN: usize = 2;

    /// The unnamed address (only `sun_family`).
    pub const fn unnamed() -> UnixAddr {
        UnixAddr {
            len: 0,
            sun_path: [0; UNIX_PATH_MAX + 1],
        }
    }

    fn from_sun_path(bytes: &[u8]) -> UnixAddr {
        let mut a = UnixAddr::unnamed();
        a.sun_path[..bytes.len()].copy_from_slice(bytes);
        a.len = bytes.len() as u8;
        a
    }

    /// A file system name. Like the kernel (`unix_mkname_bsd()`), the name
    /// ends at the first NUL byte. `EINVAL` if it is empty or does not fit
    /// in `sun_path` (108 bytes).
    pub fn path(p: impl AsRef<[u8]>) -> Result<UnixAddr, Errno> {
        let p = p.as_ref();
        let p = &p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())];
        if p.is_empty() || p.len() > UNIX_PATH_MAX {
            return Err(Errno::EINVAL);
        }
        let mut a = UnixAddr::from_sun_path(p);
        // The terminating NUL is part of the stored address.
        a.len += 1;
        Ok(a)
    }

    /// An abstract name: `name` after a NUL byte. Any bytes may follow, NUL
    /// included; `EINVAL` past 107 of them.
    pub fn abstract_name(name: impl AsRef<[u8]>) -> Result<UnixAddr, Errno> {
        let name = name.as_ref();
        if name.len() + 1 > UNIX_PATH_MAX {
            return Err(Errno::EINVAL);
        }
        let mut a = UnixAddr::from_sun_path(&[0]);
        a.sun_path[1..=name.len()].copy_from_slice(name);
        a.len = 1 + name.len() as u8;
        Ok(a)
    }

    /// The stored `sun_path` bytes (empty when unnamed).
    pub fn sun_path(&self) -> &[u8] {
        &self.sun_path[..self.len as usize]
    }

    /// The `socklen_t` of this address as the kernel returns it.
    pub fn addrlen(&self) -> usize {
        UnixAddr::FAMILY_LEN + self.len as usize
    }

    /// Whether this is the unnamed address.
    pub fn is_unnamed(&self) -> bool {
        self.len == 0
    }

    /// Whether this is an abstract name.
    pub fn is_abstract(&self) -> bool {
        self.len > 0 && self.sun_path[0] == 0
    }

    /// The file system name without its terminating NUL, for a path.
    pub fn path_bytes(&self) -> Option<&[u8]> {
        (!self.is_unnamed() && !self.is_abstract()).then(|| {
            let p = self.sun_path();
            &p[..p.len().saturating_sub(1)]
        })
    }

    /// The name as `/proc/net/unix` and `ss -x` print it
    /// (`unix_seq_show()`): a path as is, an abstract name with `@` for its
    /// leading NUL and for any NUL inside it; empty when unnamed.
    pub fn display_name(&self) -> String {
        if let Some(p) = self.path_bytes() {
            return String::from_utf8_lossy(p).into_owned();
        }
        self.sun_path()
            .iter()
            .map(|&b| if b == 0 { '@' } else { b as char })
            .collect()
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixAddr({self})")
    }
}

impl fmt::Display for UnixAddr {
    /// `/run/app.sock`, `@name`, or `(unnamed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unnamed() {
            write!(f, "(unnamed)")
        } else {
            write!(f, "{}", self.display_name())
        }
    }
}

impl ToSockAddr for UnixAddr {
    fn to_sock_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Unix(*self))
    }
}
