//! The IPv6 fixed header (RFC 8200).
//!
//! Linux: `struct ipv6hdr` in `include/uapi/linux/ipv6.h`. Transmit fills it
//! in `ip6_xmit()` and `ip6_make_skb()` (`net/ipv6/ip6_output.c`, via
//! `ip6_flow_hdr()`); receive validates it in `ip6_rcv_core()`
//! (`net/ipv6/ip6_input.c`), called from `ipv6_rcv()`. There is no header
//! checksum: IPv6 leaves that to the link and to the transport, which is why
//! a UDP checksum is mandatory over IPv6.
//!
//! Extension headers are not parsed here; they show up as a `next_header`
//! other than the transport protocol.

use std::net::Ipv6Addr;

use super::{WireError, array, be16, be32, need};

/// Next-header value of the Hop-by-Hop Options header (`NEXTHDR_HOP`).
pub const NEXTHDR_HOP: u8 = 0;
/// The 20 bits of the first word that hold the flow label
/// (`IPV6_FLOWLABEL_MASK`, in host order).
pub const IPV6_FLOWLABEL_MASK: u32 = 0x000F_FFFF;
/// Default hop limit (`IPV6_DEFAULT_HOPLIMIT`, the default of the
/// `net.ipv6.conf.*.hop_limit` sysctl).
pub const IPV6_DEFAULT_HOPLIMIT: u8 = 64;

/// An IPv6 fixed header. Multi-byte fields are in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Hdr {
    /// Traffic class: DSCP and ECN, like IPv4's `tos`.
    pub traffic_class: u8,
    /// Flow label; only the low 20 bits exist on the wire.
    pub flow_label: u32,
    /// Length of everything after this 40-byte header.
    pub payload_len: u16,
    /// Protocol of what follows: a transport (`IPPROTO_UDP`) or an
    /// extension header.
    pub next_header: u8,
    /// Hop limit, IPv6's TTL.
    pub hop_limit: u8,
    /// Source address.
    pub saddr: Ipv6Addr,
    /// Destination address.
    pub daddr: Ipv6Addr,
}

impl Default for Ipv6Hdr {
    /// Hop limit [`IPV6_DEFAULT_HOPLIMIT`], everything else zero.
    fn default() -> Ipv6Hdr {
        Ipv6Hdr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: 0,
            next_header: 0,
            hop_limit: IPV6_DEFAULT_HOPLIMIT,
            saddr: Ipv6Addr::UNSPECIFIED,
            daddr: Ipv6Addr::UNSPECIFIED,
        }
    }
}

impl Ipv6Hdr {
    /// Octets on the wire.
    pub const LEN: usize = 40;

    /// Writes the header. Flow-label bits above the low 20 are dropped, as
    /// the kernel masks the label with `IPV6_FLOWLABEL_MASK` before
    /// `ip6_flow_hdr()` puts it in the first word.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        let first = (6 << 28)
            | (u32::from(self.traffic_class) << 20)
            | (self.flow_label & IPV6_FLOWLABEL_MASK);
        out[0..4].copy_from_slice(&first.to_be_bytes());
        out[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        out[6] = self.next_header;
        out[7] = self.hop_limit;
        out[8..24].copy_from_slice(&self.saddr.octets());
        out[24..40].copy_from_slice(&self.daddr.octets());
        Ok(())
    }

    /// Validates and reads the header: the format checks of
    /// `ip6_rcv_core()`, in its order, without the address checks that need
    /// to know the receiving device (see [`parse_rcv`](Self::parse_rcv)).
    /// `bytes` is everything after the link-layer header, padding included.
    ///
    /// 1. Fewer than 40 bytes (`pskb_may_pull()` fails):
    ///    [`WireError::HdrError`]; count `Ip6InHdrErrors`.
    /// 2. Version not 6: [`WireError::HdrError`]; `Ip6InHdrErrors`.
    /// 3. `payload_len` 0 with a Hop-by-Hop header next: a jumbogram, whose
    ///    length is in the Jumbo Payload option that `ipv6_parse_hopopts()`
    ///    checks. Not modelled: [`WireError::Unsupported`].
    /// 4. `40 + payload_len` more than the bytes present:
    ///    [`WireError::Truncated`]; `Ip6InTruncatedPkts` only.
    ///
    /// The caller then trims to `40 + payload_len` (`pskb_trim_rcsum()`).
    pub fn parse(bytes: &[u8]) -> Result<Ipv6Hdr, WireError> {
        let h = Self::read_fixed(bytes)?;
        h.check_length(bytes.len())?;
        Ok(h)
    }

    /// Like [`parse`](Self::parse), with the address checks `ip6_rcv_core()`
    /// makes between the version check and the length check. Each failure
    /// is [`WireError::HdrError`] (`Ip6InHdrErrors`):
    ///
    /// - source or destination `::1` on a device that is not loopback
    ///   (RFC 4291 2.5.3);
    /// - a multicast destination of interface-local scope (`ff01::/16`) not
    ///   received on loopback (RFC 4291 errata 3480);
    /// - a multicast destination of reserved scope 0 (RFC 4291 2.7);
    /// - a multicast source (RFC 4291 2.7).
    ///
    /// `on_loopback_dev` says the packet came in on a loopback device
    /// (`IFF_LOOPBACK`). The kernel's further check against unicast in
    /// link-layer multicast applies only with the
    /// `drop_unicast_in_l2_multicast` sysctl, off by default, and is not
    /// made.
    pub fn parse_rcv(bytes: &[u8], on_loopback_dev: bool) -> Result<Ipv6Hdr, WireError> {
        let h = Self::read_fixed(bytes)?;
        let (s, d) = (h.saddr, h.daddr);
        if (s.is_loopback() || d.is_loopback()) && !on_loopback_dev {
            return Err(WireError::HdrError);
        }
        let d_scope = d.octets()[1] & 0x0f;
        if d.is_multicast() && d_scope == 1 && !on_loopback_dev {
            return Err(WireError::HdrError);
        }
        if d.is_multicast() && d_scope == 0 {
            return Err(WireError::HdrError);
        }
        if s.is_multicast() {
            return Err(WireError::HdrError);
        }
        h.check_length(bytes.len())?;
        Ok(h)
    }

    /// Checks 1 and 2 of [`parse`](Self::parse), then reads the fields.
    fn read_fixed(bytes: &[u8]) -> Result<Ipv6Hdr, WireError> {
        if bytes.len() < Self::LEN {
            return Err(WireError::HdrError);
        }
        let first = be32(bytes, 0);
        if first >> 28 != 6 {
            return Err(WireError::HdrError);
        }
        Ok(Ipv6Hdr {
            // The shift leaves the 8 traffic-class bits at the bottom.
            traffic_class: (first >> 20) as u8,
            flow_label: first & IPV6_FLOWLABEL_MASK,
            payload_len: be16(bytes, 4),
            next_header: bytes[6],
            hop_limit: bytes[7],
            saddr: Ipv6Addr::from(array::<16>(bytes, 8)),
            daddr: Ipv6Addr::from(array::<16>(bytes, 24)),
        })
    }

    /// Checks 3 and 4 of [`parse`](Self::parse).
    fn check_length(&self, available: usize) -> Result<(), WireError> {
        if self.payload_len == 0 && self.next_header == NEXTHDR_HOP {
            return Err(WireError::Unsupported);
        }
        if Self::LEN + usize::from(self.payload_len) > available {
            return Err(WireError::Truncated);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::IPPROTO_UDP;
    use proptest::prelude::*;

    fn example() -> Ipv6Hdr {
        Ipv6Hdr {
            traffic_class: 0xb8,
            flow_label: 0x12345,
            payload_len: 12,
            next_header: IPPROTO_UDP,
            hop_limit: 64,
            saddr: "fd00::1".parse().unwrap(),
            daddr: "fd00::2".parse().unwrap(),
        }
    }

    fn packet(h: &Ipv6Hdr) -> Vec<u8> {
        let mut p = vec![0u8; 40 + usize::from(h.payload_len)];
        h.write(&mut p).unwrap();
        p
    }

    #[test]
    fn layout_and_round_trip() {
        let p = packet(&example());
        // version 6, class b8, label 12345: 6 b8 12345
        assert_eq!(p[..8], [0x6b, 0x81, 0x23, 0x45, 0x00, 0x0c, 17, 64]);
        assert_eq!(p[8], 0xfd);
        assert_eq!(p[23], 1);
        assert_eq!(p[39], 2);
        assert_eq!(Ipv6Hdr::parse(&p), Ok(example()));
        assert_eq!(Ipv6Hdr::parse_rcv(&p, false), Ok(example()));
    }

    #[test]
    fn flow_label_is_masked_on_write() {
        let h = Ipv6Hdr {
            flow_label: 0xFFF0_0001,
            ..example()
        };
        let p = packet(&h);
        assert_eq!(Ipv6Hdr::parse(&p).unwrap().flow_label, 1);
        assert_eq!(p[0], 0x6b, "label bits leaked into version/class");
    }

    #[test]
    fn write_short_buffer() {
        assert_eq!(example().write(&mut [0; 39]), Err(WireError::Truncated));
    }

    #[test]
    fn errors_in_kernel_order() {
        let p = packet(&example());
        assert_eq!(Ipv6Hdr::parse(&p[..39]), Err(WireError::HdrError));
        let mut v4 = p.clone();
        v4[0] = 0x4b;
        assert_eq!(Ipv6Hdr::parse(&v4), Err(WireError::HdrError));
        // Version is checked before length.
        assert_eq!(Ipv6Hdr::parse(&v4[..41]), Err(WireError::HdrError));
        assert_eq!(Ipv6Hdr::parse(&p[..51]), Err(WireError::Truncated));
        // Padding after the payload is fine.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 8]);
        assert_eq!(Ipv6Hdr::parse(&padded), Ok(example()));
    }

    #[test]
    fn jumbogram_is_unsupported_but_empty_payload_is_fine() {
        let jumbo = Ipv6Hdr {
            payload_len: 0,
            next_header: NEXTHDR_HOP,
            ..example()
        };
        assert_eq!(Ipv6Hdr::parse(&packet(&jumbo)), Err(WireError::Unsupported));
        let empty = Ipv6Hdr {
            payload_len: 0,
            next_header: 59, // NEXTHDR_NONE
            ..example()
        };
        assert_eq!(Ipv6Hdr::parse(&packet(&empty)), Ok(empty));
    }

    #[test]
    fn address_checks() {
        let with = |s: &str, d: &str| Ipv6Hdr {
            saddr: s.parse().unwrap(),
            daddr: d.parse().unwrap(),
            ..example()
        };
        let rcv = |h: Ipv6Hdr, lo: bool| Ipv6Hdr::parse_rcv(&packet(&h), lo);

        // Loopback addresses only on the loopback device.
        assert_eq!(rcv(with("::1", "::1"), true), Ok(with("::1", "::1")));
        assert_eq!(rcv(with("fd00::1", "::1"), false), Err(WireError::HdrError));
        assert_eq!(rcv(with("::1", "fd00::1"), false), Err(WireError::HdrError));
        // Interface-local multicast only on loopback.
        assert_eq!(
            rcv(with("fd00::1", "ff01::1"), false),
            Err(WireError::HdrError)
        );
        assert!(rcv(with("fd00::1", "ff01::1"), true).is_ok());
        // Link-local multicast is fine anywhere.
        assert!(rcv(with("fe80::1", "ff02::1"), false).is_ok());
        // Reserved scope 0 never.
        assert_eq!(
            rcv(with("fd00::1", "ff00::1"), true),
            Err(WireError::HdrError)
        );
        // Multicast source never.
        assert_eq!(
            rcv(with("ff02::1", "fd00::1"), true),
            Err(WireError::HdrError)
        );
        // `parse` alone does not look at addresses.
        assert!(Ipv6Hdr::parse(&packet(&with("ff02::1", "::1"))).is_ok());
        // Address checks come before the length check.
        let bad = packet(&with("ff02::1", "fd00::1"));
        assert_eq!(
            Ipv6Hdr::parse_rcv(&bad[..40], true),
            Err(WireError::HdrError)
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100), lo in any::<bool>()) {
            let _ = Ipv6Hdr::parse(&bytes);
            let _ = Ipv6Hdr::parse_rcv(&bytes, lo);
        }

        #[test]
        fn write_then_parse(
            traffic_class in any::<u8>(),
            flow_label in 0u32..=IPV6_FLOWLABEL_MASK,
            payload_len in 1u16..600,
            next_header in any::<u8>(),
            hop_limit in any::<u8>(),
            s in any::<[u8; 16]>(),
            d in any::<[u8; 16]>(),
        ) {
            let h = Ipv6Hdr {
                traffic_class,
                flow_label,
                payload_len,
                next_header,
                hop_limit,
                saddr: s.into(),
                daddr: d.into(),
            };
            prop_assert_eq!(Ipv6Hdr::parse(&packet(&h)), Ok(h));
        }
    }
}
