//! `ss` (iproute2 misc/ss.c): the socket table `ss -tuanp` prints.
//!
//! The kernel side is `inet_diag` (net/ipv4/inet_diag.c) with `tcp_diag`,
//! `udp_diag` and `raw_diag`: a netlink dump of `struct inet_diag_msg`, whose
//! `idiag_rqueue`/`idiag_wqueue` become Recv-Q and Send-Q. For a listener
//! those are the accept queue length and the `listen()` backlog, not byte
//! counts; that is why the columns are not called "bytes".
//!
//! The layout follows iproute2 6.1: every field is buffered, each column is
//! as wide as its widest entry (header included), and only when stdout is a
//! terminal is the spare screen width spread over the columns
//! (`render_calc_width()` and `render()` in misc/ss.c). Piped output is
//! "compact" but keeps the padding of the last column, so lines end in
//! spaces; iproute2 7.0 stopped padding that last column.

use super::{InetSockRow, L4Proto, UnixSockRow, ntop};

/// Which socket states `ss` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SsStates {
    /// No `-a`/`-l`: connected sockets only (for TCP everything but LISTEN,
    /// UNCONN, TIME-WAIT and SYN-RECV; for UDP and raw only ESTAB).
    #[default]
    Connected,
    /// `-l`: LISTEN and UNCONN.
    Listening,
    /// `-a`: every state.
    All,
}

/// Options of [`ss`]. Addresses and ports are always numeric (`-n`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsOpts {
    /// `-t`: TCP sockets.
    pub tcp: bool,
    /// `-u`: UDP sockets.
    pub udp: bool,
    /// `-w`: raw sockets.
    pub raw: bool,
    /// `-x`: unix sockets (`u_str`, `u_dgr`, `u_seq`).
    pub unix: bool,
    /// `-a` / `-l` / neither.
    pub states: SsStates,
    /// `-p`: the owning process.
    pub processes: bool,
    /// Terminal width when stdout is a terminal; `None` for a pipe or file,
    /// which is what a test or a student's `ss | grep` sees.
    pub screen_width: Option<usize>,
    /// `-i`: after each socket, a line of its `tcp_info` (the row's `info`).
    pub info: bool,
}

impl SsOpts {
    /// Options from an `ss` flag cluster such as `"-tuanp"`; `None` for a
    /// letter this view does not know. Without `-t`, `-u`, `-w` or `-x`
    /// all four are listed, as `ss -an` lists every socket.
    pub fn from_flags(flags: &str) -> Option<SsOpts> {
        let mut o = SsOpts::default();
        for ch in flags.trim_start_matches('-').chars() {
            match ch {
                't' => o.tcp = true,
                'u' => o.udp = true,
                'w' => o.raw = true,
                'x' => o.unix = true,
                'a' => o.states = SsStates::All,
                'l' => o.states = SsStates::Listening,
                'p' => o.processes = true,
                'n' => {}
                'i' => o.info = true,
                _ => return None,
            }
        }
        Some(o)
    }
}

/// `sstate_name[]` in misc/ss.c, indexed by kernel state number.
fn state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTAB",
        2 => "SYN-SENT",
        3 => "SYN-RECV",
        4 => "FIN-WAIT-1",
        5 => "FIN-WAIT-2",
        6 => "TIME-WAIT",
        7 => "UNCONN",
        8 => "CLOSE-WAIT",
        9 => "LAST-ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// `SS_CONN` in misc/ss.c: every state but LISTEN, UNCONN, TIME-WAIT and
/// SYN-RECV (bit 0, "UNKNOWN", included).
const SS_CONN: u16 = 0x0fff & !(1 << 10 | 1 << 7 | 1 << 6 | 1 << 3);

/// The set of states shown, as a bit mask by state number. Without `-a` or
/// `-l` each protocol brings its own default (`default_dbs[]`): TCP its
/// connected states, UDP and raw only ESTAB.
fn state_mask(states: SsStates, protos: &[(L4Proto, &str)]) -> u16 {
    match states {
        SsStates::All => 0x0fff,
        SsStates::Listening => 1 << 10 | 1 << 7,
        SsStates::Connected => protos
            .iter()
            .map(|(p, _)| match p {
                L4Proto::Tcp => SS_CONN,
                L4Proto::Udp | L4Proto::Raw => 1 << 1,
            })
            .fold(0, |a, b| a | b),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// `columns[]` of misc/ss.c: alignment, header, left delimiter. The ninth
/// column holds the process (its header is "Process"); the tenth is always
/// empty and marks the end of a line.
const COLUMNS: [(Align, &str, &str); 10] = [
    (Align::Left, "Netid", ""),
    (Align::Left, "State", " "),
    (Align::Left, "Recv-Q", " "),
    (Align::Left, "Send-Q", " "),
    (Align::Right, "Local Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Right, "Peer Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Left, "Process", ""),
    (Align::Left, "", ""),
];
const NCOLS: usize = COLUMNS.len();

/// Whether the kernel reports the socket as IPv6-only (`INET_DIAG_SKV6ONLY`):
/// set by `IPV6_V6ONLY`, and also by binding to a specific IPv6 address,
/// which `__inet6_bind()` marks v6-only since no IPv4 packet can reach it.
fn v6only(r: &InetSockRow) -> bool {
    match r.local.ip() {
        std::net::IpAddr::V6(v6) => {
            r.v6only || !(v6.is_unspecified() || v6.to_ipv4_mapped().is_some())
        }
        std::net::IpAddr::V4(_) => false,
    }
}

/// An address as `inet_addr_print()` shows it: IPv6 in brackets, and the
/// unspecified IPv6 address as `*` unless the socket is IPv6-only (then it
/// really only means "any IPv6 address").
fn addr_token(ip: &std::net::IpAddr, v6only: bool) -> String {
    match ip {
        std::net::IpAddr::V4(_) => format!("{}:", ntop(ip)),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() && !v6only => "*:".to_string(),
        std::net::IpAddr::V6(_) => format!("[{}]:", ntop(ip)),
    }
}

fn port_token(port: u16) -> String {
    if port == 0 {
        "*".to_string()
    } else {
        port.to_string()
    }
}

/// What `ss` prints for `rows` with these options: the protocols in ss's
/// order (raw, udp, tcp), IPv4 before IPv6 within each, and the given order
/// within that.
pub fn ss(rows: &[InetSockRow], opts: SsOpts) -> String {
    ss_with_unix(rows, &[], opts)
}

/// [`ss`] with unix sockets too, which `ss` lists before the inet ones
/// (`unix_show()` runs before `raw_show()`), in the order given (the
/// kernel's hash order on a real machine). A connection not yet accepted
/// (inode 0) is not in the `unix_diag` dump.
pub fn ss_with_unix(rows: &[InetSockRow], unix: &[UnixSockRow], opts: SsOpts) -> String {
    let any_proto = opts.tcp || opts.udp || opts.raw || opts.unix;
    let show_unix = opts.unix || !any_proto;
    let protos: Vec<(L4Proto, &str)> = [
        (L4Proto::Raw, "raw", opts.raw),
        (L4Proto::Udp, "udp", opts.udp),
        (L4Proto::Tcp, "tcp", opts.tcp),
    ]
    .into_iter()
    .filter(|&(_, _, on)| on || !any_proto)
    .map(|(p, name, _)| (p, name))
    .collect();

    // One state filter for all tables, the union of each table's default
    // (unix sockets: their connected states).
    let mut mask = state_mask(opts.states, &protos);
    if show_unix && opts.states == SsStates::Connected {
        mask |= SS_CONN;
    }
    let mut disabled = [false; NCOLS];
    // One table of sockets (unix counts as three: stream, datagram and
    // seqpacket) needs no Netid column, one state no State column.
    disabled[0] = protos.len() + if show_unix { 3 } else { 0 } == 1;
    disabled[1] = mask.count_ones() == 1;

    let mut lines: Vec<[String; NCOLS]> = Vec::new();
    let mut header: [String; NCOLS] = Default::default();
    for (i, (_, h, _)) in COLUMNS.iter().enumerate().take(NCOLS - 1) {
        header[i] = (*h).to_string();
    }
    lines.push(header);
    // The tcp_info line printed under each socket with -i (none for the header).
    let mut infos: Vec<Option<String>> = vec![None];

    let users = |p: &Option<(String, u32, i32)>| match (p, opts.processes) {
        (Some((comm, pid, fd)), true) => format!(" users:((\"{comm}\",pid={pid},fd={fd}))"),
        _ => String::new(),
    };
    if show_unix {
        for r in unix.iter().filter(|r| r.inode != 0) {
            if r.state > 11 || mask & (1 << r.state) == 0 {
                continue;
            }
            // sock_addr_print(name, " ", inode): the delimiter is a space.
            lines.push([
                r.netid().to_string(),
                state_name(r.state).to_string(),
                format!("{:<6}", r.rqueue as i32),
                format!("{:<6}", r.wqueue as i32),
                format!("{} ", r.name.as_deref().unwrap_or("*")),
                r.inode.to_string(),
                "* ".to_string(),
                r.peer_inode.to_string(),
                users(&r.process),
                String::new(),
            ]);
            infos.push(None);
        }
    }

    for &(proto, netid) in &protos {
        for v6 in [false, true] {
            for r in super::rows_of(rows, proto, v6) {
                if r.state > 11 || mask & (1 << r.state) == 0 {
                    continue;
                }
                // Request and time-wait mini-sockets have no queues;
                // inet_diag reports 0 for them.
                let (rq, wq) = match (r.proto, r.state) {
                    (L4Proto::Tcp, 3 | 6) => (0, 0),
                    _ => (r.rx_queue, r.tx_queue),
                };
                lines.push([
                    netid.to_string(),
                    state_name(r.state).to_string(),
                    format!("{:<6}", rq as i32),
                    format!("{:<6}", wq as i32),
                    addr_token(&r.local.ip(), v6only(r)),
                    port_token(r.local.port()),
                    addr_token(&r.remote.ip(), v6only(r)),
                    port_token(r.remote.port()),
                    users(&r.process),
                    String::new(),
                ]);
                infos.push(r.info.clone().filter(|_| opts.info));
            }
        }
    }
    let table = render(&lines, &disabled, opts.screen_width);
    if !opts.info {
        return table;
    }
    // tcp_show_info() prints its line right under the socket's line.
    let mut out = String::new();
    for (line, info) in table
        .lines()
        .zip(infos.iter().chain(std::iter::repeat(&None)))
    {
        out.push_str(line);
        out.push('\n');
        if let Some(i) = info {
            out.push_str("\t ");
            out.push_str(i);
            out.push('\n');
        }
    }
    out
}

/// `render_calc_width()`: each column as wide as its widest entry plus its
/// delimiter; on a terminal, the spare width of every screen line handed out
/// evenly, the remainder to the rightmost columns.
fn calc_widths(
    lines: &[[String; NCOLS]],
    disabled: &[bool; NCOLS],
    screen: Option<usize>,
) -> [usize; NCOLS] {
    let mut width = [0usize; NCOLS];
    let mut first = true;
    for c in 0..NCOLS {
        if disabled[c] {
            continue;
        }
        let max_len = lines.iter().map(|l| l[c].len()).max().unwrap_or(0);
        width[c] = if !first && max_len > 0 {
            max_len + COLUMNS[c].2.len()
        } else {
            max_len
        };
        if let Some(s) = screen {
            width[c] = width[c].min(s);
        }
        if width[c] > 0 {
            first = false;
        }
    }
    let Some(screen) = screen else {
        return width;
    };

    // Second pass: find where the terminal will wrap and spread the slack.
    let (mut len, mut linecols) = (0usize, 0usize);
    let mut line_start = 0usize;
    let mut c = 0usize;
    while c < NCOLS {
        if width[c] == 0 {
            c += 1;
            continue;
        }
        linecols += 1;
        len += width[c];
        let last = !width[c + 1..].iter().any(|&w| w > 0);
        if !last && len < screen {
            c += 1;
            continue;
        }
        // The last column of this screen line (the current one, or the one
        // before if the current one does not fit).
        let mut end = c;
        if len > screen && c > line_start {
            len -= width[c];
            linecols -= 1;
            end = c - 1;
        }
        if len < screen && linecols > 0 {
            let pad = screen - len;
            let (spacing, mut rem) = (pad / linecols, pad % linecols);
            for w in width[line_start..=end].iter_mut().rev() {
                if *w == 0 {
                    continue;
                }
                *w += spacing;
                if rem > 0 {
                    *w += 1;
                    rem -= 1;
                }
            }
        }
        line_start = end + 1;
        len = 0;
        linecols = 0;
        c = end + 1;
    }
    width
}

/// `render()`: replay the buffered fields with delimiters and padding.
fn render(lines: &[[String; NCOLS]], disabled: &[bool; NCOLS], screen: Option<usize>) -> String {
    let width = calc_widths(lines, disabled, screen);
    let mut out = String::new();
    for line in lines {
        let mut started = false;
        for c in 0..NCOLS {
            if disabled[c] {
                continue;
            }
            let (align, _, ldelim) = COLUMNS[c];
            let token = &line[c];
            let mut printed = 0usize;
            if started {
                out.push_str(ldelim);
                printed = ldelim.len();
            }
            started = true;
            if width[c] > 0 && align == Align::Right {
                let s = width[c].saturating_sub(token.len() + printed);
                out.extend(std::iter::repeat_n(' ', s));
                printed += s;
            }
            out.push_str(token);
            printed += token.len();
            if width[c] > 0 && align == Align::Left {
                let s = width[c].saturating_sub(printed);
                out.extend(std::iter::repeat_n(' ', s));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN};
    use super::*;

    fn udp(local: &str, remote: &str, state: u8) -> InetSockRow {
        InetSockRow {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            state,
            ..Default::default()
        }
    }

    #[test]
    fn uan_piped() {
        let rows = [
            InetSockRow {
                rx_queue: 832,
                ..udp("127.0.0.1:58712", "0.0.0.0:0", TCP_CLOSE)
            },
            udp("127.0.0.1:46366", "127.0.0.1:58712", TCP_ESTABLISHED),
            udp("[::]:49105", "[::]:0", TCP_CLOSE),
        ];
        let got = ss(&rows, SsOpts::from_flags("-uan").unwrap());
        assert_eq!(
            got,
            "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n\
             UNCONN 832    0          127.0.0.1:58712      0.0.0.0:*           \n\
             ESTAB  0      0          127.0.0.1:46366    127.0.0.1:58712       \n\
             UNCONN 0      0                  *:49105            *:*           \n"
        );
    }

    #[test]
    fn netid_column_when_two_protocols() {
        let rows = [
            udp("127.0.0.1:53", "0.0.0.0:0", TCP_CLOSE),
            InetSockRow {
                proto: L4Proto::Tcp,
                tx_queue: 128,
                ..udp("0.0.0.0:22", "0.0.0.0:0", TCP_LISTEN)
            },
        ];
        let got = ss(&rows, SsOpts::from_flags("-tuln").unwrap());
        assert_eq!(
            got,
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
             udp   UNCONN 0      0          127.0.0.1:53        0.0.0.0:*          \n\
             tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*          \n"
        );
        // Without -a or -l only connected sockets are listed, and UDP alone
        // lists only ESTAB, which makes the State column pointless.
        assert_eq!(
            ss(&rows, SsOpts::from_flags("-tun").unwrap()),
            "Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        );
        assert_eq!(
            ss(&rows, SsOpts::from_flags("-un").unwrap()),
            "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        );
    }

    #[test]
    fn terminal_width_spreads_spare_columns() {
        let rows = [udp("127.0.0.1:53", "0.0.0.0:0", TCP_CLOSE)];
        let opts = SsOpts {
            screen_width: Some(80),
            ..SsOpts::from_flags("-uan").unwrap()
        };
        for line in ss(&rows, opts).lines() {
            assert_eq!(line.len(), 80, "{line:?}");
        }
    }
}
