//! TCP as a user sees it: the handshake, the listen queues, the byte
//! stream, the closing states and the errors each state gives.

use std::cell::RefCell;
use std::rc::Rc;

use stack::prelude::*;

fn one_host() -> (Sim, HostId) {
    let mut sim = Sim::new(11);
    let h = sim.add_host("h");
    sim.set_tracing(false);
    (sim, h)
}

fn two_hosts(cfg: LinkConfig) -> (Sim, HostId, HostId) {
    let mut sim = Sim::new(12);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.set_tracing(false);
    (sim, a, b)
}

fn states(ss: &str) -> Vec<String> {
    ss.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn bytes_cross_and_chunking_does_not_follow_writes() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    let got = Rc::new(RefCell::new(Vec::new()));
    let reads = Rc::new(RefCell::new(Vec::new()));
    let (g, r) = (got.clone(), reads.clone());
    sim.spawn(b, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(ms(5)).await; // let all three writes arrive
        let mut buf = [0u8; 3000];
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            r.borrow_mut().push(n);
            g.borrow_mut().extend_from_slice(&buf[..n]);
        }
        Ok(())
    });
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:7").await?;
        for (i, n) in [1000usize, 2000, 5000].into_iter().enumerate() {
            assert_eq!(p.write(fd, &vec![i as u8 + 1; n]).await?, n);
        }
        p.close(fd)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let mut expected = vec![1u8; 1000];
    expected.extend(vec![2u8; 2000]);
    expected.extend(vec![3u8; 5000]);
    assert_eq!(*got.borrow(), expected);
    assert_eq!(
        *reads.borrow(),
        vec![3000, 3000, 2000],
        "reads follow the buffer, not the writes"
    );
}

#[test]
fn the_accept_queue_holds_backlog_plus_one_and_later_syns_are_dropped() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 2)?;
        p.sleep(secs(30)).await; // never accepts
        Ok(())
    });
    for i in 0..5 {
        sim.spawn(h, &format!("c{i}"), |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            assert_eq!(
                p.connect(fd, "127.0.0.1:8080").await,
                Err(Errno::EINPROGRESS)
            );
            p.sleep(secs(40)).await;
            Ok(())
        });
    }
    sim.run_until(ms(500));
    let ss = sim.sh(h, "ss -tan");
    let st = states(&ss);
    assert_eq!(st.iter().filter(|s| *s == "SYN-SENT").count(), 2, "{ss}");
    // 3 connections on each side (client ESTAB, server child ESTAB).
    assert_eq!(st.iter().filter(|s| *s == "ESTAB").count(), 6, "{ss}");
    let listen = ss
        .lines()
        .find(|l| l.starts_with("LISTEN"))
        .expect("listener");
    let cols: Vec<&str> = listen.split_whitespace().collect();
    assert_eq!(
        (cols[1], cols[2]),
        ("3", "2"),
        "Recv-Q = accept queue, Send-Q = backlog: {listen}"
    );
    assert!(sim.counter(h, Mib::TcpExtListenOverflows) >= 2);
    assert!(sim.counter(h, Mib::TcpExtListenDrops) >= 2);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        assert_eq!(p.connect(fd, "127.0.0.1:9").await, Err(Errno::ECONNREFUSED));
        let nb = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        assert_eq!(p.connect(nb, "127.0.0.1:9").await, Err(Errno::EINPROGRESS));
        // On loopback the RST is already back: the error waits in SO_ERROR.
        assert_eq!(
            p.getsockopt(nb, SOL_SOCKET, SO_ERROR)?,
            Errno::ECONNREFUSED.raw()
        );
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(sim.counter(h, Mib::TcpOutRsts), 2);
    assert_eq!(sim.counter(h, Mib::TcpAttemptFails), 2);
}

#[test]
fn closing_with_unread_data_resets_and_the_peer_sees_econnreset_then_epipe() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(ms(1)).await; // the request arrives, unread
        p.close(fd)?; // RST, not FIN
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:80").await?;
        p.write(fd, b"unread request").await?;
        let mut buf = [0u8; 16];
        assert_eq!(p.read(fd, &mut buf).await, Err(Errno::ECONNRESET));
        assert_eq!(p.read(fd, &mut buf).await, Ok(0));
        assert_eq!(p.write(fd, b"more").await, Err(Errno::EPIPE));
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(sim.counter(h, Mib::TcpExtTCPAbortOnClose), 1);
}

#[test]
fn fin_states_close_wait_and_time_wait_on_the_active_closer() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    sim.spawn(b, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = [0u8; 8];
        assert_eq!(p.read(fd, &mut buf).await?, 0); // client's FIN
        assert_eq!(p.read(fd, &mut buf).await?, 0); // and again
        p.sleep(ms(10)).await; // CLOSE_WAIT while we do not close
        p.write(fd, b"late reply").await?; // half-closed: we may still send
        p.close(fd)?;
        p.sleep(ms(10)).await;
        Ok(())
    });
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.shutdown(fd, SHUT_WR)?;
        let mut buf = [0u8; 32];
        let n = p.read(fd, &mut buf).await?;
        assert_eq!(&buf[..n], b"late reply");
        assert_eq!(p.read(fd, &mut buf).await?, 0);
        p.close(fd)
    });
    sim.run_until(ms(5));
    assert_eq!(states(&sim.sh(b, "ss -tan")), vec!["LISTEN", "CLOSE-WAIT"]);
    assert_eq!(states(&sim.sh(a, "ss -tan")), vec!["FIN-WAIT-2"]);
    sim.run_until(ms(30));
    assert_eq!(states(&sim.sh(a, "ss -tan")), vec!["TIME-WAIT"]);
    assert_eq!(states(&sim.sh(b, "ss -tan")), Vec::<String>::new());
    sim.run_until(secs(59));
    assert_eq!(states(&sim.sh(a, "ss -tan")), vec!["TIME-WAIT"]);
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert!(report.at >= secs(60), "TIME_WAIT lasts 60 s: {}", report.at);
    assert_eq!(states(&sim.sh(a, "ss -tan")), Vec::<String>::new());
}

#[test]
fn a_port_in_time_wait_is_in_use_unless_both_reuse() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, 1)?;
        p.bind(l, "127.0.0.1:5000")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.close(fd)?; // active close: the server's side goes to TIME_WAIT
        p.close(l)?;
        p.sleep(ms(5)).await;
        let again = p.socket(AF_INET, SOCK_STREAM, 0)?;
        assert_eq!(p.bind(again, "127.0.0.1:5000"), Err(Errno::EADDRINUSE));
        let reuse = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(reuse, SOL_SOCKET, SO_REUSEADDR, 1)?;
        p.bind(reuse, "127.0.0.1:5000")?;
        p.listen(reuse, 8)?;
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:5000").await?;
        let mut buf = [0u8; 4];
        assert_eq!(p.read(fd, &mut buf).await?, 0);
        p.close(fd)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn nonblocking_connect_einprogress_ealready_then_connected() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default().latency(ms(1)));
    sim.spawn(b, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        p.accept(l).await?;
        Ok(())
    });
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        assert_eq!(p.connect(fd, "10.0.0.2:80").await, Err(Errno::EINPROGRESS));
        assert_eq!(p.connect(fd, "10.0.0.2:80").await, Err(Errno::EALREADY));
        assert_eq!(p.getpeername(fd), Err(Errno::ENOTCONN));
        let mut buf = [0u8; 1];
        assert_eq!(p.read(fd, &mut buf).await, Err(Errno::EAGAIN));
        p.sleep(ms(10)).await;
        assert_eq!(p.connect(fd, "10.0.0.2:80").await, Ok(()));
        assert_eq!(p.connect(fd, "10.0.0.2:80").await, Err(Errno::EISCONN));
        assert_eq!(p.getsockopt(fd, SOL_SOCKET, SO_ERROR)?, 0);
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn send_returns_before_delivery_and_blocks_when_the_buffer_is_full() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    sim.spawn(b, "lazy", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(ms(50)).await; // the buffers fill meanwhile
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        while total < 400_000 {
            total += p.read(fd, &mut buf).await?;
        }
        Ok(())
    });
    sim.spawn(a, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let _ = p.connect(fd, "10.0.0.2:80").await;
        p.sleep(ms(1)).await;
        let chunk = vec![9u8; 10_000];
        let mut accepted = 0;
        loop {
            match p.write(fd, &chunk).await {
                Ok(n) => accepted += n,
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(e),
            }
        }
        assert!(accepted > 0 && accepted < 400_000, "accepted {accepted}");
        // Blocking now: the rest goes as the reader drains.
        p.fcntl(fd, F_SETFL, 0)?;
        let mut left = 400_000 - accepted;
        while left > 0 {
            left -= p.write(fd, &chunk[..left.min(chunk.len())]).await?;
        }
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn data_survives_a_lossy_link_by_retransmission() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default().loss(0.05));
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    sim.spawn(b, "rx", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = [0u8; 4096];
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            g.borrow_mut().extend_from_slice(&buf[..n]);
        }
        Ok(())
    });
    sim.spawn(a, "tx", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        p.write(fd, &data).await?;
        p.close(fd)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let expected: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(*got.borrow(), expected);
    assert!(sim.counter(a, Mib::TcpRetransSegs) > 0);
}

#[test]
fn api_misuse_on_stream_sockets() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "p", |p| async move {
        let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let mut buf = [0u8; 4];
        assert_eq!(p.read(s, &mut buf).await, Err(Errno::ENOTCONN));
        assert_eq!(p.write(s, b"x").await, Err(Errno::EPIPE));
        assert_eq!(p.accept(s).await.map(|_| ()), Err(Errno::EINVAL));
        assert_eq!(p.getpeername(s), Err(Errno::ENOTCONN));
        assert_eq!(p.shutdown(s, SHUT_WR), Err(Errno::ENOTCONN));
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        assert_eq!(p.listen(u, 1), Err(Errno::EOPNOTSUPP));
        assert_eq!(p.accept(u).await.map(|_| ()), Err(Errno::EOPNOTSUPP));
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.listen(l, 1)?;
        assert_eq!(p.connect(l, "127.0.0.1:1").await, Err(Errno::EISCONN));
        let l2 = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l2, p.getsockname(l)?)
            .map_err(|e| assert_eq!(e, Errno::EADDRINUSE))
            .ok();
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

fn echo_pair(nodelay: bool) -> (Sim, HostId) {
    // 5 ms each way: ARP takes 10 ms, the handshake 10 ms more, so the
    // writes happen at 30 ms and their ACK cannot be back before 40 ms.
    let (mut sim, a, b) = two_hosts(LinkConfig::default().latency(ms(5)));
    sim.spawn(b, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = [0u8; 64];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if nodelay {
            p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)?;
        }
        p.connect(fd, "10.0.0.2:80").await?;
        p.sleep(ms(10)).await;
        p.write(fd, b"small one").await?;
        p.write(fd, b"small two").await?;
        p.sleep(ms(10)).await;
        p.close(fd)
    });
    (sim, a)
}

#[test]
fn nagle_holds_a_second_small_segment_until_the_first_is_acked() {
    let segs_at = |nodelay: bool| {
        let (mut sim, a) = echo_pair(nodelay);
        sim.run_until(ms(31));
        // Segments the client sent by then: SYN and ACK, then the data.
        sim.counter(a, Mib::TcpOutSegs)
    };
    assert_eq!(
        segs_at(false),
        3,
        "Nagle: the second small write waits for an ACK"
    );
    assert_eq!(
        segs_at(true),
        4,
        "TCP_NODELAY: both small writes go at once"
    );
}

/// A reader that is busy elsewhere leaves each small segment unacknowledged
/// until the delayed-ACK timer fires (a prompt reader would be acknowledged
/// as it drains the queue: ICSK_ACK_PUSHED).
#[test]
fn after_the_quick_acks_a_lone_segment_is_acked_40ms_later() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    sim.spawn(b, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(secs(5)).await; // busy: the ticks wait in the queue
        let mut buf = [0u8; 64];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)?;
        p.connect(fd, "10.0.0.2:80").await?;
        for _ in 0..20 {
            p.write(fd, b"tick").await?;
            p.sleep(ms(100)).await;
        }
        p.close(fd)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    // 16 quick ACKs, then delayed ones for the remaining ticks.
    assert!(
        sim.counter(b, Mib::TcpExtDelayedACKs) >= 3,
        "{}",
        sim.sh(b, "nstat")
    );
}

/// Two megabytes over a link that loses 2% of frames, with SACK on or
/// off; the run must end with everything delivered. Returns the sender.
fn lossy_bulk(sack: bool) -> (Sim, HostId) {
    let (mut sim, a, b) = two_hosts(LinkConfig::default().loss(0.02));
    if !sack {
        sim.sysctl(a, "net.ipv4.tcp_sack", "0").unwrap();
    }
    sim.spawn(b, "rx", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = [0u8; 65536];
        let mut total = 0;
        loop {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 2_000_000);
        Ok(())
    });
    sim.spawn(a, "tx", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.write(fd, &vec![5u8; 2_000_000]).await?;
        p.close(fd)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    (sim, a)
}

#[test]
fn with_sack_losses_are_found_by_rack_and_repaired_in_fast_recovery() {
    let (sim, a) = lossy_bulk(true);
    let nstat = sim.sh(a, "nstat");
    assert!(sim.counter(a, Mib::TcpExtTCPSackRecovery) > 0, "{nstat}");
    assert!(sim.counter(a, Mib::TcpExtTCPFastRetrans) > 0, "{nstat}");
}

#[test]
fn without_sack_loss_is_repaired_by_fast_retransmit_on_three_duplicate_acks() {
    let (sim, a) = lossy_bulk(false);
    let nstat = sim.sh(a, "nstat");
    assert_eq!(sim.counter(a, Mib::TcpExtTCPSackRecovery), 0, "{nstat}");
    assert!(sim.counter(a, Mib::TcpExtTCPFastRetrans) > 0, "{nstat}");
    // The tail loss probe needs SACK.
    assert_eq!(sim.counter(a, Mib::TcpExtTCPLossProbes), 0, "{nstat}");
}

#[test]
fn a_zero_window_is_probed_until_the_reader_makes_room() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    sim.spawn(b, "sleepy", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        p.sleep(secs(10)).await; // does not read: the window closes
        let mut buf = [0u8; 65536];
        let mut total = 0;
        while total < 1_000_000 {
            total += p.read(fd, &mut buf).await?;
        }
        Ok(())
    });
    sim.spawn(a, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.write(fd, &vec![1u8; 1_000_000]).await?;
        Ok(())
    });
    sim.run_until(secs(5));
    let ss = sim.sh(a, "ss -tan");
    let estab = ss
        .lines()
        .find(|l| l.starts_with("ESTAB"))
        .expect("connection");
    let send_q: u64 = estab.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(send_q > 0, "data waits in the sender's queue: {ss}");
    assert!(
        sim.counter(a, Mib::TcpExtTCPWinProbe) >= 2,
        "{}",
        sim.sh(a, "nstat")
    );
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn so_reuseport_listeners_share_the_connections() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default());
    let counts = Rc::new(RefCell::new(vec![0usize; 3]));
    for i in 0..3 {
        let c = counts.clone();
        sim.spawn(b, &format!("worker{i}"), move |p| async move {
            let l = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            p.setsockopt(l, SOL_SOCKET, SO_REUSEPORT, 1)?;
            p.bind(l, "0.0.0.0:8080")?;
            p.listen(l, 64)?;
            p.sleep(ms(200)).await;
            while let Ok((fd, _)) = p.accept(l).await {
                c.borrow_mut()[i] += 1;
                p.close(fd)?;
            }
            Ok(())
        });
    }
    sim.spawn(a, "clients", |p| async move {
        for _ in 0..30 {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            p.close(fd)?;
        }
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let counts = counts.borrow();
    assert_eq!(counts.iter().sum::<usize>(), 30);
    assert!(
        counts.iter().all(|&n| n > 0),
        "every listener of the group gets some: {counts:?}"
    );
}

#[test]
fn tcp_over_ipv6_loopback() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET6, SOCK_STREAM, 0)?;
        p.bind(l, "[::1]:443")?;
        p.listen(l, 4)?;
        let (fd, peer) = p.accept(l).await?;
        assert!(peer.to_string().starts_with("[::1]:"));
        let mut buf = [0u8; 16];
        let n = p.read(fd, &mut buf).await?;
        p.write(fd, &buf[..n]).await?;
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET6, SOCK_STREAM, 0)?;
        p.connect(fd, "[::1]:443").await?;
        p.write(fd, b"over v6").await?;
        let mut buf = [0u8; 16];
        let n = p.read(fd, &mut buf).await?;
        assert_eq!(&buf[..n], b"over v6");
        // The server has already exited: its end in FIN_WAIT1 (04), since
        // the ACK of its FIN waits for our delayed-ACK timer (a FIN puts
        // the receiver in pingpong mode), ours in CLOSE_WAIT (08), both in
        // /proc/net/tcp6 and none in /proc/net/tcp.
        let table = p.sh("cat /proc/net/tcp6");
        assert_eq!(table.lines().count(), 3, "{table}");
        assert!(table.contains(" 04 ") && table.contains(" 08 "), "{table}");
        assert_eq!(p.sh("cat /proc/net/tcp").lines().count(), 1);
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

/// Both ends connect to each other at the same instant: the SYNs cross,
/// each side goes SYN_SENT -> SYN_RECV -> ESTABLISHED (RFC 793's
/// simultaneous open), and one connection results.
#[test]
fn simultaneous_open() {
    let (mut sim, a, b) = two_hosts(LinkConfig::default().latency(ms(1)));
    sim.set_tracing(true);
    for (host, me, peer) in [
        (a, "10.0.0.1:5000", "10.0.0.2:6000"),
        (b, "10.0.0.2:6000", "10.0.0.1:5000"),
    ] {
        sim.spawn(host, "peer", move |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(fd, me)?;
            p.connect(fd, peer).await?;
            p.write(fd, b"hi").await?;
            let mut buf = [0u8; 8];
            assert_eq!(p.read(fd, &mut buf).await?, 2);
            p.close(fd)
        });
    }
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let trace = sim.trace_text();
    assert_eq!(trace.matches("simultaneous open").count(), 2, "{trace}");
    // Both closed at once too: both pass through CLOSING.
    assert_eq!(trace.matches("FIN_WAIT1 -> CLOSING").count(), 2, "{trace}");
    assert_eq!(sim.counter(a, Mib::TcpActiveOpens), 1);
}

/// Nagle holds back only the last, still-growing segment of the write
/// queue: a megabyte queued at once over loopback goes out back to back
/// instead of one segment per delayed ACK (which took 0.6 s before).
#[test]
fn a_queued_megabyte_is_not_held_back_segment_by_segment() {
    let (mut sim, h) = one_host();
    let done = Rc::new(RefCell::new(None));
    let d = done.clone();
    sim.spawn(h, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 65536];
        let mut got = 0;
        while got < 1 << 20 {
            let n = p.read(fd, &mut buf).await?;
            assert!(n > 0, "EOF after {got} bytes");
            got += n;
        }
        *d.borrow_mut() = Some(p.now());
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:8080").await?;
        let buf = vec![7u8; 65536];
        for _ in 0..16 {
            p.write(fd, &buf).await?;
        }
        p.close(fd)
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
    let at = done.borrow().expect("the server read everything");
    assert!(at <= ms(40), "the last byte arrived at {at} ns");
}

/// `getsockopt(TCP_INFO)`: the connection's numbers, and the errno a socket
/// that is not TCP gives. (The values are checked against this machine's
/// kernel by `packetdrill/scripts/tcp-info-basics.pkt`.)
#[test]
fn tcp_info_reports_the_connection_and_refuses_other_sockets() {
    let (mut sim, h) = one_host();
    let got = Rc::new(RefCell::new(None));
    let out = got.clone();
    sim.spawn(h, "app", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:7000")?;
        p.listen(l, 1)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, "127.0.0.1:7000").await?;
        let (a, _) = p.accept(l).await?;
        let before = p.tcp_info(c)?;
        p.write(c, &[0; 100]).await?;
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let udp = p.tcp_info(u).err();
        let badf = p.tcp_info(99).err();
        *out.borrow_mut() = Some((before, p.tcp_info(a)?, udp, badf));
        Ok(())
    });
    assert!(sim.run().is_ok());
    let (client, server, udp, badf) = got.borrow_mut().take().expect("ran");
    assert_eq!(client.state, 1, "ESTABLISHED");
    assert_eq!(client.snd_cwnd, 10);
    assert_eq!(
        client.options,
        1 | 2 | 4,
        "timestamps, SACK and window scaling"
    );
    assert_eq!(client.snd_ssthresh, 0x7fff_ffff, "no loss yet");
    assert_eq!(server.unacked, 0);
    assert_eq!(server.state, 1, "{server:?}");
    assert_eq!(udp, Some(Errno::EOPNOTSUPP));
    assert_eq!(badf, Some(Errno::EBADF));
}
