//! The Ethernet II header: destination MAC, source MAC, EtherType.
//!
//! Linux: `struct ethhdr` in `include/uapi/linux/if_ether.h`. On transmit,
//! `eth_header()` (`net/ethernet/eth.c`, reached through
//! `dev_hard_header()` from the neighbour layer) pushes it; on receive the
//! driver calls `eth_type_trans()`, which classifies the destination
//! (`PACKET_HOST`, `PACKET_BROADCAST`, `PACKET_MULTICAST`,
//! `PACKET_OTHERHOST`), pulls the 14 bytes, and returns the EtherType that
//! `__netif_receive_skb_core()` uses to pick `ip_rcv`, `arp_rcv` or
//! `ipv6_rcv`. The frame check sequence is added and stripped by the NIC and
//! never appears here.

use std::fmt;

use super::{WireError, array, be16, need};

/// Octets in a MAC address (`ETH_ALEN`).
pub const ETH_ALEN: usize = 6;
/// Octets in the Ethernet header (`ETH_HLEN`).
pub const ETH_HLEN: usize = 14;
/// Minimum frame length without the FCS (`ETH_ZLEN`): shorter frames are
/// padded with zeros before they go on the wire, so a receiver can see
/// bytes past the end of the IP datagram, which `ip_rcv_core()` trims.
pub const ETH_ZLEN: usize = 60;
/// Maximum payload, the default MTU (`ETH_DATA_LEN`).
pub const ETH_DATA_LEN: usize = 1500;
/// EtherType of IPv4 (`ETH_P_IP`).
pub const ETH_P_IP: u16 = 0x0800;
/// EtherType of ARP (`ETH_P_ARP`).
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType of IPv6 (`ETH_P_IPV6`).
pub const ETH_P_IPV6: u16 = 0x86DD;
/// Values below this in the EtherType position are 802.3 lengths, not
/// types (`ETH_P_802_3_MIN`); `eth_type_trans()` treats them as 802.2 LLC.
pub const ETH_P_802_3_MIN: u16 = 0x0600;

/// A 48-bit MAC address, printed the way `ip link` prints it:
/// `02:00:00:00:00:01`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`, every station on the segment.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`, what an ARP request puts in the target hardware
    /// address it is asking for.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// All ones (`is_broadcast_ether_addr()`).
    pub fn is_broadcast(self) -> bool {
        self == MacAddr::BROADCAST
    }

    /// The group bit, the low bit of the first octet, is set
    /// (`is_multicast_ether_addr()`); broadcast is a multicast address too.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The Ethernet II header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EthHdr {
    /// Destination station.
    pub dst: MacAddr,
    /// Source station.
    pub src: MacAddr,
    /// Protocol of the payload: [`ETH_P_IP`], [`ETH_P_ARP`], [`ETH_P_IPV6`].
    pub ethertype: u16,
}

impl EthHdr {
    /// Octets on the wire.
    pub const LEN: usize = ETH_HLEN;

    /// Writes the header into the first [`LEN`](Self::LEN) bytes of `out`.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        out[0..6].copy_from_slice(&self.dst.0);
        out[6..12].copy_from_slice(&self.src.0);
        out[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
        Ok(())
    }

    /// Reads the header from the start of a frame. Only the length is
    /// checked ([`WireError::Truncated`] below 14 bytes): `eth_type_trans()`
    /// refuses nothing, it only classifies, and dispatching on the
    /// EtherType is the caller's job.
    pub fn parse(bytes: &[u8]) -> Result<EthHdr, WireError> {
        need(bytes, Self::LEN)?;
        Ok(EthHdr {
            dst: MacAddr(array(bytes, 0)),
            src: MacAddr(array(bytes, 6)),
            ethertype: be16(bytes, 12),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mac_display() {
        assert_eq!(MacAddr([2, 0, 0, 0, 0, 1]).to_string(), "02:00:00:00:00:01");
        assert_eq!(
            MacAddr([0xde, 0xad, 0xBE, 0xef, 0x0a, 0xff]).to_string(),
            "de:ad:be:ef:0a:ff"
        );
        assert_eq!(MacAddr::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
        assert_eq!(MacAddr::ZERO.to_string(), "00:00:00:00:00:00");
    }

    #[test]
    fn mac_classes() {
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]).is_multicast());
        assert!(!MacAddr([0x02, 0, 0, 0, 0, 1]).is_multicast());
        assert!(!MacAddr::ZERO.is_broadcast());
    }

    #[test]
    fn round_trip_and_layout() {
        let h = EthHdr {
            dst: MacAddr::BROADCAST,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            ethertype: ETH_P_ARP,
        };
        let mut buf = [0u8; 20];
        h.write(&mut buf).unwrap();
        assert_eq!(
            buf[..14],
            [
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06
            ]
        );
        assert_eq!(buf[14..], [0; 6], "write touched bytes past LEN");
        assert_eq!(EthHdr::parse(&buf), Ok(h));
    }

    #[test]
    fn short_buffers() {
        let h = EthHdr {
            dst: MacAddr::ZERO,
            src: MacAddr::ZERO,
            ethertype: ETH_P_IP,
        };
        assert_eq!(h.write(&mut [0; 13]), Err(WireError::Truncated));
        assert_eq!(EthHdr::parse(&[0; 13]), Err(WireError::Truncated));
        assert_eq!(EthHdr::parse(&[]), Err(WireError::Truncated));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = EthHdr::parse(&bytes);
        }

        #[test]
        fn write_then_parse(dst in any::<[u8; 6]>(), src in any::<[u8; 6]>(), ethertype in any::<u16>()) {
            let h = EthHdr { dst: MacAddr(dst), src: MacAddr(src), ethertype };
            let mut buf = [0u8; EthHdr::LEN];
            h.write(&mut buf).unwrap();
            prop_assert_eq!(EthHdr::parse(&buf), Ok(h));
        }
    }
}
