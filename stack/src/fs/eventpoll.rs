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
//! `poll()` (see [`crate::fs::select`]).
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
//! The two lists and the decisions that depend on them (`ep_insert`,
//! `ep_modify`, `ep_remove`, `ep_poll_callback`, `ep_send_events`) are in
//! [`crate::fs::eventpoll_lists`], behind a trait the epoll lab implements;
//! this module keeps what surrounds them: fds, `epoll_ctl`'s checks, the
//! wait queues, sleeping and the cost counters.
//!
//! Simplified: no `ovflist` (nothing runs concurrently with a scan), no
//! wakeup sources (`EPOLLWAKEUP` is accepted and ignored), no
//! `max_user_watches` limit, no busy polling.

use std::task::Poll;

use crate::fs::eventpoll_lists::{Callback, EpKey, EventPollLists};
use crate::fs::file::FileKind;
use crate::kernel::ids::{FileId, HostId, Pid};
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitEntry, WaitObj, WaitQueue, Wakeup};
use crate::kernel::world::World;
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;
use crate::uapi::*;

pub use crate::uapi::EpollEvent;

/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = 3;
/// `EPOLL_CLOEXEC`, the same bit as `O_CLOEXEC`.
pub const EPOLL_CLOEXEC: i32 = 0o2000000;

/// `EPOLLEXCLUSIVE_OK_BITS`: what may accompany `EPOLLEXCLUSIVE`.
const EPOLLEXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// `EP_MAX_EVENTS`: `INT_MAX / sizeof(struct epoll_event)`.
const EP_MAX_EVENTS: i32 = i32::MAX / EPOLL_EVENT_SIZE as i32;
/// `sizeof(struct epoll_event)` on x86-64, where it is packed.
const EPOLL_EVENT_SIZE: u64 = 12;

/// `struct eventpoll`.
pub(crate) struct EventPoll {
    pub(crate) host: HostId,
    /// The interest list and the ready list ([`crate::fs::eventpoll_lists`]):
    /// the stack's own, or a lab's.
    lists: Box<dyn EventPollLists>,
    /// `ep->wq`: callers of `epoll_wait()`, exclusive.
    pub(crate) wq: WaitQueue,
    /// `ep->poll_wait`: those who poll the epoll fd itself.
    pub(crate) poll_wait: WaitQueue,
}

impl EventPoll {
    fn new(host: HostId, lists: Box<dyn EventPollLists>) -> EventPoll {
        EventPoll {
            host,
            lists,
            wq: WaitQueue::default(),
            poll_wait: WaitQueue::default(),
        }
    }
}

/// The lists' key of an item.
fn ep_key((file, fd): (FileId, i32)) -> EpKey {
    EpKey {
        file: u64::from(file.0),
        fd,
    }
}

/// The file an item's key names.
fn key_file(k: EpKey) -> FileId {
    FileId(k.file as u32)
}

/// Stands in for an instance's lists while they are out being worked on
/// (see [`World::with_lists`]); holds nothing.
struct Taken;

impl EventPollLists for Taken {
    fn insert(
        &mut self,
        _: EpKey,
        _: EpollEvent,
        _: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        Err(Errno::EINVAL)
    }
    fn modify(
        &mut self,
        _: EpKey,
        _: EpollEvent,
        _: &mut dyn FnMut(EpKey) -> u32,
    ) -> Result<bool, Errno> {
        Err(Errno::EINVAL)
    }
    fn remove(&mut self, _: EpKey) -> Result<(), Errno> {
        Err(Errno::ENOENT)
    }
    fn poll_callback(&mut self, _: EpKey, _: u32, _: bool) -> Callback {
        Callback {
            queued: false,
            ewake: false,
        }
    }
    fn send_events(&mut self, _: usize, _: &mut dyn FnMut(EpKey) -> u32) -> Vec<EpollEvent> {
        Vec::new()
    }
    fn ready_list(&self) -> Vec<EpKey> {
        Vec::new()
    }
    fn interest(&self, _: EpKey) -> Option<EpollEvent> {
        None
    }
    fn keys(&self) -> Vec<EpKey> {
        Vec::new()
    }
}

impl World {
    fn ep(&mut self, ep: FileId) -> &mut EventPoll {
        self.epolls.get_mut(&ep).expect("live epoll")
    }

    /// Runs `f` on an instance's lists with the world at hand, for the
    /// operations that poll files (`vfs_poll` needs the world). `None` if
    /// the instance is gone.
    fn with_lists<R>(
        &mut self,
        ep: FileId,
        f: impl FnOnce(&mut World, &mut dyn EventPollLists) -> R,
    ) -> Option<R> {
        let inst = self.epolls.get_mut(&ep)?;
        let mut lists = std::mem::replace(&mut inst.lists, Box::new(Taken));
        let r = f(self, lists.as_mut());
        if let Some(inst) = self.epolls.get_mut(&ep) {
            inst.lists = lists;
        }
        Some(r)
    }

    /// `do_epoll_create()`.
    pub(crate) fn sys_epoll_create1(&mut self, pid: Pid, flags: i32) -> Result<i32, Errno> {
        if flags & !EPOLL_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let host = self.task(pid).host;
        let (fd, file) = self.anon_inode_getfd(pid, FileKind::Epoll, flags & EPOLL_CLOEXEC != 0)?;
        let lists = (self.eventpoll_factory)();
        self.epolls.insert(file, EventPoll::new(host, lists));
        Ok(fd)
    }

    /// `epoll_ctl(epfd, op, fd, event)`, checks in the kernel's order; those
    /// that need the item (`EEXIST`, `ENOENT`, `MOD` of an exclusive item)
    /// are the lists' own.
    pub(crate) fn sys_epoll_ctl(
        &mut self,
        pid: Pid,
        epfd: i32,
        op: i32,
        fd: i32,
        event: Option<EpollEvent>,
    ) -> Result<(), Errno> {
        let has_event = op != EPOLL_CTL_DEL;
        let ev = match (has_event, event) {
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
        match op {
            EPOLL_CTL_ADD => self.ep_insert(host, ep, key, ev),
            EPOLL_CTL_DEL => self.ep_remove(ep, key),
            EPOLL_CTL_MOD => self.ep_modify(host, ep, key, ev),
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
                    inst.lists
                        .keys()
                        .into_iter()
                        .map(key_file)
                        .filter(|f| self.epolls.contains_key(f)),
                );
            }
        }
        false
    }

    /// `ep_insert()`: add the item (polling the file once), hook the
    /// callback onto the file's wait queue (`ep_ptable_queue_proc`:
    /// exclusively for `EPOLLEXCLUSIVE`), and if the file is ready already
    /// tell the instance's waiters.
    fn ep_insert(
        &mut self,
        host: HostId,
        ep: FileId,
        key: (FileId, i32),
        ev: EpollEvent,
    ) -> Result<(), Errno> {
        let ready = self
            .with_lists(ep, |w, l| {
                l.insert(ep_key(key), ev, &mut |k| w.vfs_poll(host, key_file(k)))
            })
            .unwrap_or(Err(Errno::EINVAL))?;
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
        if ready {
            self.ep_wake_waiters(ep);
        }
        Ok(())
    }

    /// `ep_modify()`: new interest; ready now means on the ready list now.
    fn ep_modify(
        &mut self,
        host: HostId,
        ep: FileId,
        key: (FileId, i32),
        ev: EpollEvent,
    ) -> Result<(), Errno> {
        let ready = self
            .with_lists(ep, |w, l| {
                l.modify(ep_key(key), ev, &mut |k| w.vfs_poll(host, key_file(k)))
            })
            .unwrap_or(Err(Errno::EINVAL))?;
        if ready {
            self.ep_wake_waiters(ep);
        }
        Ok(())
    }

    /// An item went on the ready list outside a callback: tell the
    /// instance's waiters.
    fn ep_wake_waiters(&mut self, ep: FileId) {
        self.wake_up(WaitObj::Epoll(ep), Wakeup::EpollEvent);
        self.wake_up(WaitObj::EpollPoll(ep), Wakeup::EpollEvent);
    }

    /// `ep_remove()`: drop the item, unhook the callback. `ENOENT` if the
    /// instance has no such item.
    fn ep_remove(&mut self, ep: FileId, key: (FileId, i32)) -> Result<(), Errno> {
        let removed = match self.epolls.get_mut(&ep) {
            Some(inst) => inst.lists.remove(ep_key(key)),
            None => Err(Errno::ENOENT),
        };
        // The hook goes even if the lists disagree: nothing may call back
        // into an item that epoll_ctl() has dropped.
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
        removed
    }

    /// `eventpoll_release()`: the last reference to a watched file is
    /// going; every item watching it goes with it.
    pub(crate) fn eventpoll_release(&mut self, file: FileId) {
        let Some(links) = self.ep_links.get(&file).cloned() else {
            return;
        };
        for (ep, fd) in links {
            let _ = self.ep_remove(ep, (file, fd));
        }
        // Whatever the lists said, nothing watches the file any more.
        self.ep_links.remove(&file);
    }

    /// `ep_free()`: the epoll file itself is closed.
    pub(crate) fn ep_free(&mut self, ep: FileId) {
        let keys = match self.epolls.get(&ep) {
            Some(inst) => inst.lists.keys(),
            None => return,
        };
        for k in keys {
            let _ = self.ep_remove(ep, (key_file(k), k.fd));
        }
        // Drop any hook the lists forgot to give back.
        for links in self.ep_links.values_mut() {
            links.retain(|&(e, _)| e != ep);
        }
        self.ep_links.retain(|_, l| !l.is_empty());
        self.epolls.remove(&ep);
    }

    /// `ep_poll_callback()`: the watched file's wait queue was woken with
    /// `why`. The lists decide whether the item goes on the ready list and
    /// whether this counts as a wakeup for an exclusive entry; waking the
    /// instance's sleepers is the callback's job here.
    pub(crate) fn ep_poll_callback(&mut self, ep: FileId, key: (FileId, i32), why: Wakeup) -> bool {
        let Some(inst) = self.epolls.get_mut(&ep) else {
            return false;
        };
        let host = inst.host;
        let had_waiter = inst.wq.has_process();
        let Callback { queued, ewake } =
            inst.lists.poll_callback(ep_key(key), why.key(), had_waiter);
        self.costs(host).epoll_callbacks += 1;
        if !queued {
            return ewake;
        }
        self.trace(host, Layer::Sched, |_w| {
            format!(
                "ep_poll_callback: {} on fd {}: item put on the ready list",
                why.name(),
                key.1
            )
        });
        if had_waiter {
            self.wake_up(WaitObj::Epoll(ep), Wakeup::EpollEvent);
        }
        self.wake_up(WaitObj::EpollPoll(ep), Wakeup::EpollEvent);
        ewake
    }

    /// `ep_send_events()`: the lists poll the items on the ready list and
    /// report those still ready. If events remain, another waiter is woken
    /// (`ep_done_scan`).
    fn ep_send_events(&mut self, host: HostId, ep: FileId, maxevents: usize) -> Vec<EpollEvent> {
        let out = self
            .with_lists(ep, |w, l| {
                l.send_events(maxevents, &mut |k| w.vfs_poll(host, key_file(k)))
            })
            .unwrap_or_default();
        let inst = self.ep(ep);
        let more = !inst.lists.ready_list().is_empty() && inst.wq.has_process();
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
        if !self.ep(ep).lists.ready_list().is_empty() {
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
    /// `ep_eventpoll_poll()`: an epoll fd is readable when an item on its
    /// ready list has an event.
    pub(crate) fn ep_eventpoll_poll(&self, ep: FileId) -> u32 {
        let Some(inst) = self.epolls.get(&ep) else {
            return 0;
        };
        let ready = inst.lists.ready_list().into_iter().any(|k| {
            inst.lists
                .interest(k)
                .is_some_and(|i| self.file_poll_mask(key_file(k)) & i.events != 0)
        });
        if ready { EPOLLIN | EPOLLRDNORM } else { 0 }
    }

    /// A sleeper in `epoll_wait()`, in words.
    pub(crate) fn describe_epoll_wait(&self, ep: FileId) -> String {
        match self.epolls.get(&ep) {
            Some(inst) => format!(
                "an event on any of the {} fds its epoll instance watches (ready list empty)",
                inst.lists.keys().len()
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
