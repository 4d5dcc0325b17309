//! `AF_UNIX` sockets (`net/unix/af_unix.c`): two processes on one machine
//! talking through the kernel, with no IP, no TCP header, no device and no
//! softirq on the way.
//!
//! A unix socket is a `struct sock` like any other (the fd table, the wait
//! queues, `close()` and the buffer accounting are the same), with a
//! `struct unix_sock` part ([`UnixSock`]): its name, its peer, its
//! `peer_wait` queue. Sending does not build a packet for a wire: the
//! sender allocates an skb charged to *its own* `sk_wmem_alloc`, copies the
//! bytes in, and links it straight onto the *peer's* receive queue
//! (`unix_stream_sendmsg()`, `unix_dgram_sendmsg()`); the charge stays with
//! the sender until the reader consumes the skb (`sock_wfree()` →
//! `unix_write_space()`), so a slow reader makes the *writer's* buffer
//! full. The receiver's `SO_RCVBUF` plays no part.
//!
//! What the module models, by kernel function:
//!
//! - names (`unix_bind()`): abstract names (a leading NUL; in the
//!   namespace's table, separately per socket type, since the type is part
//!   of the hash), file system names (a socket file on the host, which
//!   outlives the socket until `unlink()`: a later `bind()` there gets
//!   `EADDRINUSE`, a `connect()` `ECONNREFUSED`), and autobind (`bind()`
//!   with only `sun_family`: five hex digits);
//! - streams (`unix_stream_connect()`, `unix_accept()`): the server side's
//!   sock is created by `connect()` and queued, as a one-byte skb, on the
//!   listener's receive queue, which holds at most `sk_max_ack_backlog + 1`
//!   of them; a client finding it full sleeps on the listener's `peer_wait`
//!   (or gets `EAGAIN`). Data are skbs of up to 36544 bytes (a linear part
//!   of `SKB_MAX_HEAD(0)` and up to 32 KiB of pages), read as a byte stream
//!   across skbs (`unix_stream_read_generic()`);
//! - datagrams (`unix_dgram_sendmsg()`, `__unix_dgram_recvmsg()`): one skb
//!   per message; a receiver holding more than `net.unix.max_dgram_qlen`
//!   datagrams blocks senders that are not its own peer (a socketpair's two
//!   ends are each other's peer, so only `SO_SNDBUF` limits them);
//! - `SOCK_SEQPACKET`: connected like a stream, with datagram boundaries;
//! - `socketpair()`, `shutdown()` (the peer's opposite half is shut too),
//!   `close()` (`unix_release_sock()`: the peer of a stream is shut down
//!   both ways, and gets `ECONNRESET` if data were left unread), and the
//!   poll masks (`unix_poll()`, `unix_dgram_poll()`);
//! - passing open files (`SCM_RIGHTS`: `scm.rs`);
//! - `/proc/net/unix` (`unix_seq_show()`) and `ss -x` (`net/unix/diag.c`).
//!
//! Memory: the kernel allocates unix skbs with `GFP_KERNEL_ACCOUNT` (memcg
//! accounting, `CONFIG_MEMCG=y` on the reference machine), which bypasses
//! the small skb-head slab, so the linear part comes from kmalloc: one byte
//! costs a truesize of 768 (a 512-byte kmalloc object plus the 256-byte
//! `struct sk_buff`), not the 832 of a UDP datagram on the same machine.
//!
//! Simplified: no credentials messages (`SCM_CREDENTIALS`,
//! `SO_PASSCRED`), no `MSG_OOB`, no garbage collector for files in flight;
//! socket files share the host's flat namespace of names with its regular
//! files (`crate::fs::ramfs`: every directory exists, no permissions, a name
//! without a leading `/` is taken from `/`); `connect()` on a stream
//! allocates the server's sock only once there is room in the backlog, not
//! before it waits.

mod af_unix;
mod dgram;
pub(crate) mod diag;
mod poll;
mod scm;
mod stream;
mod syscalls;

use std::collections::BTreeMap;

pub(crate) use af_unix::type_number;
pub use scm::RecvFds;
pub use syscalls::Ucred;

use crate::kernel::ids::{Pid, SockId};
use crate::kernel::wait::WaitQueue;
use crate::net::core::skbuff::{SkBuff, SkbQueue};
use crate::net::core::sock::Sock;
use crate::uapi::UnixAddr;

/// What a `sendmsg()` hands a unix socket (`struct msghdr`): the bytes,
/// the destination if given, and the files to pass (`SCM_RIGHTS`).
#[derive(Clone, Copy)]
pub(crate) struct UnixMsg<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) addr: Option<crate::uapi::SockAddr>,
    pub(crate) files: &'a [crate::kernel::ids::FileId],
}

/// `struct unix_sock`: the `AF_UNIX` part of a sock.
#[derive(Debug)]
pub(crate) struct UnixSock {
    /// `u->addr`: the bound name, or `None` while unbound.
    pub(crate) addr: Option<UnixAddr>,
    /// `u->path`: bound to a socket file (a file system name).
    pub(crate) path: bool,
    /// `unix_peer(sk)`: the other end.
    pub(crate) peer: Option<SockId>,
    /// How many socks have this one as their peer: each such pointer holds
    /// a reference, so a closed sock stays while one remains.
    pub(crate) refs: u32,
    /// `sk_max_ack_backlog`: the listen backlog, and for datagrams the
    /// queue length past which non-peers must wait.
    pub(crate) max_ack_backlog: u32,
    /// `u->peer_wait`: connect()s waiting for backlog room, datagram
    /// senders waiting for room in this sock's receive queue.
    pub(crate) peer_wait: WaitQueue,
    /// `u->peer_wake`: the sock whose `peer_wait` relays wakeups to ours
    /// (`unix_dgram_peer_wake_connect()`), so poll and epoll hear when a
    /// full peer's queue drains.
    pub(crate) peer_wake: Option<SockId>,
    /// The socks relaying from our `peer_wait` (the other side of
    /// `peer_wake`).
    pub(crate) relays: Vec<SockId>,
    /// `sk_peer_pid` (`SO_PEERCRED`): who connected, or who listened.
    pub(crate) peer_pid: Option<Pid>,
    /// Datagrams already allocated and copied by senders now asleep on a
    /// full receiver (`unix_wait_for_peer()` in `unix_dgram_sendmsg()`
    /// keeps its skb, and its charge, while it waits).
    pub(crate) pending: Vec<(Pid, SkBuff)>,
    /// `sk_receive_queue` of a unix socket. Not the socket's charged
    /// [`crate::net::core::receive_queue::RcvQueue`]: a unix skb stays
    /// charged to its sender (`skb_set_owner_w()`), so the receiver's
    /// `sk_rmem_alloc` stays 0, and a stream read leaves a partly read skb
    /// at the head (`UNIXCB(skb).consumed`).
    pub(crate) receive_queue: SkbQueue,
}

impl Sock {
    /// A unix socket's receive queue.
    pub(crate) fn unix_rq(&self) -> &SkbQueue {
        &self.unix.as_ref().expect("a unix socket").receive_queue
    }

    /// A unix socket's receive queue, to change.
    pub(crate) fn unix_rq_mut(&mut self) -> &mut SkbQueue {
        &mut self.unix.as_mut().expect("a unix socket").receive_queue
    }
}

impl UnixSock {
    pub(crate) fn new(max_ack_backlog: u32) -> UnixSock {
        UnixSock {
            addr: None,
            path: false,
            peer: None,
            refs: 0,
            max_ack_backlog,
            peer_wait: WaitQueue::default(),
            peer_wake: None,
            relays: Vec::new(),
            peer_pid: None,
            pending: Vec::new(),
            receive_queue: SkbQueue::new(),
        }
    }
}

/// A namespace's bound abstract names (the abstract half of
/// `net->unx.table`), by socket type and name: the type is hashed in
/// (`unix_abstract_hash()`), so a stream and a datagram socket may hold
/// the same name.
#[derive(Debug, Default)]
pub(crate) struct UnixTable {
    pub(crate) names: BTreeMap<(i32, Vec<u8>), SockId>,
}

/// The socket files on a host's file system (`S_IFSOCK` inodes made by
/// `bind()`), by name (spelled as `crate::fs::ramfs` spells its names), with the
/// socket bound to each, if it is still open (`unix_find_socket_byinode()`).
#[derive(Debug, Default)]
pub(crate) struct UnixFs {
    pub(crate) files: BTreeMap<Vec<u8>, Option<SockId>>,
}

#[cfg(test)]
mod tests;
