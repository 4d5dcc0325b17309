//! A fast sender, a slow reader and a small receive buffer: UDP drops what
//! does not fit, counts it, and never hands the reader half a datagram.
//!
//! Run it with `cargo run -q -p stack --example udp_rcvbuf_drops`.
//! Knobs: --datagrams, --size, --rcvbuf, --read-every (cargo run -q -p
//! stack --example udp_rcvbuf_drops -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("udp_rcvbuf_drops")
        .int("datagrams", 40, 1..=200, "datagrams in the sender's burst")
        .int("size", 200, 4..=1472, "bytes per datagram")
        .int("rcvbuf", 4096, 1024..=131_072, "reader's SO_RCVBUF, bytes")
        .int("read-every", 1, 0..=100, "reader's pause after a read, ms")
        .parse();
    let datagrams = k.int("datagrams") as u32;
    let size = k.int("size") as usize;
    let rcvbuf = k.int("rcvbuf") as i32;
    let read_every = k.int("read-every") as u64;
    let mut sim = Sim::new(1);
    let sender = sim.add_host("sender");
    let reader = sim.add_host("reader");
    sim.add_link(
        sender,
        "10.0.0.1/24",
        reader,
        "10.0.0.2/24",
        LinkConfig::default(),
    );

    sim.spawn(reader, "slow-reader", move |p| async move {
        // ANCHOR: rcvbuf
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf)?;
        p.log(format!(
            "SO_RCVBUF {rcvbuf} requested, getsockopt says {} (doubled for bookkeeping)",
            p.getsockopt(fd, SOL_SOCKET, SO_RCVBUF)?
        ));
        p.bind(fd, "0.0.0.0:5000")?;
        // ANCHOR_END: rcvbuf
        p.sleep(ms(2)).await; // busy elsewhere while the burst arrives
        println!("\nWhile the reader was busy (ss -uan):");
        print!("{}", p.sh("ss -uan"));
        let mut buf = [0u8; 2048];
        let mut read = 0;
        loop {
            match p.recv(fd, &mut buf, MSG_DONTWAIT).await {
                Ok(n) => {
                    // Each datagram is whole: its own sequence number, `size` bytes.
                    let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                    assert_eq!(n, size);
                    assert!(buf[4..n].iter().all(|&b| b == seq as u8));
                    p.log(format!("read datagram #{seq} ({n} bytes, intact)"));
                    read += 1;
                    p.sleep(ms(read_every)).await; // a slow reader
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(e),
            }
        }
        println!("\nAfter reading everything (cat /proc/net/udp; the last column is drops):");
        print!("{}", p.sh("cat /proc/net/udp"));
        println!("\nThe reader's counters (nstat):");
        print!("{}", p.sh("nstat"));
        println!(
            "\nsent {datagrams}, read {read}: {} dropped at the socket",
            datagrams - read
        );
        Ok(())
    });

    sim.spawn(sender, "fast-sender", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(1)).await;
        for seq in 0..datagrams {
            let mut msg = vec![seq as u8; size];
            msg[..4].copy_from_slice(&seq.to_be_bytes());
            p.sendto(fd, &msg, 0, "10.0.0.2:5000").await?;
        }
        p.log(format!(
            "sent {datagrams} datagrams of {size} bytes; every sendto() succeeded"
        ));
        Ok(())
    });

    sim.set_tracing(false);
    let report = sim.run();
    println!();
    print!("{report}");
}
