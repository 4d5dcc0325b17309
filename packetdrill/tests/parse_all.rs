//! The parser against the real scripts, against exact trees for lines
//! taken from them, and against malformed input.

use std::path::{Path, PathBuf};

use packetdrill::parse::{ParseError, parse};
use packetdrill::script::{
    Action, Direction, Event, EventTime, Expr, Packet, Syscall, TcpOption, TcpOptions,
};

/// Where the Linux packetdrill scripts live.
const SCRIPTS: &str = "/work/shared/packetdrill/net";

/// Every `*.pkt` file under `dir`, sorted.
fn scripts_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "pkt") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_script_parses() {
    let dir = Path::new(SCRIPTS);
    if !dir.is_dir() {
        println!("the packetdrill scripts are absent ({SCRIPTS}): nothing to parse");
        return;
    }
    let scripts = scripts_under(dir);
    let mut failures = Vec::new();
    for path in &scripts {
        let outcome = std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| parse(&text).map_err(|err| err.to_string()));
        if let Err(message) = outcome {
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    for failure in &failures {
        println!("{failure}");
    }
    println!(
        "{} of {} scripts parse",
        scripts.len() - failures.len(),
        scripts.len()
    );
    assert!(!scripts.is_empty(), "no *.pkt files under {SCRIPTS}");
    assert_eq!(
        failures.len(),
        0,
        "{} scripts failed to parse",
        failures.len()
    );
}

/// The events of a script that must parse.
fn events(text: &str) -> Vec<Event> {
    match parse(text) {
        Ok(script) => script.events,
        Err(err) => panic!("{text:?} should parse: {err}"),
    }
}

/// The one event of a one-event script.
fn only_event(text: &str) -> Event {
    let mut events = events(text);
    assert_eq!(events.len(), 1, "{text:?} should be one event");
    events.remove(0)
}

/// The action of a one-event script.
fn action(text: &str) -> Action {
    only_event(text).action
}

/// The system call of a one-event script.
fn syscall(text: &str) -> Syscall {
    match action(text) {
        Action::Syscall(call) => call,
        other => panic!("{text:?} should be a system call, is {other:?}"),
    }
}

fn word(w: &str) -> Expr {
    Expr::Word(w.to_string())
}

fn assign(name: &str, value: Expr) -> Expr {
    Expr::Assign(name.to_string(), Box::new(value))
}

fn or(left: Expr, right: Expr) -> Expr {
    Expr::Or(Box::new(left), Box::new(right))
}

/// A packet with the fields every test sets, the rest empty.
fn packet(direction: Direction, flags: &str, start_seq: u32, end_seq: u32, len: u32) -> Packet {
    Packet {
        direction,
        ecn: None,
        flags: flags.to_string(),
        start_seq,
        end_seq,
        len,
        ack: None,
        win: None,
        urg: None,
        options: None,
    }
}

#[test]
fn syn_with_options() {
    let event = only_event("  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>\n");
    assert_eq!(event.line, 1);
    assert_eq!(event.time, EventTime::Relative(0.1));
    let expected = Packet {
        win: Some(32792),
        options: Some(TcpOptions::List(vec![
            TcpOption::Mss(1000),
            TcpOption::Nop,
            TcpOption::Wscale(7),
        ])),
        ..packet(Direction::Inbound, "S", 0, 0, 0)
    };
    assert_eq!(event.action, Action::Packet(expected));
}

#[test]
fn bare_ack_with_timestamps() {
    let expected = Packet {
        ack: Some(10001),
        options: Some(TcpOptions::List(vec![
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Timestamp { val: 200, ecr: 700 },
        ])),
        ..packet(Direction::Outbound, ".", 1, 1, 0)
    };
    let text = "   +0\t> . 1:1(0) ack 10001 <nop,nop,TS val 200 ecr 700>";
    assert_eq!(action(text), Action::Packet(expected));
}

#[test]
fn data_ecn_and_big_sequence_numbers() {
    let expected = Packet {
        ack: Some(1),
        ..packet(Direction::Outbound, "P.", 1, 2001, 2000)
    };
    assert_eq!(
        action("+0 > P. 1:2001(2000) ack 1"),
        Action::Packet(expected)
    );

    let expected = Packet {
        ecn: Some("ect1".to_string()),
        ack: Some(1),
        win: Some(320),
        ..packet(Direction::Inbound, ".", 1, 1, 0)
    };
    assert_eq!(
        action("+.1 < [ect1] . 1:1(0) ack 1 win 320"),
        Action::Packet(expected)
    );

    let expected = Packet {
        ack: Some(4_000_000_000),
        win: Some(100),
        ..packet(Direction::Inbound, "R.", 3_000_000_000, 3_000_000_000, 0)
    };
    let text = "0 < R. 3000000000:3000000000(0) ack 4000000000 win 100";
    assert_eq!(action(text), Action::Packet(expected));
}

#[test]
fn sack_option_and_fast_open_cookie() {
    let Action::Packet(sack) =
        action("+0 < . 1:1(0) ack 1 win 257 <sack 1001:2001 3001:4001,nop,nop>")
    else {
        panic!("not a packet");
    };
    let blocks = TcpOption::Sack(vec![(1001, 2001), (3001, 4001)]);
    let expected = TcpOptions::List(vec![blocks, TcpOption::Nop, TcpOption::Nop]);
    assert_eq!(sack.options, Some(expected));

    let text = "+0 < S. 123:123(0) ack 1 win 14600 <mss 1460,FO abcd1234,nop,nop>";
    let Action::Packet(fast_open) = action(text) else {
        panic!("not a packet");
    };
    let expected = TcpOptions::List(vec![
        TcpOption::Mss(1460),
        TcpOption::Other("FO abcd1234".to_string()),
        TcpOption::Nop,
        TcpOption::Nop,
    ]);
    assert_eq!(fast_open.options, Some(expected));
}

#[test]
fn any_options_any_time_and_ranges() {
    let event = only_event("* > S. 0:0(0) ack 1 <...>");
    assert_eq!(event.time, EventTime::Any);
    let Action::Packet(any) = event.action else {
        panic!("not a packet");
    };
    assert_eq!(any.options, Some(TcpOptions::Any));

    let event = only_event("+.004~+.008 > P. 12001:12401(400) ack 1");
    assert_eq!(event.time, EventTime::RelativeRange(0.004, 0.008));
    let event = only_event("0.1~0.2 > . 1:1(0) ack 1");
    assert_eq!(event.time, EventTime::AbsoluteRange(0.1, 0.2));
}

#[test]
fn event_times() {
    let times: Vec<EventTime> =
        events("0 close(3) = 0\n+0 close(3) = 0\n+.1 close(3) = 0\n0.100 close(3) = 0\n")
            .into_iter()
            .map(|event| event.time)
            .collect();
    assert_eq!(
        times,
        [
            EventTime::Absolute(0.0),
            EventTime::Relative(0.0),
            EventTime::Relative(0.1),
            EventTime::Absolute(0.1),
        ]
    );
}

#[test]
fn syscall_with_errno_and_note() {
    let call = syscall("   +0\tconnect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    let expected = Syscall {
        end_time: None,
        name: "connect".to_string(),
        args: vec![Expr::Int(3), Expr::Ellipsis, Expr::Ellipsis],
        result: Expr::Int(-1),
        errno: Some("EINPROGRESS".to_string()),
        note: Some("Operation now in progress".to_string()),
    };
    assert_eq!(call, expected);

    let call = syscall("+0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)");
    assert_eq!(call.result, Expr::Int(2));
    assert_eq!(call.errno, None);
    assert_eq!(call.note.as_deref(), Some("flags O_RDWR"));

    let call = syscall("+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK|O_CLOEXEC) = 0");
    let flags = or(or(word("O_RDWR"), word("O_NONBLOCK")), word("O_CLOEXEC"));
    assert_eq!(call.args, [Expr::Int(3), word("F_SETFL"), flags]);
}

#[test]
fn blocking_accept_with_end_time() {
    let event = only_event("   +0...0.200 accept(3, ..., ...) = 4");
    assert_eq!(event.time, EventTime::Relative(0.0));
    let Action::Syscall(call) = event.action else {
        panic!("not a system call");
    };
    assert_eq!(call.end_time, Some(0.2));
    assert_eq!(call.name, "accept");
    assert_eq!(call.result, Expr::Int(4));
}

#[test]
fn msghdr_over_several_lines() {
    let text = "   +0\trecvmsg(3, {msg_name(...)=...,
\t\t    msg_iov(1)=[{..., 1000}],
\t\t    msg_flags=0,
\t\t    msg_control=[{cmsg_level=SOL_TCP,
\t\t\t\t  cmsg_type=TCP_CM_INQ,
\t\t\t\t  cmsg_data=9000}]}, 0) = 1000
   +0\tread(3, ..., 2000) = 0
";
    let events = events(text);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].line, 7);
    let Action::Syscall(call) = &events[0].action else {
        panic!("not a system call");
    };
    let msghdr = Expr::Msghdr {
        iov: vec![Expr::List(vec![Expr::Ellipsis, Expr::Int(1000)])],
        flags: Box::new(Expr::Int(0)),
        control: Some(vec![Expr::List(vec![
            assign("cmsg_level", word("SOL_TCP")),
            assign("cmsg_type", word("TCP_CM_INQ")),
            assign("cmsg_data", Expr::Int(9000)),
        ])]),
    };
    assert_eq!(call.args, [Expr::Int(3), msghdr, Expr::Int(0)]);
    assert_eq!(call.result, Expr::Int(1000));
}

#[test]
fn epoll_event() {
    let call =
        syscall("+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT|EPOLLIN|EPOLLET, fd=4}) = 0");
    let events = or(or(word("EPOLLOUT"), word("EPOLLIN")), word("EPOLLET"));
    let event = Expr::List(vec![assign("events", events), assign("fd", Expr::Int(4))]);
    assert_eq!(call.args[3], event);
}

#[test]
fn poll_with_pollfd_array() {
    let text = "   +0...0.040 poll([{fd=4,
             events=POLLOUT,
             revents=POLLOUT}], 1, 1000) = 1
";
    let call = syscall(text);
    let pollfd = Expr::List(vec![
        assign("fd", Expr::Int(4)),
        assign("events", word("POLLOUT")),
        assign("revents", word("POLLOUT")),
    ]);
    assert_eq!(call.end_time, Some(0.04));
    assert_eq!(
        call.args,
        [Expr::Array(vec![pollfd]), Expr::Int(1), Expr::Int(1000)]
    );
}

#[test]
fn arrays_strings_linger_and_sockaddr() {
    let call = syscall("+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
    assert_eq!(call.args[3], Expr::Array(vec![Expr::Int(1)]));
    assert_eq!(syscall("+0 f([]) = 0").args, [Expr::Array(vec![])]);

    let call = syscall(r#"+0 open("/tmp/testfile", O_RDONLY) = 5"#);
    assert_eq!(call.args[0], Expr::Str("/tmp/testfile".to_string()));
    let call = syscall(r#"+0 write(4, "hello"..., 5) = 5"#);
    assert_eq!(call.args[1], Expr::StrEllipsis("hello".to_string()));

    let call = syscall("+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
    let linger = Expr::List(vec![
        assign("onoff", Expr::Int(1)),
        assign("linger", Expr::Int(0)),
    ]);
    assert_eq!(call.args[3], linger);

    let text = r#"+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0"#;
    let sockaddr = Expr::List(vec![
        assign("sa_family", word("AF_INET")),
        assign("sin_port", Expr::Int(8080)),
        assign("sin_addr", Expr::InetAddr("192.0.2.1".to_string())),
    ]);
    assert_eq!(syscall(text).args[1], sockaddr);
}

#[test]
fn options_and_backquoted_commands() {
    let text = "--tolerance_usecs=10000
--tcp_ts_tick_usecs=1000
// Test TCP_INQ on the client side.
`../../common/defaults.sh
`

    0\tsocket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 `tc qdisc replace dev tun0 root pfifo limit 0`
`/tmp/sysctl_restore_${PPID}.sh`
";
    let script = match parse(text) {
        Ok(script) => script,
        Err(err) => panic!("should parse: {err}"),
    };
    let option = |name: &str, value: &str| (name.to_string(), Some(value.to_string()));
    assert_eq!(
        script.options,
        [
            option("tolerance_usecs", "10000"),
            option("tcp_ts_tick_usecs", "1000")
        ]
    );
    let command = |line, time, text: &str| Event {
        line,
        time,
        action: Action::Command(text.to_string()),
    };
    let events = &script.events;
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0],
        command(4, EventTime::Relative(0.0), "../../common/defaults.sh\n")
    );
    assert_eq!(events[1].line, 7);
    assert_eq!(events[1].time, EventTime::Absolute(0.0));
    let tc = "tc qdisc replace dev tun0 root pfifo limit 0";
    assert_eq!(events[2], command(8, EventTime::Relative(0.0), tc));
    let cleanup = "/tmp/sysctl_restore_${PPID}.sh";
    assert_eq!(events[3], command(9, EventTime::Relative(0.0), cleanup));
}

#[test]
fn code_blocks() {
    let text = "+.005 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%
   +0 %{ assert tcpi_probes == 0, tcpi_probes; \\
         assert tcpi_backoff == 0, tcpi_backoff }%
/* a C comment
   over two lines */ +0 close(4) = 0
";
    let events = events(text);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].time, EventTime::Relative(0.005));
    let code = "assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd";
    assert_eq!(events[0].action, Action::Code(code.to_string()));
    assert_eq!(events[1].line, 2);
    let code =
        "assert tcpi_probes == 0, tcpi_probes; \\\n         assert tcpi_backoff == 0, tcpi_backoff";
    assert_eq!(events[1].action, Action::Code(code.to_string()));
    assert_eq!(events[2].line, 5);
}

#[test]
fn other_packets_are_kept_as_text() {
    let text =
        "+0 > udp (1472) // a datagram\n+0 < icmp unreachable port_unreachable [udp (1472)]\n";
    let events = events(text);
    assert_eq!(
        events[0].action,
        Action::OtherPacket("> udp (1472)".to_string())
    );
    let icmp = "< icmp unreachable port_unreachable [udp (1472)]";
    assert_eq!(events[1].action, Action::OtherPacket(icmp.to_string()));
}

/// The error a malformed script must give.
fn parse_error(text: &str) -> ParseError {
    match parse(text) {
        Ok(script) => panic!("{text:?} should not parse, gave {script:?}"),
        Err(err) => err,
    }
}

/// Checks that `text` fails on `line` with a message containing `fragment`,
/// and that the error reads "line N: ...".
fn assert_error(text: &str, line: usize, fragment: &str) {
    let err = parse_error(text);
    let shown = err.to_string();
    assert!(
        err.line == line && err.message.contains(fragment),
        "{text:?}: expected line {line} with {fragment:?}, got {shown:?}"
    );
    assert!(shown.starts_with(&format!("line {line}: ")), "{shown:?}");
}

#[test]
fn malformed_packets() {
    assert_error("0 close(3) = 0\n+0 > S 0:0 win\n", 2, "expected '('");
    assert_error("+0 > S 0:1(0) win 100\n", 1, "inconsistent");
    assert_error(
        "+0 < S 0:0(0) win 70000\n",
        1,
        "window 70000 is out of range",
    );
    assert_error("+0 < X 0:0(0) win 100\n", 1, "invalid TCP flag 'X'");
    assert_error(
        "+0 < S 0:0(0) win 9 <mss 1000,bogus 3>",
        1,
        "expected a TCP option",
    );
    assert_error(
        "+0 < S 0:0(0) win 100 <...>\n",
        1,
        "only be used with outbound",
    );
    assert_error(
        "* < S 0:0(0) win 100\n",
        1,
        "'*' can only be used with outbound",
    );
    assert_error("+.2~+.1 > S 0:0(0)\n", 1, "backwards");
}

#[test]
fn unterminated_tokens() {
    assert_error(
        "+0 write(4, \"abc, 3) = 3\n+0 close(4) = 0\n",
        1,
        "unterminated string",
    );
    assert_error(
        "+0 close(4) = 0\n\n+0 %{ assert x == 1\n",
        3,
        "unterminated %{",
    );
    assert_error(
        "`../common/defaults.sh\n",
        1,
        "unterminated backquoted command",
    );
    assert_error("+0 close(4) = 0 /* never closed\n", 1, "unterminated /*");
    assert_error("+0 close(4) = -1 EBADF (Bad file\n", 1, "unterminated note");
    assert_error(
        "+0 close(4\n\n// the end\n",
        1,
        "found the end of the script",
    );
}

#[test]
fn malformed_syscalls_and_events() {
    assert_error(
        "0 socket(..., SOCK_STREAM\n  IPPROTO_TCP) = 3",
        2,
        "expected ')' or ','",
    );
    assert_error(
        "+0 close(4) = 0\nclose(5) = 0\n",
        2,
        "expected an event time",
    );
    assert_error(
        "+0 close(4) = 0 EBADF (Bad) junk\n",
        1,
        "after the end of the event",
    );
    assert_error(
        "+0 close(4) = 0\n--tolerance_usecs=10\n",
        2,
        "before the first event",
    );
    assert_error("+0...+0.2 accept(3, ..., ...) = 4\n", 1, "without '+'");
    assert_error("+0 close(4)\n+0 close(5) = 0\n", 2, "expected '='");
    assert_error("+0 f(99999999999999999999) = 0\n", 1, "number too large");
    assert_error("-1 close(4) = 0\n", 1, "negative time");
    assert_error("+0\n", 1, "expected a packet");
}

#[test]
fn error_message_reads_well() {
    let err = parse_error("+0 > S 0:0 win\n");
    assert_eq!(
        err.to_string(),
        "line 1: expected '(' after the end sequence number (start:end(length)), found 'win'"
    );
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "\n\n",
        "+",
        "*",
        "~",
        "...",
        "--",
        "--x=",
        "%{",
        "}%",
        "`",
        "\"",
        "0x",
        "0xZ",
        "-",
        "-.",
        "1.2.3.4",
        "+0 <",
        "+0 < [",
        "+0 < [ect0",
        "+0 > S.",
        "+0 > S 1:",
        "+0 f(",
        "+0 f({msg_name(",
        "+0 f() = {",
        "+0 f() = -1 E (",
        "+0 > . 1:1(0) <sack",
        "+0 > . 1:1(0) <TS val",
        "é ü",
        "+0 f(\u{1F600}) = 0",
        "+0 > S 4294967296:4294967296(0)",
    ];
    let deep = format!("+0 f({}1{}) = 0", "[".repeat(100_000), "]".repeat(100_000));
    assert_error(&deep, 1, "nested more than");
    for sample in samples {
        // Only the absence of a panic matters here.
        let _ = parse(sample);
    }
}
