//! The IPv4 socket options (`IPPROTO_IP`): `do_ip_setsockopt()` and
//! `do_ip_getsockopt()` in `net/ipv4/ip_sockglue.c`, for `int` options:
//! `IP_TTL` (the TTL of what the socket sends, -1 for
//! `net.ipv4.ip_default_ttl`), `IP_TOS` (the type-of-service byte; a
//! stream socket keeps the ECN bits TCP owns) and `IP_RECVERR` (ICMP
//! errors reach an unconnected UDP socket too, `udp.rs`). Simplified:
//! `IP_TOS` does not also set `sk_priority` (`rt_tos2priority()`).

use crate::kernel::ids::SockId;
use crate::kernel::world::World;
use crate::net::core::sock::SockType;
use crate::uapi::errno::Errno;
use crate::uapi::{IP_RECVERR, IP_TOS, IP_TTL};

/// `INET_ECN_MASK`: the two low bits of the TOS byte.
const INET_ECN_MASK: u8 = 3;

impl World {
    /// `do_ip_setsockopt()`.
    pub(crate) fn do_ip_setsockopt(&mut self, sk: SockId, opt: i32, val: i32) -> Result<(), Errno> {
        let s = self.sk_mut(sk);
        match opt {
            IP_TTL if val != -1 && !(1..=255).contains(&val) => return Err(Errno::EINVAL),
            IP_TTL => s.uc_ttl = val,
            IP_TOS => {
                let mut tos = val as u8;
                if s.ty == SockType::Stream {
                    tos = (tos & !INET_ECN_MASK) | (s.tos & INET_ECN_MASK);
                }
                s.tos = tos;
            }
            IP_RECVERR => s.recverr = val != 0,
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    /// `do_ip_getsockopt()`.
    pub(crate) fn do_ip_getsockopt(&self, sk: SockId, opt: i32) -> Result<i32, Errno> {
        let s = self.sk(sk);
        Ok(match opt {
            IP_TTL if s.uc_ttl == -1 => self.ns(s.netns).sysctl.ip_default_ttl as i32,
            IP_TTL => s.uc_ttl,
            IP_TOS => s.tos as i32,
            IP_RECVERR => s.recverr as i32,
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }
}
