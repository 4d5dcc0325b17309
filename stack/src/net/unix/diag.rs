//! What the tools see of `AF_UNIX` sockets: the rows of `/proc/net/unix`
//! (`unix_seq_show()`) and of `ss -x` (`sk_diag_fill()` in
//! `net/unix/diag.c`), filled from the simulated socks for
//! [`crate::observe::tools::proc_net_unix`] and [`crate::observe::tools::ss_with_unix`].
//!
//! Simplified: the kernel lists sockets in hash-bucket order (a hash of
//! the sock's address for unbound ones); the simulation lists them in the
//! order they were created. The `Num` column (a hashed kernel pointer) is
//! 0.

use crate::kernel::ids::NetNsId;
use crate::kernel::world::World;
use crate::net::core::sock::Family;
use crate::net::ipv4::tcp::TCP_LISTEN;
use crate::observe::tools::UnixSockRow;

impl World {
    /// Every open unix socket of the namespace, connections not yet
    /// accepted included.
    pub(crate) fn unix_rows(&self, ns: NetNsId) -> Vec<UnixSockRow> {
        self.socks
            .values()
            .filter(|s| s.netns == ns && s.family == Family::Unix && !s.dead)
            .filter_map(|s| {
                let u = s.unix.as_deref()?;
                let listen = s.state == TCP_LISTEN;
                let (rqueue, wqueue) = if listen {
                    (s.unix_rq().qlen() as u32, u.max_ack_backlog)
                } else {
                    (self.unix_inq_len(s.id) as u32, s.wmem_alloc)
                };
                Some(UnixSockRow {
                    ty: crate::net::unix::type_number(s.ty),
                    state: s.state,
                    inode: s.inode,
                    name: u.addr.map(|a| a.display_name()),
                    // sock_i_ino() of the peer: 0 once it has closed.
                    peer_inode: u
                        .peer
                        .and_then(|p| self.socks.get(&p))
                        .filter(|p| !p.dead)
                        .map_or(0, |p| p.inode),
                    rqueue,
                    wqueue,
                    refcnt: 2 + u.refs,
                    has_socket: s.inode != 0,
                    sk_ptr: 0,
                    process: self.owner_of(s.id),
                })
            })
            .collect()
    }
}
