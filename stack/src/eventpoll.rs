//! epoll (`fs/eventpoll.c`): readiness delivered by the objects themselves.
//!
//! An epoll instance (`struct eventpoll`) keeps an *interest list* (the
//! red-black tree `ep->rbr` of `struct epitem`s, one per watched (file, fd)
//! pair) and a *ready list* (`ep->rdllist`). `EPOLL_CTL_ADD` hooks a
//! callback entry (`ep_poll_callback`) onto the watched file's wait queue,
//! once. From then on the *file* does the work: when a socket's state
//! changes, its wakeup runs the callback, which puts the item on the ready
//! list and wakes one `epoll_wait()` caller. `epoll_wait()` then looks only
//! at the ready list: its cost grows with the number of ready fds, not with
//! the number watched, which is the whole point next to `select()` and
//! `poll()` (see [`crate::select`]).
//!
//! The rules a user can see, as the kernel has them:
//! - Level-triggered items go back on the ready list after being reported
//!   (`ep_send_events`), so the next `epoll_wait()` polls them again and
//!   reports them for as long as they stay ready. Edge-triggered (`EPOLLET`)
//!   items are reported once per wakeup of the file: a reader that does not
//!   drain to `EAGAIN` is not told again.
//! - `EPOLLONESHOT` disables the item after one report, until
//!   `EPOLL_CTL_MOD`.
//! - `EPOLLEXCLUSIVE` hooks the callback exclusively: among several epoll
//!   instances watching one file, a wakeup stops at the first one that has a
//!   waiter to wake.
//! - `EPOLLERR` and `EPOLLHUP` are always watched.
//! - An item belongs to the open file description, not the fd number: after
//!   `dup()` and `close()` of the registered fd the item lives on (and
//!   reports the old fd's data) until the last fd of the file is closed
//!   (`eventpoll_release`), and `EPOLL_CTL_DEL` on the closed number fails
//!   with `EBADF`.
//!
//! Simplified: no `ovflist` (nothing runs concurrently with a scan), no
//! wakeup sources (`EPOLLWAKEUP` is accepted and ignored), no
//! `max_user_watches` limit, no busy polling.

use std::collections::{BTreeMap, VecDeque};
use std::task::Poll;

use crate::errno::Errno;
use crate::fs::FileKind;
use crate::ids::{FileId, HostId, Pid};
use crate::sim::World;
use crate::sim::event::Event;
use crate::sim::time::Nanos;
use crate::syscalls::{Process, SysResult};
use crate::task::WaitFor;
use crate::trace::Layer;
use crate::uapi::*;
use crate::wait::{WaitEntry, WaitObj, WaitQueue, Wakeup};

/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = 3;
/// `EPOLL_CLOEXEC`, the same bit as `O_CLOEXEC`.
pub const EPOLL_CLOEXEC: i32 = 0o2000000;

/// `EP_PRIVATE_BITS`: flags that say how to report, not what.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// `EPOLLEXCLUSIVE_OK_BITS`: what may accompany `EPOLLEXCLUSIVE`.
const EPOLLEXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// `EP_MAX_EVENTS`: `INT_MAX / sizeof(struct epoll_event)`.
const EP_MAX_EVENTS: i32 = i32::MAX / EPOLL_EVENT_SIZE as i32;
/// `sizeof(struct epoll_event)` on x86-64, where it is packed.
const EPOLL_EVENT_SIZE: u64 = 12;

/// `struct epoll_event`: what to watch (or what happened) and the caller's
/// cookie, returned untouched with each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollEvent {
    /// `EPOLLIN`, `EPOLLOUT`, … and the flags `EPOLLET`, `EPOLLONESHOT`,
    /// `EPOLLEXCLUSIVE`.
    pub events: u32,
    /// `epoll_data`: usually the fd.
    pub data: u64,
}

/// `struct epitem`: one watched (file, fd).
#[derive(Clone, Debug)]
pub(crate) struct EpItem {
    /// The interest mask, with `EPOLLERR | EPOLLHUP` added.
    events: u32,
    data: u64,
    /// On the ready list (`ep_is_linked`).
    linked: bool,
}

/// `struct eventpoll`.
#[derive(Debug)]
pub(crate) struct EventPoll {
    pub(crate) host: HostId,
    /// The interest list, in the kernel's key order (file, then fd).
    items: BTreeMap<(FileId, i32), EpItem>,
    /// The ready list.
    rdllist: VecDeque<(FileId, i32)>,
    /// `ep->wq`: callers of `epoll_wait()`, exclusive.
    pub(crate) wq: WaitQueue,
    /// `ep->poll_wait`: those who poll the epoll fd itself.
    pub(crate) poll_wait: WaitQueue,
}

impl EventPoll {
    fn new(host: HostId) -> EventPoll {
        EventPoll {
            host,
            items: BTreeMap::new(),
            rdllist: VecDeque::new(),
            wq: WaitQueue::default(),
            poll_wait: WaitQueue::default(),
        }
    }
}

impl World {
    fn ep(&mut self, ep: FileId) -> &mut EventPoll {
        self.epolls.get_mut(&ep).expect("live epoll")
    }

    /// `do_epoll_create()`.
    pub(crate) fn sys_epoll_create1(&mut self, pid: Pid, flags: i32) -> Result<i32, Errno> {
        if flags & !EPOLL_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let host = self.task(pid).host;
        let (fd, file) = self.anon_inode_getfd(pid, FileKind::Epoll, flags & EPOLL_CLOEXEC != 0)?;
        self.epolls.insert(file, EventPoll::new(host));
        Ok(fd)
    }

    /// `epoll_ctl(epfd, op, fd, event)`, checks in the kernel's order.
    pub(crate) fn sys_epoll_ctl(
        &mut self,
        pid: Pid,
        epfd: i32,
        op: i32,
        fd: i32,
        event: Option<EpollEvent>,
    ) -> Result<(), Errno> {
        let has_event = op != EPOLL_CTL_DEL;
        let mut ev = match (has_event, event) {
            (true, None) => return Err(Errno::EFAULT),
            (_, e) => e.unwrap_or(EpollEvent { events: 0, data: 0 }),
        };
        let host = self.task(pid).host;
        if has_event {
            self.costs(host).copied_from_user += EPOLL_EVENT_SIZE;
        }
        let ep = self.task(pid).files.get(epfd)?;
        let tf = self.task(pid).files.get(fd)?;
        if !self.file_can_poll(tf) {
            return Err(Errno::EPERM);
        }
        if ep == tf || !self.epolls.contains_key(&ep) {
            return Err(Errno::EINVAL);
        }
        let target_is_epoll = self.epolls.contains_key(&tf);
        if has_event && ev.events & EPOLLEXCLUSIVE != 0 {
            if op == EPOLL_CTL_MOD {
                return Err(Errno::EINVAL);
            }
            if op == EPOLL_CTL_ADD && (target_is_epoll || ev.events & !EPOLLEXCLUSIVE_OK_BITS != 0)
            {
                return Err(Errno::EINVAL);
            }
        }
        if op == EPOLL_CTL_ADD && target_is_epoll && self.ep_reaches(tf, ep) {
            return Err(Errno::ELOOP);
        }
        let key = (tf, fd);
        let exists = self.ep(ep).items.contains_key(&key);
        match op {
            EPOLL_CTL_ADD if exists => Err(Errno::EEXIST),
            EPOLL_CTL_ADD => {
                ev.events |= EPOLLERR | EPOLLHUP;
                self.ep_insert(host, ep, key, ev);
                Ok(())
            }
            EPOLL_CTL_DEL | EPOLL_CTL_MOD if !exists => Err(Errno::ENOENT),
            EPOLL_CTL_DEL => {
                self.ep_remove(ep, key);
                Ok(())
            }
            EPOLL_CTL_MOD => {
                if self.ep(ep).items[&key].events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                ev.events |= EPOLLERR | EPOLLHUP;
                self.ep_modify(host, ep, key, ev);
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `file_can_poll()`: every file kind the simulation has so far can.
    fn file_can_poll(&self, file: FileId) -> bool {
        // A regular file has no ->poll (epoll_ctl() says EPERM).
        self.files
            .get(&file)
            .is_some_and(|f| !matches!(f.kind, FileKind::Regular(_)))
    }

    /// Whether epoll instance `from` watches `to`, directly or through
    /// nested instances (`ep_loop_check`): adding `from` to `to` would
    /// close a loop.
    fn ep_reaches(&self, from: FileId, to: FileId) -> bool {
        let mut stack = vec![from];
        let mut seen = Vec::new();
        while let Some(e) = stack.pop() {
            if e == to {
                return true;
            }
            if seen.contains(&e) {
                continue;
            }
            seen.push(e);
            if let Some(inst) = self.epolls.get(&e) {
                stack.extend(
                    inst.items
                        .keys()
                        .map(|&(f, _)| f)
                        .filter(|f| self.epolls.contains_key(f)),
                );
            }
        }
        false
    }

    /// `ep_insert()`: add the item, hook the callback onto the file's wait
    /// queue (`ep_ptable_queue_proc`: exclusively for `EPOLLEXCLUSIVE`),
    /// and if the file is ready already, put the item on the ready list.
    fn ep_insert(&mut self, host: HostId, ep: FileId, key: (FileId, i32), ev: EpollEvent) {
        self.ep(ep).items.insert(
            key,
            EpItem {
                events: ev.events,
                data: ev.data,
                linked: false,
            },
        );
        self.ep_links.entry(key.0).or_default().push((ep, key.1));
        if let Some(obj) = self.file_wait_obj(key.0)
            && let Some(wq) = self.wq_mut(obj)
        {
            wq.add(WaitEntry::Epoll {
                ep,
                file: key.0,
                fd: key.1,
                exclusive: ev.events & EPOLLEXCLUSIVE != 0,
            });
        }
        self.trace(host, Layer::Syscall, |_w| {
            format!(
                "ep_insert: fd {} on the interest list; ep_poll_callback hooked onto its wait queue",
                key.1
            )
        });
        if self.ep_item_poll(host, ep, key) != 0 {
            self.ep_make_ready(ep, key);
        }
    }

    /// `ep_modify()`: new interest; ready now means on the ready list now.
    fn ep_modify(&mut self, host: HostId, ep: FileId, key: (FileId, i32), ev: EpollEvent) {
        if let Some(item) = self.ep(ep).items.get_mut(&key) {
            item.events = ev.events;
            item.data = ev.data;
        }
        if self.ep_item_poll(host, ep, key) != 0 {
            self.ep_make_ready(ep, key);
        }
    }

    /// Puts an item on the ready list unless it is there, and tells the
    /// instance's waiters.
    fn ep_make_ready(&mut self, ep: FileId, key: (FileId, i32)) {
        let inst = self.ep(ep);
        let Some(item) = inst.items.get_mut(&key) else {
            return;
        };
        if !item.linked {
            item.linked = true;
            inst.rdllist.push_back(key);
        }
        self.wake_up(WaitObj::Epoll(ep), Wakeup::EpollEvent);
        self.wake_up(WaitObj::EpollPoll(ep), Wakeup::EpollEvent);
    }

    /// `ep_remove()`: unhook the callback, drop the item.
    fn ep_remove(&mut self, ep: FileId, key: (FileId, i32)) {
        let entry = |e: &WaitEntry| matches!(*e, WaitEntry::Epoll { ep: p, file, fd, .. } if p == ep && (file, fd) == key);
        if let Some(obj) = self.file_wait_obj(key.0)
            && let Some(wq) = self.wq_mut(obj)
        {
            wq.remove_where(entry);
        }
        if let Some(links) = self.ep_links.get_mut(&key.0) {
            links.retain(|&l| l != (ep, key.1));
            if links.is_empty() {
                self.ep_links.remove(&key.0);
            }
        }
        if let Some(inst) = self.epolls.get_mut(&ep) {
            inst.items.remove(&key);
            inst.rdllist.retain(|&k| k != key);
        }
    }

    /// `eventpoll_release()`: the last reference to a watched file is
    /// going; every item watching it goes with it.
    pub(crate) fn eventpoll_release(&mut self, file: FileId) {
        let Some(links) = self.ep_links.get(&file).cloned() else {
            return;
        };
        for (ep, fd) in links {
            self.ep_remove(ep, (file, fd));
        }
    }

    /// `ep_free()`: the epoll file itself is closed.
    pub(crate) fn ep_free(&mut self, ep: FileId) {
        let keys: Vec<(FileId, i32)> = match self.epolls.get(&ep) {
            Some(inst) => inst.items.keys().copied().collect(),
            None => return,
        };
        for key in keys {
            self.ep_remove(ep, key);
        }
        self.epolls.remove(&ep);
    }

    /// `ep_item_poll()`: the file's `->poll`, masked by the interest.
    fn ep_item_poll(&mut self, host: HostId, ep: FileId, key: (FileId, i32)) -> u32 {
        let events = match self.ep(ep).items.get(&key) {
            Some(item) => item.events,
            None => return 0,
        };
        self.vfs_poll(host, key.0) & events
    }

    /// `ep_poll_callback()`: the watched file's wait queue was woken with
    /// `why`. Returns whether this counts as a wakeup for an exclusive
    /// entry (only when the instance had a waiter that wants the event).
    pub(crate) fn ep_poll_callback(&mut self, ep: FileId, key: (FileId, i32), why: Wakeup) -> bool {
        let Some(inst) = self.epolls.get(&ep) else {
            return false;
        };
        let host = inst.host;
        let events = inst.items.get(&key).map(|i| i.events);
        self.costs(host).epoll_callbacks += 1;
        let Some(events) = events else {
            return false;
        };
        let exclusive = events & EPOLLEXCLUSIVE != 0;
        let pollflags = why.key();
        let disabled = events & !EP_PRIVATE_BITS == 0;
        if disabled || (pollflags != 0 && pollflags & events == 0) {
            return !exclusive;
        }
        let inst = self.ep(ep);
        let had_waiter = inst.wq.has_process();
        let item = inst.items.get_mut(&key).expect("item checked above");
        if !item.linked {
            item.linked = true;
            inst.rdllist.push_back(key);
        }
        self.trace(host, Layer::Sched, |_w| {
            format!(
                "ep_poll_callback: {} on fd {}: item put on the ready list",
                why.name(),
                key.1
            )
        });
        let mut ewake = !exclusive;
        if had_waiter {
            if exclusive {
                ewake = match pollflags & (EPOLLIN | EPOLLOUT) {
                    EPOLLIN => events & EPOLLIN != 0,
                    EPOLLOUT => events & EPOLLOUT != 0,
                    0 => true,
                    _ => false,
                };
            }
            self.wake_up(WaitObj::Epoll(ep), Wakeup::EpollEvent);
        }
        self.wake_up(WaitObj::EpollPoll(ep), Wakeup::EpollEvent);
        ewake
    }

    /// `ep_send_events()`: poll each item on the ready list again, report
    /// those still ready (up to `maxevents`), put level-triggered ones back
    /// at the end of the list, disable one-shot ones. Items not reached stay
    /// at the front. If events remain, another waiter is woken
    /// (`ep_done_scan`).
    fn ep_send_events(&mut self, host: HostId, ep: FileId, maxevents: usize) -> Vec<EpollEvent> {
        let mut txlist = std::mem::take(&mut self.ep(ep).rdllist);
        let mut out = Vec::new();
        let mut again = VecDeque::new();
        while out.len() < maxevents {
            let Some(key) = txlist.pop_front() else { break };
            if let Some(item) = self.ep(ep).items.get_mut(&key) {
                item.linked = false;
            }
            let revents = self.ep_item_poll(host, ep, key);
            if revents == 0 {
                continue;
            }
            let item = self.ep(ep).items.get_mut(&key).expect("polled above");
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
        txlist.extend(again);
        let inst = self.ep(ep);
        inst.rdllist = txlist;
        let more = !inst.rdllist.is_empty() && inst.wq.has_process();
        self.costs(host).copied_to_user += EPOLL_EVENT_SIZE * out.len() as u64;
        if more {
            self.wake_up(WaitObj::Epoll(ep), Wakeup::EpollEvent);
        }
        out
    }

    /// `ep_poll()`: report ready events, or sleep (exclusively) on the
    /// instance until the callback brings some or the timeout passes.
    pub(crate) fn sys_epoll_wait(
        &mut self,
        pid: Pid,
        epfd: i32,
        maxevents: i32,
        timeout_ms: i32,
        first: bool,
    ) -> Poll<Result<Vec<EpollEvent>, Errno>> {
        if maxevents <= 0 || maxevents > EP_MAX_EVENTS {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        let ep = match self.task(pid).files.get(epfd) {
            Ok(f) => f,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if !self.epolls.contains_key(&ep) {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        if first {
            self.arm_timeout(pid, timeout_from_ms(timeout_ms));
        }
        let host = self.task(pid).host;
        if !self.ep(ep).rdllist.is_empty() {
            let events = self.ep_send_events(host, ep, maxevents as usize);
            if !events.is_empty() {
                self.disarm_timeout(pid);
                return Poll::Ready(Ok(events));
            }
        }
        if self.task(pid).timed_out {
            self.disarm_timeout(pid);
            return Poll::Ready(Ok(Vec::new()));
        }
        self.sleep_on_obj(pid, WaitObj::Epoll(ep), WaitFor::Events, true);
        Poll::Pending
    }

    /// Starts the timeout of a `poll()`-family call: `Some(0)` means do not
    /// sleep, `None` means no timeout.
    pub(crate) fn arm_timeout(&mut self, pid: Pid, timeout: Option<Nanos>) {
        let t = self.task_mut(pid);
        t.timed_out = timeout == Some(0);
        t.timeout = None;
        if let Some(d) = timeout.filter(|&d| d > 0) {
            let at = self.now + d;
            self.task_mut(pid).timeout = Some(at);
            self.schedule(at, Event::Wake { pid });
        }
    }

    pub(crate) fn disarm_timeout(&mut self, pid: Pid) {
        let t = self.task_mut(pid);
        t.timeout = None;
        t.timed_out = false;
    }

    /// `ep_eventpoll_poll()`: an epoll fd is readable when an item on its
    /// ready list has an event.
    pub(crate) fn ep_eventpoll_poll(&self, ep: FileId) -> u32 {
        let Some(inst) = self.epolls.get(&ep) else {
            return 0;
        };
        let ready = inst.rdllist.iter().any(|key| {
            inst.items
                .get(key)
                .is_some_and(|i| self.file_poll_mask(key.0) & i.events != 0)
        });
        if ready { EPOLLIN | EPOLLRDNORM } else { 0 }
    }

    /// A sleeper in `epoll_wait()`, in words.
    pub(crate) fn describe_epoll_wait(&self, ep: FileId) -> String {
        match self.epolls.get(&ep) {
            Some(inst) => format!(
                "an event on any of the {} fds its epoll instance watches (ready list empty)",
                inst.items.len()
            ),
            None => "an epoll instance that is gone".to_string(),
        }
    }
}

impl Process {
    /// `epoll_create1(flags)`: a new epoll instance on the lowest free fd;
    /// `flags` may hold `EPOLL_CLOEXEC`.
    pub fn epoll_create1(&self, flags: i32) -> SysResult<i32> {
        self.call(
            || format!("epoll_create1({flags:#o})"),
            |w| w.sys_epoll_create1(self.pid, flags),
        )
    }

    /// `epoll_ctl(epfd, op, fd, event)`: `EPOLL_CTL_ADD`, `EPOLL_CTL_MOD`
    /// or `EPOLL_CTL_DEL` (which ignores `event`; `None` is C's `NULL`).
    pub fn epoll_ctl(
        &self,
        epfd: i32,
        op: i32,
        fd: i32,
        event: Option<EpollEvent>,
    ) -> SysResult<()> {
        self.call(
            || {
                let op_name = match op {
                    EPOLL_CTL_ADD => "EPOLL_CTL_ADD".to_string(),
                    EPOLL_CTL_DEL => "EPOLL_CTL_DEL".to_string(),
                    EPOLL_CTL_MOD => "EPOLL_CTL_MOD".to_string(),
                    other => other.to_string(),
                };
                match event {
                    Some(e) => format!(
                        "epoll_ctl({epfd}, {op_name}, {fd}, {{{}, data={}}})",
                        epoll_events_name(e.events),
                        e.data
                    ),
                    None => format!("epoll_ctl({epfd}, {op_name}, {fd}, NULL)"),
                }
            },
            |w| w.sys_epoll_ctl(self.pid, epfd, op, fd, event),
        )
    }

    /// `epoll_wait(epfd, events, maxevents, timeout)`: the ready events (at
    /// most `maxevents`); sleeps until one arrives, for at most `timeout_ms`
    /// milliseconds (-1: no limit; 0: do not sleep). An empty result means
    /// the timeout passed.
    pub async fn epoll_wait(
        &self,
        epfd: i32,
        maxevents: i32,
        timeout_ms: i32,
    ) -> SysResult<Vec<EpollEvent>> {
        let mut first = true;
        self.blocking(
            || format!("epoll_wait({epfd}, {maxevents}, {timeout_ms})"),
            |w| {
                let r = w.sys_epoll_wait(self.pid, epfd, maxevents, timeout_ms, first);
                first = false;
                r
            },
        )
        .await
    }
}

/// A `poll()`-style timeout in milliseconds: negative waits for ever.
pub(crate) fn timeout_from_ms(timeout_ms: i32) -> Option<Nanos> {
    u64::try_from(timeout_ms).ok().map(crate::sim::time::ms)
}

/// An event mask as `strace` prints it: `EPOLLIN|EPOLLOUT|EPOLLET`.
pub fn epoll_events_name(mask: u32) -> String {
    const NAMES: [(u32, &str); 14] = [
        (EPOLLIN, "EPOLLIN"),
        (EPOLLPRI, "EPOLLPRI"),
        (EPOLLOUT, "EPOLLOUT"),
        (EPOLLERR, "EPOLLERR"),
        (EPOLLHUP, "EPOLLHUP"),
        (EPOLLRDNORM, "EPOLLRDNORM"),
        (EPOLLRDBAND, "EPOLLRDBAND"),
        (EPOLLWRNORM, "EPOLLWRNORM"),
        (EPOLLWRBAND, "EPOLLWRBAND"),
        (EPOLLRDHUP, "EPOLLRDHUP"),
        (EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"),
        (EPOLLWAKEUP, "EPOLLWAKEUP"),
        (EPOLLONESHOT, "EPOLLONESHOT"),
        (EPOLLET, "EPOLLET"),
    ];
    let mut parts: Vec<String> = NAMES
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known = NAMES.iter().fold(0, |a, (b, _)| a | b);
    if mask & !known != 0 {
        parts.push(format!("{:#x}", mask & !known));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join("|")
    }
}
