//! `nstat` (iproute2): the kernel's SNMP and extended MIB counters, one per
//! line.
//!
//! The kernel side is `/proc/net/snmp`, `/proc/net/netstat` and
//! `/proc/net/snmp6` (net/ipv4/proc.c, net/ipv6/proc.c); nstat glues each
//! table prefix to the field name (`Udp` + `RcvbufErrors`). The layout is
//! `dump_kern_db()`/`dump_incr_db()` in misc/nstat.c: `#kernel`, then
//! `"%-32s%-16llu%6.1f"` for name, value and rate.

use std::fmt::Write as _;

use super::Counter;

/// Options of [`nstat`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NstatOpts {
    /// `-z`: print counters that are zero too.
    pub zeros: bool,
}

/// Counters nstat never shows, because they are configuration rather than
/// events (`useless_numbers[]` in misc/nstat.c).
const USELESS_NUMBERS: [&str; 7] = [
    "IpForwarding",
    "IpDefaultTTL",
    "TcpRtoAlgorithm",
    "TcpRtoMin",
    "TcpRtoMax",
    "TcpMaxConn",
    "TcpCurrEstab",
];

/// What `nstat -a` (or `-az` with `opts.zeros`) prints for these counters,
/// in the order given. For plain `nstat`, pass the increments since the
/// last run instead of the absolute values. The rate column is always 0.0:
/// nstat computes rates only when a background `nstat -d` daemon samples
/// the counters.
pub fn nstat(counters: &[Counter], opts: NstatOpts) -> String {
    let mut out = String::from("#kernel\n");
    for c in counters {
        if USELESS_NUMBERS.contains(&c.name.as_str()) || (c.value == 0 && !opts.zeros) {
            continue;
        }
        let _ = writeln!(out, "{:<32}{:<16}{:>6.1}", c.name, c.value, 0.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, value: u64) -> Counter {
        Counter {
            name: name.to_string(),
            value,
        }
    }

    #[test]
    fn zeros_and_useless_numbers_are_left_out() {
        let counters = [
            c("IpForwarding", 2),
            c("UdpInDatagrams", 35),
            c("UdpRcvbufErrors", 0),
        ];
        assert_eq!(
            nstat(&counters, NstatOpts::default()),
            "#kernel\nUdpInDatagrams                  35                 0.0\n"
        );
        assert_eq!(
            nstat(&counters, NstatOpts { zeros: true }),
            "#kernel\n\
             UdpInDatagrams                  35                 0.0\n\
             UdpRcvbufErrors                 0                  0.0\n"
        );
    }
}
