//! CUBIC (`net/ipv4/tcp_cubic.c`), Linux's default congestion control
//! since 2.6.19: after a loss the window grows along a cubic curve of the
//! time since the loss, flat around the window where the loss happened
//! (`last_max_cwnd`, "W_max") and steep away from it, so a connection
//! returns quickly to where it was, probes there carefully, then speeds up.
//! A loss cuts the window to 717/1024 of what it was (beta, about 0.7)
//! where Reno halves it; "fast convergence" lowers `W_max` further when
//! losses come before the window regains it, so a newcomer gets room.
//! The "TCP friendly" region keeps the growth at least what Reno would
//! achieve.
//!
//! HyStart (hybrid slow start) leaves slow start before the first loss,
//! on either signal: ACKs of one round trip keep arriving in a train
//! longer than half the minimum RTT (the path is full), or the RTT of a
//! round grows by an eighth of the minimum (4 to 16 ms): a queue is
//! building. Either sets `ssthresh` to the window, and counts
//! `TCPHystartTrainDetect`/`TCPHystartDelayDetect`.
//!
//! The arithmetic is the kernel's, integer for integer: time in jiffies
//! (`HZ` 250, as on the reference machine) scaled by 2^10, `K` by the
//! table-and-Newton cube root, the constants precomputed for an RTT of
//! 100 ms as `cubictcp_register()` does. The module parameters keep their
//! defaults (`beta` 717, `bic_scale` 41, `fast_convergence`,
//! `tcp_friendliness`, `hystart` with both detections, `hystart_low_window`
//! 16, `hystart_ack_delta_us` 2000).

use crate::sim::time::Nanos;

/// `BICTCP_BETA_SCALE`: beta is in 1/1024ths.
const BICTCP_BETA_SCALE: u32 = 1024;
/// `BICTCP_HZ`: time inside the cubic function is in 1/1024 s.
const BICTCP_HZ: u32 = 10;
/// `beta`: the window kept after a loss, 717/1024.
const BETA: u32 = 717;
/// `bic_scale`: the cubic's C, 41/1024 (about 0.04).
const BIC_SCALE: u64 = 41;
/// `beta_scale`: `8 * (1024 + beta) / 3 / (1024 - beta)`, Reno's growth
/// rate at CUBIC's beta (the TCP-friendly estimate).
const BETA_SCALE: u32 = 8 * (BICTCP_BETA_SCALE + BETA) / 3 / (BICTCP_BETA_SCALE - BETA);
/// `cube_rtt_scale`: `bic_scale * 10`, C over an RTT of 100 ms.
const CUBE_RTT_SCALE: u64 = BIC_SCALE * 10;
/// `cube_factor`: `2^(10 + 3 * BICTCP_HZ) / (bic_scale * 10)`, so that
/// `K = cbrt(cube_factor * (W_max - cwnd))` comes out in 1/1024 s.
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * BICTCP_HZ)) / (BIC_SCALE * 10);
/// `hystart_low_window`: HyStart looks only at windows this large.
const HYSTART_LOW_WINDOW: u32 = 16;
/// `hystart_ack_delta_us`: ACKs closer than this form a train.
const HYSTART_ACK_DELTA_US: u32 = 2000;
/// `HYSTART_MIN_SAMPLES`: RTT samples a round needs for the delay check.
const HYSTART_MIN_SAMPLES: u8 = 8;
/// `HYSTART_DELAY_MIN` and `HYSTART_DELAY_MAX` (µs): the bounds of the
/// RTT increase that counts as a queue building.
const HYSTART_DELAY_MIN: u32 = 4000;
const HYSTART_DELAY_MAX: u32 = 16000;
/// `GSO_LEGACY_MAX_SIZE`: the largest TSO packet (`sk_gso_max_size`),
/// for HyStart's allowance for TSO and GRO delays.
const GSO_MAX_SIZE: u64 = 65536;

/// The kernel's clock rate on the reference machine (`CONFIG_HZ=250`).
pub(crate) const HZ: u32 = 250;
/// `INITIAL_JIFFIES`: jiffies start five minutes before wrapping, so
/// code that forgets the wrap fails early; and 0 is not a time CUBIC can
/// mistake for "no epoch".
const INITIAL_JIFFIES: u32 = 0u32.wrapping_sub(300 * HZ);

/// `tcp_jiffies32` at simulated time `now`.
pub(crate) fn jiffies(now: Nanos) -> u32 {
    INITIAL_JIFFIES.wrapping_add((now / (1_000_000_000 / u64::from(HZ))) as u32)
}

/// `usecs_to_jiffies()`: rounded up.
fn usecs_to_jiffies(us: u32) -> u32 {
    us.div_ceil(1_000_000 / HZ)
}

/// What HyStart found on an ACK, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HystartExit {
    /// `TCPHystartTrainDetect`: the ACK train outlasted half the min RTT.
    Train,
    /// `TCPHystartDelayDetect`: the round's RTT rose above the min RTT.
    Delay,
}

/// `struct bictcp`: CUBIC's per-connection state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bictcp {
    /// ACKed packets per window increase of one (`cnt`).
    pub(crate) cnt: u32,
    /// `W_max`: the window at the last loss, lowered by fast convergence.
    last_max_cwnd: u32,
    /// The window and jiffy of the last update: `cnt` is recomputed at
    /// most once per jiffy, and not for 1/32 s while the window holds.
    last_cwnd: u32,
    last_time: u32,
    /// Where the cubic curve is flat: `W_max`, reached `K` after the
    /// epoch started (in 1/1024 s).
    bic_origin_point: u32,
    bic_k: u32,
    /// The least RTT seen (µs).
    delay_min: u32,
    /// The jiffy the current epoch (growth since the last loss) began; 0
    /// for none.
    epoch_start: u32,
    /// Packets ACKed in this epoch, and the window Reno would have
    /// reached with them (`tcp_cwnd`).
    ack_cnt: u32,
    tcp_cwnd: u32,
    /// HyStart: RTT samples this round, whether slow start's exit was
    /// found, when the round began and ends, the last ACK of a train, and
    /// the round's least RTT.
    sample_cnt: u8,
    found: bool,
    round_start: u32,
    end_seq: u32,
    last_ack: u32,
    curr_rtt: u32,
}

impl Bictcp {
    /// `bictcp_reset()`.
    fn reset(&mut self) {
        *self = Bictcp::default();
    }

    /// `bictcp_hystart_reset()`: a new round starts now and ends when
    /// what is sent so far is acknowledged.
    fn hystart_reset(&mut self, now_us: u32, snd_nxt: u32) {
        self.round_start = now_us;
        self.last_ack = now_us;
        self.end_seq = snd_nxt;
        self.curr_rtt = u32::MAX;
        self.sample_cnt = 0;
    }

    /// `cubictcp_init()`.
    pub(crate) fn init(&mut self, now_us: u32, snd_nxt: u32) {
        self.reset();
        self.hystart_reset(now_us, snd_nxt);
    }

    /// `cubictcp_state(TCP_CA_Loss)`: a timeout starts everything again,
    /// HyStart included.
    pub(crate) fn on_loss(&mut self, now_us: u32, snd_nxt: u32) {
        self.reset();
        self.hystart_reset(now_us, snd_nxt);
    }

    /// `cubictcp_cwnd_event(CA_EVENT_TX_START)`: after an idle time the
    /// epoch moves forward by it, so the curve does not count the idle
    /// time as growth.
    pub(crate) fn tx_start(&mut self, now_j: u32, lsndtime: u32) {
        let delta = now_j.wrapping_sub(lsndtime) as i32;
        if self.epoch_start != 0 && delta > 0 {
            self.epoch_start = self.epoch_start.wrapping_add(delta as u32);
            if super::after(self.epoch_start, now_j) {
                self.epoch_start = now_j;
            }
        }
    }

    /// `cubictcp_recalc_ssthresh()`: the epoch ends; `W_max` is the window
    /// now (lowered by fast convergence if it never regained the last
    /// one); the new `ssthresh` is beta times the window.
    pub(crate) fn recalc_ssthresh(&mut self, cwnd: u32) -> u32 {
        self.epoch_start = 0;
        self.last_max_cwnd = if cwnd < self.last_max_cwnd {
            cwnd * (BICTCP_BETA_SCALE + BETA) / (2 * BICTCP_BETA_SCALE)
        } else {
            cwnd
        };
        (cwnd * BETA / BICTCP_BETA_SCALE).max(2)
    }

    /// `bictcp_update()`: how many ACKed packets the window grows by one
    /// after (`cnt`), from the cubic curve and the TCP-friendly estimate.
    pub(crate) fn update(&mut self, cwnd: u32, acked: u32, now_j: u32) {
        self.ack_cnt = self.ack_cnt.wrapping_add(acked);
        if self.last_cwnd == cwnd && (now_j.wrapping_sub(self.last_time) as i32) <= (HZ / 32) as i32
        {
            return;
        }
        if !(self.epoch_start != 0 && now_j == self.last_time) {
            self.cubic_target(cwnd, acked, now_j);
        }
        // TCP friendly: Reno's window over the same ACKs.
        let delta = (cwnd * BETA_SCALE) >> 3;
        if delta > 0 {
            while self.ack_cnt > delta {
                self.ack_cnt -= delta;
                self.tcp_cwnd += 1;
            }
        }
        if self.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (self.tcp_cwnd - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
        // At most one packet per two ACKed: 1.5 times per round trip.
        self.cnt = self.cnt.max(2);
    }

    /// The cubic part of `bictcp_update()`: start an epoch if none, then
    /// set `cnt` from where the curve is a little over an RTT from now.
    fn cubic_target(&mut self, cwnd: u32, acked: u32, now_j: u32) {
        self.last_cwnd = cwnd;
        self.last_time = now_j;
        if self.epoch_start == 0 {
            self.epoch_start = now_j;
            self.ack_cnt = acked;
            self.tcp_cwnd = cwnd;
            if self.last_max_cwnd <= cwnd {
                self.bic_k = 0;
                self.bic_origin_point = cwnd;
            } else {
                self.bic_k = cubic_root(CUBE_FACTOR * u64::from(self.last_max_cwnd - cwnd));
                self.bic_origin_point = self.last_max_cwnd;
            }
        }
        let mut t = u64::from(now_j.wrapping_sub(self.epoch_start) as i32 as u32);
        t += u64::from(usecs_to_jiffies(self.delay_min));
        t = (t << BICTCP_HZ) / u64::from(HZ);
        let k = u64::from(self.bic_k);
        let offs = t.abs_diff(k);
        let delta = ((CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * BICTCP_HZ)) as u32;
        let bic_target = if t < k {
            self.bic_origin_point.wrapping_sub(delta)
        } else {
            self.bic_origin_point.wrapping_add(delta)
        };
        self.cnt = if bic_target > cwnd {
            cwnd / (bic_target - cwnd)
        } else {
            100 * cwnd
        };
        // Before the first loss the curve knows no W_max: 5% per RTT at least.
        if self.last_max_cwnd == 0 && self.cnt > 20 {
            self.cnt = 20;
        }
    }

    /// `cubictcp_acked()`: an RTT sample (µs) updates the least delay and,
    /// in slow start from a window of 16 on, feeds HyStart. Samples in the
    /// second after a loss are ignored (recovery distorts them).
    pub(crate) fn acked(&mut self, rtt_us: u32, s: &AckedCtx) -> Option<HystartExit> {
        if self.epoch_start != 0 && (s.now_j.wrapping_sub(self.epoch_start) as i32) < HZ as i32 {
            return None;
        }
        let delay = rtt_us.max(1);
        if self.delay_min == 0 || self.delay_min > delay {
            self.delay_min = delay;
        }
        if !self.found && s.in_slow_start && s.cwnd >= HYSTART_LOW_WINDOW {
            return self.hystart_update(delay, s);
        }
        None
    }

    /// `hystart_update()`.
    fn hystart_update(&mut self, delay: u32, s: &AckedCtx) -> Option<HystartExit> {
        if super::after(s.snd_una, self.end_seq) {
            self.hystart_reset(s.now_us, s.snd_nxt);
        }
        if (s.now_us.wrapping_sub(self.last_ack) as i32) <= HYSTART_ACK_DELTA_US as i32 {
            self.last_ack = s.now_us;
            // Unpaced (no fq), so half the min RTT plus the TSO allowance.
            let threshold = (self.delay_min + hystart_ack_delay(s.pacing_rate)) >> 1;
            if (s.now_us.wrapping_sub(self.round_start) as i32) > threshold as i32 {
                self.found = true;
                return Some(HystartExit::Train);
            }
        }
        self.curr_rtt = self.curr_rtt.min(delay);
        if self.sample_cnt < HYSTART_MIN_SAMPLES {
            self.sample_cnt += 1;
        } else {
            let thresh = (self.delay_min >> 3).clamp(HYSTART_DELAY_MIN, HYSTART_DELAY_MAX);
            if self.curr_rtt > self.delay_min + thresh {
                self.found = true;
                return Some(HystartExit::Delay);
            }
        }
        None
    }
}

/// What `cubictcp_acked()` reads from the socket.
pub(crate) struct AckedCtx {
    pub(crate) now_us: u32,
    pub(crate) now_j: u32,
    pub(crate) cwnd: u32,
    pub(crate) in_slow_start: bool,
    pub(crate) snd_una: u32,
    pub(crate) snd_nxt: u32,
    /// `sk_pacing_rate`, bytes per second.
    pub(crate) pacing_rate: u64,
}

/// `hystart_ack_delay()`: room for TSO and GRO to bunch ACKs, the time
/// four 64 KB packets take at the pacing rate, at most 1 ms.
fn hystart_ack_delay(pacing_rate: u64) -> u32 {
    if pacing_rate == 0 {
        return 0;
    }
    (GSO_MAX_SIZE * 4 * 1_000_000 / pacing_rate).min(1000) as u32
}

/// `cubic_root()`: a table lookup on the top bits, then one
/// Newton-Raphson step (0.195% average error), as the kernel computes it.
fn cubic_root(a: u64) -> u32 {
    const V: [u8; 64] = [
        0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164,
        168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209,
        211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
        242, 244, 245, 246, 248, 250, 251, 252, 254,
    ];
    let b = 64 - a.leading_zeros();
    if b < 7 {
        return (u32::from(V[a as usize]) + 35) >> 6;
    }
    let b = ((b * 84) >> 8) - 1;
    let shift = (a >> (b * 3)) as usize;
    let x = ((u32::from(V[shift]) + 10) << b) >> 6;
    let x = 2 * x + (a / (u64::from(x) * u64::from(x - 1))) as u32;
    (x * 341) >> 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cube_root_is_within_a_percent() {
        for a in [1u64, 8, 27, 1000, 1 << 30, 123_456_789, 1 << 50] {
            let exact = (a as f64).cbrt();
            let got = f64::from(cubic_root(a));
            assert!(
                (got - exact).abs() <= exact * 0.01 + 1.0,
                "cbrt({a}) = {got}, not {exact}"
            );
        }
    }

    #[test]
    fn a_loss_keeps_seven_tenths_and_fast_convergence_lowers_w_max() {
        let mut ca = Bictcp::default();
        assert_eq!(ca.recalc_ssthresh(100), 70);
        assert_eq!(ca.last_max_cwnd, 100);
        // The next loss comes at 80, below W_max: W_max drops further.
        assert_eq!(ca.recalc_ssthresh(80), 56);
        assert_eq!(ca.last_max_cwnd, 80 * (1024 + 717) / 2048);
        assert_eq!(ca.recalc_ssthresh(2), 2);
    }

    #[test]
    fn growth_is_slow_near_w_max_and_fast_away_from_it() {
        let start = jiffies(crate::sim::time::secs(10));
        let mut ca = Bictcp::default();
        ca.recalc_ssthresh(100);
        ca.delay_min = 100_000;
        ca.update(70, 1, start);
        let early = ca.cnt;
        // K is about 4.3 s for W_max - cwnd = 30 at C = 0.4 over 100 ms.
        ca.update(99, 1, start + 4 * HZ);
        let plateau = ca.cnt;
        ca.update(120, 1, start + 9 * HZ);
        let beyond = ca.cnt;
        assert!(
            early < plateau,
            "cnt {early} right after the loss, {plateau} at W_max"
        );
        assert!(beyond < plateau, "cnt {beyond} past W_max, {plateau} at it");
    }
}
