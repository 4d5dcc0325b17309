//! A TCP listener's two queues (`struct request_sock_queue`,
//! `include/net/request_sock.h`, `net/core/request_sock.c`,
//! `net/ipv4/inet_connection_sock.c`): the *SYN queue* of request socks
//! (half-open connections in SYN_RECV: the SYN was answered, the final ACK
//! has not come) and the *accept queue* of established children waiting
//! for `accept()`.
//!
//! [`RequestSockQueue`] is the shape of that component: the bookkeeping
//! and the decisions that depend on the queues' lengths (is the SYN queue
//! full, is the accept queue full, what to do with a final ACK, when to
//! resend a SYN-ACK and when to give a request up). The stack's own
//! [`Queues`] implements it, and so does the handshake lab's solution
//! (`labs/handshake`); [`crate::sim::Sim::set_request_queue`] makes every
//! listener use another implementation, so a student's queues run inside
//! the full stack. Everything around the queues stays in
//! [`crate::net::ipv4::tcp`]: sending SYN-ACKs and resets, SYN cookies, making
//! the child socket, the counters (`ListenOverflows`, `ListenDrops`), the
//! timer events.
//!
//! The backlog (`sk_max_ack_backlog`, `listen()`'s argument capped by
//! `somaxconn`) belongs to the socket, so it is passed in where a decision
//! needs it.
//!
//! Named after `struct request_sock_queue` (`include/net/request_sock.h`,
//! `net/core/request_sock.c`), and kept in `net/ipv4/` beside the TCP that
//! owns it, with the accept queue's parts of `inet_connection_sock.c`.

use std::net::SocketAddr;

use crate::kernel::ids::SockId;
use crate::net::ipv4::tcp::defs::TCP_MSS_DEFAULT;
use crate::sim::time::{Nanos, secs};

/// A connection request in the SYN queue (`struct request_sock`,
/// `include/net/request_sock.h`, with `struct tcp_request_sock`): the
/// SYN was answered, the final ACK has not come. Listeners keep them in
/// their [`crate::net::ipv4::request_sock_queue::RequestSockQueue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSock {
    /// Our address, as the SYN was sent to.
    pub local: SocketAddr,
    /// The peer's address: the request's key in the SYN queue.
    pub remote: SocketAddr,
    /// Our initial sequence number (the SYN-ACK's `seq`).
    pub iss: u32,
    /// The peer's initial sequence number (its SYN's `seq`).
    pub irs: u32,
    /// The MSS to use towards the peer.
    pub peer_mss: u32,
    /// The peer's window scale.
    pub snd_wscale: u8,
    /// The peer offered window scaling (`wscale_ok`).
    pub wscale_ok: bool,
    /// The peer offered SACK and `tcp_sack` is on (`sack_ok`).
    pub sack_ok: bool,
    /// The peer's TSval to echo (`ts_recent`), if both ends do timestamps
    /// (`tstamp_ok`).
    pub ts_recent: Option<u32>,
    /// Added to our clock for the SYN-ACK's TSval (`ts_off`).
    pub ts_off: u32,
    /// Answered with a SYN cookie: nothing is kept, and the SYN-ACK carries
    /// only the MSS option (no timestamps to hide the rest in).
    pub cookie: bool,
    /// SYN-ACKs re-sent so far (`num_retrans`).
    pub retrans: u32,
    /// The final ACK came while the accept queue was full and was dropped
    /// (`inet_rsk(req)->acked`).
    pub acked: bool,
    /// When the request's SYN-ACK timer fires next (`rsk_timer`).
    pub timer_at: Nanos,
}

impl RequestSock {
    /// A fresh request: no resends, not acked, no timer yet, default MSS.
    pub fn new(local: SocketAddr, remote: SocketAddr, iss: u32, irs: u32) -> RequestSock {
        RequestSock {
            local,
            remote,
            iss,
            irs,
            peer_mss: TCP_MSS_DEFAULT,
            snd_wscale: 0,
            wscale_ok: false,
            sack_ok: false,
            ts_recent: None,
            ts_off: 0,
            cookie: false,
            retrans: 0,
            acked: false,
            timer_at: 0,
        }
    }
}

/// What `tcp_conn_request()` does with a SYN, as far as the queues decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnRequest {
    /// Room: make a request sock, answer with a SYN-ACK
    /// ([`RequestSockQueue::hash_add`]).
    Queue,
    /// The SYN queue is full and SYN cookies are on: answer with a cookie,
    /// keep nothing.
    Cookie,
    /// The SYN queue is full and SYN cookies are off: drop the SYN
    /// (`ListenDrops`).
    DropSynQueueFull,
    /// The accept queue is full: drop the SYN (`ListenOverflows` and
    /// `ListenDrops`).
    DropAcceptQueueFull,
}

/// What `tcp_check_req()` does with the final ACK of a handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckReq {
    /// No request from this peer.
    NoRequest,
    /// The ACK does not acknowledge our SYN-ACK (`ack_seq != iss + 1`):
    /// answer with a reset; the request stays.
    BadAck,
    /// The handshake is complete: the request leaves the SYN queue and a
    /// child is made from it (the caller then hands it to
    /// [`RequestSockQueue::accept_queue_add`]).
    Child(RequestSock),
    /// The accept queue is full. `reset`: with `tcp_abort_on_overflow` the
    /// request is dropped and the ACK answered by a reset; without, the
    /// request stays, marked `acked`, for its SYN-ACK to be resent.
    Overflow {
        /// Answer with a reset (the request is gone).
        reset: bool,
    },
}

/// What `reqsk_timer_handler()` does when a request's timer fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReqskTimer {
    /// No such request, or its timer is not due at this instant (it was
    /// re-armed): nothing to do.
    Nothing,
    /// Resend the SYN-ACK; the request's timer is re-armed at `next_at`.
    Resend {
        /// The retransmission's number (1 for the first resend).
        retrans: u32,
        /// When the timer fires next.
        next_at: Nanos,
    },
    /// Retries exhausted: the request was dropped from the SYN queue.
    Expire,
}

/// A listener's SYN queue and accept queue.
pub trait RequestSockQueue {
    /// `inet_csk_reqsk_queue_len()`: requests in the SYN queue.
    fn syn_queue_len(&self) -> usize;

    /// `sk_acceptq_len()` (`sk_ack_backlog`): children waiting for
    /// `accept()`; what `ss -lnt` shows as a listener's Recv-Q.
    fn accept_queue_len(&self) -> usize;

    /// `inet_csk_reqsk_queue_is_full()`: full once the SYN queue holds
    /// backlog + 1 requests (`inet_csk_reqsk_queue_len(sk) >
    /// sk_max_ack_backlog`), so backlog 0 still admits one. Kernels before
    /// early 2025 compared with `>=` (full at `backlog`, and a listener with
    /// backlog 0 and no SYN cookies took no connection at all); "tcp/dccp:
    /// allow a connection when sk_max_ack_backlog is zero" made it `>`.
    fn syn_queue_is_full(&self, backlog: u32) -> bool;

    /// `sk_acceptq_is_full()`: full once it holds backlog + 1.
    fn accept_queue_is_full(&self, backlog: u32) -> bool;

    /// `tcp_conn_request()`'s admission of a SYN: SYN queue first
    /// (cookies or a drop), then the accept queue.
    fn conn_request(&self, backlog: u32, syncookies: bool) -> ConnRequest;

    /// `inet_csk_reqsk_queue_hash_add()`: a new request joins the SYN
    /// queue (a request from the same peer replaces it) and its SYN-ACK
    /// timer is armed `TCP_TIMEOUT_INIT` (1 s) from `now`. Returns when the
    /// timer fires (also stored in the request's `timer_at`).
    fn hash_add(&mut self, req: RequestSock, now: Nanos) -> Nanos;

    /// The request from `remote`, if any.
    fn request(&self, remote: SocketAddr) -> Option<&RequestSock>;

    /// `inet_csk_reqsk_queue_drop()`: takes the request from `remote` out
    /// of the SYN queue.
    fn unlink(&mut self, remote: SocketAddr) -> Option<RequestSock>;

    /// `tcp_check_req()`: the final ACK `ack_seq` from `remote`, with the
    /// accept queue's state and `tcp_abort_on_overflow`.
    fn check_req(
        &mut self,
        remote: SocketAddr,
        ack_seq: u32,
        backlog: u32,
        abort_on_overflow: bool,
    ) -> CheckReq;

    /// `reqsk_timer_handler()`: the request's timer fired at `now`; resend
    /// (1 s, then doubling: 2, 4, 8, 16 s, capped at `TCP_RTO_MAX`) until
    /// `synack_retries` resends were made, then drop the request.
    fn timer(&mut self, remote: SocketAddr, now: Nanos, synack_retries: u32) -> ReqskTimer;

    /// `inet_csk_reqsk_queue_add()`: a child joins the accept queue's tail.
    fn accept_queue_add(&mut self, child: SockId);

    /// `reqsk_queue_remove()`: `accept()` takes the oldest child.
    fn accept(&mut self) -> Option<SockId>;

    /// `inet_csk_listen_stop()`: the listener closes: every request is
    /// dropped and every child not yet accepted is returned (oldest first)
    /// for the caller to reset.
    fn listen_stop(&mut self) -> Vec<SockId>;

    /// The requests in the SYN queue, ordered by peer address (what `ss`
    /// lists as SYN-RECV).
    fn requests(&self) -> Vec<RequestSock>;
}

/// Builds a listener's queues (see [`crate::sim::Sim::set_request_queue`]).
pub type RequestQueueFactory = fn() -> Box<dyn RequestSockQueue>;

/// The next SYN-ACK timeout after `retrans` resends: `TCP_TIMEOUT_INIT`
/// doubled each time, capped at `TCP_RTO_MAX` (`reqsk_timeout()`), the
/// SYN's own backoff (the state machine's
/// [`tcp_syn_timeout`](crate::net::ipv4::tcp::state_machine::tcp_syn_timeout)).
pub fn reqsk_timeout(retrans: u32) -> Nanos {
    crate::net::ipv4::tcp::state_machine::tcp_syn_timeout(retrans)
}

// The stack's queues are the handshake lab's reference solution: one
// source for both. In the students' repository (`grader release`) this
// path is their `labs/handshake/src/request_sock_queue.rs`, so every
// listener of the stack runs on their queues (and stops with the lab's
// message until they are written).
#[path = "../../../../labs/handshake/solution/src/request_sock_queue.rs"]
mod lab_queues;

/// The stack's own queues: the handshake lab's
/// [`ReqskQueue`](lab_queues::ReqskQueue), a map of requests by peer and a
/// FIFO of children.
pub use lab_queues::ReqskQueue as Queues;

impl Queues {
    /// Boxed, as a [`RequestQueueFactory`].
    pub fn boxed() -> Box<dyn RequestSockQueue> {
        Box::<Queues>::default()
    }
}

/// A listener's queues inside `struct tcp_sock` (a box, so the socket does
/// not care whose implementation it holds).
pub(crate) struct AcceptQueue(pub(crate) Box<dyn RequestSockQueue>);

impl std::fmt::Debug for AcceptQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptQueue")
            .field("syn_queue_len", &self.0.syn_queue_len())
            .field("accept_queue_len", &self.0.accept_queue_len())
            .finish()
    }
}

impl Default for AcceptQueue {
    fn default() -> Self {
        AcceptQueue(Queues::boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ipv4::tcp::defs::{TCP_RTO_MAX, TCP_TIMEOUT_INIT};

    fn req(port: u16) -> RequestSock {
        let local = SocketAddr::from(([10, 0, 0, 2], 80));
        RequestSock::new(local, SocketAddr::from(([10, 0, 0, 1], port)), 100, 7)
    }

    #[test]
    fn the_limits_and_the_timeouts() {
        let mut q = Queues::default();
        assert_eq!(q.conn_request(1, false), ConnRequest::Queue);
        assert_eq!(q.hash_add(req(1), 5), 5 + TCP_TIMEOUT_INIT);
        assert_eq!(q.conn_request(1, false), ConnRequest::Queue, "backlog + 1");
        q.hash_add(req(2), 5);
        assert!(q.syn_queue_is_full(1));
        assert_eq!(q.conn_request(1, false), ConnRequest::DropSynQueueFull);
        assert_eq!(q.conn_request(1, true), ConnRequest::Cookie);
        q.accept_queue_add(SockId::from_raw(1));
        q.accept_queue_add(SockId::from_raw(2));
        assert!(q.accept_queue_is_full(1), "full at backlog + 1");
        assert_eq!(q.conn_request(1, true), ConnRequest::DropAcceptQueueFull);
        let remote = req(1).remote;
        assert_eq!(
            q.check_req(remote, 101, 1, false),
            CheckReq::Overflow { reset: false }
        );
        assert!(q.request(remote).is_some_and(|r| r.acked));
        assert_eq!(q.accept().map(SockId::raw), Some(1));
        assert!(matches!(
            q.check_req(remote, 101, 1, false),
            CheckReq::Child(_)
        ));
        let times: Vec<Nanos> = (0..9).map(reqsk_timeout).collect();
        assert_eq!(
            times[..3],
            [TCP_TIMEOUT_INIT, 2 * TCP_TIMEOUT_INIT, 4 * TCP_TIMEOUT_INIT]
        );
        assert_eq!(times[8], TCP_RTO_MAX);
    }

    /// A listener built by `Sim::set_request_queue` is asked for its
    /// decisions: here, queues that never admit a SYN.
    #[test]
    fn a_simulation_uses_the_queues_it_is_given() {
        use crate::prelude::*;

        #[derive(Default)]
        struct Closed(Queues);
        impl RequestSockQueue for Closed {
            fn syn_queue_len(&self) -> usize {
                self.0.syn_queue_len()
            }
            fn accept_queue_len(&self) -> usize {
                self.0.accept_queue_len()
            }
            fn syn_queue_is_full(&self, _: u32) -> bool {
                true
            }
            fn accept_queue_is_full(&self, _: u32) -> bool {
                true
            }
            fn conn_request(&self, _: u32, _: bool) -> ConnRequest {
                ConnRequest::DropAcceptQueueFull
            }
            fn hash_add(&mut self, req: RequestSock, now: Nanos) -> Nanos {
                self.0.hash_add(req, now)
            }
            fn request(&self, remote: SocketAddr) -> Option<&RequestSock> {
                self.0.request(remote)
            }
            fn unlink(&mut self, remote: SocketAddr) -> Option<RequestSock> {
                self.0.unlink(remote)
            }
            fn check_req(&mut self, r: SocketAddr, a: u32, b: u32, o: bool) -> CheckReq {
                self.0.check_req(r, a, b, o)
            }
            fn timer(&mut self, r: SocketAddr, now: Nanos, n: u32) -> ReqskTimer {
                self.0.timer(r, now, n)
            }
            fn accept_queue_add(&mut self, child: SockId) {
                self.0.accept_queue_add(child)
            }
            fn accept(&mut self) -> Option<SockId> {
                self.0.accept()
            }
            fn listen_stop(&mut self) -> Vec<SockId> {
                self.0.listen_stop()
            }
            fn requests(&self) -> Vec<RequestSock> {
                self.0.requests()
            }
        }

        let mut sim = Sim::new(1);
        sim.set_request_queue(|| Box::new(Closed::default()));
        let h = sim.add_host("h");
        sim.spawn(h, "server", |p| async move {
            let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(l, "127.0.0.1:80")?;
            p.listen(l, 8)?;
            p.sleep(secs(2)).await;
            Ok(())
        });
        sim.spawn(h, "client", |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            let _ = p.connect(fd, "127.0.0.1:80").await;
            Ok(())
        });
        sim.run_until(secs(1));
        let nstat = sim.sh(h, "nstat");
        assert!(nstat.contains("TcpExtListenOverflows"), "{nstat}");
    }
}
