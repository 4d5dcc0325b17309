//! Differential tests of files, pipes, `sendfile()`, `splice()` and
//! `vmsplice()`: each scenario is written once, against the [`Os`] trait,
//! and runs twice: on this machine's kernel (through `libc`, files in a
//! fresh temporary directory, TCP over 127.0.0.1) and in the simulation
//! (one host, loopback). What each step returned (values, errno names,
//! bytes) must be the same on both; on failure both are printed.
//!
//! The real side ignores `SIGPIPE` (the Rust runtime sets that up for
//! every test binary, and `Real::new` checks it), so writing to a pipe
//! nobody reads gives `EPIPE` instead of killing the test; the simulation
//! has no signals and always behaves that way. The real side makes its
//! calls through `nix`'s safe wrappers (the workspace forbids `unsafe`), so
//! a call taking an fd as `AsFd` can only name an fd that is open: the
//! "fd not open" cases of `splice()`, `sendfile()` and `vmsplice()` run as
//! a small C program instead (`c_probe`).
//!
//! Numbers that depend on how the kernel lays bytes out in pages are the
//! point of several scenarios: a pipe takes 16 pages, so a write into an
//! empty pipe takes 65536 bytes, but a splice from a file offset of 1000
//! takes only 64536 (the first page is partial), and a `vmsplice()` of a
//! buffer that starts 100 bytes into a page takes 65436.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::task::{Context, Poll, Waker};

use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags};
use nix::poll::{PollFd as NixPollFd, PollFlags, PollTimeout};
use nix::unistd::Whence;

use stack::prelude::*;

mod common;
use common::*;

// ------------------------------------------------------------ the calls

/// The system calls a scenario makes, with results as plain data.
trait Os {
    async fn pipe2(&self, flags: i32) -> R<(i32, i32)>;
    async fn write(&self, fd: i32, buf: &[u8]) -> R<usize>;
    async fn read(&self, fd: i32, len: usize) -> R<Vec<u8>>;
    async fn close(&self, fd: i32) -> R<()>;
    async fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32>;
    /// `open()` of a file named `name` in the scenario's directory.
    async fn open(&self, name: &str, flags: i32) -> R<i32>;
    async fn lseek(&self, fd: i32, off: i64, whence: i32) -> R<u64>;
    /// `fstat()`: the file type bits and the size.
    async fn fstat(&self, fd: i32) -> R<(u32, u64)>;
    async fn sendfile(&self, out: i32, inp: i32, off: Option<&mut u64>, count: usize) -> R<usize>;
    async fn splice(
        &self,
        fd_in: i32,
        off_in: Option<&mut u64>,
        fd_out: i32,
        off_out: Option<&mut u64>,
        len: usize,
        flags: u32,
    ) -> R<usize>;
    /// `vmsplice()` of page-aligned memory holding `data`, from byte `skip`.
    async fn vmsplice(&self, fd: i32, data: &[u8], skip: usize, flags: u32) -> R<usize>;
    /// A TCP connection over loopback: (client, server's accepted socket).
    async fn tcp_pair(&self) -> (i32, i32);
    /// A TCP socket that is not connected.
    async fn tcp_socket(&self) -> i32;
    /// Lets loopback traffic be processed.
    async fn settle(&self);
    /// `poll()` of one fd for `events`, not waiting: its `revents`.
    async fn poll1(&self, fd: i32, events: u32) -> R<u32>;

    /// Reads until `n` bytes came or the stream ended.
    async fn read_n(&self, fd: i32, n: usize) -> R<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < n {
            let got = self.read(fd, n - out.len()).await?;
            if got.is_empty() {
                break;
            }
            out.extend(got);
        }
        Ok(out)
    }
}

/// This machine's kernel. It holds the fds it opened (an fd number the
/// scenario uses must be one of them: a call that takes an fd as `AsFd`
/// cannot be made safely on a number that is not open) and the buffers
/// it gave `vmsplice()` (a pipe may still point at their pages).
struct Real {
    dir: PathBuf,
    fds: RefCell<BTreeMap<i32, OwnedFd>>,
    bufs: RefCell<Vec<Vec<u8>>>,
}

impl Real {
    fn new() -> Real {
        assert!(
            sigpipe_ignored(),
            "the Rust runtime ignores SIGPIPE in test binaries; without that, writing a pipe \
             nobody reads would kill this test instead of returning EPIPE"
        );
        let dir = std::env::temp_dir().join(format!(
            "stack-differential-splice-{}-{}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "-")
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Real {
            dir,
            fds: RefCell::new(BTreeMap::new()),
            bufs: RefCell::new(Vec::new()),
        }
    }

    fn keep(&self, fd: impl Into<OwnedFd>) -> i32 {
        let fd = fd.into();
        let n = fd.as_raw_fd();
        self.fds.borrow_mut().insert(n, fd);
        n
    }

    /// Runs `f` on the open fd numbered `n`.
    fn with<T>(&self, n: i32, f: impl FnOnce(&OwnedFd) -> T) -> T {
        let fds = self.fds.borrow();
        f(fds
            .get(&n)
            .unwrap_or_else(|| panic!("fd {n} is not one the scenario opened")))
    }
}

impl Drop for Real {
    fn drop(&mut self) {
        self.fds.borrow_mut().clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process ignores SIGPIPE (`SigIgn` in `/proc/self/status`).
fn sigpipe_ignored() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (13 - 1)) != 0)
}

fn splice_flags(flags: u32) -> SpliceFFlags {
    SpliceFFlags::from_bits_retain(flags)
}

impl Os for Real {
    async fn pipe2(&self, flags: i32) -> R<(i32, i32)> {
        let (r, w) = nix_r(nix::unistd::pipe2(OFlag::from_bits_retain(flags)))?;
        Ok((self.keep(r), self.keep(w)))
    }

    async fn write(&self, fd: i32, buf: &[u8]) -> R<usize> {
        self.with(fd, |f| nix_r(nix::unistd::write(f, buf)))
    }

    async fn read(&self, fd: i32, len: usize) -> R<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = nix_r(nix::unistd::read(fd, &mut buf))?;
        buf.truncate(n);
        Ok(buf)
    }

    async fn close(&self, fd: i32) -> R<()> {
        let owned = self.fds.borrow_mut().remove(&fd);
        match owned {
            Some(owned) => {
                drop(owned);
                Ok(())
            }
            None => nix_r(nix::unistd::close(fd)),
        }
    }

    async fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32> {
        let arg = match cmd {
            F_GETFL => FcntlArg::F_GETFL,
            F_SETFL => FcntlArg::F_SETFL(OFlag::from_bits_retain(arg)),
            F_GETFD => FcntlArg::F_GETFD,
            F_GETPIPE_SZ => FcntlArg::F_GETPIPE_SZ,
            F_SETPIPE_SZ => FcntlArg::F_SETPIPE_SZ(arg),
            _ => panic!("fcntl command {cmd} not used by these scenarios"),
        };
        nix_r(nix::fcntl::fcntl(fd, arg))
    }

    async fn open(&self, name: &str, flags: i32) -> R<i32> {
        let mut o = std::fs::OpenOptions::new();
        match flags & O_ACCMODE {
            O_RDONLY => o.read(true),
            O_WRONLY => o.write(true),
            _ => o.read(true).write(true),
        };
        // The creation and status flags go in as given (std adds O_CLOEXEC).
        o.custom_flags(flags & !O_ACCMODE).mode(0o644);
        let file = real(o.open(self.dir.join(name)))?;
        Ok(self.keep(file))
    }

    async fn lseek(&self, fd: i32, off: i64, whence: i32) -> R<u64> {
        let whence = match whence {
            SEEK_SET => Whence::SeekSet,
            SEEK_CUR => Whence::SeekCur,
            _ => Whence::SeekEnd,
        };
        nix_r(nix::unistd::lseek(fd, off, whence)).map(|v| v as u64)
    }

    async fn fstat(&self, fd: i32) -> R<(u32, u64)> {
        let st = nix_r(nix::sys::stat::fstat(fd))?;
        Ok((st.st_mode & S_IFMT, st.st_size as u64))
    }

    async fn sendfile(&self, out: i32, inp: i32, off: Option<&mut u64>, count: usize) -> R<usize> {
        let mut o = off.as_ref().map_or(0, |v| **v as i64);
        let given = off.is_some();
        let r = self.with(out, |out| {
            self.with(inp, |inp| {
                nix_r(nix::sys::sendfile::sendfile(
                    out,
                    inp,
                    given.then_some(&mut o),
                    count,
                ))
            })
        });
        if let Some(v) = off {
            *v = o as u64;
        }
        r
    }

    async fn splice(
        &self,
        fd_in: i32,
        off_in: Option<&mut u64>,
        fd_out: i32,
        off_out: Option<&mut u64>,
        len: usize,
        flags: u32,
    ) -> R<usize> {
        let mut i = off_in.as_ref().map_or(0, |v| **v as i64);
        let mut o = off_out.as_ref().map_or(0, |v| **v as i64);
        let (gi, go) = (off_in.is_some(), off_out.is_some());
        let r = self.with(fd_in, |fi| {
            self.with(fd_out, |fo| {
                nix_r(nix::fcntl::splice(
                    fi,
                    gi.then_some(&mut i),
                    fo,
                    go.then_some(&mut o),
                    len,
                    splice_flags(flags),
                ))
            })
        });
        if let Some(v) = off_in {
            *v = i as u64;
        }
        if let Some(v) = off_out {
            *v = o as u64;
        }
        r
    }

    async fn vmsplice(&self, fd: i32, data: &[u8], skip: usize, flags: u32) -> R<usize> {
        // Page-aligned memory without an allocator that promises it: a
        // buffer a page longer, used from its first page boundary. It is
        // kept alive, since the pipe will point at its pages.
        let mut mem = vec![0u8; data.len() + 4096];
        let start = (4096 - mem.as_ptr() as usize % 4096) % 4096;
        mem[start..start + data.len()].copy_from_slice(data);
        let iov = [IoSlice::new(&mem[start + skip..start + data.len()])];
        let r = self.with(fd, |f| {
            nix_r(nix::fcntl::vmsplice(f, &iov, splice_flags(flags)))
        });
        self.bufs.borrow_mut().push(mem);
        r
    }

    async fn tcp_pair(&self) -> (i32, i32) {
        let (c, a) = real_pair();
        (self.keep(c), self.keep(a))
    }

    async fn tcp_socket(&self) -> i32 {
        self.keep(tcp4())
    }

    async fn settle(&self) {
        std::thread::sleep(SETTLE);
    }

    async fn poll1(&self, fd: i32, events: u32) -> R<u32> {
        self.with(fd, |f| {
            let flags = PollFlags::from_bits_retain(events as i16);
            let mut fds = [NixPollFd::new(f.as_fd(), flags)];
            nix_r(nix::poll::poll(&mut fds, PollTimeout::ZERO))?;
            Ok(fds[0].revents().map_or(0, |r| r.bits() as u16 as u32))
        })
    }
}

/// The simulation: one process on a one-host world.
struct Simulated(Process);

impl Os for Simulated {
    async fn pipe2(&self, flags: i32) -> R<(i32, i32)> {
        sim(self.0.pipe2(flags))
    }

    async fn write(&self, fd: i32, buf: &[u8]) -> R<usize> {
        sim(self.0.write(fd, buf).await)
    }

    async fn read(&self, fd: i32, len: usize) -> R<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = sim(self.0.read(fd, &mut buf).await)?;
        buf.truncate(n);
        Ok(buf)
    }

    async fn close(&self, fd: i32) -> R<()> {
        sim(self.0.close(fd))
    }

    async fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> R<i32> {
        sim(self.0.fcntl(fd, cmd, arg))
    }

    async fn open(&self, name: &str, flags: i32) -> R<i32> {
        sim(self.0.open(&format!("/tmp/{name}"), flags))
    }

    async fn lseek(&self, fd: i32, off: i64, whence: i32) -> R<u64> {
        sim(self.0.lseek(fd, off, whence))
    }

    async fn fstat(&self, fd: i32) -> R<(u32, u64)> {
        sim(self.0.fstat(fd)).map(|st| (st.st_mode & S_IFMT, st.st_size))
    }

    async fn sendfile(&self, out: i32, inp: i32, off: Option<&mut u64>, count: usize) -> R<usize> {
        sim(self.0.sendfile(out, inp, off, count).await)
    }

    async fn splice(
        &self,
        fd_in: i32,
        off_in: Option<&mut u64>,
        fd_out: i32,
        off_out: Option<&mut u64>,
        len: usize,
        flags: u32,
    ) -> R<usize> {
        sim(self
            .0
            .splice(fd_in, off_in, fd_out, off_out, len, flags)
            .await)
    }

    async fn vmsplice(&self, fd: i32, data: &[u8], skip: usize, flags: u32) -> R<usize> {
        let buf = UserBuf::from_bytes(data);
        sim(self
            .0
            .vmsplice(fd, &[buf.slice(skip..data.len())], flags)
            .await)
    }

    async fn tcp_pair(&self) -> (i32, i32) {
        sim_pair(&self.0).await.expect("a loopback connection")
    }

    async fn tcp_socket(&self) -> i32 {
        self.0.socket(AF_INET, SOCK_STREAM, 0).expect("socket")
    }

    async fn settle(&self) {
        self.0.sleep(ms(50)).await;
    }

    async fn poll1(&self, fd: i32, events: u32) -> R<u32> {
        let mut fds = [PollFd::new(fd, events)];
        sim(self.0.poll(&mut fds, 0).await)?;
        Ok(fds[0].revents)
    }
}

/// Runs a future that never waits (the real side's calls all complete).
fn ready<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a real-kernel call cannot wait here"),
    }
}

/// Runs `$scenario` on the real kernel and in the simulation, requires
/// the same results, and returns them.
macro_rules! differential {
    ($scenario:ident) => {{
        let real = ready(async {
            let os = Real::new();
            $scenario(&os).await
        });
        let sim = run_sim(|p| async move { Ok($scenario(&Simulated(p)).await) });
        same(stringify!($scenario), real.clone(), sim);
        real
    }};
}

/// A step of a scenario and what it gave.
type Steps = Vec<(&'static str, R<usize>)>;

/// Bytes that tell their position apart (so a misplaced page shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect()
}

/// What a run of bytes is, short enough to print: its length and its
/// FNV-1a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Digest {
    len: usize,
    fnv1a: u64,
}

fn digest(bytes: &[u8]) -> Digest {
    let fnv1a = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    Digest {
        len: bytes.len(),
        fnv1a,
    }
}

/// A file `name` holding `data`, open read-only.
async fn file_with(os: &impl Os, name: &str, data: &[u8]) -> i32 {
    let w = os
        .open(name, O_WRONLY | O_CREAT | O_TRUNC)
        .await
        .expect("create");
    assert_eq!(os.write(w, data).await, Ok(data.len()));
    os.close(w).await.expect("close");
    os.open(name, O_RDONLY).await.expect("open")
}

// ---------------------------------------------------------------- pipes

async fn pipe_capacity(os: &impl Os) -> Steps {
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    vec![
        (
            "F_GETPIPE_SZ",
            os.fcntl(r, F_GETPIPE_SZ, 0).await.map(|v| v as usize),
        ),
        (
            "write 100000 into the empty pipe",
            os.write(w, &[7; 100_000]).await,
        ),
        ("write 1 into the full pipe", os.write(w, &[1]).await),
        ("read 1", os.read(r, 1).await.map(|b| b.len())),
        (
            "write 1: the first page is not free yet",
            os.write(w, &[1]).await,
        ),
        (
            "read 4095: the first page is free",
            os.read(r, 4095).await.map(|b| b.len()),
        ),
        (
            "write 5000: one page's worth fits",
            os.write(w, &[2; 5000]).await,
        ),
        ("write 1 again", os.write(w, &[1]).await),
        ("read all", os.read(r, 1 << 20).await.map(|b| b.len())),
        ("read the empty pipe", os.read(r, 10).await.map(|b| b.len())),
    ]
}

#[test]
fn a_pipe_holds_sixteen_pages_and_says_eagain_when_full() {
    differential!(pipe_capacity);
}

async fn pipe_merging(os: &impl Os) -> Steps {
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let mut steps: Steps = Vec::new();
    for _ in 0..10 {
        steps.push(("write 100", os.write(w, &[1; 100]).await));
    }
    // 1000 bytes share one page; 62000 = 15 pages + 560, and the 560
    // merge into that first page: everything fits.
    steps.push(("write 62000", os.write(w, &[2; 62_000]).await));
    steps.push(("write 1 into the full pipe", os.write(w, &[3]).await));
    steps.push(("read all", os.read(r, 1 << 20).await.map(|b| b.len())));
    // A fresh page of 100 bytes, then 65536: a whole number of pages is
    // never merged, so only 15 pages fit.
    steps.push(("write 100", os.write(w, &[4; 100]).await));
    steps.push(("write 65536", os.write(w, &[5; 65_536]).await));
    steps.push(("read all", os.read(r, 1 << 20).await.map(|b| b.len())));
    // 3000 then 5000: the remainder 904 merges into the 3000-byte page.
    steps.push(("write 3000", os.write(w, &[6; 3000]).await));
    steps.push(("write 5000", os.write(w, &[7; 5000]).await));
    steps.push(("write 61440", os.write(w, &[8; 61_440]).await));
    steps.push(("read all", os.read(r, 1 << 20).await.map(|b| b.len())));
    steps
}

#[test]
fn writes_merge_into_the_last_page_only_when_their_remainder_fits() {
    differential!(pipe_merging);
}

async fn pipe_atomic_writes(os: &impl Os) -> Steps {
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    vec![
        ("write 15 pages", os.write(w, &[1; 61_440]).await),
        ("write 100: the 16th buffer", os.write(w, &[2; 100]).await),
        // 3996 bytes are free in the last page, but a write of up to
        // PIPE_BUF goes in whole or not at all.
        ("write 4096", os.write(w, &[3; 4096]).await),
        ("write 4000", os.write(w, &[3; 4000]).await),
        (
            "write 3996: fits in the last page",
            os.write(w, &[3; 3996]).await,
        ),
        ("read one page", os.read(r, 4096).await.map(|b| b.len())),
        // Above PIPE_BUF a write may be split: one page goes in.
        ("write 9000", os.write(w, &[4; 9000]).await),
        ("read all", os.read(r, 1 << 20).await.map(|b| b.len())),
    ]
}

#[test]
fn writes_up_to_pipe_buf_are_atomic_and_larger_ones_may_split() {
    differential!(pipe_atomic_writes);
}

async fn pipe_poll_bits(os: &impl Os) -> Vec<(&'static str, R<u32>)> {
    let both = POLLIN | POLLOUT;
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let mut seen = vec![
        ("empty: read end", os.poll1(r, both).await),
        ("empty: write end", os.poll1(w, both).await),
    ];
    let _ = os.write(w, b"x").await;
    seen.push(("data: read end", os.poll1(r, both).await));
    let _ = os.write(w, &[0; 70_000]).await;
    seen.push(("full: write end", os.poll1(w, both).await));
    let _ = os.close(w).await;
    seen.push(("writer gone, data left: read end", os.poll1(r, both).await));
    let _ = os.read(r, 1 << 20).await;
    seen.push(("writer gone, drained: read end", os.poll1(r, both).await));
    let (r2, w2) = os.pipe2(0).await.expect("pipe2");
    let _ = os.close(r2).await;
    seen.push(("reader gone: write end", os.poll1(w2, both).await));
    seen
}

#[test]
fn poll_on_a_pipe_reports_data_room_hangup_and_error() {
    differential!(pipe_poll_bits);
}

async fn pipe_ends(os: &impl Os) -> (Steps, Vec<R<Vec<u8>>>) {
    let (r, w) = os.pipe2(0).await.expect("pipe2");
    let mut steps: Steps = vec![
        ("write on the read end", os.write(r, b"x").await),
        (
            "read on the write end",
            os.read(w, 1).await.map(|b| b.len()),
        ),
        (
            "lseek on a pipe",
            os.lseek(r, 0, SEEK_SET).await.map(|v| v as usize),
        ),
        (
            "F_GETFL of the read end",
            os.fcntl(r, F_GETFL, 0).await.map(|v| v as usize),
        ),
        (
            "F_GETFL of the write end",
            os.fcntl(w, F_GETFL, 0).await.map(|v| v as usize),
        ),
        ("fstat type", os.fstat(r).await.map(|(t, _)| t as usize)),
        ("fstat size", os.fstat(r).await.map(|(_, s)| s as usize)),
        ("write hello", os.write(w, b"hello").await),
        ("close the write end", os.close(w).await.map(|_| 0)),
    ];
    let reads = vec![os.read(r, 100).await, os.read(r, 100).await];
    steps.push(("close the read end", os.close(r).await.map(|_| 0)));
    (steps, reads)
}

#[test]
fn a_pipe_reads_to_end_of_file_once_its_writer_is_gone() {
    differential!(pipe_ends);
}

async fn pipe_without_reader(os: &impl Os) -> Steps {
    let (r, w) = os.pipe2(0).await.expect("pipe2");
    let f = file_with(os, "src", &pattern(10_000)).await;
    let _ = os.close(r).await;
    vec![
        ("write with no reader", os.write(w, b"x").await),
        (
            "splice a file into it",
            os.splice(f, None, w, None, 100, 0).await,
        ),
        ("sendfile into it", os.sendfile(w, f, None, 100).await),
        ("vmsplice into it", os.vmsplice(w, &[1; 10], 0, 0).await),
    ]
}

#[test]
fn writing_a_pipe_nobody_reads_is_epipe() {
    differential!(pipe_without_reader);
}

async fn pipe_resize(os: &impl Os) -> Steps {
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    vec![
        (
            "F_SETPIPE_SZ 1000",
            os.fcntl(w, F_SETPIPE_SZ, 1000).await.map(|v| v as usize),
        ),
        ("write 10000", os.write(w, &[1; 10_000]).await),
        ("read all", os.read(r, 1 << 20).await.map(|b| b.len())),
        (
            "F_SETPIPE_SZ 100000",
            os.fcntl(r, F_SETPIPE_SZ, 100_000).await.map(|v| v as usize),
        ),
        (
            "F_GETPIPE_SZ",
            os.fcntl(r, F_GETPIPE_SZ, 0).await.map(|v| v as usize),
        ),
        ("write 200000", os.write(w, &[1; 200_000]).await),
        (
            "shrink below what it holds",
            os.fcntl(r, F_SETPIPE_SZ, 4096).await.map(|v| v as usize),
        ),
        (
            "F_SETPIPE_SZ -1",
            os.fcntl(r, F_SETPIPE_SZ, -1).await.map(|v| v as usize),
        ),
    ]
}

#[test]
fn f_setpipe_sz_rounds_to_pages_and_refuses_to_drop_data() {
    differential!(pipe_resize);
}

// -------------------------------------------------------- regular files

async fn regular_files(os: &impl Os) -> (Steps, Vec<R<Digest>>) {
    let mut steps: Steps = vec![(
        "open a missing file",
        os.open("f", O_RDONLY).await.map(|_| 0),
    )];
    let w = os
        .open("f", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
        .await
        .expect("create");
    steps.extend([
        (
            "O_CREAT|O_EXCL of an existing file",
            os.open("f", O_WRONLY | O_CREAT | O_EXCL).await.map(|_| 0),
        ),
        (
            "F_GETFL of O_WRONLY|O_CLOEXEC",
            os.fcntl(w, F_GETFL, 0).await.map(|v| v as usize),
        ),
        ("F_GETFD", os.fcntl(w, F_GETFD, 0).await.map(|v| v as usize)),
        ("write 10000", os.write(w, &pattern(10_000)).await),
        (
            "read an O_WRONLY file",
            os.read(w, 1).await.map(|b| b.len()),
        ),
        (
            "lseek to 20000",
            os.lseek(w, 20_000, SEEK_SET).await.map(|v| v as usize),
        ),
        ("write 5 past the end", os.write(w, b"tail!").await),
        ("fstat type", os.fstat(w).await.map(|(t, _)| t as usize)),
        ("fstat size", os.fstat(w).await.map(|(_, s)| s as usize)),
        (
            "lseek to -1",
            os.lseek(w, -1, SEEK_SET).await.map(|v| v as usize),
        ),
    ]);
    let r = os.open("f", O_RDONLY).await.expect("open");
    steps.push((
        "F_GETFL of O_RDONLY",
        os.fcntl(r, F_GETFL, 0).await.map(|v| v as usize),
    ));
    steps.push((
        "lseek SEEK_END -7",
        os.lseek(r, -7, SEEK_END).await.map(|v| v as usize),
    ));
    let mut reads = vec![os.read(r, 100).await.map(|b| digest(&b))];
    steps.push((
        "lseek SEEK_CUR -10010",
        os.lseek(r, -10_010, SEEK_CUR).await.map(|v| v as usize),
    ));
    reads.push(os.read(r, 20).await.map(|b| digest(&b)));
    reads.push(os.read_n(r, 30_000).await.map(|b| digest(&b)));
    let t = os.open("f", O_RDWR | O_TRUNC).await.expect("truncate");
    steps.push((
        "fstat size after O_TRUNC",
        os.fstat(t).await.map(|(_, s)| s as usize),
    ));
    let a = os.open("f", O_WRONLY | O_APPEND).await.expect("append");
    steps.push(("write with O_APPEND", os.write(a, b"abc").await));
    steps.push(("write again", os.write(t, b"X").await));
    reads.push(os.read(r, 100).await.map(|b| digest(&b)));
    steps.push((
        "lseek the reader to 0",
        os.lseek(r, 0, SEEK_SET).await.map(|v| v as usize),
    ));
    reads.push(os.read(r, 100).await.map(|b| digest(&b)));
    (steps, reads)
}

#[test]
fn regular_files_read_and_write_through_the_file_position() {
    differential!(regular_files);
}

// ------------------------------------------------------------- sendfile

async fn sendfile_to_tcp(os: &impl Os) -> (Steps, Vec<u64>, R<Digest>, Digest) {
    let data = pattern(100_000);
    let f = file_with(os, "src", &data).await;
    let (c, a) = os.tcp_pair().await;
    let mut offsets = Vec::new();
    let mut off = 1000u64;
    let mut steps: Steps = vec![(
        "sendfile 50000 from offset 1000",
        os.sendfile(c, f, Some(&mut off), 50_000).await,
    )];
    offsets.push(off);
    steps.push((
        "f_pos, untouched",
        os.lseek(f, 0, SEEK_CUR).await.map(|v| v as usize),
    ));
    steps.push((
        "sendfile 30000 from f_pos",
        os.sendfile(c, f, None, 30_000).await,
    ));
    steps.push((
        "f_pos after",
        os.lseek(f, 0, SEEK_CUR).await.map(|v| v as usize),
    ));
    let mut off = 90_000u64;
    steps.push((
        "sendfile 50000 from 90000: past the end",
        os.sendfile(c, f, Some(&mut off), 50_000).await,
    ));
    offsets.push(off);
    steps.push((
        "sendfile at the end",
        os.sendfile(c, f, Some(&mut off), 50_000).await,
    ));
    offsets.push(off);
    let mut off = 500_000u64;
    steps.push((
        "sendfile far past the end",
        os.sendfile(c, f, Some(&mut off), 10).await,
    ));
    offsets.push(off);
    steps.push(("sendfile 0 bytes", os.sendfile(c, f, None, 0).await));
    os.settle().await;
    let got = os.read_n(a, 90_000).await.map(|b| digest(&b));
    let sent = [&data[1000..51_000], &data[..30_000], &data[90_000..]].concat();
    (steps, offsets, got, digest(&sent))
}

#[test]
fn sendfile_from_a_file_to_tcp_returns_what_it_sent_and_stops_at_eof() {
    let (_, _, got, sent) = differential!(sendfile_to_tcp);
    assert_eq!(got, Ok(sent), "the receiver got the file's bytes, in order");
}

async fn sendfile_errors(os: &impl Os) -> Steps {
    let f = file_with(os, "src", &pattern(100_000)).await;
    let wo = os.open("dst", O_WRONLY | O_CREAT).await.expect("create");
    let app = os.open("dst", O_WRONLY | O_APPEND).await.expect("append");
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let (c, _a) = os.tcp_pair().await;
    let lone = os.tcp_socket().await;
    let mut off = 0u64;
    vec![
        ("from a pipe", os.sendfile(c, r, None, 10).await),
        (
            "from a pipe with an offset",
            os.sendfile(c, r, Some(&mut off), 10).await,
        ),
        ("from a write-only file", os.sendfile(c, wo, None, 10).await),
        ("to a pipe's read end", os.sendfile(r, f, None, 10).await),
        ("to a read-only file", os.sendfile(f, f, None, 10).await),
        ("to an O_APPEND file", os.sendfile(app, f, None, 10).await),
        (
            "to a socket never connected",
            os.sendfile(lone, f, None, 10).await,
        ),
        (
            "to a pipe: as much as it holds",
            os.sendfile(w, f, None, 100_000).await,
        ),
        (
            "to the full non-blocking pipe",
            os.sendfile(w, f, None, 100_000).await,
        ),
        (
            "the pipe's bytes",
            os.read(r, 1 << 20).await.map(|b| b.len()),
        ),
        (
            "f_pos after",
            os.lseek(f, 0, SEEK_CUR).await.map(|v| v as usize),
        ),
        ("to a file", os.sendfile(wo, f, None, 1000).await),
        (
            "the file's f_pos moved",
            os.lseek(wo, 0, SEEK_CUR).await.map(|v| v as usize),
        ),
    ]
}

#[test]
fn sendfile_errors_are_the_kernels() {
    differential!(sendfile_errors);
}

// --------------------------------------------------------------- splice

async fn splice_file_pipe_socket(os: &impl Os) -> (Steps, u64, R<Digest>, Digest) {
    let data = pattern(100_000);
    let f = file_with(os, "src", &data).await;
    let (r, w) = os.pipe2(0).await.expect("pipe2");
    let (c, a) = os.tcp_pair().await;
    let mut off = 1000u64;
    let steps = vec![
        (
            "file from offset 1000 -> pipe",
            os.splice(f, Some(&mut off), w, None, 200_000, 0).await,
        ),
        (
            "f_pos, untouched",
            os.lseek(f, 0, SEEK_CUR).await.map(|v| v as usize),
        ),
        (
            "pipe -> socket",
            os.splice(r, None, c, None, 200_000, 0).await,
        ),
        (
            "file from f_pos -> pipe",
            os.splice(f, None, w, None, 5000, SPLICE_F_MORE).await,
        ),
        (
            "f_pos after",
            os.lseek(f, 0, SEEK_CUR).await.map(|v| v as usize),
        ),
        (
            "3000 of it -> socket",
            os.splice(r, None, c, None, 3000, 0).await,
        ),
        (
            "the rest -> socket",
            os.splice(r, None, c, None, 10_000, 0).await,
        ),
        (
            "pipe -> socket, nothing left, non-blocking",
            os.splice(r, None, c, None, 10, SPLICE_F_NONBLOCK).await,
        ),
    ];
    os.settle().await;
    let got = os.read_n(a, 64_536 + 5000).await.map(|b| digest(&b));
    let sent = [&data[1000..65_536], &data[..5000]].concat();
    (steps, off, got, digest(&sent))
}

#[test]
fn splice_moves_a_file_through_a_pipe_to_tcp_a_pipe_at_a_time() {
    let (_, _, got, sent) = differential!(splice_file_pipe_socket);
    assert_eq!(got, Ok(sent), "the receiver got the file's bytes, in order");
}

async fn splice_errors(os: &impl Os) -> Steps {
    let f = file_with(os, "src", &pattern(10_000)).await;
    let app = os
        .open("dst", O_WRONLY | O_CREAT | O_APPEND)
        .await
        .expect("create");
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let (c, a) = os.tcp_pair().await;
    let lone = os.tcp_socket().await;
    let mut off = 0u64;
    let mut off2 = 0u64;
    vec![
        (
            "no pipe on either side",
            os.splice(f, None, c, None, 10, 0).await,
        ),
        (
            "offset on the pipe (in)",
            os.splice(r, Some(&mut off), c, None, 10, 0).await,
        ),
        (
            "offset on the pipe (out)",
            os.splice(f, None, w, Some(&mut off2), 10, 0).await,
        ),
        (
            "a pipe into itself",
            os.splice(r, None, w, None, 10, 0).await,
        ),
        (
            "from a pipe's write end",
            os.splice(w, None, c, None, 10, 0).await,
        ),
        (
            "to a read-only file",
            os.splice(r, None, f, None, 10, 0).await,
        ),
        (
            "to an O_APPEND file",
            os.splice(r, None, app, None, 10, 0).await,
        ),
        ("no bytes asked", os.splice(f, None, c, None, 0, 0).await),
        ("unknown flag", os.splice(f, None, w, None, 10, 0x10).await),
        (
            "an offset on a socket",
            os.splice(a, Some(&mut off), w, None, 10, 0).await,
        ),
        (
            "from a socket never connected",
            os.splice(lone, None, w, None, 10, 0).await,
        ),
        (
            "from an empty non-blocking pipe",
            os.splice(r, None, c, None, 10, 0).await,
        ),
        ("file -> pipe, offset past the end", {
            let mut far = 20_000u64;
            os.splice(f, Some(&mut far), w, None, 10, 0).await
        }),
    ]
}

#[test]
fn splice_errors_are_the_kernels() {
    differential!(splice_errors);
}

async fn splice_socket_to_pipe(os: &impl Os) -> (Steps, R<Digest>, Digest) {
    let (r, w) = os.pipe2(0).await.expect("pipe2");
    let (c, a) = os.tcp_pair().await;
    let data = pattern(10_000);
    let mut steps: Steps = vec![("send 10000", os.write(c, &data).await)];
    os.settle().await;
    steps.push((
        "socket -> pipe",
        os.splice(a, None, w, None, 65_536, 0).await,
    ));
    let got = os.read_n(r, 10_000).await.map(|b| digest(&b));
    os.fcntl(a, F_SETFL, O_NONBLOCK).await.expect("F_SETFL");
    steps.push((
        "socket -> pipe, nothing there, O_NONBLOCK",
        os.splice(a, None, w, None, 100, 0).await,
    ));
    steps.push(("close the sender", os.close(c).await.map(|_| 0)));
    os.settle().await;
    steps.push((
        "socket -> pipe after the peer closed",
        os.splice(a, None, w, None, 100, 0).await,
    ));
    (steps, got, digest(&data))
}

#[test]
fn splice_from_tcp_moves_the_received_bytes_into_a_pipe() {
    let (_, got, sent) = differential!(splice_socket_to_pipe);
    assert_eq!(got, Ok(sent), "the pipe's reader got what was sent");
}

async fn splice_pipe_to_pipe(os: &impl Os) -> (Steps, R<Digest>, Digest) {
    let (r1, w1) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let (r2, w2) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let data = pattern(10_000);
    let steps = vec![
        ("write 10000", os.write(w1, &data).await),
        ("move 6000", os.splice(r1, None, w2, None, 6000, 0).await),
        (
            "move the rest",
            os.splice(r1, None, w2, None, 100_000, 0).await,
        ),
        (
            "move from the empty pipe",
            os.splice(r1, None, w2, None, 10, 0).await,
        ),
        ("close the first writer", os.close(w1).await.map(|_| 0)),
        (
            "move from the empty pipe with no writer",
            os.splice(r1, None, w2, None, 10, 0).await,
        ),
    ];
    (
        steps,
        os.read_n(r2, 10_000).await.map(|b| digest(&b)),
        digest(&data),
    )
}

#[test]
fn splice_between_pipes_moves_buffers() {
    let (_, got, sent) = differential!(splice_pipe_to_pipe);
    assert_eq!(got, Ok(sent), "the second pipe holds the bytes, in order");
}

// ------------------------------------------------------------- vmsplice

async fn vmsplice_cases(os: &impl Os) -> (Steps, R<Digest>, Digest) {
    let data = pattern(100_000);
    let (r, w) = os.pipe2(O_NONBLOCK).await.expect("pipe2");
    let mut steps: Steps = vec![
        (
            "100000 page-aligned bytes",
            os.vmsplice(w, &data, 0, 0).await,
        ),
        (
            "into the full pipe, SPLICE_F_NONBLOCK",
            os.vmsplice(w, &data, 0, SPLICE_F_NONBLOCK).await,
        ),
    ];
    let got = os.read_n(r, 65_536).await.map(|b| digest(&b));
    steps.extend([
        (
            "starting 100 bytes into a page",
            os.vmsplice(w, &data, 100, SPLICE_F_GIFT).await,
        ),
        ("read them", os.read_n(r, 100_000).await.map(|b| b.len())),
        (
            "nothing to splice",
            os.vmsplice(w, &data, data.len(), 0).await,
        ),
        ("unknown flag", os.vmsplice(w, &data, 0, 0x10).await),
    ]);
    let (c, _a) = os.tcp_pair().await;
    let f = file_with(os, "src", &data).await;
    steps.extend([
        ("into a socket", os.vmsplice(c, &data, 0, 0).await),
        ("into a read-only file", os.vmsplice(f, &data, 0, 0).await),
    ]);
    (steps, got, digest(&data[..65_536]))
}

#[test]
fn vmsplice_maps_as_many_user_pages_as_the_pipe_has_buffers() {
    let (_, got, sent) = differential!(vmsplice_cases);
    assert_eq!(
        got,
        Ok(sent),
        "the pipe's reader got the user memory's bytes"
    );
}

async fn sendfile_nonblocking(os: &impl Os) -> (bool, bool, R<usize>, R<u64>) {
    const SIZE: usize = 16 << 20;
    let f = file_with(os, "big", &pattern(SIZE)).await;
    let (c, _a) = os.tcp_pair().await;
    os.fcntl(c, F_SETFL, O_NONBLOCK).await.expect("F_SETFL");
    let mut off = 0u64;
    // How much fits depends on buffer sizes Linux tunes and the
    // simulation does not; that it is a short count, and where the
    // offset stops, does not.
    let first = os.sendfile(c, f, Some(&mut off), SIZE).await;
    let short = matches!(first, Ok(n) if n > 0 && n < SIZE);
    let offset_follows = first == Ok(off as usize);
    let second = os.sendfile(c, f, Some(&mut off), SIZE).await;
    (
        short,
        offset_follows,
        second,
        os.lseek(f, 0, SEEK_CUR).await,
    )
}

#[test]
fn a_nonblocking_sendfile_to_a_busy_socket_stops_short_then_says_eagain() {
    let (short, offset_follows, second, f_pos) = differential!(sendfile_nonblocking);
    assert!(short && offset_follows);
    assert_eq!((second, f_pos), (Err("EAGAIN"), Ok(0)));
}

/// Calls naming an fd number that is not open: the real side needs C (a
/// safe wrapper cannot name an fd that is not open).
const BAD_FD_PROBE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s %s\n", what, strerrorname_np(errno));
    else printf("%s %ld\n", what, r);
}

int main(void) {
    int p[2];
    if (pipe(p)) return 1;
    char b[16] = {0};
    struct iovec iov = { b, sizeof b };
    show("splice from fd 999", splice(999, NULL, p[1], NULL, 10, 0));
    show("splice to fd 999", splice(p[0], NULL, 999, NULL, 10, 0));
    show("sendfile to fd 999", sendfile(999, p[0], NULL, 10));
    show("sendfile from fd 999", sendfile(p[1], 999, NULL, 10));
    show("vmsplice into fd 999", vmsplice(999, &iov, 1, 0));
    return 0;
}
"#;

#[test]
fn calls_on_an_fd_that_is_not_open_are_ebadf() {
    let out = c_probe("splice_bad_fd", BAD_FD_PROBE, &[]);
    assert!(out.status.success(), "{out:?}");
    let real = String::from_utf8_lossy(&out.stdout).into_owned();
    let sim_out = run_sim(|p| async move {
        let (r, w) = p.pipe()?;
        let buf = UserBuf::new(16);
        let show = |what: &str, res: SysResult<usize>| match res {
            Ok(n) => format!("{what} {n}\n"),
            Err(e) => format!("{what} {}\n", e.name()),
        };
        Ok([
            show(
                "splice from fd 999",
                p.splice(999, None, w, None, 10, 0).await,
            ),
            show(
                "splice to fd 999",
                p.splice(r, None, 999, None, 10, 0).await,
            ),
            show("sendfile to fd 999", p.sendfile(999, r, None, 10).await),
            show("sendfile from fd 999", p.sendfile(w, 999, None, 10).await),
            show(
                "vmsplice into fd 999",
                p.vmsplice(999, &[(&buf).into()], 0).await,
            ),
        ]
        .concat())
    });
    same("calls on fd 999", real, sim_out);
}
