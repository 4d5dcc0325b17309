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

use stack::errno::Errno;
use stack::pipe_ring::{PIPE_BUF_FLAG_CAN_MERGE, PIPE_BUF_FLAG_GIFT, PipeBufOps, PipeBuffer};
use stack::skbuff::{PAGE_SIZE, Page};

/// `PIPE_DEF_BUFFERS`: a new pipe has 16 slots.
pub const PIPE_DEF_BUFFERS: usize = 16;

/// The ring: `ring_size` slots (a power of two), `max_usage` of them
/// usable, buffers from `tail` (oldest) to `head`.
#[derive(Debug)]
pub struct PipeRing {
    bufs: Vec<Option<PipeBuffer>>,
    head: u32,
    tail: u32,
    max_usage: usize,
}

/// `ring_size` for `slots`: at least one, a power of two.
fn ring_size(slots: usize) -> usize {
    slots.max(1).next_power_of_two()
}

impl PipeRing {
    /// A ring of `slots` usable slots (a power of two; any other number
    /// is rounded up to one), empty, `head == tail == 0`.
    pub fn new(slots: usize) -> PipeRing {
        PipeRing::starting_at(slots, 0)
    }

    /// As [`PipeRing::new`], with `head == tail == index`: where the
    /// counters of a pipe that has seen `index` buffers stand.
    pub fn starting_at(slots: usize, index: u32) -> PipeRing {
        let size = ring_size(slots);
        PipeRing {
            bufs: (0..size).map(|_| None).collect(),
            head: index,
            tail: index,
            max_usage: size,
        }
    }

    /// `pipe->head`: one past the newest buffer.
    pub fn head(&self) -> u32 {
        self.head
    }

    /// `pipe->tail`: the oldest buffer.
    pub fn tail(&self) -> u32 {
        self.tail
    }

    /// `pipe->max_usage`.
    pub fn max_usage(&self) -> usize {
        self.max_usage
    }

    /// `pipe_resize_ring()`: `EBUSY` if more than `slots` buffers are in
    /// use; otherwise the buffers move, oldest first, to a new array of
    /// `slots` (rounded up to a power of two) and are renumbered from 0
    /// (`tail = 0`, `head = occupancy`).
    pub fn set_max_usage(&mut self, slots: usize) -> Result<(), Errno> {
        let n = self.occupancy();
        if slots < n {
            return Err(Errno::EBUSY);
        }
        let size = ring_size(slots);
        let mut bufs: Vec<Option<PipeBuffer>> = (0..size).map(|_| None).collect();
        for (i, slot) in bufs.iter_mut().enumerate().take(n) {
            *slot = self.slot_mut(self.tail.wrapping_add(i as u32)).take();
        }
        self.bufs = bufs;
        self.tail = 0;
        self.head = n as u32;
        self.max_usage = size;
        Ok(())
    }

    /// `pipe_occupancy()`: buffers in use (a wrapping difference).
    pub fn occupancy(&self) -> usize {
        self.head.wrapping_sub(self.tail) as usize
    }

    /// `pipe_empty()`.
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// `pipe_full()`: counted in slots, never in bytes.
    pub fn is_full(&self) -> bool {
        self.occupancy() >= self.max_usage
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (0..self.occupancy())
            .filter_map(|n| self.buf(n))
            .map(|b| b.len)
            .sum()
    }

    /// The buffer `n` places after the oldest, if there is one.
    pub fn buf(&self, n: usize) -> Option<&PipeBuffer> {
        if n >= self.occupancy() {
            return None;
        }
        self.bufs[self.index(self.tail.wrapping_add(n as u32))].as_ref()
    }

    /// The copying part of `pipe_write()` (see the module's doc): merge
    /// the first `bytes.len() % PAGE_SIZE` bytes into the newest buffer if
    /// `merge`, it is mergeable and they all fit; then a fresh mergeable
    /// anonymous page per `PAGE_SIZE` bytes while a slot is free. Returns
    /// the bytes taken.
    pub fn write(&mut self, bytes: &[u8], merge: bool) -> usize {
        let mut done = 0;
        let chars = bytes.len() % PAGE_SIZE;
        if merge && chars > 0 && !self.is_empty() {
            let newest = self.head.wrapping_sub(1);
            if let Some(last) = self.slot_mut(newest).as_mut()
                && last.flags & PIPE_BUF_FLAG_CAN_MERGE != 0
                && last.offset + last.len + chars <= PAGE_SIZE
            {
                let _ = last.page.write(last.offset + last.len, &bytes[..chars]);
                last.len += chars;
                done = chars;
            }
        }
        while done < bytes.len() && !self.is_full() {
            let n = (bytes.len() - done).min(PAGE_SIZE);
            let page = Page::alloc();
            let _ = page.write(0, &bytes[done..done + n]);
            self.add(PipeBuffer {
                page,
                offset: 0,
                len: n,
                ops: PipeBufOps::Anon,
                flags: PIPE_BUF_FLAG_CAN_MERGE,
            });
            done += n;
        }
        done
    }

    /// A spliced buffer: its page reference moves into the ring; nothing
    /// is copied. A full ring hands it back.
    pub fn push(&mut self, buf: PipeBuffer) -> Result<(), PipeBuffer> {
        if self.is_full() {
            return Err(buf);
        }
        self.add(buf);
        Ok(())
    }

    /// The copying part of `pipe_read()`: up to `out.len()` bytes, oldest
    /// first, releasing each buffer emptied. Returns the bytes copied.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let mut done = 0;
        while done < out.len() {
            let tail = self.tail;
            let Some(front) = self.slot_mut(tail).as_mut() else {
                break;
            };
            let n = front.len.min(out.len() - done);
            let _ = front.page.read(front.offset, &mut out[done..done + n]);
            front.offset += n;
            front.len -= n;
            done += n;
            if front.len == 0 {
                self.release_tail();
            }
        }
        done
    }

    /// Drops `n` bytes from the front, releasing the buffers emptied;
    /// returns how many were released.
    pub fn consume(&mut self, mut n: usize) -> usize {
        let mut released = 0;
        while n > 0 {
            let tail = self.tail;
            let Some(front) = self.slot_mut(tail).as_mut() else {
                break;
            };
            let k = n.min(front.len);
            front.offset += k;
            front.len -= k;
            n -= k;
            if front.len == 0 {
                self.release_tail();
                released += 1;
            }
        }
        released
    }

    /// `splice_pipe_to_pipe()`'s step: the oldest buffer whole (its
    /// reference moves out, its slot is freed) if `len` covers it; else a
    /// second reference to its first `len` bytes, neither mergeable nor a
    /// gift, the ring's buffer keeping the rest.
    pub fn splice_out(&mut self, len: usize) -> Option<PipeBuffer> {
        if len == 0 {
            return None;
        }
        let tail = self.tail;
        let front = self.slot_mut(tail).as_mut()?;
        if len >= front.len {
            let whole = self.slot_mut(tail).take();
            self.tail = self.tail.wrapping_add(1);
            return whole;
        }
        let mut shared = front.clone();
        shared.len = len;
        shared.flags &= !(PIPE_BUF_FLAG_CAN_MERGE | PIPE_BUF_FLAG_GIFT);
        front.offset += len;
        front.len -= len;
        Some(shared)
    }

    /// Releases every buffer.
    pub fn clear(&mut self) {
        while !self.is_empty() {
            self.release_tail();
        }
    }

    /// `bufs[i & (ring_size - 1)]`'s position.
    fn index(&self, i: u32) -> usize {
        i as usize & (self.bufs.len() - 1)
    }

    fn slot_mut(&mut self, i: u32) -> &mut Option<PipeBuffer> {
        let at = self.index(i);
        &mut self.bufs[at]
    }

    /// Puts a buffer at `head` (`pipe->head++`); the caller checked room.
    fn add(&mut self, buf: PipeBuffer) {
        let head = self.head;
        *self.slot_mut(head) = Some(buf);
        self.head = self.head.wrapping_add(1);
    }

    /// `pipe_buf_release()` of the oldest buffer and `pipe->tail++`: the
    /// slot is emptied, so its page reference goes now.
    fn release_tail(&mut self) {
        let tail = self.tail;
        *self.slot_mut(tail) = None;
        self.tail = self.tail.wrapping_add(1);
    }
}
