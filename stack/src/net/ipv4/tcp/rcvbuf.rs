//! Receive-buffer autotuning, "dynamic right-sizing" (`tcp_input.c`:
//! `tcp_init_buffer_space()`, `tcp_rcv_rtt_measure()`,
//! `tcp_rcv_rtt_measure_ts()`, `tcp_rcv_space_adjust()`,
//! `tcp_rcvbuf_grow()`).
//!
//! A receiver cannot know the path's bandwidth-delay product, but it can
//! measure what its reader takes: once per receive round trip it compares
//! the bytes copied to user space in that time (`copied`) with the last
//! measure (`rcvq_space.space`, which starts at ten segments). When the
//! reader took more, the buffer grows to twice that much window, plus
//! the growth itself doubled (the sender is in slow start and may double
//! again), plus what waits out of order, up to `tcp_rmem[2]`; the window
//! follows. So a fast reader on a long path gets megabytes of buffer and
//! a slow reader keeps the 128 KiB it started with. A process that sets
//! `SO_RCVBUF` turns this off for its socket, and so does
//! `net.ipv4.tcp_moderate_rcvbuf = 0`.
//!
//! The receive RTT comes from timestamps when the peer echoes them (a
//! full-sized segment's TSecr against our clock, smoothed), otherwise
//! from the time the window takes to fill: the first data past what was
//! offered one measure ago (`rcv_rtt_est.seq`), kept as a minimum. `ss`
//! shows it as `rcv_rtt`, and the measure as `rcv_space`.
//!
//! The buffer a window needs, and the window a buffer gives, follow the
//! payload share learnt from the packets (`scaling_ratio`, `window.rs`).
//! This follows 6.18's `tcp_rcvbuf_grow()`, which counts the growth of
//! the measure as well as the measure.

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::observe::trace::Layer;
use crate::sim::time::Nanos;

use super::window::{space_from_win, win_from_space};
use super::{TCP_INIT_CWND, TcpSock, before};

/// `tp->rcvq_space`: the last measure of what the reader takes per round
/// trip, and where and when the current measure began.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RcvqSpace {
    pub(crate) space: u32,
    seq: u32,
    time: Nanos,
}

/// `tp->rcv_rtt_est`: the receiver's RTT estimate, eight times the value
/// in microseconds (0 until measured), and the window-fill measure in
/// progress; `rcv_rtt_last_tsecr`: the TSecr last used.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RcvRttEst {
    pub(crate) rtt_us: u32,
    seq: u32,
    time: Option<Nanos>,
    last_tsecr: u32,
}

impl TcpSock {
    /// `tcp_rcv_rtt_update()`: a window-fill sample only ever lowers the
    /// estimate; a timestamp sample is smoothed in by 1/8.
    fn tcp_rcv_rtt_update(&mut self, sample_us: u32, win_dep: bool) {
        let old = self.rcv_rtt.rtt_us;
        let m = sample_us.saturating_mul(8);
        self.rcv_rtt.rtt_us = if old == 0 || m < old {
            m
        } else if win_dep {
            return;
        } else {
            old - (old >> 3) + sample_us
        };
    }

    /// `tcp_rcv_rtt_measure()`, on data received: the window offered when
    /// the measure began has been filled.
    pub(crate) fn tcp_rcv_rtt_measure(&mut self, now: Nanos) {
        if let Some(time) = self.rcv_rtt.time {
            if before(self.rcv_nxt, self.rcv_rtt.seq) {
                return;
            }
            let delta = ((now - time) / 1000).max(1);
            self.tcp_rcv_rtt_update(delta.min(u64::from(u32::MAX)) as u32, true);
        }
        self.rcv_rtt.seq = self.rcv_nxt.wrapping_add(self.rcv_wnd);
        self.rcv_rtt.time = Some(now);
    }

    /// `tcp_rcv_rtt_measure_ts()`: a full-sized segment echoing a TSval we
    /// have not used yet dates a round trip, in the timestamp clock's
    /// milliseconds (a sample of 0 ms is not used).
    pub(crate) fn tcp_rcv_rtt_measure_ts(&mut self, tsecr: Option<u32>, len: u32, now: Nanos) {
        let Some(tsecr) = tsecr.filter(|_| self.ts.ok) else {
            return;
        };
        if tsecr == self.rcv_rtt.last_tsecr {
            return;
        }
        self.rcv_rtt.last_tsecr = tsecr;
        if len >= self.rcv_mss {
            let delta_ms = self.ts.tsval(now).wrapping_sub(tsecr);
            if delta_ms > 0 && delta_ms < i32::MAX as u32 / 1000 {
                self.tcp_rcv_rtt_update(delta_ms * 1000, false);
            }
        }
    }
}

impl World {
    /// `tcp_init_buffer_space()` at the end of the handshake: the first
    /// measure is ten segments (or the window, if smaller) and starts now.
    pub(crate) fn tcp_init_buffer_space(&mut self, sk: SockId) {
        let advmss = self.tcp_advmss(sk);
        self.tp_mut(sk).advmss = advmss;
        self.tcp_init_window_clamp(sk, advmss);
        let now = self.now;
        let tp = self.tp_mut(sk);
        tp.rcvq_space = RcvqSpace {
            space: tp.rcv_ssthresh.min(tp.rcv_wnd).min(TCP_INIT_CWND * advmss),
            seq: tp.copied_seq,
            time: now,
        };
    }

    /// `tcp_rcv_space_adjust()`, after a read: once a receive RTT has
    /// passed, what the reader took in it (less what still waits) is the
    /// new measure, and the buffer grows if it was more than the last.
    pub(crate) fn tcp_rcv_space_adjust(&mut self, sk: SockId) {
        let now = self.now;
        let tp = self.tp(sk);
        let rtt_us = u64::from(tp.rcv_rtt.rtt_us);
        let time_us = (now - tp.rcvq_space.time) / 1000;
        if rtt_us == 0 || time_us < rtt_us >> 3 {
            return;
        }
        let copied = tp.copied_seq.wrapping_sub(tp.rcvq_space.seq) as i32;
        let inq = tp.rcv_nxt.wrapping_sub(tp.copied_seq) as i32;
        let copied = copied - inq;
        if copied > tp.rcvq_space.space as i32 {
            self.tcp_rcvbuf_grow(sk, copied as u32);
        }
        let tp = self.tp_mut(sk);
        tp.rcvq_space.seq = tp.copied_seq;
        tp.rcvq_space.time = now;
    }

    /// `tcp_rcvbuf_grow()`: room for twice the new measure, plus twice its
    /// growth (slow start), plus the out-of-order span, as a buffer whose
    /// half is window; never smaller, never past `tcp_rmem[2]`, never for
    /// a buffer the process sized.
    fn tcp_rcvbuf_grow(&mut self, sk: SockId, newval: u32) {
        let ns = self.sk(sk).netns;
        let (moderate, cap) = {
            let sysctl = &self.ns(ns).sysctl;
            (sysctl.tcp_moderate_rcvbuf != 0, sysctl.tcp_rmem.2)
        };
        let tp = self.tp_mut(sk);
        let oldval = tp.rcvq_space.space.max(1);
        tp.rcvq_space.space = newval;
        if !moderate || self.sk(sk).rcvbuf_locked {
            return;
        }
        let tp = self.tp(sk);
        let mut rcvwin = u64::from(newval) << 1;
        rcvwin += (rcvwin * u64::from(newval - oldval) / u64::from(oldval)) << 1;
        if let Some((&seq, (skb, _))) = tp.ofo.iter().next_back() {
            let end = seq.wrapping_add(skb.len() as u32);
            rcvwin += u64::from(end.wrapping_sub(tp.rcv_nxt));
        }
        let ratio = tp.scaling_ratio;
        let rcvbuf = space_from_win(ratio, rcvwin).min(u64::from(cap)) as u32;
        let old = self.sk(sk).rcvbuf();
        if rcvbuf > old {
            let host = self.sk(sk).host;
            self.trace(host, Layer::Tcp, |_w| {
                format!(
                    "autotuning: the reader took {newval} B in a receive RTT (was {oldval}): sk_rcvbuf {old} -> {rcvbuf}"
                )
            });
            self.sk_mut(sk).receive_queue.set_rcvbuf(rcvbuf as usize);
            // The clamp follows along.
            let tp = self.tp_mut(sk);
            tp.window_clamp = win_from_space(ratio, rcvbuf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fill_samples_only_lower_the_estimate() {
        let mut tp = TcpSock::new(0);
        tp.rcv_wnd = 1000;
        tp.tcp_rcv_rtt_measure(0);
        tp.rcv_nxt = 1000;
        tp.tcp_rcv_rtt_measure(10_000_000);
        assert_eq!(tp.rcv_rtt.rtt_us, 8 * 10_000);
        tp.rcv_nxt = 2000;
        tp.tcp_rcv_rtt_measure(40_000_000);
        assert_eq!(tp.rcv_rtt.rtt_us, 8 * 10_000, "a longer fill is not an RTT");
        tp.rcv_nxt = 3000;
        tp.tcp_rcv_rtt_measure(45_000_000);
        assert_eq!(tp.rcv_rtt.rtt_us, 8 * 5_000);
    }

    #[test]
    fn timestamp_samples_are_smoothed() {
        let mut tp = TcpSock::new(0);
        tp.rcv_rtt.rtt_us = 8 * 10_000;
        tp.tcp_rcv_rtt_update(20_000, false);
        assert_eq!(tp.rcv_rtt.rtt_us, 8 * 10_000 - 10_000 + 20_000);
    }
}
