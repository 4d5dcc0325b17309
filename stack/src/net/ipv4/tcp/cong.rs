//! Congestion control, the framework of `net/ipv4/tcp_cong.c` and the
//! window bookkeeping of `tcp_output.c` and `tcp_input.c` around it.
//!
//! A connection runs one algorithm (`icsk_ca_ops`): the namespace's
//! `net.ipv4.tcp_congestion_control` when the socket is made
//! (`tcp_assign_congestion_control()`), CUBIC unless changed, or what
//! `TCP_CONGESTION` picks later; an accepted connection keeps its
//! listener's. Two are built in, as in a kernel without modules: `reno`
//! (`tcp_reno_cong_avoid()`, halving on loss) and `cubic` (`cubic.rs`).
//!
//! What the framework does the same for both: the window grows only
//! while it is the limit (`tcp_is_cwnd_limited()`: the last flight filled
//! it, or in slow start it is less than twice the largest flight), so an
//! interactive connection keeps its initial 10 however many ACKs come;
//! slow start adds one packet per packet acknowledged up to `ssthresh`
//! (`tcp_slow_start()`), and the rest of the ACK goes to additive
//! increase (`tcp_cong_avoid_ai()`: one packet per `w` acknowledged,
//! `w` being the window for Reno, CUBIC's `cnt` otherwise). Data sent
//! after an idle time longer than the RTO restarts from the initial
//! window, halved once per RTO idle from the window it had
//! (`tcp_slow_start_after_idle_check()`, `tcp_cwnd_restart()`, with
//! `net.ipv4.tcp_slow_start_after_idle`). `sk_pacing_rate` is kept as
//! `tcp_update_pacing_rate()` computes it (200% of cwnd·mss/srtt in slow
//! start, 120% after), because CUBIC's HyStart reads it; nothing paces
//! (there is no `fq` qdisc).
//!
//! Simplified: a packet is `mss` bytes of sequence space (the kernel
//! counts `tcp_skb_pcount()`, the same for full segments); the window is
//! not lowered for an application-limited sender
//! (`tcp_cwnd_application_limited()`, which needs `SOCK_NOSPACE`); no
//! `snd_cwnd_clamp` and no route `initcwnd`.

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::sim::time::Nanos;

use super::cubic::{self, AckedCtx, Bictcp, HystartExit};
use super::{TCP_INIT_CWND, TcpSock, before};

/// The algorithms this kernel has, as
/// `net.ipv4.tcp_available_congestion_control` lists them.
pub const TCP_AVAILABLE_CONGESTION_CONTROL: &str = "reno cubic";

/// `TCP_CA_NAME_MAX`: the longest name `TCP_CONGESTION` takes.
pub const TCP_CA_NAME_MAX: usize = 16;

/// An algorithm by name (`struct tcp_congestion_ops`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CongAlgo {
    /// `tcp_reno`: NewReno, halving on loss.
    Reno,
    /// `cubictcp`: the default.
    #[default]
    Cubic,
}

impl CongAlgo {
    /// `tcp_ca_find()`.
    pub fn by_name(name: &str) -> Option<CongAlgo> {
        match name {
            "reno" => Some(CongAlgo::Reno),
            "cubic" => Some(CongAlgo::Cubic),
            _ => None,
        }
    }

    /// The name `ss -i` and `TCP_CONGESTION` give.
    pub fn name(self) -> &'static str {
        match self {
            CongAlgo::Reno => "reno",
            CongAlgo::Cubic => "cubic",
        }
    }
}

/// The congestion state of a connection: its algorithm's private data
/// (`inet_csk_ca()`) and the `tcp_sock` fields the framework keeps.
#[derive(Clone, Debug)]
pub(crate) struct Cong {
    /// CUBIC's state; unused under Reno.
    cubic: Bictcp,
    /// Packets acknowledged towards the next additive increase
    /// (`snd_cwnd_cnt`).
    snd_cwnd_cnt: u32,
    /// Whether the last flight filled the window, the largest flight in
    /// this round trip, and where the round ends (`is_cwnd_limited`,
    /// `max_packets_out`, `cwnd_usage_seq`).
    is_cwnd_limited: bool,
    max_packets_out: u32,
    cwnd_usage_seq: u32,
    /// When data was last sent, in jiffies (`lsndtime`).
    lsndtime: u32,
    /// `sk_pacing_rate` in bytes per second; unlimited until the first
    /// ACK sets it.
    pub(crate) pacing_rate: u64,
}

impl Default for Cong {
    fn default() -> Cong {
        Cong {
            cubic: Bictcp::default(),
            snd_cwnd_cnt: 0,
            is_cwnd_limited: false,
            max_packets_out: 0,
            cwnd_usage_seq: 0,
            lsndtime: 0,
            pacing_rate: u64::MAX,
        }
    }
}

impl World {
    /// `tcp_init_transfer()`: the connection is established; congestion
    /// control and receive-buffer autotuning start.
    pub(crate) fn tcp_init_transfer(&mut self, sk: SockId) {
        let now = self.now;
        self.tp_mut(sk).tcp_init_transfer(now);
        self.tcp_init_buffer_space(sk);
    }

    /// The namespace's `net.ipv4.tcp_slow_start_after_idle`.
    pub(crate) fn tcp_slow_start_after_idle(&self, sk: SockId) -> bool {
        self.ns(self.sk(sk).netns).sysctl.tcp_slow_start_after_idle != 0
    }

    /// `TCPHystartTrainDetect`/`TCPHystartDelayDetect` and the window at
    /// which slow start ended (`…Cwnd`).
    pub(crate) fn tcp_count_hystart(&mut self, sk: SockId, exit: HystartExit) {
        let ns = self.sk(sk).netns;
        let cwnd = u64::from(self.tp(sk).cwnd);
        let (detect, at) = match exit {
            HystartExit::Train => (
                Mib::TcpExtTCPHystartTrainDetect,
                Mib::TcpExtTCPHystartTrainCwnd,
            ),
            HystartExit::Delay => (
                Mib::TcpExtTCPHystartDelayDetect,
                Mib::TcpExtTCPHystartDelayCwnd,
            ),
        };
        let mib = &mut self.ns_mut(ns).mib;
        mib.inc(detect);
        mib.add(at, cwnd);
    }
}

fn now_us(now: Nanos) -> u32 {
    (now / 1000) as u32
}

impl TcpSock {
    /// `tcp_packets_in_flight()`, as far as the simulation counts it: what
    /// is sent and not acknowledged, in packets.
    pub(crate) fn packets_out(&self) -> u32 {
        self.snd_nxt
            .wrapping_sub(self.snd_una)
            .div_ceil(self.mss.max(1))
    }

    /// `tcp_in_slow_start()`.
    pub(crate) fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// The congestion part of `tcp_init_transfer()` at the end of the
    /// handshake: the initial window, no `ssthresh`, the algorithm's init.
    pub(crate) fn tcp_init_transfer(&mut self, now: Nanos) {
        self.cwnd = TCP_INIT_CWND;
        // tcp_init_metrics(): a SYN timeout may have lowered ssthresh;
        // the transfer starts without one. (Linux may take one cached for
        // the destination by an earlier connection; not modelled.)
        self.ssthresh = u32::MAX;
        self.cc.snd_cwnd_cnt = 0;
        self.tcp_init_congestion_control(now);
    }

    /// `tcp_init_congestion_control()`: the algorithm's `init`.
    fn tcp_init_congestion_control(&mut self, now: Nanos) {
        self.cc.cubic = Bictcp::default();
        if self.opts.congestion == CongAlgo::Cubic {
            self.cc.cubic.init(now_us(now), self.snd_nxt);
        }
    }

    /// `tcp_reinit_congestion_control()` for `TCP_CONGESTION`: the new
    /// algorithm starts from clean state, initialised at once on a
    /// connection (a listener's children and a socket not yet connected
    /// initialise theirs at the handshake). The window is kept.
    pub(crate) fn tcp_reinit_congestion_control(
        &mut self,
        algo: CongAlgo,
        connected: bool,
        now: Nanos,
    ) {
        self.opts.congestion = algo;
        self.cc.cubic = Bictcp::default();
        if connected {
            self.tcp_init_congestion_control(now);
        }
    }

    /// `tcp_is_cwnd_limited()`.
    fn tcp_is_cwnd_limited(&self) -> bool {
        if self.cc.is_cwnd_limited {
            return true;
        }
        self.in_slow_start() && self.cwnd < 2 * self.cc.max_packets_out
    }

    /// `tcp_cwnd_validate()`, after `tcp_write_xmit()` sent something or
    /// stopped at the window: remember how full this round's flights were.
    pub(crate) fn tcp_cwnd_validate(&mut self, is_cwnd_limited: bool) {
        let packets_out = self.packets_out();
        let cc = &mut self.cc;
        if !before(self.snd_una, cc.cwnd_usage_seq)
            || is_cwnd_limited
            || (!cc.is_cwnd_limited && packets_out > cc.max_packets_out)
        {
            cc.is_cwnd_limited = is_cwnd_limited;
            cc.max_packets_out = packets_out;
            cc.cwnd_usage_seq = self.snd_nxt;
        }
    }

    /// `tcp_cong_avoid()`: the algorithm's `cong_avoid` for `acked`
    /// packets newly delivered (Reno's and CUBIC's have the same shape:
    /// slow start, then additive increase by the algorithm's `w`).
    pub(crate) fn tcp_cong_avoid(&mut self, acked: u32, now: Nanos) {
        if !self.tcp_is_cwnd_limited() {
            return;
        }
        let mut acked = acked;
        if self.in_slow_start() {
            acked = self.tcp_slow_start(acked);
            if acked == 0 {
                return;
            }
        }
        let w = match self.opts.congestion {
            CongAlgo::Reno => self.cwnd,
            CongAlgo::Cubic => {
                self.cc.cubic.update(self.cwnd, acked, cubic::jiffies(now));
                self.cc.cubic.cnt
            }
        };
        self.tcp_cong_avoid_ai(w, acked);
    }

    /// `tcp_slow_start()`: one packet per packet acknowledged, up to
    /// `ssthresh`; returns what is left over for congestion avoidance.
    fn tcp_slow_start(&mut self, acked: u32) -> u32 {
        let cwnd = (self.cwnd + acked).min(self.ssthresh);
        let left = acked - (cwnd - self.cwnd);
        self.cwnd = cwnd;
        left
    }

    /// `tcp_cong_avoid_ai()`: one packet more per `w` acknowledged,
    /// credit carried over.
    fn tcp_cong_avoid_ai(&mut self, w: u32, acked: u32) {
        let w = w.max(1);
        if self.cc.snd_cwnd_cnt >= w {
            self.cc.snd_cwnd_cnt = 0;
            self.cwnd += 1;
        }
        self.cc.snd_cwnd_cnt += acked;
        if self.cc.snd_cwnd_cnt >= w {
            let delta = self.cc.snd_cwnd_cnt / w;
            self.cc.snd_cwnd_cnt -= delta * w;
            self.cwnd += delta;
        }
    }

    /// The algorithm's `ssthresh` on a loss: half the window for Reno
    /// (`tcp_reno_ssthresh()`), 717/1024 of it for CUBIC.
    pub(crate) fn tcp_ca_ssthresh(&mut self) -> u32 {
        match self.opts.congestion {
            CongAlgo::Reno => (self.cwnd >> 1).max(2),
            CongAlgo::Cubic => self.cc.cubic.recalc_ssthresh(self.cwnd),
        }
    }

    /// `tcp_set_ca_state(TCP_CA_Loss)` on a retransmission timeout:
    /// CUBIC forgets its curve and HyStart starts over.
    pub(crate) fn tcp_ca_enter_loss(&mut self, now: Nanos) {
        self.cc.snd_cwnd_cnt = 0;
        if self.opts.congestion == CongAlgo::Cubic {
            self.cc.cubic.on_loss(now_us(now), self.snd_nxt);
        }
    }

    /// The algorithm's `pkts_acked` with the newest RTT sample of an ACK
    /// (`ca_rtt_us`): CUBIC's HyStart may end slow start here, setting
    /// `ssthresh` to the window.
    pub(crate) fn tcp_ca_pkts_acked(&mut self, rtt: Nanos, now: Nanos) -> Option<HystartExit> {
        if self.opts.congestion != CongAlgo::Cubic {
            return None;
        }
        let ctx = AckedCtx {
            now_us: now_us(now),
            now_j: cubic::jiffies(now),
            cwnd: self.cwnd,
            in_slow_start: self.in_slow_start(),
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
            pacing_rate: self.cc.pacing_rate,
        };
        let rtt_us = (rtt / 1000).min(u64::from(u32::MAX)) as u32;
        let exit = self.cc.cubic.acked(rtt_us, &ctx);
        if exit.is_some() {
            self.ssthresh = self.cwnd;
        }
        exit
    }

    /// `tcp_update_pacing_rate()`: cwnd·mss/srtt, doubled while the
    /// window is under half of `ssthresh`, 1.2 times after
    /// (`tcp_pacing_ss_ratio`, `tcp_pacing_ca_ratio`).
    pub(crate) fn tcp_update_pacing_rate(&mut self) {
        let ratio: u64 = if self.cwnd < self.ssthresh / 2 {
            200
        } else {
            120
        };
        let packets = u64::from(self.cwnd.max(self.packets_out()));
        let rate = u64::from(self.mss) * ((1_000_000 / 100) << 3) * ratio * packets;
        // srtt_us holds eight times the smoothed RTT in microseconds.
        let srtt8 = self.srtt.map_or(0, |s| s * 8 / 1000);
        self.cc.pacing_rate = rate.checked_div(srtt8).unwrap_or(rate);
    }

    /// `tcp_event_data_sent()`'s part: data leaving with nothing in
    /// flight tells CUBIC the idle time to skip (`CA_EVENT_TX_START`).
    pub(crate) fn tcp_cc_data_sent(&mut self, now: Nanos) {
        let now_j = cubic::jiffies(now);
        if self.snd_nxt == self.snd_una && self.opts.congestion == CongAlgo::Cubic {
            self.cc.cubic.tx_start(now_j, self.cc.lsndtime);
        }
        self.cc.lsndtime = now_j;
    }

    /// `tcp_slow_start_after_idle_check()`, when new data is queued or the
    /// window opens with data waiting: after an idle time over the RTO
    /// with nothing in flight, the window restarts (`tcp_cwnd_restart()`).
    pub(crate) fn tcp_slow_start_after_idle_check(&mut self, enabled: bool, now: Nanos) {
        if !enabled || self.snd_nxt != self.snd_una {
            return;
        }
        let rto_j = (self.rto / (1_000_000_000 / u64::from(cubic::HZ))) as i32;
        let mut delta = cubic::jiffies(now).wrapping_sub(self.cc.lsndtime) as i32;
        if delta <= rto_j {
            return;
        }
        self.ssthresh = self.tcp_current_ssthresh();
        let restart = TCP_INIT_CWND.min(self.cwnd);
        let mut cwnd = self.cwnd;
        loop {
            delta -= rto_j;
            if delta <= 0 || cwnd <= restart {
                break;
            }
            cwnd >>= 1;
        }
        self.cwnd = cwnd.max(restart);
        self.cc.snd_cwnd_cnt = 0;
    }

    /// `tcp_current_ssthresh()` outside recovery: at least three quarters
    /// of the window, so a restart remembers where it was.
    fn tcp_current_ssthresh(&self) -> u32 {
        if self.recover.is_some() {
            return self.ssthresh;
        }
        self.ssthresh.max((self.cwnd >> 1) + (self.cwnd >> 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(algo: CongAlgo) -> TcpSock {
        let mut tp = TcpSock::new(1000);
        tp.opts.congestion = algo;
        tp.mss = 1000;
        tp.tcp_init_transfer(0);
        tp
    }

    #[test]
    fn an_interactive_connection_keeps_its_initial_window() {
        let mut tp = sock(CongAlgo::Cubic);
        for i in 0..50u32 {
            // One request in flight at a time, then its ACK.
            tp.snd_nxt = tp.snd_una.wrapping_add(100);
            tp.tcp_cwnd_validate(false);
            tp.snd_una = tp.snd_nxt;
            tp.tcp_cong_avoid(1, u64::from(i) * 10_000_000);
        }
        assert_eq!(tp.cwnd, TCP_INIT_CWND);
    }

    #[test]
    fn slow_start_doubles_a_full_window() {
        let mut tp = sock(CongAlgo::Reno);
        tp.snd_nxt = tp.snd_una.wrapping_add(10_000);
        tp.tcp_cwnd_validate(true);
        tp.snd_una = tp.snd_nxt;
        tp.tcp_cong_avoid(10, 0);
        assert_eq!(tp.cwnd, 20);
    }

    #[test]
    fn reno_halves_and_cubic_keeps_seven_tenths() {
        let mut reno = sock(CongAlgo::Reno);
        reno.cwnd = 40;
        assert_eq!(reno.tcp_ca_ssthresh(), 20);
        let mut cubic = sock(CongAlgo::Cubic);
        cubic.cwnd = 40;
        assert_eq!(cubic.tcp_ca_ssthresh(), 28);
    }

    #[test]
    fn an_idle_connection_restarts_from_the_initial_window() {
        let mut tp = sock(CongAlgo::Cubic);
        tp.cwnd = 80;
        tp.ssthresh = 40;
        tp.rto = crate::sim::time::ms(200);
        tp.tcp_cc_data_sent(0);
        // Idle 1 s: five RTOs, the window halves while above 10.
        tp.tcp_slow_start_after_idle_check(true, crate::sim::time::secs(1));
        assert_eq!(tp.cwnd, 10);
        assert_eq!(tp.ssthresh, 60);
    }
}
