//! The kernel's tunables, as `sysctl` names them (`/proc/sys/net/...`).
//!
//! Defaults are the values read off this project's reference machine (a
//! Linux 6.18 kernel): `rmem_max`/`wmem_max` there are 4194304, the
//! kernel's own default since 6.18 (212992 before). A
//! differential test (`tests/differential_sysctl.rs`) compares every default
//! here with the running kernel's `/proc/sys/net`. In the kernel these live
//! in `struct netns_core` / `struct netns_ipv4` (`net/core/sysctl_net_core.c`,
//! `net/ipv4/sysctl_net_ipv4.c`); like the kernel, each network namespace has
//! its own copy.
//!
//! One module for both tables (`net.core.*` and `net.ipv4.*`), because the
//! simulation keeps them in one per-namespace struct and `sysctl -a` lists
//! them together.

use crate::uapi::errno::Errno;

/// Every modelled sysctl, with the machine's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.core.rmem_default`: a new socket's `sk_rcvbuf`.
    pub rmem_default: u32,
    /// `net.core.rmem_max`: the cap on `SO_RCVBUF` (before doubling).
    pub rmem_max: u32,
    /// `net.core.wmem_default`: a new socket's `sk_sndbuf`.
    pub wmem_default: u32,
    /// `net.core.wmem_max`: the cap on `SO_SNDBUF` (before doubling).
    pub wmem_max: u32,
    /// `net.core.netdev_max_backlog`: the per-CPU input backlog's limit.
    pub netdev_max_backlog: u32,
    /// `net.core.netdev_budget`: packets one `net_rx_action` run may process.
    pub netdev_budget: u32,
    /// `net.core.netdev_budget_usecs`: time one `net_rx_action` run may take.
    pub netdev_budget_usecs: u32,
    /// `net.core.dev_weight`: the backlog NAPI's weight (`process_backlog`).
    pub dev_weight: u32,
    /// `net.core.somaxconn`: the cap on `listen()`'s backlog.
    pub somaxconn: u32,
    /// `net.core.optmem_max`: the cap on a socket's option memory
    /// (`sk_omem_alloc`), where pending `MSG_ZEROCOPY` notifications are
    /// charged (`sock_omalloc()`).
    pub optmem_max: u32,
    /// `net.ipv4.ip_local_port_range`: ephemeral ports, inclusive.
    pub ip_local_port_range: (u16, u16),
    /// `net.ipv4.ip_default_ttl`.
    pub ip_default_ttl: u8,
    /// `net.ipv4.udp_rmem_min`.
    pub udp_rmem_min: u32,
    /// `net.ipv4.udp_wmem_min`.
    pub udp_wmem_min: u32,
    /// `net.ipv4.icmp_ratelimit` in milliseconds (loopback is exempt).
    pub icmp_ratelimit: u32,
    /// `net.ipv4.ip_unprivileged_port_start`.
    pub ip_unprivileged_port_start: u16,
    /// `net.ipv4.tcp_rmem`: min, default (a new socket's `sk_rcvbuf`), max.
    pub tcp_rmem: (u32, u32, u32),
    /// `net.ipv4.tcp_wmem`: min, default (a new socket's `sk_sndbuf`), max.
    pub tcp_wmem: (u32, u32, u32),
    /// `net.ipv4.tcp_syncookies`: 1 = send cookies when the SYN queue is full.
    pub tcp_syncookies: u32,
    /// `net.ipv4.tcp_max_syn_backlog`.
    pub tcp_max_syn_backlog: u32,
    /// `net.ipv4.tcp_abort_on_overflow`: reset instead of dropping the final
    /// ACK that finds the accept queue full.
    pub tcp_abort_on_overflow: u32,
    /// `net.ipv4.tcp_synack_retries`.
    pub tcp_synack_retries: u32,
    /// `net.ipv4.tcp_syn_retries`.
    pub tcp_syn_retries: u32,
    /// `net.ipv4.tcp_syn_linear_timeouts`: SYN retransmissions sent at the
    /// initial 1 s timeout before the exponential backoff begins (added
    /// in Linux 6.5); 0 to 127.
    pub tcp_syn_linear_timeouts: u8,
    /// `net.ipv4.tcp_fin_timeout` in seconds: an orphaned FIN_WAIT2's life.
    pub tcp_fin_timeout: u32,
    /// `net.ipv4.tcp_retries2`.
    pub tcp_retries2: u32,
    /// `net.ipv4.tcp_sack`: offer and accept selective acknowledgments
    /// (any value but 0 is on).
    pub tcp_sack: u8,
    /// `net.ipv4.tcp_dsack`: report data received twice in a D-SACK block.
    pub tcp_dsack: u8,
    /// `net.ipv4.tcp_notsent_lowat`: unsent bytes above which a socket is
    /// not writable and a write stops queueing, for sockets that did not
    /// set `TCP_NOTSENT_LOWAT` (no limit by default).
    pub tcp_notsent_lowat: u32,
    /// `net.ipv4.tcp_timestamps`: offer and accept RFC 7323 timestamps; 1
    /// adds a per-connection offset to TSval, 2 sends the bare clock, 0 is
    /// off.
    pub tcp_timestamps: u8,
    /// `net.ipv4.tcp_pingpong_thresh`: answers sent within `ato` of a
    /// request before a connection counts as interactive and delays its
    /// ACKs (`inet_csk_in_pingpong_mode()`); 1 to 255. Per namespace, and
    /// a new namespace starts at 1 (`tcp_sk_init()`).
    pub tcp_pingpong_thresh: u8,
    /// `net.ipv4.tcp_congestion_control`: the algorithm a new socket gets
    /// (`cubic`; a new namespace starts with `init_net`'s).
    pub tcp_congestion_control: crate::net::ipv4::tcp::cong::CongAlgo,
    /// `net.ipv4.tcp_slow_start_after_idle`: restart the congestion
    /// window after an idle time longer than the RTO (RFC 2861).
    pub tcp_slow_start_after_idle: u8,
    /// `net.ipv4.tcp_early_retrans`: 3 or 4 arm a tail loss probe on SACK
    /// connections (RACK-TLP); 0 to 2 do not (0 to 4).
    pub tcp_early_retrans: u8,
    /// `net.ipv4.tcp_moderate_rcvbuf`: autotune receive buffers the
    /// process did not size (`tcp_rcv_space_adjust()`).
    pub tcp_moderate_rcvbuf: u8,
    /// `net.unix.max_dgram_qlen`: how many datagrams a unix socket's
    /// receive queue holds for senders that are not its peer, and a unix
    /// socket's backlog before `listen()` sets one (`sk_max_ack_backlog`).
    pub unix_max_dgram_qlen: i32,
}

impl Default for Sysctls {
    fn default() -> Sysctls {
        Sysctls {
            rmem_default: 212_992,
            rmem_max: 4_194_304,
            wmem_default: 212_992,
            wmem_max: 4_194_304,
            netdev_max_backlog: 1000,
            netdev_budget: 300,
            netdev_budget_usecs: 8000,
            dev_weight: 64,
            somaxconn: 4096,
            optmem_max: 131_072,
            ip_local_port_range: (32768, 60999),
            ip_default_ttl: 64,
            udp_rmem_min: 4096,
            udp_wmem_min: 4096,
            icmp_ratelimit: 1000,
            ip_unprivileged_port_start: 1024,
            tcp_rmem: (4096, 131_072, 33_554_432),
            tcp_wmem: (4096, 16_384, 4_194_304),
            tcp_syncookies: 1,
            tcp_max_syn_backlog: 2048,
            tcp_abort_on_overflow: 0,
            tcp_synack_retries: 5,
            tcp_syn_retries: 6,
            tcp_syn_linear_timeouts: 4,
            tcp_fin_timeout: 60,
            tcp_retries2: 15,
            tcp_sack: 1,
            tcp_dsack: 1,
            tcp_notsent_lowat: u32::MAX,
            tcp_timestamps: 1,
            tcp_pingpong_thresh: 1,
            tcp_congestion_control: Default::default(),
            tcp_slow_start_after_idle: 1,
            tcp_early_retrans: 3,
            tcp_moderate_rcvbuf: 1,
            unix_max_dgram_qlen: 10,
        }
    }
}

/// The names `sysctl -a` prints for the modelled tunables, in this order.
pub const NAMES: &[&str] = &[
    "net.core.rmem_default",
    "net.core.rmem_max",
    "net.core.wmem_default",
    "net.core.wmem_max",
    "net.core.netdev_max_backlog",
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.dev_weight",
    "net.core.somaxconn",
    "net.core.optmem_max",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_default_ttl",
    "net.ipv4.udp_rmem_min",
    "net.ipv4.udp_wmem_min",
    "net.ipv4.icmp_ratelimit",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_syn_linear_timeouts",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_retries2",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_dsack",
    "net.ipv4.tcp_notsent_lowat",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_pingpong_thresh",
    "net.ipv4.tcp_congestion_control",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_early_retrans",
    "net.ipv4.tcp_moderate_rcvbuf",
    "net.unix.max_dgram_qlen",
];

/// Tunables whose default is chosen when the kernel is built: the
/// congestion control (`CONFIG_DEFAULT_TCP_CONG`, `cubic` in Linux's own
/// configuration, which the simulation follows; distributions may pick
/// `bbr`). A differential test cannot expect this machine's value.
pub const BUILD_CHOICE: &[&str] = &["net.ipv4.tcp_congestion_control"];

/// Tunables that are global to the kernel and appear only in `init_net`'s
/// `/proc/sys/net/core` (`net_core_table`, not `netns_core_table`).
pub const INIT_NET_ONLY: &[&str] = &[
    "net.core.netdev_max_backlog",
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.dev_weight",
];

/// Tunables that are global but visible, read-only, in every namespace
/// (`netns_core_table`'s `{r,w}mem_{default,max}` entries point at the
/// global values; `sysctl_core_net_init()` clears their write bits in a
/// child namespace).
pub const GLOBAL: &[&str] = &[
    "net.core.rmem_default",
    "net.core.rmem_max",
    "net.core.wmem_default",
    "net.core.wmem_max",
];

impl Sysctls {
    /// The tunables of a namespace made now, given `init_net`'s (`self`):
    /// the kernel's defaults, with `tcp_rmem`/`tcp_wmem` copied from
    /// `init_net` (`tcp_sk_init()`) and the global values shared.
    pub(crate) fn for_new_netns(&self) -> Sysctls {
        let mut s = Sysctls {
            tcp_rmem: self.tcp_rmem,
            tcp_wmem: self.tcp_wmem,
            tcp_congestion_control: self.tcp_congestion_control,
            ..Sysctls::default()
        };
        s.copy_global_from(self);
        s
    }

    /// Takes the global tunables' values from `init_net`'s.
    pub(crate) fn copy_global_from(&mut self, init: &Sysctls) {
        self.rmem_default = init.rmem_default;
        self.rmem_max = init.rmem_max;
        self.wmem_default = init.wmem_default;
        self.wmem_max = init.wmem_max;
        self.netdev_max_backlog = init.netdev_max_backlog;
        self.netdev_budget = init.netdev_budget;
        self.netdev_budget_usecs = init.netdev_budget_usecs;
        self.dev_weight = init.dev_weight;
    }
}

impl Sysctls {
    /// Reads a tunable as `sysctl -n NAME` prints it (the port range as
    /// two numbers separated by a tab). Unknown names give `ENOENT`, as
    /// opening a missing `/proc/sys` file does.
    pub fn get(&self, name: &str) -> Result<String, Errno> {
        let v = match name {
            "net.core.rmem_default" => self.rmem_default.to_string(),
            "net.core.rmem_max" => self.rmem_max.to_string(),
            "net.core.wmem_default" => self.wmem_default.to_string(),
            "net.core.wmem_max" => self.wmem_max.to_string(),
            "net.core.netdev_max_backlog" => self.netdev_max_backlog.to_string(),
            "net.core.netdev_budget" => self.netdev_budget.to_string(),
            "net.core.netdev_budget_usecs" => self.netdev_budget_usecs.to_string(),
            "net.core.dev_weight" => self.dev_weight.to_string(),
            "net.core.somaxconn" => self.somaxconn.to_string(),
            "net.core.optmem_max" => self.optmem_max.to_string(),
            "net.ipv4.ip_local_port_range" => {
                format!(
                    "{}\t{}",
                    self.ip_local_port_range.0, self.ip_local_port_range.1
                )
            }
            "net.ipv4.ip_default_ttl" => self.ip_default_ttl.to_string(),
            "net.ipv4.udp_rmem_min" => self.udp_rmem_min.to_string(),
            "net.ipv4.udp_wmem_min" => self.udp_wmem_min.to_string(),
            "net.ipv4.icmp_ratelimit" => self.icmp_ratelimit.to_string(),
            "net.ipv4.ip_unprivileged_port_start" => self.ip_unprivileged_port_start.to_string(),
            "net.ipv4.tcp_rmem" => triple(self.tcp_rmem),
            "net.ipv4.tcp_wmem" => triple(self.tcp_wmem),
            "net.ipv4.tcp_syncookies" => self.tcp_syncookies.to_string(),
            "net.ipv4.tcp_max_syn_backlog" => self.tcp_max_syn_backlog.to_string(),
            "net.ipv4.tcp_abort_on_overflow" => self.tcp_abort_on_overflow.to_string(),
            "net.ipv4.tcp_synack_retries" => self.tcp_synack_retries.to_string(),
            "net.ipv4.tcp_syn_retries" => self.tcp_syn_retries.to_string(),
            "net.ipv4.tcp_syn_linear_timeouts" => self.tcp_syn_linear_timeouts.to_string(),
            "net.ipv4.tcp_fin_timeout" => self.tcp_fin_timeout.to_string(),
            "net.ipv4.tcp_retries2" => self.tcp_retries2.to_string(),
            "net.ipv4.tcp_sack" => self.tcp_sack.to_string(),
            "net.ipv4.tcp_dsack" => self.tcp_dsack.to_string(),
            "net.ipv4.tcp_notsent_lowat" => self.tcp_notsent_lowat.to_string(),
            "net.ipv4.tcp_timestamps" => self.tcp_timestamps.to_string(),
            "net.ipv4.tcp_congestion_control" => self.tcp_congestion_control.name().to_string(),
            "net.ipv4.tcp_slow_start_after_idle" => self.tcp_slow_start_after_idle.to_string(),
            "net.ipv4.tcp_early_retrans" => self.tcp_early_retrans.to_string(),
            "net.ipv4.tcp_moderate_rcvbuf" => self.tcp_moderate_rcvbuf.to_string(),
            "net.ipv4.tcp_pingpong_thresh" => self.tcp_pingpong_thresh.to_string(),
            "net.unix.max_dgram_qlen" => self.unix_max_dgram_qlen.to_string(),
            _ => return Err(Errno::ENOENT),
        };
        Ok(v)
    }

    /// Writes a tunable as `sysctl -w NAME=VALUE` would. A value that does
    /// not parse, or is out of the range the kernel accepts, gives `EINVAL`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), Errno> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, Errno> {
            v.trim().parse().map_err(|_| Errno::EINVAL)
        }
        fn positive(v: &str) -> Result<u32, Errno> {
            let n: u32 = num(v)?;
            if n == 0 { Err(Errno::EINVAL) } else { Ok(n) }
        }
        match name {
            "net.core.rmem_default" => self.rmem_default = num(value)?,
            "net.core.rmem_max" => self.rmem_max = num(value)?,
            "net.core.wmem_default" => self.wmem_default = num(value)?,
            "net.core.wmem_max" => self.wmem_max = num(value)?,
            "net.core.netdev_max_backlog" => self.netdev_max_backlog = num(value)?,
            "net.core.netdev_budget" => self.netdev_budget = positive(value)?,
            "net.core.netdev_budget_usecs" => self.netdev_budget_usecs = positive(value)?,
            "net.core.dev_weight" => self.dev_weight = positive(value)?,
            "net.core.somaxconn" => self.somaxconn = num(value)?,
            "net.core.optmem_max" => self.optmem_max = num(value)?,
            "net.ipv4.ip_local_port_range" => {
                let mut it = value.split_whitespace();
                let lo: u16 = num(it.next().unwrap_or(""))?;
                let hi: u16 = num(it.next().unwrap_or(""))?;
                // ipv4_local_port_range() refuses an empty or inverted range.
                if lo == 0 || lo > hi || it.next().is_some() {
                    return Err(Errno::EINVAL);
                }
                self.ip_local_port_range = (lo, hi);
            }
            "net.ipv4.ip_default_ttl" => self.ip_default_ttl = u8_in(value, 1, 255)?,
            "net.ipv4.udp_rmem_min" => self.udp_rmem_min = positive(value)?,
            "net.ipv4.udp_wmem_min" => self.udp_wmem_min = positive(value)?,
            "net.ipv4.icmp_ratelimit" => self.icmp_ratelimit = num(value)?,
            "net.ipv4.ip_unprivileged_port_start" => self.ip_unprivileged_port_start = num(value)?,
            "net.ipv4.tcp_rmem" => self.tcp_rmem = parse_triple(value)?,
            "net.ipv4.tcp_wmem" => self.tcp_wmem = parse_triple(value)?,
            "net.ipv4.tcp_syncookies" => self.tcp_syncookies = num(value)?,
            "net.ipv4.tcp_max_syn_backlog" => self.tcp_max_syn_backlog = num(value)?,
            "net.ipv4.tcp_abort_on_overflow" => self.tcp_abort_on_overflow = num(value)?,
            "net.ipv4.tcp_synack_retries" => self.tcp_synack_retries = num(value)?,
            "net.ipv4.tcp_syn_retries" => self.tcp_syn_retries = positive(value)?,
            // 0 to MAX_TCP_SYNCNT.
            "net.ipv4.tcp_syn_linear_timeouts" => {
                self.tcp_syn_linear_timeouts = u8_in(value, 0, 127)?
            }
            "net.ipv4.tcp_fin_timeout" => self.tcp_fin_timeout = num(value)?,
            "net.ipv4.tcp_retries2" => self.tcp_retries2 = num(value)?,
            "net.ipv4.tcp_sack" => self.tcp_sack = num(value)?,
            "net.ipv4.tcp_dsack" => self.tcp_dsack = num(value)?,
            "net.ipv4.tcp_notsent_lowat" => self.tcp_notsent_lowat = num(value)?,
            "net.ipv4.tcp_timestamps" => self.tcp_timestamps = u8_in(value, 0, 2)?,
            // tcp_set_default_congestion_control(): an unknown name is ENOENT.
            "net.ipv4.tcp_congestion_control" => {
                self.tcp_congestion_control =
                    crate::net::ipv4::tcp::cong::CongAlgo::by_name(value.trim())
                        .ok_or(Errno::ENOENT)?
            }
            "net.ipv4.tcp_slow_start_after_idle" => {
                self.tcp_slow_start_after_idle = u8_in(value, 0, 1)?
            }
            "net.ipv4.tcp_early_retrans" => self.tcp_early_retrans = u8_in(value, 0, 4)?,
            "net.ipv4.tcp_moderate_rcvbuf" => self.tcp_moderate_rcvbuf = u8_in(value, 0, 1)?,
            // extra1 = SYSCTL_ONE: 1 to 255.
            "net.ipv4.tcp_pingpong_thresh" => self.tcp_pingpong_thresh = u8_in(value, 1, 255)?,
            "net.unix.max_dgram_qlen" => self.unix_max_dgram_qlen = num(value)?,
            _ => return Err(Errno::ENOENT),
        }
        Ok(())
    }
}

/// `proc_dou8vec_minmax()`: a `u8` tunable within `lo..=hi`, else
/// `EINVAL`.
fn u8_in(value: &str, lo: u8, hi: u8) -> Result<u8, Errno> {
    let n: u8 = value.trim().parse().map_err(|_| Errno::EINVAL)?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(Errno::EINVAL)
    }
}

/// `min\tdefault\tmax`, as `/proc/sys` prints a three-value tunable.
fn triple(t: (u32, u32, u32)) -> String {
    format!("{}\t{}\t{}", t.0, t.1, t.2)
}

/// Three numbers, each at least 1, in order: what `tcp_rmem` accepts.
fn parse_triple(v: &str) -> Result<(u32, u32, u32), Errno> {
    let n: Vec<u32> = v
        .split_whitespace()
        .map(|x| x.parse().map_err(|_| Errno::EINVAL))
        .collect::<Result<_, _>>()?;
    match n.as_slice() {
        [a, b, c] if *a > 0 && a <= b && b <= c => Ok((*a, *b, *c)),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_and_writes_back() {
        let mut s = Sysctls::default();
        for name in NAMES {
            let v = s.get(name).unwrap();
            s.set(name, &v).unwrap();
        }
        assert_eq!(s, Sysctls::default());
    }

    #[test]
    fn bad_values_and_names() {
        let mut s = Sysctls::default();
        assert_eq!(s.set("net.core.rmem_max", "lots"), Err(Errno::EINVAL));
        // As this machine's kernel answers writes of 0 and 256 (in a new
        // network namespace): a u8 of at least 1.
        for bad in ["0", "256"] {
            assert_eq!(
                s.set("net.ipv4.tcp_pingpong_thresh", bad),
                Err(Errno::EINVAL)
            );
        }
        assert_eq!(
            s.set("net.ipv4.ip_local_port_range", "61000 32768"),
            Err(Errno::EINVAL)
        );
        assert_eq!(s.set("net.core.netdev_budget", "0"), Err(Errno::EINVAL));
        assert_eq!(s.get("net.core.nope"), Err(Errno::ENOENT));
        s.set("net.ipv4.ip_local_port_range", "40000 40010")
            .unwrap();
        assert_eq!(s.ip_local_port_range, (40000, 40010));
    }
}
