//! Wait queues: where a process sleeps until something it needs happens.
//!
//! Models `wait_queue_head_t` (`include/linux/wait.h`, `kernel/sched/wait.c`).
//! A blocking `recvfrom()` on an empty socket adds an entry for its process
//! to the socket's wait queue and sleeps (`sk_wait_data`,
//! `__skb_wait_for_more_packets`); when a datagram is queued,
//! `sk_data_ready()` wakes every entry (`autoremove_wake_function`: the entry
//! leaves the queue as it is woken). Entries are kept in the order they were
//! added, as the kernel's list is.
//!
//! Simplified: an entry only wakes a process; epoll's callback entries
//! (`ep_poll_callback`) arrive with the multiplexing issue.

use crate::ids::Pid;

/// One sleeper on a wait queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEntry {
    /// A process sleeping in a blocking system call.
    Process(Pid),
}

/// A wait queue head.
#[derive(Clone, Debug, Default)]
pub(crate) struct WaitQueue {
    entries: Vec<WaitEntry>,
}

impl WaitQueue {
    /// `add_wait_queue`: idempotent, so a process polled twice waits once.
    pub(crate) fn add(&mut self, e: WaitEntry) {
        if !self.entries.contains(&e) {
            self.entries.push(e);
        }
    }

    /// `wake_up_interruptible_all` with autoremove entries: every sleeper
    /// leaves the queue and is returned, in queue order.
    pub(crate) fn wake_all(&mut self) -> Vec<WaitEntry> {
        std::mem::take(&mut self.entries)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_is_idempotent_and_wake_empties_in_order() {
        let mut q = WaitQueue::default();
        q.add(WaitEntry::Process(Pid(2)));
        q.add(WaitEntry::Process(Pid(1)));
        q.add(WaitEntry::Process(Pid(2)));
        assert_eq!(
            q.wake_all(),
            vec![WaitEntry::Process(Pid(2)), WaitEntry::Process(Pid(1))]
        );
        assert!(q.is_empty());
    }
}
