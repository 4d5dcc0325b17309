//! Starting a process from a process: `fork()` then `execve()` of a new
//! program, as `posix_spawn()` and a shell's `a | b` do
//! (`kernel/fork.c`: `copy_process()` → `dup_fd()`; `fs/exec.c`:
//! `do_close_on_exec()`).
//!
//! The child gets a copy of the parent's fd table: the same numbers
//! pointing at the same open file descriptions, each now referenced once
//! more (`f_count`). That is how a pipe made before the spawn connects the
//! two: both hold both ends, and each closes the end it does not use
//! (a pipe reaches end of file only when *every* write end is closed).
//! Fds marked close-on-exec (`O_CLOEXEC`, `FD_CLOEXEC`) are not inherited,
//! since the exec closes them.
//!
//! Simplified: the child is a new program (an `async` body), not a copy of
//! the parent's memory; there is no process tree (no `wait()`, no
//! `SIGCHLD`), and nothing else is inherited but the host, the network
//! namespace and `RLIMIT_NOFILE`.

use std::future::Future;

use crate::errno::Errno;
use crate::fs::FdTable;
use crate::ids::{HostId, Pid};
use crate::sim::World;
use crate::syscalls::Process;
use crate::task::{Task, TaskState};
use crate::trace::Layer;

impl World {
    /// A new runnable task on `host` with the given fd table.
    pub(crate) fn new_task(
        &mut self,
        host: HostId,
        comm: &str,
        files: FdTable,
        nofile: u32,
    ) -> Pid {
        let pid = Pid(self.tasks.len() as u32);
        let netns = self.host(host).init_net;
        self.tasks.push(Task {
            pid,
            comm: comm.to_string(),
            host,
            netns,
            files,
            rlimit_nofile: nofile,
            state: TaskState::Running,
            syscall: String::new(),
            syscalls: 0,
            wakeups: 0,
            costs: Default::default(),
        });
        self.runqueue.push_back(pid);
        pid
    }

    /// `copy_process()` with `dup_fd()`, then the exec's
    /// `do_close_on_exec()`: a child holding the parent's open files.
    fn spawn_task(&mut self, parent: Pid, comm: &str) -> Pid {
        let mut files = self.task(parent).files.clone();
        let inherited: Vec<i32> = files.iter().map(|(fd, _)| fd).collect();
        for fd in inherited {
            if files.cloexec(fd).unwrap_or(false) {
                let _ = files.remove(fd);
            }
        }
        for (_, file) in files.iter() {
            if let Some(f) = self.files.get_mut(&file) {
                f.count += 1;
            }
        }
        let (host, nofile) = (self.task(parent).host, self.task(parent).rlimit_nofile);
        let child = self.new_task(host, comm, files, nofile);
        self.trace(host, Layer::Syscall, |w| {
            format!(
                "{}[{parent}]: posix_spawn: pid {child} ({comm}) starts with {} inherited fds",
                w.task(parent).comm,
                w.task(child).files.len()
            )
        });
        child
    }
}

impl Process {
    /// `posix_spawn()`: starts `body` as a new process `comm` on this host
    /// that inherits this process's open fds (except those marked
    /// close-on-exec), as `fork()` followed by `execve()` would. Returns
    /// the child's pid; the child runs once this process next sleeps or
    /// returns.
    pub fn spawn<F, Fut>(&self, comm: &str, body: F) -> Pid
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = Result<(), Errno>> + 'static,
    {
        let pid = self.call(
            || format!("posix_spawn(\"{comm}\")"),
            |w| w.spawn_task(self.pid, comm),
        );
        let child = Process {
            world: self.world.clone(),
            pid,
        };
        let fut = Box::pin(body(child));
        self.world.borrow_mut().born.push(fut);
        pid
    }
}
