//! On-the-wire header formats: the bytes the simulated kernel writes in front
//! of a payload on transmit and reads back on receive.
//!
//! In Linux these are the packed C structs of the UAPI headers, overlaid on
//! an `sk_buff`'s data: `struct ethhdr` (`include/uapi/linux/if_ether.h`),
//! `struct arphdr` (`include/uapi/linux/if_arp.h`), `struct iphdr`
//! (`include/uapi/linux/ip.h`), `struct ipv6hdr` (`include/uapi/linux/ipv6.h`),
//! `struct udphdr` (`include/uapi/linux/udp.h`), `struct icmphdr` and
//! `struct icmp6hdr` (`include/uapi/linux/icmp.h`, `icmpv6.h`). A transmit
//! path pushes a header into the skb's headroom (`skb_push()`) and fills it
//! in, as `ip_build_and_send_pkt()` and `udp_send_skb()` do; a receive path
//! checks the header before trusting it, as `ip_rcv_core()` and
//! `__udp4_lib_rcv()` do.
//!
//! Safe Rust cannot overlay a struct on bytes, so each header here is a plain
//! struct with `write` (serialise into the first `LEN` bytes of a buffer) and
//! `parse` (check and deserialise). They are written by hand rather than
//! taken from a packet crate because the receive checks are part of what the
//! simulation teaches: each parser makes the kernel's checks in the kernel's
//! order and reports a distinct [`WireError`], so the caller can bump the
//! same SNMP counter (`/proc/net/snmp`) the kernel would.
//!
//! Multi-byte fields are held in host order and written big-endian ("network
//! order"), which is what the kernel's `htons()`/`ntohs()` pairs amount to.
//! Nothing here panics on any input: short buffers are errors.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use arp::ArpHdr;
pub use checksum::{Checksum, checksum};
pub use ethernet::{EthHdr, MacAddr};
pub use icmp::IcmpHdr;
pub use ipv4::Ipv4Hdr;
pub use ipv6::Ipv6Hdr;
pub use udp::UdpHdr;

use std::fmt;

/// Why a header could not be written or was refused on receive. Each
/// variant corresponds to a different counter or drop reason in the kernel;
/// the doc comment of each `parse` says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireError {
    /// Fewer bytes than the header, or than its own length field, needs.
    /// For IPv4/IPv6 this is only the second case, `InTruncatedPkts`: the
    /// kernel calls a buffer too short for the IP header itself a header
    /// error. For `write` it means the output buffer is too short.
    Truncated,
    /// A malformed header: wrong version, impossible header length, bad
    /// address. IP counts these as `InHdrErrors`.
    HdrError,
    /// The checksum does not verify (`InCsumErrors`).
    CsumError,
    /// A transport length field that disagrees with the bytes present (UDP's
    /// "short packet", counted as UDP `InErrors`).
    BadLength,
    /// Well formed but outside what the simulation (or the kernel path being
    /// modelled) handles: another hardware type, IP options on write, an IPv6
    /// jumbogram.
    Unsupported,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "truncated: fewer bytes than the header or its length says",
            WireError::HdrError => "header error: malformed header",
            WireError::CsumError => "checksum error",
            WireError::BadLength => "bad length field",
            WireError::Unsupported => "unsupported header",
        })
    }
}

impl std::error::Error for WireError {}

/// Computes a checksum over a header of at least `min` bytes (and what
/// follows) and stores it in the 16-bit field at `at`: the last step of
/// every transport protocol's send path.
fn fill_check(
    bytes: &mut [u8],
    min: usize,
    at: usize,
    sum: impl FnOnce(&[u8]) -> u16,
) -> Result<(), WireError> {
    need(bytes, min)?;
    let check = sum(bytes);
    bytes[at..at + 2].copy_from_slice(&check.to_be_bytes());
    Ok(())
}

/// `Err(Truncated)` unless `buf` holds at least `len` bytes: the check every
/// `write` makes before touching the buffer.
fn need(buf: &[u8], len: usize) -> Result<(), WireError> {
    if buf.len() < len {
        Err(WireError::Truncated)
    } else {
        Ok(())
    }
}

/// Reads a big-endian `u16` at `at`. Callers have checked the length; a
/// short slice reads as zero rather than panicking.
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(array(b, at))
}

/// Reads a big-endian `u32` at `at`, zero if the slice is short.
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(array(b, at))
}

/// Copies `N` bytes at `at` into an array, zeros if the slice is short.
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..)
        .and_then(|s| s.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_distinct_for_each_error() {
        let all = [
            WireError::Truncated,
            WireError::HdrError,
            WireError::CsumError,
            WireError::BadLength,
            WireError::Unsupported,
        ];
        let texts: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(texts.len(), all.len());
    }

    #[test]
    fn readers_do_not_panic_on_short_input() {
        assert_eq!(be16(&[1], 0), 0);
        assert_eq!(be16(&[1, 2], 1), 0);
        assert_eq!(be16(&[1, 2], usize::MAX - 1), 0);
        assert_eq!(be32(&[1, 2, 3], 0), 0);
        assert_eq!(array::<4>(&[1, 2, 3], 0), [0; 4]);
        assert_eq!(be16(&[0x12, 0x34], 0), 0x1234);
        assert_eq!(be32(&[0, 0x12, 0x34, 0x56, 0x78], 1), 0x1234_5678);
    }
}
