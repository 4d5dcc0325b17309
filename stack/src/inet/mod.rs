//! The Internet protocol family: IPv4 and IPv6 (loopback and beyond),
//! routing, neighbours and ARP, ICMP, and UDP (`net/ipv4/`, `net/ipv6/`).

pub mod af_inet;
pub mod icmp;
pub mod ip_input;
pub mod ip_output;
pub mod neighbour;
pub mod route;
pub mod tcp;
pub mod udp;
