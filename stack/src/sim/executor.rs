//! The scheduler: runs simulated processes, which are `async` blocks, on a
//! single-threaded, deterministic executor.
//!
//! A process runs until it makes a system call that must sleep (an empty
//! receive queue, a full send buffer, a timer): that call registers the
//! process on a wait queue, marks it asleep and returns `Pending`, exactly
//! where a real thread would call `schedule()` inside the kernel. A wakeup
//! (`sk_data_ready`, a timer) puts the process back on the run queue, and
//! the executor polls it again; the call then re-checks its condition, as
//! the kernel's wait loops do.
//!
//! Between processes the executor advances virtual time to the next event.
//! When no process can run and no event is pending, the run is over: either
//! every process has exited, or the ones left are asleep forever, which is
//! reported as a deadlock naming who waits on what.
//!
//! Simplified: a process runs without taking virtual time (system calls
//! are instantaneous); time passes in links, timers and softirq work.

use std::cell::RefCell;
use std::fmt;
use std::task::{Context, Poll, Waker};

use super::time::{Nanos, fmt_instant};
use crate::kernel::ids::{HostId, Pid};
use crate::kernel::task::{ProcFuture, TaskState};
use crate::kernel::world::World;
use crate::uapi::errno::Errno;

/// Guards against a program that never lets the simulation end (for
/// example a timer that re-arms itself forever).
const MAX_EVENTS_PER_RUN: u64 = 50_000_000;

/// When every process has slept on a socket this long while only timers
/// ran (zero-window probes between two writers that never read, say), the
/// run is reported as a deadlock: the kernel would go on probing forever.
pub const STALL_LIMIT: Nanos = 600_000_000_000;

#[derive(Default)]
pub(crate) struct Executor {
    futures: Vec<Option<ProcFuture>>,
}

/// How a process ended, or that it has not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Returned `Ok(())`.
    Ok,
    /// Returned an error from a system call.
    Err(Errno),
    /// Still running or asleep when the run stopped.
    NotFinished,
}

/// A process the run left asleep, and on what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sleeper {
    /// The process.
    pub pid: Pid,
    /// Its name.
    pub comm: String,
    /// The host it runs on.
    pub host: String,
    /// The system call it sleeps in, as `strace` shows it.
    pub syscall: String,
    /// What it waits for.
    pub waits_for: String,
}

/// What a run ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// Virtual time when the run stopped.
    pub at: Nanos,
    /// Every process with how it ended, in pid order.
    pub exits: Vec<(Pid, String, Exit)>,
    /// Set when nothing could happen any more but some process still slept
    /// on a wait queue: the deadlock, with who waits on what.
    pub deadlock: Option<Vec<Sleeper>>,
    /// Set when the run stopped at the event limit.
    pub hit_event_limit: bool,
    /// Set when the deadlock was found by the watchdog: timers were still
    /// pending, but no process had run for [`STALL_LIMIT`].
    pub stalled: bool,
    /// Events the loop handled in this run (frames, softirqs, timers).
    pub events: u64,
}

impl RunReport {
    /// True when every process exited with `Ok` and nothing is stuck.
    pub fn is_ok(&self) -> bool {
        self.deadlock.is_none()
            && !self.hit_event_limit
            && self.exits.iter().all(|(_, _, e)| *e == Exit::Ok)
    }

    /// How the named process ended.
    pub fn exit_of(&self, comm: &str) -> Option<&Exit> {
        self.exits
            .iter()
            .find(|(_, c, _)| c == comm)
            .map(|(_, _, e)| e)
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(sleepers) = &self.deadlock {
            if self.stalled {
                writeln!(
                    f,
                    "DEADLOCK at t={}s: every process is asleep; only timers are left (such as zero-window probes), and for {} s none of them has woken a process.",
                    fmt_instant(self.at),
                    STALL_LIMIT / 1_000_000_000
                )?;
            } else {
                writeln!(
                    f,
                    "DEADLOCK at t={}s: every process is asleep and nothing is pending that could wake one.",
                    fmt_instant(self.at)
                )?;
            }
            for s in sleepers {
                writeln!(
                    f,
                    "  pid {} ({}) on {}: blocked in {}, waiting for {}",
                    s.pid, s.comm, s.host, s.syscall, s.waits_for
                )?;
            }
            return Ok(());
        }
        write!(f, "run ended at t={}s:", fmt_instant(self.at))?;
        for (pid, comm, e) in &self.exits {
            match e {
                Exit::Ok => write!(f, " {comm}[{pid}] exited 0;")?,
                Exit::Err(e) => write!(f, " {comm}[{pid}] failed with {e};")?,
                Exit::NotFinished => write!(f, " {comm}[{pid}] still running;")?,
            }
        }
        if self.hit_event_limit {
            write!(f, " (stopped at the event limit)")?;
        }
        writeln!(f)
    }
}

impl Executor {
    /// Takes a process's body; its slot is its pid.
    pub(crate) fn add(&mut self, pid: Pid, fut: ProcFuture) {
        if self.futures.len() <= pid.idx() {
            self.futures.resize_with(pid.idx() + 1, || None);
        }
        self.futures[pid.idx()] = Some(fut);
    }

    pub(crate) fn run(&mut self, world: &RefCell<World>, until: Option<Nanos>) -> RunReport {
        let mut events = 0u64;
        let mut hit_limit = false;
        let mut stalled = false;
        let mut last_progress = world.borrow().now;
        loop {
            if self.run_runnable(world) {
                last_progress = world.borrow().now;
            }
            let mut w = world.borrow_mut();
            let Some(t) = w.events.peek_time() else { break };
            let all_blocked = w
                .tasks
                .iter()
                .any(|t| matches!(t.state, TaskState::Blocked { .. }))
                && w.tasks
                    .iter()
                    .all(|t| matches!(t.state, TaskState::Blocked { .. } | TaskState::Exited(_)));
            if all_blocked && t.saturating_sub(last_progress) > STALL_LIMIT {
                // Nothing happens before `t`: the clock may stand where
                // the stall became certain, so the report's time is the
                // end of the quiet period it names.
                w.now = w.now.max(last_progress + STALL_LIMIT);
                stalled = true;
                break;
            }
            if until.is_some_and(|u| t > u) {
                break;
            }
            if events >= MAX_EVENTS_PER_RUN {
                hit_limit = true;
                break;
            }
            events += 1;
            let (t, ev) = w.events.pop().expect("peeked");
            w.now = t;
            w.handle(ev);
        }
        let mut w = world.borrow_mut();
        if let Some(u) = until {
            w.now = w.now.max(u);
        }
        let mut r = report(&w, hit_limit, until.is_some() && !stalled);
        r.events = events;
        r.stalled = stalled && r.deadlock.is_some();
        r
    }

    /// Polls every runnable process; true if any ran.
    fn run_runnable(&mut self, world: &RefCell<World>) -> bool {
        let mut ran = false;
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            let forked = std::mem::take(&mut world.borrow_mut().forked);
            for (pid, fut) in forked {
                self.add(pid, fut);
            }
            let next = world.borrow_mut().runqueue.pop_front();
            let Some(pid) = next else { break };
            {
                let mut w = world.borrow_mut();
                if matches!(w.task(pid).state, TaskState::Exited(_)) {
                    continue;
                }
                w.task_mut(pid).state = TaskState::Running;
            }
            let Some(fut) = self.futures.get_mut(pid.idx()).and_then(Option::as_mut) else {
                continue;
            };
            ran = true;
            if let Poll::Ready(result) = fut.as_mut().poll(&mut cx) {
                self.futures[pid.idx()] = None;
                world.borrow_mut().task_exit(pid, result);
            }
        }
        ran
    }
}

fn report(w: &World, hit_event_limit: bool, bounded: bool) -> RunReport {
    let host_name = |h: HostId| w.host(h).name.clone();
    let exits = w
        .tasks
        .iter()
        .map(|t| {
            let e = match &t.state {
                TaskState::Exited(Ok(())) => Exit::Ok,
                TaskState::Exited(Err(e)) => Exit::Err(*e),
                _ => Exit::NotFinished,
            };
            (t.pid, t.comm.clone(), e)
        })
        .collect();
    let sleepers: Vec<Sleeper> = w
        .tasks
        .iter()
        .filter_map(|t| match &t.state {
            TaskState::Blocked { syscall, on, waits } => Some(Sleeper {
                pid: t.pid,
                comm: t.comm.clone(),
                host: host_name(t.host),
                syscall: syscall.clone(),
                waits_for: w.describe_wait(*on, *waits),
            }),
            _ => None,
        })
        .collect();
    // Asleep with nothing pending is a deadlock; a bounded run that stopped
    // early with events still queued is only a pause.
    let stuck = w.events.len() == 0 || !bounded;
    let deadlock = (!sleepers.is_empty() && stuck && !hit_event_limit).then_some(sleepers);
    RunReport {
        at: w.now,
        exits,
        deadlock,
        hit_event_limit,
        stalled: false,
        events: 0,
    }
}
