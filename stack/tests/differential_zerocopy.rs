//! Differential tests of `MSG_ZEROCOPY`: each scenario runs on this
//! machine's kernel over loopback and in the simulation, and each side
//! writes down what a program sees, one line per call: the values and
//! errors of `setsockopt`/`getsockopt(SO_ZEROCOPY)`, each `send()`, the
//! `poll()` bits, `SO_MEMINFO`'s option memory, and every
//! `recvmsg(MSG_ERRQUEUE)` with its `struct sock_extended_err` control
//! message. Neither `nix` nor `socket2` wraps `SO_ZEROCOPY`,
//! `SO_MEMINFO` or the error queue's control message in a form the tests
//! may call (they forbid `unsafe`), so the real side is a small C program.
//!
//! What is compared is what does not depend on timing. How the kernel
//! splits the ids into notifications depends on when each completion
//! lands (completions that arrive while the previous notification is
//! unread merge into it), so a run of notifications is compared by what it
//! covers (exactly the ids 0..N-1, each once) and by the fields that must
//! be the same in each: the return value (0 bytes), `msg_flags`
//! (`MSG_ERRQUEUE`), no address, the control message's level and type
//! (`SOL_IP`/`IP_RECVERR`), `ee_errno` 0, `ee_origin`
//! `SO_EE_ORIGIN_ZEROCOPY` and `ee_code` `SO_EE_CODE_ZEROCOPY_COPIED` (on
//! loopback the receiving side copies the pages). The option memory before
//! the drain is compared per unread notification (each costs one skb).
//! Everything else must be equal line for line: `EAGAIN` once drained, the
//! `poll()` bits (`POLLERR` while a notification is queued), the option's
//! values and errors, and the errors of zero-copy sends that cannot be
//! made (on an unconnected TCP socket, or a UDP one without an address)
//! together with the ids they do not consume.
//!
//! Not compared: `ENOBUFS` when `optmem_max` is full. On loopback every
//! completion comes in order and merges into the unread notification
//! before it, so the kernel never gets there; the simulation's unit tests
//! reach it with completions held in a NIC's queue.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;

use stack::prelude::*;

mod common;
use common::*;

const SIM_SETTLE: Nanos = ms(50);

// ------------------------------------------------------------- real side

const PROBE: &str = r#"
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static void out(const char *k, long v) { printf("%s %ld\n", k, v); fflush(stdout); }
static long rv(long r) { return r < 0 ? -errno : r; }
static long zc_get(int fd) {
    int v = 0; socklen_t l = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &v, &l) < 0 ? -errno : v;
}
static long zc_set(int fd, int v) {
    return setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof v) < 0 ? -errno : 0;
}
static void show_poll(int fd) {
    struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
    poll(&p, 1, 0);
    out("poll", p.revents);
}
static void show_optmem(int fd) {
    unsigned m[SK_MEMINFO_VARS] = {0}; socklen_t l = sizeof m;
    getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m, &l);
    out("optmem", m[SK_MEMINFO_OPTMEM]);
}
static void drain(int fd) {
    for (;;) {
        char control[256];
        struct sockaddr_in from;
        struct msghdr msg = {0};
        msg.msg_name = &from; msg.msg_namelen = sizeof from;
        msg.msg_control = control; msg.msg_controllen = sizeof control;
        long r = recvmsg(fd, &msg, MSG_ERRQUEUE);
        if (r < 0) { out("errq", -errno); return; }
        int n = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            struct sock_extended_err *ee = (void *)CMSG_DATA(c);
            printf("note %ld %d %u %d %d %u %u %u %u %u %u\n", r, msg.msg_flags,
                   msg.msg_namelen, c->cmsg_level, c->cmsg_type, ee->ee_errno,
                   ee->ee_origin, ee->ee_type, ee->ee_code, ee->ee_info, ee->ee_data);
            n++;
        }
        if (!n)
            printf("note %ld %d %u -1 -1 0 0 0 0 0 0\n", r, msg.msg_flags, msg.msg_namelen);
        fflush(stdout);
    }
}
static int listener(struct sockaddr_in *a, int zc) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (zc) zc_set(l, 1);
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET; a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (void *)a, sizeof *a); listen(l, 8);
    getsockname(l, (void *)a, &len);
    return l;
}

int main(int argc, char **argv) {
    const char *what = argv[1];
    char small[2000];
    memset(small, 'z', sizeof small);
    if (!strcmp(what, "opts")) {
        int fds[2] = { socket(AF_INET, SOCK_STREAM, 0), socket(AF_INET, SOCK_DGRAM, 0) };
        for (int i = 0; i < 2; i++) {
            int fd = fds[i];
            out("get", zc_get(fd)); out("set1", zc_set(fd, 1)); out("get", zc_get(fd));
            out("set2", zc_set(fd, 2)); out("set-1", zc_set(fd, -1)); out("get", zc_get(fd));
            out("set0", zc_set(fd, 0)); out("get", zc_get(fd));
        }
        struct sockaddr_in a;
        int l = listener(&a, 1);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (void *)&a, sizeof a);
        int s = accept(l, 0, 0);
        out("accepted_get", zc_get(s)); out("connected_get", zc_get(c));
    } else if (!strcmp(what, "tcp")) {
        int n = atoi(argv[2]), len = atoi(argv[3]), zc = atoi(argv[4]);
        struct sockaddr_in a;
        int l = listener(&a, 0);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (zc) out("set1", zc_set(c, 1));
        connect(c, (void *)&a, sizeof a);
        int s = accept(l, 0, 0);
        /* The reader says when it has read everything, and keeps its
           socket open (no FIN) until the sender has looked. */
        int done[2], hold[2];
        char x = 0;
        if (pipe(done) || pipe(hold)) return 1;
        pid_t child = fork();
        if (child == 0) {
            close(c); close(hold[1]);
            long total = (long)n * len, got = 0;
            char buf[65536];
            while (got < total) { long r = read(s, buf, sizeof buf); if (r <= 0) break; got += r; }
            if (write(done[1], &x, 1) != 1) _exit(1);
            if (read(hold[0], &x, 1) < 0) _exit(1);
            _exit(0);
        }
        close(s); close(hold[0]);
        char *buf = malloc(len);
        memset(buf, 7, len);
        for (int i = 0; i < n; i++) out("send", rv(send(c, buf, len, MSG_ZEROCOPY)));
        if (read(done[0], &x, 1) != 1) return 1;
        usleep(50000);
        show_poll(c); show_optmem(c); drain(c); show_poll(c); show_optmem(c);
        close(hold[1]);
        waitpid(child, 0, 0);
    } else if (!strcmp(what, "udp")) {
        struct sockaddr_in a = {0};
        socklen_t alen = sizeof a;
        int r = socket(AF_INET, SOCK_DGRAM, 0);
        a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(r, (void *)&a, sizeof a); getsockname(r, (void *)&a, &alen);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        out("send", rv(sendto(u, small, 100, MSG_ZEROCOPY, (void *)&a, sizeof a)));
        drain(u);
        out("set1", zc_set(u, 1));
        for (int i = 0; i < 3; i++)
            out("send", rv(sendto(u, small, 1000, MSG_ZEROCOPY, (void *)&a, sizeof a)));
        out("send", rv(send(u, small, 1, MSG_ZEROCOPY)));
        out("send", rv(sendto(u, small, 0, MSG_ZEROCOPY, (void *)&a, sizeof a)));
        usleep(50000);
        show_poll(u); show_optmem(u); drain(u); show_poll(u); show_optmem(u);
        out("send", rv(sendto(u, small, 10, MSG_ZEROCOPY, (void *)&a, sizeof a)));
        usleep(50000);
        out("recv_errq", rv(recv(u, small, 100, MSG_ERRQUEUE)));
        out("recv_errq", rv(recv(u, small, 100, MSG_ERRQUEUE)));
        show_poll(u); show_optmem(u);
    } else if (!strcmp(what, "unconnected")) {
        int t = socket(AF_INET, SOCK_STREAM, 0);
        out("set1", zc_set(t, 1));
        out("send", rv(send(t, small, 1000, MSG_ZEROCOPY | MSG_NOSIGNAL)));
        drain(t);
        struct sockaddr_in a;
        int l = listener(&a, 0);
        connect(t, (void *)&a, sizeof a);
        int s = accept(l, 0, 0);
        (void)s;
        out("send", rv(send(t, small, 1000, MSG_ZEROCOPY)));
        usleep(50000);
        drain(t);
    }
    return 0;
}
"#;

fn real_lines(args: &[&str]) -> Vec<String> {
    let out = c_probe("zerocopy", PROBE, args);
    assert!(out.status.success(), "the probe failed: {out:?}");
    String::from_utf8(out.stdout)
        .expect("the probe prints text")
        .lines()
        .map(str::to_string)
        .collect()
}

// -------------------------------------------------------------- sim side

/// The simulation's lines, in the probe's format.
#[derive(Default)]
struct Log(Vec<String>);

impl Log {
    fn out<T: Into<i64>>(&mut self, key: &str, r: SysResult<T>) {
        let v = match r {
            Ok(v) => v.into(),
            Err(e) => -i64::from(e.raw()),
        };
        self.0.push(format!("{key} {v}"));
    }

    async fn poll(&mut self, p: &Process, fd: i32) {
        let mut fds = [PollFd::new(fd, POLLIN | POLLOUT)];
        p.poll(&mut fds, 0).await.expect("poll");
        self.0.push(format!("poll {}", fds[0].revents));
    }

    fn optmem(&mut self, p: &Process, fd: i32) {
        let m = p.so_meminfo(fd).expect("SO_MEMINFO");
        self.0.push(format!("optmem {}", m[SK_MEMINFO_OPTMEM]));
    }

    fn drain(&mut self, p: &Process, fd: i32) {
        loop {
            match p.recv_errqueue(fd) {
                Ok(m) => {
                    let ee = m.ee;
                    self.0.push(format!(
                        "note {} {} 0 {} {} {} {} {} {} {} {}",
                        m.len,
                        m.msg_flags,
                        m.cmsg_level,
                        m.cmsg_type,
                        ee.ee_errno,
                        ee.ee_origin,
                        ee.ee_type,
                        ee.ee_code,
                        ee.ee_info,
                        ee.ee_data
                    ));
                }
                Err(e) => {
                    self.0.push(format!("errq {}", -e.raw()));
                    return;
                }
            }
        }
    }
}

fn size(r: SysResult<usize>) -> SysResult<i64> {
    r.map(|n| n as i64)
}

/// Runs `body` on a fresh one-host world and returns the lines it logged.
/// With `reader: Some((n, len))`, a second process plays the reader the
/// real side forks: it accepts on 127.0.0.1:7000, reads `n * len` bytes,
/// raises the flag `body` gets, and keeps its socket open a while longer.
fn sim_lines<F, Fut>(reader: Option<(usize, usize)>, body: F) -> Vec<String>
where
    F: FnOnce(Process, Rc<Cell<bool>>) -> Fut,
    Fut: std::future::Future<Output = SysResult<Log>> + 'static,
{
    let mut world = Sim::new(1);
    let host = world.add_host("box");
    let done = Rc::new(Cell::new(false));
    if let Some((n, len)) = reader {
        let flag = done.clone();
        world.spawn(host, "reader", move |p| async move {
            let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(l, "127.0.0.1:7000")?;
            p.listen(l, 8)?;
            let (s, _) = p.accept(l).await?;
            let mut buf = vec![0u8; 65536];
            let mut got = 0;
            while got < n * len {
                let r = p.read(s, &mut buf).await?;
                if r == 0 {
                    break;
                }
                got += r;
            }
            flag.set(true);
            p.sleep(secs(10)).await;
            Ok(())
        });
    }
    let slot = spawn_collect(&mut world, host, "test", move |p| body(p, done));
    let report = world.run();
    assert!(report.is_ok(), "the simulation did not finish:\n{report}");
    slot.take().expect("the process stored its log").0
}

/// Sleeps until the reader has read everything.
async fn wait_for(p: &Process, done: &Cell<bool>) {
    while !done.get() {
        p.sleep(ms(1)).await;
    }
}

// ------------------------------------------------------------ comparison

/// A log with each run of notifications boiled down to what must not
/// depend on timing.
fn normalize(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("note ") {
            out.push(lines[i].clone());
            i += 1;
            continue;
        }
        let mut ids = Vec::new();
        let mut fields = BTreeSet::new();
        let mut count = 0u32;
        while i < lines.len() && lines[i].starts_with("note ") {
            let v: Vec<i64> = lines[i][5..]
                .split(' ')
                .map(|x| x.parse().expect("a number"))
                .collect();
            // ret flags namelen level type errno origin ee_type code | info data
            fields.insert(v[..9].to_vec());
            ids.extend(v[9]..=v[10]);
            count += 1;
            i += 1;
        }
        ids.sort_unstable();
        out.push(format!("notes covering ids {ids:?}"));
        for f in fields {
            out.push(format!(
                "  each: ret {} msg_flags {:#x} namelen {} cmsg ({}, {}) ee_errno {} ee_origin {} ee_type {} ee_code {}",
                f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
            ));
        }
        // The option memory read just before the drain, per notification.
        if let Some(pos) = out.iter().rposition(|l| l.starts_with("optmem ")) {
            let v: u32 = out[pos][7..].parse().expect("a number");
            out[pos] = if v % count == 0 {
                format!("optmem {} per unread notification", v / count)
            } else {
                format!("optmem {v} for {count} notifications")
            };
        }
    }
    out
}

#[track_caller]
fn compare(scenario: &str, real: Vec<String>, sim: Vec<String>) {
    let (r, s) = (normalize(&real), normalize(&sim));
    assert!(
        r == s,
        "{scenario}: the simulation differs from this machine's kernel\n\
         real kernel:\n  {}\nsimulation:\n  {}\n(raw real: {real:?})",
        r.join("\n  "),
        s.join("\n  ")
    );
}

// ------------------------------------------------------------- scenarios

#[test]
fn so_zerocopy_values_errors_and_inheritance_match_the_kernel() {
    let real = real_lines(&["opts"]);
    let sim = sim_lines(None, |p, _| async move {
        let mut log = Log::default();
        for ty in [SOCK_STREAM, SOCK_DGRAM] {
            let fd = p.socket(AF_INET, ty, 0)?;
            let get = |p: &Process| p.getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY);
            let set = |p: &Process, v| p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, v).map(|()| 0);
            log.out("get", get(&p));
            log.out("set1", set(&p, 1));
            log.out("get", get(&p));
            log.out("set2", set(&p, 2));
            log.out("set-1", set(&p, -1));
            log.out("get", get(&p));
            log.out("set0", set(&p, 0));
            log.out("get", get(&p));
        }
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(l, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.bind(l, "127.0.0.1:7000")?;
        p.listen(l, 8)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, "127.0.0.1:7000").await?;
        let (s, _) = p.accept(l).await?;
        log.out("accepted_get", p.getsockopt(s, SOL_SOCKET, SO_ZEROCOPY));
        log.out("connected_get", p.getsockopt(c, SOL_SOCKET, SO_ZEROCOPY));
        Ok(log)
    });
    compare("SO_ZEROCOPY", real, sim);
}

/// N sends of `len` bytes over a loopback TCP connection, with or without
/// `SO_ZEROCOPY`, all read by the peer; then the sender's error queue.
fn tcp_scenario(n: usize, len: usize, zerocopy: bool) {
    let args = [n.to_string(), len.to_string(), (zerocopy as u8).to_string()];
    let real = real_lines(&["tcp", &args[0], &args[1], &args[2]]);
    let sim = sim_lines(Some((n, len)), move |p, done| async move {
        let mut log = Log::default();
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if zerocopy {
            log.out(
                "set1",
                p.setsockopt(c, SOL_SOCKET, SO_ZEROCOPY, 1).map(|()| 0),
            );
        }
        p.connect(c, "127.0.0.1:7000").await?;
        let buf = vec![7u8; len];
        for _ in 0..n {
            log.out("send", size(p.send(c, &buf, MSG_ZEROCOPY).await));
        }
        wait_for(&p, &done).await;
        p.sleep(SIM_SETTLE).await;
        log.poll(&p, c).await;
        log.optmem(&p, c);
        log.drain(&p, c);
        log.poll(&p, c).await;
        log.optmem(&p, c);
        Ok(log)
    });
    compare(
        &format!("TCP, {n} sends of {len} B, SO_ZEROCOPY {zerocopy}"),
        real,
        sim,
    );
}

#[test]
fn tcp_notifications_on_loopback_match_the_kernel() {
    tcp_scenario(8, 100_000, true);
}

#[test]
fn tcp_small_sends_on_loopback_match_the_kernel() {
    tcp_scenario(20, 3000, true);
}

#[test]
fn msg_zerocopy_without_so_zerocopy_matches_the_kernel() {
    tcp_scenario(3, 100_000, false);
}

#[test]
fn udp_notifications_on_loopback_match_the_kernel() {
    let real = real_lines(&["udp"]);
    let sim = sim_lines(None, |p, _| async move {
        let mut log = Log::default();
        let r = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(r, "127.0.0.1:9000")?;
        let to = "127.0.0.1:9000";
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let small = [b'z'; 2000];
        log.out(
            "send",
            size(p.sendto(u, &small[..100], MSG_ZEROCOPY, to).await),
        );
        log.drain(&p, u);
        log.out(
            "set1",
            p.setsockopt(u, SOL_SOCKET, SO_ZEROCOPY, 1).map(|()| 0),
        );
        for _ in 0..3 {
            log.out(
                "send",
                size(p.sendto(u, &small[..1000], MSG_ZEROCOPY, to).await),
            );
        }
        log.out("send", size(p.send(u, &small[..1], MSG_ZEROCOPY).await));
        log.out("send", size(p.sendto(u, &[], MSG_ZEROCOPY, to).await));
        p.sleep(SIM_SETTLE).await;
        log.poll(&p, u).await;
        log.optmem(&p, u);
        log.drain(&p, u);
        log.poll(&p, u).await;
        log.optmem(&p, u);
        log.out(
            "send",
            size(p.sendto(u, &small[..10], MSG_ZEROCOPY, to).await),
        );
        p.sleep(SIM_SETTLE).await;
        let mut buf = [0u8; 100];
        log.out("recv_errq", size(p.recv(u, &mut buf, MSG_ERRQUEUE).await));
        log.out("recv_errq", size(p.recv(u, &mut buf, MSG_ERRQUEUE).await));
        log.poll(&p, u).await;
        log.optmem(&p, u);
        Ok(log)
    });
    compare("UDP", real, sim);
}

#[test]
fn a_failed_zero_copy_send_gives_its_id_back_as_in_the_kernel() {
    let real = real_lines(&["unconnected"]);
    let sim = sim_lines(None, |p, _| async move {
        let mut log = Log::default();
        let t = p.socket(AF_INET, SOCK_STREAM, 0)?;
        log.out(
            "set1",
            p.setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, 1).map(|()| 0),
        );
        let small = [b'z'; 1000];
        log.out(
            "send",
            size(p.send(t, &small, MSG_ZEROCOPY | MSG_NOSIGNAL).await),
        );
        log.drain(&p, t);
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:7000")?;
        p.listen(l, 8)?;
        p.connect(t, "127.0.0.1:7000").await?;
        let _s = p.accept(l).await?;
        log.out("send", size(p.send(t, &small, MSG_ZEROCOPY).await));
        p.sleep(SIM_SETTLE).await;
        log.drain(&p, t);
        Ok(log)
    });
    compare("unconnected TCP", real, sim);
}
