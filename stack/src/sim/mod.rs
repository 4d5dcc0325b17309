//! The simulation: a world of hosts joined by links, a virtual clock, an
//! event queue, a seeded random generator, and the processes that run on
//! the hosts.
//!
//! [`Sim`] is the handle a program (an example, a test, a lab) holds. It
//! builds the topology, spawns processes, and runs the event loop until
//! every process has finished, or until nothing can happen any more while
//! some process still waits: then it reports a deadlock, naming who waits
//! on what, instead of hanging.
//!
//! Inside, `World` (`kernel::world`) holds the kernel state of every
//! host; `Sim` owns it and drives it. Every method of `Sim` is defined in
//! this folder: building the topology (`topology`, and `iproute2` for the
//! commands an administrator types), the hooks that plug a lab's component
//! into the stack (`labs`), namespaces and devices (`devices`), files
//! (`files`) and captures (`capture`).

mod capture;
mod devices;
pub use devices::InNetNs;
pub mod event;
pub mod executor;
mod files;
pub mod iproute2;
mod labs;
pub mod time;
pub mod topology;

use std::cell::RefCell;
use std::rc::Rc;

use crate::kernel::world::World;
use executor::Executor;
use time::Nanos;

pub use executor::{Exit, RunReport};

/// A simulation: the handle that builds hosts and links, spawns processes
/// and runs them.
///
/// ```
/// use stack::prelude::*;
///
/// let mut sim = Sim::new(1);
/// let h = sim.add_host("box");
/// sim.spawn(h, "app", |p| async move {
///     let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
///     assert_eq!(fd, 3);
///     Ok(())
/// });
/// assert!(sim.run().is_ok());
/// ```
pub struct Sim {
    pub(crate) world: Rc<RefCell<World>>,
    pub(crate) exec: Executor,
}

impl Sim {
    /// A new, empty world whose random choices (link loss) follow `seed`.
    pub fn new(seed: u64) -> Sim {
        Sim {
            world: Rc::new(RefCell::new(World::new(seed))),
            exec: Executor::default(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Nanos {
        self.world.borrow().now
    }

    /// Turns the journey trace and the wire log (captures, diagrams) on or
    /// off; both are on by default, and a benchmark turns them off.
    pub fn set_tracing(&mut self, on: bool) {
        let mut w = self.world.borrow_mut();
        w.trace.enabled = on;
        w.capture_enabled = on;
    }

    /// Runs until every process has exited, or until nothing more can
    /// happen (a deadlock or a process waiting forever), or until the
    /// event limit (a guard against runaway programs) is hit.
    pub fn run(&mut self) -> RunReport {
        self.exec.run(&self.world, None)
    }

    /// Runs until virtual time `t` (or until nothing more can happen),
    /// leaving later events pending; the clock ends at `t`.
    pub fn run_until(&mut self, t: Nanos) -> RunReport {
        self.exec.run(&self.world, Some(t))
    }

    /// Puts a process that waits on the program driving the simulation
    /// back on the run queue, so that its body is polled again in the next
    /// run. A process body may wait on something outside the kernel (a
    /// script's next system call, handed over through shared state) by
    /// returning `Pending` without sleeping on a kernel object; this is how
    /// the driver wakes it. A process asleep in the kernel, or exited, is
    /// left alone: false.
    pub fn resume(&mut self, pid: crate::kernel::ids::Pid) -> bool {
        let mut w = self.world.borrow_mut();
        let Some(task) = w.tasks.get(pid.idx()) else {
            return false;
        };
        if !matches!(task.state, crate::kernel::task::TaskState::Running)
            || w.runqueue.contains(&pid)
        {
            return false;
        }
        w.runqueue.push_back(pid);
        true
    }

    /// When the next pending event (a frame, a timer, a softirq) is due,
    /// if any: a driver that must stop at the first packet a host sends
    /// runs to this instant and looks, instead of running past it.
    pub fn next_event_time(&self) -> Option<Nanos> {
        self.world.borrow().events.peek_time()
    }

    /// The number of events still pending, for tests of quiescence.
    pub fn pending_events(&self) -> usize {
        self.world.borrow().events.len()
    }
}
