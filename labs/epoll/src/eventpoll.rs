//! The interest list and the ready list of one epoll instance
//! (`struct eventpoll`, `fs/eventpoll.c`). This is the file you complete.
//!
//! # What lives where
//!
//! In the kernel, `epoll_create1()` makes a `struct eventpoll` with
//! - `ep->rbr`: the *interest list*, a red-black tree of `struct epitem`,
//!   one per watched (file, fd) pair, keyed by `struct epoll_filefd`
//!   (here [`EpKey`]: file first, then fd);
//! - `ep->rdllist`: the *ready list*, the items that may have an event,
//!   each linked at most once (`ep_is_linked(epi)`);
//! - `ep->wq`: the wait queue where `epoll_wait()` callers sleep.
//!
//! The simulated stack keeps the wait queues, the fd checks and the
//! sleeping (`stack/src/fs/eventpoll.rs`); you keep the two lists and the
//! decisions that depend on them, behind the trait
//! [`EventPollLists`], one method per kernel function:
//!
//! | method | kernel | when |
//! |---|---|---|
//! | [`EventPollLists::insert`] | `ep_insert()` | `EPOLL_CTL_ADD` |
//! | [`EventPollLists::modify`] | `ep_modify()` | `EPOLL_CTL_MOD` |
//! | [`EventPollLists::remove`] | `ep_remove()` | `EPOLL_CTL_DEL`, last `close()` of the file |
//! | [`EventPollLists::poll_callback`] | `ep_poll_callback()` | the watched file's wait queue is woken |
//! | [`EventPollLists::send_events`] | `ep_send_events()` | `epoll_wait()` |
//!
//! # Polling a file
//!
//! You never see a file. Where the kernel calls `ep_item_poll()` (the
//! file's `->poll`, masked by the item's interest), you get a `poll`
//! function: `poll(key)` returns the file's readiness mask *now*
//! (`EPOLLIN`, `EPOLLOUT`, `EPOLLHUP`, …), unmasked; mask it with the
//! item's interest yourself. Each call costs one poll of one fd, and the
//! grader counts them: `epoll_wait()` must poll only the items on the ready
//! list, never the whole interest list. That is why epoll scales where
//! `select()` and `poll()` do not.
//!
//! # The rules (read `ep_poll_callback()` and `ep_send_events()`)
//!
//! - The interest mask always includes `EPOLLERR | EPOLLHUP` (added by
//!   `do_epoll_ctl()` on ADD and MOD).
//! - *Level-triggered* items that were reported go back on the ready list,
//!   at its end, so the next `epoll_wait()` polls them again.
//! - *Edge-triggered* items (`EPOLLET`) are reported once; only the next
//!   callback puts them on the ready list again.
//! - *One-shot* items (`EPOLLONESHOT`) are disabled after one report: their
//!   mask keeps only the private bits (`EP_PRIVATE_BITS`), so callbacks
//!   ignore them, until `EPOLL_CTL_MOD` re-arms them.
//! - The ready list is polled in order; an item that is no longer ready is
//!   dropped from it. With `maxevents` reached, the items not yet looked at
//!   stay on the ready list, in front of the level-triggered ones that went
//!   back (`ep_done_scan()` splices them at the head).
//! - `EPOLLEXCLUSIVE` items: see [`EventPollLists::poll_callback`].
//!
//! Pointers: `fs/eventpoll.c` (`do_epoll_ctl`, `ep_insert`, `ep_modify`,
//! `ep_remove`, `ep_poll_callback`, `ep_send_events`, `ep_done_scan`),
//! `include/uapi/linux/eventpoll.h` (the flags), `kernel/sched/wait.c`
//! (`__wake_up_common`: how a callback's return value stops a wakeup).

// The skeleton's imports are all used by the reference solution; an
// unfinished file would warn about them.
#![allow(unused_imports, dead_code, unused_variables)]

use std::collections::{BTreeMap, VecDeque};

use stack::errno::Errno;
use stack::eventpoll::EpollEvent;
use stack::eventpoll_lists::{Callback, EP_PRIVATE_BITS, EpKey, EventPollLists};
use stack::uapi::*;

/// `struct epitem`: one watched (file, fd). A suggestion: change it as you
/// like.
#[derive(Clone, Debug)]
struct EpItem {
    /// The interest mask with its flags (`EPOLLET`, `EPOLLONESHOT`,
    /// `EPOLLEXCLUSIVE`), `EPOLLERR | EPOLLHUP` included.
    events: u32,
    /// The caller's cookie, returned with each event.
    data: u64,
    /// On the ready list (`ep_is_linked`).
    linked: bool,
}

/// `struct eventpoll`, without its wait queues (the stack keeps those).
#[derive(Debug, Default)]
pub struct EventPoll {
    /// The interest list, in key order.
    items: BTreeMap<EpKey, EpItem>,
    /// The ready list, front first.
    rdllist: VecDeque<EpKey>,
}

impl EventPoll {
    /// An instance with nothing watched.
    pub fn new() -> EventPoll {
        EventPoll::default()
    }
}

impl EventPollLists for EventPoll {
    /// `EPOLL_CTL_ADD` (`ep_insert()`): `Err(Errno::EEXIST)` if `key` is on
    /// the interest list already. Otherwise add the item, watching
    /// `event.events | EPOLLERR | EPOLLHUP` with `event.data`; poll it once
    /// (the file may be ready already: a socket with data queued) and if
    /// the masked result is not 0, put it on the ready list. Return whether
    /// it was ready.
    fn insert(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        todo!(
            "the epoll lab: EventPoll::insert (ep_insert) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// `EPOLL_CTL_MOD` (`ep_modify()`): `Err(Errno::ENOENT)` if `key` is not
    /// on the interest list; `Err(Errno::EINVAL)` if the item was added with
    /// `EPOLLEXCLUSIVE` (`do_epoll_ctl()` refuses to modify those).
    /// Otherwise replace its interest (`| EPOLLERR | EPOLLHUP`) and data, then
    /// poll it as `insert` does: ready now means on the ready list now
    /// (this is how a disabled one-shot item is re-armed).
    fn modify(
        &mut self,
        key: EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        todo!(
            "the epoll lab: EventPoll::modify (ep_modify) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// `EPOLL_CTL_DEL` and the last `close()` of a watched file
    /// (`ep_remove()`): `Err(Errno::ENOENT)` if `key` is not on the interest
    /// list; otherwise it leaves the interest list *and* the ready list.
    fn remove(&mut self, key: EpKey) -> Result<(), Errno> {
        todo!(
            "the epoll lab: EventPoll::remove (ep_remove) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// `ep_poll_callback()`: the watched file's wait queue was woken.
    ///
    /// `pollflags` is the wakeup's key: what happened (`EPOLLIN | …` from
    /// `sk_data_ready`, `EPOLLOUT | …` from `sk_write_space`, `EPOLLERR`,
    /// or 0 for "no key", as a state change wakes: 0 concerns every item).
    /// `has_waiter`: a process sleeps in `epoll_wait()` on this instance.
    ///
    /// - Unknown `key`: `queued: false, ewake: false`.
    /// - A disabled item (one-shot, already reported: no event bits left
    ///   outside `EP_PRIVATE_BITS`), or a keyed wakeup for nothing the item
    ///   watches (`pollflags != 0 && pollflags & events == 0`): not queued;
    ///   `ewake` is true unless the item is exclusive.
    /// - Otherwise the item goes on the ready list (once: if it is linked,
    ///   it stays where it is) and `queued` is true. `ewake` is true for a
    ///   normal item. For an `EPOLLEXCLUSIVE` item it says whether a waiter
    ///   was really woken for this event, because that is what stops the
    ///   wakeup at the first exclusive entry on the file's wait queue
    ///   (`__wake_up_common`): false without a waiter; with one, true if
    ///   `pollflags & (EPOLLIN | EPOLLOUT)` is `EPOLLIN` and the item
    ///   watches `EPOLLIN`, or is `EPOLLOUT` and it watches `EPOLLOUT`, or
    ///   is 0; false otherwise (both bits: the kernel does not know which
    ///   waiter it served).
    fn poll_callback(&mut self, key: EpKey, pollflags: u32, has_waiter: bool) -> Callback {
        todo!(
            "the epoll lab: EventPoll::poll_callback (ep_poll_callback) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// `ep_send_events()`: the events for `epoll_wait()`, at most
    /// `maxevents`.
    ///
    /// Take the ready list; for each item in order, until `maxevents`
    /// events: unlink it, poll it (masked by its interest); if 0, it is
    /// dropped; otherwise report `EpollEvent { events: revents, data }`,
    /// then disable it if one-shot, put it back (at the end, after the
    /// items not reached) if level-triggered, leave it off if
    /// edge-triggered. Poll nothing that is not on the ready list.
    fn send_events(
        &mut self,
        maxevents: usize,
        poll: &mut dyn FnMut(EpKey) -> u32,
    ) -> Vec<EpollEvent> {
        todo!(
            "the epoll lab: EventPoll::send_events (ep_send_events) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// The ready list, front first (the stack asks whether it is empty,
    /// and `poll()` of the epoll fd itself looks at what is on it).
    fn ready_list(&self) -> Vec<EpKey> {
        todo!(
            "the epoll lab: EventPoll::ready_list (the ready list) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// The item's interest (its mask with the flags, `EPOLLERR | EPOLLHUP`
    /// included, and its data), if `key` is on the interest list.
    fn interest(&self, key: EpKey) -> Option<EpollEvent> {
        todo!(
            "the epoll lab: EventPoll::interest (the interest of an item) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }

    /// The interest list, in key order (file, then fd).
    fn keys(&self) -> Vec<EpKey> {
        todo!(
            "the epoll lab: EventPoll::keys (the interest list) is yours to write, in labs/epoll/src/eventpoll.rs"
        )
    }
}
