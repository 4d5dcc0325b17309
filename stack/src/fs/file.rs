//! Files and the fd table: why a socket is "a file".
//!
//! `socket()` does not hand the process the socket: it hands it a small
//! integer that indexes the process's fd table (`struct files_struct`,
//! `fs/file.c`), whose slot points to an open file description
//! (`struct file`, `fs/file_table.c`), whose `private_data` is the
//! `struct socket`. The lowest free number is always taken
//! (`alloc_fd()` → `find_next_fd()`), so after 0, 1 and 2 (the terminal) the
//! first socket is 3, and a closed number is reused first. A process may hold
//! at most `RLIMIT_NOFILE` descriptors: asking for more gives `EMFILE`
//! ("Too many open files").
//!
//! Several fds may share one `struct file` (`dup()`, `fork()`); the socket is
//! released when the last reference goes (`fput()` → `sock_close()`).
//!
//! Besides sockets and the terminal, a file may be a regular file of the
//! host's in-memory file system ([`crate::fs::ramfs`], its data in the page
//! cache) or one end of a pipe ([`crate::fs::pipe`]). The access mode
//! (`O_RDONLY`, `O_WRONLY`, `O_RDWR`) decides `f_mode`: a read on a file not
//! open for reading, or a write on one not open for writing, is `EBADF`.

use std::collections::BTreeMap;

use crate::kernel::ids::{FileId, HostId, PipeId, SockId};
use crate::uapi::errno::Errno;

pub use crate::uapi::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};

/// What an open file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// The controlling terminal, standing in for fds 0, 1 and 2.
    Tty,
    /// A socket: the file's `private_data` is a `struct socket`.
    Socket(SocketFile),
    /// An epoll instance (`anon_inode:[eventpoll]`); its `struct eventpoll`
    /// is in [`crate::fs::eventpoll`], keyed by this file.
    Epoll,
    /// An io_uring instance (`anon_inode:[io_uring]`); its rings are in
    /// [`crate::io_uring`], keyed by this file.
    IoUring,
    /// One end of a pipe: the file's `private_data` is the
    /// `struct pipe_inode_info` both ends share.
    Pipe(PipeId),
    /// A regular file of a host's in-memory file system.
    Regular(RegularFile),
}

/// What an open regular file points at, and where it is in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegularFile {
    /// The host whose file system holds the inode.
    pub(crate) host: HostId,
    /// The inode number (`i_ino`).
    pub(crate) ino: u64,
    /// `f_pos`: where the next `read()` or `write()` starts.
    pub(crate) pos: u64,
}

/// `struct socket`: the file-facing half of a socket. It holds the BSD
/// socket state (`SS_UNCONNECTED`, `SS_CONNECTED`, …) and points to the
/// protocol-facing half, `struct sock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SocketFile {
    pub(crate) sk: SockId,
}

/// An open file description (`struct file`).
#[derive(Clone, Debug)]
pub(crate) struct File {
    /// `f_flags`: `O_RDWR`, `O_NONBLOCK`.
    pub(crate) flags: i32,
    /// `f_count`: how many fd slots (in any process) refer to it.
    pub(crate) count: u32,
    pub(crate) kind: FileKind,
}

impl File {
    pub(crate) fn nonblocking(&self) -> bool {
        self.flags & O_NONBLOCK != 0
    }

    /// `FMODE_READ`: opened `O_RDONLY` or `O_RDWR`.
    pub(crate) fn readable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    /// `FMODE_WRITE`: opened `O_WRONLY` or `O_RDWR`.
    pub(crate) fn writable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// `FMODE_LSEEK`, `FMODE_PREAD`, `FMODE_PWRITE`: only a regular file has
    /// a position that can be chosen (pipes and sockets are streams,
    /// `stream_open()`).
    pub(crate) fn seekable(&self) -> bool {
        matches!(self.kind, FileKind::Regular(_))
    }
}

/// How far a `read()` or `write()` that may sleep has got, carried across
/// its sleeps: the bytes already moved, and whether it has slept (a pipe
/// then wakes the next sleeper of its kind, as `pipe_read()` and
/// `pipe_write()` do with `wake_next_reader`/`wake_next_writer`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RwProgress {
    pub(crate) done: usize,
    pub(crate) slept: bool,
}

/// A process's fd table (`struct fdtable`): fd number → open file.
#[derive(Clone, Debug, Default)]
pub(crate) struct FdTable {
    fds: BTreeMap<i32, FileId>,
    /// Fds marked close-on-exec (`close_on_exec` bitmap): a per-fd flag,
    /// unlike `O_NONBLOCK`, which belongs to the shared file.
    cloexec: std::collections::BTreeSet<i32>,
    /// No fd below this is free (`fdt->next_fd`).
    next_fd: i32,
    /// The highest fd ever allocated: the table grows to hold it and never
    /// shrinks (`expand_files`).
    highest: i32,
}

impl FdTable {
    /// `alloc_fd()`: the lowest number not in use, if it is under the limit.
    /// The search starts at the lowest number that may be free (the
    /// kernel's `next_fd`), so opening many files stays cheap.
    pub(crate) fn alloc(&mut self, file: FileId, nofile: u32) -> Result<i32, Errno> {
        let mut fd = self.next_fd;
        for &used in self.fds.range(self.next_fd..).map(|(k, _)| k) {
            if used != fd {
                break;
            }
            fd += 1;
        }
        self.next_fd = fd;
        if fd as u32 >= nofile {
            return Err(Errno::EMFILE);
        }
        self.fds.insert(fd, file);
        self.highest = self.highest.max(fd);
        Ok(fd)
    }

    /// `fdt->max_fds`: the table's size. It starts at `NR_OPEN_DEFAULT`
    /// (64) and grows, when an fd does not fit, to a power of two times 128
    /// (`alloc_fdtable()`: 1024 bytes' worth of pointers). `select()` looks
    /// no further than this.
    pub(crate) fn max_fds(&self) -> usize {
        const NR_OPEN_DEFAULT: usize = 64;
        let per_kib = 1024 / 8;
        let highest = self.highest as usize;
        if highest < NR_OPEN_DEFAULT {
            NR_OPEN_DEFAULT
        } else {
            per_kib * (highest / per_kib + 1).next_power_of_two()
        }
    }

    pub(crate) fn get(&self, fd: i32) -> Result<FileId, Errno> {
        self.fds.get(&fd).copied().ok_or(Errno::EBADF)
    }

    pub(crate) fn remove(&mut self, fd: i32) -> Result<FileId, Errno> {
        self.cloexec.remove(&fd);
        if self.fds.contains_key(&fd) {
            self.next_fd = self.next_fd.min(fd);
        }
        self.fds.remove(&fd).ok_or(Errno::EBADF)
    }

    /// `FD_CLOEXEC` of an open fd.
    pub(crate) fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        self.get(fd)?;
        Ok(self.cloexec.contains(&fd))
    }

    /// Sets or clears `FD_CLOEXEC` on an open fd.
    pub(crate) fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        self.get(fd)?;
        if on {
            self.cloexec.insert(fd);
        } else {
            self.cloexec.remove(&fd);
        }
        Ok(())
    }

    /// Every open fd with its file, lowest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i32, FileId)> + '_ {
        self.fds.iter().map(|(&fd, &f)| (fd, f))
    }

    pub(crate) fn len(&self) -> usize {
        self.fds.len()
    }
}

impl crate::kernel::world::World {
    /// `anon_inode_getfd()` (`fs/anon_inodes.c`): a new file of `kind` on
    /// the lowest free fd, or `EMFILE` with nothing left behind.
    pub(crate) fn anon_inode_getfd(
        &mut self,
        pid: crate::kernel::ids::Pid,
        kind: FileKind,
        cloexec: bool,
    ) -> Result<(i32, FileId), Errno> {
        let file = self.new_file(File {
            flags: O_RDWR,
            count: 1,
            kind,
        });
        let nofile = self.task(pid).rlimit_nofile;
        match self.task_mut(pid).files.alloc(file, nofile) {
            Ok(fd) => {
                if cloexec {
                    let _ = self.task_mut(pid).files.set_cloexec(fd, true);
                }
                Ok((fd, file))
            }
            Err(e) => {
                self.files.remove(&file);
                Err(e)
            }
        }
    }

    /// `dup(fd)`: a second fd, the lowest free, for the same open file
    /// description (`f_count` + 1); `FD_CLOEXEC` is not copied.
    pub(crate) fn sys_dup(&mut self, pid: crate::kernel::ids::Pid, fd: i32) -> Result<i32, Errno> {
        let file = self.task(pid).files.get(fd)?;
        let nofile = self.task(pid).rlimit_nofile;
        let newfd = self.task_mut(pid).files.alloc(file, nofile)?;
        if let Some(f) = self.files.get_mut(&file) {
            f.count += 1;
        }
        Ok(newfd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_number_is_taken() {
        let mut t = FdTable::default();
        for i in 0..5 {
            assert_eq!(t.alloc(FileId(i), 1024), Ok(i as i32));
        }
        t.remove(1).unwrap();
        t.remove(3).unwrap();
        assert_eq!(t.alloc(FileId(9), 1024), Ok(1));
        assert_eq!(t.alloc(FileId(9), 1024), Ok(3));
        assert_eq!(t.alloc(FileId(9), 1024), Ok(5));
    }

    #[test]
    fn emfile_at_the_limit_and_ebadf_for_unknown_fds() {
        let mut t = FdTable::default();
        for i in 0..4 {
            t.alloc(FileId(i), 4).unwrap();
        }
        assert_eq!(t.alloc(FileId(5), 4), Err(Errno::EMFILE));
        assert_eq!(t.get(7), Err(Errno::EBADF));
        assert_eq!(t.remove(-1), Err(Errno::EBADF));
    }
}

#[cfg(test)]
mod cloexec_tests {
    use crate::prelude::*;

    #[test]
    fn fd_cloexec_is_per_fd_and_nonblock_is_per_file() {
        let mut sim = Sim::new(1);
        let h = sim.add_host("h");
        sim.spawn(h, "p", |p| async move {
            let a = p.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)?;
            let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            assert_eq!(p.fcntl(a, F_GETFD, 0)?, FD_CLOEXEC);
            assert_eq!(p.fcntl(b, F_GETFD, 0)?, 0);
            p.fcntl(b, F_SETFD, FD_CLOEXEC)?;
            assert_eq!(p.fcntl(b, F_GETFD, 0)?, FD_CLOEXEC);
            p.fcntl(b, F_SETFL, O_NONBLOCK)?;
            assert_eq!(p.fcntl(b, F_GETFL, 0)?, O_RDWR | O_NONBLOCK);
            assert_eq!(p.fcntl(99, F_GETFD, 0), Err(Errno::EBADF));
            assert_eq!(p.fcntl(b, 12345, 0), Err(Errno::EINVAL));
            Ok(())
        });
        assert!(sim.run().is_ok());
    }
}
