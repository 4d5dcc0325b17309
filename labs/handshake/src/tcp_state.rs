//! One TCP connection's state machine: the eleven states of `struct sock`'s
//! `sk_state`, driven by arriving segments, user calls and timers. This is
//! the first of the two files you complete.
//!
//! # What you write, and who runs it
//!
//! Each function is one decision the kernel makes, named after the kernel
//! function that makes it. It takes the state (the kernel's number:
//! `TCP_ESTABLISHED` = 1, …, `TCP_CLOSING` = 11,
//! `include/net/tcp_states.h`), the sequence space ([`Tcb`]) and the
//! segment ([`Segment`]), and returns a verdict. Doing the verdict (sending
//! the segment, moving `rcv_nxt`, arming the timer, waking the process) is
//! given:
//! - the lab's `TcpConn` (`src/conn.rs`) runs your
//!   decisions on one connection, and the tests drive it with
//!   packetdrill-like scripts;
//! - the stack runs them on every TCP connection it has
//!   (`stack/src/net/ipv4/tcp/state_machine.rs` compiles this file): the
//!   book's examples, `ss`, the counters, all of it.
//!
//! Sequence numbers wrap at 2^32: compare them with `before()`/`after()`
//! (`include/net/tcp.h`), never with `<`.
//!
//! # Simplified
//! The lab's connection sends no data of its own; no SACK, no timestamps
//! (so no PAWS), no `tcp_rfc1337`, no rate limit on challenge ACKs in the
//! decisions (the stack applies `tcp_invalid_ratelimit` when it sends one).

// The skeleton's imports are all used by the reference solution; an
// unfinished file would warn about them.
#![allow(unused_imports, dead_code, unused_variables)]

use super::{
    ACK, AckCheck, CheckReqSeg, Close, DataCheck, Errno, FIN, Listen, Nanos, RST, SYN, Segment,
    Shutdown, SynSent, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1,
    TCP_FIN_WAIT2, TCP_LAST_ACK, TCP_LISTEN, TCP_RTO_MAX, TCP_SYN_RECV, TCP_SYN_SENT,
    TCP_TIME_WAIT, TCP_TIMEOUT_INIT, Tcb, TimeWait, Validate,
};

/// `before(a, b)`: `a` comes before `b` in sequence space (modulo 2^32).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `after(a, b)`.
fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// The SYN (and SYN-ACK) timeout after `retrans` retransmissions
/// (`inet_csk_reset_xmit_timer()` with `icsk_rto` doubled each time by
/// `tcp_retransmit_timer()`): `TCP_TIMEOUT_INIT` (1 s) doubled `retrans`
/// times, never more than `TCP_RTO_MAX` (120 s).
pub fn tcp_syn_timeout(retrans: u32) -> Nanos {
    todo!(
        "the handshake lab: tcp_syn_timeout is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `retransmits_timed_out()` for a SYN or a SYN-ACK: when the timer fires
/// after `retrans` resends, is it time to give up? After `limit` resends
/// (`tcp_syn_retries`, `tcp_synack_retries`) it is.
pub fn retransmits_timed_out(retrans: u32, limit: u32) -> bool {
    todo!(
        "the handshake lab: retransmits_timed_out is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `connect()` in `state` (`__inet_stream_connect()`): only a closed
/// socket connects; `EALREADY` while a connect is in progress (`SYN_SENT`),
/// `EISCONN` anywhere else.
pub fn tcp_connect(state: u8) -> Result<(), Errno> {
    todo!("the handshake lab: tcp_connect is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// `listen()` in `state` (`inet_listen()`): from `CLOSE` (or again in
/// `LISTEN`), else `EINVAL`.
pub fn inet_listen(state: u8) -> Result<(), Errno> {
    todo!("the handshake lab: inet_listen is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// `tcp_close_state()`: the `new_state[]` table. The state a close (or a
/// `shutdown(SHUT_WR)`) moves to, and whether our FIN goes out
/// (`TCP_ACTION_FIN`): `ESTABLISHED` and `SYN_RECV` go to `FIN_WAIT1`,
/// `CLOSE_WAIT` to `LAST_ACK`, each with a FIN; `SYN_SENT`, `LISTEN`,
/// `TIME_WAIT` go to `CLOSE`; the closing states stay where they are.
pub fn tcp_close_state(state: u8) -> (u8, bool) {
    todo!(
        "the handshake lab: tcp_close_state is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `close()` (`tcp_close()`) in `state`, with `unread` received bytes the
/// process never read: `LISTEN`, `SYN_SENT` (and `CLOSE`) are done at once,
/// silently; unread data makes it an abort (a reset, `TCPAbortOnClose`);
/// `FIN_WAIT2` arms the `tcp_fin_timeout` timer; anything else moves as
/// [`tcp_close_state`] says.
pub fn tcp_close(state: u8, unread: u32) -> Close {
    todo!("the handshake lab: tcp_close is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// `shutdown(fd, SHUT_WR)` (`inet_shutdown()`, `tcp_shutdown()`):
/// `ENOTCONN` in `CLOSE`; `SYN_SENT` is disconnected; `ESTABLISHED`,
/// `SYN_RECV`, `CLOSE_WAIT` send their FIN as close does; anything else
/// does nothing.
pub fn tcp_shutdown(state: u8) -> Result<Shutdown, Errno> {
    todo!("the handshake lab: tcp_shutdown is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// `tcp_v4_send_reset()`: the reset that answers `seg` when no connection
/// wants it. Never a reset for a reset. If `seg` had `ACK`: `R seq=<its
/// ack>`; else `R. seq=0 ack=<its end_seq>`.
pub fn tcp_v4_send_reset(seg: &Segment) -> Option<Segment> {
    todo!(
        "the handshake lab: tcp_v4_send_reset is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// A listener's segment that no request waits for (`tcp_rcv_state_process()`,
/// case `TCP_LISTEN`): an `ACK` is answered with a reset; a `RST` is
/// ignored; a `SYN` without `FIN` is a connection request; anything else
/// is ignored.
pub fn tcp_listen_state_process(seg: &Segment) -> Listen {
    todo!(
        "the handshake lab: tcp_listen_state_process is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `tcp_in_window()` of `tcp_minisocks.c`: `seq == rcv_nxt`, or the
/// segment overlaps `[rcv_nxt, rcv_nxt + rcv_wnd)`.
fn tcp_in_window(tcb: &Tcb, seg: &Segment) -> bool {
    todo!("the handshake lab: tcp_in_window is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// A segment for a request in `SYN_RECV` (`tcp_check_req()` in
/// `net/ipv4/tcp_minisocks.c`), in this order:
/// 1. exactly a `SYN` with the first `seq` again (`irs`): the peer did not
///    hear our SYN-ACK: resend it;
/// 2. `ACK` with `ack != iss + 1` → reset;
/// 3. sequence not in the window → unless `RST`, an ACK; ignore it;
/// 4. `RST`, or a `SYN` (other than the first one) → the request dies, a
///    `SYN` answered with a reset;
/// 5. no `ACK` → ignore;
/// 6. the final ACK: the child is established.
pub fn tcp_check_req(tcb: &Tcb, seg: &Segment) -> CheckReqSeg {
    todo!("the handshake lab: tcp_check_req is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// The answer to our SYN (`tcp_rcv_synsent_state_process()`). With `ACK`:
/// an ack outside `(snd_una, snd_nxt]` → reset (it does not acknowledge
/// our SYN); then `RST` → refused; then no `SYN` → ignore; a SYN-ACK →
/// established. Without `ACK`: `RST` → ignore; `SYN` → simultaneous open;
/// anything else → ignore.
pub fn tcp_rcv_synsent_state_process(tcb: &Tcb, seg: &Segment) -> SynSent {
    todo!(
        "the handshake lab: tcp_rcv_synsent_state_process is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `tcp_reset()`: the errno a reset leaves (`sk_err`): `ECONNREFUSED` in
/// `SYN_SENT`, `EPIPE` in `CLOSE_WAIT`, `ECONNRESET` anywhere else.
pub fn tcp_reset_errno(state: u8) -> Errno {
    todo!(
        "the handshake lab: tcp_reset_errno is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `tcp_validate_incoming()` in a synchronized state, in this order:
/// 1. `tcp_sequence()`: unacceptable if `end_seq` is before `rcv_wup`, or
///    `seq` after `rcv_nxt + rcv_wnd` → a reset is dropped (unless
///    `tcp_reset_check()` below), anything else gets a duplicate ACK;
/// 2. `RST` (RFC 5961): at exactly `rcv_nxt`, or at `rcv_nxt - 1` after the
///    peer's FIN (`CLOSE_WAIT`, `LAST_ACK`, `CLOSING`: `tcp_reset_check()`)
///    → the connection is reset; elsewhere in the window → a challenge ACK;
/// 3. `SYN` → challenge ACK (except, in a simultaneous open's `SYN_RECV`,
///    the peer's SYN-ACK again: `seq + 1 == rcv_nxt` and `ack == snd_nxt`);
/// 4. no `ACK` → ignore.
pub fn tcp_validate_incoming(state: u8, tcb: &Tcb, seg: &Segment) -> Validate {
    todo!(
        "the handshake lab: tcp_validate_incoming is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// The acknowledgment number of a validated segment (`tcp_ack()` as
/// `tcp_rcv_state_process()` uses it). In `SYN_RECV` (a simultaneous open)
/// it must acknowledge our SYN-ACK, `ack` in `(snd_una, snd_nxt]`:
/// established, else a reset. Elsewhere an `ack` after `snd_nxt`
/// (acknowledging what we never sent) is dropped and answered with a
/// challenge ACK (RFC 5961 5.2; Linux 6.18 does so in every state).
pub fn tcp_ack(state: u8, tcb: &Tcb, seg: &Segment) -> AckCheck {
    todo!("the handshake lab: tcp_ack is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// Once everything we sent, our FIN included, is acknowledged: the state
/// that follows (`tcp_rcv_state_process()`, cases `TCP_FIN_WAIT1`,
/// `TCP_CLOSING`, `TCP_LAST_ACK`): `FIN_WAIT1` → `FIN_WAIT2`, `CLOSING` →
/// `TIME_WAIT`, `LAST_ACK` → `CLOSE`. `None` in any other state.
pub fn tcp_fin_acked(state: u8) -> Option<u8> {
    todo!("the handshake lab: tcp_fin_acked is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// A segment with payload or FIN in a synchronized state, before its bytes
/// are queued (step 7 of `tcp_rcv_state_process()`): in `CLOSE_WAIT`,
/// `CLOSING`, `LAST_ACK` a segment at or after `rcv_nxt` is dropped (the
/// peer already finished); in `FIN_WAIT1`/`FIN_WAIT2`, when nobody will
/// read (`rcv_shutdown`: `close()` was called), new data (payload beyond
/// `rcv_nxt`) aborts the connection (`TCPAbortOnData`). Everything else
/// is queued.
pub fn tcp_rcv_data_state(state: u8, tcb: &Tcb, rcv_shutdown: bool, seg: &Segment) -> DataCheck {
    todo!(
        "the handshake lab: tcp_rcv_data_state is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}

/// `tcp_fin()`: the peer's FIN arrived in order. `ESTABLISHED` →
/// `CLOSE_WAIT`, `FIN_WAIT1` → `CLOSING` (both sides closed at once),
/// `FIN_WAIT2` → `TIME_WAIT`; the other states stay.
pub fn tcp_fin(state: u8) -> u8 {
    todo!("the handshake lab: tcp_fin is yours to write, in labs/handshake/src/tcp_state.rs")
}

/// A segment for a `TIME_WAIT` socket (`tcp_timewait_state_process()`):
/// at exactly `rcv_nxt`, a `RST` ends it (`tcp_rfc1337` is 0) and a bare
/// ACK restarts the 60 s, silently; a `SYN` (no `ACK`, no `RST`) after
/// `rcv_nxt` may open a new connection; other resets are ignored; any
/// other segment is answered with an ACK and, if it has `ACK`, restarts
/// the 60 s (a retransmitted FIN: our last ACK was lost).
pub fn tcp_timewait_state_process(tcb: &Tcb, seg: &Segment) -> TimeWait {
    todo!(
        "the handshake lab: tcp_timewait_state_process is yours to write, in labs/handshake/src/tcp_state.rs"
    )
}
