//! Loss recovery of a sender: the SACK scoreboard (`tcp_sacktag_write_queue()`
//! in `net/ipv4/tcp_input.c`), RACK loss detection (`net/ipv4/tcp_recovery.c`),
//! proportional rate reduction (`tcp_cwnd_reduction()`), the retransmission
//! of what is marked lost (`tcp_xmit_retransmit_queue()`, `tcp_output.c`)
//! and the Loss state a retransmission timeout enters (`tcp_enter_loss()`).
//!
//! Each sent segment carries the kernel's `TCPCB_SACKED_ACKED`,
//! `TCPCB_LOST` and `TCPCB_SACKED_RETRANS` bits, and the socket counts
//! them in packets (`sacked_out`, `lost_out`, `retrans_out`), so that what
//! is in the network is `packets_out - sacked_out - lost_out + retrans_out`
//! (`tcp_packets_in_flight()`): a SACKed segment has left it, a lost one
//! too, a retransmission is in it again. The congestion window is tested
//! against that.
//!
//! With SACK, loss is decided by time, not by counting duplicates (RACK,
//! `net.ipv4.tcp_recovery = 1`): a segment is lost when one sent after it
//! has been delivered (SACKed or acknowledged) and more than an RTT plus a
//! reordering window has passed since it was sent. The window is a quarter
//! of the minimum RTT, or nothing once three segments are SACKed (or in
//! recovery) before any reordering was seen; a segment not yet old enough
//! arms the reordering timer (`tcp_rack_reo_timeout()`). A segment SACKed
//! below the highest SACKed one, never resent, is reordering: the
//! connection's `reordering` grows to that distance in segments
//! (`tcp_check_sack_reordering()`, `TCPSACKReorder`). A D-SACK block
//! (below the ACK, or inside the second block) reports data received
//! twice (`TCPDSACKRecv`) and marks nothing.
//!
//! The first segment marked lost starts fast recovery (`tcp_enter_recovery()`,
//! `TCPSackRecovery`): `ssthresh` from the congestion control, and until
//! everything sent before is acknowledged the window follows PRR: in flight
//! plus a share of what was delivered, proportional while more than
//! `ssthresh` is in flight, slow start up to it below (RFC 6937). Lost
//! segments go out first, in order, then new data, as the window allows.
//! Recovery ends with the window at `ssthresh`.
//!
//! A retransmission timeout marks every segment not SACKed lost and
//! retransmits them in order from a window of one, growing in slow start,
//! until what was sent before the timeout is acknowledged (the Loss state);
//! without SACK that resends what the receiver may already hold (go-back-N).
//!
//! Without SACK the sender counts duplicate ACKs and recovers as NewReno
//! (`input.rs`). A tail loss is probed for first (`tlp.rs`). Simplified: no undo of a spurious
//! recovery (`tcp_try_undo_*`), no SACK reneging, a segment is SACKed only
//! when a block covers it whole (the kernel splits partly covered ones,
//! `tcp_fragment()`), and the minimum RTT is the least sample ever (the
//! kernel's is a windowed minimum over five minutes).

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::sim::time::Nanos;

use super::{TcpSock, after, before};

/// `TCP_TIMEOUT_MIN_US`: 2 ms added to a RACK timeout, which is then
/// rounded up to whole jiffies (Linux 6.6 and later: `usecs_to_jiffies(
/// remaining + TCP_TIMEOUT_MIN_US)`).
const TCP_TIMEOUT_MIN_US: Nanos = 2_000_000;
/// A jiffy at the reference machine's HZ 250.
const JIFFY: Nanos = 1_000_000_000 / super::cubic::HZ as Nanos;

/// The scoreboard and the recovery state of a sender.
#[derive(Clone, Debug)]
pub(crate) struct Scoreboard {
    pub(crate) sacked_out: u32,
    pub(crate) lost_out: u32,
    pub(crate) retrans_out: u32,
    /// Segments retransmitted over the connection's life (`total_retrans`).
    pub(crate) total_retrans: u32,
    /// `tp->reordering`: how far out of order segments may arrive.
    pub(crate) reordering: u32,
    /// The end of the highest SACKed segment (`tcp_highest_sack_seq()`).
    fack: u32,
    /// RACK: when the most recently sent delivered segment was sent and
    /// its end (none yet), the RTT it measured, whether something new was delivered,
    /// whether reordering was ever seen; the reordering timer.
    rack_sent: Option<(Nanos, u32)>,
    rack_rtt: Nanos,
    rack_advanced: bool,
    reord_seen: bool,
    pub(crate) reo_at: Option<Nanos>,
    /// PRR: the window when recovery began, packets delivered and sent
    /// since.
    prior_cwnd: u32,
    prr_delivered: u32,
    pub(crate) prr_out: u32,
    /// The Loss state: recovery from a timeout until this is acknowledged
    /// (`high_seq`).
    pub(crate) loss_high: Option<u32>,
    /// The least RTT measured (`tcp_min_rtt()`).
    pub(crate) min_rtt: Option<Nanos>,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard {
            sacked_out: 0,
            lost_out: 0,
            retrans_out: 0,
            total_retrans: 0,
            reordering: 3,
            fack: 0,
            rack_sent: None,
            rack_rtt: 0,
            rack_advanced: false,
            reord_seen: false,
            reo_at: None,
            prior_cwnd: 0,
            prr_delivered: 0,
            prr_out: 0,
            loss_high: None,
            min_rtt: None,
        }
    }
}

/// `tcp_rack_sent_after()`: sent later, or at the same time and ending later.
fn sent_after(t1: Nanos, seq1: u32, t2: Nanos, seq2: u32) -> bool {
    t1 > t2 || (t1 == t2 && after(seq1, seq2))
}

/// What an ACK's SACK blocks did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SackTag {
    /// Packets newly SACKed.
    pub(crate) delivered: u32,
    pub(crate) dsack: bool,
    pub(crate) reordered: bool,
    /// The RTT of the first newly SACKed segment never resent
    /// (`sack_rtt_us`, from `first_sackt`).
    pub(crate) rtt: Option<Nanos>,
}

impl TcpSock {
    /// `tcp_skb_pcount()`.
    pub(crate) fn pcount(&self, idx: usize) -> u32 {
        (self.write_queue[idx].len() as u32)
            .div_ceil(self.mss.max(1))
            .max(1)
    }

    /// `tcp_packets_in_flight()` with `snd_nxt` where the sent segments
    /// end (the write path asks before it sends the next one).
    pub(crate) fn packets_in_flight_at(&self, snd_nxt: u32) -> u32 {
        let sb = &self.sb;
        if sb.sacked_out + sb.lost_out + sb.retrans_out == 0 {
            return snd_nxt.wrapping_sub(self.snd_una).div_ceil(self.mss.max(1));
        }
        // With marks on the scoreboard, count as they were counted: a
        // packet per MSS of each segment, small segments one each.
        let out: u32 = (0..self.write_queue.len())
            .take_while(|&i| before(self.write_queue[i].seq, snd_nxt))
            .map(|i| self.pcount(i))
            .sum();
        (out + sb.retrans_out).saturating_sub(sb.sacked_out + sb.lost_out)
    }

    /// `tcp_packets_in_flight()`.
    pub(crate) fn packets_in_flight(&self) -> u32 {
        self.packets_in_flight_at(self.snd_nxt)
    }

    /// A new RTT sample for the minimum.
    pub(crate) fn update_min_rtt(&mut self, rtt: Nanos) {
        self.sb.min_rtt = Some(self.sb.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// `tcp_rack_advance()`: a segment sent at `xmit` and ending at
    /// `end_seq` was delivered; an ambiguous sample of a resent one (less
    /// than the minimum RTT: the original may have arrived) is ignored.
    pub(crate) fn rack_advance(&mut self, xmit: Nanos, end_seq: u32, resent: bool, now: Nanos) {
        let rtt = now.saturating_sub(xmit);
        if resent && self.sb.min_rtt.is_some_and(|m| rtt < m) {
            return;
        }
        let sb = &mut self.sb;
        sb.rack_advanced = true;
        sb.rack_rtt = rtt;
        if sb
            .rack_sent
            .is_none_or(|(t, seq)| sent_after(xmit, end_seq, t, seq))
        {
            sb.rack_sent = Some((xmit, end_seq));
        }
    }

    /// Takes a popped segment's bits off the counts.
    pub(crate) fn sb_forget(&mut self, sacked: bool, lost: bool, rexmit: bool, pcount: u32) {
        let sb = &mut self.sb;
        if sacked {
            sb.sacked_out = sb.sacked_out.saturating_sub(pcount);
        }
        if lost {
            sb.lost_out = sb.lost_out.saturating_sub(pcount);
        }
        if rexmit {
            sb.retrans_out = sb.retrans_out.saturating_sub(pcount);
        }
    }

    /// `tcp_sacktag_write_queue()`: mark the sent segments the blocks
    /// cover whole as SACKed (clearing lost and retransmitted), note
    /// reordering, skip a D-SACK block.
    pub(crate) fn tcp_sacktag(&mut self, blocks: &[(u32, u32)], ack: u32, now: Nanos) -> SackTag {
        let mut tag = SackTag::default();
        // tcp_check_dsack(): the first block below the ACK, or inside the
        // second, reports a duplicate.
        let dsack = match blocks {
            [(s0, _), ..] if before(*s0, ack) => true,
            [(s0, e0), (s1, e1), ..] => !before(*s0, *s1) && !after(*e0, *e1),
            _ => false,
        };
        if self.sb.sacked_out == 0 {
            self.sb.fack = self.snd_una;
        }
        tag.dsack = dsack;
        let mut reord_low: Option<u32> = None;
        for (i, &(start, end)) in blocks.iter().enumerate() {
            if dsack && i == 0 {
                continue;
            }
            if !after(end, self.snd_una) || after(end, self.snd_nxt) {
                continue;
            }
            for idx in 0..self.write_queue.len() {
                let seg = &self.write_queue[idx];
                let Some(xmit) = seg.sent_at else { break };
                if seg.sacked || before(seg.seq, start) || after(seg.end_seq(), end) {
                    continue;
                }
                let (seq, end_seq, resent) = (seg.seq, seg.end_seq(), seg.retransmitted);
                let (lost, rexmit) = (seg.lost, seg.rexmit);
                let pc = self.pcount(idx);
                let seg = &mut self.write_queue[idx];
                seg.sacked = true;
                seg.lost = false;
                seg.rexmit = false;
                self.sb_forget(false, lost, rexmit, pc);
                self.sb.sacked_out += pc;
                tag.delivered += pc;
                if !resent && tag.rtt.is_none() {
                    tag.rtt = Some(now.saturating_sub(xmit));
                }
                if !resent && before(seq, self.sb.fack) {
                    reord_low = Some(match reord_low {
                        Some(l) if before(l, seq) => l,
                        _ => seq,
                    });
                }
                if after(end_seq, self.sb.fack) {
                    self.sb.fack = end_seq;
                }
                self.rack_advance(xmit, end_seq, resent, now);
            }
        }
        if let Some(low) = reord_low {
            self.tcp_check_sack_reordering(low);
            tag.reordered = true;
        }
        tag
    }

    /// `tcp_check_sack_reordering()`: a segment sent once was delivered
    /// below the highest SACKed one: the path reorders, by that distance.
    pub(crate) fn tcp_check_sack_reordering(&mut self, low: u32) {
        let fack = self.sb.fack;
        if !before(low, fack) {
            return;
        }
        let mss = self.mss.max(1);
        let metric = fack.wrapping_sub(low);
        if metric > self.sb.reordering * mss {
            self.sb.reordering = metric.div_ceil(mss).min(300);
        }
        self.sb.reord_seen = true;
    }

    /// The highest SACKed sequence, if anything is SACKed.
    pub(crate) fn sb_fack(&self) -> Option<u32> {
        (self.sb.sacked_out > 0).then_some(self.sb.fack)
    }

    /// `tcp_rack_reo_wnd()`.
    fn rack_reo_wnd(&self) -> Nanos {
        let sb = &self.sb;
        if !sb.reord_seen
            && (self.recover.is_some() || sb.loss_high.is_some() || sb.sacked_out >= sb.reordering)
        {
            return 0;
        }
        let min_rtt = sb.min_rtt.unwrap_or(0);
        (min_rtt / 4).min(self.srtt.unwrap_or(0))
    }

    /// `tcp_mark_skb_lost()`.
    fn mark_lost(&mut self, idx: usize) {
        let pc = self.pcount(idx);
        let seg = &mut self.write_queue[idx];
        if seg.rexmit {
            seg.rexmit = false;
            self.sb.retrans_out = self.sb.retrans_out.saturating_sub(pc);
        }
        let seg = &mut self.write_queue[idx];
        if !seg.lost {
            seg.lost = true;
            self.sb.lost_out += pc;
        }
    }

    /// `tcp_rack_detect_loss()`: mark lost what was sent before the last
    /// delivered segment and is older than an RTT plus the reordering
    /// window; returns packets newly marked, and how long until the
    /// youngest such segment is old enough.
    fn rack_detect_loss(&mut self, now: Nanos) -> (u32, Option<Nanos>) {
        let reo_wnd = self.rack_reo_wnd();
        let Some((mstamp, end)) = self.sb.rack_sent else {
            return (0, None);
        };
        let rtt = self.sb.rack_rtt;
        let mut lost = 0;
        let mut wait: Option<Nanos> = None;
        for idx in 0..self.write_queue.len() {
            let seg = &self.write_queue[idx];
            let Some(xmit) = seg.sent_at else { break };
            if seg.sacked || (seg.lost && !seg.rexmit) {
                continue;
            }
            if !sent_after(mstamp, end, xmit, seg.end_seq()) {
                continue;
            }
            let elapsed = now.saturating_sub(xmit);
            if elapsed >= rtt + reo_wnd {
                lost += self.pcount(idx);
                self.mark_lost(idx);
            } else {
                let left = rtt + reo_wnd - elapsed;
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        (lost, wait)
    }

    /// `tcp_rack_mark_lost()`: after a delivery, decide what is lost.
    pub(crate) fn rack_mark_lost(&mut self, now: Nanos) -> (u32, Option<Nanos>) {
        if !self.sb.rack_advanced {
            return (0, None);
        }
        self.sb.rack_advanced = false;
        self.rack_detect_loss(now)
    }

    /// `tcp_enter_recovery()` and `tcp_init_cwnd_reduction()`.
    pub(crate) fn tcp_enter_recovery(&mut self) {
        self.sb.prior_cwnd = self.cwnd;
        self.sb.prr_delivered = 0;
        self.sb.prr_out = 0;
        self.ssthresh = self.tcp_ca_ssthresh();
        self.recover = Some(self.snd_nxt);
    }

    /// `tcp_cwnd_reduction()`: PRR. The window becomes what is in flight
    /// plus what may be sent for what was delivered.
    pub(crate) fn tcp_cwnd_reduction(
        &mut self,
        delivered: u32,
        newly_lost: u32,
        una_advanced: bool,
    ) {
        if delivered == 0 || self.sb.prior_cwnd == 0 {
            return;
        }
        let in_flight = self.packets_in_flight();
        let sb = &mut self.sb;
        sb.prr_delivered += delivered;
        let delta = i64::from(self.ssthresh) - i64::from(in_flight);
        let mut sndcnt: i64 = if delta < 0 {
            let dividend = u64::from(self.ssthresh) * u64::from(sb.prr_delivered)
                + u64::from(sb.prior_cwnd)
                - 1;
            (dividend / u64::from(sb.prior_cwnd)) as i64 - i64::from(sb.prr_out)
        } else {
            let mut n =
                (i64::from(sb.prr_delivered) - i64::from(sb.prr_out)).max(i64::from(delivered));
            if una_advanced && newly_lost == 0 {
                n += 1;
            }
            n.min(delta)
        };
        // Force a fast retransmit upon entering fast recovery.
        sndcnt = sndcnt.max(if sb.prr_out > 0 { 0 } else { 1 });
        self.cwnd = (i64::from(in_flight) + sndcnt).max(1) as u32;
    }

    /// `tcp_enter_loss()`'s scoreboard: every segment not SACKed is lost,
    /// and recovery lasts until what was sent is acknowledged.
    pub(crate) fn tcp_enter_loss_marks(&mut self) {
        for idx in 0..self.write_queue.len() {
            let seg = &self.write_queue[idx];
            if seg.sent_at.is_none() {
                break;
            }
            if !seg.sacked {
                self.mark_lost(idx);
            }
        }
        self.sb.loss_high = Some(self.snd_nxt);
        self.sb.reo_at = None;
    }

    /// The first segment to retransmit: lost, not SACKed, not resent since.
    pub(crate) fn next_lost(&self) -> Option<usize> {
        self.write_queue
            .iter()
            .take_while(|s| s.sent_at.is_some())
            .position(|s| s.lost && !s.rexmit && !s.sacked)
    }
}

impl World {
    /// `tcp_xmit_retransmit_queue()`: resend what is marked lost, oldest
    /// first, while the congestion window has room.
    pub(crate) fn tcp_xmit_retransmit_queue(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let mut head_resent = false;
        while let Some(idx) = self.tp(sk).next_lost() {
            let tp = self.tp(sk);
            if tp.packets_in_flight() >= tp.cwnd {
                break;
            }
            let (recovery, loss) = (tp.recover.is_some(), tp.sb.loss_high.is_some());
            let mib = &mut self.ns_mut(ns).mib;
            if loss {
                mib.inc(Mib::TcpExtTCPSlowStartRetrans);
            } else if recovery {
                mib.inc(Mib::TcpExtTCPFastRetrans);
            }
            self.tcp_retransmit_skb(sk, idx);
            head_resent |= idx == 0;
        }
        // Resending the oldest segment restarts the RTO from now.
        if head_resent {
            let at = self.now + self.tp(sk).rto;
            let tp = self.tp_mut(sk);
            tp.tlp.pending = false;
            tp.rto_at = Some(at);
            self.schedule_tcp_timer(sk, at);
        }
    }

    /// `tcp_retransmit_skb()`: resend the segment at `idx`, now in flight
    /// again (`TCPCB_SACKED_RETRANS`), and counted in `TcpRetransSegs`.
    pub(crate) fn tcp_retransmit_skb(&mut self, sk: SockId, idx: usize) {
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        let pc = tp.pcount(idx);
        tp.write_queue[idx].rexmit = true;
        tp.sb.retrans_out += pc;
        tp.sb.total_retrans += pc;
        if tp.recover.is_some() {
            tp.sb.prr_out += pc;
        }
        self.ns_mut(ns).mib.inc(Mib::TcpRetransSegs);
        self.tcp_send_queued(sk, idx);
    }

    /// The SACK sender's part of `tcp_ack()` after the queue is cleaned
    /// (`tcp_fastretrans_alert()`, `tcp_cong_control()`,
    /// `tcp_xmit_recovery()`): leave recovery or Loss once all that was
    /// sent before is acknowledged; let RACK mark losses; enter recovery on
    /// the first; reduce the window by PRR; resend what is lost.
    pub(crate) fn tcp_xmit_recovery(&mut self, sk: SockId, delivered: u32, una_advanced: bool) {
        let now = self.now;
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        if let Some(high) = tp.sb.loss_high
            && !before(tp.snd_una, high)
        {
            tp.sb.loss_high = None;
        }
        let (newly_lost, wait) = tp.rack_mark_lost(now);
        match wait {
            Some(w) => {
                let at = now + (w + TCP_TIMEOUT_MIN_US).div_ceil(JIFFY) * JIFFY;
                tp.sb.reo_at = Some(at);
                self.schedule_tcp_timer(sk, at);
            }
            None if newly_lost > 0 => self.tp_mut(sk).sb.reo_at = None,
            None => {}
        }
        let tp = self.tp_mut(sk);
        if tp.recover.is_none() && tp.sb.loss_high.is_none() && tp.sb.lost_out > 0 {
            tp.tcp_enter_recovery();
            let (ssthresh, lost) = (tp.ssthresh, tp.sb.lost_out);
            self.ns_mut(ns).mib.inc(Mib::TcpExtTCPSackRecovery);
            self.trace(host, Layer::Tcp, |_w| {
                format!("RACK: {lost} segment(s) lost: fast recovery, ssthresh {ssthresh}")
            });
        }
        let tp = self.tp_mut(sk);
        if tp.recover.is_some() {
            tp.tcp_cwnd_reduction(delivered, newly_lost, una_advanced);
        }
        if tp.recover.is_some() || tp.sb.loss_high.is_some() {
            self.tcp_xmit_retransmit_queue(sk);
        }
    }

    /// `tcp_rack_reo_timeout()`: the reordering window of a segment has
    /// passed without its delivery; mark it lost and recover.
    pub(crate) fn tcp_rack_reo_timeout(&mut self, sk: SockId) {
        let tp = self.tp_mut(sk);
        tp.sb.reo_at = None;
        tp.sb.rack_advanced = true;
        // Entering recovery here, the window is cut as for one packet
        // delivered (tcp_cwnd_reduction(sk, 1, ...)); already in recovery,
        // it is left alone.
        let delivered = u32::from(tp.recover.is_none());
        self.tcp_xmit_recovery(sk, delivered, false);
        self.tcp_write_xmit(sk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ipv4::tcp::TxSeg;

    /// Ten 1000-byte segments sent at 100 ms, with an RTT of 100 ms known.
    fn flight() -> TcpSock {
        let mut tp = TcpSock::new(1000);
        tp.mss = 1000;
        tp.sack_ok = true;
        tp.cwnd = 10;
        tp.srtt = Some(100_000_000);
        tp.update_min_rtt(100_000_000);
        for i in 0..10u32 {
            let mut seg = TxSeg::empty(1000 + i * 1000);
            seg.data = vec![0; 1000];
            seg.sent_at = Some(100_000_000);
            tp.write_queue.push_back(seg);
        }
        tp.snd_nxt = 11_000;
        tp
    }

    const T: Nanos = 200_000_000;

    #[test]
    fn blocks_mark_whole_segments_and_reordering_is_measured() {
        let mut tp = flight();
        let tag = tp.tcp_sacktag(&[(3000, 4000), (7000, 8000), (9000, 10_000)], 1000, T);
        assert_eq!((tag.delivered, tp.sb.sacked_out), (3, 3));
        // A block that covers half a segment marks nothing.
        assert_eq!(tp.tcp_sacktag(&[(4000, 4500)], 1000, T).delivered, 0);
        // 4000:5000 SACKed below the highest SACKed end (10000): the path
        // reordered it by six segments.
        let tag = tp.tcp_sacktag(&[(4000, 5000)], 1000, T);
        assert!(tag.reordered);
        assert_eq!(tp.sb.reordering, 6);
    }

    #[test]
    fn small_segments_marked_lost_are_counted_one_packet_each() {
        // Ten 100-byte segments, all lost to a timeout: nothing is in
        // flight, and each resend puts one packet back.
        let mut tp = flight();
        for (i, seg) in tp.write_queue.iter_mut().enumerate() {
            seg.data.truncate(100);
            seg.seq = 1000 + 100 * i as u32;
        }
        tp.snd_nxt = 2000;
        tp.tcp_enter_loss_marks();
        assert_eq!(tp.sb.lost_out, 10);
        assert_eq!(tp.packets_in_flight(), 0);
        tp.write_queue[0].rexmit = true;
        tp.sb.retrans_out = 1;
        assert_eq!(tp.packets_in_flight(), 1);
    }

    #[test]
    fn a_block_below_the_ack_is_a_dsack() {
        let mut tp = flight();
        let tag = tp.tcp_sacktag(&[(500, 1000), (3000, 4000)], 1000, T);
        assert!(tag.dsack);
        assert_eq!(tp.sb.sacked_out, 1);
    }

    #[test]
    fn rack_waits_a_quarter_rtt_then_three_sacks_mark_the_older_lost() {
        let mut tp = flight();
        tp.tcp_sacktag(&[(3000, 4000)], 1000, T);
        // One SACK: the segments before it wait min_rtt/4 more.
        let (lost, wait) = tp.rack_mark_lost(T);
        assert_eq!((lost, wait), (0, Some(25_000_000)));
        tp.tcp_sacktag(&[(3000, 5000)], 1000, T);
        tp.tcp_sacktag(&[(3000, 5000), (8000, 9000)], 1000, T);
        // Three SACKed and no reordering seen: no waiting. Lost: what was
        // sent before 8000:9000 and is not SACKed (1000..3000, 5000..8000).
        let (lost, _) = tp.rack_mark_lost(T);
        assert_eq!(lost, 5);
        assert_eq!(tp.sb.lost_out, 5);
        assert_eq!(tp.packets_in_flight(), 10 - 3 - 5);
    }

    #[test]
    fn prr_sends_one_at_once_then_follows_what_is_delivered() {
        let mut tp = flight();
        tp.tcp_sacktag(&[(3000, 6000)], 1000, T);
        tp.rack_mark_lost(T);
        tp.tcp_enter_recovery();
        assert_eq!(tp.ssthresh, 7); // CUBIC
        // In flight: 10 - 3 SACKed - 2 lost = 5, below ssthresh: as much
        // as was delivered may go (3), but not past ssthresh (PRR-SSRB).
        tp.tcp_cwnd_reduction(3, 2, false);
        assert_eq!(tp.cwnd, 7);
        // Above ssthresh the sending is proportional: 7/10 of what is
        // delivered, less what was sent.
        let mut tp = flight();
        tp.tcp_sacktag(&[(10_000, 11_000)], 1000, T);
        tp.tcp_enter_recovery();
        tp.sb.lost_out = 1;
        tp.write_queue[0].lost = true;
        // In flight 10 - 1 - 1 = 8 > 7: ceil(7 * 1 / 10) - 0 = 1.
        tp.tcp_cwnd_reduction(1, 1, false);
        assert_eq!(tp.cwnd, 8 + 1);
    }
}
