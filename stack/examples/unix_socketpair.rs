//! Two processes on one machine talking through `AF_UNIX` sockets.
//!
//! A parent makes a `socketpair()` and `fork()`s: each process closes the
//! end it does not use and keeps the other (the child inherits the parent's
//! fd table, so both start with both ends). Then:
//!
//! 1. a **stream** pair: two writes arrive as one byte stream; the bytes sit
//!    on the *reader's* receive queue but are charged to the *writer's*
//!    send buffer (see `ss -xa`); `shutdown(SHUT_WR)` is the reader's end
//!    of file;
//! 2. a **datagram** pair: each read takes one whole message, cut to the
//!    buffer (`MSG_TRUNC` tells the real length);
//! 3. the **queue limit**: a logger bound to `/run/log.sock` that does not
//!    read; a client's non-blocking sends stop with `EAGAIN` after
//!    `net.unix.max_dgram_qlen + 1` = 11 datagrams, and a blocking one
//!    sleeps on the logger's `peer_wait` until it reads. A socketpair's
//!    peer is connected back, so there only the send buffer limits;
//! 4. what unix sockets **skip**: the same 64 KiB over a unix stream and
//!    over TCP on 127.0.0.1, with the counters and the layers the trace
//!    went through;
//! 5. **passing an open file** (`SCM_RIGHTS`): a dispatcher accepts a TCP
//!    connection and hands the socket to a worker over the socketpair; the
//!    worker's new fd is the same socket (the same `socket:[inode]`).
//!
//! Run it with `cargo run -q -p stack --example unix_socketpair`.
//! Knobs: --dgram-buf, --qlen, --kib (cargo run -q -p stack --example
//! unix_socketpair -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("unix_socketpair")
        .int(
            "dgram-buf",
            8,
            1..=64,
            "part 2: the child's recv() buffer, in bytes",
        )
        .int(
            "qlen",
            10,
            0..=100,
            "part 3: net.unix.max_dgram_qlen, in datagrams",
        )
        .int(
            "kib",
            64,
            4..=1024,
            "part 4: KiB sent over each kind of stream",
        )
        .parse();
    let dgram_buf = k.int("dgram-buf") as usize;
    let qlen = k.int("qlen") as usize;
    let kib = k.int("kib") as usize;
    println!("== 1. A stream pair: a byte stream, charged to the writer ==\n");
    stream_pair();
    println!("\n== 2. A datagram pair: boundaries kept, long messages cut ==\n");
    datagram_pair(dgram_buf);
    println!("\n== 3. A receiver that does not read: max_dgram_qlen ==\n");
    queue_limit(qlen);
    println!("\n== 4. {kib} KiB over a unix stream and over TCP on loopback ==\n");
    unix_vs_tcp(kib * 1024);
    println!("\n== 5. Handing a connection to a worker: SCM_RIGHTS ==\n");
    pass_a_connection();
}

fn stream_pair() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "parent", |p| async move {
        // ANCHOR: stream_pair
        let (a, b) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
        p.log(format!("socketpair() -> {a}, {b}"));
        p.fork("child", move |c| async move {
            c.close(a)?;
            c.sleep(ms(1)).await;
            let mut buf = [0u8; 100];
            loop {
                let n = c.read(b, &mut buf).await?;
                if n == 0 {
                    c.log("read() -> 0: end of file (the parent shut down writing)");
                    return Ok(());
                }
                c.log(format!(
                    "read() -> {n} bytes: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ));
            }
        })?;
        p.close(b)?;
        p.write(a, b"hello, ").await?;
        p.write(a, b"child").await?;
        p.log("wrote 7 + 5 bytes; the child has not read yet:");
        print!("{}", p.sh("ss -xa"));
        p.shutdown(a, SHUT_WR)?;
        // ANCHOR_END: stream_pair
        Ok(())
    });
    sim.run();
}

fn datagram_pair(buf_len: usize) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "parent", move |p| async move {
        let (a, b) = p.socketpair(AF_UNIX, SOCK_DGRAM, 0)?;
        p.fork("child", move |c| async move {
            c.close(a)?;
            c.sleep(ms(1)).await;
            let mut buf = vec![0u8; buf_len];
            for _ in 0..3 {
                let n = c.recv(b, &mut buf, MSG_TRUNC).await?;
                let got = String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned();
                if n > buf.len() {
                    c.log(format!(
                        "recv({buf_len} bytes, MSG_TRUNC) -> {n}: got {got:?}, the other {} bytes are gone",
                        n - buf.len()
                    ));
                } else {
                    c.log(format!("recv({buf_len} bytes, MSG_TRUNC) -> {n}: {got:?}"));
                }
            }
            Ok(())
        })?;
        p.close(b)?;
        for m in ["one", "two", "three, four, five"] {
            p.send(a, m.as_bytes(), 0).await?;
        }
        p.log("sent 3 datagrams of 3, 3 and 17 bytes");
        Ok(())
    });
    sim.run();
}

fn queue_limit(qlen: usize) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.sysctl(h, "net.unix.max_dgram_qlen", &qlen.to_string())
        .expect("known sysctl");
    sim.spawn(h, "logger", move |p| async move {
        let fd = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        p.bind(fd, "/run/log.sock")?;
        p.log("bound to /run/log.sock; busy for 10 ms, not reading");
        p.sleep(ms(10)).await;
        print!("{}", p.sh("ss -xa"));
        p.log(format!(
            "Recv-Q of a datagram socket: the bytes of its first datagram; Send-Q: \
             the truesize charged to the client, {} x 768 ({} queued, 1 held by the \
             sleeping send)",
            qlen + 2,
            qlen + 1
        ));
        let mut buf = [0u8; 64];
        for _ in 0..qlen + 3 {
            p.recv(fd, &mut buf, 0).await?;
        }
        p.log(format!("read {} datagrams", qlen + 3));
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        p.sleep(ms(1)).await;
        let fd = p.socket(AF_UNIX, SOCK_DGRAM, 0)?;
        p.connect(fd, "/run/log.sock").await?;
        let mut sent = 0;
        let err = loop {
            match p
                .send(fd, b"a log line from the client", MSG_DONTWAIT)
                .await
            {
                Ok(_) => sent += 1,
                Err(e) => break e,
            }
        };
        p.log(format!(
            "non-blocking: {sent} datagrams queued, then {}",
            err.name()
        ));
        p.log("blocking send():");
        p.send(fd, b"a log line from the client", 0).await?;
        p.log("... returned once the logger read one");
        p.send(fd, b"a log line from the client", 0).await?;

        let (x, _y) = p.socketpair(AF_UNIX, SOCK_DGRAM, 0)?;
        let mut pair = 0;
        while p
            .send(x, b"a log line from the client", MSG_DONTWAIT)
            .await
            .is_ok()
        {
            pair += 1;
        }
        p.log(format!(
            "to a socketpair peer (connected back): {pair} datagrams before EAGAIN, \
             {} bytes of truesize charged to a send buffer of 212992",
            p.ioctl(x, SIOCOUTQ)?
        ));
        Ok(())
    });
    let report = sim.run();
    println!("\nWhere the blocking send() slept:");
    for line in sim
        .trace_text()
        .lines()
        .filter(|l| l.contains("sleeps in send") || l.contains("wakes pid 101"))
    {
        println!("{line}");
    }
    print!("\n{report}");
}

/// Moves `total` bytes (64 KiB) in 4 KiB writes from a parent to a forked
/// reader, over a unix socketpair and over a TCP connection on loopback,
/// and compares what each cost.
fn unix_vs_tcp(total: usize) {
    let mut rows = Vec::new();
    for unix in [true, false] {
        let mut sim = Sim::new(1);
        let h = sim.add_host("box");
        sim.spawn(h, "pair", move |p| async move {
            let (w, r) = if unix {
                p.socketpair(AF_UNIX, SOCK_STREAM, 0)?
            } else {
                let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
                p.bind(l, "127.0.0.1:9000")?;
                p.listen(l, 1)?;
                let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
                p.connect(c, "127.0.0.1:9000").await?;
                let (s, _) = p.accept(l).await?;
                (c, s)
            };
            p.fork("reader", move |c| async move {
                c.close(w)?;
                let mut buf = vec![0u8; 65536];
                let mut got = 0;
                while got < total {
                    got += c.read(r, &mut buf).await?;
                }
                Ok(())
            })?;
            p.close(r)?;
            for chunk in vec![7u8; total].chunks(4096) {
                p.write(w, chunk).await?;
            }
            Ok(())
        });
        let before = sim.costs(h);
        let trace_from = sim.trace_events().len();
        let report = sim.run();
        if !report.is_ok() {
            print!("{report}");
        }
        let c = sim.costs(h);
        let layers = |name: &str| {
            sim.trace_events()[trace_from..]
                .iter()
                .filter(|e| e.layer.name() == name)
                .count()
        };
        rows.push((
            if unix {
                "AF_UNIX stream"
            } else {
                "TCP, 127.0.0.1"
            },
            c.copied_from_user - before.copied_from_user,
            c.copied_to_user - before.copied_to_user,
            c.softirq_runs - before.softirq_runs,
            [
                layers("tcp"),
                layers("ip"),
                layers("dev"),
                layers("softirq"),
            ],
        ));
    }
    println!(
        "{:<16} {:>16} {:>14} {:>12}   trace steps in: tcp  ip  dev  softirq",
        "", "copy_from_user", "copy_to_user", "softirq runs"
    );
    for (name, from, to, softirq, l) in rows {
        println!(
            "{name:<16} {from:>16} {to:>14} {softirq:>12}   {:>18} {:>3} {:>4} {:>8}",
            l[0], l[1], l[2], l[3]
        );
    }
    println!(
        "\nThe same bytes are copied in and out either way. A unix write links its skb\n\
         straight onto the peer's receive queue: no TCP or IP header, no device, no\n\
         softirq, no ACKs, and no window to wait for."
    );
}

fn pass_a_connection() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "dispatcher", |p| async move {
        let (to_worker, from_dispatcher) = p.socketpair(AF_UNIX, SOCK_STREAM, 0)?;
        p.fork("worker", move |w| async move {
            w.close(to_worker)?;
            let mut byte = [0u8; 1];
            let got = w.recv_fds(from_dispatcher, &mut byte, 1, 0).await?;
            let conn = got.fds[0];
            w.log(format!("recvmsg() -> {} byte and fd {conn}:", got.len));
            print!("{}", w.fd_table());
            let mut req = [0u8; 64];
            let n = w.read(conn, &mut req).await?;
            w.log(format!(
                "read {:?} from the client on fd {conn}",
                String::from_utf8_lossy(&req[..n])
            ));
            w.write(conn, b"pong").await?;
            w.close(conn)?;
            Ok(())
        })?;
        p.close(from_dispatcher)?;
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let (conn, peer) = p.accept(l).await?;
        p.log(format!("accept() -> fd {conn} from {peer}:"));
        print!("{}", p.fd_table());
        p.send_fds(to_worker, b"!", &[conn], 0).await?;
        p.close(conn)?;
        p.log(format!(
            "sendmsg(SCM_RIGHTS [{conn}]) to the worker, then close({conn}): the connection lives on in the worker"
        ));
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:8080").await?;
        p.write(fd, b"ping").await?;
        let mut buf = [0u8; 16];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!("got {:?} back", String::from_utf8_lossy(&buf[..n])));
        Ok(())
    });
    let report = sim.run();
    print!("\n{report}");
}
