//! The packets between the script and the host under test, as bytes on the
//! tun device: building the IPv4/TCP packets a script injects, and reading
//! the ones the host sends into the fields packetdrill compares.
//!
//! The TCP options are kept as a list in wire order (the stack's
//! `TcpOptions` keeps only values), because packetdrill compares the kinds
//! one by one, NOPs included.

use std::net::Ipv4Addr;

use stack::wire::ipv4::{IPPROTO_TCP, Ipv4Hdr};
use stack::wire::tcp::fill_checksum_v4;

/// One TCP option as on the wire, sequence numbers still absolute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireOption {
    /// Kind 1.
    Nop,
    /// Kind 0.
    Eol,
    /// Kind 2.
    Mss(u16),
    /// Kind 3.
    Wscale(u8),
    /// Kind 4.
    SackOk,
    /// Kind 5: (left, right) edges.
    Sack(Vec<(u32, u32)>),
    /// Kind 8.
    Timestamp(u32, u32),
    /// Any other kind, with its body.
    Other(u8, Vec<u8>),
}

impl WireOption {
    /// The option's kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            WireOption::Eol => 0,
            WireOption::Nop => 1,
            WireOption::Mss(_) => 2,
            WireOption::Wscale(_) => 3,
            WireOption::SackOk => 4,
            WireOption::Sack(_) => 5,
            WireOption::Timestamp(..) => 8,
            WireOption::Other(k, _) => *k,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            WireOption::Eol => out.push(0),
            WireOption::Nop => out.push(1),
            WireOption::Mss(m) => out.extend([2, 4, (m >> 8) as u8, *m as u8]),
            WireOption::Wscale(w) => out.extend([3, 3, *w]),
            WireOption::SackOk => out.extend([4, 2]),
            WireOption::Sack(blocks) => {
                out.extend([5, 2 + 8 * blocks.len() as u8]);
                for (l, r) in blocks {
                    out.extend(l.to_be_bytes());
                    out.extend(r.to_be_bytes());
                }
            }
            WireOption::Timestamp(v, e) => {
                out.extend([8, 10]);
                out.extend(v.to_be_bytes());
                out.extend(e.to_be_bytes());
            }
            WireOption::Other(k, body) => {
                out.extend([*k, 2 + body.len() as u8]);
                out.extend(body);
            }
        }
    }
}

/// A TCP segment's fields, in either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpPacket {
    /// IPv4 source.
    pub saddr: Ipv4Addr,
    /// IPv4 destination.
    pub daddr: Ipv4Addr,
    /// The IP header's TOS byte (its low two bits are ECN).
    pub tos: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// The flags byte (FIN 0x01 … CWR 0x80).
    pub flags: u8,
    /// The raw window field.
    pub win: u16,
    /// The urgent pointer.
    pub urg: u16,
    /// Options in wire order.
    pub options: Vec<WireOption>,
    /// Payload length.
    pub payload_len: usize,
}

impl TcpPacket {
    /// The IPv4 packet: header with checksum, TCP header with options
    /// (padded with EOL to a multiple of 4) and checksum, and a payload of
    /// zeros.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut opts = Vec::new();
        for o in &self.options {
            o.write(&mut opts);
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let doff = (20 + opts.len()) / 4;
        let mut tcp = Vec::with_capacity(doff * 4 + self.payload_len);
        tcp.extend(self.sport.to_be_bytes());
        tcp.extend(self.dport.to_be_bytes());
        tcp.extend(self.seq.to_be_bytes());
        tcp.extend(self.ack.to_be_bytes());
        tcp.push((doff as u8) << 4);
        tcp.push(self.flags);
        tcp.extend(self.win.to_be_bytes());
        tcp.extend([0, 0]);
        tcp.extend(self.urg.to_be_bytes());
        tcp.extend(&opts);
        tcp.resize(tcp.len() + self.payload_len, 0);
        // The segment is at least 20 bytes, so this cannot fail.
        let _ = fill_checksum_v4(self.saddr, self.daddr, &mut tcp);
        let ip = Ipv4Hdr {
            tos: self.tos,
            tot_len: (Ipv4Hdr::LEN + tcp.len()) as u16,
            protocol: IPPROTO_TCP,
            saddr: self.saddr,
            daddr: self.daddr,
            ..Ipv4Hdr::default()
        };
        let mut out = vec![0; Ipv4Hdr::LEN];
        // The buffer is exactly the header's size.
        let _ = ip.write(&mut out);
        out.extend(tcp);
        out
    }

    /// Reads an IPv4 packet carrying TCP; `None` for anything else (the
    /// runner ignores what is not TCP, as packetdrill ignores packets for
    /// no socket it knows).
    pub fn parse(bytes: &[u8]) -> Option<TcpPacket> {
        let ip = Ipv4Hdr::parse(bytes).ok()?;
        if ip.protocol != IPPROTO_TCP {
            return None;
        }
        let end = (ip.tot_len as usize).min(bytes.len());
        let tcp = bytes.get(ip.header_len()..end)?;
        let be16 = |i: usize| u16::from_be_bytes([tcp[i], tcp[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([tcp[i], tcp[i + 1], tcp[i + 2], tcp[i + 3]]);
        if tcp.len() < 20 {
            return None;
        }
        let doff = (tcp[12] >> 4) as usize * 4;
        let area = tcp.get(20..doff)?;
        Some(TcpPacket {
            saddr: ip.saddr,
            daddr: ip.daddr,
            tos: ip.tos,
            sport: be16(0),
            dport: be16(2),
            seq: be32(4),
            ack: be32(8),
            flags: tcp[13],
            win: be16(14),
            urg: be16(18),
            options: parse_options(area),
            payload_len: tcp.len() - doff,
        })
    }
}

/// Walks an option area; a malformed length ends the walk, as
/// `tcp_parse_options()` does.
fn parse_options(mut area: &[u8]) -> Vec<WireOption> {
    let mut out = Vec::new();
    while let Some(&kind) = area.first() {
        match kind {
            0 => {
                out.push(WireOption::Eol);
                break;
            }
            1 => {
                out.push(WireOption::Nop);
                area = &area[1..];
                continue;
            }
            _ => {}
        }
        let Some(&len) = area.get(1) else { break };
        let len = len as usize;
        let Some(body) = area.get(2..len.max(2)) else {
            break;
        };
        if len < 2 {
            break;
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        out.push(match (kind, len) {
            (2, 4) => WireOption::Mss(u16::from_be_bytes([body[0], body[1]])),
            (3, 3) => WireOption::Wscale(body[0]),
            (4, 2) => WireOption::SackOk,
            (5, n) if n >= 10 && (n - 2) % 8 == 0 => WireOption::Sack(
                (0..(n - 2) / 8)
                    .map(|i| (u32_at(8 * i), u32_at(8 * i + 4)))
                    .collect(),
            ),
            (8, 10) => WireOption::Timestamp(u32_at(0), u32_at(4)),
            _ => WireOption::Other(kind, body.to_vec()),
        });
        area = &area[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_survives_bytes_and_back() {
        let p = TcpPacket {
            saddr: Ipv4Addr::new(192, 0, 2, 1),
            daddr: Ipv4Addr::new(192, 168, 0, 1),
            tos: 1,
            sport: 53000,
            dport: 8080,
            seq: 7,
            ack: 0,
            flags: 0x02,
            win: 32792,
            urg: 0,
            options: vec![
                WireOption::Mss(1000),
                WireOption::SackOk,
                WireOption::Timestamp(700, 0),
                WireOption::Nop,
                WireOption::Wscale(7),
            ],
            payload_len: 3,
        };
        let bytes = p.to_bytes();
        assert!(stack::wire::tcp::tcp_verify_v4(
            p.saddr,
            p.daddr,
            &bytes[20..]
        ));
        assert_eq!(TcpPacket::parse(&bytes), Some(p));
    }
}
