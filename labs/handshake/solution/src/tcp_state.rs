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
    TCP_TIMEOUT_INIT
        .checked_shl(retrans.min(32))
        .unwrap_or(TCP_RTO_MAX)
        .min(TCP_RTO_MAX)
}

/// `retransmits_timed_out()` for a SYN or a SYN-ACK: when the timer fires
/// after `retrans` resends, is it time to give up? After `limit` resends
/// (`tcp_syn_retries`, `tcp_synack_retries`) it is.
pub fn retransmits_timed_out(retrans: u32, limit: u32) -> bool {
    retrans >= limit
}

/// `connect()` in `state` (`__inet_stream_connect()`): only a closed
/// socket connects; `EALREADY` while a connect is in progress (`SYN_SENT`),
/// `EISCONN` anywhere else.
pub fn tcp_connect(state: u8) -> Result<(), Errno> {
    match state {
        TCP_CLOSE => Ok(()),
        TCP_SYN_SENT => Err(Errno::EALREADY),
        _ => Err(Errno::EISCONN),
    }
}

/// `listen()` in `state` (`inet_listen()`): from `CLOSE` (or again in
/// `LISTEN`), else `EINVAL`.
pub fn inet_listen(state: u8) -> Result<(), Errno> {
    match state {
        TCP_CLOSE | TCP_LISTEN => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `tcp_close_state()`: the `new_state[]` table. The state a close (or a
/// `shutdown(SHUT_WR)`) moves to, and whether our FIN goes out
/// (`TCP_ACTION_FIN`): `ESTABLISHED` and `SYN_RECV` go to `FIN_WAIT1`,
/// `CLOSE_WAIT` to `LAST_ACK`, each with a FIN; `SYN_SENT`, `LISTEN`,
/// `TIME_WAIT` go to `CLOSE`; the closing states stay where they are.
pub fn tcp_close_state(state: u8) -> (u8, bool) {
    match state {
        TCP_ESTABLISHED | TCP_SYN_RECV => (TCP_FIN_WAIT1, true),
        TCP_CLOSE_WAIT => (TCP_LAST_ACK, true),
        TCP_SYN_SENT | TCP_LISTEN | TCP_TIME_WAIT | TCP_CLOSE => (TCP_CLOSE, false),
        s => (s, false),
    }
}

/// `close()` (`tcp_close()`) in `state`, with `unread` received bytes the
/// process never read: `LISTEN`, `SYN_SENT` (and `CLOSE`) are done at once,
/// silently; unread data makes it an abort (a reset, `TCPAbortOnClose`);
/// `FIN_WAIT2` arms the `tcp_fin_timeout` timer; anything else moves as
/// [`tcp_close_state`] says.
pub fn tcp_close(state: u8, unread: u32) -> Close {
    match state {
        TCP_CLOSE | TCP_LISTEN | TCP_SYN_SENT => Close::Done,
        _ if unread > 0 => Close::Reset,
        TCP_FIN_WAIT2 => Close::FinTimeout,
        s => {
            let (next, fin) = tcp_close_state(s);
            Close::State(next, fin)
        }
    }
}

/// `shutdown(fd, SHUT_WR)` (`inet_shutdown()`, `tcp_shutdown()`):
/// `ENOTCONN` in `CLOSE`; `SYN_SENT` is disconnected; `ESTABLISHED`,
/// `SYN_RECV`, `CLOSE_WAIT` send their FIN as close does; anything else
/// does nothing.
pub fn tcp_shutdown(state: u8) -> Result<Shutdown, Errno> {
    match state {
        TCP_CLOSE => Err(Errno::ENOTCONN),
        TCP_SYN_SENT => Ok(Shutdown::Disconnect),
        TCP_ESTABLISHED | TCP_SYN_RECV | TCP_CLOSE_WAIT => {
            Ok(Shutdown::Fin(tcp_close_state(state).0))
        }
        _ => Ok(Shutdown::Nothing),
    }
}

/// `tcp_v4_send_reset()`: the reset that answers `seg` when no connection
/// wants it. Never a reset for a reset. If `seg` had `ACK`: `R seq=<its
/// ack>`; else `R. seq=0 ack=<its end_seq>`.
pub fn tcp_v4_send_reset(seg: &Segment) -> Option<Segment> {
    if seg.has(RST) {
        None
    } else if seg.has(ACK) {
        Some(Segment::new(RST, seg.ack, 0))
    } else {
        Some(Segment::new(RST | ACK, 0, seg.end_seq()))
    }
}

/// A listener's segment that no request waits for (`tcp_rcv_state_process()`,
/// case `TCP_LISTEN`): an `ACK` is answered with a reset; a `RST` is
/// ignored; a `SYN` without `FIN` is a connection request; anything else
/// is ignored.
pub fn tcp_listen_state_process(seg: &Segment) -> Listen {
    if seg.has(ACK) {
        Listen::Reset
    } else if seg.has(RST) || !seg.has(SYN) || seg.has(FIN) {
        Listen::Drop
    } else {
        Listen::Request
    }
}

/// `tcp_in_window()` of `tcp_minisocks.c`: `seq == rcv_nxt`, or the
/// segment overlaps `[rcv_nxt, rcv_nxt + rcv_wnd)`.
fn tcp_in_window(tcb: &Tcb, seg: &Segment) -> bool {
    let (s, e) = (tcb.rcv_nxt, tcb.rcv_nxt.wrapping_add(tcb.rcv_wnd));
    let end = seg.end_seq();
    seg.seq == s || (after(end, s) && before(seg.seq, e)) || (seg.seq == e && seg.seq == end)
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
    if seg.seq == tcb.irs && seg.flags == SYN {
        return CheckReqSeg::ResendSynAck;
    }
    if seg.has(ACK) && seg.ack != tcb.iss.wrapping_add(1) {
        return CheckReqSeg::Reset;
    }
    if !tcp_in_window(tcb, seg) {
        return if seg.has(RST) {
            CheckReqSeg::Drop
        } else {
            CheckReqSeg::Ack
        };
    }
    if seg.has(RST) || seg.has(SYN) {
        return CheckReqSeg::Embryonic {
            reset: !seg.has(RST),
        };
    }
    if !seg.has(ACK) {
        return CheckReqSeg::Drop;
    }
    CheckReqSeg::Child
}

/// The answer to our SYN (`tcp_rcv_synsent_state_process()`). With `ACK`:
/// an ack outside `(snd_una, snd_nxt]` → reset (it does not acknowledge
/// our SYN); then `RST` → refused; then no `SYN` → ignore; a SYN-ACK →
/// established. Without `ACK`: `RST` → ignore; `SYN` → simultaneous open;
/// anything else → ignore.
pub fn tcp_rcv_synsent_state_process(tcb: &Tcb, seg: &Segment) -> SynSent {
    if seg.has(ACK) {
        if !after(seg.ack, tcb.snd_una) || after(seg.ack, tcb.snd_nxt) {
            return SynSent::Reset;
        }
        if seg.has(RST) {
            return SynSent::Refused;
        }
        if !seg.has(SYN) {
            return SynSent::Drop;
        }
        return SynSent::Established;
    }
    if seg.has(RST) || !seg.has(SYN) {
        return SynSent::Drop;
    }
    SynSent::SimultaneousOpen
}

/// `tcp_reset()`: the errno a reset leaves (`sk_err`): `ECONNREFUSED` in
/// `SYN_SENT`, `EPIPE` in `CLOSE_WAIT`, `ECONNRESET` anywhere else.
pub fn tcp_reset_errno(state: u8) -> Errno {
    match state {
        TCP_SYN_SENT => Errno::ECONNREFUSED,
        TCP_CLOSE_WAIT => Errno::EPIPE,
        _ => Errno::ECONNRESET,
    }
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
    let reset_check = matches!(state, TCP_CLOSE_WAIT | TCP_LAST_ACK | TCP_CLOSING)
        && seg.seq == tcb.rcv_nxt.wrapping_sub(1);
    let acceptable = !before(seg.end_seq(), tcb.rcv_wup)
        && !after(seg.seq, tcb.rcv_nxt.wrapping_add(tcb.rcv_wnd));
    if !acceptable {
        return match (seg.has(RST), reset_check) {
            (true, true) => Validate::Reset,
            (true, false) => Validate::Drop,
            _ => Validate::DupAck,
        };
    }
    if seg.has(RST) {
        return if seg.seq == tcb.rcv_nxt || reset_check {
            Validate::Reset
        } else {
            Validate::ChallengeAck
        };
    }
    if seg.has(SYN) {
        let synack_again = state == TCP_SYN_RECV
            && seg.has(ACK)
            && seg.seq.wrapping_add(1) == tcb.rcv_nxt
            && seg.ack == tcb.snd_nxt;
        if !synack_again {
            return Validate::ChallengeAck;
        }
    }
    if !seg.has(ACK) {
        return Validate::Drop;
    }
    Validate::Accept
}

/// The acknowledgment number of a validated segment (`tcp_ack()` as
/// `tcp_rcv_state_process()` uses it). In `SYN_RECV` (a simultaneous open)
/// it must acknowledge our SYN-ACK, `ack` in `(snd_una, snd_nxt]`:
/// established, else a reset. Elsewhere an `ack` after `snd_nxt`
/// (acknowledging what we never sent) is dropped and answered with a
/// challenge ACK (RFC 5961 5.2; Linux 6.18 does so in every state).
pub fn tcp_ack(state: u8, tcb: &Tcb, seg: &Segment) -> AckCheck {
    if state == TCP_SYN_RECV {
        return if !after(seg.ack, tcb.snd_una) || after(seg.ack, tcb.snd_nxt) {
            AckCheck::Reset
        } else {
            AckCheck::Established
        };
    }
    if after(seg.ack, tcb.snd_nxt) {
        return AckCheck::ChallengeAck;
    }
    AckCheck::Accept
}

/// Once everything we sent, our FIN included, is acknowledged: the state
/// that follows (`tcp_rcv_state_process()`, cases `TCP_FIN_WAIT1`,
/// `TCP_CLOSING`, `TCP_LAST_ACK`): `FIN_WAIT1` → `FIN_WAIT2`, `CLOSING` →
/// `TIME_WAIT`, `LAST_ACK` → `CLOSE`. `None` in any other state.
pub fn tcp_fin_acked(state: u8) -> Option<u8> {
    match state {
        TCP_FIN_WAIT1 => Some(TCP_FIN_WAIT2),
        TCP_CLOSING => Some(TCP_TIME_WAIT),
        TCP_LAST_ACK => Some(TCP_CLOSE),
        _ => None,
    }
}

/// A segment with payload or FIN in a synchronized state, before its bytes
/// are queued (step 7 of `tcp_rcv_state_process()`): in `CLOSE_WAIT`,
/// `CLOSING`, `LAST_ACK` a segment at or after `rcv_nxt` is dropped (the
/// peer already finished); in `FIN_WAIT1`/`FIN_WAIT2`, when nobody will
/// read (`rcv_shutdown`: `close()` was called), new data (payload beyond
/// `rcv_nxt`) aborts the connection (`TCPAbortOnData`). Everything else
/// is queued.
pub fn tcp_rcv_data_state(state: u8, tcb: &Tcb, rcv_shutdown: bool, seg: &Segment) -> DataCheck {
    match state {
        TCP_CLOSE_WAIT | TCP_CLOSING | TCP_LAST_ACK if !before(seg.seq, tcb.rcv_nxt) => {
            DataCheck::Drop
        }
        TCP_FIN_WAIT1 | TCP_FIN_WAIT2
            if rcv_shutdown && seg.len > 0 && after(seg.seq.wrapping_add(seg.len), tcb.rcv_nxt) =>
        {
            DataCheck::AbortOnData
        }
        _ => DataCheck::Queue,
    }
}

/// `tcp_fin()`: the peer's FIN arrived in order. `ESTABLISHED` →
/// `CLOSE_WAIT`, `FIN_WAIT1` → `CLOSING` (both sides closed at once),
/// `FIN_WAIT2` → `TIME_WAIT`; the other states stay.
pub fn tcp_fin(state: u8) -> u8 {
    match state {
        TCP_ESTABLISHED => TCP_CLOSE_WAIT,
        TCP_FIN_WAIT1 => TCP_CLOSING,
        TCP_FIN_WAIT2 => TCP_TIME_WAIT,
        s => s,
    }
}

/// A segment for a `TIME_WAIT` socket (`tcp_timewait_state_process()`):
/// at exactly `rcv_nxt`, a `RST` ends it (`tcp_rfc1337` is 0) and a bare
/// ACK restarts the 60 s, silently; a `SYN` (no `ACK`, no `RST`) after
/// `rcv_nxt` may open a new connection; other resets are ignored; any
/// other segment is answered with an ACK and, if it has `ACK`, restarts
/// the 60 s (a retransmitted FIN: our last ACK was lost).
pub fn tcp_timewait_state_process(tcb: &Tcb, seg: &Segment) -> TimeWait {
    if seg.seq == tcb.rcv_nxt && (seg.has(RST) || seg.end_seq() == seg.seq) {
        return if seg.has(RST) {
            TimeWait::Kill
        } else {
            TimeWait::Rearm
        };
    }
    if seg.has(SYN) && !seg.has(RST) && !seg.has(ACK) && after(seg.seq, tcb.rcv_nxt) {
        return TimeWait::NewSyn;
    }
    if seg.has(RST) {
        TimeWait::Drop
    } else if seg.has(ACK) {
        TimeWait::AckRearm
    } else {
        TimeWait::Ack
    }
}
