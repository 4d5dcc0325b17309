//! A process's memory as pages: what `vmsplice()` hands to a pipe
//! (`get_user_pages()` / `iov_iter_get_pages2()`, `mm/gup.c`).
//!
//! A simulated process's ordinary buffers are Rust slices, and every
//! system call copies them. To show what mapping user memory into the
//! kernel means, a [`UserBuf`] is memory made of pages, as an anonymous
//! `mmap()` gives: page-aligned, zero-filled. `vmsplice()` puts
//! *references* to these pages in a pipe, so a reader later sees whatever
//! the process stored there meanwhile: the reason `vmsplice(2)` tells the
//! process not to touch the memory until the data is consumed, and what
//! [`UserBuf::page_count`] makes visible.
//!
//! Simplified: no virtual addresses, no page faults or copy-on-write, no
//! pinning (`FOLL_PIN`); a store through [`UserBuf::write`] is a plain
//! memory write and costs nothing on the counters.
//!
//! Named after what it models, a process's pages, rather than after
//! `mm/gup.c`, which only pins them.

use std::ops::Range;

use crate::net::core::skbuff::{PAGE_SIZE, Page};

/// Page-backed user memory (an anonymous mapping).
#[derive(Debug)]
pub struct UserBuf {
    pages: Vec<Page>,
    len: usize,
}

impl UserBuf {
    /// `len` zeroed bytes starting on a page boundary.
    pub fn new(len: usize) -> UserBuf {
        UserBuf {
            pages: (0..len.div_ceil(PAGE_SIZE))
                .map(|_| Page::alloc())
                .collect(),
            len,
        }
    }

    /// Memory holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> UserBuf {
        let b = UserBuf::new(bytes.len());
        b.write(0, bytes);
        b
    }

    /// The buffer's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `bytes` at `at`, as the process writing its own memory;
    /// what falls past the end is dropped. Returns the bytes stored.
    pub fn write(&self, at: usize, bytes: &[u8]) -> usize {
        let end = at.saturating_add(bytes.len()).min(self.len);
        let mut pos = at;
        while pos < end {
            let (i, off) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - off).min(end - pos);
            // In range: off + n <= PAGE_SIZE.
            let _ = self.pages[i].write(off, &bytes[pos - at..pos - at + n]);
            pos += n;
        }
        end.saturating_sub(at)
    }

    /// The buffer's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len];
        self.slice(0..self.len).read_into(&mut out);
        out
    }

    /// A range of the buffer, as an `iovec` names one (clamped to the
    /// buffer).
    pub fn slice(&self, range: Range<usize>) -> UserSlice<'_> {
        let start = range.start.min(self.len);
        let end = range.end.clamp(start, self.len);
        UserSlice {
            buf: self,
            start,
            len: end - start,
        }
    }

    /// How many references page `index` has: 1 while only the process
    /// maps it, more while pipe buffers or skbs point at it.
    pub fn page_count(&self, index: usize) -> Option<usize> {
        self.pages.get(index).map(Page::page_count)
    }
}

/// `struct iovec`: a range of a [`UserBuf`].
#[derive(Clone, Copy, Debug)]
pub struct UserSlice<'a> {
    buf: &'a UserBuf,
    start: usize,
    len: usize,
}

impl<'a> From<&'a UserBuf> for UserSlice<'a> {
    fn from(buf: &'a UserBuf) -> UserSlice<'a> {
        buf.slice(0..buf.len())
    }
}

impl UserSlice<'_> {
    /// Its length in bytes (`iov_len`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `iov_iter_get_pages2()`: the pages under the range, each with the
    /// offset and length used in it, each a new reference (`get_page()`).
    pub(crate) fn get_pages(&self) -> Vec<(Page, usize, usize)> {
        let mut out = Vec::new();
        let mut pos = self.start;
        let end = self.start + self.len;
        while pos < end {
            let (i, off) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - off).min(end - pos);
            out.push((self.buf.pages[i].get_page(), off, n));
            pos += n;
        }
        out
    }

    /// Copies the range's bytes into `out` (as long as the shorter).
    fn read_into(&self, out: &mut [u8]) {
        let mut done = 0;
        for (page, off, n) in self.get_pages() {
            let n = n.min(out.len() - done);
            let _ = page.read(off, &mut out[done..done + n]);
            done += n;
            if done == out.len() {
                break;
            }
        }
    }

    /// Stores `bytes` at `at` within the range (the kernel writing user
    /// memory: `copy_to_user`); returns the bytes stored.
    pub(crate) fn write_at(&self, at: usize, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.len.saturating_sub(at));
        self.buf.write(self.start + at, &bytes[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_across_pages_yields_one_piece_per_page() {
        let b = UserBuf::from_bytes(&vec![9u8; 3 * PAGE_SIZE]);
        let pieces = b.slice(100..2 * PAGE_SIZE + 50).get_pages();
        let shape: Vec<(usize, usize)> = pieces.iter().map(|(_, o, n)| (*o, *n)).collect();
        assert_eq!(shape, vec![(100, PAGE_SIZE - 100), (0, PAGE_SIZE), (0, 50)]);
        assert_eq!(b.page_count(0), Some(2), "the process's and the piece's");
        drop(pieces);
        assert_eq!(b.page_count(0), Some(1));
    }

    #[test]
    fn writes_are_clamped_and_read_back() {
        let b = UserBuf::new(10);
        assert_eq!(b.write(8, b"abcd"), 2);
        assert_eq!(&b.to_vec()[8..], b"ab");
        assert_eq!(b.slice(5..100).len(), 5);
        assert!(b.slice(20..30).is_empty());
    }
}
