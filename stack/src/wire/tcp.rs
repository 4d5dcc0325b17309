//! TEMPORARY STUB — replaced by the TCP header module.
use super::WireError;
use std::net::{Ipv4Addr, Ipv6Addr};
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);
impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(1);
    pub const SYN: TcpFlags = TcpFlags(2);
    pub const RST: TcpFlags = TcpFlags(4);
    pub const PSH: TcpFlags = TcpFlags(8);
    pub const ACK: TcpFlags = TcpFlags(16);
    pub fn contains(self, o: TcpFlags) -> bool {
        self.0 & o.0 == o.0
    }
}
impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
}
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHdr {
    pub source: u16,
    pub dest: u16,
    pub seq: u32,
    pub ack_seq: u32,
    pub doff: u8,
    pub flags: TcpFlags,
    pub window: u16,
    pub check: u16,
    pub urg_ptr: u16,
    pub options: TcpOptions,
}
impl TcpHdr {
    pub const LEN_MIN: usize = 20;
    pub fn header_len(&self) -> usize {
        20 + if self.options.mss.is_some() { 4 } else { 0 }
            + if self.options.wscale.is_some() { 4 } else { 0 }
    }
    pub fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        let l = self.header_len();
        if out.len() < l {
            return Err(WireError::Truncated);
        }
        out[0..2].copy_from_slice(&self.source.to_be_bytes());
        out[2..4].copy_from_slice(&self.dest.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..12].copy_from_slice(&self.ack_seq.to_be_bytes());
        out[12] = ((l / 4) as u8) << 4;
        out[13] = self.flags.0;
        out[14..16].copy_from_slice(&self.window.to_be_bytes());
        out[16..18].copy_from_slice(&self.check.to_be_bytes());
        out[18..20].copy_from_slice(&self.urg_ptr.to_be_bytes());
        let mut i = 20;
        if let Some(m) = self.options.mss {
            out[i] = 2;
            out[i + 1] = 4;
            out[i + 2..i + 4].copy_from_slice(&m.to_be_bytes());
            i += 4;
        }
        if let Some(w) = self.options.wscale {
            out[i] = 1;
            out[i + 1] = 3;
            out[i + 2] = 3;
            out[i + 3] = w;
        }
        Ok(())
    }
    pub fn parse(b: &[u8]) -> Result<TcpHdr, WireError> {
        if b.len() < 20 {
            return Err(WireError::Truncated);
        }
        let doff = b[12] >> 4;
        let l = doff as usize * 4;
        if doff < 5 || l > b.len() {
            return Err(WireError::HdrError);
        }
        let mut o = TcpOptions::default();
        let mut i = 20;
        while i < l {
            match b[i] {
                0 => break,
                1 => i += 1,
                k => {
                    if i + 1 >= l {
                        break;
                    }
                    let n = b[i + 1] as usize;
                    if n < 2 || i + n > l {
                        return Err(WireError::HdrError);
                    }
                    if k == 2 && n == 4 {
                        o.mss = Some(u16::from_be_bytes([b[i + 2], b[i + 3]]));
                    }
                    if k == 3 && n == 3 {
                        o.wscale = Some(b[i + 2]);
                    }
                    i += n;
                }
            }
        }
        Ok(TcpHdr {
            source: u16::from_be_bytes([b[0], b[1]]),
            dest: u16::from_be_bytes([b[2], b[3]]),
            seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ack_seq: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            doff,
            flags: TcpFlags(b[13]),
            window: u16::from_be_bytes([b[14], b[15]]),
            check: u16::from_be_bytes([b[16], b[17]]),
            urg_ptr: u16::from_be_bytes([b[18], b[19]]),
            options: o,
        })
    }
}
pub fn fill_checksum_v4(s: Ipv4Addr, d: Ipv4Addr, seg: &mut [u8]) -> Result<(), WireError> {
    let mut c = super::checksum::pseudo_v4(s, d, 6, seg.len() as u16);
    seg[16] = 0;
    seg[17] = 0;
    c.add_bytes(seg);
    let v = c.finish();
    seg[16..18].copy_from_slice(&v.to_be_bytes());
    Ok(())
}
pub fn fill_checksum_v6(s: Ipv6Addr, d: Ipv6Addr, seg: &mut [u8]) -> Result<(), WireError> {
    let mut c = super::checksum::pseudo_v6(s, d, 6, seg.len() as u32);
    seg[16] = 0;
    seg[17] = 0;
    c.add_bytes(seg);
    let v = c.finish();
    seg[16..18].copy_from_slice(&v.to_be_bytes());
    Ok(())
}
pub fn tcp_verify_v4(s: Ipv4Addr, d: Ipv4Addr, seg: &[u8]) -> bool {
    let mut c = super::checksum::pseudo_v4(s, d, 6, seg.len() as u16);
    c.add_bytes(seg);
    c.verifies()
}
pub fn tcp_verify_v6(s: Ipv6Addr, d: Ipv6Addr, seg: &[u8]) -> bool {
    let mut c = super::checksum::pseudo_v6(s, d, 6, seg.len() as u32);
    c.add_bytes(seg);
    c.verifies()
}
