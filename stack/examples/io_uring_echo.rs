//! The same echo server twice: with epoll, and with io_uring.
//!
//! A client holds fifty connections to the server over loopback and sends a
//! 64-byte request on each, in one burst, then reads the fifty echoes. With epoll the server learns which
//! connections are readable and then makes the calls itself: `recv()` and
//! `send()` for every request, plus the `epoll_wait()`s. With io_uring it
//! writes fifty "receive" submissions into the submission ring and makes
//! one `io_uring_enter()`; the kernel arms each receive on its socket's
//! wait queue, performs it when the data arrives, and leaves a completion in
//! the ring. The server answers by writing fifty "send" submissions and
//! entering once more. The bytes copied are the same: io_uring saves system
//! calls (and their wakeups and mode switches), not copies.
//!
//! Run it with `cargo run -q -p stack --example io_uring_echo`.
//! Knobs: --clients, --request, --gap (cargo run -q -p stack --example
//! io_uring_echo -- --help)

use std::cell::RefCell;
use std::rc::Rc;

use stack::io_uring::{IoOp, Sqe};
use stack::prelude::*;

type Costs = stack::host::Costs;

/// The knobs: connections, bytes per request, microseconds between requests.
#[derive(Clone, Copy)]
struct Load {
    clients: usize,
    request: usize,
    gap: u64,
}

pub fn main() {
    let k = knobs::Knobs::new("io_uring_echo")
        .int("clients", 50, 1..=200, "connections, one request on each")
        .int("request", 64, 1..=4096, "bytes per request (and per echo)")
        .int(
            "gap",
            0,
            0..=10_000,
            "time between two requests of the client, in us",
        )
        .parse();
    let load = Load {
        clients: k.int("clients") as usize,
        request: k.int("request") as usize,
        gap: k.int("gap") as u64,
    };
    let Load {
        clients,
        request,
        gap,
    } = load;
    let arriving = if gap == 0 {
        "arriving together".to_string()
    } else {
        format!("arriving {gap} us apart")
    };
    let s = if clients == 1 { "" } else { "s" };
    println!("{clients} connection{s}, one {request}-byte request each, {arriving}\n");
    println!(
        "{:<10} {:>13} {:>9} {:>16} {:>15}",
        "server", "system calls", "wakeups", "copied from user", "copied to user"
    );
    for uring in [false, true] {
        let c = run(uring, load);
        println!(
            "{:<10} {:>13} {:>9} {:>16} {:>15}",
            if uring { "io_uring" } else { "epoll" },
            c.syscalls,
            c.wakeups,
            c.copied_from_user,
            c.copied_to_user
        );
    }
}

fn run(uring: bool, load: Load) -> Costs {
    let Load {
        clients,
        request,
        gap,
    } = load;
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.set_tracing(false);
    let costs = Rc::new(RefCell::new(Costs::default()));
    let out = costs.clone();
    sim.spawn(h, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "127.0.0.1:7")?;
        p.listen(lfd, 128)?;
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(p.accept(lfd).await?.0);
        }
        let served = if uring {
            serve_io_uring(&p, &conns, request).await?
        } else {
            serve_epoll(&p, &conns, request).await?
        };
        *out.borrow_mut() = served;
        Ok(())
    });
    sim.spawn(h, "client", move |p| async move {
        let mut fds = Vec::new();
        for _ in 0..clients {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "127.0.0.1:7").await?;
            fds.push(fd);
        }
        p.sleep(ms(100)).await; // the server is waiting by now
        for &fd in &fds {
            p.write(fd, &vec![b'x'; request]).await?;
            if gap > 0 {
                p.sleep(us(gap)).await;
            }
        }
        for &fd in &fds {
            let mut buf = vec![0u8; request];
            let mut got = 0;
            while got < request {
                got += p.read(fd, &mut buf[got..]).await?;
            }
        }
        Ok(())
    });
    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
    *costs.borrow()
}

/// What serving cost this process, from the first wait to the last reply.
fn since(p: &Process, before: Costs) -> Costs {
    let after = p.process_costs();
    Costs {
        syscalls: after.syscalls - before.syscalls,
        wakeups: after.wakeups - before.wakeups,
        copied_from_user: after.copied_from_user - before.copied_from_user,
        copied_to_user: after.copied_to_user - before.copied_to_user,
        ..Costs::default()
    }
}

async fn serve_epoll(p: &Process, conns: &[i32], request: usize) -> SysResult<Costs> {
    let ep = p.epoll_create1(0)?;
    for &fd in conns {
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
    let before = p.process_costs();
    let mut left = conns.len();
    while left > 0 {
        for e in p.epoll_wait(ep, 64, -1).await? {
            let fd = e.data as i32;
            let mut buf = vec![0u8; request];
            let n = p.recv(fd, &mut buf, 0).await?;
            p.send(fd, &buf[..n], 0).await?;
            left -= 1;
        }
    }
    Ok(since(p, before))
}

async fn serve_io_uring(p: &Process, conns: &[i32], request: usize) -> SysResult<Costs> {
    let ring = p.io_uring_setup(conns.len().max(64) as u32)?;
    let before = p.process_costs();
    for &fd in conns {
        p.io_uring_push(
            ring,
            Sqe {
                op: IoOp::Recv { fd, len: request },
                user_data: fd as u64,
            },
        )?;
    }
    let mut to_submit = conns.len() as u32;
    let mut sent = 0;
    while sent < conns.len() {
        p.io_uring_enter(ring, to_submit, 1).await?;
        to_submit = 0;
        while let Some(cqe) = p.io_uring_pop(ring)? {
            if cqe.data.is_empty() {
                sent += 1; // a send completed
                continue;
            }
            let fd = cqe.user_data as i32;
            p.io_uring_push(
                ring,
                Sqe {
                    op: IoOp::Send { fd, data: cqe.data },
                    user_data: u64::MAX,
                },
            )?;
            to_submit += 1;
        }
    }
    Ok(since(p, before))
}
