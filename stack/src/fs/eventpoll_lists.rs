//! The two lists at the heart of an epoll instance (`struct eventpoll` in
//! `fs/eventpoll.c`): the *interest list* (`ep->rbr`, a red-black tree of
//! `struct epitem` keyed by `struct epoll_filefd`) and the *ready list*
//! (`ep->rdllist`), with the three operations that touch them: `epoll_ctl`
//! (`ep_insert`, `ep_modify`, `ep_remove`), the wait-queue callback
//! (`ep_poll_callback`) and the scan of `epoll_wait` (`ep_send_events`).
//!
//! [`EventPollLists`] is the shape of that component: the stack's own
//! [`Lists`] implements it, and so does the epoll lab's solution
//! (`labs/epoll`). A [`crate::sim::Sim`] can be told to build its epoll
//! instances from any implementation ([`crate::sim::Sim::set_eventpoll`]),
//! so a student's lists run inside the full stack. Everything around the
//! lists stays in [`crate::fs::eventpoll`]: the fd and file checks of
//! `epoll_ctl`, hooking the callback onto the watched file's wait queue,
//! waking `epoll_wait()` callers, the timeout, the cost counters.
//!
//! The lists never see a file: they ask a `poll` function (the file's
//! `->poll`, `vfs_poll()`) for the readiness mask of a key, and mask it with
//! the item's interest themselves (`ep_item_poll()`).
//!
//! A part of `fs/eventpoll.c` in its own module because it is the epoll
//! lab's component: the interface a student's implementation fills.

use std::collections::{BTreeMap, VecDeque};

use crate::uapi::EpollEvent;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// `EP_PRIVATE_BITS`: flags that say how to report, not what.
pub const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;

/// Which item: `struct epoll_filefd`, the open file and the fd number it
/// was added through. Items are kept in this order (file, then fd), as the
/// kernel's tree is (`ep_cmp_ffd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpKey {
    /// The open file description (`struct file *`), as a number.
    pub file: u64,
    /// The fd number passed to `EPOLL_CTL_ADD`.
    pub fd: i32,
}

/// What `ep_poll_callback()` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callback {
    /// The item is on the ready list because of this wakeup (it may have
    /// been there already): the instance's waiters are to be told.
    pub queued: bool,
    /// The return value of `ep_poll_callback()`: whether this counts as a
    /// wakeup, which for an `EPOLLEXCLUSIVE` entry ends the walk of the
    /// watched file's wait queue (`__wake_up_common`).
    pub ewake: bool,
}

/// The interest list and the ready list of one epoll instance.
///
/// `poll` arguments are the watched file's `->poll`: the file's readiness
/// mask now, unmasked. Each call costs one poll of one fd
/// ([`crate::kernel::host::Costs::fds_polled`]).
pub trait EventPollLists {
    /// `EPOLL_CTL_ADD` (`ep_insert`): `EEXIST` if `key` is on the interest
    /// list; otherwise add it, watching `event.events | EPOLLERR | EPOLLHUP`,
    /// poll it once, and if it is ready put it on the ready list. Returns
    /// whether it is ready (the caller then wakes the instance's waiters).
    fn insert(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno>;

    /// `EPOLL_CTL_MOD` (`ep_modify`): `ENOENT` if `key` is not on the
    /// interest list, `EINVAL` if the item was added with `EPOLLEXCLUSIVE`;
    /// otherwise the new interest (plus `EPOLLERR | EPOLLHUP`) and data,
    /// then as in [`EventPollLists::insert`]: ready now means on the ready
    /// list now.
    fn modify(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno>;

    /// `EPOLL_CTL_DEL` and `eventpoll_release` (`ep_remove`): `ENOENT` if
    /// `key` is not on the interest list; otherwise it leaves both lists.
    fn remove(&mut self, key: EpKey) -> Result<(), Errno>;

    /// `ep_poll_callback()`: the watched file's wait queue was woken with
    /// `pollflags` (the wakeup's key; 0 means "no key", which concerns
    /// everyone). `has_waiter`: a process sleeps in `epoll_wait()` on this
    /// instance.
    fn poll_callback(&mut self, key: EpKey, pollflags: u32, has_waiter: bool) -> Callback;

    /// `ep_send_events()`: the events of `epoll_wait()`, at most
    /// `maxevents`, polling only the items on the ready list.
    fn send_events(
        &mut self,
        maxevents: usize,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Vec<EpollEvent>;

    /// The ready list, front first.
    fn ready_list(&self) -> Vec<EpKey>;

    /// The item's interest (its mask, with the flags, and its data), if
    /// `key` is on the interest list.
    fn interest(&self, key: EpKey) -> Option<EpollEvent>;

    /// The interest list, in key order.
    fn keys(&self) -> Vec<EpKey>;
}

/// Builds the lists of a new epoll instance.
pub type EventPollFactory = fn() -> Box<dyn EventPollLists>;

/// `struct epitem`: one watched (file, fd).
#[derive(Clone, Debug)]
struct EpItem {
    /// The interest mask, with `EPOLLERR | EPOLLHUP` added.
    events: u32,
    data: u64,
    /// On the ready list (`ep_is_linked`).
    linked: bool,
}

/// The stack's own lists: a `BTreeMap` for the tree, a `VecDeque` for the
/// ready list, a flag per item for "linked".
#[derive(Debug, Default)]
pub struct Lists {
    items: BTreeMap<EpKey, EpItem>,
    rdllist: VecDeque<EpKey>,
}

impl Lists {
    /// The stack's default [`EventPollFactory`].
    pub fn boxed() -> Box<dyn EventPollLists> {
        Box::<Lists>::default()
    }

    /// Links an item unless it is linked (`list_add_tail` after
    /// `ep_is_linked`).
    fn link(&mut self, key: EpKey) {
        if let Some(item) = self.items.get_mut(&key)
            && !item.linked
        {
            item.linked = true;
            self.rdllist.push_back(key);
        }
    }

    /// `ep_item_poll()`: the file's mask, through the interest.
    fn item_poll(&self, key: EpKey, poll: &mut dyn FnMut(EpKey) -> u32) -> u32 {
        match self.items.get(&key) {
            Some(item) => poll(key) & item.events,
            None => 0,
        }
    }

    fn make_ready_if_polled(&mut self, key: EpKey, poll: &mut dyn FnMut(EpKey) -> u32) -> bool {
        let ready = self.item_poll(key, poll) != 0;
        if ready {
            self.link(key);
        }
        ready
    }
}

impl EventPollLists for Lists {
    fn insert(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        if self.items.contains_key(&key) {
            return Err(Errno::EEXIST);
        }
        self.items.insert(
            key,
            EpItem {
                events: event.events | EPOLLERR | EPOLLHUP,
                data: event.data,
                linked: false,
            },
        );
        Ok(self.make_ready_if_polled(key, poll))
    }

    fn modify(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        let item = self.items.get_mut(&key).ok_or(Errno::ENOENT)?;
        if item.events & EPOLLEXCLUSIVE != 0 {
            return Err(Errno::EINVAL);
        }
        item.events = event.events | EPOLLERR | EPOLLHUP;
        item.data = event.data;
        Ok(self.make_ready_if_polled(key, poll))
    }

    fn remove(&mut self, key: EpKey) -> Result<(), Errno> {
        self.items.remove(&key).ok_or(Errno::ENOENT)?;
        self.rdllist.retain(|&k| k != key);
        Ok(())
    }

    fn poll_callback(&mut self, key: EpKey, pollflags: u32, has_waiter: bool) -> Callback {
        let Some(item) = self.items.get(&key) else {
            return Callback {
                queued: false,
                ewake: false,
            };
        };
        let events = item.events;
        let exclusive = events & EPOLLEXCLUSIVE != 0;
        // A disabled one-shot item, or a wakeup for something the item
        // does not watch: not queued, and not a wakeup that counts.
        let disabled = events & !EP_PRIVATE_BITS == 0;
        if disabled || (pollflags != 0 && pollflags & events == 0) {
            return Callback {
                queued: false,
                ewake: !exclusive,
            };
        }
        self.link(key);
        let mut ewake = !exclusive;
        if has_waiter && exclusive {
            // An exclusive item counts only when it wakes a waiter for
            // what happened.
            ewake = match pollflags & (EPOLLIN | EPOLLOUT) {
                EPOLLIN => events & EPOLLIN != 0,
                EPOLLOUT => events & EPOLLOUT != 0,
                0 => true,
                _ => false,
            };
        }
        Callback {
            queued: true,
            ewake,
        }
    }

    fn send_events(
        &mut self,
        maxevents: usize,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Vec<EpollEvent> {
        let mut txlist = std::mem::take(&mut self.rdllist);
        let mut out = Vec::new();
        let mut again = VecDeque::new();
        while out.len() < maxevents {
            let Some(key) = txlist.pop_front() else { break };
            if let Some(item) = self.items.get_mut(&key) {
                item.linked = false;
            }
            let revents = self.item_poll(key, poll);
            if revents == 0 {
                continue;
            }
            let Some(item) = self.items.get_mut(&key) else {
                continue;
            };
            out.push(EpollEvent {
                events: revents,
                data: item.data,
            });
            if item.events & EPOLLONESHOT != 0 {
                item.events &= EP_PRIVATE_BITS;
            } else if item.events & EPOLLET == 0 {
                item.linked = true;
                again.push_back(key);
            }
        }
        // ep_done_scan: the items not reached go back first, the
        // level-triggered ones after them.
        txlist.extend(again);
        self.rdllist = txlist;
        out
    }

    fn ready_list(&self) -> Vec<EpKey> {
        self.rdllist.iter().copied().collect()
    }

    fn interest(&self, key: EpKey) -> Option<EpollEvent> {
        self.items.get(&key).map(|i| EpollEvent {
            events: i.events,
            data: i.data,
        })
    }

    fn keys(&self) -> Vec<EpKey> {
        self.items.keys().copied().collect()
    }
}
