//! `MSG_ZEROCOPY`: send from the process's own pages, and be told when
//! they are free again (`Documentation/networking/msg_zerocopy.rst`).
//!
//! Models `SO_ZEROCOPY` (`sk_setsockopt()`/`sk_getsockopt()`,
//! `net/core/sock.c`), the notification ids and their buffers
//! (`msg_zerocopy_alloc()`, `msg_zerocopy_realloc()`,
//! `msg_zerocopy_put_abort()`, `__msg_zerocopy_callback()`,
//! `net/core/skbuff.c`), their memory (`sock_omalloc()`/`sock_ofree()`,
//! charged to `sk_omem_alloc` against `net.core.optmem_max`), and the
//! `MSG_ZEROCOPY` branches of `tcp_sendmsg_locked()` (`net/ipv4/tcp.c`)
//! and `__ip_append_data()` (`net/ipv4/ip_output.c`).
//!
//! The story, as a process sees it:
//!
//! 1. `setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)` (TCP and UDP sockets;
//!    others get `EOPNOTSUPP`, values other than 0 and 1 `EINVAL`).
//!    Without it `MSG_ZEROCOPY` is silently ignored: the data is copied,
//!    and nothing is reported.
//! 2. `send(fd, buf, len, MSG_ZEROCOPY)`: the send gets the socket's next
//!    32-bit id (`sk_zckey`, from 0). If the route's device can gather
//!    (`NETIF_F_SG`), the pages of `buf` are pinned and the skbs' frags
//!    point at them: nothing is copied. Otherwise the bytes are copied as
//!    usual and the send is marked as copied. A TCP send that joins
//!    unsent data of the previous zero-copy send shares its buffer (the
//!    range simply grows by one id), up to 512 KiB.
//! 3. `send()` returns at once, but `buf` still belongs to the kernel: the
//!    skbs in the write queue (until the peer acknowledges them) and the
//!    copies in flight (until the NIC is done) reference its pages. When
//!    the last reference goes, a notification is queued on the socket's
//!    error queue: ids `ee_info..=ee_data`, `ee_origin`
//!    `SO_EE_ORIGIN_ZEROCOPY`, `ee_code` `SO_EE_CODE_ZEROCOPY_COPIED` if
//!    the kernel had to copy after all. A notification that follows the
//!    unread one at the tail of the queue merges into it. `poll()` reports
//!    `EPOLLERR`, and `recvmsg(MSG_ERRQUEUE)` reads it ([`crate::net::core::errqueue`]).
//! 4. On loopback the receiving socket must not keep the sender's pages,
//!    so the packet is copied on the way in (`skb_orphan_frags_rx()`): the
//!    notification says COPIED, and zero-copy there only costs.
//!
//! Each pending notification is an skb charged to the socket's option
//! memory (832 bytes on this machine), from the moment its first send
//! gets its id until the notification is read; a send finding
//! `sk_omem_alloc + SKB_TRUESIZE(0)` above `optmem_max` fails with
//! `ENOBUFS`. A process that never reads its error queue runs into this
//! only if notifications cannot merge (completions out of order).
//!
//! How the bytes get in: the simulation's user memory is the slice the
//! program passes, which the kernel cannot keep. So "pinning" a user page
//! here copies the bytes once into a [`crate::net::core::skbuff::Page`] that stands
//! for the user's page; that is the simulation's bookkeeping, not work the
//! modelled kernel does, and it is counted as `Costs::pages_pinned`, never
//! as `copied_from_user`. Every skb that carries the data then references
//! that page (`page_count()` shows how many), as the kernel's skbs
//! reference the user's page. A process cannot scribble on these pages
//! behind the kernel's back, so the simulation cannot show the corruption
//! that reusing a buffer too early causes on Linux; it shows instead that
//! the pages are still referenced until the notification.
//!
//! Simplified: each send pins its own pages, even when it sends the same
//! buffer again; a send buffer is taken to start on a page boundary; no
//! `RLIMIT_MEMLOCK` accounting (`mm_account_pinned_pages()`: simulated
//! processes are root, which `CAP_IPC_LOCK` exempts); no UDP corking
//! (`MSG_MORE`) nor GSO; the write-queue memory of a zero-copy segment is
//! charged like a copied one's.
//!
//! A folder of its own (the kernel spreads `MSG_ZEROCOPY` over
//! `net/core/skbuff.c`, `net/core/sock.c` and the protocols' send paths),
//! so the feature, its system calls and its tests read in one place.

mod pin;
mod syscalls;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::task::Poll;

pub(crate) use pin::{TxZc, ZcSend};
pub use syscalls::PinnedPages;

use crate::kernel::ids::{HostId, NetNsId, Pid, SockId};
use crate::kernel::wait::Wakeup;
use crate::kernel::world::World;
use crate::net::core::errqueue::{ErrSkb, SockExtendedErr};
use crate::net::core::skbuff::page::WeakPage;
use crate::net::core::skbuff::zerocopy::{Realloc, Ubuf, UbufInfo, UbufRef, ZcDone, ZcKey, notify};
use crate::net::core::skbuff::{SkBuff, skb_truesize, skb_truesize_for};
use crate::net::core::snmp::Mib;
use crate::net::core::sock::SockType;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// A socket's zero-copy state.
#[derive(Debug, Default)]
pub(crate) struct SockZerocopy {
    /// `SOCK_ZEROCOPY`: `SO_ZEROCOPY` is on.
    pub(crate) enabled: bool,
    /// `sk_zckey`: the id the next zero-copy send gets.
    pub(crate) zckey: ZcKey,
    /// Zero-copy `sendmsg()` calls asleep inside the kernel (for buffer
    /// space or the handshake), by caller: the buffer each holds and the
    /// pages it has pinned so far.
    pub(crate) sending: BTreeMap<Pid, ZcSend>,
    /// The user pages its zero-copy sends pinned, watched without being
    /// held, so what still references them can be shown.
    pub(crate) pinned: Vec<WeakPage>,
}

impl SockZerocopy {
    /// What `sk_clone_lock()` gives an accepted socket: the listener's
    /// `SOCK_ZEROCOPY`, and ids from 0 again.
    pub(crate) fn clone_for_child(&self) -> SockZerocopy {
        SockZerocopy {
            enabled: self.enabled,
            ..SockZerocopy::default()
        }
    }
}

/// The heart of `__msg_zerocopy_callback()`: what a completed range of
/// ids `lo..=lo+len-1` (`len` at least 1) does to the error queue whose
/// tail notification is `tail`. Returns the notification to queue, or
/// `None` when the range merged into `tail`. [`msg_zerocopy_notification`]
/// is the stack's own; the zerocopy lab plugs a student's in with
/// [`crate::sim::Sim::set_zerocopy_callback`].
pub type ZerocopyCallback = fn(
    tail: Option<&mut SockExtendedErr>,
    lo: u32,
    len: u16,
    zerocopy: bool,
) -> Option<SockExtendedErr>;

/// The stack's [`ZerocopyCallback`]: a notification `SO_EE_ORIGIN_ZEROCOPY`
/// for ids `lo..=hi`, `SO_EE_CODE_ZEROCOPY_COPIED` unless every send of
/// the range went out from the user's pages; merged into the tail
/// notification instead when that is a zero-copy one and
/// `skb_zerocopy_notify_extend()` accepts (the tail's `ee_code` stands).
pub fn msg_zerocopy_notification(
    tail: Option<&mut SockExtendedErr>,
    lo: u32,
    len: u16,
    zerocopy: bool,
) -> Option<SockExtendedErr> {
    let done = Ubuf {
        id: lo,
        len,
        bytelen: 0,
        zerocopy,
    };
    notify::msg_zerocopy_callback(tail, &done)
}

impl World {
    /// `setsockopt(SOL_SOCKET, SO_ZEROCOPY, val)`: only TCP and UDP
    /// sockets (`EOPNOTSUPP`), only 0 or 1 (`EINVAL`).
    pub(crate) fn sock_set_zerocopy(&mut self, sk: SockId, val: i32) -> Result<(), Errno> {
        // sk_setsockopt() allows it on TCP and UDP (every inet socket the
        // simulation makes), not on AF_UNIX.
        if self.is_unix(sk) {
            return Err(Errno::EOPNOTSUPP);
        }
        if !(0..=1).contains(&val) {
            return Err(Errno::EINVAL);
        }
        self.sk_mut(sk).zc.enabled = val == 1;
        Ok(())
    }

    /// `sock_omalloc(sk, 0)`: room in the option memory for one
    /// notification skb, or `None` past `optmem_max`. The check counts
    /// `SKB_TRUESIZE(0)`; what is charged is the real skb's truesize.
    fn sock_omalloc(&mut self, sk: SockId) -> Option<u32> {
        let ns = self.sk(sk).netns;
        let optmem_max = self.ns(ns).sysctl.optmem_max;
        let s = self.sk_mut(sk);
        if u64::from(s.omem_alloc) + skb_truesize(0) as u64 > u64::from(optmem_max) {
            return None;
        }
        let truesize = skb_truesize_for(0) as u32;
        s.omem_alloc += truesize;
        Some(truesize)
    }

    /// `sock_ofree()`: a notification skb is freed.
    pub(crate) fn sock_ofree(&mut self, sk: SockId, truesize: u32) {
        if let Some(s) = self.socks.get_mut(&sk) {
            s.omem_alloc = s.omem_alloc.saturating_sub(truesize);
        }
    }

    /// `msg_zerocopy_alloc()`: a new buffer for one send of `size` bytes,
    /// with the socket's next id; `None` (the caller's `ENOBUFS`) when the
    /// option memory is full.
    pub(crate) fn msg_zerocopy_alloc(&mut self, sk: SockId, size: usize) -> Option<UbufRef> {
        let truesize = self.sock_omalloc(sk)?;
        let s = self.sk_mut(sk);
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        let ubuf = s.zc.zckey.alloc(size);
        let id = ubuf.id;
        let host = s.host;
        let uarg = UbufInfo::new(sk, ubuf, truesize, self.zc_done.clone());
        self.trace(host, Layer::Sock, |w| {
            format!(
                "msg_zerocopy_alloc: zero-copy send id {id} ({size} B), notification skb charged: sk_omem_alloc {} of optmem_max {}",
                w.sk(sk).omem_alloc,
                w.ns(w.sk(sk).netns).sysctl.optmem_max
            )
        });
        Some(uarg)
    }

    /// `msg_zerocopy_realloc()`: a send of `size` bytes joins `tail` (the
    /// buffer of the unsent data it will be appended to) when `tail` holds
    /// the latest ids and stays under 512 KiB; otherwise it gets a new
    /// buffer. A datagram socket gives up (`None`) where TCP would start a
    /// new buffer.
    pub(crate) fn msg_zerocopy_realloc(
        &mut self,
        sk: SockId,
        size: usize,
        tail: Option<&UbufRef>,
    ) -> Option<UbufRef> {
        if let Some(uarg) = tail {
            let stream = self.sk(sk).ty == SockType::Stream;
            let mut key = self.sk(sk).zc.zckey;
            let size = u32::try_from(size).unwrap_or(u32::MAX);
            match uarg.update(|u| key.realloc(Some(u), size, stream)) {
                Realloc::Joined => {
                    let s = self.sk_mut(sk);
                    s.zc.zckey = key;
                    let host = s.host;
                    let next = key.next().wrapping_sub(1);
                    self.trace(host, Layer::Sock, |_w| {
                        format!(
                            "msg_zerocopy_realloc: send id {next} joins the unsent buffer of ids {}..={next}",
                            uarg.id()
                        )
                    });
                    return Some(UbufRef::clone(uarg));
                }
                Realloc::Refused => return None,
                // The new buffer's id is taken below, once the option
                // memory has room for it (msg_zerocopy_alloc()).
                Realloc::New(_) => {}
            }
        }
        self.msg_zerocopy_alloc(sk, size)
    }

    /// `msg_zerocopy_put_abort()`: the send failed before using its id,
    /// which goes back to the socket; the buffer reference is dropped (a
    /// buffer left with no send is released without a notification).
    pub(crate) fn msg_zerocopy_put_abort(&mut self, uarg: UbufRef) {
        match self.socks.get_mut(&uarg.sk()) {
            Some(s) => uarg.update(|u| s.zc.zckey.put_abort(u)),
            None => uarg.update(|u| u.len = u.len.saturating_sub(1)),
        }
    }

    /// Runs `__msg_zerocopy_callback()` for every buffer whose last
    /// reference went since the last call. The kernel runs it at the
    /// instant of the free; the simulation runs it at the end of the
    /// system call or event that freed it, before any process runs again.
    pub(crate) fn zerocopy_run_callbacks(&mut self) {
        loop {
            let done = self.zc_done.take();
            if done.is_empty() {
                return;
            }
            for d in done {
                self.msg_zerocopy_callback(d);
            }
        }
    }

    /// `__msg_zerocopy_callback()`: queue the notification for ids
    /// `lo..=lo+len-1` on the error queue, merged into the tail
    /// notification if it continues its range, and report it. A socket
    /// already closed (`SOCK_DEAD`), or a buffer whose sends all failed,
    /// gets none.
    fn msg_zerocopy_callback(&mut self, d: ZcDone) {
        let Some(s) = self.socks.get_mut(&d.sk) else {
            return;
        };
        if d.len == 0 || s.dead {
            self.sock_ofree(d.sk, d.truesize);
            return;
        }
        let hi = d.lo.wrapping_add(u32::from(d.len) - 1);
        let tail = s.error_queue.back_mut().map(|t| &mut t.ee);
        let queued = (self.zerocopy_callback)(tail, d.lo, d.len, d.zerocopy);
        let merged = queued.is_none();
        let s = self.sk_mut(d.sk);
        match queued {
            Some(ee) => s.error_queue.push_back(ErrSkb {
                ee,
                len: 0,
                omem: d.truesize,
            }),
            None => self.sock_ofree(d.sk, d.truesize),
        }
        let host = self.sk(d.sk).host;
        self.trace(host, Layer::Sock, |w| {
            let q = &w.sk(d.sk).error_queue;
            let tail = q.back().map(|t| (t.ee.ee_info, t.ee.ee_data));
            format!(
                "__msg_zerocopy_callback: ids {}..={hi} done{}; {} on the error queue ({} entr{}, tail {}..={}); sk_error_report",
                d.lo,
                if d.zerocopy { "" } else { " (copied)" },
                if merged { "merged into the tail notification" } else { "notification queued" },
                q.len(),
                if q.len() == 1 { "y" } else { "ies" },
                tail.map_or(0, |t| t.0),
                tail.map_or(0, |t| t.1),
            )
        });
        self.sk_wake(d.sk, Wakeup::ErrorReport);
    }

    /// `skb_orphan_frags_rx()` on the way to a local socket
    /// (`__netif_receive_skb_core()`, `ip_local_deliver_finish()`,
    /// `ip6_input_finish()`): user pages are copied out, counted as
    /// `copied_ubufs`. `None` if the copy failed and the packet was
    /// dropped.
    pub(crate) fn skb_orphan_frags_rx(
        &mut self,
        ns: NetNsId,
        host: HostId,
        mut skb: SkBuff,
    ) -> Option<SkBuff> {
        if skb.zcopy().is_none() {
            return Some(skb);
        }
        match skb.orphan_frags_rx() {
            Ok(n) => {
                self.costs(host).copied_ubufs += n as u64;
                self.trace(host, Layer::Ip, |_w| {
                    format!("skb_orphan_frags_rx: local delivery: skb_copy_ubufs copies {n} B of the sender's pinned pages; its notification will say COPIED")
                });
                Some(skb)
            }
            Err(_) => {
                self.ns_mut(ns).mib.inc(Mib::IpInDiscards);
                self.kfree_skb(skb);
                None
            }
        }
    }

    /// The `MSG_ZEROCOPY` branch at the top of `tcp_sendmsg_locked()`:
    /// with `SO_ZEROCOPY` on, the send gets its buffer (joining the one of
    /// the unsent tail segment if it can) before anything else is checked,
    /// so a full option memory gives `ENOBUFS` even on a socket that is
    /// not connected. A call resumed after sleeping gets back what it had.
    /// `None` if the send is an ordinary one.
    pub(crate) fn tcp_zerocopy_begin(
        &mut self,
        pid: Pid,
        sk: SockId,
        flags: i32,
        size: usize,
    ) -> Result<Option<ZcSend>, Errno> {
        if flags & MSG_ZEROCOPY == 0 || size == 0 {
            return Ok(None);
        }
        if let Some(z) = self.sk_mut(sk).zc.sending.remove(&pid) {
            return Ok(Some(z));
        }
        if !self.sk(sk).zc.enabled {
            return Ok(None);
        }
        let tail = self.tp(sk).write_queue.back().and_then(|t| {
            if t.sent_at.is_none() {
                t.zc.as_ref().map(|z| UbufRef::clone(&z.uarg))
            } else {
                None
            }
        });
        let uarg = self
            .msg_zerocopy_realloc(sk, size, tail.as_ref())
            .ok_or(Errno::ENOBUFS)?;
        // sk_route_caps & NETIF_F_SG: without it the data is copied, and
        // the notification will say so.
        let sg = match self.sk(sk).daddr {
            Some(d) => {
                let ns = self.sk(sk).netns;
                self.ip_route_output(ns, d.ip()).is_ok_and(|rt| rt.dev_sg)
            }
            None => false,
        };
        if !sg {
            uarg.set_copied();
        }
        Ok(Some(ZcSend::new(uarg, sg)))
    }

    /// The end of `tcp_sendmsg_locked()` for a zero-copy send: a call that
    /// sleeps keeps its buffer; one that returns drops its reference
    /// (`net_zcopy_put()`), or gives the id back if it failed without
    /// sending anything (`net_zcopy_put_abort()`).
    pub(crate) fn tcp_zerocopy_end(
        &mut self,
        pid: Pid,
        sk: SockId,
        zc: Option<ZcSend>,
        r: Poll<Result<usize, Errno>>,
    ) -> Poll<Result<usize, Errno>> {
        let Some(z) = zc else { return r };
        match &r {
            Poll::Pending => {
                if let Some(s) = self.socks.get_mut(&sk) {
                    s.zc.sending.insert(pid, z);
                }
            }
            Poll::Ready(Err(_)) => self.msg_zerocopy_put_abort(z.into_uarg()),
            Poll::Ready(Ok(_)) => {}
        }
        r
    }

    /// `getsockopt(SO_MEMINFO)` (`sk_get_meminfo()`): the socket's memory
    /// counters. Not modelled, so 0: `sk_forward_alloc` (no per-socket
    /// memory reservation) and the backlog's length (only ever filled inside
    /// a system call here).
    pub(crate) fn sk_get_meminfo(&self, sk: SockId) -> [u32; SK_MEMINFO_VARS] {
        let s = self.sk(sk);
        let mut m = [0u32; SK_MEMINFO_VARS];
        m[SK_MEMINFO_RMEM_ALLOC] = s.rmem_alloc();
        m[SK_MEMINFO_RCVBUF] = s.rcvbuf();
        m[SK_MEMINFO_WMEM_ALLOC] = s.wmem_alloc;
        m[SK_MEMINFO_SNDBUF] = s.sndbuf;
        m[SK_MEMINFO_WMEM_QUEUED] = s.tcp.as_ref().map_or(0, |tp| tp.wmem_queued);
        m[SK_MEMINFO_OPTMEM] = s.omem_alloc;
        m[SK_MEMINFO_DROPS] = s.sk_drops();
        m
    }
}
