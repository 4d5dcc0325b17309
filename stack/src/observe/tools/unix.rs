//! `AF_UNIX` sockets in the real tools' formats: `/proc/net/unix`
//! (`unix_seq_show()` in `net/unix/af_unix.c`) here, and the `u_str`,
//! `u_dgr` and `u_seq` rows of `ss -x` in [`super::ss`] (iproute2
//! `unix_show()` over the `unix_diag` netlink dump, `net/unix/diag.c`).
//!
//! `ss` reads each socket's queues from `unix_diag`: for a listener, Recv-Q
//! is the number of connections waiting for `accept()` and Send-Q the
//! backlog; for any other socket Recv-Q is the bytes a reader could take
//! (`unix_inq_len()`: for a datagram socket, the first datagram only) and
//! Send-Q the memory charged to its writes (`sk_wmem_alloc`, truesize, not
//! bytes). The peer is printed as `*` and its inode, since the dump names
//! only the peer's inode. A connection not yet accepted has no inode and is
//! left out of the dump, but not out of `/proc/net/unix`.

use std::fmt::Write as _;

/// `__SO_ACCEPTCON`: the `Flags` of a listener in `/proc/net/unix`.
const SO_ACCEPTCON: u32 = 1 << 16;

/// One `AF_UNIX` socket, as `/proc/net/unix` and `ss -x` see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixSockRow {
    /// `SOCK_STREAM` (1), `SOCK_DGRAM` (2) or `SOCK_SEQPACKET` (5).
    pub ty: i32,
    /// `sk_state`: `TCP_ESTABLISHED` (1), `TCP_CLOSE` (7, unconnected) or
    /// `TCP_LISTEN` (10).
    pub state: u8,
    /// The socket's inode; 0 for a connection not yet accepted.
    pub inode: u64,
    /// The bound name as the kernel prints it (`@` for an abstract name's
    /// NUL bytes); `None` when unbound.
    pub name: Option<String>,
    /// The peer's inode (`UNIX_DIAG_PEER`); 0 without a peer, or when the
    /// peer has none (closed, or not yet accepted).
    pub peer_inode: u64,
    /// Recv-Q: queued connections for a listener, else `unix_inq_len()`.
    pub rqueue: u32,
    /// Send-Q: the backlog for a listener, else `sk_wmem_alloc`.
    pub wqueue: u32,
    /// `sk_refcnt`: 2 (the socket and its hash-table entry) plus one for
    /// each peer pointing at it.
    pub refcnt: u32,
    /// Whether a `struct socket` (an open file) holds it: false for a
    /// connection not yet accepted. `/proc/net/unix`'s `St` depends on it.
    pub has_socket: bool,
    /// The kernel address `%pK` prints as `Num` (a hashed value on a real
    /// machine; the simulation leaves it 0).
    pub sk_ptr: u64,
    /// Owner as `(comm, pid, fd)`, for `ss -p`.
    pub process: Option<(String, u32, i32)>,
}

impl UnixSockRow {
    /// The `Netid` column of `ss`.
    pub(crate) fn netid(&self) -> &'static str {
        match self.ty {
            1 => "u_str",
            5 => "u_seq",
            _ => "u_dgr",
        }
    }
}

/// `cat /proc/net/unix`: every unix socket of the namespace in the given
/// order, the kernel's hash-bucket order on a real machine.
pub fn proc_net_unix(rows: &[UnixSockRow]) -> String {
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for r in rows {
        let established = r.state == super::TCP_ESTABLISHED;
        // SS_UNCONNECTED 1, SS_CONNECTING 2, SS_CONNECTED 3,
        // SS_DISCONNECTING 4: derived from sk_state, not the socket's own.
        let st = match (r.has_socket, established) {
            (true, true) => 3,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 4,
        };
        let flags = if r.state == super::TCP_LISTEN {
            SO_ACCEPTCON
        } else {
            0
        };
        let _ = write!(
            out,
            "{:016x}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}",
            r.sk_ptr, r.refcnt, 0, flags, r.ty, st, r.inode
        );
        if let Some(name) = &r.name {
            let _ = write!(out, " {name}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_follow_unix_seq_show() {
        let rows = [
            UnixSockRow {
                ty: 1,
                state: super::super::TCP_LISTEN,
                inode: 546200,
                name: Some("@h4listen".into()),
                refcnt: 2,
                has_socket: true,
                sk_ptr: 0x9c28f8a0,
                ..Default::default()
            },
            UnixSockRow {
                ty: 1,
                state: super::super::TCP_ESTABLISHED,
                inode: 0,
                name: Some("@h4listen".into()),
                refcnt: 3,
                has_socket: false,
                ..Default::default()
            },
            UnixSockRow {
                ty: 2,
                state: super::super::TCP_ESTABLISHED,
                inode: 1681,
                refcnt: 3,
                has_socket: true,
                ..Default::default()
            },
        ];
        // Lines as this machine's kernel printed them for such sockets.
        assert_eq!(
            proc_net_unix(&rows),
            "Num       RefCount Protocol Flags    Type St Inode Path\n\
             000000009c28f8a0: 00000002 00000000 00010000 0001 01 546200 @h4listen\n\
             0000000000000000: 00000003 00000000 00000000 0001 02     0 @h4listen\n\
             0000000000000000: 00000003 00000000 00000000 0002 03  1681\n"
        );
    }
}
