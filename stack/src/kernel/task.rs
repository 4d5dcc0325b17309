//! A simulated process's kernel-side state: `struct task_struct`
//! (`include/linux/sched.h`) reduced to what the network stack touches: its
//! pid and name, its host and network namespace, its fd table
//! (`files_struct`), its `RLIMIT_NOFILE`, and whether it is running,
//! asleep on a wait queue, asleep on a timer, or gone.

use crate::fs::file::FdTable;
use crate::kernel::ids::{HostId, NetNsId, Pid};
use crate::uapi::errno::Errno;

impl Task {
    /// A new, running process with the default limits and nothing open.
    pub(crate) fn new(pid: Pid, comm: &str, host: HostId, netns: NetNsId) -> Task {
        Task {
            pid,
            comm: comm.to_string(),
            host,
            netns,
            files: Default::default(),
            rlimit_nofile: DEFAULT_NOFILE,
            state: TaskState::Running,
            syscall: String::new(),
            syscalls: 0,
            wakeups: 0,
            timeout: None,
            timed_out: false,
            poll_table: Vec::new(),
            costs: Default::default(),
        }
    }
}
use crate::sim::time::Nanos;

/// A process's body: the `async` block it runs, as the executor holds it
/// (a real task's code is its program; here it is a future).
pub(crate) type ProcFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Errno>>>>;

/// Why a process is not running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// On the run queue or running.
    Running,
    /// Asleep in a system call on an object's wait queue
    /// (`TASK_INTERRUPTIBLE` in `sk_wait_event`, `pipe_wait_readable`, …).
    Blocked {
        /// The call, as `strace` would show it.
        syscall: String,
        /// The object whose wait queue it sleeps on.
        on: crate::kernel::wait::WaitObj,
        /// What it waits for.
        waits: WaitFor,
    },
    /// Asleep until a timer fires (`nanosleep`).
    Sleeping { until: Nanos },
    /// Finished.
    Exited(Result<(), Errno>),
}

/// What a process asleep on a socket waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitFor {
    /// Data in the receive queue (`sk_wait_data`).
    Datagram,
    /// Room in the send buffer (`sock_wait_for_wmem`, `sk_stream_wait_memory`).
    SendSpace,
    /// Data or the end of the stream on a TCP socket (`sk_wait_data`).
    Data,
    /// The handshake to finish (`inet_wait_for_connect`).
    Connect,
    /// A connection in the accept queue (`inet_csk_wait_for_connect`).
    Connection,
    /// Any watched fd to become ready (`epoll_wait`, `poll`, `select`).
    Events,
}

/// A process's kernel-side state.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) pid: Pid,
    pub(crate) comm: String,
    pub(crate) host: HostId,
    pub(crate) netns: NetNsId,
    pub(crate) files: FdTable,
    /// The soft `RLIMIT_NOFILE`: 1024, the usual default (`ulimit -n`).
    pub(crate) rlimit_nofile: u32,
    pub(crate) state: TaskState,
    /// The system call in progress, as `strace` shows it.
    pub(crate) syscall: String,
    /// System calls made, for the cost counters.
    pub(crate) syscalls: u64,
    /// Times this process was woken from a wait queue.
    pub(crate) wakeups: u64,
    /// This process's share of its host's cost counters: what its own
    /// system calls cost, with the work they ran inline (`/proc/PID/io`
    /// keeps the like per task).
    pub(crate) costs: crate::kernel::host::Costs,
    /// When a sleep with a timeout (`poll`, `select`, `epoll_wait`) ends
    /// (`schedule_hrtimeout`), and whether it did.
    pub(crate) timeout: Option<Nanos>,
    pub(crate) timed_out: bool,
    /// The wait queues a `select()`/`poll()` in progress hooked onto
    /// (`struct poll_wqueues`), to unhook at the end (`poll_freewait`).
    pub(crate) poll_table: Vec<crate::kernel::wait::WaitObj>,
}

/// The default soft limit on open files, as a login shell has it.
pub const DEFAULT_NOFILE: u32 = 1024;
