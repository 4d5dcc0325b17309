//! Captures in the classic libpcap file format, the `.pcap` files that
//! `tcpdump -w` writes and `tcpdump -r`, Wireshark and `tshark` read.
//!
//! On Linux a capture sees frames through an `AF_PACKET` socket that
//! libpcap opens: received frames are copied to it by
//! `__netif_receive_skb_core()` (the `ptype_all` taps, before the protocol
//! handlers such as `ip_rcv()` run), and transmitted ones by
//! `dev_queue_xmit_nit()` (`net/core/dev.c`), called from
//! `xmit_one()` just before the driver's `ndo_start_xmit()`, so after the
//! qdisc and with every header filled in. A simulated capture belongs at
//! those same two points. Because the transmit tap runs before the NIC, a real
//! capture of outgoing traffic shows what the kernel handed the driver:
//! TCP and UDP checksums may still be partial when the NIC offloads them
//! (tcpdump reports them "incorrect"), and segments may be larger than the
//! MTU when the NIC does segmentation (TSO/GSO). The simulation has
//! neither offload, so its captures show finished frames.
//!
//! # The format
//!
//! Everything is in the byte order of the machine that wrote the file;
//! a reader detects it from the magic number. [`PcapWriter`] always writes
//! little-endian, so the bytes do not depend on the host.
//!
//! A 24-byte file header (`struct pcap_file_header` in libpcap's
//! `pcap/pcap.h`):
//!
//! | offset | size | field           | value here                                   |
//! |--------|------|-----------------|----------------------------------------------|
//! | 0      | 4    | `magic`         | `0xa1b23c4d`: timestamps in nanoseconds      |
//! | 4      | 2    | `version_major` | 2                                            |
//! | 6      | 2    | `version_minor` | 4                                            |
//! | 8      | 4    | `thiszone`      | 0 (always 0 in practice)                     |
//! | 12     | 4    | `sigfigs`       | 0 (always 0 in practice)                     |
//! | 16     | 4    | `snaplen`       | 262144, libpcap's default `MAXIMUM_SNAPLEN`  |
//! | 20     | 4    | `linktype`      | 1, `LINKTYPE_ETHERNET`                       |
//!
//! then, per frame, a 16-byte record header and the captured bytes:
//!
//! | offset | size | field      | meaning                                            |
//! |--------|------|------------|----------------------------------------------------|
//! | 0      | 4    | `ts_sec`   | seconds                                            |
//! | 4      | 4    | `ts_frac`  | nanoseconds (microseconds with magic `0xa1b2c3d4`) |
//! | 8      | 4    | `caplen`   | bytes captured and stored, at most `snaplen`       |
//! | 12     | 4    | `len`      | bytes the frame had on the wire                    |
//!
//! A frame is the link-layer frame from the destination MAC on, without
//! preamble or FCS, as `AF_PACKET` delivers it. The nanosecond magic lets
//! virtual time be stored exactly; tcpdump (libpcap 1.5 and later) reads
//! it and by default prints microseconds, `--time-stamp-precision=nano`
//! prints all nine digits. Timestamps count from the start of the
//! simulation, so tcpdump prints dates in January 1970.
//!
//! The simulation never touches files: the capture is built in memory and
//! a program or a test writes [`PcapWriter::bytes`] wherever it likes.

use crate::sim::time::Nanos;
use crate::wire::WireError;

/// Magic number of a capture with nanosecond timestamps, as written.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Magic number of a capture with microsecond timestamps, the original
/// format, which [`parse_pcap`] also reads.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// `LINKTYPE_ETHERNET` (DLT_EN10MB): frames start with an Ethernet header.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The longest frame stored whole; longer ones are cut to this many bytes
/// (libpcap's `MAXIMUM_SNAPLEN`, tcpdump's default `-s`).
pub const SNAPLEN: u32 = 262_144;
/// Octets of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Octets of each record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// A capture being written, in memory.
///
/// ```
/// use stack::pcap::{PcapWriter, parse_pcap};
///
/// let mut w = PcapWriter::new();
/// w.record(1_500_000_123, &[0xff; 60]);
/// let frames = parse_pcap(w.bytes()).unwrap();
/// assert_eq!(frames, vec![(1_500_000_123, vec![0xff; 60])]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapWriter {
    buf: Vec<u8>,
    frames: usize,
}

impl Default for PcapWriter {
    fn default() -> PcapWriter {
        PcapWriter::new()
    }
}

impl PcapWriter {
    /// An empty capture: just the file header (nanosecond timestamps,
    /// snaplen [`SNAPLEN`], Ethernet).
    pub fn new() -> PcapWriter {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&SNAPLEN.to_le_bytes());
        buf.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        PcapWriter { buf, frames: 0 }
    }

    /// Appends one frame seen at virtual time `at`. A frame longer than
    /// [`SNAPLEN`] is stored cut to it, with its full length in the record
    /// (as tcpdump's own files do). Times past year 2106, where `ts_sec`
    /// overflows 32 bits, are stored as the last representable second.
    pub fn record(&mut self, at: Nanos, frame: &[u8]) {
        let secs = u32::try_from(at / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = (at % 1_000_000_000) as u32;
        let stored = &frame[..frame.len().min(SNAPLEN as usize)];
        let wire_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&nanos.to_le_bytes());
        // At most SNAPLEN, which fits.
        self.buf
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&wire_len.to_le_bytes());
        self.buf.extend_from_slice(stored);
        self.frames += 1;
    }

    /// Frames recorded so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The file so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The file, consuming the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a classic pcap file with Ethernet frames: the frames with their
/// timestamps in nanoseconds, in file order. Accepts both byte orders and
/// both the nanosecond and the microsecond magic. A frame that was cut to
/// the snaplen comes back cut.
///
/// Errors, all without panicking on any input:
///
/// - [`WireError::Truncated`]: the file ends inside the file header, a
///   record header or a frame;
/// - [`WireError::HdrError`]: not a pcap file (unknown magic), a version
///   other than 2.x, a record whose captured length exceeds its wire
///   length or the snaplen, or a fraction of a second that is not less
///   than one second;
/// - [`WireError::Unsupported`]: a link type other than Ethernet.
pub fn parse_pcap(bytes: &[u8]) -> Result<Vec<(Nanos, Vec<u8>)>, WireError> {
    let header = bytes
        .first_chunk::<FILE_HEADER_LEN>()
        .ok_or(WireError::Truncated)?;
    let magic_le = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let (big_endian, nanos) = match magic_le {
        MAGIC_NANOS => (false, true),
        MAGIC_MICROS => (false, false),
        m if m.swap_bytes() == MAGIC_NANOS => (true, true),
        m if m.swap_bytes() == MAGIC_MICROS => (true, false),
        _ => return Err(WireError::HdrError),
    };
    let u32_at = |b: &[u8], at: usize| -> u32 {
        let w = b
            .get(at..)
            .and_then(|s| s.first_chunk::<4>())
            .copied()
            .unwrap_or([0; 4]);
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let version = u32_at(header, 4);
    let major = if big_endian {
        version >> 16
    } else {
        version & 0xffff
    };
    if major != 2 {
        return Err(WireError::HdrError);
    }
    let snaplen = u32_at(header, 16);
    // The low 16 bits are the link type; the upper bits carry FCS
    // information in newer files.
    if u32_at(header, 20) & 0xffff != LINKTYPE_ETHERNET {
        return Err(WireError::Unsupported);
    }
    let frac_limit: u32 = if nanos { 1_000_000_000 } else { 1_000_000 };
    let mut frames = Vec::new();
    let mut rest = &bytes[FILE_HEADER_LEN..];
    while !rest.is_empty() {
        let rec = rest
            .first_chunk::<RECORD_HEADER_LEN>()
            .ok_or(WireError::Truncated)?;
        let (secs, frac, caplen, len) = (
            u32_at(rec, 0),
            u32_at(rec, 4),
            u32_at(rec, 8),
            u32_at(rec, 12),
        );
        if caplen > len || caplen > snaplen.max(SNAPLEN) || frac >= frac_limit {
            return Err(WireError::HdrError);
        }
        let data = rest[RECORD_HEADER_LEN..]
            .get(..caplen as usize)
            .ok_or(WireError::Truncated)?;
        let frac_ns = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1_000
        };
        frames.push((u64::from(secs) * 1_000_000_000 + frac_ns, data.to_vec()));
        rest = &rest[RECORD_HEADER_LEN + data.len()..];
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_capture_is_the_file_header() {
        let w = PcapWriter::new();
        assert_eq!(
            w.bytes(),
            [
                0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0
            ]
        );
        assert_eq!(w.frames(), 0);
        assert_eq!(parse_pcap(w.bytes()), Ok(vec![]));
        assert_eq!(PcapWriter::default(), w);
    }

    #[test]
    fn record_layout() {
        let mut w = PcapWriter::new();
        w.record(3_000_000_007, &[0xaa, 0xbb, 0xcc]);
        let b = w.into_bytes();
        assert_eq!(
            b[FILE_HEADER_LEN..],
            [
                3, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0xaa, 0xbb, 0xcc
            ]
        );
    }

    #[test]
    fn round_trip_keeps_exact_nanoseconds_and_order() {
        let mut w = PcapWriter::new();
        let frames = vec![
            (0, vec![1u8; 60]),
            (1, vec![2u8; 14]),
            (999_999_999, vec![]),
            (1_000_000_000, vec![3u8; 1514]),
            (86_400 * 1_000_000_000 + 5, vec![4u8; 9000]),
        ];
        for (t, f) in &frames {
            w.record(*t, f);
        }
        assert_eq!(w.frames(), 5);
        assert_eq!(parse_pcap(w.bytes()), Ok(frames));
    }

    #[test]
    fn long_frames_are_cut_to_the_snaplen() {
        let mut w = PcapWriter::new();
        let big = vec![7u8; SNAPLEN as usize + 10];
        w.record(5, &big);
        let b = w.bytes();
        let rec = &b[FILE_HEADER_LEN..];
        assert_eq!(rec[8..12], SNAPLEN.to_le_bytes());
        assert_eq!(rec[12..16], (SNAPLEN + 10).to_le_bytes());
        let back = parse_pcap(b).unwrap();
        assert_eq!(back[0].1.len(), SNAPLEN as usize);
    }

    #[test]
    fn times_past_2106_saturate() {
        let mut w = PcapWriter::new();
        w.record(u64::MAX, &[1]);
        let back = parse_pcap(w.bytes()).unwrap();
        assert_eq!(
            back[0].0,
            u64::from(u32::MAX) * 1_000_000_000 + u64::MAX % 1_000_000_000
        );
    }

    /// A file as a big-endian machine writes it, microsecond magic: what
    /// `tcpdump -w` on such a machine produces.
    #[test]
    fn reads_big_endian_microsecond_files() {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC_MICROS.to_be_bytes());
        b.extend_from_slice(&2u16.to_be_bytes());
        b.extend_from_slice(&4u16.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65535u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        for v in [7u32, 250, 2, 2] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&[9, 8]);
        assert_eq!(parse_pcap(&b), Ok(vec![(7_000_250_000, vec![9, 8])]));
    }

    #[test]
    fn errors() {
        let mut w = PcapWriter::new();
        w.record(1, &[1, 2, 3, 4]);
        let good = w.into_bytes();
        // Cut anywhere inside: truncated (cutting exactly after the file
        // header leaves a valid empty capture).
        for n in 0..good.len() {
            let want = if n == FILE_HEADER_LEN {
                Ok(vec![])
            } else {
                Err(WireError::Truncated)
            };
            assert_eq!(parse_pcap(&good[..n]), want, "cut at {n}");
        }
        let mut bad = good.clone();
        bad[0] = 0;
        assert_eq!(parse_pcap(&bad), Err(WireError::HdrError), "magic");
        let mut bad = good.clone();
        bad[4] = 3;
        assert_eq!(parse_pcap(&bad), Err(WireError::HdrError), "version");
        let mut bad = good.clone();
        bad[20] = 101; // LINKTYPE_RAW
        assert_eq!(parse_pcap(&bad), Err(WireError::Unsupported), "linktype");
        let mut bad = good.clone();
        bad[FILE_HEADER_LEN + 8] = 5; // caplen 5 > len 4
        assert_eq!(parse_pcap(&bad), Err(WireError::HdrError), "caplen");
        let mut bad = good.clone();
        bad[FILE_HEADER_LEN + 4..FILE_HEADER_LEN + 8]
            .copy_from_slice(&1_000_000_000u32.to_le_bytes());
        assert_eq!(parse_pcap(&bad), Err(WireError::HdrError), "fraction");
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_pcap(&bytes);
        }

        /// A valid file header followed by garbage reaches the record
        /// checks.
        #[test]
        fn parse_never_panics_after_a_good_header(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = PcapWriter::new().into_bytes();
            b.extend(tail);
            let _ = parse_pcap(&b);
        }

        #[test]
        fn round_trip(frames in proptest::collection::vec(
            (any::<u32>(), 0u32..1_000_000_000, proptest::collection::vec(any::<u8>(), 0..100)),
            0..8,
        )) {
            let mut w = PcapWriter::new();
            let mut want = Vec::new();
            for (s, ns, f) in frames {
                let t = u64::from(s) * 1_000_000_000 + u64::from(ns);
                w.record(t, &f);
                want.push((t, f));
            }
            prop_assert_eq!(parse_pcap(w.bytes()), Ok(want));
        }
    }
}
