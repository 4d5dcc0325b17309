//! Many short connections from one client to one server. The side that
//! closes first keeps the connection in TIME-WAIT for 60 s, and with it the
//! local port. A client that opens and closes connections faster than
//! that piles up TIME-WAIT sockets, one ephemeral port each; once the
//! port range is used up, `connect()` fails with `EADDRNOTAVAIL` until the
//! oldest TIME-WAIT expires. The range is shrunk to 10 ports here
//! (`net.ipv4.ip_local_port_range = 40000 40009`) so that it happens
//! after 10 connections instead of about 28 000.
//!
//! Run it with `cargo run -q -p stack --example time_wait_storm`.
//! Knobs: --ports, --gap (cargo run -q -p stack --example time_wait_storm
//! -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("time_wait_storm")
        .int(
            "ports",
            10,
            1..=50,
            "ephemeral ports in ip_local_port_range (from 40000)",
        )
        .int("gap", 100, 1..=1000, "time between two requests, in ms")
        .parse();
    let ports = k.int("ports") as u64;
    let requests = ports + 2; // more than the ports
    let gap = k.int("gap") as u64;
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
            let n = p.read(fd, &mut buf).await?;
            p.write(fd, &buf[..n]).await?;
            p.read(fd, &mut buf).await?; // 0: the client closed first
            p.close(fd)?;
        }
    });

    sim.spawn(client, "client", move |p| async move {
        print!(
            "client$ sysctl net.ipv4.ip_local_port_range\n{}",
            p.sh("sysctl net.ipv4.ip_local_port_range")
        );
        let mut slept = 0;
        for i in 1..=requests {
            match one_request(&p).await {
                Ok(port) => p.log(format!("request {i:2}: ok, from port {port}")),
                Err(e) => {
                    p.log(format!("request {i:2}: connect() -> {e}"));
                    break;
                }
            }
            p.sleep(ms(gap)).await;
            slept += gap;
        }
        let ss = p.sh("ss -tan");
        let tw = ss.lines().filter(|l| l.starts_with("TIME-WAIT")).count();
        println!("\nclient$ ss -tan | head -4");
        for line in ss.lines().take(4) {
            println!("{line}");
        }
        println!("client$ ss -tan | grep -c TIME-WAIT\n{tw}\n");

        // 60 s after the first close: its TIME-WAIT is over
        p.sleep(secs(60).saturating_sub(ms(slept))).await;
        match one_request(&p).await {
            Ok(port) => p.log(format!("at t=60s: ok, from port {port}")),
            Err(e) => p.log(format!("at t=60s: connect() -> {e}")),
        }
        println!("\nclient$ nstat | grep TW");
        for line in p.sh("nstat").lines().filter(|l| l.contains("TW")) {
            println!("{line}");
        }
        Ok(())
    });

    sim.run_until(ms(ports * gap + 500)); // after the last request
    let ss = sim.sh(server, "ss -tan");
    let tw = ss.lines().filter(|l| l.starts_with("TIME-WAIT")).count();
    println!("server$ ss -tan | grep -c TIME-WAIT\n{tw}\n");
    let report = sim.run_until(secs(120));
    println!();
    print!("{report}");
}

/// One short connection: connect, ask, read the answer, close first.
async fn one_request(p: &Process) -> SysResult<u16> {
    let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
    let res = async {
        p.connect(fd, "10.0.0.2:80").await?;
        p.write(fd, b"ping").await?;
        let mut buf = [0u8; 100];
        p.read(fd, &mut buf).await?;
        match p.getsockname(fd)? {
            SockAddr::Inet(a) => Ok(a.port()),
            _ => Err(Errno::EINVAL),
        }
    }
    .await;
    p.close(fd)?; // the client closes first: TIME-WAIT is on this side
    res
}
