//! `write()` returning is not delivery. It returns as soon as the bytes are
//! copied into the socket's send buffer; the kernel sends them later, as
//! the windows allow, and keeps them until the peer acknowledges them.
//! Here the link has 50 ms of delay each way and the reader is slow: the
//! writer's `write()` and `close()` both return at once and the writer
//! exits, while its bytes are still in its kernel (Send-Q) or in the
//! reader's (Recv-Q), unread by anyone. Even the peer's ACK only means the
//! peer's kernel has the bytes, not that the application read them.
//!
//! Run it with `cargo run -q -p stack --example send_is_not_delivery`.
//! Knobs: --bytes, --latency, --busy (cargo run -q -p stack --example
//! send_is_not_delivery -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("send_is_not_delivery")
        .int(
            "bytes",
            10_000,
            1..=14_000,
            "bytes the writer writes (at most one initial cwnd)",
        )
        .int("latency", 50, 1..=200, "one-way delay of the link, in ms")
        .int("busy", 2, 2..=60, "seconds before the reader reads")
        .parse();
    let bytes = k.int("bytes") as usize;
    let latency = ms(k.int("latency") as u64);
    let busy = k.int("busy") as u64;
    let mut sim = Sim::new(1);
    let writer = sim.add_host("writer");
    let reader = sim.add_host("reader");
    sim.add_link(
        writer,
        "10.0.0.1/24",
        reader,
        "10.0.0.2/24",
        LinkConfig::default().latency(latency),
    );
    sim.set_tracing(false);

    sim.spawn(reader, "reader", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:7000")?;
        p.listen(lfd, 8)?;
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(secs(busy)).await; // busy with something else
        let mut buf = vec![0u8; 65536];
        let mut total = 0;
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        p.log(format!("read {total} bytes in all, then end of stream"));
        Ok(())
    });

    // ANCHOR: writer
    sim.spawn(writer, "writer", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        p.log("connect() returned 0");
        p.sleep(secs(1) - p.now()).await; // start on a round number: t=1s
        let n = p.write(fd, &vec![b'x'; bytes]).await?;
        p.log(format!("write() -> {n}: all {bytes} bytes \"sent\""));
        p.close(fd)?;
        p.log("close() -> 0; exiting");
        Ok(())
    });
    // ANCHOR_END: writer

    // write() and close() are called at t=1s.
    for (t, what) in [
        (ms(1001), "just after write() and close() returned"),
        (
            ms(1001) + latency,
            "one-way delay later: bytes and FIN are there",
        ),
        (
            ms(1001) + 2 * latency + latency.max(ms(50)),
            "a round trip and a delayed ACK later: all acknowledged, still unread",
        ),
    ] {
        sim.run_until(t);
        println!("\n-- t={:.3}s: {what}", t as f64 / 1e9);
        println!("writer$ ss -tan");
        print!("{}", sim.sh(writer, "ss -tan"));
        println!("reader$ ss -tan");
        print!("{}", sim.sh(reader, "ss -tan"));
    }
    println!();
    let report = sim.run();
    print!("{report}");
}
