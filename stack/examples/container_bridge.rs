//! Two "containers" on a bridge, and the host talking TCP to them: the
//! packet path veth -> bridge -> veth, each namespace's own view of the
//! sockets, and the classic failure of a service bound to 127.0.0.1 inside
//! a container.
//!
//! The host plays the container runtime: `br0` (10.0.0.1/24) in its own
//! namespace, one veth pair per container with `eth0` inside (10.0.0.2 and
//! 10.0.0.3) and the host end enslaved to the bridge. In `ctr1`, `web`
//! listens on 0.0.0.0:8080 and `admin` on 127.0.0.1:9090.
//!
//! 1. The host connects to 10.0.0.2:8080: the trace of the handshake shows
//!    each segment leaving through `br0`, forwarded by the bridge to
//!    `veth1`, and handed by `veth_xmit()` to `eth0` in `ctr1`.
//! 2. `ss -tan` on the host and in each container: each lists its own
//!    sockets only; the connection appears once in the host and once in
//!    `ctr1`, never in `ctr2`.
//! 3. `admin` answers `curl 127.0.0.1:9090` inside `ctr1`, but a connection
//!    to 10.0.0.2:9090 from the host or from `ctr2` is refused: `ctr1`'s TCP
//!    finds no socket for 10.0.0.2:9090 and answers the SYN with a RST. And
//!    127.0.0.1 on the host is the host's own loopback.
//!
//! NAT, port publishing and iptables are not modelled.
//!
//! Run it with `cargo run -q -p stack --example container_bridge`.
//! Knobs: --web-ip, --admin-ip (cargo run -q -p stack --example
//! container_bridge -- --help)

use stack::prelude::*;

/// The `ip` commands a container runtime issues for two containers on a
/// bridge (less the NAT rules, which the simulation has no part for).
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
    "-n ctr1 route add default via 10.0.0.1",
    "netns add ctr2",
    "link add veth2 type veth peer name eth0 netns ctr2",
    "link set veth2 master br0",
    "link set veth2 up",
    "-n ctr2 link set lo up",
    "-n ctr2 addr add 10.0.0.3/24 dev eth0",
    "-n ctr2 link set eth0 up",
    "-n ctr2 route add default via 10.0.0.1",
];

pub fn main() {
    let k = knobs::Knobs::new("container_bridge")
        .choice(
            "web-ip",
            "0.0.0.0",
            &["0.0.0.0", "127.0.0.1", "10.0.0.2"],
            "web's bind address",
        )
        .choice(
            "admin-ip",
            "127.0.0.1",
            &["127.0.0.1", "0.0.0.0", "10.0.0.2"],
            "admin's bind address",
        )
        .parse();
    let web_addr = format!("{}:8080", k.choice("web-ip"));
    let admin_ip = k.choice("admin-ip").to_string();
    let admin_addr = format!("{admin_ip}:9090");
    let mut sim = Sim::new(1);
    let host = sim.add_host("host");
    println!("The runtime builds the network (ip commands, on the host):");
    for cmd in RUNTIME {
        println!("  # ip {cmd}");
        sim.ip(host, cmd).expect("a valid command");
    }
    let ctr1 = sim.netns(host, "ctr1").expect("made above");
    let ctr2 = sim.netns(host, "ctr2").expect("made above");

    // ANCHOR: servers
    sim.spawn(ctr1, "web", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, web_addr)?; // 0.0.0.0:8080: every address of ctr1
        p.listen(lfd, 16)?;
        let (fd, _) = p.accept(lfd).await?;
        let mut buf = [0u8; 64];
        let n = p.read(fd, &mut buf).await?;
        p.write(fd, &buf[..n]).await?;
        p.sleep(secs(1)).await;
        Ok(())
    });
    sim.spawn(ctr1, "admin", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, admin_addr)?; // 127.0.0.1:9090: ctr1's loopback only
        p.listen(lfd, 16)?;
        let (fd, peer) = p.accept(lfd).await?;
        p.log(format!("accepted {peer}"));
        p.write(fd, b"admin ok").await?;
        p.sleep(secs(1)).await;
        Ok(())
    });
    // ANCHOR_END: servers
    run_for(&mut sim, ms(1));

    println!("\n== 1. The host connects to 10.0.0.2:8080 ==\n");
    let t1 = sim.now();
    sim.spawn(host, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if let Err(e) = p.connect(fd, "10.0.0.2:8080").await {
            p.log(format!("connect() -> {}", e.name()));
            return Ok(());
        }
        p.log("connect() returned: ESTABLISHED");
        p.write(fd, b"hello ctr1").await?;
        let mut buf = [0u8; 64];
        let n = p.read(fd, &mut buf).await?;
        let echo = String::from_utf8_lossy(&buf[..n]).into_owned();
        p.log(format!("echoed back: {echo:?}"));
        p.sleep(ms(500)).await;
        Ok(())
    });
    run_for(&mut sim, ms(2));
    println!("The handshake, as the kernel traced it (ARP, TCP, IP, devices, bridge):");
    for line in sim.trace_text_since(t1).lines() {
        let keep = [" tcp ", " ip ", " neigh ", " dev ", " bridge ", " user "]
            .iter()
            .any(|l| line.contains(l));
        if keep {
            println!("{line}");
        }
        if line.contains("connect() returned") || line.contains("client: connect() ->") {
            break;
        }
    }

    println!("\n== 2. Each namespace lists its own sockets ==\n");
    for (at, prompt) in [(sim.init_net(host), "host"), (ctr1, "ctr1"), (ctr2, "ctr2")] {
        println!("{prompt}# ss -tan");
        print!("{}", sim.sh(at, "ss -tan"));
    }
    println!("host# bridge fdb show br br0");
    print!("{}", sim.sh(host, "bridge fdb show br br0"));

    println!("\n== 3. A service bound to {admin_ip} inside ctr1 ==\n");
    let t3 = sim.now();
    // ANCHOR: refused
    sim.spawn(ctr1, "curl-inside", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:9090").await?;
        let mut buf = [0u8; 64];
        let n = p.read(fd, &mut buf).await?;
        let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
        p.log(format!("ctr1 -> 127.0.0.1:9090: {reply:?}"));
        Ok(())
    });
    let host_ns = sim.init_net(host);
    for (at, who, target) in [
        (host_ns, "curl-host", "10.0.0.2:9090"),
        (ctr2, "curl-ctr2", "10.0.0.2:9090"),
        (host_ns, "curl-host-lo", "127.0.0.1:9090"),
    ] {
        sim.spawn(at, who, move |p| async move {
            p.sleep(ms(1)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            match p.connect(fd, target).await {
                Ok(()) => p.log(format!("connect({target}) -> 0")),
                Err(e) => p.log(format!("connect({target}) -> {}", e.name())),
            }
            Ok(())
        });
    }
    // ANCHOR_END: refused
    run_for(&mut sim, ms(5));
    println!("\nctr1# ss -ltn");
    print!("{}", sim.sh(ctr1, "ss -ltn"));
    println!("\nWhat ctr1's TCP did with the host's SYN for 10.0.0.2:9090:");
    let mut after_host = false;
    for line in sim.trace_text_since(t3).lines() {
        if line.contains("curl-host[") && line.contains("connect(") {
            after_host = true;
        }
        if after_host && (line.contains(" tcp ") || line.contains(" user ")) {
            println!("{line}");
            if line.contains("curl-host: connect") {
                break;
            }
        }
    }
    println!();
    for (at, prompt) in [(sim.init_net(host), "host"), (ctr1, "ctr1")] {
        println!("{prompt}# nstat -az TcpAttemptFails TcpOutRsts");
        let out = sim.sh(at, "nstat -az");
        for line in out
            .lines()
            .filter(|l| l.starts_with("TcpOutRsts") || l.starts_with("TcpAttemptFails"))
        {
            println!("{line}");
        }
    }
    print!("\n{}", sim.run());
}

/// Runs the simulation for `d` of virtual time, leaving later events
/// (timers, sleeping processes) pending.
fn run_for(sim: &mut Sim, d: Nanos) {
    let until = sim.now() + d;
    let _ = sim.run_until(until);
}
