//! IPv6 (`net/ipv6/`): receiving and sending IPv6 packets and answering
//! ICMPv6. IPv6 shares the rest of the path with IPv4 (routing,
//! neighbours, UDP, TCP), in the modules of `net/ipv4/` and `net/core/`;
//! the kernel's `net/ipv6/udp.c` and `tcp_ipv6.c` are the same code paths
//! for another address family, and the simulation keeps one copy of each.
//!
//! Simplified: IPv6 runs on loopback and veth in a namespace, with no
//! extension headers, no fragmentation and no neighbour discovery.

pub mod icmp;
pub mod ip6_input;
pub mod ip6_output;
