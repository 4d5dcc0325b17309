//! A socket's receive queue and its memory accounting.
//!
//! Every socket keeps the skbs it has received and not yet handed to a
//! reader on `sk->sk_receive_queue`, oldest first (a `struct
//! sk_buff_head`, `include/linux/skbuff.h`). What they cost is not their
//! payload but their `truesize`: the payload, the buffer around it and the
//! `struct sk_buff` itself. A 100-byte datagram in a NIC's 2 KiB receive
//! buffer pins over 2 KiB. The socket sums the `truesize` of what it holds
//! in `sk_rmem_alloc` and compares that with `sk_rcvbuf` (twice the
//! `SO_RCVBUF` a program asks for, the other half being for bookkeeping).
//!
//! The rule for admitting a datagram is UDP's, in
//! `__udp_enqueue_schedule_skb()` (`net/ipv4/udp.c`). Since Linux 6.18:
//!
//! - if `sk_rmem_alloc + truesize` is at most `sk_rcvbuf`, queue it;
//! - otherwise, if the queue is empty (`sk_rmem_alloc` is 0), queue it
//!   anyway, so one datagram always gets through however small the
//!   buffer;
//! - otherwise drop it and count it (`sk_drops`, shown in the last column
//!   of `/proc/net/udp`, and `RcvbufErrors` in `nstat`).
//!
//! (Before 6.18 the test was whether `sk_rmem_alloc` was already *above*
//! `sk_rcvbuf`, which let any number of bytes in one datagram overshoot
//! the limit.)
//!
//! An skb's `truesize` stays charged until the skb leaves the queue and is
//! freed (`skb_orphan`/`sock_rfree`, `udp_rmem_release`): a reader that
//! takes part of a segment frees nothing.

use std::collections::VecDeque;

use super::{Errno, SkBuff};

/// `sk_receive_queue` with `sk_rmem_alloc`, `sk_rcvbuf` and `sk_drops`.
#[derive(Debug)]
pub struct RcvQueue {
    list: VecDeque<SkBuff>,
    rmem_alloc: usize,
    rcvbuf: usize,
    drops: u64,
}

impl RcvQueue {
    /// An empty queue whose socket has `sk_rcvbuf` = `rcvbuf` bytes.
    pub fn new(rcvbuf: usize) -> RcvQueue {
        RcvQueue {
            list: VecDeque::new(),
            rmem_alloc: 0,
            rcvbuf,
            drops: 0,
        }
    }

    /// `sk_rcvbuf`: the limit on `sk_rmem_alloc`.
    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf
    }

    /// `sk_rmem_alloc`: the `truesize` of every skb in the queue.
    pub fn rmem_alloc(&self) -> usize {
        self.rmem_alloc
    }

    /// `sk_drops`: skbs refused because the buffer was full.
    pub fn drops(&self) -> u64 {
        self.drops
    }

    /// `skb_queue_len()`: how many skbs are queued.
    pub fn qlen(&self) -> usize {
        self.list.len()
    }

    /// True when no skb is queued.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The payload bytes queued: the sum of `skb.len()`.
    pub fn bytes(&self) -> usize {
        self.list.iter().map(SkBuff::len).sum()
    }

    /// `__udp_enqueue_schedule_skb()`: queue `skb` at the tail and charge
    /// its `truesize`; or, by the rule above, count a drop, free the skb
    /// (`kfree_skb()`: here, let it go out of scope) and fail with
    /// `ENOMEM`, as the kernel function does.
    pub fn enqueue(&mut self, skb: SkBuff) -> Result<(), Errno> {
        let truesize = skb.truesize();
        if self.rmem_alloc != 0 && self.rmem_alloc + truesize > self.rcvbuf {
            self.drops += 1;
            return Err(Errno::ENOMEM);
        }
        self.queue_tail(skb);
        Ok(())
    }

    /// `skb_set_owner_r()` and `__skb_queue_tail()`: queue `skb` at the
    /// tail and charge its `truesize`, whatever the limit. For protocols
    /// that apply their own rule first: raw and netlink sockets
    /// (`__sock_queue_rcv_skb()`) refuse only once `sk_rmem_alloc` has
    /// reached `sk_rcvbuf`. [`Self::enqueue`] is UDP's rule, then this.
    pub fn queue_tail(&mut self, skb: SkBuff) {
        self.rmem_alloc += skb.truesize();
        self.list.push_back(skb);
    }

    /// `setsockopt(SO_RCVBUF)`: a new `sk_rcvbuf`. What is queued stays,
    /// even above the new limit; the limit applies from the next skb.
    pub fn set_rcvbuf(&mut self, rcvbuf: usize) {
        self.rcvbuf = rcvbuf;
    }

    /// `skb_dequeue()` and the skb's release: take the oldest skb and
    /// uncharge its `truesize`.
    pub fn dequeue(&mut self) -> Option<SkBuff> {
        let skb = self.list.pop_front()?;
        self.rmem_alloc -= skb.truesize();
        Some(skb)
    }

    /// `skb_peek()`: the oldest skb, left in place.
    pub fn peek(&self) -> Option<&SkBuff> {
        self.list.front()
    }

    /// The skb `n` places after the oldest (`get(0)` is [`Self::peek`]),
    /// as `skb_queue_walk()` reaches it.
    pub fn get(&self, n: usize) -> Option<&SkBuff> {
        self.list.get(n)
    }
}
