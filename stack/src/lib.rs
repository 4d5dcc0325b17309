//! # stack: the Linux network stack as a deterministic simulation
//!
//! A teaching kernel. It follows a packet from a process's `sendto()`
//! through `struct sock`, UDP, IP, the neighbour table, the qdisc, a NIC's
//! TX ring and DMA, across a link, into the far NIC's RX ring, through the
//! hard IRQ, the NET_RX softirq and NAPI, back up IP and UDP, onto a
//! socket's receive queue, and out of `recvfrom()` in a process that was
//! asleep on the socket's wait queue. Every queue, counter and state a
//! course on Linux sockets talks about exists here and can be printed, in
//! the formats of `ss`, `netstat`, `nstat`, `ip` and `/proc/net`.
//!
//! The simulation is deterministic: virtual time, a seeded random
//! generator, no threads, no wall clock; the same program prints the same
//! bytes on every run. Processes are `async` blocks; a system call that
//! must sleep is an `.await`.
//!
//! Modules carry the names of the kernel code they model, and each says
//! which file and functions that is, and what it simplifies.
//!
//! ```
//! use stack::prelude::*;
//!
//! let mut sim = Sim::new(7);
//! let a = sim.add_host("a");
//! let b = sim.add_host("b");
//! sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
//! sim.spawn(b, "server", |p| async move {
//!     let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
//!     p.bind(fd, "0.0.0.0:9000")?;
//!     let mut buf = [0u8; 64];
//!     let (n, _from) = p.recvfrom(fd, &mut buf, 0).await?;
//!     assert_eq!(&buf[..n], b"hi");
//!     Ok(())
//! });
//! sim.spawn(a, "client", |p| async move {
//!     let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
//!     p.sendto(fd, b"hi", 0, "10.0.0.2:9000").await?;
//!     Ok(())
//! });
//! assert!(sim.run().is_ok());
//! ```

// A lab's reference solution is part of the stack (see
// `fs/eventpoll_lists.rs`) and is written as a student writes it, with
// `use stack::…`: inside the stack, `stack` is this crate.
extern crate self as stack;

pub mod drivers;
pub mod fs;
pub mod io_uring;
pub mod kernel;
pub mod mm;
pub mod net;
pub mod observe;
pub mod sim;
pub mod uapi;
pub mod wire;

/// What a program against the simulation needs: the simulation, the
/// system calls, the constants, errno, and time units.
pub mod prelude {
    pub use crate::drivers::net::link::LinkConfig;
    pub use crate::fs::eventpoll::{
        EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EpollEvent, epoll_events_name,
    };
    pub use crate::fs::select::{FD_SETSIZE, FdSet, PollFd};
    pub use crate::kernel::ids::{HostId, NetNsId, Pid};
    pub use crate::kernel::syscalls::{Process, SysResult};
    pub use crate::mm::user_pages::{UserBuf, UserSlice};
    pub use crate::net::core::errqueue::{ErrQueueMsg, SockExtendedErr};
    pub use crate::net::core::snmp::Mib;
    pub use crate::net::core::zerocopy::PinnedPages;
    pub use crate::net::msghdr::{Cmsg, RecvMsg};
    pub use crate::net::unix::{RecvFds, Ucred};
    pub use crate::sim::InNetNs;
    pub use crate::sim::time::{Nanos, ms, ns, secs, us};
    pub use crate::sim::{Exit, RunReport, Sim};
    pub use crate::uapi::errno::Errno;
    pub use crate::uapi::*;
}

// The paths the book's snippets, the tests and the labs were written
// against, from before the modules took the kernel's folders: each old name
// leads to the same module, so no chapter and no student's code has to
// change. Hidden from the docs, which show each module where the kernel
// keeps it; new code names that path (`net::core::sock`, not `sock`).
#[doc(hidden)]
pub use crate::{
    fs::eventpoll, fs::eventpoll_lists, fs::pipe, fs::pipe_ring, fs::poll, fs::ramfs,
    fs::read_write, fs::select, fs::splice, fs::syscalls as fs_syscalls, kernel::fork,
    kernel::host, kernel::ids, kernel::syscalls, kernel::task, kernel::wait, mm::pagecache,
    mm::user_pages, net::core::datagram, net::core::errqueue, net::core::net_namespace,
    net::core::skbuff, net::core::snmp, net::core::sock, net::core::sysctl, net::core::zerocopy,
    net::netlink, net::socket, net::unix, observe::capture, observe::pcap, observe::seqdiag,
    observe::tools, observe::trace, observe::views, sim::iproute2, sim::topology, uapi::errno,
};

/// `stack::inet`: the Internet family before it moved to `net::ipv4`.
#[doc(hidden)]
pub mod inet {
    pub use crate::net::core::neighbour;
    pub use crate::net::ipv4::*;
}

/// `stack::netdev`: devices before they moved to `net::core::dev` and
/// `drivers::net`.
#[doc(hidden)]
pub mod netdev {
    pub use crate::drivers::net::{link, loopback, nic, ring, veth};
    pub use crate::net::bridge;
    pub use crate::net::core::dev::*;
    pub use crate::net::core::{operstate, softnet};
}
