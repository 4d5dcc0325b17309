//! TCP is a byte stream: it keeps the order of the bytes, not the
//! boundaries of the writes. The sender writes 1000, 2000 and 5000 bytes
//! (marked A, B and C); the receiver reads with a 3000-byte buffer and gets
//! whatever has arrived, cut wherever the buffer or the segments cut it.
//! Read at once, the pieces follow the segments on the wire; read after a
//! pause, one `read()` returns the end of one write and the start of the
//! next. A protocol on top of TCP must mark its own message boundaries
//! (a length prefix, a delimiter).
//!
//! Run it with `cargo run -q -p stack --example byte_stream`.
//! Knobs: --pause, --buf, --mtu (cargo run -q -p stack --example
//! byte_stream -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("byte_stream")
        .int(
            "pause",
            100,
            0..=1000,
            "part 2: the reader's sleep before its first read, in ms",
        )
        .int(
            "buf",
            3000,
            100..=16384,
            "the reader's read() buffer, in bytes",
        )
        .int(
            "mtu",
            1500,
            576..=9000,
            "the link's MTU, in bytes (segments follow it)",
        )
        .parse();
    let (pause, buf, mtu) = (
        k.int("pause") as u64,
        k.int("buf") as usize,
        k.int("mtu") as u32,
    );
    println!("== The reader reads as soon as anything is there ==\n");
    run(0, buf, mtu);
    println!("\n== The reader sleeps {pause} ms before its first read ==\n");
    run(pause, buf, mtu);
}

fn run(pause_ms: u64, buf_len: usize, mtu: u32) {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(
        a,
        "10.0.0.1/24",
        b,
        "10.0.0.2/24",
        LinkConfig::default().mtu(mtu),
    );
    sim.set_tracing(false);

    sim.spawn(b, "reader", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:7000")?;
        p.listen(lfd, 8)?;
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(ms(pause_ms)).await;
        let mut buf = vec![0u8; buf_len];
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                p.log("read() -> 0: end of stream");
                break;
            }
            p.log(format!("read() -> {n:4} bytes: {}", runs(&buf[..n])));
        }
        Ok(())
    });

    sim.spawn(a, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        // ANCHOR: writer
        for (len, mark) in [(1000, b'A'), (2000, b'B'), (5000, b'C')] {
            let n = p.write(fd, &vec![mark; len]).await?;
            p.log(format!("write({len} x '{}') -> {n}", mark as char));
        }
        p.close(fd)?;
        // ANCHOR_END: writer
        Ok(())
    });

    sim.run();
}

/// `1000 x 'A' + 2000 x 'B'`: what a read returned, by the write it came from.
fn runs(bytes: &[u8]) -> String {
    let mut parts: Vec<(u8, usize)> = Vec::new();
    for &b in bytes {
        match parts.last_mut() {
            Some((m, n)) if *m == b => *n += 1,
            _ => parts.push((b, 1)),
        }
    }
    parts
        .iter()
        .map(|(m, n)| format!("{n} x '{}'", *m as char))
        .collect::<Vec<_>>()
        .join(" + ")
}
