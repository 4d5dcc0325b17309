//! The three-way handshake, a little data each way, and the close: the
//! state of both sockets at every step, and the segments between them.
//!
//! Run it with `cargo run -q -p stack --example tcp_handshake`.
//! Knobs: --latency, --loss, --seed (cargo run -q -p stack --example
//! tcp_handshake -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("tcp_handshake")
        .int(
            "latency",
            100,
            1..=100_000,
            "one-way delay of the link, in us",
        )
        .float("loss", 0.0, 0.0..=50.0, "percent of frames the link loses")
        .int(
            "seed",
            1,
            0..=1_000_000,
            "the random seed (ports, ISNs, which frames are lost)",
        )
        .parse();
    let latency = k.int("latency") as u64;
    let loss = k.float("loss") / 100.0;
    let mut sim = Sim::new(k.int("seed") as u64);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(us(latency)).loss(loss),
    );

    sim.spawn(server, "server", |p| async move {
        // ANCHOR: server
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        let (fd, peer) = p.accept(lfd).await?; // sleeps until the handshake completes
        p.log(format!("accept() -> fd {fd}, peer {peer}"));
        let mut buf = [0u8; 100];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!(
            "read {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        p.write(fd, b"HTTP/1.0 200 OK\r\n\r\n").await?;
        let n = p.read(fd, &mut buf).await?;
        p.log(format!("read() -> {n}: the client closed its side"));
        print!("{}", p.sh("ss -tan"));
        p.close(fd)?;
        p.close(lfd)?;
        // ANCHOR_END: server
        Ok(())
    });

    sim.spawn(client, "client", |p| async move {
        // ANCHOR: client
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?; // SYN, SYN-ACK, ACK
        p.log(format!(
            "connect() returned: {} -> {}",
            p.getsockname(fd)?,
            p.getpeername(fd)?
        ));
        p.write(fd, b"GET / HTTP/1.0\r\n\r\n").await?;
        let mut buf = [0u8; 100];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!(
            "read {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        print!("{}", p.sh("ss -tni"));
        p.close(fd)?;
        p.sleep(ms(5)).await;
        print!("{}", p.sh("ss -tan"));
        // ANCHOR_END: client
        Ok(())
    });

    let report = sim.run();
    println!();
    println!("The segments between them:");
    print!("{}", sim.tcp_sequence_text(&[client, server]));
    println!();
    print!("{report}");
}
