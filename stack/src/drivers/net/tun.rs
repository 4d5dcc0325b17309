//! The tun device (`drivers/net/tun.c`): a network device whose other side
//! is a process, not a wire. What the stack transmits on it, the process
//! reads from `/dev/net/tun` as a bare IP packet; what the process writes
//! there arrives on the device as if it had come off a wire. Test tools
//! such as packetdrill play the remote host this way.
//!
//! `tun_net_xmit()` queues the packet on the file's ring (`tfile->tx_ring`,
//! `TUN_READQ_SIZE` = 500 packets; beyond that it drops and counts
//! `tx_dropped`), and `tun_get_user()` builds an `sk_buff` from the bytes
//! written and hands it to `netif_rx()`, onto this CPU's backlog.
//!
//! Simplified: an `IFF_TUN` device has no link-layer header; the stack here
//! pushes an Ethernet header with zero addresses on every frame (as it does
//! on `lo`, also `IFF_NOARP`), and the driver strips it on transmit and adds
//! one on receive. No qdisc, no offloads (GSO/TSO): every segment is sent
//! and read on its own.

use std::collections::VecDeque;

use crate::kernel::ids::DevId;
use crate::kernel::world::World;
use crate::net::core::dev::DevKind;
use crate::net::core::skbuff::SkBuff;
use crate::observe::trace::Layer;
use crate::sim::time::Nanos;
use crate::uapi::errno::Errno;
use crate::wire::ethernet::{ETH_DATA_LEN, EthHdr, MacAddr};

/// `TUN_READQ_SIZE`: packets the device holds for the process to read.
pub const TUN_READQ_SIZE: usize = 500;

/// The packets waiting for the process (`tfile->tx_ring`), each with the
/// instant the stack sent it.
#[derive(Debug, Default)]
pub(crate) struct TunQueue {
    pub(crate) to_user: VecDeque<(Nanos, Vec<u8>)>,
}

impl World {
    /// `tun_set_iff()` creating `IFF_TUN | IFF_NO_PI`: a new tun device,
    /// up, with an Ethernet MTU.
    pub(crate) fn tun_newlink(
        &mut self,
        ns: crate::kernel::ids::NetNsId,
        name: &str,
    ) -> Result<DevId, Errno> {
        self.check_new_dev_name(ns, name)?;
        let host = self.ns(ns).host;
        let kind = DevKind::Tun(Box::default());
        Ok(self.new_dev(host, ns, name.to_string(), ETH_DATA_LEN as u32, kind))
    }

    /// `tun_net_xmit()`: the IP packet goes on the ring the process reads.
    pub(crate) fn tun_net_xmit(&mut self, dev: DevId, skb: SkBuff) {
        let host = self.dev(dev).host;
        let now = self.now;
        let packet = skb.data().get(EthHdr::LEN..).unwrap_or_default().to_vec();
        self.kfree_skb(skb);
        let len = packet.len() as u64;
        let d = self.dev_mut(dev);
        let DevKind::Tun(q) = &mut d.kind else { return };
        if q.to_user.len() >= TUN_READQ_SIZE {
            d.stats.tx_dropped += 1;
            return;
        }
        q.to_user.push_back((now, packet));
        d.stats.tx_packets += 1;
        d.stats.tx_bytes += len;
        self.trace(host, Layer::Dev, |w| {
            format!(
                "tun_net_xmit on {}: {len} B packet queued for the reader",
                w.dev(dev).name
            )
        });
    }

    /// `tun_get_user()`: bytes written to the device's file arrive as a
    /// received packet. The IP version picks the protocol, as `IFF_NO_PI`
    /// does.
    pub(crate) fn tun_get_user(&mut self, dev: DevId, packet: &[u8]) -> Result<(), Errno> {
        if !matches!(self.dev(dev).kind, DevKind::Tun(_)) {
            return Err(Errno::EINVAL);
        }
        let ethertype = match packet.first().map(|b| b >> 4) {
            Some(4) => crate::wire::ethernet::ETH_P_IP,
            Some(6) => crate::wire::ethernet::ETH_P_IPV6,
            _ => return Err(Errno::EINVAL),
        };
        let d = self.dev_mut(dev);
        d.stats.rx_packets += 1;
        d.stats.rx_bytes += packet.len() as u64;
        let mut frame = Vec::with_capacity(EthHdr::LEN + packet.len());
        frame.extend_from_slice(&self.dev(dev).mac.0);
        frame.extend_from_slice(&MacAddr::ZERO.0);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(packet);
        // tun_alloc_skb(): room for the packet and NET_SKB_PAD in front.
        let pad = crate::drivers::net::nic::NET_SKB_PAD;
        let Some(mut skb) = self.alloc_skb(frame.len() + pad, pad) else {
            self.dev_mut(dev).stats.rx_errors += 1;
            return Err(Errno::ENOMEM);
        };
        skb.put_data(&frame).map_err(|_| Errno::EINVAL)?;
        match self.eth_type_trans(dev, skb) {
            Some(skb) => self.netif_rx(dev, skb),
            None => self.dev_mut(dev).stats.rx_errors += 1,
        }
        Ok(())
    }

    /// `tun_do_read()`: the packets the stack has sent, oldest first.
    pub(crate) fn tun_do_read(&mut self, dev: DevId) -> Vec<(Nanos, Vec<u8>)> {
        match &mut self.dev_mut(dev).kind {
            DevKind::Tun(q) => q.to_user.drain(..).collect(),
            _ => Vec::new(),
        }
    }
}
