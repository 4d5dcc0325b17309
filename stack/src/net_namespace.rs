//! A network namespace, `struct net` (`include/net/net_namespace.h`): its
//! own devices (at least `lo`), addresses, routes, neighbour table, socket
//! tables, sysctls and SNMP counters. Every host starts with one, `init_net`;
//! containers (a later chapter) get more.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::ids::{DevId, HostId};
use crate::inet::neighbour::NeighTable;
use crate::inet::route::Fib;
use crate::inet::udp::UdpTable;
use crate::sim::time::Nanos;
use crate::snmp::MibTable;
use crate::sysctl::Sysctls;

/// `struct net`.
#[derive(Debug)]
pub(crate) struct NetNs {
    pub(crate) host: HostId,
    pub(crate) devs: Vec<DevId>,
    pub(crate) lo: DevId,
    pub(crate) sysctl: Sysctls,
    pub(crate) mib: MibTable,
    pub(crate) fib: Fib,
    pub(crate) neigh: NeighTable,
    pub(crate) udp: UdpTable,
    pub(crate) tcp: crate::inet::tcp::TcpTable,
    /// Bound abstract `AF_UNIX` names (`net->unx.table`).
    pub(crate) unix: crate::unix::UnixTable,
    /// The IPv4 identification counter for outgoing datagrams.
    pub(crate) ip_id: u16,
    /// Per-destination ICMP rate-limit buckets (`inet_peer_xrlim_allow`):
    /// tokens in nanoseconds and the instant they were last topped up.
    pub(crate) icmp_peers: BTreeMap<IpAddr, (Nanos, Nanos)>,
    /// IPv4 datagrams being reassembled (`netns_frags`).
    pub(crate) reasm: BTreeMap<crate::inet::ip_input::ReasmKey, crate::inet::ip_input::ReasmQueue>,
}
