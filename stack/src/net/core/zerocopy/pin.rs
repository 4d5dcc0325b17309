//! Pinned user pages: what a zero-copy send hangs off its skbs
//! (`__zerocopy_sg_from_iter()` → `iov_iter_get_pages()`,
//! `net/core/datagram.c`), and the skb a segment built from them becomes
//! (`tcp_transmit_skb()`'s clone shares them, it does not copy them).

use std::collections::BTreeMap;

use crate::kernel::ids::{HostId, SockId};
use crate::kernel::world::World;
use crate::net::core::skbuff::page::WeakPage;
use crate::net::core::skbuff::zerocopy::UbufRef;
use crate::net::core::skbuff::{MAX_SKB_FRAGS, PAGE_SIZE, Page, PageFrag, SkBuff};

/// A zero-copy `sendmsg()` in progress: its buffer, whether the route
/// can take the user's pages, and the pages pinned so far (by page index
/// in the user's buffer, which is taken to start on a page boundary).
#[derive(Debug)]
pub(crate) struct ZcSend {
    pub(crate) uarg: UbufRef,
    /// The device can gather (`NETIF_F_SG`): pages are referenced, not
    /// copied.
    pub(crate) sg: bool,
    pages: BTreeMap<usize, Page>,
}

impl ZcSend {
    pub(crate) fn new(uarg: UbufRef, sg: bool) -> ZcSend {
        ZcSend {
            uarg,
            sg,
            pages: BTreeMap::new(),
        }
    }

    pub(crate) fn into_uarg(self) -> UbufRef {
        self.uarg
    }

    /// Frags for `buf[from..from + len]`, pinning the pages under it that
    /// are not pinned yet; also returns those newly pinned. The bytes are
    /// copied into the page standing for the user's page: the simulation's
    /// way of holding user memory (see the module doc).
    pub(crate) fn pin(
        &mut self,
        buf: &[u8],
        from: usize,
        len: usize,
    ) -> (Vec<PageFrag>, Vec<WeakPage>) {
        let mut frags = Vec::new();
        let mut pinned = Vec::new();
        let end = (from + len).min(buf.len());
        let mut at = from;
        while at < end {
            let idx = at / PAGE_SIZE;
            let page_start = idx * PAGE_SIZE;
            let page = self.pages.entry(idx).or_insert_with(|| {
                let page = Page::alloc();
                let upto = (page_start + PAGE_SIZE).min(buf.len());
                // In range by construction: at most one page from a page start.
                let _ = page.write(0, &buf[page_start..upto]);
                pinned.push(page.downgrade());
                page
            });
            let n = (page_start + PAGE_SIZE).min(end) - at;
            if let Ok(f) = PageFrag::new(page.get_page(), at - page_start, n) {
                frags.push(f);
            }
            at += n;
        }
        (frags, pinned)
    }
}

/// The user pages of a write-queue segment and the buffer they belong to:
/// `skb_shinfo(skb)->destructor_arg` and the frags that point into the
/// process's memory. Bytes of the segment not covered by a pinned frag
/// were copied (an ordinary send appended to it).
#[derive(Clone, Debug)]
pub(crate) struct TxZc {
    pub(crate) uarg: UbufRef,
    /// Each pinned frag with the offset in the segment where it starts,
    /// in order.
    pub(crate) frags: Vec<(usize, PageFrag)>,
}

impl TxZc {
    /// All of `buf` pinned for one skb (a datagram): the frags and the
    /// pages pinned.
    pub(crate) fn pin(uarg: &UbufRef, buf: &[u8]) -> (TxZc, Vec<WeakPage>) {
        let mut send = ZcSend::new(UbufRef::clone(uarg), true);
        let (frags, pinned) = send.pin(buf, 0, buf.len());
        let mut zc = TxZc {
            uarg: UbufRef::clone(uarg),
            frags: Vec::new(),
        };
        zc.append(0, frags);
        (zc, pinned)
    }

    /// Adds pinned frags that carry the segment's bytes from `at` on.
    pub(crate) fn append(&mut self, mut at: usize, frags: Vec<PageFrag>) {
        for f in frags {
            let len = f.len();
            self.frags.push((at, f));
            at += len;
        }
    }

    /// `tcp_fragment()` cutting the segment at `at`: the frags after the
    /// cut (a frag across it is split, each half holding the page) go to
    /// the new segment, which references the buffer too
    /// (`skb_zcopy_clone()`).
    pub(crate) fn split_off(&mut self, at: usize) -> TxZc {
        let mut keep = Vec::new();
        let mut rest = Vec::new();
        for (off, f) in self.frags.drain(..) {
            let end = off + f.len();
            if end <= at {
                keep.push((off, f));
            } else if off >= at {
                rest.push((off - at, f));
            } else {
                let mut second = f.clone();
                second.advance(at - off);
                let mut first = f;
                first.truncate(at - off);
                keep.push((off, first));
                rest.push((0, second));
            }
        }
        self.frags = keep;
        TxZc {
            uarg: UbufRef::clone(&self.uarg),
            frags: rest,
        }
    }

    /// How many more bytes starting at `from` in the user's buffer fit in
    /// this segment's frag array (`__zerocopy_sg_from_iter()` stops with
    /// `EMSGSIZE` at `MAX_SKB_FRAGS`), at most `want`.
    pub(crate) fn room_for(nr_frags: usize, from: usize, want: usize) -> usize {
        let slots = MAX_SKB_FRAGS.saturating_sub(nr_frags);
        if slots == 0 || want == 0 {
            return 0;
        }
        let first = from / PAGE_SIZE;
        let limit = (first + slots) * PAGE_SIZE - from;
        want.min(limit)
    }
}

impl World {
    /// Counts newly pinned pages (`Costs::pages_pinned`) and lets the
    /// socket watch them, for [`crate::kernel::syscalls::Process::zerocopy_pages`].
    pub(crate) fn zerocopy_pinned(&mut self, host: HostId, sk: SockId, pages: Vec<WeakPage>) {
        if pages.is_empty() {
            return;
        }
        self.costs(host).pages_pinned += pages.len() as u64;
        let watched = &mut self.sk_mut(sk).zc.pinned;
        watched.retain(|p| p.page_count() > 0);
        watched.extend(pages);
    }

    /// The skb a zero-copy segment goes out in: headers in the head,
    /// pinned frags referenced (each charged a page, `PAGE_ALIGN()` as
    /// `__zerocopy_sg_from_iter()` charges), copied bytes in fresh pages,
    /// and a reference on the buffer, so the notification waits for it.
    pub(crate) fn alloc_skb_zerocopy(
        &mut self,
        headroom: usize,
        payload: &[u8],
        zc: &TxZc,
    ) -> Option<SkBuff> {
        let mut skb = self.alloc_skb(headroom + 15, headroom)?;
        let mut at = 0;
        for (off, frag) in &zc.frags {
            skb.add_copied_frags(payload.get(at..*off)?).ok()?;
            skb.add_user_frag(frag, PAGE_SIZE).ok()?;
            at = off + frag.len();
        }
        skb.add_copied_frags(payload.get(at..)?).ok()?;
        skb.zcopy_set(&zc.uarg);
        Some(skb)
    }
}
