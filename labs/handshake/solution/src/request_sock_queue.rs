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

#![allow(unused_imports)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use stack::ids::SockId;

use super::{CheckReq, ConnRequest, Nanos, ReqskTimer, RequestSock, RequestSockQueue, secs};

/// A listener's two queues.
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
        ReqskQueue::default()
    }
}

impl RequestSockQueue for ReqskQueue {
    fn syn_queue_len(&self) -> usize {
        self.syn.len()
    }

    fn accept_queue_len(&self) -> usize {
        self.accept.len()
    }

    fn syn_queue_is_full(&self, backlog: u32) -> bool {
        self.syn.len() as u32 > backlog
    }

    fn accept_queue_is_full(&self, backlog: u32) -> bool {
        self.accept.len() as u32 > backlog
    }

    fn conn_request(&self, backlog: u32, syncookies: bool) -> ConnRequest {
        let want_cookie = self.syn_queue_is_full(backlog);
        if want_cookie && !syncookies {
            return ConnRequest::DropSynQueueFull;
        }
        if self.accept_queue_is_full(backlog) {
            return ConnRequest::DropAcceptQueueFull;
        }
        if want_cookie {
            ConnRequest::Cookie
        } else {
            ConnRequest::Queue
        }
    }

    fn hash_add(&mut self, mut req: RequestSock, now: Nanos) -> Nanos {
        req.timer_at = now + secs(1);
        let at = req.timer_at;
        self.syn.insert(req.remote, req);
        at
    }

    fn request(&self, remote: SocketAddr) -> Option<&RequestSock> {
        self.syn.get(&remote)
    }

    fn unlink(&mut self, remote: SocketAddr) -> Option<RequestSock> {
        self.syn.remove(&remote)
    }

    fn check_req(
        &mut self,
        remote: SocketAddr,
        ack_seq: u32,
        backlog: u32,
        abort_on_overflow: bool,
    ) -> CheckReq {
        let full = self.accept_queue_is_full(backlog);
        let Some(req) = self.syn.get_mut(&remote) else {
            return CheckReq::NoRequest;
        };
        if ack_seq != req.iss.wrapping_add(1) {
            return CheckReq::BadAck;
        }
        if full {
            if abort_on_overflow {
                self.syn.remove(&remote);
                return CheckReq::Overflow { reset: true };
            }
            req.acked = true;
            return CheckReq::Overflow { reset: false };
        }
        match self.syn.remove(&remote) {
            Some(req) => CheckReq::Child(req),
            None => CheckReq::NoRequest,
        }
    }

    fn timer(&mut self, remote: SocketAddr, now: Nanos, synack_retries: u32) -> ReqskTimer {
        let Some(req) = self.syn.get_mut(&remote) else {
            return ReqskTimer::Nothing;
        };
        if req.timer_at != now {
            return ReqskTimer::Nothing;
        }
        if req.retrans >= synack_retries {
            self.syn.remove(&remote);
            return ReqskTimer::Expire;
        }
        req.retrans += 1;
        // reqsk_timeout(): TCP_TIMEOUT_INIT << num_timeout, at most TCP_RTO_MAX.
        req.timer_at = now + (secs(1) << req.retrans.min(7)).min(secs(120));
        ReqskTimer::Resend {
            retrans: req.retrans,
            next_at: req.timer_at,
        }
    }

    fn accept_queue_add(&mut self, child: SockId) {
        self.accept.push_back(child);
    }

    fn accept(&mut self) -> Option<SockId> {
        self.accept.pop_front()
    }

    fn listen_stop(&mut self) -> Vec<SockId> {
        self.syn.clear();
        self.accept.drain(..).collect()
    }

    fn requests(&self) -> Vec<RequestSock> {
        self.syn.values().cloned().collect()
    }
}
