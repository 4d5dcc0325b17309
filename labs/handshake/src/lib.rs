//! # Lab: handshake
//!
//! TCP's connection set-up and tear-down, in two parts (the handout is
//! `book/labs/handshake.md`):
//!
//! 1. [`tcp_state`]: one connection's state machine, the eleven states
//!    driven by segments, user calls and timers, answering with the
//!    segments Linux would send.
//! 2. [`request_sock_queue`]: a listener's SYN queue and accept queue,
//!    with Linux's limits and overflow behaviour. Your [`ReqskQueue`]
//!    implements the stack's own trait,
//!    [`stack::inet::request_sock_queue::RequestSockQueue`]. The stack
//!    itself runs on your file: in your repository every listener's queues
//!    are your `ReqskQueue` (`stack/src/net/ipv4/request_sock_queue.rs`
//!    compiles your `src/request_sock_queue.rs`). Your lab crate's own type
//!    also plugs into a simulation:
//!
//! ```no_run
//! use stack::prelude::*;
//!
//! let mut sim = Sim::new(1);
//! sim.set_request_queue(lab_handshake::boxed); // every listener uses your queues
//! ```
//!
//! Those two files are the only ones the grader takes from you; this one
//! (the segment type, the settings) is given.

pub mod request_sock_queue;
pub mod tcp_state;

pub use request_sock_queue::ReqskQueue;
pub use stack::errno::Errno;
pub use stack::inet::request_sock_queue::{
    CheckReq, ConnRequest, ReqskTimer, RequestSock, RequestSockQueue,
};
pub use stack::inet::tcp::{
    TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
    TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT, state_name,
};
pub use stack::sim::time::{Nanos, ms, secs};
pub use tcp_state::TcpConn;

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

/// The settings the state machine reads (the `net.ipv4` sysctls), with
/// Linux's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `net.ipv4.tcp_syn_retries`: SYN retransmissions before `connect()`
    /// fails with `ETIMEDOUT` (6).
    pub syn_retries: u32,
    /// `net.ipv4.tcp_synack_retries`: SYN-ACK retransmissions before a
    /// half-open connection is given up (5).
    pub synack_retries: u32,
    /// `net.ipv4.tcp_fin_timeout`: how long an orphaned FIN_WAIT2 waits
    /// for the peer's FIN (60 s).
    pub fin_timeout: Nanos,
    /// The receive window we offer, in bytes (what decides whether a
    /// segment's sequence number is acceptable).
    pub rcv_wnd: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            syn_retries: 6,
            synack_retries: 5,
            fin_timeout: secs(60),
            rcv_wnd: 65535,
        }
    }
}

/// Your queues, boxed, as [`stack::sim::Sim::set_request_queue`] wants
/// them.
pub fn boxed() -> Box<dyn RequestSockQueue> {
    Box::new(ReqskQueue::new())
}
