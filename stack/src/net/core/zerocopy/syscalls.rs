//! The system calls of the zero-copy chapter: reading the error queue and
//! the socket's memory counters. (`setsockopt(SO_ZEROCOPY)` and
//! `send(MSG_ZEROCOPY)` go through the ordinary `setsockopt()` and
//! `send()`.)

use crate::kernel::syscalls::{Process, SysResult};
use crate::net::core::errqueue::ErrQueueMsg;
use crate::uapi::SK_MEMINFO_VARS;

impl Process {
    /// `recvmsg(fd, &msg, MSG_ERRQUEUE)` with no data buffer and room for
    /// one control message: the oldest entry of the socket's error queue,
    /// such as a zero-copy notification (ids `ee.ee_info..=ee.ee_data`,
    /// `ee.ee_origin == SO_EE_ORIGIN_ZEROCOPY`). Never blocks: `EAGAIN`
    /// when the queue is empty. `EBADF`/`ENOTSOCK` for a bad fd.
    pub fn recv_errqueue(&self, fd: i32) -> SysResult<ErrQueueMsg> {
        self.call(
            || format!("recvmsg({fd}, {{msg_control of 1 cmsg}}, MSG_ERRQUEUE)"),
            |w| {
                let (_, sk) = w.sockfd_lookup(self.pid, fd)?;
                w.inet_recv_error(sk, &mut [])
            },
        )
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_MEMINFO)`: the socket's memory
    /// counters, indexed by `SK_MEMINFO_*` (`SK_MEMINFO_OPTMEM` is where
    /// unread zero-copy notifications are charged).
    pub fn so_meminfo(&self, fd: i32) -> SysResult<[u32; SK_MEMINFO_VARS]> {
        self.call(
            || format!("getsockopt({fd}, SOL_SOCKET, SO_MEMINFO)"),
            |w| {
                let (_, sk) = w.sockfd_lookup(self.pid, fd)?;
                Ok(w.sk_get_meminfo(sk))
            },
        )
    }
}

/// What still references the user pages a socket's zero-copy sends pinned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinnedPages {
    /// Pages the kernel still holds: the process must not reuse them.
    pub pages: usize,
    /// References to them (`page_count()` summed): skb frags in the
    /// write queue, in a qdisc or a TX ring.
    pub refs: usize,
}

impl Process {
    /// Not a system call: a look inside the kernel at the user pages that
    /// `fd`'s `MSG_ZEROCOPY` sends pinned, as `page_count()` would show
    /// them. While any is held the buffer is not the process's to reuse;
    /// `(0, 0)` once every skb that referenced them is freed, which is
    /// when the notifications are due.
    pub fn zerocopy_pages(&self, fd: i32) -> SysResult<PinnedPages> {
        let w = self.world.borrow();
        let (_, sk) = w.sockfd_lookup(self.pid, fd)?;
        let mut p = PinnedPages::default();
        for page in &w.sk(sk).zc.pinned {
            let n = page.page_count();
            if n > 0 {
                p.pages += 1;
                p.refs += n;
            }
        }
        Ok(p)
    }
}
