//! The process's side of io_uring: `io_uring_setup()` and
//! `io_uring_enter()`, the two system calls, and the ring accesses that are
//! plain memory writes and reads in a real program (liburing's
//! `io_uring_get_sqe` + `io_uring_prep_*`, and `io_uring_peek_cqe` +
//! `io_uring_cqe_seen`), which cost no system call.

use std::collections::{BTreeMap, VecDeque};
use std::task::Poll;

use super::{Cqe, IORING_MAX_ENTRIES, IoRing, Sqe};
use crate::fs::file::FileKind;
use crate::kernel::ids::{FileId, Pid};
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitObj, WaitQueue};
use crate::kernel::world::World;
use crate::uapi::errno::Errno;

impl World {
    fn io_ring_of(&self, pid: Pid, fd: i32) -> Result<FileId, Errno> {
        let file = self.task(pid).files.get(fd)?;
        if self.io_rings.contains_key(&file) {
            Ok(file)
        } else {
            Err(Errno::EOPNOTSUPP)
        }
    }

    /// `io_uring_setup(entries, params)`: rings of `entries` rounded up to a
    /// power of two, the completion ring twice that.
    pub(crate) fn sys_io_uring_setup(&mut self, pid: Pid, entries: u32) -> Result<i32, Errno> {
        if entries == 0 || entries > IORING_MAX_ENTRIES {
            return Err(Errno::EINVAL);
        }
        let sq_entries = entries.next_power_of_two();
        let (fd, file) = self.anon_inode_getfd(pid, FileKind::IoUring, false)?;
        let host = self.task(pid).host;
        self.io_rings.insert(
            file,
            IoRing {
                owner: pid,
                host,
                sq_entries,
                cq_entries: 2 * sq_entries,
                sq: VecDeque::new(),
                cq: VecDeque::new(),
                overflow: VecDeque::new(),
                armed: BTreeMap::new(),
                task_work: VecDeque::new(),
                next_req: 0,
                cq_wait: WaitQueue::default(),
            },
        );
        Ok(fd)
    }

    /// `io_uring_enter(fd, to_submit, min_complete, IORING_ENTER_GETEVENTS)`:
    /// submits, runs due task work, and sleeps until `min_complete`
    /// completions are in the ring.
    fn sys_io_uring_enter(
        &mut self,
        pid: Pid,
        fd: i32,
        to_submit: u32,
        min_complete: u32,
        submitted: &mut Option<u32>,
    ) -> Poll<Result<u32, Errno>> {
        let ring = match self.io_ring_of(pid, fd) {
            Ok(r) => r,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if submitted.is_none() {
            let n = (to_submit as usize).min(self.io_ring(ring).sq.len());
            for _ in 0..n {
                let Some(sqe) = self.io_ring_mut(ring).sq.pop_front() else {
                    break;
                };
                self.io_submit_one(ring, sqe);
            }
            *submitted = Some(n as u32);
        }
        self.io_run_task_work(ring);
        self.io_flush_overflow(ring);
        if self.io_ring(ring).cq.len() >= min_complete as usize {
            return Poll::Ready(Ok(submitted.unwrap_or(0)));
        }
        self.sleep_on_obj(pid, WaitObj::IoUring(ring), WaitFor::Events, true);
        Poll::Pending
    }
}

impl Process {
    /// `io_uring_setup(entries)`: a ring fd with room for `entries`
    /// submissions (rounded up to a power of two).
    pub fn io_uring_setup(&self, entries: u32) -> SysResult<i32> {
        self.call(
            || format!("io_uring_setup({entries})"),
            |w| w.sys_io_uring_setup(self.pid, entries),
        )
    }

    /// Writes a submission into the ring (no system call: the ring is
    /// shared memory). `EBUSY` when the submission ring is full, where
    /// liburing's `io_uring_get_sqe()` returns NULL.
    pub fn io_uring_push(&self, fd: i32, sqe: Sqe) -> SysResult<()> {
        let mut w = self.world.borrow_mut();
        let ring = w.io_ring_of(self.pid, fd)?;
        let r = w.io_ring_mut(ring);
        if r.sq.len() >= r.sq_entries as usize {
            return Err(Errno::EBUSY);
        }
        r.sq.push_back(sqe);
        Ok(())
    }

    /// Takes the oldest completion from the ring, if any (no system call).
    pub fn io_uring_pop(&self, fd: i32) -> SysResult<Option<Cqe>> {
        let mut w = self.world.borrow_mut();
        let ring = w.io_ring_of(self.pid, fd)?;
        let c = w.io_ring_mut(ring).cq.pop_front();
        w.io_flush_overflow(ring);
        Ok(c)
    }

    /// `io_uring_enter(fd, to_submit, min_complete, GETEVENTS)`: hands the
    /// kernel up to `to_submit` queued submissions and waits until at least
    /// `min_complete` completions are in the ring. Returns how many were
    /// submitted.
    pub async fn io_uring_enter(
        &self,
        fd: i32,
        to_submit: u32,
        min_complete: u32,
    ) -> SysResult<u32> {
        let mut submitted = None;
        self.blocking(
            || format!("io_uring_enter({fd}, {to_submit}, {min_complete}, IORING_ENTER_GETEVENTS)"),
            |w| w.sys_io_uring_enter(self.pid, fd, to_submit, min_complete, &mut submitted),
        )
        .await
    }
}
