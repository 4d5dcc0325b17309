//! A simulated machine: one kernel with one CPU, its network namespaces,
//! and the counters of what its work cost.
//!
//! Simplified: a single CPU, so a single `softnet_data` and a single
//! backlog; processes and softirqs do not compete for it (system calls take
//! no virtual time).

use crate::ids::NetNsId;
use crate::netdev::softnet::SoftnetData;

/// What a host's kernel spent, counted as it happens. The multiplexing and
/// zero-copy chapters make their point with these numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Costs {
    /// System calls made by this host's processes.
    pub syscalls: u64,
    /// Bytes copied from user memory into the kernel (`copy_from_user`).
    pub copied_from_user: u64,
    /// Bytes copied from the kernel to user memory (`copy_to_user`).
    pub copied_to_user: u64,
    /// Bytes moved between memory and NICs by DMA.
    pub dma_bytes: u64,
    /// Hard interrupts taken.
    pub hardirqs: u64,
    /// NET_RX softirq runs.
    pub softirq_runs: u64,
    /// Processes woken from a wait queue.
    pub wakeups: u64,
    /// Pages of user memory pinned by `MSG_ZEROCOPY` sends and referenced
    /// by skb frags instead of being copied (`iov_iter_get_pages()`).
    pub pages_pinned: u64,
    /// Bytes of such pinned pages the kernel copied after all
    /// (`skb_copy_ubufs()`: a zero-copy packet delivered to a local socket).
    pub copied_ubufs: u64,
    /// Calls of a file's `->poll` method: `select()` and `poll()` make one
    /// per watched fd on every call and every wakeup; epoll makes one per
    /// fd that became ready.
    pub fds_polled: u64,
    /// Runs of epoll's wait-queue callback (`ep_poll_callback`).
    pub epoll_callbacks: u64,
}

/// One machine.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) init_net: NetNsId,
    pub(crate) softnet: SoftnetData,
    pub(crate) costs: Costs,
    /// Inode numbers for new sockets (`get_next_ino()`), as `ls -l
    /// /proc/PID/fd` shows them: `socket:[INODE]`.
    pub(crate) next_inode: u64,
    /// The next `ethN` name to hand out.
    pub(crate) next_eth: u32,
    /// The socket files `bind()` created on this host's file system.
    pub(crate) unix_fs: crate::unix::UnixFs,
}
