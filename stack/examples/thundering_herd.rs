//! The thundering herd: four worker processes wait for connections on one
//! listening port, and one client connects. How many workers does the
//! kernel wake to hand out one connection?
//!
//! 1. All four sleep in `accept()` on the same listening socket (they
//!    inherited it across `fork()`): the kernel queues `accept()` sleepers
//!    as *exclusive* waiters (`inet_csk_wait_for_connect`), so one
//!    connection wakes one worker. This herd was tamed in Linux 2.2.
//! 2. Each worker has its own epoll instance watching the shared listener,
//!    as event-driven servers do: each instance hooked a non-exclusive
//!    callback onto the listener's wait queue, so the connection wakes all
//!    four. The first to run takes the connection; the other three find
//!    nothing and go back to sleep, each having cost a wakeup and a context
//!    switch. (The simulated host has one CPU, so the losers run after the
//!    winner and find the ready list empty inside `epoll_wait()`; on a
//!    multi-core machine they may also get as far as an `accept()` that
//!    fails with `EAGAIN`.)
//! 3. The same with `EPOLLEXCLUSIVE` (Linux 4.5): the callbacks are
//!    exclusive, and the wakeup stops at the first instance that has a
//!    sleeper to wake.
//! 4. `SO_REUSEPORT` (Linux 3.9): each worker has its own listening socket
//!    on the same port, and the kernel picks one socket per connection by
//!    hashing the addresses. Nobody shares a wait queue at all.
//!
//! Run it with `cargo run -q -p stack --example thundering_herd`.
//! Knobs: --workers, --connections (cargo run -q -p stack --example
//! thundering_herd -- --help)

use std::cell::Cell;
use std::rc::Rc;

use stack::prelude::*;

/// What the workers saw: connections accepted, and `accept()` calls that
/// found the queue already empty.
#[derive(Default)]
struct Tally {
    accepted: Cell<u64>,
    eagain: Cell<u64>,
}

#[derive(Clone, Copy)]
enum Style {
    BlockingAccept,
    Epoll { exclusive: bool },
    ReusePort,
}

pub fn main() {
    let k = knobs::Knobs::new("thundering_herd")
        .int(
            "workers",
            4,
            1..=32,
            "worker processes waiting for connections",
        )
        .int(
            "connections",
            1,
            1..=8,
            "connections the client makes, 1 ms apart",
        )
        .parse();
    let (workers, connections) = (k.int("workers") as usize, k.int("connections") as u64);
    let what = if connections == 1 {
        "one connection".to_string()
    } else {
        format!("{connections} connections")
    };
    let s = if workers == 1 { "" } else { "s" };
    println!("{workers} worker{s}, {what}: who wakes up?");
    println!("(callbacks: runs of ep_poll_callback on the server)\n");
    println!(
        "{:<42} {:>8} {:>9} {:>11} {:>7} {:>10}",
        "how the workers wait", "wakeups", "accepted", "in vain", "EAGAIN", "callbacks"
    );
    for (name, style) in [
        (
            "blocking accept() on a shared listener",
            Style::BlockingAccept,
        ),
        (
            "epoll_wait() per worker, shared listener",
            Style::Epoll { exclusive: false },
        ),
        (
            "the same with EPOLLEXCLUSIVE",
            Style::Epoll { exclusive: true },
        ),
        ("accept() on SO_REUSEPORT listeners", Style::ReusePort),
    ] {
        run(name, style, workers, connections);
    }
}

fn run(name: &str, style: Style, workers: usize, connections: u64) {
    let mut sim = Sim::new(1);
    let server = sim.add_host("server");
    let client = sim.add_host("client");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );
    sim.set_tracing(false);

    let tally = Rc::new(Tally::default());
    let t = tally.clone();
    sim.spawn(server, "master", move |p| async move {
        // The shared listener, inherited by every worker across fork().
        let shared = match style {
            Style::ReusePort => None,
            _ => Some(listener(&p, false)?),
        };
        for i in 0..workers {
            let t = t.clone();
            p.fork(&format!("worker-{i}"), move |w| async move {
                worker(w, style, shared, &t).await
            })?;
        }
        Ok(())
    });
    for i in 0..connections {
        sim.spawn(client, "client", move |p| async move {
            p.sleep(ms(10 + i)).await; // every worker is asleep by now
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            Ok(())
        });
    }

    let before = sim.costs(server);
    // The workers wait for ever; the picture is complete once the
    // connections have been handed out.
    sim.run_until(ms(50));
    let after = sim.costs(server);
    let wakeups = after.wakeups - before.wakeups;
    println!(
        "{name:<42} {wakeups:>8} {:>9} {:>11} {:>7} {:>10}",
        tally.accepted.get(),
        wakeups - tally.accepted.get(),
        tally.eagain.get(),
        after.epoll_callbacks - before.epoll_callbacks
    );
}

fn listener(p: &Process, reuseport: bool) -> SysResult<i32> {
    let fd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
    if reuseport {
        p.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1)?;
    }
    p.bind(fd, "0.0.0.0:8080")?;
    p.listen(fd, 128)?;
    Ok(fd)
}

// ANCHOR: worker
async fn worker(p: Process, style: Style, shared: Option<i32>, t: &Tally) -> SysResult<()> {
    match style {
        Style::BlockingAccept => {
            let lfd = shared.expect("a shared listener");
            p.fcntl(lfd, F_SETFL, 0)?; // blocking
            p.accept(lfd).await?;
            t.accepted.set(t.accepted.get() + 1);
        }
        Style::ReusePort => {
            let lfd = listener(&p, true)?;
            p.fcntl(lfd, F_SETFL, 0)?;
            p.accept(lfd).await?;
            t.accepted.set(t.accepted.get() + 1);
        }
        Style::Epoll { exclusive } => {
            let lfd = shared.expect("a shared listener");
            let ep = p.epoll_create1(0)?;
            let flags = if exclusive { EPOLLEXCLUSIVE } else { 0 };
            p.epoll_ctl(
                ep,
                EPOLL_CTL_ADD,
                lfd,
                Some(EpollEvent {
                    events: EPOLLIN | flags,
                    data: 0,
                }),
            )?;
            loop {
                p.epoll_wait(ep, 1, -1).await?;
                match p.accept(lfd).await {
                    Ok(_) => {
                        t.accepted.set(t.accepted.get() + 1);
                        return Ok(());
                    }
                    Err(Errno::EAGAIN) => t.eagain.set(t.eagain.get() + 1),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}
// ANCHOR_END: worker
