//! The two lists at the heart of an epoll instance (`struct eventpoll` in
//! `fs/eventpoll.c`): the *interest list* (`ep->rbr`, a red-black tree of
//! `struct epitem` keyed by `struct epoll_filefd`) and the *ready list*
//! (`ep->rdllist`), with the three operations that touch them: `epoll_ctl`
//! (`ep_insert`, `ep_modify`, `ep_remove`), the wait-queue callback
//! (`ep_poll_callback`) and the scan of `epoll_wait` (`ep_send_events`).
//!
//! [`EventPollLists`] is the shape of that component. The stack's
//! [`Lists`] is the epoll lab's reference solution
//! (`labs/epoll/solution/src/eventpoll.rs`), compiled here: one source for
//! the stack and the lab; in the students' repository the stack compiles
//! their `labs/epoll/src/eventpoll.rs` instead. A [`crate::sim::Sim`] can be told to build its epoll
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

// The stack's own lists are the epoll lab's reference solution: one source
// for both. In the students' repository (`grader release`) this path is
// their `labs/epoll/src/eventpoll.rs`, so the stack, its examples and the
// book's snippets run on their lists (and stop with the lab's message
// until they are written).
#[path = "../../../labs/epoll/solution/src/eventpoll.rs"]
mod lab_epoll;

/// The stack's lists: the epoll lab's [`EventPoll`](lab_epoll::EventPoll),
/// a `BTreeMap` for the tree and a `VecDeque` for the ready list.
pub use lab_epoll::EventPoll as Lists;

impl Lists {
    /// The stack's default [`EventPollFactory`].
    pub fn boxed() -> Box<dyn EventPollLists> {
        Box::<Lists>::default()
    }
}
