//! The socket error queue: `sk_error_queue` and `recvmsg(MSG_ERRQUEUE)`.
//!
//! Some news about a socket is not data and not a plain errno: "your
//! zero-copy sends 3 to 7 are complete", "this datagram came back as ICMP
//! port unreachable", "this packet left the NIC at time T". The kernel
//! queues each as an skb on the socket's error queue, described by a
//! `struct sock_extended_err` (`include/uapi/linux/errqueue.h`), and wakes
//! the socket with `sk_error_report()`; `poll()` then reports `EPOLLERR`
//! (`tcp_poll()`, `datagram_poll()`: `sk_err` set or the error queue not
//! empty). The process reads them with `recvmsg(fd, &msg, MSG_ERRQUEUE)`,
//! which never blocks (`EAGAIN` when the queue is empty) and hands the
//! `sock_extended_err` back as a control message: level `SOL_IP`, type
//! `IP_RECVERR` on an IPv4 socket (`ip_recv_error()`,
//! `net/ipv4/ip_sockglue.c`), `SOL_IPV6`/`IPV6_RECVERR` on an IPv6 one
//! (`ipv6_recv_error()`, `net/ipv6/datagram.c`). Dequeuing goes through
//! `sock_dequeue_err_skb()` (`net/core/skbuff.c`), which re-raises
//! `sk_error_report()` while more is queued.
//!
//! Only zero-copy notifications are queued so far (see
//! [`crate::net::core::zerocopy`]); they carry no payload and no offender address, and
//! are charged to the socket's option memory (`sk_omem_alloc`) until read.
//!
//! Simplified: no ICMP errors (`IP_RECVERR`), no transmit timestamps, no
//! `SO_SELECT_ERR_QUEUE`; the control message is returned as a typed
//! value, so there is no control buffer to be too small (`MSG_CTRUNC`),
//! except for `recv(fd, buf, MSG_ERRQUEUE)`, which passes none.

use std::collections::VecDeque;

use crate::kernel::ids::SockId;
use crate::kernel::wait::Wakeup;
use crate::kernel::world::World;
use crate::net::core::sock::Family;
use crate::uapi::errno::Errno;
use crate::uapi::*;

/// `struct sock_extended_err`, as the control message carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockExtendedErr {
    /// `ee_errno`: the error, 0 for a zero-copy notification.
    pub ee_errno: u32,
    /// `ee_origin`: who reports (`SO_EE_ORIGIN_ZEROCOPY`, `..._ICMP`, …).
    pub ee_origin: u8,
    /// `ee_type`: the ICMP type, for ICMP errors.
    pub ee_type: u8,
    /// `ee_code`: `SO_EE_CODE_ZEROCOPY_COPIED` when the kernel had to copy.
    pub ee_code: u8,
    /// `ee_pad`.
    pub ee_pad: u8,
    /// `ee_info`: the first zero-copy send id of the range.
    pub ee_info: u32,
    /// `ee_data`: the last zero-copy send id of the range (inclusive).
    pub ee_data: u32,
}

/// One skb on the error queue (`struct sock_exterr_skb` and its skb).
#[derive(Clone, Debug)]
pub(crate) struct ErrSkb {
    pub(crate) ee: SockExtendedErr,
    /// Bytes of payload (`skb->len`): 0 for a zero-copy notification.
    pub(crate) len: usize,
    /// The truesize charged to `sk_omem_alloc` (`sock_ofree()` returns it).
    pub(crate) omem: u32,
}

/// `sk_error_queue`.
pub(crate) type ErrorQueue = VecDeque<ErrSkb>;

/// What one `recvmsg(fd, &msg, MSG_ERRQUEUE)` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrQueueMsg {
    /// The return value: payload bytes copied (0 for a zero-copy
    /// notification).
    pub len: usize,
    /// `msg.msg_flags`: `MSG_ERRQUEUE`, plus `MSG_TRUNC` if payload was cut.
    pub msg_flags: i32,
    /// `cmsg_level`: `SOL_IP` or `SOL_IPV6`.
    pub cmsg_level: i32,
    /// `cmsg_type`: `IP_RECVERR` or `IPV6_RECVERR`.
    pub cmsg_type: i32,
    /// The control message's `struct sock_extended_err`. Its offender
    /// address (`SO_EE_OFFENDER()`) is all zeros for a zero-copy
    /// notification and is not modelled.
    pub ee: SockExtendedErr,
}

fn is_icmp_err(e: &ErrSkb) -> bool {
    matches!(e.ee.ee_origin, SO_EE_ORIGIN_ICMP | SO_EE_ORIGIN_ICMP6)
}

impl World {
    /// `sock_dequeue_err_skb()`: the oldest entry. An ICMP error left next
    /// in line becomes the pending `sk_err`; one that was the last clears
    /// it; if more is queued, the socket is woken again.
    pub(crate) fn sock_dequeue_err_skb(&mut self, sk: SockId) -> Option<ErrSkb> {
        let s = self.sk_mut(sk);
        let skb = s.error_queue.pop_front()?;
        let next = s.error_queue.front().cloned();
        let icmp_next = next.as_ref().is_some_and(is_icmp_err);
        if let Some(n) = next.as_ref().filter(|n| is_icmp_err(n)) {
            s.err = Errno::from_raw(n.ee.ee_errno as i32);
        }
        if is_icmp_err(&skb) && !icmp_next {
            s.err = None;
        }
        if next.is_some() {
            self.sk_wake(sk, Wakeup::ErrorReport);
        }
        Some(skb)
    }

    /// `inet_recv_error()` → `ip_recv_error()` / `ipv6_recv_error()`: the
    /// oldest entry of the error queue, its payload copied into `buf`;
    /// `EAGAIN` if there is none. The skb is freed (`consume_skb()`), which
    /// returns its option memory.
    pub(crate) fn inet_recv_error(
        &mut self,
        sk: SockId,
        buf: &mut [u8],
    ) -> Result<ErrQueueMsg, Errno> {
        let skb = self.sock_dequeue_err_skb(sk).ok_or(Errno::EAGAIN)?;
        let mut msg_flags = MSG_ERRQUEUE;
        let copied = skb.len.min(buf.len());
        if skb.len > buf.len() {
            msg_flags |= MSG_TRUNC;
        }
        // Payload-carrying entries (ICMP errors, timestamps) are not
        // modelled yet, so there are no bytes to copy.
        // Only inet sockets come here: AF_UNIX reads its data even with
        // MSG_ERRQUEUE.
        let (cmsg_level, cmsg_type) = match self.sk(sk).family {
            // A netlink socket never has an entry to get this far.
            Family::Inet | Family::Netlink => (SOL_IP, IP_RECVERR),
            Family::Inet6 => (SOL_IPV6, IPV6_RECVERR),
            _ => (SOL_IP, IP_RECVERR),
        };
        self.sock_ofree(sk, skb.omem);
        Ok(ErrQueueMsg {
            len: copied,
            msg_flags,
            cmsg_level,
            cmsg_type,
            ee: skb.ee,
        })
    }

    /// The error bits of a socket's poll mask, as `tcp_poll()` and
    /// `datagram_poll()` compute them: `EPOLLERR` while `sk_err` is set or
    /// the error queue holds anything. The socket's `->poll` ORs this in.
    pub(crate) fn sock_poll_err(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        if s.err.is_some() || !s.error_queue.is_empty() {
            EPOLLERR
        } else {
            0
        }
    }
}
