//! Two readers on empty sockets. The non-blocking one gets `EAGAIN` at
//! once and must come back later; the blocking one sleeps on the socket's
//! wait queue and is woken when a datagram is queued.
//!
//! Run it with `cargo run -q -p stack --example blocking_vs_nonblocking`.
//! Knobs: --send-at, --retry-after (cargo run -q -p stack --example
//! blocking_vs_nonblocking -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("blocking_vs_nonblocking")
        .int(
            "send-at",
            5,
            0..=100,
            "when the sender sends its datagrams, in ms",
        )
        .int(
            "retry-after",
            10,
            0..=100,
            "the non-blocking reader's wait before its retry, in ms",
        )
        .parse();
    let (send_at, retry_after) = (k.int("send-at") as u64, k.int("retry-after") as u64);
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");

    // ANCHOR: main
    sim.spawn(host, "nonblocking", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)?;
        p.bind(fd, "127.0.0.1:7001")?;
        let mut buf = [0u8; 100];
        match p.recv(fd, &mut buf, 0).await {
            Err(e) => p.log(format!("recv() -> {e}: nothing queued, try again later")),
            Ok(n) => p.log(format!("recv() -> {n}")),
        }
        p.sleep(ms(retry_after)).await;
        let n = p.recv(fd, &mut buf, 0).await?;
        p.log(format!("recv() {retry_after} ms later -> {n} bytes"));
        Ok(())
    });

    sim.spawn(host, "blocking", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "127.0.0.1:7002")?;
        let mut buf = [0u8; 100];
        p.log("recv() on an empty socket: going to sleep");
        let n = p.recv(fd, &mut buf, 0).await?; // parked here until the wakeup
        p.log(format!("woken: recv() -> {n} bytes"));
        Ok(())
    });
    // ANCHOR_END: main

    sim.spawn(host, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(send_at)).await;
        p.sendto(fd, b"ping", 0, "127.0.0.1:7001").await?;
        p.sendto(fd, b"ping", 0, "127.0.0.1:7002").await?;
        p.log("sent one datagram to each");
        Ok(())
    });

    let report = sim.run();
    println!("\nWhat the scheduler saw:");
    for line in sim
        .trace_text()
        .lines()
        .filter(|l| l.contains(" sched ") || l.contains(" user ") || l.contains("time(s)"))
    {
        println!("{line}");
    }
    println!();
    print!("{report}");
}
