//! `struct sock`: the network-facing half of a socket (`include/net/sock.h`,
//! `net/core/sock.c`).
//!
//! Where `struct socket` is what the file points at, `struct sock` is what
//! the protocol works with: the addresses and ports, the receive queue, the
//! buffer limits (`sk_rcvbuf`, `sk_sndbuf`) and what is charged against
//! them (`sk_rmem_alloc`, `sk_wmem_alloc`), the pending error (`sk_err`),
//! the shutdown bits, and the wait queue its sleepers wait on.
//!
//! Memory is charged by `truesize`, the whole cost of an `sk_buff` (its
//! data buffer rounded up to the allocator's size class plus the `sk_buff`
//! itself), not by payload bytes: which is why a 64-byte datagram costs a
//! receive buffer 832 bytes on loopback (6.18) and why `SO_RCVBUF` is doubled.

use std::net::{IpAddr, SocketAddr};

use crate::kernel::ids::{HostId, NetNsId, SockId};
use crate::kernel::wait::{WaitQueue, Wakeup};
use crate::kernel::world::World;
use crate::net::core::receive_queue::RcvQueue;
use crate::net::core::skbuff::SkBuff;
use crate::uapi::errno::Errno;

/// `TCP_ESTABLISHED`: a connected UDP socket is in this state too.
pub const TCP_ESTABLISHED: u8 = 1;
/// `TCP_CLOSE`: an unconnected UDP socket.
pub const TCP_CLOSE: u8 = 7;

/// `RCV_SHUTDOWN`: `shutdown(SHUT_RD)` was called.
pub const RCV_SHUTDOWN: u8 = 1;
/// `SEND_SHUTDOWN`: `shutdown(SHUT_WR)` was called.
pub const SEND_SHUTDOWN: u8 = 2;

/// `SOCK_MIN_RCVBUF`: `TCP_SKB_MIN_TRUESIZE`, 2048 + `sizeof(struct
/// sk_buff)` rounded to a cache line = 2304 on x86_64.
pub const SOCK_MIN_RCVBUF: u32 = 2304;
/// `SOCK_MIN_SNDBUF`: twice `TCP_SKB_MIN_TRUESIZE` = 4608.
pub const SOCK_MIN_SNDBUF: u32 = 4608;

/// Address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6` (treated as `IPV6_V6ONLY`).
    Inet6,
    /// `AF_NETLINK`: a socket talking to the kernel itself.
    Netlink,
    /// `AF_UNIX` (`crate::net::unix`): no addresses or ports of the inet kind;
    /// its part of the sock is [`Sock::unix`].
    Unix,
}

/// Socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_RAW` (and a netlink socket, `SOCK_RAW` or `SOCK_DGRAM`).
    Raw,
    /// `SOCK_SEQPACKET` (`AF_UNIX` only here): connected, with message
    /// boundaries.
    SeqPacket,
}

/// `struct sock`, with the UDP parts of `struct inet_sock`/`udp_sock`.
#[derive(Debug)]
pub(crate) struct Sock {
    pub(crate) id: SockId,
    pub(crate) host: HostId,
    pub(crate) netns: NetNsId,
    pub(crate) family: Family,
    pub(crate) ty: SockType,
    /// `sk_protocol` (a raw socket's may be above 255).
    pub(crate) protocol: u16,
    /// `sk_state`: `TCP_CLOSE` or `TCP_ESTABLISHED` for UDP.
    pub(crate) state: u8,
    /// `inet_rcv_saddr`: the bound local address (unspecified = any).
    pub(crate) rcv_saddr: IpAddr,
    /// `inet_num`: the local port, 0 while unbound.
    pub(crate) num: u16,
    /// The peer of a connected socket.
    pub(crate) daddr: Option<SocketAddr>,
    /// `SOCK_BINDADDR_LOCK`/`SOCK_BINDPORT_LOCK`: bound by `bind()`, not
    /// by an automatic bind, so `connect(AF_UNSPEC)` keeps the binding.
    pub(crate) user_bound_addr: bool,
    pub(crate) user_bound_port: bool,
    /// An automatic binding given back when the connection closed
    /// (`tcp_set_state(TCP_CLOSE)` -> `inet_put_port()`): the kernel
    /// clears `inet_num`, so `bind()` may bind again, but keeps
    /// `inet_sport`, which `getsockname()` still reports. `num` here
    /// stays as `inet_sport`; this says `inet_num` is 0.
    pub(crate) port_released: bool,
    pub(crate) sndbuf: u32,
    /// `SOCK_RCVBUF_LOCK` / `SOCK_SNDBUF_LOCK` (`sk_userlocks`): the process
    /// set the size, so the kernel no longer tunes it.
    pub(crate) rcvbuf_locked: bool,
    pub(crate) sndbuf_locked: bool,
    pub(crate) wmem_alloc: u32,
    /// `sk_receive_queue` with `sk_rmem_alloc`, `sk_rcvbuf` and the drops
    /// its limit causes: the queues lab's component. `AF_UNIX` sockets
    /// keep theirs in [`crate::net::unix::UnixSock`], uncharged, as the
    /// kernel charges a unix skb to its sender.
    pub(crate) receive_queue: RcvQueue,
    /// `sk_drops` apart from the receive buffer's: datagrams dropped at
    /// this socket for another reason (a bad checksum found at read time,
    /// a raw or netlink socket's full buffer). [`Sock::sk_drops`] is the sum.
    pub(crate) drops: u32,
    /// `sk_err`: an error to report on the next call.
    pub(crate) err: Option<Errno>,
    pub(crate) shutdown: u8,
    pub(crate) reuseaddr: bool,
    pub(crate) reuseport: bool,
    pub(crate) wq: WaitQueue,
    /// `SOCK_DEAD`: the file is closed; the sock lingers only while sent
    /// packets still hold its write memory.
    pub(crate) dead: bool,
    pub(crate) inode: u64,
    pub(crate) uid: u32,
    /// `struct socket`'s state (`SS_UNCONNECTED`, `SS_CONNECTING`,
    /// `SS_CONNECTED`): what `connect()` has done, as opposed to the
    /// protocol's `sk_state`.
    pub(crate) sock_state: SocketState,
    /// The TCP part (`struct tcp_sock`), for stream sockets.
    pub(crate) tcp: Option<Box<crate::net::ipv4::tcp::TcpSock>>,
    /// The netlink part (`struct netlink_sock`), for netlink sockets.
    pub(crate) netlink: Option<Box<crate::net::netlink::af_netlink::NetlinkSock>>,
    /// The `AF_UNIX` part (`struct unix_sock`), for unix sockets.
    pub(crate) unix: Option<Box<crate::net::unix::UnixSock>>,
    /// `sk_error_queue`: what `recvmsg(MSG_ERRQUEUE)` reads.
    pub(crate) error_queue: crate::net::core::errqueue::ErrorQueue,
    /// `sk_omem_alloc`: option memory, where zero-copy notifications are
    /// charged until read (`sock_omalloc()`).
    pub(crate) omem_alloc: u32,
    /// `SOCK_ZEROCOPY`, `sk_zckey` and the zero-copy sends in progress.
    pub(crate) zc: crate::net::core::zerocopy::SockZerocopy,
    /// `SOCK_KEEPOPEN` (`SO_KEEPALIVE`).
    pub(crate) keepalive: bool,
    /// `SOCK_LINGER` and `sk_lingertime` (`SO_LINGER`, in seconds): the
    /// time is kept when lingering is turned off, as the kernel keeps it.
    pub(crate) linger: (bool, u32),
    /// `sk_rcvlowat` (`SO_RCVLOWAT`): the bytes a read waits for, and a
    /// stream socket needs queued to be readable. 1 by default.
    pub(crate) rcvlowat: i32,
    /// `sk_priority` (`SO_PRIORITY`): the packets' queueing priority.
    pub(crate) priority: i32,
    /// `inet_sock`'s `uc_ttl` (`IP_TTL`; -1 for `ip_default_ttl`), `tos`
    /// (`IP_TOS`) and `recverr` (`IP_RECVERR`).
    pub(crate) uc_ttl: i32,
    pub(crate) tos: u8,
    pub(crate) recverr: bool,
}

/// `socket_state` of `struct socket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocketState {
    Unconnected,
    Connecting,
    Connected,
}

impl Sock {
    /// `sk_rcvbuf`: the limit on what the receive queue may pin.
    pub(crate) fn rcvbuf(&self) -> u32 {
        self.receive_queue.rcvbuf() as u32
    }

    /// `sk_rmem_alloc`: the `truesize` of what the receive queue holds,
    /// and for TCP of what waits out of order (charged as well,
    /// `tcp_data_queue_ofo()`).
    pub(crate) fn rmem_alloc(&self) -> u32 {
        let ofo = self.tcp.as_deref().map_or(0, |tp| {
            tp.ofo
                .values()
                .map(|(skb, _)| skb.truesize())
                .sum::<usize>()
        });
        (self.receive_queue.rmem_alloc() + ofo) as u32
    }

    /// `sk_drops`: the receive buffer's drops and the others.
    pub(crate) fn sk_drops(&self) -> u32 {
        (self.receive_queue.drops() as u32).wrapping_add(self.drops)
    }

    /// `sk_alloc()` + `sock_init_data()`: a closed, unbound sock with
    /// nothing queued or charged; each family's create function sets what
    /// it needs on top (buffers, protocol, its own part).
    pub(crate) fn new(
        id: SockId,
        host: HostId,
        netns: NetNsId,
        family: Family,
        ty: SockType,
    ) -> Sock {
        Sock {
            id,
            host,
            netns,
            family,
            ty,
            protocol: 0,
            state: TCP_CLOSE,
            rcv_saddr: std::net::Ipv4Addr::UNSPECIFIED.into(),
            num: 0,
            daddr: None,
            user_bound_addr: false,
            user_bound_port: false,
            port_released: false,
            sndbuf: 0,
            rcvbuf_locked: false,
            sndbuf_locked: false,
            wmem_alloc: 0,
            receive_queue: RcvQueue::new(0),
            drops: 0,
            err: None,
            shutdown: 0,
            reuseaddr: false,
            reuseport: false,
            wq: WaitQueue::default(),
            dead: false,
            inode: 0,
            uid: 0,
            sock_state: SocketState::Unconnected,
            tcp: None,
            netlink: None,
            unix: None,
            error_queue: Default::default(),
            omem_alloc: 0,
            zc: Default::default(),
            keepalive: false,
            linger: (false, 0),
            rcvlowat: 1,
            priority: 0,
            uc_ttl: -1,
            tos: 0,
            recverr: false,
        }
    }

    /// The local address as `getsockname()` reports it.
    /// `inet_num`: the bound port, 0 once an automatic binding was given
    /// back ([`Sock::port_released`]).
    pub(crate) fn inet_num(&self) -> u16 {
        if self.port_released { 0 } else { self.num }
    }

    pub(crate) fn local(&self) -> SocketAddr {
        SocketAddr::new(self.rcv_saddr, self.num)
    }

    /// Whether a closed sock can go: no packet still holds its write
    /// memory, and (for `AF_UNIX`) no peer still points at it (each such
    /// pointer holds a reference, `sock_hold()`).
    pub(crate) fn may_free(&self) -> bool {
        self.wmem_alloc == 0 && self.unix.as_ref().is_none_or(|u| u.refs == 0)
    }
}

impl World {
    pub(crate) fn sk(&self, id: SockId) -> &Sock {
        &self.socks[&id]
    }

    pub(crate) fn sk_mut(&mut self, id: SockId) -> &mut Sock {
        self.socks.get_mut(&id).expect("live sock")
    }

    /// `skb_set_owner_w()`: charge a packet being sent to its socket's
    /// write memory; `sock_wfree()` returns it when the packet is freed.
    pub(crate) fn skb_set_owner_w(&mut self, skb: &mut SkBuff, sk: SockId) {
        skb.owner = Some(sk);
        let t = skb.truesize() as u32;
        self.sk_mut(sk).wmem_alloc += t;
    }

    /// `skb_orphan()`: run the destructor now, detaching the packet from
    /// the sending socket.
    pub(crate) fn skb_orphan(&mut self, skb: &mut SkBuff) {
        if let Some(sk) = skb.owner.take() {
            self.sock_wfree(sk, skb.truesize() as u32);
        }
    }

    /// `sock_wfree()`: write memory comes back; a writer waiting for send
    /// buffer space is woken once at least half of `sk_sndbuf` is free
    /// (`sock_def_write_space()`).
    fn sock_wfree(&mut self, sk: SockId, truesize: u32) {
        let Some(s) = self.socks.get_mut(&sk) else {
            return;
        };
        s.wmem_alloc = s.wmem_alloc.saturating_sub(truesize);
        if s.dead {
            if s.may_free() {
                self.socks.remove(&sk);
            }
            return;
        }
        if s.family == Family::Unix {
            self.unix_write_space(sk);
            return;
        }
        if !s.wq.is_empty() && s.wmem_alloc * 2 <= s.sndbuf {
            self.sk_wake(sk, Wakeup::WriteSpace);
        }
    }

    /// `kfree_skb()`: free a packet that was dropped.
    pub(crate) fn kfree_skb(&mut self, mut skb: SkBuff) {
        self.unix_destruct_scm(skb.id);
        self.skb_orphan(&mut skb);
    }

    /// `consume_skb()`: free a packet that was used as intended.
    pub(crate) fn consume_skb(&mut self, mut skb: SkBuff) {
        self.unix_destruct_scm(skb.id);
        self.skb_orphan(&mut skb);
    }

    /// Wakes the socket's wait queue (`sk_data_ready`, `sk_write_space`,
    /// `sk_state_change`, `sk_error_report` all end here).
    pub(crate) fn sk_wake(&mut self, sk: SockId, why: Wakeup) {
        self.wake_up(crate::kernel::wait::WaitObj::Sock(sk), why);
    }

    /// `sock_error()`: take the pending error, clearing it.
    pub(crate) fn sock_error(&mut self, sk: SockId) -> Option<Errno> {
        self.sk_mut(sk).err.take()
    }

    /// Frees what a closed socket holds (`sk_common_release`): queued
    /// packets go, the sock itself goes once sent packets release it.
    pub(crate) fn sk_release(&mut self, sk: SockId) {
        let s = self.sk_mut(sk);
        s.dead = true;
        let purged: Vec<SkBuff> = std::iter::from_fn(|| s.receive_queue.dequeue()).collect();
        for skb in purged {
            self.kfree_skb(skb);
        }
        if self.sk(sk).may_free() {
            self.socks.remove(&sk);
        }
    }
}

impl World {
    /// An skb holding `payload` behind `headroom` bytes of room for
    /// headers. `paged` puts the payload in page fragments, charged byte for
    /// byte, as the send paths do on a device that can gather
    /// (`NETIF_F_SG`): only the headers are linear. `None` past the
    /// allocator's limits.
    pub(crate) fn alloc_skb_with_payload(
        &mut self,
        headroom: usize,
        payload: &[u8],
        paged: bool,
    ) -> Option<SkBuff> {
        let linear = if paged { 0 } else { payload.len() };
        let mut skb = self.alloc_skb(headroom + linear + 15, headroom)?;
        if paged {
            skb.add_copied_frags(payload).ok()?;
        } else {
            skb.put_data(payload).ok()?;
        }
        Some(skb)
    }

    /// `alloc_skb(size)` then `skb_reserve(headroom)`, numbered for the
    /// trace. `None` only past the allocator's largest size.
    pub(crate) fn alloc_skb(&mut self, size: usize, headroom: usize) -> Option<SkBuff> {
        let mut skb = SkBuff::alloc_skb(size.max(headroom)).ok()?;
        skb.reserve(headroom).ok()?;
        skb.id = self.next_skb_id();
        Some(skb)
    }
}
