//! One HTTP-like request and its response, followed through every layer of
//! both kernels: the system call, the socket, TCP, IP, the device queue,
//! the NIC and its ring, the wire, the interrupt and the softirq on the
//! other side, the receive queue, the wakeup, and the copy out; then the
//! same way back. Under the trace, what the exchange cost each host,
//! counted: system calls, bytes copied each way, DMA, interrupts, softirq
//! runs, wakeups and segments.
//!
//! The connection is opened first, and the trace starts at t = 10 ms, when
//! the client writes its request, so that only the request and the
//! response appear.
//!
//! Run it with `cargo run -q -p stack --example one_request`.
//! Knobs: --latency, --bandwidth (cargo run -q -p stack --example
//! one_request -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("one_request")
        .int("latency", 50, 0..=1000, "one-way delay of the link, in us")
        .int(
            "bandwidth",
            1000,
            1..=10_000,
            "the link's bit rate, in Mbit/s",
        )
        .parse();
    let latency = k.int("latency") as u64;
    let bandwidth = k.int("bandwidth") as u64 * 1_000_000;
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default()
            .latency(us(latency))
            .bandwidth_bps(bandwidth),
    );

    // ANCHOR: server
    sim.spawn(server, "server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        let (fd, _peer) = p.accept(lfd).await?;
        let mut req = [0u8; 512];
        let n = p.read(fd, &mut req).await?; // sleeps on the socket's wait queue
        p.log(format!("read() returned the {n}-byte request"));
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
        let n = p.write(fd, resp).await?; // copied into sk_write_queue, then sent
        p.log(format!("write() returned {n}"));
        let _ = p.read(fd, &mut req).await?; // until the client closes
        p.close(fd)?;
        Ok(())
    });
    // ANCHOR_END: server

    // ANCHOR: client
    sim.spawn(client, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?; // the handshake, before the trace starts
        p.sleep(ms(10).saturating_sub(p.now())).await;
        let req = b"GET /index.html HTTP/1.1\r\nHost: server\r\n\r\n";
        let n = p.write(fd, req).await?;
        p.log(format!(
            "write() returned {n}: the request is in the kernel"
        ));
        let mut resp = [0u8; 512];
        let n = p.read(fd, &mut resp).await?; // sleeps until the response is queued
        p.log(format!("read() returned the {n}-byte response"));
        p.sleep(ms(100)).await;
        p.close(fd)?;
        Ok(())
    });
    // ANCHOR_END: client

    // Run up to just before the request, note the counters, run the exchange.
    let _ = sim.run_until(ms(9));
    let before = [sim.costs(client), sim.costs(server)];
    let segs_before = [
        (
            sim.counter(client, Mib::TcpOutSegs),
            sim.counter(client, Mib::TcpInSegs),
        ),
        (
            sim.counter(server, Mib::TcpOutSegs),
            sim.counter(server, Mib::TcpInSegs),
        ),
    ];
    let _ = sim.run_until(ms(20));
    println!();
    println!("The request and its response, step by step (from t = 10 ms):");
    print!("{}", sim.trace_text_since(ms(10)));
    println!();
    println!("What the exchange cost each host, t = 10 ms to 20 ms:");
    println!(
        "{:<7} {:>8} {:>10} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "host",
        "syscalls",
        "from_user",
        "to_user",
        "DMA",
        "IRQs",
        "softirqs",
        "wakeups",
        "segs_out",
        "segs_in"
    );
    for (i, (host, name)) in [(client, "client"), (server, "server")]
        .into_iter()
        .enumerate()
    {
        let c = sim.costs(host).since(&before[i]);
        println!(
            "{:<7} {:>8} {:>10} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8}",
            name,
            c.syscalls,
            c.copied_from_user,
            c.copied_to_user,
            c.dma_bytes,
            c.hardirqs,
            c.softirq_runs,
            c.wakeups,
            sim.counter(host, Mib::TcpOutSegs) - segs_before[i].0,
            sim.counter(host, Mib::TcpInSegs) - segs_before[i].1,
        );
    }
    let report = sim.run();
    println!();
    print!("{report}");
}
