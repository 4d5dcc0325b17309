//! What the tests share: fake files with a readiness mask and a poll
//! counter, plain-value views of your lists, and simulations that run on
//! your lists or on the stack's own.
#![allow(dead_code, unused_imports)]

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use std::collections::BTreeMap;

pub use lab_epoll::{Callback, EpKey, EventPoll, EventPollLists};
pub use stack::errno::Errno;
pub use stack::eventpoll::EpollEvent;
pub use stack::eventpoll_lists::EP_PRIVATE_BITS as EP_PRIVATE;
pub use stack::uapi::*;

/// The key `sk_data_ready` wakes a socket's wait queue with.
pub const DATA_READY: u32 = EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND;
/// The key of `sk_write_space`.
pub const WRITE_SPACE: u32 = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
/// A state change wakes with no key.
pub const STATE_CHANGE: u32 = 0;

/// Files as the lists see them: a readiness mask per key (0 when not
/// set), and how many times anyone asked.
#[derive(Default)]
pub struct Files {
    mask: BTreeMap<EpKey, u32>,
    pub polls: u64,
}

impl Files {
    pub fn set(&mut self, k: EpKey, mask: u32) {
        self.mask.insert(k, mask);
    }

    pub fn poll(&mut self, k: EpKey) -> u32 {
        self.polls += 1;
        self.mask.get(&k).copied().unwrap_or(0)
    }
}

pub fn key(file: u64, fd: i32) -> EpKey {
    EpKey { file, fd }
}

pub fn ev(events: u32, data: u64) -> EpollEvent {
    EpollEvent { events, data }
}

/// An instance of the lists under test.
pub fn lists() -> Box<dyn EventPollLists> {
    lab_epoll::boxed()
}

/// `EPOLL_CTL_ADD`.
pub fn add(
    ep: &mut dyn EventPollLists,
    files: &mut Files,
    k: EpKey,
    events: u32,
    data: u64,
) -> Result<bool, Errno> {
    ep.insert(k, ev(events, data), &mut |k| files.poll(k))
}

/// `EPOLL_CTL_MOD`.
pub fn modify(
    ep: &mut dyn EventPollLists,
    files: &mut Files,
    k: EpKey,
    events: u32,
    data: u64,
) -> Result<bool, Errno> {
    ep.modify(k, ev(events, data), &mut |k| files.poll(k))
}

/// `epoll_wait()`'s events as (events, data) pairs.
pub fn wait(ep: &mut dyn EventPollLists, files: &mut Files, max: usize) -> Vec<(u32, u64)> {
    ep.send_events(max, &mut |k| files.poll(k))
        .into_iter()
        .map(|e| (e.events, e.data))
        .collect()
}

/// The callback's verdict as (queued, ewake).
pub fn cb(ep: &mut dyn EventPollLists, k: EpKey, pollflags: u32, has_waiter: bool) -> (bool, bool) {
    let c = ep.poll_callback(k, pollflags, has_waiter);
    (c.queued, c.ewake)
}

/// The ready list as (file, fd) pairs.
pub fn ready(ep: &dyn EventPollLists) -> Vec<(u64, i32)> {
    ep.ready_list()
        .into_iter()
        .map(|k| (k.file, k.fd))
        .collect()
}

/// An item's interest as (events, data).
pub fn interest(ep: &dyn EventPollLists, k: EpKey) -> Option<(u32, u64)> {
    ep.interest(k).map(|e| (e.events, e.data))
}

/// A simulation whose epoll instances use your lists (`student`) or the
/// stack's own.
pub fn sim(student: bool) -> stack::sim::Sim {
    let mut sim = stack::sim::Sim::new(1);
    if student {
        sim.set_eventpoll(lab_epoll::boxed);
    }
    sim
}

/// What `epoll_wait()` returned, as a line of a log.
pub fn show(r: Result<Vec<EpollEvent>, Errno>) -> String {
    match r {
        Ok(evs) => evs
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    stack::eventpoll::epoll_events_name(e.events),
                    e.data
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("{e:?}"),
    }
}

/// A log the scenario's process writes, line by line.
pub type Log = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

/// Runs `body` as the only process of a one-host simulation on your lists
/// (`student`) or the stack's own, and returns its log, the run's outcome
/// and the host's wakeup, callback and poll counters.
pub fn run_scenario<F, Fut>(student: bool, body: F) -> Vec<String>
where
    F: FnOnce(stack::syscalls::Process, Log) -> Fut,
    Fut: std::future::Future<Output = Result<(), Errno>> + 'static,
{
    let mut sim = sim(student);
    let h = sim.add_host("h");
    let log = Log::default();
    let l = log.clone();
    sim.spawn(h, "p", move |p| body(p, l));
    let r = sim.run();
    let c = sim.costs(h);
    let mut out = log.take();
    out.push(format!("ran to the end: {}", r.is_ok()));
    out.push(format!(
        "wakeups {} callbacks {} fds polled {}",
        c.wakeups, c.epoll_callbacks, c.fds_polled
    ));
    out
}

/// Appends a line to a log.
pub fn note(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}
