//! What only the simulation can show of `AF_UNIX` sockets: who sleeps,
//! who wakes, when, and what a deadlock report says. (What a program sees
//! call by call is checked against the real kernel in
//! `tests/differential_unix.rs`.)

use std::cell::RefCell;
use std::rc::Rc;

use crate::prelude::*;

fn one_host() -> (Sim, HostId) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    (sim, h)
}

/// A writer blocked on a full send buffer is woken only once the reader
/// has drained it to a quarter (`unix_writable()`), not at every read; the
/// bytes arrive whole and in order.
#[test]
fn a_blocked_writer_wakes_at_a_quarter_of_its_buffer() {
    let (mut sim, h) = one_host();
    const TOTAL: usize = 400_000;
    let got = Rc::new(RefCell::new(Vec::new()));
    let seen = got.clone();
    sim.spawn(h, "parent", move |p| async move {
        let (a, b) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
        p.fork("reader", move |c| async move {
            c.close(a)?;
            let mut buf = vec![0u8; 16384];
            loop {
                match c.recv(b, &mut buf, MSG_DONTWAIT).await {
                    Ok(0) => return Ok(()),
                    Ok(n) => seen.borrow_mut().extend_from_slice(&buf[..n]),
                    Err(Errno::EAGAIN) => {}
                    Err(e) => return Err(e),
                }
                c.sleep(ms(1)).await;
            }
        })?;
        p.close(b)?;
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        assert_eq!(p.write(a, &data).await?, TOTAL);
        p.close(a)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let got = got.borrow();
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    // The reader never sleeps on a queue (it polls with MSG_DONTWAIT), so
    // every wakeup is the writer's: one per three quarters of 212992
    // bytes drained, not one per 16 KiB read.
    let wakeups = sim.costs(h).wakeups;
    assert!((1..=4).contains(&wakeups), "{wakeups} wakeups");
}

/// Two processes that both write more than the buffers hold before
/// reading: the run ends in a deadlock whose report names the unix
/// sockets, their charge and what the peer left unread.
#[test]
fn both_writing_first_is_a_reported_deadlock() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "parent", |p| async move {
        let (a, b) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
        p.fork("child", move |c| async move {
            c.close(a)?;
            c.write(b, &[1u8; 300_000]).await?;
            Ok(())
        })?;
        p.close(b)?;
        p.write(a, &[2u8; 300_000]).await?;
        Ok(())
    });
    let report = sim.run().to_string();
    assert!(report.starts_with("DEADLOCK"), "{report}");
    assert_eq!(
        report
            .matches("waiting for send buffer space on unix stream socket:[")
            .count(),
        2,
        "{report}"
    );
    assert!(report.contains("sk_sndbuf 212992"), "{report}");
    assert!(report.contains("unread bytes and must read"), "{report}");
}

/// A datagram sender to a receiver holding `max_dgram_qlen + 1` datagrams
/// sleeps on the receiver's `peer_wait`, holding the datagram it already
/// copied (and its charge), until the receiver reads.
#[test]
fn a_datagram_sender_sleeps_until_the_receiver_reads() {
    let (mut sim, h) = one_host();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l1, l2) = (log.clone(), log.clone());
    sim.spawn(h, "receiver", move |p| async move {
        let r = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        p.bind(r, "@logd")?;
        p.sleep(ms(10)).await;
        let ss = p.sh("ss -xa");
        // The sender is the unnamed datagram socket.
        let sender_q = ss.lines().find_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            (t.first() == Some(&"u_dgr") && t.get(4) == Some(&"*")).then(|| t[3].to_string())
        });
        l1.borrow_mut().push(format!("sender Send-Q {sender_q:?}"));
        let mut buf = [0u8; 16];
        for _ in 0..15 {
            p.recv(r, &mut buf, 0).await?;
        }
        Ok(())
    });
    sim.spawn(h, "sender", move |p| async move {
        p.sleep(ms(1)).await;
        let s = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        for i in 0..15 {
            p.sendto(s, &[i as u8], 0, "@logd").await?;
            l2.borrow_mut().push(format!("sent {i} at {}", p.now()));
        }
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    let log = log.borrow();
    // 11 fit (qlen > 10 is full); the 12th waits for the first read.
    assert_eq!(log[10], format!("sent 10 at {}", ms(1)));
    assert_eq!(log[11], "sender Send-Q Some(\"9216\")", "{log:?}");
    assert_eq!(log[12], format!("sent 11 at {}", ms(10)));
}

/// With nobody reading, the datagram sender's sleep is a deadlock, and the
/// report says on whose queue it waits.
#[test]
fn a_datagram_sender_to_a_reader_that_never_reads_is_reported() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "logd", |p| async move {
        let r = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        p.bind(r, "/dev/log")?;
        let (x, _y) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
        let mut buf = [0u8; 1];
        p.read(x, &mut buf).await?;
        Ok(())
    });
    sim.spawn(h, "app", |p| async move {
        let s = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        p.connect(s, "/dev/log").await?;
        for _ in 0..12 {
            p.send(s, b"log line", 0).await?;
        }
        Ok(())
    });
    let report = sim.run().to_string();
    assert!(report.contains(
        "room in the receive queue of unix dgram socket:[40001] /dev/log (11 datagrams queued, more than max_dgram_qlen 10"
    ), "{report}");
}

/// A `connect()` finding the backlog full (`backlog + 1` waiting) sleeps
/// until an `accept()` makes room; one that never gets room is reported.
#[test]
fn connect_sleeps_on_a_full_backlog_until_an_accept() {
    let (mut sim, h) = one_host();
    let done = Rc::new(RefCell::new(Vec::new()));
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(l, "@srv")?;
        p.listen(l, 1)?;
        p.sleep(ms(10)).await;
        for _ in 0..3 {
            p.accept(l).await?;
        }
        Ok(())
    });
    for i in 0..3 {
        let done = done.clone();
        sim.spawn(h, &format!("client{i}"), move |p| async move {
            let c = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
            p.connect(c, "@srv").await?;
            done.borrow_mut().push((i, p.now()));
            Ok(())
        });
    }
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(*done.borrow(), vec![(0, 0), (1, 0), (2, ms(10))]);

    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(l, "@srv")?;
        p.listen(l, 0)?;
        for _ in 0..2 {
            let c = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
            p.connect(c, "@srv").await?;
        }
        Ok(())
    });
    let report = sim.run().to_string();
    assert!(
        report.contains(
            "blocked in connect(5, @srv), waiting for room in the backlog of unix stream socket:[40001] @srv (1 waiting for accept(), more than its backlog 0)"
        ),
        "{report}"
    );
}

/// Closing a listener wakes the `connect()`s waiting for room: they find
/// nobody listening.
#[test]
fn closing_the_listener_refuses_waiting_connects() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(l, "@srv")?;
        p.listen(l, 0)?;
        p.sleep(ms(5)).await;
        p.close(l)
    });
    let results = Rc::new(RefCell::new(Vec::new()));
    for i in 0..2 {
        let results = results.clone();
        sim.spawn(h, &format!("client{i}"), move |p| async move {
            p.sleep(ms(1)).await;
            let c = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
            let r = p.connect(c, "@srv").await;
            let mut buf = [0u8; 4];
            let read = if r.is_ok() {
                Some(p.recv(c, &mut buf, 0).await)
            } else {
                None
            };
            results.borrow_mut().push((i, r, read, p.now()));
            Ok(())
        });
    }
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    // The first got in and is reset by the close (never accepted); the
    // second slept until the close and is refused.
    results.borrow_mut().sort_by_key(|r| r.0);
    assert_eq!(
        *results.borrow(),
        vec![
            (0, Ok(()), Some(Err(Errno::ECONNRESET)), ms(5)),
            (1, Err(Errno::ECONNREFUSED), None, ms(5)),
        ]
    );
}

/// After `fork()` both processes hold the socket: the reader sees end of
/// file only once every copy of the writing end is closed. A parent that
/// forgets to close its copy waits for ever.
#[test]
fn end_of_file_needs_every_copy_closed() {
    for parent_closes in [true, false] {
        let (mut sim, h) = one_host();
        let got = Rc::new(RefCell::new(Vec::new()));
        let seen = got.clone();
        sim.spawn(h, "parent", move |p| async move {
            let (a, b) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
            p.fork("child", move |c| async move {
                c.close(a)?;
                c.write(b, b"hi").await?;
                Ok(())
            })?;
            if parent_closes {
                p.close(b)?;
            }
            let mut buf = [0u8; 8];
            loop {
                let n = p.read(a, &mut buf).await?;
                seen.borrow_mut().push(n);
                if n == 0 {
                    return Ok(());
                }
            }
        });
        let report = sim.run();
        assert_eq!(
            *got.borrow(),
            if parent_closes { vec![2, 0] } else { vec![2] }
        );
        assert_eq!(report.deadlock.is_some(), !parent_closes, "{report}");
        if !parent_closes {
            assert!(
                report.to_string().contains("blocked in read(3, buf of 8)"),
                "{report}"
            );
        }
    }
}

/// `SO_PEERCRED`: the creator of a pair, the client as seen by the server,
/// the listener as seen by the client; nobody on an unconnected socket.
#[test]
fn peercred_names_the_process_at_the_other_end() {
    let (mut sim, h) = one_host();
    let creds = Rc::new(RefCell::new(Vec::new()));
    let c1 = creds.clone();
    let server = sim.spawn(h, "server", move |p| async move {
        let l = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.bind(l, "@srv")?;
        p.listen(l, 1)?;
        let (s, _) = p.accept(l).await?;
        c1.borrow_mut().push(("accepted", p.peercred(s)?));
        c1.borrow_mut().push(("listener", p.peercred(l)?));
        let (x, _) = p.socketpair(AF_UNIX, SOCK_DGRAM, 0)?;
        c1.borrow_mut().push(("pair", p.peercred(x)?));
        let u = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        c1.borrow_mut().push(("unconnected", p.peercred(u)?));
        Ok(())
    });
    let c2 = creds.clone();
    let client = sim.spawn(h, "client", move |p| async move {
        let c = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        p.connect(c, "@srv").await?;
        c2.borrow_mut().push(("client", p.peercred(c)?));
        Ok(())
    });
    assert!(sim.run().is_ok());
    let cred = |pid| Ucred {
        pid: Some(pid),
        uid: 0,
        gid: 0,
    };
    let creds = creds.borrow();
    let of = |what: &str| creds.iter().find(|(w, _)| *w == what).map(|(_, c)| *c);
    assert_eq!(of("client"), Some(cred(server)));
    assert_eq!(of("accepted"), Some(cred(client)));
    assert_eq!(of("listener"), Some(cred(server)));
    assert_eq!(of("pair"), Some(cred(server)));
    assert_eq!(
        of("unconnected"),
        Some(Ucred {
            pid: None,
            uid: u32::MAX,
            gid: u32::MAX
        })
    );
}

/// Bad addresses and arguments get the kernel's errno, never a panic.
#[test]
fn bad_input_gets_errno() {
    assert_eq!(UnixAddr::path(""), Err(Errno::EINVAL));
    assert_eq!(UnixAddr::path([b'a'; 109]), Err(Errno::EINVAL));
    assert!(UnixAddr::path([b'a'; 108]).is_ok());
    assert_eq!(UnixAddr::abstract_name([b'a'; 108]), Err(Errno::EINVAL));
    assert_eq!(
        UnixAddr::abstract_name([b'a'; 107]).map(|a| a.addrlen()),
        Ok(110)
    );
    let (mut sim, h) = one_host();
    sim.spawn(h, "p", |p| async move {
        let s = p.socket(AF_UNIX, SOCK_STREAM, 0)?;
        let d = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        // unix_validate_addr(): another family is EINVAL.
        assert_eq!(p.bind(s, "127.0.0.1:80"), Err(Errno::EINVAL));
        assert_eq!(p.connect(s, "127.0.0.1:80").await, Err(Errno::EINVAL));
        assert_eq!(p.connect(s, SockAddr::Unspec).await, Err(Errno::EINVAL));
        assert_eq!(
            p.sendto(d, b"x", 0, "127.0.0.1:80").await,
            Err(Errno::EINVAL)
        );
        // unix_shutdown(): how outside SHUT_RD..SHUT_RDWR.
        assert_eq!(p.shutdown(s, 3), Err(Errno::EINVAL));
        assert_eq!(p.shutdown(s, -1), Err(Errno::EINVAL));
        // An inet socket given a unix address: shorter than a
        // sockaddr_in it is EINVAL, else the family is wrong (inet_bind(),
        // udp_sendmsg() and tcp_v4_connect() check the length first).
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let t = p.socket(AF_INET, SOCK_STREAM, 0)?;
        let long = "@a-name-of-twenty-bytes";
        assert_eq!(p.bind(u, "@x"), Err(Errno::EINVAL));
        assert_eq!(p.bind(u, long), Err(Errno::EAFNOSUPPORT));
        assert_eq!(p.sendto(u, b"x", 0, "@x").await, Err(Errno::EINVAL));
        assert_eq!(p.sendto(u, b"x", 0, long).await, Err(Errno::EAFNOSUPPORT));
        assert_eq!(p.connect(t, "@x").await, Err(Errno::EINVAL));
        assert_eq!(p.connect(t, long).await, Err(Errno::EAFNOSUPPORT));
        // udpv6_sendmsg() takes no third family.
        let u6 = p.socket(AF_INET6, SOCK_DGRAM, 0)?;
        assert_eq!(p.sendto(u6, b"x", 0, long).await, Err(Errno::EINVAL));
        assert_eq!(
            p.socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(p.ioctl(s, 0x1234), Err(Errno::ENOTTY));
        assert_eq!(
            p.setsockopt(s, IPPROTO_TCP, TCP_NODELAY, 1),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(p.getsockopt(s, SOL_SOCKET, SO_DOMAIN), Ok(AF_UNIX));
        assert_eq!(p.unlink("/nowhere"), Err(Errno::ENOENT));
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

/// `socketpair()` at the fd limit: both fds are reserved first, so with
/// room for one only it fails and takes none.
#[test]
fn socketpair_needs_two_free_fds() {
    let (mut sim, h) = one_host();
    sim.spawn(h, "p", |p| async move {
        p.set_nofile_limit(4);
        assert_eq!(p.socketpair(AF_UNIX, SOCK_STREAM, 0), Err(Errno::EMFILE));
        assert_eq!(p.open_fds(), 3);
        p.set_nofile_limit(5);
        assert_eq!(p.socketpair(AF_UNIX, SOCK_STREAM, 0), Ok((3, 4)));
        Ok(())
    });
    assert!(sim.run().is_ok());
}
