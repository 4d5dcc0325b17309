//! A server that calls `listen(fd, 2)` and then does not call `accept()`.
//! The kernel finishes handshakes on its own and parks the connections in
//! the accept queue, which is full at backlog + 1 = 3. The next SYNs are
//! dropped: those clients stay in SYN-SENT and retransmit their SYN after
//! 1 s, 3 s, 7 s, ... When the server finally accepts, the queue drains and
//! the next retransmitted SYNs get in.
//!
//! Parts 2 and 3 let two clients connect at the same instant into a queue
//! with one free slot: both SYNs find room, but the second final ACK finds
//! the queue full. That client's `connect()` has already returned 0. By
//! default (part 2) the kernel drops the ACK and keeps the request: the
//! SYN-ACK is resent after 1 s, and the client gets in once the server has
//! accepted. With `net.ipv4.tcp_abort_on_overflow = 1` (part 3) the ACK is
//! answered with a reset instead, and the client learns on its first
//! `read()` that the connection it thought it had never existed.
//!
//! Run it with `cargo run -q -p stack --example accept_queue_overflow`.

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("accept_queue_overflow")
        .int(
            "backlog",
            2,
            0..=64,
            "part 1: the server's listen() backlog",
        )
        .int(
            "clients",
            6,
            1..=40,
            "part 1: clients that connect, 10 ms apart",
        )
        .int(
            "accept-after",
            5,
            1..=60,
            "part 1: seconds before the server's first accept()",
        )
        .parse();
    let part1_knobs = (
        k.int("backlog") as i32,
        k.int("clients") as u64,
        k.int("accept-after") as u64,
    );
    let (backlog, clients, accept_after) = part1_knobs;
    println!(
        "== Part 1: listen(fd, {backlog}), {clients} clients, nobody calls accept() for {accept_after} s ==\n"
    );
    part1(part1_knobs);
    println!("\n== Part 2: a burst into a nearly full queue, tcp_abort_on_overflow = 0 ==\n");
    part2("0");
    println!("\n== Part 3: the same with tcp_abort_on_overflow = 1 ==\n");
    part2("1");
}

fn world() -> (Sim, HostId, HostId) {
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );
    sim.set_tracing(false);
    (sim, client, server)
}

fn part1((backlog, clients, accept_after): (i32, u64, u64)) {
    let (mut sim, client, server) = world();

    sim.spawn(server, "server", |p| async move {
        // ANCHOR: server
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, backlog)?;
        p.sleep(secs(accept_after)).await; // busy: no accept() yet
        // ANCHOR_END: server
        println!("\nserver at t={accept_after}s, before its first accept() (ss -tan):");
        print!("{}", p.sh("ss -tan"));
        println!("\nserver's counters (nstat | grep Listen):");
        print!("{}", grep(&p.sh("nstat"), &["Listen"]));
        println!();
        for _ in 0..clients {
            let (fd, peer) = p.accept(lfd).await?;
            p.log(format!("accept() -> fd {fd}, peer {peer}"));
            p.write(fd, b"welcome\n").await?;
        }
        Ok(())
    });

    for i in 1..=clients {
        sim.spawn(client, &format!("client-{i}"), move |p| async move {
            p.sleep(ms(10 * i)).await; // one after the other, 10 ms apart
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            p.log("connect() returned 0");
            let mut buf = [0u8; 100];
            p.read(fd, &mut buf).await?; // the server's welcome, once accepted
            Ok(())
        });
    }

    sim.run_until(ms(500));
    println!("\nclient at t=0.5s (ss -tan):");
    print!("{}", sim.sh(client, "ss -tan"));
    let report = sim.run();
    println!();
    print!("{report}");
}

fn part2(abort_on_overflow: &str) {
    let (mut sim, client, server) = world();
    sim.sysctl(server, "net.ipv4.tcp_abort_on_overflow", abort_on_overflow)
        .expect("known sysctl");

    sim.spawn(server, "server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 2)?;
        p.sleep(secs(1)).await; // busy: no accept() yet
        loop {
            let (fd, peer) = p.accept(lfd).await?;
            p.log(format!("accept() -> fd {fd}, peer {peer}"));
            let mut buf = [0u8; 100];
            p.read(fd, &mut buf).await?; // the client's hello
            p.write(fd, b"welcome\n").await?;
        }
    });

    // Two clients take two of the three slots; then two more connect at
    // the same instant: both SYNs find room, only one final ACK does.
    for (i, at) in [(1, 10), (2, 20), (3, 30), (4, 30)] {
        sim.spawn(client, &format!("client-{i}"), move |p| async move {
            p.sleep(ms(at)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            p.log("connect() returned 0");
            p.write(fd, b"hello\n").await?;
            let mut buf = [0u8; 100];
            match p.read(fd, &mut buf).await {
                Ok(n) => p.log(format!("read() -> {n} bytes")),
                Err(e) => p.log(format!("read() -> {e}")),
            }
            Ok(())
        });
    }

    sim.run_until(secs(3));
    println!("\nserver's counters (nstat | grep -E 'Listen|Rsts'):");
    print!("{}", grep(&sim.sh(server, "nstat"), &["Listen", "Rsts"]));
}

/// The lines of a tool's output that contain one of `words`.
fn grep(text: &str, words: &[&str]) -> String {
    text.lines()
        .filter(|l| words.iter().any(|w| l.contains(w)))
        .map(|l| format!("{l}\n"))
        .collect()
}
