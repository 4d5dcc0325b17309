//! The cable between two NICs: a full-duplex point-to-point Ethernet link
//! with a bit rate, a propagation delay, an MTU for the devices on it, and
//! an optional loss rate.
//!
//! A frame occupies the wire for its serialization time: its bytes plus
//! the 4-byte FCS, 8-byte preamble and 12-byte inter-frame gap, at the link's
//! bit rate; its last bit arrives one propagation delay later. Each
//! direction is independent. Loss is decided by the simulation's seeded
//! random generator, so a lossy run is still repeatable.

use crate::kernel::ids::DevId;
use crate::sim::time::{Nanos, us};

/// Bytes on the wire besides the frame: FCS 4, preamble 8, IFG 12.
pub const WIRE_OVERHEAD: u64 = 24;

/// A link's properties.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Nanos,
    /// Bit rate in bits per second.
    pub bandwidth_bps: u64,
    /// MTU of the devices on each end.
    pub mtu: u32,
    /// Probability that a frame is lost, from 0.0 to 1.0.
    pub loss: f64,
    /// The NICs on each end can gather a frame from page fragments
    /// (`NETIF_F_SG`, `ethtool -K ethN sg on`). Off by default: the
    /// simulated NIC copies into a linear buffer, and `MSG_ZEROCOPY` over
    /// it falls back to copying.
    pub scatter_gather: bool,
}

impl Default for LinkConfig {
    /// Gigabit Ethernet across a room: 1 Gbit/s, 10 us, MTU 1500, no loss.
    fn default() -> LinkConfig {
        LinkConfig {
            latency: us(10),
            bandwidth_bps: 1_000_000_000,
            mtu: 1500,
            loss: 0.0,
            scatter_gather: false,
        }
    }
}

impl LinkConfig {
    /// Sets the one-way delay.
    pub fn latency(mut self, d: Nanos) -> Self {
        self.latency = d;
        self
    }

    /// Sets the bit rate.
    pub fn bandwidth_bps(mut self, bps: u64) -> Self {
        self.bandwidth_bps = bps.max(1);
        self
    }

    /// Sets the devices' MTU.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = mtu;
        self
    }

    /// Sets the loss probability (clamped to 0..=1).
    pub fn loss(mut self, p: f64) -> Self {
        self.loss = p.clamp(0.0, 1.0);
        self
    }

    /// Turns scatter-gather on or off for the NICs on both ends.
    pub fn scatter_gather(mut self, on: bool) -> Self {
        self.scatter_gather = on;
        self
    }

    /// How long a frame of `len` bytes occupies the wire.
    pub fn serialization(&self, len: usize) -> Nanos {
        let bits = (len as u64 + WIRE_OVERHEAD) * 8;
        (bits * 1_000_000_000).div_ceil(self.bandwidth_bps)
    }
}

/// A cable and its counters.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) ends: [DevId; 2],
    pub(crate) cfg: LinkConfig,
    pub(crate) frames: u64,
    pub(crate) lost: u64,
}

impl Link {
    /// The device at the other end from `dev`.
    pub(crate) fn peer_of(&self, dev: DevId) -> DevId {
        if self.ends[0] == dev {
            self.ends[1]
        } else {
            self.ends[0]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_counts_wire_overhead() {
        let l = LinkConfig::default();
        // A minimum frame (60 B) is 84 B on the wire: 672 ns at 1 Gbit/s.
        assert_eq!(l.serialization(60), 672);
        assert_eq!(l.bandwidth_bps(10_000_000).serialization(1514), 1_230_400);
    }
}
