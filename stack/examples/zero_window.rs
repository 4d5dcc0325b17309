//! Flow control: a reader that stops reading stops the writer. The
//! reader's receive buffer fills, the window it advertises shrinks to 0,
//! and the sender stops sending; its own send buffer then fills and
//! `write()` blocks. While the window is closed the sender probes it now
//! and then (the persist timer). When the reader reads again, it announces
//! the open window and the data flows.
//!
//! Run it with `cargo run -q -p stack --example zero_window`.
//! Knobs: --pause, --kib, --chunk (cargo run -q -p stack --example
//! zero_window -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("zero_window")
        .int("pause", 2, 1..=60, "seconds the reader does not read")
        .int("kib", 256, 192..=2048, "KiB the writer writes")
        .int("chunk", 8192, 1024..=65_536, "bytes per write()")
        .parse();
    let pause = k.int("pause") as u64;
    let total = k.int("kib") as usize * 1024;
    let chunk_len = k.int("chunk") as usize;
    let mut sim = Sim::new(1);
    let writer = sim.add_host("writer");
    let reader = sim.add_host("reader");
    sim.add_link(
        writer,
        "10.0.0.1/24",
        reader,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );

    sim.spawn(reader, "reader", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:7000")?;
        p.listen(lfd, 8)?;
        // ANCHOR: reader
        let (fd, _) = p.accept(lfd).await?;
        p.log(format!("accepted; not reading for {pause} s"));
        p.sleep(secs(pause)).await;
        // ANCHOR_END: reader
        println!("\nreader$ ss -tan   (the receive buffer is full)");
        print!("{}", p.sh("ss -tan"));
        p.log("reading again");
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        p.log(format!("read {total} bytes, then end of stream"));
        Ok(())
    });

    sim.spawn(writer, "writer", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        // ANCHOR: writer
        let chunk = vec![b'x'; chunk_len];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            let before = p.now();
            sent += p.write(fd, &chunk[..n]).await?;
            let waited = p.now() - before;
            if waited > ms(100) {
                p.log(format!(
                    "write() returned after blocking {:.3} s ({sent} bytes written so far)",
                    waited as f64 / 1e9
                ));
            }
        }
        // ANCHOR_END: writer
        p.log(format!("all {sent} bytes written"));
        p.close(fd)?;
        Ok(())
    });

    let look = ms(pause * 750); // three quarters into the pause
    sim.run_until(look);
    println!(
        "\nwriter$ ss -tanp   (at t={}s: blocked in write())",
        look as f64 / 1e9
    );
    print!("{}", sim.sh(writer, "ss -tanp"));
    let report = sim.run();

    println!("\nThe window closing and opening again (the trace, TCP layer):");
    for line in sim.trace_text().lines().filter(|l| {
        let at: f64 = l
            .split_whitespace()
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0);
        let small_window = l.contains("10.0.0.2:7000 > ") && window(l).is_some_and(|w| w <= 5);
        let event = l.contains("probe") || l.contains("window");
        let reopened = (pause * 1000 + 7) as f64 / 1e3; // just after the pause
        l.contains(" tcp ") && at <= reopened && (small_window || event)
    }) {
        println!("{line}");
    }
    println!("\nwriter$ nstat | grep Probe");
    for line in sim
        .sh(writer, "nstat")
        .lines()
        .filter(|l| l.contains("Probe"))
    {
        println!("{line}");
    }
    println!();
    print!("{report}");
}

/// The `win N` of a segment line in the trace.
fn window(line: &str) -> Option<u32> {
    let rest = &line[line.find("win ")? + 4..];
    rest.split(',').next()?.parse().ok()
}
