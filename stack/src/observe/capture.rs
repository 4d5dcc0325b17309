//! Watching the wire: every frame a link carries is logged with when it
//! left, when it arrived (or that it was lost), and its bytes. From that log
//! come the two ways a reader looks at a conversation:
//!
//! - a capture file per host interface, as `tcpdump -i eth0 -w FILE` would
//!   write it (the kernel's taps are `dev_queue_xmit_nit()` for what leaves
//!   and `__netif_receive_skb_core()` for what arrives), which `tcpdump -r`
//!   and Wireshark open;
//! - a sequence diagram of the TCP segments between two hosts, as text for a
//!   terminal and as SVG for the book.
//!
//! Frames between the two ends of a veth pair are logged too, sent and
//! received at the same instant (`veth_xmit()` has no wire).
//!
//! Simplified: loopback traffic never reaches a wire and is not captured.

use crate::ids::{DevId, HostId};
use crate::pcap::PcapWriter;
use crate::seqdiag::{self, Arrow};
use crate::sim::time::Nanos;
use crate::sim::{Sim, World};
use crate::wire::ethernet::{ETH_P_IP, EthHdr};
use crate::wire::ipv4::{IPPROTO_TCP, Ipv4Hdr};
use crate::wire::tcp::TcpHdr;

/// One frame on a link.
#[derive(Clone, Debug)]
pub(crate) struct WireFrame {
    pub(crate) from: DevId,
    pub(crate) to: DevId,
    pub(crate) sent: Nanos,
    /// `None` when the link lost it.
    pub(crate) arrived: Option<Nanos>,
    pub(crate) bytes: Vec<u8>,
}

impl World {
    /// Logs a frame the NIC put on the wire.
    pub(crate) fn log_wire(&mut self, frame: WireFrame) {
        if self.capture_enabled {
            self.wire_log.push(frame);
        }
    }
}

/// A TCP segment's label in a diagram: flags, relative sequence numbers,
/// length and window, as a reader wants to see them.
fn tcp_label(bytes: &[u8], isn: &mut Vec<((u32, u16, u16), u32)>) -> Option<String> {
    let eth = EthHdr::parse(bytes).ok()?;
    if eth.ethertype != ETH_P_IP {
        return None;
    }
    let ip = Ipv4Hdr::parse(&bytes[EthHdr::LEN..]).ok()?;
    if ip.protocol != IPPROTO_TCP {
        return None;
    }
    let off = EthHdr::LEN + ip.ihl as usize * 4;
    let end = EthHdr::LEN + ip.tot_len as usize;
    let seg = bytes.get(off..end)?;
    let tcp = TcpHdr::parse(seg).ok()?;
    let len = seg.len() - tcp.header_len();
    // Relative numbers, as tcpdump shows them by default: from each
    // direction's initial sequence number.
    let key = |src: u32, sport: u16, dport: u16| (src, sport, dport);
    let mine = key(u32::from(ip.saddr), tcp.source, tcp.dest);
    let theirs = key(u32::from(ip.daddr), tcp.dest, tcp.source);
    if !isn.iter().any(|(k, _)| *k == mine) {
        isn.push((mine, tcp.seq));
    }
    let base = |k| isn.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
    let seq = tcp.seq.wrapping_sub(base(mine).unwrap_or(tcp.seq));
    let mut label = format!("{} seq={seq}", tcp.flags.names());
    if tcp.flags.contains(crate::wire::tcp::TcpFlags::ACK)
        && let Some(b) = base(theirs)
    {
        label.push_str(&format!(" ack={}", tcp.ack_seq.wrapping_sub(b)));
    }
    if len > 0 {
        label.push_str(&format!(" len={len}"));
    }
    label.push_str(&format!(" win={}", tcp.window));
    if let Some(m) = tcp.options.mss {
        label.push_str(&format!(" <mss {m}>"));
    }
    Some(label)
}

impl Sim {
    /// Starts logging frames on links (for captures and diagrams). It is on
    /// by default; a benchmark turns it off.
    pub fn set_capture(&mut self, on: bool) {
        self.world.borrow_mut().capture_enabled = on;
    }

    /// The frames an interface sent and received, as a pcap file
    /// (`tcpdump -i DEV -w FILE`), on a host or inside a namespace (`ip
    /// netns exec NS tcpdump -i eth0`). `None` if there is no such device.
    pub fn pcap(&self, at: impl crate::net_namespace::InNetNs, dev: &str) -> Option<Vec<u8>> {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        let id = w
            .ns(ns)
            .devs
            .iter()
            .copied()
            .find(|&d| w.dev(d).name == dev)?;
        let mut frames: Vec<(Nanos, &[u8])> = Vec::new();
        for f in &w.wire_log {
            if f.from == id {
                frames.push((f.sent, &f.bytes));
            }
            if let (true, Some(t)) = (f.to == id, f.arrived) {
                frames.push((t, &f.bytes));
            }
        }
        frames.sort_by_key(|(t, _)| *t);
        let mut pcap = PcapWriter::new();
        for (t, b) in frames {
            pcap.record(t, b);
        }
        Some(pcap.into_bytes())
    }

    fn tcp_arrows(&self, hosts: &[HostId]) -> (Vec<String>, Vec<Arrow>) {
        let w = self.world.borrow();
        let names: Vec<String> = hosts.iter().map(|&h| w.host(h).name.clone()).collect();
        let mut isn = Vec::new();
        let arrows = w
            .wire_log
            .iter()
            .filter(|f| hosts.contains(&w.dev(f.from).host) && hosts.contains(&w.dev(f.to).host))
            .filter_map(|f| {
                let label = tcp_label(&f.bytes, &mut isn)?;
                Some(Arrow {
                    sent: f.sent,
                    arrived: f.arrived,
                    from: w.host(w.dev(f.from).host).name.clone(),
                    to: w.host(w.dev(f.to).host).name.clone(),
                    label,
                })
            })
            .collect();
        (names, arrows)
    }

    /// The TCP segments between these hosts as a text sequence diagram,
    /// one column per host, in the order given.
    pub fn tcp_sequence_text(&self, hosts: &[HostId]) -> String {
        let (names, arrows) = self.tcp_arrows(hosts);
        seqdiag::text(&names, &arrows)
    }

    /// The same diagram as a standalone SVG picture.
    pub fn tcp_sequence_svg(&self, hosts: &[HostId]) -> String {
        let (names, arrows) = self.tcp_arrows(hosts);
        seqdiag::svg(&names, &arrows)
    }
}
