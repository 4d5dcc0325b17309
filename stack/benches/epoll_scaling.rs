//! How the cost of waiting for one ready fd grows with the number of fds
//! watched: `select()`, `poll()` and `epoll_wait()` in the simulation, and
//! `poll()` and `epoll_wait()` on this machine's kernel beside them.
//!
//! Each round one datagram arrives on one of N UDP sockets and the waiter
//! finds it. In the simulation the figure is the wall time the simulated
//! kernel spends per round (plus the simulation's fixed cost of delivering
//! the datagram); on the real kernel it is the wall time of a send, the
//! wait and the receive over loopback. epoll's figure should stay flat
//! as N grows; `select()` and `poll()` grow with N. The ratio printed for
//! each is its time at the largest N over its time at the smallest.
//!
//! Run it with `cargo bench -p stack --bench epoll_scaling`.

use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use stack::prelude::*;

mod common;

const SIZES: [usize; 4] = [100, 1_000, 10_000, 100_000];
/// Rounds to time: enough for epoll's few microseconds to be measured
/// warm, few enough that `poll()` over 100,000 fds ends in seconds.
fn rounds(wait: Wait, n: usize) -> usize {
    match wait {
        Wait::Epoll => 5_000,
        _ => (200_000 / n).clamp(20, 2_000),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Wait {
    Select,
    Poll,
    Epoll,
}

fn main() {
    println!("time per round to find 1 ready fd among N (median of 3 runs)\n");
    println!("simulation:");
    let mut table = Vec::new();
    for wait in [Wait::Select, Wait::Poll, Wait::Epoll] {
        let mut row = Vec::new();
        for n in SIZES {
            // select() cannot watch an fd at or above FD_SETSIZE.
            if wait == Wait::Select && n + 8 > FD_SETSIZE {
                row.push(None);
                continue;
            }
            row.push(Some(median3(|| sim_round_time(wait, n))));
        }
        table.push((format!("sim {wait:?}"), row));
    }
    print_table(&table);

    println!("\nthis machine's kernel (loopback UDP):");
    let limit = raise_nofile(SIZES[SIZES.len() - 1] as u64 + 100);
    let mut real = Vec::new();
    for wait in [Wait::Poll, Wait::Epoll] {
        let mut row = Vec::new();
        for n in SIZES {
            if n as u64 + 100 > limit {
                row.push(None);
                continue;
            }
            row.push(Some(median3(|| real_round_time(wait, n))));
        }
        real.push((format!("real {wait:?}"), row));
    }
    print_table(&real);
    if limit < SIZES[SIZES.len() - 1] as u64 + 100 {
        println!("(RLIMIT_NOFILE could only be raised to {limit}: larger sizes skipped)");
    }
}

fn median3(mut f: impl FnMut() -> Duration) -> Duration {
    let mut v = [f(), f(), f()];
    v.sort();
    v[1]
}

fn print_table(rows: &[(String, Vec<Option<Duration>>)]) {
    print!("{:<14}", "");
    for n in SIZES {
        print!("{:>14}", format!("N={}", common::grouped(n as u64)));
    }
    println!("{:>22}", "largest/smallest");
    for (name, row) in rows {
        print!("{name:<14}");
        for t in row {
            match t {
                Some(t) => print!("{:>14}", format!("{:.2} us", t.as_secs_f64() * 1e6)),
                None => print!("{:>14}", "-"),
            }
        }
        let got: Vec<Duration> = row.iter().flatten().copied().collect();
        if let (Some(first), Some(last)) = (got.first(), got.last()) {
            print!(
                "{:>22}",
                format!("{:.1}x", last.as_secs_f64() / first.as_secs_f64())
            );
        }
        println!();
    }
}

/// Wall time per round in the simulation: one process watches `n` bound
/// UDP sockets; another sends it a datagram each round.
fn sim_round_time(wait: Wait, n: usize) -> Duration {
    let rounds = rounds(wait, n);
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.set_tracing(false);
    let start = ms(1000);
    sim.spawn(h, "waiter", move |p| async move {
        p.set_nofile_limit(n as u32 + 64);
        let mut fds = Vec::with_capacity(n);
        for _ in 0..n {
            fds.push(p.socket(AF_INET, SOCK_DGRAM, 0)?);
        }
        let active = fds[n - 1];
        p.bind(active, "127.0.0.1:9000")?;
        let ep = p.epoll_create1(0)?;
        if wait == Wait::Epoll {
            for &fd in &fds {
                p.epoll_ctl(
                    ep,
                    EPOLL_CTL_ADD,
                    fd,
                    Some(EpollEvent {
                        events: EPOLLIN,
                        data: fd as u64,
                    }),
                )?;
            }
        }
        let mut pfds: Vec<PollFd> = fds.iter().map(|&fd| PollFd::new(fd, POLLIN)).collect();
        let mut all = FdSet::new();
        if wait == Wait::Select {
            for &fd in &fds {
                all.set(fd)?;
            }
        }
        let mut buf = [0u8; 16];
        for _ in 0..rounds {
            let ready = match wait {
                Wait::Epoll => p.epoll_wait(ep, 8, -1).await?[0].data as i32,
                Wait::Poll => {
                    p.poll(&mut pfds, -1).await?;
                    pfds.iter().find(|f| f.revents != 0).map_or(-1, |f| f.fd)
                }
                Wait::Select => {
                    let mut r = all.clone();
                    p.select(active + 1, Some(&mut r), None, None, None).await?;
                    r.fds()[0]
                }
            };
            p.recv(ready, &mut buf, 0).await?;
        }
        // Closing n fds at exit is not what is measured either.
        p.sleep(secs(3600)).await;
        Ok(())
    });
    sim.spawn(h, "sender", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(start).await;
        for _ in 0..rounds {
            p.sendto(fd, b"ping", 0, "127.0.0.1:9000").await?;
            p.sleep(ms(1)).await;
        }
        Ok(())
    });
    // Setting up n sockets is not what is measured.
    sim.run_until(start - ms(1));
    let t = Instant::now();
    let report = sim.run_until(start + ms(rounds as u64 + 1));
    let elapsed = t.elapsed();
    assert_eq!(report.exit_of("sender"), Some(&Exit::Ok), "{report}");
    elapsed / rounds as u32
}

/// Raises `RLIMIT_NOFILE` towards `want` (root may raise the hard limit);
/// returns the soft limit in force.
fn raise_nofile(want: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if setrlimit(Resource::RLIMIT_NOFILE, want, want).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Wall time per round on the real kernel: `n` UDP sockets on loopback,
/// one of them receiving a datagram per round.
fn real_round_time(wait: Wait, n: usize) -> Duration {
    let rounds = rounds(wait, n);
    let socks: Vec<Socket> = (0..n)
        .map(|_| Socket::new(Domain::IPV4, Type::DGRAM.nonblocking(), None).expect("socket"))
        .collect();
    let active = &socks[n - 1];
    active
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .expect("bind");
    let to = active.local_addr().expect("getsockname");
    let sender = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("socket");
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 16];
    let elapsed = match wait {
        Wait::Poll => {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            let mut pfds: Vec<PollFd> = socks
                .iter()
                .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
                .collect();
            let t = Instant::now();
            for _ in 0..rounds {
                sender.send_to(b"ping", &to).expect("send");
                poll(&mut pfds, PollTimeout::NONE).expect("poll");
                active.recv(&mut buf).expect("recv");
            }
            t.elapsed()
        }
        Wait::Epoll | Wait::Select => {
            use nix::sys::epoll::{
                Epoll, EpollCreateFlags, EpollEvent as Ev, EpollFlags, EpollTimeout,
            };
            let ep = Epoll::new(EpollCreateFlags::empty()).expect("epoll_create1");
            for s in &socks {
                ep.add(
                    s.as_fd(),
                    Ev::new(EpollFlags::EPOLLIN, s.as_raw_fd() as u64),
                )
                .expect("epoll_ctl");
            }
            let mut evs = [Ev::empty(); 8];
            let t = Instant::now();
            for _ in 0..rounds {
                sender.send_to(b"ping", &to).expect("send");
                ep.wait(&mut evs, EpollTimeout::NONE).expect("epoll_wait");
                active.recv(&mut buf).expect("recv");
            }
            t.elapsed()
        }
    };
    elapsed / rounds as u32
}
