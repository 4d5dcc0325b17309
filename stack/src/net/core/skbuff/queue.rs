//! `struct sk_buff_head`: the FIFO of skbs behind every socket receive
//! queue, device backlog and qdisc (`include/linux/skbuff.h`:
//! `skb_queue_tail`, `skb_dequeue`, `skb_peek`, `skb_queue_purge`).
//!
//! Simplified: a `VecDeque` instead of the kernel's doubly linked list with
//! its own spinlock; the model is single-threaded, so the locked and
//! unlocked (`__skb_*`) variants are the same thing. The byte and truesize
//! sums are not fields of `sk_buff_head` in the kernel (the socket keeps
//! `sk_rmem_alloc`); they are computed here on demand so a caller that
//! changes an skb through [`SkbQueue::peek_mut`] can never leave them stale.

use std::collections::VecDeque;

use super::SkBuff;

/// A queue of skbs, oldest first.
#[derive(Debug, Default)]
pub struct SkbQueue {
    list: VecDeque<SkBuff>,
}

impl SkbQueue {
    /// `skb_queue_head_init()`: an empty queue.
    pub fn new() -> SkbQueue {
        SkbQueue::default()
    }

    /// `skb_queue_len()`: the `qlen` field.
    pub fn qlen(&self) -> usize {
        self.list.len()
    }

    /// `skb_queue_empty()`.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sum of `skb->len` over the queue: the bytes a reader could get.
    pub fn bytes(&self) -> usize {
        self.list.iter().map(SkBuff::len).sum()
    }

    /// Sum of `skb->truesize` over the queue: the memory it pins, what
    /// `sk_rmem_alloc` counts for a receive queue.
    pub fn truesize(&self) -> usize {
        self.list.iter().map(SkBuff::truesize).sum()
    }

    /// `skb_queue_tail()`: append, newest last.
    pub fn queue_tail(&mut self, skb: SkBuff) {
        self.list.push_back(skb);
    }

    /// `skb_queue_head()`: put back at the front (used to requeue a
    /// partially handled skb).
    pub fn queue_head(&mut self, skb: SkBuff) {
        self.list.push_front(skb);
    }

    /// `skb_dequeue()`: take the oldest.
    pub fn dequeue(&mut self) -> Option<SkBuff> {
        self.list.pop_front()
    }

    /// `skb_dequeue_tail()`: take the newest.
    pub fn dequeue_tail(&mut self) -> Option<SkBuff> {
        self.list.pop_back()
    }

    /// `skb_peek()`: look at the oldest without taking it (`MSG_PEEK`).
    pub fn peek(&self) -> Option<&SkBuff> {
        self.list.front()
    }

    /// `skb_peek()` with the right to change the skb in place, as
    /// `udp_recvmsg` does not but TCP's receive path does (`skb_pull` on a
    /// partly read segment).
    pub fn peek_mut(&mut self) -> Option<&mut SkBuff> {
        self.list.front_mut()
    }

    /// `skb_peek_tail()`: look at the newest.
    pub fn peek_tail(&self) -> Option<&SkBuff> {
        self.list.back()
    }

    /// `skb_queue_purge()`: free every skb; returns how many there were.
    pub fn purge(&mut self) -> usize {
        let n = self.list.len();
        // Dropping each skb drops its reference to the data and so, for
        // the last reference, its pages: kfree_skb() for each.
        self.list.clear();
        n
    }

    /// `skb_queue_walk()`: oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SkBuff> {
        self.list.iter()
    }
}

impl<'a> IntoIterator for &'a SkbQueue {
    type Item = &'a SkBuff;
    type IntoIter = std::collections::vec_deque::Iter<'a, SkBuff>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
