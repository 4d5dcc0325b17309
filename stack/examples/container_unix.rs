//! Sockets between containers: which names cross a namespace boundary,
//! and what each way of talking costs.
//!
//! Two containers, `ctr1` and `ctr2`, on a bridge as a runtime wires them.
//! The simulation has no mount namespaces: every namespace of a host sees
//! the host's one file system, as two containers see a directory that is
//! bind-mounted into both (`-v /run/shared:/run/shared`).
//!
//! 1. A server in `ctr1` listens on a **path**, `/run/shared/app.sock`,
//!    and on an **abstract** name, `@app`. From `ctr2`, `connect()` to the
//!    path works (the socket is found through the file's inode, whatever
//!    the namespace), and to `@app` fails with `ECONNREFUSED` (abstract
//!    names live in a per-namespace table). From inside `ctr1`, `@app`
//!    works.
//! 2. `ss -xa` in each namespace: the server side of the connection made
//!    from `ctr2` is listed in `ctr2`, not where the server runs:
//!    `unix_stream_connect()` creates it in the connecting socket's
//!    namespace.
//! 3. The same 64 KiB three ways: over the shared unix socket, over TCP on
//!    `ctr1`'s own loopback, and over TCP from `ctr2` to `ctr1` through
//!    veth, bridge and veth: what each went through.
//!
//! Run it with `cargo run -q -p stack --example container_unix`.
//! Knobs: --kib, --chunk (cargo run -q -p stack --example container_unix
//! -- --help)

use stack::prelude::*;

const RUNTIME: &[&str] = &[
    "link add br0 type bridge",
    "addr add 10.0.0.1/24 dev br0",
    "link set br0 up",
    "netns add ctr1",
    "link add veth1 type veth peer name eth0 netns ctr1",
    "link set veth1 master br0",
    "link set veth1 up",
    "-n ctr1 link set lo up",
    "-n ctr1 addr add 10.0.0.2/24 dev eth0",
    "-n ctr1 link set eth0 up",
    "netns add ctr2",
    "link add veth2 type veth peer name eth0 netns ctr2",
    "link set veth2 master br0",
    "link set veth2 up",
    "-n ctr2 link set lo up",
    "-n ctr2 addr add 10.0.0.3/24 dev eth0",
    "-n ctr2 link set eth0 up",
];

/// A host with two containers on a bridge.
fn two_containers() -> (Sim, HostId, NetNsId, NetNsId) {
    let mut sim = Sim::new(1);
    let host = sim.add_host("host");
    for cmd in RUNTIME {
        sim.ip(host, cmd).expect("a valid command");
    }
    let ctr1 = sim.netns(host, "ctr1").expect("made above");
    let ctr2 = sim.netns(host, "ctr2").expect("made above");
    (sim, host, ctr1, ctr2)
}

pub fn main() {
    let k = knobs::Knobs::new("container_unix")
        .int("kib", 64, 1..=1024, "part 3: KiB the sender sends each way")
        .int(
            "chunk",
            4096,
            512..=65_536,
            "part 3: bytes per write() of the sender",
        )
        .parse();
    let (kib, chunk) = (k.int("kib") as usize, k.int("chunk") as usize);
    println!("== 1. A path and an abstract name, seen from another container ==\n");
    let (mut sim, host, ctr1, ctr2) = two_containers();
    sim.spawn(ctr1, "server", |p| async move {
        // ANCHOR: server
        let by_path = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(by_path, "/run/shared/app.sock")?;
        p.listen(by_path, 8)?;
        let by_name = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(by_name, "@app")?;
        p.listen(by_name, 8)?;
        // ANCHOR_END: server
        let (c1, _) = p.accept(by_path).await?;
        p.log(format!("accepted fd {c1} on /run/shared/app.sock"));
        let (c2, _) = p.accept(by_name).await?;
        p.log(format!("accepted fd {c2} on @app"));
        p.sleep(ms(10)).await;
        Ok(())
    });
    // ANCHOR: clients
    for (at, who) in [(ctr2, "ctr2"), (ctr1, "ctr1")] {
        sim.spawn(at, &format!("client-{who}"), move |p| async move {
            p.sleep(ms(1)).await;
            for name in ["/run/shared/app.sock", "@app"] {
                if who == "ctr1" && name.starts_with('/') {
                    continue;
                }
                let fd = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
                match p.connect(fd, name).await {
                    Ok(()) => p.log(format!("{who}: connect({name}) -> 0")),
                    Err(e) => p.log(format!("{who}: connect({name}) -> {}", e.name())),
                }
            }
            p.sleep(ms(10)).await;
            Ok(())
        });
    }
    // ANCHOR_END: clients
    let until = sim.now() + ms(5);
    let _ = sim.run_until(until);

    println!("\n== 2. Whose namespace lists which socket (ss -xa) ==\n");
    for (at, prompt) in [(ctr1, "ctr1"), (ctr2, "ctr2"), (sim.init_net(host), "host")] {
        println!("{prompt}# ss -xa");
        print!("{}", sim.sh(at, "ss -xa"));
    }
    print!("{}", sim.run());

    println!("\n== 3. {kib} KiB from one container's process to another's ==\n");
    let ways = [
        ("unix, shared path", "ctr2", "/run/shared/bulk.sock"),
        ("TCP, ctr1's lo", "ctr1", "127.0.0.1:7000"),
        ("TCP, veth+bridge", "ctr2", "10.0.0.2:7000"),
    ];
    println!(
        "{:<18} {:>7} {:>9} {:>11} {:>13}   trace steps in: tcp   ip  dev bridge",
        "", "sender", "softirqs", "lo packets", "veth1 frames"
    );
    for (label, from, target) in ways {
        let (mut sim, host, ctr1, ctr2) = two_containers();
        let setup = sim.trace_events().len();
        let sender_ns = if from == "ctr1" { ctr1 } else { ctr2 };
        let unix = target.starts_with('/');
        sim.spawn(ctr1, "sink", move |p| async move {
            let (fam, at) = if unix {
                (AF_UNIX, target)
            } else {
                (AF_INET, "0.0.0.0:7000")
            };
            let lfd = p.socket(fam, SOCK_STREAM, 0)?;
            p.bind(lfd, at)?;
            p.listen(lfd, 8)?;
            let (fd, _) = p.accept(lfd).await?;
            let mut buf = [0u8; 4096];
            while p.read(fd, &mut buf).await? > 0 {}
            Ok(())
        });
        sim.spawn(sender_ns, "source", move |p| async move {
            p.sleep(ms(1)).await;
            let fam = if unix { AF_UNIX } else { AF_INET };
            let fd = p.socket(fam, SOCK_STREAM, 0)?;
            p.connect(fd, target).await?;
            let mut left = kib * 1024;
            while left > 0 {
                let n = p.write(fd, &vec![7u8; chunk.min(left)]).await?;
                left -= n;
            }
            p.close(fd)?;
            Ok(())
        });
        let report = sim.run();
        if !report.is_ok() {
            print!("{report}");
        }
        // A frame on lo is sent and received by the same device: count it
        // once. Through veth1 frames go both ways: count both.
        let lo = sim.dev_stats(ctr1, "lo").map_or(0, |s| s.tx_packets);
        let veth1 = sim
            .dev_stats(sim.init_net(host), "veth1")
            .map_or(0, |s| s.tx_packets + s.rx_packets);
        let steps = |layer: &str| {
            sim.trace_events()[setup..]
                .iter()
                .filter(|e| e.layer.name() == layer)
                .count()
        };
        println!(
            "{label:<18} {from:>7} {:>9} {:>11} {:>13}   {:>19} {:>4} {:>4} {:>6}",
            sim.costs(host).softirq_runs,
            lo,
            veth1,
            steps("tcp"),
            steps("ip"),
            steps("dev"),
            steps("bridge"),
        );
    }
}
