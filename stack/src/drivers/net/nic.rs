//! An Ethernet NIC and its driver: descriptor rings, DMA, the hard IRQ
//! and the NAPI poll function.
//!
//! Receive: a frame's bits arrive from the link; the NIC DMAs it into the
//! buffer of the next free RX descriptor (or, with none free, drops it and
//! counts `rx_missed_errors`) and raises its interrupt unless the driver has
//! masked it. The driver's interrupt handler does almost nothing: it masks
//! further interrupts and calls `napi_schedule()`, leaving the work to the
//! NET_RX softirq, which calls the driver's poll function to take up to
//! `weight` (64) frames off the ring and hand each to `netif_receive_skb()`.
//! When a poll finds fewer frames than its weight, the driver calls
//! `napi_complete_done()` and unmasks the interrupt. Under load interrupts
//! stay masked and the softirq keeps polling: that is NAPI (`net/core/dev.c`,
//! and any driver's `*_poll`, e.g. `e1000_clean` in
//! `drivers/net/ethernet/intel/e1000/e1000_main.c`).
//!
//! Transmit: `ndo_start_xmit` posts the frame on the TX ring; the NIC DMAs
//! it from memory and puts it on the wire, one frame at a time; when a frame
//! is out it marks the descriptor done and interrupts, and the next NAPI
//! poll frees the `sk_buff` (its destructor returns the sender's
//! `sk_wmem_alloc`) and restarts the qdisc if it was waiting for room.
//!
//! Simplified: one RX and one TX queue, one interrupt line for both;
//! frames shorter than 60 bytes are padded (`eth_skb_pad`) and the FCS is
//! counted on the wire but never carried; RX buffers hold 2 KiB as in
//! drivers that split pages in halves, so a small frame's `truesize` is
//! that of a 2 KiB buffer.
//!
//! A generic Ethernet NIC rather than one driver (`e1000`, `ixgbe`): the
//! parts every NAPI driver has, named as `drivers/net/ethernet/` names them.

use crate::drivers::net::ring::{DescRing, RxRing};
use crate::kernel::ids::{DevId, LinkId};
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::softnet::Napi;
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::sim::time::fmt_duration;
use crate::wire::ethernet::{ETH_ZLEN, EthHdr, MacAddr};

/// Descriptors per ring, a common default (`ethtool -g` shows it).
pub const DEFAULT_RING_SIZE: usize = 256;
/// `NET_SKB_PAD`: headroom a driver leaves before the frame.
pub const NET_SKB_PAD: usize = 64;
/// Frames taken per NAPI poll (`NAPI_POLL_WEIGHT`).
pub const NAPI_POLL_WEIGHT: usize = 64;

/// The NIC's state.
#[derive(Debug)]
pub(crate) struct Nic {
    pub(crate) link: Option<LinkId>,
    /// The receive ring: the stack's [`DescRing`] unless a program
    /// plugged in its own ([`crate::sim::Sim::set_rx_ring`]).
    pub(crate) rx_ring: Box<dyn RxRing<SkBuff>>,
    pub(crate) tx_ring: DescRing<SkBuff>,
    /// Descriptors the hardware has sent: between `tx_ring.cons()` and
    /// this are done but not yet cleaned by the driver.
    pub(crate) tx_hw: u64,
    /// A frame is on the wire.
    pub(crate) tx_busy: bool,
    /// The driver masked the interrupt (NAPI is scheduled or polling).
    pub(crate) irq_masked: bool,
    /// `NETIF_F_SG` (`ethtool -k`: scatter-gather): the NIC can DMA a
    /// frame from several pages, so send paths may leave data in page
    /// fragments, and `MSG_ZEROCOPY` may leave it in the user's pages.
    pub(crate) sg: bool,
}

impl Nic {
    pub(crate) fn new(rx: usize, tx: usize) -> Nic {
        Nic {
            link: None,
            rx_ring: Box::new(DescRing::new(rx)),
            tx_ring: DescRing::new(tx),
            tx_hw: 0,
            tx_busy: false,
            irq_masked: false,
            sg: false,
        }
    }

    pub(crate) fn tx_ring_full(&self) -> bool {
        self.tx_ring.is_full()
    }
}

impl World {
    fn nic(&mut self, dev: DevId) -> &mut Nic {
        self.dev_mut(dev).nic_mut().expect("device is a NIC")
    }

    /// `ndo_start_xmit`: post a frame on the TX ring.
    pub(crate) fn nic_start_xmit(&mut self, dev: DevId, mut skb: SkBuff) {
        let host = self.dev(dev).host;
        if skb.len() < ETH_ZLEN {
            let pad = ETH_ZLEN - skb.len();
            // Padding cannot fail for want of room: alloc sizes leave tailroom,
            // and if it did the frame goes out short, which receivers accept.
            let _ = skb.put_zero(pad);
        }
        let len = skb.len();
        let nic = self.nic(dev);
        let before = nic.tx_ring.len();
        let size = nic.tx_ring.size();
        match nic.tx_ring.produce(skb) {
            Ok(slot) => {
                self.trace(host, Layer::Nic, |w| {
                let name = &w.dev(dev).name;
                    format!(
                        "{name} driver: ndo_start_xmit puts {len} B frame in TX descriptor {slot}, TX ring {before} -> {} of {size}",
                        before + 1
                    )
                });
                if !self.nic(dev).tx_busy {
                    self.nic_tx_next(dev);
                }
            }
            Err(skb) => {
                // qdisc_run only hands over frames when there is room.
                self.dev_mut(dev).stats.tx_dropped += 1;
                self.kfree_skb(skb);
            }
        }
    }

    /// The NIC starts sending the next posted frame, if any.
    fn nic_tx_next(&mut self, dev: DevId) {
        let now = self.now;
        let host = self.dev(dev).host;
        let nic = self.nic(dev);
        let pending = nic.tx_hw - nic.tx_ring.cons();
        let Some(skb) = nic.tx_ring.get(pending as usize) else {
            return;
        };
        let frame = skb.to_vec();
        let link = nic.link;
        nic.tx_busy = true;
        self.costs(host).dma_bytes += frame.len() as u64;
        let Some(link) = link else {
            // An unplugged NIC still "sends": the frame goes nowhere.
            self.schedule(now, Event::TxDone { dev });
            return;
        };
        let l = &self.links[link.idx()];
        let cfg = l.cfg;
        let peer = l.peer_of(dev);
        let ser = cfg.serialization(frame.len());
        let lost = cfg.loss > 0.0 && self.rng.f64() < cfg.loss;
        let l = &mut self.links[link.idx()];
        l.frames += 1;
        if lost {
            l.lost += 1;
        }
        let len = frame.len();
        self.trace(host, Layer::Nic, |w| {
            let name = &w.dev(dev).name;
            format!(
                "{name}: NIC DMAs {len} B from memory and transmits it ({} on the wire)",
                fmt_duration(ser)
            )
        });
        self.schedule(now + ser, Event::TxDone { dev });
        self.log_wire(crate::observe::capture::WireFrame {
            from: dev,
            to: peer,
            sent: now,
            arrived: (!lost).then_some(now + ser + cfg.latency),
            bytes: frame.clone(),
        });
        if lost {
            self.trace_wire(|_w| format!("frame of {len} B lost on the link"));
        } else {
            self.schedule(
                now + ser + cfg.latency,
                Event::FrameArrives { dev: peer, frame },
            );
        }
    }

    /// The last bit of the frame left: mark the descriptor done, interrupt.
    pub(crate) fn nic_tx_done(&mut self, dev: DevId) {
        let nic = self.nic(dev);
        nic.tx_busy = false;
        nic.tx_hw += 1;
        self.nic_irq(dev, "TX completion");
        self.nic_tx_next(dev);
    }

    /// A frame arrived from the link.
    pub(crate) fn nic_frame_arrives(&mut self, dev: DevId, frame: Vec<u8>) {
        let host = self.dev(dev).host;
        let len = frame.len();
        self.trace_wire(|w| format!("{len} B frame arrives at {}", w.dev(dev).name));
        if !self.dev(dev).up {
            self.dev_mut(dev).stats.rx_dropped += 1;
            return;
        }
        // The MAC's own checks, before anything reaches memory: a frame too
        // short to hold an Ethernet header is a length error, and a unicast
        // frame for another station is filtered out silently, unless the
        // NIC is a bridge port, which the bridge puts in promiscuous mode
        // (br_add_if()).
        if len < EthHdr::LEN {
            self.dev_mut(dev).stats.rx_errors += 1;
            return;
        }
        let dst = MacAddr([frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]]);
        let promisc = self.dev(dev).master.is_some();
        if dst != self.dev(dev).mac && !dst.is_broadcast() && !dst.is_multicast() && !promisc {
            self.trace(host, Layer::Nic, |w| {
                format!(
                    "{}: frame for {dst} is not ours: filtered by the NIC",
                    w.dev(dev).name
                )
            });
            return;
        }
        let Some(mut skb) = self.alloc_skb(len.max(1536) + NET_SKB_PAD, NET_SKB_PAD) else {
            self.dev_mut(dev).stats.rx_errors += 1;
            return;
        };
        if skb.put_data(&frame).is_err() {
            self.dev_mut(dev).stats.rx_errors += 1;
            return;
        }
        skb.dev = Some(dev);
        let nic = self.nic(dev);
        let size = nic.rx_ring.size();
        let before = nic.rx_ring.len();
        match nic.rx_ring.produce(skb) {
            Ok(slot) => {
                self.costs(host).dma_bytes += len as u64;
                self.trace(host, Layer::Nic, |w| {
                let name = &w.dev(dev).name;
                    format!(
                        "{name}: NIC DMAs {len} B into RX descriptor {slot}, RX ring {before} -> {} of {size}",
                        before + 1
                    )
                });
                self.nic_irq(dev, "RX");
            }
            Err(_) => {
                self.dev_mut(dev).stats.rx_missed += 1;
                let missed = self.dev(dev).stats.rx_missed;
                self.trace(host, Layer::Nic, |w| {
                let name = &w.dev(dev).name;
                    format!("{name}: RX ring full ({size} of {size}): frame dropped, rx_missed_errors {missed}")
                });
            }
        }
    }

    /// The NIC raises its interrupt, unless the driver masked it.
    fn nic_irq(&mut self, dev: DevId, why: &str) {
        if self.nic(dev).irq_masked {
            return;
        }
        let host = self.dev(dev).host;
        self.costs(host).hardirqs += 1;
        self.nic(dev).irq_masked = true;
        self.trace(host, Layer::Irq, |w| {
            let name = &w.dev(dev).name;
            format!(
                "hard IRQ from {name} ({why}): driver masks the NIC's interrupts, napi_schedule()"
            )
        });
        self.napi_schedule(host, Napi::Dev(dev));
    }

    /// The driver's NAPI poll: clean finished TX descriptors, then take up
    /// to `quota` received frames up the stack. Returns frames received.
    pub(crate) fn nic_napi_poll(&mut self, dev: DevId, quota: usize) -> usize {
        let host = self.dev(dev).host;
        let mut cleaned = 0;
        loop {
            let nic = self.nic(dev);
            if nic.tx_ring.cons() >= nic.tx_hw {
                break;
            }
            let skb = nic.tx_ring.consume().expect("done descriptors exist");
            let len = skb.len() as u64;
            let d = self.dev_mut(dev);
            d.stats.tx_packets += 1;
            d.stats.tx_bytes += len;
            cleaned += 1;
            self.consume_skb(skb);
        }
        if cleaned > 0 {
            let left = self.nic(dev).tx_ring.len();
            self.trace(host, Layer::Nic, |w| {
                let name = &w.dev(dev).name;
                format!("{name} poll: freed {cleaned} sent skb(s) from the TX ring ({left} left)")
            });
            self.qdisc_run(dev);
        }
        let mut work = 0;
        while work < quota {
            let nic = self.nic(dev);
            let before = nic.rx_ring.len();
            let Some(skb) = nic.rx_ring.consume() else {
                break;
            };
            work += 1;
            let len = skb.len() as u64;
            let d = self.dev_mut(dev);
            d.stats.rx_packets += 1;
            d.stats.rx_bytes += len;
            self.trace(host, Layer::Nic, |w| {
                let name = &w.dev(dev).name;
                format!(
                    "{name} poll: takes skb#{} ({len} B) off the RX ring, {before} -> {}; eth_type_trans",
                    skb.id,
                    before - 1
                )
            });
            match self.eth_type_trans(dev, skb) {
                Some(skb) => self.netif_receive_skb(skb),
                None => self.dev_mut(dev).stats.rx_errors += 1,
            }
        }
        if work < quota {
            self.nic(dev).irq_masked = false;
            self.trace(host, Layer::Softirq, |w| {
                let name = &w.dev(dev).name;
                format!("{name}: napi_complete_done after {work} frame(s): NIC interrupts unmasked")
            });
        }
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::net::link::LinkConfig;
    use crate::prelude::*;

    #[test]
    fn set_rx_ring_checks_the_device() {
        let mut sim = Sim::new(1);
        let a = sim.add_host("a");
        let b = sim.add_host("b");
        sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
        let ring = || Box::new(DescRing::<SkBuff>::new(4));
        assert_eq!(sim.set_rx_ring(b, "eth7", ring()), Err(Errno::ENODEV));
        assert_eq!(sim.set_rx_ring(b, "lo", ring()), Err(Errno::EINVAL));
        assert_eq!(sim.set_rx_ring(b, "eth0", ring()), Ok(()));
    }

    /// A one-descriptor ring plugged in misses frames of a burst that the
    /// default ring takes whole.
    #[test]
    fn a_small_ring_misses_frames() {
        let missed = |ring: Option<usize>| {
            let mut sim = Sim::new(1);
            let a = sim.add_host("a");
            let b = sim.add_host("b");
            let cfg = LinkConfig::default().bandwidth_bps(100_000_000_000);
            sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
            if let Some(n) = ring {
                sim.set_rx_ring(b, "eth0", Box::new(DescRing::<SkBuff>::new(n)))
                    .expect("idle NIC");
            }
            sim.spawn(a, "sender", |p| async move {
                let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
                for _ in 0..20 {
                    p.sendto(fd, &[0; 100], 0, "10.0.0.2:9").await?;
                }
                Ok(())
            });
            sim.run();
            sim.dev_stats(b, "eth0").expect("eth0").rx_missed
        };
        assert_eq!(missed(None), 0);
        assert!(missed(Some(1)) > 0);
    }
}
