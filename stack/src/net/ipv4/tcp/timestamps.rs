//! TCP timestamps (RFC 7323) as Linux keeps them: the option negotiated on
//! the SYN (`tcp_syn_options()`, `tcp_synack_options()`), then carried by
//! every segment of the connection (`tcp_established_options()`), its
//! TSval from a millisecond clock plus a per-connection offset
//! (`tcp_time_stamp_ts()`, `tp->tsoffset` from `secure_tcp_ts_off()`), and
//! the peer's latest TSval kept to echo and to reject old duplicates
//! (`ts_recent`, `tcp_replace_ts_recent()`, PAWS in `tcp_paws_discard()`).
//! The kernel keeps this state in `struct tcp_options_received`
//! (`include/linux/tcp.h`) and uses it in `net/ipv4/tcp_input.c` and
//! `tcp_output.c`.
//!
//! The option costs 12 bytes of every segment, so a connection that
//! negotiated it carries 12 bytes less payload per segment (`mss_cache`
//! is 1448 on a 1500-byte link where the MSS option says 1460).
//!
//! Simplified: the offset is a hash of the two addresses without the
//! kernel's boot secret; a SYN cookie does not encode options in its
//! TSval (`cookie_init_timestamp()`), so a connection made from a cookie
//! has no timestamps; `tcp_disordered_ack()` is reduced to its first test
//! (a pure duplicate ACK is never PAWS-rejected); the receiver's RTT from
//! timestamps (`tcp_rcv_rtt_measure_ts()`, for buffer autotuning) is not
//! kept.

use std::net::IpAddr;

use crate::sim::time::{Nanos, secs};

use super::defs::after;

/// `TCPOLEN_TSTAMP_ALIGNED`: what the option takes in each segment.
pub const TCPOLEN_TSTAMP_ALIGNED: u32 = 12;
/// `TCP_PAWS_WINDOW`: a TSval this many ticks older than `ts_recent` is
/// still accepted.
const TCP_PAWS_WINDOW: i32 = 1;
/// `TCP_PAWS_24DAYS`: a `ts_recent` older than this no longer rejects
/// anything (the peer's clock may have wrapped).
const TCP_PAWS_24DAYS: Nanos = secs(60 * 60 * 24 * 24);

/// `tcp_clock_ms()`: the timestamp clock, in milliseconds (Linux's TSval
/// ticks once per millisecond, whatever HZ is).
pub fn tcp_clock_ms(now: Nanos) -> u32 {
    (now / 1_000_000) as u32
}

/// `secure_tcp_ts_off()`: the offset added to the clock, per address pair,
/// so that a connection's TSval says nothing about the host's uptime.
/// `tcp_timestamps = 2` turns the offset off.
pub fn ts_offset(sysctl_tcp_timestamps: u8, local: IpAddr, remote: IpAddr) -> u32 {
    if sysctl_tcp_timestamps != 1 {
        return 0;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in format!("{local}|{remote}").bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A connection's timestamp state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timestamps {
    /// Both ends sent the option on the SYN (`rx_opt.tstamp_ok`).
    pub(crate) ok: bool,
    /// Added to the clock for our TSval (`tsoffset`).
    pub(crate) offset: u32,
    /// The peer's TSval to echo (`ts_recent`).
    pub(crate) recent: u32,
    /// When `recent` was stored (`ts_recent_stamp`); `None` before the
    /// first.
    pub(crate) recent_stamp: Option<Nanos>,
}

impl Timestamps {
    /// Our TSval now (`tcp_time_stamp_ts()` + `tsoffset`).
    pub(crate) fn tsval(&self, now: Nanos) -> u32 {
        tcp_clock_ms(now).wrapping_add(self.offset)
    }

    /// The option for a segment of the connection: TSval, and the TSecr
    /// echoing `ts_recent` (`tcp_established_options()`), if negotiated.
    pub(crate) fn option(&self, now: Nanos) -> Option<(u32, u32)> {
        self.ok.then(|| (self.tsval(now), self.recent))
    }

    /// `tcp_rtt_tsopt_us()`: the round trip since we sent the TSval the
    /// peer echoes, at least one tick.
    pub(crate) fn rtt_from_tsecr(&self, tsecr: u32, now: Nanos) -> Option<Nanos> {
        let ticks = self.tsval(now).wrapping_sub(tsecr);
        (ticks < i32::MAX as u32 / 1000).then(|| u64::from(ticks.max(1)) * 1_000_000)
    }

    /// `tcp_store_ts_recent()`.
    pub(crate) fn store(&mut self, tsval: u32, now: Nanos) {
        self.recent = tsval;
        self.recent_stamp = Some(now);
    }

    /// `tcp_paws_check()`: whether `tsval` is new enough, within
    /// `paws_win` ticks, or `ts_recent` too old or unset to judge by.
    fn paws_check(&self, tsval: u32, paws_win: i32, now: Nanos) -> bool {
        let Some(stamp) = self.recent_stamp else {
            return true;
        };
        (self.recent.wrapping_sub(tsval) as i32) <= paws_win
            || now >= stamp + TCP_PAWS_24DAYS
            || self.recent == 0
    }

    /// `tcp_paws_discard()`: a segment whose TSval is older than
    /// `ts_recent` is an old duplicate, to be dropped; a pure duplicate
    /// ACK (`tcp_disordered_ack()`) is let through.
    pub(crate) fn paws_discard(&self, tsval: u32, pure_dup_ack: bool, now: Nanos) -> bool {
        self.ok && !self.paws_check(tsval, TCP_PAWS_WINDOW, now) && !pure_dup_ack
    }

    /// `tcp_replace_ts_recent()`: a segment that starts at or below the
    /// edge our last window was offered from (`rcv_wup`) is the one whose
    /// TSval the next ACK echoes (RFC 7323, 4.3).
    pub(crate) fn replace_recent(&mut self, tsval: u32, seq: u32, rcv_wup: u32, now: Nanos) {
        if self.ok && !after(seq, rcv_wup) && self.paws_check(tsval, 0, now) {
            self.store(tsval, now);
        }
    }
}

impl super::TcpSock {
    /// `tcp_rcv_synsent_state_process()`: our SYN offered timestamps (if
    /// `tcp_timestamps` is on) and the answer carries them: echo its TSval
    /// from now on, and leave room for the option in every segment.
    pub(crate) fn tcp_ts_negotiate(&mut self, opt: Option<(u32, u32)>, ts_on: bool, now: Nanos) {
        if let (Some((tsval, _)), true) = (opt, ts_on) {
            self.ts.ok = true;
            self.ts.store(tsval, now);
            self.mss = self.mss.saturating_sub(TCPOLEN_TSTAMP_ALIGNED).max(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(recent: u32) -> Timestamps {
        let mut ts = Timestamps {
            ok: true,
            ..Timestamps::default()
        };
        ts.store(recent, 0);
        ts
    }

    #[test]
    fn tsval_counts_milliseconds_from_the_offset() {
        let ts = Timestamps {
            ok: true,
            offset: u32::MAX,
            ..Timestamps::default()
        };
        assert_eq!(ts.tsval(0), u32::MAX);
        assert_eq!(ts.tsval(2_500_000), 1, "wraps, and counts whole ms");
    }

    #[test]
    fn an_older_tsval_is_discarded_unless_it_is_a_pure_duplicate_ack() {
        let ts = negotiated(1000);
        assert!(ts.paws_discard(998, false, 0));
        assert!(!ts.paws_discard(999, false, 0), "one tick of slack");
        assert!(!ts.paws_discard(1001, false, 0));
        assert!(!ts.paws_discard(998, true, 0));
        assert!(
            !ts.paws_discard(998, false, TCP_PAWS_24DAYS),
            "too old to judge"
        );
        assert!(
            !Timestamps::default().paws_discard(0, false, 0),
            "not negotiated"
        );
    }

    #[test]
    fn ts_recent_moves_only_for_a_segment_at_the_window_edge() {
        let mut ts = negotiated(1000);
        ts.replace_recent(1005, 501, 500, 0);
        assert_eq!(ts.recent, 1000, "above rcv_wup: not the one to echo");
        ts.replace_recent(1005, 500, 500, 0);
        assert_eq!(ts.recent, 1005);
        ts.replace_recent(1003, 500, 500, 0);
        assert_eq!(ts.recent, 1005, "never backwards");
    }

    #[test]
    fn the_offset_depends_on_the_addresses_and_the_sysctl() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(ts_offset(1, a, b), ts_offset(1, a, b));
        assert_ne!(ts_offset(1, a, b), ts_offset(1, b, a));
        assert_eq!(ts_offset(2, a, b), 0);
    }
}
