//! The system calls on files, pipes and splice that a simulated process
//! makes: `open()`, `pipe()`/`pipe2()`, `lseek()`, `fstat()`, `sendfile()`,
//! `splice()` and `vmsplice()`. `read()`, `write()`, `close()` and `fcntl()`
//! are the same calls as on sockets ([`crate::kernel::syscalls`]) and dispatch on
//! what the fd is.
//!
//! The work is done by [`crate::fs::ramfs`], [`crate::fs::pipe`],
//! [`crate::fs::splice`] and [`crate::fs::read_write`]; this module only enters
//! the kernel and names the call the way `strace` would.
//!
//! The kernel defines each call where its subsystem lives (`SYSCALL_DEFINE`
//! in `fs/open.c`, `fs/pipe.c`, `fs/read_write.c`, `fs/splice.c`); the
//! simulation gathers the file calls' entries in this one module.

use crate::fs::read_write::SendfileState;
use crate::fs::splice::FromPipe;
use crate::kernel::syscalls::{Process, SysResult};
use crate::mm::user_pages::UserSlice;
use crate::uapi::Stat;

/// Open flags by name, as `strace` prints them (`O_WRONLY|O_CREAT|O_TRUNC`).
fn flags_text(flags: i32) -> String {
    use crate::uapi::*;
    let mut parts = vec![match flags & O_ACCMODE {
        O_RDONLY => "O_RDONLY".to_string(),
        O_WRONLY => "O_WRONLY".to_string(),
        O_RDWR => "O_RDWR".to_string(),
        _ => "O_ACCMODE".to_string(),
    }];
    let mut rest = flags & !O_ACCMODE;
    for (bit, name) in [
        (O_CREAT, "O_CREAT"),
        (O_EXCL, "O_EXCL"),
        (O_TRUNC, "O_TRUNC"),
        (O_APPEND, "O_APPEND"),
        (O_NONBLOCK, "O_NONBLOCK"),
        (O_DIRECT, "O_DIRECT"),
        (O_CLOEXEC, "O_CLOEXEC"),
    ] {
        if rest & bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#o}"));
    }
    parts.join("|")
}

/// `pipe2()` flags by name; `0` for none.
fn pipe_flags_text(flags: i32) -> String {
    if flags == 0 {
        "0".to_string()
    } else {
        // pipe2 takes no access mode: drop the O_RDONLY the helper starts with.
        flags_text(flags)
            .trim_start_matches("O_RDONLY|")
            .to_string()
    }
}

/// `NULL` or `[offset]`, as `strace` prints an optional offset.
fn off_text(off: &Option<&mut u64>) -> String {
    match off {
        Some(o) => format!("[{o}]"),
        None => "NULL".to_string(),
    }
}

impl Process {
    /// `open(path, flags)`: a regular file of this host on the lowest free
    /// fd. `O_CREAT` creates it, `O_TRUNC` empties it, `O_APPEND` makes
    /// every write go to its end; `ENOENT` if it does not exist and
    /// `O_CREAT` is not given.
    pub fn open(&self, path: &str, flags: i32) -> SysResult<i32> {
        self.call(
            || format!("open(\"{path}\", {})", flags_text(flags)),
            |w| w.sys_open(self.pid, path, flags),
        )
    }

    /// `pipe()`: a new pipe, as `(read end, write end)`.
    pub fn pipe(&self) -> SysResult<(i32, i32)> {
        self.pipe2(0)
    }

    /// `pipe2(flags)` with `O_NONBLOCK` and/or `O_CLOEXEC`.
    pub fn pipe2(&self, flags: i32) -> SysResult<(i32, i32)> {
        self.call(
            || format!("pipe2({})", pipe_flags_text(flags)),
            |w| w.sys_pipe2(self.pid, flags),
        )
    }

    /// `lseek(fd, offset, whence)` (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`):
    /// the new position; `ESPIPE` on a pipe or a socket.
    pub fn lseek(&self, fd: i32, offset: i64, whence: i32) -> SysResult<u64> {
        self.call(
            || format!("lseek({fd}, {offset}, {whence})"),
            |w| w.sys_lseek(self.pid, fd, offset, whence),
        )
    }

    /// `fstat(fd)`: type, inode number and size (a regular file's bytes;
    /// 0 for pipes and sockets).
    pub fn fstat(&self, fd: i32) -> SysResult<Stat> {
        self.call(|| format!("fstat({fd})"), |w| w.sys_fstat(self.pid, fd))
    }

    /// `sendfile(out_fd, in_fd, offset, count)`: up to `count` bytes from
    /// `in_fd` (a regular file) to `out_fd` (a socket, a pipe, a file),
    /// moved as page references. With `offset`, reads from `*offset` and
    /// stores where it stopped, leaving the file position alone. Returns
    /// the bytes moved, 0 at the end of the file.
    pub async fn sendfile(
        &self,
        out_fd: i32,
        in_fd: i32,
        mut offset: Option<&mut u64>,
        count: usize,
    ) -> SysResult<usize> {
        let text = format!(
            "sendfile({out_fd}, {in_fd}, {}, {count})",
            off_text(&offset)
        );
        let mut st = SendfileState::default();
        self.blocking(
            || text,
            |w| {
                w.sys_sendfile(
                    self.pid,
                    out_fd,
                    in_fd,
                    offset.as_deref_mut(),
                    count,
                    &mut st,
                )
            },
        )
        .await
    }

    /// `splice(fd_in, off_in, fd_out, off_out, len, flags)`: up to `len`
    /// bytes between a pipe and a file or socket (or two pipes), moved as
    /// page references; `SPLICE_F_NONBLOCK` makes the pipe side
    /// non-blocking. An offset is only for a side that is a regular file
    /// (`ESPIPE` on a pipe, `EINVAL` on a socket).
    pub async fn splice(
        &self,
        fd_in: i32,
        mut off_in: Option<&mut u64>,
        fd_out: i32,
        mut off_out: Option<&mut u64>,
        len: usize,
        flags: u32,
    ) -> SysResult<usize> {
        let text = format!(
            "splice({fd_in}, {}, {fd_out}, {}, {len}, {flags:#x})",
            off_text(&off_in),
            off_text(&off_out)
        );
        let mut st = FromPipe::default();
        self.blocking(
            || text,
            |w| {
                w.sys_splice(
                    self.pid,
                    fd_in,
                    off_in.as_deref_mut(),
                    fd_out,
                    off_out.as_deref_mut(),
                    len,
                    flags,
                    &mut st,
                )
            },
        )
        .await
    }

    /// `vmsplice(fd, iov, flags)`: on a pipe's write end, puts references
    /// to the pages of `iov` (the process's own memory, a
    /// [`crate::mm::user_pages::UserBuf`]) in the pipe, as many as fit; the
    /// process must not change that memory until the pipe's reader has
    /// consumed it. On a read end, copies from the pipe into `iov`.
    pub async fn vmsplice(&self, fd: i32, iov: &[UserSlice<'_>], flags: u32) -> SysResult<usize> {
        let total: usize = iov.iter().map(UserSlice::len).sum();
        self.blocking(
            || {
                format!(
                    "vmsplice({fd}, {} iovec(s) of {total} B, {flags:#x})",
                    iov.len()
                )
            },
            |w| w.sys_vmsplice(self.pid, fd, iov, flags),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::*;

    #[test]
    fn flags_print_as_strace_prints_them() {
        assert_eq!(flags_text(O_RDONLY), "O_RDONLY");
        assert_eq!(
            flags_text(O_WRONLY | O_CREAT | O_TRUNC),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(flags_text(O_RDWR | 0o10), "O_RDWR|0o10");
        assert_eq!(pipe_flags_text(0), "0");
        assert_eq!(
            pipe_flags_text(O_NONBLOCK | O_CLOEXEC),
            "O_NONBLOCK|O_CLOEXEC"
        );
    }
}
