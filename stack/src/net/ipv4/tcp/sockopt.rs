//! TCP's own socket options (`IPPROTO_TCP`): `do_tcp_setsockopt()` and
//! `do_tcp_getsockopt()` in `net/ipv4/tcp.c`, and `tcp_ioctl()`'s
//! `SIOCINQ`/`SIOCOUTQ`/`SIOCOUTQNSD`, with Linux's ranges and errnos.
//!
//! What each option changes: `TCP_NODELAY` and `TCP_CORK` decide whether a
//! partial segment waits (`tcp_nagle_check()` in `output.rs`), and setting
//! `TCP_NODELAY` sends one that was waiting (`TCP_NAGLE_PUSH`);
//! `TCP_MAXSEG` caps the MSS a connect advertises and uses
//! (`tcp_advertise_mss()`); `TCP_QUICKACK` leaves or enters pingpong mode,
//! sending an ACK that was being delayed (`__tcp_sock_set_quickack()`).
//! The keepalive settings (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`,
//! `TCP_KEEPCNT`, with `SO_KEEPALIVE`) drive `keepalive.rs`, which also
//! reads `TCP_USER_TIMEOUT`. `TCP_INQ` adds the bytes left to read to
//! each `recvmsg()` (`tcp_inq_hint()`). `TCP_NOTSENT_LOWAT` limits the
//! bytes a write queues beyond what is sent, and makes the socket
//! writable only while twice the unsent bytes are below it
//! (`tcp_stream_memory_free()`, in `poll.rs`). `TCP_USER_TIMEOUT` ends a
//! connection whose data stays unacknowledged that long, whatever
//! `tcp_retries2` says (`timer.rs`). Simplified: a write
//! stops at the next segment past the mark, where Linux stops at its next
//! buffer of up to 64 KB (a TSO `sk_buff`), so counts differ.

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::uapi::errno::Errno;
use crate::uapi::*;

use super::keepalive::{TCP_KEEPALIVE_INTVL, TCP_KEEPALIVE_PROBES, TCP_KEEPALIVE_TIME};
use super::{TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT};

/// `TCP_MIN_MSS`: the smallest `TCP_MAXSEG` accepted.
const TCP_MIN_MSS: i32 = 88;
/// `MAX_TCP_WINDOW`: the largest `TCP_MAXSEG` accepted.
const MAX_TCP_WINDOW: i32 = 32767;
/// `MAX_TCP_KEEPIDLE`, `MAX_TCP_KEEPINTVL` (seconds), `MAX_TCP_KEEPCNT`.
const MAX_TCP_KEEPIDLE: i32 = 32767;
const MAX_TCP_KEEPINTVL: i32 = 32767;
const MAX_TCP_KEEPCNT: i32 = 127;
/// `SIOCOUTQNSD`: bytes written but not sent yet.
const SIOCOUTQNSD: i32 = 0x894B;

/// What a process set at `IPPROTO_TCP` besides `TCP_NODELAY`; kept when
/// `connect()` starts the connection's sequence space afresh.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TcpOpts {
    /// Seconds; 0 for the namespace's default.
    pub(crate) keepidle: u32,
    pub(crate) keepintvl: u32,
    pub(crate) keepcnt: u32,
    /// Milliseconds (`icsk_user_timeout`).
    pub(crate) user_timeout: u32,
    /// `rx_opt.user_mss`; 0 for none.
    pub(crate) user_mss: u32,
    /// `TCP_NAGLE_CORK`.
    pub(crate) cork: bool,
    pub(crate) notsent_lowat: u32,
    /// `TCP_INQ` (`recvmsg_inq`).
    pub(crate) recvmsg_inq: bool,
    /// The congestion control (`icsk_ca_ops`): the namespace's default
    /// when the socket was made, or what `TCP_CONGESTION` chose.
    pub(crate) congestion: super::cong::CongAlgo,
}

impl World {
    /// `do_tcp_setsockopt()`.
    pub(crate) fn do_tcp_setsockopt(
        &mut self,
        sk: SockId,
        opt: i32,
        val: i32,
    ) -> Result<(), Errno> {
        let in_range = |lo: i32, hi: i32| {
            if (lo..=hi).contains(&val) {
                Ok(val as u32)
            } else {
                Err(Errno::EINVAL)
            }
        };
        match opt {
            TCP_NODELAY => {
                self.tcp_set_nodelay(sk, val != 0);
                // __tcp_sock_set_nodelay(): what waits goes now, corked or
                // not (TCP_NAGLE_PUSH).
                if val != 0 {
                    self.tcp_write_xmit_nonagle(sk, super::output::Nonagle::Push);
                }
            }
            TCP_MAXSEG => {
                if val != 0 && !(TCP_MIN_MSS..=MAX_TCP_WINDOW).contains(&val) {
                    return Err(Errno::EINVAL);
                }
                self.tp_mut(sk).opts.user_mss = val as u32;
            }
            TCP_CORK => {
                self.tp_mut(sk).opts.cork = val != 0;
                if val == 0 {
                    // Uncorked: what was held may go (tcp_push_pending_frames()).
                    self.tcp_write_xmit(sk);
                }
            }
            TCP_KEEPIDLE => {
                self.tp_mut(sk).opts.keepidle = in_range(1, MAX_TCP_KEEPIDLE)?;
                self.tcp_keepalive_arm(sk);
            }
            TCP_KEEPINTVL => self.tp_mut(sk).opts.keepintvl = in_range(1, MAX_TCP_KEEPINTVL)?,
            TCP_KEEPCNT => self.tp_mut(sk).opts.keepcnt = in_range(1, MAX_TCP_KEEPCNT)?,
            TCP_USER_TIMEOUT => self.tp_mut(sk).opts.user_timeout = in_range(0, i32::MAX)?,
            TCP_NOTSENT_LOWAT => self.tp_mut(sk).opts.notsent_lowat = val as u32,
            TCP_QUICKACK => self.tcp_set_quickack(sk, val),
            TCP_INQ => self.tp_mut(sk).opts.recvmsg_inq = in_range(0, 1)? != 0,
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    /// `do_tcp_getsockopt()` for `int` options.
    pub(crate) fn do_tcp_getsockopt(&self, sk: SockId, opt: i32) -> Result<i32, Errno> {
        let tp = self.tp(sk);
        let state = self.sk(sk).state;
        let or = |v: u32, default: u32| if v == 0 { default } else { v } as i32;
        Ok(match opt {
            TCP_NODELAY => tp.nodelay as i32,
            // mss_cache, or what the process asked for while there is no
            // connection to have measured it.
            TCP_MAXSEG if tp.opts.user_mss != 0 && matches!(state, TCP_CLOSE | TCP_LISTEN) => {
                tp.opts.user_mss as i32
            }
            TCP_MAXSEG => tp.mss as i32,
            TCP_CORK => tp.opts.cork as i32,
            TCP_INQ => tp.opts.recvmsg_inq as i32,
            TCP_KEEPIDLE => or(tp.opts.keepidle, TCP_KEEPALIVE_TIME),
            TCP_KEEPINTVL => or(tp.opts.keepintvl, TCP_KEEPALIVE_INTVL),
            TCP_KEEPCNT => or(tp.opts.keepcnt, TCP_KEEPALIVE_PROBES),
            TCP_USER_TIMEOUT => tp.opts.user_timeout as i32,
            TCP_NOTSENT_LOWAT => tp.opts.notsent_lowat as i32,
            TCP_QUICKACK => !tp.in_pingpong_mode(self.tcp_pingpong_thresh(sk)) as i32,
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }

    /// `tcp_set_congestion_control()` for `TCP_CONGESTION`: the name up
    /// to `TCP_CA_NAME_MAX - 1` bytes; none is `EINVAL`, an unknown one
    /// `ENOENT`.
    pub(crate) fn tcp_set_congestion(&mut self, sk: SockId, name: &[u8]) -> Result<(), Errno> {
        use super::cong::{CongAlgo, TCP_CA_NAME_MAX};
        if name.is_empty() {
            return Err(Errno::EINVAL);
        }
        let name = &name[..name.len().min(TCP_CA_NAME_MAX - 1)];
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        let algo = std::str::from_utf8(name)
            .ok()
            .and_then(CongAlgo::by_name)
            .ok_or(Errno::ENOENT)?;
        let connected = !matches!(self.sk(sk).state, TCP_CLOSE | TCP_LISTEN);
        let now = self.now;
        self.tp_mut(sk)
            .tcp_reinit_congestion_control(algo, connected, now);
        Ok(())
    }

    /// `__tcp_sock_set_quickack()`: 0 enters pingpong mode (ACKs wait for
    /// an answer to ride on); anything else leaves it, and an ACK being
    /// delayed goes now.
    fn tcp_set_quickack(&mut self, sk: SockId, val: i32) {
        let thresh = self.tcp_pingpong_thresh(sk);
        if val == 0 {
            self.tp_mut(sk).pingpong = thresh;
            return;
        }
        self.tp_mut(sk).pingpong = 0;
        let state = self.sk(sk).state;
        if matches!(state, TCP_ESTABLISHED | TCP_CLOSE_WAIT) && self.tp(sk).delack_at.is_some() {
            self.tcp_send_ack(sk);
            if val & 1 == 0 {
                self.tp_mut(sk).pingpong = thresh;
            }
        }
    }

    /// `tcp_ioctl()`: `SIOCINQ` (bytes to read, the peer's FIN not
    /// counted), `SIOCOUTQ` (written and not acknowledged), `SIOCOUTQNSD`
    /// (written and not sent). `EINVAL` on a listener; 0 during the
    /// handshake.
    pub(crate) fn tcp_ioctl(&self, sk: SockId, request: i32) -> Result<i32, Errno> {
        let state = self.sk(sk).state;
        let tp = self.tp(sk);
        if !matches!(request, SIOCINQ | SIOCOUTQ | SIOCOUTQNSD) {
            return Err(Errno::ENOTTY);
        }
        if state == TCP_LISTEN {
            return Err(Errno::EINVAL);
        }
        if matches!(state, TCP_SYN_SENT | TCP_SYN_RECV) {
            return Ok(0);
        }
        let n = match request {
            SIOCINQ => {
                let n = tp.rcv_nxt.wrapping_sub(tp.copied_seq);
                n - (n > 0 && tp.fin_rcvd) as u32
            }
            SIOCOUTQ => tp.write_seq.wrapping_sub(tp.snd_una),
            _ => tp.write_seq.wrapping_sub(tp.snd_nxt),
        };
        Ok(n as i32)
    }

    /// `tcp_inq_hint()`: what a `TCP_INQ` socket's `recvmsg()` reports in
    /// its `TCP_CM_INQ` message, the bytes still to read (the peer's FIN
    /// counts as one, so a reader is told to read on to the end).
    pub(crate) fn tcp_inq_hint(&self, sk: SockId) -> i32 {
        let tp = self.tp(sk);
        let inq = tp.rcv_nxt.wrapping_sub(tp.copied_seq) as i32;
        if inq == 0 && tp.fin_rcvd { 1 } else { inq }
    }
}
