//! Wait queues: where a process sleeps until something it needs happens,
//! and where epoll and poll hook their callbacks.
//!
//! Models `wait_queue_head_t` (`include/linux/wait.h`, `kernel/sched/wait.c`).
//! A blocking `recvfrom()` on an empty socket adds an entry for its process
//! to the socket's wait queue and sleeps (`sk_wait_data`,
//! `__skb_wait_for_more_packets`); when a datagram is queued,
//! `sk_data_ready()` wakes the sleepers (`__wake_up_common`).
//!
//! The queue keeps the kernel's order and rules: non-exclusive entries are
//! added at the head (`add_wait_queue`), exclusive ones at the tail
//! (`add_wait_queue_exclusive`: `accept()`, `epoll_wait()`, and
//! `EPOLLEXCLUSIVE` items). A wakeup carries a key, the poll bits of what
//! happened (`EPOLLIN` for new data, `EPOLLOUT` for freed space, none for a
//! state change, which concerns everyone); it runs every non-exclusive entry
//! and stops after the first exclusive entry that really woke something.
//! Process entries leave the queue as they are woken
//! (`autoremove_wake_function`); epoll and poll entries stay until their
//! owner removes them.

use crate::fs::pipe::PipeWq;
use crate::kernel::ids::{FileId, Pid, PipeId, SockId};
use crate::kernel::task::{TaskState, WaitFor};
use crate::observe::trace::Layer;

/// An object with a wait queue that a process can sleep on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitObj {
    /// A socket's `sk_wq`.
    Sock(SockId),
    /// An `AF_UNIX` socket's `peer_wait`: where a `connect()` waits for
    /// room in a listener's backlog, and a datagram sender for room in a
    /// receiver's queue (`unix_wait_for_peer()`).
    UnixPeerWait(SockId),
    /// An epoll instance's `ep->wq`, where `epoll_wait()` callers sleep.
    Epoll(FileId),
    /// An epoll instance's `ep->poll_wait`, for those who poll the epoll fd.
    EpollPoll(FileId),
    /// Many queues at once: a process in `select()`/`poll()` (its
    /// `poll_wqueues`); it has no queue of its own.
    PollTable(Pid),
    /// An io_uring's completion wait queue (`ctx->cq_wait`).
    IoUring(FileId),
    /// One of a pipe's two wait queues: `rd_wait` (readers wait for data)
    /// or `wr_wait` (writers wait for room).
    Pipe(PipeId, PipeWq),
}

impl WaitObj {
    /// The queue, in the trace's words.
    fn queue_name(self) -> &'static str {
        match self {
            WaitObj::Sock(_) => "the socket's wait queue",
            WaitObj::UnixPeerWait(_) => "the peer_wait queue of an AF_UNIX socket",
            WaitObj::Epoll(_) => "the epoll instance's wait queue",
            WaitObj::EpollPoll(_) => "the epoll instance's poll queue",
            WaitObj::PollTable(_) => "the wait queues of the fds it polls",
            WaitObj::IoUring(_) => "the io_uring's completion queue",
            WaitObj::Pipe(_, PipeWq::Rd) => "the pipe's rd_wait",
            WaitObj::Pipe(_, PipeWq::Wr) => "the pipe's wr_wait",
        }
    }

    /// The kernel function that does the wakeup, as the trace prints it:
    /// the pipe's own wakeups, or the callback's name.
    fn waker_name(self, why: Wakeup) -> &'static str {
        match (self, why) {
            (WaitObj::Pipe(..), Wakeup::DataReady) => "wakeup_pipe_readers",
            (WaitObj::Pipe(..), Wakeup::WriteSpace) => "wakeup_pipe_writers",
            (WaitObj::Pipe(..), _) => "pipe_release: wake_up_interruptible_all",
            _ => why.name(),
        }
    }
}

/// What happened to the object, as the kernel's wakeup callbacks name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wakeup {
    /// `sk_data_ready`: something to read (`EPOLLIN`), or a new connection.
    DataReady,
    /// `sk_write_space`: room to write (`EPOLLOUT`).
    WriteSpace,
    /// `sk_state_change`: the state moved; wakes everyone, whatever they wait
    /// for (`wake_up_interruptible_all`, no key).
    StateChange,
    /// `sk_error_report`: an error is pending (`EPOLLERR`).
    ErrorReport,
    /// epoll's callback passing the news on to its own waiters
    /// (`ep_poll_callback` → `wake_up(&ep->wq)`, and `ep_poll_safewake` for
    /// those polling the epoll fd): one exclusive waiter.
    EpollEvent,
    /// Room on an `AF_UNIX` socket's `peer_wait`: a datagram was read from
    /// its queue, or a connection accepted from its backlog
    /// (`wake_up_interruptible_sync_poll(&u->peer_wait, EPOLLOUT…)`): one
    /// waiting sender or `connect()`.
    PeerWait,
}

impl Wakeup {
    /// The callback's name, as the trace prints it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Wakeup::DataReady => "sk_data_ready",
            Wakeup::WriteSpace => "sk_write_space",
            Wakeup::StateChange => "sk_state_change",
            Wakeup::ErrorReport => "sk_error_report",
            Wakeup::EpollEvent => "ep_poll_callback",
            Wakeup::PeerWait => "wake_up(peer_wait)",
        }
    }

    /// The poll key the wakeup carries (`sock_def_readable`,
    /// `sk_stream_write_space`, `sock_def_error_report`); 0 for "no key",
    /// which every entry accepts.
    pub(crate) fn key(self) -> u32 {
        use crate::uapi::*;
        match self {
            Wakeup::DataReady => EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND,
            Wakeup::WriteSpace | Wakeup::PeerWait => EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND,
            Wakeup::StateChange => 0,
            Wakeup::ErrorReport => EPOLLERR,
            Wakeup::EpollEvent => EPOLLIN,
        }
    }

    /// How many exclusive waiters it wakes: 1 for the keyed wakeups
    /// (`wake_up_interruptible_sync_poll`), all for a state change.
    pub(crate) fn nr_exclusive(self) -> usize {
        match self {
            Wakeup::StateChange => usize::MAX,
            _ => 1,
        }
    }
}

/// One entry on a wait queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEntry {
    /// A process sleeping in a blocking system call; exclusive for
    /// `accept()` and `epoll_wait()`.
    Process { pid: Pid, exclusive: bool },
    /// An epoll item watching this object (`ep_poll_callback`): the epoll
    /// file and the watched file.
    Epoll {
        ep: FileId,
        file: FileId,
        fd: i32,
        exclusive: bool,
    },
    /// A process in `select()`/`poll()` (`pollwake`), with the events it
    /// asked for on this file: a keyed wakeup for anything else passes it by.
    Poll { pid: Pid, key: u32 },
    /// An io_uring request armed on this file (`io_poll_wake`), with the
    /// events that make it worth retrying.
    IoUring { ring: FileId, req: u64, key: u32 },
}

impl WaitEntry {
    pub(crate) fn exclusive(&self) -> bool {
        match *self {
            WaitEntry::Process { exclusive, .. } | WaitEntry::Epoll { exclusive, .. } => exclusive,
            WaitEntry::Poll { .. } | WaitEntry::IoUring { .. } => false,
        }
    }

    /// Whether the entry leaves the queue once its callback has run.
    fn autoremove(&self) -> bool {
        matches!(self, WaitEntry::Process { .. })
    }
}

/// A wait queue head.
#[derive(Clone, Debug, Default)]
pub(crate) struct WaitQueue {
    entries: Vec<WaitEntry>,
}

impl WaitQueue {
    /// `add_wait_queue` (head) or `add_wait_queue_exclusive` (tail);
    /// idempotent, so a process that re-checks and sleeps again waits once.
    pub(crate) fn add(&mut self, e: WaitEntry) {
        if self.entries.contains(&e) {
            return;
        }
        if e.exclusive() {
            self.entries.push(e);
        } else {
            self.entries.insert(0, e);
        }
    }

    /// Removes every entry that matches, for `poll_freewait` and for an
    /// epoll item going away.
    pub(crate) fn remove_where(&mut self, f: impl Fn(&WaitEntry) -> bool) {
        self.entries.retain(|x| !f(x));
    }

    /// `__wake_up_common`: runs `wake` on each entry in queue order; an
    /// exclusive entry whose callback returns true counts against
    /// `nr_exclusive`, and the walk stops when that reaches zero. Process
    /// entries that were run leave the queue (a process sleeps on one queue
    /// at a time, so an entry it left behind is stale either way).
    pub(crate) fn wake_up(
        &mut self,
        nr_exclusive: usize,
        mut wake: impl FnMut(&WaitEntry) -> bool,
    ) {
        let mut left = nr_exclusive;
        let mut i = 0;
        while i < self.entries.len() {
            let e = self.entries[i];
            let woke = wake(&e);
            if e.autoremove() {
                self.entries.remove(i);
            } else {
                i += 1;
            }
            if woke && e.exclusive() {
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `waitqueue_active`-style check for one kind of sleeper.
    pub(crate) fn has_process(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, WaitEntry::Process { .. }))
    }

    /// Whether an epoll item or a `poll()`/`select()` caller is hooked on.
    pub(crate) fn has_pollers(&self) -> bool {
        self.entries
            .iter()
            .any(|e| !matches!(e, WaitEntry::Process { .. }))
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[WaitEntry] {
        &self.entries
    }
}

impl crate::kernel::world::World {
    /// The wait queue of an object, if it still exists.
    pub(crate) fn wq_mut(&mut self, obj: WaitObj) -> Option<&mut WaitQueue> {
        match obj {
            WaitObj::Sock(sk) => self.socks.get_mut(&sk).map(|s| &mut s.wq),
            WaitObj::UnixPeerWait(sk) => self
                .socks
                .get_mut(&sk)
                .and_then(|s| s.unix.as_deref_mut())
                .map(|u| &mut u.peer_wait),
            WaitObj::Epoll(ep) => self.epolls.get_mut(&ep).map(|e| &mut e.wq),
            WaitObj::EpollPoll(ep) => self.epolls.get_mut(&ep).map(|e| &mut e.poll_wait),
            WaitObj::PollTable(_) => None,
            WaitObj::IoUring(r) => self.io_rings.get_mut(&r).map(|r| &mut r.cq_wait),
            WaitObj::Pipe(p, which) => self.pipes.get_mut(&p).map(|p| p.wq_mut(which)),
        }
    }

    /// The host an object lives on, for counters and the trace.
    fn wait_obj_host(&self, obj: WaitObj) -> Option<crate::kernel::ids::HostId> {
        match obj {
            WaitObj::Sock(sk) | WaitObj::UnixPeerWait(sk) => self.socks.get(&sk).map(|s| s.host),
            WaitObj::Epoll(ep) | WaitObj::EpollPoll(ep) => self.epolls.get(&ep).map(|e| e.host),
            WaitObj::PollTable(pid) => Some(self.task(pid).host),
            WaitObj::IoUring(r) => self.io_rings.get(&r).map(|r| r.host),
            WaitObj::Pipe(p, _) => self.pipes.get(&p).map(|p| p.host),
        }
    }

    /// Wakes an object's wait queue for `why` (`__wake_up` with the
    /// wakeup's key and exclusive count). Callbacks run in queue order.
    pub(crate) fn wake_up(&mut self, obj: WaitObj, why: Wakeup) {
        let Some(host) = self.wait_obj_host(obj) else {
            return;
        };
        let Some(wq) = self.wq_mut(obj) else { return };
        if wq.is_empty() {
            return;
        }
        let mut q = std::mem::take(wq);
        q.wake_up(why.nr_exclusive(), |e| self.wake_entry(host, obj, e, why));
        // Entries a callback added meanwhile join the queue kept.
        if let Some(wq) = self.wq_mut(obj) {
            let added = std::mem::replace(wq, q);
            for e in added.entries {
                wq.add(e);
            }
        }
    }

    /// Runs one wait-queue entry's callback; true if it woke something.
    fn wake_entry(
        &mut self,
        host: crate::kernel::ids::HostId,
        obj: WaitObj,
        e: &WaitEntry,
        why: Wakeup,
    ) -> bool {
        match *e {
            WaitEntry::Process { pid, .. } => {
                self.try_to_wake_up(host, pid, obj.waker_name(why), obj)
            }
            WaitEntry::Poll { pid, key } => {
                let k = why.key();
                (k == 0 || k & key != 0) && self.try_to_wake_up(host, pid, obj.waker_name(why), obj)
            }
            WaitEntry::Epoll { ep, file, fd, .. } => self.ep_poll_callback(ep, (file, fd), why),
            WaitEntry::IoUring { ring, req, key } => self.io_poll_wake(ring, req, key, why),
        }
    }

    /// `try_to_wake_up()`: a sleeping process becomes runnable. False if it
    /// was not asleep on a wait queue.
    pub(crate) fn try_to_wake_up(
        &mut self,
        host: crate::kernel::ids::HostId,
        pid: Pid,
        why: &str,
        obj: WaitObj,
    ) -> bool {
        if !matches!(self.task(pid).state, TaskState::Blocked { .. }) {
            return false;
        }
        self.task_mut(pid).state = TaskState::Running;
        self.task_mut(pid).wakeups += 1;
        self.costs(host).wakeups += 1;
        self.runqueue.push_back(pid);
        let comm = self.task(pid).comm.clone();
        self.trace(host, Layer::Sched, |_w| {
            format!(
                "{why}: wakes pid {pid} ({comm}) sleeping on {}",
                obj.queue_name()
            )
        });
        true
    }

    /// Puts the process to sleep on an object's wait queue, inside the
    /// system call it is making; `exclusive` for the calls that the kernel
    /// wakes one at a time (`accept()`, `epoll_wait()`).
    pub(crate) fn sleep_on_obj(&mut self, pid: Pid, obj: WaitObj, waits: WaitFor, exclusive: bool) {
        if let Some(wq) = self.wq_mut(obj) {
            wq.add(WaitEntry::Process { pid, exclusive });
        }
        let host = self.task(pid).host;
        self.trace(host, Layer::Sched, |w| {
            let t = w.task(pid);
            format!(
                "pid {pid} ({}) sleeps in {}: waiting for {}",
                t.comm,
                t.syscall,
                w.describe_wait(obj, waits)
            )
        });
        // The call's text is filled in by the caller once it is known to sleep.
        let syscall = self.task(pid).syscall.clone();
        self.task_mut(pid).state = TaskState::Blocked {
            syscall,
            on: obj,
            waits,
        };
    }

    /// What a sleeper waits for, in words, from the object's state now.
    pub(crate) fn describe_wait(&self, obj: WaitObj, waits: WaitFor) -> String {
        match obj {
            WaitObj::Sock(sk) => self.describe_sock_wait(sk, waits),
            WaitObj::UnixPeerWait(sk) => self.unix_describe_peer_wait(sk, waits),
            WaitObj::Epoll(ep) | WaitObj::EpollPoll(ep) => self.describe_epoll_wait(ep),
            WaitObj::IoUring(r) => self.describe_io_uring_wait(r),
            WaitObj::PollTable(pid) => format!(
                "any of {} fds to become ready",
                self.task(pid).poll_table.len()
            ),
            WaitObj::Pipe(p, which) => self.describe_pipe_wait(p, which),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u32, exclusive: bool) -> WaitEntry {
        WaitEntry::Process {
            pid: Pid(n),
            exclusive,
        }
    }

    #[test]
    fn add_is_idempotent_and_non_exclusive_go_first() {
        let mut q = WaitQueue::default();
        q.add(p(1, true));
        q.add(p(2, false));
        q.add(p(3, false));
        q.add(p(2, false));
        assert_eq!(q.entries(), &[p(3, false), p(2, false), p(1, true)]);
    }

    #[test]
    fn a_keyed_wakeup_runs_all_non_exclusive_and_one_exclusive() {
        let mut q = WaitQueue::default();
        for n in 1..=3 {
            q.add(p(n, true));
        }
        q.add(p(9, false));
        let mut woken = Vec::new();
        q.wake_up(1, |e| {
            woken.push(*e);
            true
        });
        assert_eq!(woken, vec![p(9, false), p(1, true)]);
        assert_eq!(q.entries(), &[p(2, true), p(3, true)]);
        q.wake_up(usize::MAX, |_| true);
        assert!(q.is_empty());
    }

    #[test]
    fn an_exclusive_entry_that_declines_does_not_count() {
        let mut q = WaitQueue::default();
        let ep = |n| WaitEntry::Epoll {
            ep: FileId(n),
            file: FileId(0),
            fd: 3,
            exclusive: true,
        };
        q.add(ep(1));
        q.add(ep(2));
        q.add(ep(3));
        let mut run = Vec::new();
        q.wake_up(1, |e| {
            run.push(*e);
            *e != ep(1)
        });
        assert_eq!(run, vec![ep(1), ep(2)]);
        assert_eq!(q.entries().len(), 3, "epoll entries stay on the queue");
    }
}
