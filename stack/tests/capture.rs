//! The simulation's own captures read back by the real tcpdump: the
//! handshake, data and close of a simulated connection, with the right
//! flags, sequence numbers and windows.

use std::process::Command;

use stack::prelude::*;

fn tcpdump() -> Option<String> {
    let ok = Command::new("tcpdump").arg("--version").output().is_ok();
    ok.then(|| "tcpdump".to_string())
}

/// Hosts `a` (10.0.0.1) and `b` (10.0.0.2) on one link, and a server on
/// `b`'s port 80 that reads until the client closes.
fn a_server_on_b() -> (Sim, HostId, HostId) {
    a_server_on_b_busy_for(0)
}

/// A server that accepts, is busy for `busy` before it reads, then reads
/// to the end.
fn a_server_on_b_busy_for(busy: Nanos) -> (Sim, HostId, HostId) {
    let mut sim = Sim::new(3);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    sim.spawn(b, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 4)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(busy).await;
        let mut buf = [0u8; 16];
        while p.read(fd, &mut buf).await? > 0 {}
        p.close(fd)
    });
    (sim, a, b)
}

#[test]
fn tcpdump_reads_a_simulated_connection() {
    let (mut sim, a, b) = a_server_on_b();
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.write(fd, b"hello").await?;
        p.close(fd)
    });
    assert!(sim.run().is_ok());
    let pcap = sim.pcap(a, "eth0").expect("eth0");
    assert!(sim.pcap(a, "eth7").is_none());
    let frames = stack::pcap::parse_pcap(&pcap).expect("a valid capture");
    assert!(
        frames.len() >= 10,
        "ARP, handshake, data, FINs: {}",
        frames.len()
    );

    let diagram = sim.tcp_sequence_text(&[a, b]);
    for label in [
        "SYN seq=0 win=",
        "SYN,ACK seq=0 ack=1",
        "PSH,ACK seq=1 ack=1 len=5",
        "FIN,ACK seq=6",
    ] {
        assert!(diagram.contains(label), "{label:?} missing:\n{diagram}");
    }
    assert!(sim.tcp_sequence_svg(&[a, b]).starts_with("<svg"));

    let Some(tool) = tcpdump() else {
        eprintln!("tcpdump is not installed: the capture was checked by parsing only");
        return;
    };
    let path = std::env::temp_dir().join(format!("stack-capture-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).unwrap();
    let out = Command::new(tool)
        .args(["-nn", "-S", "-vv", "-r"])
        .arg(&path)
        .output()
        .expect("run tcpdump");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Request who-has 10.0.0.2 tell 10.0.0.1"),
        "{text}"
    );
    assert!(text.contains("Flags [S]"), "{text}");
    assert!(text.contains("Flags [S.]"), "{text}");
    assert!(
        text.contains("Flags [P.]") && text.contains("length 5"),
        "{text}"
    );
    assert!(text.contains("Flags [F.]"), "{text}");
    assert!(
        text.contains("options [mss 1460,wscale 10]") || text.contains("wscale 10"),
        "{text}"
    );
    assert!(
        !text.contains("incorrect") && !text.contains("bad cksum"),
        "checksums: {text}"
    );
}

/// `IP_TTL` and `IP_TOS` are what the socket's packets carry in their
/// IPv4 header (TCP and UDP alike); a socket that set nothing sends
/// `ip_default_ttl` (64) and TOS 0.
#[test]
fn ip_ttl_and_ip_tos_are_in_the_packets() {
    let (mut sim, a, _) = a_server_on_b();
    sim.spawn(a, "client", |p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(u, IPPROTO_IP, IP_TTL, 9)?;
        p.setsockopt(u, IPPROTO_IP, IP_TOS, 0x28)?;
        p.sendto(u, b"udp", 0, "10.0.0.2:9").await?;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, IPPROTO_IP, IP_TTL, 7)?;
        p.setsockopt(fd, IPPROTO_IP, IP_TOS, 0x10)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.write(fd, b"hello").await?;
        p.close(fd)
    });
    assert!(sim.run().is_ok());
    let pcap = sim.pcap(a, "eth0").expect("eth0");
    // (protocol, ttl, tos) of every IPv4 packet, each way.
    let mut sent = std::collections::BTreeSet::new();
    let mut received = std::collections::BTreeSet::new();
    for (_, frame) in stack::pcap::parse_pcap(&pcap).expect("a valid capture") {
        if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let seen = (ip[9], ip[8], ip[1]);
        if ip[12..16] == [10, 0, 0, 1] {
            sent.insert(seen);
        } else {
            received.insert(seen);
        }
    }
    assert_eq!(
        sent,
        [(6, 7, 0x10), (17, 9, 0x28)].into_iter().collect(),
        "what the client's sockets sent"
    );
    assert!(
        received
            .iter()
            .all(|&(proto, ttl, tos)| proto != 6 || (ttl, tos) == (64, 0)),
        "the server's socket set nothing: {received:?}"
    );
}

/// The receiver's advertised window never moves its right edge back
/// (`tcp_select_window()`: a window smaller than the one promised is
/// rounded up to the scale's unit, not down), however the free buffer
/// shrinks under small segments that nobody reads yet.
#[test]
fn the_advertised_right_edge_never_moves_back() {
    let (mut sim, a, b) = a_server_on_b_busy_for(ms(150));
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)?;
        p.connect(fd, "10.0.0.2:80").await?;
        for _ in 0..200 {
            p.write(fd, &[7; 100]).await?;
            p.sleep(ms(1)).await;
        }
        p.close(fd)
    });
    assert!(sim.run().is_ok());
    let pcap = sim.pcap(b, "eth0").expect("eth0");
    let mut scale = 0u32;
    let mut edges = Vec::new();
    for (_, frame) in stack::pcap::parse_pcap(&pcap).expect("a valid capture") {
        let ip = &frame[14..];
        if ip[9] != 6 || ip[12..16] != [10, 0, 0, 2] {
            continue;
        }
        let tcp = &ip[usize::from(ip[0] & 0xf) * 4..];
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (ack, win) = (
            be32(&tcp[8..]),
            u32::from(u16::from_be_bytes([tcp[14], tcp[15]])),
        );
        let syn = tcp[13] & 0x02 != 0;
        if syn {
            let opts = &tcp[20..usize::from(tcp[12] >> 4) * 4];
            let o = stack::wire::tcp::TcpOptions::parse(opts).expect("the SYN-ACK's options");
            scale = u32::from(o.wscale.unwrap_or(0));
            continue;
        }
        edges.push(ack.wrapping_add(win << scale));
    }
    assert!(edges.len() > 50, "{} ACKs", edges.len());
    for w in edges.windows(2) {
        assert!(
            (w[1].wrapping_sub(w[0]) as i32) >= 0,
            "the right edge moved back from {} to {}: {edges:?}",
            w[0],
            w[1]
        );
    }
}
