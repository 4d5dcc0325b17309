//! The socket-level options (`SOL_SOCKET`): `sk_setsockopt()` and
//! `sk_getsockopt()` in `net/core/sock.c`, for `int` options. The
//! protocols' own levels are theirs (`IPPROTO_TCP`:
//! [`crate::net::ipv4::tcp::sockopt`]).

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::sock::{Family, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
use crate::uapi::errno::Errno;
use crate::uapi::*;

impl World {
    /// `sk_setsockopt()`.
    pub(crate) fn sk_setsockopt(&mut self, sk: SockId, opt: i32, val: i32) -> Result<(), Errno> {
        if opt == SO_ZEROCOPY {
            return self.sock_set_zerocopy(sk, val);
        }
        if opt == SO_KEEPALIVE {
            // tcp_set_keepalive(): the timer starts or stops with it.
            self.sk_mut(sk).keepalive = val != 0;
            if self.sk(sk).tcp.is_some() {
                self.tcp_keepalive_arm(sk);
            }
            return Ok(());
        }
        let ns = self.sk(sk).netns;
        let sysctl = self.ns(ns).sysctl.clone();
        let s = self.sk_mut(sk);
        match opt {
            // It takes a struct linger; an int is too short.
            SO_LINGER => return Err(Errno::EINVAL),
            SO_REUSEADDR => s.reuseaddr = val != 0,
            // Priorities above 6 need CAP_NET_ADMIN (sk_setsockopt()).
            SO_PRIORITY if !(0..=6).contains(&val) && s.uid != 0 => return Err(Errno::EPERM),
            SO_PRIORITY => s.priority = val,
            // A negative value means "as much as possible"; 0 means 1. A
            // TCP socket caps it at half of the largest receive buffer it
            // may have (tcp_set_rcvlowat()).
            SO_RCVLOWAT => {
                let val = if val < 0 { i32::MAX } else { val };
                let val = if s.tcp.is_some() {
                    let cap = if s.rcvbuf_locked {
                        s.rcvbuf() >> 1
                    } else {
                        sysctl.tcp_rmem.2 >> 1
                    };
                    val.min(cap.min(i32::MAX as u32) as i32)
                } else {
                    val
                };
                s.rcvlowat = val.max(1);
            }
            SO_REUSEPORT => s.reuseport = val != 0,
            // The value is read as unsigned (so -1 means "as much as
            // allowed"), capped by the sysctl, then doubled for bookkeeping
            // overhead (socket(7)), with a floor (__sock_set_rcvbuf()).
            SO_RCVBUF => {
                let v = (val as u32).min(sysctl.rmem_max).min(i32::MAX as u32 / 2);
                s.receive_queue
                    .set_rcvbuf((v * 2).max(SOCK_MIN_RCVBUF) as usize);
                s.rcvbuf_locked = true;
            }
            SO_SNDBUF => {
                let v = (val as u32).min(sysctl.wmem_max).min(i32::MAX as u32 / 2);
                s.sndbuf = (v * 2).max(SOCK_MIN_SNDBUF);
                s.sndbuf_locked = true;
                // A larger buffer may let a sleeping writer go on.
                if !s.wq.is_empty() && s.wmem_alloc < s.sndbuf {
                    self.sk_wake(sk, crate::kernel::wait::Wakeup::WriteSpace);
                }
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    /// `sk_getsockopt()`.
    pub(crate) fn sk_getsockopt(&mut self, sk: SockId, opt: i32) -> Result<i32, Errno> {
        let s = self.sk(sk);
        Ok(match opt {
            SO_REUSEADDR => s.reuseaddr as i32,
            SO_KEEPALIVE => s.keepalive as i32,
            // Read into an int, `struct linger` is cut to its first
            // member, `l_onoff`.
            SO_LINGER => s.linger.0 as i32,
            SO_PRIORITY => s.priority,
            SO_RCVLOWAT => s.rcvlowat,
            SO_ACCEPTCONN => (s.state == crate::net::ipv4::tcp::TCP_LISTEN) as i32,
            SO_REUSEPORT => s.reuseport as i32,
            SO_RCVBUF => s.rcvbuf() as i32,
            SO_SNDBUF => s.sndbuf as i32,
            SO_TYPE => match s.netlink.as_deref() {
                Some(nl) => nl.sock_type,
                None => crate::net::unix::type_number(s.ty),
            },
            SO_PROTOCOL => s.protocol as i32,
            SO_DOMAIN => match s.family {
                Family::Inet => AF_INET,
                Family::Inet6 => AF_INET6,
                Family::Netlink => AF_NETLINK,
                Family::Unix => AF_UNIX,
            },
            SO_ERROR => self.sock_error(sk).map_or(0, Errno::raw),
            SO_ZEROCOPY => s.zc.enabled as i32,
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }
}
