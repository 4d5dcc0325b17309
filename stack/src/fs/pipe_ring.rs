//! The ring of a pipe: `pipe->bufs`, `pipe->head`, `pipe->tail` and
//! `pipe->max_usage` (`struct pipe_inode_info` and `struct pipe_buffer`,
//! `include/linux/pipe_fs_i.h`), with the operations `fs/pipe.c` and
//! `fs/splice.c` perform on it.
//!
//! [`PipeBufRing`] is the shape of that component; the stack's own
//! [`PipeRing`] is the zerocopy lab's reference solution
//! (`labs/zerocopy/solution/src/pipe_ring.rs`), compiled here, and in the
//! students' repository their own `labs/zerocopy/src/pipe_ring.rs`. A [`crate::sim::Sim`] can be told to build
//! every pipe's ring (and `sendfile()`'s private one) from any
//! implementation ([`crate::sim::Sim::set_pipe_ring`]), so a student's ring
//! runs inside the full stack. Everything around the ring stays in
//! [`crate::fs::pipe`] and [`crate::fs::splice`]: the fds, readers and writers,
//! wait queues, blocking, the page cache, the sockets and the cost
//! counters, which charge `copy_from_user` with what [`PipeBufRing::write`]
//! took and `copy_to_user` with what [`PipeBufRing::read`] gave.
//!
//! A part of `fs/pipe.c` (`struct pipe_inode_info`'s ring) in its own
//! module because it is the zerocopy lab's component.

use std::fmt;

use crate::net::core::skbuff::{Page, PageFrag};
use crate::uapi::errno::Errno;

/// `PIPE_BUF_FLAG_GIFT`: `vmsplice(SPLICE_F_GIFT)` gave the page away.
pub const PIPE_BUF_FLAG_GIFT: u32 = 0x04;
/// `PIPE_BUF_FLAG_CAN_MERGE`: a later `write()` may append to the buffer.
/// Only `pipe_write()` sets it, on pages it allocated itself.
pub const PIPE_BUF_FLAG_CAN_MERGE: u32 = 0x10;

/// Where a buffer's page came from: which `pipe_buf_operations` it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeBufOps {
    /// `anon_pipe_buf_ops`: a page `pipe_write()` allocated and copied into.
    Anon,
    /// `page_cache_pipe_buf_ops`: a page of a file's page cache.
    PageCache,
    /// `user_page_pipe_buf_ops`: a process's own page, from `vmsplice()`.
    User,
    /// `nosteal_pipe_buf_ops`: a page from a socket's receive queue.
    Socket,
    /// `default_pipe_buf_ops`: a page the kernel filled by copying
    /// (`copy_splice_read()`, an skb's linear part).
    Copied,
}

/// `struct pipe_buffer`: `len` bytes at `offset` in `page`. Holding one
/// holds a reference to the page.
#[derive(Clone, Debug)]
pub struct PipeBuffer {
    /// The page (a reference to it: cloning the buffer is `pipe_buf_get()`).
    pub page: Page,
    /// Where the buffer's bytes start in the page.
    pub offset: usize,
    /// How many bytes it holds.
    pub len: usize,
    /// Its `pipe_buf_operations`.
    pub ops: PipeBufOps,
    /// `PIPE_BUF_FLAG_*`.
    pub flags: u32,
}

impl PipeBuffer {
    /// A buffer referencing a page another part of the kernel already
    /// holds (the page reference passes to the buffer); never mergeable.
    pub fn of_page(page: Page, offset: usize, len: usize, ops: PipeBufOps) -> PipeBuffer {
        PipeBuffer {
            page,
            offset,
            len,
            ops,
            flags: 0,
        }
    }

    /// `pipe_buf_can_merge()`.
    pub fn can_merge(&self) -> bool {
        self.flags & PIPE_BUF_FLAG_CAN_MERGE != 0
    }

    /// The buffer's first `len` bytes (at most its length) as a page
    /// fragment, taking a page reference (`get_page()`): how a buffer's
    /// page is handed on without a copy.
    pub fn frag(&self, len: usize) -> Option<PageFrag> {
        PageFrag::new(self.page.get_page(), self.offset, len.min(self.len)).ok()
    }
}

/// The ring of `pipe_buffer`s of one pipe.
///
/// Capacity is counted in buffers (slots), not bytes: `max_usage` slots,
/// 16 (`PIPE_DEF_BUFFERS`) for a new pipe. Every method that frees a slot
/// drops that buffer's page reference then (`pipe_buf_release()`), not
/// later.
pub trait PipeBufRing: fmt::Debug {
    /// `pipe->max_usage`: how many slots may hold a buffer.
    fn max_usage(&self) -> usize;

    /// `pipe_resize_ring()` (`F_SETPIPE_SZ`): `EBUSY` if more than `slots`
    /// buffers are in use; otherwise the ring has `slots` slots.
    fn set_max_usage(&mut self, slots: usize) -> Result<(), Errno>;

    /// `pipe_occupancy()`: buffers in use.
    fn occupancy(&self) -> usize;

    /// `pipe_empty()`.
    fn is_empty(&self) -> bool;

    /// `pipe_full()`: every usable slot holds a buffer.
    fn is_full(&self) -> bool;

    /// Bytes held (what `FIONREAD` reports).
    fn bytes(&self) -> usize;

    /// The buffer `n` places after the oldest (`pipe->bufs[(tail + n) &
    /// mask]`), without taking it.
    fn buf(&self, n: usize) -> Option<&PipeBuffer>;

    /// The copying part of `pipe_write()`: if `merge` (the start of a
    /// `write()` call) and the ring is not empty, the first `bytes.len() %
    /// PAGE_SIZE` bytes are appended to the newest buffer when it has
    /// `PIPE_BUF_FLAG_CAN_MERGE` and room for all of them; then a fresh
    /// page per `PAGE_SIZE` bytes, each a new mergeable anonymous buffer,
    /// while a slot is free. Returns the bytes taken (`copy_from_user`).
    fn write(&mut self, bytes: &[u8], merge: bool) -> usize;

    /// A buffer referencing a page (splice, vmsplice): its reference moves
    /// into the ring and nothing is copied. A full ring hands it back.
    fn push(&mut self, buf: PipeBuffer) -> Result<(), PipeBuffer>;

    /// The copying part of `pipe_read()`: up to `out.len()` bytes from the
    /// oldest buffers into `out`, releasing each buffer it empties. Returns
    /// the bytes copied (`copy_to_user`).
    fn read(&mut self, out: &mut [u8]) -> usize;

    /// Drops `n` bytes from the front (what a splice out of the pipe
    /// handed on), releasing the buffers emptied; returns how many.
    fn consume(&mut self, n: usize) -> usize;

    /// The oldest buffer, for `splice_pipe_to_pipe()`: taken out whole
    /// (its page reference moves with it, its slot is freed) if `len`
    /// covers it; otherwise a second reference (`pipe_buf_get()`) to its
    /// first `len` bytes, neither mergeable nor a gift, while the buffer
    /// in the ring keeps the rest. `None` if the ring is empty or `len` is
    /// 0.
    fn splice_out(&mut self, len: usize) -> Option<PipeBuffer>;

    /// Releases every buffer (`free_pipe_info()`, or an incomplete
    /// `sendfile()` emptying its private pipe).
    fn clear(&mut self);

    /// Free slots (`max_usage - pipe_occupancy()`).
    fn space(&self) -> usize {
        self.max_usage().saturating_sub(self.occupancy())
    }
}

/// The buffers of a ring, oldest first.
pub fn bufs(ring: &dyn PipeBufRing) -> impl Iterator<Item = &PipeBuffer> {
    (0..).map_while(move |n| ring.buf(n))
}

/// Builds the ring of a new pipe.
pub type PipeRingFactory = fn() -> Box<dyn PipeBufRing>;

/// `impl PipeBufRing for $ring` by calling the inherent methods of the
/// same names: how the zerocopy lab's `PipeRing` (its reference solution
/// in the stack, the student's own in the lab crate) becomes a
/// [`PipeBufRing`] without a second copy of the forwarding.
#[macro_export]
macro_rules! impl_pipe_buf_ring {
    ($ring:ty) => {
        impl $crate::fs::pipe_ring::PipeBufRing for $ring {
            fn max_usage(&self) -> usize {
                <$ring>::max_usage(self)
            }

            fn set_max_usage(&mut self, slots: usize) -> Result<(), $crate::uapi::errno::Errno> {
                <$ring>::set_max_usage(self, slots)
            }

            fn occupancy(&self) -> usize {
                <$ring>::occupancy(self)
            }

            fn is_empty(&self) -> bool {
                <$ring>::is_empty(self)
            }

            fn is_full(&self) -> bool {
                <$ring>::is_full(self)
            }

            fn bytes(&self) -> usize {
                <$ring>::bytes(self)
            }

            fn buf(&self, n: usize) -> Option<&$crate::fs::pipe_ring::PipeBuffer> {
                <$ring>::buf(self, n)
            }

            fn write(&mut self, bytes: &[u8], merge: bool) -> usize {
                <$ring>::write(self, bytes, merge)
            }

            fn push(
                &mut self,
                buf: $crate::fs::pipe_ring::PipeBuffer,
            ) -> Result<(), $crate::fs::pipe_ring::PipeBuffer> {
                <$ring>::push(self, buf)
            }

            fn read(&mut self, out: &mut [u8]) -> usize {
                <$ring>::read(self, out)
            }

            fn consume(&mut self, n: usize) -> usize {
                <$ring>::consume(self, n)
            }

            fn splice_out(&mut self, len: usize) -> Option<$crate::fs::pipe_ring::PipeBuffer> {
                <$ring>::splice_out(self, len)
            }

            fn clear(&mut self) {
                <$ring>::clear(self)
            }
        }
    };
}

/// `PIPE_DEF_BUFFERS`: a new pipe's ring holds 16 buffers (65536 bytes).
pub const PIPE_DEF_BUFFERS: usize = 16;

// The stack's pipe ring is the zerocopy lab's reference solution: one
// source for both. In the students' repository (`grader release`) this
// path is their `labs/zerocopy/src/pipe_ring.rs`, so every pipe, splice and
// sendfile runs on their ring (and stops with the lab's message until it
// is written). The lab's file has a `PIPE_DEF_BUFFERS` of its own; the
// stack keeps its own.
#[allow(dead_code)]
#[path = "../../../labs/zerocopy/solution/src/pipe_ring.rs"]
mod lab_pipe_ring;

/// The ring of buffers (`bufs`, `head`, `tail`, `ring_size`,
/// `max_usage`), apart from the inode's readers, writers and wait queues,
/// so that `sendfile()`'s private pipe (`current->splice_pipe`) is the same
/// ring: the zerocopy lab's [`PipeRing`](lab_pipe_ring::PipeRing), a
/// power-of-two array of slots with free-running indices.
///
/// Simplified: `pipe->tmp_page`, the page the kernel keeps from a freed
/// anonymous buffer for the next write, is left out; every buffer a
/// `write()` makes gets a fresh page.
pub use lab_pipe_ring::PipeRing;

impl Default for PipeRing {
    /// A new pipe's ring: [`PIPE_DEF_BUFFERS`] slots.
    fn default() -> PipeRing {
        PipeRing::new(PIPE_DEF_BUFFERS)
    }
}

impl PipeRing {
    /// A ring as the simulation's factory builds it by default.
    pub fn boxed() -> Box<dyn PipeBufRing> {
        Box::<PipeRing>::default()
    }
}

impl_pipe_buf_ring!(PipeRing);
