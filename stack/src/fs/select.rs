//! `select()` and `poll()` (`fs/select.c`: `core_sys_select`, `do_select`,
//! `do_sys_poll`, `do_poll`).
//!
//! Both hand the kernel the whole list of fds on every call. The kernel
//! copies it in, calls every file's `->poll` (the first pass also hooks the
//! caller onto every file's wait queue, `__pollwait`), and, if nothing is
//! ready, sleeps until any of those queues is woken; then it polls *every*
//! fd again, unhooks from every queue (`poll_freewait`) and copies the whole
//! list back out. With 10,000 idle connections and one active, each call
//! does 10,000 polls to find one event: [`crate::kernel::host::Costs::fds_polled`]
//! counts them, next to epoll's, which does one.
//!
//! `select()` works on bitmaps of `FD_SETSIZE` (1024) bits: an fd at or
//! above 1024 does not fit in an `fd_set`. glibc's `FD_SET` checks this when
//! built with `_FORTIFY_SOURCE` and aborts the program ("bit out of range
//! 0 - FD_SETSIZE on fd_set"); without the check it writes past the set. The simulation
//! refuses such an fd with `EINVAL` from [`FdSet::set`], and a `select()`
//! whose `nfds` exceeds `FD_SETSIZE` with `EINVAL` (the kernel itself would
//! read past the caller's sets). `poll()` has no such limit, only
//! `nfds <= RLIMIT_NOFILE`. An fd in a set that is not open is `EBADF`, but
//! only below the size of the process's fd table (64 until it grows): the
//! kernel trims `nfds` to that size first, so a closed fd past it is
//! silently ignored.
//!
//! Simplified: one pass registers and later passes only poll, as in the
//! kernel, but without `POLL_BUSY_LOOP`; the timeout is exact (no slack).

use std::task::Poll;

use crate::kernel::ids::{HostId, Pid};
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::task::WaitFor;
use crate::kernel::wait::{WaitEntry, WaitObj};
use crate::kernel::world::World;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// `FD_SETSIZE`: the number of fds an `fd_set` holds.
pub const FD_SETSIZE: usize = 1024;

/// `POLLIN_SET`: what makes an fd readable for `select()`.
const POLLIN_SET: u32 = EPOLLRDNORM | EPOLLRDBAND | EPOLLIN | EPOLLHUP | EPOLLERR;
/// `POLLOUT_SET`: what makes it writable.
const POLLOUT_SET: u32 = EPOLLWRBAND | EPOLLWRNORM | EPOLLOUT | EPOLLERR;
/// `POLLEX_SET`: what makes it "exceptional".
const POLLEX_SET: u32 = EPOLLPRI;

/// An `fd_set`: a bitmap of `FD_SETSIZE` fds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdSet {
    bits: [u64; FD_SETSIZE / 64],
}

impl Default for FdSet {
    fn default() -> FdSet {
        FdSet::new()
    }
}

impl FdSet {
    /// `FD_ZERO`: an empty set.
    pub fn new() -> FdSet {
        FdSet {
            bits: [0; FD_SETSIZE / 64],
        }
    }

    /// `FD_SET(fd, &set)`: `EINVAL` for an fd that does not fit (see the
    /// module doc: glibc would abort the program).
    pub fn set(&mut self, fd: i32) -> SysResult<()> {
        let i = usize::try_from(fd)
            .ok()
            .filter(|&i| i < FD_SETSIZE)
            .ok_or(Errno::EINVAL)?;
        self.bits[i / 64] |= 1 << (i % 64);
        Ok(())
    }

    /// `FD_CLR(fd, &set)`.
    pub fn clear(&mut self, fd: i32) {
        if let Some(i) = usize::try_from(fd).ok().filter(|&i| i < FD_SETSIZE) {
            self.bits[i / 64] &= !(1 << (i % 64));
        }
    }

    /// `FD_ISSET(fd, &set)`.
    pub fn is_set(&self, fd: i32) -> bool {
        usize::try_from(fd)
            .ok()
            .filter(|&i| i < FD_SETSIZE)
            .is_some_and(|i| self.bits[i / 64] & (1 << (i % 64)) != 0)
    }

    /// The fds in the set, lowest first.
    pub fn fds(&self) -> Vec<i32> {
        (0..FD_SETSIZE as i32)
            .filter(|&fd| self.is_set(fd))
            .collect()
    }
}

/// `struct pollfd`: an fd, the events asked for, and (filled in by the
/// kernel) the events that happened. C's `short`s are kept as `u32` so the
/// `POLL*` constants apply unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollFd {
    pub fd: i32,
    pub events: u32,
    pub revents: u32,
}

impl PollFd {
    /// A `pollfd` asking for `events` on `fd`.
    pub fn new(fd: i32, events: u32) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

/// `sizeof(struct pollfd)`.
const POLLFD_SIZE: u64 = 8;

impl World {
    /// Polls one fd for a `select()`/`poll()` pass; on the first pass also
    /// hooks the caller onto the file's wait queue with `key`
    /// (`__pollwait`). `None` for an fd that is not open.
    fn poll_one(
        &mut self,
        host: HostId,
        pid: Pid,
        fd: i32,
        key: u32,
        register: bool,
    ) -> Option<u32> {
        let file = self.task(pid).files.get(fd).ok()?;
        if register
            && let Some(obj) = self.file_wait_obj(file)
            && let Some(wq) = self.wq_mut(obj)
        {
            wq.add(WaitEntry::Poll { pid, key });
            self.task_mut(pid).poll_table.push(obj);
        }
        Some(self.vfs_poll(host, file))
    }

    /// `poll_freewait()`: unhook from every queue the call hooked onto.
    fn poll_freewait(&mut self, pid: Pid) {
        let objs = std::mem::take(&mut self.task_mut(pid).poll_table);
        for obj in objs {
            if let Some(wq) = self.wq_mut(obj) {
                wq.remove_where(|e| matches!(*e, WaitEntry::Poll { pid: p, .. } if p == pid));
            }
        }
    }

    /// The loop both calls share (`do_select`/`do_poll`): scan (hooking on
    /// the first pass); return if something is ready, the scan failed or the
    /// time is up; otherwise sleep until a hooked queue is woken.
    fn poll_loop(
        &mut self,
        pid: Pid,
        timeout: Option<Nanos>,
        first: bool,
        scan: impl FnOnce(&mut World, bool) -> Result<usize, Errno>,
    ) -> Poll<Result<usize, Errno>> {
        if first {
            self.arm_timeout(pid, timeout);
        }
        let register = first && !self.task(pid).timed_out;
        let r = scan(self, register);
        if !matches!(r, Ok(0)) || self.task(pid).timed_out {
            self.poll_freewait(pid);
            self.disarm_timeout(pid);
            return Poll::Ready(r);
        }
        self.sleep_on_obj(pid, WaitObj::PollTable(pid), WaitFor::Events, false);
        Poll::Pending
    }

    /// `do_sys_poll()`: `EINVAL` past `RLIMIT_NOFILE` entries; `POLLNVAL`
    /// for an fd that is not open; negative fds are skipped.
    pub(crate) fn sys_poll(
        &mut self,
        pid: Pid,
        fds: &mut [PollFd],
        timeout: Option<Nanos>,
        first: bool,
    ) -> Poll<Result<usize, Errno>> {
        if fds.len() as u64 > self.task(pid).rlimit_nofile as u64 {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        let host = self.task(pid).host;
        if first {
            self.costs(host).copied_from_user += POLLFD_SIZE * fds.len() as u64;
        }
        let r = self.poll_loop(pid, timeout, first, |w, register| {
            let mut count = 0;
            for p in fds.iter_mut() {
                p.revents = if p.fd < 0 {
                    0
                } else {
                    let filter = p.events | EPOLLERR | EPOLLHUP;
                    match w.poll_one(host, pid, p.fd, filter, register) {
                        Some(mask) => mask & filter,
                        None => POLLNVAL,
                    }
                };
                count += usize::from(p.revents != 0);
            }
            Ok(count)
        });
        if r.is_ready() {
            // Each revents goes back with its own __put_user of a short.
            self.costs(host).copied_to_user += 2 * fds.len() as u64;
        }
        r
    }

    /// `core_sys_select()` and `do_select()`. `sets` are the caller's
    /// read, write and except sets; on return they hold the ready fds.
    pub(crate) fn sys_select(
        &mut self,
        pid: Pid,
        nfds: i32,
        sets: [Option<&mut FdSet>; 3],
        timeout: Option<Nanos>,
        first: bool,
    ) -> Poll<Result<usize, Errno>> {
        if nfds < 0 || nfds as usize > FD_SETSIZE {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        // The kernel looks no further than its fd table: set bits past it
        // are ignored, not refused.
        let n = (nfds as usize).min(self.task(pid).files.max_fds());
        let nfds = n as i32;
        let host = self.task(pid).host;
        // FDS_BYTES(n): the bitmap is copied in longs.
        let set_bytes = n.div_ceil(64) as u64 * 8;
        let given = sets.iter().filter(|s| s.is_some()).count() as u64;
        if first {
            self.costs(host).copied_from_user += set_bytes * given;
        }
        let input: [FdSet; 3] = [0, 1, 2].map(|i| sets[i].as_deref().cloned().unwrap_or_default());
        let mut result = [FdSet::new(), FdSet::new(), FdSet::new()];
        let r = self.poll_loop(pid, timeout, first, |w, register| {
            let wanted: Vec<i32> = (0..nfds)
                .filter(|&fd| input.iter().any(|s| s.is_set(fd)))
                .collect();
            // max_select_fd(): every fd in the sets must be open.
            if wanted.iter().any(|&fd| w.task(pid).files.get(fd).is_err()) {
                return Err(Errno::EBADF);
            }
            let masks = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
            let mut count = 0;
            for fd in wanted {
                let key = (0..3)
                    .filter(|&i| input[i].is_set(fd))
                    .fold(0, |k, i| k | masks[i]);
                let mask = w.poll_one(host, pid, fd, key, register).unwrap_or(0);
                for i in 0..3 {
                    if input[i].is_set(fd) && mask & masks[i] != 0 {
                        let _ = result[i].set(fd);
                        count += 1;
                    }
                }
            }
            Ok(count)
        });
        if let Poll::Ready(Ok(_)) = r {
            self.costs(host).copied_to_user += set_bytes * given;
            for (set, res) in sets.into_iter().zip(result) {
                if let Some(set) = set {
                    *set = res;
                }
            }
        }
        r
    }
}

impl Process {
    /// `poll(fds, nfds, timeout)`: fills in each entry's `revents` and
    /// returns how many have any; sleeps until one does, for at most
    /// `timeout_ms` milliseconds (-1: no limit; 0: do not sleep).
    pub async fn poll(&self, fds: &mut [PollFd], timeout_ms: i32) -> SysResult<usize> {
        let n = fds.len();
        let mut first = true;
        let timeout = crate::fs::eventpoll::timeout_from_ms(timeout_ms);
        self.blocking(
            || format!("poll({n} fds, {timeout_ms})"),
            |w| {
                let r = w.sys_poll(self.pid, fds, timeout, first);
                first = false;
                r
            },
        )
        .await
    }

    /// `select(nfds, readfds, writefds, exceptfds, timeout)`: on return the
    /// sets hold the fds that are ready, and the result counts them (an fd
    /// in two sets counts twice). `timeout` `None` waits for ever; `Some(0)`
    /// does not wait.
    pub async fn select(
        &self,
        nfds: i32,
        mut readfds: Option<&mut FdSet>,
        mut writefds: Option<&mut FdSet>,
        mut exceptfds: Option<&mut FdSet>,
        timeout: Option<Nanos>,
    ) -> SysResult<usize> {
        let mut first = true;
        self.blocking(
            || format!("select({nfds}, ...)"),
            |w| {
                let sets = [
                    readfds.as_deref_mut(),
                    writefds.as_deref_mut(),
                    exceptfds.as_deref_mut(),
                ];
                let r = w.sys_select(self.pid, nfds, sets, timeout, first);
                first = false;
                r
            },
        )
        .await
    }
}
