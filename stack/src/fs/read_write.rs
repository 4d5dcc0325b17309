//! Calls on any open file that are not about sockets: `lseek()`
//! (`vfs_llseek()`, `generic_file_llseek()`, `fs/read_write.c`),
//! `fstat()` (`vfs_fstat()`, `fs/stat.c`) and `sendfile()`
//! (`do_sendfile()`, `fs/read_write.c`).
//!
//! `sendfile(out_fd, in_fd, offset, count)` reads from a file that can
//! seek (the input needs `FMODE_LSEEK` unless the output is a pipe) and
//! writes to anything with a `splice_write`: since Linux 5.12 the output
//! may be any such file, not only a socket. Through `splice` machinery
//! ([`crate::fs::splice`]) it moves page references, never the bytes. With an
//! `offset` it reads from there and stores where it stopped, leaving the
//! file position alone; without one it reads from and moves `f_pos`.
//!
//! Simplified: `SEEK_DATA` and `SEEK_HOLE` treat every byte below the end
//! as data (holes are not tracked).

use std::task::Poll;

use crate::fs::file::FileKind;
use crate::fs::splice::{DirectState, MAX_RW_COUNT, rw_verify_area};
use crate::kernel::ids::Pid;
use crate::kernel::world::World;
use crate::mm::pagecache::MAX_LFS_FILESIZE;
use crate::uapi::errno::Errno;
use crate::uapi::{
    S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK, SEEK_CUR, SEEK_END, SEEK_SET, SPLICE_F_NONBLOCK, Stat,
};

/// `SEEK_DATA`.
const SEEK_DATA: i32 = 3;
/// `SEEK_HOLE`.
const SEEK_HOLE: i32 = 4;

/// What a `sendfile()` carries across its sleeps.
#[derive(Debug, Default)]
pub(crate) struct SendfileState {
    started: bool,
    /// The input position being worked at, and the output's.
    pos: u64,
    out_pos: u64,
    count: usize,
    direct: DirectState,
}

impl World {
    /// `lseek(fd, offset, whence)`: the new position of a regular file;
    /// `ESPIPE` on a pipe, a socket or the terminal; `EINVAL` for a
    /// negative result or an unknown `whence`; `ENXIO` for `SEEK_DATA` or
    /// `SEEK_HOLE` at or past the end.
    pub(crate) fn sys_lseek(
        &mut self,
        pid: Pid,
        fd: i32,
        offset: i64,
        whence: i32,
    ) -> Result<u64, Errno> {
        let file = self.task(pid).files.get(fd)?;
        let FileKind::Regular(r) = self.files[&file].kind.clone() else {
            return Err(Errno::ESPIPE);
        };
        let size = self.file_inode(&r).map_or(0, |i| i.mapping.size()) as i64;
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => r.pos as i64,
            SEEK_END => size,
            SEEK_DATA | SEEK_HOLE => {
                if offset < 0 || offset >= size {
                    return Err(Errno::ENXIO);
                }
                let to = if whence == SEEK_DATA { offset } else { size };
                self.set_f_pos(file, to as u64);
                return Ok(to as u64);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
        if new < 0 || new as u64 > MAX_LFS_FILESIZE {
            return Err(Errno::EINVAL);
        }
        self.set_f_pos(file, new as u64);
        Ok(new as u64)
    }

    /// `fstat(fd)`: the file's type, inode number and size.
    pub(crate) fn sys_fstat(&self, pid: Pid, fd: i32) -> Result<Stat, Errno> {
        let file = self.task(pid).files.get(fd)?;
        Ok(match &self.files[&file].kind {
            FileKind::Regular(r) => Stat {
                st_ino: r.ino,
                st_mode: S_IFREG | 0o644,
                st_size: self.file_inode(r).map_or(0, |i| i.mapping.size()),
            },
            FileKind::Pipe(p) => Stat {
                st_ino: self.pipe(*p).ino,
                st_mode: S_IFIFO | 0o600,
                st_size: 0,
            },
            FileKind::Socket(s) => Stat {
                st_ino: self.socks.get(&s.sk).map_or(0, |sk| sk.inode),
                st_mode: S_IFSOCK | 0o777,
                st_size: 0,
            },
            FileKind::Tty => Stat {
                st_ino: 3,
                st_mode: S_IFCHR | 0o620,
                st_size: 0,
            },
            // The anonymous inode every epoll and io_uring file shares: no
            // file type.
            FileKind::Epoll | FileKind::IoUring => Stat {
                st_ino: 1,
                st_mode: 0o600,
                st_size: 0,
            },
        })
    }

    /// `sendfile(out_fd, in_fd, offset, count)` (`do_sendfile()`): the
    /// bytes moved; 0 at the end of the input. Errors in the kernel's
    /// order: `EBADF` for an input not open for reading, `ESPIPE` for an
    /// offset on an input that cannot seek, `EINVAL` for a bad range, then
    /// `EBADF` for an output not open for writing, then the splice's own
    /// (`EINVAL` for an input that cannot seek or an `O_APPEND` output,
    /// `EPIPE`, `EAGAIN`, ...).
    pub(crate) fn sys_sendfile(
        &mut self,
        pid: Pid,
        out_fd: i32,
        in_fd: i32,
        offset: Option<&mut u64>,
        count: usize,
        st: &mut SendfileState,
    ) -> Poll<Result<usize, Errno>> {
        let fin = match self.task(pid).files.get(in_fd) {
            Ok(f) if self.files[&f].readable() => f,
            Ok(_) => return Poll::Ready(Err(Errno::EBADF)),
            Err(e) => return Poll::Ready(Err(e)),
        };
        if !st.started {
            st.pos = match &offset {
                Some(_) if !self.files[&fin].seekable() => return Poll::Ready(Err(Errno::ESPIPE)),
                Some(o) => **o,
                None => self.f_pos(fin),
            };
            if let Err(e) = rw_verify_area(st.pos, count) {
                return Poll::Ready(Err(e));
            }
            st.count = count.min(MAX_RW_COUNT);
        }
        let fout = match self.task(pid).files.get(out_fd) {
            Ok(f) if self.files[&f].writable() => f,
            Ok(_) => return Poll::Ready(Err(Errno::EBADF)),
            Err(e) => return Poll::Ready(Err(e)),
        };
        let opipe = self.pipe_of_file(fout);
        if !st.started {
            st.out_pos = self.f_pos(fout);
            if opipe.is_none()
                && let Err(e) = rw_verify_area(st.out_pos, st.count)
            {
                return Poll::Ready(Err(e));
            }
            st.direct.len = st.count;
            st.started = true;
        }
        let r = match opipe {
            Some(op) => {
                let flags = if self.files[&fout].nonblocking() {
                    SPLICE_F_NONBLOCK
                } else {
                    0
                };
                self.splice_file_to_pipe(pid, fin, op, &mut st.pos, st.count, flags)
            }
            None => {
                self.do_splice_direct(pid, fin, &mut st.pos, fout, &mut st.out_pos, &mut st.direct)
            }
        };
        if r.is_ready() {
            self.store_pos(fin, offset, st.pos);
            if opipe.is_none() {
                self.set_f_pos(fout, st.out_pos);
            }
        }
        r
    }
}
