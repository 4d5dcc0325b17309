//! The Internet protocol family: IPv4 and IPv6 (loopback and beyond),
//! routing, neighbours and ARP, ICMP, and UDP (`net/ipv4/`, `net/ipv6/`).

pub mod af_inet;
pub mod icmp;
pub mod ip_input;
pub mod ip_output;
pub mod neighbour;
pub mod raw;
pub mod request_sock_queue;
pub mod route;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

use crate::skbuff::SkBuff;

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
