//! Which socket gets an arriving segment? The server has two addresses,
//! 10.1.2.3 (towards host a) and 192.168.3.2 (towards host b), and two
//! listeners on port 23: one bound to 10.1.2.3:23, one to the wildcard
//! 0.0.0.0:23. The kernel looks for the most specific match:
//!
//! 1. a connected socket whose whole 4-tuple (local and remote address
//!    and port) matches: the connection the segment belongs to;
//! 2. otherwise a listener bound to the exact local address and port;
//! 3. otherwise a listener bound to the wildcard address and the port;
//! 4. otherwise nobody: the answer is a RST.
//!
//! What counts is the destination address, not the interface a packet
//! came in on: host a reaches 192.168.3.2 through eth0, and the wildcard
//! listener takes it. Linux lets a specific and a wildcard listener share
//! a port only with `SO_REUSEPORT` on both; without it the second `bind()`
//! fails with `EADDRINUSE`.
//!
//! Run it with `cargo run -q -p stack --example demux_wildcards`.
//! Knobs: --wildcard, --reuseport (cargo run -q -p stack --example
//! demux_wildcards -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("demux_wildcards")
        .choice(
            "wildcard",
            "on",
            &["on", "off"],
            "whether the 0.0.0.0:23 listener runs",
        )
        .choice(
            "reuseport",
            "on",
            &["on", "off"],
            "SO_REUSEPORT on the two listeners",
        )
        .parse();
    let wildcard = k.choice("wildcard") == "on";
    let reuseport = i32::from(k.choice("reuseport") == "on");
    let mut sim = Sim::new(1);
    let server = sim.add_host("server");
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(
        a,
        "10.1.2.1/24",
        server,
        "10.1.2.3/24",
        LinkConfig::default(),
    );
    sim.add_link(
        b,
        "192.168.3.1/24",
        server,
        "192.168.3.2/24",
        LinkConfig::default(),
    );
    sim.add_route(a, "192.168.3.0/24", "10.1.2.3")
        .expect("via a neighbour");
    sim.set_tracing(false);

    sim.spawn(server, "specific", move |p| async move {
        let lfd = listener(&p, "10.1.2.3:23", reuseport)?;
        let (fd, peer) = p.accept(lfd).await?;
        p.log(format!("accept() -> {} <- {peer}", p.getsockname(fd)?));
        let mut buf = [0u8; 100];
        let n = p.read(fd, &mut buf).await?; // the established connection
        let data = String::from_utf8_lossy(&buf[..n]);
        p.log(format!("read() on fd {fd} (4-tuple match) -> {data:?}"));
        p.sleep(ms(200)).await;
        Ok(())
    });

    if wildcard {
        sim.spawn(server, "wildcard", move |p| async move {
            let lfd = listener(&p, "0.0.0.0:23", reuseport)?;
            for _ in 0..3 {
                let (fd, peer) = p.accept(lfd).await?;
                p.log(format!("accept() -> {} <- {peer}", p.getsockname(fd)?));
            }
            p.sleep(ms(200)).await;
            Ok(())
        });
    }

    // ANCHOR: latecomer
    sim.spawn(server, "latecomer", |p| async move {
        p.sleep(ms(1)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if let Err(e) = p.bind(fd, "10.1.2.3:23") {
            p.log(format!("bind(10.1.2.3:23) without SO_REUSEPORT -> {e}"));
        }
        Ok(())
    });
    // ANCHOR_END: latecomer

    // Each connection, and the address it asks for.
    for (host, name, at, dst) in [
        (a, "telnet-a1", 10, "10.1.2.3:23"),
        (b, "telnet-b", 20, "192.168.3.2:23"),
        (a, "telnet-a2", 30, "192.168.3.2:23"),
        (server, "telnet-local", 40, "127.0.0.1:23"),
    ] {
        sim.spawn(host, name, move |p| async move {
            p.sleep(ms(at)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            if let Err(e) = p.connect(fd, dst).await {
                p.log(format!("connect({dst}) -> {e}"));
                return Ok(());
            }
            if name == "telnet-a1" {
                p.sleep(ms(40)).await;
                p.write(fd, b"hello").await?;
            }
            p.sleep(ms(200)).await;
            Ok(())
        });
    }

    sim.run_until(ms(60));
    println!("\nserver$ ss -tanp");
    print!("{}", sim.sh(server, "ss -tanp"));
    sim.run();
}

/// A listener on `addr`, sharing the port with the other one if
/// `reuseport` is 1.
fn listener(p: &Process, addr: &str, reuseport: i32) -> SysResult<i32> {
    let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, reuseport)?;
    if let Err(e) = p.bind(fd, addr) {
        p.log(format!("bind({addr}) -> {e}"));
        return Err(e);
    }
    p.listen(fd, 16)?;
    Ok(fd)
}
