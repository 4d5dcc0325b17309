//! `fork()`, as far as sockets are concerned (`kernel/fork.c`:
//! `copy_process()` → `copy_files()` → `dup_fd()`).
//!
//! The child gets a copy of the parent's fd table: the same numbers, each
//! pointing to the *same* open file (`struct file`) as in the parent, whose
//! reference count goes up by one. Nothing about the socket is copied: two
//! processes now hold one socket, and it is released only when both have
//! closed it (`fput()`). This is how a server hands a connection to a
//! worker, and how the two ends of a `socketpair()` end up in two
//! processes.
//!
//! Simplified: the child is a new simulated process with a body of its
//! own (there is no address space to copy, so it cannot "return twice");
//! it runs on the parent's host and network namespace, and starts once the
//! parent sleeps or returns (one CPU, and the parent keeps it after
//! `fork()`).

use std::future::Future;

use crate::ids::Pid;
use crate::sim::World;
use crate::syscalls::Process;
use crate::task::{Task, TaskState};
use crate::trace::Layer;

impl World {
    /// `copy_process()`: a runnable child of `parent` called `comm`, with a
    /// copy of its fd table (`dup_fd()`: every shared file's `f_count` + 1,
    /// close-on-exec flags kept) and its `RLIMIT_NOFILE`.
    pub(crate) fn copy_process(&mut self, parent: Pid, comm: &str) -> Pid {
        let pid = Pid(self.tasks.len() as u32);
        let p = self.task(parent);
        let (host, netns, files, rlimit) = (p.host, p.netns, p.files.clone(), p.rlimit_nofile);
        for (_, file) in files.iter() {
            if let Some(f) = self.files.get_mut(&file) {
                f.count += 1;
            }
        }
        let shared = files.len();
        self.tasks.push(Task {
            pid,
            comm: comm.to_string(),
            host,
            netns,
            files,
            rlimit_nofile: rlimit,
            state: TaskState::Running,
            syscall: String::new(),
            syscalls: 0,
            wakeups: 0,
        });
        self.runqueue.push_back(pid);
        self.trace(host, Layer::Sched, |w| {
            format!(
                "fork: pid {parent} ({}) -> child pid {pid} ({comm}), sharing its {shared} open files",
                w.task(parent).comm
            )
        });
        pid
    }
}

impl Process {
    /// `fork()`: starts a child process `comm` that runs `body`, with a
    /// copy of this process's fd table (same numbers, same open files, each
    /// held once more). Returns the child's pid, as `fork()` does in the
    /// parent. The child runs when the parent next sleeps or returns.
    pub fn fork<F, Fut>(&self, comm: &str, body: F) -> Pid
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = Result<(), crate::errno::Errno>> + 'static,
    {
        let child = self.call(
            || "fork()".to_string(),
            |w| w.copy_process(self.pid, comm),
        );
        // The body runs outside the kernel: it may make calls at once.
        let fut = Box::pin(body(Process {
            world: self.world.clone(),
            pid: child,
        }));
        self.world.borrow_mut().forked.push((child, fut));
        child
    }
}
