//! The UDP header (RFC 768) and its checksum over IPv4 and IPv6.
//!
//! Linux: `struct udphdr` in `include/uapi/linux/udp.h`. Transmit fills it in
//! `udp_send_skb()` (`net/ipv4/udp.c`) and `udp_v6_send_skb()`
//! (`net/ipv6/udp.c`); receive validates it in `__udp4_lib_rcv()` and
//! `__udp6_lib_rcv()`. Every refusal there ends at the `drop` label, which
//! counts UDP `InErrors` (`Udp:` in `/proc/net/snmp`); a checksum failure
//! also counts `InCsumErrors`.
//!
//! When the checksum is verified is itself a lesson. For a datagram with no
//! matching socket, `__udp4_lib_rcv()` verifies it before answering with
//! ICMP port unreachable (and counts `NoPorts` only if it is good). For a
//! datagram that does match a socket, the kernel normally does not verify
//! on receive at all: the datagram is queued, using receive buffer, and the
//! sum is checked while copying to user space in `udp_recvmsg()`, whose
//! `csum_copy_err` path counts `InCsumErrors` and `InErrors`, drops the
//! datagram and tries the next one (or sooner, in `first_packet_length()`,
//! if something asks the length of the next datagram first, as
//! `ioctl(FIONREAD)` does). A NIC that verified checksums, or loopback,
//! which never computes them, skips all of this.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::{CSUM_MANGLED_0, Checksum, pseudo_v4, pseudo_v6};
use super::ipv4::IPPROTO_UDP;
use super::{WireError, be16, need};

/// A UDP header. Multi-byte fields are in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UdpHdr {
    /// Source port.
    pub source: u16,
    /// Destination port.
    pub dest: u16,
    /// Length of header plus payload.
    pub len: u16,
    /// Checksum over pseudo-header, header and payload; 0 means "none" over
    /// IPv4.
    pub check: u16,
}

impl UdpHdr {
    /// Octets on the wire.
    pub const LEN: usize = 8;

    /// Writes the header as given; the checksum needs the payload and the
    /// addresses, so fill it afterwards with [`fill_checksum_v4`] or
    /// [`fill_checksum_v6`] (or compute it first and put it in `check`).
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        out[0..2].copy_from_slice(&self.source.to_be_bytes());
        out[2..4].copy_from_slice(&self.dest.to_be_bytes());
        out[4..6].copy_from_slice(&self.len.to_be_bytes());
        out[6..8].copy_from_slice(&self.check.to_be_bytes());
        Ok(())
    }

    /// Validates and reads the header of a datagram received over IPv4.
    /// `bytes` is the IP payload, already trimmed to the IP datagram's
    /// length; afterwards the caller trims it to `len`. The checks are
    /// those of `__udp4_lib_rcv()`, in order, and every failure counts UDP
    /// `InErrors`:
    ///
    /// 1. Fewer than 8 bytes (`pskb_may_pull()` fails, "no space for
    ///    header"): [`WireError::Truncated`].
    /// 2. `len` larger than the bytes present: [`WireError::BadLength`]
    ///    (`short_packet`).
    /// 3. `len` less than 8: [`WireError::BadLength`] (`short_packet`).
    ///
    /// The checksum is not checked here; see [`udp_verify_v4`] and the module
    /// documentation for when the kernel does it.
    pub fn parse(bytes: &[u8]) -> Result<UdpHdr, WireError> {
        let h = Self::read(bytes)?;
        if usize::from(h.len) > bytes.len() || usize::from(h.len) < Self::LEN {
            return Err(WireError::BadLength);
        }
        Ok(h)
    }

    /// As [`parse`](Self::parse), for a datagram received over IPv6, with
    /// `__udp6_lib_rcv()`'s one difference: a `len` of 0 is accepted and
    /// means the datagram runs to the end of `bytes` (the kernel
    /// substitutes `skb->len`, for jumbograms, whose length does not fit 16
    /// bits).
    pub fn parse_v6(bytes: &[u8]) -> Result<UdpHdr, WireError> {
        let h = Self::read(bytes)?;
        if h.len == 0 {
            return Ok(h);
        }
        Self::parse(bytes)
    }

    fn read(bytes: &[u8]) -> Result<UdpHdr, WireError> {
        need(bytes, Self::LEN)?;
        Ok(UdpHdr {
            source: be16(bytes, 0),
            dest: be16(bytes, 2),
            len: be16(bytes, 4),
            check: be16(bytes, 6),
        })
    }
}

/// Adds a datagram to a sum as if its checksum field (bytes 6 and 7) were
/// zero, so the result does not depend on what the field holds.
fn add_without_check(c: &mut Checksum, datagram: &[u8]) {
    // Skipping two bytes at an even offset leaves the pairing of the
    // following bytes unchanged.
    c.add_bytes(datagram.get(..6).unwrap_or(datagram));
    c.add_bytes(datagram.get(8..).unwrap_or(&[]));
}

/// The checksum to send for a UDP datagram over IPv4: pseudo-header
/// (`saddr`, `daddr`, 17, the datagram's length) plus `datagram`, which is
/// the header followed by the payload. Whatever the datagram's check field
/// holds is ignored. A result of 0 is returned as `0xFFFF`
/// ([`CSUM_MANGLED_0`]), as `udp_send_skb()` does, because 0 on the wire
/// means "no checksum".
pub fn udp_checksum_v4(saddr: Ipv4Addr, daddr: Ipv4Addr, datagram: &[u8]) -> u16 {
    // A UDP datagram inside IPv4 is under 64 KiB, so the length fits.
    let mut c = pseudo_v4(saddr, daddr, IPPROTO_UDP, datagram.len() as u16);
    add_without_check(&mut c, datagram);
    mangle_zero(c.finish())
}

/// The checksum to send for a UDP datagram over IPv6 (RFC 8200 section
/// 8.1 pseudo-header). As over IPv4, a computed 0 is sent as `0xFFFF`
/// (`udp_v6_send_skb()`).
pub fn udp_checksum_v6(saddr: Ipv6Addr, daddr: Ipv6Addr, datagram: &[u8]) -> u16 {
    // Slices longer than 4 GiB are not datagrams; the length is what RFC 8200
    // puts in the pseudo-header for anything real.
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_UDP, datagram.len() as u32);
    add_without_check(&mut c, datagram);
    mangle_zero(c.finish())
}

fn mangle_zero(check: u16) -> u16 {
    if check == 0 { CSUM_MANGLED_0 } else { check }
}

/// Computes [`udp_checksum_v4`] and stores it in the datagram's check
/// field. [`WireError::Truncated`] if `datagram` is shorter than a header.
pub fn fill_checksum_v4(
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    datagram: &mut [u8],
) -> Result<(), WireError> {
    super::fill_check(datagram, UdpHdr::LEN, 6, |d| {
        udp_checksum_v4(saddr, daddr, d)
    })
}

/// Computes [`udp_checksum_v6`] and stores it in the datagram's check
/// field. [`WireError::Truncated`] if `datagram` is shorter than a header.
pub fn fill_checksum_v6(
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    datagram: &mut [u8],
) -> Result<(), WireError> {
    super::fill_check(datagram, UdpHdr::LEN, 6, |d| {
        udp_checksum_v6(saddr, daddr, d)
    })
}

/// Whether a datagram received over IPv4 passes its checksum, `datagram`
/// being exactly `len` bytes (header and payload). A check field of 0 means
/// the sender did not compute one, and passes (`udp4_csum_init()` marks
/// such a datagram `CHECKSUM_UNNECESSARY`). Otherwise the sum over
/// pseudo-header and datagram must verify; if it does not, the caller
/// counts UDP `InCsumErrors` and `InErrors`. Fewer than 8 bytes is `false`.
pub fn udp_verify_v4(saddr: Ipv4Addr, daddr: Ipv4Addr, datagram: &[u8]) -> bool {
    if datagram.len() < UdpHdr::LEN {
        return false;
    }
    if be16(datagram, 6) == 0 {
        return true;
    }
    // As in `udp_checksum_v4`, the length fits for any real datagram.
    let mut c = pseudo_v4(saddr, daddr, IPPROTO_UDP, datagram.len() as u16);
    c.add_bytes(datagram);
    c.verifies()
}

/// Whether a datagram received over IPv6 passes its checksum. Here the
/// checksum is mandatory, so a check field of 0 is `false`: the kernel
/// counts it as a checksum error (`udp6_csum_zero_error()`) unless the
/// receiving socket set `UDP_NO_CHECK6_RX`, a decision made after the
/// socket lookup; a caller modelling that option tests `check == 0` before
/// calling this. Fewer than 8 bytes is `false`.
pub fn udp_verify_v6(saddr: Ipv6Addr, daddr: Ipv6Addr, datagram: &[u8]) -> bool {
    if datagram.len() < UdpHdr::LEN || be16(datagram, 6) == 0 {
        return false;
    }
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_UDP, datagram.len() as u32);
    c.add_bytes(datagram);
    c.verifies()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// 1234 -> 80, payload "hi".
    fn hi() -> Vec<u8> {
        let mut d = vec![0u8; 10];
        UdpHdr {
            source: 1234,
            dest: 80,
            len: 10,
            check: 0,
        }
        .write(&mut d)
        .unwrap();
        d[8..].copy_from_slice(b"hi");
        d
    }

    /// Worked by hand. Pseudo-header: 0a00 0001 0a00 0002 0011 000a; header:
    /// 04d2 0050 000a 0000; payload: 6869. The words sum to 81b3, so the
    /// checksum is !81b3 = 7e4c.
    #[test]
    fn known_answer_v4() {
        let mut d = hi();
        assert_eq!(udp_checksum_v4(A, B, &d), 0x7e4c);
        // The check field's contents do not matter to the computation.
        d[6] = 0xaa;
        assert_eq!(udp_checksum_v4(A, B, &d), 0x7e4c);
        fill_checksum_v4(A, B, &mut d).unwrap();
        assert_eq!(d[6..8], [0x7e, 0x4c]);
        assert!(udp_verify_v4(A, B, &d));
        // Wrong addresses: the pseudo-header catches misdelivery.
        assert!(!udp_verify_v4(A, A, &d));
    }

    /// ::1 -> ::1, same datagram. Pseudo-header words: 0001, 0001, length
    /// 0000 000a, 0011; with the header and payload (6d95) they sum to
    /// 6db2, so the checksum is 924d.
    #[test]
    fn known_answer_v6() {
        let lo = Ipv6Addr::LOCALHOST;
        let mut d = hi();
        assert_eq!(udp_checksum_v6(lo, lo, &d), 0x924d);
        fill_checksum_v6(lo, lo, &mut d).unwrap();
        assert!(udp_verify_v6(lo, lo, &d));
        d[9] ^= 0x20;
        assert!(!udp_verify_v6(lo, lo, &d));
    }

    /// A payload chosen so the sum is ffff: the computed checksum is 0 and
    /// goes on the wire as ffff, which still verifies.
    #[test]
    fn zero_checksum_is_sent_as_ffff() {
        let mut d = hi();
        d[8..].copy_from_slice(&0xe6b5u16.to_be_bytes());
        assert_eq!(udp_checksum_v4(A, B, &d), 0xFFFF);
        fill_checksum_v4(A, B, &mut d).unwrap();
        assert!(udp_verify_v4(A, B, &d));
    }

    #[test]
    fn zero_check_field_means_none_over_v4_but_is_an_error_over_v6() {
        let d = hi();
        assert!(udp_verify_v4(A, B, &d));
        let lo = Ipv6Addr::LOCALHOST;
        assert!(!udp_verify_v6(lo, lo, &d));
    }

    #[test]
    fn round_trip() {
        let d = hi();
        let h = UdpHdr::parse(&d).unwrap();
        assert_eq!(
            h,
            UdpHdr {
                source: 1234,
                dest: 80,
                len: 10,
                check: 0
            }
        );
        assert_eq!(UdpHdr::parse_v6(&d), Ok(h));
    }

    #[test]
    fn length_errors() {
        let d = hi();
        // Not even a header.
        assert_eq!(UdpHdr::parse(&d[..7]), Err(WireError::Truncated));
        assert_eq!(UdpHdr::parse_v6(&d[..7]), Err(WireError::Truncated));
        // len 10 but only 9 bytes.
        assert_eq!(UdpHdr::parse(&d[..9]), Err(WireError::BadLength));
        // len below the header size.
        let mut short = d.clone();
        short[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(UdpHdr::parse(&short), Err(WireError::BadLength));
        // len 8 is an empty datagram; bytes past len are allowed.
        short[4..6].copy_from_slice(&8u16.to_be_bytes());
        assert_eq!(UdpHdr::parse(&short).unwrap().len, 8);
        // len 0: an error over IPv4, "to the end" over IPv6.
        short[4..6].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(UdpHdr::parse(&short), Err(WireError::BadLength));
        assert_eq!(UdpHdr::parse_v6(&short).unwrap().len, 0);
        // Over IPv6 a nonzero bad len is still an error.
        short[4..6].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(UdpHdr::parse_v6(&short), Err(WireError::BadLength));
    }

    #[test]
    fn short_buffers_do_not_panic() {
        let h = UdpHdr::parse(&hi()).unwrap();
        assert_eq!(h.write(&mut [0; 7]), Err(WireError::Truncated));
        assert_eq!(
            fill_checksum_v4(A, B, &mut [0; 7]),
            Err(WireError::Truncated)
        );
        let lo = Ipv6Addr::LOCALHOST;
        assert_eq!(
            fill_checksum_v6(lo, lo, &mut [0; 3]),
            Err(WireError::Truncated)
        );
        assert!(!udp_verify_v4(A, B, &[1, 2, 3]));
        assert!(!udp_verify_v6(lo, lo, &[]));
        let _ = udp_checksum_v4(A, B, &[1, 2, 3, 4, 5, 6, 7]);
        let _ = udp_checksum_v6(lo, lo, &[]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = UdpHdr::parse(&bytes);
            let _ = UdpHdr::parse_v6(&bytes);
            let _ = udp_verify_v4(A, B, &bytes);
            let _ = udp_verify_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &bytes);
            let _ = udp_checksum_v4(A, B, &bytes);
            let _ = udp_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &bytes);
        }

        #[test]
        fn write_then_parse(source in any::<u16>(), dest in any::<u16>(), check in any::<u16>(), payload in 0usize..100) {
            let len = (UdpHdr::LEN + payload) as u16;
            let h = UdpHdr { source, dest, len, check };
            let mut d = vec![0u8; usize::from(len)];
            h.write(&mut d).unwrap();
            prop_assert_eq!(UdpHdr::parse(&d), Ok(h));
            prop_assert_eq!(UdpHdr::parse_v6(&d), Ok(h));
        }

        /// Filling then verifying succeeds for any datagram and addresses,
        /// and never leaves a 0 in the field.
        #[test]
        fn fill_then_verify(
            s in any::<[u8; 4]>(),
            d in any::<[u8; 4]>(),
            s6 in any::<[u8; 16]>(),
            d6 in any::<[u8; 16]>(),
            mut datagram in proptest::collection::vec(any::<u8>(), 8..200),
        ) {
            let (s, d, s6, d6) = (s.into(), d.into(), s6.into(), d6.into());
            fill_checksum_v4(s, d, &mut datagram).unwrap();
            prop_assert_ne!(be16(&datagram, 6), 0);
            prop_assert!(udp_verify_v4(s, d, &datagram));
            fill_checksum_v6(s6, d6, &mut datagram).unwrap();
            prop_assert_ne!(be16(&datagram, 6), 0);
            prop_assert!(udp_verify_v6(s6, d6, &datagram));
        }
    }
}
