//! Zero-copy buffers on an skb: `struct ubuf_info_msgzc` and the skb
//! operations that carry, clone and give it up (`net/core/skbuff.c`:
//! `skb_zcopy_set()`, `skb_zcopy_clear()`, `msg_zerocopy_callback()`,
//! `skb_copy_ubufs()`, `skb_orphan_frags_rx()`; `include/linux/skbuff.h`).
//!
//! A `MSG_ZEROCOPY` send pins the process's pages and hangs them off the
//! skb as frags, instead of copying the bytes into kernel pages. The
//! process must not touch those pages until the kernel is done with them,
//! so the send is described by a `ubuf_info` that every skb holding the
//! pages references (`skb_shinfo(skb)->destructor_arg`). When the last
//! reference goes (`net_zcopy_put()` → `msg_zerocopy_callback()` →
//! `__msg_zerocopy_callback()`), a notification is queued on the sending
//! socket's error queue: "sends `id` to `id + len - 1` are complete".
//!
//! Whoever has to copy the pinned pages after all says so: a packet
//! delivered to a local socket (loopback) is copied before the receiver
//! sees it (`skb_orphan_frags_rx()` → `skb_copy_ubufs()`), which clears
//! the buffer's `zerocopy` bit, and the notification then carries
//! `SO_EE_CODE_ZEROCOPY_COPIED`.
//!
//! The reference count is an `Rc`: clones of an skb share its
//! `skb_shared_info`, and so one reference, as in the kernel; a private
//! copy of a shared head takes its own (`pskb_expand_head()`). Dropping
//! the last `Rc` is the kernel's `refcount_dec_and_test()`; the callback
//! needs the socket, which a `Drop` cannot reach, so the drop records the
//! completion in a list the kernel drains at the end of the system call
//! or event in progress (`World::zerocopy_run_callbacks()`): the same
//! instant of virtual time, before any process runs again.
//!
//! Simplified: no `mmpin` (`RLIMIT_MEMLOCK` accounting of pinned pages:
//! simulated processes run as root, which `CAP_IPC_LOCK` exempts), no
//! managed frags, no `MSG_SPLICE_PAGES` or io_uring buffers.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::{Page, PageFrag, SkBuff, SkbError};
use crate::kernel::ids::SockId;

/// A finished zero-copy range, reported by the last reference's drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZcDone {
    /// The socket that sent (`skb->sk` of the notification skb).
    pub(crate) sk: SockId,
    /// The first send's id (`uarg->id`).
    pub(crate) lo: u32,
    /// How many consecutive sends it covers (`uarg->len`, a `u16`).
    pub(crate) len: u16,
    /// Nobody had to copy the pages (`uarg->zerocopy`).
    pub(crate) zerocopy: bool,
    /// The notification skb's truesize, charged to `sk_omem_alloc`.
    pub(crate) truesize: u32,
}

/// Where dropped buffers report; shared by every `UbufInfo` of a world.
pub(crate) type ZcDoneList = Rc<Cell<Vec<ZcDone>>>;

// The ids, the buffers and the notifications are the zerocopy lab's
// reference solution: one source for both. In the students' repository
// (`grader release`) this path is their `labs/zerocopy/src/zerocopy_notify.rs`,
// so every `MSG_ZEROCOPY` send of the stack runs on their code.
// (The file's helpers the stack never calls, such as `ZcKey::new`, are the
// lab's tests'.)
#[allow(dead_code)]
#[path = "../../../../../labs/zerocopy/solution/src/zerocopy_notify.rs"]
pub(crate) mod notify;

pub(crate) use notify::{Realloc, Ubuf, ZcKey};

/// `struct ubuf_info_msgzc`: one or more consecutive `MSG_ZEROCOPY` sends
/// of a socket (their ids, bytes and `zerocopy` bit: the lab's [`Ubuf`]),
/// with the reference count and the socket. In the kernel it lives in the
/// control buffer of the skb that becomes the notification; that skb's
/// cost is `truesize`.
pub(crate) struct UbufInfo {
    sk: SockId,
    ubuf: Cell<Ubuf>,
    truesize: u32,
    done: ZcDoneList,
}

/// A counted reference to a `ubuf_info` (`net_zcopy_get()` is a clone,
/// `net_zcopy_put()` a drop).
pub(crate) type UbufRef = Rc<UbufInfo>;

impl UbufInfo {
    /// `msg_zerocopy_alloc()`'s buffer `ubuf` (from [`ZcKey::alloc`]),
    /// whose notification skb costs `truesize`.
    pub(crate) fn new(sk: SockId, ubuf: Ubuf, truesize: u32, done: ZcDoneList) -> UbufRef {
        Rc::new(UbufInfo {
            sk,
            ubuf: Cell::new(ubuf),
            truesize,
            done,
        })
    }

    /// The first id covered.
    pub(crate) fn id(&self) -> u32 {
        self.ubuf.get().id
    }

    /// The socket it belongs to.
    pub(crate) fn sk(&self) -> SockId {
        self.sk
    }

    /// Runs `f` on the buffer's ids and bytes (`msg_zerocopy_realloc()`
    /// appending a send, `msg_zerocopy_put_abort()` giving one back).
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Ubuf) -> R) -> R {
        let mut ubuf = self.ubuf.get();
        let r = f(&mut ubuf);
        self.ubuf.set(ubuf);
        r
    }

    /// `msg_zerocopy_complete()` of an skb whose pages were copied after
    /// all (`skb_copy_ubufs()`).
    pub(crate) fn set_copied(&self) {
        self.update(|u| u.complete(false));
    }
}

impl Drop for UbufInfo {
    /// The last reference: `refcount_dec_and_test()` succeeded, so
    /// `__msg_zerocopy_callback()` is due.
    fn drop(&mut self) {
        let ubuf = self.ubuf.get();
        let mut list = self.done.take();
        list.push(ZcDone {
            sk: self.sk,
            lo: ubuf.id,
            len: ubuf.len,
            zerocopy: ubuf.zerocopy,
            truesize: self.truesize,
        });
        self.done.set(list);
    }
}

impl fmt::Debug for UbufInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UbufInfo")
            .field("ubuf", &self.ubuf.get())
            .finish()
    }
}

impl SkBuff {
    /// `skb_zcopy()`: the zero-copy buffer this skb's frags belong to.
    pub(crate) fn zcopy(&self) -> Option<&UbufRef> {
        self.shared.zcopy.as_ref()
    }

    /// `skb_zcopy_set()`: the frags are (or will be) user pages of `uarg`;
    /// takes a reference. An skb already tied to a buffer keeps it.
    pub(crate) fn zcopy_set(&mut self, uarg: &UbufRef) {
        if self.shared.zcopy.is_none() {
            self.shared_mut().zcopy = Some(Rc::clone(uarg));
        }
    }

    /// Appends `frag` (a pinned user page) as paged data, charging
    /// `truesize` for it, as `__zerocopy_sg_from_iter()` does.
    pub(crate) fn add_user_frag(
        &mut self,
        frag: &PageFrag,
        truesize: usize,
    ) -> Result<(), SkbError> {
        self.add_rx_frag(frag.page().get_page(), frag.offset(), frag.len(), truesize)
    }

    /// `skb_copy_ubufs()`: copy the frags into fresh pages and let go of
    /// the user's (and of the zero-copy buffer, marked as copied). A head
    /// shared with a clone is made private first (`skb_unclone()`), which
    /// takes its own buffer reference that is then given up. Returns the
    /// bytes copied.
    pub(crate) fn copy_ubufs(&mut self) -> Result<usize, SkbError> {
        if self.shared.zcopy.is_none() {
            return Ok(0);
        }
        let pagelen: usize = self.frags().iter().map(PageFrag::len).sum();
        let mut bytes = vec![0u8; pagelen];
        let mut at = 0;
        for f in self.frags() {
            f.read(0, &mut bytes[at..at + f.len()])?;
            at += f.len();
        }
        let mut fresh = Vec::new();
        for chunk in bytes.chunks(super::PAGE_SIZE) {
            let page = Page::alloc();
            page.write(0, chunk)?;
            fresh.push(PageFrag::new(page, 0, chunk.len())?);
        }
        let sh = self.shared_mut();
        sh.frags = fresh;
        if let Some(uarg) = sh.zcopy.take() {
            // skb_zcopy_clear(skb, false)
            uarg.set_copied();
        }
        Ok(pagelen)
    }

    /// `skb_orphan_frags_rx()`: a packet about to be handed to a local
    /// socket must not keep another process's pages; 0 if it had none.
    pub(crate) fn orphan_frags_rx(&mut self) -> Result<usize, SkbError> {
        self.copy_ubufs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer for one send of 100 bytes with id `id`.
    fn ubuf(id: u32) -> Ubuf {
        ZcKey::new(id).alloc(100)
    }

    fn user_page(byte: u8) -> Page {
        let p = Page::alloc();
        p.write(0, &[byte; 100]).unwrap();
        p
    }

    #[test]
    fn the_last_reference_reports_and_a_copy_marks_it_copied() {
        let done = ZcDoneList::default();
        let uarg = UbufInfo::new(SockId(3), ubuf(7), 832, done.clone());
        let page = user_page(9);
        let mut a = SkBuff::alloc_skb(128).unwrap();
        a.add_user_frag(&PageFrag::new(page.get_page(), 0, 100).unwrap(), 4096)
            .unwrap();
        a.zcopy_set(&uarg);
        drop(uarg);
        // The clone shares the frags and the one buffer reference.
        let mut b = a.skb_clone();
        assert_eq!(page.page_count(), 2);
        // Delivered locally, the clone gets private pages and lets go.
        assert_eq!(b.orphan_frags_rx().unwrap(), 100);
        assert!(b.zcopy().is_none());
        assert_eq!(b.to_vec(), vec![9; 100]);
        assert_eq!(page.page_count(), 2, "the original still holds it");
        drop(b);
        assert!(done.take().is_empty(), "the original holds the buffer");
        drop(a);
        assert_eq!(page.page_count(), 1, "only our own handle is left");
        let d = done.take();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].lo, d[0].len, d[0].zerocopy), (7, 1, false));
    }

    #[test]
    fn an_skb_freed_without_a_copy_reports_zerocopy() {
        let done = ZcDoneList::default();
        let uarg = UbufInfo::new(SockId(3), ubuf(0), 832, done.clone());
        let mut key = ZcKey::new(1);
        let joined = uarg.update(|u| key.realloc(Some(u), 100, true));
        assert_eq!(joined, Realloc::Joined);
        let mut a = SkBuff::alloc_skb(128).unwrap();
        a.add_user_frag(&PageFrag::new(user_page(1), 0, 100).unwrap(), 4096)
            .unwrap();
        a.zcopy_set(&uarg);
        drop(uarg);
        assert_eq!(a.orphan_frags_rx().unwrap(), 100);
        let d = done.take();
        assert_eq!((d[0].lo, d[0].len, d[0].zerocopy), (0, 2, false));
        // Without a ubuf_info there is nothing to orphan.
        let mut plain = SkBuff::alloc_skb(128).unwrap();
        plain.add_copied_frags(&[1; 10]).unwrap();
        assert_eq!(plain.orphan_frags_rx().unwrap(), 0);
        let uarg = UbufInfo::new(SockId(3), ubuf(2), 832, done.clone());
        let mut c = SkBuff::alloc_skb(128).unwrap();
        c.zcopy_set(&uarg);
        drop(uarg);
        drop(c);
        assert!(done.take()[0].zerocopy, "freed after the NIC sent it");
    }
}
