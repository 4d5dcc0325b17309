//! The pipe's ring of page references (`struct pipe_inode_info`'s `bufs`,
//! `head`, `tail`, `ring_size`, `max_usage`; `include/linux/pipe_fs_i.h`,
//! `fs/pipe.c`).
//!
//! A pipe holds no bytes of its own: it holds up to `max_usage`
//! `pipe_buffer`s, each a reference to a page plus an offset and a length.
//! `head` and `tail` are free-running 32-bit counters: a buffer is added
//! at `bufs[head & (ring_size - 1)]` and `head` grows; the oldest is
//! `bufs[tail & (ring_size - 1)]`. They wrap at 2^32, which is harmless as
//! long as every comparison is a wrapping difference (`pipe_occupancy()`
//! is `head - tail` in `unsigned int`).
//!
//! Two ways in:
//! - `write()` copies (`copy_page_from_iter()` in `pipe_write()`): its
//!   first `len % PAGE_SIZE` bytes top up the newest buffer when that one
//!   was also filled by `write()` (`PIPE_BUF_FLAG_CAN_MERGE`) and all of
//!   them fit; the rest go in fresh pages, one buffer per page. So a write
//!   of at most `PIPE_BUF` bytes is never split: atomic.
//! - `splice()`/`vmsplice()` push a reference to a page someone else holds
//!   (the page cache, a socket's skb, the process): no copy, the page's
//!   count goes up by the buffer's reference, and such a buffer is never
//!   merged into: a `write()` appending to a page-cache page would write
//!   into the file (CVE-2022-0847, "Dirty Pipe", was exactly that).
//!
//! Two ways out: `read()` copies and releases each buffer it empties
//! (`pipe_buf_release()`: the page reference is dropped then, not later);
//! a splice out moves references on (`splice_pipe_to_pipe()`).

// The stack compiles this file as one of its own modules: name the lab's
// types with `super::` and the stack's with `stack::`, never `crate::`.

// The skeleton leaves everything unused; delete this line when you are done.
#![allow(unused_variables, unused_imports, dead_code)]

use stack::errno::Errno;
use stack::pipe_ring::{PIPE_BUF_FLAG_CAN_MERGE, PIPE_BUF_FLAG_GIFT, PipeBufOps, PipeBuffer};
use stack::skbuff::{PAGE_SIZE, Page};

/// `PIPE_DEF_BUFFERS`: a new pipe has 16 slots.
pub const PIPE_DEF_BUFFERS: usize = 16;

/// The ring: `ring_size` slots (a power of two), `max_usage` of them
/// usable, buffers from `tail` (oldest) to `head`. (The fields are a
/// suggestion: change them as you like.)
#[derive(Debug)]
pub struct PipeRing {
    bufs: Vec<Option<PipeBuffer>>,
    head: u32,
    tail: u32,
    max_usage: usize,
}

impl PipeRing {
    /// A ring of `slots` usable slots (a power of two; any other number
    /// is rounded up to one), empty, `head == tail == 0`.
    pub fn new(slots: usize) -> PipeRing {
        todo!(
            "the zerocopy lab: PipeRing::new is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// As [`PipeRing::new`], with `head == tail == index`: where the
    /// counters of a pipe that has seen `index` buffers stand.
    pub fn starting_at(slots: usize, index: u32) -> PipeRing {
        todo!(
            "the zerocopy lab: PipeRing::starting_at is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe->head`: one past the newest buffer.
    pub fn head(&self) -> u32 {
        todo!(
            "the zerocopy lab: PipeRing::head is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe->tail`: the oldest buffer.
    pub fn tail(&self) -> u32 {
        todo!(
            "the zerocopy lab: PipeRing::tail is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe->max_usage`.
    pub fn max_usage(&self) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::max_usage is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe_resize_ring()`: `EBUSY` if more than `slots` buffers are in
    /// use; otherwise the buffers move, oldest first, to a new array of
    /// `slots` (rounded up to a power of two) and are renumbered from 0
    /// (`tail = 0`, `head = occupancy`).
    pub fn set_max_usage(&mut self, slots: usize) -> Result<(), Errno> {
        todo!(
            "the zerocopy lab: PipeRing::set_max_usage is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe_occupancy()`: buffers in use (a wrapping difference).
    pub fn occupancy(&self) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::occupancy is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe_empty()`.
    pub fn is_empty(&self) -> bool {
        todo!(
            "the zerocopy lab: PipeRing::is_empty is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `pipe_full()`: counted in slots, never in bytes.
    pub fn is_full(&self) -> bool {
        todo!(
            "the zerocopy lab: PipeRing::is_full is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::bytes is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// The buffer `n` places after the oldest, if there is one.
    pub fn buf(&self, n: usize) -> Option<&PipeBuffer> {
        todo!(
            "the zerocopy lab: PipeRing::buf is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// The copying part of `pipe_write()` (see the module's doc): merge
    /// the first `bytes.len() % PAGE_SIZE` bytes into the newest buffer if
    /// `merge`, it is mergeable and they all fit; then a fresh mergeable
    /// anonymous page per `PAGE_SIZE` bytes while a slot is free. Returns
    /// the bytes taken.
    pub fn write(&mut self, bytes: &[u8], merge: bool) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::write is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// A spliced buffer: its page reference moves into the ring; nothing
    /// is copied. A full ring hands it back.
    pub fn push(&mut self, buf: PipeBuffer) -> Result<(), PipeBuffer> {
        todo!(
            "the zerocopy lab: PipeRing::push is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// The copying part of `pipe_read()`: up to `out.len()` bytes, oldest
    /// first, releasing each buffer emptied. Returns the bytes copied.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::read is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// Drops `n` bytes from the front, releasing the buffers emptied;
    /// returns how many were released.
    pub fn consume(&mut self, n: usize) -> usize {
        todo!(
            "the zerocopy lab: PipeRing::consume is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// `splice_pipe_to_pipe()`'s step: the oldest buffer whole (its
    /// reference moves out, its slot is freed) if `len` covers it; else a
    /// second reference to its first `len` bytes, neither mergeable nor a
    /// gift, the ring's buffer keeping the rest.
    pub fn splice_out(&mut self, len: usize) -> Option<PipeBuffer> {
        todo!(
            "the zerocopy lab: PipeRing::splice_out is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }

    /// Releases every buffer.
    pub fn clear(&mut self) {
        todo!(
            "the zerocopy lab: PipeRing::clear is yours to write, in labs/zerocopy/src/pipe_ring.rs"
        )
    }
}
