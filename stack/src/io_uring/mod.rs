//! io_uring (`io_uring/io_uring.c`, `io_uring/poll.c`, `io_uring/net.c`):
//! system calls as entries in two rings shared with the kernel.
//!
//! The process writes submission queue entries (SQEs: "receive on fd 5
//! into this buffer", "accept on fd 3") into the submission ring, in its
//! own memory, without entering the kernel; one `io_uring_enter()` hands
//! the kernel all of them. The kernel tries each at once without blocking
//! (`IO_URING_F_NONBLOCK`); one that would block is *armed*: a callback on
//! the file's wait queue, like epoll's, retries it when the file becomes
//! ready (`io_poll_wake` → task work → `io_poll_task_func`). Each finished
//! operation leaves a completion queue entry (CQE) in the completion ring,
//! which the process reads, again without a system call. Where epoll tells
//! a process that it *could* now read (and it still makes the `read()`),
//! io_uring does the read and says it is done.
//!
//! Simplified: the model follows `IORING_SETUP_DEFER_TASKRUN` (the mode
//! liburing recommends for a single-threaded server): retries that a
//! wakeup makes due run when the owner next calls `io_uring_enter()`, and
//! a sleeping `io_uring_enter()` is woken to run them. Operations: `NOP`,
//! `ACCEPT`, `RECV`, `SEND`, `POLL_ADD` (one-shot). No SQPOLL thread, no
//! registered buffers or files, no linked requests, no timeouts. A
//! receive's bytes travel in its CQE, standing in for the user buffer the
//! kernel wrote them into (counted as `copy_to_user`, as the kernel does).

pub mod syscalls;

use std::collections::{BTreeMap, VecDeque};

use crate::kernel::ids::{FileId, HostId, Pid};
use crate::kernel::wait::{WaitEntry, WaitObj, WaitQueue, Wakeup};
use crate::kernel::world::World;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// `IORING_MAX_ENTRIES`.
pub const IORING_MAX_ENTRIES: u32 = 32768;

/// What a submission asks for (`io_uring_sqe.opcode` and its fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoOp {
    /// `IORING_OP_NOP`: completes at once with 0.
    Nop,
    /// `IORING_OP_ACCEPT` on a listening socket: the new fd.
    Accept { fd: i32 },
    /// `IORING_OP_RECV`: up to `len` bytes.
    Recv { fd: i32, len: usize },
    /// `IORING_OP_SEND`: these bytes.
    Send { fd: i32, data: Vec<u8> },
    /// `IORING_OP_POLL_ADD`: completes with the poll mask once any of
    /// `events` is ready (one-shot).
    PollAdd { fd: i32, events: u32 },
}

/// A submission queue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sqe {
    pub op: IoOp,
    /// Returned untouched in the completion.
    pub user_data: u64,
}

/// A completion queue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    /// The result: as the system call would return it, or `-errno`.
    pub res: i32,
    /// For a receive: the bytes placed in the user's buffer.
    pub data: Vec<u8>,
}

/// `struct io_ring_ctx`.
#[derive(Debug)]
pub(crate) struct IoRing {
    pub(crate) owner: Pid,
    pub(crate) host: HostId,
    pub(crate) sq_entries: u32,
    pub(crate) cq_entries: u32,
    /// The submission ring, as the process filled it.
    pub(crate) sq: VecDeque<Sqe>,
    /// The completion ring.
    pub(crate) cq: VecDeque<Cqe>,
    /// Completions that found the ring full (`IORING_FEAT_NODROP`'s
    /// overflow list), moved in as room appears.
    pub(crate) overflow: VecDeque<Cqe>,
    /// Armed requests, by internal id, waiting for their file.
    pub(crate) armed: BTreeMap<u64, Sqe>,
    /// Armed requests a wakeup made due, to retry in task context.
    pub(crate) task_work: VecDeque<u64>,
    pub(crate) next_req: u64,
    /// Where `io_uring_enter()` sleeps for completions (`ctx->cq_wait`).
    pub(crate) cq_wait: WaitQueue,
}

impl World {
    /// Issues one request without blocking (`io_issue_sqe` with
    /// `IO_URING_F_NONBLOCK`): `Some(cqe)` if it finished, `None` if it
    /// would block.
    fn io_issue(&mut self, pid: Pid, sqe: &Sqe) -> Option<Cqe> {
        let res = |r: Result<i32, Errno>| match r {
            Ok(v) => v,
            Err(e) => -(e as i32),
        };
        let done = |res: i32, data: Vec<u8>| Cqe {
            user_data: sqe.user_data,
            res,
            data,
        };
        let would_block = |r: &Result<i32, Errno>| matches!(r, Err(Errno::EAGAIN));
        match &sqe.op {
            IoOp::Nop => Some(done(0, Vec::new())),
            IoOp::Accept { fd } => {
                let r = match self.do_accept(pid, *fd, 0, true) {
                    std::task::Poll::Ready(r) => r.map(|(nfd, _)| nfd),
                    std::task::Poll::Pending => Err(Errno::EAGAIN),
                };
                (!would_block(&r)).then(|| done(res(r), Vec::new()))
            }
            IoOp::Recv { fd, len } => {
                let mut buf = vec![0u8; *len];
                let r = match self.sys_recvfrom(
                    pid,
                    *fd,
                    &mut buf,
                    MSG_DONTWAIT,
                    &mut Default::default(),
                ) {
                    std::task::Poll::Ready(r) => r.map(|(n, _)| n as i32),
                    std::task::Poll::Pending => Err(Errno::EAGAIN),
                };
                if would_block(&r) {
                    return None;
                }
                buf.truncate(*r.as_ref().unwrap_or(&0) as usize);
                Some(done(res(r), buf))
            }
            IoOp::Send { fd, data } => {
                let mut copied = 0;
                let r = match self.sys_sendto(pid, *fd, data, MSG_DONTWAIT, None, &mut copied) {
                    std::task::Poll::Ready(r) => r.map(|n| n as i32),
                    std::task::Poll::Pending => Err(Errno::EAGAIN),
                };
                (!would_block(&r)).then(|| done(res(r), Vec::new()))
            }
            IoOp::PollAdd { fd, events } => {
                let file = match self.task(pid).files.get(*fd) {
                    Ok(f) => f,
                    Err(e) => return Some(done(-(e as i32), Vec::new())),
                };
                let host = self.task(pid).host;
                let mask = self.vfs_poll(host, file) & (events | EPOLLERR | EPOLLHUP);
                (mask != 0).then(|| done(mask as i32, Vec::new()))
            }
        }
    }

    /// The file a request waits on and the poll bits that make it due.
    fn io_arm_target(&self, pid: Pid, op: &IoOp) -> Option<(WaitObj, u32)> {
        let (fd, key) = match op {
            IoOp::Nop => return None,
            IoOp::Accept { fd } | IoOp::Recv { fd, .. } => (*fd, EPOLLIN),
            IoOp::Send { fd, .. } => (*fd, EPOLLOUT),
            IoOp::PollAdd { fd, events } => (*fd, *events),
        };
        let file = self.task(pid).files.get(fd).ok()?;
        Some((self.file_wait_obj(file)?, key | EPOLLERR | EPOLLHUP))
    }

    /// Runs `sqe`; if it would block, arms it (`io_arm_poll_handler`).
    pub(crate) fn io_submit_one(&mut self, ring: FileId, sqe: Sqe) {
        let pid = self.io_ring(ring).owner;
        match self.io_issue(pid, &sqe) {
            Some(cqe) => self.io_post_cqe(ring, cqe),
            None => self.io_arm(ring, sqe),
        }
    }

    fn io_arm(&mut self, ring: FileId, sqe: Sqe) {
        let pid = self.io_ring(ring).owner;
        let Some((obj, key)) = self.io_arm_target(pid, &sqe.op) else {
            // Nothing to wait on: the file went away meanwhile.
            let cqe = Cqe {
                user_data: sqe.user_data,
                res: -(Errno::EBADF as i32),
                data: Vec::new(),
            };
            return self.io_post_cqe(ring, cqe);
        };
        let r = self.io_ring_mut(ring);
        let req = r.next_req;
        r.next_req += 1;
        r.armed.insert(req, sqe);
        if let Some(wq) = self.wq_mut(obj) {
            wq.add(WaitEntry::IoUring { ring, req, key });
        }
    }

    /// `io_poll_wake()`: the armed request's file was woken. If the wakeup
    /// concerns it, the request becomes task work for its owner.
    pub(crate) fn io_poll_wake(&mut self, ring: FileId, req: u64, key: u32, why: Wakeup) -> bool {
        let k = why.key();
        if k != 0 && k & key == 0 {
            return false;
        }
        let Some(r) = self.io_rings.get_mut(&ring) else {
            return false;
        };
        if !r.armed.contains_key(&req) || r.task_work.contains(&req) {
            return false;
        }
        r.task_work.push_back(req);
        self.wake_up(WaitObj::IoUring(ring), Wakeup::EpollEvent);
        true
    }

    /// Runs due task work: retries woken requests; those that finish post
    /// their completion and leave their file's wait queue.
    pub(crate) fn io_run_task_work(&mut self, ring: FileId) {
        while let Some(req) = self.io_ring_mut(ring).task_work.pop_front() {
            let Some(sqe) = self.io_ring_mut(ring).armed.get(&req).cloned() else {
                continue;
            };
            let pid = self.io_ring(ring).owner;
            if let Some(cqe) = self.io_issue(pid, &sqe) {
                self.io_disarm(ring, req, &sqe);
                self.io_post_cqe(ring, cqe);
            }
        }
    }

    fn io_disarm(&mut self, ring: FileId, req: u64, sqe: &Sqe) {
        let pid = self.io_ring(ring).owner;
        if let Some((obj, _)) = self.io_arm_target(pid, &sqe.op)
            && let Some(wq) = self.wq_mut(obj)
        {
            wq.remove_where(|e| matches!(*e, WaitEntry::IoUring { ring: r, req: q, .. } if r == ring && q == req));
        }
        self.io_ring_mut(ring).armed.remove(&req);
    }

    /// `io_fill_cqe_req()`: a completion into the ring, or onto the
    /// overflow list if the ring is full.
    fn io_post_cqe(&mut self, ring: FileId, cqe: Cqe) {
        let r = self.io_ring_mut(ring);
        if r.cq.len() < r.cq_entries as usize && r.overflow.is_empty() {
            r.cq.push_back(cqe);
        } else {
            r.overflow.push_back(cqe);
        }
        self.wake_up(WaitObj::IoUring(ring), Wakeup::EpollEvent);
    }

    /// Moves overflowed completions in as the process makes room.
    pub(crate) fn io_flush_overflow(&mut self, ring: FileId) {
        let r = self.io_ring_mut(ring);
        while r.cq.len() < r.cq_entries as usize {
            let Some(c) = r.overflow.pop_front() else {
                break;
            };
            r.cq.push_back(c);
        }
    }

    pub(crate) fn io_ring(&self, ring: FileId) -> &IoRing {
        &self.io_rings[&ring]
    }

    pub(crate) fn io_ring_mut(&mut self, ring: FileId) -> &mut IoRing {
        self.io_rings.get_mut(&ring).expect("live io_uring")
    }

    /// The last reference to the ring went: armed requests leave their
    /// files' wait queues (`io_ring_ctx_wait_and_kill`).
    pub(crate) fn io_ring_release(&mut self, ring: FileId) {
        let armed: Vec<(u64, Sqe)> = match self.io_rings.get(&ring) {
            Some(r) => r.armed.iter().map(|(k, v)| (*k, v.clone())).collect(),
            None => return,
        };
        for (req, sqe) in armed {
            self.io_disarm(ring, req, &sqe);
        }
        self.io_rings.remove(&ring);
    }

    /// `io_uring_poll()`: readable with completions in the ring, writable
    /// with room in the submission ring.
    pub(crate) fn io_uring_poll(&self, ring: FileId) -> u32 {
        let Some(r) = self.io_rings.get(&ring) else {
            return 0;
        };
        let mut mask = 0;
        if !r.cq.is_empty() {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        if r.sq.len() < r.sq_entries as usize {
            mask |= EPOLLOUT | EPOLLWRNORM;
        }
        mask
    }

    /// A sleeper in `io_uring_enter()`, in words.
    pub(crate) fn describe_io_uring_wait(&self, ring: FileId) -> String {
        match self.io_rings.get(&ring) {
            Some(r) => format!(
                "completions on its io_uring ({} requests waiting on their files)",
                r.armed.len()
            ),
            None => "an io_uring that is gone".to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
