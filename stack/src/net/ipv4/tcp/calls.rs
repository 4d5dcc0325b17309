//! What a process asks of TCP: `connect()` (`tcp_v4_connect()`,
//! `inet_stream_connect()`), `listen()` (`inet_listen()`), `accept()`
//! (`inet_csk_accept()`), `send()` (`tcp_sendmsg()`), `recv()`
//! (`tcp_recvmsg()`), `close()` (`tcp_close()`) and `shutdown()`
//! (`tcp_shutdown()`), with the errno each gives in each state.

use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;

use super::chrono::ChronoType;
use super::state_machine::{
    Close, Shutdown, inet_listen, tcp_close as tcp_close_verdict, tcp_connect as tcp_connect_check,
    tcp_shutdown as tcp_shutdown_verdict,
};
use super::{
    TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TcpSock,
    TxSeg, state_name,
};
use crate::fs::file::RwProgress;
use crate::kernel::ids::{Pid, SockId};
use crate::kernel::task::WaitFor;
use crate::kernel::world::World;
use crate::net::core::receive_queue::tcp_recvmsg;
use crate::net::core::skbuff::page::WeakPage;
use crate::net::core::skbuff::zerocopy::UbufRef;
use crate::net::core::snmp::Mib;
use crate::net::core::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN, SocketState};
use crate::net::core::zerocopy::{TxZc, ZcSend};
use crate::observe::trace::Layer;
use crate::uapi::errno::Errno;
use crate::uapi::{MSG_DONTWAIT, MSG_EOR, MSG_MORE, MSG_PEEK, MSG_WAITALL, SockAddr};

impl World {
    pub(crate) fn tp(&self, sk: SockId) -> &TcpSock {
        self.sk(sk).tcp.as_deref().expect("a TCP socket")
    }

    pub(crate) fn tp_mut(&mut self, sk: SockId) -> &mut TcpSock {
        self.sk_mut(sk).tcp.as_deref_mut().expect("a TCP socket")
    }

    /// An initial sequence number. The kernel hashes the 4-tuple with a
    /// secret and a clock (`secure_tcp_seq()`); the simulation draws it
    /// from its seeded generator, which is as unpredictable to the peer and
    /// repeatable from run to run.
    pub(crate) fn tcp_new_isn(&mut self) -> u32 {
        self.rng.u32(..)
    }

    /// `connect()` on a stream socket. The first call sends a SYN and, if
    /// the socket is blocking, sleeps until the handshake ends; a
    /// non-blocking call returns `EINPROGRESS`, and later calls `EALREADY`
    /// while the SYN is out, 0 once connected (and `EISCONN` after that), or
    /// the error that ended the attempt.
    pub(crate) fn tcp_connect(
        &mut self,
        pid: Pid,
        sk: SockId,
        addr: SockAddr,
        nonblock: bool,
        first: bool,
    ) -> Poll<Result<(), Errno>> {
        if first {
            match self.sk(sk).sock_state {
                SocketState::Connected => return Poll::Ready(Err(Errno::EISCONN)),
                // A non-blocking attempt that ended (refused, reset, timed
                // out): this call reports it (__inet_stream_connect's
                // sock_error), and the next starts over.
                SocketState::Connecting if self.sk(sk).state == TCP_CLOSE => {
                    self.sk_mut(sk).sock_state = SocketState::Unconnected;
                    let e = self.sock_error(sk).unwrap_or(Errno::ECONNABORTED);
                    return Poll::Ready(Err(e));
                }
                SocketState::Connecting => {
                    if self.sk(sk).state == TCP_ESTABLISHED || self.sk(sk).state == TCP_CLOSE_WAIT {
                        self.sk_mut(sk).sock_state = SocketState::Connected;
                        return Poll::Ready(Ok(()));
                    }
                    if nonblock {
                        return Poll::Ready(Err(Errno::EALREADY));
                    }
                }
                _ => {
                    if let Err(e) = tcp_connect_check(self.sk(sk).state) {
                        return Poll::Ready(Err(e));
                    }
                    let dst = match addr {
                        SockAddr::Inet(a)
                            if a.is_ipv4()
                                == (self.sk(sk).family == crate::net::core::sock::Family::Inet) =>
                        {
                            a
                        }
                        SockAddr::Unspec => return Poll::Ready(Err(Errno::EAFNOSUPPORT)),
                        SockAddr::Unix(_) => {
                            return Poll::Ready(self.inet_addr_for(sk, addr).map(drop));
                        }
                        _ => return Poll::Ready(Err(Errno::EAFNOSUPPORT)),
                    };
                    if let Err(e) = self.tcp_v4_connect(sk, dst) {
                        return Poll::Ready(Err(e));
                    }
                    self.sk_mut(sk).sock_state = SocketState::Connecting;
                    if nonblock {
                        return Poll::Ready(Err(Errno::EINPROGRESS));
                    }
                }
            }
        }
        match self.sk(sk).state {
            TCP_SYN_SENT | TCP_SYN_RECV => {
                self.sleep_on(pid, sk, WaitFor::Connect);
                Poll::Pending
            }
            TCP_CLOSE => {
                self.sk_mut(sk).sock_state = SocketState::Unconnected;
                let e = self.sock_error(sk).unwrap_or(Errno::ECONNABORTED);
                Poll::Ready(Err(e))
            }
            _ => {
                self.sk_mut(sk).sock_state = SocketState::Connected;
                Poll::Ready(Ok(()))
            }
        }
    }

    /// `tcp_v4_connect()`: route, pick the source address and an
    /// ephemeral port, hash the socket, send the SYN.
    fn tcp_v4_connect(&mut self, sk: SockId, dst: SocketAddr) -> Result<(), Errno> {
        if dst.port() == 0 {
            return Err(Errno::EINVAL);
        }
        let dst = self.inet_connect_daddr(sk, dst);
        let ns = self.sk(sk).netns;
        let rt = self.ip_route_output(ns, dst.ip())?;
        if self.sk(sk).rcv_saddr.is_unspecified() {
            self.sk_mut(sk).rcv_saddr = rt.src;
        }
        if self.sk(sk).inet_num() == 0 {
            self.tcp_get_port(sk, 0)?;
        }
        let mtu = self.dev(rt.dev).mtu;
        let iss = self.tcp_new_isn();
        let local = self.sk(sk).local();
        let ts_mode = self.ns(ns).sysctl.tcp_timestamps;
        {
            let s = self.sk_mut(sk);
            s.daddr = Some(dst);
            s.state = TCP_SYN_SENT;
            let tp = s.tcp.as_deref_mut().expect("tcp");
            // Options set before connect() survive the fresh sequence space.
            let (nodelay, opts) = (tp.nodelay, tp.opts);
            *tp = TcpSock::new(iss);
            tp.nodelay = nodelay;
            tp.opts = opts;
            tp.mss = mtu.min(u16::MAX as u32).saturating_sub(40).max(64);
            tp.ts.offset = super::timestamps::ts_offset(ts_mode, local.ip(), dst.ip());
            // tcp_advertise_mss(): TCP_MAXSEG caps what the SYN offers.
            if opts.user_mss != 0 {
                tp.mss = tp.mss.min(opts.user_mss);
            }
        }
        let wscale = self.rcv_wscale_for(sk);
        self.tp_mut(sk).rcv_wscale = wscale;
        self.ns_mut(ns).tcp.ehash.insert((local, dst), sk);
        self.ns_mut(ns)
            .mib
            .inc(crate::net::core::snmp::Mib::TcpActiveOpens);
        let host = self.sk(sk).host;
        self.trace(host, Layer::Tcp, |_w| {
            format!("tcp_v4_connect: {local} -> {dst}, state CLOSE -> SYN_SENT, ISN {iss}")
        });
        self.tcp_queue_control(sk, true, false);
        self.tcp_write_xmit(sk);
        Ok(())
    }

    /// `listen(fd, backlog)`: the backlog is capped by `somaxconn`; a
    /// negative one means the cap.
    pub(crate) fn tcp_listen(&mut self, sk: SockId, backlog: i32) -> Result<(), Errno> {
        let state = self.sk(sk).state;
        if self.sk(sk).sock_state != SocketState::Unconnected {
            return Err(Errno::EINVAL);
        }
        inet_listen(state)?;
        let ns = self.sk(sk).netns;
        let somaxconn = self.ns(ns).sysctl.somaxconn;
        let backlog = (backlog as u32).min(somaxconn);
        if state == TCP_LISTEN {
            self.tp_mut(sk).max_ack_backlog = backlog;
            return Ok(());
        }
        if self.sk(sk).inet_num() == 0 {
            self.tcp_get_port(sk, 0)?;
        } else if self.tcp_port_conflict(sk, self.sk(sk).num) {
            return Err(Errno::EADDRINUSE);
        }
        self.sk_mut(sk).state = TCP_LISTEN;
        self.tp_mut(sk).max_ack_backlog = backlog;
        let queues = (self.request_queue_factory)();
        self.tp_mut(sk).queues = crate::net::ipv4::request_sock_queue::AcceptQueue(queues);
        let port = self.sk(sk).num;
        self.ns_mut(ns)
            .tcp
            .listeners
            .entry(port)
            .or_default()
            .push(sk);
        let host = self.sk(sk).host;
        let local = self.sk(sk).local();
        self.trace(host, Layer::Tcp, |_w| {
            format!(
                "inet_listen: {local} LISTEN, backlog {backlog} (accept queue full at {})",
                backlog + 1
            )
        });
        Ok(())
    }

    /// `accept()`: take the oldest established child off the accept queue.
    pub(crate) fn tcp_accept(
        &mut self,
        pid: Pid,
        sk: SockId,
        nonblock: bool,
    ) -> Poll<Result<SockId, Errno>> {
        if self.sk(sk).state != TCP_LISTEN {
            return Poll::Ready(Err(Errno::EINVAL));
        }
        if let Some(child) = self.tp_mut(sk).queues.0.accept() {
            self.tp_mut(child).parent = None;
            let host = self.sk(sk).host;
            let left = self.tp(sk).queues.0.accept_queue_len();
            self.trace(host, Layer::Tcp, |w| {
                format!(
                    "inet_csk_accept: connection from {} taken off the accept queue ({left} left)",
                    w.sk(child).daddr.map(|a| a.to_string()).unwrap_or_default()
                )
            });
            return Poll::Ready(Ok(child));
        }
        if nonblock {
            return Poll::Ready(Err(Errno::EAGAIN));
        }
        self.sleep_on(pid, sk, WaitFor::Connection);
        Poll::Pending
    }

    /// `tcp_sendmsg()`: copy into the write queue, in segments of at most
    /// one MSS, then push what the windows allow. Returns once the bytes are
    /// copied: the peer has not necessarily received anything. With
    /// `MSG_ZEROCOPY` on a `SO_ZEROCOPY` socket the segments reference the
    /// caller's pages instead ([`crate::net::core::zerocopy`]).
    pub(crate) fn tcp_sendmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        flags: i32,
        copied: &mut usize,
        nonblock: bool,
    ) -> Poll<Result<usize, Errno>> {
        let mut zc = match self.tcp_zerocopy_begin(pid, sk, flags, buf.len()) {
            Ok(zc) => zc,
            Err(e) => return Poll::Ready(Err(e)),
        };
        // sock_sendmsg(): a non-blocking file sends as MSG_DONTWAIT.
        let flags = if nonblock {
            flags | MSG_DONTWAIT
        } else {
            flags
        };
        let r = self.tcp_sendmsg_locked(pid, sk, buf, flags, copied, zc.as_mut());
        self.tcp_zerocopy_end(pid, sk, zc, r)
    }

    fn tcp_sendmsg_locked(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &[u8],
        flags: i32,
        copied: &mut usize,
        mut zc: Option<&mut ZcSend>,
    ) -> Poll<Result<usize, Errno>> {
        let nonblock = flags & MSG_DONTWAIT != 0;
        loop {
            let done = *copied == buf.len();
            if let Some(r) = self.tcp_send_gate(pid, sk, *copied, done, flags, nonblock) {
                return r;
            }
            let (n, pinned) = self.tcp_append(sk, buf, *copied, zc.as_deref_mut());
            let host = self.sk(sk).host;
            match zc.as_deref() {
                // The pages are referenced, not copied.
                Some(z) if z.sg => self.zerocopy_pinned(host, sk, pinned),
                _ => self.costs(host).copied_from_user += n as u64,
            }
            *copied += n;
        }
    }

    /// The checks `tcp_sendmsg_locked()` makes before queueing more bytes,
    /// shared by the copying path and the page path (`MSG_SPLICE_PAGES`):
    /// `None` when there is room to queue; otherwise what the call
    /// returns now (a pending error or `EPIPE`, the bytes queued so far,
    /// `EAGAIN`) or `Pending` after putting the process to sleep (for the
    /// handshake, or for send-buffer space: `sk_stream_wait_memory()`).
    /// `done` says every byte is queued: push and return, as `flags`
    /// (`MSG_MORE`, `MSG_EOR`) say.
    pub(crate) fn tcp_send_gate(
        &mut self,
        pid: Pid,
        sk: SockId,
        copied: usize,
        done: bool,
        flags: i32,
        nonblock: bool,
    ) -> Option<Poll<Result<usize, Errno>>> {
        let s = self.sk(sk);
        if s.err.is_some() || s.shutdown & SEND_SHUTDOWN != 0 {
            if copied > 0 {
                return Some(Poll::Ready(Ok(copied)));
            }
            // sk_stream_error(): the pending error first, then EPIPE
            // (with SIGPIPE, which the simulation notes but does not send).
            return Some(Poll::Ready(Err(self
                .sock_error(sk)
                .unwrap_or(Errno::EPIPE))));
        }
        match s.state {
            TCP_ESTABLISHED | TCP_CLOSE_WAIT => {}
            TCP_SYN_SENT | TCP_SYN_RECV => {
                if nonblock {
                    return Some(Poll::Ready(Err(Errno::EAGAIN)));
                }
                self.sleep_on(pid, sk, WaitFor::Connect);
                return Some(Poll::Pending);
            }
            _ => {
                return Some(Poll::Ready(Err(self
                    .sock_error(sk)
                    .unwrap_or(Errno::EPIPE))));
            }
        }
        if done {
            self.tcp_push(sk, flags);
            return Some(Poll::Ready(Ok(copied)));
        }
        let sndbuf = self.sk(sk).sndbuf;
        if self.tp(sk).wmem_queued >= sndbuf || !self.tcp_stream_memory_free(sk, 0) {
            // sk_stream_wait_memory() is entered after a push that neither
            // corks nor ends a record.
            self.tcp_push(sk, 0);
            if nonblock {
                return Some(Poll::Ready(if copied > 0 {
                    Ok(copied)
                } else {
                    Err(Errno::EAGAIN)
                }));
            }
            self.sleep_on(pid, sk, WaitFor::SendSpace);
            return Some(Poll::Pending);
        }
        None
    }

    /// Appends `buf[from..]` to the tail segment, or to new ones, up to one
    /// MSS each and as far as the send buffer allows; returns bytes taken
    /// and user pages newly pinned. Zero-copy bytes join a segment only if
    /// it has no other zero-copy buffer and room in its frag array
    /// (`skb_zerocopy_iter_stream()`'s `EEXIST` and `EMSGSIZE`). Copied
    /// bytes do not join a segment that carries spliced pages: they start
    /// a new one (the kernel would copy them into a page of its own after
    /// the spliced ones).
    pub(crate) fn tcp_append(
        &mut self,
        sk: SockId,
        buf: &[u8],
        from: usize,
        mut zc: Option<&mut ZcSend>,
    ) -> (usize, Vec<WeakPage>) {
        let sndbuf = self.sk(sk).sndbuf;
        let lowat = self.tcp_notsent_lowat(sk);
        let idle_restart = self.tcp_slow_start_after_idle(sk);
        let now = self.now;
        let tp = self.tp_mut(sk);
        let mss = tp.size_goal() as usize;
        // Without scatter-gather the bytes are copied and no segment holds
        // the buffer (tcp_sendmsg_locked() takes the copy path).
        let uarg = zc
            .as_deref()
            .filter(|z| z.sg)
            .map(|z| UbufRef::clone(&z.uarg));
        let mut taken = 0;
        let mut pinned = Vec::new();
        let data = &buf[from..];
        while taken < data.len() && tp.wmem_queued < sndbuf {
            let at = from + taken;
            let fits = |t: &TxSeg| -> usize {
                if t.sent_at.is_some()
                    || t.fin
                    || t.syn
                    || t.eor
                    || !t.frags.is_empty()
                    || t.data.len() >= mss
                {
                    return 0;
                }
                let room = mss - t.data.len();
                match (&uarg, &t.zc) {
                    (Some(u), Some(tz)) if !Rc::ptr_eq(u, &tz.uarg) => 0,
                    (Some(_), tz) => {
                        TxZc::room_for(tz.as_ref().map_or(0, |z| z.frags.len()), at, room)
                    }
                    (None, _) => room,
                }
            };
            let room = match tp.write_queue.back().map(fits).unwrap_or(0) {
                // A new buffer only while the unsent bytes are below
                // TCP_NOTSENT_LOWAT (sk_stream_memory_free() at
                // new_segment).
                0 if tp.write_seq.wrapping_sub(tp.snd_nxt) >= lowat => break,
                0 => {
                    let seg = TxSeg::empty(tp.write_seq);
                    tp.wmem_queued += seg.charge();
                    tp.write_queue.push_back(seg);
                    tp.chrono.start(ChronoType::Busy, now);
                    tp.tcp_slow_start_after_idle_check(idle_restart, now);
                    match &uarg {
                        Some(_) => TxZc::room_for(0, at, mss),
                        None => mss,
                    }
                }
                room => room,
            };
            let n = room.min(data.len() - taken);
            let tail = tp.write_queue.back_mut().expect("just ensured");
            if let (Some(u), Some(z)) = (&uarg, zc.as_deref_mut()) {
                let (frags, newly) = z.pin(buf, at, n);
                pinned.extend(newly);
                let base = tail.data.len();
                tail.zc
                    .get_or_insert_with(|| TxZc {
                        uarg: UbufRef::clone(u),
                        frags: Vec::new(),
                    })
                    .append(base, frags);
            }
            tail.data.extend_from_slice(&data[taken..taken + n]);
            tp.write_seq = tp.write_seq.wrapping_add(n as u32);
            tp.wmem_queued += n as u32;
            taken += n;
        }
        (taken, pinned)
    }

    /// `tcp_push()`: mark the end of this write with PSH and send, unless
    /// `MSG_MORE` says more is coming: then no PSH, and a partial last
    /// segment waits as under `TCP_CORK` (`TCP_NAGLE_CORK`). `MSG_EOR`
    /// ends a record: nothing written later joins its last segment
    /// (`TCP_SKB_CB(skb)->eor`, `tcp_skb_can_collapse_to()`).
    pub(crate) fn tcp_push(&mut self, sk: SockId, flags: i32) {
        let more = flags & MSG_MORE != 0;
        if let Some(t) = self.tp_mut(sk).write_queue.back_mut()
            && t.sent_at.is_none()
        {
            t.psh |= !more;
            t.eor |= flags & MSG_EOR != 0;
        }
        let nonagle = if more {
            super::output::Nonagle::Cork
        } else {
            super::output::Nonagle::Socket
        };
        self.tcp_write_xmit_nonagle(sk, nonagle);
    }

    /// `tcp_recvmsg()`: copy what is queued, across segment boundaries;
    /// 0 at end of stream; otherwise the pending error, `EAGAIN` or sleep.
    ///
    /// The read returns once it has its target (`sock_rcvlowat()`):
    /// `SO_RCVLOWAT` bytes (1 by default), or with `MSG_WAITALL` the whole
    /// buffer. Short of it, a
    /// blocking read keeps what it copied (`st.done`) and sleeps for more;
    /// end of stream, an error, the connection's end or `MSG_DONTWAIT`
    /// return what it has. With `MSG_PEEK` nothing is consumed, so a
    /// waiting peek sleeps until the whole buffer is queued, then copies.
    pub(crate) fn tcp_recvmsg(
        &mut self,
        pid: Pid,
        sk: SockId,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
        st: &mut RwProgress,
    ) -> Poll<Result<usize, Errno>> {
        if self.sk(sk).state == TCP_LISTEN {
            return Poll::Ready(Err(Errno::ENOTCONN));
        }
        let peek = flags & MSG_PEEK != 0;
        let target = if flags & MSG_WAITALL != 0 {
            buf.len()
        } else {
            (self.sk(sk).rcvlowat.max(1) as usize).min(buf.len())
        };
        let queued = {
            let tp = self.tp(sk);
            tp.rcv_nxt
                .wrapping_sub(tp.copied_seq)
                .saturating_sub(tp.fin_rcvd as u32)
        };
        // A peek that would wait copies nothing until the buffer can be
        // filled: what it copied would be copied again.
        let peek_waits = peek && !nonblock && (queued as usize) < target && !self.tcp_recv_ends(sk);
        if !peek_waits {
            st.done += self.tcp_copy_to_user(sk, &mut buf[st.done..], peek);
        }
        if st.done >= target.max(1) || (st.done > 0 && (nonblock || self.tcp_recv_ends(sk))) {
            if !peek {
                self.tcp_cleanup_rbuf(sk);
            }
            return Poll::Ready(Ok(st.done));
        }
        if st.done > 0 {
            // Short of the target: keep what was copied and wait for more.
            if !peek {
                self.tcp_cleanup_rbuf(sk);
            }
            self.sleep_on(pid, sk, WaitFor::Data);
            return Poll::Pending;
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.tp(sk).fin_rcvd {
            // Reading the end of the stream consumes the FIN's sequence
            // number, so Recv-Q drops to 0 (found_fin_ok in tcp_recvmsg).
            let tp = self.tp_mut(sk);
            if !peek && tp.copied_seq.wrapping_add(1) == tp.rcv_nxt {
                tp.copied_seq = tp.rcv_nxt;
            }
            return Poll::Ready(Ok(0));
        }
        if let Some(e) = self.sock_error(sk) {
            return Poll::Ready(Err(e));
        }
        if self.sk(sk).shutdown & RCV_SHUTDOWN != 0 {
            return Poll::Ready(Ok(0));
        }
        if self.sk(sk).state == TCP_CLOSE {
            return Poll::Ready(Err(Errno::ENOTCONN));
        }
        if nonblock {
            return Poll::Ready(Err(Errno::EAGAIN));
        }
        self.sleep_on(pid, sk, WaitFor::Data);
        Poll::Pending
    }

    /// Whether a read short of its target stops waiting: end of stream, an
    /// error, the receive side shut, or the connection over.
    fn tcp_recv_ends(&self, sk: SockId) -> bool {
        let s = self.sk(sk);
        self.tp(sk).fin_rcvd
            || s.err.is_some()
            || s.shutdown & RCV_SHUTDOWN != 0
            || s.state == TCP_CLOSE
    }

    /// Copies from the receive queue into `buf`, freeing what is consumed.
    fn tcp_copy_to_user(&mut self, sk: SockId, buf: &mut [u8], peek: bool) -> usize {
        let host = self.sk(sk).host;
        let s = self.sk_mut(sk);
        let tp = s.tcp.as_deref_mut().expect("tcp");
        let flags = if peek { MSG_PEEK } else { 0 };
        // Nothing to copy (EAGAIN, or an empty buf) is 0 bytes here: the
        // caller decides between sleeping, EOF and EAGAIN.
        let copied = tcp_recvmsg(&mut s.receive_queue, &mut tp.copied_seq, buf, flags).unwrap_or(0);
        self.costs(host).copied_to_user += copied as u64;
        if copied > 0 && !peek {
            self.trace(host, Layer::Sock, |w| {
                format!(
                    "tcp_recvmsg: copy_to_user {copied} B ({} B still queued)",
                    w.tp(sk).rcv_nxt.wrapping_sub(w.tp(sk).copied_seq)
                )
            });
        }
        copied
    }

    /// `close()` of a TCP socket (`tcp_close()`): unread data or a zero
    /// linger turn it into an abort (RST); otherwise a FIN follows the
    /// queued data, and the socket lives on, orphaned, through the closing
    /// states.
    pub(crate) fn tcp_close(&mut self, sk: SockId) {
        self.sk_mut(sk).shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
        self.sk_mut(sk).dead = true;
        let state = self.sk(sk).state;
        let tp = self.tp(sk);
        let pending = tp.rcv_nxt.wrapping_sub(tp.copied_seq);
        // The peer's FIN takes a sequence number but is no data to read.
        let unread = pending - (tp.fin_rcvd && pending > 0) as u32;
        match tcp_close_verdict(state, unread) {
            Close::Done => {
                if state == TCP_LISTEN {
                    self.inet_csk_listen_stop(sk);
                }
                self.tcp_done(sk);
            }
            Close::Reset => self.tcp_abort_on_close(sk, "unread data", Mib::TcpExtTCPAbortOnClose),
            // tcp_close(): SO_LINGER with a zero timeout disconnects, and
            // Linux counts it as TCPAbortOnData.
            _ if self.sk(sk).linger == (true, 0) => {
                self.tcp_abort_on_close(sk, "SO_LINGER 0", Mib::TcpExtTCPAbortOnData)
            }
            Close::FinTimeout => self.tcp_arm_fin_timeout(sk),
            Close::State(next, true) => self.tcp_send_fin(sk, next),
            Close::State(TCP_CLOSE, false) => self.tcp_done(sk),
            Close::State(next, false) => self.sk_mut(sk).state = next,
        }
    }

    /// `close()` turned into an abort: RST, and the connection is dropped.
    fn tcp_abort_on_close(&mut self, sk: SockId, why: &str, mib: Mib) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        self.trace(host, Layer::Tcp, |_w| {
            format!("tcp_close with {why}: send RST, drop the connection")
        });
        self.ns_mut(ns).mib.inc(mib);
        self.tcp_send_active_reset(sk);
        self.tcp_done(sk);
    }

    /// `shutdown()` on a TCP socket: `SHUT_WR` sends a FIN after queued
    /// data; `SHUT_RD` only stops reading.
    pub(crate) fn tcp_shutdown(&mut self, sk: SockId, bits: u8) -> Result<(), Errno> {
        let state = self.sk(sk).state;
        // inet_shutdown(): a listener told to stop reading is disconnected.
        if state == TCP_LISTEN {
            if bits & RCV_SHUTDOWN != 0 {
                self.tcp_disconnect(sk);
            }
            return Ok(());
        }
        let before = self.sk(sk).shutdown;
        self.sk_mut(sk).shutdown |= bits;
        let verdict = tcp_shutdown_verdict(state);
        match verdict {
            Err(_) => {}
            // A connection still in SYN_SENT is disconnected.
            Ok(Shutdown::Disconnect) => {
                self.sk_mut(sk).shutdown = before;
                self.tcp_disconnect(sk);
                return Ok(());
            }
            Ok(Shutdown::Fin(next)) => {
                if bits & SEND_SHUTDOWN != 0 && before & SEND_SHUTDOWN == 0 {
                    self.tcp_send_fin(sk, next);
                }
            }
            Ok(Shutdown::Nothing) => {}
        }
        self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
        verdict.map(drop)
    }

    /// `tcp_disconnect()`: back to CLOSE without a goodbye. A listener
    /// resets the connections it has not handed out; a connect in progress
    /// is abandoned with `ECONNRESET`. The socket can be used again; a port
    /// the process bound stays bound.
    pub(crate) fn tcp_disconnect(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let old = self.sk(sk).state;
        if old == TCP_LISTEN {
            self.inet_csk_listen_stop(sk);
        } else if old == TCP_SYN_SENT {
            self.sk_mut(sk).err = Some(Errno::ECONNRESET);
        }
        self.tcp_unhash(sk);
        let user_port = self.sk(sk).user_bound_port;
        if !user_port {
            self.tcp_unbind(sk);
            self.sk_mut(sk).num = 0;
        }
        {
            let s = self.sk_mut(sk);
            s.state = TCP_CLOSE;
            s.sock_state = SocketState::Unconnected;
            s.daddr = None;
            let tp = s.tcp.as_deref_mut().expect("tcp");
            tp.write_queue.clear();
            tp.wmem_queued = 0;
            tp.rto_at = None;
        }
        self.trace(host, Layer::Tcp, |_w| {
            format!("tcp_disconnect: {} -> CLOSE", state_name(old))
        });
        self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
    }

    /// `inet_csk_listen_stop()`: a listener stops. Requests in the SYN
    /// queue are dropped; children not yet accepted are reset and freed,
    /// so nothing of the listener's holds its port any more.
    fn inet_csk_listen_stop(&mut self, sk: SockId) {
        let children = self.tp_mut(sk).queues.0.listen_stop();
        for c in children {
            self.tcp_send_active_reset(c);
            self.sk_mut(c).dead = true;
            self.tp_mut(c).parent = None;
            self.tcp_done(c);
        }
    }

    /// `tcp_send_fin()`: move to `new` (FIN_WAIT1, or LAST_ACK if the
    /// peer closed first: `tcp_close_state()`) and queue a FIN after the
    /// data.
    fn tcp_send_fin(&mut self, sk: SockId, new: u8) {
        let host = self.sk(sk).host;
        let old = self.sk(sk).state;
        self.sk_mut(sk).state = new;
        self.trace(host, Layer::Tcp, |_w| {
            format!(
                "tcp_send_fin: state {} -> {}",
                state_name(old),
                state_name(new)
            )
        });
        self.tcp_queue_control(sk, false, true);
        self.tcp_write_xmit(sk);
    }

    /// Queues a SYN or a FIN, which take a sequence number each.
    pub(crate) fn tcp_queue_control(&mut self, sk: SockId, syn: bool, fin: bool) {
        let now = self.now;
        let tp = self.tp_mut(sk);
        // A FIN rides on the last unsent segment if there is one.
        if fin
            && let Some(t) = tp.write_queue.back_mut()
            && t.sent_at.is_none()
            && !t.syn
        {
            t.fin = true;
            tp.write_seq = tp.write_seq.wrapping_add(1);
            return;
        }
        let seg = TxSeg {
            syn,
            fin,
            ..TxSeg::empty(tp.write_seq)
        };
        tp.write_seq = tp.write_seq.wrapping_add(1);
        tp.wmem_queued += seg.charge();
        tp.write_queue.push_back(seg);
        // A FIN is queued as data is (tcp_add_write_queue_tail()); a SYN
        // goes straight to the retransmission queue (tcp_connect()).
        if fin {
            tp.chrono.start(ChronoType::Busy, now);
        }
    }

    /// `tcp_done()`: the connection is over: CLOSE, timers stopped, tables
    /// left; a socket whose file is closed is freed.
    pub(crate) fn tcp_done(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let old = self.sk(sk).state;
        if old != TCP_CLOSE {
            self.trace(host, Layer::Tcp, |_w| {
                format!("tcp_done: state {} -> CLOSE", state_name(old))
            });
        }
        if old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT {
            let ns = self.sk(sk).netns;
            self.ns_mut(ns)
                .mib
                .inc(crate::net::core::snmp::Mib::TcpEstabResets);
        }
        self.sk_mut(sk).state = TCP_CLOSE;
        self.sk_mut(sk).shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
        {
            let tp = self.tp_mut(sk);
            tp.rto_at = None;
            tp.tw_at = None;
            tp.keepalive_at = None;
            tp.write_queue.clear();
            tp.wmem_queued = 0;
        }
        self.tcp_unhash(sk);
        // tcp_set_state(TCP_CLOSE): a port the kernel chose is given back.
        if !self.sk(sk).user_bound_port && self.sk(sk).inet_num() != 0 {
            self.tcp_unbind(sk);
            self.sk_mut(sk).port_released = true;
        }
        if self.sk(sk).dead && self.tp(sk).parent.is_none() {
            self.tcp_destroy(sk);
        } else {
            self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
        }
    }

    /// Frees a closed, orphaned socket.
    pub(crate) fn tcp_destroy(&mut self, sk: SockId) {
        self.tcp_unhash(sk);
        self.tcp_unbind(sk);
        let s = self.sk_mut(sk);
        let _ = std::iter::from_fn(|| s.receive_queue.dequeue()).count();
        self.socks.remove(&sk);
    }

    /// Leaves the established and listening tables.
    pub(crate) fn tcp_unhash(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let local = self.sk(sk).local();
        let remote = self.sk(sk).daddr;
        let table = &mut self.ns_mut(ns).tcp;
        if let Some(r) = remote
            && table.ehash.get(&(local, r)) == Some(&sk)
        {
            table.ehash.remove(&(local, r));
        }
        if let Some(l) = table.listeners.get_mut(&local.port()) {
            l.retain(|&x| x != sk);
            if l.is_empty() {
                table.listeners.remove(&local.port());
            }
        }
    }

    /// Gives the local port back (`inet_put_port()`).
    pub(crate) fn tcp_unbind(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let port = self.sk(sk).num;
        let table = &mut self.ns_mut(ns).tcp.bound;
        if let Some(b) = table.get_mut(&port) {
            b.remove(&sk);
            if b.is_empty() {
                table.remove(&port);
            }
        }
    }

    /// `inet_csk_get_port()`: take `port`, or a free ephemeral one for 0.
    pub(crate) fn tcp_get_port(&mut self, sk: SockId, port: u16) -> Result<u16, Errno> {
        let ns = self.sk(sk).netns;
        let port = if port == 0 {
            let (lo, hi) = self.ns(ns).sysctl.ip_local_port_range;
            let span = (hi - lo) as u32 + 1;
            let start = self.rng.u32(0..span);
            (0..span)
                .map(|i| lo + ((start + i) % span) as u16)
                .find(|&p| !self.ns(ns).tcp.bound.contains_key(&p))
                .ok_or(Errno::EADDRNOTAVAIL)?
        } else {
            if self.tcp_port_conflict(sk, port) {
                return Err(Errno::EADDRINUSE);
            }
            port
        };
        self.sk_mut(sk).num = port;
        self.sk_mut(sk).port_released = false;
        self.ns_mut(ns)
            .tcp
            .bound
            .entry(port)
            .or_default()
            .insert(sk);
        Ok(port)
    }

    /// `inet_csk_bind_conflict()`: another socket on the port whose address
    /// overlaps ours conflicts unless both set `SO_REUSEADDR` and neither
    /// listens, or both set `SO_REUSEPORT` as one user.
    pub(crate) fn tcp_port_conflict(&self, sk: SockId, port: u16) -> bool {
        let me = self.sk(sk);
        let Some(chain) = self.ns(me.netns).tcp.bound.get(&port) else {
            return false;
        };
        chain.iter().filter(|&&o| o != sk).any(|&o| {
            let other = self.sk(o);
            let overlap = other.family == me.family
                && (other.rcv_saddr.is_unspecified()
                    || me.rcv_saddr.is_unspecified()
                    || other.rcv_saddr == me.rcv_saddr);
            // inet_bind_conflict() with relax: bind() and listen() alike.
            let reuse = me.reuseaddr && other.reuseaddr && other.state != TCP_LISTEN;
            let reuseport = me.reuseport && other.reuseport && me.uid == other.uid;
            overlap && !reuse && !reuseport
        })
    }

    /// `tcp_init_buffer_space()` → `tcp_sndbuf_expand()`: once a
    /// connection is established, a send buffer the process did not fix
    /// grows to hold two initial windows' worth of segments (each costing
    /// its MSS, headers and `sk_buff`, rounded as the allocator does), up to
    /// `tcp_wmem[2]`.
    ///
    /// Simplified: the receive buffer is not tuned the same way (no
    /// `tcp_rcv_space_adjust()`): `sk_rcvbuf` starts at `tcp_rmem[1]` and
    /// grows only to hold data inside a window already promised
    /// (`tcp_clamp_window()`).
    pub(crate) fn tcp_sndbuf_expand(&mut self, sk: SockId) {
        if self.sk(sk).sndbuf_locked {
            return;
        }
        let ns = self.sk(sk).netns;
        let max = self.ns(ns).sysctl.tcp_wmem.2;
        let tp = self.tp(sk);
        let per_mss = (tp.mss + 320 + 320).next_power_of_two() + 256;
        let nr_segs = tp.cwnd.max(super::TCP_INIT_CWND);
        let sndmem = (2 * nr_segs).saturating_mul(per_mss).min(max);
        let s = self.sk_mut(sk);
        s.sndbuf = s.sndbuf.max(sndmem);
    }

    /// Sets `TCP_NODELAY`.
    pub(crate) fn tcp_set_nodelay(&mut self, sk: SockId, on: bool) {
        self.tp_mut(sk).nodelay = on;
    }
}
