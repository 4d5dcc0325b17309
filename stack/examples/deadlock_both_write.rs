//! Two programs that each write 200 000 bytes before reading anything.
//! TCP can hold only so much on the way: the writer's send buffer
//! (Send-Q) plus the reader's receive buffer (Recv-Q). Once both are full
//! in both directions, each `write()` waits for space that only the other
//! side's `read()` could make, and neither reads: a deadlock. The buffers
//! here are made small with `SO_SNDBUF` and `SO_RCVBUF` so that it happens
//! at once; with the default buffers the same program still deadlocks at
//! 200 000 bytes (the threshold is about 160 KB on a fresh connection),
//! and only needs megabytes once autotuning has grown the buffers.
//!
//! Linux would let both processes hang forever (the zero-window probes
//! keep the connection alive); the simulation notices that nothing can
//! change any more and reports who waits for what.
//!
//! Run it with `cargo run -q -p stack --example deadlock_both_write`.
//! Knobs: --size, --sndbuf, --rcvbuf (cargo run -q -p stack --example
//! deadlock_both_write -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("deadlock_both_write")
        .int(
            "size",
            200_000,
            1..=1_000_000,
            "bytes each side writes before reading",
        )
        .int(
            "sndbuf",
            4096,
            1024..=262_144,
            "SO_SNDBUF both sides set, in bytes",
        )
        .int(
            "rcvbuf",
            4096,
            1024..=262_144,
            "SO_RCVBUF both sides set, in bytes",
        )
        .parse();
    let size = k.int("size") as usize;
    let (sndbuf, rcvbuf) = (k.int("sndbuf") as i32, k.int("rcvbuf") as i32);
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    sim.set_tracing(false);

    sim.spawn(b, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, sndbuf)?; // the accepted socket
        p.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, rcvbuf)?; // inherits both
        p.bind(lfd, "0.0.0.0:7000")?;
        p.listen(lfd, 8)?;
        let (fd, _) = p.accept(lfd).await?;
        exchange(&p, fd, size).await
    });

    sim.spawn(a, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf)?;
        p.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        exchange(&p, fd, size).await
    });

    let report = sim.run();
    print!("{report}");
    println!("\na$ ss -tanp");
    print!("{}", sim.sh(a, "ss -tanp"));
    println!("b$ ss -tanp");
    print!("{}", sim.sh(b, "ss -tanp"));
}

// ANCHOR: exchange
/// Send everything first, then read the peer's answer: fine for small
/// messages, a deadlock for big ones.
async fn exchange(p: &Process, fd: i32, size: usize) -> SysResult<()> {
    p.log(format!(
        "SO_SNDBUF {} SO_RCVBUF {}; writing {size} bytes before reading",
        p.getsockopt(fd, SOL_SOCKET, SO_SNDBUF)?,
        p.getsockopt(fd, SOL_SOCKET, SO_RCVBUF)?
    ));
    let n = p.write(fd, &vec![b'x'; size]).await?; // never returns
    p.log(format!("write() -> {n}"));
    let mut buf = vec![0u8; size];
    p.read(fd, &mut buf).await?;
    Ok(())
}
// ANCHOR_END: exchange
