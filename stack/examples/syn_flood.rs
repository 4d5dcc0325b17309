//! A SYN flood: an attacker sends SYNs from spoofed source addresses and
//! never completes a handshake. Each SYN costs the listener a request in
//! its SYN queue (state SYN-RECV) for a minute, while the SYN-ACK is
//! resent to an address that never answers. The SYN queue holds
//! backlog + 1 requests (Linux since 2025; `backlog` before); once it is
//! full, the kernel answers further SYNs with a SYN
//! cookie: a SYN-ACK whose sequence number encodes the connection, so that
//! nothing has to be stored. A real client answers the cookie with its ACK
//! and gets in; the spoofed ones never answer and cost nothing.
//!
//! Part 2 turns SYN cookies off (`net.ipv4.tcp_syncookies = 0`): with the
//! SYN queue full, the real client's SYNs are dropped, and its `connect()`
//! fails with `ETIMEDOUT` after its ten retransmissions (four at 1 s
//! steps, `tcp_syn_linear_timeouts`, then `tcp_syn_retries` = 6 with the
//! timeout doubling).
//!
//! The attacker is a raw-socket tool (`hping3 -S --rand-source`); the
//! simulation has no raw sockets, so its frames are put on the server's
//! wire directly with [`Sim::inject_frame`].
//!
//! Run it with `cargo run -q -p stack --example syn_flood`.
//! Knobs: --rate, --backlog (cargo run -q -p stack --example syn_flood --
//! --help)

use std::net::Ipv4Addr;

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("syn_flood")
        .int(
            "rate",
            20,
            1..=200,
            "spoofed SYNs per second, for as long as a run lasts",
        )
        .int("backlog", 8, 0..=128, "the server's listen() backlog")
        .parse();
    let (rate, backlog) = (k.int("rate") as u64, k.int("backlog") as i32);
    println!("== Part 1: net.ipv4.tcp_syncookies = 1 (the default) ==\n");
    run("1", secs(2), rate, backlog);
    println!("\n== Part 2: net.ipv4.tcp_syncookies = 0 ==\n");
    run("0", secs(135), rate, backlog);
}

fn run(syncookies: &str, duration: Nanos, rate: u64, backlog: i32) {
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );
    // The rest of the Internet, spoofed addresses included, is behind 10.0.0.1
    // (which does not forward: the SYN-ACKs to spoofed addresses end there).
    sim.add_route(server, "default", "10.0.0.1")
        .expect("gateway on a connected subnet");
    sim.sysctl(server, "net.ipv4.tcp_syncookies", syncookies)
        .expect("known sysctl");
    sim.set_tracing(false);

    sim.spawn(server, "server", move |p| async move {
        // ANCHOR: listener
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, backlog)?; // SYN queue and accept queue: backlog + 1 each
        // ANCHOR_END: listener
        loop {
            let (fd, peer) = p.accept(lfd).await?;
            p.log(format!("accept() -> fd {fd}, peer {peer}"));
            let mut buf = [0u8; 100];
            let n = p.read(fd, &mut buf).await?;
            p.write(fd, &buf[..n]).await?; // echo the request
            p.read(fd, &mut buf).await?; // until the client closes
            p.close(fd)?;
        }
    });

    sim.spawn(client, "client", |p| async move {
        p.sleep(ms(500)).await; // the flood is well under way
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let start = p.now();
        match p.connect(fd, "10.0.0.2:80").await {
            Ok(()) => p.log("connect() returned 0"),
            Err(e) => {
                let waited = (p.now() - start) / secs(1);
                p.log(format!("connect() -> {e} after {waited} s"));
                return Ok(());
            }
        }
        p.write(fd, b"GET /\r\n").await?;
        let mut buf = [0u8; 100];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!("read() -> {n} bytes: the server answered"));
        Ok(())
    });

    let server_mac = mac_of(&sim.sh(server, "ip -s link"), "eth0");
    let mut shown = false;
    let n = duration / (secs(1) / rate);
    for i in 0..n {
        sim.run_until(i * (secs(1) / rate));
        let src = Ipv4Addr::new(198, 51, 100, (i % 250) as u8 + 1);
        let frame = spoofed_syn(server_mac, src, 1024 + i as u16, [10, 0, 0, 2], 80);
        sim.inject_frame(server, "eth0", frame)
            .expect("server has eth0");
        if !shown && sim.now() >= secs(1) {
            shown = true;
            let ss = sim.sh(server, "ss -tan");
            let half_open = ss.lines().filter(|l| l.starts_with("SYN-RECV")).count();
            println!("\nserver at t=1s (ss -tan | head -4):");
            for line in ss.lines().take(4) {
                println!("{line}");
            }
            println!("... {half_open} connections in SYN-RECV");
        }
    }
    sim.run_until(duration);

    println!("\nserver's counters (nstat | grep -E 'Syncookies|Listen'):");
    for line in sim.sh(server, "nstat").lines() {
        if line.contains("Syncookies") || line.contains("Listen") {
            println!("{line}");
        }
    }
    println!("({n} spoofed SYNs in {} s)", duration / secs(1));
}

/// The MAC address `ip link` shows for a device.
fn mac_of(ip_link: &str, dev: &str) -> [u8; 6] {
    let mut lines = ip_link
        .lines()
        .skip_while(|l| !l.contains(&format!(" {dev}:")));
    let link = lines.nth(1).expect("the device's link/ line");
    let mac = link.split_whitespace().nth(1).expect("an address");
    let mut out = [0u8; 6];
    for (o, part) in out.iter_mut().zip(mac.split(':')) {
        *o = u8::from_str_radix(part, 16).expect("hex");
    }
    out
}

/// What `hping3 -S` puts on the wire: Ethernet, IPv4 and a TCP header with
/// only SYN set and an MSS option, from a forged source address.
fn spoofed_syn(dst_mac: [u8; 6], src: Ipv4Addr, sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&(u32::from(src) ^ 0x5eed).to_be_bytes()); // seq
    tcp[12] = 6 << 4; // data offset: 6 words
    tcp[13] = 0x02; // SYN
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes()); // window
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6, 0, tcp.len() as u8]);
    pseudo.extend_from_slice(&tcp);
    let check = inet_checksum(&pseudo);
    tcp[16..18].copy_from_slice(&check.to_be_bytes());

    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&(20 + tcp.len() as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst);
    let check = inet_checksum(&ip);
    ip[10..12].copy_from_slice(&check.to_be_bytes());

    let mut frame = Vec::new();
    frame.extend_from_slice(&dst_mac);
    frame.extend_from_slice(&[0x02, 0xba, 0xd0, 0, 0, 1]); // the attacker's NIC
    frame.extend_from_slice(&[0x08, 0x00]); // IPv4
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&tcp);
    frame
}

/// The Internet checksum (RFC 1071).
fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
