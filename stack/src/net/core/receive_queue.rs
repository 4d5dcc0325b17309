//! A socket's receive queue (`sk->sk_receive_queue`) with its memory
//! accounting (`sk_rmem_alloc` against `sk_rcvbuf`, `sk_drops`), and the
//! two ways a read takes from it: TCP's byte stream (the copy loop of
//! `tcp_recvmsg_locked()`, `net/ipv4/tcp.c`) and a datagram whole
//! (`udp_recvmsg()`, `net/ipv4/udp.c`; `skb_recv_datagram()` for raw and
//! netlink sockets).
//!
//! One source for the stack and the queues lab: [`RcvQueue`],
//! [`tcp_recvmsg`] and [`udp_recvmsg`] are the lab's reference solution
//! (`labs/queues/solution/src/rcv_queue.rs` and `recv.rs`), compiled here.
//! In the students' repository (`grader release`) these paths are their
//! `labs/queues/src/` files, so every TCP, UDP, raw and netlink socket of
//! the stack, and the book's examples, queue and read through their code.
//! What stays outside is the socket's: waking readers, traces, counters,
//! the sender's address, blocking.
//!
//! A part of `include/net/sock.h` and `net/core/sock.c` in its own module
//! because it is the queues lab's component.

use crate::net::core::skbuff::SkBuff;
use crate::uapi::errno::Errno;
use crate::uapi::{MSG_PEEK, MSG_TRUNC};

#[path = "../../../../labs/queues/solution/src/rcv_queue.rs"]
mod rcv_queue;
#[path = "../../../../labs/queues/solution/src/recv.rs"]
mod recv;

pub use rcv_queue::RcvQueue;
pub use recv::{tcp_recvmsg, udp_recvmsg};

/// What a datagram `recvmsg()` returns: the return value and the flags the
/// kernel sets in `msg.msg_flags` (`MSG_TRUNC` when a datagram did not fit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recv {
    /// The call's return value: bytes copied, or with `MSG_TRUNC` in the
    /// call's flags, a datagram's real length.
    pub ret: usize,
    /// `msg.msg_flags` on return.
    pub msg_flags: i32,
}
