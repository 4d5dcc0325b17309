//! The Internet protocol family (`net/ipv4/`): IP input and output,
//! routing, ICMP, raw sockets, UDP and TCP, and the `AF_INET` socket calls.
//!
//! UDP and TCP serve `AF_INET6` sockets too: the kernel's `net/ipv6/udp.c`
//! and `tcp_ipv6.c` run the same logic for the other address family, and
//! the simulation keeps one copy of each, here. IPv6's own input, output
//! and ICMPv6 are in [`crate::net::ipv6`]; neighbours and ARP in
//! [`crate::net::core::neighbour`].
//!
//! TCP is a folder, [`tcp`], whose files are the kernel's `tcp_*.c` without
//! the prefix: `tcp/input.rs` is `tcp_input.c`, `tcp/output.rs` is
//! `tcp_output.c`, `tcp/timer.rs` is `tcp_timer.c`.

pub mod af_inet;
pub mod icmp;
pub mod ip_input;
pub mod ip_output;
pub mod ip_sockglue;
pub mod raw;
pub mod request_sock_queue;
pub mod route;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

use crate::net::core::skbuff::SkBuff;

/// Fills in the UDP or TCP checksum of the segment at `skb.data()`, over
/// the pseudo-header and every byte, frags included (the kernel leaves this
/// to the NIC, `CHECKSUM_PARTIAL`; the simulation computes it in full so a
/// capture reads as correct).
pub(crate) fn fill_l4_checksum(skb: &mut SkBuff, src: IpAddr, dst: IpAddr, proto: u8) {
    let whole = skb.to_vec();
    let mut seg = whole.clone();
    let (at, filled) = match (proto, src, dst) {
        (crate::wire::ipv4::IPPROTO_UDP, IpAddr::V4(s), IpAddr::V4(d)) => {
            (6, crate::wire::udp::fill_checksum_v4(s, d, &mut seg))
        }
        (crate::wire::ipv4::IPPROTO_UDP, IpAddr::V6(s), IpAddr::V6(d)) => {
            (6, crate::wire::udp::fill_checksum_v6(s, d, &mut seg))
        }
        (crate::wire::ipv4::IPPROTO_TCP, IpAddr::V4(s), IpAddr::V4(d)) => {
            (16, crate::wire::tcp::fill_checksum_v4(s, d, &mut seg))
        }
        (crate::wire::ipv4::IPPROTO_TCP, IpAddr::V6(s), IpAddr::V6(d)) => {
            (16, crate::wire::tcp::fill_checksum_v6(s, d, &mut seg))
        }
        _ => return,
    };
    if filled.is_ok()
        && let Some(field) = skb.data_mut().get_mut(at..at + 2)
    {
        field.copy_from_slice(&seg[at..at + 2]);
    }
}
