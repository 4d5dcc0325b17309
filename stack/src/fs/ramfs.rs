//! A host's files: an in-memory file system whose files live only in the
//! page cache (`ramfs`, `fs/ramfs/inode.c`), opened with `open()`
//! (`do_sys_open()` → `path_openat()` → `do_open()`, `fs/namei.c`,
//! `fs/open.c`) and read and written through the page cache
//! (`generic_file_read_iter()` → `filemap_read()`,
//! `generic_file_write_iter()` → `generic_perform_write()`).
//!
//! `read()` copies from the file's cached pages to the process
//! (`copy_to_user`), `write()` copies the process's bytes into them
//! (`copy_from_user`); both start at the open file's position (`f_pos`)
//! and move it. Two `open()`s of one path share the inode (and its pages)
//! but each has its own position.
//!
//! Simplified: one flat namespace of paths per host (no directories, so
//! `"/srv/index.html"` is just a name; a path without a leading `/` is taken
//! from `/`), no permissions or owners (every process is root), no links,
//! no timestamps; `unlink()` removes a name but never frees its inode. `open()` gives `ENOENT` for a missing file
//! without `O_CREAT` and `EEXIST` for `O_CREAT | O_EXCL` on an existing one.

use std::collections::BTreeMap;

use crate::fs::file::{File, FileKind, O_ACCMODE, RegularFile};
use crate::kernel::ids::{HostId, Pid};
use crate::kernel::world::World;
use crate::mm::pagecache::AddressSpace;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{O_APPEND, O_CLOEXEC, O_CREAT, O_EXCL, O_LARGEFILE, O_TRUNC};

/// A regular file's inode (`struct inode`, with its `i_mapping`).
#[derive(Debug)]
pub(crate) struct Inode {
    /// The name it was created under, for `/proc/PID/fd`.
    pub(crate) path: String,
    /// `i_mapping`: the file's pages.
    pub(crate) mapping: AddressSpace,
}

/// One host's files: names to inodes, inodes by number.
#[derive(Debug, Default)]
pub(crate) struct Ramfs {
    by_path: BTreeMap<String, u64>,
    inodes: BTreeMap<u64, Inode>,
}

impl Ramfs {
    /// The inode a path names, if the file exists.
    pub(crate) fn lookup(&self, path: &str) -> Option<u64> {
        self.by_path.get(&normalize(path)).copied()
    }

    /// Whether a regular file has this name (an `AF_UNIX` `bind()` there
    /// finds it taken, a `connect()` finds no socket).
    pub(crate) fn exists(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// `unlink()` of a regular file: the name goes; the inode stays for the
    /// files still open on it (and, simplified, after them too).
    pub(crate) fn unlink(&mut self, path: &str) -> bool {
        self.by_path.remove(&normalize(path)).is_some()
    }

    pub(crate) fn inode(&self, ino: u64) -> Option<&Inode> {
        self.inodes.get(&ino)
    }

    pub(crate) fn inode_mut(&mut self, ino: u64) -> Option<&mut Inode> {
        self.inodes.get_mut(&ino)
    }

    /// `ramfs_create()`: a new empty file under `path`.
    pub(crate) fn create(&mut self, ino: u64, path: &str) {
        let path = normalize(path);
        self.by_path.insert(path.clone(), ino);
        self.inodes.insert(
            ino,
            Inode {
                path,
                mapping: AddressSpace::default(),
            },
        );
    }
}

/// The one spelling of a path the table keys on (socket files too).
pub(crate) fn normalize(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

impl World {
    /// The inode behind an open regular file.
    pub(crate) fn file_inode(&self, f: &RegularFile) -> Option<&Inode> {
        self.host(f.host).ramfs.inode(f.ino)
    }

    pub(crate) fn file_inode_mut(&mut self, f: &RegularFile) -> Option<&mut Inode> {
        self.host_mut(f.host).ramfs.inode_mut(f.ino)
    }

    /// The regular file behind an fd, with its open file description.
    pub(crate) fn regular_file(
        &self,
        pid: Pid,
        fd: i32,
    ) -> Result<(crate::kernel::ids::FileId, RegularFile), Errno> {
        let file = self.task(pid).files.get(fd)?;
        match &self.files[&file].kind {
            FileKind::Regular(r) => Ok((file, r.clone())),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Moves an open regular file's `f_pos`.
    pub(crate) fn set_f_pos(&mut self, file: crate::kernel::ids::FileId, pos: u64) {
        if let Some(File {
            kind: FileKind::Regular(r),
            ..
        }) = self.files.get_mut(&file)
        {
            r.pos = pos;
        }
    }

    /// `open(path, flags)`: a new open file description on the lowest free
    /// fd. `O_CREAT` creates a missing file, `O_TRUNC` empties an existing
    /// one; `O_CLOEXEC` marks the fd. The file's flags keep the access
    /// mode and status flags, with `O_LARGEFILE` added as on every 64-bit
    /// kernel (`force_o_largefile()`).
    pub(crate) fn sys_open(&mut self, pid: Pid, path: &str, flags: i32) -> Result<i32, Errno> {
        let host = self.task(pid).host;
        // A socket file cannot be opened (sock_no_open(): ENXIO).
        if self.unix_socket_file_exists(host, path.as_bytes()) {
            return Err(if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                Errno::EEXIST
            } else {
                Errno::ENXIO
            });
        }
        let ino = match self.host(host).ramfs.lookup(path) {
            Some(_) if flags & O_CREAT != 0 && flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Some(ino) => ino,
            None if flags & O_CREAT != 0 => {
                let ino = self.next_inode(host);
                self.host_mut(host).ramfs.create(ino, path);
                ino
            }
            None => return Err(Errno::ENOENT),
        };
        let nofile = self.task(pid).rlimit_nofile;
        if self.task(pid).files.len() as u32 >= nofile {
            return Err(Errno::EMFILE);
        }
        if flags & O_TRUNC != 0
            && let Some(inode) = self.host_mut(host).ramfs.inode_mut(ino)
        {
            inode.mapping.truncate();
        }
        let f_flags = (flags & !(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
        let file = self.new_file(File {
            flags: f_flags,
            count: 1,
            kind: FileKind::Regular(RegularFile { host, ino, pos: 0 }),
        });
        let fd = self.task_mut(pid).files.alloc(file, nofile)?;
        if flags & O_CLOEXEC != 0 {
            let _ = self.task_mut(pid).files.set_cloexec(fd, true);
        }
        let mode = match flags & O_ACCMODE {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            _ => "O_RDWR",
        };
        self.trace(host, Layer::Vfs, |_w| {
            format!("do_sys_open: {path} ({mode}), inode {ino}; fd {fd} -> struct file")
        });
        Ok(fd)
    }

    /// `read()` of a regular file: `filemap_read()` copies from the page
    /// cache to user memory and moves `f_pos`.
    pub(crate) fn regular_read(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        let (file, r) = self.regular_file(pid, fd)?;
        if !self.files[&file].readable() {
            return Err(Errno::EBADF);
        }
        let n = self
            .file_inode(&r)
            .map_or(0, |inode| inode.mapping.read(r.pos, buf));
        self.set_f_pos(file, r.pos + n as u64);
        let host = self.task(pid).host;
        self.costs(host).copied_to_user += n as u64;
        self.trace(host, Layer::Vfs, |_w| {
            format!(
                "filemap_read: copy_to_user {n} B from the page cache at offset {}",
                r.pos
            )
        });
        Ok(n)
    }

    /// `write()` of a regular file: `generic_perform_write()` copies from
    /// user memory into page-cache pages (at the end with `O_APPEND`) and
    /// moves `f_pos`.
    pub(crate) fn regular_write(&mut self, pid: Pid, fd: i32, buf: &[u8]) -> Result<usize, Errno> {
        let (file, r) = self.regular_file(pid, fd)?;
        if !self.files[&file].writable() {
            return Err(Errno::EBADF);
        }
        let append = self.files[&file].flags & O_APPEND != 0;
        let Some(inode) = self.file_inode_mut(&r) else {
            return Err(Errno::EBADF);
        };
        let pos = if append { inode.mapping.size() } else { r.pos };
        let n = inode.mapping.write(pos, buf)?;
        self.set_f_pos(file, pos + n as u64);
        let host = self.task(pid).host;
        self.costs(host).copied_from_user += n as u64;
        self.trace(host, Layer::Vfs, |_w| {
            format!(
                "generic_perform_write: copy_from_user {n} B into the page cache at offset {pos}"
            )
        });
        Ok(n)
    }
}

impl World {
    /// `/proc/kpagecount` of the page-cache page at `index` of `path` on
    /// `host`: 1 for the cache's own reference, one more for each pipe
    /// buffer or skb fragment pointing at it.
    pub(crate) fn kpagecount(&self, host: HostId, path: &str, index: u64) -> Option<usize> {
        let fs = &self.host(host).ramfs;
        let inode = fs.inode(fs.lookup(path)?)?;
        inode.mapping.find_get_page(index).map(|p| p.page_count())
    }
}

impl crate::kernel::syscalls::Process {
    /// How many references the page-cache page at `index` of `path` has
    /// (what `/proc/kpagecount` shows for it): 1 for the page cache's own,
    /// one more for each pipe buffer or skb fragment pointing at it.
    /// `None` if the file or the page does not exist.
    pub fn page_count(&self, path: &str, index: u64) -> Option<usize> {
        let w = self.world.borrow();
        w.kpagecount(w.task(self.pid).host, path, index)
    }
}
