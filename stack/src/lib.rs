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

pub mod capture;
pub mod datagram;
pub mod errno;
pub mod errqueue;
pub mod eventpoll;
pub mod eventpoll_lists;
pub mod fork;
pub mod fs;
pub mod fs_syscalls;
pub mod host;
pub mod ids;
pub mod inet;
pub mod io_uring;
pub mod iproute2;
pub mod net_namespace;
pub mod netdev;
pub mod netlink;
pub mod pagecache;
pub mod pcap;
pub mod pipe;
pub mod pipe_ring;
pub mod poll;
pub mod ramfs;
pub mod read_write;
pub mod select;
pub mod seqdiag;
pub mod sim;
pub mod skbuff;
pub mod snmp;
pub mod sock;
pub mod socket;
pub mod splice;
pub mod syscalls;
pub mod sysctl;
pub mod task;
pub mod tools;
pub mod topology;
pub mod trace;
pub mod uapi;
pub mod unix;
pub mod user_pages;
pub mod views;
pub mod wait;
pub mod wire;
pub mod zerocopy;

/// What a program against the simulation needs: the simulation, the
/// system calls, the constants, errno, and time units.
pub mod prelude {
    pub use crate::errno::Errno;
    pub use crate::errqueue::{ErrQueueMsg, SockExtendedErr};
    pub use crate::eventpoll::{
        EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EpollEvent, epoll_events_name,
    };
    pub use crate::ids::{HostId, NetNsId, Pid};
    pub use crate::net_namespace::InNetNs;
    pub use crate::netdev::link::LinkConfig;
    pub use crate::select::{FD_SETSIZE, FdSet, PollFd};
    pub use crate::sim::time::{Nanos, ms, ns, secs, us};
    pub use crate::sim::{Exit, RunReport, Sim};
    pub use crate::snmp::Mib;
    pub use crate::syscalls::{Process, SysResult};
    pub use crate::uapi::*;
    pub use crate::unix::{RecvFds, Ucred};
    pub use crate::user_pages::{UserBuf, UserSlice};
    pub use crate::zerocopy::PinnedPages;
}
#[cfg(test)]
mod eventpoll_tests;
