//! Networking (`net/`): the socket layer (`net/socket.c`), the protocol-
//! independent core (`net/core/`), the protocol families (`net/ipv4/`,
//! `net/ipv6/`, `net/unix/`, `net/netlink/`) and the software bridge (`net/bridge/`).

pub mod bridge;
pub mod core;
pub mod ipv4;
pub mod ipv6;
pub mod msghdr;
pub mod netlink;
pub mod socket;
pub mod unix;
