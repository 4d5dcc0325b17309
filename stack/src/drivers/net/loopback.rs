//! The loopback device, `lo` (`drivers/net/loopback.c`).
//!
//! `loopback_xmit()` is the whole driver: the packet it is asked to send
//! is orphaned from the sending socket (`skb_orphan()`: the sender's
//! `sk_wmem_alloc` drops at once, which is why a UDP sender on loopback never
//! waits for its send buffer), its Ethernet header is consumed by
//! `eth_type_trans()`, and it is handed to `netif_rx()`, the same entry
//! point a non-NAPI driver uses from its interrupt handler, which queues it
//! on this CPU's backlog and raises NET_RX. The softirq then runs as soon as
//! the sender's `dev_queue_xmit()` re-enables bottom halves, still inside
//! its `sendto()`.

use crate::kernel::ids::DevId;
use crate::kernel::world::World;
use crate::net::core::skbuff::SkBuff;
use crate::observe::trace::Layer;

impl World {
    pub(crate) fn loopback_xmit(&mut self, dev: DevId, mut skb: SkBuff) {
        let host = self.dev(dev).host;
        let len = skb.len() as u64;
        self.skb_orphan(&mut skb);
        skb.cb.csum_unnecessary = true;
        {
            let d = self.dev_mut(dev);
            d.stats.tx_packets += 1;
            d.stats.tx_bytes += len;
            d.stats.rx_packets += 1;
            d.stats.rx_bytes += len;
        }
        self.trace(host, Layer::Dev, |_w| {
            format!("lo: loopback_xmit: skb_orphan (sender's wmem released), {len} B frame turned around into netif_rx")
        });
        match self.eth_type_trans(dev, skb) {
            Some(skb) => self.netif_rx(dev, skb),
            None => self.dev_mut(dev).stats.rx_errors += 1,
        }
    }
}
