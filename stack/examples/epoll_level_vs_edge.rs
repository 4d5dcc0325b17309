//! Level-triggered versus edge-triggered epoll, and the stall every
//! edge-triggered server must avoid.
//!
//! A client sends a 3000-byte request over loopback (it arrives as one
//! segment) and waits for the reply. The server watches the connection with
//! epoll and, on each event, reads at most 1000 bytes: a common way to
//! share a thread fairly among connections.
//!
//! - Level-triggered (the default): after each report the item goes back
//!   on the ready list, and the next `epoll_wait()` polls the socket again;
//!   while bytes remain it says `EPOLLIN` again. Three events, three reads.
//! - Edge-triggered (`EPOLLET`), same loop: the socket's wakeup (the edge)
//!   happened once, when the segment arrived. After the first read 2000
//!   bytes are still queued but nothing new arrives, so nothing wakes the
//!   item again: the server sleeps in `epoll_wait()` while the client sleeps
//!   in `read()` waiting for the reply. The simulation reports it as a
//!   deadlock, and `ss` shows the unread bytes in Recv-Q.
//! - Edge-triggered, done right: on each event, read until `EAGAIN`.
//!
//! Run it with `cargo run -q -p stack --example epoll_level_vs_edge`.
//! Knobs: --request, --chunk (cargo run -q -p stack --example
//! epoll_level_vs_edge -- --help)

use std::cell::Cell;
use std::rc::Rc;

use stack::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Level,
    EdgeOneRead,
    EdgeDrain,
}

pub fn main() {
    let k = knobs::Knobs::new("epoll_level_vs_edge")
        .int(
            "request",
            3000,
            100..=20_000,
            "bytes the client sends, in one write()",
        )
        .int(
            "chunk",
            1000,
            100..=10_000,
            "bytes the server reads per read()",
        )
        .parse();
    let (request, chunk) = (k.int("request") as usize, k.int("chunk") as usize);
    for (title, mode) in [
        (
            format!("level-triggered, one read of {chunk} bytes per event"),
            Mode::Level,
        ),
        (
            "edge-triggered (EPOLLET), one read per event".to_string(),
            Mode::EdgeOneRead,
        ),
        (
            "edge-triggered, read until EAGAIN".to_string(),
            Mode::EdgeDrain,
        ),
    ] {
        println!("== {title} ==\n");
        run(mode, request, chunk);
        println!();
    }
}

fn run(mode: Mode, request: usize, chunk: usize) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.set_tracing(false);
    let waits = Rc::new(Cell::new(0u32));
    let w = waits.clone();
    sim.spawn(h, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "127.0.0.1:8080")?;
        p.listen(lfd, 8)?;
        let (fd, _) = p.accept4(lfd, SOCK_NONBLOCK).await?;
        let ep = p.epoll_create1(0)?;
        let et = if mode == Mode::Level { 0 } else { EPOLLET };
        p.epoll_ctl(
            ep,
            EPOLL_CTL_ADD,
            fd,
            Some(EpollEvent {
                events: EPOLLIN | et,
                data: fd as u64,
            }),
        )?;
        // ANCHOR: loop
        let mut got = 0;
        while got < request {
            let events = p.epoll_wait(ep, 8, -1).await?;
            w.set(w.get() + 1);
            p.log(format!(
                "epoll_wait -> {}",
                epoll_events_name(events[0].events)
            ));
            let mut buf = vec![0u8; chunk];
            loop {
                match p.read(fd, &mut buf).await {
                    Ok(n) => {
                        got += n;
                        p.log(format!("read -> {n} bytes ({got} of {request})"));
                    }
                    Err(Errno::EAGAIN) => {
                        p.log("read -> EAGAIN: drained");
                        break;
                    }
                    Err(e) => return Err(e),
                }
                if mode != Mode::EdgeDrain {
                    break;
                }
            }
        }
        // ANCHOR_END: loop
        p.write(fd, b"ok").await?;
        Ok(())
    });
    sim.spawn(h, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:8080").await?;
        p.write(fd, &vec![b'x'; request]).await?;
        let mut reply = [0u8; 2];
        p.read(fd, &mut reply).await?;
        p.log("got the reply");
        Ok(())
    });
    let report = sim.run();
    println!("\nepoll_wait calls that returned: {}", waits.get());
    if report.deadlock.is_some() {
        println!("\nss -tn on the box (the server's Recv-Q holds the unread bytes):");
        print!("{}", sim.sh(h, "ss -tn"));
    }
    print!("\n{report}");
}
