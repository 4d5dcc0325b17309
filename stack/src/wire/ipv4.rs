//! The IPv4 header (RFC 791).
//!
//! Linux: `struct iphdr` in `include/uapi/linux/ip.h`. Transmit fills it in
//! `__ip_queue_xmit()` / `ip_build_and_send_pkt()` / `__ip_make_skb()`
//! (`net/ipv4/ip_output.c`), ending with `ip_send_check()` for the header
//! checksum. Receive validates it in `ip_rcv_core()` (`net/ipv4/ip_input.c`),
//! called from `ip_rcv()`, and [`Ipv4Hdr::parse`] makes the same checks in
//! the same order so the caller can count the same counters (`Ip:` lines of
//! `/proc/net/snmp`).
//!
//! Options are not written; received options are skipped over and their
//! presence shows in [`Ipv4Hdr::ihl`].

use std::net::Ipv4Addr;

use super::checksum::checksum;
use super::{WireError, array, be16, need};

/// "Don't fragment" flag in `frag_off`.
pub const IP_DF: u16 = 0x4000;
/// "More fragments" flag in `frag_off`.
pub const IP_MF: u16 = 0x2000;
/// Fragment offset, in 8-byte units, in `frag_off`.
pub const IP_OFFSET: u16 = 0x1FFF;
/// Protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// Protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// Protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Protocol (next-header) number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// The kernel's default TTL (`IPDEFTTL`, the default of the
/// `net.ipv4.ip_default_ttl` sysctl).
pub const IPDEFTTL: u8 = 64;

/// An IPv4 header. Multi-byte fields are in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Hdr {
    /// Header length in 32-bit words. [`write`](Self::write) only writes 5
    /// (no options); [`parse`](Self::parse) accepts more and skips options.
    pub ihl: u8,
    /// Type of service: DSCP in the high six bits, ECN in the low two.
    pub tos: u8,
    /// Length of the whole datagram, header included.
    pub tot_len: u16,
    /// Identification, for reassembling fragments.
    pub id: u16,
    /// Flags ([`IP_DF`], [`IP_MF`]) and fragment offset, as on the wire.
    pub frag_off: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload: [`IPPROTO_UDP`], [`IPPROTO_ICMP`], ...
    pub protocol: u8,
    /// Header checksum. [`write`](Self::write) ignores this field and
    /// computes the right value; [`parse`](Self::parse) reports the value
    /// received (already verified).
    pub check: u16,
    /// Source address.
    pub saddr: Ipv4Addr,
    /// Destination address.
    pub daddr: Ipv4Addr,
}

impl Default for Ipv4Hdr {
    /// A 20-byte header with TTL [`IPDEFTTL`] and everything else zero.
    fn default() -> Ipv4Hdr {
        Ipv4Hdr {
            ihl: 5,
            tos: 0,
            tot_len: 0,
            id: 0,
            frag_off: 0,
            ttl: IPDEFTTL,
            protocol: 0,
            check: 0,
            saddr: Ipv4Addr::UNSPECIFIED,
            daddr: Ipv4Addr::UNSPECIFIED,
        }
    }
}

impl Ipv4Hdr {
    /// Octets of a header without options, the only kind written.
    pub const LEN: usize = 20;

    /// Header length in bytes (`ihl * 4`).
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl) * 4
    }

    /// Whether this is a fragment: MF set or a nonzero offset
    /// (`ip_is_fragment()` in `include/net/ip.h`).
    pub fn is_fragment(&self) -> bool {
        self.frag_off & (IP_MF | IP_OFFSET) != 0
    }

    /// Writes a 20-byte header (version 4, ihl 5) and its checksum, as
    /// `ip_send_check()` would. `check` is ignored.
    ///
    /// [`WireError::Truncated`] if `out` is shorter than 20 bytes;
    /// [`WireError::Unsupported`] if `ihl` is not 5, because options are not
    /// written and a header claiming them would be a lie.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        if self.ihl != 5 {
            return Err(WireError::Unsupported);
        }
        let out = &mut out[..Self::LEN];
        out[0] = 0x45;
        out[1] = self.tos;
        out[2..4].copy_from_slice(&self.tot_len.to_be_bytes());
        out[4..6].copy_from_slice(&self.id.to_be_bytes());
        out[6..8].copy_from_slice(&self.frag_off.to_be_bytes());
        out[8] = self.ttl;
        out[9] = self.protocol;
        out[10..12].copy_from_slice(&[0, 0]);
        out[12..16].copy_from_slice(&self.saddr.octets());
        out[16..20].copy_from_slice(&self.daddr.octets());
        let check = checksum(out);
        out[10..12].copy_from_slice(&check.to_be_bytes());
        Ok(())
    }

    /// Validates and reads the header at the start of `bytes`, where `bytes`
    /// is everything the link layer delivered after its own header (so it
    /// may run past `tot_len` into Ethernet padding; the caller trims to
    /// `tot_len` afterwards, as `pskb_trim_rcsum()` does).
    ///
    /// The checks are those of `ip_rcv_core()`, in its order; the first to
    /// fail decides the error and so the counter:
    ///
    /// 1. Fewer than 20 bytes (`pskb_may_pull(skb, sizeof(struct iphdr))`
    ///    fails): [`WireError::HdrError`]; count `InHdrErrors`.
    /// 2. `ihl < 5` or version not 4: [`WireError::HdrError`]; `InHdrErrors`.
    /// 3. Fewer than `ihl * 4` bytes (`pskb_may_pull(skb, iph->ihl*4)`
    ///    fails): [`WireError::HdrError`]; `InHdrErrors`. A header that
    ///    claims options that were cut off is a header error, not a
    ///    truncated packet.
    /// 4. Header checksum over `ihl * 4` bytes does not verify
    ///    (`ip_fast_csum()`): [`WireError::CsumError`]; the kernel's
    ///    `csum_error` label counts `InCsumErrors` and then falls through to
    ///    count `InHdrErrors` as well.
    /// 5. `tot_len` larger than the bytes present: [`WireError::Truncated`];
    ///    `InTruncatedPkts` only, not `InHdrErrors`.
    /// 6. `tot_len < ihl * 4`: [`WireError::HdrError`]; `InHdrErrors`.
    ///
    /// Every received datagram counts `InReceives` first, whatever follows.
    /// Nothing here looks at TTL, fragments or addresses; those are
    /// decided later (`ip_rcv_finish()`, `ip_local_deliver()`,
    /// `ip_forward()`).
    pub fn parse(bytes: &[u8]) -> Result<Ipv4Hdr, WireError> {
        if bytes.len() < Self::LEN {
            return Err(WireError::HdrError);
        }
        let version = bytes[0] >> 4;
        let ihl = bytes[0] & 0x0f;
        if ihl < 5 || version != 4 {
            return Err(WireError::HdrError);
        }
        let hlen = usize::from(ihl) * 4;
        let Some(header) = bytes.get(..hlen) else {
            return Err(WireError::HdrError);
        };
        if checksum(header) != 0 {
            return Err(WireError::CsumError);
        }
        let tot_len = be16(bytes, 2);
        if usize::from(tot_len) > bytes.len() {
            return Err(WireError::Truncated);
        }
        if usize::from(tot_len) < hlen {
            return Err(WireError::HdrError);
        }
        Ok(Ipv4Hdr {
            ihl,
            tos: bytes[1],
            tot_len,
            id: be16(bytes, 4),
            frag_off: be16(bytes, 6),
            ttl: bytes[8],
            protocol: bytes[9],
            check: be16(bytes, 10),
            saddr: Ipv4Addr::from(array::<4>(bytes, 12)),
            daddr: Ipv4Addr::from(array::<4>(bytes, 16)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The well-known example header (192.168.0.1 -> 192.168.0.199, UDP,
    /// DF, total length 115) whose checksum is b861.
    fn example() -> Ipv4Hdr {
        Ipv4Hdr {
            ihl: 5,
            tos: 0,
            tot_len: 0x73,
            id: 0,
            frag_off: IP_DF,
            ttl: 64,
            protocol: IPPROTO_UDP,
            check: 0,
            saddr: Ipv4Addr::new(192, 168, 0, 1),
            daddr: Ipv4Addr::new(192, 168, 0, 199),
        }
    }

    /// The example header followed by its payload (zeros), as received.
    fn datagram() -> Vec<u8> {
        let mut d = vec![0u8; 0x73];
        example().write(&mut d).unwrap();
        d
    }

    /// Rewrites the checksum after a deliberate corruption, so that the
    /// test reaches the checks after the checksum.
    fn fix_check(d: &mut [u8]) {
        let hlen = usize::from(d[0] & 0x0f) * 4;
        d[10..12].copy_from_slice(&[0, 0]);
        let c = checksum(&d[..hlen]);
        d[10..12].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn known_answer_bytes() {
        let d = datagram();
        assert_eq!(
            d[..20],
            [
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
            ]
        );
    }

    #[test]
    fn round_trip() {
        let d = datagram();
        let parsed = Ipv4Hdr::parse(&d).unwrap();
        assert_eq!(
            parsed,
            Ipv4Hdr {
                check: 0xb861,
                ..example()
            }
        );
        assert_eq!(parsed.header_len(), 20);
        assert!(!parsed.is_fragment());
    }

    #[test]
    fn write_refuses_short_buffer_and_options() {
        assert_eq!(example().write(&mut [0; 19]), Err(WireError::Truncated));
        let with_opts = Ipv4Hdr {
            ihl: 6,
            ..example()
        };
        assert_eq!(with_opts.write(&mut [0; 24]), Err(WireError::Unsupported));
    }

    #[test]
    fn default_is_a_plain_header() {
        let h = Ipv4Hdr::default();
        assert_eq!((h.ihl, h.ttl), (5, 64));
        let mut b = [0u8; 20];
        h.write(&mut b).unwrap();
        // tot_len 0 is below the header length.
        assert_eq!(Ipv4Hdr::parse(&b), Err(WireError::HdrError));
    }

    #[test]
    fn ethernet_padding_is_allowed() {
        let mut d = datagram();
        d.extend_from_slice(&[0xee; 10]);
        assert_eq!(Ipv4Hdr::parse(&d).unwrap().tot_len, 0x73);
    }

    #[test]
    fn options_are_skipped() {
        // ihl 6: one word of options (NOP NOP NOP EOL).
        let mut d = vec![0u8; 24 + 4];
        example().write(&mut d).unwrap();
        d.copy_within(20..24, 24);
        d[20..24].copy_from_slice(&[1, 1, 1, 0]);
        d[0] = 0x46;
        d[2..4].copy_from_slice(&28u16.to_be_bytes());
        fix_check(&mut d);
        let h = Ipv4Hdr::parse(&d).unwrap();
        assert_eq!(h.ihl, 6);
        assert_eq!(h.header_len(), 24);
        assert_eq!(h.daddr, Ipv4Addr::new(192, 168, 0, 199));
    }

    /// Check 1: not even 20 bytes.
    #[test]
    fn error_too_short_for_a_header() {
        let d = datagram();
        assert_eq!(Ipv4Hdr::parse(&d[..19]), Err(WireError::HdrError));
        assert_eq!(Ipv4Hdr::parse(&[]), Err(WireError::HdrError));
    }

    /// Check 2: version and ihl, before the checksum is even looked at.
    #[test]
    fn error_version_or_ihl() {
        let mut d = datagram();
        d[0] = 0x65;
        assert_eq!(Ipv4Hdr::parse(&d), Err(WireError::HdrError));
        fix_check(&mut d);
        assert_eq!(Ipv4Hdr::parse(&d), Err(WireError::HdrError));
        let mut d = datagram();
        d[0] = 0x44;
        fix_check(&mut d);
        assert_eq!(Ipv4Hdr::parse(&d), Err(WireError::HdrError));
    }

    /// Check 3: ihl claims more header than there are bytes.
    #[test]
    fn error_options_cut_off() {
        let mut d = datagram();
        d[0] = 0x4f; // 60-byte header
        assert_eq!(Ipv4Hdr::parse(&d[..40]), Err(WireError::HdrError));
    }

    /// Check 4: one flipped bit in the header.
    #[test]
    fn error_checksum() {
        let mut d = datagram();
        d[8] ^= 0x01; // TTL
        assert_eq!(Ipv4Hdr::parse(&d), Err(WireError::CsumError));
        // The checksum is checked before the length: a bad checksum on a
        // truncated packet is a checksum error.
        assert_eq!(Ipv4Hdr::parse(&d[..40]), Err(WireError::CsumError));
    }

    /// Check 5: tot_len says more than arrived.
    #[test]
    fn error_truncated() {
        let d = datagram();
        assert_eq!(Ipv4Hdr::parse(&d[..0x72]), Err(WireError::Truncated));
        assert_eq!(Ipv4Hdr::parse(&d[..20]), Err(WireError::Truncated));
    }

    /// Check 6: tot_len smaller than the header itself.
    #[test]
    fn error_tot_len_below_header() {
        let mut d = datagram();
        d[2..4].copy_from_slice(&19u16.to_be_bytes());
        fix_check(&mut d);
        assert_eq!(Ipv4Hdr::parse(&d), Err(WireError::HdrError));
        // Exactly the header length is a valid (empty) datagram.
        d[2..4].copy_from_slice(&20u16.to_be_bytes());
        fix_check(&mut d);
        assert_eq!(Ipv4Hdr::parse(&d).unwrap().tot_len, 20);
    }

    #[test]
    fn fragments() {
        let mf = Ipv4Hdr {
            frag_off: IP_MF,
            ..example()
        };
        let later = Ipv4Hdr {
            frag_off: 185,
            ..example()
        };
        assert!(mf.is_fragment());
        assert!(later.is_fragment());
        assert!(!example().is_fragment());
    }

    fn any_header() -> impl Strategy<Value = Ipv4Hdr> {
        (
            any::<u8>(),
            20u16..,
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
        )
            .prop_map(
                |(tos, tot_len, id, frag_off, ttl, protocol, s, d)| Ipv4Hdr {
                    ihl: 5,
                    tos,
                    tot_len,
                    id,
                    frag_off,
                    ttl,
                    protocol,
                    check: 0,
                    saddr: s.into(),
                    daddr: d.into(),
                },
            )
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Ipv4Hdr::parse(&bytes);
        }

        /// Bytes that start like a header reach the later checks.
        #[test]
        fn parse_never_panics_near_valid(
            first in 0x40u8..0x50,
            rest in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut b = vec![first];
            b.extend(rest);
            if let Ok(h) = Ipv4Hdr::parse(&b) {
                prop_assert!(h.ihl >= 5);
                prop_assert!(h.header_len() <= usize::from(h.tot_len));
                prop_assert!(usize::from(h.tot_len) <= b.len());
            }
        }

        /// Cutting a good datagram short gives the error the kernel's order
        /// predicts: a header error while even the header is incomplete,
        /// then a truncated packet until `tot_len` bytes are there.
        #[test]
        fn cutting_short(h in any_header(), cut in any::<usize>()) {
            let mut buf = vec![0u8; usize::from(h.tot_len)];
            h.write(&mut buf).unwrap();
            let n = cut % (buf.len() + 1);
            let expected = if n < Ipv4Hdr::LEN {
                Err(WireError::HdrError)
            } else if n < buf.len() {
                Err(WireError::Truncated)
            } else {
                Ok(h.tot_len)
            };
            prop_assert_eq!(Ipv4Hdr::parse(&buf[..n]).map(|p| p.tot_len), expected);
        }

        #[test]
        fn write_then_parse(h in any_header()) {
            let mut buf = vec![0u8; usize::from(h.tot_len)];
            h.write(&mut buf).unwrap();
            let parsed = Ipv4Hdr::parse(&buf).unwrap();
            prop_assert_eq!(parsed, Ipv4Hdr { check: parsed.check, ..h });
            prop_assert_eq!(checksum(&buf[..20]), 0);
        }
    }
}
