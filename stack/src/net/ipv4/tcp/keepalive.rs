//! TCP keepalive (`tcp_keepalive_timer()` in `net/ipv4/tcp_timer.c`,
//! `tcp_set_keepalive()`): with `SO_KEEPALIVE` on, a connection idle for
//! `TCP_KEEPIDLE` seconds (`tcp_keepalive_time`, 7200) gets a probe, a
//! segment one byte behind what the peer has acknowledged, which a live
//! peer answers with an ACK; unanswered, the probe is repeated every
//! `TCP_KEEPINTVL` seconds (75), and after `TCP_KEEPCNT` (9) of them (or,
//! with `TCP_USER_TIMEOUT`, once that long has passed) the connection is
//! reset with `ETIMEDOUT`. Idle means nothing received, neither data nor
//! an ACK, and nothing in flight or queued to send.

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::snmp::Mib;
use crate::observe::trace::Layer;
use crate::sim::time::{Nanos, ms, secs};
use crate::uapi::errno::Errno;

use super::{TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT};

/// `net.ipv4.tcp_keepalive_time`, `_intvl`, `_probes`: what a socket that
/// set nothing uses.
pub(crate) const TCP_KEEPALIVE_TIME: u32 = 7200;
pub(crate) const TCP_KEEPALIVE_INTVL: u32 = 75;
pub(crate) const TCP_KEEPALIVE_PROBES: u32 = 9;

impl World {
    /// `keepalive_time_when()`, `keepalive_intvl_when()`,
    /// `keepalive_probes()`.
    fn keepalive_settings(&self, sk: SockId) -> (Nanos, Nanos, u32) {
        let o = self.tp(sk).opts;
        let or = |v: u32, d: u32| if v == 0 { d } else { v };
        (
            secs(or(o.keepidle, TCP_KEEPALIVE_TIME) as u64),
            secs(or(o.keepintvl, TCP_KEEPALIVE_INTVL) as u64),
            or(o.keepcnt, TCP_KEEPALIVE_PROBES),
        )
    }

    /// `keepalive_time_elapsed()`: since the last data or ACK arrived.
    fn keepalive_time_elapsed(&self, sk: SockId) -> Nanos {
        let tp = self.tp(sk);
        self.now.saturating_sub(tp.lrcvtime.max(tp.rcv_tstamp))
    }

    /// `inet_csk_reset_keepalive_timer()`.
    fn tcp_reset_keepalive_timer(&mut self, sk: SockId, after: Nanos) {
        let at = self.now + after;
        self.tp_mut(sk).keepalive_at = Some(at);
        self.schedule_tcp_timer(sk, at);
    }

    /// The keepalive timer starts with the connection
    /// (`tcp_finish_connect()`, `tcp_create_openreq_child()`), when
    /// `SO_KEEPALIVE` is turned on (`tcp_set_keepalive()`), and again
    /// from what is left of the idle time when `TCP_KEEPIDLE` changes.
    pub(crate) fn tcp_keepalive_arm(&mut self, sk: SockId) {
        let state = self.sk(sk).state;
        if !self.sk(sk).keepalive || matches!(state, TCP_CLOSE | TCP_LISTEN | TCP_SYN_SENT) {
            self.tp_mut(sk).keepalive_at = None;
            return;
        }
        let (idle, _, _) = self.keepalive_settings(sk);
        let left = idle.saturating_sub(self.keepalive_time_elapsed(sk));
        self.tcp_reset_keepalive_timer(sk, left);
    }

    /// `tcp_keepalive_timer()`.
    pub(crate) fn tcp_keepalive_timer(&mut self, sk: SockId) {
        self.tp_mut(sk).keepalive_at = None;
        let state = self.sk(sk).state;
        if !self.sk(sk).keepalive || matches!(state, TCP_CLOSE | TCP_LISTEN | TCP_SYN_SENT) {
            return;
        }
        let (idle, intvl, probes) = self.keepalive_settings(sk);
        let tp = self.tp(sk);
        // It is alive without keepalive: data in flight or waiting.
        if tp.snd_nxt != tp.snd_una || tp.write_queue.iter().any(|s| s.sent_at.is_none()) {
            self.tcp_reset_keepalive_timer(sk, idle);
            return;
        }
        let elapsed = self.keepalive_time_elapsed(sk);
        if elapsed < idle {
            self.tcp_reset_keepalive_timer(sk, idle - elapsed);
            return;
        }
        let user_timeout = ms(tp.opts.user_timeout as u64);
        let out = tp.keepalive_probes;
        let expired = if user_timeout > 0 {
            elapsed >= user_timeout && out > 0
        } else {
            out >= probes
        };
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        if expired {
            // tcp_write_err(): reset, and the process learns ETIMEDOUT.
            self.trace(host, Layer::Tcp, |_w| {
                format!("keepalive: {out} probes unanswered, connection reset (ETIMEDOUT)")
            });
            self.tcp_send_active_reset(sk);
            self.ns_mut(ns).mib.inc(Mib::TcpExtTCPAbortOnTimeout);
            self.tcp_reset(sk, Errno::ETIMEDOUT);
            return;
        }
        // tcp_write_wakeup() with nothing to send: tcp_xmit_probe_skb().
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPKeepAlive);
        self.trace(host, Layer::Tcp, |_w| {
            format!("keepalive: idle, probe #{}", out + 1)
        });
        self.tcp_send_keepalive_probe(sk);
        self.tp_mut(sk).keepalive_probes += 1;
        self.tcp_reset_keepalive_timer(sk, intvl);
    }
}
