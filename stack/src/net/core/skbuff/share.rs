//! Sharing an skb's data: `skb_clone()` versus `skb_copy()`, and the
//! copy-on-write that keeps clones apart (`pskb_expand_head()`,
//! `net/core/skbuff.c`).

use std::rc::Rc;

use super::{KMALLOC_MAX_SIZE, SharedData, SkBuff, SkbError, skb_with_overhead};

impl SkBuff {
    /// `skb_shinfo(skb)->dataref`: how many skbs share this data buffer.
    pub fn dataref(&self) -> usize {
        Rc::strong_count(&self.shared)
    }

    /// `skb->cloned`: set by `skb_clone` on both skbs and cleared only when
    /// this skb gets a private buffer.
    pub fn cloned(&self) -> bool {
        self.cloned
    }

    /// `skb_cloned()`: cloned and the buffer really is still shared.
    pub fn skb_cloned(&self) -> bool {
        self.cloned && self.dataref() != 1
    }

    /// How many times this skb's head was copied to a new buffer (unsharing
    /// a clone, or growing with `pskb_expand_head`).
    pub fn cow_copies(&self) -> u32 {
        self.cow_copies
    }

    /// The bytes those copies moved (`head` up to `tail` each time).
    pub fn cow_bytes(&self) -> usize {
        self.cow_bytes
    }

    /// `skb_clone()`: a new `sk_buff` over the same data buffer. Both are
    /// marked cloned; the clone starts with the same offsets, truesize and
    /// metadata. Frag pages are not referenced again: the frags live in the
    /// shared buffer.
    pub fn skb_clone(&mut self) -> SkBuff {
        self.cloned = true;
        SkBuff {
            shared: Rc::clone(&self.shared),
            data: self.data,
            tail: self.tail,
            len: self.len,
            data_len: self.data_len,
            mac_header: self.mac_header,
            network_header: self.network_header,
            transport_header: self.transport_header,
            truesize: self.truesize,
            cloned: true,
            slab: self.slab,
            cow_copies: 0,
            cow_bytes: 0,
            protocol: self.protocol,
            pkt_type: self.pkt_type,
            priority: self.priority,
            mark: self.mark,
            tstamp_ns: self.tstamp_ns,
            // A clone is a new sk_buff: its own identity, and no owner
            // (skb_clone() leaves skb->sk and the destructor unset).
            id: 0,
            dev: self.dev,
            owner: None,
            cb: self.cb,
        }
    }

    /// `skb_copy()`: a private, linear copy. The new head is allocated for
    /// `skb_end_offset + data_len` bytes, keeps the same headroom (copied
    /// too, so pushed-over headers survive) and so the same header offsets.
    pub fn skb_copy(&self) -> Result<SkBuff, SkbError> {
        let headroom = self.headroom();
        let size = self.end_offset().saturating_add(self.data_len);
        let mut n = SkBuff::alloc_skb_with(size, self.slab)?;
        n.reserve(headroom)?;
        n.put(self.len)?;
        let len = self.len;
        let head = &mut n.shared_mut().head;
        head[..headroom].copy_from_slice(&self.shared.head[..headroom]);
        self.copy_bits(0, &mut head[headroom..headroom + len])?;
        n.mac_header = self.mac_header;
        n.network_header = self.network_header;
        n.transport_header = self.transport_header;
        n.protocol = self.protocol;
        n.dev = self.dev;
        n.cb = self.cb;
        n.pkt_type = self.pkt_type;
        n.priority = self.priority;
        n.mark = self.mark;
        n.tstamp_ns = self.tstamp_ns;
        Ok(n)
    }

    /// `pskb_expand_head(skb, nhead, ntail)`: move to a new head with
    /// `nhead` more bytes of headroom and at least `ntail` more of
    /// tailroom, copying `head..tail`. A shared buffer is left to its other
    /// users, and this skb takes its own references on the frag pages.
    /// Returns the bytes copied.
    pub fn pskb_expand_head(&mut self, nhead: usize, ntail: usize) -> Result<usize, SkbError> {
        let osize = self.end_offset();
        let size = osize
            .checked_add(nhead)
            .and_then(|s| s.checked_add(ntail))
            .ok_or(SkbError::TooBig { size: usize::MAX })?;
        let alloc = self.slab.head_alloc_size(size);
        if alloc > KMALLOC_MAX_SIZE {
            return Err(SkbError::TooBig { size });
        }
        let new_end = skb_with_overhead(alloc);
        let mut head = vec![0; new_end];
        let copied = self.tail;
        head[nhead..nhead + copied].copy_from_slice(&self.shared.head[..copied]);
        let (frags, zcopy) = match Rc::get_mut(&mut self.shared) {
            // Sole owner: the frag references just move with the head.
            Some(sh) => (std::mem::take(&mut sh.frags), sh.zcopy.take()),
            // Shared: skb_frag_ref() on each, the old buffer keeps its own;
            // so does a zero-copy buffer (refcount_inc on the ubuf_info).
            None => (self.shared.frags.clone(), self.shared.zcopy.clone()),
        };
        self.shared = Rc::new(SharedData { head, frags, zcopy });
        self.data += nhead;
        self.tail += nhead;
        for h in [
            &mut self.mac_header,
            &mut self.network_header,
            &mut self.transport_header,
        ]
        .into_iter()
        .flatten()
        {
            *h += nhead;
        }
        self.cloned = false;
        self.truesize = self.truesize.saturating_add(new_end.saturating_sub(osize));
        self.count_copy(copied);
        Ok(copied)
    }

    /// The buffer, writable: if another skb shares it, this skb first gets
    /// its own copy of the same size (`pskb_expand_head(skb, 0, 0)` as
    /// `skb_cow` calls it), which takes its own frag page references.
    pub(super) fn shared_mut(&mut self) -> &mut SharedData {
        if Rc::strong_count(&self.shared) > 1 {
            self.cloned = false;
            self.count_copy(self.tail);
        }
        Rc::make_mut(&mut self.shared)
    }

    pub(super) fn count_copy(&mut self, bytes: usize) {
        self.cow_copies = self.cow_copies.saturating_add(1);
        self.cow_bytes = self.cow_bytes.saturating_add(bytes);
    }
}
