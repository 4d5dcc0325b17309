//! The device layer and IP under load and at their limits: RX ring
//! overflow, NAPI budget, qdisc drops, send-buffer sleep, fragmentation,
//! IPv6 on loopback, ICMP errors and their rate limit. Every packet that is
//! sent is accounted for somewhere a student can look.

use stack::prelude::*;

fn two_hosts(seed: u64, cfg: LinkConfig) -> (Sim, HostId, HostId) {
    let mut sim = Sim::new(seed);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.set_tracing(false);
    (sim, a, b)
}

fn softnet_column(sim: &Sim, host: HostId, col: usize) -> u64 {
    let text = sim.sh(host, "cat /proc/net/softnet_stat");
    let word = text
        .split_whitespace()
        .nth(col)
        .expect("softnet_stat column");
    u64::from_str_radix(word, 16).expect("hex")
}

#[test]
fn a_flood_overflows_the_rx_ring_and_every_frame_is_counted() {
    let (mut sim, a, b) = two_hosts(1, LinkConfig::default());
    // A smaller softirq budget than the RX ring: each run stops with work left.
    sim.sysctl(b, "net.core.netdev_budget", "100").unwrap();
    const N: u32 = 3000;
    sim.spawn(b, "sink", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9")?;
        p.sleep(ms(50)).await; // never reads while the flood lasts
        Ok(())
    });
    sim.spawn(a, "flood", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        for _ in 0..N {
            p.sendto(fd, &[0u8; 18], 0, "10.0.0.2:9").await?;
        }
        Ok(())
    });
    // Look while the sink still holds its socket.
    let report = sim.run_until(ms(40));
    assert!(report.deadlock.is_none(), "{report}");

    let tx = sim.dev_stats(a, "eth0").unwrap();
    let rx = sim.dev_stats(b, "eth0").unwrap();
    assert!(
        rx.rx_missed > 0,
        "the receiver's softirq should fall behind: {rx:?}"
    );
    assert_eq!(
        rx.rx_packets + rx.rx_missed,
        tx.tx_packets,
        "frames sent = taken up + missed"
    );
    assert!(
        softnet_column(&sim, b, 2) > 0,
        "time_squeeze: the budget ran out with work left"
    );
    // Of the datagrams that reached UDP, each was queued or dropped and counted.
    let got = sim.counter(b, Mib::IpInReceives);
    let drops = sim.counter(b, Mib::UdpRcvbufErrors);
    assert!(drops > 0);
    let queued = got - drops;
    let proc_udp = sim.sh(b, "cat /proc/net/udp");
    assert!(
        proc_udp.contains(&format!(" {drops} ")),
        "socket drops column:\n{proc_udp}"
    );
    assert!(
        queued > 0 && queued < 200,
        "rcvbuf holds about 92 of 2304-byte skbs: {queued}"
    );
    assert_eq!(sim.counter(a, Mib::UdpOutDatagrams), N as u64);
    let ip_s_link = sim.sh(b, "ip -s link");
    assert!(ip_s_link.contains(&rx.rx_missed.to_string()), "{ip_s_link}");
}

#[test]
fn a_full_send_buffer_puts_the_sender_to_sleep_until_tx_completions() {
    let (mut sim, a, b) = two_hosts(2, LinkConfig::default().bandwidth_bps(10_000_000));
    sim.spawn(b, "sink", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9")?;
        let mut buf = [0u8; 1500];
        for _ in 0..50 {
            p.recv(fd, &mut buf, 0).await?;
        }
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1)?; // floor: SOCK_MIN_SNDBUF
        assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_SNDBUF)?, 4608);
        let start = p.now();
        for _ in 0..50 {
            p.sendto(fd, &[7u8; 1000], 0, "10.0.0.2:9").await?;
        }
        // At 10 Mbit/s, 50 frames of ~1 KB take ~42 ms: sendto() had to wait.
        assert!(p.now() - start > ms(30), "sender never slept");
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert!(
        sim.costs(a).wakeups > 0,
        "the sender was woken by sk_write_space"
    );
}

#[test]
fn a_full_qdisc_drops_and_udp_counts_sndbuf_errors_but_sendto_succeeds() {
    let (mut sim, a, b) = two_hosts(3, LinkConfig::default().bandwidth_bps(1_000_000));
    sim.spawn(b, "sink", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9")?;
        Ok(())
    });
    sim.spawn(a, "burst", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 4_000_000)?;
        p.sendto(fd, b"x", 0, "10.0.0.2:9").await?; // resolve the neighbour first
        p.sleep(ms(50)).await;
        for _ in 0..2000 {
            // ENOBUFS from the qdisc is swallowed by UDP without IP_RECVERR.
            assert_eq!(p.sendto(fd, &[1u8; 100], 0, "10.0.0.2:9").await?, 100);
        }
        Ok(())
    });
    let report = sim.run_until(secs(1));
    let stats = sim.dev_stats(a, "eth0").unwrap();
    assert!(report.deadlock.is_none(), "{report}");
    let errors = sim.counter(a, Mib::UdpSndbufErrors);
    // 1000 wait in the qdisc and 256 on the TX ring; the rest are dropped.
    assert!(errors >= 700, "UdpSndbufErrors {errors}");
    assert_eq!(stats.tx_dropped, errors);
}

#[test]
fn a_datagram_larger_than_the_mtu_is_fragmented_and_reassembled() {
    let (mut sim, a, b) = two_hosts(4, LinkConfig::default());
    sim.spawn(b, "rx", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9")?;
        let mut buf = vec![0u8; 9000];
        let n = p.recv(fd, &mut buf, 0).await?;
        assert_eq!(n, 4000);
        assert!(
            buf[..n]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8)
        );
        Ok(())
    });
    sim.spawn(a, "tx", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let data: Vec<u8> = (0..4000).map(|i| (i % 251) as u8).collect();
        p.sendto(fd, &data, 0, "10.0.0.2:9").await?;
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    // 4008 bytes of UDP in 1480-byte pieces: 3 fragments.
    assert_eq!(sim.counter(a, Mib::IpFragCreates), 3);
    assert_eq!(sim.counter(a, Mib::IpFragOKs), 1);
    assert_eq!(sim.counter(b, Mib::IpReasmReqds), 3);
    assert_eq!(sim.counter(b, Mib::IpReasmOKs), 1);
}

#[test]
fn udp_over_ipv6_loopback_keeps_boundaries_and_reports_the_sender() {
    let mut sim = Sim::new(5);
    let h = sim.add_host("h");
    sim.spawn(h, "v6", |p| async move {
        let rx = p.socket(AF_INET6, SOCK_DGRAM, 0)?;
        p.bind(rx, "[::1]:9000")?;
        let tx = p.socket(AF_INET6, SOCK_DGRAM, 0)?;
        p.bind(tx, "[::1]:9001")?;
        p.sendto(tx, b"one", 0, "[::1]:9000").await?;
        p.sendto(tx, b"three", 0, "[::1]:9000").await?;
        let mut buf = [0u8; 64];
        let (n, from) = p.recvfrom(rx, &mut buf, 0).await?;
        assert_eq!(
            (&buf[..n], from.map(|a| a.to_string())),
            (&b"one"[..], Some("[::1]:9001".to_string()))
        );
        let (n, _) = p.recvfrom(rx, &mut buf, 0).await?;
        assert_eq!(&buf[..n], b"three");
        // A connected IPv6 socket learns of a closed port too.
        p.connect(tx, "[::1]:9999").await?;
        p.send(tx, b"anyone?", 0).await?;
        assert_eq!(
            p.recv(tx, &mut buf, MSG_DONTWAIT).await,
            Err(Errno::ECONNREFUSED)
        );
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(sim.counter(h, Mib::Udp6InDatagrams), 2);
    assert_eq!(sim.counter(h, Mib::Udp6NoPorts), 1);
    assert_eq!(sim.counter(h, Mib::Icmp6OutDestUnreachs), 1);
}

#[test]
fn port_unreachable_errors_to_another_host_are_rate_limited() {
    let (mut sim, a, b) = two_hosts(6, LinkConfig::default());
    sim.spawn(a, "prober", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        for _ in 0..10 {
            p.sendto(fd, b"?", 0, "10.0.0.2:4444").await?;
        }
        p.sleep(ms(10)).await;
        // An unconnected socket is not told (no IP_RECVERR).
        let mut buf = [0u8; 8];
        assert_eq!(p.recv(fd, &mut buf, MSG_DONTWAIT).await, Err(Errno::EAGAIN));
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(sim.counter(b, Mib::UdpNoPorts), 10);
    // A burst of 6 (XRLIM_BURST_FACTOR), then one per icmp_ratelimit (1 s).
    assert_eq!(sim.counter(b, Mib::IcmpOutDestUnreachs), 6);
    assert_eq!(sim.counter(b, Mib::IcmpOutRateLimitHost), 4);
    assert_eq!(sim.counter(a, Mib::IcmpInDestUnreachs), 6);
}

#[test]
fn a_connected_socket_gets_econnrefused_from_another_host() {
    let (mut sim, a, _b) = two_hosts(7, LinkConfig::default());
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.connect(fd, "10.0.0.2:4444").await?;
        p.send(fd, b"hello?", 0).await?;
        let mut buf = [0u8; 8];
        // Blocks until the ICMP error comes back and wakes it.
        assert_eq!(p.recv(fd, &mut buf, 0).await, Err(Errno::ECONNREFUSED));
        assert_eq!(p.recv(fd, &mut buf, MSG_DONTWAIT).await, Err(Errno::EAGAIN));
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn runs_are_deterministic_even_with_loss() {
    let run = || {
        let (mut sim, a, b) = two_hosts(42, LinkConfig::default().loss(0.3));
        sim.set_tracing(true);
        sim.spawn(b, "rx", |p| async move {
            let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            p.bind(fd, "0.0.0.0:9")?;
            p.sleep(ms(5)).await;
            Ok(())
        });
        sim.spawn(a, "tx", |p| async move {
            let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            for i in 0..50u8 {
                p.sendto(fd, &[i], 0, "10.0.0.2:9").await?;
            }
            Ok(())
        });
        sim.run();
        (sim.trace_text(), sim.sh(b, "nstat"))
    };
    let (t1, n1) = run();
    let (t2, n2) = run();
    assert_eq!(t1, t2);
    assert_eq!(n1, n2);
    assert!(t1.contains("lost on the link"));
}

/// A tun device: what the stack sends on it is read as bare IP packets, and
/// bytes that are not an IP packet are refused on write.
#[test]
fn a_tun_device_hands_bare_ip_packets_to_its_reader() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.add_tun(h, "tun0").unwrap();
    sim.addr_add(h, "tun0", "192.168.0.1/16").unwrap();
    assert_eq!(sim.add_tun(h, "tun0"), Err(Errno::EEXIST));
    assert_eq!(sim.tun_write(h, "tun0", &[0u8; 20]), Err(Errno::EINVAL));
    assert_eq!(sim.tun_write(h, "lo", &[0x45; 20]), Err(Errno::EINVAL));
    assert_eq!(sim.tun_write(h, "tun9", &[0x45; 20]), Err(Errno::ENODEV));
    sim.spawn(h, "app", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"hi", 0, "192.168.0.2:9").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    let sent = sim.tun_read(h, "tun0").unwrap();
    assert_eq!(sent.len(), 1, "one datagram, no ARP: tun is NOARP");
    let packet = &sent[0].1;
    assert_eq!(
        packet[0], 0x45,
        "an IPv4 header, no Ethernet header before it"
    );
    assert_eq!(packet.len(), 20 + 8 + 2);
    assert!(sim.tun_read(h, "tun0").unwrap().is_empty(), "read once");
}
