//! Views of the simulated kernel in the exact formats of the real tools.
//!
//! A student checks what the simulation says against what `ss`, `netstat`,
//! `nstat`, `ip` and the files under `/proc/net` print on a real machine, so
//! every function here reproduces the real output byte for byte: the same
//! column widths, the same padding, the same trailing spaces. Each submodule
//! names the kernel function (or the user-space tool) whose `printf` it
//! mirrors; the tests in `stack/tests/tools_formats.rs` compare against the
//! real tools on the machine running them.
//!
//! Everything here is a pure function from plain row structs to a `String`:
//! the simulation fills the rows, nothing in this module reads the
//! simulation's state, and nothing panics whatever the row contents.

mod ip;
mod netstat;
mod nstat;
mod proc_net;
mod softnet;
mod ss;
mod unix;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use ip::{
    AddrRow, NeighRow, NudState, RouteRow, ip_addr, ip_link, ip_neigh, ip_route, ip_s_link,
};
pub use netstat::{NetstatOpts, netstat, netstat_an, netstat_anp};
pub use nstat::{NstatOpts, nstat};
pub use proc_net::{
    proc_net_raw, proc_net_raw6, proc_net_snmp, proc_net_tcp, proc_net_tcp6, proc_net_udp,
    proc_net_udp6,
};
pub use softnet::proc_net_softnet_stat;
pub use ss::{SsOpts, SsStates, ss, ss_with_unix};
pub use unix::{UnixSockRow, proc_net_unix};

/// Kernel `TCP_ESTABLISHED`; also what a connected UDP socket reports.
pub const TCP_ESTABLISHED: u8 = 1;
/// Kernel `TCP_SYN_SENT`.
pub const TCP_SYN_SENT: u8 = 2;
/// Kernel `TCP_SYN_RECV`. A row in this state is taken to be a request
/// socket (the kernel's `TCP_NEW_SYN_RECV` mini-socket, which `/proc` also
/// prints as 03), because that is what a half-open connection is on Linux.
pub const TCP_SYN_RECV: u8 = 3;
/// Kernel `TCP_FIN_WAIT1`.
pub const TCP_FIN_WAIT1: u8 = 4;
/// Kernel `TCP_FIN_WAIT2`.
pub const TCP_FIN_WAIT2: u8 = 5;
/// Kernel `TCP_TIME_WAIT`. A row in this state is taken to be a time-wait
/// mini-socket, which `/proc/net/tcp` prints with its own, shorter format.
pub const TCP_TIME_WAIT: u8 = 6;
/// Kernel `TCP_CLOSE`; also what an unconnected UDP or raw socket reports.
pub const TCP_CLOSE: u8 = 7;
/// Kernel `TCP_CLOSE_WAIT`.
pub const TCP_CLOSE_WAIT: u8 = 8;
/// Kernel `TCP_LAST_ACK`.
pub const TCP_LAST_ACK: u8 = 9;
/// Kernel `TCP_LISTEN`.
pub const TCP_LISTEN: u8 = 10;
/// Kernel `TCP_CLOSING`.
pub const TCP_CLOSING: u8 = 11;

/// Ticks per second of the simulation's `jiffies`, in which the TCP timer
/// fields of [`InetSockRow`] are counted (`CONFIG_HZ=1000`, so one jiffy is
/// one millisecond of virtual time).
pub const HZ: u64 = 1000;
/// Ticks per second of the `clock_t` user space sees (`USER_HZ`, 100 on every
/// Linux architecture); `/proc/net/tcp` prints its timer columns in these.
pub const USER_HZ: u64 = 100;

/// `jiffies_to_clock_t()`: what `/proc/net/tcp` does to every timer value
/// before printing it.
fn jiffies_to_clock_t(j: u64) -> u64 {
    j / (HZ / USER_HZ)
}

/// Transport protocol of an [`InetSockRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L4Proto {
    /// `SOCK_DGRAM`/`IPPROTO_UDP`.
    #[default]
    Udp,
    /// `SOCK_STREAM`/`IPPROTO_TCP`.
    Tcp,
    /// `SOCK_RAW`; the local port is the IP protocol number, as the kernel
    /// keeps it in `inet_num`.
    Raw,
}

/// One IPv4 or IPv6 socket as the socket tools see it.
///
/// The family of `local` decides which `/proc/net` file the row belongs to
/// (`udp` or `udp6`, …); an IPv6 socket bound to a v4-mapped address is
/// still an IPv6 socket.
#[derive(Debug, Clone, PartialEq)]
pub struct InetSockRow {
    /// Transport protocol.
    pub proto: L4Proto,
    /// Kernel state number (`TCP_ESTABLISHED` = 1 … `TCP_CLOSING` = 11, see
    /// the constants in this module); UDP and raw use 1 (connected) or 7.
    pub state: u8,
    /// Bound address and port (`inet_rcv_saddr`, `inet_sport`).
    pub local: SocketAddr,
    /// Connected peer; `0.0.0.0:0` or `[::]:0` when unconnected.
    pub remote: SocketAddr,
    /// UDP and raw: `sk_wmem_alloc`. TCP: `write_seq - snd_una`, except for
    /// a listener, where it is the backlog given to `listen()` (what `ss`
    /// shows as Send-Q; `/proc/net/tcp` and `netstat` show 0 there).
    pub tx_queue: u32,
    /// UDP and raw: `sk_rmem_alloc`. TCP: `rcv_nxt - copied_seq`, or for a
    /// listener the length of the accept queue (`sk_ack_backlog`).
    pub rx_queue: u32,
    /// Owner's uid.
    pub uid: u32,
    /// Inode number of the socket (what `/proc/PID/fd/N` links to).
    pub inode: u64,
    /// `sk_refcnt`.
    pub refcnt: u32,
    /// `sk_drops`: datagrams dropped at this socket (UDP and raw only).
    pub drops: u32,
    /// Hash bucket the kernel found the socket in: the `sl` column. For TCP
    /// the kernel prints a running count instead; pass that here.
    pub bucket: u32,
    /// Owner as `(comm, pid, fd)`, for `ss -p` and `netstat -p`.
    pub process: Option<(String, u32, i32)>,
    /// `IPV6_V6ONLY`: `ss` prints an unspecified IPv6 address as `*` when
    /// the socket also takes IPv4, and as `[::]` when it is IPv6-only.
    pub v6only: bool,
    /// The socket's kernel address as `%p` prints it in `/proc` (a hashed
    /// value on a real machine). The simulation leaves it 0, which prints as
    /// the sixteen zeros an unprivileged reader sees.
    pub sk_ptr: u64,
    /// TCP: which timer is pending, the `tr` column: 0 none, 1
    /// retransmit/loss probe, 2 keepalive (`sk_timer`), 3 time-wait, 4
    /// zero-window probe.
    pub timer: u8,
    /// TCP: jiffies until that timer fires (`tm->when`, printed in clock
    /// ticks).
    pub timer_expires_jiffies: u64,
    /// TCP: `icsk_retransmits` (the `retrnsmt` column); for a request
    /// socket, how many SYN-ACKs timed out.
    pub retransmits: u8,
    /// TCP: `icsk_probes_out`, the unnamed column after uid (headed
    /// `timeout`).
    pub probes_out: u8,
    /// TCP: `icsk_rto` in jiffies.
    pub rto_jiffies: u64,
    /// TCP: `icsk_ack.ato` (delayed-ACK timeout) in jiffies.
    pub ato_jiffies: u64,
    /// TCP: `(icsk_ack.quick << 1) | pingpong`, as the kernel prints it.
    pub quick_pingpong: u32,
    /// TCP: `snd_cwnd` in segments.
    pub cwnd: u32,
    /// TCP: `snd_ssthresh`; `0x7fffffff` or more means "still in initial
    /// slow start" and prints as -1. For a listener the kernel prints the
    /// TCP Fast Open queue limit in this column instead; pass that here.
    pub ssthresh: u32,
    /// TCP: the `tcp_info` line `ss -i` prints under the socket
    /// (`reno wscale:7,7 rto:204 rtt:0.1/0.05 mss:1448 cwnd:10 …`).
    pub info: Option<String>,
}

impl Default for InetSockRow {
    fn default() -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        InetSockRow {
            proto: L4Proto::Udp,
            state: TCP_CLOSE,
            local: any,
            remote: any,
            tx_queue: 0,
            rx_queue: 0,
            uid: 0,
            inode: 0,
            refcnt: 0,
            drops: 0,
            bucket: 0,
            process: None,
            v6only: false,
            sk_ptr: 0,
            timer: 0,
            timer_expires_jiffies: 0,
            retransmits: 0,
            probes_out: 0,
            rto_jiffies: 0,
            ato_jiffies: 0,
            quick_pingpong: 0,
            cwnd: 0,
            ssthresh: 0,
            info: None,
        }
    }
}

/// One CPU's line of `/proc/net/softnet_stat` (its `struct softnet_data`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoftnetRow {
    /// CPU id; offline CPUs have no line.
    pub cpu: u32,
    /// Packets taken off the backlog or a NAPI poll by `net_rx_action`.
    pub processed: u32,
    /// Packets dropped because the backlog held `netdev_max_backlog`.
    pub dropped: u32,
    /// Times `net_rx_action` stopped with work left (budget or time).
    pub time_squeeze: u32,
    /// Times this CPU was woken by another to process packets (RPS IPI).
    pub received_rps: u32,
    /// Packets dropped by the RPS flow limit.
    pub flow_limit_count: u32,
    /// Packets waiting in this CPU's backlog: `input_pkt_queue` plus
    /// `process_queue`.
    pub backlog_len: u32,
    /// The part of `backlog_len` already moved to `process_queue`, the batch
    /// `process_backlog` is working through; the rest is still on
    /// `input_pkt_queue`. Leave 0 to count all of it as `input_pkt_queue`.
    pub process_qlen: u32,
}

/// One network device as `ip -s link` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfStatsRow {
    /// `ifindex`.
    pub ifindex: u32,
    /// Device name.
    pub name: String,
    /// `IFF_*` flag names (`LOOPBACK`, `BROADCAST`, `MULTICAST`, `UP`,
    /// `LOWER_UP`, `NO-CARRIER` …); printed in iproute2's fixed order
    /// whatever order they come in.
    pub flags: Vec<&'static str>,
    /// MTU.
    pub mtu: u32,
    /// Root qdisc kind (`noqueue`, `pfifo_fast`, `fq_codel`, `noop` …).
    pub qdisc: String,
    /// Operational state (`UNKNOWN`, `UP`, `DOWN` …).
    pub state: String,
    /// `txqueuelen`; 0 leaves `qlen` off the line, as `ip` does.
    pub qlen: u32,
    /// Link type after `link/`: `loopback`, `ether`, `none` …
    pub link_type: String,
    /// Hardware address as text; empty when the device has none.
    pub mac: String,
    /// Broadcast address as text; empty when the device has none.
    pub brd: String,
    /// The bridge (or bond) this device is enslaved to (`master br0`).
    pub master: Option<String>,
    /// Where the device's link partner lives, as `ip` words it after the
    /// addresses: `link-netns NAME`, or `link-netnsid N` when the
    /// namespace has no name `ip` can find.
    pub link_netns: Option<String>,
    /// `rx_bytes`.
    pub rx_bytes: u64,
    /// `rx_packets`.
    pub rx_packets: u64,
    /// `rx_errors`.
    pub rx_errors: u64,
    /// `rx_dropped`.
    pub rx_dropped: u64,
    /// `rx_missed_errors`.
    pub rx_missed: u64,
    /// `multicast`.
    pub rx_mcast: u64,
    /// `tx_bytes`.
    pub tx_bytes: u64,
    /// `tx_packets`.
    pub tx_packets: u64,
    /// `tx_errors`.
    pub tx_errors: u64,
    /// `tx_dropped`.
    pub tx_dropped: u64,
    /// `tx_carrier_errors`.
    pub tx_carrier: u64,
    /// `collisions`.
    pub tx_collisions: u64,
}

/// One SNMP/MIB counter under its `nstat` name (`UdpRcvbufErrors`,
/// `TcpExtListenOverflows` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// `nstat` name: the `/proc/net/snmp` table prefix glued to the field.
    pub name: String,
    /// Value.
    pub value: u64,
}

/// An IPv6 address the way glibc's `inet_ntop()` writes it, which is what
/// every tool here calls. It differs from Rust's `Display` in one place:
/// glibc also writes the deprecated IPv4-compatible form `::a.b.c.d`.
fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // Longest run of zero words (the first if tied), if at least two long.
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_base = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = usize::MAX;
    }
    let mut s = String::new();
    for (i, word) in w.iter().enumerate() {
        if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
            if i == best_base {
                s.push(':');
            }
            continue;
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            let _ = write!(s, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return s;
        }
        let _ = write!(s, "{word:x}");
    }
    if best_base != usize::MAX && best_base + best_len == 8 {
        s.push(':');
    }
    s
}

/// An address as `inet_ntop()` writes it, for either family.
fn ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ntop6(v6),
    }
}

/// A dotted-quad or hex-group address as a kernel `/proc` file prints it:
/// each 32-bit word of the address as it sits in memory, read as a
/// little-endian number and printed `%08X`. So 127.0.0.1 prints as
/// `0100007F`, and ::1 as `00000000000000000000000001000000`.
fn proc_hex_addr(a: &IpAddr) -> String {
    let mut s = String::new();
    match a {
        IpAddr::V4(v4) => {
            let _ = write!(s, "{:08X}", u32::from_le_bytes(v4.octets()));
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            for chunk in o.chunks_exact(4) {
                let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                let _ = write!(s, "{word:08X}");
            }
        }
    }
    s
}

/// Rows of one protocol and family, in the order given, for the tools that
/// list IPv4 sockets before IPv6 ones.
fn rows_of<'a>(
    rows: &'a [InetSockRow],
    proto: L4Proto,
    v6: bool,
) -> impl Iterator<Item = &'a InetSockRow> + 'a {
    rows.iter()
        .filter(move |r| r.proto == proto && r.local.is_ipv6() == v6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntop6_matches_glibc_forms() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("fe80::1", "fe80::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("1::", "1::"),
        ];
        for (input, want) in cases {
            let a: Ipv6Addr = input.parse().unwrap();
            assert_eq!(ntop6(&a), want, "{input}");
        }
    }

    #[test]
    fn proc_hex_addr_is_host_order_words() {
        assert_eq!(
            proc_hex_addr(&"127.0.0.1".parse().unwrap()),
            "0100007F".to_string()
        );
        assert_eq!(
            proc_hex_addr(&"::1".parse().unwrap()),
            "00000000000000000000000001000000".to_string()
        );
        assert_eq!(
            proc_hex_addr(&"::ffff:127.0.0.1".parse().unwrap()),
            "0000000000000000FFFF00000100007F".to_string()
        );
    }
}
