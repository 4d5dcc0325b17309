//! Network device drivers (`drivers/net/`): the Ethernet NIC with its
//! descriptor rings, DMA and interrupts, the loopback device, veth pairs,
//! the tun device a test tool plays a remote host through, and the cable between two NICs.
//!
//! `link` has no kernel file: it is the hardware between two NICs (a
//! wire with a bit rate, a delay and a loss rate), kept beside the driver
//! that puts frames on it.

pub mod link;
pub mod loopback;
pub mod nic;
pub mod ring;
pub mod tun;
pub mod veth;
