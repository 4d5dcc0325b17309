//! What a network namespace isolates, seen from the sockets in it.
//!
//! 1. A **fresh namespace** (`ip netns add ctr1`) has one device, `lo`,
//!    down and without an address: a TCP `connect()` or a UDP `sendto()`
//!    to 127.0.0.1 fails with `ENETUNREACH` (there is no route). Once the
//!    runtime brings `lo` up, 127.0.0.1/8 and ::1 appear and the same
//!    calls work.
//! 2. **Per-namespace port tables**: a server on the host and one in
//!    `ctr1` both bind 0.0.0.0:8080 without `EADDRINUSE` (a second bind in
//!    the same namespace still fails), a client on each side's 127.0.0.1
//!    reaches its own namespace's server, and each namespace's `ss` lists
//!    only its own sockets.
//! 3. **Per-namespace sysctls**: the host's `net.core.somaxconn` is lowered
//!    to 128; the namespace made afterwards still has the default 4096, so
//!    the same `listen(fd, 4096)` gives two different backlogs (the
//!    `Send-Q` of a listener in `ss -ltn`). The global `rmem_max` is
//!    read-only in the namespace, and `netdev_max_backlog` does not exist
//!    there.
//!
//! Run it with `cargo run -q -p stack --example netns_isolation`.
//! Knobs: --somaxconn, --backlog (cargo run -q -p stack --example
//! netns_isolation -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("netns_isolation")
        .int(
            "somaxconn",
            128,
            1..=8192,
            "part 3: the host's net.core.somaxconn",
        )
        .int(
            "backlog",
            4096,
            1..=8192,
            "part 3: the backlog both listeners ask for",
        )
        .parse();
    let somaxconn = k.int("somaxconn").to_string();
    let backlog = k.int("backlog") as i32;
    let mut sim = Sim::new(1);
    let host = sim.add_host("host");
    sim.sysctl(host, "net.core.somaxconn", &somaxconn)
        .expect("a known tunable");
    sim.ip(host, "netns add ctr1").expect("a new name");
    let ctr1 = sim.netns(host, "ctr1").expect("made above");

    println!("== 1. A fresh namespace: only lo, and it is down ==\n");
    println!("host# ip netns exec ctr1 ip addr");
    print!("{}", sim.sh(host, "ip netns exec ctr1 ip addr"));
    sim.spawn(ctr1, "probe", |p| async move {
        // ANCHOR: lo_down
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let r = p.connect(fd, "127.0.0.1:8080").await;
        p.log(format!("TCP connect(127.0.0.1:8080) -> {}", show(r)));
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let r = p.sendto(u, b"ping", 0, "127.0.0.1:8080").await;
        p.log(format!("UDP sendto(127.0.0.1:8080) -> {}", show(r)));
        // ANCHOR_END: lo_down
        Ok(())
    });
    print!("{}", sim.run());

    println!("\nhost# ip -n ctr1 link set lo up");
    sim.ip(host, "-n ctr1 link set lo up").expect("ctr1 has lo");
    println!("host# ip netns exec ctr1 ip addr");
    print!("{}", sim.sh(host, "ip netns exec ctr1 ip addr"));
    sim.spawn(ctr1, "probe", |p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let r = p.sendto(u, b"ping", 0, "127.0.0.1:8080").await;
        p.log(format!(
            "UDP sendto(127.0.0.1:8080) -> {} (nobody listens; ICMP port unreachable follows)",
            show(r)
        ));
        Ok(())
    });
    print!("{}", sim.run());

    println!("\n== 2. The same port in two namespaces ==\n");
    // ANCHOR: same_port
    let host_ns = sim.init_net(host);
    for (at, who) in [(host_ns, "host"), (ctr1, "ctr1")] {
        let name = format!("{who}-web");
        sim.spawn(at, &name, move |p| async move {
            let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(lfd, "0.0.0.0:8080")?;
            p.listen(lfd, 16)?;
            p.log("bound 0.0.0.0:8080 and listening");
            let again = p.socket(AF_INET, SOCK_STREAM, 0)?;
            let r = p.bind(again, "0.0.0.0:8080");
            p.log(format!("a second bind(0.0.0.0:8080) here -> {}", show(r)));
            let (fd, peer) = p.accept(lfd).await?;
            p.write(fd, format!("hello from {who}").as_bytes()).await?;
            p.log(format!("served {peer}"));
            p.sleep(ms(10)).await;
            Ok(())
        });
        let name = format!("{who}-curl");
        sim.spawn(at, &name, move |p| async move {
            p.sleep(ms(1)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "127.0.0.1:8080").await?;
            let mut buf = [0u8; 64];
            let n = p.read(fd, &mut buf).await?;
            let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
            p.log(format!("127.0.0.1:8080 answered {reply:?}"));
            p.sleep(ms(5)).await;
            Ok(())
        });
    }
    // ANCHOR_END: same_port
    sim.spawn(host, "ss", |p| async move {
        p.sleep(ms(2)).await;
        println!("host# ss -tan");
        print!("{}", p.sh("ss -tan"));
        println!("host# ip netns exec ctr1 ss -tan");
        print!("{}", p.sh("ip netns exec ctr1 ss -tan"));
        Ok(())
    });
    print!("{}", sim.run());

    println!("\n== 3. Sysctls belong to the namespace ==\n");
    for (at, who) in [(host_ns, "host"), (ctr1, "ctr1")] {
        println!(
            "{who}# sysctl net.core.somaxconn\n{}",
            sim.sh(at, "sysctl net.core.somaxconn").trim_end()
        );
    }
    for (at, who) in [(host_ns, "host"), (ctr1, "ctr1")] {
        sim.spawn(at, &format!("{who}-listen"), move |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(fd, "0.0.0.0:9000")?;
            p.listen(fd, backlog)?;
            println!("{who}# ss -ltn sport = :9000   (after listen(fd, {backlog}))");
            let ss = p.sh("ss -ltn");
            for line in ss
                .lines()
                .filter(|l| l.starts_with("State") || l.contains(":9000"))
            {
                println!("{line}");
            }
            Ok(())
        });
    }
    print!("{}", sim.run());
    for (name, value) in [
        ("net.core.rmem_max", "1000000"),
        ("net.core.netdev_max_backlog", "2000"),
    ] {
        let r = sim.sysctl(ctr1, name, value);
        println!("ctr1# sysctl -w {name}={value} -> {}", show(r));
    }
}

/// A syscall's result as a short line: `0`, a count, or the errno's name.
fn show<T: std::fmt::Debug>(r: Result<T, Errno>) -> String {
    match r {
        Ok(v) => match format!("{v:?}") {
            unit if unit == "()" => "0".to_string(),
            n => n,
        },
        Err(e) => e.name().to_string(),
    }
}
