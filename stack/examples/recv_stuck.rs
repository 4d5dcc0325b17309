//! A connection where both ends sit in `read()`. The client sends a
//! request but forgets the newline that ends it; the server reads lines,
//! so it keeps waiting for the rest of the line, while the client waits
//! for the answer. Nothing is lost and nothing is in flight: every byte
//! sent was delivered and read. The simulation notices that no event can
//! ever wake either process and names the two waits; `ss -tnpi` on both
//! hosts shows what an operator would see on a real machine: two
//! established sockets with empty queues and no timer running.
//!
//! Run it with `cargo run -q -p stack --example recv_stuck`.
//! Knobs: --newline, --latency (cargo run -q -p stack --example recv_stuck
//! -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("recv_stuck")
        .choice(
            "newline",
            "missing",
            &["missing", "sent"],
            "whether the request ends in \"\\r\\n\"",
        )
        .int(
            "latency",
            10,
            0..=100_000,
            "one-way delay of the link, in us",
        )
        .parse();
    let request: &[u8] = if k.choice("newline") == "sent" {
        b"PING\r\n"
    } else {
        b"PING"
    };
    let latency = k.int("latency") as u64;
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(us(latency)),
    );
    sim.set_tracing(false);

    // ANCHOR: server
    sim.spawn(server, "line-server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:6379")?;
        p.listen(lfd, 128)?;
        let (fd, _) = p.accept(lfd).await?;
        let mut line = Vec::new();
        let mut buf = [0u8; 512];
        while !line.contains(&b'\n') {
            let n = p.read(fd, &mut buf).await?; // waits for the rest of the line
            if n == 0 {
                break;
            }
            line.extend_from_slice(&buf[..n]);
            if !line.contains(&b'\n') {
                p.log(format!("read {n} bytes, no newline yet: reading on"));
            }
        }
        p.write(fd, b"+PONG\r\n").await?;
        Ok(())
    });
    // ANCHOR_END: server

    // ANCHOR: client
    sim.spawn(client, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:6379").await?;
        p.write(fd, request).await?; // the bug: b"PING", no "\r\n"
        let mut buf = [0u8; 512];
        let n = p.read(fd, &mut buf).await?; // waits for the answer
        p.log(format!("answer: {n} bytes"));
        Ok(())
    });
    // ANCHOR_END: client

    let report = sim.run();
    print!("{report}");
    println!("\nclient$ ss -tnpi");
    print!("{}", sim.sh(client, "ss -tnpi"));
    println!("server$ ss -tnpi");
    print!("{}", sim.sh(server, "ss -tnpi"));
    println!("server$ head -3 /proc/net/tcp");
    for line in sim.sh(server, "cat /proc/net/tcp").lines().take(3) {
        println!("{}", line.trim_end());
    }
}
