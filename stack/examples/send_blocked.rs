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

use stack::prelude::*;

const TOTAL: usize = 1 << 20;

fn main() {
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

    // ANCHOR: reader
    sim.spawn(reader, "slow-reader", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:9000")?;
        p.listen(lfd, 128)?;
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(secs(30)).await; // busy elsewhere: nobody reads the socket
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
    sim.spawn(writer, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:9000").await?;
        let data = vec![b'x'; TOTAL];
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

    sim.run_until(secs(10));
    println!("-- t=10s");
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
    }
    sim.set_tracing(false);
    let report = sim.run();
    println!();
    print!("{report}");
}
