//! What an `sk_buff` really costs: `skb->truesize`, the number every socket
//! memory limit is checked against (`SO_RCVBUF` compares `sk_rmem_alloc`, a
//! sum of truesizes, not of payload bytes).
//!
//! Models `__alloc_skb()` and `kmalloc_reserve()` (`net/core/skbuff.c`), the
//! `SKB_*` size macros (`include/linux/skbuff.h`) and
//! `kmalloc_size_roundup()` (`mm/slab_common.c`), for x86_64 with 64-byte
//! cache lines and the default `MAX_SKB_FRAGS` of 17.
//!
//! `__alloc_skb(size)` asks `kmalloc_reserve()` for
//! `SKB_HEAD_ALIGN(size) = SKB_DATA_ALIGN(size) + SKB_DATA_ALIGN(sizeof(struct
//! skb_shared_info))`. If that fits the dedicated `skbuff_small_head` slab
//! (kernels since 6.3) it gets exactly that slab's object size; otherwise the
//! request is rounded up to a kmalloc size class. `__finalize_skb_around()`
//! then puts `skb_shared_info` at the very end of what was allocated
//! (`SKB_WITH_OVERHEAD`), so the linear room can be larger than asked for,
//! and sets `truesize = SKB_TRUESIZE(room)`, which works out to
//! *allocation + SKB_DATA_ALIGN(sizeof(struct sk_buff))*.
//!
//! The small-head slab's size depends on the kernel version and its
//! configuration (`MAX_HEADER`), so it is a parameter: [`SlabModel`].
//!
//! Worked example, a 64-byte UDP payload sent over loopback:
//! `__ip_append_data()` asks `sock_alloc_send_skb()` for
//! `fragheaderlen 20 + udp 8 + payload 64 + LL_RESERVED_SPACE(lo) 16 + 15 =
//! 123` bytes. `SKB_HEAD_ALIGN(123) = 128 + 320 = 448`.
//!
//! | kernel | where the 448 bytes come from | truesize |
//! |---|---|---|
//! | before 6.3 | `kmalloc-512` | 512 + 256 = **768** |
//! | 6.3 to 6.13, distro config | `skbuff_small_head`, 640 bytes | 896 |
//! | 6.14 on, distro config | `skbuff_small_head`, 704 bytes | 960 |
//! | 6.14 on, minimal config (the default here) | `skbuff_small_head`, 576 bytes | **832** |
//!
//! 832 is what this project's reference machine (Linux 6.18, a minimal
//! x86_64 config) reports in `/proc/net/udp`'s `rx_queue` for one such
//! datagram; 768 is the figure older kernels show in `ss`' Recv-Q.

/// `SMP_CACHE_BYTES` (= `L1_CACHE_BYTES`) on x86_64.
pub const SMP_CACHE_BYTES: usize = 64;

/// `PAGE_SIZE` on x86_64.
pub const PAGE_SIZE: usize = 4096;

/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`. With `MAX_SKB_FRAGS` =
/// 17 the struct is 48 bytes of fields plus 17 * 16-byte `skb_frag_t` = 320,
/// already a multiple of 64.
pub const SKB_SHINFO_SIZE: usize = 320;

/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))`: the struct is 232 bytes on a
/// distro x86_64 kernel (224 with fewer options), 256 once aligned.
pub const SKB_STRUCT_SIZE: usize = 256;

/// `KMALLOC_MAX_CACHE_SIZE` with SLUB: `1 << (PAGE_SHIFT + 1)`. Above this
/// kmalloc hands out whole pages (`kmalloc_large`).
pub const KMALLOC_MAX_CACHE_SIZE: usize = 8192;

/// `SKB_MAX_ALLOC` = `SKB_MAX_ORDER(0, 2)`: the largest linear buffer
/// (four pages less the shared info) that `__ip_append_data()` builds before
/// it switches to page fragments on a device that can gather.
pub const SKB_MAX_ALLOC: usize = (PAGE_SIZE << 2) - SKB_SHINFO_SIZE;

/// `KMALLOC_MAX_SIZE`: `1 << (MAX_PAGE_ORDER + PAGE_SHIFT)`, 4 MiB. Larger
/// requests fail, which is why a giant `alloc_skb()` returns an error.
pub const KMALLOC_MAX_SIZE: usize = 4 << 20;

/// `NET_SKB_PAD`: `max(32, L1_CACHE_BYTES)`.
pub const NET_SKB_PAD: usize = 64;

/// `NET_IP_ALIGN`: 0 on x86, which does unaligned loads cheaply.
pub const NET_IP_ALIGN: usize = 0;

/// `MAX_HEADER` for a minimal config: `LL_MAX_HEADER` 32 and no IP tunnels
/// (`include/linux/netdevice.h`).
pub const MAX_HEADER_MINIMAL: usize = 32;

/// `MAX_HEADER` for a typical distro config: `LL_MAX_HEADER` 128 (WLAN with
/// mesh, or Hyper-V) plus 48 because IP tunnels are enabled.
pub const MAX_HEADER_DISTRO: usize = 176;

/// `SKB_DATA_ALIGN(x)`: round up to a cache line. Saturates instead of
/// wrapping so absurd sizes fail the `KMALLOC_MAX_SIZE` check later.
pub const fn skb_data_align(x: usize) -> usize {
    x.saturating_add(SMP_CACHE_BYTES - 1) & !(SMP_CACHE_BYTES - 1)
}

/// `SKB_HEAD_ALIGN(x)`: what must be allocated for `x` bytes of head room
/// plus the `skb_shared_info` that lives after it.
pub const fn skb_head_align(x: usize) -> usize {
    skb_data_align(x).saturating_add(SKB_SHINFO_SIZE)
}

/// `SKB_WITH_OVERHEAD(x)`: the linear room an allocation of `x` bytes leaves
/// once `skb_shared_info` is carved off its end.
pub const fn skb_with_overhead(x: usize) -> usize {
    x.saturating_sub(SKB_SHINFO_SIZE)
}

/// `SKB_TRUESIZE(x)`: `x` bytes of linear room, the shared info after them
/// and the `struct sk_buff` itself.
pub const fn skb_truesize(x: usize) -> usize {
    x.saturating_add(SKB_STRUCT_SIZE)
        .saturating_add(SKB_SHINFO_SIZE)
}

/// `kmalloc_size_roundup()`: the size kmalloc really hands out for a
/// request. Small requests use the `kmalloc_size_index` table (8, 16, 32,
/// 64, 96, 128, 192), then powers of two up to `KMALLOC_MAX_CACHE_SIZE`,
/// then whole pages, `PAGE_SIZE << get_order(size)`, which for sizes above
/// two pages is again the next power of two. Requests kmalloc would refuse
/// are returned unchanged, as the kernel does.
pub fn kmalloc_size_roundup(size: usize) -> usize {
    const SMALL: [usize; 7] = [8, 16, 32, 64, 96, 128, 192];
    if size == 0 || size > KMALLOC_MAX_SIZE {
        return size;
    }
    if let Some(&class) = SMALL.iter().find(|&&c| size <= c) {
        return class;
    }
    // size <= KMALLOC_MAX_SIZE here, so this cannot overflow.
    size.next_power_of_two()
}

/// Which allocator `kmalloc_reserve()` sees: the kernel version and config
/// decide whether a `skbuff_small_head` slab exists and how big its objects
/// are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabModel {
    small_head_cache: Option<usize>,
}

impl SlabModel {
    /// Kernels before 6.3: every head comes from kmalloc.
    pub const KMALLOC_ONLY: SlabModel = SlabModel {
        small_head_cache: None,
    };

    /// The model used unless one is asked for: Linux 6.14 or later with a
    /// minimal config, which is what the reference machine runs (its
    /// `/sys/kernel/slab/skbuff_small_head/object_size` reads 576).
    pub const DEFAULT: SlabModel = SlabModel::linux_6_14(MAX_HEADER_MINIMAL);

    /// Linux 6.3 to 6.13 (commit bf9f1baa279f, "net: add dedicated
    /// kmem_cache for typical/small skb->head"): the small-head slab holds
    /// `SKB_HEAD_ALIGN(MAX_TCP_HEADER)`, `MAX_TCP_HEADER` being
    /// `L1_CACHE_ALIGN(128 + MAX_HEADER)` (`include/net/tcp.h`).
    pub const fn linux_6_3(max_header: usize) -> SlabModel {
        let max_tcp_header = skb_data_align(128 + max_header);
        SlabModel::with_small_head_cache(small_head_cache_size(skb_head_align(max_tcp_header)))
    }

    /// Linux 6.14 on ("net: allow small head cache usage with large
    /// MAX_SKB_FRAGS values"): the slab must also fit a GRO head,
    /// `SKB_HEAD_ALIGN(max(MAX_TCP_HEADER, GRO_MAX_HEAD_PAD))` with
    /// `GRO_MAX_HEAD_PAD = MAX_HEADER + 128 + NET_SKB_PAD + NET_IP_ALIGN`.
    pub const fn linux_6_14(max_header: usize) -> SlabModel {
        let max_tcp_header = skb_data_align(128 + max_header);
        let gro_max_head_pad = max_header + 128 + NET_SKB_PAD + NET_IP_ALIGN;
        let biggest = if max_tcp_header > gro_max_head_pad {
            max_tcp_header
        } else {
            gro_max_head_pad
        };
        SlabModel::with_small_head_cache(small_head_cache_size(skb_head_align(biggest)))
    }

    /// A small-head slab of a measured object size, e.g. read from
    /// `/sys/kernel/slab/skbuff_small_head/object_size` on the machine a
    /// differential test compares against.
    pub const fn with_small_head_cache(object_size: usize) -> SlabModel {
        SlabModel {
            small_head_cache: Some(object_size),
        }
    }

    /// `SKB_SMALL_HEAD_CACHE_SIZE`, if this kernel has the slab.
    pub const fn small_head_cache(&self) -> Option<usize> {
        self.small_head_cache
    }

    /// The bytes `kmalloc_reserve()` allocates for `skb->head` when
    /// `__alloc_skb()` is asked for `size` bytes of linear room.
    pub fn head_alloc_size(&self, size: usize) -> usize {
        let obj_size = skb_head_align(size);
        match self.small_head_cache {
            Some(cache) if obj_size <= cache => cache,
            _ => kmalloc_size_roundup(obj_size),
        }
    }

    /// The linear room (`skb_end_offset`) `__alloc_skb(size)` ends up with.
    pub fn linear_room_for(&self, size: usize) -> usize {
        skb_with_overhead(self.head_alloc_size(size))
    }

    /// `skb->truesize` right after `__alloc_skb(size)`.
    pub fn truesize_for(&self, size: usize) -> usize {
        skb_truesize(self.linear_room_for(size))
    }
}

impl Default for SlabModel {
    fn default() -> Self {
        SlabModel::DEFAULT
    }
}

/// `SKB_SMALL_HEAD_CACHE_SIZE`: the kernel keeps the slab's size off powers
/// of two so a head's size tells which allocator it came from.
const fn small_head_cache_size(small_head_size: usize) -> usize {
    if small_head_size.is_power_of_two() {
        small_head_size + SMP_CACHE_BYTES
    } else {
        small_head_size
    }
}

/// `skb->truesize` of a fresh `alloc_skb(size)` under [`SlabModel::DEFAULT`].
///
/// Worked example: a 64-byte UDP payload on loopback allocates
/// 20 + 8 + 64 + 16 + 15 = 123 bytes. `SKB_HEAD_ALIGN(123)` = 128 + 320 =
/// 448 fits the 576-byte small-head slab, leaving 576 - 320 = 256 bytes of
/// linear room, so truesize = `SKB_TRUESIZE(256)` = 256 + 256 + 320 = 832.
/// On a kernel before 6.3 the 448 bytes come from `kmalloc-512` instead and
/// truesize is 768 ([`SlabModel::KMALLOC_ONLY`]).
///
/// ```
/// use stack::skbuff::{SlabModel, skb_truesize_for};
/// assert_eq!(skb_truesize_for(123), 832);
/// assert_eq!(SlabModel::KMALLOC_ONLY.truesize_for(123), 768);
/// ```
pub fn skb_truesize_for(size: usize) -> usize {
    SlabModel::DEFAULT.truesize_for(size)
}
