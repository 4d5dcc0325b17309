//! A packetdrill script as the parser leaves it: the options at its top,
//! then a timeline of events, each an instant and an action (a system
//! call, a packet in or out, a shell command, a Python block).
//!
//! The shapes follow packetdrill's grammar (`parser.y`, summarised in
//! `../shared/packetdrill/syntax.md`); only what `net/tcp` scripts use is
//! kept apart, the rest is parsed and carried as text so that a script
//! that uses it fails with a clear message instead of a parse error.

/// A whole script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// `--name=value` lines before the first event (`--tolerance_usecs=10000`).
    pub options: Vec<(String, Option<String>)>,
    /// The events, in file order.
    pub events: Vec<Event>,
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The line the event starts on (1-based), for error messages.
    pub line: usize,
    /// When it happens.
    pub time: EventTime,
    /// What happens.
    pub action: Action,
}

/// When an event happens, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventTime {
    /// `0.100`: since the script started.
    Absolute(f64),
    /// `+0.100`: since the previous event.
    Relative(f64),
    /// `*`: whenever (a packet expected at any time).
    Any,
    /// `0.1~0.2`: an absolute range.
    AbsoluteRange(f64, f64),
    /// `+0.1~+0.2`: a range relative to the previous event.
    RelativeRange(f64, f64),
}

/// What an event does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A TCP packet injected (`<`) or expected (`>`).
    Packet(Packet),
    /// A packet of another protocol (UDP, ICMP), kept as its text.
    OtherPacket(String),
    /// A system call with its expected result.
    Syscall(Syscall),
    /// A backquoted shell command, without the backquotes.
    Command(String),
    /// A `%{ ... }%` Python block, without the braces.
    Code(String),
}

/// `<` or `>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Into the host under test.
    Inbound,
    /// Sent by the host under test.
    Outbound,
}

/// A TCP packet line: `< S. 0:0(0) ack 1 win 5792 <mss 1460,nop,wscale 7>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// `<` or `>`.
    pub direction: Direction,
    /// The ECN codepoint written in brackets (`[ect0]`, `[noecn]`), if any.
    pub ecn: Option<String>,
    /// The flags word: letters from `SFRPUEWC` then an optional `.` for
    /// ACK; `.` alone is a bare ACK, `-` no flags at all.
    pub flags: String,
    /// First sequence number (relative to the script's ISN).
    pub start_seq: u32,
    /// End sequence number (start + payload length).
    pub end_seq: u32,
    /// The payload length in parentheses.
    pub len: u32,
    /// `ack N`, if written.
    pub ack: Option<u32>,
    /// `win N`, if written.
    pub win: Option<u32>,
    /// `urg N`, if written.
    pub urg: Option<u32>,
    /// The options: `None` when not written (an outbound packet must then
    /// carry none; an inbound one is sent without), `Some(Any)` for `<...>`.
    pub options: Option<TcpOptions>,
}

/// A packet's TCP options as written.
#[derive(Clone, Debug, PartialEq)]
pub enum TcpOptions {
    /// `<...>`: anything.
    Any,
    /// The options, in order.
    List(Vec<TcpOption>),
}

/// One TCP option.
#[derive(Clone, Debug, PartialEq)]
pub enum TcpOption {
    /// `nop`.
    Nop,
    /// `eol`.
    Eol,
    /// `mss N`.
    Mss(u16),
    /// `wscale N`.
    Wscale(u8),
    /// `sackOK`.
    SackOk,
    /// `sack 1:2 3:4`: blocks of (start, end), relative sequence numbers.
    Sack(Vec<(u32, u32)>),
    /// `TS val N ecr M`.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// `FO`, `FOEXP`, `md5`: kept as text.
    Other(String),
}

/// `name(args) = result [ERRNO (note)]`, possibly `...END name(...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Syscall {
    /// `...0.200` before the name: the call blocks until this time (absolute
    /// when the event time is absolute, else relative to the event's start).
    pub end_time: Option<f64>,
    /// The call's name (`socket`, `setsockopt`).
    pub name: String,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// The expected result.
    pub result: Expr,
    /// The expected errno's name (`EINPROGRESS`), if any.
    pub errno: Option<String>,
    /// The note in parentheses after it, if any.
    pub note: Option<String>,
}

/// An expression in a system call.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `...`: whatever the runner supplies.
    Ellipsis,
    /// A decimal or hexadecimal integer (negative as written: `-1`).
    Int(i64),
    /// A symbolic name (`SOCK_STREAM`, `O_NONBLOCK`).
    Word(String),
    /// A quoted string.
    Str(String),
    /// `"abc"...`: a string followed by anything.
    StrEllipsis(String),
    /// `a|b`.
    Or(Box<Expr>, Box<Expr>),
    /// `name=expr` (inside braces: `{fd=4, events=POLLIN}`).
    Assign(String, Box<Expr>),
    /// `[a, b]`.
    Array(Vec<Expr>),
    /// `{a, b}`: a brace list, including pollfd, epoll_event, linger,
    /// iovec (`{..., 1000}`), cmsg and sockaddr, whose members are
    /// `Assign`s or plain expressions in written order.
    List(Vec<Expr>),
    /// `inet_addr("1.2.3.4")`.
    InetAddr(String),
    /// A `msghdr`: `{msg_name(...)=..., msg_iov(N)=[...], msg_flags=F
    /// [, msg_control=[...]]}`.
    Msghdr {
        /// The iovecs (each usually `List([Ellipsis, Int(len)])`).
        iov: Vec<Expr>,
        /// `msg_flags`.
        flags: Box<Expr>,
        /// `msg_control`, if given.
        control: Option<Vec<Expr>>,
    },
}
