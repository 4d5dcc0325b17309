//! The decisions of TCP's state machine: what a segment, a user call or a
//! timer does to one connection's state, as `tcp_rcv_state_process()`
//! and its helpers decide it (`net/ipv4/tcp_input.c`,
//! `net/ipv4/tcp_minisocks.c`, `net/ipv4/tcp.c`, `net/ipv4/tcp_timer.c`).
//!
//! The decisions are pure: each takes the state, the sequence space
//! ([`Tcb`]) and the segment ([`Segment`]), and returns a verdict. Doing
//! the verdict (sending the reset, queueing the data, arming the timer,
//! waking the process, counting) stays with the stack (`input.rs`,
//! `calls.rs`, `timer.rs`). The decisions themselves are the handshake
//! lab's reference solution (`labs/handshake/solution/src/tcp_state.rs`),
//! compiled here: one source for both. In the students' repository (`grader
//! release`) this path is their own `labs/handshake/src/tcp_state.rs`, so
//! every TCP connection of the stack runs on their state machine, and stops
//! with the lab's message until it is written.
//!
//! This module holds what the decisions share with the stack: the segment
//! as they see it, the sequence space, and the verdicts.

use crate::wire::tcp::{TcpFlags, TcpHdr};

pub use super::defs::{
    TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
    TCP_LAST_ACK, TCP_LISTEN, TCP_RTO_MAX, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT,
    TCP_TIMEOUT_INIT,
};
pub use crate::sim::time::{Nanos, secs};
pub use crate::uapi::errno::Errno;

// The stack's state machine is the handshake lab's reference solution.
#[path = "../../../../../labs/handshake/solution/src/tcp_state.rs"]
mod lab_tcp_state;

pub use lab_tcp_state::*;

/// `TH_FIN`: the sender has finished sending.
pub const FIN: u8 = 0x01;
/// `TH_SYN`: synchronize sequence numbers.
pub const SYN: u8 = 0x02;
/// `TH_RST`: reset the connection.
pub const RST: u8 = 0x04;
/// `TH_ACK`: the `ack` field is significant.
pub const ACK: u8 = 0x10;

/// The part of a TCP segment the state machine looks at: the flags, the
/// sequence number, the acknowledgment number (meaningful with [`ACK`]),
/// and how many payload bytes it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// [`SYN`], [`ACK`], [`FIN`], [`RST`], or'ed.
    pub flags: u8,
    /// `seq`: the sequence number of the first byte (or of the SYN/FIN).
    pub seq: u32,
    /// `ack_seq`: the next sequence number the sender expects.
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
}

impl Segment {
    /// A segment with `flags`, `seq` and `ack`, no payload.
    pub fn new(flags: u8, seq: u32, ack: u32) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            len: 0,
        }
    }

    /// What the state machine sees of a header carrying `len` payload bytes.
    pub(crate) fn of(hdr: &TcpHdr, len: u32) -> Segment {
        let mut flags = 0;
        for (bit, f) in [
            (FIN, TcpFlags::FIN),
            (SYN, TcpFlags::SYN),
            (RST, TcpFlags::RST),
            (ACK, TcpFlags::ACK),
        ] {
            if hdr.flags.contains(f) {
                flags |= bit;
            }
        }
        Segment {
            flags,
            seq: hdr.seq,
            ack: hdr.ack_seq,
            len,
        }
    }

    /// The flags as the wire has them.
    pub(crate) fn tcp_flags(&self) -> TcpFlags {
        [
            (FIN, TcpFlags::FIN),
            (SYN, TcpFlags::SYN),
            (RST, TcpFlags::RST),
            (ACK, TcpFlags::ACK),
        ]
        .into_iter()
        .filter(|&(bit, _)| self.has(bit))
        .fold(TcpFlags::empty(), |a, (_, f)| a | f)
    }

    /// Whether every flag of `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }

    /// `TCP_SKB_CB(skb)->end_seq`: `seq` plus the payload, plus one for a
    /// SYN and one for a FIN.
    pub fn end_seq(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add(self.has(SYN) as u32)
            .wrapping_add(self.has(FIN) as u32)
    }
}

/// packetdrill's spelling: `S`, `S.`, `.`, `F.`, `R`, `R.`, `P.` for data
/// with an ACK; then `seq`, `ack` when [`ACK`] is set, and `len` when
/// there is payload. For example `S. seq=5000 ack=101`.
impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut flags = String::new();
        for (bit, c) in [(SYN, 'S'), (FIN, 'F'), (RST, 'R')] {
            if self.has(bit) {
                flags.push(c);
            }
        }
        if self.len > 0 {
            flags.push('P');
        }
        if self.has(ACK) {
            flags.push('.');
        }
        write!(f, "{flags} seq={}", self.seq)?;
        if self.has(ACK) {
            write!(f, " ack={}", self.ack)?;
        }
        if self.len > 0 {
            write!(f, " len={}", self.len)?;
        }
        Ok(())
    }
}

/// One connection's sequence space, as the decisions read it (the fields
/// of `struct tcp_sock` of the same names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tcb {
    /// Our initial sequence number (our SYN's `seq`).
    pub iss: u32,
    /// The peer's initial sequence number (its SYN's `seq`).
    pub irs: u32,
    /// The oldest sequence number we sent that is not acknowledged.
    pub snd_una: u32,
    /// The next sequence number we send.
    pub snd_nxt: u32,
    /// The next sequence number we expect from the peer.
    pub rcv_nxt: u32,
    /// `rcv_nxt` when we last sent a window (`rcv_wup`): the left edge of
    /// the window the peer knows. It lags `rcv_nxt` while an ACK is
    /// delayed.
    pub rcv_wup: u32,
    /// The receive window we offer, in bytes (`tcp_receive_window()`).
    pub rcv_wnd: u32,
}

/// What `close()` does (`tcp_close()`), after the socket is marked an
/// orphan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// To `CLOSE` at once, nothing sent (`tcp_set_state(sk, TCP_CLOSE)`).
    Done,
    /// Unread data: send a reset (`tcp_send_active_reset()`) and go to
    /// `CLOSE`.
    Reset,
    /// Already in `FIN_WAIT2`: arm the `tcp_fin_timeout` timer now.
    FinTimeout,
    /// Move to this state (`tcp_close_state()`), sending our FIN if the
    /// flag says so.
    State(u8, bool),
}

/// What `shutdown(SHUT_WR)` does (`inet_shutdown()`, `tcp_shutdown()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `tcp_disconnect()`: to `CLOSE`, error `ECONNRESET`, nothing sent.
    Disconnect,
    /// Move to this state (`tcp_close_state()`) and send our FIN.
    Fin(u8),
    /// Nothing to do.
    Nothing,
}

/// What a listener does with a segment that no request is waiting for
/// (`tcp_rcv_state_process()`, case `TCP_LISTEN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Answer with a reset (`tcp_v4_send_reset()`).
    Reset,
    /// Drop it silently.
    Drop,
    /// A connection request: answer with a SYN-ACK (`tcp_conn_request()`).
    Request,
}

/// What a request in `SYN_RECV` does with a segment (`tcp_check_req()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckReqSeg {
    /// The peer's SYN again: resend the SYN-ACK, re-arm its timer.
    ResendSynAck,
    /// Answer with a reset (`tcp_v4_send_reset()`); the request stays.
    Reset,
    /// Out of the window: answer with an ACK (`. seq=iss+1 ack=rcv_nxt`).
    Ack,
    /// Drop it silently.
    Drop,
    /// The request dies (`inet_csk_reqsk_queue_drop()`); with `reset`, the
    /// segment is answered with a reset.
    Embryonic {
        /// Answer with a reset too.
        reset: bool,
    },
    /// The final ACK: the connection is established (`syn_recv_sock()`).
    Child,
}

/// What the answer to our SYN does (`tcp_rcv_synsent_state_process()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynSent {
    /// Answer with a reset (`tcp_v4_send_reset()`), stay in `SYN_SENT`.
    Reset,
    /// Refused: `tcp_reset()` with `ECONNREFUSED`.
    Refused,
    /// Drop it silently.
    Drop,
    /// A SYN-ACK for our SYN: `ESTABLISHED`, acknowledge it.
    Established,
    /// A SYN crossed ours: `SYN_RECV`, send a SYN-ACK.
    SimultaneousOpen,
}

/// The checks of a synchronized state before the ACK is looked at
/// (`tcp_validate_incoming()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validate {
    /// Go on to the ACK.
    Accept,
    /// Out of the window: answer with an ACK (`tcp_send_dupack()`), drop.
    DupAck,
    /// Answer with a challenge ACK (RFC 5961), drop.
    ChallengeAck,
    /// The peer reset the connection: `tcp_reset()`.
    Reset,
    /// Drop it silently.
    Drop,
}

/// What the acknowledgment number does (`tcp_ack()` as
/// `tcp_rcv_state_process()` uses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckCheck {
    /// Acceptable: go on.
    Accept,
    /// The end of a handshake in `SYN_RECV`: `ESTABLISHED`, then go on.
    Established,
    /// Answer with a reset (`tcp_v4_send_reset()`), drop.
    Reset,
    /// Answer with a challenge ACK, drop.
    ChallengeAck,
    /// Drop it silently.
    Drop,
}

/// What a segment with payload or FIN does in a synchronized state, before
/// its bytes are looked at (step 7 of `tcp_rcv_state_process()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataCheck {
    /// Queue it (`tcp_data_queue()`).
    Queue,
    /// Drop it silently: the peer already finished.
    Drop,
    /// New data for a socket nobody will read: `TCPAbortOnData`, answer
    /// with a reset and go to `CLOSE` with `ECONNRESET`.
    AbortOnData,
}

/// What a segment does to a `TIME_WAIT` socket
/// (`tcp_timewait_state_process()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeWait {
    /// The reset ends `TIME_WAIT` (`CLOSE`).
    Kill,
    /// Restart the 60 s, nothing sent.
    Rearm,
    /// Answer with an ACK and restart the 60 s.
    AckRearm,
    /// Answer with an ACK.
    Ack,
    /// A new connection's SYN: `TIME_WAIT` ends and a listener may take it.
    NewSyn,
    /// Drop it silently.
    Drop,
}
