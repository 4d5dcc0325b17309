//! `splice()`, `vmsplice()` and the engine under `sendfile()`: moving data
//! between files by moving page references through a pipe, without
//! copying the bytes (`fs/splice.c`: `do_splice()`, `splice_file_to_pipe()`,
//! `filemap_splice_read()` in `mm/filemap.c`, `splice_to_socket()`,
//! `iter_file_splice_write()`, `splice_pipe_to_pipe()`,
//! `splice_direct_to_actor()`, `vmsplice_to_pipe()`, `vmsplice_to_user()`).
//!
//! One end of a `splice()` must be a pipe (`EINVAL` otherwise, `ESPIPE`
//! for an offset on the pipe's side):
//!
//! - file → pipe: each pipe buffer gets a reference to a page-cache page
//!   (`page_cache_pipe_buf_ops`), as many as the pipe has free buffers;
//! - socket → pipe: the receive queue's pages ([`World::tcp_splice_read`]);
//! - pipe → socket: the buffers' pages become fragments of the socket's
//!   write-queue segments ([`World::tcp_sendpages`], `MSG_SPLICE_PAGES`),
//!   so the page the file's cache holds is the page the NIC (here the
//!   loopback device) sends from;
//! - pipe → file: the one direction that copies, into the file's pages
//!   (counted as a copy within the kernel);
//! - pipe → pipe: whole buffers move, a partial one is shared by a second
//!   reference (`pipe_buf_get()`).
//!
//! `sendfile(out, in)` is `splice()` through a pipe the caller never sees
//! (`current->splice_pipe`): up to a pipe's worth from the file, then all
//! of it to the output, again and again until `count` bytes or the end of
//! the file; a short write ends it early. `vmsplice()` puts references to
//! the process's own pages in a pipe ([`crate::mm::user_pages::UserBuf`]).
//!
//! Which waits block follows the kernel: `SPLICE_F_NONBLOCK` (or
//! `O_NONBLOCK` on the pipe) only concerns the pipe; a socket waits for
//! data or buffer space according to its own `O_NONBLOCK`.
//!
//! Simplified: splicing to or from a UDP socket is refused with `EINVAL`
//! (Linux copies: `copy_splice_read()`, `udp_sendmsg()`); no `tee()`; no
//! `SPLICE_F_MOVE` page stealing (a no-op since 2.6.21 anyway); the pipe
//! lock is not held across a sleep of the socket side.

use std::task::Poll;

use crate::fs::file::FileKind;
use crate::fs::pipe::{BufOps, PipeBuffer, PipeWq};
use crate::fs::pipe_ring::{PIPE_BUF_FLAG_GIFT, PipeBufRing, bufs};
use crate::kernel::ids::{FileId, Pid, PipeId};
use crate::kernel::world::World;
use crate::mm::user_pages::UserSlice;
use crate::net::core::skbuff::{PAGE_SIZE, PageFrag};
use crate::net::core::sock::SockType;
use crate::net::ipv4::tcp::splice::Sent;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{O_APPEND, SPLICE_F_ALL, SPLICE_F_GIFT, SPLICE_F_NONBLOCK};

/// `MAX_RW_COUNT`: one call moves at most `INT_MAX` rounded down to a page.
pub(crate) const MAX_RW_COUNT: usize = (i32::MAX as usize) & !(PAGE_SIZE - 1);
/// `UIO_MAXIOV`: the most `iovec`s one call takes.
pub(crate) const UIO_MAXIOV: usize = 1024;
/// The most buffers one `sock_sendmsg()` from a pipe carries
/// (`splice_to_socket()`'s `bvec[16]`).
const SPLICE_BVEC: usize = 16;

/// `rw_verify_area()`: a position is a signed `loff_t`, and position plus
/// count must stay one.
pub(crate) fn rw_verify_area(pos: u64, count: usize) -> Result<(), Errno> {
    let limit = i64::MAX as u64;
    if count > isize::MAX as usize || pos > limit || pos + count as u64 > limit {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// How far a splice out of a pipe has got, across its sleeps (the
/// `num_spliced` and `need_wakeup` of `struct splice_desc`).
#[derive(Debug, Default)]
pub(crate) struct FromPipe {
    spliced: usize,
    need_wakeup: bool,
}

/// What `sendfile()`'s private pipe holds across sleeps
/// (`splice_direct_to_actor()`'s loop).
#[derive(Debug, Default)]
pub(crate) struct DirectState {
    /// `current->splice_pipe`, made on first use from the factory
    /// `Sim::set_pipe_ring` set.
    ring: Option<Box<dyn PipeBufRing>>,
    /// Bytes still asked for, and bytes sent.
    pub(crate) len: usize,
    bytes: usize,
    /// The file position before the last read, and what it read.
    prev_pos: u64,
    read_len: usize,
    /// Sending what was read is under way.
    in_actor: bool,
    actor: FromPipe,
}

impl DirectState {
    /// Releases every buffer of the private pipe.
    fn clear_ring(&mut self) {
        if let Some(r) = self.ring.as_mut() {
            r.clear();
        }
    }
}

impl World {
    /// `splice(fd_in, off_in, fd_out, off_out, len, flags)`
    /// (`__do_splice()` → `do_splice()`): moves up to `len` bytes between
    /// a pipe and another file, or between two pipes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_splice(
        &mut self,
        pid: Pid,
        fd_in: i32,
        off_in: Option<&mut u64>,
        fd_out: i32,
        off_out: Option<&mut u64>,
        len: usize,
        flags: u32,
        st: &mut FromPipe,
    ) -> Poll<Result<usize, Errno>> {
        match self.splice_checked(pid, fd_in, off_in, fd_out, off_out, len, flags, st) {
            Ok(p) => p,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn splice_checked(
        &mut self,
        pid: Pid,
        fd_in: i32,
        off_in: Option<&mut u64>,
        fd_out: i32,
        off_out: Option<&mut u64>,
        len: usize,
        mut flags: u32,
        st: &mut FromPipe,
    ) -> Result<Poll<Result<usize, Errno>>, Errno> {
        if len == 0 {
            return Ok(Poll::Ready(Ok(0)));
        }
        if flags & !SPLICE_F_ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let fin = self.task(pid).files.get(fd_in)?;
        let fout = self.task(pid).files.get(fd_out)?;
        let (ipipe, opipe) = (self.pipe_of_file(fin), self.pipe_of_file(fout));
        if (ipipe.is_some() && off_in.is_some()) || (opipe.is_some() && off_out.is_some()) {
            return Err(Errno::ESPIPE);
        }
        let (i, o) = (&self.files[&fin], &self.files[&fout]);
        if !i.readable() || !o.writable() {
            return Err(Errno::EBADF);
        }
        let (in_nb, out_nb) = (i.nonblocking(), o.nonblocking());
        match (ipipe, opipe) {
            (Some(ip), Some(op)) => {
                if ip == op {
                    return Err(Errno::EINVAL);
                }
                if in_nb || out_nb {
                    flags |= SPLICE_F_NONBLOCK;
                }
                Ok(self.splice_pipe_to_pipe(pid, ip, op, len, flags))
            }
            (Some(ip), None) => {
                if off_out.is_some() && !o.seekable() {
                    return Err(Errno::EINVAL);
                }
                if o.flags & O_APPEND != 0 {
                    return Err(Errno::EINVAL);
                }
                let mut pos = match &off_out {
                    Some(off) => **off,
                    None => self.f_pos(fout),
                };
                rw_verify_area(pos, len)?;
                if in_nb {
                    flags |= SPLICE_F_NONBLOCK;
                }
                let r = self.with_pipe_ring(ip, |w, ring| {
                    w.do_splice_from(pid, ring, Some(ip), fout, &mut pos, len, flags, st)
                });
                if r.is_ready() {
                    self.store_pos(fout, off_out, pos);
                }
                Ok(r)
            }
            (None, Some(op)) => {
                if off_in.is_some() && !i.seekable() {
                    return Err(Errno::EINVAL);
                }
                let mut pos = match &off_in {
                    Some(off) => **off,
                    None => self.f_pos(fin),
                };
                rw_verify_area(pos, len)?;
                if out_nb {
                    flags |= SPLICE_F_NONBLOCK;
                }
                let r = self.splice_file_to_pipe(pid, fin, op, &mut pos, len, flags);
                if r.is_ready() {
                    self.store_pos(fin, off_in, pos);
                }
                Ok(r)
            }
            (None, None) => Err(Errno::EINVAL),
        }
    }

    /// `f_pos` of an open file (0 for a stream).
    pub(crate) fn f_pos(&self, file: FileId) -> u64 {
        match &self.files[&file].kind {
            FileKind::Regular(r) => r.pos,
            _ => 0,
        }
    }

    /// Where a call that worked at `pos` leaves it: in the caller's offset
    /// if it passed one, else in the file's `f_pos`.
    pub(crate) fn store_pos(&mut self, file: FileId, off: Option<&mut u64>, pos: u64) {
        match off {
            Some(o) => *o = pos,
            None => self.set_f_pos(file, pos),
        }
    }

    /// `splice_file_to_pipe()`: waits for a free buffer (`wait_for_space()`:
    /// `EPIPE` with no reader, `EAGAIN` when non-blocking), then fills what
    /// it can from the file and wakes the pipe's readers.
    pub(crate) fn splice_file_to_pipe(
        &mut self,
        pid: Pid,
        fin: FileId,
        opipe: PipeId,
        pos: &mut u64,
        len: usize,
        flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        if let Some(r) = self.wait_for_space(pid, opipe, flags) {
            return r;
        }
        let r = self.with_pipe_ring(opipe, |w, ring| {
            w.do_splice_read(pid, fin, pos, ring, len, flags)
        });
        if let Poll::Ready(Ok(n)) = r
            && n > 0
        {
            self.wakeup_pipe_readers(opipe);
        }
        r
    }

    /// `wait_for_space()`: `None` once the pipe has a free buffer.
    fn wait_for_space(
        &mut self,
        pid: Pid,
        id: PipeId,
        flags: u32,
    ) -> Option<Poll<Result<usize, Errno>>> {
        let p = self.pipe(id);
        if p.readers == 0 {
            return Some(Poll::Ready(Err(Errno::EPIPE)));
        }
        if !p.ring.is_full() {
            return None;
        }
        if flags & SPLICE_F_NONBLOCK != 0 {
            return Some(Poll::Ready(Err(Errno::EAGAIN)));
        }
        self.pipe_sleep(pid, id, PipeWq::Wr, false);
        Some(Poll::Pending)
    }

    /// `do_splice_read()`: up to `len` bytes (no more than the pipe has free
    /// buffers for) from a file into a pipe ring, by the file's
    /// `splice_read`.
    pub(crate) fn do_splice_read(
        &mut self,
        pid: Pid,
        fin: FileId,
        pos: &mut u64,
        ring: &mut dyn PipeBufRing,
        len: usize,
        _flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        let f = &self.files[&fin];
        if !f.readable() {
            return Poll::Ready(Err(Errno::EBADF));
        }
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let len = len.min(ring.space() * PAGE_SIZE).min(MAX_RW_COUNT);
        let nonblock = f.nonblocking();
        match f.kind.clone() {
            FileKind::Regular(r) => {
                Poll::Ready(Ok(self.filemap_splice_read(pid, &r, pos, ring, len)))
            }
            FileKind::Socket(s) if self.sk(s.sk).ty == SockType::Stream => {
                self.with_sock(s.sk, |w| w.tcp_splice_read(pid, s.sk, ring, len, nonblock))
            }
            // copy_splice_read() of the terminal: end of file, as read() is.
            FileKind::Tty => Poll::Ready(Ok(0)),
            FileKind::Socket(_) | FileKind::Pipe(_) | FileKind::Epoll | FileKind::IoUring => {
                Poll::Ready(Err(Errno::EINVAL))
            }
        }
    }

    /// `filemap_splice_read()`: references to the file's page-cache pages
    /// from `pos`, one pipe buffer per page, up to `len` bytes or the end
    /// of the file. Copies nothing.
    fn filemap_splice_read(
        &mut self,
        pid: Pid,
        r: &crate::fs::file::RegularFile,
        pos: &mut u64,
        ring: &mut dyn PipeBufRing,
        len: usize,
    ) -> usize {
        let start = *pos;
        let space = ring.space();
        let Some(inode) = self.file_inode_mut(r) else {
            return 0;
        };
        let pieces = inode.mapping.splice_pages(start, len, space);
        let path = inode.path.clone();
        let (n, refs): (usize, usize) = (pieces.iter().map(|p| p.len).sum(), pieces.len());
        for p in pieces {
            // A ring refusing a buffer it said it had room for loses it.
            let _ = ring.push(PipeBuffer::of_page(
                p.page,
                p.offset,
                p.len,
                BufOps::PageCache,
            ));
        }
        *pos += n as u64;
        let host = self.task(pid).host;
        self.costs(host).pages_referenced += refs as u64;
        if n > 0 {
            self.trace(host, Layer::Vfs, |_w| {
                format!("filemap_splice_read: {n} B of {path} from offset {start} into a pipe as {refs} page-cache page references, nothing copied")
            });
        }
        n
    }

    /// `do_splice_from()`: up to `len` bytes out of a pipe ring into a file,
    /// by the file's `splice_write`: `splice_to_socket()` for a TCP
    /// socket, `iter_file_splice_write()` for a regular file or the
    /// terminal. Waits for data while the pipe (if it has writers) is
    /// empty and nothing was moved (`splice_from_pipe_next()`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn do_splice_from(
        &mut self,
        pid: Pid,
        ring: &mut dyn PipeBufRing,
        ipipe: Option<PipeId>,
        fout: FileId,
        pos: &mut u64,
        len: usize,
        flags: u32,
        st: &mut FromPipe,
    ) -> Poll<Result<usize, Errno>> {
        let out = &self.files[&fout];
        let (kind, out_nonblock) = (out.kind.clone(), out.nonblocking());
        let mut ret = Ok(0);
        while st.spliced < len {
            if ring.is_empty() {
                let writers = ipipe.map_or(0, |p| self.pipe(p).writers);
                if writers == 0 || st.spliced > 0 {
                    break;
                }
                if flags & SPLICE_F_NONBLOCK != 0 {
                    ret = Err(Errno::EAGAIN);
                    break;
                }
                if let Some(p) = ipipe {
                    if std::mem::take(&mut st.need_wakeup) {
                        self.wakeup_pipe_writers(p);
                    }
                    self.pipe_sleep(pid, p, PipeWq::Rd, false);
                }
                return Poll::Pending;
            }
            let left = len - st.spliced;
            let bvec: Vec<PageFrag> = bufs(ring)
                .scan(left, |want, b| {
                    let f = (*want > 0).then(|| b.frag(*want)).flatten();
                    *want = want.saturating_sub(b.len);
                    f
                })
                .take(SPLICE_BVEC)
                .collect();
            let moved = match &kind {
                FileKind::Socket(s) if self.sk(s.sk).ty == SockType::Stream => {
                    let sk = s.sk;
                    match self.with_sock(sk, |w| w.tcp_sendpages(pid, sk, &bvec, out_nonblock)) {
                        Sent::Done(r) => r,
                        Sent::Sleeping(n) => {
                            self.splice_consumed(ring, ipipe, n, st);
                            return Poll::Pending;
                        }
                    }
                }
                FileKind::Regular(r) => {
                    let bytes = crate::net::core::skbuff::page::frags_to_vec(&bvec);
                    let r = r.clone();
                    match self
                        .file_inode_mut(&r)
                        .map(|i| i.mapping.write(*pos, &bytes))
                    {
                        Some(Ok(n)) => {
                            *pos += n as u64;
                            let host = self.task(pid).host;
                            self.costs(host).copied_in_kernel += n as u64;
                            Ok(n)
                        }
                        Some(Err(e)) => Err(e),
                        None => Err(Errno::EBADF),
                    }
                }
                FileKind::Tty => Ok(bvec.iter().map(PageFrag::len).sum()),
                FileKind::Socket(_) | FileKind::Pipe(_) | FileKind::Epoll | FileKind::IoUring => {
                    Err(Errno::EINVAL)
                }
            };
            match moved {
                Ok(n) if n > 0 => self.splice_consumed(ring, ipipe, n, st),
                other => {
                    ret = other;
                    break;
                }
            }
        }
        if let Some(p) = ipipe
            && std::mem::take(&mut st.need_wakeup)
        {
            self.wakeup_pipe_writers(p);
        }
        Poll::Ready(if st.spliced > 0 { Ok(st.spliced) } else { ret })
    }

    /// Drops `n` bytes the output took from the front of the ring.
    fn splice_consumed(
        &mut self,
        ring: &mut dyn PipeBufRing,
        ipipe: Option<PipeId>,
        n: usize,
        st: &mut FromPipe,
    ) {
        if ring.consume(n) > 0 && ipipe.is_some() {
            st.need_wakeup = true;
        }
        st.spliced += n;
    }

    /// `splice_pipe_to_pipe()`: moves whole buffers from one pipe to the
    /// other (the page reference moves with them); a buffer only partly
    /// wanted is shared, a second reference to its page for the output.
    fn splice_pipe_to_pipe(
        &mut self,
        pid: Pid,
        ip: PipeId,
        op: PipeId,
        len: usize,
        flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        let nonblock = flags & SPLICE_F_NONBLOCK != 0;
        // ipipe_prep(): wait for data unless no writer is left.
        let i = self.pipe(ip);
        if i.ring.is_empty() && i.writers > 0 {
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            self.pipe_sleep(pid, ip, PipeWq::Rd, false);
            return Poll::Pending;
        }
        // opipe_prep(): wait for room while a reader is left.
        let o = self.pipe(op);
        if o.ring.is_full() {
            if o.readers == 0 {
                return Poll::Ready(Err(Errno::EPIPE));
            }
            if nonblock {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            self.pipe_sleep(pid, op, PipeWq::Wr, false);
            return Poll::Pending;
        }
        if self.pipe(op).readers == 0 {
            return Poll::Ready(Err(Errno::EPIPE));
        }
        let host = self.task(pid).host;
        let (ret, refs, input_wakeup) = self.with_pipe_ring(ip, |w, iring| {
            w.with_pipe_ring(op, |_w, oring| {
                let (mut ret, mut refs, mut moved_whole) = (0usize, 0u64, false);
                let mut left = len;
                while left > 0 && !oring.is_full() {
                    let whole = iring.buf(0).is_some_and(|b| left >= b.len);
                    let Some(buf) = iring.splice_out(left) else {
                        break;
                    };
                    let n = buf.len;
                    if oring.push(buf).is_err() {
                        break;
                    }
                    if whole {
                        moved_whole = true;
                    } else {
                        refs += 1;
                    }
                    left -= n.min(left);
                    ret += n;
                }
                (ret, refs, moved_whole)
            })
        });
        self.costs(host).pages_referenced += refs;
        if ret > 0 {
            self.wakeup_pipe_readers(op);
        }
        if input_wakeup {
            self.wakeup_pipe_writers(ip);
        }
        Poll::Ready(Ok(ret))
    }

    /// `splice_direct_to_actor()` for `sendfile()` to anything but a pipe:
    /// through the private ring, a pipe's worth at a time. Returns the
    /// bytes sent; a short send stops it, with the input position set
    /// after what was sent.
    pub(crate) fn do_splice_direct(
        &mut self,
        pid: Pid,
        fin: FileId,
        pos: &mut u64,
        fout: FileId,
        out_pos: &mut u64,
        st: &mut DirectState,
    ) -> Poll<Result<usize, Errno>> {
        if self.files[&fout].flags & O_APPEND != 0 || !self.files[&fin].seekable() {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        loop {
            if !st.in_actor {
                if st.len == 0 {
                    break;
                }
                st.prev_pos = *pos;
                let mut ring = st.ring.take().unwrap_or_else(|| self.new_pipe_ring());
                let r = self.do_splice_read(pid, fin, pos, ring.as_mut(), st.len, 0);
                st.ring = Some(ring);
                match r {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(n)) if n > 0 => {
                        st.read_len = n;
                        st.in_actor = true;
                        st.actor = FromPipe::default();
                    }
                    // read_failure: end of file, or an error.
                    Poll::Ready(r) => {
                        st.clear_ring();
                        return Poll::Ready(if st.bytes > 0 { Ok(st.bytes) } else { r });
                    }
                }
            }
            let mut ring = st.ring.take().unwrap_or_else(|| self.new_pipe_ring());
            let r = self.do_splice_from(
                pid,
                ring.as_mut(),
                None,
                fout,
                out_pos,
                st.read_len,
                0,
                &mut st.actor,
            );
            st.ring = Some(ring);
            let Poll::Ready(r) = r else {
                return Poll::Pending;
            };
            st.in_actor = false;
            match r {
                Ok(n) if n > 0 => {
                    st.bytes += n;
                    st.len -= n.min(st.len);
                    if n < st.read_len {
                        *pos = st.prev_pos + n as u64;
                        st.clear_ring();
                        break;
                    }
                }
                other => {
                    *pos = st.prev_pos;
                    st.clear_ring();
                    return Poll::Ready(if st.bytes > 0 { Ok(st.bytes) } else { other });
                }
            }
        }
        Poll::Ready(Ok(st.bytes))
    }

    /// `vmsplice(fd, iov, nr_segs, flags)`: on a pipe's write end, puts
    /// references to the process's pages in the pipe (as many buffers as
    /// are free, after waiting for one); on a read end, copies from the
    /// pipe into them.
    pub(crate) fn sys_vmsplice(
        &mut self,
        pid: Pid,
        fd: i32,
        iov: &[UserSlice<'_>],
        flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        if flags & !SPLICE_F_ALL != 0 {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        let file = match self.task(pid).files.get(fd) {
            Ok(f) => f,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let f = &self.files[&file];
        let to_pipe = if f.writable() {
            true
        } else if f.readable() {
            false
        } else {
            return Poll::Ready(Err(Errno::EBADF));
        };
        if iov.len() > UIO_MAXIOV {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        if iov.iter().all(UserSlice::is_empty) {
            return Poll::Ready(Ok(0));
        }
        let Some(id) = self.pipe_of_file(file) else {
            return Poll::Ready(Err(Errno::EBADF));
        };
        if to_pipe {
            self.vmsplice_to_pipe(pid, id, iov, flags)
        } else {
            self.vmsplice_to_user(pid, id, iov, flags)
        }
    }

    /// `vmsplice_to_pipe()` → `iter_to_pipe()`: one buffer per user page
    /// piece (`user_page_pipe_buf_ops`), until the pipe is full.
    fn vmsplice_to_pipe(
        &mut self,
        pid: Pid,
        id: PipeId,
        iov: &[UserSlice<'_>],
        flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        if let Some(r) = self.wait_for_space(pid, id, flags) {
            return r;
        }
        let gift = flags & SPLICE_F_GIFT != 0;
        let (mut total, mut refs) = (0usize, 0u64);
        let ring = &mut self.pipe_mut(id).ring;
        'iov: for slice in iov {
            for (page, offset, len) in slice.get_pages() {
                if ring.is_full() {
                    break 'iov;
                }
                let mut buf = PipeBuffer::of_page(page, offset, len, BufOps::User);
                if gift {
                    buf.flags |= PIPE_BUF_FLAG_GIFT;
                }
                if ring.push(buf).is_err() {
                    break 'iov;
                }
                total += len;
                refs += 1;
            }
        }
        let host = self.task(pid).host;
        self.costs(host).pages_referenced += refs;
        self.trace(host, Layer::Vfs, |w| {
            format!(
                "vmsplice_to_pipe: {total} B of user memory put in pipe:[{}] as {refs} page references, nothing copied",
                w.pipe(id).ino
            )
        });
        self.wakeup_pipe_readers(id);
        Poll::Ready(Ok(total))
    }

    /// `vmsplice_to_user()`: a plain copy out of the pipe (`pipe_to_user()`),
    /// waiting for data like a splice from the pipe.
    fn vmsplice_to_user(
        &mut self,
        pid: Pid,
        id: PipeId,
        iov: &[UserSlice<'_>],
        flags: u32,
    ) -> Poll<Result<usize, Errno>> {
        let p = self.pipe(id);
        if p.ring.is_empty() {
            if p.writers == 0 {
                return Poll::Ready(Ok(0));
            }
            if flags & SPLICE_F_NONBLOCK != 0 {
                return Poll::Ready(Err(Errno::EAGAIN));
            }
            self.pipe_sleep(pid, id, PipeWq::Rd, false);
            return Poll::Pending;
        }
        let mut done = 0;
        let mut freed = false;
        let ring = &mut self.pipe_mut(id).ring;
        for slice in iov {
            let mut at = 0;
            while at < slice.len() {
                let Some(front) = ring.buf(0) else { break };
                let n = front.len.min(slice.len() - at);
                let mut bytes = vec![0u8; n];
                let _ = front.page.read(front.offset, &mut bytes);
                slice.write_at(at, &bytes);
                freed |= ring.consume(n) > 0;
                if n == 0 {
                    break;
                }
                at += n;
                done += n;
            }
        }
        let host = self.task(pid).host;
        self.costs(host).copied_to_user += done as u64;
        if freed {
            self.wakeup_pipe_writers(id);
        }
        Poll::Ready(Ok(done))
    }
}

#[cfg(test)]
mod tests;
