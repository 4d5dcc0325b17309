//! The tail loss probe (TLP, RFC 8985 §7): `tcp_schedule_loss_probe()`,
//! `tcp_send_loss_probe()` and `tcp_rearm_rto()` in `net/ipv4/tcp_output.c`
//! and `tcp_input.c`, `tcp_process_tlp_ack()` in `tcp_input.c`.
//!
//! RACK finds a lost segment when one sent after it is delivered; when the
//! last segments of a flight are lost nothing after them is, and only the
//! retransmission timeout would be left. So a SACK connection in the Open
//! state (`net.ipv4.tcp_early_retrans` 3, the default) arms the
//! retransmission timer as a *probe* timer instead: two smoothed RTTs, plus
//! `TCP_RTO_MIN` when one packet is out (its ACK may be delayed) or 2 ms
//! otherwise, never later than the RTO would be. When it fires, one segment
//! goes out: new data if the peer's window takes it, else the last segment
//! sent again. Its ACK (or SACK) lets RACK see the losses before it; an ACK
//! past the probe that is not a D-SACK of it shows there was a loss, and
//! the window is cut once as in `CWR` (`TCPLossProbeRecovery`). At most one
//! probe is out at a time (`tlp_high_seq`); the RTO timer follows it.
//!
//! Simplified: the probe never splits a segment larger than the MSS
//! (`tcp_fragment()`), any D-SACK on the ACK counts as one for the probe
//! (`FLAG_DSACK_TLP`), and a pure duplicate ACK is one that neither moves
//! `snd_una` nor SACKs anything (the kernel also looks at data and window
//! updates, `FLAG_NOT_DUP`).

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::sim::time::Nanos;

use super::{TCP_RTO_MIN, TCP_TIMEOUT_INIT, TcpSock, after, before};

/// `TCP_TIMEOUT_MIN_US`: what a probe adds to two RTTs when more than one
/// packet is out.
const TCP_TIMEOUT_MIN: Nanos = 2_000_000;
/// A jiffy at the reference machine's HZ 250: timers are whole jiffies.
const JIFFY: Nanos = 1_000_000_000 / super::cubic::HZ as Nanos;

/// A sender's loss-probe state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tlp {
    /// The retransmission timer (`rto_at`) is armed as a probe
    /// (`icsk_pending == ICSK_TIME_LOSS_PROBE`).
    pub(crate) pending: bool,
    /// `snd_nxt` when the outstanding probe went out (`tlp_high_seq`).
    pub(crate) high_seq: Option<u32>,
    /// The probe resent old data rather than sending new (`tlp_retrans`).
    retrans: bool,
}

impl TcpSock {
    /// `tp->packets_out`: packets sent and not yet acknowledged, a small
    /// segment one each.
    fn packets_out_segs(&self) -> u32 {
        (0..self.write_queue.len())
            .take_while(|&i| self.write_queue[i].sent_at.is_some())
            .map(|i| self.pcount(i))
            .sum()
    }

    /// `tcp_rto_delta_us()`: how far in the future the RTO of the oldest
    /// unacknowledged segment lies (negative once past).
    fn rto_delta(&self, now: Nanos) -> i64 {
        let sent = self
            .write_queue
            .front()
            .and_then(|s| s.sent_at)
            .unwrap_or(now);
        self.rto as i64 - (now - sent) as i64
    }

    /// Open (or CWR) in the kernel's congestion states: no recovery, no
    /// Loss, nothing SACKed, marked lost or being retransmitted (which
    /// would make it Disorder).
    fn ca_open(&self) -> bool {
        let sb = &self.sb;
        self.recover.is_none()
            && sb.loss_high.is_none()
            && sb.sacked_out + sb.lost_out + sb.retrans_out == 0
    }
}

impl World {
    /// `tcp_rearm_rto()`: the retransmission timer, RTO from now, or
    /// from the oldest segment's transmission if a probe was armed in its
    /// place; disarmed when nothing is out.
    pub(crate) fn tcp_rearm_rto(&mut self, sk: SockId) {
        let now = self.now;
        let tp = self.tp_mut(sk);
        if tp.packets_out_segs() == 0 {
            tp.rto_at = None;
            tp.tlp.pending = false;
            return;
        }
        let rto = if tp.tlp.pending {
            tp.rto_delta(now).max(1) as Nanos
        } else {
            tp.rto
        };
        tp.tlp.pending = false;
        tp.rto_at = Some(now + rto);
        self.schedule_tcp_timer(sk, now + rto);
    }

    /// `tcp_set_xmit_timer()`: after an ACK, a probe if one may be sent,
    /// else the RTO.
    pub(crate) fn tcp_set_xmit_timer(&mut self, sk: SockId) {
        if !self.tcp_schedule_loss_probe(sk, true) {
            self.tcp_rearm_rto(sk);
        }
    }

    /// `tcp_schedule_loss_probe()`: arms the probe timer in place of the
    /// RTO; `advancing_rto` when an ACK has just restarted the RTO.
    pub(crate) fn tcp_schedule_loss_probe(&mut self, sk: SockId, advancing_rto: bool) -> bool {
        let ns = self.sk(sk).netns;
        let early_retrans = self.ns(ns).sysctl.tcp_early_retrans;
        let now = self.now;
        let tp = self.tp_mut(sk);
        let packets_out = tp.packets_out_segs();
        if !matches!(early_retrans, 3 | 4) || packets_out == 0 || !tp.sack_ok || !tp.ca_open() {
            return false;
        }
        let mut timeout = match tp.srtt {
            Some(srtt) => {
                let extra = if packets_out == 1 {
                    TCP_RTO_MIN
                } else {
                    TCP_TIMEOUT_MIN
                };
                (2 * srtt + extra).div_ceil(JIFFY) * JIFFY
            }
            None => TCP_TIMEOUT_INIT,
        };
        // Never later than the RTO would fire.
        let rto_delta = if advancing_rto {
            tp.rto as i64
        } else {
            tp.rto_delta(now)
        };
        if rto_delta > 0 {
            timeout = timeout.min((rto_delta as Nanos).div_ceil(JIFFY) * JIFFY);
        }
        tp.tlp.pending = true;
        tp.rto_at = Some(now + timeout);
        self.schedule_tcp_timer(sk, now + timeout);
        true
    }

    /// `tcp_send_loss_probe()`: the probe timer fired. Send one new
    /// segment if the window takes it, else resend the last one sent; then
    /// the RTO follows.
    pub(crate) fn tcp_send_loss_probe(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        // At most one probe outstanding.
        if tp.tlp.high_seq.is_some() {
            self.tcp_rearm_rto(sk);
            return;
        }
        tp.tlp.retrans = false;
        let window_end = tp.snd_una.wrapping_add(tp.snd_wnd);
        let unsent = tp.write_queue.iter().position(|s| s.sent_at.is_none());
        let new_fits = unsent.filter(|&i| !after(tp.write_queue[i].end_seq(), window_end));
        // tcp_write_xmit(..., push_one = 2): one new segment, past the
        // congestion window and Nagle; else the last one sent.
        let last_sent = unsent.unwrap_or(tp.write_queue.len()).checked_sub(1);
        let (idx, what) = match (new_fits, last_sent) {
            (Some(i), _) => (i, "new data"),
            (None, Some(i)) => (i, "the last segment again"),
            (None, None) => {
                tp.tlp.pending = false;
                return;
            }
        };
        let resend = tp.write_queue[idx].sent_at.is_some();
        if resend {
            // __tcp_retransmit_skb(): counted as a retransmission, but not
            // marked as one in flight (no TCPCB_SACKED_RETRANS).
            let pc = tp.pcount(idx);
            tp.sb.total_retrans += pc;
            tp.tlp.retrans = true;
            self.ns_mut(ns).mib.inc(Mib::TcpRetransSegs);
        }
        self.tcp_send_queued(sk, idx);
        let tp = self.tp_mut(sk);
        let (seq, end) = (tp.write_queue[idx].seq, tp.write_queue[idx].end_seq());
        tp.tlp.high_seq = Some(tp.snd_nxt);
        tp.tlp.pending = false;
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPLossProbes);
        self.trace(host, Layer::Tcp, |_w| {
            format!("tail loss probe: {what} ({seq}:{end})")
        });
        self.tcp_rearm_rto(sk);
    }

    /// `tcp_process_tlp_ack()`: an ACK at or past the probe ends the
    /// episode. A probe of new data, a D-SACK of the probe or a pure
    /// duplicate ACK show nothing was lost; an ACK beyond it shows the
    /// probe repaired a loss, and the window is cut once.
    pub(crate) fn tcp_process_tlp_ack(
        &mut self,
        sk: SockId,
        ack: u32,
        una_advanced: bool,
        sacked: bool,
        dsack: bool,
    ) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        let Some(high) = tp.tlp.high_seq else { return };
        if before(ack, high) {
            return;
        }
        if !tp.tlp.retrans || dsack {
            tp.tlp.high_seq = None;
        } else if after(ack, high) {
            // tcp_init_cwnd_reduction(), CWR, tcp_end_cwnd_reduction().
            tp.tlp.high_seq = None;
            tp.ssthresh = tp.tcp_ca_ssthresh();
            tp.cwnd = tp.ssthresh;
            let cwnd = tp.cwnd;
            self.ns_mut(ns).mib.inc(Mib::TcpExtTCPLossProbeRecovery);
            self.trace(host, Layer::Tcp, |_w| {
                format!("the loss probe repaired a tail loss: cwnd {cwnd}")
            });
        } else if !una_advanced && !sacked {
            tp.tlp.high_seq = None;
        }
    }
}
