//! The delayed-ACK engine (`struct inet_connection_sock`'s `icsk_ack`):
//! when a receiver acknowledges at once and when it waits, as
//! `net/ipv4/tcp_input.c`, `net/ipv4/tcp_output.c`, `net/ipv4/tcp_timer.c`
//! and `include/net/inet_connection_sock.h` decide it.
//!
//! Arriving data schedules an ACK (`inet_csk_schedule_ack()`) and adapts
//! `ato`, the predicted gap between segments (`tcp_event_data_recv()`).
//! The ACK goes at once in quick-ack mode: the first segments of a
//! connection, up to `TCP_MAX_QUICKACKS` (`tcp_incr_quickack()`), and
//! again after an idle gap longer than the RTO; otherwise it waits for the
//! delayed-ACK timer (`tcp_send_delayed_ack()`), for data to ride on, or
//! for the reader to drain the end of a write (`__tcp_cleanup_rbuf()`).
//!
//! Pingpong ("interactive") mode: a host that sends data within `ato` of
//! the last data it received is answering requests
//! (`tcp_event_data_sent()` counts it, `inet_csk_inc_pingpong_cnt()`);
//! once the count reaches `net.ipv4.tcp_pingpong_thresh` (1 by default)
//! quick-ack mode is off (`tcp_in_quickack_mode()`), because the answer
//! will carry the ACK. When the delayed-ACK timer fires all the same, the
//! guess was wrong: pingpong mode ends and `ato` shrinks back to
//! `TCP_ATO_MIN` (`tcp_delack_timer_handler()`, `inet_csk_exit_pingpong_mode()`).
//! Duplicate or out-of-window data ends it too (`tcp_enter_quickack_mode()`).
//!
//! Simplified: time is kept in nanoseconds, not jiffies, so a timer fires
//! exactly `ato` after it is armed (Linux rounds to the next tick: about
//! 40–44 ms with `HZ=250`); a delayed-ACK timer that fires while a process
//! holds the socket is not deferred to `release_sock()`; `last_seg_size`
//! (a run of equal small segments lowering `rcv_mss`) is not modelled.
//!
//! A FIN that ends the peer's sending enters pingpong mode at once
//! (`tcp_fin()`, `inet_csk_enter_pingpong_mode()`): the process is likely
//! to close in turn, and its FIN then carries the ACK, so a close costs
//! three segments, not four.

use super::{TCP_ATO_MIN, TCP_DELACK_MAX, TCP_DELACK_MIN, TCP_MAX_QUICKACKS, TcpSock};
use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::sim::time::{Nanos, ms};

impl TcpSock {
    /// `tcp_incr_quickack()`: allow up to `max` quick ACKs, about one per
    /// two segments of the window we offer, at least 2.
    pub(crate) fn incr_quickack(&mut self, max: u32) {
        let mut quickacks = self.rcv_wnd / (2 * self.rcv_mss.max(1));
        if quickacks == 0 {
            quickacks = 2;
        }
        quickacks = quickacks.min(max);
        if quickacks > self.quick {
            self.quick = quickacks;
        }
    }

    /// `tcp_enter_quickack_mode()`: acknowledge at once again, and stop
    /// treating the connection as interactive.
    pub(crate) fn enter_quickack_mode(&mut self, max: u32) {
        self.incr_quickack(max);
        self.pingpong = 0; // inet_csk_exit_pingpong_mode()
        self.ato = TCP_ATO_MIN;
    }

    /// `inet_csk_enter_pingpong_mode()`: interactive from now on.
    pub(crate) fn enter_pingpong_mode(&mut self, thresh: u8) {
        self.pingpong = thresh;
    }

    /// `inet_csk_in_pingpong_mode()`: `icsk_ack.pingpong` has reached the
    /// namespace's `tcp_pingpong_thresh`.
    pub(crate) fn in_pingpong_mode(&self, thresh: u8) -> bool {
        self.pingpong >= thresh
    }

    /// `tcp_in_quickack_mode()`: quick ACKs left, and not interactive.
    pub(crate) fn in_quickack_mode(&self, thresh: u8) -> bool {
        self.quick > 0 && !self.in_pingpong_mode(thresh)
    }

    /// `tcp_event_data_recv()`'s part for the ACK engine: schedule an ACK
    /// and adapt `ato` to the gap since the last data.
    pub(crate) fn event_data_recv(&mut self, now: Nanos) {
        self.ack_sched = true; // inet_csk_schedule_ack()
        if self.ato == 0 {
            // The first data: start the delayed-ACK engine.
            self.incr_quickack(TCP_MAX_QUICKACKS);
            self.ato = TCP_ATO_MIN;
        } else {
            let m = now.saturating_sub(self.lrcvtime);
            if m <= TCP_ATO_MIN / 2 {
                self.ato = (self.ato >> 1) + TCP_ATO_MIN / 2;
            } else if m < self.ato {
                self.ato = ((self.ato >> 1) + m).min(self.rto);
            } else if m > self.rto {
                // A long gap: the sender apparently restarted; ACK quickly.
                self.incr_quickack(TCP_MAX_QUICKACKS);
            }
        }
        self.lrcvtime = now;
    }

    /// `tcp_event_ack_sent()`: a segment carrying our ACK left, so no ACK
    /// is pending any more (`inet_csk_clear_xmit_timer(ICSK_TIME_DACK)`
    /// clears `icsk_ack.pending`; the timer itself stays armed and finds
    /// nothing to do), and if it answered data, one quick ACK is used up
    /// (`tcp_dec_quickack_mode()`).
    pub(crate) fn event_ack_sent(&mut self) {
        if self.quick > 0 && self.ack_sched {
            self.quick -= 1;
            if self.quick == 0 {
                self.ato = TCP_ATO_MIN;
            }
        }
        self.ack_sched = false;
        self.ack_pushed = false;
        self.ack_pushed2 = false;
        self.delack_at = None;
    }

    /// `tcp_event_data_sent()`: data sent within `ato` of the last data
    /// received is an answer; count it (`inet_csk_inc_pingpong_cnt()`).
    pub(crate) fn event_data_sent(&mut self, now: Nanos) {
        if now.saturating_sub(self.lrcvtime) < self.ato {
            self.pingpong = self.pingpong.saturating_add(1);
        }
    }
}

impl World {
    /// The namespace's `net.ipv4.tcp_pingpong_thresh`.
    pub(crate) fn tcp_pingpong_thresh(&self, sk: SockId) -> u8 {
        self.ns(self.sk(sk).netns).sysctl.tcp_pingpong_thresh
    }

    /// `tcp_send_delayed_ack()`: arm the delayed-ACK timer `ato` from now,
    /// bounded by the RTT (at least `TCP_DELACK_MIN`) and by
    /// `TCP_DELACK_MAX` in pingpong mode or after a small segment (500 ms
    /// otherwise); an earlier timer already armed is kept, and one about
    /// to fire anyway (within a quarter of `ato`) is replaced by an ACK now.
    pub(crate) fn tcp_send_delayed_ack(&mut self, sk: SockId) {
        let now = self.now;
        let thresh = self.tcp_pingpong_thresh(sk);
        let tp = self.tp_mut(sk);
        let mut ato = tp.ato;
        if ato > TCP_DELACK_MIN {
            let mut max_ato = ms(500);
            if tp.in_pingpong_mode(thresh) || tp.ack_pushed {
                max_ato = TCP_DELACK_MAX;
            }
            if let Some(srtt) = tp.srtt {
                let rtt = srtt.max(TCP_DELACK_MIN);
                if rtt < max_ato {
                    max_ato = rtt;
                }
            }
            ato = ato.min(max_ato);
        }
        ato = ato.min(TCP_DELACK_MAX); // icsk_delack_max
        let mut at = now + ato;
        if let Some(armed) = tp.delack_at {
            if armed <= now + (ato >> 2) {
                self.tcp_send_ack(sk);
                return;
            }
            at = at.min(armed);
        }
        tp.ack_sched = true;
        tp.delack_at = Some(at);
        self.schedule_tcp_timer(sk, at);
    }

    /// `tcp_delack_timer_handler()`: the delayed ACK is due. If an ACK is
    /// still owed, the wait was a wrong guess: outside pingpong mode `ato`
    /// doubles (up to the RTO); in pingpong mode the connection leaves it
    /// and `ato` returns to `TCP_ATO_MIN`. Then the ACK goes.
    pub(crate) fn tcp_delack_timer_handler(&mut self, sk: SockId) {
        if matches!(self.sk(sk).state, super::TCP_CLOSE | super::TCP_LISTEN) {
            return;
        }
        let thresh = self.tcp_pingpong_thresh(sk);
        let tp = self.tp_mut(sk);
        tp.delack_at = None;
        if !tp.ack_sched {
            return;
        }
        if !tp.in_pingpong_mode(thresh) {
            tp.ato = (tp.ato << 1).min(tp.rto);
        } else {
            tp.pingpong = 0; // inet_csk_exit_pingpong_mode()
            tp.ato = TCP_ATO_MIN;
        }
        let ns = self.sk(sk).netns;
        self.ns_mut(ns).mib.inc(Mib::TcpExtDelayedACKs);
        self.tcp_send_ack(sk);
    }
}
