//! Why epoll exists: the cost of finding one active connection among many
//! idle ones.
//!
//! A server holds N idle TCP connections and one active one; the client
//! sends a small request on the active one, the server waits for
//! readiness, reads it and replies, ten times over with each of
//! `select()`, `poll()` and `epoll_wait()`. The counters say what each
//! *wait* call cost the kernel:
//!
//! - fds polled: calls of a file's `->poll`. `select()` and `poll()` hand
//!   the kernel the whole list on every call, and it asks every file, once
//!   before sleeping and once again after the wakeup. epoll asked each file
//!   once, at `EPOLL_CTL_ADD`; after that the socket's own wakeup puts the
//!   item on the ready list (`ep_poll_callback`), and `epoll_wait()` polls
//!   only what is on that list.
//! - bytes copied: the fd sets or the `pollfd` array go into the kernel and
//!   back out on every call; epoll copies out only the events.
//!
//! With 10,000 connections `select()` cannot even be asked: an `fd_set`
//! holds fds 0 to 1023 (`FD_SETSIZE`).
//!
//! Run it with `cargo run -q -p stack --example select_vs_epoll`.
//! Knobs: --idle, --rounds (cargo run -q -p stack --example
//! select_vs_epoll -- --help)

use std::cell::RefCell;
use std::rc::Rc;

use stack::prelude::*;

/// One line of the table.
struct Row {
    mechanism: &'static str,
    result: Result<Costs, String>,
}

type Costs = stack::host::Costs;

pub fn main() {
    let k = knobs::Knobs::new("select_vs_epoll")
        .int(
            "idle",
            10_000,
            1..=10_000,
            "idle connections in the last table (after 10 and 1000)",
        )
        .int("rounds", 10, 1..=10, "requests served with each wait call")
        .parse();
    let rounds = k.int("rounds") as u64;
    for idle in [10, 1_000, k.int("idle") as usize] {
        println!("== {idle} idle connections and 1 active, {rounds} requests each ==\n");
        let rows = run(idle, rounds);
        println!(
            "{:<12} {:>16} {:>18} {:>19}",
            "wait call", "fds polled/call", "bytes in/call", "bytes out/call"
        );
        for row in rows.borrow().iter() {
            match &row.result {
                Ok(c) => println!(
                    "{:<12} {:>16} {:>18} {:>19}",
                    row.mechanism,
                    c.fds_polled / rounds,
                    c.copied_from_user / rounds,
                    c.copied_to_user / rounds
                ),
                Err(why) => println!("{:<12} {why}", row.mechanism),
            }
        }
        println!();
    }
}

fn run(idle: usize, rounds: u64) -> Rc<RefCell<Vec<Row>>> {
    let mut sim = Sim::new(1);
    let server = sim.add_host("server");
    let client = sim.add_host("client");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(us(50)),
    );
    sim.set_tracing(false);
    let rows = Rc::new(RefCell::new(Vec::new()));
    let out = rows.clone();
    sim.spawn(server, "server", move |p| async move {
        p.set_nofile_limit(idle as u32 + 64);
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 4096)?;
        let mut fds = Vec::new();
        for _ in 0..=idle {
            fds.push(p.accept(lfd).await?.0);
        }
        let active = *fds.last().expect("one connection at least");
        let result = with_select(&p, &fds, rounds).await;
        out.borrow_mut().push(Row {
            mechanism: "select",
            result,
        });
        let result = Ok(with_poll(&p, &fds, rounds).await?);
        out.borrow_mut().push(Row {
            mechanism: "poll",
            result,
        });
        let result = Ok(with_epoll(&p, &fds, rounds).await?);
        out.borrow_mut().push(Row {
            mechanism: "epoll_wait",
            result,
        });
        p.close(active)?;
        Ok(())
    });
    sim.spawn(client, "client", move |p| async move {
        p.set_nofile_limit(idle as u32 + 64);
        let mut active = 0;
        for _ in 0..=idle {
            active = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(active, "10.0.0.2:8080").await?;
        }
        // Requests until the server hangs up.
        let mut buf = [0u8; 64];
        loop {
            p.write(active, b"GET / HTTP/1.0\r\n\r\n").await?;
            if p.read(active, &mut buf).await? == 0 {
                return Ok(());
            }
        }
    });
    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
    rows
}

/// What one wait call cost, added to `sum`.
fn add(sum: &mut Costs, before: Costs, after: Costs) {
    sum.fds_polled += after.fds_polled - before.fds_polled;
    sum.copied_from_user += after.copied_from_user - before.copied_from_user;
    sum.copied_to_user += after.copied_to_user - before.copied_to_user;
}

/// Reads the request on `fd` and answers it.
async fn serve(p: &Process, fd: i32) -> SysResult<()> {
    let mut buf = [0u8; 64];
    p.read(fd, &mut buf).await?;
    p.write(fd, b"HTTP/1.0 200 OK\r\n\r\n").await?;
    Ok(())
}

async fn with_select(p: &Process, fds: &[i32], rounds: u64) -> Result<Costs, String> {
    let mut all = FdSet::new();
    for &fd in fds {
        if all.set(fd).is_err() {
            return Err(format!(
                "impossible: fd {fd} does not fit in an fd_set (FD_SETSIZE {FD_SETSIZE})"
            ));
        }
    }
    let nfds = fds.iter().max().map_or(0, |m| m + 1);
    let mut sum = Costs::default();
    for _ in 0..rounds {
        let mut readable = all.clone();
        let before = p.costs();
        p.select(nfds, Some(&mut readable), None, None, None)
            .await
            .map_err(|e| e.to_string())?;
        add(&mut sum, before, p.costs());
        for fd in readable.fds() {
            serve(p, fd).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(sum)
}

async fn with_poll(p: &Process, fds: &[i32], rounds: u64) -> SysResult<Costs> {
    let mut pfds: Vec<PollFd> = fds.iter().map(|&fd| PollFd::new(fd, POLLIN)).collect();
    let mut sum = Costs::default();
    for _ in 0..rounds {
        let before = p.costs();
        p.poll(&mut pfds, -1).await?;
        add(&mut sum, before, p.costs());
        let ready: Vec<i32> = pfds
            .iter()
            .filter(|f| f.revents != 0)
            .map(|f| f.fd)
            .collect();
        for fd in ready {
            serve(p, fd).await?;
        }
    }
    Ok(sum)
}

// ANCHOR: epoll
async fn with_epoll(p: &Process, fds: &[i32], rounds: u64) -> SysResult<Costs> {
    let ep = p.epoll_create1(0)?;
    for &fd in fds {
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
    let mut sum = Costs::default();
    for _ in 0..rounds {
        let before = p.costs();
        let events = p.epoll_wait(ep, 64, -1).await?;
        add(&mut sum, before, p.costs());
        for e in events {
            serve(p, e.data as i32).await?;
        }
    }
    Ok(sum)
}
// ANCHOR_END: epoll
