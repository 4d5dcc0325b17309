//! The runner checks what packetdrill checks: scripts written here (not
//! Linux's) that the stack must pass, and the same scripts with one
//! expectation wrong, each of which must fail on its line with what
//! differed.

use packetdrill::parse::parse;
use packetdrill::run::{Env, Failure, run};

struct NoFiles;

impl Env for NoFiles {
    fn read_file(&self, _path: &str) -> Option<String> {
        None
    }
    fn python(&self, _code: &str) -> Result<(), String> {
        Err("no python here".into())
    }
}

fn outcome(text: &str) -> Result<(), Failure> {
    run(&parse(text).expect("the script parses"), &NoFiles)
}

/// A server that accepts, gets 1000 bytes, answers 2000 and closes; it
/// passes on this machine's kernel too (`tests/own_scripts.rs`).
const SERVER: &str = include_str!("../scripts/server-basics.pkt");

fn with(line: &str, replacement: &str) -> String {
    assert!(SERVER.contains(line), "{line}");
    SERVER.replacen(line, replacement, 1)
}

/// The script must fail on the line holding `at`, saying `what`.
fn fails(text: &str, at: &str, what: &str) {
    let line = text
        .lines()
        .position(|l| l.contains(at))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line holds {at:?}"));
    let f = outcome(text).expect_err("the script must fail");
    assert_eq!(f.line, line, "{f:?}");
    assert!(f.message.contains(what), "{f:?} should say {what:?}");
}

#[test]
fn a_script_the_stack_follows_passes() {
    outcome(SERVER).expect("the server script passes");
}

#[test]
fn consecutive_segments_are_joined_into_the_packet_the_script_expects() {
    // With an MSS of 1000 the 2000 bytes leave as two segments; the script
    // writes them as one, as it would a TSO super-packet.
    outcome(SERVER).expect("joined");
    fails(
        &with("> P. 1:2001(2000)", "> P. 1:3001(3000)"),
        "P. 1:3001",
        "payload",
    );
}

#[test]
fn a_wrong_flag_fails_on_its_line() {
    fails(
        &with("> F. 2001:2001(0)", "> R. 2001:2001(0)"),
        "> R.",
        "tcp_rst",
    );
}

#[test]
fn a_wrong_window_or_ack_fails() {
    fails(
        &with("ack 1001\n  +.1", "ack 1000\n  +.1"),
        "ack 1000",
        "tcp_ack_seq",
    );
    fails(
        &with(
            "> F. 2001:2001(0) ack 1001",
            "> F. 2001:2001(0) ack 1001 win 1",
        ),
        "win 1",
        "tcp_window",
    );
}

#[test]
fn options_are_compared_kind_by_kind() {
    fails(
        &with("> S. 0:0(0) ack 1 <...>", "> S. 0:0(0) ack 1 <mss 1460>"),
        "<mss 1460>",
        "bad outbound TCP options",
    );
}

#[test]
fn a_packet_at_the_wrong_time_fails() {
    fails(
        &with("   +0 > P. 1:2001", "  +.5 > P. 1:2001"),
        "+.5 > P.",
        "timing error",
    );
}

#[test]
fn a_packet_that_never_comes_fails() {
    fails(
        &format!("{SERVER}  +.1 > . 2002:2002(0) ack 1001\n"),
        "2002:2002",
        "sent none",
    );
}

#[test]
fn a_wrong_result_or_errno_fails() {
    fails(&with("= -1 EAGAIN", "= -1 EBADF"), "EBADF", "EAGAIN");
    fails(
        &with("read(4, ..., 1000) = 1000", "read(4, ..., 1000) = 999"),
        "= 999",
        "Expected result 999",
    );
}

#[test]
fn a_blocking_call_must_return_when_the_script_says() {
    fails(
        &with("+0...0.200 accept", "+0...0.300 accept"),
        "accept(3",
        "accept()",
    );
    fails(
        &with("+0...0.200 accept", "+0 accept"),
        "accept(3",
        "still blocked",
    );
}

#[test]
fn a_command_the_simulation_cannot_honour_fails_rather_than_being_ignored() {
    fails(
        &format!("`tc qdisc add dev tun0 root netem loss 100%`\n{SERVER}"),
        "netem",
        "does not support",
    );
}
