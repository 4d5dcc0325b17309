//! One UDP datagram from `write()` on one host to `read()` on another,
//! and every layer of both kernels it crosses on the way.
//!
//! Run it with `cargo run -q -p stack --example packet_journey`.

use stack::prelude::*;

fn main() {
    let mut sim = Sim::new(1);
    let alice = sim.add_host("alice");
    let bob = sim.add_host("bob");
    sim.add_link(
        alice,
        "10.0.0.1/24",
        bob,
        "10.0.0.2/24",
        LinkConfig::default(),
    );

    sim.spawn(bob, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 2048];
        let n = p.read(fd, &mut buf).await?; // sleeps until the datagram is queued
        p.log(format!(
            "read {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        Ok(())
    });

    sim.spawn(alice, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(fd, "10.0.0.2:9000").await?;
        p.sleep(ms(1)).await; // let the server reach its read() first
        let n = p.write(fd, b"hello, kernel").await?;
        p.log(format!(
            "write returned {n}: the bytes are in the kernel, not yet at bob"
        ));
        Ok(())
    });

    let report = sim.run();
    println!();
    println!("The journey, step by step:");
    print!("{}", sim.trace_text());
    println!();
    print!("{report}");
}
