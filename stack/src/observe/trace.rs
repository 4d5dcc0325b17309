//! The journey's log: one line per step a packet or a process takes, with
//! the virtual instant, the host, the layer of the stack and what changed
//! (queue lengths before and after, counters).
//!
//! The kernel's own equivalent is its tracepoints (`trace_net_dev_queue`,
//! `trace_napi_poll`, `trace_udp_fail_queue_rcv_skb`, … read with `perf
//! trace` or bpftrace); here every layer writes a plain-text line instead, so
//! a reader can follow one datagram from `sendto()` to `recvfrom()`.

use std::fmt::Write;

use crate::kernel::ids::HostId;
use crate::sim::time::{Nanos, fmt_instant};

/// The layer of the stack a step happened in, top to bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The process, in user space.
    User,
    /// The system-call boundary (`net/socket.c`).
    Syscall,
    /// `struct sock`: queues, memory accounting, wait queues.
    Sock,
    /// UDP (`net/ipv4/udp.c`).
    Udp,
    /// TCP (`net/ipv4/tcp*.c`).
    Tcp,
    /// `AF_UNIX` sockets (`net/unix/af_unix.c`).
    Unix,
    /// ICMP (`net/ipv4/icmp.c`).
    Icmp,
    /// IPv4/IPv6 (`net/ipv4/ip_output.c`, `ip_input.c`, `net/ipv6/`).
    Ip,
    /// The neighbour table and ARP (`net/core/neighbour.c`, `net/ipv4/arp.c`).
    Neigh,
    /// The device layer: qdisc, `dev_queue_xmit`, `netif_receive_skb`.
    Dev,
    /// The software bridge (`net/bridge/`): learning, forwarding, flooding.
    Bridge,
    /// Netlink (`net/netlink/af_netlink.c`, `net/core/rtnetlink.c`).
    Netlink,
    /// The driver and the NIC: descriptor rings, DMA.
    Nic,
    /// The wire between two NICs.
    Link,
    /// A hard interrupt.
    Irq,
    /// The NET_RX softirq and NAPI polling (`net_rx_action`).
    Softirq,
    /// The scheduler: a process parked or woken.
    Sched,
    /// Files, pipes, the page cache and splice (`fs/`, `mm/filemap.c`).
    Vfs,
}

impl Layer {
    /// The short name printed in the trace's layer column.
    pub fn name(self) -> &'static str {
        match self {
            Layer::User => "user",
            Layer::Syscall => "syscall",
            Layer::Sock => "sock",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
            Layer::Unix => "unix",
            Layer::Icmp => "icmp",
            Layer::Ip => "ip",
            Layer::Neigh => "neigh",
            Layer::Dev => "dev",
            Layer::Bridge => "bridge",
            Layer::Netlink => "netlink",
            Layer::Nic => "nic",
            Layer::Link => "link",
            Layer::Irq => "irq",
            Layer::Softirq => "softirq",
            Layer::Sched => "sched",
            Layer::Vfs => "vfs",
        }
    }
}

/// One step of the journey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time of the step.
    pub at: Nanos,
    /// The host whose kernel took the step (`None` for the wire itself).
    pub host: Option<HostId>,
    /// The layer the step happened in.
    pub layer: Layer,
    /// What happened and what changed.
    pub what: String,
}

/// The recorded steps, in the order they happened.
#[derive(Debug, Default)]
pub struct Trace {
    pub(crate) enabled: bool,
    pub(crate) events: Vec<TraceEvent>,
}

impl Trace {
    pub(crate) fn new() -> Trace {
        Trace {
            enabled: true,
            events: Vec::new(),
        }
    }

    pub(crate) fn record(&mut self, at: Nanos, host: Option<HostId>, layer: Layer, what: String) {
        if self.enabled {
            self.events.push(TraceEvent {
                at,
                host,
                layer,
                what,
            });
        }
    }

    /// Renders the steps as an aligned text table; `host_name` names hosts.
    pub(crate) fn render(
        &self,
        events: &[TraceEvent],
        host_name: &dyn Fn(HostId) -> String,
    ) -> String {
        let hosts: Vec<String> = events
            .iter()
            .map(|e| e.host.map(host_name).unwrap_or_else(|| "wire".into()))
            .collect();
        let hw = hosts.iter().map(String::len).max().unwrap_or(4).max(4);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>10}  {:<hw$}  {:<7}  what",
            "time(s)", "host", "layer"
        );
        for (e, h) in events.iter().zip(&hosts) {
            let _ = writeln!(
                out,
                "{:>10}  {:<hw$}  {:<7}  {}",
                fmt_instant(e.at),
                h,
                e.layer.name(),
                e.what
            );
        }
        out
    }
}
