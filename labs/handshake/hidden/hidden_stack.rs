//! Hidden: your queues inside the full stack. Each scenario runs on your
//! queues and on the stack's own; what the programs saw, `ss`, `nstat` and
//! `/proc/net/tcp` must be the same.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

use std::net::Ipv4Addr;

/// Spoofed SYNs (nobody answers the SYN-ACKs) into `listen(fd, 4)` with
/// SYN cookies `cookies`, and a real client at 0.5 s: the SYN queue
/// fills, requests have their SYN-ACKs resent and expire; samples of
/// `/proc/net/tcp` (SYN_RECV rows carry their timer and retransmissions)
/// and of the counters along the way.
fn flood(student: bool, cookies: &str, floods: u64) -> Vec<String> {
    let (mut sim, client, server) = world(student);
    sim.add_route(server, "default", "10.0.0.1").ok();
    sim.sysctl(server, "net.ipv4.tcp_syncookies", cookies).ok();
    let log = Log::default();
    let l = log.clone();
    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 4)?;
        let (_fd, peer) = p.accept(lfd).await?;
        note(&l, format!("{} ms: accept() -> {peer}", p.now() / ms(1)));
        p.sleep(secs(100)).await; // the listener stays open
        Ok(())
    });
    let l = log.clone();
    sim.spawn(client, "client", move |p| async move {
        p.sleep(ms(500)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let r = p.connect(fd, "10.0.0.2:80").await;
        note(&l, format!("{} ms: connect() -> {r:?}", p.now() / ms(1)));
        Ok(())
    });
    let mac = mac_of(&sim.sh(server, "ip -s link"), "eth0");
    for i in 0..floods {
        sim.run_until(i * ms(50));
        let src = Ipv4Addr::new(198, 51, 100, i as u8 + 1);
        let frame = spoofed_syn(mac, src, 1024 + i as u16, [10, 0, 0, 2], 80);
        sim.inject_frame(server, "eth0", frame).ok();
    }
    for t in [
        ms(900),
        ms(1100),
        ms(3200),
        secs(20),
        ms(62_900),
        ms(63_400),
        secs(70),
    ] {
        sim.run_until(t);
        note(&log, format!("== {} ms", t / ms(1)));
        note(&log, sim.sh(server, "cat /proc/net/tcp"));
        for line in grep(
            &sim.sh(server, "nstat"),
            &["Listen", "Syncookies", "Retrans"],
        ) {
            note(&log, line);
        }
    }
    let r = sim.run();
    note(&log, format!("ran to the end: {}", r.is_ok()));
    log.take()
}

/// Two clients into a queue with one free slot at the same instant: the
/// second final ACK overflows (`abort` sets `tcp_abort_on_overflow`).
fn burst(student: bool, abort: &str) -> Vec<String> {
    let (mut sim, client, server) = world(student);
    sim.sysctl(server, "net.ipv4.tcp_abort_on_overflow", abort)
        .ok();
    let log = Log::default();
    let l = log.clone();
    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 2)?;
        p.sleep(secs(1)).await;
        note(&l, p.sh("ss -lnt"));
        for _ in 0..4 {
            let (fd, peer) = p.accept(lfd).await?;
            note(&l, format!("{} ms: accept() -> {peer}", p.now() / ms(1)));
            let mut buf = [0u8; 16];
            let n = p.read(fd, &mut buf).await;
            note(&l, format!("read -> {n:?}"));
        }
        Ok(())
    });
    for (i, at) in [(1u64, 10u64), (2, 20), (3, 30), (4, 30)] {
        let l = log.clone();
        sim.spawn(client, &format!("client-{i}"), move |p| async move {
            p.sleep(ms(at)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            p.write(fd, b"hello").await?;
            let mut buf = [0u8; 16];
            let r = p.read(fd, &mut buf).await;
            note(
                &l,
                format!("{} ms: client {i} read -> {r:?}", p.now() / ms(1)),
            );
            Ok(())
        });
    }
    sim.run_until(secs(4));
    for line in grep(
        &sim.sh(server, "nstat"),
        &["Listen", "Rsts", "Retrans", "Passive"],
    ) {
        note(&log, line);
    }
    note(&log, sim.sh(server, "ss -tan"));
    let r = sim.run_until(secs(30));
    note(&log, format!("{r:?}"));
    log.take()
}

/// A listener with backlog 3 and eight clients; `ss -lnt` as it fills
/// and as `accept()` drains it, then the listener closes with children
/// still queued.
fn fill_and_close(student: bool) -> Vec<String> {
    let (mut sim, client, server) = world(student);
    let log = Log::default();
    let l = log.clone();
    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:9000")?;
        p.listen(lfd, 3)?;
        for _ in 0..3 {
            p.sleep(ms(400)).await;
            note(&l, p.sh("ss -lnt"));
            let (_fd, peer) = p.accept(lfd).await?;
            note(&l, format!("{} ms: accept() -> {peer}", p.now() / ms(1)));
        }
        note(&l, p.sh("ss -tan"));
        p.close(lfd)?;
        Ok(())
    });
    for i in 1..=8u64 {
        let l = log.clone();
        sim.spawn(client, &format!("c{i}"), move |p| async move {
            p.sleep(ms(5 * i)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            let r = p.connect(fd, "10.0.0.2:9000").await;
            note(&l, format!("{} ms: c{i} connect -> {r:?}", p.now() / ms(1)));
            let mut buf = [0u8; 4];
            let r = p.read(fd, &mut buf).await;
            note(&l, format!("{} ms: c{i} read -> {r:?}", p.now() / ms(1)));
            Ok(())
        });
    }
    let r = sim.run_until(secs(200));
    note(&log, format!("{r:?}"));
    for line in grep(&sim.sh(server, "nstat"), &["Listen", "Rsts"]) {
        note(&log, line);
    }
    log.take()
}

lab_receipt::graded! {
    fn syn_floods_and_an_unanswered_syn_match_the_stack() {
        for (cookies, floods) in [("0", 12), ("1", 12), ("1", 1)] {
            let want = flood(false, cookies, floods);
            assert!(want.iter().any(|l| l.contains(" 03 ")), "SYN_RECV rows: {want:#?}");
            assert_eq!(flood(true, cookies, floods), want, "cookies {cookies}, {floods} SYNs");
        }
    }

    fn an_overflowing_final_ack_is_dropped_as_the_stack_does() {
        let want = burst(false, "0");
        assert_eq!(burst(true, "0"), want);
    }

    fn an_overflowing_final_ack_is_reset_with_abort_on_overflow() {
        let want = burst(false, "1");
        assert_eq!(burst(true, "1"), want);
    }

    fn ss_shows_the_accept_queue_and_close_resets_the_children() {
        let want = fill_and_close(false);
        assert_eq!(fill_and_close(true), want);
    }
}
