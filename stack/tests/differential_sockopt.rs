//! Differential tests of socket options and socket ioctls: one script of
//! calls, run on this machine's kernel by a small C program (the tests
//! forbid `unsafe`, and `setsockopt()` with an arbitrary level and name
//! needs it) and in the simulation, each writing one line per call: the
//! value, or the errno by name. The two must be equal line for line.
//!
//! The script's steps: `tcp` or `udp` (a new socket), `listen` (bind to
//! 127.0.0.1 and listen), `pair` (a connected TCP pair over loopback: the
//! accepted side becomes the socket the steps use), `peer_send N` (the
//! other end sends N bytes, then both sides settle), `set L O V`,
//! `get L O`, `ioctl R`.
//!
//! The values compared are the kernel's constants and its ranges, not
//! what depends on the machine: no option's default that a sysctl sets
//! differently on this machine than on a stock kernel is read (the test
//! checks those sysctls first and says so if one differs).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use stack::prelude::*;

mod common;
use common::*;

/// One step of a script.
#[derive(Clone, Copy, Debug)]
enum Step {
    Tcp,
    Udp,
    Listen,
    Pair,
    PeerSend(usize),
    /// Send N bytes on the socket, then settle.
    Send(usize),
    /// `recv()` of up to N bytes with these flags.
    Recv(usize, i32),
    /// `poll()` for `POLLIN | POLLOUT`, not waiting: `revents`.
    Poll,
    /// An ioctl on the other end of the pair.
    PeerIoctl(i32),
    /// Wait this many milliseconds.
    Sleep(u64),
    Set(i32, i32, i32),
    Get(i32, i32),
    Ioctl(i32),
    /// `setsockopt(SO_LINGER)` with a whole `struct linger`.
    SetLinger(i32, i32),
    /// `getsockopt(SO_LINGER)` into a whole `struct linger`: its `l_linger`
    /// (a plain `Get` reads `l_onoff` into an int).
    GetLingerTime,
}

impl Step {
    fn arg(self) -> String {
        match self {
            Step::Tcp => "tcp".into(),
            Step::Udp => "udp".into(),
            Step::Listen => "listen".into(),
            Step::Pair => "pair".into(),
            Step::PeerSend(n) => format!("peer_send:{n}"),
            Step::Send(n) => format!("send:{n}"),
            Step::Recv(n, f) => format!("recv:{n}:{f}"),
            Step::Poll => "poll".into(),
            Step::PeerIoctl(r) => format!("peer_ioctl:{r}"),
            Step::Sleep(n) => format!("sleep:{n}"),
            Step::Set(l, o, v) => format!("set:{l}:{o}:{v}"),
            Step::Get(l, o) => format!("get:{l}:{o}"),
            Step::Ioctl(r) => format!("ioctl:{r}"),
            Step::SetLinger(on, secs) => format!("set_linger:{on}:{secs}"),
            Step::GetLingerTime => "get_linger_time".into(),
        }
    }
}

/// The C program that runs a script on the real kernel; built once per
/// target directory.
fn probe() -> &'static PathBuf {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| build_c_probe("sockopt_probe", PROBE_C))
}

const PROBE_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void result(int r) {
    if (r < 0) printf("E%d\n", errno); else printf("%d\n", r);
}

int main(int argc, char **argv) {
    int fd = -1, peer = -1;
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 1; i < argc; i++) {
        char *s = argv[i];
        int x, y, z;
        if (!strcmp(s, "tcp")) { fd = socket(AF_INET, SOCK_STREAM, 0); result(fd < 0 ? -1 : 0); }
        else if (!strcmp(s, "udp")) { fd = socket(AF_INET, SOCK_DGRAM, 0); result(fd < 0 ? -1 : 0); }
        else if (!strcmp(s, "listen")) {
            a.sin_port = 0;
            int r = bind(fd, (struct sockaddr *)&a, sizeof a);
            if (r == 0) r = listen(fd, 8);
            result(r);
        } else if (!strcmp(s, "pair")) {
            int l = socket(AF_INET, SOCK_STREAM, 0);
            socklen_t len = sizeof a;
            a.sin_port = 0;
            bind(l, (struct sockaddr *)&a, sizeof a);
            listen(l, 8);
            getsockname(l, (struct sockaddr *)&a, &len);
            peer = socket(AF_INET, SOCK_STREAM, 0);
            int r = connect(peer, (struct sockaddr *)&a, sizeof a);
            fd = accept(l, 0, 0);
            close(l);
            result(r < 0 || fd < 0 ? -1 : 0);
        } else if (sscanf(s, "peer_send:%d", &x) == 1) {
            char buf[65536];
            memset(buf, 'x', sizeof buf);
            int r = send(peer, buf, x, 0);
            usleep(50000);
            result(r);
        } else if (sscanf(s, "send:%d", &x) == 1) {
            char buf[65536];
            memset(buf, 'y', sizeof buf);
            int r = send(fd, buf, x, 0);
            usleep(50000);
            result(r);
        } else if (sscanf(s, "recv:%d:%d", &x, &y) == 2) {
            char buf[65536];
            result(recv(fd, buf, x, y));
        } else if (!strcmp(s, "poll")) {
            struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
            int r = poll(&p, 1, 0);
            result(r < 0 ? r : p.revents);
        } else if (sscanf(s, "peer_ioctl:%d", &x) == 1) {
            int v = 0;
            int r = ioctl(peer, (unsigned long)x, &v);
            result(r < 0 ? r : v);
        } else if (sscanf(s, "sleep:%d", &x) == 1) {
            usleep(x * 1000);
            result(0);
        } else if (sscanf(s, "set:%d:%d:%d", &x, &y, &z) == 3) {
            result(setsockopt(fd, x, y, &z, sizeof z));
        } else if (sscanf(s, "get:%d:%d", &x, &y) == 2) {
            int v = 0; socklen_t len = sizeof v;
            int r = getsockopt(fd, x, y, &v, &len);
            result(r < 0 ? r : v);
        } else if (sscanf(s, "set_linger:%d:%d", &x, &y) == 2) {
            struct linger l = { .l_onoff = x, .l_linger = y };
            result(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
        } else if (!strcmp(s, "get_linger_time")) {
            struct linger l = { 0 }; socklen_t len = sizeof l;
            int r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
            result(r < 0 ? r : l.l_linger);
        } else if (sscanf(s, "ioctl:%d", &x) == 1) {
            int v = 0;
            int r = ioctl(fd, (unsigned long)x, &v);
            result(r < 0 ? r : v);
        } else { printf("bad step %s\n", s); return 2; }
    }
    return 0;
}
"#;

fn line(r: R<i32>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => e.to_string(),
    }
}

fn run_real(script: &[Step]) -> Vec<String> {
    let out = Command::new(probe())
        .args(script.iter().map(|s| s.arg()))
        .output()
        .expect("the probe runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .zip(script)
        .map(|(l, s)| {
            let v = match l.strip_prefix('E') {
                Some(e) => Err(errno_name(e.parse().ok())),
                None => Ok(l.parse().expect("a number")),
            };
            format!("{s:?}: {}", line(v))
        })
        .collect()
}

fn run_simulated(script: &'static [Step]) -> Vec<String> {
    run_sim(move |p| async move {
        let mut fd = -1;
        let mut peer = -1;
        let mut seen = Vec::new();
        for &step in script {
            let r: R<i32> = match step {
                Step::Tcp => sim(p.socket(AF_INET, SOCK_STREAM, 0)).map(|f| {
                    fd = f;
                    0
                }),
                Step::Udp => sim(p.socket(AF_INET, SOCK_DGRAM, 0)).map(|f| {
                    fd = f;
                    0
                }),
                Step::Listen => {
                    sim(p.bind(fd, "127.0.0.1:0").and_then(|()| p.listen(fd, 8))).map(|()| 0)
                }
                Step::Pair => {
                    let l = sim_listener(&p, 0, 8)?;
                    let port = sim_port(&p, l)?;
                    peer = p.socket(AF_INET, SOCK_STREAM, 0)?;
                    let r = sim(p.connect(peer, local(port)).await);
                    fd = p.accept(l).await?.0;
                    p.close(l)?;
                    r.map(|()| 0)
                }
                Step::PeerSend(n) => {
                    let r = sim(p.send(peer, &vec![b'x'; n], 0).await);
                    p.sleep(ms(50)).await;
                    r.map(|n| n as i32)
                }
                Step::Send(n) => {
                    let r = sim(p.send(fd, &vec![b'y'; n], 0).await);
                    p.sleep(ms(50)).await;
                    r.map(|n| n as i32)
                }
                Step::Recv(n, flags) => {
                    let mut buf = vec![0; n];
                    sim(p.recv(fd, &mut buf, flags).await).map(|n| n as i32)
                }
                Step::Poll => {
                    let mut fds = [PollFd::new(fd, POLLIN | POLLOUT)];
                    let _ = p.poll(&mut fds, 0).await;
                    Ok(fds[0].revents as i32)
                }
                Step::PeerIoctl(r) => sim(p.ioctl(peer, r)),
                Step::Sleep(n) => {
                    p.sleep(ms(n)).await;
                    Ok(0)
                }
                Step::Set(l, o, v) => sim(p.setsockopt(fd, l, o, v)).map(|()| 0),
                Step::Get(l, o) => sim(p.getsockopt(fd, l, o)),
                Step::Ioctl(r) => sim(p.ioctl(fd, r)),
                Step::SetLinger(on, secs) => {
                    sim(p.set_linger(fd, (on != 0).then_some(secs as u32))).map(|()| 0)
                }
                Step::GetLingerTime => sim(p.get_linger(fd)).map(|(_, secs)| secs as i32),
            };
            seen.push(format!("{step:?}: {}", line(r)));
        }
        Ok(seen)
    })
}

#[test]
fn so_rcvlowat_is_what_a_read_and_poll_wait_for() {
    use Step::*;
    compare(
        "SO_RCVLOWAT 100 on a TCP socket: poll and a non-blocking read",
        &[
            Pair,
            Set(SOL, SO_RCVLOWAT, 100),
            PeerSend(50),
            Poll,
            Recv(200, MSG_DONTWAIT),
            PeerSend(60),
            Poll,
            PeerSend(50),
            Poll,
            Recv(200, MSG_DONTWAIT),
            Poll,
        ],
    );
}

#[test]
fn tcp_cork_holds_a_partial_segment_until_uncorked() {
    use Step::*;
    compare(
        "TCP_CORK: a small write waits, uncorking sends it",
        &[
            Pair,
            Set(TCP, TCP_CORK, 1),
            Send(100),
            PeerIoctl(SIOCINQ),
            Ioctl(SIOCOUTQ),
            Sleep(300),
            PeerIoctl(SIOCINQ),
            Set(TCP, TCP_CORK, 0),
            Sleep(50),
            PeerIoctl(SIOCINQ),
            Ioctl(SIOCOUTQ),
        ],
    );
}

/// The sysctls whose values the scripts read through an option's default.
fn stock_defaults() -> Result<(), String> {
    for (path, want) in [
        ("/proc/sys/net/ipv4/tcp_keepalive_time", "7200"),
        ("/proc/sys/net/ipv4/tcp_keepalive_intvl", "75"),
        ("/proc/sys/net/ipv4/tcp_keepalive_probes", "9"),
        ("/proc/sys/net/ipv4/ip_default_ttl", "64"),
    ] {
        let got = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        if got.trim() != want {
            return Err(format!(
                "{path} is {} here, {want} on a stock kernel",
                got.trim()
            ));
        }
    }
    Ok(())
}

fn compare(name: &str, script: &'static [Step]) {
    if let Err(why) = stock_defaults() {
        eprintln!("skipped: {why}; the expectations were taken on a stock kernel");
        return;
    }
    same(name, run_real(script), run_simulated(script));
}

const TCP: i32 = IPPROTO_TCP;
const IP: i32 = IPPROTO_IP;
const SOL: i32 = SOL_SOCKET;

#[test]
fn socket_level_options_keep_what_they_are_given() {
    use Step::*;
    compare(
        "SOL_SOCKET options on TCP and UDP sockets",
        &[
            Tcp,
            Get(SOL, SO_KEEPALIVE),
            Set(SOL, SO_KEEPALIVE, 1),
            Get(SOL, SO_KEEPALIVE),
            Get(SOL, SO_RCVLOWAT),
            Set(SOL, SO_RCVLOWAT, 100),
            Get(SOL, SO_RCVLOWAT),
            Set(SOL, SO_RCVLOWAT, 0),
            Get(SOL, SO_RCVLOWAT),
            Get(SOL, SO_PRIORITY),
            Set(SOL, SO_PRIORITY, 6),
            Get(SOL, SO_PRIORITY),
            Get(SOL, SO_ACCEPTCONN),
            Set(SOL, SO_ACCEPTCONN, 1),
            Listen,
            Get(SOL, SO_ACCEPTCONN),
            Udp,
            Get(SOL, SO_RCVLOWAT),
            Set(SOL, SO_RCVLOWAT, 50),
            Get(SOL, SO_RCVLOWAT),
            Set(SOL, SO_KEEPALIVE, 1),
            Get(SOL, SO_KEEPALIVE),
            Get(SOL, SO_ACCEPTCONN),
            Set(TCP, TCP_NODELAY, 1),
        ],
    );
}

/// `SO_LINGER` takes and gives a `struct linger`: an int is too short to
/// set it, and reads only `l_onoff`; `l_linger` keeps its value when
/// lingering is turned off; any socket keeps it.
#[test]
fn so_linger_keeps_its_struct() {
    use Step::*;
    compare(
        "SO_LINGER on TCP and UDP sockets",
        &[
            Tcp,
            Get(SOL, SO_LINGER),
            GetLingerTime,
            Set(SOL, SO_LINGER, 1),
            SetLinger(1, 7),
            Get(SOL, SO_LINGER),
            GetLingerTime,
            SetLinger(0, 0),
            Get(SOL, SO_LINGER),
            GetLingerTime,
            SetLinger(1, 0),
            GetLingerTime,
            Udp,
            SetLinger(1, 3),
            Get(SOL, SO_LINGER),
            GetLingerTime,
        ],
    );
}

#[test]
fn tcp_options_check_their_ranges() {
    use Step::*;
    compare(
        "IPPROTO_TCP options, in range and out",
        &[
            Tcp,
            Get(TCP, TCP_NODELAY),
            Set(TCP, TCP_NODELAY, 5),
            Get(TCP, TCP_NODELAY),
            Get(TCP, TCP_MAXSEG),
            Set(TCP, TCP_MAXSEG, 87),
            Set(TCP, TCP_MAXSEG, 32768),
            Set(TCP, TCP_MAXSEG, 1000),
            Get(TCP, TCP_MAXSEG),
            Set(TCP, TCP_MAXSEG, 0),
            Get(TCP, TCP_MAXSEG),
            Get(TCP, TCP_CORK),
            Set(TCP, TCP_CORK, 1),
            Get(TCP, TCP_CORK),
            Get(TCP, TCP_KEEPIDLE),
            Set(TCP, TCP_KEEPIDLE, 0),
            Set(TCP, TCP_KEEPIDLE, 32768),
            Set(TCP, TCP_KEEPIDLE, 60),
            Get(TCP, TCP_KEEPIDLE),
            Get(TCP, TCP_KEEPINTVL),
            Set(TCP, TCP_KEEPINTVL, 0),
            Set(TCP, TCP_KEEPINTVL, 10),
            Get(TCP, TCP_KEEPINTVL),
            Get(TCP, TCP_KEEPCNT),
            Set(TCP, TCP_KEEPCNT, 128),
            Set(TCP, TCP_KEEPCNT, 3),
            Get(TCP, TCP_KEEPCNT),
            Get(TCP, TCP_USER_TIMEOUT),
            Set(TCP, TCP_USER_TIMEOUT, -1),
            Set(TCP, TCP_USER_TIMEOUT, 5000),
            Get(TCP, TCP_USER_TIMEOUT),
            Get(TCP, TCP_NOTSENT_LOWAT),
            Set(TCP, TCP_NOTSENT_LOWAT, 16384),
            Get(TCP, TCP_NOTSENT_LOWAT),
            Get(TCP, TCP_QUICKACK),
            Set(TCP, TCP_QUICKACK, 0),
            Get(TCP, TCP_QUICKACK),
            Set(TCP, TCP_QUICKACK, 1),
            Get(TCP, TCP_QUICKACK),
            Set(TCP, 99, 1),
            Get(TCP, 99),
            Listen,
            Set(TCP, TCP_MAXSEG, 1000),
            Get(TCP, TCP_MAXSEG),
        ],
    );
}

#[test]
fn ip_options_check_their_ranges() {
    use Step::*;
    compare(
        "IPPROTO_IP options on TCP and UDP sockets",
        &[
            Tcp,
            Get(IP, IP_TTL),
            Set(IP, IP_TTL, 0),
            Set(IP, IP_TTL, 256),
            Set(IP, IP_TTL, 7),
            Get(IP, IP_TTL),
            Set(IP, IP_TTL, -1),
            Get(IP, IP_TTL),
            Get(IP, IP_TOS),
            Set(IP, IP_TOS, 0x13),
            Get(IP, IP_TOS),
            Get(IP, IP_RECVERR),
            Set(IP, IP_RECVERR, 1),
            Get(IP, IP_RECVERR),
            Set(IP, 999, 1),
            Get(IP, 999),
            Udp,
            Set(IP, IP_TOS, 0x13),
            Get(IP, IP_TOS),
            Set(IP, IP_TTL, 255),
            Get(IP, IP_TTL),
        ],
    );
}

#[test]
fn tcp_ioctls_count_the_queues() {
    use Step::*;
    compare(
        "SIOCINQ and SIOCOUTQ on TCP sockets",
        &[
            Tcp,
            Ioctl(SIOCINQ),
            Ioctl(SIOCOUTQ),
            Listen,
            Ioctl(SIOCINQ),
            Ioctl(SIOCOUTQ),
            Pair,
            Ioctl(SIOCINQ),
            PeerSend(5),
            Ioctl(SIOCINQ),
            PeerSend(1000),
            Ioctl(SIOCINQ),
            Ioctl(SIOCOUTQ),
            Ioctl(0x1234),
        ],
    );
}
