//! The system calls of the zero-copy chapter: reading the error queue and
//! the socket's memory counters. (`setsockopt(SO_ZEROCOPY)` and
//! `send(MSG_ZEROCOPY)` go through the ordinary `setsockopt()` and
//! `send()`.)

use crate::errqueue::ErrQueueMsg;
use crate::syscalls::{Process, SysResult};
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
