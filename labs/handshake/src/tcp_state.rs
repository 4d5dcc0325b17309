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

// The skeleton's imports are all used by the reference solution; an
// unfinished file would warn about them.
#![allow(unused_imports, dead_code, unused_variables)]

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

/// One connection (`struct tcp_sock` as far as set-up and tear-down go).
/// The fields are a suggestion: change them as you like.
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
    /// Received bytes the process has not read.
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
        todo!(
            "the handshake lab: TcpConn::new is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// The state, as the kernel numbers it (`TCP_ESTABLISHED`, …).
    pub fn state(&self) -> u8 {
        todo!(
            "the handshake lab: TcpConn::state is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// The error a reset or a timeout left (`sk_err`): what the process's
    /// next call would return.
    pub fn error(&self) -> Option<Errno> {
        todo!(
            "the handshake lab: TcpConn::error is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// When the armed timer fires, if one is armed.
    pub fn next_timer(&self) -> Option<Nanos> {
        todo!(
            "the handshake lab: TcpConn::next_timer is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// `connect()`.
    pub fn connect(&mut self, now: Nanos) -> Result<Vec<Segment>, Errno> {
        todo!(
            "the handshake lab: TcpConn::connect is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// `listen()`.
    pub fn listen(&mut self) -> Result<(), Errno> {
        todo!(
            "the handshake lab: TcpConn::listen is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// `close()`.
    pub fn close(&mut self, now: Nanos) -> Vec<Segment> {
        todo!(
            "the handshake lab: TcpConn::close is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// `shutdown(fd, SHUT_WR)`.
    pub fn shutdown_write(&mut self, now: Nanos) -> Result<Vec<Segment>, Errno> {
        todo!(
            "the handshake lab: TcpConn::shutdown_write is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// The process reads everything received; returns how many bytes.
    pub fn read(&mut self) -> u32 {
        todo!(
            "the handshake lab: TcpConn::read is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// A segment arrives at `now`; returns what we send in answer.
    pub fn segment(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        todo!(
            "the handshake lab: TcpConn::segment is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }

    /// The timer fired (or `now` is past it): do what is due.
    pub fn timer(&mut self, now: Nanos) -> Vec<Segment> {
        todo!(
            "the handshake lab: TcpConn::timer is yours to write, in labs/handshake/src/tcp_state.rs"
        )
    }
}
