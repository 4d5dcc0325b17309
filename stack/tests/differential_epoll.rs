//! Differential tests of epoll, poll and select: each scenario runs on this
//! machine's kernel (real sockets over loopback, raw `libc` calls) and in
//! the simulation, and each side writes down what a program would see: the
//! events each `epoll_wait(…, 0)` returned, the `poll()` bits of a socket in
//! each state, the errno of each misuse. The two logs must be equal.
//!
//! The scenarios: level-triggered, edge-triggered and one-shot readiness of
//! one TCP connection through reads, new data and the peer's shutdown
//! (`EPOLLRDHUP`); the poll bits of TCP and UDP sockets from creation to
//! shutdown (a fresh TCP socket's `POLLOUT|POLLHUP`, a refused connect's
//! `POLLERR`); the rule that an epoll item belongs to the open file, not the
//! fd number; `epoll_ctl`'s errors; and `select()`'s `FD_SETSIZE`.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Socket, Type};
use stack::prelude::*;

mod common;
use common::*;

const SIM_SETTLE: Nanos = ms(50);

/// Every poll bit a program can ask for.
const ASK: u32 = POLLIN | EPOLLPRI | POLLOUT | EPOLLRDNORM | EPOLLWRNORM | EPOLLWRBAND | POLLRDHUP;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind to an ephemeral port")
        .port()
}

// ------------------------------------------------------------- real side

#[allow(deprecated)] // the raw-fd forms let a test pass bad fds on purpose
mod raw {
    pub use nix::sys::epoll::{
        EpollCreateFlags, EpollEvent, EpollFlags, EpollOp, epoll_create1, epoll_ctl, epoll_wait,
    };
}

fn r_create() -> RawFd {
    #[allow(deprecated)]
    raw::epoll_create1(raw::EpollCreateFlags::empty()).expect("epoll_create1")
}

fn r_ctl(ep: RawFd, op: i32, fd: RawFd, events: Option<u32>, data: u64) -> R<i32> {
    let op = match op {
        EPOLL_CTL_ADD => raw::EpollOp::EpollCtlAdd,
        EPOLL_CTL_MOD => raw::EpollOp::EpollCtlMod,
        _ => raw::EpollOp::EpollCtlDel,
    };
    let mut ev = raw::EpollEvent::new(
        raw::EpollFlags::from_bits_retain(events.unwrap_or(0) as i32),
        data,
    );
    #[allow(deprecated)]
    nix_r(raw::epoll_ctl(ep, op, fd, events.map(|_| &mut ev)).map(|_| 0))
}

fn r_wait(ep: RawFd, maxevents: usize) -> R<Vec<(String, u64)>> {
    let mut evs = vec![raw::EpollEvent::empty(); maxevents];
    #[allow(deprecated)]
    let n = nix_r(raw::epoll_wait(ep, &mut evs, 0))?;
    Ok(evs[..n]
        .iter()
        .map(|e| (epoll_events_name(e.events().bits() as u32), e.data()))
        .collect())
}

/// The real `poll()` bits of a socket. `nix`'s `PollFlags` has no
/// `POLLRDHUP` (and drops a result that holds it), so that one bit is asked
/// of epoll, which reads the same `->poll` method.
fn r_poll(fd: &impl std::os::fd::AsFd) -> String {
    use nix::poll::{PollFd as NixPollFd, PollFlags, PollTimeout, poll};
    let mut p = [NixPollFd::new(
        fd.as_fd(),
        PollFlags::from_bits_retain((ASK & !POLLRDHUP) as i16),
    )];
    poll(&mut p, PollTimeout::ZERO).expect("poll");
    let mut revents = p[0].revents().map_or(0, |f| f.bits() as u16 as u32);
    let ep = r_create();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    r_ctl(ep, EPOLL_CTL_ADD, raw, Some(POLLRDHUP), 0).expect("epoll_ctl ADD");
    if r_wait(ep, 1).is_ok_and(|v| v.iter().any(|(e, _)| e.contains("EPOLLRDHUP"))) {
        revents |= POLLRDHUP;
    }
    r_close(ep);
    epoll_events_name(revents)
}

fn r_close(fd: RawFd) {
    let _ = nix::unistd::close(fd);
}

fn r_recv(fd: RawFd, buf: &mut [u8]) -> R<usize> {
    nix_r(nix::sys::socket::recv(
        fd,
        buf,
        nix::sys::socket::MsgFlags::empty(),
    ))
}

fn settle() {
    std::thread::sleep(SETTLE);
}

// -------------------------------------------------------------- sim side

fn s_wait_fmt(r: SysResult<Vec<EpollEvent>>) -> R<Vec<(String, u64)>> {
    sim(r).map(|v| {
        v.iter()
            .map(|e| (epoll_events_name(e.events), e.data))
            .collect()
    })
}

async fn s_poll(p: &Process, fd: i32) -> SysResult<String> {
    let mut fds = [PollFd::new(fd, ASK)];
    p.poll(&mut fds, 0).await?;
    Ok(epoll_events_name(fds[0].revents))
}

fn ev(events: u32, data: u64) -> Option<EpollEvent> {
    Some(EpollEvent { events, data })
}

// ------------------------------------------------------------- scenarios

/// One TCP connection watched by three epoll instances: level-triggered,
/// edge-triggered and one-shot, through data, partial reads, new data, a
/// re-arm and the peer's shutdown.
#[test]
fn lt_et_oneshot_sequences_match_the_kernel() {
    type Log = Vec<(String, R<Vec<(String, u64)>>)>;
    let port = free_port();
    let want = EPOLLIN | EPOLLRDHUP;

    let real: Log = {
        let mut log = Log::new();
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.set_reuse_address(true).unwrap();
        l.bind(&sockaddr(&format!("127.0.0.1:{port}"))).unwrap();
        l.listen(8).unwrap();
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.connect(&sockaddr(&format!("127.0.0.1:{port}"))).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        let fd = s.as_raw_fd();
        let eps = [r_create(), r_create(), r_create()];
        r_ctl(eps[0], EPOLL_CTL_ADD, fd, Some(want), 1).unwrap();
        r_ctl(eps[1], EPOLL_CTL_ADD, fd, Some(want | EPOLLET), 2).unwrap();
        r_ctl(eps[2], EPOLL_CTL_ADD, fd, Some(want | EPOLLONESHOT), 3).unwrap();
        let look = |what: &str, log: &mut Log| {
            for (ep, name) in eps.iter().zip(["LT", "ET", "ONESHOT"]) {
                log.push((format!("{what}: {name}"), r_wait(*ep, 8)));
            }
        };
        look("idle", &mut log);
        c.send(b"hello").unwrap();
        settle();
        look("after 5 bytes", &mut log);
        look("again", &mut log);
        let mut buf = [0u8; 64];
        let _ = r_recv(fd, &mut buf[..2]);
        look("after reading 2", &mut log);
        c.send(b"x").unwrap();
        settle();
        look("after 1 more byte", &mut log);
        log.push((
            "MOD re-arms ONESHOT".into(),
            r_ctl(eps[2], EPOLL_CTL_MOD, fd, Some(want | EPOLLONESHOT), 3).map(|_| vec![]),
        ));
        look("after MOD", &mut log);
        while r_recv(fd, &mut buf).is_ok_and(|n| n > 0) {}
        look("drained to EAGAIN", &mut log);
        c.shutdown(std::net::Shutdown::Write).unwrap();
        settle();
        look("after the peer's shutdown(SHUT_WR)", &mut log);
        log.push(("poll".into(), Ok(vec![(r_poll(&s), 0)])));
        for ep in eps {
            r_close(ep);
        }
        log
    };

    let simulated: Log = run_sim(move |p| async move {
        let mut log = Log::new();
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, format!("127.0.0.1:{port}").as_str())?;
        p.listen(l, 8)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, format!("127.0.0.1:{port}").as_str()).await?;
        let (s, _) = p.accept4(l, SOCK_NONBLOCK).await?;
        let eps = [
            p.epoll_create1(0)?,
            p.epoll_create1(0)?,
            p.epoll_create1(0)?,
        ];
        p.epoll_ctl(eps[0], EPOLL_CTL_ADD, s, ev(want, 1))?;
        p.epoll_ctl(eps[1], EPOLL_CTL_ADD, s, ev(want | EPOLLET, 2))?;
        p.epoll_ctl(eps[2], EPOLL_CTL_ADD, s, ev(want | EPOLLONESHOT, 3))?;
        async fn look(p: &Process, eps: &[i32; 3], what: &str, log: &mut Log) {
            for (ep, name) in eps.iter().zip(["LT", "ET", "ONESHOT"]) {
                log.push((
                    format!("{what}: {name}"),
                    s_wait_fmt(p.epoll_wait(*ep, 8, 0).await),
                ));
            }
        }
        look(&p, &eps, "idle", &mut log).await;
        p.send(c, b"hello", 0).await?;
        p.sleep(SIM_SETTLE).await;
        look(&p, &eps, "after 5 bytes", &mut log).await;
        look(&p, &eps, "again", &mut log).await;
        let mut buf = [0u8; 64];
        p.recv(s, &mut buf[..2], 0).await?;
        look(&p, &eps, "after reading 2", &mut log).await;
        p.send(c, b"x", 0).await?;
        p.sleep(SIM_SETTLE).await;
        look(&p, &eps, "after 1 more byte", &mut log).await;
        log.push((
            "MOD re-arms ONESHOT".into(),
            sim(p.epoll_ctl(eps[2], EPOLL_CTL_MOD, s, ev(want | EPOLLONESHOT, 3))).map(|_| vec![]),
        ));
        look(&p, &eps, "after MOD", &mut log).await;
        while p.recv(s, &mut buf, 0).await.is_ok_and(|n| n > 0) {}
        look(&p, &eps, "drained to EAGAIN", &mut log).await;
        p.shutdown(c, SHUT_WR)?;
        p.sleep(SIM_SETTLE).await;
        look(&p, &eps, "after the peer's shutdown(SHUT_WR)", &mut log).await;
        log.push(("poll".into(), Ok(vec![(s_poll(&p, s).await?, 0)])));
        Ok(log)
    });
    same("epoll LT/ET/ONESHOT on one TCP connection", real, simulated);
}

/// The bits `poll()` reports for TCP and UDP sockets in each state.
#[test]
fn poll_bits_by_socket_state_match_the_kernel() {
    type Log = Vec<(&'static str, String)>;
    let port = free_port();
    let closed = free_port();

    let real: Log = {
        let mut log = Log::new();
        let fresh = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        log.push(("fresh TCP socket", r_poll(&fresh)));
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.set_reuse_address(true).unwrap();
        l.bind(&sockaddr(&format!("127.0.0.1:{port}"))).unwrap();
        l.listen(8).unwrap();
        log.push(("listener, empty accept queue", r_poll(&l)));
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.connect(&sockaddr(&format!("127.0.0.1:{port}"))).unwrap();
        settle();
        log.push(("listener, one connection queued", r_poll(&l)));
        let (s, _) = l.accept().unwrap();
        log.push(("connected, idle", r_poll(&c)));
        c.send(b"hi").unwrap();
        settle();
        log.push(("connected, data queued", r_poll(&s)));
        c.shutdown(std::net::Shutdown::Write).unwrap();
        settle();
        log.push(("peer sent FIN", r_poll(&s)));
        s.shutdown(std::net::Shutdown::Write).unwrap();
        settle();
        log.push(("both directions shut", r_poll(&s)));
        let refused = Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None).unwrap();
        let _ = refused.connect(&sockaddr(&format!("127.0.0.1:{closed}")));
        settle();
        log.push(("connect refused", r_poll(&refused)));
        let u = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        u.bind(&sockaddr("127.0.0.1:0")).unwrap();
        log.push(("fresh UDP socket", r_poll(&u)));
        let to = u.local_addr().unwrap();
        let u2 = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        u2.send_to(b"d", &to).unwrap();
        settle();
        log.push(("UDP, datagram queued", r_poll(&u)));
        let _ = u2.shutdown(std::net::Shutdown::Both);
        log.push(("UDP after shutdown(SHUT_RDWR)", r_poll(&u2)));
        log
    };

    let simulated: Log = run_sim(move |p| async move {
        let mut log = Log::new();
        let fresh = p.socket(AF_INET, SOCK_STREAM, 0)?;
        log.push(("fresh TCP socket", s_poll(&p, fresh).await?));
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, format!("127.0.0.1:{port}").as_str())?;
        p.listen(l, 8)?;
        log.push(("listener, empty accept queue", s_poll(&p, l).await?));
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, format!("127.0.0.1:{port}").as_str()).await?;
        p.sleep(SIM_SETTLE).await;
        log.push(("listener, one connection queued", s_poll(&p, l).await?));
        let (s, _) = p.accept(l).await?;
        log.push(("connected, idle", s_poll(&p, c).await?));
        p.send(c, b"hi", 0).await?;
        p.sleep(SIM_SETTLE).await;
        log.push(("connected, data queued", s_poll(&p, s).await?));
        p.shutdown(c, SHUT_WR)?;
        p.sleep(SIM_SETTLE).await;
        log.push(("peer sent FIN", s_poll(&p, s).await?));
        p.shutdown(s, SHUT_WR)?;
        p.sleep(SIM_SETTLE).await;
        log.push(("both directions shut", s_poll(&p, s).await?));
        let refused = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p
            .connect(refused, format!("127.0.0.1:{closed}").as_str())
            .await;
        p.sleep(SIM_SETTLE).await;
        log.push(("connect refused", s_poll(&p, refused).await?));
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(u, "127.0.0.1:0")?;
        log.push(("fresh UDP socket", s_poll(&p, u).await?));
        let to = p.getsockname(u)?;
        let u2 = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(u2, b"d", 0, to).await?;
        p.sleep(SIM_SETTLE).await;
        log.push(("UDP, datagram queued", s_poll(&p, u).await?));
        let _ = p.shutdown(u2, SHUT_RDWR);
        log.push(("UDP after shutdown(SHUT_RDWR)", s_poll(&p, u2).await?));
        Ok(log)
    });
    same("poll() bits by socket state", real, simulated);
}

/// An epoll item belongs to the open file description: it outlives the
/// closed fd number while a `dup` keeps the file open, reports the old
/// data, cannot be deleted through either number, and goes with the last
/// close.
#[test]
fn the_dup_rule_matches_the_kernel() {
    type Log = Vec<(&'static str, R<Vec<(String, u64)>>)>;
    let real: Log = {
        let mut log = Log::new();
        let a = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        a.bind(&sockaddr("127.0.0.1:0")).unwrap();
        let to = a.local_addr().unwrap();
        let b = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let ep = r_create();
        let a2 = a.try_clone().expect("dup");
        let a2_fd = a2.as_raw_fd();
        let a_fd = a.as_raw_fd();
        r_ctl(ep, EPOLL_CTL_ADD, a_fd, Some(EPOLLIN), a_fd as u64).unwrap();
        drop(a);
        let (a, a2) = (a_fd, a2);
        b.send_to(b"x", &to).unwrap();
        settle();
        log.push(("event after close(a)", r_wait(ep, 8)));
        log.push((
            "DEL a",
            r_ctl(ep, EPOLL_CTL_DEL, a, None, 0).map(|_| vec![]),
        ));
        log.push((
            "DEL a2",
            r_ctl(ep, EPOLL_CTL_DEL, a2_fd, None, 0).map(|_| vec![]),
        ));
        drop(a2);
        b.send_to(b"y", &to).unwrap_or(0);
        settle();
        log.push(("after the last close", r_wait(ep, 8)));
        r_close(ep);
        log
    };
    let simulated: Log = run_sim(|p| async move {
        let mut log = Log::new();
        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(a, "127.0.0.1:0")?;
        let to = p.getsockname(a)?;
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let ep = p.epoll_create1(0)?;
        p.epoll_ctl(ep, EPOLL_CTL_ADD, a, ev(EPOLLIN, a as u64))?;
        let a2 = p.dup(a)?;
        p.close(a)?;
        p.sendto(b, b"x", 0, to).await?;
        p.sleep(SIM_SETTLE).await;
        log.push((
            "event after close(a)",
            s_wait_fmt(p.epoll_wait(ep, 8, 0).await),
        ));
        log.push((
            "DEL a",
            sim(p.epoll_ctl(ep, EPOLL_CTL_DEL, a, None)).map(|_| vec![]),
        ));
        log.push((
            "DEL a2",
            sim(p.epoll_ctl(ep, EPOLL_CTL_DEL, a2, None)).map(|_| vec![]),
        ));
        p.close(a2)?;
        let _ = p.sendto(b, b"y", 0, to).await;
        p.sleep(SIM_SETTLE).await;
        log.push((
            "after the last close",
            s_wait_fmt(p.epoll_wait(ep, 8, 0).await),
        ));
        Ok(log)
    });
    same("epoll items and dup()", real, simulated);
}

/// `epoll_ctl` and `epoll_wait` misuse, in the kernel's order of checks.
#[test]
// One push per call keeps each call next to its name, in the order made.
#[allow(clippy::vec_init_then_push)]
fn epoll_errors_match_the_kernel() {
    type Log = Vec<(&'static str, R<i32>)>;
    let real: Log = {
        let u = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let v = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let (u, v) = (u.as_raw_fd(), v.as_raw_fd());
        let ep = r_create();
        let ep2 = r_create();
        let mut log = Log::new();
        log.push(("ADD", r_ctl(ep, EPOLL_CTL_ADD, u, Some(EPOLLIN), 0)));
        log.push(("ADD twice", r_ctl(ep, EPOLL_CTL_ADD, u, Some(EPOLLIN), 0)));
        log.push(("MOD unknown", r_ctl(ep, EPOLL_CTL_MOD, v, Some(EPOLLIN), 0)));
        log.push(("DEL unknown", r_ctl(ep, EPOLL_CTL_DEL, v, None, 0)));
        log.push(("ADD itself", r_ctl(ep, EPOLL_CTL_ADD, ep, Some(EPOLLIN), 0)));
        log.push((
            "epfd not epoll",
            r_ctl(u, EPOLL_CTL_ADD, v, Some(EPOLLIN), 0),
        ));
        log.push(("bad fd", r_ctl(ep, EPOLL_CTL_ADD, 9999, Some(EPOLLIN), 0)));
        log.push(("bad epfd", r_ctl(9999, EPOLL_CTL_ADD, v, Some(EPOLLIN), 0)));
        log.push((
            "EXCLUSIVE|ONESHOT",
            r_ctl(
                ep,
                EPOLL_CTL_ADD,
                v,
                Some(EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT),
                0,
            ),
        ));
        log.push((
            "EXCLUSIVE ADD",
            r_ctl(ep, EPOLL_CTL_ADD, v, Some(EPOLLIN | EPOLLEXCLUSIVE), 0),
        ));
        log.push((
            "MOD an EXCLUSIVE item",
            r_ctl(ep, EPOLL_CTL_MOD, v, Some(EPOLLIN), 0),
        ));
        log.push((
            "EXCLUSIVE on an epoll fd",
            r_ctl(ep2, EPOLL_CTL_ADD, ep, Some(EPOLLIN | EPOLLEXCLUSIVE), 0),
        ));
        log.push((
            "nest ep in ep2",
            r_ctl(ep2, EPOLL_CTL_ADD, ep, Some(EPOLLIN), 0),
        ));
        log.push((
            "close the loop",
            r_ctl(ep, EPOLL_CTL_ADD, ep2, Some(EPOLLIN), 0),
        ));
        log.push(("wait maxevents 0", r_wait(ep, 0).map(|v| v.len() as i32)));
        log.push(("wait on a socket", r_wait(u, 1).map(|v| v.len() as i32)));
        r_close(ep);
        r_close(ep2);
        log
    };
    let simulated: Log = run_sim(|p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let v = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let ep = p.epoll_create1(0)?;
        let ep2 = p.epoll_create1(0)?;
        let ctl = |epfd, op, fd, e: Option<u32>| {
            sim(p.epoll_ctl(epfd, op, fd, e.map(|events| EpollEvent { events, data: 0 })))
                .map(|_| 0)
        };
        let mut log = Log::new();
        log.push(("ADD", ctl(ep, EPOLL_CTL_ADD, u, Some(EPOLLIN))));
        log.push(("ADD twice", ctl(ep, EPOLL_CTL_ADD, u, Some(EPOLLIN))));
        log.push(("MOD unknown", ctl(ep, EPOLL_CTL_MOD, v, Some(EPOLLIN))));
        log.push(("DEL unknown", ctl(ep, EPOLL_CTL_DEL, v, None)));
        log.push(("ADD itself", ctl(ep, EPOLL_CTL_ADD, ep, Some(EPOLLIN))));
        log.push(("epfd not epoll", ctl(u, EPOLL_CTL_ADD, v, Some(EPOLLIN))));
        log.push(("bad fd", ctl(ep, EPOLL_CTL_ADD, 9999, Some(EPOLLIN))));
        log.push(("bad epfd", ctl(9999, EPOLL_CTL_ADD, v, Some(EPOLLIN))));
        log.push((
            "EXCLUSIVE|ONESHOT",
            ctl(
                ep,
                EPOLL_CTL_ADD,
                v,
                Some(EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT),
            ),
        ));
        log.push((
            "EXCLUSIVE ADD",
            ctl(ep, EPOLL_CTL_ADD, v, Some(EPOLLIN | EPOLLEXCLUSIVE)),
        ));
        log.push((
            "MOD an EXCLUSIVE item",
            ctl(ep, EPOLL_CTL_MOD, v, Some(EPOLLIN)),
        ));
        log.push((
            "EXCLUSIVE on an epoll fd",
            ctl(ep2, EPOLL_CTL_ADD, ep, Some(EPOLLIN | EPOLLEXCLUSIVE)),
        ));
        log.push(("nest ep in ep2", ctl(ep2, EPOLL_CTL_ADD, ep, Some(EPOLLIN))));
        log.push(("close the loop", ctl(ep, EPOLL_CTL_ADD, ep2, Some(EPOLLIN))));
        log.push((
            "wait maxevents 0",
            sim(p.epoll_wait(ep, 0, 0).await).map(|v| v.len() as i32),
        ));
        log.push((
            "wait on a socket",
            sim(p.epoll_wait(u, 1, 0).await).map(|v| v.len() as i32),
        ));
        Ok(log)
    });
    same("epoll misuse", real, simulated);
}

/// What only C can ask: `epoll_ctl` with a NULL event or an unknown op,
/// `epoll_create1` with a bad flag, and `select()` on fds that are not
/// open, past and within the fd table's size. Each line is the errno name
/// (or `ok`).
const MISUSE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
static void say(int r) { puts(r < 0 ? strerrorname_np(errno) : "ok"); }
int main(void) {
    int ep = epoll_create1(0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct epoll_event ev = { .events = EPOLLIN };
    say(epoll_ctl(ep, EPOLL_CTL_ADD, u, NULL));
    say(epoll_ctl(ep, 7, u, &ev));
    say(epoll_create1(1));
    fd_set s; FD_ZERO(&s); FD_SET(900, &s);
    struct timeval tv = { 0, 0 };
    say(select(901, &s, NULL, NULL, &tv));
    FD_ZERO(&s); FD_SET(50, &s);
    say(select(901, &s, NULL, NULL, &tv));
    say(select(-1, NULL, NULL, NULL, &tv));
    return 0;
}
"#;

#[test]
fn misuse_only_c_can_express_matches_the_kernel() {
    let out = c_probe("misuse", MISUSE_C, &[]);
    let real: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let simulated: Vec<String> = run_sim(|p| async move {
        let say = |r: SysResult<()>| r.map_or_else(|e| e.name().to_string(), |()| "ok".to_string());
        let ep = p.epoll_create1(0)?;
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let ev = Some(EpollEvent {
            events: EPOLLIN,
            data: 0,
        });
        let mut set = FdSet::new();
        set.set(900)?;
        let mut low = FdSet::new();
        low.set(50)?;
        Ok(vec![
            say(p.epoll_ctl(ep, EPOLL_CTL_ADD, u, None)),
            say(p.epoll_ctl(ep, 7, u, ev)),
            say(p.epoll_create1(1).map(drop)),
            say(p
                .select(901, Some(&mut set), None, None, Some(0))
                .await
                .map(drop)),
            say(p
                .select(901, Some(&mut low), None, None, Some(0))
                .await
                .map(drop)),
            say(p.select(-1, None, None, None, Some(0)).await.map(drop)),
        ])
    });
    same("epoll and select misuse from C", real, simulated);
}

/// `select()` and `FD_SETSIZE`: an `fd_set` holds 1024 fds; glibc (built
/// with `_FORTIFY_SOURCE`, as Debian builds programs) aborts a program
/// that puts fd 1024 in one ("bit out of range 0 - FD_SETSIZE on fd_set"),
/// and the simulation refuses it.
#[test]
fn fd_setsize_matches_glibc() {
    assert_eq!(FD_SETSIZE, libc::FD_SETSIZE);
    let src = "#include <sys/select.h>\n#include <stdio.h>\n#include <stdlib.h>\n\
               int main(int argc, char **argv) { fd_set s; FD_ZERO(&s); \
               FD_SET(atoi(argv[1]), &s); puts(\"set\"); return 0; }\n";
    let verdict = |fd: &str| {
        let out = c_probe(&format!("fd_set{fd}"), src, &[fd]);
        if out.status.success() {
            "accepted"
        } else if String::from_utf8_lossy(&out.stderr).contains("bit out of range") {
            "refused"
        } else {
            "failed otherwise"
        }
    };
    let real = (verdict("1023"), verdict("1024"));
    let sim_verdict = |r: SysResult<()>| if r.is_ok() { "accepted" } else { "refused" };
    let simulated = (
        sim_verdict(FdSet::new().set(1023)),
        sim_verdict(FdSet::new().set(1024)),
    );
    same("FD_SET(1023) and FD_SET(1024)", real, simulated);
}
