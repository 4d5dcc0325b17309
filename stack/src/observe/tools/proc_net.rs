//! The socket tables under `/proc/net` (`udp`, `udp6`, `tcp`, `tcp6`, `raw`,
//! `raw6`) and the MIB tables of `/proc/net/snmp` and `/proc/net/netstat`.
//!
//! Mirrors, as of Linux 6.18:
//! - `udp4_seq_show()`/`udp4_format_sock()` in net/ipv4/udp.c;
//! - `udp6_seq_show()` and `raw6_seq_show()` through
//!   `__ip6_dgram_sock_seq_show()` in net/ipv6/datagram.c;
//! - `tcp4_seq_show()` with `get_tcp4_sock()`, `get_openreq4()` and
//!   `get_timewait4_sock()` in net/ipv4/tcp_ipv4.c, and their `tcp6`
//!   counterparts in net/ipv6/tcp_ipv6.c;
//! - `raw_seq_show()`/`raw_sock_seq_show()` in net/ipv4/raw.c;
//! - `snmp_seq_show_*()` in net/ipv4/proc.c.
//!
//! The IPv4 files pad every line with spaces to a fixed width
//! (`seq_setwidth()` then `seq_pad()`: 127 for udp, 149 for tcp) so that old
//! readers could seek by line; the IPv6 and raw files never did.

use std::fmt::Write as _;

use super::{
    InetSockRow, L4Proto, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT, jiffies_to_clock_t,
    proc_hex_addr, rows_of,
};

const UDP4_HEADER: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const TCP4_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const RAW4_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
/// `"  sl  "` followed by `IPV6_SEQ_DGRAM_HEADER` from include/net/transp_v6.h.
const DGRAM6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const TCP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

/// `seq_setwidth()` for /proc/net/udp.
const UDP4_WIDTH: usize = 127;
/// `TMPSZ - 1` in net/ipv4/tcp_ipv4.c.
const TCP4_WIDTH: usize = 149;

/// Above this `snd_ssthresh` TCP is still in its initial slow start
/// (`TCP_INFINITE_SSTHRESH`) and the kernel prints -1.
const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// `seq_pad()`: spaces up to `width`, then the newline.
fn pad_line(out: &mut String, line: &str, width: usize) {
    let _ = writeln!(out, "{line:<width$}");
}

/// The fields every socket line starts with: `sl`, both endpoints, state.
fn endpoints(r: &InetSockRow, sl_width: usize) -> String {
    // A raw socket has no remote port; the kernel hardcodes 0 there.
    let rport = if r.proto == L4Proto::Raw {
        0
    } else {
        r.remote.port()
    };
    format!(
        "{:>sl_width$}: {}:{:04X} {}:{:04X} {:02X}",
        r.bucket,
        proc_hex_addr(&r.local.ip()),
        r.local.port(),
        proc_hex_addr(&r.remote.ip()),
        rport,
        r.state
    )
}

/// The datagram format shared by udp, udp6, raw and raw6: the timer columns
/// are constant zeros because datagram sockets have none.
fn dgram_line(r: &InetSockRow, sl_width: usize) -> String {
    format!(
        "{} {:08X}:{:08X} 00:00000000 00000000 {:>5} {:>8} {} {} {:016x} {}",
        endpoints(r, sl_width),
        r.tx_queue,
        r.rx_queue,
        r.uid,
        0,
        r.inode,
        r.refcnt,
        r.sk_ptr,
        r.drops
    )
}

/// Exactly what `cat /proc/net/udp` prints for the IPv4 UDP rows among
/// `rows`.
pub fn proc_net_udp(rows: &[InetSockRow]) -> String {
    let mut out = String::new();
    pad_line(&mut out, UDP4_HEADER, UDP4_WIDTH);
    for r in rows_of(rows, L4Proto::Udp, false) {
        pad_line(&mut out, &dgram_line(r, 5), UDP4_WIDTH);
    }
    out
}

/// Exactly what `cat /proc/net/udp6` prints for the IPv6 UDP rows among
/// `rows`.
pub fn proc_net_udp6(rows: &[InetSockRow]) -> String {
    dgram6(rows, L4Proto::Udp)
}

/// Exactly what `cat /proc/net/raw` prints for the IPv4 raw rows among
/// `rows` (the local port column is the protocol number).
pub fn proc_net_raw(rows: &[InetSockRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{RAW4_HEADER}");
    for r in rows_of(rows, L4Proto::Raw, false) {
        let _ = writeln!(out, "{}", dgram_line(r, 4));
    }
    out
}

/// Exactly what `cat /proc/net/raw6` prints for the IPv6 raw rows among
/// `rows`.
pub fn proc_net_raw6(rows: &[InetSockRow]) -> String {
    dgram6(rows, L4Proto::Raw)
}

fn dgram6(rows: &[InetSockRow], proto: L4Proto) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{DGRAM6_HEADER}");
    for r in rows_of(rows, proto, true) {
        let _ = writeln!(out, "{}", dgram_line(r, 5));
    }
    out
}

/// One TCP line: a full socket (`get_tcp4_sock`), a request socket
/// (`get_openreq4`) or a time-wait socket (`get_timewait4_sock`), each with
/// the kernel's own choice of columns.
fn tcp_line(r: &InetSockRow) -> String {
    let head = endpoints(r, 4);
    let when = jiffies_to_clock_t(r.timer_expires_jiffies);
    match r.state {
        // A request socket has no inode or queues; its one timer is the
        // SYN-ACK retransmit, and the listener's owner is its uid.
        TCP_SYN_RECV => format!(
            "{head} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:>5} {:>8} {} {} {:016x}",
            0, 0, 1, when, r.retransmits, r.uid, 0, 0, 0, r.sk_ptr
        ),
        // A time-wait socket keeps only addresses, its timer and refcount.
        TCP_TIME_WAIT => format!(
            "{head} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:>5} {:>8} {} {} {:016x}",
            0, 0, 3, when, 0, 0, 0, 0, r.refcnt, r.sk_ptr
        ),
        _ => {
            let listen = r.state == TCP_LISTEN;
            // Send-Q of a listener is its backlog for ss; the kernel's
            // write_seq - snd_una is 0 there.
            let tx = if listen { 0 } else { r.tx_queue };
            let ssthresh: i64 = if !listen && r.ssthresh >= TCP_INFINITE_SSTHRESH {
                -1
            } else {
                i64::from(r.ssthresh as i32)
            };
            format!(
                "{head} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:>5} {:>8} {} {} {:016x} {} {} {} {} {}",
                tx,
                r.rx_queue,
                r.timer,
                when,
                r.retransmits,
                r.uid,
                r.probes_out,
                r.inode,
                r.refcnt,
                r.sk_ptr,
                jiffies_to_clock_t(r.rto_jiffies),
                jiffies_to_clock_t(r.ato_jiffies),
                r.quick_pingpong,
                r.cwnd,
                ssthresh
            )
        }
    }
}

/// Exactly what `cat /proc/net/tcp` prints for the IPv4 TCP rows among
/// `rows`.
pub fn proc_net_tcp(rows: &[InetSockRow]) -> String {
    let mut out = String::new();
    pad_line(&mut out, TCP4_HEADER, TCP4_WIDTH);
    for r in rows_of(rows, L4Proto::Tcp, false) {
        pad_line(&mut out, &tcp_line(r), TCP4_WIDTH);
    }
    out
}

/// Exactly what `cat /proc/net/tcp6` prints for the IPv6 TCP rows among
/// `rows`.
pub fn proc_net_tcp6(rows: &[InetSockRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{TCP6_HEADER}");
    for r in rows_of(rows, L4Proto::Tcp, true) {
        let _ = writeln!(out, "{}", tcp_line(r));
    }
    out
}

/// The tables of `/proc/net/snmp` or `/proc/net/netstat`: for each
/// `(prefix, fields)` a line of names and a line of values, both starting
/// with `prefix:`, e.g. `proc_net_snmp(&[("Udp", &udp_fields)])` gives the
/// two `Udp:` lines. Values are signed because `Tcp: MaxConn` is -1.
pub fn proc_net_snmp(tables: &[(&str, &[(&str, i64)])]) -> String {
    let mut out = String::new();
    for (prefix, fields) in tables {
        out.push_str(prefix);
        out.push(':');
        for (name, _) in fields.iter() {
            out.push(' ');
            out.push_str(name);
        }
        out.push('\n');
        out.push_str(prefix);
        out.push(':');
        for (_, value) in fields.iter() {
            let _ = write!(out, " {value}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{TCP_CLOSE, TCP_ESTABLISHED};
    use super::*;

    #[test]
    fn udp_lines_are_padded_to_127() {
        let rows = [InetSockRow {
            local: "127.0.0.1:5000".parse().unwrap(),
            state: TCP_CLOSE,
            rx_queue: 832,
            inode: 7526,
            refcnt: 2,
            bucket: 8568,
            ..Default::default()
        }];
        let got = proc_net_udp(&rows);
        let want = format!(
            "{:<127}\n{:<127}\n",
            UDP4_HEADER,
            " 8568: 0100007F:1388 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 7526 2 0000000000000000 0"
        );
        assert_eq!(got, want);
    }

    #[test]
    fn tcp_listener_prints_zero_send_queue_and_fastopen_limit() {
        let row = InetSockRow {
            proto: L4Proto::Tcp,
            state: TCP_LISTEN,
            local: "127.0.0.1:8080".parse().unwrap(),
            tx_queue: 128,
            rx_queue: 3,
            inode: 99,
            refcnt: 1,
            rto_jiffies: 1000,
            cwnd: 10,
            ..Default::default()
        };
        assert_eq!(
            tcp_line(&row),
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0"
        );
        let est = InetSockRow {
            state: TCP_ESTABLISHED,
            ssthresh: u32::MAX,
            ..row
        };
        assert!(tcp_line(&est).ends_with(" 100 0 0 10 -1"));
    }

    #[test]
    fn snmp_table_is_two_lines() {
        let udp: &[(&str, i64)] = &[("InDatagrams", 35), ("NoPorts", 0)];
        assert_eq!(
            proc_net_snmp(&[("Udp", udp)]),
            "Udp: InDatagrams NoPorts\nUdp: 35 0\n"
        );
    }
}
