//! Pipes: `pipe()`, `pipe2()` and reading and writing them (`fs/pipe.c`:
//! `do_pipe2()`, `pipe_read()`, `pipe_write()`, `pipe_poll()`,
//! `pipe_release()`, `pipe_fcntl()`; `include/linux/pipe_fs_i.h`).
//!
//! A pipe is a ring of `pipe_buffer`s (16 by default: `PIPE_DEF_BUFFERS`),
//! each a reference to a page plus an offset and a length. `write()` copies
//! the process's bytes into pages it puts in the ring (`copy_from_user`);
//! `read()` copies them out (`copy_to_user`) and frees a buffer once it is
//! empty. A write first tops up the last buffer when it was filled by an
//! earlier `write()` and the new bytes' remainder (`len % PAGE_SIZE`) fits
//! (`PIPE_BUF_FLAG_CAN_MERGE`); the rest goes in fresh pages, one buffer
//! each. So the ring's capacity is counted in buffers, not bytes: an empty
//! pipe takes 65536 bytes in one write, but only 16 one-byte writes if each
//! arrived after the reader had emptied the previous page. A write of at
//! most `PIPE_BUF` (4096) bytes either merges whole or takes one whole
//! buffer, so it is never split: it is atomic.
//!
//! Buffers need not hold bytes written by a process: `splice()` and
//! `vmsplice()` put references to page-cache pages, socket pages and user
//! pages in the ring (`crate::fs::splice`); such buffers are never merged into.
//!
//! Blocking follows the kernel: a reader with nothing to read sleeps on
//! the pipe's `rd_wait` (exclusively) until a writer adds data, and a
//! writer with no free buffer sleeps on `wr_wait` until a reader frees one;
//! with `O_NONBLOCK` both get `EAGAIN`. A read returns 0 (end of file) once
//! the pipe is empty and every write end is closed; a write with every read
//! end closed fails with `EPIPE`. The kernel also sends `SIGPIPE`, which
//! would kill a process that does not ignore it; the simulation has no
//! signals, so it returns `EPIPE` as to a process that ignores `SIGPIPE`
//! (as the socket path does, see `tcp_sendmsg()`).
//!
//! Simplified: no FIFOs (named pipes), no packet mode (`O_DIRECT`, refused
//! with `EINVAL`), no watch queues, no per-user page accounting
//! (`pipe-user-pages-soft`), and every process is privileged for
//! `F_SETPIPE_SZ`. `pipe_write()` wakes readers after every write while an
//! epoll or poll entry watches the pipe, which is what the kernel's
//! `poll_usage` does once the pipe has been polled.

use std::task::Poll;

use crate::fs::file::{File, FileKind, O_NONBLOCK, O_RDONLY, O_WRONLY, RwProgress};
use crate::fs::pipe_ring::PipeBufRing;
use crate::kernel::ids::{FileId, HostId, Pid, PipeId};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitObj, WaitQueue, Wakeup};
use crate::kernel::world::World;
use crate::net::core::skbuff::PAGE_SIZE;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{
    EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDNORM, EPOLLWRNORM, F_GETPIPE_SZ, F_SETPIPE_SZ,
    O_CLOEXEC,
};

pub use crate::fs::pipe_ring::PIPE_DEF_BUFFERS;

/// Which of a pipe's two wait queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipeWq {
    /// `rd_wait`: readers waiting for data.
    Rd,
    /// `wr_wait`: writers waiting for room.
    Wr,
}

pub(crate) use crate::fs::pipe_ring::{PipeBufOps as BufOps, PipeBuffer};

pub use crate::fs::pipe_ring::PipeRing;

/// `struct pipe_inode_info`: the ring, who has each end open, and the two
/// wait queues.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) host: HostId,
    /// The pipefs inode number, as `ls -l /proc/PID/fd` shows `pipe:[INODE]`.
    pub(crate) ino: u64,
    pub(crate) ring: Box<dyn PipeBufRing>,
    /// Open read ends and write ends.
    pub(crate) readers: u32,
    pub(crate) writers: u32,
    rd_wait: WaitQueue,
    wr_wait: WaitQueue,
}

impl Pipe {
    pub(crate) fn wq_mut(&mut self, which: PipeWq) -> &mut WaitQueue {
        match which {
            PipeWq::Rd => &mut self.rd_wait,
            PipeWq::Wr => &mut self.wr_wait,
        }
    }

    /// Whether an epoll or poll entry watches the read side (the
    /// simulation's stand-in for the kernel's `poll_usage`).
    fn polled(&self) -> bool {
        self.rd_wait.has_pollers()
    }
}

/// `round_pipe_size()`: at least a page, a power of two; 0 if too large.
fn round_pipe_size(size: u64) -> u64 {
    if size > 1 << 31 {
        0
    } else if size < PAGE_SIZE as u64 {
        PAGE_SIZE as u64
    } else {
        size.next_power_of_two()
    }
}

impl World {
    pub(crate) fn pipe(&self, id: PipeId) -> &Pipe {
        &self.pipes[&id]
    }

    pub(crate) fn pipe_mut(&mut self, id: PipeId) -> &mut Pipe {
        self.pipes.get_mut(&id).expect("live pipe")
    }

    /// `get_pipe_info()`: the pipe behind an open file, if it is one.
    pub(crate) fn pipe_of_file(&self, file: FileId) -> Option<PipeId> {
        match self.files.get(&file)?.kind {
            FileKind::Pipe(p) => Some(p),
            _ => None,
        }
    }

    /// Runs `f` on a pipe's ring, taken out of the pipe for the call so
    /// that `f` may use the rest of the world (sockets, the page cache).
    pub(crate) fn with_pipe_ring<R>(
        &mut self,
        id: PipeId,
        f: impl FnOnce(&mut World, &mut dyn PipeBufRing) -> R,
    ) -> R {
        let mut ring = std::mem::replace(&mut self.pipe_mut(id).ring, PipeRing::boxed());
        let r = f(self, ring.as_mut());
        if let Some(p) = self.pipes.get_mut(&id) {
            p.ring = ring;
        }
        r
    }

    /// A new pipe ring, from the factory `Sim::set_pipe_ring` set.
    pub(crate) fn new_pipe_ring(&self) -> Box<dyn PipeBufRing> {
        (self.pipe_ring_factory)()
    }

    /// `pipe2(fds, flags)`: a pipe and its two ends on the two lowest free
    /// fds, read end first. Flags other than `O_NONBLOCK` and `O_CLOEXEC`
    /// are `EINVAL` (`O_DIRECT`, packet mode, is not modelled).
    pub(crate) fn sys_pipe2(&mut self, pid: Pid, flags: i32) -> Result<(i32, i32), Errno> {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let host = self.task(pid).host;
        let nofile = self.task(pid).rlimit_nofile;
        if self.task(pid).files.len() as u32 + 2 > nofile {
            return Err(Errno::EMFILE);
        }
        let ino = self.next_inode(host);
        let id = PipeId(self.next_pipe);
        self.next_pipe += 1;
        self.pipes.insert(
            id,
            Pipe {
                host,
                ino,
                ring: self.new_pipe_ring(),
                readers: 1,
                writers: 1,
                rd_wait: WaitQueue::default(),
                wr_wait: WaitQueue::default(),
            },
        );
        let mut fds = [0; 2];
        for (slot, mode) in fds.iter_mut().zip([O_RDONLY, O_WRONLY]) {
            let file = self.new_file(File {
                flags: mode | (flags & O_NONBLOCK),
                count: 1,
                kind: FileKind::Pipe(id),
            });
            // Room for both was checked above.
            *slot = self.task_mut(pid).files.alloc(file, nofile)?;
            if flags & O_CLOEXEC != 0 {
                let _ = self.task_mut(pid).files.set_cloexec(*slot, true);
            }
        }
        self.trace(host, Layer::Vfs, |_w| {
            format!(
                "do_pipe2: pipe:[{ino}], {PIPE_DEF_BUFFERS} buffers of {PAGE_SIZE} B; fd {} reads, fd {} writes",
                fds[0], fds[1]
            )
        });
        Ok((fds[0], fds[1]))
    }

    /// The pipe behind an fd and its file, or `EBADF` if the fd is not
    /// open; `None` for the pipe if it is not a pipe.
    fn pipe_fd(&self, pid: Pid, fd: i32) -> Result<(FileId, Option<PipeId>), Errno> {
        let file = self.task(pid).files.get(fd)?;
        Ok((file, self.pipe_of_file(file)))
    }

    /// Puts the process to sleep on one of the pipe's wait queues.
    /// `exclusive` for `read()` and `write()` (`wait_event_interruptible_exclusive`),
    /// not for splice's waits (`pipe_wait_readable()`, `pipe_wait_writable()`).
    pub(crate) fn pipe_sleep(&mut self, pid: Pid, id: PipeId, which: PipeWq, exclusive: bool) {
        let waits = match which {
            PipeWq::Rd => WaitFor::Data,
            PipeWq::Wr => WaitFor::SendSpace,
        };
        self.sleep_on_obj(pid, WaitObj::Pipe(id, which), waits, exclusive);
    }

    /// `wakeup_pipe_readers()`: data was added.
    pub(crate) fn wakeup_pipe_readers(&mut self, id: PipeId) {
        self.wake_up(WaitObj::Pipe(id, PipeWq::Rd), Wakeup::DataReady);
    }

    /// `wakeup_pipe_writers()`: room was made.
    pub(crate) fn wakeup_pipe_writers(&mut self, id: PipeId) {
        self.wake_up(WaitObj::Pipe(id, PipeWq::Wr), Wakeup::WriteSpace);
    }

    /// The pipe behind `fd`, opened for writing or reading as asked:
    /// `EINVAL` if it is no pipe, `EBADF` if it is the other end.
    fn pipe_end(&self, pid: Pid, fd: i32, write: bool) -> Result<(FileId, PipeId), Errno> {
        let (file, id) = match self.pipe_fd(pid, fd)? {
            (file, Some(id)) => (file, id),
            _ => return Err(Errno::EINVAL),
        };
        let f = &self.files[&file];
        if (write && !f.writable()) || (!write && !f.readable()) {
            return Err(Errno::EBADF);
        }
        Ok((file, id))
    }

    /// `pipe_read()`: copies what the pipe holds, up to `buf.len()`; 0 once
    /// it is empty with no writer left; otherwise `EAGAIN` or sleep.
    pub(crate) fn pipe_read(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &mut [u8],
        st: &mut RwProgress,
    ) -> Poll<Result<usize, Errno>> {
        let (file, id) = match self.pipe_end(pid, fd, false) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A reader that frees a buffer of a full pipe wakes its writers
        // (`wake_writer |= pipe_full()` as each buffer is released).
        let ring = &mut self.pipe_mut(id).ring;
        let (was_full, before) = (ring.is_full(), ring.occupancy());
        let n = ring.read(buf);
        let wake_writer = was_full && ring.occupancy() < before;
        let host = self.task(pid).host;
        self.costs(host).copied_to_user += n as u64;
        let p = self.pipe(id);
        let (writers, empty) = (p.writers, p.ring.is_empty());
        if n == 0 && writers > 0 {
            if self.files[&file].nonblocking() {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            st.slept = true;
            self.pipe_sleep(pid, id, PipeWq::Rd, true);
            return Poll::Pending;
        }
        if n > 0 {
            self.trace(host, Layer::Vfs, |w| {
                let p = w.pipe(id);
                format!(
                    "pipe_read: copy_to_user {n} B from pipe:[{}] ({} B left in {} buffers)",
                    p.ino,
                    p.ring.bytes(),
                    p.ring.occupancy()
                )
            });
        }
        if wake_writer {
            self.wakeup_pipe_writers(id);
        }
        // Another reader may have been left asleep behind this one.
        if st.slept && !empty {
            self.wakeup_pipe_readers(id);
        }
        Poll::Ready(Ok(n))
    }

    /// `pipe_write()`: copies `buf` into the pipe, merging into the last
    /// buffer when it can, then page by page; sleeps (or `EAGAIN`) while
    /// the ring is full; `EPIPE` with no reader left.
    pub(crate) fn pipe_write(
        &mut self,
        pid: Pid,
        fd: i32,
        buf: &[u8],
        st: &mut RwProgress,
    ) -> Poll<Result<usize, Errno>> {
        let (file, id) = match self.pipe_end(pid, fd, true) {
            Ok(found) => found,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let nonblock = self.files[&file].nonblocking();
        let host = self.task(pid).host;
        let was_empty = self.pipe(id).ring.is_empty();
        let before = st.done;
        let outcome = self.pipe_write_some(id, buf, st, nonblock);
        let copied = st.done - before;
        self.costs(host).copied_from_user += copied as u64;
        if copied > 0 {
            self.trace(host, Layer::Vfs, |w| {
                let p = w.pipe(id);
                format!(
                    "pipe_write: copy_from_user {copied} B into pipe:[{}] ({} B in {} of {} buffers)",
                    p.ino,
                    p.ring.bytes(),
                    p.ring.occupancy(),
                    p.ring.max_usage()
                )
            });
        }
        match outcome {
            Some(r) => {
                if r == Err(Errno::EPIPE) {
                    self.trace(host, Layer::Vfs, |_w| {
                        "pipe_write: no reader: EPIPE (Linux also sends SIGPIPE; the simulation has no signals)".to_string()
                    });
                }
                let p = self.pipe(id);
                let wake_next_writer = st.slept && !p.ring.is_full();
                if was_empty || p.polled() {
                    self.wakeup_pipe_readers(id);
                }
                if wake_next_writer {
                    self.wakeup_pipe_writers(id);
                }
                Poll::Ready(r)
            }
            None => {
                // About to sleep for room: readers first hear of the data.
                if was_empty {
                    self.wakeup_pipe_readers(id);
                }
                st.slept = true;
                self.pipe_sleep(pid, id, PipeWq::Wr, true);
                Poll::Pending
            }
        }
    }

    /// The copying part of `pipe_write()`: `Some(result)` when the call is
    /// over, `None` when it must wait for room.
    fn pipe_write_some(
        &mut self,
        id: PipeId,
        buf: &[u8],
        st: &mut RwProgress,
        nonblock: bool,
    ) -> Option<Result<usize, Errno>> {
        let p = self.pipe_mut(id);
        let partial = |st: &RwProgress, e: Errno| {
            if st.done > 0 { Ok(st.done) } else { Err(e) }
        };
        if p.readers == 0 {
            return Some(partial(st, Errno::EPIPE));
        }
        // The merge into the last buffer is tried only as the write
        // begins, never after a sleep.
        let took = p.ring.write(&buf[st.done..], st.done == 0);
        st.done += took;
        if st.done == buf.len() {
            return Some(Ok(st.done));
        }
        if nonblock {
            return Some(partial(st, Errno::EAGAIN));
        }
        None
    }

    /// `pipe_release()`: one end's file is gone. When the last reader or
    /// the last writer leaves (but not both), everyone waiting on either
    /// queue is woken to see it; when both are gone the pipe is freed, and
    /// with it the references its buffers held.
    pub(crate) fn pipe_release(&mut self, id: PipeId, file: &File) {
        let Some(p) = self.pipes.get_mut(&id) else {
            return;
        };
        if file.readable() {
            p.readers = p.readers.saturating_sub(1);
        }
        if file.writable() {
            p.writers = p.writers.saturating_sub(1);
        }
        let (readers, writers, host, ino) = (p.readers, p.writers, p.host, p.ino);
        if (readers == 0) != (writers == 0) {
            self.wake_up(WaitObj::Pipe(id, PipeWq::Rd), Wakeup::StateChange);
            self.wake_up(WaitObj::Pipe(id, PipeWq::Wr), Wakeup::StateChange);
        }
        if readers == 0 && writers == 0 {
            self.pipes.remove(&id);
        }
        self.trace(host, Layer::Vfs, |_w| {
            format!(
                "pipe_release: pipe:[{ino}] now has {readers} reader(s) and {writers} writer(s)"
            )
        });
    }

    /// `pipe_poll()`: the poll mask of one end. A read end reports
    /// `EPOLLIN | EPOLLRDNORM` while the pipe holds data and `EPOLLHUP`
    /// once no writer is left; a write end reports `EPOLLOUT | EPOLLWRNORM`
    /// while a buffer is free and `EPOLLERR` once no reader is left. The
    /// waits to register are on `rd_wait` for a read end and `wr_wait` for
    /// a write end ([`World::pipe_wait_obj`]).
    pub(crate) fn pipe_poll(&self, file: FileId) -> u32 {
        let Some(f) = self.files.get(&file) else {
            return 0;
        };
        let FileKind::Pipe(id) = f.kind else { return 0 };
        let Some(p) = self.pipes.get(&id) else {
            return 0;
        };
        let mut mask = 0;
        if f.readable() {
            if !p.ring.is_empty() {
                mask |= EPOLLIN | EPOLLRDNORM;
            }
            if p.writers == 0 {
                mask |= EPOLLHUP;
            }
        }
        if f.writable() {
            if !p.ring.is_full() {
                mask |= EPOLLOUT | EPOLLWRNORM;
            }
            if p.readers == 0 {
                mask |= EPOLLERR;
            }
        }
        mask
    }

    /// The wait queue `pipe_poll()` registers a poller on (`poll_wait()`
    /// on `rd_wait` for a read end, `wr_wait` for a write end).
    pub(crate) fn pipe_wait_obj(&self, file: FileId) -> Option<WaitObj> {
        let f = self.files.get(&file)?;
        let FileKind::Pipe(id) = f.kind else {
            return None;
        };
        Some(WaitObj::Pipe(
            id,
            if f.readable() { PipeWq::Rd } else { PipeWq::Wr },
        ))
    }

    /// `pipe_fcntl()`: `F_GETPIPE_SZ` gives the capacity in bytes;
    /// `F_SETPIPE_SZ` rounds the request up to a power-of-two number of
    /// pages (at least one), refuses to shrink below what the pipe holds
    /// (`EBUSY`), and returns the new size.
    pub(crate) fn pipe_fcntl(
        &mut self,
        pid: Pid,
        fd: i32,
        cmd: i32,
        arg: i32,
    ) -> Result<i32, Errno> {
        let (_, id) = self.pipe_fd(pid, fd)?;
        let Some(id) = id else {
            return Err(Errno::EBADF);
        };
        match cmd {
            F_GETPIPE_SZ => Ok((self.pipe(id).ring.max_usage() * PAGE_SIZE) as i32),
            F_SETPIPE_SZ => {
                // The argument is an unsigned long: a negative int is huge.
                let size = round_pipe_size(arg as i64 as u64);
                if size == 0 {
                    return Err(Errno::EINVAL);
                }
                let slots = (size / PAGE_SIZE as u64) as usize;
                let ring = &mut self.pipe_mut(id).ring;
                let grew = slots > ring.max_usage();
                ring.set_max_usage(slots)?;
                if grew {
                    self.wakeup_pipe_writers(id);
                }
                Ok(size as i32)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// What a sleeper on a pipe waits for, in words, from its state now.
    pub(crate) fn describe_pipe_wait(&self, id: PipeId, which: PipeWq) -> String {
        let Some(p) = self.pipes.get(&id) else {
            return "a pipe that is gone".to_string();
        };
        match which {
            PipeWq::Rd => format!(
                "data in pipe:[{}] (empty, {} writer(s) still open)",
                p.ino, p.writers
            ),
            PipeWq::Wr => format!(
                "room in pipe:[{}] ({} of {} buffers full, {} B unread, {} reader(s) still open)",
                p.ino,
                p.ring.occupancy(),
                p.ring.max_usage(),
                p.ring.bytes(),
                p.readers
            ),
        }
    }
}
