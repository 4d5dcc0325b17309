//! A listener's SYN queue and accept queue (`struct request_sock_queue`,
//! `include/net/request_sock.h`, `include/net/inet_connection_sock.h`,
//! `net/ipv4/inet_connection_sock.c`). This is the second file you
//! complete.
//!
//! # What lives where
//!
//! A listening socket's `icsk_accept_queue` holds two things:
//! - the **SYN queue**: one `struct request_sock` per half-open
//!   connection (the SYN was answered with a SYN-ACK, the final ACK has not
//!   come; `ss` shows them as `SYN-RECV`). Linux keeps them in the
//!   established hash table and counts them in `qlen`; here they are
//!   looked up by the peer's address ([`RequestSock::remote`]);
//! - the **accept queue** (`rskq_accept_head`): children whose handshake
//!   is complete, oldest first, waiting for `accept()`. Its length is
//!   `sk_ack_backlog`, the `Recv-Q` that `ss -lnt` prints for a listener
//!   (the `Send-Q` is the backlog).
//!
//! The stack keeps everything else (`stack/src/net/ipv4/tcp/input.rs`,
//! `timer.rs`): it sends the SYN-ACKs and the resets, makes the child
//! socket, counts `ListenOverflows` and `ListenDrops`, schedules the
//! timer events. It asks your queues, through the trait
//! [`RequestSockQueue`], one method per kernel function:
//!
//! | method | kernel | when |
//! |---|---|---|
//! | `syn_queue_is_full` | `inet_csk_reqsk_queue_is_full()` | a SYN arrives |
//! | `accept_queue_is_full` | `sk_acceptq_is_full()` | a SYN, a final ACK |
//! | `conn_request` | `tcp_conn_request()` | a SYN arrives |
//! | `hash_add` | `inet_csk_reqsk_queue_hash_add()` | a SYN was answered |
//! | `check_req` | `tcp_check_req()` | the final ACK |
//! | `timer` | `reqsk_timer_handler()` | a request's timer fires |
//! | `accept_queue_add` | `inet_csk_reqsk_queue_add()` | a child is made |
//! | `accept` | `reqsk_queue_remove()` | `accept()` |
//! | `listen_stop` | `inet_csk_listen_stop()` | the listener closes |
//!
//! # The rules
//!
//! - `backlog` is `sk_max_ack_backlog`: `listen()`'s argument capped by
//!   `net.core.somaxconn` (4096).
//! - The SYN queue is full once it holds **backlog + 1** requests
//!   (`inet_csk_reqsk_queue_is_full()`: `qlen > sk_max_ack_backlog`), so
//!   a backlog of 0 still takes one. Until a January 2025 change
//!   ("tcp/dccp: allow a connection when sk_max_ack_backlog is zero") it
//!   was `qlen >= sk_max_ack_backlog`, full at `backlog`; Linux 6.18 and
//!   the stack compare with `>`, like the accept queue.
//! - The accept queue is full once it holds **backlog + 1** children
//!   (`sk_acceptq_is_full()`: `sk_ack_backlog > sk_max_ack_backlog`).
//! - A SYN (`tcp_conn_request()`): SYN queue full → with SYN cookies a
//!   cookie (nothing kept), without them a drop; then, accept queue full →
//!   drop (that is `ListenOverflows`: a SYN cookie does not help, there is
//!   no room for the connection either way); else queue the request.
//! - A new request's timer fires 1 s later (`TCP_TIMEOUT_INIT`); at each
//!   firing the SYN-ACK is resent and the timeout doubles (1, 2, 4, 8,
//!   16 s: resends at 1, 3, 7, 15, 31 s), never beyond `TCP_RTO_MAX`;
//!   after `synack_retries` (5) resends, the next firing drops the
//!   request. A firing for a request whose timer is now set for another
//!   instant is stale: nothing.
//! - The final ACK (`tcp_check_req()`): it must acknowledge our SYN-ACK
//!   (`ack_seq == iss + 1`), or the stack answers with a reset and the
//!   request stays. With the accept queue full, the ACK is dropped: by
//!   default the request stays, marked `acked` (the client believes it is
//!   connected; our SYN-ACK will be resent until there is room), with
//!   `net.ipv4.tcp_abort_on_overflow = 1` the request goes and the ACK is
//!   answered with a reset. Otherwise the request leaves the SYN queue and
//!   the stack makes the child from it.
//! - `accept()` takes the oldest child; closing the listener drops every
//!   request and hands back every child not yet accepted, oldest first (the
//!   stack resets them).
//!
//! Simplified: Linux also prunes old requests when the SYN queue is more
//! than half full (`reqsk_timer_handler()`'s "young" requests); the stack
//! does not. (A retransmitted SYN is answered with the SYN-ACK again, as
//! in Linux, by the listener's input path, not by this queue.)

// The stack compiles this file as one of its own modules: name the lab's
// types with `super::` and the stack's with `stack::`, never `crate::`.

// The skeleton's imports are all used by the reference solution; an
// unfinished file would warn about them.
#![allow(unused_imports, dead_code, unused_variables)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use stack::ids::SockId;

use super::{CheckReq, ConnRequest, Nanos, ReqskTimer, RequestSock, RequestSockQueue, secs};

/// A listener's two queues. The fields are a suggestion: change them as
/// you like.
#[derive(Debug, Default)]
pub struct ReqskQueue {
    /// The SYN queue, by peer address.
    syn: BTreeMap<SocketAddr, RequestSock>,
    /// The accept queue, oldest first.
    accept: VecDeque<SockId>,
}

impl ReqskQueue {
    /// Two empty queues.
    pub fn new() -> ReqskQueue {
        todo!(
            "the handshake lab: ReqskQueue::new is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }
}

impl RequestSockQueue for ReqskQueue {
    fn syn_queue_len(&self) -> usize {
        todo!(
            "the handshake lab: ReqskQueue::syn_queue_len is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn accept_queue_len(&self) -> usize {
        todo!(
            "the handshake lab: ReqskQueue::accept_queue_len is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn syn_queue_is_full(&self, backlog: u32) -> bool {
        todo!(
            "the handshake lab: ReqskQueue::syn_queue_is_full (inet_csk_reqsk_queue_is_full) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn accept_queue_is_full(&self, backlog: u32) -> bool {
        todo!(
            "the handshake lab: ReqskQueue::accept_queue_is_full (sk_acceptq_is_full) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn conn_request(&self, backlog: u32, syncookies: bool) -> ConnRequest {
        todo!(
            "the handshake lab: ReqskQueue::conn_request (tcp_conn_request) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn hash_add(&mut self, req: RequestSock, now: Nanos) -> Nanos {
        todo!(
            "the handshake lab: ReqskQueue::hash_add (inet_csk_reqsk_queue_hash_add) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn request(&self, remote: SocketAddr) -> Option<&RequestSock> {
        todo!(
            "the handshake lab: ReqskQueue::request is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn unlink(&mut self, remote: SocketAddr) -> Option<RequestSock> {
        todo!(
            "the handshake lab: ReqskQueue::unlink (inet_csk_reqsk_queue_drop) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn check_req(
        &mut self,
        remote: SocketAddr,
        ack_seq: u32,
        backlog: u32,
        abort_on_overflow: bool,
    ) -> CheckReq {
        todo!(
            "the handshake lab: ReqskQueue::check_req (tcp_check_req) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn timer(&mut self, remote: SocketAddr, now: Nanos, synack_retries: u32) -> ReqskTimer {
        todo!(
            "the handshake lab: ReqskQueue::timer (reqsk_timer_handler) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn accept_queue_add(&mut self, child: SockId) {
        todo!(
            "the handshake lab: ReqskQueue::accept_queue_add (inet_csk_reqsk_queue_add) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn accept(&mut self) -> Option<SockId> {
        todo!(
            "the handshake lab: ReqskQueue::accept (reqsk_queue_remove) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn listen_stop(&mut self) -> Vec<SockId> {
        todo!(
            "the handshake lab: ReqskQueue::listen_stop (inet_csk_listen_stop) is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }

    fn requests(&self) -> Vec<RequestSock> {
        todo!(
            "the handshake lab: ReqskQueue::requests is yours to write, in labs/handshake/src/request_sock_queue.rs"
        )
    }
}
