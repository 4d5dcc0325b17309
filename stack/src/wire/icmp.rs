//! The ICMP header, for ICMPv4 (RFC 792) and ICMPv6 (RFC 4443): type, code,
//! checksum, and four bytes whose meaning depends on the type (identifier
//! and sequence number for echo, unused for port unreachable).
//!
//! Linux: `struct icmphdr` (`include/uapi/linux/icmp.h`) and
//! `struct icmp6hdr` (`include/uapi/linux/icmpv6.h`) share this 8-byte
//! shape. Errors such as port unreachable are sent by `icmp_send()`
//! (`net/ipv4/icmp.c`, called from `__udp4_lib_rcv()` when no socket
//! matches) and `icmp6_send()` (`net/ipv6/icmp.c`); received messages go
//! through `icmp_rcv()` and `icmpv6_rcv()`. The checksums differ: ICMPv4
//! sums only the ICMP message, ICMPv6 also sums the IPv6 pseudo-header.

use std::net::Ipv6Addr;

use super::checksum::{Checksum, checksum, pseudo_v6};
use super::ipv4::IPPROTO_ICMPV6;
use super::{WireError, array, be16, need};

/// ICMPv4 echo reply (`ICMP_ECHOREPLY`).
pub const ICMP_ECHOREPLY: u8 = 0;
/// ICMPv4 destination unreachable (`ICMP_DEST_UNREACH`).
pub const ICMP_DEST_UNREACH: u8 = 3;
/// ICMPv4 echo request (`ICMP_ECHO`).
pub const ICMP_ECHO: u8 = 8;
/// ICMPv4 time exceeded (`ICMP_TIME_EXCEEDED`).
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// Destination-unreachable code: network unreachable (`ICMP_NET_UNREACH`).
pub const ICMP_NET_UNREACH: u8 = 0;
/// Destination-unreachable code: host unreachable (`ICMP_HOST_UNREACH`).
pub const ICMP_HOST_UNREACH: u8 = 1;
/// Destination-unreachable code: protocol unreachable (`ICMP_PROT_UNREACH`).
pub const ICMP_PROT_UNREACH: u8 = 2;
/// Destination-unreachable code: port unreachable (`ICMP_PORT_UNREACH`),
/// the answer to a UDP datagram for a port nobody has bound.
pub const ICMP_PORT_UNREACH: u8 = 3;
/// Destination-unreachable code: fragmentation needed but DF set
/// (`ICMP_FRAG_NEEDED`).
pub const ICMP_FRAG_NEEDED: u8 = 4;
/// The highest ICMPv4 type `icmp_rcv()` knows (`NR_ICMP_TYPES`); higher
/// types are dropped and counted as `InErrors`.
pub const NR_ICMP_TYPES: u8 = 18;

/// ICMPv6 destination unreachable (`ICMPV6_DEST_UNREACH`).
pub const ICMPV6_DEST_UNREACH: u8 = 1;
/// ICMPv6 echo request (`ICMPV6_ECHO_REQUEST`).
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply (`ICMPV6_ECHO_REPLY`).
pub const ICMPV6_ECHO_REPLY: u8 = 129;
/// ICMPv6 destination-unreachable code: no route (`ICMPV6_NOROUTE`).
pub const ICMPV6_NOROUTE: u8 = 0;
/// ICMPv6 destination-unreachable code: address unreachable
/// (`ICMPV6_ADDR_UNREACH`).
pub const ICMPV6_ADDR_UNREACH: u8 = 3;
/// ICMPv6 destination-unreachable code: port unreachable
/// (`ICMPV6_PORT_UNREACH`).
pub const ICMPV6_PORT_UNREACH: u8 = 4;

/// An ICMP or ICMPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IcmpHdr {
    /// Message type.
    pub icmp_type: u8,
    /// Subtype, e.g. [`ICMP_PORT_UNREACH`] under [`ICMP_DEST_UNREACH`].
    pub code: u8,
    /// Checksum, host order; see [`icmp_checksum`] and [`icmpv6_checksum`].
    pub checksum: u16,
    /// The type-specific second word, as on the wire.
    pub rest: [u8; 4],
}

impl IcmpHdr {
    /// Octets on the wire.
    pub const LEN: usize = 8;

    /// An echo request or reply header (checksum 0, to be filled), with the
    /// identifier and sequence number in `rest`.
    pub fn echo(icmp_type: u8, id: u16, seq: u16) -> IcmpHdr {
        let [a, b] = id.to_be_bytes();
        let [c, d] = seq.to_be_bytes();
        IcmpHdr {
            icmp_type,
            code: 0,
            checksum: 0,
            rest: [a, b, c, d],
        }
    }

    /// The echo identifier: the first half of `rest`.
    pub fn echo_id(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }

    /// The echo sequence number: the second half of `rest`.
    pub fn echo_seq(&self) -> u16 {
        u16::from_be_bytes([self.rest[2], self.rest[3]])
    }

    /// Writes the header as given, checksum included; compute it over the
    /// whole message afterwards with [`fill_checksum`] or
    /// [`fill_checksum_v6`].
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, Self::LEN)?;
        out[0] = self.icmp_type;
        out[1] = self.code;
        out[2..4].copy_from_slice(&self.checksum.to_be_bytes());
        out[4..8].copy_from_slice(&self.rest);
        Ok(())
    }

    /// Reads the header; only the length is checked
    /// ([`WireError::Truncated`] below 8 bytes). For the receive path's
    /// full sequence use [`parse_rcv`](Self::parse_rcv) or
    /// [`parse_rcv_v6`](Self::parse_rcv_v6).
    pub fn parse(bytes: &[u8]) -> Result<IcmpHdr, WireError> {
        need(bytes, Self::LEN)?;
        Ok(IcmpHdr {
            icmp_type: bytes[0],
            code: bytes[1],
            checksum: be16(bytes, 2),
            rest: array(bytes, 4),
        })
    }

    /// Checks an ICMPv4 message (the whole IP payload) as `icmp_rcv()`
    /// does, in its order. `InMsgs` counts every message first; then:
    ///
    /// 1. The checksum over the whole message does not verify
    ///    (`skb_checksum_simple_validate()`): [`WireError::CsumError`];
    ///    count `InCsumErrors` and `InErrors`.
    /// 2. Fewer than 8 bytes (`pskb_pull()` fails):
    ///    [`WireError::Truncated`]; `InErrors`.
    /// 3. Type above [`NR_ICMP_TYPES`] (RFC 1122 3.2.2: unknown types are
    ///    silently discarded): [`WireError::Unsupported`]; `InErrors`.
    ///
    /// The checksum comes first, so a message too short for a header is
    /// usually a checksum error.
    pub fn parse_rcv(message: &[u8]) -> Result<IcmpHdr, WireError> {
        if !icmp_verify(message) {
            return Err(WireError::CsumError);
        }
        let h = Self::parse(message)?;
        if h.icmp_type > NR_ICMP_TYPES {
            return Err(WireError::Unsupported);
        }
        Ok(h)
    }

    /// Checks an ICMPv6 message as `icmpv6_rcv()` does: the checksum with
    /// the pseudo-header first ([`WireError::CsumError`]; count
    /// `Icmp6InCsumErrors` and `Icmp6InErrors`), then the length
    /// ([`WireError::Truncated`]; `Icmp6InErrors`). Unknown types are not
    /// an error at this stage.
    pub fn parse_rcv_v6(
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        message: &[u8],
    ) -> Result<IcmpHdr, WireError> {
        if !icmpv6_verify(saddr, daddr, message) {
            return Err(WireError::CsumError);
        }
        Self::parse(message)
    }
}

/// Adds a message to a sum as if its checksum field (bytes 2 and 3) were
/// zero.
fn add_without_check(c: &mut Checksum, message: &[u8]) {
    // Skipping two bytes at an even offset keeps later bytes paired alike.
    c.add_bytes(message.get(..2).unwrap_or(message));
    c.add_bytes(message.get(4..).unwrap_or(&[]));
}

/// The ICMPv4 checksum for `message` (header and data), ignoring whatever
/// its checksum field holds. There is no pseudo-header and no "no checksum"
/// value, so unlike UDP a result of 0 is sent as 0.
pub fn icmp_checksum(message: &[u8]) -> u16 {
    let mut c = Checksum::new();
    add_without_check(&mut c, message);
    c.finish()
}

/// The ICMPv6 checksum for `message`, over the IPv6 pseudo-header (next
/// header 58) and the message, ignoring its checksum field.
pub fn icmpv6_checksum(saddr: Ipv6Addr, daddr: Ipv6Addr, message: &[u8]) -> u16 {
    // Anything longer than 4 GiB is not a message; the length is exact for
    // every real one.
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_ICMPV6, message.len() as u32);
    add_without_check(&mut c, message);
    c.finish()
}

/// Stores [`icmp_checksum`] in the message's checksum field.
pub fn fill_checksum(message: &mut [u8]) -> Result<(), WireError> {
    super::fill_check(message, IcmpHdr::LEN, 2, icmp_checksum)
}

/// Stores [`icmpv6_checksum`] in the message's checksum field.
pub fn fill_checksum_v6(
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    message: &mut [u8],
) -> Result<(), WireError> {
    super::fill_check(message, IcmpHdr::LEN, 2, |m| {
        icmpv6_checksum(saddr, daddr, m)
    })
}

/// Whether an ICMPv4 message's checksum verifies. Works on any length, as
/// the kernel's check does: an empty message does not verify.
pub fn icmp_verify(message: &[u8]) -> bool {
    checksum(message) == 0
}

/// Whether an ICMPv6 message's checksum, pseudo-header included, verifies.
pub fn icmpv6_verify(saddr: Ipv6Addr, daddr: Ipv6Addr, message: &[u8]) -> bool {
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_ICMPV6, message.len() as u32);
    c.add_bytes(message);
    c.verifies()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(h: IcmpHdr, data: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; IcmpHdr::LEN + data.len()];
        h.write(&mut m).unwrap();
        m[IcmpHdr::LEN..].copy_from_slice(data);
        m
    }

    /// `ping` with id 1, seq 1 and no data: the words are 0800 0000 0001
    /// 0001, summing to 0802, so the checksum is f7fd.
    #[test]
    fn known_answer_echo() {
        let mut m = message(IcmpHdr::echo(ICMP_ECHO, 1, 1), &[]);
        assert_eq!(icmp_checksum(&m), 0xf7fd);
        fill_checksum(&mut m).unwrap();
        assert_eq!(m, [8, 0, 0xf7, 0xfd, 0, 1, 0, 1]);
        let h = IcmpHdr::parse_rcv(&m).unwrap();
        assert_eq!((h.echo_id(), h.echo_seq(), h.checksum), (1, 1, 0xf7fd));
    }

    /// Echo request ::1 -> ::1, id 1, seq 1, no data. Pseudo-header words
    /// 0001 0001 0000 0008 003a sum to 0044; the message words 8000 0000
    /// 0001 0001 to 8002; together 8046, so the checksum is 7fb9.
    #[test]
    fn known_answer_echo_v6() {
        let lo = Ipv6Addr::LOCALHOST;
        let mut m = message(IcmpHdr::echo(ICMPV6_ECHO_REQUEST, 1, 1), &[]);
        assert_eq!(icmpv6_checksum(lo, lo, &m), 0x7fb9);
        fill_checksum_v6(lo, lo, &mut m).unwrap();
        assert!(icmpv6_verify(lo, lo, &m));
        // The pseudo-header binds the checksum to the addresses.
        let other: Ipv6Addr = "::2".parse().unwrap();
        assert!(!icmpv6_verify(lo, other, &m));
        assert_eq!(IcmpHdr::parse_rcv_v6(lo, lo, &m).unwrap().echo_seq(), 1);
    }

    #[test]
    fn port_unreachable_round_trip() {
        // The data of an ICMP error is the offending IP header and the first
        // 8 bytes of its payload; any bytes do here.
        let h = IcmpHdr {
            icmp_type: ICMP_DEST_UNREACH,
            code: ICMP_PORT_UNREACH,
            checksum: 0,
            rest: [0; 4],
        };
        let mut m = message(h, &[0x45; 28]);
        fill_checksum(&mut m).unwrap();
        let parsed = IcmpHdr::parse_rcv(&m).unwrap();
        assert_eq!(
            parsed,
            IcmpHdr {
                checksum: parsed.checksum,
                ..h
            }
        );
        assert_eq!(IcmpHdr::parse(&m), Ok(parsed));
    }

    #[test]
    fn rcv_checks_in_kernel_order() {
        let mut m = message(IcmpHdr::echo(ICMP_ECHO, 7, 9), b"payload!");
        fill_checksum(&mut m).unwrap();
        assert!(IcmpHdr::parse_rcv(&m).is_ok());

        let mut bad = m.clone();
        bad[12] ^= 0x80;
        assert_eq!(IcmpHdr::parse_rcv(&bad), Err(WireError::CsumError));

        // Six bytes whose checksum verifies: past the checksum, then too
        // short.
        let mut short = [8u8, 0, 0, 0, 0, 1];
        let ck = checksum(&short);
        short[2..4].copy_from_slice(&ck.to_be_bytes());
        assert!(icmp_verify(&short));
        assert_eq!(IcmpHdr::parse_rcv(&short), Err(WireError::Truncated));
        // Shorter still and not verifying: the checksum is what fails.
        assert_eq!(IcmpHdr::parse_rcv(&[8, 0, 1]), Err(WireError::CsumError));
        assert_eq!(IcmpHdr::parse_rcv(&[]), Err(WireError::CsumError));

        let mut unknown = message(
            IcmpHdr {
                icmp_type: NR_ICMP_TYPES + 1,
                code: 0,
                checksum: 0,
                rest: [0; 4],
            },
            &[],
        );
        fill_checksum(&mut unknown).unwrap();
        assert_eq!(IcmpHdr::parse_rcv(&unknown), Err(WireError::Unsupported));
        assert!(IcmpHdr::parse(&unknown).is_ok());
    }

    #[test]
    fn short_buffers() {
        assert_eq!(IcmpHdr::parse(&[0; 7]), Err(WireError::Truncated));
        let h = IcmpHdr::echo(ICMP_ECHO, 0, 0);
        assert_eq!(h.write(&mut [0; 7]), Err(WireError::Truncated));
        assert_eq!(fill_checksum(&mut [0; 7]), Err(WireError::Truncated));
        let lo = Ipv6Addr::LOCALHOST;
        assert_eq!(
            fill_checksum_v6(lo, lo, &mut [0; 2]),
            Err(WireError::Truncated)
        );
        let _ = icmp_checksum(&[1]);
        let _ = icmpv6_checksum(lo, lo, &[]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let lo = Ipv6Addr::LOCALHOST;
            let _ = IcmpHdr::parse(&bytes);
            let _ = IcmpHdr::parse_rcv(&bytes);
            let _ = IcmpHdr::parse_rcv_v6(lo, lo, &bytes);
            let _ = icmp_checksum(&bytes);
            let _ = icmpv6_checksum(lo, lo, &bytes);
        }

        #[test]
        fn write_then_parse(
            icmp_type in any::<u8>(),
            code in any::<u8>(),
            ck in any::<u16>(),
            rest in any::<[u8; 4]>(),
        ) {
            let h = IcmpHdr { icmp_type, code, checksum: ck, rest };
            let mut b = [0u8; IcmpHdr::LEN];
            h.write(&mut b).unwrap();
            prop_assert_eq!(IcmpHdr::parse(&b), Ok(h));
        }

        #[test]
        fn fill_then_verify(
            mut m in proptest::collection::vec(any::<u8>(), 8..200),
            s in any::<[u8; 16]>(),
            d in any::<[u8; 16]>(),
        ) {
            fill_checksum(&mut m).unwrap();
            prop_assert!(icmp_verify(&m));
            let (s, d) = (Ipv6Addr::from(s), Ipv6Addr::from(d));
            fill_checksum_v6(s, d, &mut m).unwrap();
            prop_assert!(icmpv6_verify(s, d, &m));
        }
    }
}
