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

// The stack compiles this file as one of its own modules: name the lab's
// types with `super::` and the stack's with `stack::`, never `crate::`.

// The skeleton leaves everything unused; delete this line when you are done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::VecDeque;

use super::{Errno, SkBuff};

/// `sk_receive_queue` with `sk_rmem_alloc`, `sk_rcvbuf` and `sk_drops`.
/// (The fields are a suggestion: change them as you like.)
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
        todo!("the queues lab: RcvQueue::new is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// `sk_rcvbuf`: the limit on `sk_rmem_alloc`.
    pub fn rcvbuf(&self) -> usize {
        todo!("the queues lab: RcvQueue::rcvbuf is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// `sk_rmem_alloc`: the `truesize` of every skb in the queue.
    pub fn rmem_alloc(&self) -> usize {
        todo!(
            "the queues lab: RcvQueue::rmem_alloc is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// `sk_drops`: skbs refused because the buffer was full.
    pub fn drops(&self) -> u64 {
        todo!("the queues lab: RcvQueue::drops is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// `skb_queue_len()`: how many skbs are queued.
    pub fn qlen(&self) -> usize {
        todo!("the queues lab: RcvQueue::qlen is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// True when no skb is queued.
    pub fn is_empty(&self) -> bool {
        todo!(
            "the queues lab: RcvQueue::is_empty is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// The payload bytes queued: the sum of `skb.len()`.
    pub fn bytes(&self) -> usize {
        todo!("the queues lab: RcvQueue::bytes is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// `__udp_enqueue_schedule_skb()`: queue `skb` at the tail and charge
    /// its `truesize`; or, by the rule above, count a drop, free the skb
    /// (`kfree_skb()`: here, let it go out of scope) and fail with
    /// `ENOMEM`, as the kernel function does.
    pub fn enqueue(&mut self, skb: SkBuff) -> Result<(), Errno> {
        todo!(
            "the queues lab: RcvQueue::enqueue is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// `skb_set_owner_r()` and `__skb_queue_tail()`: queue `skb` at the
    /// tail and charge its `truesize`, whatever the limit. For protocols
    /// that apply their own rule first: raw and netlink sockets
    /// (`__sock_queue_rcv_skb()`) refuse only once `sk_rmem_alloc` has
    /// reached `sk_rcvbuf`. [`Self::enqueue`] is UDP's rule, then this.
    pub fn queue_tail(&mut self, skb: SkBuff) {
        todo!(
            "the queues lab: RcvQueue::queue_tail is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// `setsockopt(SO_RCVBUF)`: a new `sk_rcvbuf`. What is queued stays,
    /// even above the new limit; the limit applies from the next skb.
    pub fn set_rcvbuf(&mut self, rcvbuf: usize) {
        todo!(
            "the queues lab: RcvQueue::set_rcvbuf is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// `skb_dequeue()` and the skb's release: take the oldest skb and
    /// uncharge its `truesize`.
    pub fn dequeue(&mut self) -> Option<SkBuff> {
        todo!(
            "the queues lab: RcvQueue::dequeue is yours to write, in labs/queues/src/rcv_queue.rs"
        )
    }

    /// `skb_peek()`: the oldest skb, left in place.
    pub fn peek(&self) -> Option<&SkBuff> {
        todo!("the queues lab: RcvQueue::peek is yours to write, in labs/queues/src/rcv_queue.rs")
    }

    /// The skb `n` places after the oldest (`get(0)` is [`Self::peek`]),
    /// as `skb_queue_walk()` reaches it.
    pub fn get(&self, n: usize) -> Option<&SkBuff> {
        todo!("the queues lab: RcvQueue::get is yours to write, in labs/queues/src/rcv_queue.rs")
    }
}
