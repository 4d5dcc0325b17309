//! # Lab: handshake
//!
//! TCP's connection set-up and tear-down, in two parts (the handout is
//! `book/labs/handshake.md`):
//!
//! 1. [`tcp_state`]: one connection's state machine, the eleven states
//!    driven by segments, user calls and timers, as the decisions the
//!    kernel makes (one function each, named after the kernel's). The
//!    given [`TcpConn`] (`src/conn.rs`) runs them on one connection, which
//!    the tests drive with scripts.
//! 2. [`request_sock_queue`]: a listener's SYN queue and accept queue,
//!    with Linux's limits and overflow behaviour. Your [`ReqskQueue`]
//!    implements the stack's own trait,
//!    [`stack::inet::request_sock_queue::RequestSockQueue`]. Your lab
//!    crate's own type also plugs into a simulation:
//!
//! ```no_run
//! use stack::prelude::*;
//!
//! let mut sim = Sim::new(1);
//! sim.set_request_queue(lab_handshake::boxed); // every listener uses your queues
//! ```
//!
//! The stack itself runs on both files: in your repository every TCP
//! connection makes your decisions (`stack/src/net/ipv4/tcp/state_machine.rs`
//! compiles your `src/tcp_state.rs`) and every listener's queues are your
//! `ReqskQueue` (`stack/src/net/ipv4/request_sock_queue.rs` compiles your
//! `src/request_sock_queue.rs`); a program stops with this lab's message
//! until they are written.
//!
//! Those two files are the only ones the grader takes from you; this one
//! (the settings) and `src/conn.rs` are given.

pub mod conn;
pub mod request_sock_queue;
pub mod tcp_state;

pub use conn::TcpConn;

pub use request_sock_queue::ReqskQueue;
pub use stack::errno::Errno;
pub use stack::inet::request_sock_queue::{
    CheckReq, ConnRequest, ReqskTimer, RequestSock, RequestSockQueue,
};
pub use stack::inet::tcp::state_machine::{
    ACK, AckCheck, CheckReqSeg, Close, DataCheck, FIN, Listen, RST, SYN, Segment, Shutdown,
    SynSent, Tcb, TimeWait, Validate,
};
pub use stack::inet::tcp::{
    TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
    TCP_LAST_ACK, TCP_LISTEN, TCP_RTO_MAX, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT,
    TCP_TIMEOUT_INIT, state_name,
};
pub use stack::sim::time::{Nanos, ms, secs};

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
