//! `struct sk_buff`: the buffer a packet lives in from the NIC to the
//! socket, and from `sendmsg()` to the wire.
//!
//! Models `include/linux/skbuff.h` and `net/core/skbuff.c`. One skb is a
//! small header (`struct sk_buff`: pointers, lengths, metadata) describing
//! a separately allocated data buffer:
//!
//! ```text
//!  head        data                tail          end
//!   | headroom  | linear data       | tailroom    | skb_shared_info: frags[] -> pages
//!   `-----------+-------------------+-------------+----------------------------------
//!               <---- headlen ------>               <---- data_len (paged) -------->
//!               <-------------------------- len ----------------------------------->
//! ```
//!
//! Headers are added by moving `data` back into the headroom (`skb_push`,
//! as each layer on the way out prepends its header) and stepped over by
//! moving it forward (`skb_pull`, as each layer on the way in consumes its
//! header); payload is appended at `tail` (`skb_put`). Nothing is copied by
//! any of these: that is the point of the design. The `mac_header`,
//! `network_header` and `transport_header` offsets remember where each
//! layer's header starts, so IP can still read its header after pulling it.
//!
//! Sharing follows the kernel. `skb_clone()` (used by packet taps, TCP's
//! retransmit queue, multicast delivery) makes a second header over the
//! *same* buffer: both are marked cloned and the buffer's `dataref` becomes
//! 2. `skb_copy()` copies everything into a private, linear buffer. Writing
//! into a buffer another skb still uses must first unshare it
//! (`skb_cow`/`pskb_expand_head`); here every writing operation does that
//! itself and counts the copy ([`SkBuff::cow_copies`],
//! [`SkBuff::cow_bytes`]), so clones never see each other's writes.
//!
//! Memory accounting (`truesize`) is computed as x86_64 Linux does; see
//! [`skb_truesize_for`] and the [`truesize`] module for the formula, how it
//! changed across kernel versions, and a worked example.
//!
//! Simplified:
//! - Where the kernel would `BUG()` (`skb_over_panic`, `skb_under_panic`,
//!   `SKB_LINEAR_ASSERT`, too many frags) an operation returns an
//!   [`SkbError`] and leaves the skb unchanged.
//! - Writing operations unshare a cloned buffer themselves; in the kernel
//!   the caller must remember `skb_cow_head()` first.
//! - [`SkBuff::pull`] returns the bytes stepped over rather than the new
//!   `data` pointer, and refuses to pull beyond the linear part (the kernel
//!   would `BUG()`; callers use [`SkBuff::pskb_may_pull`] first).
//! - No `frag_list`, no fast clones (`skbuff_fclone_cache`), no heads built
//!   from page fragments (`build_skb`, `head_frag`), no page pool, no GFP
//!   flags or pfmemalloc. Zero-copy sends (`ubuf_info`) are in
//!   the `zerocopy` module.
//! - `pskb_expand_head()` always adjusts `truesize`; the kernel does so only
//!   for skbs not charged to a socket.
//! - Metadata is a handful of public fields; owner socket, device and the
//!   rest are to be added by the layers that need them.

mod frags;
mod headers;
pub mod page;
pub mod queue;
mod share;
pub mod truesize;
pub(crate) mod zerocopy;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::kernel::ids::{DevId, SockId};
use std::fmt;
use std::rc::Rc;

pub(crate) use frags::SplicedPiece;
pub use page::{Page, PageFrag};
pub use queue::SkbQueue;
pub use truesize::{
    KMALLOC_MAX_CACHE_SIZE, KMALLOC_MAX_SIZE, MAX_HEADER_DISTRO, MAX_HEADER_MINIMAL, NET_IP_ALIGN,
    NET_SKB_PAD, PAGE_SIZE, SKB_MAX_ALLOC, SKB_SHINFO_SIZE, SKB_STRUCT_SIZE, SMP_CACHE_BYTES,
    SlabModel, kmalloc_size_roundup, skb_data_align, skb_head_align, skb_truesize,
    skb_truesize_for, skb_with_overhead,
};

/// `MAX_SKB_FRAGS`: the default `CONFIG_MAX_SKB_FRAGS`.
pub const MAX_SKB_FRAGS: usize = 17;

/// What the kernel would have crashed or failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkbError {
    /// `skb_over_panic`: `skb_put` past `end`.
    NoTailroom { need: usize, have: usize },
    /// `skb_under_panic`: `skb_push` before `head`.
    NoHeadroom { need: usize, have: usize },
    /// `skb_reserve` on an skb that already holds data.
    NotEmpty,
    /// `SKB_LINEAR_ASSERT`: `skb_put` on an skb with paged data, whose
    /// `tail` is not the end of the packet.
    Nonlinear,
    /// More than [`MAX_SKB_FRAGS`] fragments.
    TooManyFrags,
    /// A fragment or page access outside the page.
    BadFrag { offset: usize, len: usize },
    /// A header offset outside the buffer.
    BadOffset,
    /// `skb_copy_bits` returning `-EFAULT`: the range is not in the packet.
    OutOfRange {
        offset: usize,
        len: usize,
        skb_len: usize,
    },
    /// kmalloc refusing a head this big (`-ENOMEM`).
    TooBig { size: usize },
}

impl fmt::Display for SkbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SkbError::NoTailroom { need, have } => {
                write!(
                    f,
                    "skb_over_panic: put {need} with {have} bytes of tailroom"
                )
            }
            SkbError::NoHeadroom { need, have } => {
                write!(
                    f,
                    "skb_under_panic: push {need} with {have} bytes of headroom"
                )
            }
            SkbError::NotEmpty => write!(f, "skb_reserve on a non-empty skb"),
            SkbError::Nonlinear => write!(f, "skb_put on a non-linear skb"),
            SkbError::TooManyFrags => write!(f, "more than {MAX_SKB_FRAGS} frags"),
            SkbError::BadFrag { offset, len } => {
                write!(f, "{len} bytes at offset {offset} do not fit in a page")
            }
            SkbError::BadOffset => write!(f, "header offset outside the buffer"),
            SkbError::OutOfRange {
                offset,
                len,
                skb_len,
            } => write!(f, "{len} bytes at {offset} are beyond skb->len {skb_len}"),
            SkbError::TooBig { size } => write!(f, "cannot allocate a head for {size} bytes"),
        }
    }
}

impl std::error::Error for SkbError {}

/// `skb->pkt_type` (`include/uapi/linux/if_packet.h`): who a received frame
/// was for, as the link layer saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PacketType {
    /// `PACKET_HOST` (0): to us. The zeroed default, as in the kernel.
    #[default]
    Host,
    /// `PACKET_BROADCAST`.
    Broadcast,
    /// `PACKET_MULTICAST`.
    Multicast,
    /// `PACKET_OTHERHOST`: to someone else, seen in promiscuous mode.
    OtherHost,
    /// `PACKET_OUTGOING`: our own frame, looped back to a tap.
    Outgoing,
    /// `PACKET_LOOPBACK`: sent through a loopback device.
    Loopback,
}

/// Which layer's header offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// `skb->mac_header`: the link-layer (Ethernet) header.
    Mac,
    /// `skb->network_header`: the IP header.
    Network,
    /// `skb->transport_header`: the UDP/TCP header.
    Transport,
}

/// The data buffer: `skb->head` up to `end`, followed by its
/// `skb_shared_info`. Shared between clones, so it is what `dataref`
/// counts.
#[derive(Clone, Debug)]
struct SharedData {
    head: Vec<u8>,
    frags: Vec<PageFrag>,
    /// `destructor_arg`: the zero-copy send the frags' user pages belong
    /// to, if any.
    zcopy: Option<zerocopy::UbufRef>,
}

/// `struct sk_buff`.
pub struct SkBuff {
    shared: Rc<SharedData>,
    // Offsets from head, as the kernel stores them on 64-bit
    // (NET_SKBUFF_DATA_USES_OFFSET). `end` is the buffer's length.
    data: usize,
    tail: usize,
    len: usize,
    data_len: usize,
    mac_header: Option<usize>,
    network_header: Option<usize>,
    transport_header: Option<usize>,
    truesize: usize,
    cloned: bool,
    slab: SlabModel,
    cow_copies: u32,
    cow_bytes: usize,
    /// `skb->protocol`: the ethertype, host byte order (0x0800 for IPv4).
    pub protocol: u16,
    /// `skb->pkt_type`.
    pub pkt_type: PacketType,
    /// `skb->priority`: queueing priority (`SO_PRIORITY`).
    pub priority: u32,
    /// `skb->mark`: the firewall mark (`SO_MARK`).
    pub mark: u32,
    /// `skb->tstamp`, in nanoseconds of simulated time.
    pub tstamp_ns: u64,
    /// A number the simulation gives each packet so a trace can follow it;
    /// the kernel's tracepoints print the `sk_buff`'s address instead.
    pub id: u64,
    /// `skb->dev`: the device it arrived on or leaves by.
    pub dev: Option<DevId>,
    /// `skb->sk` with `skb->destructor = sock_wfree`: the socket whose
    /// write memory this packet is charged to, until it is freed or orphaned.
    pub owner: Option<SockId>,
    /// `skb->cb`, the control buffer where a layer leaves notes for the
    /// next: here the datagram's addresses, which `udp_recvmsg()` reads
    /// from the IP and UDP headers in the kernel.
    pub cb: SkbCb,
}

/// The notes kept in `skb->cb`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkbCb {
    /// Source address and port of a received datagram.
    pub src: Option<std::net::SocketAddr>,
    /// Destination address and port of a received datagram.
    pub dst: Option<std::net::SocketAddr>,
    /// The transport checksum did not verify; UDP notices when it copies
    /// the datagram to the reader.
    pub csum_bad: bool,
    /// `TCP_SKB_CB(skb)->seq`: the sequence number of the first byte.
    pub seq: u32,
    /// No checksum check is needed (`CHECKSUM_PARTIAL`/`UNNECESSARY`):
    /// the packet never left this machine's memory.
    pub csum_unnecessary: bool,
    /// `UNIXCB(skb).consumed`: the bytes of an `AF_UNIX` stream skb the
    /// reader has already taken (the skb stays queued until all are).
    pub consumed: usize,
}

impl SkBuff {
    /// `alloc_skb(size, GFP_KERNEL)`: an empty skb with at least `size`
    /// bytes of tailroom, no headroom, and the truesize of
    /// [`skb_truesize_for`]`(size)`.
    pub fn alloc_skb(size: usize) -> Result<SkBuff, SkbError> {
        SkBuff::alloc_skb_with(size, SlabModel::DEFAULT)
    }

    /// `alloc_skb` under a given allocator model.
    pub fn alloc_skb_with(size: usize, slab: SlabModel) -> Result<SkBuff, SkbError> {
        let alloc = slab.head_alloc_size(size);
        if alloc > KMALLOC_MAX_SIZE {
            return Err(SkbError::TooBig { size });
        }
        // The room grows to fill the allocation: SKB_WITH_OVERHEAD(ksize).
        let end = skb_with_overhead(alloc);
        Ok(SkBuff {
            shared: Rc::new(SharedData {
                head: vec![0; end],
                frags: Vec::new(),
                zcopy: None,
            }),
            data: 0,
            tail: 0,
            len: 0,
            data_len: 0,
            mac_header: None,
            network_header: None,
            transport_header: None,
            truesize: skb_truesize(end),
            cloned: false,
            slab,
            cow_copies: 0,
            cow_bytes: 0,
            protocol: 0,
            pkt_type: PacketType::Host,
            priority: 0,
            mark: 0,
            tstamp_ns: 0,
            id: 0,
            dev: None,
            owner: None,
            cb: SkbCb::default(),
        })
    }

    // ----- geometry -----

    /// `skb->data - skb->head`.
    pub fn data_offset(&self) -> usize {
        self.data
    }

    /// `skb->tail`, as an offset from head.
    pub fn tail_offset(&self) -> usize {
        self.tail
    }

    /// `skb_end_offset()`: the linear buffer's size.
    pub fn end_offset(&self) -> usize {
        self.shared.head.len()
    }

    /// `skb_headroom()`.
    pub fn headroom(&self) -> usize {
        self.data
    }

    /// `skb_tailroom()`: 0 for a non-linear skb, since its tail is not the
    /// end of the packet and must not be written past.
    pub fn tailroom(&self) -> usize {
        if self.is_nonlinear() {
            0
        } else {
            self.end_offset() - self.tail
        }
    }

    /// `skb->len`: linear plus paged bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the skb holds no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `skb->data_len`: the bytes in page fragments.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// `skb_headlen()`: the bytes between `data` and `tail`.
    pub fn headlen(&self) -> usize {
        self.len - self.data_len
    }

    /// `skb_is_nonlinear()`.
    pub fn is_nonlinear(&self) -> bool {
        self.data_len != 0
    }

    /// `skb->truesize`: the memory this skb pins.
    pub fn truesize(&self) -> usize {
        self.truesize
    }

    /// The allocator model this skb's head came from.
    pub fn slab_model(&self) -> SlabModel {
        self.slab
    }

    /// The linear data, `data` up to `tail`.
    pub fn data(&self) -> &[u8] {
        &self.shared.head[self.data..self.tail]
    }

    /// The linear data, writable. Unshares a cloned buffer first.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let (d, t) = (self.data, self.tail);
        &mut self.shared_mut().head[d..t]
    }

    // ----- the linear-buffer operations -----

    /// `skb_reserve()`: make headroom in an empty skb by moving `data` and
    /// `tail` forward together.
    pub fn reserve(&mut self, n: usize) -> Result<(), SkbError> {
        if self.len != 0 {
            return Err(SkbError::NotEmpty);
        }
        let have = self.tailroom();
        if n > have {
            return Err(SkbError::NoTailroom { need: n, have });
        }
        self.data += n;
        self.tail += n;
        Ok(())
    }

    /// `skb_put()`: extend the data at the tail by `n` bytes and return
    /// them to be filled. Like the kernel, the bytes are not cleared.
    pub fn put(&mut self, n: usize) -> Result<&mut [u8], SkbError> {
        if self.is_nonlinear() {
            return Err(SkbError::Nonlinear);
        }
        let have = self.tailroom();
        if n > have {
            return Err(SkbError::NoTailroom { need: n, have });
        }
        let t = self.tail;
        self.tail += n;
        self.len += n;
        Ok(&mut self.shared_mut().head[t..t + n])
    }

    /// `skb_put_zero()`.
    pub fn put_zero(&mut self, n: usize) -> Result<&mut [u8], SkbError> {
        let area = self.put(n)?;
        area.fill(0);
        Ok(area)
    }

    /// `skb_put_data()`: append a copy of `bytes`.
    pub fn put_data(&mut self, bytes: &[u8]) -> Result<(), SkbError> {
        self.put(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    /// `skb_push()`: extend the data backwards into the headroom by `n`
    /// bytes and return them, for the caller to write a header into.
    pub fn push(&mut self, n: usize) -> Result<&mut [u8], SkbError> {
        let have = self.headroom();
        if n > have {
            return Err(SkbError::NoHeadroom { need: n, have });
        }
        self.data -= n;
        self.len += n;
        let d = self.data;
        Ok(&mut self.shared_mut().head[d..d + n])
    }

    /// `skb_pull()`: step `data` over an `n`-byte header and return the
    /// header. The bytes stay in the buffer (the header offsets still find
    /// them); `None`, and no change, if the linear part is shorter.
    pub fn pull(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.headlen() {
            return None;
        }
        self.data += n;
        self.len -= n;
        Some(&self.shared.head[self.data - n..self.data])
    }

    /// `pskb_trim()`: cut the packet to `len` bytes (no-op if it is not
    /// longer). Paged data past `len` is dropped, releasing those page
    /// references; `truesize` is unchanged, as in the kernel.
    pub fn trim(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if !self.is_nonlinear() {
            // __skb_trim: only the tail moves, so a clone need not unshare.
            self.tail = self.data + len;
            self.len = len;
            return;
        }
        let headlen = self.headlen();
        // ___pskb_trim changes skb_shared_info, so unshares first.
        let frags = &mut self.shared_mut().frags;
        let keep = if headlen >= len {
            0
        } else {
            let mut offset = headlen;
            let mut keep = frags.len();
            for (i, f) in frags.iter_mut().enumerate() {
                let end = offset + f.len();
                if end < len {
                    offset = end;
                    continue;
                }
                f.truncate(len - offset);
                keep = i + 1;
                break;
            }
            keep
        };
        frags.truncate(keep);
        if len > headlen {
            self.data_len -= self.len - len;
        } else {
            self.data_len = 0;
            self.tail = self.data + len;
        }
        self.len = len;
    }

    /// The invariants every operation keeps; tests check them after each
    /// step.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let end = self.end_offset();
        if !(self.data <= self.tail && self.tail <= end) {
            return Err(format!(
                "offsets out of order: data {} tail {} end {end}",
                self.data, self.tail
            ));
        }
        if self.len != self.tail - self.data + self.data_len {
            return Err(format!(
                "len {} != headlen {} + data_len {}",
                self.len,
                self.tail - self.data,
                self.data_len
            ));
        }
        let paged: usize = self.shared.frags.iter().map(PageFrag::len).sum();
        if paged != self.data_len {
            return Err(format!("frags hold {paged}, data_len {}", self.data_len));
        }
        if self.nr_frags() > MAX_SKB_FRAGS {
            return Err(format!("{} frags", self.nr_frags()));
        }
        if self.truesize < skb_truesize(end) {
            return Err(format!("truesize {} below its head's", self.truesize));
        }
        Ok(())
    }
}

impl fmt::Debug for SkBuff {
    // The buffer's bytes are left out: hundreds of them would drown the
    // geometry, which is what a reader of a trace needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkBuff")
            .field("len", &self.len)
            .field("data_len", &self.data_len)
            .field("data", &self.data)
            .field("tail", &self.tail)
            .field("end", &self.end_offset())
            .field("truesize", &self.truesize)
            .field("nr_frags", &self.nr_frags())
            .field("dataref", &self.dataref())
            .field("cloned", &self.cloned)
            .field("mac_header", &self.mac_header)
            .field("network_header", &self.network_header)
            .field("transport_header", &self.transport_header)
            .field("protocol", &self.protocol)
            .field("pkt_type", &self.pkt_type)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SkBuff {
    /// One line, in the spirit of `skb_dump()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skb len={} headroom={} headlen={} tailroom={} data_len={} nr_frags={} truesize={} dataref={}",
            self.len,
            self.headroom(),
            self.headlen(),
            self.tailroom(),
            self.data_len,
            self.nr_frags(),
            self.truesize,
            self.dataref()
        )
    }
}

impl SkBuff {
    /// Every byte of the packet, linear part then frags: what a NIC's DMA
    /// engine reads, and what `skb_copy_bits()` over the whole length gives.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len()];
        // copy_bits over exactly len() bytes cannot be out of range.
        let _ = self.copy_bits(0, &mut out);
        out
    }
}
