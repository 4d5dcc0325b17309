//! `close()` with unread data is an abort. The client sends a 100-byte
//! request; the server reads only the first 10 bytes and closes. Because
//! bytes it never read are still queued, the kernel does not send a FIN
//! (an orderly end of stream) but a RST, and throws the connection away.
//! The client learns it on its next call: `read()` fails with
//! `ECONNRESET`, the next `read()` returns 0, and a write fails with
//! `EPIPE` (and a `SIGPIPE` that would kill the process, unless it passes
//! `MSG_NOSIGNAL` as here or ignores the signal).
//!
//! Run it with `cargo run -q -p stack --example rst_on_unread_close`.
//! Knobs: --request, --read (cargo run -q -p stack --example
//! rst_on_unread_close -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("rst_on_unread_close")
        .int("request", 100, 1..=10_000, "bytes of the client's request")
        .int(
            "read",
            10,
            1..=10_000,
            "bytes the server reads before close(), at most",
        )
        .parse();
    let (request, read) = (k.int("request") as usize, k.int("read") as usize);
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default(),
    );

    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        // ANCHOR: server
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(ms(1)).await; // the whole request has arrived by now
        let mut buf = vec![0u8; read];
        let n = p.read(fd, &mut buf).await?;
        let unread = request - n;
        p.log(format!(
            "read() -> {n} of {request} bytes; close() with {unread} unread"
        ));
        p.close(fd)?;
        // ANCHOR_END: server
        println!("\nserver$ nstat | grep -E 'Abort|Rst'");
        for line in p.sh("nstat").lines() {
            if line.contains("Abort") || line.contains("Rst") {
                println!("{line}");
            }
        }
        println!();
        Ok(())
    });

    sim.spawn(client, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        let n = p.write(fd, &vec![b'r'; request]).await?;
        p.log(format!("write() -> {n}"));
        // ANCHOR: client
        p.sleep(ms(5)).await;
        let mut buf = [0u8; 100];
        for _ in 0..2 {
            match p.read(fd, &mut buf).await {
                Ok(n) => p.log(format!("read() -> {n}")),
                Err(e) => p.log(format!("read() -> {e}")),
            }
        }
        match p.send(fd, b"more", MSG_NOSIGNAL).await {
            Ok(n) => p.log(format!("send() -> {n}")),
            Err(e) => p.log(format!("send() -> {e}")),
        }
        // ANCHOR_END: client
        p.close(fd)?;
        Ok(())
    });

    let report = sim.run();
    for line in sim.trace_text().lines().filter(|l| {
        l.contains(" tcp ")
            && (l.contains("Flags [R")
                || l.contains("Flags [F")
                || l.contains("RST")
                || l.contains("tcp_close"))
    }) {
        println!("{line}");
    }
    println!();
    print!("{report}");
}
