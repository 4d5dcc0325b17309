//! Every example is the book's snippet: its output is snapshot-tested, and
//! running it twice must print the same bytes (the simulation is
//! deterministic).
//!
//! After an intended change, review the new output with `cargo insta
//! review`, or accept it with `INSTA_UPDATE=always cargo nextest run -p
//! stack --test examples`.

mod common;

/// Runs an example and returns its stdout, failing on a non-zero exit.
fn run_example(name: &str) -> String {
    let output = common::examples::run(name, &[]);
    assert!(
        output.status.success(),
        "example {name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("examples print UTF-8")
}

fn check(name: &str) -> String {
    let first = run_example(name);
    let second = run_example(name);
    assert_eq!(
        first, second,
        "example {name} printed different bytes on a second run"
    );
    insta::assert_snapshot!(name, first);
    first
}

#[test]
fn packet_journey() {
    let out = check("packet_journey");
    // Every layer the datagram crosses appears, in order.
    let layers = [
        "write(3, 13 bytes)",
        "copy_from_user",
        "udp_sendmsg",
        "ip_output",
        "Ethernet header pushed",
        "dev_queue_xmit",
        "TX descriptor",
        "transmits it",
        "frame arrives",
        "into RX descriptor",
        "hard IRQ from eth0 (RX)",
        "NET_RX softirq",
        "off the RX ring",
        "ip_rcv",
        "UDP demux",
        "sk_receive_queue",
        "sk_data_ready: wakes",
        "udp_recvmsg",
        "read() returned 13 bytes",
    ];
    let mut at = 0;
    for l in layers {
        let found = out[at..]
            .find(l)
            .unwrap_or_else(|| panic!("{l:?} missing after byte {at}"));
        at += found;
    }
}

#[test]
fn udp_rcvbuf_drops() {
    let out = check("udp_rcvbuf_drops");
    let field = |name: &str| -> u64 {
        out.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let sent = 40;
    let read = field("UdpInDatagrams");
    let drops = field("UdpRcvbufErrors");
    assert!(drops > 0, "no drops:\n{out}");
    assert_eq!(
        drops,
        sent - read,
        "drops must be exactly sent - read:\n{out}"
    );
}

#[test]
fn fd_table() {
    let out = check("fd_table");
    assert!(out.contains("socket() -> 3, socket() -> 4, socket() -> 5"));
    assert!(out.contains("socket() -> 3   (the lowest free number"));
}

#[test]
fn too_many_open_files() {
    let out = check("too_many_open_files");
    assert!(out.contains("EMFILE"));
    assert!(out.contains("Too many open files"));
}

#[test]
fn blocking_vs_nonblocking() {
    let out = check("blocking_vs_nonblocking");
    assert!(out.contains("recv() -> EAGAIN"));
    assert!(out.contains("sk_data_ready: wakes pid 101 (blocking)"));
}

#[test]
fn recv_deadlock() {
    let out = check("recv_deadlock");
    assert!(out.starts_with("DEADLOCK"));
    assert_eq!(out.matches("blocked in recv(3").count(), 2);
}

#[test]
fn tcp_handshake() {
    let out = check("tcp_handshake");
    for step in [
        "|---- SYN seq=0 win=",
        "|<--- SYN,ACK seq=0 ack=1",
        "|---- ACK seq=1 ack=1",
        "|---- FIN,ACK seq=19 ack=20",
        "CLOSE-WAIT",
        "TIME-WAIT",
        "cubic wscale:10,10",
        // A request and an answer never fill the window: it stays at 10.
        "cwnd:10 ",
    ] {
        assert!(out.contains(step), "{step:?} missing:\n{out}");
    }
}

/// The lines of `out` between the first line containing `from` and the
/// next one containing `to` (or the end).
fn section<'a>(out: &'a str, from: &str, to: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| !l.contains(from))
        .skip(1)
        .take_while(|l| !l.contains(to))
        .collect()
}

/// Field `i` (whitespace-separated) of the first line starting with `start`.
fn field<'a>(lines: &[&'a str], start: &str, i: usize) -> Option<&'a str> {
    lines
        .iter()
        .find(|l| l.starts_with(start))
        .and_then(|l| l.split_whitespace().nth(i))
}

#[test]
fn accept_queue_overflow() {
    let out = check("accept_queue_overflow");
    // The listener at t=5s: Recv-Q 3 (accept queue full at backlog + 1),
    // Send-Q 2 (the backlog).
    let server = section(&out, "server at t=5s", "counters");
    assert_eq!(field(&server, "LISTEN", 1), Some("3"), "{out}");
    assert_eq!(field(&server, "LISTEN", 2), Some("2"), "{out}");
    assert_eq!(server.iter().filter(|l| l.starts_with("ESTAB")).count(), 3);
    // Three clients got in, three are stuck in SYN-SENT.
    let client = section(&out, "client at t=0.5s", "server at t=5s");
    assert_eq!(client.iter().filter(|l| l.starts_with("ESTAB")).count(), 3);
    assert_eq!(
        client.iter().filter(|l| l.starts_with("SYN-SENT")).count(),
        3
    );
    // Their SYNs were dropped at 0, 1, 2, 3 and 4 s (tcp_syn_linear_timeouts
    // keeps the first resends 1 s apart); the one at 5 s got in.
    let counters = section(&out, "nstat | grep Listen", "accept()");
    assert_eq!(field(&counters, "TcpExtListenOverflows", 1), Some("15"));
    assert_eq!(field(&counters, "TcpExtListenDrops", 1), Some("15"));
    for c in ["client-4", "client-5", "client-6"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("[5.0") && l.contains(&format!("{c}: connect() returned 0"))),
            "{c} did not get in at t=5s:\n{out}"
        );
    }
    // A final ACK into a full queue: dropped and retried by default...
    let part2 = section(&out, "Part 2", "Part 3");
    assert!(
        part2
            .iter()
            .any(|l| l.contains("client-4: read() -> 8 bytes"))
    );
    // ...answered with RST under tcp_abort_on_overflow = 1.
    let part3 = section(&out, "Part 3", "no such line");
    assert!(
        part3
            .iter()
            .any(|l| l.contains("client-4: read() -> ECONNRESET"))
    );
    assert_eq!(field(&part3, "TcpExtListenOverflows", 1), Some("1"));
}

#[test]
fn syn_flood() {
    let out = check("syn_flood");
    let part1 = section(&out, "Part 1", "Part 2");
    assert!(
        part1
            .iter()
            .any(|l| l.contains("client: connect() returned 0"))
    );
    assert!(part1.iter().any(|l| l.contains("the server answered")));
    // The SYN queue is full of half-open connections: backlog 8 + 1.
    assert!(part1.contains(&"... 9 connections in SYN-RECV"), "{out}");
    let sent: u64 = field(&part1, "TcpExtSyncookiesSent", 1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(sent > 1, "no SYN cookies sent:\n{out}");
    assert_eq!(field(&part1, "TcpExtSyncookiesRecv", 1), Some("1"));
    // Without cookies the real client never gets in.
    let part2 = section(&out, "Part 2", "no such line");
    assert!(part2.iter().any(|l| l.contains("connect() -> ETIMEDOUT")));
    assert!(field(&part2, "TcpExtListenDrops", 1).is_some());
}

#[test]
fn byte_stream() {
    let out = check("byte_stream");
    // After a pause, one read returns the end of one write and another.
    assert!(out.contains("read() -> 3000 bytes: 1000 x 'A' + 2000 x 'B'"));
    assert!(out.contains("read() -> 3000 bytes: 3000 x 'C'"));
    // Read at once, some read still spans two writes.
    let first = section(&out, "as soon as", "sleeps 100 ms");
    assert!(
        first
            .iter()
            .any(|l| l.contains("read()") && l.contains(" + ")),
        "{out}"
    );
    // Every byte arrives, in order, in both runs.
    for part in [first, section(&out, "sleeps 100 ms", "no such line")] {
        let total: usize = part
            .iter()
            .filter_map(|l| l.split("read() -> ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(total, 8000, "{out}");
    }
}

#[test]
fn send_is_not_delivery() {
    let out = check("send_is_not_delivery");
    assert!(out.contains("write() -> 10000"));
    // Just after write() and close() returned: all 10000 bytes and the FIN
    // are still in the writer's send queue.
    let now = section(&out, "just after write()", "-- t=");
    assert_eq!(field(&now, "FIN-WAIT-1", 2), Some("10001"), "{out}");
    // Later the reader's kernel has them (and the FIN), unread.
    // (The FIN's ACK waits 40 ms: the reader's kernel expects its own FIN
    // to carry it.)
    let later = section(&out, "all acknowledged", "reader: read");
    assert_eq!(field(&later, "FIN-WAIT-2", 2), Some("0"), "{out}");
    assert_eq!(field(&later, "CLOSE-WAIT", 1), Some("10001"), "{out}");
    assert!(out.contains("reader: read 10000 bytes in all"));
}

#[test]
fn zero_window() {
    let out = check("zero_window");
    assert!(out.contains(", win 0, "), "no zero window:\n{out}");
    let probes: u64 = out
        .lines()
        .find(|l| l.starts_with("TcpExtTCPWinProbe"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    assert!(probes > 0, "no window probes:\n{out}");
    assert!(out.contains("write() returned after blocking"));
    assert!(out.contains("read 262144 bytes, then end of stream"));
}

#[test]
fn deadlock_both_write() {
    let out = check("deadlock_both_write");
    assert!(out.contains("DEADLOCK"), "{out}");
    assert_eq!(out.matches("blocked in write(").count(), 2, "{out}");
    assert!(out.contains("(server) on b"));
    assert!(out.contains("(client) on a"));
}

#[test]
fn time_wait_storm() {
    let out = check("time_wait_storm");
    assert_eq!(out.matches(": ok, from port 400").count(), 11, "{out}");
    assert!(out.contains("request 11: connect() -> EADDRNOTAVAIL"));
    let count = |host: &str| {
        out.lines()
            .skip_while(|l| !l.starts_with(&format!("{host}$ ss -tan | grep -c TIME-WAIT")))
            .nth(1)
            .map(str::to_string)
    };
    assert_eq!(count("client").as_deref(), Some("10"), "{out}");
    assert_eq!(count("server").as_deref(), Some("0"), "{out}");
    assert!(out.contains("at t=60s: ok"));
}

#[test]
fn close_wait_leak() {
    let out = check("close_wait_leak");
    let at1 = section(&out, "-- t=1s", "-- t=65s");
    let at65 = section(&out, "-- t=65s", "ls -l");
    let count = |lines: &[&str], state: &str| lines.iter().filter(|l| l.starts_with(state)).count();
    // The server's sockets: CLOSE-WAIT, the unread FIN as Recv-Q 1.
    assert_eq!(count(&at1, "CLOSE-WAIT 1 "), 3, "{out}");
    assert_eq!(count(&at1, "FIN-WAIT-2"), 3, "{out}");
    // A minute later the clients' side is gone, the leak is not.
    assert_eq!(count(&at65, "FIN-WAIT-2"), 0, "{out}");
    assert_eq!(count(&at65, "CLOSE-WAIT 1 "), 3, "{out}");
    assert_eq!(out.matches("-> socket:[").count(), 4, "{out}");
    // `ss -p` names the process that holds them, and its fds.
    assert_eq!(
        at65.iter()
            .filter(|l| l.starts_with("CLOSE-WAIT") && l.contains("((\"leaky-server\",pid=100,fd="))
            .count(),
        3,
        "{out}"
    );
}

#[test]
fn rst_on_unread_close() {
    let out = check("rst_on_unread_close");
    let reset = out.find("read() -> ECONNRESET").expect("ECONNRESET");
    let eof = out.find("read() -> 0").expect("read 0 after the reset");
    let epipe = out.find("send() -> EPIPE").expect("EPIPE");
    assert!(reset < eof && eof < epipe, "{out}");
    assert!(out.contains("Flags [R.]"));
    let aborts = out
        .lines()
        .find(|l| l.starts_with("TcpExtTCPAbortOnClose"))
        .and_then(|l| l.split_whitespace().nth(1));
    assert_eq!(aborts, Some("1"), "{out}");
}

#[test]
fn demux_wildcards() {
    let out = check("demux_wildcards");
    for line in [
        "latecomer: bind(10.1.2.3:23) without SO_REUSEPORT -> EADDRINUSE",
        "specific: accept() -> 10.1.2.3:23 <- 10.1.2.1:",
        "wildcard: accept() -> 192.168.3.2:23 <- 192.168.3.1:",
        "wildcard: accept() -> 192.168.3.2:23 <- 10.1.2.1:",
        "wildcard: accept() -> 127.0.0.1:23 <- 127.0.0.1:",
        "(4-tuple match) -> \"hello\"",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}

/// The row of `mechanism` in the table under `heading`, split on spaces.
fn table_row<'a>(out: &'a str, heading: &str, mechanism: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| !l.contains(heading))
        .find(|l| l.starts_with(mechanism))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default()
}

#[test]
fn select_vs_epoll() {
    let out = check("select_vs_epoll");
    for (n, heading) in [
        (10, "== 10 idle"),
        (1_000, "== 1000 idle"),
        (10_000, "== 10000 idle"),
    ] {
        // poll() asks every fd twice per call (before sleeping and after the
        // wakeup) and copies 8 bytes per pollfd in and 2 back.
        let fds = n + 1;
        let poll = table_row(&out, heading, "poll");
        assert_eq!(
            poll[1..],
            [2 * fds, 8 * fds, 2 * fds].map(|v| v.to_string()),
            "{out}"
        );
        // epoll_wait: the one ready item, one 12-byte event out.
        let epoll = table_row(&out, heading, "epoll_wait");
        assert_eq!(epoll[1..], ["1", "0", "12"], "{out}");
    }
    assert!(
        table_row(&out, "== 10000 idle", "select").contains(&"impossible:"),
        "{out}"
    );
    assert_eq!(
        table_row(&out, "== 1000 idle", "select")[1],
        "2002",
        "{out}"
    );
}

#[test]
fn epoll_level_vs_edge() {
    let out = check("epoll_level_vs_edge");
    let calls: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("epoll_wait calls that returned: "))
        .collect();
    assert_eq!(calls, ["3", "1", "1"], "{out}");
    let stall = section(
        &out,
        "one read per event ==",
        "== edge-triggered, read until",
    );
    assert_eq!(field(&stall, "ESTAB", 1), Some("2000"), "{out}");
    assert!(stall.iter().any(|l| l.starts_with("DEADLOCK")), "{out}");
    let drained = section(&out, "read until EAGAIN ==", "\u{0}");
    assert!(
        drained.iter().any(|l| l.contains("read -> EAGAIN")),
        "{out}"
    );
    assert!(
        drained.iter().any(|l| l.contains("client: got the reply")),
        "{out}"
    );
}

#[test]
fn thundering_herd() {
    let out = check("thundering_herd");
    let wakeups = |start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .and_then(|l| l[42..].split_whitespace().next())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(wakeups("blocking accept()"), "1", "{out}");
    assert_eq!(wakeups("epoll_wait() per worker"), "4", "{out}");
    assert_eq!(wakeups("the same with EPOLLEXCLUSIVE"), "1", "{out}");
    assert_eq!(wakeups("accept() on SO_REUSEPORT"), "1", "{out}");
}

#[test]
fn unix_socketpair() {
    let out = check("unix_socketpair");
    // Two writes, one read: a byte stream; then end of file.
    assert!(
        out.contains("read() -> 12 bytes: \"hello, child\""),
        "{out}"
    );
    assert!(out.contains("read() -> 0: end of file"), "{out}");
    // The unread bytes are on the reader's queue, charged to the writer.
    let stream = section(&out, "== 1.", "== 2.");
    assert_eq!(field(&stream, "u_str", 2), Some("0"), "{out}");
    assert_eq!(field(&stream, "u_str", 3), Some("1536"), "{out}");
    assert!(
        stream.iter().any(|l| l.starts_with("u_str ESTAB 12 ")),
        "{out}"
    );
    // Datagrams keep their boundaries and are cut to the buffer.
    assert!(
        out.contains("recv(8 bytes, MSG_TRUNC) -> 3: \"one\""),
        "{out}"
    );
    assert!(out.contains("-> 17: got \"three, f\""), "{out}");
    // max_dgram_qlen + 1 datagrams, then EAGAIN or sleep; a socketpair
    // peer is limited by the send buffer only.
    assert!(out.contains("11 datagrams queued, then EAGAIN"), "{out}");
    assert!(out.contains("waiting for room in the receive queue of unix dgram socket"));
    assert!(out.contains("278 datagrams before EAGAIN"), "{out}");
    // Unix sockets skip TCP, IP, the device and the softirq.
    let unix = section(&out, "copy_from_user", "TCP, 127.0.0.1");
    let row: Vec<&str> = unix
        .iter()
        .find(|l| l.starts_with("AF_UNIX stream"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        row.get(2..),
        Some(&["65536", "65536", "0", "0", "0", "0", "0"][..]),
        "{out}"
    );
    let tcp_softirqs: u64 = out
        .lines()
        .find(|l| l.starts_with("TCP, 127.0.0.1"))
        .and_then(|l| l.split_whitespace().nth(4)?.parse().ok())
        .unwrap_or(0);
    assert!(tcp_softirqs > 0, "{out}");
    // SCM_RIGHTS: the worker's new fd is the dispatcher's accepted socket.
    let passing = section(&out, "== 5.", "run ended");
    let accepted = passing
        .iter()
        .find_map(|l| {
            l.split_once("accept() -> fd ")?
                .1
                .split_once(' ')?
                .0
                .parse::<i32>()
                .ok()
        })
        .expect("the accepted fd");
    let target = |who: &str, fd: i32| {
        passing
            .iter()
            .skip_while(|l| !l.contains(who))
            .find_map(|l| l.strip_prefix(&format!("lrwx------ 1 root root 64 {fd} -> ")))
            .map(str::to_string)
    };
    let received = passing
        .iter()
        .find_map(|l| {
            l.split_once("and fd ")?
                .1
                .trim_end_matches(':')
                .parse::<i32>()
                .ok()
        })
        .expect("the received fd");
    assert!(target("accept()", accepted).is_some(), "{out}");
    assert_eq!(
        target("accept()", accepted),
        target("recvmsg()", received),
        "{out}"
    );
    assert!(out.contains("client: got \"pong\" back"), "{out}");
}

#[test]
fn msg_zerocopy() {
    let out = check("msg_zerocopy");
    let part = |n: usize| {
        let start = out
            .find(&format!("== {n}."))
            .unwrap_or_else(|| panic!("part {n} missing"));
        let end = out[start + 4..]
            .find("== ")
            .map_or(out.len(), |e| start + 4 + e);
        &out[start..end]
    };
    // A plain send copies everything; zero-copy over a gathering NIC
    // copies nothing and pins the 256 pages instead.
    assert!(part(1).contains("copied_from_user 1048576 B, pages pinned 0"));
    assert!(part(2).contains("copied_from_user 0 B, pages pinned 256"));
    // The pages are held, and nothing is notified, until the ACKs come.
    assert!(part(2).contains("the kernel still holds 256 of our pages"));
    assert!(part(2).contains("EAGAIN: nothing completed yet"));
    assert!(part(2).contains("ee_code 0 (sent from our pages)"));
    assert!(!part(2).contains("COPIED"));
    assert!(part(2).contains("pages still held: 0"));
    // Loopback copies on the way in: COPIED, every byte.
    assert!(part(3).contains("ee_code 1 (COPIED)"));
    assert!(part(3).contains("the kernel copied 1048576 B of the pinned pages"));
    // Without scatter-gather: copied at send(), notified at once.
    assert!(part(4).contains("copied_from_user 1048576 B, pages pinned 0"));
    assert!(part(4).contains("ids 0..=3, ee_code 1 (COPIED)"));
    // Every id 0..=3 is notified in each zero-copy part.
    for n in 2..=4 {
        assert!(part(n).contains("..=3"), "part {n}: {}", part(n));
        assert!(part(n).contains("every buffer is ours again"));
    }
}

/// The value in `column` (0 = first number) of the table row named `row`.
fn table_value(out: &str, row: &str, column: usize) -> Option<u64> {
    out.lines()
        .find(|l| l.starts_with(row))?
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .nth(column)
}

#[test]
fn sendfile_vs_read_write() {
    let out = check("sendfile_vs_read_write");
    // read()+write() copies every byte twice; sendfile() copies none and
    // references each of the 256 pages twice (pipe, then TCP segment).
    assert_eq!(
        table_value(&out, "bytes copied to user", 0),
        Some(1 << 20),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied from user", 0),
        Some(1 << 20),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied to user", 1),
        Some(0),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied from user", 1),
        Some(0),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied in the kernel", 1),
        Some(0),
        "{out}"
    );
    // Two per page, and one more for each page two segments share.
    let refs = table_value(&out, "page references taken", 1).unwrap_or(0);
    assert!((512..768).contains(&refs), "{out}");
    assert_eq!(table_value(&out, "system calls", 1), Some(3), "{out}");
    assert_eq!(out.matches("the file, intact").count(), 2, "{out}");
    assert!(out.contains("now has 2 references"), "{out}");
    assert!(
        out.contains("has 1 reference, the page cache's alone"),
        "{out}"
    );
}

#[test]
fn splice_proxy() {
    let out = check("splice_proxy");
    assert_eq!(
        out.matches("exactly what the client sent").count(),
        2,
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied to user", 0),
        Some(1 << 20),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied from user", 0),
        Some(1 << 20),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied to user", 1),
        Some(0),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied from user", 1),
        Some(0),
        "{out}"
    );
    assert_eq!(
        table_value(&out, "bytes copied in the kernel", 1),
        Some(0),
        "{out}"
    );
    assert!(
        table_value(&out, "page references taken", 1).is_some_and(|n| n >= 512),
        "{out}"
    );
}

#[test]
fn netns_veth() {
    let out = check("netns_veth");
    // Each container sees its own eth0, whose peer lives in the host's
    // namespace, and its own routes.
    assert!(
        out.contains("2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP>"),
        "{out}"
    );
    assert!(out.contains("inet 10.0.0.2/24 scope global eth0"), "{out}");
    assert!(out.contains("default via 10.0.0.1 dev eth0 \n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.3"), "{out}");
    assert!(
        out.contains(
            "veth1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0"
        ),
        "{out}"
    );
    // TCP across the bridge works, and each namespace's ss shows only its
    // own sockets.
    assert!(out.contains("echoed back: \"hello from ctr2\""), "{out}");
    let ctr1_ss = out.split("ctr1# ss -tan").nth(1).unwrap_or_default();
    let ctr1_ss = ctr1_ss.split("\n\n").next().unwrap_or_default();
    assert!(
        ctr1_ss.contains("LISTEN") && ctr1_ss.contains("10.0.0.2:8080"),
        "{ctr1_ss}"
    );
    let ctr2_ss = out.split("ctr2# ss -tan").nth(1).unwrap_or_default();
    let ctr2_ss = ctr2_ss.split("\n\n").next().unwrap_or_default();
    assert!(
        !ctr2_ss.contains("LISTEN") && ctr2_ss.contains("ESTAB"),
        "{ctr2_ss}"
    );
    // The raw socket reads the reply with its IP header.
    assert!(
        out.contains(
            "a 20-byte IPv4 header (ttl 64, protocol 1), then ICMP type 0 code 0 id 0x4242 seq 1"
        ),
        "{out}"
    );
    // The request crossed veth, the bridge and veth again, and came back.
    let path = out
        .split("The path of the echo request")
        .nth(1)
        .unwrap_or_default();
    let steps = [
        "raw_sendmsg",
        "veth_xmit on eth0",
        "netif_rx",
        "br_forward",
        "veth_xmit on veth1",
        "icmp_echo",
        "veth_xmit on veth2",
        "raw_v4_input",
    ];
    let mut at = 0;
    for s in steps {
        let found = path[at..]
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing or out of order:\n{path}"));
        at += found;
    }
    // The bridge learned both containers, and the netlink dump ends in
    // NLMSG_DONE after the routes `ip route` shows.
    assert!(out.contains("dev veth1 master br0 \n"), "{out}");
    assert!(
        out.contains("[main] default via 10.0.0.1 dev eth0"),
        "{out}"
    );
    assert!(
        out.contains("[local] local 10.0.0.2 dev eth0 proto kernel scope host src 10.0.0.2"),
        "{out}"
    );
    assert!(out.contains("NLMSG_DONE: the dump is complete"), "{out}");
}

#[test]
fn io_uring_echo() {
    let out = check("io_uring_echo");
    let row = |name: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().skip(1).map(str::to_string).collect())
            .unwrap_or_default()
    };
    // epoll: one epoll_wait, then a recv and a send per request.
    assert_eq!(row("epoll")[0], "101", "{out}");
    // io_uring: one enter to submit the receives and wait, one for the sends.
    assert_eq!(row("io_uring")[0], "2", "{out}");
    // The same bytes cross either way, plus epoll's 12-byte events.
    assert_eq!(row("io_uring")[2], row("epoll")[2], "{out}");
    assert_eq!(
        row("epoll")[3].parse::<u64>().unwrap(),
        3200 + 50 * 12,
        "{out}"
    );
}

#[test]
fn one_request() {
    let out = check("one_request");
    // The request goes down the client's stack, across, up the server's,
    // and the response makes the same trip back, in this order.
    let steps = [
        "client[101]: write(3, 42 bytes)",
        "Flags [P.]",
        "ip_output",
        "dev_queue_xmit",
        "ndo_start_xmit",
        "frame arrives",
        "server  nic      eth0: NIC DMAs 108 B into RX descriptor",
        "hard IRQ from eth0 (RX)",
        "NET_RX softirq",
        "ip_rcv",
        "42 B queued on sk_receive_queue",
        "sk_data_ready: wakes pid 100 (server)",
        "tcp_recvmsg: copy_to_user 42 B",
        "server[100]: write(4, 44 bytes)",
        "client  nic      eth0: NIC DMAs 110 B into RX descriptor",
        "44 B queued on sk_receive_queue",
        "sk_data_ready: wakes pid 101 (client)",
        "tcp_recvmsg: copy_to_user 44 B",
        "client: read() returned the 44-byte response",
    ];
    let mut at = 0;
    for s in steps {
        let found = out[at..]
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} missing after byte {at}\n{out}"));
        at += found;
    }
    let row = |name: &str| -> Vec<u64> {
        out.lines()
            .find(|l| l.starts_with(name) && !l.contains("exited"))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    // client: write, read, then its sleep; the request copied in, the
    // response copied out.
    assert_eq!(row("client")[..3], [3, 42, 44], "{out}");
    // server: the read was entered before 9 ms; write, and the read that
    // waits for the close.
    assert_eq!(row("server")[..3], [2, 44, 42], "{out}");
    // Each side woke once for data (and once more for write space).
    assert!(row("server")[6] >= 1 && row("client")[6] >= 1, "{out}");
}

#[test]
fn nagle_delayed_ack() {
    let out = check("nagle_delayed_ack");
    let row = |name: &str| -> Vec<String> {
        out.lines()
            // The table's row, not the title that also starts with "12".
            .rfind(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    // Quick-ack covers the first request; its response puts the server
    // in pingpong mode, so from the second on every two-write request
    // waits for the 40 ms delayed-ACK timer (as on Linux:
    // tests/differential_delack.rs), and the others do not.
    assert_eq!(row("1")[1], "0.212", "{out}");
    assert_eq!(row("2")[1], "40.212", "{out}");
    assert_eq!(row("12")[1], "40.212", "{out}");
    assert_eq!(row("12")[3], "0.111", "{out}");
    assert_eq!(row("12")[5], "0.109", "{out}");
    // The body waits for the ACK of the header: it leaves 40 ms after it.
    assert!(out.contains("length 700"), "{out}");
    assert!(out.contains("0.042522  client  tcp      10.0.0.1:52929 > 10.0.0.2:80: Flags [P.], seq 2864055422, ack 4078585579, win 63, length 200"), "{out}");
    // One delayed ACK per slow request: eleven.
    assert!(
        out.contains("two writes   server TcpExtDelayedACKs 11"),
        "{out}"
    );
    assert!(
        out.contains("TCP_NODELAY  server TcpExtDelayedACKs  0"),
        "{out}"
    );
}

#[test]
fn time_wait_explosion() {
    let out = check("time_wait_explosion");
    let (per_request, keepalive) = out.split_once("== the fix").expect("two parts");
    assert!(
        per_request.contains("request 11: connect() -> EADDRNOTAVAIL"),
        "{out}"
    );
    let count = |part: &str| {
        part.lines()
            .skip_while(|l| !l.starts_with("client$ ss -tan | grep -c TIME-WAIT"))
            .nth(1)
            .map(str::to_string)
    };
    assert_eq!(count(per_request).as_deref(), Some("10"), "{out}");
    assert_eq!(count(keepalive).as_deref(), Some("1"), "{out}");
    // /proc/net/tcp: state 06 with the time-wait timer (3) running.
    let rows: Vec<&str> = per_request
        .lines()
        .filter(|l| l.contains(": 0100000A:"))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for r in &rows {
        let f: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(f[3], "06", "{r}");
        assert!(f[5].starts_with("03:"), "{r}");
    }
    assert!(
        per_request.contains("TIME_WAIT, TIME_WAIT timer fires in 59."),
        "{out}"
    );
    let opens = |part: &str| {
        part.lines()
            .find(|l| l.starts_with("TcpActiveOpens"))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    assert_eq!(opens(per_request).as_deref(), Some("10"), "{out}");
    assert_eq!(opens(keepalive).as_deref(), Some("1"), "{out}");
    assert!(keepalive.contains("12 requests answered"), "{out}");
}

#[test]
fn recv_stuck() {
    let out = check("recv_stuck");
    assert!(out.contains("DEADLOCK"), "{out}");
    assert_eq!(out.matches("blocked in read(").count(), 2, "{out}");
    assert_eq!(
        out.matches("(receive queue empty, peer has not closed)")
            .count(),
        2,
        "{out}"
    );
    // Both sockets established, both queues empty: the wait is in the
    // application, not in the network.
    let estab: Vec<&str> = out.lines().filter(|l| l.starts_with("ESTAB")).collect();
    assert_eq!(estab.len(), 2, "{out}");
    for l in &estab {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!((f[1], f[2]), ("0", "0"), "{l}");
    }
    // /proc/net/tcp: no timer pending on the established socket.
    let row = out
        .lines()
        .find(|l| l.contains(" 01 00000000:00000000 "))
        .expect("an established row with empty queues");
    assert!(row.contains(" 00:00000000 "), "{row}");
}

#[test]
fn send_blocked() {
    let out = check("send_blocked");
    let at10 = section(&out, "-- t=10s", "write() ->");
    let writer = at10
        .iter()
        .find(|l| l.starts_with("ESTAB") && l.contains("writer"))
        .expect("writer row");
    let reader = at10
        .iter()
        .find(|l| l.starts_with("ESTAB") && l.contains("slow-reader"))
        .expect("reader row");
    let q = |l: &str, i: usize| l.split_whitespace().nth(i).unwrap().parse::<u32>().unwrap();
    assert!(q(writer, 2) > 0, "writer Send-Q: {out}");
    assert!(q(reader, 1) > 0, "reader Recv-Q: {out}");
    assert!(at10.iter().any(|l| l.contains("snd_wnd:0")), "{out}");
    // /proc/net/tcp: the zero-window probe timer (4), probes counted.
    let row = at10
        .iter()
        .find(|l| l.trim_start().starts_with("0: 0100000A"))
        .expect("writer's /proc/net/tcp row");
    let f: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(f[3], "01", "{row}");
    assert!(f[5].starts_with("04:"), "{row}");
    let probes: u32 = f[8].parse().unwrap();
    assert!(probes > 0, "{row}");
    let nstat = field(&at10, "TcpExtTCPWinProbe", 1)
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert_eq!(nstat, probes, "{out}");
    assert!(
        out.contains("(writer) sleeps in write(3, 1048576 bytes): waiting for send buffer space")
    );
    assert!(out.contains("write() -> 1048576 after 30."), "{out}");
    assert!(
        out.contains("read 1048576 bytes, then end of stream"),
        "{out}"
    );
}

#[test]
fn four_views() {
    let out = check("four_views");
    let client = section(&out, "client$ tcpdump", "server$ tcpdump");
    let server = section(&out, "server$ tcpdump", "run ended");
    // A frame lost on the wire is in the sender's capture only: some
    // segment appears more often on the client (sent, lost, sent again)
    // than on the server (received once).
    // A segment without its options: a resent copy carries a newer TSval.
    let seg = |l: &str| {
        let s = l.split_once(" IP ").map_or("", |(_, s)| s);
        match (s.split_once(", options ["), s.rsplit_once("], ")) {
            (Some((head, _)), Some((_, tail))) => format!("{head}, {tail}"),
            _ => s.to_string(),
        }
    };
    let times = |lines: &[&str], s: &str| lines.iter().filter(|l| seg(l) == s).count();
    let lost: Vec<String> = client
        .iter()
        .map(|l| seg(l))
        .filter(|s| s.starts_with("10.0.0.1.") && times(&client, s) > times(&server, s))
        .collect();
    assert!(!lost.is_empty(), "{out}");
    assert!(times(&client, &lost[0]) >= 2, "{out}");
    let after = section(&out, "-- t=120s", "tcpdump");
    let retrans = field(&after, "TcpRetransSegs", 1)
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert!(retrans >= 1, "{out}");
    // ss and netstat saw the connection; at the end only nstat remembers.
    assert!(out.contains("ESTABLISHED"), "{out}");
    assert!(!after.iter().any(|l| l.starts_with("ESTAB")), "{out}");

    // The captures it writes print the same lines in the real tcpdump.
    let dir = std::env::temp_dir().join(format!("four-views-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_arg = dir.to_str().expect("a UTF-8 temporary folder");
    let status = common::examples::run("four_views", &["--pcap-dir", dir_arg]).status;
    assert!(status.success());
    for (name, lines) in [("client", &client), ("server", &server)] {
        let Ok(real) = std::process::Command::new("tcpdump")
            .args(["-nn", "-tt", "-S", "-r"])
            .arg(dir.join(format!("{name}.pcap")))
            .arg("tcp")
            .output()
        else {
            eprintln!("tcpdump is not installed: captures not compared");
            break;
        };
        let real = String::from_utf8_lossy(&real.stdout).to_string();
        assert_eq!(real.lines().collect::<Vec<_>>(), **lines, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn netns_isolation() {
    let out = check("netns_isolation");
    // A fresh namespace: lo down, no address, 127.0.0.1 unreachable.
    let fresh = section(&out, "== 1.", "ip -n ctr1 link set lo up");
    assert!(
        fresh
            .iter()
            .any(|l| l.contains("1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN")),
        "{out}"
    );
    assert!(!fresh.iter().any(|l| l.contains("inet ")), "{out}");
    assert!(
        out.contains("TCP connect(127.0.0.1:8080) -> ENETUNREACH"),
        "{out}"
    );
    assert!(
        out.contains("UDP sendto(127.0.0.1:8080) -> ENETUNREACH"),
        "{out}"
    );
    // Up, it has 127.0.0.1 and the datagram goes.
    assert!(out.contains("inet 127.0.0.1/8 scope host lo"), "{out}");
    assert!(out.contains("UDP sendto(127.0.0.1:8080) -> 4"), "{out}");
    // The same port in two namespaces; a second bind in one is refused.
    assert!(out.contains("host-web: bound 0.0.0.0:8080"), "{out}");
    assert!(out.contains("ctr1-web: bound 0.0.0.0:8080"), "{out}");
    assert_eq!(
        out.matches("a second bind(0.0.0.0:8080) here -> EADDRINUSE")
            .count(),
        2,
        "{out}"
    );
    assert!(out.contains("answered \"hello from host\""), "{out}");
    assert!(out.contains("answered \"hello from ctr1\""), "{out}");
    // Each ss lists one listener and its own connection.
    for (from, to) in [
        ("host# ss -tan", "host# ip netns exec"),
        ("ip netns exec ctr1 ss -tan", "run ended"),
    ] {
        let ss = section(&out, from, to);
        assert_eq!(ss.iter().filter(|l| l.starts_with("LISTEN")).count(), 1);
        assert_eq!(ss.iter().filter(|l| l.starts_with("ESTAB")).count(), 2);
    }
    // somaxconn: 128 on the host, the default in the namespace.
    let host = section(&out, "host# ss -ltn", "ctr1# ss -ltn");
    assert_eq!(field(&host, "LISTEN", 2), Some("128"), "{out}");
    let ctr1 = section(&out, "ctr1# ss -ltn", "run ended");
    assert_eq!(field(&ctr1, "LISTEN", 2), Some("4096"), "{out}");
    assert!(out.contains("rmem_max=1000000 -> EACCES"), "{out}");
    assert!(out.contains("netdev_max_backlog=2000 -> ENOENT"), "{out}");
}

#[test]
fn container_bridge() {
    let out = check("container_bridge");
    // The SYN goes out through br0, is forwarded to veth1 and handed to
    // eth0 in ctr1; ctr1 answers through veth1 and the bridge passes it up.
    let path = section(&out, "The handshake", "== 2.");
    let find = |s: &str| path.iter().position(|l| l.contains(s));
    let syn = find("Flags [S],").expect("a SYN");
    let fwd = find("frame sent by the host through br0").expect("br_forward");
    let veth = find("veth_xmit on veth1: 74 B frame handed to peer eth0 (netns ctr1)")
        .expect("veth to ctr1");
    let queued = find("request sock into the SYN queue").expect("SYN received");
    assert!(syn < fwd && fwd < veth && veth < queued, "{out}");
    assert!(
        path.iter()
            .any(|l| l.contains("br_flood to [veth1, veth2]")),
        "{out}"
    );
    assert!(out.contains("echoed back: \"hello ctr1\""), "{out}");
    // Each namespace its own sockets.
    let host = section(&out, "host# ss -tan", "ctr1# ss -tan");
    assert_eq!(host.iter().filter(|l| l.starts_with("ESTAB")).count(), 1);
    assert!(!host.iter().any(|l| l.starts_with("LISTEN")), "{out}");
    let ctr1 = section(&out, "ctr1# ss -tan", "ctr2# ss -tan");
    assert_eq!(ctr1.iter().filter(|l| l.starts_with("LISTEN")).count(), 2);
    assert!(ctr1.iter().any(|l| l.contains("10.0.0.2:8080")), "{out}");
    let ctr2 = section(&out, "ctr2# ss -tan", "host# bridge");
    assert_eq!(ctr2.len(), 1, "only the header: {out}");
    // The 127.0.0.1 service: fine inside, refused from anywhere else.
    assert!(
        out.contains("ctr1 -> 127.0.0.1:9090: \"admin ok\""),
        "{out}"
    );
    assert!(
        out.contains("curl-host: connect(10.0.0.2:9090) -> ECONNREFUSED"),
        "{out}"
    );
    assert!(
        out.contains("curl-ctr2: connect(10.0.0.2:9090) -> ECONNREFUSED"),
        "{out}"
    );
    assert!(
        out.contains("curl-host-lo: connect(127.0.0.1:9090) -> ECONNREFUSED"),
        "{out}"
    );
    assert!(
        out.contains("no socket for 10.0.0.1:") && out.contains("answer with RST"),
        "{out}"
    );
    let rsts = section(&out, "ctr1# nstat -az", "run ended");
    assert_eq!(field(&rsts, "TcpOutRsts", 1), Some("2"), "{out}");
}

#[test]
fn container_unix() {
    let out = check("container_unix");
    // A path crosses namespaces; an abstract name does not.
    assert!(
        out.contains("ctr2: connect(/run/shared/app.sock) -> 0"),
        "{out}"
    );
    assert!(out.contains("ctr2: connect(@app) -> ECONNREFUSED"), "{out}");
    assert!(out.contains("ctr1: connect(@app) -> 0"), "{out}");
    // The server side of ctr2's connection is listed in ctr2, not ctr1.
    let ctr1 = section(&out, "ctr1# ss -xa", "ctr2# ss -xa");
    let ctr2 = section(&out, "ctr2# ss -xa", "host# ss -xa");
    let path_estab = |ss: &[&str]| {
        ss.iter()
            .any(|l| l.starts_with("u_str ESTAB") && l.contains("/run/shared/app.sock"))
    };
    assert!(path_estab(&ctr2) && !path_estab(&ctr1), "{out}");
    assert!(
        ctr1.iter()
            .any(|l| l.starts_with("u_str LISTEN") && l.contains("/run/shared/app.sock")),
        "{out}"
    );
    let host = section(&out, "host# ss -xa", "run ended");
    assert_eq!(host.len(), 1, "only the header: {out}");
    // The three ways: unix touches no layer below the socket; TCP over lo
    // no veth or bridge; TCP between containers both.
    let row = |name: &str| -> Vec<u64> {
        out.lines()
            .find(|l| l.starts_with(name))
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let unix = row("unix, shared path");
    let lo = row("TCP, ctr1's lo");
    let veth = row("TCP, veth+bridge");
    assert_eq!(unix, vec![0, 0, 0, 0, 0, 0, 0], "{out}");
    assert!(lo[0] > 0 && lo[1] > 0 && lo[2] == 0 && lo[6] == 0, "{out}");
    assert!(
        veth[0] > lo[0] && veth[1] == 0 && veth[2] > 0 && veth[6] > 0,
        "{out}"
    );
}

/// The table of examples (`stack/examples/README.md`) names every example
/// in `stack/examples/`, and nothing else.
#[test]
fn the_examples_readme_lists_every_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<String> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(String::from)
        })
        .collect();
    examples.sort();
    // The list both READMEs (the course's and the students') point to.
    let section = std::fs::read_to_string(root.join("examples/README.md")).unwrap();
    let mut listed: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(String::from))
        .collect();
    listed.sort();
    let missing: Vec<_> = examples.iter().filter(|e| !listed.contains(e)).collect();
    let unknown: Vec<_> = listed.iter().filter(|l| !examples.contains(l)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "missing from stack/examples/README.md: {missing:?}; listed but not examples: {unknown:?}"
    );
}
