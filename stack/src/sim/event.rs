//! The event queue: everything that happens later than "now" (a frame
//! reaching the far end of a link, a transmission finishing, a softirq run,
//! a process's timer) is an event with a due time. Ties are broken by the
//! order of scheduling, so the run is deterministic.
//!
//! This plays the part of the kernel's timer wheel (`kernel/time/timer.c`)
//! and of the hardware's own clocking, both at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::time::Nanos;
use crate::kernel::ids::{DevId, HostId, Pid, SockId};

/// Something that happens at an instant of virtual time.
#[derive(Debug)]
pub(crate) enum Event {
    /// A NIC finished putting the frame at the head of its TX ring on the
    /// wire; the descriptor is done and a TX-completion interrupt follows.
    TxDone { dev: DevId },
    /// A frame's last bit reached the NIC at the far end of a link.
    FrameArrives { dev: DevId, frame: Vec<u8> },
    /// The NET_RX softirq runs on this host's CPU (`net_rx_action`).
    NetRxSoftirq { host: HostId },
    /// A sleeping process's timer expired (`nanosleep`, hrtimer).
    Wake { pid: Pid },
    /// A neighbour entry's ARP retry timer.
    NeighTimer { dev: DevId, ip: std::net::IpAddr },
    /// One of a TCP socket's timers may be due (retransmission, TIME_WAIT).
    TcpTimer { sk: SockId },
    /// A SYN-ACK retransmission timer of a request in a listener's SYN queue.
    SynAckTimer {
        listener: SockId,
        remote: std::net::SocketAddr,
    },
}

struct Entry {
    at: Nanos,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A min-heap of events ordered by (time, order of scheduling).
#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl EventQueue {
    pub(crate) fn push(&mut self, at: Nanos, event: Event) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            event,
        }));
    }

    pub(crate) fn pop(&mut self) -> Option<(Nanos, Event)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.event))
    }

    pub(crate) fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Deletes a neighbour entry's pending retry timer (`del_timer()`).
    pub(crate) fn cancel_neigh(&mut self, dev: DevId, ip: std::net::IpAddr) {
        self.heap.retain(
            |Reverse(e)| !matches!(e.event, Event::NeighTimer { dev: d, ip: i } if d == dev && i == ip),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut q = EventQueue::default();
        q.push(20, Event::Wake { pid: Pid(1) });
        q.push(10, Event::Wake { pid: Pid(2) });
        q.push(10, Event::Wake { pid: Pid(3) });
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|(t, e)| match e {
                Event::Wake { pid } => (t, pid.0),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![(10, 2), (10, 3), (20, 1)]);
    }
}
