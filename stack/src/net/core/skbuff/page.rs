//! Pages and page fragments: where the non-linear part of an skb lives.
//!
//! Models `struct page` with its reference count (`get_page`, `put_page`,
//! `page_count`, `include/linux/mm.h`) and `skb_frag_t` (`struct
//! skb_frag`: a page, an offset and a length, `include/linux/skbuff.h`).
//! A NIC driver DMAs a frame into a page and hangs it off an skb with
//! `skb_add_rx_frag()`; zero-copy send does the same with user pages. The
//! page is freed when its last reference goes, whichever skb (or the
//! driver, or the process) held it.
//!
//! Simplified: a page is always 4096 bytes and order 0; there are no
//! compound pages, no page pool recycling and no `netmem`. The reference
//! count is an `Rc` count, so "freed exactly when the last reference drops"
//! is Rust's own drop, and [`Page::page_count`] shows it.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::SkbError;
use super::truesize::PAGE_SIZE;

/// A page of memory, shared by reference count.
///
/// Cloning a `Page` is `get_page()`: a new reference to the same memory,
/// not a copy. Writes through any reference are seen through all of them,
/// as in the kernel; that is exactly why zero-copy send must not let the
/// process touch a page until the NIC is done with it.
pub struct Page {
    // Cells rather than a RefCell: the memory is shared and mutable, and a
    // byte-wise Cell can never fail a borrow, so no access can panic.
    mem: Rc<[Cell<u8>]>,
}

impl Page {
    /// `alloc_page()`: a zeroed page with one reference.
    pub fn alloc() -> Page {
        Page {
            mem: (0..PAGE_SIZE).map(|_| Cell::new(0)).collect(),
        }
    }

    /// `get_page()`: take another reference.
    pub fn get_page(&self) -> Page {
        Page {
            mem: Rc::clone(&self.mem),
        }
    }

    /// `page_count()`: how many references exist (skbs' frags, the driver,
    /// the test holding it).
    pub fn page_count(&self) -> usize {
        Rc::strong_count(&self.mem)
    }

    /// Whether two references name the same page.
    pub fn same_page(&self, other: &Page) -> bool {
        Rc::ptr_eq(&self.mem, &other.mem)
    }

    /// Writes `bytes` at `offset`, as a DMA engine or `memcpy` into the page.
    pub fn write(&self, offset: usize, bytes: &[u8]) -> Result<(), SkbError> {
        let cells = self.range(offset, bytes.len())?;
        for (cell, &b) in cells.iter().zip(bytes) {
            cell.set(b);
        }
        Ok(())
    }

    /// Reads `out.len()` bytes starting at `offset`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SkbError> {
        let cells = self.range(offset, out.len())?;
        for (o, cell) in out.iter_mut().zip(cells) {
            *o = cell.get();
        }
        Ok(())
    }

    fn range(&self, offset: usize, len: usize) -> Result<&[Cell<u8>], SkbError> {
        offset
            .checked_add(len)
            .and_then(|end| self.mem.get(offset..end))
            .ok_or(SkbError::BadFrag { offset, len })
    }
}

/// A handle on a page that does not hold it: how the simulation watches
/// the user pages of a zero-copy send without keeping them pinned.
#[derive(Clone, Debug)]
pub(crate) struct WeakPage(std::rc::Weak<[Cell<u8>]>);

impl WeakPage {
    /// `page_count()` of the page: 0 once it is gone.
    pub(crate) fn page_count(&self) -> usize {
        self.0.strong_count()
    }
}

impl Page {
    /// A handle that does not count as a reference.
    pub(crate) fn downgrade(&self) -> WeakPage {
        WeakPage(Rc::downgrade(&self.mem))
    }
}

impl Clone for Page {
    /// `get_page()`.
    fn clone(&self) -> Self {
        self.get_page()
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page {{ count: {} }}", self.page_count())
    }
}

/// `skb_frag_t`: `len` bytes at `offset` in `page`. Holding one holds a
/// reference to the page.
#[derive(Clone, Debug)]
pub struct PageFrag {
    page: Page,
    offset: usize,
    len: usize,
}

impl PageFrag {
    /// A fragment; fails if it would reach past the end of the page.
    pub fn new(page: Page, offset: usize, len: usize) -> Result<PageFrag, SkbError> {
        match offset.checked_add(len) {
            Some(end) if end <= PAGE_SIZE => Ok(PageFrag { page, offset, len }),
            _ => Err(SkbError::BadFrag { offset, len }),
        }
    }

    /// `skb_frag_page()`.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// `skb_frag_off()`.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// `skb_frag_size()`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the fragment holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads `out.len()` bytes starting `at` bytes into the fragment.
    pub(crate) fn read(&self, at: usize, out: &mut [u8]) -> Result<(), SkbError> {
        match at.checked_add(out.len()) {
            Some(end) if end <= self.len => self.page.read(self.offset + at, out),
            _ => Err(SkbError::BadFrag {
                offset: self.offset.saturating_add(at),
                len: out.len(),
            }),
        }
    }

    /// `skb_frag_off_add()` and `skb_frag_size_sub()` together: drop the
    /// first `n` bytes, as `__pskb_pull_tail()` does to a partly eaten frag.
    pub(crate) fn advance(&mut self, n: usize) {
        let n = n.min(self.len);
        self.offset += n;
        self.len -= n;
    }

    /// `skb_frag_size_set()` to something smaller, as a trim does.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// The bytes of a run of fragments, in order (a copy, for a consumer that
/// needs them linear).
pub(crate) fn frags_to_vec(frags: &[PageFrag]) -> Vec<u8> {
    let mut out = vec![0u8; frags.iter().map(PageFrag::len).sum()];
    let mut at = 0;
    for f in frags {
        // In range: each fragment reads exactly its own length.
        let _ = f.read(0, &mut out[at..at + f.len()]);
        at += f.len();
    }
    out
}
