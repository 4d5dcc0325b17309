//! One TCP connection's state machine: the eleven states of `struct sock`'s
//! `sk_state`, driven by arriving segments, user calls and timers. This is
//! the first of the two files you complete.
//!
//! # The states
//!
//! [`TcpConn::state`] returns the kernel's number (`TCP_ESTABLISHED` = 1,
//! …, `TCP_CLOSING` = 11; `include/net/tcp_states.h`), and
//! [`crate::state_name`] spells it as `ss` does. A connection starts in
//! `CLOSE` and ends in `CLOSE`.
//!
//! # What the machine keeps
//!
//! No payload: only sequence numbers. `iss` (our initial sequence number,
//! given), `snd_una` (oldest unacknowledged), `snd_nxt` (next to send),
//! `rcv_nxt` (next expected from the peer), how many received bytes the
//! process has not read yet, and one timer. We never send data; the peer
//! may. Our SYN and our FIN each take one sequence number.
//!
//! # The rules, as Linux 6.x applies them
//!
//! **User calls** (`net/ipv4/af_inet.c`, `net/ipv4/tcp.c`):
//! - [`TcpConn::connect`] (`tcp_v4_connect`, `tcp_connect`): `CLOSE` →
//!   `SYN_SENT`, send `S seq=iss`, arm the retransmission timer for
//!   `TCP_TIMEOUT_INIT` (1 s). `EALREADY` in `SYN_SENT`, `EISCONN`
//!   anywhere else.
//! - [`TcpConn::listen`]: `CLOSE` (or `LISTEN`) → `LISTEN`, else `EINVAL`.
//! - [`TcpConn::close`] (`tcp_close`): `LISTEN` and `SYN_SENT` go straight
//!   to `CLOSE`, silently. Unread received data makes close send a reset
//!   instead of a FIN (`tcp_send_active_reset`: `R. seq=snd_nxt
//!   ack=rcv_nxt`) and go to `CLOSE`. Otherwise the `new_state[]` table of
//!   `tcp_close_state()`: `SYN_RECV`, `ESTABLISHED` → `FIN_WAIT1`,
//!   `CLOSE_WAIT` → `LAST_ACK`, each sending `F. seq=snd_nxt ack=rcv_nxt`
//!   (the FIN takes a sequence number); the closing states stay. The
//!   socket is now an orphan (`SOCK_DEAD`): nobody will read, which
//!   matters for `FIN_WAIT2` and for data arriving later. A close in
//!   `FIN_WAIT2` arms the `tcp_fin_timeout` timer at once.
//! - [`TcpConn::shutdown_write`] (`inet_shutdown`, `tcp_shutdown` with
//!   `SHUT_WR`): `ENOTCONN` in `CLOSE`; `SYN_SENT` is disconnected (to
//!   `CLOSE`, error `ECONNRESET`, nothing sent); `ESTABLISHED`,
//!   `SYN_RECV`, `CLOSE_WAIT` send their FIN as close does; anything else
//!   does nothing. The socket is not an orphan.
//! - [`TcpConn::read`]: the process reads everything received.
//!
//! **A segment for a closed socket** (`tcp_v4_rcv` finds no socket,
//! `tcp_v4_send_reset`): a reset, never in answer to a reset. If the
//! segment had `ACK`: `R seq=<its ack>`; else `R. seq=0 ack=<its
//! end_seq>`. The same reply is "send a reset" everywhere below.
//!
//! **LISTEN** (`tcp_rcv_state_process`, case `TCP_LISTEN`): an `ACK` →
//! reset; `RST` → ignore; `SYN` (without `FIN`) → `SYN_RECV` as a request
//! (`tcp_conn_request`): `rcv_nxt = seq + 1`, send `S. seq=iss
//! ack=rcv_nxt`, arm the SYN-ACK timer (1 s); anything else is ignored.
//!
//! **SYN_SENT** (`tcp_rcv_synsent_state_process`): with `ACK`, an ack
//! outside `(iss, snd_nxt]` → reset (our SYN was not what it
//! acknowledges); then `RST` → `CLOSE` with `ECONNREFUSED`
//! (`tcp_reset`); then no `SYN` → ignore; a SYN-ACK → `ESTABLISHED`,
//! `rcv_nxt = seq + 1`, send `. seq=snd_nxt ack=rcv_nxt`, timer off.
//! Without `ACK`: `RST` → ignore; `SYN` → simultaneous open: `SYN_RECV`,
//! send `S. seq=iss ack=rcv_nxt` (the retransmission timer keeps
//! running, and now resends the SYN-ACK).
//!
//! **SYN_RECV of a request** (from `LISTEN`; `tcp_check_req` in
//! `net/ipv4/tcp_minisocks.c`), in this order:
//! 1. exactly a `SYN` with the first `seq` again: the peer did not hear
//!    our SYN-ACK: resend it, and re-arm the timer from now with the
//!    current backoff (`1 s << retransmissions`);
//! 2. `ACK` with `ack != iss + 1` → reset;
//! 3. sequence not in the window (`tcp_in_window`: `seq == rcv_nxt`, or
//!    the segment overlaps `[rcv_nxt, rcv_nxt + rcv_wnd)`) → unless `RST`,
//!    send `. seq=iss+1 ack=rcv_nxt`; ignore it;
//! 4. `RST`, or a `SYN` (other than the first one) → the request dies
//!    (`CLOSE`, no error), a `SYN` is answered with a reset;
//! 5. no `ACK` → ignore;
//! 6. the final ACK: `ESTABLISHED` (the child), timer off; any data or
//!    FIN it carries is then processed as in `ESTABLISHED`.
//!
//! **The synchronized states** (`tcp_validate_incoming`,
//! `tcp_rcv_state_process`, `tcp_rcv_established`), in this order:
//! 1. sequence check (`tcp_sequence`): unacceptable if `end_seq` is
//!    before `rcv_nxt`, or `seq` after `rcv_nxt + rcv_wnd` → unless
//!    `RST`, send `. seq=snd_nxt ack=rcv_nxt` (a duplicate ACK); ignore;
//! 2. `RST` (RFC 5961): exactly at `rcv_nxt` → `tcp_reset`: `CLOSE`, error
//!    `ECONNRESET` (`EPIPE` in `CLOSE_WAIT`); elsewhere in the window → a
//!    challenge ACK (`. seq=snd_nxt ack=rcv_nxt`), nothing else;
//! 3. `SYN` → challenge ACK, ignore (except, in a simultaneous open's
//!    `SYN_RECV`, the peer's SYN-ACK again: `seq + 1 == rcv_nxt` and `ack
//!    == snd_nxt` → go on);
//! 4. no `ACK` → ignore;
//! 5. the ACK (`tcp_ack`): `ack` after `snd_nxt` (it acknowledges what we
//!    never sent) → in `SYN_RECV` a reset; in `ESTABLISHED` ignore the
//!    segment; in the closing states a challenge ACK, ignore. In
//!    `SYN_RECV` an `ack` not after `snd_una` → reset too. Otherwise
//!    `snd_una = ack` if it moves forward, and:
//!    `SYN_RECV` → `ESTABLISHED`; once our FIN is acknowledged
//!    (`snd_una == snd_nxt`): `FIN_WAIT1` → `FIN_WAIT2` (an orphan arms
//!    the `tcp_fin_timeout` timer), `CLOSING` → `TIME_WAIT` (arm 60 s,
//!    `TCP_TIMEWAIT_LEN`; nothing more is done with the segment),
//!    `LAST_ACK` → `CLOSE` (likewise);
//! 6. data and FIN (`tcp_data_queue`, `tcp_fin`): in `CLOSE_WAIT`,
//!    `CLOSING`, `LAST_ACK` a segment at or after `rcv_nxt` is ignored (the
//!    peer already finished). In `FIN_WAIT1`/`FIN_WAIT2` an orphan that
//!    gets new data resets (`TCPAbortOnData`: send a reset, `CLOSE`).
//!    Then: new bytes (from `rcv_nxt` on) are received (`rcv_nxt`
//!    advances, they wait to be read); a FIN right after them takes one
//!    sequence number and moves `ESTABLISHED` → `CLOSE_WAIT`, `FIN_WAIT1`
//!    → `CLOSING`, `FIN_WAIT2` → `TIME_WAIT` (arm 60 s); each is
//!    acknowledged at once, `. seq=snd_nxt ack=rcv_nxt`. A segment with
//!    payload or FIN that brings nothing new (a retransmission) or that
//!    starts after `rcv_nxt` (out of order; not kept here) is answered
//!    with the same ACK. A bare ACK gets no answer.
//!
//! **TIME_WAIT** (`tcp_timewait_state_process`): at exactly `rcv_nxt`, a
//! `RST` ends it (`CLOSE`; `tcp_rfc1337` is 0) and a bare ACK restarts the
//! 60 s; a `SYN` (no `ACK`, no `RST`) after `rcv_nxt` may open a new
//! connection: this one ends (`CLOSE`), silently; any other segment without
//! `RST` is answered with `. seq=snd_nxt ack=rcv_nxt` and, if it has `ACK`,
//! restarts the 60 s (a retransmitted FIN: our last ACK was lost). Other
//! resets are ignored.
//!
//! **Timers** ([`TcpConn::timer`], `net/ipv4/tcp_timer.c`,
//! `inet_connection_sock.c`): in `SYN_SENT` (and a simultaneous open's
//! `SYN_RECV`) resend the SYN (SYN-ACK) after 1 s, then 2, 4, 8 … s (the
//! timeout doubles, at most `TCP_RTO_MAX`, 120 s); when it fires after
//! `syn_retries` resends, give up: `CLOSE`, `ETIMEDOUT`. A request
//! (`SYN_RECV` from `LISTEN`, `reqsk_timer_handler`) resends its SYN-ACK
//! the same way up to `synack_retries` times, then dies silently
//! (`CLOSE`). `FIN_WAIT2` (orphan) and `TIME_WAIT` go to `CLOSE` when
//! their timer fires.
//!
//! # Simplified
//! No data of our own, no FIN retransmission, no delayed ACKs (Linux may
//! delay the ACK of a FIN in `ESTABLISHED` and send it with its own FIN),
//! no out-of-order queue, no PAWS/timestamps, no rate limit on challenge
//! ACKs (`tcp_challenge_ack_limit`), and an orphan's `FIN_WAIT2` is a full
//! socket here where Linux keeps a small timewait sock.

use crate::{
    ACK, Config, Errno, FIN, Nanos, RST, SYN, Segment, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING,
    TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV,
    TCP_SYN_SENT, TCP_TIME_WAIT, secs,
};

/// `TCP_TIMEOUT_INIT`: the first SYN and SYN-ACK timeout.
const TCP_TIMEOUT_INIT: Nanos = secs(1);
/// `TCP_RTO_MAX`: the longest a retransmission timeout grows.
const TCP_RTO_MAX: Nanos = secs(120);
/// `TCP_TIMEWAIT_LEN`: 60 s, fixed in the kernel.
const TCP_TIMEWAIT_LEN: Nanos = secs(60);

/// `before(a, b)`: `a` comes before `b` in sequence space (modulo 2^32).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `after(a, b)`.
fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// The timeout after `n` retransmissions: 1 s doubled `n` times, capped.
fn backoff(n: u32) -> Nanos {
    TCP_TIMEOUT_INIT
        .checked_shl(n.min(32))
        .unwrap_or(TCP_RTO_MAX)
        .min(TCP_RTO_MAX)
}

/// `tcp_v4_send_reset()`: the reset that answers `seg` when no connection
/// wants it. Never a reset for a reset.
fn reset_for(seg: &Segment) -> Vec<Segment> {
    if seg.has(RST) {
        Vec::new()
    } else if seg.has(ACK) {
        vec![Segment::new(RST, seg.ack, 0)]
    } else {
        vec![Segment::new(RST | ACK, 0, seg.end_seq())]
    }
}

/// One connection (`struct tcp_sock` as far as set-up and tear-down go).
#[derive(Clone, Debug)]
pub struct TcpConn {
    cfg: Config,
    state: u8,
    err: Option<Errno>,
    iss: u32,
    irs: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    unread: u32,
    /// `SOCK_DEAD`: `close()` was called.
    orphan: bool,
    /// `SYN_RECV` reached from `LISTEN` (a request sock), not by a
    /// simultaneous open.
    request: bool,
    /// SYN or SYN-ACK retransmissions so far.
    retrans: u32,
    timer_at: Option<Nanos>,
}

impl TcpConn {
    /// A socket in `CLOSE` that will use `iss` as its initial sequence
    /// number.
    pub fn new(iss: u32, cfg: Config) -> TcpConn {
        TcpConn {
            cfg,
            state: TCP_CLOSE,
            err: None,
            iss,
            irs: 0,
            snd_una: iss,
            snd_nxt: iss,
            rcv_nxt: 0,
            unread: 0,
            orphan: false,
            request: false,
            retrans: 0,
            timer_at: None,
        }
    }

    /// The state, as the kernel numbers it (`TCP_ESTABLISHED`, …).
    pub fn state(&self) -> u8 {
        self.state
    }

    /// The error a reset or a timeout left (`sk_err`): what the process's
    /// next call would return.
    pub fn error(&self) -> Option<Errno> {
        self.err
    }

    /// When the armed timer fires, if one is armed.
    pub fn next_timer(&self) -> Option<Nanos> {
        self.timer_at
    }

    /// `connect()`.
    pub fn connect(&mut self, now: Nanos) -> Result<Vec<Segment>, Errno> {
        match self.state {
            TCP_CLOSE => {}
            TCP_SYN_SENT => return Err(Errno::EALREADY),
            _ => return Err(Errno::EISCONN),
        }
        self.state = TCP_SYN_SENT;
        self.snd_una = self.iss;
        self.snd_nxt = self.iss.wrapping_add(1);
        self.retrans = 0;
        self.err = None;
        self.timer_at = Some(now + TCP_TIMEOUT_INIT);
        Ok(vec![Segment::new(SYN, self.iss, 0)])
    }

    /// `listen()`.
    pub fn listen(&mut self) -> Result<(), Errno> {
        match self.state {
            TCP_CLOSE | TCP_LISTEN => {
                self.state = TCP_LISTEN;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `close()`.
    pub fn close(&mut self, now: Nanos) -> Vec<Segment> {
        self.orphan = true;
        match self.state {
            TCP_CLOSE => return Vec::new(),
            TCP_LISTEN | TCP_SYN_SENT => {
                self.done();
                return Vec::new();
            }
            _ => {}
        }
        if self.unread > 0 {
            // tcp_close(): data_was_unread, TCPAbortOnClose.
            let rst = Segment::new(RST | ACK, self.snd_nxt, self.rcv_nxt);
            self.done();
            return vec![rst];
        }
        if self.state == TCP_FIN_WAIT2 {
            self.timer_at = Some(now + self.cfg.fin_timeout);
            return Vec::new();
        }
        self.send_fin()
    }

    /// `shutdown(fd, SHUT_WR)`.
    pub fn shutdown_write(&mut self, _now: Nanos) -> Result<Vec<Segment>, Errno> {
        match self.state {
            TCP_CLOSE => Err(Errno::ENOTCONN),
            TCP_SYN_SENT => {
                // inet_shutdown() -> tcp_disconnect().
                self.done();
                self.err = Some(Errno::ECONNRESET);
                Ok(Vec::new())
            }
            _ => Ok(self.send_fin()),
        }
    }

    /// The process reads everything received; returns how many bytes.
    pub fn read(&mut self) -> u32 {
        std::mem::take(&mut self.unread)
    }

    /// A segment arrives at `now`; returns what we send in answer.
    pub fn segment(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match self.state {
            TCP_CLOSE => reset_for(seg),
            TCP_LISTEN => self.listen_rcv(seg, now),
            TCP_SYN_SENT => self.synsent_rcv(seg),
            TCP_TIME_WAIT => self.timewait_rcv(seg, now),
            TCP_SYN_RECV if self.request => self.check_req(seg, now),
            _ => self.synchronized_rcv(seg, now),
        }
    }

    /// The timer fired (or `now` is past it): do what is due.
    pub fn timer(&mut self, now: Nanos) -> Vec<Segment> {
        match self.timer_at {
            Some(at) if at <= now => {}
            _ => return Vec::new(),
        }
        self.timer_at = None;
        match self.state {
            TCP_SYN_SENT | TCP_SYN_RECV => {
                let limit = if self.request {
                    self.cfg.synack_retries
                } else {
                    self.cfg.syn_retries
                };
                if self.retrans >= limit {
                    if !self.request {
                        self.err = Some(Errno::ETIMEDOUT);
                    }
                    self.done();
                    return Vec::new();
                }
                self.retrans += 1;
                self.timer_at = Some(now + backoff(self.retrans));
                if self.state == TCP_SYN_SENT {
                    vec![Segment::new(SYN, self.iss, 0)]
                } else {
                    vec![self.synack()]
                }
            }
            TCP_FIN_WAIT2 | TCP_TIME_WAIT => {
                self.done();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// `tcp_done()`: `CLOSE`, no timer.
    fn done(&mut self) {
        self.state = TCP_CLOSE;
        self.timer_at = None;
    }

    /// `tcp_reset()`: the peer reset the connection.
    fn reset(&mut self) {
        self.err = Some(match self.state {
            TCP_SYN_SENT => Errno::ECONNREFUSED,
            TCP_CLOSE_WAIT => Errno::EPIPE,
            _ => Errno::ECONNRESET,
        });
        self.done();
    }

    fn ack(&self) -> Segment {
        Segment::new(ACK, self.snd_nxt, self.rcv_nxt)
    }

    fn synack(&self) -> Segment {
        Segment::new(SYN | ACK, self.iss, self.rcv_nxt)
    }

    /// `tcp_close_state()` and `tcp_send_fin()`.
    fn send_fin(&mut self) -> Vec<Segment> {
        let next = match self.state {
            TCP_SYN_RECV | TCP_ESTABLISHED => TCP_FIN_WAIT1,
            TCP_CLOSE_WAIT => TCP_LAST_ACK,
            _ => return Vec::new(),
        };
        self.state = next;
        self.timer_at = None;
        let fin = Segment::new(FIN | ACK, self.snd_nxt, self.rcv_nxt);
        self.snd_nxt = self.snd_nxt.wrapping_add(1);
        vec![fin]
    }

    fn time_wait(&mut self, now: Nanos) {
        self.state = TCP_TIME_WAIT;
        self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
    }

    fn listen_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        if seg.has(ACK) {
            return reset_for(seg);
        }
        if seg.has(RST) || !seg.has(SYN) || seg.has(FIN) {
            return Vec::new();
        }
        self.state = TCP_SYN_RECV;
        self.request = true;
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq.wrapping_add(1);
        self.snd_una = self.iss;
        self.snd_nxt = self.iss.wrapping_add(1);
        self.retrans = 0;
        self.timer_at = Some(now + TCP_TIMEOUT_INIT);
        vec![self.synack()]
    }

    fn synsent_rcv(&mut self, seg: &Segment) -> Vec<Segment> {
        if seg.has(ACK) {
            if !after(seg.ack, self.snd_una) || after(seg.ack, self.snd_nxt) {
                return reset_for(seg);
            }
            if seg.has(RST) {
                self.reset();
                return Vec::new();
            }
            if !seg.has(SYN) {
                return Vec::new();
            }
            self.irs = seg.seq;
            self.rcv_nxt = seg.seq.wrapping_add(1);
            self.snd_una = seg.ack;
            self.state = TCP_ESTABLISHED;
            self.timer_at = None;
            return vec![self.ack()];
        }
        if seg.has(RST) || !seg.has(SYN) {
            return Vec::new();
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq.wrapping_add(1);
        self.state = TCP_SYN_RECV;
        vec![self.synack()]
    }

    /// `tcp_in_window()` of `tcp_minisocks.c`.
    fn in_window(&self, seg: &Segment) -> bool {
        let (s, e) = (self.rcv_nxt, self.rcv_nxt.wrapping_add(self.cfg.rcv_wnd));
        let end = seg.end_seq();
        seg.seq == s || (after(end, s) && before(seg.seq, e)) || (seg.seq == e && seg.seq == end)
    }

    fn check_req(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        if seg.seq == self.irs && seg.flags == SYN {
            self.timer_at = Some(now + backoff(self.retrans));
            return vec![self.synack()];
        }
        if seg.has(ACK) && seg.ack != self.iss.wrapping_add(1) {
            return reset_for(seg);
        }
        if !self.in_window(seg) {
            if seg.has(RST) {
                return Vec::new();
            }
            return vec![Segment::new(ACK, self.iss.wrapping_add(1), self.rcv_nxt)];
        }
        let syn = seg.has(SYN) && seg.seq != self.irs;
        if seg.has(RST) || syn {
            self.done();
            return if seg.has(RST) {
                Vec::new()
            } else {
                reset_for(seg)
            };
        }
        if !seg.has(ACK) {
            return Vec::new();
        }
        self.snd_una = seg.ack;
        self.state = TCP_ESTABLISHED;
        self.request = false;
        self.timer_at = None;
        self.data_rcv(seg, now)
    }

    fn synchronized_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        // tcp_sequence()
        let acceptable = !before(seg.end_seq(), self.rcv_nxt)
            && !after(seg.seq, self.rcv_nxt.wrapping_add(self.cfg.rcv_wnd));
        if !acceptable {
            return if seg.has(RST) {
                Vec::new()
            } else {
                vec![self.ack()]
            };
        }
        if seg.has(RST) {
            if seg.seq == self.rcv_nxt {
                self.reset();
                return Vec::new();
            }
            return vec![self.ack()];
        }
        if seg.has(SYN) {
            let synack_again = self.state == TCP_SYN_RECV
                && seg.has(ACK)
                && seg.seq.wrapping_add(1) == self.rcv_nxt
                && seg.ack == self.snd_nxt;
            if !synack_again {
                return vec![self.ack()];
            }
        }
        if !seg.has(ACK) {
            return Vec::new();
        }
        // tcp_ack()
        if self.state == TCP_SYN_RECV {
            if !after(seg.ack, self.snd_una) || after(seg.ack, self.snd_nxt) {
                return reset_for(seg);
            }
            self.state = TCP_ESTABLISHED;
            self.timer_at = None;
        } else if after(seg.ack, self.snd_nxt) {
            return if self.state == TCP_ESTABLISHED {
                Vec::new()
            } else {
                vec![self.ack()]
            };
        }
        if after(seg.ack, self.snd_una) {
            self.snd_una = seg.ack;
        }
        let fin_acked = self.snd_una == self.snd_nxt;
        match self.state {
            TCP_FIN_WAIT1 if fin_acked => {
                self.state = TCP_FIN_WAIT2;
                if self.orphan {
                    self.timer_at = Some(now + self.cfg.fin_timeout);
                }
            }
            TCP_CLOSING if fin_acked => {
                self.time_wait(now);
                return Vec::new();
            }
            TCP_LAST_ACK if fin_acked => {
                self.done();
                return Vec::new();
            }
            _ => {}
        }
        self.data_rcv(seg, now)
    }

    /// Step 7 of `tcp_rcv_state_process()`: the segment's text and FIN.
    fn data_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        let fin = seg.has(FIN);
        if seg.end_seq() == seg.seq {
            // A bare ACK: nothing to acknowledge.
            return Vec::new();
        }
        match self.state {
            TCP_CLOSE_WAIT | TCP_CLOSING | TCP_LAST_ACK if !before(seg.seq, self.rcv_nxt) => {
                return Vec::new();
            }
            TCP_FIN_WAIT1 | TCP_FIN_WAIT2
                if self.orphan
                    && seg.len > 0
                    && after(seg.seq.wrapping_add(seg.len), self.rcv_nxt) =>
            {
                // TCPAbortOnData: nobody will read it.
                self.done();
                self.err = Some(Errno::ECONNRESET);
                return reset_for(seg);
            }
            _ => {}
        }
        let data_end = seg.seq.wrapping_add(seg.len);
        if after(seg.seq, self.rcv_nxt) || !after(seg.end_seq(), self.rcv_nxt) {
            // Out of order, or nothing new: a duplicate ACK.
            return vec![self.ack()];
        }
        if after(data_end, self.rcv_nxt) {
            self.unread += data_end.wrapping_sub(self.rcv_nxt);
            self.rcv_nxt = data_end;
        }
        if fin {
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            match self.state {
                TCP_ESTABLISHED => self.state = TCP_CLOSE_WAIT,
                TCP_FIN_WAIT1 => self.state = TCP_CLOSING,
                TCP_FIN_WAIT2 => self.time_wait(now),
                _ => {}
            }
        }
        vec![self.ack()]
    }

    fn timewait_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        if seg.seq == self.rcv_nxt && (seg.has(RST) || seg.end_seq() == seg.seq) {
            if seg.has(RST) {
                self.done();
            } else {
                self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
            }
            return Vec::new();
        }
        if seg.has(SYN) && !seg.has(RST) && !seg.has(ACK) && after(seg.seq, self.rcv_nxt) {
            self.done();
            return Vec::new();
        }
        if seg.has(RST) {
            return Vec::new();
        }
        if seg.has(ACK) {
            self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
        }
        vec![self.ack()]
    }
}
