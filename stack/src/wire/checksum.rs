//! The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
//! complement sum of the data taken as big-endian 16-bit words.
//!
//! IPv4 puts it over its header, UDP and ICMPv6 over a "pseudo-header" (the
//! addresses, protocol and length from the IP layer) plus the whole
//! datagram, and ICMPv4 over the ICMP message alone. In Linux the arithmetic
//! is `csum_partial()` (`arch/x86/lib/csum-partial_64.c`, generic version in
//! `lib/checksum.c`), folded by `csum_fold()`; `ip_fast_csum()` is the
//! header-only shortcut `ip_rcv_core()` uses; the pseudo-headers are
//! `csum_tcpudp_magic()` (`include/asm-generic/checksum.h`, x86 version in
//! `arch/x86/include/asm/checksum_64.h`) and `csum_ipv6_magic()`
//! (`net/ipv6/ip6_checksum.c`).
//!
//! A receiver verifies by summing everything, checksum field included: the
//! folded sum of correct data is `0xFFFF` (the kernel tests that
//! `csum_fold()` of it, the complement, is zero).

use std::net::{Ipv4Addr, Ipv6Addr};

/// What UDP sends when the checksum it computed is zero, because a zero on
/// the wire means "no checksum" (RFC 768). `0xFFFF` is zero's other one's
/// complement spelling, so it verifies the same. Kernel: `CSUM_MANGLED_0` in
/// `include/net/checksum.h`, applied in `udp_send_skb()`.
pub const CSUM_MANGLED_0: u16 = 0xFFFF;

/// The checksum to store for `data`: `!sum` of its 16-bit words, with an odd
/// trailing byte padded by a zero byte.
pub fn checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

/// A running one's complement sum, for data that arrives in pieces (a
/// pseudo-header, then a header, then a payload) the way the kernel chains
/// `csum_partial()` calls through `skb->csum`.
///
/// Pieces may have odd lengths: a byte left over at the end of one piece is
/// paired with the first byte of the next, so summing in pieces always
/// equals summing the concatenation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Folded to at most 16 significant bits after every call.
    sum: u32,
    /// The high byte of a word whose low byte has not arrived yet.
    pending: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Checksum {
        Checksum {
            sum: 0,
            pending: None,
        }
    }

    /// Adds bytes, in stream order.
    pub fn add_bytes(&mut self, data: &[u8]) -> &mut Checksum {
        let mut acc = u64::from(self.sum);
        let mut rest = data;
        if let Some(hi) = self.pending {
            match rest.split_first() {
                Some((&lo, tail)) => {
                    acc += u64::from(u16::from_be_bytes([hi, lo]));
                    self.pending = None;
                    rest = tail;
                }
                None => return self,
            }
        }
        let mut words = rest.chunks_exact(2);
        for w in &mut words {
            acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            self.pending = Some(*last);
        }
        self.sum = fold(acc);
        self
    }

    /// Adds a 16-bit value as two bytes in network order.
    pub fn add_u16(&mut self, v: u16) -> &mut Checksum {
        self.add_bytes(&v.to_be_bytes())
    }

    /// Adds a 32-bit value as four bytes in network order.
    pub fn add_u32(&mut self, v: u32) -> &mut Checksum {
        self.add_bytes(&v.to_be_bytes())
    }

    /// The folded one's complement sum so far (not complemented), with a
    /// pending odd byte padded by zero.
    pub fn sum(&self) -> u16 {
        let mut acc = u64::from(self.sum);
        if let Some(hi) = self.pending {
            acc += u64::from(u16::from_be_bytes([hi, 0]));
        }
        // `fold` leaves at most 16 significant bits.
        fold(acc) as u16
    }

    /// The checksum to store: the complement of [`sum`](Self::sum).
    pub fn finish(&self) -> u16 {
        !self.sum()
    }

    /// Whether data that included its own checksum field verifies: its
    /// folded sum is `0xFFFF`, i.e. [`finish`](Self::finish) is zero. This is
    /// the kernel's `csum_fold(...) == 0` test.
    pub fn verifies(&self) -> bool {
        self.finish() == 0
    }
}

/// Adds the carries back in (end-around carry) until 16 bits remain.
fn fold(mut acc: u64) -> u32 {
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    // The loop leaves at most 16 significant bits.
    acc as u32
}

/// The IPv4 pseudo-header sum (RFC 768): source, destination, a zero byte,
/// the protocol and the transport length (UDP header plus payload). Add the
/// transport header and payload to it, then `finish`.
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_bytes(&[0, proto])
        .add_u16(len);
    c
}

/// The IPv6 pseudo-header sum (RFC 8200 section 8.1): source, destination,
/// the upper-layer length as 32 bits, three zero bytes and the next-header
/// value. The length is 32 bits here (unlike IPv4's 16) because RFC 8200
/// defines it so; `csum_ipv6_magic()` takes a `__u32 len` too.
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: u32) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(len)
        .add_bytes(&[0, 0, 0, next_header]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The worked example of RFC 1071 section 3: the words 0001 f203 f4f5
    /// f6f7 sum to 2ddf0, which folds to ddf2; the checksum is its
    /// complement.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        let mut c = Checksum::new();
        c.add_bytes(&data);
        assert_eq!(c.sum(), 0xddf2);
        assert_eq!(checksum(&data), 0x220d);
    }

    /// A real IPv4 header (20 bytes, 192.168.0.1 -> 192.168.0.199, UDP, DF,
    /// length 0x73) with its checksum field zeroed; the well-known answer
    /// is b861.
    #[test]
    fn ipv4_header_example() {
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0xb861);
        let mut with = hdr;
        with[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        let mut c = Checksum::new();
        c.add_bytes(&with);
        assert!(c.verifies());
        assert_eq!(checksum(&with), 0);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(checksum(&[]), 0xFFFF);
        // An odd byte is the high half of a word padded with zero.
        assert_eq!(checksum(&[0xab]), !0xab00);
        // End-around carry: ffff + 0001 = 1_0000 folds to 0001.
        assert_eq!(checksum(&[0xff, 0xff, 0x00, 0x01]), !0x0001);
        // All-zero data summed with a zero checksum does not verify: the
        // right checksum for zeros is ffff.
        let mut zeros = Checksum::new();
        zeros.add_bytes(&[0; 8]);
        assert!(!zeros.verifies());
        assert_eq!(zeros.finish(), 0xFFFF);
        // Adding nothing to a pending odd byte keeps it pending.
        let mut c = Checksum::new();
        c.add_bytes(&[0x12]).add_bytes(&[]).add_bytes(&[0x34]);
        assert_eq!(c.sum(), 0x1234);
    }

    /// Pseudo-header for UDP 10.0.0.1 -> 10.0.0.2, length 10, worked by
    /// hand: 0a00 + 0001 + 0a00 + 0002 + 0011 + 000a = 141e.
    #[test]
    fn pseudo_v4_by_hand() {
        let c = pseudo_v4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            17,
            10,
        );
        assert_eq!(c.sum(), 0x141e);
    }

    /// Pseudo-header for ::1 -> ::2, next header 58, length 8: the only
    /// nonzero words are 0001, 0002, the length 0008 and 003a.
    #[test]
    fn pseudo_v6_by_hand() {
        let c = pseudo_v6(Ipv6Addr::LOCALHOST, "::2".parse().unwrap(), 58, 8);
        assert_eq!(c.sum(), 0x0001 + 0x0002 + 0x0008 + 0x003a);
        // The 32-bit length spills into the high word.
        let big = pseudo_v6(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, 0, 0x0001_0000);
        assert_eq!(big.sum(), 0x0001);
    }

    /// The definition, written as plainly as possible, to test against.
    fn reference(data: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        for (i, b) in data.iter().enumerate() {
            sum += if i % 2 == 0 {
                u64::from(*b) << 8
            } else {
                u64::from(*b)
            };
        }
        while sum > 0xFFFF {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        !(sum as u16)
    }

    proptest! {
        #[test]
        fn matches_reference(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(checksum(&data), reference(&data));
        }

        #[test]
        fn pieces_equal_the_whole(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let mut c = Checksum::new();
            let mut start = 0;
            for cut in cuts {
                c.add_bytes(&data[start..cut]);
                start = cut;
            }
            c.add_bytes(&data[start..]);
            prop_assert_eq!(c.finish(), checksum(&data));
        }

        #[test]
        fn words_equal_their_bytes(a in any::<u16>(), b in any::<u32>(), odd in any::<bool>()) {
            let prefix: &[u8] = if odd { &[0x5a] } else { &[] };
            let mut words = Checksum::new();
            words.add_bytes(prefix).add_u16(a).add_u32(b);
            let mut bytes = Checksum::new();
            bytes.add_bytes(prefix).add_bytes(&a.to_be_bytes()).add_bytes(&b.to_be_bytes());
            prop_assert_eq!(words, bytes);
        }

        /// Storing the checksum makes the data verify, and flipping any one
        /// bit afterwards makes it fail (the checksum catches every
        /// single-bit error).
        #[test]
        fn stored_checksum_verifies_and_catches_bit_flips(
            mut data in proptest::collection::vec(any::<u8>(), 2..200),
            bit in any::<usize>(),
        ) {
            if data.len() % 2 == 1 {
                data.push(0);
            }
            data[0] = 0;
            data[1] = 0;
            let ck = checksum(&data);
            data[..2].copy_from_slice(&ck.to_be_bytes());
            let mut c = Checksum::new();
            c.add_bytes(&data);
            prop_assert!(c.verifies());
            let bit = bit % (data.len() * 8);
            data[bit / 8] ^= 1 << (bit % 8);
            let mut c = Checksum::new();
            c.add_bytes(&data);
            prop_assert!(!c.verifies());
        }
    }
}
