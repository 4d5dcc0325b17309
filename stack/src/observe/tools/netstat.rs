//! `netstat -an` (net-tools 2.10): the "Active Internet connections" part.
//!
//! netstat reads the same `/proc/net/{tcp,tcp6,udp,udp6,raw,raw6}` files
//! that [`super::proc_net_tcp`] and friends print (`tcp_do_one()`,
//! `udp_do_one()` and `raw_do_one()` in netstat.c parse them back), so its
//! Recv-Q and Send-Q are the kernel's `rx_queue` and `tx_queue` columns: a
//! listener's Send-Q is 0 here although `ss` shows its backlog. Each line is
//! one fixed-width `printf`; an address and port longer than 22 characters
//! is cut (`addr_do_one()`), as netstat does without `-W`.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{InetSockRow, L4Proto, TCP_LISTEN, ntop, rows_of};

/// Options of [`netstat`]. `-a` and `-n` are implied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetstatOpts {
    /// `-p`: a `PID/Program name` column.
    pub programs: bool,
}

/// `tcp_state[]` in netstat.c, indexed by kernel state number.
fn tcp_state(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "",
    }
}

/// `addr_do_one()` with `-n`: `address:port`, port 0 as `*`, a v4-mapped
/// IPv6 address as plain dotted quad (`fix_v4_address()`), and the whole
/// cut to 22 characters plus the colon when too long.
fn endpoint(ip: &IpAddr, port: u16) -> String {
    let mut addr = ntop(ip);
    if let IpAddr::V6(v6) = ip {
        if v6.to_ipv4_mapped().is_some() {
            if let Some(colon) = addr.rfind(':') {
                addr = addr[colon + 1..].to_string();
            }
        }
    }
    let port = if port == 0 {
        "*".to_string()
    } else {
        port.to_string()
    };
    const SHORT_LEN: usize = 22;
    if addr.len() + port.len() > SHORT_LEN {
        let port_len = port.len().min(SHORT_LEN - 4);
        let addr_len = SHORT_LEN - port_len;
        format!("{}:{}", &addr[..addr_len], &port[..port_len])
    } else {
        format!("{addr}:{port}")
    }
}

/// What `netstat -an` prints (the Internet part) for `rows`.
pub fn netstat_an(rows: &[InetSockRow]) -> String {
    netstat(rows, NetstatOpts::default())
}

/// What `netstat -anp` prints (the Internet part) for `rows`.
pub fn netstat_anp(rows: &[InetSockRow]) -> String {
    netstat(rows, NetstatOpts { programs: true })
}

/// What `netstat -an` with these options prints: TCP, then UDP, then raw,
/// each IPv4 (`tcp`) before IPv6 (`tcp6`), as netstat reads the files.
pub fn netstat(rows: &[InetSockRow], opts: NetstatOpts) -> String {
    let mut out = String::from("Active Internet connections (servers and established)\n");
    out.push_str("Proto Recv-Q Send-Q Local Address           Foreign Address         State      ");
    if opts.programs {
        let _ = write!(out, " {:<20}", "PID/Program name");
    }
    out.push('\n');
    for (proto, name) in [
        (L4Proto::Tcp, "tcp"),
        (L4Proto::Udp, "udp"),
        (L4Proto::Raw, "raw"),
    ] {
        for v6 in [false, true] {
            let prot = if v6 {
                format!("{name}6")
            } else {
                name.to_string()
            };
            for r in rows_of(rows, proto, v6) {
                line(&mut out, r, &prot, opts);
            }
        }
    }
    out
}

fn line(out: &mut String, r: &InetSockRow, prot: &str, opts: NetstatOpts) {
    let local = endpoint(&r.local.ip(), r.local.port());
    // Raw sockets have no remote port in /proc.
    let rport = if r.proto == L4Proto::Raw {
        0
    } else {
        r.remote.port()
    };
    let remote = endpoint(&r.remote.ip(), rport);
    let (rxq, txq) = match (r.proto, r.state) {
        (L4Proto::Tcp, TCP_LISTEN) => (r.rx_queue, 0),
        // Request and time-wait sockets print zero queues in /proc.
        (L4Proto::Tcp, 3 | 6) => (0, 0),
        _ => (r.rx_queue, r.tx_queue),
    };
    match r.proto {
        L4Proto::Tcp => {
            let _ = write!(
                out,
                "{prot:<4}  {rxq:>6} {txq:>6} {local:<23} {remote:<23} {:<11}",
                tcp_state(r.state)
            );
        }
        L4Proto::Udp => {
            let state = match r.state {
                1 => "ESTABLISHED",
                7 => "",
                _ => "UNKNOWN",
            };
            let _ = write!(
                out,
                "{prot:<5} {rxq:>6} {txq:>6} {local:<23} {remote:<23} {state:<11}"
            );
        }
        L4Proto::Raw => {
            let _ = write!(
                out,
                "{prot:<4}  {rxq:>6} {txq:>6} {local:<23} {remote:<23} {:<11}",
                r.state
            );
        }
    }
    if opts.programs {
        // prg_cache_load(): "pid/name" in a 20-byte buffer.
        let prog = match &r.process {
            Some((comm, pid, _)) => {
                let mut s = format!("{pid}/{comm}");
                let mut cut = s.len().min(19);
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s
            }
            None => "-".to_string(),
        };
        let _ = write!(out, " {prog:<20}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::{TCP_CLOSE, TCP_ESTABLISHED};
    use super::*;

    #[test]
    fn udp_and_tcp_lines() {
        let rows = [
            InetSockRow {
                proto: L4Proto::Tcp,
                state: TCP_LISTEN,
                local: "0.0.0.0:22".parse().unwrap(),
                tx_queue: 128,
                ..Default::default()
            },
            InetSockRow {
                state: TCP_CLOSE,
                local: "[::ffff:127.0.0.1]:38176".parse().unwrap(),
                remote: "[::]:0".parse().unwrap(),
                ..Default::default()
            },
            InetSockRow {
                state: TCP_ESTABLISHED,
                local: "[::1]:60588".parse().unwrap(),
                remote: "[::1]:49105".parse().unwrap(),
                process: Some(("python3".into(), 5033, 7)),
                ..Default::default()
            },
        ];
        assert_eq!(
            netstat_anp(&rows),
            "Active Internet connections (servers and established)\n\
             Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    \n\
             tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      -                   \n\
             udp6       0      0 127.0.0.1:38176         :::*                                -                   \n\
             udp6       0      0 ::1:60588               ::1:49105               ESTABLISHED 5033/python3        \n"
        );
    }

    #[test]
    fn long_addresses_are_cut_to_23() {
        let ip: IpAddr = "2001:db8:1234:5678:9abc:def0:1234:5678".parse().unwrap();
        assert_eq!(endpoint(&ip, 54321), "2001:db8:1234:567:54321");
    }
}
