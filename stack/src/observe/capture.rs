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

use crate::kernel::ids::DevId;
use crate::sim::time::Nanos;
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

/// A TCP segment's label in a diagram: flags, relative sequence numbers,
/// length and window, as a reader wants to see them.
pub(crate) fn tcp_label(bytes: &[u8], isn: &mut Vec<((u32, u16, u16), u32)>) -> Option<String> {
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
