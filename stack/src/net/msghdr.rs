//! `sendmsg()` and `recvmsg()` (`____sys_sendmsg()`, `____sys_recvmsg()` in
//! `net/socket.c`): a send gathered from several buffers (an iovec) and a
//! receive that also returns control messages.
//!
//! Simplified: `recvmsg()` reads into one buffer (a scatter list changes
//! nothing the kernel's TCP or UDP does with the bytes) and reports the
//! control messages of the options modelled so far, `TCP_INQ`'s
//! `TCP_CM_INQ`; `msg_name` is not returned (`recvfrom()` gives it);
//! descriptors passed over unix sockets have their own call,
//! [`Process::recv_fds`].

use crate::fs::file::RwProgress;
use crate::kernel::ids::Pid;
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::world::World;
use crate::uapi::{IPPROTO_TCP, TCP_CM_INQ};

/// A control message `recvmsg()` returned (`struct cmsghdr` and its data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmsg {
    /// `SOL_TCP`/`TCP_CM_INQ`: bytes left to read after this call (the
    /// peer's FIN counts as one).
    TcpInq(i32),
}

impl Cmsg {
    /// `cmsg_level`, `cmsg_type` and the `int` of data, as user space reads
    /// them.
    pub fn parts(&self) -> (i32, i32, i32) {
        match *self {
            Cmsg::TcpInq(n) => (IPPROTO_TCP, TCP_CM_INQ, n),
        }
    }
}

/// What `recvmsg()` returned: the bytes read and the control messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecvMsg {
    /// Bytes read into the buffer.
    pub len: usize,
    /// Control messages, in the order the kernel puts them.
    pub cmsgs: Vec<Cmsg>,
}

impl World {
    /// The control messages a socket adds to a `recvmsg()` that read: on
    /// TCP with `TCP_INQ` set, `TCP_CM_INQ` (`tcp_recvmsg()`).
    fn recvmsg_cmsgs(&self, pid: Pid, fd: i32) -> Vec<Cmsg> {
        let Ok((_, sk)) = self.sockfd_lookup(pid, fd) else {
            return Vec::new();
        };
        match self.sk(sk).tcp.as_deref() {
            Some(tp) if tp.opts.recvmsg_inq => vec![Cmsg::TcpInq(self.tcp_inq_hint(sk))],
            _ => Vec::new(),
        }
    }
}

impl Process {
    /// `sendmsg(fd, msg, flags)` with `msg_iov` = `iov`: the buffers are sent
    /// as one, in order, to the connected peer. Zero-length buffers add
    /// nothing; with no bytes at all, TCP returns 0.
    pub async fn sendmsg(&self, fd: i32, iov: &[&[u8]], flags: i32) -> SysResult<usize> {
        let buf = iov.concat();
        self.send(fd, &buf, flags).await
    }

    /// `recvmsg(fd, msg, flags)` with one buffer: the bytes read and the
    /// control messages the socket's options ask for.
    pub async fn recvmsg(&self, fd: i32, buf: &mut [u8], flags: i32) -> SysResult<RecvMsg> {
        let len = buf.len();
        let mut st = RwProgress::default();
        let pid = self.pid();
        self.blocking(
            || format!("recvmsg({fd}, buf of {len})"),
            |w| {
                w.sys_recvfrom(pid, fd, buf, flags, &mut st).map(|r| {
                    r.map(|(len, _)| RecvMsg {
                        len,
                        cmsgs: w.recvmsg_cmsgs(pid, fd),
                    })
                })
            },
        )
        .await
    }
}
