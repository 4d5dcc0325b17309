//! Paged data: `skb_shinfo(skb)->frags[]` and the operations that read or
//! move it (`skb_add_rx_frag`, `__pskb_pull_tail`, `skb_copy_bits`,
//! `__skb_splice_bits`, `net/core/skbuff.c`).

use super::{MAX_SKB_FRAGS, PAGE_SIZE, Page, PageFrag, SharedData, SkBuff, SkbError};

impl SkBuff {
    /// `skb_shinfo(skb)->nr_frags`.
    pub fn nr_frags(&self) -> usize {
        self.shared.frags.len()
    }

    /// `skb_shinfo(skb)->frags`.
    pub fn frags(&self) -> &[PageFrag] {
        &self.shared.frags
    }

    /// `skb_add_rx_frag()`: append `len` bytes at `offset` in `page` as
    /// paged data. The caller's page reference passes to the skb;
    /// `truesize` is what the driver charges for it (often a half or whole
    /// page, more than `len`).
    pub fn add_rx_frag(
        &mut self,
        page: Page,
        offset: usize,
        len: usize,
        truesize: usize,
    ) -> Result<(), SkbError> {
        if self.nr_frags() >= MAX_SKB_FRAGS {
            return Err(SkbError::TooManyFrags);
        }
        let frag = PageFrag::new(page, offset, len)?;
        self.shared_mut().frags.push(frag);
        self.len += len;
        self.data_len += len;
        self.truesize = self.truesize.saturating_add(truesize);
        Ok(())
    }

    /// Appends a copy of `bytes` as paged data, a fresh page per 4096
    /// bytes, each charged byte for byte: how a send path that copies fills
    /// page fragments on a device that can gather.
    pub(crate) fn add_copied_frags(&mut self, bytes: &[u8]) -> Result<(), SkbError> {
        for chunk in bytes.chunks(super::PAGE_SIZE) {
            let page = Page::alloc();
            page.write(0, chunk)?;
            self.add_rx_frag(page, 0, chunk.len(), chunk.len())?;
        }
        Ok(())
    }

    /// `skb_linearize()`: pull all paged data into the linear buffer
    /// (growing it if needed) and drop the frags. Returns the frag bytes
    /// copied.
    pub fn linearize(&mut self) -> Result<usize, SkbError> {
        if !self.is_nonlinear() {
            return Ok(0);
        }
        self.pskb_pull_tail(self.data_len)
    }

    /// `pskb_may_pull()`: make sure the first `len` bytes are linear, so a
    /// header can be read with [`SkBuff::data`]. False if the packet is
    /// shorter than `len`.
    pub fn pskb_may_pull(&mut self, len: usize) -> bool {
        if len <= self.headlen() {
            return true;
        }
        if len > self.len {
            return false;
        }
        self.pskb_pull_tail(len - self.headlen()).is_ok()
    }

    /// `__pskb_pull_tail()`: move `delta` bytes from the front of the frags
    /// to the tail of the linear part.
    fn pskb_pull_tail(&mut self, delta: usize) -> Result<usize, SkbError> {
        let delta = delta.min(self.data_len);
        let need = self.tail + delta;
        let end = self.end_offset();
        if need > end || self.dataref() > 1 {
            // The kernel asks for 128 bytes of slack so the next pull need
            // not reallocate again.
            let ntail = if need > end { need - end + 128 } else { 0 };
            self.pskb_expand_head(0, ntail)?;
        }
        let tail = self.tail;
        let SharedData { head, frags, .. } = self.shared_mut();
        let mut pos = tail;
        let mut left = delta;
        for f in frags.iter() {
            if left == 0 {
                break;
            }
            let n = f.len().min(left);
            f.read(0, &mut head[pos..pos + n])?;
            pos += n;
            left -= n;
        }
        let mut eat = delta;
        frags.retain_mut(|f| {
            if f.len() <= eat {
                eat -= f.len();
                false
            } else {
                f.advance(eat);
                eat = 0;
                true
            }
        });
        self.tail += delta;
        self.data_len -= delta;
        Ok(delta)
    }

    /// `skb_copy_bits()`: copy `out.len()` bytes starting `offset` bytes
    /// after `data`, across the linear part and the frags, as copying a
    /// datagram to user space does.
    pub fn copy_bits(&self, offset: usize, out: &mut [u8]) -> Result<(), SkbError> {
        let len = out.len();
        if offset.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(SkbError::OutOfRange {
                offset,
                len,
                skb_len: self.len,
            });
        }
        let headlen = self.headlen();
        let mut copied = 0;
        let mut pos = offset;
        if pos < headlen {
            let n = (headlen - pos).min(len);
            let from = self.data + pos;
            out[..n].copy_from_slice(&self.shared.head[from..from + n]);
            copied = n;
            pos += n;
        }
        let mut frag_start = headlen;
        for f in &self.shared.frags {
            if copied == len {
                break;
            }
            let frag_end = frag_start + f.len();
            if pos < frag_end {
                let n = (frag_end - pos).min(len - copied);
                f.read(pos - frag_start, &mut out[copied..copied + n])?;
                copied += n;
                pos += n;
            }
            frag_start = frag_end;
        }
        Ok(())
    }
}

/// One piece of an skb handed to a pipe by [`SkBuff::splice_bits`].
#[derive(Debug)]
pub(crate) struct SplicedPiece {
    pub(crate) frag: PageFrag,
    /// The bytes were copied into a fresh page (they sat in the linear
    /// part), rather than referenced where they were.
    pub(crate) copied: bool,
}

impl SkBuff {
    /// `__skb_splice_bits()`: up to `len` bytes starting `offset` bytes
    /// after `data`, as at most `max` page pieces. Bytes in the linear part
    /// are copied into new pages (`linear_to_page()`: the linear buffer is
    /// not a page a pipe can hold); bytes in the frags are referenced
    /// (`get_page()`), not copied.
    pub(crate) fn splice_bits(&self, offset: usize, len: usize, max: usize) -> Vec<SplicedPiece> {
        let mut out = Vec::new();
        let end = offset.saturating_add(len).min(self.len);
        let headlen = self.headlen();
        let mut pos = offset;
        while pos < end.min(headlen) && out.len() < max {
            let n = (end.min(headlen) - pos).min(PAGE_SIZE);
            let page = Page::alloc();
            let from = self.data + pos;
            // In range: n <= PAGE_SIZE and within the linear part.
            let _ = page.write(0, &self.shared.head[from..from + n]);
            if let Ok(frag) = PageFrag::new(page, 0, n) {
                out.push(SplicedPiece { frag, copied: true });
            }
            pos += n;
        }
        let mut frag_start = headlen;
        for f in &self.shared.frags {
            if pos >= end || out.len() >= max {
                break;
            }
            let frag_end = frag_start + f.len();
            if pos < frag_end {
                let at = pos - frag_start;
                let n = (frag_end - pos).min(end - pos);
                if let Ok(frag) = PageFrag::new(f.page().get_page(), f.offset() + at, n) {
                    out.push(SplicedPiece {
                        frag,
                        copied: false,
                    });
                }
                pos += n;
            }
            frag_start = frag_end;
        }
        out
    }
}
