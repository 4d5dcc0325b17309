//! The TCP header (RFC 9293) with the options Linux sends, and its
//! checksum over IPv4 and IPv6.
//!
//! Linux: `struct tcphdr` in `include/uapi/linux/tcp.h`. Transmit builds it
//! in `__tcp_transmit_skb()` (`net/ipv4/tcp_output.c`), which sizes the
//! options with `tcp_syn_options()`, `tcp_synack_options()` or
//! `tcp_established_options()` and writes them with `tcp_options_write()`;
//! control segments sent without a socket (a RST answering a segment for no
//! connection) come from `tcp_v4_send_reset()` (`net/ipv4/tcp_ipv4.c`).
//! Receive starts in `tcp_v4_rcv()` / `tcp_v6_rcv()`, whose first checks
//! [`TcpHdr::parse`] makes, and options are read by `tcp_parse_options()`
//! (`net/ipv4/tcp_input.c`).
//!
//! # Options as Linux writes them
//!
//! `tcp_options_write()` emits every option group as one aligned 32-bit
//! word (or three), so the option area never needs padding at its end and
//! the fields a receiver looks at on every segment (the timestamps) sit at
//! a 4-byte boundary:
//!
//! | group                     | bytes                               | when                    |
//! |---------------------------|-------------------------------------|-------------------------|
//! | MSS                       | `02 04 mss mss`                     | SYN, SYN-ACK            |
//! | SACK-permitted + TS       | `04 02 08 0a` tsval tsecr           | SYN with both           |
//! | TS alone                  | `01 01 08 0a` tsval tsecr           | SYN without SACK; every later segment |
//! | SACK-permitted alone      | `01 01 04 02`                       | SYN without timestamps  |
//! | window scale              | `01 03 03 ws`                       | SYN with scaling        |
//! | SACK blocks               | `01 01 05 len` then 8 bytes a block | an ACK while data is missing |
//!
//! in that order. So a SYN from a default Linux (timestamps, SACK and window
//! scaling all on) carries 20 bytes, `mss, sackOK, TS, nop, wscale` in
//! tcpdump's words, and an established segment 12 bytes, `nop, nop, TS`.
//! [`TcpOptions::write`] produces exactly these bytes.
//!
//! # Checksums on loopback
//!
//! A capture of loopback traffic shows TCP checksums tcpdump calls
//! "incorrect": the kernel leaves the segment `CHECKSUM_PARTIAL`, with only
//! the pseudo-header sum (not complemented) in the field, for a NIC to
//! finish, and loopback never finishes it because the receiver trusts it
//! anyway. A RST from `tcp_v4_send_reset()` is summed in software and shows
//! as correct. The tests below use such captured bytes.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{BitAnd, BitOr};

use super::checksum::{Checksum, pseudo_v4, pseudo_v6};
use super::ipv4::IPPROTO_TCP;
use super::{WireError, be16, be32, need};

/// Option kind: end of option list (`TCPOPT_EOL`); what follows is padding.
pub const TCPOPT_EOL: u8 = 0;
/// Option kind: no-operation, one byte, used to align (`TCPOPT_NOP`).
pub const TCPOPT_NOP: u8 = 1;
/// Option kind: maximum segment size (`TCPOPT_MSS`).
pub const TCPOPT_MSS: u8 = 2;
/// Option kind: window scale shift (`TCPOPT_WINDOW`).
pub const TCPOPT_WINDOW: u8 = 3;
/// Option kind: SACK permitted (`TCPOPT_SACK_PERM`).
pub const TCPOPT_SACK_PERM: u8 = 4;
/// Option kind: SACK blocks (`TCPOPT_SACK`).
pub const TCPOPT_SACK: u8 = 5;
/// Option kind: timestamps (`TCPOPT_TIMESTAMP`).
pub const TCPOPT_TIMESTAMP: u8 = 8;
/// Length of the MSS option, kind and length bytes included (`TCPOLEN_MSS`).
pub const TCPOLEN_MSS: u8 = 4;
/// Length of the window scale option (`TCPOLEN_WINDOW`).
pub const TCPOLEN_WINDOW: u8 = 3;
/// Length of the SACK-permitted option (`TCPOLEN_SACK_PERM`).
pub const TCPOLEN_SACK_PERM: u8 = 2;
/// Length of the timestamps option (`TCPOLEN_TIMESTAMP`).
pub const TCPOLEN_TIMESTAMP: u8 = 10;
/// Bytes per SACK block: two sequence numbers (`TCPOLEN_SACK_PERBLOCK`).
pub const TCPOLEN_SACK_PERBLOCK: u8 = 8;
/// Most SACK blocks a header holds (`TCP_NUM_SACKS`): four fill the
/// option space (36 bytes with their `nop, nop` word).
pub const TCP_NUM_SACKS: usize = 4;
/// Most option bytes a header can hold: `doff` is four bits, so a header
/// is at most 60 bytes (`MAX_TCP_OPTION_SPACE`).
pub const MAX_TCP_OPTION_SPACE: usize = 40;

/// The eight flag bits of byte 13 of the header (`TCPHDR_FIN` ...
/// `TCPHDR_CWR` in `include/net/tcp.h`), as a small bitflag set.
///
/// [`Display`](fmt::Display) prints them the way tcpdump does, in bit
/// order with `.` for ACK: `[S]`, `[S.]`, `[P.]`, `[FP.]`, `[none]`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronise sequence numbers: the first segment in each direction.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push: deliver to the application without waiting for more.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment number is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Names and tcpdump letters, in bit order (tcpdump's
    /// `tcp_flag_values[]` in `print-tcp.c`).
    const TABLE: [(TcpFlags, &'static str, char); 8] = [
        (TcpFlags::FIN, "FIN", 'F'),
        (TcpFlags::SYN, "SYN", 'S'),
        (TcpFlags::RST, "RST", 'R'),
        (TcpFlags::PSH, "PSH", 'P'),
        (TcpFlags::ACK, "ACK", '.'),
        (TcpFlags::URG, "URG", 'U'),
        (TcpFlags::ECE, "ECE", 'E'),
        (TcpFlags::CWR, "CWR", 'W'),
    ];

    /// No flag set.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags as the byte on the wire.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The flags of a wire byte; every byte is a valid set.
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self | other`, usable in constants.
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }

    /// The flags of `self` that are not in `other`.
    pub const fn difference(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !other.0)
    }

    /// The set flags spelled out in bit order and joined by commas, as
    /// Wireshark's info column does: `SYN`, `SYN,ACK`, `FIN,PSH,ACK`;
    /// empty for no flags. Handy for diagram labels.
    pub fn names(self) -> String {
        let mut s = String::new();
        for (f, name, _) in Self::TABLE {
            if self.contains(f) {
                if !s.is_empty() {
                    s.push(',');
                }
                s.push_str(name);
            }
        }
        s
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's `Flags [...]` field: `[S.]`; `[none]` for no flags
    /// (`bittok2str_nosep(tcp_flag_values, "none", flags)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        if self.is_empty() {
            f.write_str("none")?;
        }
        for (flag, _, letter) in Self::TABLE {
            if self.contains(flag) {
                f.write_char(letter)?;
            }
        }
        f.write_char(']')
    }
}

impl fmt::Debug for TcpFlags {
    /// `TcpFlags(SYN | ACK)`, `TcpFlags(empty)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("TcpFlags(empty)");
        }
        write!(f, "TcpFlags({})", self.names().replace(',', " | "))
    }
}

/// The TCP options the simulation sends and reads: those of a Linux SYN
/// and of established segments. MD5 and TCP-AO signatures, Fast Open
/// cookies, MPTCP and unknown kinds are skipped on parse and never
/// written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpOptions {
    /// Maximum segment size the sender can receive (SYN and SYN-ACK only).
    pub mss: Option<u16>,
    /// Window scale shift the sender will apply to its own advertised
    /// windows (SYN and SYN-ACK only). Linux clamps received values above
    /// 14 (`TCP_MAX_WSCALE`); this field carries what is on the wire.
    pub wscale: Option<u8>,
    /// The sender can receive SACK blocks (SYN and SYN-ACK only).
    pub sack_permitted: bool,
    /// Timestamps (RFC 7323): the sender's clock (TSval) and the latest
    /// TSval it received (TSecr), in that order.
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks (RFC 2018): ranges received above the acknowledged
    /// point, each `[start, end)`.
    pub sack: SackBlocks,
}

/// Up to [`TCP_NUM_SACKS`] SACK blocks, in the order sent (`struct
/// tcp_sack_block` in `include/linux/tcp.h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SackBlocks {
    n: u8,
    blocks: [(u32, u32); TCP_NUM_SACKS],
}

impl SackBlocks {
    /// The blocks, as `(start, end)` pairs.
    pub fn as_slice(&self) -> &[(u32, u32)] {
        &self.blocks[..usize::from(self.n)]
    }

    /// Adds a block; false (and nothing added) when all four are taken.
    pub fn push(&mut self, start: u32, end: u32) -> bool {
        let Some(slot) = self.blocks.get_mut(usize::from(self.n)) else {
            return false;
        };
        *slot = (start, end);
        self.n += 1;
        true
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

impl TcpOptions {
    /// No options.
    pub const NONE: TcpOptions = TcpOptions {
        mss: None,
        wscale: None,
        sack_permitted: false,
        timestamps: None,
        sack: SackBlocks {
            n: 0,
            blocks: [(0, 0); TCP_NUM_SACKS],
        },
    };

    /// Bytes [`write`](Self::write) produces: a multiple of 4, at most
    /// [`MAX_TCP_OPTION_SPACE`]. Each group of the module documentation's
    /// table is one 4-byte word, the timestamps three, SACK blocks one and
    /// two per block.
    pub fn len(&self) -> usize {
        let n = self.len_without_sack();
        match self.sack_sent() {
            0 => n,
            blocks => n + 4 + 8 * blocks,
        }
    }

    /// How many SACK blocks fit beside the other options (three beside
    /// timestamps, four alone), as `tcp_established_options()` counts.
    fn sack_sent(&self) -> usize {
        let room = MAX_TCP_OPTION_SPACE.saturating_sub(self.len_without_sack() + 4) / 8;
        self.sack.as_slice().len().min(room)
    }

    fn len_without_sack(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.timestamps.is_some() {
            // SACK-permitted, if wanted, rides in the timestamps' first word.
            n += 12;
        } else if self.sack_permitted {
            n += 4;
        }
        if self.wscale.is_some() {
            n += 4;
        }
        n
    }

    /// Whether there are no options at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the options into the first [`len`](Self::len) bytes of `out`
    /// in `tcp_options_write()`'s layout and order (see the module
    /// documentation): MSS, then timestamps (preceded by SACK-permitted if
    /// both are on, else by two NOPs), then NOP NOP SACK-permitted if there
    /// were no timestamps to share a word with, then NOP and window scale.
    /// Alignment is by NOPs inside the words; nothing is padded at the end
    /// because every group is whole words. [`WireError::Truncated`] if `out`
    /// is shorter than `len()`.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        need(out, self.len())?;
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if let Some(mss) = self.mss {
            let [hi, lo] = mss.to_be_bytes();
            put(&[TCPOPT_MSS, TCPOLEN_MSS, hi, lo]);
        }
        if let Some((tsval, tsecr)) = self.timestamps {
            if self.sack_permitted {
                put(&[TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM]);
            } else {
                put(&[TCPOPT_NOP, TCPOPT_NOP]);
            }
            put(&[TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP]);
            put(&tsval.to_be_bytes());
            put(&tsecr.to_be_bytes());
        } else if self.sack_permitted {
            put(&[TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM]);
        }
        if let Some(ws) = self.wscale {
            put(&[TCPOPT_NOP, TCPOPT_WINDOW, TCPOLEN_WINDOW, ws]);
        }
        let blocks = &self.sack.as_slice()[..self.sack_sent()];
        if !blocks.is_empty() {
            let len = 2 + TCPOLEN_SACK_PERBLOCK * blocks.len() as u8;
            put(&[TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, len]);
            for (start, end) in blocks {
                put(&start.to_be_bytes());
                put(&end.to_be_bytes());
            }
        }
        Ok(())
    }

    /// The bytes [`write`](Self::write) produces, as an array and a length.
    fn encode(&self) -> ([u8; MAX_TCP_OPTION_SPACE], usize) {
        let mut buf = [0u8; MAX_TCP_OPTION_SPACE];
        // `len()` is at most 40, so this cannot fail.
        let _ = self.write(&mut buf);
        (buf, self.len())
    }

    /// Reads an option area (the `doff * 4 - 20` bytes after the fixed
    /// header), strictly: any legal sequence is accepted, in any order,
    /// with any NOPs; an EOL ends the list and whatever follows it is
    /// padding; unknown kinds, and SACK blocks, are skipped by their
    /// length; a kind seen twice keeps its last value. A malformed length
    /// is [`WireError::BadLength`]:
    ///
    /// - a kind other than EOL and NOP with no room for its length byte;
    /// - a length below 2 or running past the end of the area;
    /// - MSS, window scale, SACK-permitted or timestamps with a length
    ///   other than 4, 3, 2 or 10.
    ///
    /// The kernel is more forgiving: `tcp_parse_options()` stops reading at
    /// the first two of these ("silly options", "don't parse partial
    /// options") and ignores a known kind of the wrong size, and the
    /// segment is processed with whatever it found. That is
    /// [`parse_lenient`](Self::parse_lenient). The kernel also ignores MSS,
    /// window scale and SACK-permitted except on a SYN, an MSS of 0, and
    /// options whose sysctl is off; those decisions are the TCP layer's,
    /// not the parser's.
    pub fn parse(bytes: &[u8]) -> Result<TcpOptions, WireError> {
        Self::walk(bytes, true)
    }

    /// Reads an option area the way `tcp_parse_options()` does: like
    /// [`parse`](Self::parse), but a malformed length ends the walk
    /// silently, keeping what was read before it, and a known kind of the
    /// wrong length is skipped.
    pub fn parse_lenient(bytes: &[u8]) -> TcpOptions {
        Self::walk(bytes, false).unwrap_or_default()
    }

    fn walk(bytes: &[u8], strict: bool) -> Result<TcpOptions, WireError> {
        let mut o = TcpOptions::NONE;
        let mut rest = bytes;
        while let Some((&kind, tail)) = rest.split_first() {
            match kind {
                TCPOPT_EOL => break,
                TCPOPT_NOP => {
                    rest = tail;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = tail.first() else {
                return if strict {
                    Err(WireError::BadLength)
                } else {
                    Ok(o)
                };
            };
            let Some(opt) = rest.get(..usize::from(len)).filter(|_| len >= 2) else {
                return if strict {
                    Err(WireError::BadLength)
                } else {
                    Ok(o)
                };
            };
            let body = &opt[2..];
            match (kind, len) {
                (TCPOPT_MSS, TCPOLEN_MSS) => o.mss = Some(be16(body, 0)),
                (TCPOPT_WINDOW, TCPOLEN_WINDOW) => o.wscale = body.first().copied(),
                (TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM) => o.sack_permitted = true,
                (TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP) => {
                    o.timestamps = Some((be32(body, 0), be32(body, 4)));
                }
                // tcp_parse_options(): whole blocks only, and no empty list.
                (TCPOPT_SACK, _)
                    if len >= 2 + TCPOLEN_SACK_PERBLOCK
                        && (len - 2) % TCPOLEN_SACK_PERBLOCK == 0 =>
                {
                    o.sack = SackBlocks::default();
                    for b in body.chunks_exact(8) {
                        o.sack.push(be32(b, 0), be32(b, 4));
                    }
                }
                // A known kind of the wrong size, which the kernel skips.
                (TCPOPT_MSS | TCPOPT_WINDOW | TCPOPT_SACK_PERM | TCPOPT_TIMESTAMP, _) if strict => {
                    return Err(WireError::BadLength);
                }
                _ => {}
            }
            rest = &rest[opt.len()..];
        }
        Ok(o)
    }
}

/// Appends tcpdump's rendering of an option area, the part inside
/// `options [...]`, following `tcp_print()` in tcpdump's `print-tcp.c`:
/// comma-separated names with their values, `eol` ending the list.
/// [`TcpHdr::summary`] only passes areas this module lays out, which are
/// well formed; anything else renders as far as it makes sense and then
/// `[bad opt]`, without panicking.
fn tcpdump_options(out: &mut String, bytes: &[u8]) {
    let mut rest = bytes;
    let mut first = true;
    while let Some((&kind, tail)) = rest.split_first() {
        if !first {
            out.push(',');
        }
        first = false;
        match kind {
            TCPOPT_EOL => {
                out.push_str("eol");
                return;
            }
            TCPOPT_NOP => {
                out.push_str("nop");
                rest = tail;
                continue;
            }
            _ => {}
        }
        let Some(opt) = tail
            .first()
            .filter(|&&len| len >= 2)
            .and_then(|&len| rest.get(..usize::from(len)))
        else {
            out.push_str("[bad opt]");
            return;
        };
        let body = &opt[2..];
        match (kind, opt.len()) {
            (TCPOPT_MSS, 4) => {
                let _ = write!(out, "mss {}", be16(body, 0));
            }
            (TCPOPT_WINDOW, 3) => {
                let _ = write!(out, "wscale {}", body[0]);
            }
            (TCPOPT_SACK_PERM, 2) => out.push_str("sackOK"),
            (TCPOPT_TIMESTAMP, 10) => {
                let _ = write!(out, "TS val {} ecr {}", be32(body, 0), be32(body, 4));
            }
            (TCPOPT_SACK, n) if n >= 10 && (n - 2) % 8 == 0 => {
                // tcpdump -S: the count, then the blocks unseparated.
                let _ = write!(out, "sack {} ", (n - 2) / 8);
                for b in body.chunks_exact(8) {
                    let _ = write!(out, "{{{}:{}}}", be32(b, 0), be32(b, 4));
                }
            }
            (TCPOPT_MSS | TCPOPT_WINDOW | TCPOPT_SACK_PERM | TCPOPT_TIMESTAMP, _) => {
                out.push_str("[bad opt]");
                return;
            }
            _ => {
                let _ = write!(out, "unknown-{kind}");
                if !body.is_empty() {
                    out.push_str(" 0x");
                    for b in body {
                        let _ = write!(out, "{b:02x}");
                    }
                }
            }
        }
        rest = &rest[opt.len()..];
    }
}

/// A TCP header with its options. Multi-byte fields are in host order.
/// The default is all zeros with no options, `doff` 0 meaning "as long as
/// the options need" (see [`header_len`](TcpHdr::header_len)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpHdr {
    /// Source port.
    pub source: u16,
    /// Destination port.
    pub dest: u16,
    /// Sequence number of the first byte of payload (of the SYN itself on a
    /// SYN).
    pub seq: u32,
    /// Next sequence number the sender expects; significant with ACK.
    pub ack_seq: u32,
    /// Header length in 32-bit words, options included: 5 to 15 on the
    /// wire. On write, a value too small for the options (0, say) is
    /// raised to fit them; see [`TcpHdr::header_len`].
    pub doff: u8,
    /// The flag byte.
    pub flags: TcpFlags,
    /// Receive window, as on the wire (before any window scaling).
    pub window: u16,
    /// Checksum over pseudo-header, header and payload. [`write`](Self::write)
    /// writes it as given; fill it with [`fill_checksum_v4`] or
    /// [`fill_checksum_v6`] once the payload follows.
    pub check: u16,
    /// Urgent pointer; significant with URG.
    pub urg_ptr: u16,
    /// The options, written after the fixed 20 bytes.
    pub options: TcpOptions,
}

impl TcpHdr {
    /// Octets of a header without options (`sizeof(struct tcphdr)`).
    pub const LEN_MIN: usize = 20;

    /// A header with `doff` fitted to `options` and `check`, `urg_ptr` zero.
    pub fn new(
        source: u16,
        dest: u16,
        seq: u32,
        ack_seq: u32,
        flags: TcpFlags,
        window: u16,
        options: TcpOptions,
    ) -> TcpHdr {
        TcpHdr {
            source,
            dest,
            seq,
            ack_seq,
            doff: Self::doff_for(&options),
            flags,
            window,
            check: 0,
            urg_ptr: 0,
            options,
        }
    }

    /// The smallest `doff` that holds `options`: `5 + len / 4` (what
    /// `__tcp_transmit_skb()` computes from `tcp_header_size`).
    pub fn doff_for(options: &TcpOptions) -> u8 {
        // `len()` is at most 40, so this is at most 15.
        (5 + options.len() / 4) as u8
    }

    /// Header length in bytes: `doff * 4`, or what the options need if
    /// that is more. So a header built with `doff: 0` (as
    /// [`TcpHdr::default`] is) is as long as its options make it, the way
    /// `__tcp_transmit_skb()` derives `doff` from the options' size; a
    /// larger `doff` leaves room after them. A parsed header's `doff` is
    /// never too small, so for it this is exactly `doff * 4`.
    pub fn header_len(&self) -> usize {
        (usize::from(self.doff) * 4).max(Self::LEN_MIN + self.options.len())
    }

    /// The option area as [`write`](Self::write) lays it out: the options,
    /// then zeros (an EOL and padding) up to `header_len() - 20` bytes.
    /// `None` if `doff` is above 15, more than four bits hold.
    fn option_area(&self) -> Option<([u8; MAX_TCP_OPTION_SPACE], usize)> {
        let room = self.header_len() - Self::LEN_MIN;
        if room > MAX_TCP_OPTION_SPACE {
            return None;
        }
        // Bytes past the options are already zero: EOL, then padding.
        let (buf, _) = self.options.encode();
        Some((buf, room))
    }

    /// Writes the header and its options into the first
    /// [`header_len`](Self::header_len) bytes of `out`, with the data
    /// offset of that length (so `doff` 0 is written as the options'
    /// [`doff_for`](Self::doff_for)). `check` is written as given. If
    /// `doff` leaves room after the options, the rest is zeros: an EOL
    /// followed by padding, as RFC 9293 asks.
    ///
    /// [`WireError::HdrError`] if `doff` is above 15, which the four-bit
    /// field cannot hold; [`WireError::Truncated`] if `out` is shorter
    /// than `header_len()`.
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        let Some((area, room)) = self.option_area() else {
            return Err(WireError::HdrError);
        };
        need(out, self.header_len())?;
        out[0..2].copy_from_slice(&self.source.to_be_bytes());
        out[2..4].copy_from_slice(&self.dest.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..12].copy_from_slice(&self.ack_seq.to_be_bytes());
        // At most 60 bytes, so at most 15 words.
        out[12] = ((self.header_len() / 4) as u8) << 4;
        out[13] = self.flags.bits();
        out[14..16].copy_from_slice(&self.window.to_be_bytes());
        out[16..18].copy_from_slice(&self.check.to_be_bytes());
        out[18..20].copy_from_slice(&self.urg_ptr.to_be_bytes());
        out[20..20 + room].copy_from_slice(&area[..room]);
        Ok(())
    }

    /// Validates and reads the header at the start of `bytes`, the IP
    /// payload (already trimmed to the IP datagram's length). The checks
    /// are those at the top of `tcp_v4_rcv()` (and `tcp_v6_rcv()`), in
    /// order; every segment has counted TCP `InSegs` before them:
    ///
    /// 1. Fewer than 20 bytes (`pskb_may_pull(skb, sizeof(struct
    ///    tcphdr))` fails): [`WireError::Truncated`]. The kernel goes to
    ///    `discard_it` and counts no error.
    /// 2. `doff < 5` (`th->doff < sizeof(struct tcphdr) / 4`):
    ///    [`WireError::HdrError`]; `bad_packet`, counting TCP `InErrs`.
    /// 3. Fewer than `doff * 4` bytes (`pskb_may_pull(skb, th->doff * 4)`
    ///    fails): [`WireError::Truncated`]; `discard_it` again, no counter.
    /// 4. A malformed option length: [`WireError::BadLength`]. This one is
    ///    stricter than the kernel, which stops reading options there and
    ///    carries on (see [`TcpOptions::parse`]); a receive path that
    ///    wants the kernel's behaviour reads the option area itself with
    ///    [`TcpOptions::parse_lenient`].
    ///
    /// The checksum is not checked here; see [`tcp_verify_v4`]. The kernel
    /// checks it next, in `skb_checksum_init()` (a failure counts
    /// `InCsumErrors` and `InErrs`), except that for a segment longer than
    /// 76 bytes without hardware help the full sum is deferred to
    /// `tcp_checksum_complete()` later on the path.
    ///
    /// The four reserved bits beside `doff` (one of them the AccECN `AE`
    /// flag in recent kernels) are ignored and written back as zero.
    pub fn parse(bytes: &[u8]) -> Result<TcpHdr, WireError> {
        Self::parse_with(bytes, false)
    }

    /// What `tcp_v4_rcv()` accepts: the same checks as [`TcpHdr::parse`]
    /// except the fourth, since the kernel reads options leniently
    /// (`tcp_parse_options()` stops at a malformed one and keeps the rest).
    pub fn parse_rcv(bytes: &[u8]) -> Result<TcpHdr, WireError> {
        Self::parse_with(bytes, true)
    }

    fn parse_with(bytes: &[u8], lenient: bool) -> Result<TcpHdr, WireError> {
        need(bytes, Self::LEN_MIN)?;
        let doff = bytes[12] >> 4;
        if doff < 5 {
            return Err(WireError::HdrError);
        }
        let hlen = usize::from(doff) * 4;
        let Some(area) = bytes.get(Self::LEN_MIN..hlen) else {
            return Err(WireError::Truncated);
        };
        let options = if lenient {
            TcpOptions::parse_lenient(area)
        } else {
            TcpOptions::parse(area)?
        };
        Ok(TcpHdr {
            source: be16(bytes, 0),
            dest: be16(bytes, 2),
            seq: be32(bytes, 4),
            ack_seq: be32(bytes, 8),
            doff,
            flags: TcpFlags(bytes[13]),
            window: be16(bytes, 14),
            check: be16(bytes, 16),
            urg_ptr: be16(bytes, 18),
            options,
        })
    }

    /// The sequence space the segment occupies: the payload length, plus
    /// one each for SYN and FIN (`TCP_SKB_CB(skb)->end_seq - seq`).
    pub fn seq_len(&self, payload_len: usize) -> u32 {
        let mut n = payload_len as u32;
        if self.flags.contains(TcpFlags::SYN) {
            n = n.wrapping_add(1);
        }
        if self.flags.contains(TcpFlags::FIN) {
            n = n.wrapping_add(1);
        }
        n
    }

    /// The segment as `tcpdump -S` prints it after the addresses, for a
    /// segment carrying `payload_len` bytes of data:
    ///
    /// ```text
    /// Flags [S.], seq 1000, ack 2001, win 65483, options [mss 65495,sackOK,TS val 1 ecr 2,nop,wscale 7], length 0
    /// ```
    ///
    /// The rules are `tcp_print()`'s in tcpdump's `print-tcp.c`: `seq` only
    /// when there is payload or SYN, FIN or RST is set, as `first:end` when
    /// there is payload; `ack` only with ACK; `urg` only with URG; the
    /// options as laid out on the wire, including NOPs and, if `doff`
    /// leaves room after them, an `eol`. Sequence numbers are absolute
    /// (`-S`); without `-S` tcpdump prints them relative to the first it
    /// saw in the conversation. The `-v` fields (checksum) are not printed.
    pub fn summary(&self, payload_len: usize) -> String {
        let mut s = format!("Flags {}", self.flags);
        if payload_len > 0
            || self
                .flags
                .intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST)
        {
            let _ = write!(s, ", seq {}", self.seq);
            if payload_len > 0 {
                let _ = write!(s, ":{}", self.seq.wrapping_add(payload_len as u32));
            }
        }
        if self.flags.contains(TcpFlags::ACK) {
            let _ = write!(s, ", ack {}", self.ack_seq);
        }
        let _ = write!(s, ", win {}", self.window);
        if self.flags.contains(TcpFlags::URG) {
            let _ = write!(s, ", urg {}", self.urg_ptr);
        }
        let (area, len) = self.option_area().unwrap_or_else(|| self.options.encode());
        if len > 0 {
            s.push_str(", options [");
            tcpdump_options(&mut s, &area[..len]);
            s.push(']');
        }
        let _ = write!(s, ", length {payload_len}");
        s
    }
}

/// Adds a segment to a sum as if its checksum field (bytes 16 and 17) were
/// zero.
fn add_without_check(c: &mut Checksum, segment: &[u8]) {
    // Skipping two bytes at an even offset keeps the later bytes' pairing.
    c.add_bytes(segment.get(..16).unwrap_or(segment));
    c.add_bytes(segment.get(18..).unwrap_or(&[]));
}

/// The checksum to send for a TCP segment over IPv4: pseudo-header
/// (`saddr`, `daddr`, 6, the segment's length) plus `segment`, the header
/// with its options followed by the payload. Whatever the check field
/// holds is ignored. Unlike UDP's, a computed 0 is sent as 0: TCP's
/// checksum is mandatory, so 0 means nothing special (`tcp_v4_check()`,
/// `__tcp_v4_send_check()`).
pub fn tcp_checksum_v4(saddr: Ipv4Addr, daddr: Ipv4Addr, segment: &[u8]) -> u16 {
    // A segment inside IPv4 is under 64 KiB, so the length fits.
    let mut c = pseudo_v4(saddr, daddr, IPPROTO_TCP, segment.len() as u16);
    add_without_check(&mut c, segment);
    c.finish()
}

/// The checksum to send for a TCP segment over IPv6 (RFC 8200 section 8.1
/// pseudo-header; `tcp_v6_check()`).
pub fn tcp_checksum_v6(saddr: Ipv6Addr, daddr: Ipv6Addr, segment: &[u8]) -> u16 {
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_TCP, segment.len() as u32);
    add_without_check(&mut c, segment);
    c.finish()
}

/// Computes [`tcp_checksum_v4`] and stores it in the segment's check field.
/// [`WireError::Truncated`] if `segment` is shorter than 20 bytes.
pub fn fill_checksum_v4(
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    segment: &mut [u8],
) -> Result<(), WireError> {
    super::fill_check(segment, TcpHdr::LEN_MIN, 16, |s| {
        tcp_checksum_v4(saddr, daddr, s)
    })
}

/// Computes [`tcp_checksum_v6`] and stores it in the segment's check field.
/// [`WireError::Truncated`] if `segment` is shorter than 20 bytes.
pub fn fill_checksum_v6(
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    segment: &mut [u8],
) -> Result<(), WireError> {
    super::fill_check(segment, TcpHdr::LEN_MIN, 16, |s| {
        tcp_checksum_v6(saddr, daddr, s)
    })
}

/// Whether a segment received over IPv4 passes its checksum, `segment`
/// being the whole IP payload (header, options, data). There is no "0
/// means none": every value is checked. If it fails, the caller counts TCP
/// `InCsumErrors` and `InErrs`. Fewer than 20 bytes is `false`.
pub fn tcp_verify_v4(saddr: Ipv4Addr, daddr: Ipv4Addr, segment: &[u8]) -> bool {
    if segment.len() < TcpHdr::LEN_MIN {
        return false;
    }
    let mut c = pseudo_v4(saddr, daddr, IPPROTO_TCP, segment.len() as u16);
    c.add_bytes(segment);
    c.verifies()
}

/// Whether a segment received over IPv6 passes its checksum. Fewer than
/// 20 bytes is `false`.
pub fn tcp_verify_v6(saddr: Ipv6Addr, daddr: Ipv6Addr, segment: &[u8]) -> bool {
    if segment.len() < TcpHdr::LEN_MIN {
        return false;
    }
    let mut c = pseudo_v6(saddr, daddr, IPPROTO_TCP, segment.len() as u32);
    c.add_bytes(segment);
    c.verifies()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sack_blocks_are_written_after_the_rest_and_three_fit_beside_timestamps() {
        let mut o = TcpOptions {
            timestamps: Some((7, 9)),
            ..TcpOptions::NONE
        };
        for i in 0..4u32 {
            assert!(o.sack.push(1000 * i + 100, 1000 * i + 200));
        }
        assert!(!o.sack.push(1, 2), "four at most");
        // 12 bytes of timestamps leave room for three blocks (4 + 24).
        assert_eq!(o.len(), 40);
        let mut buf = [0u8; 40];
        o.write(&mut buf).unwrap();
        assert_eq!(&buf[12..16], &[TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 26]);
        let back = TcpOptions::parse(&buf).unwrap();
        assert_eq!(back.sack.as_slice(), &o.sack.as_slice()[..3]);
        let mut text = String::new();
        tcpdump_options(&mut text, &buf);
        assert_eq!(
            text,
            "nop,nop,TS val 7 ecr 9,nop,nop,sack 3 {100:200}{1100:1200}{2100:2200}"
        );
        // Alone, all four fit: 4 + 32 bytes.
        o.timestamps = None;
        assert_eq!(o.len(), 36);
    }

    use super::*;
    use proptest::prelude::*;

    const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

    /// A SYN a Linux 6.18 host sent on loopback, `connect()` to
    /// 127.0.0.1:45678 from port 55604, the TCP segment of a capture taken
    /// with `tcpdump -i lo -x`. tcpdump printed it as
    /// `Flags [S], cksum 0xfe30 (incorrect -> 0xd726), seq 1564018927, win
    /// 65495, options [mss 65495,sackOK,TS val 1224818187 ecr 0,nop,wscale
    /// 10], length 0`. The check field holds only the pseudo-header sum
    /// (`CHECKSUM_PARTIAL`; see the module documentation).
    const REAL_SYN: [u8; 40] = [
        0xd9, 0x34, 0xb2, 0x6e, 0x5d, 0x39, 0x08, 0xef, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xff,
        0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a, 0x49, 0x01,
        0x3e, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    /// The SYN-ACK answering it: `Flags [S.], cksum 0xfe30 (incorrect ->
    /// 0xb25d), seq 2367919334, ack 1564018928, win 65483, options [mss
    /// 65495,sackOK,TS val 180746228 ecr 1224818187,nop,wscale 10], length
    /// 0`.
    const REAL_SYNACK: [u8; 40] = [
        0xb2, 0x6e, 0xd9, 0x34, 0x8d, 0x23, 0x94, 0xe6, 0x5d, 0x39, 0x08, 0xf0, 0xa0, 0x12, 0xff,
        0xcb, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0xc5,
        0xf7, 0xf4, 0x49, 0x01, 0x3e, 0x0b, 0x01, 0x03, 0x03, 0x0a,
    ];

    /// The client's first data, "hello": `Flags [P.], cksum 0xfe2d
    /// (incorrect -> 0x96fd), seq 1564018928:1564018933, ack 2367919335, win
    /// 64, options [nop,nop,TS val 1224818187 ecr 180746228], length 5`.
    const REAL_DATA: [u8; 37] = [
        0xd9, 0x34, 0xb2, 0x6e, 0x5d, 0x39, 0x08, 0xf0, 0x8d, 0x23, 0x94, 0xe7, 0x80, 0x18, 0x00,
        0x40, 0xfe, 0x2d, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x49, 0x01, 0x3e, 0x0b, 0x0a, 0xc5,
        0xf7, 0xf4, b'h', b'e', b'l', b'l', b'o',
    ];

    /// The RST,ACK `tcp_v4_send_reset()` sent for a SYN to a closed port
    /// 45679 (from port 39134, seq 3914572801), summed in software: `Flags
    /// [R.], cksum 0xd929 (correct), seq 0, ack 3914572802, win 0, length 0`.
    const REAL_RST: [u8; 20] = [
        0xb2, 0x6f, 0x98, 0xde, 0x00, 0x00, 0x00, 0x00, 0xe9, 0x53, 0xa4, 0x02, 0x50, 0x14, 0x00,
        0x00, 0xd9, 0x29, 0x00, 0x00,
    ];

    /// A SYN over IPv6 loopback, ::1 port 37868 to port 45680: `Flags [S],
    /// cksum 0x0030 (incorrect -> 0xfd11), seq 4156075815, win 65476,
    /// options [mss 65476,sackOK,TS val 3262095718 ecr 0,nop,wscale 10],
    /// length 0`.
    const REAL_SYN_V6: [u8; 40] = [
        0x93, 0xec, 0xb2, 0x70, 0xf7, 0xb8, 0xaf, 0x27, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xff,
        0xc4, 0x00, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xc4, 0x04, 0x02, 0x08, 0x0a, 0xc2, 0x6f,
        0xa1, 0x66, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    #[test]
    fn real_linux_syn_options_parse_and_reencode() {
        let h = TcpHdr::parse(&REAL_SYN).unwrap();
        assert_eq!(
            h.options,
            TcpOptions {
                mss: Some(65495),
                wscale: Some(10),
                sack_permitted: true,
                timestamps: Some((1224818187, 0)),
                sack: SackBlocks::default(),
            }
        );
        assert_eq!(
            (h.source, h.dest, h.seq, h.ack_seq, h.doff),
            (55604, 45678, 1564018927, 0, 10)
        );
        assert_eq!(h.flags, TcpFlags::SYN);
        assert_eq!((h.window, h.check, h.urg_ptr), (65495, 0xfe30, 0));
        assert_eq!(h.options.len(), 20);
        assert_eq!(TcpHdr::doff_for(&h.options), 10);
        let mut out = [0u8; 40];
        h.write(&mut out).unwrap();
        assert_eq!(out, REAL_SYN);
        let mut opts = [0u8; 20];
        h.options.write(&mut opts).unwrap();
        assert_eq!(opts, REAL_SYN[20..]);
    }

    #[test]
    fn real_segments_reencode() {
        for bytes in [
            &REAL_SYNACK[..],
            &REAL_DATA[..],
            &REAL_RST[..],
            &REAL_SYN_V6[..],
        ] {
            let h = TcpHdr::parse(bytes).unwrap();
            let mut out = vec![0u8; h.header_len()];
            h.write(&mut out).unwrap();
            assert_eq!(out, bytes[..h.header_len()]);
        }
        let data = TcpHdr::parse(&REAL_DATA).unwrap();
        assert_eq!(data.options.len(), 12);
        assert_eq!(data.options.timestamps, Some((1224818187, 180746228)));
        assert_eq!(
            (data.options.mss, data.options.wscale),
            (None, None),
            "established segments carry only timestamps"
        );
    }

    /// `summary` against what tcpdump 4.99.3 printed (`-nn -S`) for the same
    /// bytes.
    #[test]
    fn summary_matches_real_tcpdump() {
        let cases: [(&[u8], &str); 5] = [
            (
                &REAL_SYN,
                "Flags [S], seq 1564018927, win 65495, options [mss 65495,sackOK,TS val 1224818187 ecr 0,nop,wscale 10], length 0",
            ),
            (
                &REAL_SYNACK,
                "Flags [S.], seq 2367919334, ack 1564018928, win 65483, options [mss 65495,sackOK,TS val 180746228 ecr 1224818187,nop,wscale 10], length 0",
            ),
            (
                &REAL_DATA,
                "Flags [P.], seq 1564018928:1564018933, ack 2367919335, win 64, options [nop,nop,TS val 1224818187 ecr 180746228], length 5",
            ),
            (
                &REAL_RST,
                "Flags [R.], seq 0, ack 3914572802, win 0, length 0",
            ),
            (
                &REAL_SYN_V6,
                "Flags [S], seq 4156075815, win 65476, options [mss 65476,sackOK,TS val 3262095718 ecr 0,nop,wscale 10], length 0",
            ),
        ];
        for (bytes, want) in cases {
            let h = TcpHdr::parse(bytes).unwrap();
            assert_eq!(h.summary(bytes.len() - h.header_len()), want);
        }
        // A pure ACK: no seq.
        let mut ack = TcpHdr::parse(&REAL_DATA).unwrap();
        ack.flags = TcpFlags::ACK;
        assert_eq!(
            ack.summary(0),
            "Flags [.], ack 2367919335, win 64, options [nop,nop,TS val 1224818187 ecr 180746228], length 0"
        );
    }

    #[test]
    fn summary_details() {
        let mut h = TcpHdr::new(
            1,
            2,
            u32::MAX - 1,
            7,
            TcpFlags::URG | TcpFlags::ACK | TcpFlags::PSH,
            100,
            TcpOptions::NONE,
        );
        h.urg_ptr = 3;
        // The end of the range wraps like tcpdump's u_int arithmetic.
        assert_eq!(
            h.summary(4),
            "Flags [P.U], seq 4294967294:2, ack 7, win 100, urg 3, length 4"
        );
        // Room after the options shows as an eol, as on the wire.
        let mut h = TcpHdr::new(1, 2, 5, 0, TcpFlags::SYN, 10, TcpOptions::NONE);
        h.options.mss = Some(1460);
        h.doff = 7;
        assert_eq!(
            h.summary(0),
            "Flags [S], seq 5, win 10, options [mss 1460,eol], length 0"
        );
        // A doff too small is raised to fit the options, as on write.
        h.doff = 0;
        assert_eq!(
            h.summary(0),
            "Flags [S], seq 5, win 10, options [mss 1460], length 0"
        );
        h.flags = TcpFlags::empty();
        assert!(h.summary(0).starts_with("Flags [none], win 10"));
    }

    #[test]
    fn tcpdump_option_rendering_of_odd_areas() {
        let render = |b: &[u8]| {
            let mut s = String::new();
            tcpdump_options(&mut s, b);
            s
        };
        assert_eq!(render(&[1, 1, 0, 0]), "nop,nop,eol");
        assert_eq!(render(&[30, 4, 0xab, 0xcd, 1]), "unknown-30 0xabcd,nop");
        assert_eq!(render(&[30, 2]), "unknown-30");
        assert_eq!(render(&[1, 2, 5, 1, 2, 3]), "nop,[bad opt]");
        assert_eq!(render(&[2, 9, 0]), "[bad opt]");
        assert_eq!(render(&[2]), "[bad opt]");
        assert_eq!(render(&[8, 3, 0]), "[bad opt]");
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn flags_display_like_tcpdump() {
        use TcpFlags as F;
        let cases = [
            (F::SYN, "[S]"),
            (F::SYN | F::ACK, "[S.]"),
            (F::ACK, "[.]"),
            (F::PSH | F::ACK, "[P.]"),
            (F::FIN | F::ACK, "[F.]"),
            (F::RST, "[R]"),
            (F::RST | F::ACK, "[R.]"),
            (F::FIN | F::PSH | F::ACK, "[FP.]"),
            (F::SYN | F::ECE | F::CWR, "[SEW]"),
            (F::from_bits(0xff), "[FSRP.UEW]"),
            (F::empty(), "[none]"),
        ];
        for (f, want) in cases {
            assert_eq!(f.to_string(), want);
        }
        assert_eq!((F::SYN | F::ACK).names(), "SYN,ACK");
        assert_eq!((F::FIN | F::PSH | F::ACK).names(), "FIN,PSH,ACK");
        assert_eq!(format!("{:?}", F::SYN | F::ACK), "TcpFlags(SYN | ACK)");
        assert_eq!(format!("{:?}", F::empty()), "TcpFlags(empty)");
    }

    #[test]
    fn flag_operations() {
        use TcpFlags as F;
        let f = F::SYN | F::ACK;
        assert!(f.contains(F::SYN) && f.contains(F::ACK) && f.contains(F::SYN | F::ACK));
        assert!(!f.contains(F::SYN | F::FIN));
        assert!(f.intersects(F::SYN | F::FIN));
        assert!(!f.intersects(F::FIN | F::RST));
        assert!(f.contains(F::empty()));
        assert_eq!(f & F::ACK, F::ACK);
        assert_eq!(f.difference(F::SYN), F::ACK);
        assert_eq!(f.bits(), 0x12);
        assert_eq!(F::from_bits(0x12), f);
        assert!(F::default().is_empty());
    }

    /// Every combination of `tcp_options_write()`'s groups, byte for byte.
    #[test]
    fn option_layouts() {
        let ts = Some((0x0102_0304, 0x0506_0708));
        let cases: [(TcpOptions, &[u8]); 7] = [
            (TcpOptions::NONE, &[]),
            (
                TcpOptions {
                    mss: Some(1460),
                    ..TcpOptions::NONE
                },
                &[2, 4, 0x05, 0xb4],
            ),
            (
                TcpOptions {
                    timestamps: ts,
                    ..TcpOptions::NONE
                },
                &[1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8],
            ),
            (
                TcpOptions {
                    sack_permitted: true,
                    ..TcpOptions::NONE
                },
                &[1, 1, 4, 2],
            ),
            (
                TcpOptions {
                    wscale: Some(7),
                    ..TcpOptions::NONE
                },
                &[1, 3, 3, 7],
            ),
            (
                TcpOptions {
                    mss: Some(1460),
                    sack_permitted: true,
                    wscale: Some(7),
                    timestamps: None,
                    sack: SackBlocks::default(),
                },
                &[2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7],
            ),
            (
                TcpOptions {
                    mss: Some(1460),
                    sack_permitted: true,
                    wscale: Some(7),
                    timestamps: ts,
                    sack: SackBlocks::default(),
                },
                &[
                    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
                ],
            ),
        ];
        for (o, want) in cases {
            assert_eq!(o.len(), want.len());
            assert_eq!(o.is_empty(), want.is_empty());
            let mut buf = vec![0xeeu8; want.len() + 2];
            o.write(&mut buf).unwrap();
            assert_eq!(&buf[..want.len()], want);
            assert_eq!(buf[want.len()..], [0xee, 0xee], "wrote past len()");
            assert_eq!(TcpOptions::parse(want), Ok(o));
            assert_eq!(TcpOptions::parse_lenient(want), o);
        }
        let full = TcpOptions {
            mss: Some(1),
            sack_permitted: true,
            wscale: Some(1),
            timestamps: ts,
            sack: SackBlocks::default(),
        };
        assert_eq!(full.write(&mut [0; 19]), Err(WireError::Truncated));
    }

    #[test]
    fn options_parse_any_legal_sequence() {
        // Another stack's order (FreeBSD style: mss, nop, wscale, sackOK,
        // TS), unknown kinds, a SACK block, an EOL with junk after it.
        let area = [
            2, 4, 0x05, 0xb4, // mss 1460
            1, 3, 3, 6, // nop, wscale 6
            30, 3, 0xff, // unknown kind 30, length 3
            4, 2, // sackOK
            5, 10, 0, 0, 0, 1, 0, 0, 0, 2, // SACK block 1:2
            8, 10, 0, 0, 0, 9, 0, 0, 0, 0, // TS val 9 ecr 0
            0, 2, 99, // EOL then junk
        ];
        let o = TcpOptions::parse(&area).unwrap();
        assert_eq!(
            o,
            TcpOptions {
                mss: Some(1460),
                wscale: Some(6),
                sack_permitted: true,
                timestamps: Some((9, 0)),
                sack: {
                    let mut b = SackBlocks::default();
                    b.push(1, 2);
                    b
                },
            }
        );
        assert_eq!(TcpOptions::parse_lenient(&area), o);
        // Empty, all NOPs, all EOLs.
        assert_eq!(TcpOptions::parse(&[]), Ok(TcpOptions::NONE));
        assert_eq!(TcpOptions::parse(&[1; 40]), Ok(TcpOptions::NONE));
        assert_eq!(TcpOptions::parse(&[0; 40]), Ok(TcpOptions::NONE));
        // The last of a repeated kind wins.
        assert_eq!(
            TcpOptions::parse(&[2, 4, 0, 1, 2, 4, 0, 2]).unwrap().mss,
            Some(2)
        );
    }

    #[test]
    fn options_malformed_lengths() {
        let bad: [&[u8]; 8] = [
            &[2],                      // kind with no length byte
            &[1, 1, 1, 30],            // the same after NOPs
            &[30, 0],                  // length 0 ("silly option")
            &[30, 1, 1, 1],            // length 1
            &[30, 5, 1, 1],            // runs past the area
            &[2, 3, 5],                // MSS of length 3
            &[3, 4, 7, 1],             // window scale of length 4
            &[8, 8, 0, 0, 0, 0, 0, 0], // timestamps of length 8
        ];
        for b in bad {
            assert_eq!(TcpOptions::parse(b), Err(WireError::BadLength), "{b:?}");
        }
        assert_eq!(
            TcpOptions::parse(&[4, 3, 0]),
            Err(WireError::BadLength),
            "sackOK of length 3"
        );
        // The kernel keeps what it read before a bad length and skips a
        // known kind of the wrong size.
        assert_eq!(
            TcpOptions::parse_lenient(&[2, 4, 0, 9, 1, 30, 0, 3, 3, 7]).mss,
            Some(9)
        );
        let skipped = TcpOptions::parse_lenient(&[2, 3, 5, 3, 3, 7]);
        assert_eq!((skipped.mss, skipped.wscale), (None, Some(7)));
        assert_eq!(TcpOptions::parse_lenient(&[30, 9, 1]), TcpOptions::NONE);
        // Through the header parser.
        let mut seg = REAL_SYN;
        seg[21] = 41;
        assert_eq!(TcpHdr::parse(&seg), Err(WireError::BadLength));
    }

    /// Check 1: not even a fixed header.
    #[test]
    fn error_shorter_than_fixed_header() {
        assert_eq!(TcpHdr::parse(&REAL_RST[..19]), Err(WireError::Truncated));
        assert_eq!(TcpHdr::parse(&[]), Err(WireError::Truncated));
    }

    /// Check 2: doff below 5, even when the bytes are there.
    #[test]
    fn error_doff_below_five() {
        for doff in 0..5u8 {
            let mut seg = REAL_SYN;
            seg[12] = doff << 4;
            assert_eq!(TcpHdr::parse(&seg), Err(WireError::HdrError));
        }
        // Checked before the header length: a short doff on a segment cut
        // to 20 bytes is still a header error.
        let mut seg = REAL_SYN;
        seg[12] = 0x40;
        assert_eq!(TcpHdr::parse(&seg[..20]), Err(WireError::HdrError));
    }

    /// Check 3: doff claims options that did not arrive.
    #[test]
    fn error_options_cut_off() {
        assert_eq!(TcpHdr::parse(&REAL_SYN[..39]), Err(WireError::Truncated));
        assert_eq!(TcpHdr::parse(&REAL_SYN[..20]), Err(WireError::Truncated));
        let mut seg = REAL_RST;
        seg[12] = 0xf0;
        assert_eq!(TcpHdr::parse(&seg), Err(WireError::Truncated));
        // Payload past doff is not the header's business.
        assert_eq!(TcpHdr::parse(&REAL_DATA).unwrap().header_len(), 32);
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let mut seg = REAL_RST;
        seg[12] |= 0x0f;
        let h = TcpHdr::parse(&seg).unwrap();
        assert_eq!(h.doff, 5);
        let mut out = [0u8; 20];
        h.write(&mut out).unwrap();
        assert_eq!(out, REAL_RST);
    }

    #[test]
    fn write_errors_and_padding() {
        let h = TcpHdr::parse(&REAL_SYN).unwrap();
        assert_eq!(h.write(&mut [0; 39]), Err(WireError::Truncated));
        for doff in [16, 255] {
            let bad = TcpHdr { doff, ..h };
            assert_eq!(
                bad.write(&mut [0; 1024]),
                Err(WireError::HdrError),
                "{doff}"
            );
        }
        // A doff too small for the options (0 as in `TcpHdr::default()`,
        // or 5) is raised to fit them.
        for doff in [0, 4, 5, 9] {
            let fit = TcpHdr { doff, ..h };
            assert_eq!(fit.header_len(), 40);
            let mut out = [0xeeu8; 41];
            fit.write(&mut out).unwrap();
            assert_eq!(out[..40], REAL_SYN, "{doff}");
            assert_eq!(out[40], 0xee);
        }
        assert_eq!(TcpHdr::default().header_len(), 20);
        let mut out = [0xeeu8; 20];
        TcpHdr::default().write(&mut out).unwrap();
        assert_eq!(out[12], 0x50);
        // doff 15 with 20 bytes of options: EOL and zeros after them.
        let wide = TcpHdr { doff: 15, ..h };
        let mut out = [0xeeu8; 64];
        wide.write(&mut out).unwrap();
        assert_eq!(out[..12], REAL_SYN[..12]);
        assert_eq!(out[12], 0xf0);
        assert_eq!(out[20..40], REAL_SYN[20..40]);
        assert_eq!(out[40..60], [0; 20]);
        assert_eq!(out[60..], [0xee; 4], "wrote past header_len()");
        assert_eq!(TcpHdr::parse(&out[..60]), Ok(wide));
        assert_eq!(wide.header_len(), 60);
    }

    #[test]
    fn seq_len_counts_syn_and_fin() {
        let h = TcpHdr::new(1, 2, 0, 0, TcpFlags::SYN, 0, TcpOptions::NONE);
        assert_eq!(h.seq_len(0), 1);
        let h = TcpHdr::new(
            1,
            2,
            0,
            0,
            TcpFlags::FIN | TcpFlags::ACK,
            0,
            TcpOptions::NONE,
        );
        assert_eq!(h.seq_len(10), 11);
        let h = TcpHdr::new(1, 2, 0, 0, TcpFlags::ACK, 0, TcpOptions::NONE);
        assert_eq!(h.seq_len(0), 0);
    }

    /// The right checksums of the captured segments are the ones tcpdump
    /// said they should have been.
    #[test]
    fn known_answer_checksums() {
        assert_eq!(tcp_checksum_v4(LO, LO, &REAL_SYN), 0xd726);
        assert_eq!(tcp_checksum_v4(LO, LO, &REAL_SYNACK), 0xb25d);
        assert_eq!(tcp_checksum_v4(LO, LO, &REAL_DATA), 0x96fd);
        assert_eq!(tcp_checksum_v4(LO, LO, &REAL_RST), 0xd929);
        assert!(tcp_verify_v4(LO, LO, &REAL_RST));
        // The loopback SYN's field holds the pseudo-header sum, which does
        // not verify: 7f00+0001+7f00+0001+0006+0028 = fe30.
        assert_eq!(pseudo_v4(LO, LO, IPPROTO_TCP, 40).sum(), 0xfe30);
        assert!(!tcp_verify_v4(LO, LO, &REAL_SYN));
        let mut syn = REAL_SYN;
        fill_checksum_v4(LO, LO, &mut syn).unwrap();
        assert_eq!(syn[16..18], [0xd7, 0x26]);
        assert!(tcp_verify_v4(LO, LO, &syn));
        assert!(!tcp_verify_v4(LO, Ipv4Addr::new(127, 0, 0, 2), &syn));

        let lo6 = Ipv6Addr::LOCALHOST;
        assert_eq!(tcp_checksum_v6(lo6, lo6, &REAL_SYN_V6), 0xfd11);
        let mut syn6 = REAL_SYN_V6;
        assert!(!tcp_verify_v6(lo6, lo6, &syn6));
        fill_checksum_v6(lo6, lo6, &mut syn6).unwrap();
        assert!(tcp_verify_v6(lo6, lo6, &syn6));
        syn6[39] ^= 1;
        assert!(!tcp_verify_v6(lo6, lo6, &syn6));
    }

    /// A segment whose correct checksum is 0 is sent with 0, which
    /// verifies: there is no UDP-style "0 means none".
    #[test]
    fn zero_checksum_is_sent_as_zero() {
        // Two bytes of payload, first zero; then payload equal to the
        // checksum of that makes the sum ffff, so the checksum is 0.
        let mut seg = [&REAL_RST[..], &[0, 0]].concat();
        let c = tcp_checksum_v4(LO, LO, &seg);
        seg[20..22].copy_from_slice(&c.to_be_bytes());
        assert_eq!(tcp_checksum_v4(LO, LO, &seg), 0);
        fill_checksum_v4(LO, LO, &mut seg).unwrap();
        assert_eq!(seg[16..18], [0, 0]);
        assert!(tcp_verify_v4(LO, LO, &seg));
    }

    #[test]
    fn short_buffers_do_not_panic() {
        let lo6 = Ipv6Addr::LOCALHOST;
        assert_eq!(
            fill_checksum_v4(LO, LO, &mut [0; 19]),
            Err(WireError::Truncated)
        );
        assert_eq!(
            fill_checksum_v6(lo6, lo6, &mut [0; 3]),
            Err(WireError::Truncated)
        );
        assert!(!tcp_verify_v4(LO, LO, &[0; 19]));
        assert!(!tcp_verify_v6(lo6, lo6, &[]));
        let _ = tcp_checksum_v4(LO, LO, &[1, 2, 3]);
        let _ = tcp_checksum_v6(lo6, lo6, &[1; 17]);
    }

    fn any_options() -> impl Strategy<Value = TcpOptions> {
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::option::of(any::<(u32, u32)>()),
        )
            .prop_map(|(mss, wscale, sack_permitted, timestamps)| TcpOptions {
                mss,
                wscale,
                sack_permitted,
                timestamps,
                sack: SackBlocks::default(),
            })
    }

    fn any_header() -> impl Strategy<Value = TcpHdr> {
        (
            any::<(u16, u16, u32, u32)>(),
            any::<(u8, u16, u16, u16)>(),
            any_options(),
            0usize..6,
        )
            .prop_map(
                |(
                    (source, dest, seq, ack_seq),
                    (flags, window, check, urg_ptr),
                    options,
                    extra,
                )| {
                    let doff = (TcpHdr::doff_for(&options) as usize + extra).min(15) as u8;
                    TcpHdr {
                        source,
                        dest,
                        seq,
                        ack_seq,
                        doff,
                        flags: TcpFlags::from_bits(flags),
                        window,
                        check,
                        urg_ptr,
                        options,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = TcpHdr::parse(&bytes);
            let _ = TcpOptions::parse(&bytes);
            let _ = TcpOptions::parse_lenient(&bytes);
            let _ = tcp_verify_v4(LO, LO, &bytes);
            let _ = tcp_verify_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &bytes);
            let _ = tcp_checksum_v4(LO, LO, &bytes);
            let mut s = String::new();
            tcpdump_options(&mut s, &bytes);
        }

        /// Bytes with a plausible doff reach the option parser.
        #[test]
        fn parse_never_panics_near_valid(
            doff in 5u8..16,
            mut bytes in proptest::collection::vec(any::<u8>(), 20..70),
            payload in 0usize..100,
        ) {
            bytes[12] = doff << 4 | (bytes[12] & 0x0f);
            if let Ok(h) = TcpHdr::parse(&bytes) {
                prop_assert!(h.header_len() <= bytes.len());
                let _ = h.summary(payload);
                let mut out = vec![0u8; h.header_len()];
                prop_assert_eq!(h.write(&mut out), Ok(()));
                // Re-encoding keeps what was understood.
                prop_assert_eq!(TcpHdr::parse(&out), Ok(h));
            }
        }

        #[test]
        fn write_then_parse(h in any_header(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut seg = vec![0u8; h.header_len()];
            h.write(&mut seg).unwrap();
            // What comes back has the doff that was written.
            let back = TcpHdr { doff: (h.header_len() / 4) as u8, ..h };
            prop_assert_eq!(TcpHdr::parse(&seg), Ok(back));
            seg.extend_from_slice(&payload);
            prop_assert_eq!(TcpHdr::parse(&seg), Ok(back));
            let summary = h.summary(payload.len());
            let flags = format!("Flags {}", h.flags);
            let length = format!(", length {}", payload.len());
            prop_assert!(summary.contains(&flags));
            prop_assert!(summary.ends_with(&length));
        }

        #[test]
        fn options_round_trip(o in any_options()) {
            let mut buf = [0u8; MAX_TCP_OPTION_SPACE];
            o.write(&mut buf).unwrap();
            prop_assert_eq!(o.len() % 4, 0);
            prop_assert!(o.len() <= 20);
            prop_assert_eq!(TcpOptions::parse(&buf[..o.len()]), Ok(o));
            // Padding with EOL or NOPs changes nothing.
            prop_assert_eq!(TcpOptions::parse(&buf), Ok(o));
            prop_assert_eq!(TcpOptions::parse_lenient(&buf), o);
        }

        #[test]
        fn fill_then_verify(
            s in any::<[u8; 4]>(),
            d in any::<[u8; 4]>(),
            s6 in any::<[u8; 16]>(),
            d6 in any::<[u8; 16]>(),
            mut segment in proptest::collection::vec(any::<u8>(), 20..200),
        ) {
            let (s, d, s6, d6) = (s.into(), d.into(), s6.into(), d6.into());
            fill_checksum_v4(s, d, &mut segment).unwrap();
            prop_assert!(tcp_verify_v4(s, d, &segment));
            fill_checksum_v6(s6, d6, &mut segment).unwrap();
            prop_assert!(tcp_verify_v6(s6, d6, &segment));
        }
    }
}

#[cfg(test)]
mod rcv_tests {
    use super::*;

    /// A malformed option length: the strict parser refuses the header, the
    /// receive path keeps it (and the options before the bad one).
    #[test]
    fn receive_parsing_is_lenient_about_options() {
        let mut seg = vec![0u8; 28];
        seg[12] = 7 << 4; // doff 7: 8 bytes of options
        seg[13] = 0x10; // ACK
        seg[20..24].copy_from_slice(&[TCPOPT_MSS, 4, 0x05, 0xb4]); // mss 1460
        seg[24..26].copy_from_slice(&[8, 40]); // a timestamp claiming 40 bytes
        assert_eq!(TcpHdr::parse(&seg), Err(WireError::BadLength));
        let h = TcpHdr::parse_rcv(&seg).expect("kept");
        assert_eq!(h.options.mss, Some(1460));
        assert!(h.flags.contains(TcpFlags::ACK));
        seg[12] = 4 << 4;
        assert_eq!(TcpHdr::parse_rcv(&seg), Err(WireError::HdrError));
    }
}
