//! TCP's side of `splice()` and `sendfile()` (`net/ipv4/tcp.c`): taking
//! pages instead of bytes on the way out (`tcp_sendmsg_locked()` with
//! `MSG_SPLICE_PAGES`, what `splice_to_socket()` sends with; the old
//! `do_tcp_sendpages()`), and handing the receive queue's pages to a pipe
//! on the way in (`tcp_splice_read()` → `tcp_read_sock()` →
//! `tcp_splice_data_recv()` → `skb_splice_bits()`).
//!
//! Out: each page fragment offered joins the tail segment of the write
//! queue as a fragment of its own (a new reference to the page,
//! `skb_append_pagefrags()`), or extends the last fragment when it
//! continues it in the same page; segments are cut at the size goal and
//! at `MAX_SKB_FRAGS`. The bytes are charged to `sk_wmem_queued` exactly as
//! copied bytes are, so a full send buffer blocks (or gives `EAGAIN` to a
//! non-blocking socket) the same way. On a device that cannot gather
//! (`NETIF_F_SG`), the kernel copies the pages instead; so does the
//! simulation, and counts it as a copy within the kernel.
//!
//! In: the receive queue's skbs are not copied out; their page fragments
//! are referenced by pipe buffers. Bytes an skb holds in its linear part
//! (a frame received into a linear buffer) are copied into a fresh page
//! first (`linear_to_page()`). Consumed skbs are freed and the window
//! reopened (`tcp_cleanup_rbuf()`) as after `recv()`.
//!
//! Simplified: `SPLICE_F_MORE` is not modelled (no corking: each call
//! pushes what it queued, as a send without `MSG_MORE` does); no
//! `tcp_splice_eof()`.

use std::task::Poll;

use crate::fs::pipe::{BufOps, PipeBuffer};
use crate::fs::pipe_ring::PipeBufRing;
use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::world::World;
use crate::net::core::receive_queue::RcvQueue;
use crate::net::core::skbuff::{PageFrag, SkBuff, SplicedPiece};
use crate::net::core::sock::RCV_SHUTDOWN;
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;

use super::{TCP_CLOSE, TCP_LISTEN, TxSeg};

/// How a send of pages ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// The call is over: the bytes queued, or the error.
    Done(Result<usize, Errno>),
    /// The process was put to sleep for send-buffer space (or the
    /// handshake) after queueing this many bytes.
    Sleeping(usize),
}

impl World {
    /// Whether the socket's route goes through a device that can gather
    /// page fragments (`sk->sk_route_caps & NETIF_F_SG`).
    fn sk_route_sg(&mut self, sk: SockId) -> bool {
        let Some(dst) = self.sk(sk).daddr else {
            return false;
        };
        let ns = self.sk(sk).netns;
        self.ip_route_output(ns, dst.ip()).is_ok_and(|rt| rt.dev_sg)
    }

    /// `tcp_sendmsg_locked()` with `MSG_SPLICE_PAGES`: queues the bytes of
    /// `bvec` as page references, as far as the send buffer allows, then
    /// pushes. Blocking: sleeps when the buffer is full (reporting what it
    /// queued first); non-blocking: returns what it queued, or `EAGAIN`.
    pub(crate) fn tcp_sendpages(
        &mut self,
        pid: Pid,
        sk: SockId,
        bvec: &[PageFrag],
        nonblock: bool,
    ) -> Sent {
        let total: usize = bvec.iter().map(PageFrag::len).sum();
        let sg = self.sk_route_sg(sk);
        let linear = (!sg).then(|| crate::net::core::skbuff::page::frags_to_vec(bvec));
        let mut copied = 0;
        loop {
            match self.tcp_send_gate(pid, sk, copied, copied == total, 0, nonblock) {
                Some(Poll::Ready(r)) => return Sent::Done(r),
                Some(Poll::Pending) => return Sent::Sleeping(copied),
                None => {}
            }
            let n = match &linear {
                None => self.tcp_append_frags(sk, bvec, copied),
                Some(bytes) => {
                    let (n, _) = self.tcp_append(sk, bytes, copied, None);
                    let host = self.sk(sk).host;
                    self.costs(host).copied_in_kernel += n as u64;
                    n
                }
            };
            copied += n;
        }
    }

    /// `skb_splice_from_iter()` into the write queue: appends the bytes of
    /// `bvec` after the first `skip` as fragments, a new page reference
    /// each unless it continues the last fragment in the same page; up to
    /// the size goal per segment and `MAX_SKB_FRAGS` fragments, while the
    /// send buffer has room. Returns the bytes taken.
    fn tcp_append_frags(&mut self, sk: SockId, bvec: &[PageFrag], mut skip: usize) -> usize {
        let host = self.sk(sk).host;
        let sndbuf = self.sk(sk).sndbuf;
        let idle_restart = self.tcp_slow_start_after_idle(sk);
        let now = self.now;
        let tp = self.tp_mut(sk);
        let goal = tp.size_goal() as usize;
        let mut taken = 0;
        let mut refs = 0u64;
        'pieces: for f in bvec {
            if skip >= f.len() {
                skip -= f.len();
                continue;
            }
            let mut off = std::mem::take(&mut skip);
            while off < f.len() {
                if tp.wmem_queued >= sndbuf {
                    break 'pieces;
                }
                let room = match tp.write_queue.back() {
                    Some(t) if t.appendable(goal) => goal - t.len(),
                    _ => {
                        let seg = TxSeg::empty(tp.write_seq);
                        tp.wmem_queued += seg.charge();
                        tp.write_queue.push_back(seg);
                        tp.tcp_slow_start_after_idle_check(idle_restart, now);
                        goal
                    }
                };
                let n = room.min(f.len() - off);
                let start = f.offset() + off;
                let tail = tp.write_queue.back_mut().expect("just ensured");
                let extended = match tail.frags.last_mut() {
                    Some(last)
                        if last.page().same_page(f.page())
                            && last.offset() + last.len() == start =>
                    {
                        PageFrag::new(last.page().clone(), last.offset(), last.len() + n)
                            .map(|grown| *last = grown)
                            .is_ok()
                    }
                    _ => false,
                };
                if !extended {
                    match PageFrag::new(f.page().get_page(), start, n) {
                        Ok(frag) => tail.frags.push(frag),
                        Err(_) => break 'pieces,
                    }
                    refs += 1;
                }
                tp.write_seq = tp.write_seq.wrapping_add(n as u32);
                tp.wmem_queued += n as u32;
                taken += n;
                off += n;
            }
        }
        self.costs(host).pages_referenced += refs;
        if taken > 0 {
            self.trace(host, Layer::Tcp, |w| {
                format!(
                    "tcp_sendmsg_locked(MSG_SPLICE_PAGES): {taken} B queued as {refs} page references, nothing copied (sk_wmem_queued {})",
                    w.tp(sk).wmem_queued
                )
            });
        }
        taken
    }

    /// `tcp_splice_read()`: moves up to `len` received bytes into `ring`
    /// as page references. Returns what it moved; 0 at the end of the
    /// stream; the pending error, `ENOTCONN` on a socket never connected,
    /// `EAGAIN` (non-blocking socket) or sleep when there is nothing yet.
    /// Only the socket's own `O_NONBLOCK` decides whether it waits for
    /// data, as in the kernel.
    pub(crate) fn tcp_splice_read(
        &mut self,
        pid: Pid,
        sk: SockId,
        ring: &mut dyn PipeBufRing,
        len: usize,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        if self.sk(sk).state == TCP_LISTEN {
            return Poll::Ready(Err(Errno::ENOTCONN));
        }
        let mut spliced = 0;
        let mut left = len;
        while left > 0 {
            let n = self.tcp_splice_some(sk, ring, left);
            if n == 0 {
                if spliced > 0 || self.tp(sk).fin_rcvd {
                    break;
                }
                if let Some(e) = self.sock_error(sk) {
                    return Poll::Ready(Err(e));
                }
                if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
                    break;
                }
                if self.sk(sk).state == TCP_CLOSE {
                    return Poll::Ready(Err(Errno::ENOTCONN));
                }
                if nonblock {
                    return Poll::Ready(Err(Errno::EAGAIN));
                }
                // Data there but nothing moved: the pipe is full.
                if !self.sk(sk).receive_queue.is_empty() {
                    break;
                }
                self.sleep_on(pid, sk, WaitFor::Data);
                return Poll::Pending;
            }
            spliced += n;
            left -= n;
            if left == 0 || nonblock {
                break;
            }
            // Let what arrived meanwhile in (release_sock(); lock_sock()).
            self.release_sock(sk);
            self.lock_sock(sk);
            let s = self.sk(sk);
            if s.err.is_some() || s.state == TCP_CLOSE || s.shutdown & RCV_SHUTDOWN != 0 {
                break;
            }
        }
        Poll::Ready(Ok(spliced))
    }

    /// `__tcp_splice_read()` → `tcp_read_sock()`: walks the receive queue
    /// from `copied_seq`, handing each skb's bytes to the pipe
    /// (`skb_splice_bits()`), freeing the skbs it finishes; stops when the
    /// pipe is full or `len` bytes moved. Returns the bytes moved.
    fn tcp_splice_some(&mut self, sk: SockId, ring: &mut dyn PipeBufRing, len: usize) -> usize {
        let host = self.sk(sk).host;
        let mut seq = self.tp(sk).copied_seq;
        let (mut moved, mut refs, mut linear) = (0usize, 0u64, 0u64);
        let s = self.sk_mut(sk);
        while moved < len && ring.space() > 0 {
            let Some((skb, offset)) = tcp_recv_skb(&s.receive_queue, seq) else {
                break;
            };
            let want = (skb.len() - offset).min(len - moved);
            let mut n = 0;
            for SplicedPiece { frag, copied } in skb.splice_bits(offset, want, ring.space()) {
                let (page_len, ops) = (
                    frag.len(),
                    if copied {
                        BufOps::Copied
                    } else {
                        BufOps::Socket
                    },
                );
                let buf = PipeBuffer::of_page(frag.page().clone(), frag.offset(), page_len, ops);
                if ring.push(buf).is_err() {
                    break;
                }
                if copied {
                    linear += page_len as u64;
                } else {
                    refs += 1;
                }
                n += page_len;
            }
            let whole = offset + n == skb.len();
            seq = seq.wrapping_add(n as u32);
            moved += n;
            if whole {
                s.receive_queue.dequeue();
            }
            if n < want {
                break;
            }
        }
        let tp = s.tcp.as_deref_mut().expect("tcp");
        tp.copied_seq = seq;
        // The FIN follows the last byte: reading up to it consumes it.
        if s.receive_queue.is_empty() && tp.fin_rcvd && tp.copied_seq.wrapping_add(1) == tp.rcv_nxt
        {
            tp.copied_seq = tp.rcv_nxt;
        }
        let c = self.costs(host);
        c.pages_referenced += refs;
        c.copied_in_kernel += linear;
        if moved > 0 {
            self.trace(host, Layer::Tcp, |w| {
                format!(
                    "tcp_splice_read: {moved} B moved to a pipe as {refs} page references (+{linear} B copied from linear skb data); {} B still queued",
                    w.tp(sk).rcv_nxt.wrapping_sub(w.tp(sk).copied_seq)
                )
            });
            self.tcp_cleanup_rbuf(sk);
        }
        moved
    }
}

/// `tcp_recv_skb()`: the skb at the head of the receive queue that holds
/// the byte numbered `seq`, and where in it that byte is. (The kernel also
/// frees a head skb read to its end; here a read already took it off.)
fn tcp_recv_skb(q: &RcvQueue, seq: u32) -> Option<(&SkBuff, usize)> {
    let skb = q.peek()?;
    let offset = seq.wrapping_sub(skb.cb.seq) as usize;
    (offset < skb.len()).then_some((skb, offset))
}
