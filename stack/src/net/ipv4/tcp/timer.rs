//! TCP's timers (`net/ipv4/tcp_timer.c`, `net/ipv4/inet_connection_sock.c`
//! `reqsk_timer_handler()`, `net/ipv4/inet_timewait_sock.c`).
//!
//! Retransmission: when the oldest unacknowledged segment's timer fires,
//! it is sent again, the timeout doubles (up to `TCP_RTO_MAX`), and the
//! congestion window falls to one segment; after `tcp_syn_retries` for a
//! SYN, or `tcp_retries2` otherwise, the connection gives up with
//! `ETIMEDOUT`. A request in the SYN queue has its SYN-ACK resent after 1,
//! 3, 7, 15 and 31 s, then is dropped (`tcp_synack_retries`). TIME_WAIT
//! ends after 60 s; an orphaned FIN_WAIT2 after `tcp_fin_timeout`. What
//! the delayed-ACK timer does when it fires is in `delack.rs`.

use std::net::SocketAddr;

use super::state_machine::{retransmits_timed_out, tcp_syn_timeout};
use super::{TCP_FIN_WAIT2, TCP_RTO_MAX, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT};
use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::net::ipv4::request_sock_queue::ReqskTimer;
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::sim::time::{Nanos, fmt_duration, ms};
use crate::uapi::errno::Errno;

impl World {
    /// Arms a wakeup for the socket's timers at `at`.
    pub(crate) fn schedule_tcp_timer(&mut self, sk: SockId, at: Nanos) {
        self.schedule(at, Event::TcpTimer { sk });
    }

    /// A socket's timer fired: see which one is due now.
    pub(crate) fn tcp_timer(&mut self, sk: SockId) {
        let now = self.now;
        let Some(tp) = self.socks.get(&sk).and_then(|s| s.tcp.as_deref()) else {
            return;
        };
        if tp.tw_at == Some(now) {
            match self.sk(sk).state {
                TCP_TIME_WAIT => {
                    let host = self.sk(sk).host;
                    let local = self.sk(sk).local();
                    self.trace(host, Layer::Tcp, |_w| {
                        format!("TIME_WAIT of {local} over: port released")
                    });
                    self.tcp_tw_kill(sk);
                }
                TCP_FIN_WAIT2 => self.tcp_done(sk),
                _ => {}
            }
            return;
        }
        if tp.keepalive_at == Some(now) {
            self.tcp_keepalive_timer(sk);
            if !self.socks.contains_key(&sk) {
                return;
            }
        }
        let Some(tp) = self.socks.get(&sk).and_then(|s| s.tcp.as_deref()) else {
            return;
        };
        let (delack, probe, rto, reo) = (
            tp.delack_at == Some(now),
            tp.probe_at == Some(now),
            tp.rto_at == Some(now),
            tp.sb.reo_at == Some(now),
        );
        if reo {
            self.tcp_rack_reo_timeout(sk);
        }
        if delack {
            self.tcp_delack_timer_handler(sk);
        }
        if probe {
            self.tcp_probe_timer(sk);
        }
        if rto && self.tp(sk).tlp.pending {
            self.tcp_send_loss_probe(sk);
        } else if rto {
            self.tp_mut(sk).rto_at = None;
            self.tcp_retransmit_timer(sk);
        }
    }

    /// `tcp_probe_timer()`: still a zero window with data waiting? Probe,
    /// and wait twice as long for the next one.
    fn tcp_probe_timer(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let tp = self.tp_mut(sk);
        tp.probe_at = None;
        let waiting = tp.write_queue.iter().any(|s| s.sent_at.is_none());
        if !waiting || tp.snd_nxt != tp.snd_una {
            tp.probes_out = 0;
            return;
        }
        if tp.snd_wnd > 0 {
            // tcp_write_wakeup(): the window is open but smaller than the
            // next segment: send as much of it as fits (tcp_fragment()).
            let wnd = tp.snd_wnd as usize;
            if let Some(i) = tp.write_queue.iter().position(|s| s.sent_at.is_none())
                && tp.write_queue[i].len() > wnd
            {
                let head = &mut tp.write_queue[i];
                let (data, frags) = head.split_payload(wnd);
                let tail = super::TxSeg {
                    data,
                    frags,
                    fin: head.fin,
                    psh: head.psh,
                    eor: head.eor,
                    zc: head.zc.as_mut().map(|z| z.split_off(wnd)),
                    ..super::TxSeg::empty(head.seq.wrapping_add(wnd as u32))
                };
                head.fin = false;
                head.psh = false;
                head.eor = false;
                tp.wmem_queued += super::TX_SEG_OVERHEAD;
                tp.write_queue.insert(i + 1, tail);
                self.trace(host, Layer::Tcp, |_w| {
                    format!("window of {wnd} B is smaller than the next segment: send the part that fits")
                });
            }
            // tcp_write_wakeup() sends the next segment with PSH, whatever
            // TCP_CORK or MSG_MORE held it for.
            let tp = self.tp_mut(sk);
            let next = tp.write_queue.iter().position(|s| s.sent_at.is_none());
            if let Some(i) = next {
                tp.write_queue[i].psh = true;
                if tp.opts.cork {
                    self.trace(host, Layer::Tcp, |_w| {
                        "corked too long: the probe timer sends the partial segment".to_string()
                    });
                    self.tcp_send_queued(sk, i);
                    return;
                }
            }
            self.tcp_write_xmit(sk);
            return;
        }
        tp.probes_out += 1;
        let n = tp.probes_out;
        self.trace(host, Layer::Tcp, |_w| {
            format!("zero window: persist probe #{n}")
        });
        self.tcp_send_probe(sk);
        self.tcp_arm_probe(sk);
    }

    /// `tcp_retransmit_timer()`.
    fn tcp_retransmit_timer(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let state = self.sk(sk).state;
        // tcp_write_timeout(): a SYN (or a simultaneous open's SYN-ACK)
        // gives up after tcp_syn_retries, data after tcp_retries2. A SYN is
        // first resent tcp_syn_linear_timeouts more times, at fixed 1 s
        // steps, before the backoff starts (tcp_retransmit_timer()): the
        // first lost SYN costs 1 s, not 1 s and then 2 s more.
        let syn = matches!(state, TCP_SYN_SENT | TCP_SYN_RECV);
        let linear = if state == TCP_SYN_SENT {
            u32::from(self.ns(ns).sysctl.tcp_syn_linear_timeouts)
        } else {
            0
        };
        let limit = if syn {
            self.ns(ns).sysctl.tcp_syn_retries + linear
        } else {
            self.ns(ns).sysctl.tcp_retries2
        };
        // TCP_USER_TIMEOUT: give up once that long has passed since the
        // first transmission of what is being retransmitted
        // (retransmits_timed_out() with icsk_user_timeout, retrans_stamp).
        let tp = self.tp(sk);
        let user_timeout = ms(u64::from(tp.opts.user_timeout));
        let user_expired = user_timeout > 0
            && tp.retransmits > 0
            && tp
                .retrans_stamp
                .is_some_and(|start| self.now.saturating_sub(start) >= user_timeout);
        if user_expired || retransmits_timed_out(self.tp(sk).retransmits, limit) {
            self.trace(host, Layer::Tcp, |_w| {
                "too many retransmissions: ETIMEDOUT".to_string()
            });
            self.ns_mut(ns).mib.inc(Mib::TcpExtTCPAbortOnTimeout);
            if state == TCP_SYN_SENT {
                self.ns_mut(ns).mib.inc(Mib::TcpAttemptFails);
            }
            self.tcp_reset(sk, Errno::ETIMEDOUT);
            return;
        }
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPTimeouts);
        let now = self.now;
        let tp = self.tp_mut(sk);
        // tcp_enter_loss(): ssthresh is set by the first timeout of a
        // series, not lowered again by each backoff, nor by a timeout in
        // fast recovery (which set it already).
        if tp.retransmits == 0 && tp.recover.is_none() {
            tp.ssthresh = tp.tcp_ca_ssthresh();
        }
        tp.tcp_enter_loss_marks();
        tp.tcp_ca_enter_loss(now);
        tp.tlp.high_seq = None;
        tp.retransmits += 1;
        tp.recover = None;
        tp.dupacks = 0;
        tp.cwnd = 1;
        tp.rto = if syn {
            tcp_syn_timeout(tp.retransmits.saturating_sub(linear))
        } else {
            (tp.rto * 2).min(TCP_RTO_MAX)
        };
        let (n, rto) = (tp.retransmits, tp.rto);
        self.trace(host, Layer::Tcp, |_w| {
            format!(
                "retransmission timeout #{n}: resend the oldest segment, cwnd 1, next RTO {}",
                fmt_duration(rto)
            )
        });
        if let Some(idx) = self.tp(sk).next_lost() {
            let tp = self.tp_mut(sk);
            if tp.retrans_stamp.is_none() {
                tp.retrans_stamp = tp.write_queue[idx].sent_at;
            }
            self.tcp_retransmit_skb(sk, idx);
        }
        // tcp_clamp_rto_to_user_timeout(): the next timeout comes no later
        // than the user timeout's end (at least a jiffy from now).
        let tp = self.tp_mut(sk);
        if user_timeout > 0
            && let (Some(start), Some(at)) = (tp.retrans_stamp, tp.rto_at)
        {
            let end = (start + user_timeout).max(now + ms(4));
            if end < at {
                tp.rto_at = Some(end);
                self.schedule_tcp_timer(sk, end);
            }
        }
    }

    /// `reqsk_timer_handler()`: resend a SYN-ACK, or give the request up.
    pub(crate) fn tcp_synack_timer(&mut self, listener: SockId, remote: SocketAddr) {
        let now = self.now;
        let Some(tp) = self.socks.get(&listener).and_then(|s| s.tcp.as_deref()) else {
            return;
        };
        if tp.queues.0.request(remote).is_none() {
            return;
        }
        let host = self.sk(listener).host;
        let ns = self.sk(listener).netns;
        let retries = self.ns(ns).sysctl.tcp_synack_retries;
        let verdict = self.tp_mut(listener).queues.0.timer(remote, now, retries);
        let (n, at) = match verdict {
            ReqskTimer::Nothing => return,
            ReqskTimer::Expire => {
                self.trace(host, Layer::Tcp, |_w| {
                    format!(
                        "request from {remote}: no ACK after {} SYN-ACKs, dropped from the SYN queue",
                        retries + 1
                    )
                });
                return;
            }
            ReqskTimer::Resend { retrans, next_at } => (retrans, next_at),
        };
        let next = at.saturating_sub(now);
        self.trace(host, Layer::Tcp, |_w| {
            format!(
                "SYN-ACK to {remote} resent (#{n}), next in {}",
                fmt_duration(next)
            )
        });
        self.ns_mut(ns).mib.inc(Mib::TcpRetransSegs);
        self.tcp_send_synack(listener, remote);
        // A timer in the past (a broken implementation) must not spin at `now`.
        self.schedule(at.max(now + 1), Event::SynAckTimer { listener, remote });
    }
}
