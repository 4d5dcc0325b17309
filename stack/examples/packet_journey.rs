//! One UDP datagram from `write()` on one host to `read()` on another,
//! and every layer of both kernels it crosses on the way.
//!
//! Run it with `cargo run -q -p stack --example packet_journey`.
//! Knobs: --bytes, --latency (cargo run -q -p stack --example
//! packet_journey -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("packet_journey")
        .int(
            "bytes",
            13,
            1..=1472,
            "bytes of the datagram (\"hello, kernel\" is 13)",
        )
        .int("latency", 10, 0..=1000, "one-way delay of the link, in us")
        .parse();
    let latency = k.int("latency") as u64;
    // "hello, kernel" for 13 bytes, repeated or cut for other sizes.
    let message: Vec<u8> = b"hello, kernel "
        .iter()
        .copied()
        .cycle()
        .take(k.int("bytes") as usize)
        .collect();
    let shown = String::from_utf8_lossy(&message).into_owned();
    let mut sim = Sim::new(1);
    let alice = sim.add_host("alice");
    let bob = sim.add_host("bob");
    sim.add_link(
        alice,
        "10.0.0.1/24",
        bob,
        "10.0.0.2/24",
        LinkConfig::default().latency(us(latency)),
    );

    // ANCHOR: receiver
    sim.spawn(bob, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 2048];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!(
            "read() returned {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        p.sleep(ms(4)).await;
        let n = p.read(fd, &mut buf).await?; // sleeps until the next datagram is queued
        p.log(format!(
            "read() returned {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        Ok(())
    });
    // ANCHOR_END: receiver

    // ANCHOR: sender
    sim.spawn(alice, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(fd, "10.0.0.2:9000").await?; // UDP connect: no packet, just a default peer
        p.sleep(ms(1)).await;
        p.write(fd, b"warm-up").await?; // the first packet also resolves bob's MAC (ARP)
        p.sleep(ms(9)).await;
        let n = p.write(fd, &message).await?;
        p.log(format!(
            "write() returned {n}: copied into the kernel, not yet at bob"
        ));
        Ok(())
    });
    // ANCHOR_END: sender

    let report = sim.run();
    println!();
    println!("Alice's neighbour table after the warm-up datagram (ip neigh):");
    print!("{}", sim.sh(alice, "ip neigh"));
    println!();
    println!("The journey of {shown:?}, step by step:");
    print!("{}", sim.trace_text_since(ms(5)));
    println!();
    print!("{report}");
}
