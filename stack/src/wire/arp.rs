//! ARP for IPv4 over Ethernet (RFC 826): "who has 10.0.0.2? tell 10.0.0.1".
//!
//! Linux: `struct arphdr` in `include/uapi/linux/if_arp.h` is only the fixed
//! 8 bytes; the four addresses follow it, sized by the device. The receive
//! path is `arp_rcv()` then `arp_process()` in `net/ipv4/arp.c`; requests are
//! built by `arp_create()` in the same file. This module knows only the
//! Ethernet/IPv4 shape (6-byte hardware and 4-byte protocol addresses), 28
//! bytes in all.

use std::net::Ipv4Addr;

use super::ethernet::{ETH_P_IP, MacAddr};
use super::{WireError, array, be16, need};

/// Hardware type Ethernet (`ARPHRD_ETHER`).
pub const ARPHRD_ETHER: u16 = 1;
/// Hardware type IEEE 802.2 (`ARPHRD_IEEE802`), which `arp_process()` also
/// accepts on an Ethernet device.
pub const ARPHRD_IEEE802: u16 = 6;
/// "Who has `tpa`?" (`ARPOP_REQUEST`).
pub const ARPOP_REQUEST: u16 = 1;
/// "`spa` is at `sha`" (`ARPOP_REPLY`).
pub const ARPOP_REPLY: u16 = 2;

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArpHdr {
    /// [`ARPOP_REQUEST`] or [`ARPOP_REPLY`].
    pub op: u16,
    /// Sender hardware address.
    pub sha: MacAddr,
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address ([`MacAddr::ZERO`] in a request).
    pub tha: MacAddr,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

impl ArpHdr {
    /// Octets on the wire: 8 fixed, then 6 + 4 + 6 + 4 of addresses
    /// (`arp_hdr_len()` for an Ethernet device).
    pub const LEN: usize = 28;

    /// Writes the packet with hardware type [`ARPHRD_ETHER`], protocol
    /// `ETH_P_IP`, and address lengths 6 and 4, as `arp_create()` does on
    /// an Ethernet device.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        out[0..2].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
        out[2..4].copy_from_slice(&ETH_P_IP.to_be_bytes());
        out[4] = 6;
        out[5] = 4;
        out[6..8].copy_from_slice(&self.op.to_be_bytes());
        out[8..14].copy_from_slice(&self.sha.0);
        out[14..18].copy_from_slice(&self.spa.octets());
        out[18..24].copy_from_slice(&self.tha.0);
        out[24..28].copy_from_slice(&self.tpa.octets());
        Ok(())
    }

    /// Reads an ARP packet received on an Ethernet device, refusing what
    /// the kernel refuses, in its order. ARP has no SNMP counters: every
    /// refusal is a silent drop (`kfree_skb_reason()`), the error only says
    /// which check failed.
    ///
    /// 1. Fewer than 28 bytes: [`WireError::Truncated`]. `arp_rcv()` first
    ///    makes sure `arp_hdr_len(dev)` bytes can be pulled.
    /// 2. Hardware address length not 6 (the device's `addr_len`) or
    ///    protocol address length not 4: [`WireError::HdrError`], the next
    ///    test in `arp_rcv()`.
    /// 3. Hardware type neither 1 (Ethernet) nor 6 (IEEE 802.2), or protocol
    ///    not `ETH_P_IP`: [`WireError::Unsupported`], from the `ARPHRD_ETHER`
    ///    case of the device-type switch in `arp_process()`.
    /// 4. Operation neither request nor reply: [`WireError::Unsupported`]
    ///    ("Understand only these message types" in `arp_process()`).
    pub fn parse(bytes: &[u8]) -> Result<ArpHdr, WireError> {
        need(bytes, Self::LEN)?;
        let (hrd, pro, hln, pln) = (be16(bytes, 0), be16(bytes, 2), bytes[4], bytes[5]);
        if hln != 6 || pln != 4 {
            return Err(WireError::HdrError);
        }
        if (hrd != ARPHRD_ETHER && hrd != ARPHRD_IEEE802) || pro != ETH_P_IP {
            return Err(WireError::Unsupported);
        }
        let op = be16(bytes, 6);
        if op != ARPOP_REQUEST && op != ARPOP_REPLY {
            return Err(WireError::Unsupported);
        }
        Ok(ArpHdr {
            op,
            sha: MacAddr(array(bytes, 8)),
            spa: Ipv4Addr::from(array::<4>(bytes, 14)),
            tha: MacAddr(array(bytes, 18)),
            tpa: Ipv4Addr::from(array::<4>(bytes, 24)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request() -> ArpHdr {
        ArpHdr {
            op: ARPOP_REQUEST,
            sha: MacAddr([2, 0, 0, 0, 0, 1]),
            spa: Ipv4Addr::new(10, 0, 0, 1),
            tha: MacAddr::ZERO,
            tpa: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    fn written(h: &ArpHdr) -> [u8; ArpHdr::LEN] {
        let mut buf = [0; ArpHdr::LEN];
        h.write(&mut buf).unwrap();
        buf
    }

    /// The bytes `tcpdump -xx` shows for "who-has 10.0.0.2 tell 10.0.0.1".
    #[test]
    fn request_layout() {
        assert_eq!(
            written(&request()),
            [
                0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0,
                0, 0, 0, 10, 0, 0, 2
            ]
        );
    }

    #[test]
    fn round_trip() {
        let req = request();
        assert_eq!(ArpHdr::parse(&written(&req)), Ok(req));
        let reply = ArpHdr {
            op: ARPOP_REPLY,
            sha: MacAddr([2, 0, 0, 0, 0, 2]),
            spa: req.tpa,
            tha: req.sha,
            tpa: req.spa,
        };
        // Trailing Ethernet padding is ignored.
        let mut padded = [0u8; 46];
        reply.write(&mut padded).unwrap();
        assert_eq!(ArpHdr::parse(&padded), Ok(reply));
    }

    #[test]
    fn refusals_in_kernel_order() {
        let good = written(&request());
        assert_eq!(ArpHdr::parse(&good[..27]), Err(WireError::Truncated));
        assert_eq!(request().write(&mut [0; 27]), Err(WireError::Truncated));

        let mut b = good;
        b[4] = 8;
        assert_eq!(ArpHdr::parse(&b), Err(WireError::HdrError));
        let mut b = good;
        b[5] = 16;
        assert_eq!(ArpHdr::parse(&b), Err(WireError::HdrError));
        // Lengths are checked (arp_rcv) before types (arp_process).
        b[0] = 0xff;
        assert_eq!(ArpHdr::parse(&b), Err(WireError::HdrError));

        let mut b = good;
        b[1] = 7;
        assert_eq!(ArpHdr::parse(&b), Err(WireError::Unsupported));
        let mut b = good;
        b[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(ArpHdr::parse(&b), Err(WireError::Unsupported));
        let mut b = good;
        b[7] = 3; // RARP request
        assert_eq!(ArpHdr::parse(&b), Err(WireError::Unsupported));
    }

    /// Linux accepts hardware type 6 (IEEE 802.2) on Ethernet as well as 1.
    #[test]
    fn ieee802_hardware_type_is_accepted() {
        let mut b = written(&request());
        b[1] = 6;
        assert_eq!(ArpHdr::parse(&b), Ok(request()));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ArpHdr::parse(&bytes);
        }

        #[test]
        fn write_then_parse(
            reply in any::<bool>(),
            sha in any::<[u8; 6]>(),
            spa in any::<[u8; 4]>(),
            tha in any::<[u8; 6]>(),
            tpa in any::<[u8; 4]>(),
        ) {
            let h = ArpHdr {
                op: if reply { ARPOP_REPLY } else { ARPOP_REQUEST },
                sha: MacAddr(sha),
                spa: spa.into(),
                tha: MacAddr(tha),
                tpa: tpa.into(),
            };
            prop_assert_eq!(ArpHdr::parse(&written(&h)), Ok(h));
        }
    }
}
