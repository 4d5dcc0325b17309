//! Every example is the book's snippet: its output is snapshot-tested, and
//! running it twice must print the same bytes (the simulation is
//! deterministic).
//!
//! After an intended change, review the new output with `cargo insta
//! review`, or accept it with `INSTA_UPDATE=always cargo nextest run -p
//! stack --test examples`.

use std::path::PathBuf;
use std::process::Command;

/// The example binary `cargo test` built next to this test, or `None`.
fn built_example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir.join("examples").join(name);
    path.exists().then_some(path)
}

/// Runs an example and returns its stdout, failing on a non-zero exit.
fn run_example(name: &str) -> String {
    let output = match built_example(name) {
        Some(path) => Command::new(path).output(),
        None => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["run", "-q", "-p", "stack", "--example", name])
            .output(),
    }
    .unwrap_or_else(|e| panic!("cannot run example {name}: {e}"));
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
        "reno wscale:10,10",
    ] {
        assert!(out.contains(step), "{step:?} missing:\n{out}");
    }
}
