//! Netlink: how programs talk to the kernel's networking configuration
//! over a socket (`net/netlink/af_netlink.c`), and rtnetlink, the part that
//! answers for links, addresses and routes (`net/core/rtnetlink.c`,
//! `net/ipv4/devinet.c`, `net/ipv4/fib_frontend.c`). `ip link`, `ip addr`
//! and `ip route` are rtnetlink clients: each opens
//! `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)`, sends a request with
//! `NLM_F_DUMP`, and reads the kernel's answer, a series of messages ending
//! in `NLMSG_DONE`.
//!
//! Everything on the socket is bytes in the kernel's format
//! (`include/uapi/linux/netlink.h`, `rtnetlink.h`, `if_link.h`,
//! `if_addr.h`), host byte order: a 16-byte `struct nlmsghdr` (length,
//! type, flags, sequence number, port id), a fixed family header
//! (`struct ifinfomsg`, `ifaddrmsg`, `rtmsg`), then attributes, each a
//! 4-byte `struct rtattr` (length, type) and its value, padded to 4 bytes.
//!
//! - [`af_netlink`]: the socket (port ids, `sendmsg` to the kernel, the
//!   dump machinery that fills one datagram at a time as the reader drains
//!   the queue, acknowledgements and errors).
//! - [`rtnetlink`]: the answers (`rtnl_dump_ifinfo()`, `inet_dump_ifaddr()`,
//!   `inet_dump_fib()`, `rtnl_getlink()`).
//! - [`user`]: what a program needs on its side: building requests and
//!   parsing answers, as a C program does with the `NLMSG_*` and `RTA_*`
//!   macros. The examples and the differential tests use it on both the
//!   simulation's bytes and the real kernel's.
//!
//! This module holds the wire format both sides share.

pub mod af_netlink;
pub mod rtnetlink;
pub mod user;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error, or with error 0 an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a multipart (dump) answer.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_MIN_TYPE`: types below are netlink's own control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;
/// `NLMSG_HDRLEN`.
pub const NLMSG_HDRLEN: usize = 16;

/// `NLM_F_REQUEST`: a request to the kernel.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`: part of a multipart answer.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`: acknowledge success too.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_ROOT`.
pub const NLM_F_ROOT: u16 = 0x100;
/// `NLM_F_MATCH`.
pub const NLM_F_MATCH: u16 = 0x200;
/// `NLM_F_DUMP`: the whole table, not one entry.
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// `NLM_F_CAPPED`: an acknowledgement without the request's payload.
pub const NLM_F_CAPPED: u16 = 0x100;

/// `RTM_BASE`.
pub const RTM_BASE: u16 = 16;
/// `RTM_NEWLINK`: a link (the answer to `RTM_GETLINK`).
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `RTM_MAX` as of Linux 6.18: types above it are refused at once.
pub const RTM_MAX: u16 = 123;

/// `IFLA_ADDRESS`.
pub const IFLA_ADDRESS: u16 = 1;
/// `IFLA_BROADCAST`.
pub const IFLA_BROADCAST: u16 = 2;
/// `IFLA_IFNAME`.
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_MTU`.
pub const IFLA_MTU: u16 = 4;
/// `IFLA_LINK`: the ifindex of the device this one sits on.
pub const IFLA_LINK: u16 = 5;
/// `IFLA_QDISC`.
pub const IFLA_QDISC: u16 = 6;
/// `IFLA_STATS`: `struct rtnl_link_stats`, 32-bit counters.
pub const IFLA_STATS: u16 = 7;
/// `IFLA_MASTER`: the bridge (or bond) this device is a port of.
pub const IFLA_MASTER: u16 = 10;
/// `IFLA_TXQLEN`.
pub const IFLA_TXQLEN: u16 = 13;
/// `IFLA_OPERSTATE`.
pub const IFLA_OPERSTATE: u16 = 16;
/// `IFLA_LINKMODE`.
pub const IFLA_LINKMODE: u16 = 17;
/// `IFLA_LINKINFO`: nested; the device's kind.
pub const IFLA_LINKINFO: u16 = 18;
/// `IFLA_STATS64`: `struct rtnl_link_stats64`.
pub const IFLA_STATS64: u16 = 23;
/// `IFLA_GROUP`.
pub const IFLA_GROUP: u16 = 27;
/// `IFLA_PROMISCUITY`.
pub const IFLA_PROMISCUITY: u16 = 30;
/// `IFLA_CARRIER`.
pub const IFLA_CARRIER: u16 = 33;
/// `IFLA_LINK_NETNSID`: the namespace `IFLA_LINK` is in.
pub const IFLA_LINK_NETNSID: u16 = 37;
/// `IFLA_MIN_MTU`.
pub const IFLA_MIN_MTU: u16 = 50;
/// `IFLA_MAX_MTU`.
pub const IFLA_MAX_MTU: u16 = 51;
/// `IFLA_ALLMULTI`.
pub const IFLA_ALLMULTI: u16 = 61;
/// `IFLA_INFO_KIND`, inside `IFLA_LINKINFO`.
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_INFO_SLAVE_KIND`, inside `IFLA_LINKINFO`.
pub const IFLA_INFO_SLAVE_KIND: u16 = 4;

/// `IFA_ADDRESS`.
pub const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`.
pub const IFA_LOCAL: u16 = 2;
/// `IFA_LABEL`.
pub const IFA_LABEL: u16 = 3;
/// `IFA_CACHEINFO`.
pub const IFA_CACHEINFO: u16 = 6;
/// `IFA_FLAGS`.
pub const IFA_FLAGS: u16 = 8;
/// `IFA_PROTO`.
pub const IFA_PROTO: u16 = 11;
/// `IFA_F_PERMANENT`: configured, not learned.
pub const IFA_F_PERMANENT: u32 = 0x80;

/// `RTA_DST`.
pub const RTA_DST: u16 = 1;
/// `RTA_OIF`.
pub const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`.
pub const RTA_GATEWAY: u16 = 5;
/// `RTA_PREFSRC`.
pub const RTA_PREFSRC: u16 = 7;
/// `RTA_TABLE`.
pub const RTA_TABLE: u16 = 15;
/// `RTNH_F_LINKDOWN`: the route's device has no carrier.
pub const RTNH_F_LINKDOWN: u32 = 0x10;

/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// `NLMSG_ALIGN()`/`RTA_ALIGN()`: to a multiple of 4.
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// `struct nlmsghdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsgHdr {
    /// `nlmsg_len`: header and payload.
    pub len: u32,
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`: the sender's port id (0 for the kernel).
    pub pid: u32,
}

impl NlMsgHdr {
    /// Reads a header; `None` if fewer than 16 bytes.
    pub fn parse(b: &[u8]) -> Option<NlMsgHdr> {
        let h = b.get(..NLMSG_HDRLEN)?;
        let u32_at = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u16_at = |i: usize| u16::from_ne_bytes([h[i], h[i + 1]]);
        Some(NlMsgHdr {
            len: u32_at(0),
            ty: u16_at(4),
            flags: u16_at(6),
            seq: u32_at(8),
            pid: u32_at(12),
        })
    }

    /// The 16 bytes of the header.
    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut out = [0u8; NLMSG_HDRLEN];
        out[0..4].copy_from_slice(&self.len.to_ne_bytes());
        out[4..6].copy_from_slice(&self.ty.to_ne_bytes());
        out[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        out[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        out[12..16].copy_from_slice(&self.pid.to_ne_bytes());
        out
    }
}

/// The messages in a buffer, as `NLMSG_OK()`/`NLMSG_NEXT()` walk them:
/// each header with its payload. The walk stops at the first message whose
/// length is shorter than its header or runs past the buffer.
pub fn messages(buf: &[u8]) -> Vec<(NlMsgHdr, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0;
    while let Some(h) = buf.get(off..).and_then(NlMsgHdr::parse) {
        let len = h.len as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        out.push((h, &buf[off + NLMSG_HDRLEN..off + len]));
        off += align4(len);
    }
    out
}

/// The attributes in `b`, as `RTA_OK()`/`RTA_NEXT()` walk them: (type
/// without the nested/byte-order bits, value).
pub fn attrs(b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 4 <= b.len() {
        let len = u16::from_ne_bytes([b[off], b[off + 1]]) as usize;
        let ty = u16::from_ne_bytes([b[off + 2], b[off + 3]]) & 0x3fff;
        if len < 4 || off + len > b.len() {
            break;
        }
        out.push((ty, &b[off + 4..off + len]));
        off += align4(len);
    }
    out
}

/// A message being built (`nlmsg_put()`, `nla_put()`, `nla_nest_start()`).
#[derive(Clone, Debug)]
pub struct NlMsg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl NlMsg {
    /// A message with this header (its length is filled in by
    /// [`NlMsg::finish`]).
    pub fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> NlMsg {
        let h = NlMsgHdr {
            len: 0,
            ty,
            flags,
            seq,
            pid,
        };
        NlMsg {
            buf: h.to_bytes().to_vec(),
            nests: Vec::new(),
        }
    }

    /// Appends raw bytes (the family header), padded to 4 bytes.
    pub fn put(&mut self, bytes: &[u8]) -> &mut NlMsg {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// Appends one attribute.
    pub fn attr(&mut self, ty: u16, value: &[u8]) -> &mut NlMsg {
        let len = (4 + value.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.put(value)
    }

    /// A `u8` attribute.
    pub fn attr_u8(&mut self, ty: u16, v: u8) -> &mut NlMsg {
        self.attr(ty, &[v])
    }

    /// A `u32` attribute.
    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut NlMsg {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut NlMsg {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// Opens a nested attribute (`nla_nest_start()`).
    pub fn nest_start(&mut self, ty: u16) -> &mut NlMsg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(ty | 0x8000).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub fn nest_end(&mut self) -> &mut NlMsg {
        if let Some(at) = self.nests.pop() {
            let len = (self.buf.len() - at) as u16;
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// The finished message, its length filled in.
    pub fn finish(&mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_walk() {
        let mut m = NlMsg::new(RTM_NEWLINK, NLM_F_MULTI, 7, 100);
        m.put(&[0; 16])
            .attr_str(IFLA_IFNAME, "lo")
            .attr_u32(IFLA_MTU, 65536);
        m.nest_start(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .nest_end();
        let bytes = m.finish();
        let msgs = messages(&bytes);
        assert_eq!(msgs.len(), 1);
        let (h, payload) = msgs[0];
        assert_eq!(
            (h.len as usize, h.ty, h.seq, h.pid),
            (bytes.len(), 16, 7, 100)
        );
        let a = attrs(&payload[16..]);
        assert_eq!(a[0], (IFLA_IFNAME, &b"lo\0"[..]));
        assert_eq!(a[1], (IFLA_MTU, &65536u32.to_ne_bytes()[..]));
        assert_eq!(attrs(a[2].1), vec![(IFLA_INFO_KIND, &b"veth\0"[..])]);
    }

    #[test]
    fn malformed_buffers_stop_the_walk() {
        assert!(messages(&[1, 2, 3]).is_empty());
        let mut bad = NlMsgHdr {
            len: 8,
            ty: 3,
            flags: 0,
            seq: 0,
            pid: 0,
        }
        .to_bytes()
        .to_vec();
        assert!(messages(&bad).is_empty());
        bad[0] = 200;
        assert!(messages(&bad).is_empty());
        assert!(attrs(&[5, 0, 1, 0]).is_empty());
        assert!(attrs(&[0, 0, 1, 0, 9, 9]).is_empty());
    }
}
