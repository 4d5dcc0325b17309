//! Where each layer's header starts: `skb->mac_header`,
//! `skb->network_header`, `skb->transport_header` and their
//! `skb_reset_*_header()`, `skb_set_*_header()` and `skb_*_header()`
//! helpers (`include/linux/skbuff.h`). Offsets are from `head`, so a header
//! stays findable after `skb_pull` has stepped past it.

use super::{HeaderKind, SkBuff, SkbError};

impl SkBuff {
    fn header_slot(&mut self, kind: HeaderKind) -> &mut Option<usize> {
        match kind {
            HeaderKind::Mac => &mut self.mac_header,
            HeaderKind::Network => &mut self.network_header,
            HeaderKind::Transport => &mut self.transport_header,
        }
    }

    /// The header's offset from `head`, if it has been set.
    pub fn header_offset(&self, kind: HeaderKind) -> Option<usize> {
        match kind {
            HeaderKind::Mac => self.mac_header,
            HeaderKind::Network => self.network_header,
            HeaderKind::Transport => self.transport_header,
        }
    }

    /// `skb_reset_*_header()`: the header starts at `data`.
    pub fn reset_header(&mut self, kind: HeaderKind) {
        let d = self.data;
        *self.header_slot(kind) = Some(d);
    }

    /// `skb_set_*_header(skb, offset)`: the header starts `offset` bytes
    /// from `data` (negative: before it).
    pub fn set_header(&mut self, kind: HeaderKind, offset: isize) -> Result<(), SkbError> {
        let at = self
            .data
            .checked_add_signed(offset)
            .filter(|&at| at <= self.end_offset())
            .ok_or(SkbError::BadOffset)?;
        *self.header_slot(kind) = Some(at);
        Ok(())
    }

    /// `skb_*_header()`: the bytes from the header's start to `tail`, or
    /// `None` if unset or (after a trim) past the tail.
    pub fn header(&self, kind: HeaderKind) -> Option<&[u8]> {
        let at = self.header_offset(kind)?;
        self.shared.head.get(at..self.tail)
    }

    /// The header bytes, writable (for filling in or rewriting a header,
    /// such as NAT or a checksum fix-up). Unshares a cloned buffer first.
    pub fn header_mut(&mut self, kind: HeaderKind) -> Option<&mut [u8]> {
        let at = self.header_offset(kind)?;
        if at > self.tail {
            return None;
        }
        let t = self.tail;
        Some(&mut self.shared_mut().head[at..t])
    }

    /// `skb->mac_header`, as an offset from head.
    pub fn mac_header(&self) -> Option<usize> {
        self.mac_header
    }

    /// `skb_reset_mac_header()`.
    pub fn reset_mac_header(&mut self) {
        self.reset_header(HeaderKind::Mac);
    }

    /// `skb_set_mac_header()`.
    pub fn set_mac_header(&mut self, offset: isize) -> Result<(), SkbError> {
        self.set_header(HeaderKind::Mac, offset)
    }

    /// `skb_mac_header()`: the bytes from the link-layer header on.
    pub fn mac_header_bytes(&self) -> Option<&[u8]> {
        self.header(HeaderKind::Mac)
    }

    /// `skb->network_header`, as an offset from head.
    pub fn network_header(&self) -> Option<usize> {
        self.network_header
    }

    /// `skb_reset_network_header()`.
    pub fn reset_network_header(&mut self) {
        self.reset_header(HeaderKind::Network);
    }

    /// `skb_set_network_header()`.
    pub fn set_network_header(&mut self, offset: isize) -> Result<(), SkbError> {
        self.set_header(HeaderKind::Network, offset)
    }

    /// `skb_network_header()`: the bytes from the IP header on.
    pub fn network_header_bytes(&self) -> Option<&[u8]> {
        self.header(HeaderKind::Network)
    }

    /// `skb->transport_header`, as an offset from head.
    pub fn transport_header(&self) -> Option<usize> {
        self.transport_header
    }

    /// `skb_reset_transport_header()`.
    pub fn reset_transport_header(&mut self) {
        self.reset_header(HeaderKind::Transport);
    }

    /// `skb_set_transport_header()`.
    pub fn set_transport_header(&mut self, offset: isize) -> Result<(), SkbError> {
        self.set_header(HeaderKind::Transport, offset)
    }

    /// `skb_transport_header()`: the bytes from the UDP/TCP header on.
    pub fn transport_header_bytes(&self) -> Option<&[u8]> {
        self.header(HeaderKind::Transport)
    }
}
