//! Passing open files over `AF_UNIX` sockets: `SCM_RIGHTS`
//! (`net/core/scm.c`: `scm_fp_copy()`, `scm_detach_fds()`;
//! `net/unix/af_unix.c`: `unix_attach_fds()`, `unix_detach_fds()`,
//! `unix_peek_fds()`, `unix_destruct_scm()`).
//!
//! What travels is not a number but a reference to the open file: the
//! sender's fds are looked up (`EBADF` for one that is not open, `EINVAL`
//! past `SCM_MAX_FD`), each file gains a reference that rides on the skb
//! (`UNIXCB(skb).fp`; for a stream, on the first skb of the write), and the
//! receiver gets new fds, the lowest free, for the *same* files: offset,
//! flags and, for a socket, its queues are shared, exactly as after
//! `fork()` or `dup()`. A reader that gives no room for them (a plain
//! `recv()`), or too little, loses the rest (`MSG_CTRUNC`): they are
//! closed. An skb freed unread (its socket closed, say) closes its files
//! (`unix_destruct_scm()`). A stream read stops after the skb that carried
//! files, so descriptors from two writes never arrive in one `recvmsg()`.
//!
//! Simplified: no garbage collector (`net/unix/garbage.c`), so a socket
//! sent over itself and then closed stays open for ever; no
//! `SCM_CREDENTIALS`; no `RLIMIT_NOFILE` check on the files in flight
//! (`too_many_unix_fds()`: the simulation runs as root, which it spares).

use std::task::Poll;

use crate::kernel::ids::{FileId, Pid};
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::world::World;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// What `recvmsg()` with room for `SCM_RIGHTS` returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecvFds {
    /// The call's value: bytes received (the real length with `MSG_TRUNC`
    /// on a datagram socket).
    pub len: usize,
    /// The new fds, in the order they were sent.
    pub fds: Vec<i32>,
    /// `msg_flags`: `MSG_CTRUNC` if descriptors were dropped (the only
    /// flag reported here).
    pub msg_flags: i32,
}

impl World {
    /// `scm_fp_copy()`: the files behind the sender's fds.
    pub(crate) fn scm_fp_copy(&self, pid: Pid, fds: &[i32]) -> Result<Vec<FileId>, Errno> {
        if fds.len() > SCM_MAX_FD {
            return Err(Errno::EINVAL);
        }
        let table = &self.task(pid).files;
        fds.iter().map(|&fd| table.get(fd)).collect()
    }

    /// `unix_attach_fds()`: the files ride on skb `skb_id`, each holding
    /// one more reference.
    pub(crate) fn unix_attach_fds(&mut self, skb_id: u64, files: &[FileId]) {
        if files.is_empty() {
            return;
        }
        for f in files {
            if let Some(file) = self.files.get_mut(f) {
                file.count += 1;
            }
        }
        self.unix_inflight.insert(skb_id, files.to_vec());
    }

    /// `unix_detach_fds()`: the files an skb carries, taken off it, or
    /// with `peek` `unix_peek_fds()`: new references, the skb keeping its
    /// own.
    pub(crate) fn unix_detach_fds(&mut self, skb_id: u64, peek: bool) -> Vec<FileId> {
        if !peek {
            return self.unix_inflight.remove(&skb_id).unwrap_or_default();
        }
        let files = self.unix_inflight.get(&skb_id).cloned().unwrap_or_default();
        for f in &files {
            if let Some(file) = self.files.get_mut(f) {
                file.count += 1;
            }
        }
        files
    }

    /// Whether skb `skb_id` carries files.
    pub(crate) fn unix_skb_has_fds(&self, skb_id: u64) -> bool {
        self.unix_inflight.contains_key(&skb_id)
    }

    /// `unix_destruct_scm()`: an skb is freed with files still on it; they
    /// are closed (`fput()`), which may release them.
    pub(crate) fn unix_destruct_scm(&mut self, skb_id: u64) {
        if self.unix_inflight.is_empty() {
            return;
        }
        if let Some(files) = self.unix_inflight.remove(&skb_id) {
            for f in files {
                self.fput(f);
            }
        }
    }

    /// `scm_detach_fds()`: installs received files on the lowest free fds,
    /// at most `room` of them (the control buffer's size); what does not fit
    /// (or finds no free fd: `EMFILE`) is closed and reported as
    /// `MSG_CTRUNC`.
    pub(crate) fn scm_detach_fds(
        &mut self,
        pid: Pid,
        files: Vec<FileId>,
        room: usize,
        cloexec: bool,
    ) -> (Vec<i32>, bool) {
        let mut fds = Vec::new();
        let total = files.len();
        let nofile = self.task(pid).rlimit_nofile;
        let mut rest = files.into_iter();
        for f in rest.by_ref().take(room) {
            match self.task_mut(pid).files.alloc(f, nofile) {
                Ok(fd) => {
                    if cloexec {
                        let _ = self.task_mut(pid).files.set_cloexec(fd, true);
                    }
                    fds.push(fd);
                }
                Err(_) => {
                    self.fput(f);
                    break;
                }
            }
        }
        for f in rest {
            self.fput(f);
        }
        let truncated = fds.len() < total;
        if total > 0 {
            let host = self.task(pid).host;
            self.trace(host, Layer::Unix, |_w| {
                format!(
                    "scm_detach_fds: {} passed files installed as fds {fds:?}{}",
                    total,
                    if truncated {
                        "; the rest closed (MSG_CTRUNC)"
                    } else {
                        ""
                    }
                )
            });
        }
        (fds, truncated)
    }

    /// `sendmsg()` with an `SCM_RIGHTS` message. Only `AF_UNIX` carries
    /// files; inet sockets accept the message and ignore it
    /// (`__sock_cmsg_send()`).
    fn sys_send_fds(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &[u8],
        fds: &[i32],
        flags: i32,
        copied: &mut usize,
    ) -> Poll<Result<usize, Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if !self.is_unix(sk) {
            return self.sys_sendto(pid, fd, buf, flags, None, copied);
        }
        let files = match self.scm_fp_copy(pid, fds) {
            Ok(f) => f,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let nonblock = self.nonblocking(file, flags);
        let msg = super::UnixMsg {
            buf,
            addr: None,
            files: &files,
        };
        self.unix_sendmsg(pid, sk, msg, copied, nonblock)
    }

    /// `recvmsg()` with room for `room` descriptors.
    fn sys_recv_fds(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &mut [u8],
        room: usize,
        flags: i32,
        st: &mut crate::fs::file::RwProgress,
    ) -> Poll<Result<RecvFds, Errno>> {
        let (file, sk) = match self.sockfd_lookup(pid, fd) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if !self.is_unix(sk) {
            return self.sys_recvfrom(pid, fd, buf, flags, st).map(|r| {
                r.map(|(len, _)| RecvFds {
                    len,
                    fds: Vec::new(),
                    msg_flags: 0,
                })
            });
        }
        let nonblock = self.nonblocking(file, flags);
        let mut files = Vec::new();
        let r = self.unix_recvmsg(pid, sk, buf, flags, nonblock, &mut files);
        r.map(|r| {
            r.map(|(len, _)| {
                let (fds, ctrunc) =
                    self.scm_detach_fds(pid, files, room, flags & MSG_CMSG_CLOEXEC != 0);
                RecvFds {
                    len,
                    fds,
                    msg_flags: if ctrunc { MSG_CTRUNC } else { 0 },
                }
            })
        })
    }
}

impl Process {
    /// `sendmsg(fd, {buf}, {SCM_RIGHTS: fds}, flags)`: sends `buf` and, on
    /// an `AF_UNIX` socket, the open files behind `fds` (at most
    /// `SCM_MAX_FD`). The receiver gets new fds for the same files. On a
    /// stream the files travel with the first byte, so a write of no bytes
    /// carries none.
    pub async fn send_fds(&self, fd: i32, buf: &[u8], fds: &[i32], flags: i32) -> SysResult<usize> {
        self.blocking(
            || format!("sendmsg({fd}, {} bytes, SCM_RIGHTS {fds:?})", buf.len()),
            {
                let mut copied = 0;
                move |w: &mut World| w.sys_send_fds(self.pid, fd, buf, fds, flags, &mut copied)
            },
        )
        .await
    }

    /// `recvmsg(fd, {buf}, control buffer, flags)` with room for `room`
    /// fds (what C's `(msg_controllen - sizeof(struct cmsghdr)) /
    /// sizeof(int)` comes to; note that `CMSG_SPACE(n * sizeof(int))` has
    /// room for an even number on x86_64): the bytes and any files passed
    /// with them, installed on the lowest free fds (`MSG_CMSG_CLOEXEC`
    /// marks them close-on-exec). Files that do not fit are closed and
    /// `MSG_CTRUNC` is set; a plain `recv()` is the same with no room.
    pub async fn recv_fds(
        &self,
        fd: i32,
        buf: &mut [u8],
        room: usize,
        flags: i32,
    ) -> SysResult<RecvFds> {
        let len = buf.len();
        let mut st = crate::fs::file::RwProgress::default();
        self.blocking(
            || format!("recvmsg({fd}, buf of {len}, room for {room} fds)"),
            |w| w.sys_recv_fds(self.pid, fd, buf, room, flags, &mut st),
        )
        .await
    }
}
