//! A simulated machine: one kernel with one CPU, its network namespaces,
//! and the counters of what its work cost.
//!
//! Simplified: a single CPU, so a single `softnet_data` and a single
//! backlog; processes and softirqs do not compete for it (system calls take
//! no virtual time).
//!
//! No kernel file: a real kernel is the machine. The simulation runs
//! several machines in one process, and this is what each one owns.

use crate::kernel::ids::NetNsId;
use crate::net::core::softnet::SoftnetData;

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
    /// Page references the kernel took to move data without copying it
    /// (`get_page()` by `splice()`, `sendfile()`, `vmsplice()`): one for
    /// each pipe buffer or skb fragment that came to point at a page
    /// already holding the bytes. The zero-copy chapter's count of what
    /// was *not* copied.
    pub pages_referenced: u64,
    /// Bytes the kernel copied from one of its buffers into another, on a
    /// path that moves data without user memory: pipe pages written into
    /// the page cache, an skb's linear part put into a page for a pipe
    /// (`skb_splice_bits()`), a splice's pages copied for a device that
    /// cannot gather. Neither `copy_to_user` nor `copy_from_user`.
    pub copied_in_kernel: u64,
}

impl Costs {
    /// What the counters grew by since `before`.
    pub fn since(&self, before: &Costs) -> Costs {
        Costs {
            syscalls: self.syscalls - before.syscalls,
            copied_from_user: self.copied_from_user - before.copied_from_user,
            copied_to_user: self.copied_to_user - before.copied_to_user,
            dma_bytes: self.dma_bytes - before.dma_bytes,
            hardirqs: self.hardirqs - before.hardirqs,
            softirq_runs: self.softirq_runs - before.softirq_runs,
            wakeups: self.wakeups - before.wakeups,
            pages_pinned: self.pages_pinned - before.pages_pinned,
            copied_ubufs: self.copied_ubufs - before.copied_ubufs,
            fds_polled: self.fds_polled - before.fds_polled,
            epoll_callbacks: self.epoll_callbacks - before.epoll_callbacks,
            pages_referenced: self.pages_referenced - before.pages_referenced,
            copied_in_kernel: self.copied_in_kernel - before.copied_in_kernel,
        }
    }

    /// Adds `more` to every counter.
    pub fn add(&mut self, more: &Costs) {
        let Costs {
            syscalls,
            copied_from_user,
            copied_to_user,
            dma_bytes,
            hardirqs,
            softirq_runs,
            wakeups,
            pages_pinned,
            copied_ubufs,
            fds_polled,
            epoll_callbacks,
            pages_referenced,
            copied_in_kernel,
        } = *more;
        self.syscalls += syscalls;
        self.copied_from_user += copied_from_user;
        self.copied_to_user += copied_to_user;
        self.dma_bytes += dma_bytes;
        self.hardirqs += hardirqs;
        self.softirq_runs += softirq_runs;
        self.wakeups += wakeups;
        self.pages_pinned += pages_pinned;
        self.copied_ubufs += copied_ubufs;
        self.fds_polled += fds_polled;
        self.epoll_callbacks += epoll_callbacks;
        self.pages_referenced += pages_referenced;
        self.copied_in_kernel += copied_in_kernel;
    }
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
    pub(crate) unix_fs: crate::net::unix::UnixFs,
    /// The in-memory file system the host's processes `open()`.
    pub(crate) ramfs: crate::fs::ramfs::Ramfs,
}
