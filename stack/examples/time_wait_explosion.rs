//! Diagnosing a TIME-WAIT explosion. A client opens a new connection for
//! every request and closes it first, so every request leaves a TIME-WAIT
//! socket behind on the client, holding its ephemeral port for 60 s. With
//! the port range shrunk to 10 ports (`net.ipv4.ip_local_port_range =
//! 40000 40009`), the eleventh `connect()` fails with `EADDRNOTAVAIL`.
//!
//! The example then looks at the damage the way an operator would: counts
//! the TIME-WAIT rows of `ss -tan`, reads the raw rows of `/proc/net/tcp`
//! (state 06, timer 3, the time left in clock ticks) and decodes one of
//! them, and compares `nstat`'s `TcpActiveOpens`. Last, the fix: the same
//! twelve requests over one kept-alive connection leave one TIME-WAIT
//! socket instead of one per request.
//!
//! Run it with `cargo run -q -p stack --example time_wait_explosion`.
//! Knobs: --requests, --ports, --gap (cargo run -q -p stack --example
//! time_wait_explosion -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("time_wait_explosion")
        .int("requests", 12, 1..=40, "requests the client makes")
        .int(
            "ports",
            10,
            1..=50,
            "ephemeral ports in ip_local_port_range (from 40000)",
        )
        .int("gap", 100, 1..=1000, "time between two requests, in ms")
        .parse();
    let requests = k.int("requests") as u64;
    let ports = k.int("ports") as u64;
    let gap = k.int("gap") as u64;
    println!("== one connection per request, the client closes first ==");
    let (mut sim, client) = setup(ports);
    sim.spawn(client, "client", move |p| async move {
        // ANCHOR: per_request
        for i in 1..=requests {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            if let Err(e) = p.connect(fd, "10.0.0.2:80").await {
                p.log(format!("request {i:2}: connect() -> {e}"));
                p.close(fd)?;
                break;
            }
            p.write(fd, b"GET").await?;
            let mut buf = [0u8; 100];
            p.read(fd, &mut buf).await?;
            p.close(fd)?; // active close: TIME-WAIT lands here, on the client
            p.sleep(ms(gap)).await;
        }
        // ANCHOR_END: per_request
        Ok(())
    });
    // Look once the last connect() has been tried: the ports + 1st fails.
    let attempts = requests.min(ports + 1);
    sim.run_until(ms(attempts * gap));
    diagnose(&sim, client);

    println!("\n== the fix: one kept-alive connection for all requests ==");
    let (mut sim, client) = setup(ports);
    sim.spawn(client, "client", move |p| async move {
        // ANCHOR: keepalive
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        for _ in 1..=requests {
            p.write(fd, b"GET").await?;
            let mut buf = [0u8; 100];
            p.read(fd, &mut buf).await?;
            p.sleep(ms(gap)).await;
        }
        p.close(fd)?; // one connection, one TIME-WAIT
        // ANCHOR_END: keepalive
        let s = if requests == 1 { "" } else { "s" };
        p.log(format!("{requests} request{s} answered"));
        Ok(())
    });
    sim.run_until(ms(requests * gap + 800));
    diagnose(&sim, client);
}

/// A client and a server that answers every request on a connection until
/// the client closes it.
fn setup(ports: u64) -> (Sim, HostId) {
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
    let range = format!("40000 {}", 40000 + ports - 1);
    sim.sysctl(client, "net.ipv4.ip_local_port_range", &range)
        .expect("known sysctl");
    sim.set_tracing(false);
    sim.spawn(server, "server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        loop {
            let (fd, _) = p.accept(lfd).await?;
            let mut buf = [0u8; 100];
            while p.read(fd, &mut buf).await? > 0 {
                p.write(fd, b"200 OK").await?;
            }
            p.close(fd)?; // passive close: LAST-ACK, then gone
        }
    });
    (sim, client)
}

/// What an operator types on the client, with what it printed.
fn diagnose(sim: &Sim, client: HostId) {
    let ss = sim.sh(client, "ss -tan");
    let tw = ss.lines().filter(|l| l.starts_with("TIME-WAIT")).count();
    println!("client$ ss -tan | grep -c TIME-WAIT\n{tw}");

    let proc_tcp = sim.sh(client, "cat /proc/net/tcp");
    println!("client$ head -3 /proc/net/tcp");
    for line in proc_tcp.lines().take(3) {
        println!("{}", line.trim_end());
    }
    if let Some(row) = proc_tcp.lines().nth(1) {
        println!("row 0 decoded: {}", decode(row));
    }

    println!("client$ nstat | grep -E 'ActiveOpens|TW'");
    for line in sim
        .sh(client, "nstat")
        .lines()
        .filter(|l| l.contains("ActiveOpens") || l.starts_with("TcpExtTW"))
    {
        println!("{line}");
    }
}

// ANCHOR: decode
/// One `/proc/net/tcp` row in words: what a script reading the file does.
/// Addresses are the u32 in host byte order, in hex; ports and the state
/// are hex; `tr` names the pending timer and `tm->when` is the time left
/// in clock ticks (USER_HZ, 100 per second).
fn decode(row: &str) -> String {
    let f: Vec<&str> = row.split_whitespace().collect();
    let addr = |s: &str| {
        let (ip, port) = s.split_once(':').unwrap_or((s, "0"));
        let ip = u32::from_str_radix(ip, 16).unwrap_or(0).to_le_bytes();
        let port = u16::from_str_radix(port, 16).unwrap_or(0);
        format!("{}.{}.{}.{}:{port}", ip[0], ip[1], ip[2], ip[3])
    };
    let state = match f[3] {
        "01" => "ESTABLISHED",
        "06" => "TIME_WAIT",
        "08" => "CLOSE_WAIT",
        "0A" => "LISTEN",
        other => other,
    };
    let (tr, when) = f[5].split_once(':').unwrap_or(("00", "0"));
    let timer = match tr {
        "00" => "no timer",
        "01" => "retransmit timer",
        "02" => "keepalive timer",
        "03" => "TIME_WAIT timer",
        "04" => "zero-window probe timer",
        _ => "?",
    };
    let ticks = u64::from_str_radix(when, 16).unwrap_or(0);
    format!(
        "{} -> {}, {state}, {timer} fires in {}.{:02} s",
        addr(f[1]),
        addr(f[2]),
        ticks / 100,
        ticks % 100
    )
}
// ANCHOR_END: decode
