//! The page cache: where a file's bytes live in memory, page by page
//! (`struct address_space`, `mm/filemap.c`).
//!
//! A file's data is a set of pages indexed by their position in the file
//! (`index = pos / PAGE_SIZE`), plus the file's size (`i_size`). Every way
//! of reaching the data goes through these pages:
//!
//! - `read()` copies out of them into the process's buffer
//!   (`filemap_read()` → `copy_page_to_iter()`: a `copy_to_user`);
//! - `write()` copies the process's bytes into them, allocating pages as
//!   the file grows (`generic_perform_write()`: a `copy_from_user`);
//! - `splice()` and `sendfile()` copy nothing: they hand out *references*
//!   to the same pages (`filemap_splice_read()` → `splice_folio_into_pipe()`
//!   takes a `folio_get()` for each pipe buffer).
//!
//! Because a spliced page is the cache's own page, a later `write()` to the
//! file changes what a pipe or a socket still holding that page will
//! deliver: the kernel documents this, and so does the simulation.
//!
//! Simplified: the page cache *is* the file (the files are `ramfs` files,
//! [`crate::fs::ramfs`]): no backing store, no readahead, no writeback, no
//! dirty or uptodate flags, no LRU or reclaim, order-0 pages only (no large
//! folios). A hole (a range never written, below `i_size`) reads as zeros;
//! splicing it puts a zeroed page into the cache, as reading it in would.
//!
//! Named after what it models, `struct address_space`'s pages; the kernel's
//! code for it is `mm/filemap.c`.

use std::collections::BTreeMap;

use crate::net::core::skbuff::{PAGE_SIZE, Page};
use crate::uapi::errno::Errno;

/// `MAX_LFS_FILESIZE` on 64-bit: the largest file position.
pub(crate) const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// `struct address_space`: one file's cached pages and its size.
#[derive(Debug, Default)]
pub(crate) struct AddressSpace {
    /// `i_pages`: page index → page.
    pages: BTreeMap<u64, Page>,
    /// `i_size`.
    size: u64,
}

/// A piece of a page-cache page: what a pipe buffer gets from
/// `filemap_splice_read()`.
#[derive(Debug)]
pub(crate) struct PagePiece {
    pub(crate) page: Page,
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

impl AddressSpace {
    /// `i_size_read()`.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Pages in the cache (`mapping->nrpages`).
    #[cfg(test)]
    pub(crate) fn nr_pages(&self) -> usize {
        self.pages.len()
    }

    /// `filemap_get_folio()`: the cached page at `index`, if any. The
    /// caller clones it (`get_page()`) to keep it.
    pub(crate) fn find_get_page(&self, index: u64) -> Option<&Page> {
        self.pages.get(&index)
    }

    /// `__filemap_get_folio(FGP_CREAT)`: the page at `index`, allocated
    /// (zeroed) if the cache has none.
    fn find_or_create_page(&mut self, index: u64) -> &Page {
        self.pages.entry(index).or_insert_with(Page::alloc)
    }

    /// `filemap_read()`: copies from `pos` into `buf`, stopping at
    /// `i_size`; the bytes copied, 0 at or past the end.
    pub(crate) fn read(&self, pos: u64, buf: &mut [u8]) -> usize {
        if pos >= self.size {
            return 0;
        }
        let n = (self.size - pos).min(buf.len() as u64) as usize;
        let mut done = 0;
        while done < n {
            let at = pos + done as u64;
            let (index, offset) = (at / PAGE_SIZE as u64, (at % PAGE_SIZE as u64) as usize);
            let part = (PAGE_SIZE - offset).min(n - done);
            let out = &mut buf[done..done + part];
            match self.pages.get(&index) {
                // In range by construction: offset + part <= PAGE_SIZE.
                Some(page) => {
                    let _ = page.read(offset, out);
                }
                None => out.fill(0),
            }
            done += part;
        }
        n
    }

    /// `generic_perform_write()`: copies `data` in at `pos`, allocating the
    /// pages it lands on, and grows `i_size`. `EFBIG` past the largest
    /// file position.
    pub(crate) fn write(&mut self, pos: u64, data: &[u8]) -> Result<usize, Errno> {
        let end = pos
            .checked_add(data.len() as u64)
            .filter(|&e| e <= MAX_LFS_FILESIZE)
            .ok_or(Errno::EFBIG)?;
        let mut done = 0;
        while done < data.len() {
            let at = pos + done as u64;
            let (index, offset) = (at / PAGE_SIZE as u64, (at % PAGE_SIZE as u64) as usize);
            let part = (PAGE_SIZE - offset).min(data.len() - done);
            let page = self.find_or_create_page(index);
            let _ = page.write(offset, &data[done..done + part]);
            done += part;
        }
        self.size = self.size.max(end);
        Ok(data.len())
    }

    /// `truncate_inode_pages()` to length 0 (`O_TRUNC`): the pages leave
    /// the cache; one still referenced by a pipe or an skb lives on there.
    pub(crate) fn truncate(&mut self) {
        self.pages.clear();
        self.size = 0;
    }

    /// `filemap_splice_read()` → `splice_folio_into_pipe()`: references to
    /// the cached pages holding up to `len` bytes from `pos`, one piece
    /// per page, at most `max_pieces` of them, stopping at `i_size`. Each
    /// piece holds a new reference to the page (`folio_get()`); nothing
    /// is copied.
    pub(crate) fn splice_pages(
        &mut self,
        pos: u64,
        len: usize,
        max_pieces: usize,
    ) -> Vec<PagePiece> {
        let mut out = Vec::new();
        if pos >= self.size {
            return out;
        }
        let end = pos.saturating_add(len as u64).min(self.size);
        let mut at = pos;
        while at < end && out.len() < max_pieces {
            let (index, offset) = (at / PAGE_SIZE as u64, (at % PAGE_SIZE as u64) as usize);
            let part = ((PAGE_SIZE - offset) as u64).min(end - at) as usize;
            let page = self.find_or_create_page(index).get_page();
            out.push(PagePiece {
                page,
                offset,
                len: part,
            });
            at += part as u64;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_in_pages_and_read_back_across_page_boundaries() {
        let mut m = AddressSpace::default();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(m.write(0, &data), Ok(10_000));
        assert_eq!(m.size(), 10_000);
        assert_eq!(m.nr_pages(), 3);
        let mut back = vec![0u8; 20_000];
        assert_eq!(m.read(0, &mut back), 10_000);
        assert_eq!(&back[..10_000], &data[..]);
        let mut mid = [0u8; 100];
        assert_eq!(m.read(4050, &mut mid), 100);
        assert_eq!(&mid[..], &data[4050..4150]);
        assert_eq!(m.read(10_000, &mut mid), 0);
    }

    #[test]
    fn a_hole_reads_as_zeros() {
        let mut m = AddressSpace::default();
        m.write(3 * PAGE_SIZE as u64 + 5, b"x").unwrap();
        assert_eq!(m.nr_pages(), 1);
        let mut buf = vec![1u8; 10];
        assert_eq!(m.read(100, &mut buf), 10);
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn spliced_pieces_reference_the_cached_pages() {
        let mut m = AddressSpace::default();
        m.write(0, &vec![7u8; 3 * PAGE_SIZE]).unwrap();
        let pieces = m.splice_pages(1000, 3 * PAGE_SIZE, 16);
        let lens: Vec<usize> = pieces.iter().map(|p| p.len).collect();
        assert_eq!(lens, vec![PAGE_SIZE - 1000, PAGE_SIZE, PAGE_SIZE]);
        assert_eq!(pieces[0].offset, 1000);
        let cached = m.find_get_page(0).unwrap();
        assert!(pieces[0].page.same_page(cached));
        // The cache's reference and the piece's.
        assert_eq!(cached.page_count(), 2);
        assert_eq!(m.splice_pages(0, 100_000, 2).len(), 2, "at most max_pieces");
        assert!(
            m.splice_pages(3 * PAGE_SIZE as u64, 10, 16).is_empty(),
            "at EOF"
        );
    }

    #[test]
    fn truncate_drops_the_cache_but_not_pages_held_elsewhere() {
        let mut m = AddressSpace::default();
        m.write(0, b"hello").unwrap();
        let held = m.splice_pages(0, 5, 1).pop().unwrap();
        m.truncate();
        assert_eq!(m.size(), 0);
        assert_eq!(held.page.page_count(), 1);
        let mut out = [0u8; 5];
        held.page.read(0, &mut out).unwrap();
        assert_eq!(&out, b"hello");
    }

    #[test]
    fn efbig_past_the_largest_position() {
        let mut m = AddressSpace::default();
        assert_eq!(m.write(MAX_LFS_FILESIZE, b"x"), Err(Errno::EFBIG));
    }
}
