//! The `AF_INET`/`AF_INET6` socket operations that are not specific to one
//! protocol: `bind()` (`__inet_bind()` in `net/ipv4/af_inet.c`), the
//! automatic bind to an ephemeral port, datagram `connect()`
//! (`__ip4_datagram_connect()` in `net/ipv4/datagram.c`) and `shutdown()`
//! (`inet_shutdown()`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::sock::{Family, RCV_SHUTDOWN, SEND_SHUTDOWN, TCP_CLOSE, TCP_ESTABLISHED};
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{SHUT_RD, SHUT_RDWR, SockAddr};

impl World {
    /// Checks that `addr` suits the socket's family; `AF_UNSPEC` is
    /// refused unless the caller allows it. An address of another family
    /// is `EINVAL` when shorter than the family's own (`sockaddr_in`, or
    /// `SIN6_LEN_RFC2133` for IPv6), else `EAFNOSUPPORT`, as
    /// `inet_bind()`, `tcp_v4_connect()` and `__ip4_datagram_connect()`
    /// check the length first.
    pub(crate) fn inet_addr_for(&self, sk: SockId, addr: SockAddr) -> Result<SocketAddr, Errno> {
        let fam = self.sk(sk).family;
        if let SockAddr::Unix(u) = addr {
            let min = if fam == Family::Inet6 { 24 } else { 16 };
            return Err(if u.addrlen() < min {
                Errno::EINVAL
            } else {
                Errno::EAFNOSUPPORT
            });
        }
        match (fam, addr) {
            (Family::Inet, SockAddr::Inet(a @ SocketAddr::V4(_))) => Ok(a),
            (Family::Inet6, SockAddr::Inet(a @ SocketAddr::V6(_))) => Ok(a),
            // An IPv6 socket given an IPv4 address, or the reverse.
            (Family::Inet6, SockAddr::Inet(SocketAddr::V4(_))) => Err(Errno::EINVAL),
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// True when the namespace's local table routes `addr` to this host
    /// (`RTN_LOCAL`): it is assigned to one of its interfaces (whose `local`
    /// route stays while the device is down), or it lies in the prefix of an
    /// address on a loopback device that is up (so all of 127.0.0.0/8 once
    /// `lo` is up, and none of it in a new namespace before that).
    pub(crate) fn is_local_addr(&self, sk_ns: crate::kernel::ids::NetNsId, addr: IpAddr) -> bool {
        self.ns(sk_ns).devs.iter().any(|&d| {
            let dev = self.dev(d);
            dev.addrs.iter().any(|a| {
                a.addr == addr
                    || dev.up
                        && dev.is_loopback()
                        && addr.is_ipv4()
                        && crate::net::ipv4::route::in_prefix(addr, a.addr, a.prefix)
            })
        })
    }

    /// `bind()`.
    pub(crate) fn inet_bind(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        let a = match addr {
            // AF_UNSPEC is tolerated for INADDR_ANY, for old programs.
            SockAddr::Unspec if self.sk(sk).family == Family::Inet => {
                SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0)
            }
            _ => self.inet_addr_for(sk, addr)?,
        };
        let ns = self.sk(sk).netns;
        // 127.0.0.0/8 can be bound even before `lo` is up (this machine's
        // kernel allows it in a fresh namespace).
        let loopback_v4 = matches!(a.ip(), IpAddr::V4(v4) if v4.is_loopback());
        if !a.ip().is_unspecified()
            && !a.ip().is_multicast()
            && !loopback_v4
            && !self.is_local_addr(ns, a.ip())
        {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if self.sk(sk).inet_num() != 0 {
            return Err(Errno::EINVAL);
        }
        self.sk_mut(sk).rcv_saddr = a.ip();
        let port = match self.get_port(sk, a.port()) {
            Ok(p) => p,
            Err(e) => {
                let unspec = unspecified_like(a.ip());
                self.sk_mut(sk).rcv_saddr = unspec;
                return Err(e);
            }
        };
        let s = self.sk_mut(sk);
        s.port_released = false;
        s.user_bound_addr = !a.ip().is_unspecified();
        s.user_bound_port = a.port() != 0;
        let host = s.host;
        let local = SocketAddr::new(a.ip(), port);
        self.trace(host, Layer::Sock, |w| {
            format!(
                "bind: socket hashed into the {} table at {local}",
                if w.sk(sk).ty == crate::net::core::sock::SockType::Stream {
                    "TCP bind"
                } else {
                    "UDP"
                }
            )
        });
        Ok(())
    }

    /// `sk->sk_prot->get_port()`: the protocol's port allocator.
    fn get_port(&mut self, sk: SockId, port: u16) -> Result<u16, Errno> {
        match self.sk(sk).ty {
            crate::net::core::sock::SockType::Dgram => self.udp_get_port(sk, port),
            crate::net::core::sock::SockType::Stream => self.tcp_get_port(sk, port),
            // Raw sockets have no ports; inet_bind() is not theirs.
            crate::net::core::sock::SockType::Raw => Err(Errno::EINVAL),
            // No inet protocol is sequenced packets here.
            crate::net::core::sock::SockType::SeqPacket => Err(Errno::EINVAL),
        }
    }

    /// `inet_autobind()`: an unbound socket that sends (or connects) gets an
    /// ephemeral port from `ip_local_port_range`.
    pub(crate) fn inet_autobind(&mut self, sk: SockId) -> Result<(), Errno> {
        if self.sk(sk).num != 0 {
            return Ok(());
        }
        let port = self.udp_get_port(sk, 0)?;
        let host = self.sk(sk).host;
        self.trace(host, Layer::Sock, |_w| {
            format!("autobind: ephemeral port {port}")
        });
        Ok(())
    }

    /// Where a `connect()` to `dst` goes (`ip_route_connect()`,
    /// `tcp_v6_connect()`): the unspecified address (`0.0.0.0`, `::`)
    /// means this host, the socket's bound IPv4 address if it has one,
    /// else the loopback address.
    pub(crate) fn inet_connect_daddr(&self, sk: SockId, dst: SocketAddr) -> SocketAddr {
        if !dst.ip().is_unspecified() {
            return dst;
        }
        let saddr = self.sk(sk).rcv_saddr;
        let ip = match dst.ip() {
            IpAddr::V4(_) if saddr.is_ipv4() && !saddr.is_unspecified() => saddr,
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        SocketAddr::new(ip, dst.port())
    }

    /// `connect()` on a datagram socket: remember the peer, pick the
    /// source address from the route, and bind if needed. `AF_UNSPEC`
    /// dissolves the association (`udp_disconnect()`).
    pub(crate) fn ip4_datagram_connect(&mut self, sk: SockId, addr: SockAddr) -> Result<(), Errno> {
        if addr == SockAddr::Unspec {
            self.udp_disconnect(sk);
            return Ok(());
        }
        let a = self.inet_addr_for(sk, addr)?;
        let a = self.inet_connect_daddr(sk, a);
        let ns = self.sk(sk).netns;
        let rt = self.ip_route_output(ns, a.ip())?;
        self.inet_autobind(sk)?;
        let s = self.sk_mut(sk);
        if s.rcv_saddr.is_unspecified() {
            s.rcv_saddr = rt.src;
        }
        s.daddr = Some(a);
        s.state = TCP_ESTABLISHED;
        let host = s.host;
        let local = s.local();
        self.trace(host, Layer::Sock, |_w| {
            format!(
                "connect (UDP): no packet sent; default peer {a}, local {local}, state ESTABLISHED"
            )
        });
        Ok(())
    }

    /// `udp_disconnect()`.
    fn udp_disconnect(&mut self, sk: SockId) {
        let user_addr = self.sk(sk).user_bound_addr;
        let user_port = self.sk(sk).user_bound_port;
        let s = self.sk_mut(sk);
        s.state = TCP_CLOSE;
        s.daddr = None;
        if !user_addr {
            s.rcv_saddr = unspecified_like(s.rcv_saddr);
        }
        if !user_port {
            self.udp_unhash(sk);
        }
    }

    /// `inet_shutdown()`. On an unconnected datagram socket the call fails
    /// with `ENOTCONN` but still sets the shutdown bits and wakes sleepers,
    /// exactly as the kernel does.
    pub(crate) fn inet_shutdown(&mut self, sk: SockId, how: i32) -> Result<(), Errno> {
        if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let bits = (how + 1) as u8; // SHUT_RD → RCV_SHUTDOWN, SHUT_WR → SEND_SHUTDOWN
        let s = self.sk_mut(sk);
        let result = if s.state == TCP_CLOSE {
            Err(Errno::ENOTCONN)
        } else {
            Ok(())
        };
        s.shutdown |= bits & (RCV_SHUTDOWN | SEND_SHUTDOWN);
        self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
        result
    }
}

/// The unspecified address of the same family as `a`.
pub(crate) fn unspecified_like(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    }
}
