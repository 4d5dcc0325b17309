//! A writer blocked in `write()` because its reader stopped reading. The
//! reader accepts the connection and then is busy for 30 s (in a real
//! program: a lock, a slow disk, a full downstream queue). Its receive
//! buffer fills and it advertises a zero window; the writer's send buffer
//! fills behind it, and `write()` sleeps waiting for send-buffer space.
//!
//! At t=10 s the example looks at both hosts as an operator would: `ss
//! -tnpi` (Recv-Q full on the reader, Send-Q full on the writer,
//! `snd_wnd:0`), the writer's row of `/proc/net/tcp` (timer 4, the
//! zero-window probe, with the number of probes sent so far), `nstat`,
//! and the scheduler's note of where the writer sleeps. When the reader
//! comes back, the data flows and `write()` returns.
//!
//! Run it with `cargo run -q -p stack --example send_blocked`.
//! Knobs: --busy, --kib, --latency (cargo run -q -p stack --example
//! send_blocked -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("send_blocked")
        .int(
            "busy",
            30,
            3..=120,
            "how long the reader does not read, in s (we look at a third)",
        )
        .int(
            "kib",
            1024,
            1..=4096,
            "KiB the writer writes in one write()",
        )
        .int("latency", 1, 0..=100, "one-way delay of the link, in ms")
        .parse();
    let busy = k.int("busy") as u64;
    let total = k.int("kib") as usize * 1024;
    let look = busy / 3;
    let mut sim = Sim::new(1);
    let writer = sim.add_host("writer");
    let reader = sim.add_host("reader");
    sim.add_link(
        writer,
        "10.0.0.1/24",
        reader,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(k.int("latency") as u64)),
    );

    // ANCHOR: reader
    sim.spawn(reader, "slow-reader", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:9000")?;
        p.listen(lfd, 128)?;
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(secs(busy)).await; // busy elsewhere: nobody reads the socket
        let mut buf = vec![0u8; 65536];
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
    // ANCHOR_END: reader

    // ANCHOR: writer
    sim.spawn(writer, "writer", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:9000").await?;
        let data = vec![b'x'; total];
        let start = p.now();
        let n = p.write(fd, &data).await?; // sleeps until all is queued
        p.log(format!(
            "write() -> {n} after {:.3} s",
            (p.now() - start) as f64 / 1e9
        ));
        p.close(fd)?;
        Ok(())
    });
    // ANCHOR_END: writer

    sim.run_until(secs(look));
    println!("-- t={look}s");
    println!("writer$ ss -tnpi");
    print!("{}", sim.sh(writer, "ss -tnpi"));
    println!("reader$ ss -tnpi");
    print!("{}", sim.sh(reader, "ss -tnpi"));
    println!("writer$ head -2 /proc/net/tcp");
    for line in sim.sh(writer, "cat /proc/net/tcp").lines().take(2) {
        println!("{}", line.trim_end());
    }
    println!("writer$ nstat | grep -E 'WinProbe|RetransSegs'");
    for line in sim
        .sh(writer, "nstat")
        .lines()
        .filter(|l| l.contains("WinProbe") || l.contains("RetransSegs"))
    {
        println!("{line}");
    }
    println!("where the writer sleeps (the scheduler's trace):");
    if let Some(line) = sim
        .trace_text()
        .lines()
        .rfind(|l| l.contains("(writer) sleeps in write"))
    {
        println!("{line}");
    } else {
        println!("  (nowhere: the whole write() fit in the buffers)");
    }
    sim.set_tracing(false);
    let report = sim.run();
    println!();
    print!("{report}");
}
