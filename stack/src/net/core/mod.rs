//! The protocol-independent core of networking (`net/core/`): `struct
//! sock` and `struct sk_buff`, network devices and the receive softirq,
//! the neighbour table, network namespaces, datagram helpers, the socket
//! error queue and `MSG_ZEROCOPY`, and the counters and sysctls every
//! protocol shares.

pub mod datagram;
pub mod dev;
pub mod errqueue;
pub mod neighbour;
pub mod net_namespace;
pub mod operstate;
pub mod receive_queue;
pub mod skbuff;
pub mod snmp;
pub mod sock;
pub mod sockopt;
pub mod softnet;
pub mod sysctl;
pub mod zerocopy;
