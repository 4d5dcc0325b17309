//! `fork()` as far as files go (`kernel/fork.c`: `copy_process()` →
//! `copy_files()` → `dup_fd()`).
//!
//! The child gets a copy of the parent's fd table: the same numbers point
//! to the same open file descriptions, each of which gains a reference.
//! That is how a pre-forking server hands one listening socket to many
//! workers, and why they can all sleep in `accept()` on it (the thundering
//! herd of [`crate::fs::eventpoll`]'s chapter).
//!
//! Simplified: the child is a new simulated process with its own body (an
//! `async` block), not a copy of the parent's stack; only the fd table,
//! the limits, the host and the namespace are inherited.

use std::future::Future;

use crate::kernel::ids::Pid;
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::task::Task;
use crate::uapi::errno::Errno;

impl Process {
    /// `fork()`: starts a child process named `comm` running `body`, with a
    /// copy of this process's fd table. Returns the child's pid.
    pub fn fork<F, Fut>(&self, comm: &str, body: F) -> SysResult<Pid>
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = Result<(), Errno>> + 'static,
    {
        let child = self.call(
            || "fork()".to_string(),
            |w| {
                let parent = w.task(self.pid);
                let pid = Pid(w.tasks.len() as u32);
                let mut t = Task::new(pid, comm, parent.host, parent.netns);
                t.files = parent.files.clone();
                t.rlimit_nofile = parent.rlimit_nofile;
                let files: Vec<_> = t.files.iter().map(|(_, f)| f).collect();
                for f in files {
                    if let Some(file) = w.files.get_mut(&f) {
                        file.count += 1;
                    }
                }
                w.tasks.push(t);
                w.runqueue.push_back(pid);
                pid
            },
        );
        let p = Process {
            world: self.world.clone(),
            pid: child,
        };
        self.world
            .borrow_mut()
            .forked
            .push((child, Box::pin(body(p))));
        Ok(child)
    }
}
