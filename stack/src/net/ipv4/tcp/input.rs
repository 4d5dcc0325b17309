//! What TCP does with an arriving segment (`net/ipv4/tcp_ipv4.c`
//! `tcp_v4_rcv()`, `net/ipv4/tcp_input.c`, `net/ipv4/tcp_minisocks.c`).
//!
//! Demultiplexing: a connected socket matching the 4-tuple exactly comes
//! first (`__inet_lookup_established()`); otherwise the best-matching
//! listener, a specific local address beating a wildcard
//! (`__inet_lookup_listener()`, the seed's "fewest wildcards wins");
//! otherwise a reset answers the segment.
//!
//! A listener keeps half-open connections in its SYN queue and finished
//! ones, waiting for `accept()`, in its accept queue. A SYN is dropped while
//! the accept queue is full (`ListenOverflows`, `ListenDrops`); when the SYN
//! queue holds backlog + 1 requests, SYN cookies answer instead of storing
//! a request (`SyncookiesSent`), or without them the SYN is dropped
//! (`ListenDrops`). The final ACK that finds the accept queue
//! full is dropped, leaving the request to have its SYN-ACK resent, or with
//! `tcp_abort_on_overflow` answered by a reset (`tcp_check_req()`).
//! The queues themselves, and the decisions that depend on their lengths,
//! are behind [`crate::net::ipv4::request_sock_queue::RequestSockQueue`] (the
//! handshake lab's component); this file sends, counts and makes children.

use std::net::{IpAddr, SocketAddr};

use super::{
    RequestSock, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1,
    TCP_FIN_WAIT2, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT, TCP_TIMEOUT_INIT,
    TcpSock, after, before, state_name,
};
use crate::kernel::ids::{NetNsId, SockId};
use crate::kernel::world::World;
use crate::net::core::receive_queue::RcvQueue;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::snmp::Mib;
use crate::net::core::sock::{Family, RCV_SHUTDOWN, Sock, SocketState};
use crate::net::ipv4::request_sock_queue::{CheckReq, ConnRequest};
use crate::observe::trace::Layer;
use crate::sim::event::Event;
use crate::uapi::errno::Errno;
use crate::wire::tcp::{TcpFlags, TcpHdr};

use super::state_machine::{
    ACK, AckCheck, CheckReqSeg, DataCheck, FIN, Listen, RST, SYN, Segment, SynSent, Tcb, TimeWait,
    Validate, tcp_ack, tcp_check_req, tcp_fin, tcp_fin_acked, tcp_listen_state_process,
    tcp_rcv_data_state, tcp_rcv_synsent_state_process, tcp_reset_errno, tcp_timewait_state_process,
    tcp_validate_incoming,
};

/// A parsed arriving segment.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) hdr: TcpHdr,
    /// The payload as a buffer charged to the receiver by its truesize.
    pub(crate) skb: SkBuff,
}

impl Incoming {
    fn len(&self) -> u32 {
        self.skb.len() as u32
    }

    fn has(&self, f: TcpFlags) -> bool {
        self.hdr.flags.contains(f)
    }
}

impl World {
    /// A connection's sequence space, as the decisions read it. The window
    /// is `tcp_receive_window()`: what is left of the one last advertised.
    pub(crate) fn tcb(&self, sk: SockId) -> Tcb {
        let tp = self.tp(sk);
        Tcb {
            iss: tp.iss,
            // Only a request's decisions read it; a full socket does not
            // keep it.
            irs: 0,
            snd_una: tp.snd_una,
            snd_nxt: tp.snd_nxt,
            rcv_nxt: tp.rcv_nxt,
            rcv_wup: tp.rcv_wup,
            rcv_wnd: (tp.rcv_wup.wrapping_add(tp.rcv_wnd).wrapping_sub(tp.rcv_nxt) as i32).max(0)
                as u32,
        }
    }

    /// `tcp_v4_rcv()`: the TCP header is at `skb.data()`.
    pub(crate) fn tcp_v4_rcv(
        &mut self,
        ns: NetNsId,
        mut skb: SkBuff,
        saddr: IpAddr,
        daddr: IpAddr,
    ) {
        let host = self.ns(ns).host;
        let whole = skb.to_vec();
        let hdr = match TcpHdr::parse_rcv(&whole) {
            Ok(h) => h,
            Err(e) => {
                // A header too short for its own doff is discarded quietly;
                // a doff below 5 is a bad segment (InErrs).
                if e == crate::wire::WireError::HdrError {
                    self.ns_mut(ns).mib.inc(Mib::TcpInErrs);
                }
                self.kfree_skb(skb);
                return;
            }
        };
        let csum_ok = skb.cb.csum_unnecessary
            || match (saddr, daddr) {
                (IpAddr::V4(s), IpAddr::V4(d)) => crate::wire::tcp::tcp_verify_v4(s, d, &whole),
                (IpAddr::V6(s), IpAddr::V6(d)) => crate::wire::tcp::tcp_verify_v6(s, d, &whole),
                _ => false,
            };
        if !csum_ok {
            let mib = &mut self.ns_mut(ns).mib;
            mib.inc(Mib::TcpInCsumErrors);
            mib.inc(Mib::TcpInErrs);
            self.kfree_skb(skb);
            return;
        }
        self.ns_mut(ns).mib.inc(Mib::TcpInSegs);
        let hlen = hdr.doff as usize * 4;
        let _ = skb.pull(hlen.min(skb.headlen()));
        let local = SocketAddr::new(daddr, hdr.dest);
        let remote = SocketAddr::new(saddr, hdr.source);
        let seg = Incoming {
            local,
            remote,
            hdr,
            skb,
        };
        let target = self
            .ns(ns)
            .tcp
            .ehash
            .get(&(local, remote))
            .copied()
            .or_else(|| self.tcp_lookup_listener_from(ns, local, Some(remote)));
        if let Some(sk) = target {
            if self.tp(sk).owned {
                // tcp_v4_rcv(): the socket is owned by a process; the
                // segment waits for release_sock() (sk_add_backlog).
                self.trace(host, Layer::Tcp, |_w| {
                    "socket owned by a process in a system call: segment to the socket backlog"
                        .to_string()
                });
                self.tp_mut(sk).backlog.push_back(seg);
                return;
            }
            self.tcp_rcv(sk, seg);
        } else {
            let rst = hdr_is_rst(&seg.hdr);
            self.trace(host, Layer::Tcp, |_w| {
                if rst {
                    format!(
                        "tcp_v4_rcv: no socket for {remote} -> {local}: a reset is not answered"
                    )
                } else {
                    format!("tcp_v4_rcv: no socket for {remote} -> {local}: answer with RST")
                }
            });
            let len = seg.len() as usize;
            self.tcp_send_reset_reply(ns, local, remote, &seg.hdr, len);
            self.kfree_skb(seg.skb);
        }
    }

    /// Hands a segment to a listener or a connection.
    fn tcp_rcv(&mut self, sk: SockId, seg: Incoming) {
        if self.sk(sk).state == TCP_LISTEN {
            self.tcp_listen_rcv(sk, seg);
        } else {
            self.tcp_rcv_state_process(sk, seg);
        }
    }

    /// `lock_sock()`: a process enters a system call on the socket.
    pub(crate) fn lock_sock(&mut self, sk: SockId) {
        self.tp_mut(sk).owned = true;
    }

    /// `release_sock()`: process what arrived meanwhile (still as owner,
    /// so new arrivals join the backlog), then let go.
    pub(crate) fn release_sock(&mut self, sk: SockId) {
        loop {
            let Some(tp) = self.socks.get_mut(&sk).and_then(|s| s.tcp.as_deref_mut()) else {
                return;
            };
            let Some(seg) = tp.backlog.pop_front() else {
                tp.owned = false;
                return;
            };
            self.tcp_rcv(sk, seg);
        }
    }

    /// `__inet_lookup_listener()`: among listeners on the port, one bound
    /// to the exact address beats one bound to the wildcard. Listeners that
    /// share the port with `SO_REUSEPORT` form a group, and each new
    /// connection goes to one of them chosen by a hash of its addresses
    /// (`reuseport_select_sock()`; the simulation's hash is its own).
    fn tcp_lookup_listener(&self, ns: NetNsId, local: SocketAddr) -> Option<SockId> {
        self.tcp_lookup_listener_from(ns, local, None)
    }

    fn tcp_lookup_listener_from(
        &self,
        ns: NetNsId,
        local: SocketAddr,
        remote: Option<SocketAddr>,
    ) -> Option<SockId> {
        let family = if local.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        };
        let chain = self.ns(ns).tcp.listeners.get(&local.port())?;
        let mut best: Option<(u32, SockId)> = None;
        for &id in chain {
            let s = self.sk(id);
            if s.family != family {
                continue;
            }
            let score = if s.rcv_saddr == local.ip() {
                2
            } else if s.rcv_saddr.is_unspecified() {
                1
            } else {
                continue;
            };
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, id));
            }
        }
        let (score, first) = best?;
        let group: Vec<SockId> = chain
            .iter()
            .copied()
            .filter(|&id| {
                let s = self.sk(id);
                s.reuseport && s.family == family && s.rcv_saddr == self.sk(first).rcv_saddr
            })
            .collect();
        match remote {
            Some(r) if group.len() > 1 && score > 0 => {
                let h = cookie_hash(0, local, r, 0, 0) as usize;
                Some(group[h % group.len()])
            }
            _ => Some(first),
        }
    }

    /// A segment for a listener: a SYN opens a request, an ACK may complete
    /// one.
    fn tcp_listen_rcv(&mut self, l: SockId, seg: Incoming) {
        let ns = self.sk(l).netns;
        let host = self.sk(l).host;
        let remote = seg.remote;
        let s = Segment::of(&seg.hdr, seg.len());
        if let Some(req) = self.tp(l).queues.0.request(remote).cloned() {
            let rcv_nxt = req.irs.wrapping_add(1);
            let rcv_wnd = self.synack_window(l, &req).rcv_wnd;
            let tcb = Tcb {
                iss: req.iss,
                irs: req.irs,
                snd_una: req.iss,
                snd_nxt: req.iss.wrapping_add(1),
                rcv_nxt,
                rcv_wup: rcv_nxt,
                rcv_wnd,
            };
            match tcp_check_req(&tcb, &s) {
                // A retransmitted SYN: answer it again.
                CheckReqSeg::ResendSynAck => self.tcp_send_synack(l, remote),
                CheckReqSeg::Reset => {
                    let len = seg.len() as usize;
                    self.tcp_send_reset_reply(ns, seg.local, remote, &seg.hdr, len);
                }
                CheckReqSeg::Ack => self.tcp_v4_reqsk_send_ack(l, &req),
                CheckReqSeg::Drop => self.kfree_skb(seg.skb),
                CheckReqSeg::Embryonic { reset } => {
                    // The request dies (inet_csk_reqsk_queue_drop()).
                    self.ns_mut(ns).mib.inc(Mib::TcpAttemptFails);
                    if reset {
                        let len = seg.len() as usize;
                        self.tcp_send_reset_reply(ns, seg.local, remote, &seg.hdr, len);
                    }
                    if self.tp_mut(l).queues.0.unlink(remote).is_some() {
                        self.ns_mut(ns).mib.inc(Mib::TcpExtEmbryonicRsts);
                        self.trace(host, Layer::Tcp, |_w| {
                            format!("request from {remote} reset: dropped from the SYN queue")
                        });
                    }
                }
                CheckReqSeg::Child => self.tcp_check_req(l, seg),
            }
            return;
        }
        match tcp_listen_state_process(&s) {
            Listen::Drop => {
                self.kfree_skb(seg.skb);
                return;
            }
            Listen::Request => {
                self.tcp_conn_request(l, seg);
                return;
            }
            Listen::Reset => {}
        }
        // cookie_v4_check(): only while SYN cookies were sent recently.
        let recent = self
            .tp(l)
            .last_overflow
            .is_some_and(|t| self.now < t + crate::sim::time::secs(120));
        if s.has(ACK) && recent && self.ns(ns).sysctl.tcp_syncookies > 0 {
            let iss = seg.hdr.ack_seq.wrapping_sub(1);
            let irs = seg.hdr.seq.wrapping_sub(1);
            if let Some(mss) = self.cookie_check(l, seg.local, remote, irs, iss) {
                self.ns_mut(ns).mib.inc(Mib::TcpExtSyncookiesRecv);
                if self.acceptq_full(l) {
                    // tcp_get_cookie_sock(): no room, nothing kept, no reset.
                    self.tcp_listendrop(
                        l,
                        true,
                        "valid SYN cookie but the accept queue is full: ACK dropped",
                    );
                    return;
                }
                let req = RequestSock {
                    peer_mss: mss,
                    cookie: true,
                    ..RequestSock::new(seg.local, remote, iss, irs)
                };
                // Through the SYN queue for tcp_check_req(), no timer armed.
                let now = self.now;
                self.tp_mut(l).queues.0.hash_add(req, now);
                self.tcp_check_req(l, seg);
                return;
            }
            self.ns_mut(ns).mib.inc(Mib::TcpExtSyncookiesFailed);
        }
        // tcp_rcv_state_process() in LISTEN: an ACK is answered with RST.
        self.trace(host, Layer::Tcp, |_w| {
            format!("segment for listener from {remote} with no request: RST")
        });
        let len = seg.len() as usize;
        self.tcp_send_reset_reply(ns, seg.local, remote, &seg.hdr, len);
    }

    /// `sk_acceptq_is_full()`: the accept queue holds backlog + 1.
    fn acceptq_full(&self, l: SockId) -> bool {
        let tp = self.tp(l);
        tp.queues.0.accept_queue_is_full(tp.max_ack_backlog)
    }

    /// `tcp_conn_request()`: answer a SYN with a SYN-ACK.
    fn tcp_conn_request(&mut self, l: SockId, seg: Incoming) {
        let ns = self.sk(l).netns;
        let host = self.sk(l).host;
        let backlog = self.tp(l).max_ack_backlog;
        let syncookies = self.ns(ns).sysctl.tcp_syncookies > 0;
        let want_cookie = match self.tp(l).queues.0.conn_request(backlog, syncookies) {
            ConnRequest::Queue => false,
            ConnRequest::Cookie => true,
            ConnRequest::DropSynQueueFull => {
                self.tcp_listendrop(l, false, "SYN queue full and no SYN cookies: SYN dropped");
                return;
            }
            ConnRequest::DropAcceptQueueFull => {
                self.tcp_listendrop(l, true, "accept queue full: SYN dropped");
                return;
            }
        };
        let remote = seg.remote;
        let mss = self.route_mss(ns, remote);
        let peer_mss = seg
            .hdr
            .options
            .mss
            .map_or(super::TCP_MSS_DEFAULT, u32::from);
        let iss = if want_cookie {
            self.ns_mut(ns).mib.inc(Mib::TcpExtSyncookiesSent);
            let now = self.now;
            self.tp_mut(l).last_overflow = Some(now);
            self.cookie_make(l, seg.local, remote, seg.hdr.seq, peer_mss.min(mss))
        } else {
            self.tcp_new_isn()
        };
        let now = self.now;
        let req = RequestSock {
            local: seg.local,
            remote,
            iss,
            irs: seg.hdr.seq,
            peer_mss: peer_mss.min(mss),
            snd_wscale: if want_cookie {
                0
            } else {
                seg.hdr.options.wscale.unwrap_or(0)
            },
            wscale_ok: !want_cookie && seg.hdr.options.wscale.is_some(),
            // A cookie without timestamps cannot carry SACK either
            // (tcp_clear_options() in tcp_conn_request()).
            sack_ok: !want_cookie
                && seg.hdr.options.sack_permitted
                && self.ns(ns).sysctl.tcp_sack != 0,
            // tcp_openreq_init(): timestamps if both ends want them (not
            // with a cookie here: see the timestamps module).
            ts_recent: seg
                .hdr
                .options
                .timestamps
                .filter(|_| !want_cookie && self.ns(ns).sysctl.tcp_timestamps != 0)
                .map(|(tsval, _)| tsval),
            ts_off: super::timestamps::ts_offset(
                self.ns(ns).sysctl.tcp_timestamps,
                seg.local.ip(),
                remote.ip(),
            ),
            cookie: want_cookie,
            retrans: 0,
            acked: false,
            timer_at: now + TCP_TIMEOUT_INIT,
        };
        let qlen = self.tp(l).queues.0.syn_queue_len();
        self.trace(host, Layer::Tcp, |_w| {
            if want_cookie {
                format!("SYN from {remote}: SYN queue full ({qlen}), answer with a SYN cookie, keep nothing")
            } else {
                format!("SYN from {remote}: request sock into the SYN queue ({qlen} -> {})", qlen + 1)
            }
        });
        if want_cookie {
            self.tcp_send_synack_req(l, &req);
        } else {
            let at = self.tp_mut(l).queues.0.hash_add(req, now);
            self.tcp_send_synack(l, remote);
            self.schedule(
                at,
                Event::SynAckTimer {
                    listener: l,
                    remote,
                },
            );
        }
    }

    /// `tcp_listendrop()`: count a dropped SYN or final ACK.
    fn tcp_listendrop(&mut self, l: SockId, overflow: bool, why: &str) {
        let ns = self.sk(l).netns;
        let host = self.sk(l).host;
        if overflow {
            self.ns_mut(ns).mib.inc(Mib::TcpExtListenOverflows);
        }
        self.ns_mut(ns).mib.inc(Mib::TcpExtListenDrops);
        self.trace(host, Layer::Tcp, |_w| why.to_string());
    }

    /// A SYN cookie: the ISN encodes a hash of the connection and a time
    /// slot, so the request need not be stored, and in its low bits the
    /// MSS, as an index into `msstab` (`cookie_v4_init_sequence()`).
    /// Simplified: the hash is the simulation's own, not the kernel's
    /// SipHash.
    fn cookie_make(
        &self,
        l: SockId,
        local: SocketAddr,
        remote: SocketAddr,
        irs: u32,
        mss: u32,
    ) -> u32 {
        let slot = (self.now / crate::sim::time::secs(64)) as u32;
        let idx = MSSTAB.iter().rposition(|&m| m <= mss).unwrap_or(0) as u32;
        (cookie_hash(l.0, local, remote, irs, slot) & !3) | idx
    }

    /// `cookie_v4_check()`: valid for the current or the previous slot
    /// (a cookie lives up to two minutes).
    fn cookie_check(
        &self,
        l: SockId,
        local: SocketAddr,
        remote: SocketAddr,
        irs: u32,
        iss: u32,
    ) -> Option<u32> {
        let slot = (self.now / crate::sim::time::secs(64)) as u32;
        [slot, slot.wrapping_sub(1)]
            .iter()
            .any(|&s| cookie_hash(l.0, local, remote, irs, s) & !3 == iss & !3)
            .then(|| MSSTAB[(iss & 3) as usize])
    }

    /// `tcp_check_req()`: the final ACK of the handshake.
    fn tcp_check_req(&mut self, l: SockId, seg: Incoming) {
        let ns = self.sk(l).netns;
        let host = self.sk(l).host;
        let remote = seg.remote;
        let backlog = self.tp(l).max_ack_backlog;
        let abort = self.ns(ns).sysctl.tcp_abort_on_overflow != 0;
        let ack_seq = seg.hdr.ack_seq;
        let req = match self
            .tp_mut(l)
            .queues
            .0
            .check_req(remote, ack_seq, backlog, abort)
        {
            CheckReq::NoRequest => return,
            CheckReq::BadAck => {
                let len = seg.len() as usize;
                self.tcp_send_reset_reply(ns, seg.local, remote, &seg.hdr, len);
                return;
            }
            CheckReq::Overflow { reset: true } => {
                self.tcp_listendrop(
                    l,
                    true,
                    "accept queue full at the final ACK: tcp_abort_on_overflow, RST",
                );
                let len = seg.len() as usize;
                self.tcp_send_reset_reply(ns, seg.local, remote, &seg.hdr, len);
                return;
            }
            CheckReq::Overflow { reset: false } => {
                self.tcp_listendrop(
                    l,
                    true,
                    "accept queue full at the final ACK: ACK dropped (the client already thinks it is ESTABLISHED); SYN-ACK will be resent",
                );
                return;
            }
            CheckReq::Child(req) => req,
        };
        let child = self.tcp_create_child(l, &req, &seg.hdr);
        self.tp_mut(child).rcv_tstamp = self.now;
        self.tcp_keepalive_arm(child);
        self.tcp_sndbuf_expand(child);
        self.ns_mut(ns).mib.inc(Mib::TcpPassiveOpens);
        self.tp_mut(l).queues.0.accept_queue_add(child);
        let q = self.tp(l).queues.0.accept_queue_len();
        let backlog = self.tp(l).max_ack_backlog;
        self.trace(host, Layer::Tcp, |_w| {
            format!("handshake with {remote} complete: child ESTABLISHED, accept queue {} -> {q} (full above {backlog})", q - 1)
        });
        self.sk_wake(l, crate::kernel::wait::Wakeup::DataReady);
        if seg.len() > 0 || seg.has(TcpFlags::FIN) {
            self.tcp_rcv_state_process(child, seg);
        }
    }

    /// `tcp_create_openreq_child()`: the new socket for an accepted
    /// connection, in ESTABLISHED, sharing the listener's port.
    fn tcp_create_child(&mut self, l: SockId, req: &RequestSock, ack: &TcpHdr) -> SockId {
        let ns = self.sk(l).netns;
        let route_mss = self.route_mss(ns, req.remote);
        let mut mss = self.tcp_mss_clamp(l, route_mss).min(req.peer_mss);
        // tcp_create_openreq_child(): the echo starts from the SYN's TSval,
        // or the final ACK's if it is the newer at the window's edge
        // (tcp_check_req()); each segment then gives up 12 bytes to the
        // option (tcp_header_len).
        let mut ts = super::timestamps::Timestamps {
            offset: req.ts_off,
            ..Default::default()
        };
        if let Some(recent) = req.ts_recent {
            ts.ok = true;
            let mut recent = recent;
            if let Some((tsval, _)) = ack.options.timestamps
                && !after(ack.seq, req.irs.wrapping_add(1))
            {
                recent = tsval;
            }
            ts.store(recent, self.now);
            mss = mss
                .saturating_sub(super::timestamps::TCPOLEN_TSTAMP_ALIGNED)
                .max(1);
        }
        let rcv_wscale = if req.wscale_ok {
            self.rcv_wscale_for(l)
        } else {
            0
        };
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        let parent_rcvbuf = self.sk(l).rcvbuf();
        let offered = self.synack_window(l, req);
        let mut tp = TcpSock::new(req.iss.wrapping_add(1));
        tp.iss = req.iss;
        tp.rcv_nxt = req.irs.wrapping_add(1);
        tp.copied_seq = tp.rcv_nxt;
        tp.rcv_wup = tp.rcv_nxt;
        // The window our SYN-ACK offered (newtp->rcv_wnd = req->rsk_rcv_wnd),
        // which is also where rcv_ssthresh starts.
        tp.rcv_wnd = offered.rcv_wnd;
        tp.rcv_ssthresh = offered.rcv_wnd;
        tp.window_clamp = offered.window_clamp;
        tp.snd_wscale = req.snd_wscale;
        tp.rcv_wscale = rcv_wscale;
        tp.sack_ok = req.sack_ok;
        tp.ts = ts;
        tp.set_snd_wnd((ack.window as u32) << req.snd_wscale);
        tp.snd_wl1 = ack.seq;
        tp.mss = mss;
        tp.parent = Some(l);
        // The "last data" clock starts with the connection
        // (icsk_ack.lrcvtime in tcp_create_openreq_child()).
        tp.lrcvtime = self.now;
        // The clone keeps what the process set on the listener.
        let ptp = self.tp(l);
        (tp.nodelay, tp.opts) = (ptp.nodelay, ptp.opts);
        // tcp_synack_rtt_meas(): the SYN-ACK's round trip is the child's
        // first RTT sample, unless the SYN-ACK was resent (which one did
        // this ACK answer?) or was a cookie (nothing was kept).
        if req.retrans == 0 && !req.cookie {
            let sent = req.timer_at.saturating_sub(super::TCP_TIMEOUT_INIT);
            super::input::rtt_estimator(&mut tp, self.now.saturating_sub(sent));
        }
        let parent = self.sk(l);
        // A child gets its inode when accept() gives it a file.
        let child = Sock {
            protocol: parent.protocol,
            state: TCP_ESTABLISHED,
            sock_state: SocketState::Connected,
            rcv_saddr: req.local.ip(),
            num: req.local.port(),
            daddr: Some(req.remote),
            user_bound_addr: parent.user_bound_addr,
            user_bound_port: true,
            receive_queue: RcvQueue::new(parent_rcvbuf as usize),
            sndbuf: parent.sndbuf,
            rcvbuf_locked: parent.rcvbuf_locked,
            sndbuf_locked: parent.sndbuf_locked,
            reuseaddr: parent.reuseaddr,
            reuseport: parent.reuseport,
            uid: parent.uid,
            keepalive: parent.keepalive,
            linger: parent.linger,
            rcvlowat: parent.rcvlowat,
            priority: parent.priority,
            uc_ttl: parent.uc_ttl,
            tos: parent.tos,
            recverr: parent.recverr,
            tcp: Some(Box::new(tp)),
            zc: parent.zc.clone_for_child(),
            ..Sock::new(id, parent.host, ns, parent.family, parent.ty)
        };
        self.socks.insert(id, child);
        let table = &mut self.ns_mut(ns).tcp;
        table.ehash.insert((req.local, req.remote), id);
        table.bound.entry(req.local.port()).or_default().insert(id);
        self.tcp_init_transfer(id);
        id
    }

    /// `tcp_rcv_state_process()`: a segment for a socket that is not
    /// listening.
    pub(crate) fn tcp_rcv_state_process(&mut self, sk: SockId, seg: Incoming) {
        self.tp_mut(sk).segs_in += 1;
        match self.sk(sk).state {
            TCP_SYN_SENT => self.tcp_rcv_synsent(sk, seg),
            TCP_TIME_WAIT => self.tcp_timewait_rcv(sk, seg),
            TCP_CLOSE | TCP_LISTEN => self.kfree_skb(seg.skb),
            _ => self.tcp_rcv_synchronized(sk, seg),
        }
    }

    /// `tcp_rcv_synsent_state_process()`: the answer to our SYN.
    fn tcp_rcv_synsent(&mut self, sk: SockId, seg: Incoming) {
        let ns = self.sk(sk).netns;
        let host = self.sk(sk).host;
        let s = Segment::of(&seg.hdr, seg.len());
        let verdict = tcp_rcv_synsent_state_process(&self.tcb(sk), &s);
        match verdict {
            SynSent::Reset => {
                let len = seg.len() as usize;
                self.tcp_send_reset_reply(ns, seg.local, seg.remote, &seg.hdr, len);
                return;
            }
            SynSent::Refused => {
                self.ns_mut(ns).mib.inc(Mib::TcpAttemptFails);
                self.trace(host, Layer::Tcp, |_w| {
                    "RST in answer to our SYN: connection refused".to_string()
                });
                self.tcp_reset(sk, tcp_reset_errno(TCP_SYN_SENT));
                return;
            }
            SynSent::Drop => return,
            SynSent::SimultaneousOpen | SynSent::Established => {}
        }
        // Our SYN offered SACK if tcp_sack is on (tcp_syn_options()).
        let sack_on = self.ns(self.sk(sk).netns).sysctl.tcp_sack != 0;
        let ts_on = self.ns(self.sk(sk).netns).sysctl.tcp_timestamps != 0;
        let now = self.now;
        if verdict == SynSent::SimultaneousOpen {
            // Simultaneous open: their SYN crossed ours. SYN_RECV, and our
            // SYN is sent again carrying an ACK of theirs (a SYN-ACK).
            let tp = self.tp_mut(sk);
            tp.rcv_nxt = seg.hdr.seq.wrapping_add(1);
            tp.copied_seq = tp.rcv_nxt;
            tp.rcv_wup = tp.rcv_nxt;
            if let Some(m) = seg.hdr.options.mss {
                tp.mss = tp.mss.min(m as u32);
            }
            match seg.hdr.options.wscale {
                Some(w) => tp.snd_wscale = w.min(14),
                None => tp.rcv_wscale = 0,
            }
            tp.sack_ok = seg.hdr.options.sack_permitted && sack_on;
            tp.tcp_ts_negotiate(seg.hdr.options.timestamps, ts_on, now);
            tp.set_snd_wnd(seg.hdr.window as u32);
            tp.snd_wl1 = seg.hdr.seq;
            self.sk_mut(sk).state = TCP_SYN_RECV;
            self.trace(host, Layer::Tcp, |_w| {
                "SYN received in SYN_SENT: simultaneous open, state SYN_SENT -> SYN_RECV"
                    .to_string()
            });
            self.tcp_retransmit_head(sk);
            return;
        }
        let opts = seg.hdr.options;
        let tsecr = opts.timestamps.map(|(_, ecr)| ecr);
        let tp = self.tp_mut(sk);
        tp.rcv_nxt = seg.hdr.seq.wrapping_add(1);
        tp.copied_seq = tp.rcv_nxt;
        tp.rcv_wup = tp.rcv_nxt;
        if let Some(peer_mss) = opts.mss {
            tp.mss = tp.mss.min(peer_mss as u32);
        } else {
            tp.mss = tp.mss.min(super::TCP_MSS_DEFAULT);
        }
        match opts.wscale {
            Some(w) => tp.snd_wscale = w.min(14),
            None => tp.rcv_wscale = 0,
        }
        tp.sack_ok = opts.sack_permitted && sack_on;
        tp.tcp_ts_negotiate(opts.timestamps, ts_on, now);
        tp.set_snd_wnd(seg.hdr.window as u32);
        tp.snd_wl1 = seg.hdr.seq;
        self.tcp_ack(sk, seg.hdr.ack_seq, tsecr, &[], now);
        self.sk_mut(sk).state = TCP_ESTABLISHED;
        // tcp_init_transfer(): the transfer starts from the initial window,
        // whatever acknowledging the SYN did to it. (Linux starts from 1
        // after a SYN sent more than twice; not modelled.)
        self.tcp_init_transfer(sk);
        self.tcp_sndbuf_expand(sk);
        self.trace(host, Layer::Tcp, |_w| {
            "SYN-ACK received: state SYN_SENT -> ESTABLISHED".to_string()
        });
        // tcp_finish_connect().
        self.tp_mut(sk).rcv_tstamp = now;
        self.tp_mut(sk).lrcvtime = now;
        self.tcp_keepalive_arm(sk);
        self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
        self.tcp_send_ack(sk);
        self.tcp_write_xmit(sk);
    }

    /// A segment for a socket in TIME_WAIT (`tcp_timewait_state_process()`):
    /// what the state machine decides, done.
    fn tcp_timewait_rcv(&mut self, sk: SockId, seg: Incoming) {
        let ns = self.sk(sk).netns;
        let now = self.now;
        let s = Segment::of(&seg.hdr, seg.len());
        let verdict = tcp_timewait_state_process(&self.tcb(sk), &s);
        match verdict {
            TimeWait::Kill => self.tcp_tw_kill(sk),
            TimeWait::NewSyn => {
                self.tcp_tw_kill(sk);
                if let Some(l) = self.tcp_lookup_listener(ns, seg.local) {
                    self.tcp_listen_rcv(l, seg);
                }
            }
            TimeWait::Rearm | TimeWait::AckRearm => {
                self.tp_mut(sk).tw_at = Some(now + super::TCP_TIMEWAIT_LEN);
                self.schedule_tcp_timer(sk, now + super::TCP_TIMEWAIT_LEN);
                if verdict == TimeWait::AckRearm {
                    self.tcp_send_ack(sk);
                }
            }
            TimeWait::Ack => self.tcp_send_ack(sk),
            TimeWait::Drop => {}
        }
    }

    /// Processing in the synchronized states.
    fn tcp_rcv_synchronized(&mut self, sk: SockId, seg: Incoming) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let now = self.now;
        let rcv_nxt = self.tp(sk).rcv_nxt;
        let state = self.sk(sk).state;
        let s = Segment::of(&seg.hdr, seg.len());
        let tcb = self.tcb(sk);
        let seq = s.seq;
        // tcp_validate_incoming(), RFC 5961 3.2: only a reset at exactly
        // rcv_nxt ends the connection (or, after the peer's FIN, at
        // rcv_nxt - 1: tcp_reset_check()); one elsewhere in the window may
        // be forged, and gets a challenge ACK that a genuine peer answers
        // with a reset at the right sequence; one outside the window is
        // dropped. (Linux also accepts one at the end of the highest
        // block this end reports in its SACKs; not modelled.)
        let tsval = seg.hdr.options.timestamps.map(|(val, _)| val);
        let tsecr = seg.hdr.options.timestamps.map(|(_, ecr)| ecr);
        // tcp_validate_incoming(), RFC 7323 5.3: PAWS first. A segment
        // whose TSval is older than the one we echo is an old duplicate:
        // dropped, and answered with a duplicate ACK. A reset passes; a SYN
        // gets the challenge ACK below.
        if let Some(val) = tsval
            && !s.has(RST)
            && !s.has(SYN)
        {
            let tp = self.tp(sk);
            let pure_dup_ack = s.len == 0 && seq == rcv_nxt && s.ack == tp.snd_una && !s.has(FIN);
            if tp.ts.paws_discard(val, pure_dup_ack, now) {
                self.ns_mut(ns).mib.inc(Mib::TcpExtPAWSEstab);
                self.trace(host, Layer::Tcp, |_w| {
                    format!("TSval {val} older than ts_recent: PAWS drops it, duplicate ACK")
                });
                self.tcp_send_dupack(sk, seq, s.len);
                return;
            }
        }
        match tcp_validate_incoming(state, &tcb, &s) {
            Validate::Accept => {}
            Validate::DupAck => {
                self.tcp_send_dupack(sk, seq, s.len);
                return;
            }
            Validate::ChallengeAck => {
                if s.has(RST) {
                    self.trace(host, Layer::Tcp, |_w| {
                        format!("RST at seq {seq}, in the window but not rcv_nxt {rcv_nxt}: challenge ACK (RFC 5961)")
                    });
                } else if s.has(SYN) {
                    // syn_challenge: a SYN inside a connection.
                    self.ns_mut(ns).mib.inc(Mib::TcpInErrs);
                    self.ns_mut(ns).mib.inc(Mib::TcpExtTCPSYNChallenge);
                }
                self.tcp_send_challenge_ack(sk);
                return;
            }
            Validate::Reset => {
                // tcp_reset(): the errno depends on where the reset finds us.
                let err = tcp_reset_errno(state);
                self.trace(host, Layer::Tcp, |_w| {
                    format!(
                        "RST received in {}: sk_err = {}",
                        state_name(state),
                        err.name()
                    )
                });
                self.tcp_reset(sk, err);
                return;
            }
            Validate::Drop => {
                if s.has(RST) {
                    self.trace(host, Layer::Tcp, |_w| {
                        format!("RST at seq {seq}, outside the window: dropped")
                    });
                }
                return;
            }
        }
        let verdict = tcp_ack(state, &tcb, &s);
        if matches!(verdict, AckCheck::Accept | AckCheck::Established) {
            // Something worked: the peer is alive (tcp_ack()).
            let tp = self.tp_mut(sk);
            tp.rcv_tstamp = now;
            tp.keepalive_probes = 0;
        }
        match verdict {
            AckCheck::Accept => {}
            AckCheck::Established => {
                // The end of a simultaneous open: our SYN is acknowledged.
                self.sk_mut(sk).state = TCP_ESTABLISHED;
                self.tcp_init_transfer(sk);
                self.tcp_sndbuf_expand(sk);
                self.trace(host, Layer::Tcp, |_w| {
                    "our SYN acknowledged: SYN_RECV -> ESTABLISHED".to_string()
                });
                self.tcp_keepalive_arm(sk);
                self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
                if s.has(SYN) {
                    self.tcp_ack(sk, s.ack, tsecr, &[], now);
                    self.tcp_send_ack(sk);
                    self.tcp_write_xmit(sk);
                    return;
                }
            }
            AckCheck::Reset => {
                let len = seg.len() as usize;
                self.tcp_send_reset_reply(ns, seg.local, seg.remote, &seg.hdr, len);
                return;
            }
            AckCheck::ChallengeAck => {
                self.tcp_send_challenge_ack(sk);
                return;
            }
            AckCheck::Drop => return,
        }
        // tcp_ack() with FLAG_UPDATE_TS_RECENT: the segment is in the
        // window and its ACK not old, so its TSval may be the next echo.
        let tp = self.tp_mut(sk);
        if let Some(val) = tsval
            && !before(seg.hdr.ack_seq, tp.snd_una)
        {
            let rcv_wup = tp.rcv_wup;
            tp.ts.replace_recent(val, seq, rcv_wup, now);
        }
        // The peer's window, if this segment is newer than the last update.
        let tp = self.tp_mut(sk);
        let window = (seg.hdr.window as u32) << tp.snd_wscale;
        if seg.hdr.ack_seq == tp.snd_una {
            self.tcp_dupack(sk, seg.len(), window);
        }
        let idle_restart = self.tcp_slow_start_after_idle(sk);
        let tp = self.tp_mut(sk);
        if !before(seg.hdr.seq, tp.snd_wl1) {
            let opened = tp.snd_wnd == 0 && window > 0;
            // tcp_ack_update_window(): a new window with data waiting may
            // end an idle time.
            if tp.snd_wnd != window && tp.write_queue.iter().any(|s| s.sent_at.is_none()) {
                tp.tcp_slow_start_after_idle_check(idle_restart, now);
            }
            tp.set_snd_wnd(window);
            tp.snd_wl1 = seg.hdr.seq;
            if window > 0 {
                tp.probe_at = None;
                tp.probes_out = 0;
            }
            if opened {
                self.trace(host, Layer::Tcp, |_w| {
                    format!("window opens to {window}: sending resumes")
                });
            }
        }
        let sack = seg.hdr.options.sack;
        self.tcp_ack(sk, seg.hdr.ack_seq, tsecr, sack.as_slice(), now);
        if !self.socks.contains_key(&sk) || self.sk(sk).state == TCP_CLOSE {
            return;
        }
        let state = self.sk(sk).state;
        let len = seg.len();
        let fin = seg.has(TcpFlags::FIN);
        if len > 0 {
            self.tp_mut(sk).tcp_rcv_rtt_measure_ts(tsecr, len, now);
        }
        if len > 0 || fin {
            let rcv_shutdown = self.sk(sk).shutdown & RCV_SHUTDOWN != 0;
            match tcp_rcv_data_state(state, &self.tcb(sk), rcv_shutdown, &s) {
                DataCheck::Queue => self.tcp_data_queue(sk, seg, true),
                DataCheck::Drop => self.kfree_skb(seg.skb),
                DataCheck::AbortOnData => {
                    // RFC 1122: data for a socket nobody will read: the
                    // connection is reset, and the segment answered with a
                    // reset (tcp_v4_do_rcv()'s reset: label).
                    self.ns_mut(ns).mib.inc(Mib::TcpExtTCPAbortOnData);
                    self.trace(host, Layer::Tcp, |_w| {
                        "data after close(): TCPAbortOnData, RST".to_string()
                    });
                    self.tcp_reset(sk, tcp_reset_errno(state));
                    let len = len as usize;
                    self.tcp_send_reset_reply(ns, seg.local, seg.remote, &seg.hdr, len);
                    return;
                }
            }
            // A FIN may have ended the connection (TIME_WAIT took over and
            // has acknowledged it already).
            if !self.socks.contains_key(&sk) || self.sk(sk).state == TCP_CLOSE {
                return;
            }
            // A FIN is acknowledged as data is (tcp_fin() has already
            // answered one that crossed our own).
            if !(fin && self.sk(sk).state == TCP_CLOSING) {
                self.tcp_ack_snd_check(sk, before(seq, rcv_nxt) || after(seq, rcv_nxt));
            }
        }
        if self.socks.contains_key(&sk) && self.sk(sk).state != TCP_CLOSE {
            self.tcp_write_xmit(sk);
        }
    }

    /// `__tcp_ack_snd_check()`: acknowledge now (quick-ack mode, more than
    /// one full segment unacknowledged, out-of-order data), or delay the
    /// ACK (`tcp_send_delayed_ack()`).
    fn tcp_ack_snd_check(&mut self, sk: SockId, now_please: bool) {
        let thresh = self.tcp_pingpong_thresh(sk);
        let tp = self.tp_mut(sk);
        tp.ack_sched = true;
        let unacked = tp.rcv_nxt.wrapping_sub(tp.rcv_wup);
        let immediate =
            now_please || tp.in_quickack_mode(thresh) || unacked > tp.rcv_mss || !tp.ofo.is_empty();
        if immediate {
            self.tcp_send_ack(sk);
        } else {
            self.tcp_send_delayed_ack(sk);
        }
    }

    /// Duplicate ACKs and fast retransmit (`tcp_fastretrans_alert()`):
    /// the third duplicate retransmits the oldest segment at once, sets
    /// `ssthresh` as the congestion control says (`tcp_init_cwnd_reduction()`)
    /// and enters recovery (NewReno, the window inflated by one per
    /// further duplicate; Linux's proportional rate reduction is not
    /// modelled).
    fn tcp_dupack(&mut self, sk: SockId, seg_len: u32, window: u32) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        // With SACK, RACK decides what is lost (recovery.rs), not a count
        // of duplicates.
        if tp.sack_ok {
            return;
        }
        let in_flight = tp.snd_nxt != tp.snd_una;
        if !in_flight || seg_len > 0 || window != tp.snd_wnd || tp.recover.is_some() {
            if tp.recover.is_some() && in_flight && seg_len == 0 {
                tp.cwnd += 1; // each further duplicate: one more segment left the network
            }
            return;
        }
        tp.dupacks += 1;
        if tp.dupacks != super::TCP_FASTRETRANS_THRESH {
            return;
        }
        tp.ssthresh = tp.tcp_ca_ssthresh();
        tp.cwnd = tp.ssthresh + 3;
        tp.recover = Some(tp.snd_nxt);
        let ssthresh = tp.ssthresh;
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPFastRetrans);
        self.trace(host, Layer::Tcp, |_w| {
            format!("third duplicate ACK: fast retransmit, ssthresh {ssthresh}, enter recovery")
        });
        self.tcp_retransmit_head(sk);
    }

    /// `tcp_send_dupack()`: old data means our ACK was lost, so acknowledge
    /// at once and quickly from now on; with SACK the duplicate is reported
    /// in a D-SACK block.
    fn tcp_send_dupack(&mut self, sk: SockId, seq: u32, len: u32) {
        let ns = self.sk(sk).netns;
        let rcv_nxt = self.tp(sk).rcv_nxt;
        if len > 0 && before(seq, rcv_nxt) {
            let dsack = self.ns(ns).sysctl.tcp_dsack != 0;
            let tp = self.tp_mut(sk);
            tp.enter_quickack_mode(super::TCP_MAX_QUICKACKS);
            if tp.sack_ok && dsack {
                let end = seq.wrapping_add(len);
                let end = if after(end, rcv_nxt) { rcv_nxt } else { end };
                tp.rx_sack.set_dsack(seq, end);
            }
        }
        self.tcp_send_ack(sk);
    }

    /// `tcp_ack()`: drop what the peer has acknowledged from the write
    /// queue, measure the round trip, grow the congestion window, and move
    /// the closing states on once our FIN is acknowledged.
    pub(crate) fn tcp_ack(
        &mut self,
        sk: SockId,
        ack: u32,
        tsecr: Option<u32>,
        sack: &[(u32, u32)],
        now: crate::sim::time::Nanos,
    ) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let tp = self.tp_mut(sk);
        // tcp_sacktag_write_queue(): SACK blocks count even on an ACK
        // that does not move snd_una.
        let mut delivered = 0;
        let mut sack_rtt = None;
        let mut dsack = false;
        let mut newly_sacked = 0;
        // tcp_ack()'s prior_fack: the highest SACKed sequence before this
        // ACK, below which an original acknowledged now was reordered.
        let prior_fack = tp.sb_fack();
        if tp.sack_ok && !sack.is_empty() && tp.snd_nxt != tp.snd_una {
            let tag = tp.tcp_sacktag(sack, ack, now);
            delivered = tag.delivered;
            sack_rtt = tag.rtt;
            dsack = tag.dsack;
            newly_sacked = tag.delivered;
            let mib = &mut self.ns_mut(ns).mib;
            if tag.dsack {
                mib.inc(Mib::TcpExtTCPDSACKRecv);
            }
            if tag.reordered {
                mib.inc(Mib::TcpExtTCPSACKReorder);
            }
        }
        let tp = self.tp_mut(sk);
        if !after(ack, tp.snd_una) {
            // tcp_ack_update_rtt(): a SACK dates the segments it covers.
            if let Some(rtt) = sack_rtt {
                rtt_estimator(tp, rtt);
            }
            self.tcp_process_tlp_ack(sk, ack, false, newly_sacked > 0, dsack);
            let tp = self.tp(sk);
            if tp.sack_ok && (delivered > 0 || tp.sb.loss_high.is_some()) {
                self.tcp_xmit_recovery(sk, delivered, false);
            }
            return;
        }
        let mut freed = 0;
        let mut acked_segs = 0;
        // tcp_clean_rtx_queue(): packets acknowledged (a SYN or FIN is
        // one), and whether any was data (FLAG_DATA_ACKED).
        let mut acked_pkts = 0;
        let mut data_acked = false;
        // The oldest segment not resent dates the RTT estimator's sample
        // (first_ackt), the newest the congestion control's (last_ackt).
        let mut rtt_sample = None;
        let mut ca_rtt = None;
        // Karn: an ACK that covers anything resent dates nothing by the
        // ACK's timing (FLAG_RETRANS_DATA_ACKED).
        let mut retrans_acked = false;
        // An original transmission acknowledged below the highest SACKed
        // segment arrived out of order (tcp_clean_rtx_queue()'s reord).
        let mut reord: Option<u32> = None;
        while let Some(front) = tp.write_queue.front() {
            if front.sent_at.is_none() || after(front.end_seq(), ack) {
                break;
            }
            let pc = tp.pcount(0);
            let seg = tp.write_queue.pop_front().expect("front exists");
            freed += seg.charge();
            acked_segs += 1;
            acked_pkts += pc;
            data_acked |= !seg.syn;
            retrans_acked |= seg.retransmitted;
            if !seg.retransmitted && !seg.sacked {
                ca_rtt = seg.sent_at.map(|t| now - t);
                rtt_sample = rtt_sample.or(ca_rtt);
            }
            tp.sb_forget(seg.sacked, seg.lost, seg.rexmit, pc);
            if !seg.sacked && !seg.retransmitted && reord.is_none() {
                reord = Some(seg.seq);
            }
            if !seg.sacked {
                delivered += pc;
                if tp.sack_ok
                    && let Some(xmit) = seg.sent_at
                {
                    tp.rack_advance(xmit, seg.end_seq(), seg.retransmitted, now);
                }
            }
        }
        tp.wmem_queued = tp.wmem_queued.saturating_sub(freed);
        if let (Some(low), Some(fack)) = (reord, prior_fack)
            && tp.sack_ok
            && before(low, fack)
        {
            tp.tcp_check_sack_reordering(low);
        }
        tp.snd_una = ack;
        if tp.write_queue.is_empty() {
            tp.chrono.stop(super::chrono::ChronoType::Busy, true, now);
        }
        tp.retransmits = 0;
        tp.retrans_stamp = None;
        tp.dupacks = 0;
        let mut partial_ack = false;
        if let Some(recover) = tp.recover {
            if before(ack, recover) {
                // NewReno: the next hole is lost too (with SACK, RACK
                // decides).
                partial_ack = !tp.sack_ok;
            } else {
                // tcp_end_cwnd_reduction(): recovery over at ssthresh.
                tp.recover = None;
                tp.cwnd = tp.ssthresh;
            }
        }
        // tcp_ack_update_rtt(): after Karn, the SACKed segments' timing,
        // then the echoed TSval, which dates the copy that arrived.
        if retrans_acked {
            rtt_sample = None;
            ca_rtt = None;
        }
        rtt_sample = rtt_sample.or(sack_rtt);
        if rtt_sample.is_none()
            && acked_segs > 0
            && let Some(tsecr) = tsecr.filter(|&e| e != 0 && tp.ts.ok)
        {
            rtt_sample = tp.ts.rtt_from_tsecr(tsecr, now);
        }
        if let Some(rtt) = rtt_sample {
            rtt_estimator(tp, rtt);
        }
        let hystart = ca_rtt.and_then(|rtt| tp.tcp_ca_pkts_acked(rtt, now));
        // tcp_cong_control(): the window grows on data acknowledged
        // outside recovery (tcp_may_raise_cwnd()); pacing follows.
        if data_acked && tp.recover.is_none() {
            let acked = if tp.sack_ok { delivered } else { acked_pkts };
            tp.tcp_cong_avoid(acked, now);
        }
        tp.tcp_update_pacing_rate();
        if let Some(exit) = hystart {
            self.tcp_count_hystart(sk, exit);
        }
        self.tcp_process_tlp_ack(sk, ack, true, newly_sacked > 0, dsack);
        if partial_ack {
            self.tcp_retransmit_head(sk);
        }
        let tp = self.tp(sk);
        if tp.sack_ok || tp.sb.loss_high.is_some() {
            self.tcp_xmit_recovery(sk, delivered, true);
        }
        // tcp_set_xmit_timer(): with recovery settled, a probe if one may go.
        self.tcp_set_xmit_timer(sk);
        let all_acked = self.tp(sk).write_queue.is_empty();
        let state = self.sk(sk).state;
        // Our FIN acknowledged: the closing states move on.
        if let Some(next) = all_acked.then(|| tcp_fin_acked(state)).flatten() {
            match next {
                TCP_FIN_WAIT2 => {
                    self.sk_mut(sk).state = TCP_FIN_WAIT2;
                    self.trace(host, Layer::Tcp, |_w| {
                        "our FIN acknowledged: FIN_WAIT1 -> FIN_WAIT2".to_string()
                    });
                    if self.sk(sk).dead {
                        // An orphan waits tcp_fin_timeout for the peer's FIN.
                        self.tcp_arm_fin_timeout(sk);
                    }
                    self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
                }
                TCP_TIME_WAIT => {
                    self.tcp_time_wait(sk);
                    return;
                }
                TCP_CLOSE => {
                    self.trace(host, Layer::Tcp, |_w| {
                        format!("our FIN acknowledged in {}", state_name(state))
                    });
                    self.tcp_done(sk);
                    return;
                }
                other => self.sk_mut(sk).state = other,
            }
        }
        // sk_stream_write_space(): wake a writer once a third is free and
        // the unsent bytes are well below TCP_NOTSENT_LOWAT.
        let s = self.sk(sk);
        if freed > 0 && !s.wq.is_empty() {
            let queued = self.tp(sk).wmem_queued;
            if s.sndbuf.saturating_sub(queued) >= queued / 2 && self.tcp_stream_memory_free(sk, 1) {
                self.sk_wake(sk, crate::kernel::wait::Wakeup::WriteSpace);
            }
        }
    }

    /// `tcp_data_queue()`: in-order data joins the receive queue (if the
    /// buffer has room), data ahead of `rcv_nxt` waits in the out-of-order
    /// queue, and a FIN in order ends the stream. `fresh` is false for a
    /// segment that leaves the out-of-order queue (`tcp_ofo_queue()`): it
    /// was measured when it arrived.
    fn tcp_data_queue(&mut self, sk: SockId, seg: Incoming, fresh: bool) {
        let host = self.sk(sk).host;
        let ns = self.sk(sk).netns;
        let seq = seg.hdr.seq;
        let fin = seg.has(TcpFlags::FIN);
        let psh = seg.has(TcpFlags::PSH);
        let mut skb = seg.skb;
        let rcv_nxt = self.tp(sk).rcv_nxt;
        let sysctl_dsack = self.ns(ns).sysctl.tcp_dsack != 0;
        if after(seq, rcv_nxt) {
            let end = seq.wrapping_add(skb.len() as u32 + u32::from(fin));
            // tcp_data_queue_ofo(): with SACK, a segment out of order
            // still lets the window grow; it is charged to the buffer.
            let (len, truesize) = (skb.len() as u32, skb.truesize() as u32);
            let free = self.tcp_space(sk);
            let rmem2 = self.ns(ns).sysctl.tcp_rmem.2;
            let tp = self.tp_mut(sk);
            if tp.sack_ok {
                tp.rx_sack.new_ofo(seq, end);
                let advmss = tp.advmss;
                tp.tcp_grow_window(len, truesize, free, rmem2, advmss);
            }
            tp.ofo.insert(seq, (skb, fin));
            self.trace(host, Layer::Tcp, |_w| {
                format!("segment {seq} ahead of rcv_nxt {rcv_nxt}: out-of-order queue")
            });
            return;
        }
        // Trim what we already have.
        let dup = rcv_nxt.wrapping_sub(seq) as usize;
        if dup > 0 {
            if dup >= skb.len() && !fin {
                // A retransmission of what we have: our ACK was lost, so
                // acknowledge quickly again (out_of_window in
                // tcp_data_queue(): tcp_enter_quickack_mode()).
                let end = seq.wrapping_add(skb.len() as u32);
                let tp = self.tp_mut(sk);
                tp.enter_quickack_mode(super::TCP_MAX_QUICKACKS);
                tp.ack_sched = true;
                if tp.sack_ok && sysctl_dsack {
                    tp.rx_sack.set_dsack(seq, end);
                }
                return;
            }
            let _ = skb.pull(dup.min(skb.headlen()));
        }
        let len = skb.len() as u32;
        if len > 0 {
            // tcp_measure_rcv_mss(): the largest segment seen so far; a
            // smaller one, or a full one with PSH, marks the end of a write.
            let now = self.now;
            let truesize = skb.truesize() as u32;
            let rcvbuf = self.sk(sk).rcvbuf();
            let tp = self.tp_mut(sk);
            if fresh {
                tp.tcp_measure_scaling_ratio(len, truesize, rcvbuf);
            }
            if len < tp.rcv_mss {
                tp.ack_pushed2 |= tp.ack_pushed;
                tp.ack_pushed = true;
            } else if psh {
                tp.ack_pushed = true;
            }
            tp.rcv_mss = tp.rcv_mss.max(len);
            if fresh {
                tp.event_data_recv(now);
            }
            skb.cb.seq = rcv_nxt;
            // tcp_try_rmem_schedule() → tcp_prune_queue(): a segment that
            // would take the queue past sk_rcvbuf first lets the buffer
            // grow, unless the process fixed its size
            // (tcp_clamp_window(), up to tcp_rmem[2]): the window we
            // promised is honoured. Simplified: collapsing the queue into
            // compact buffers (tcp_collapse()) is left out, so a buffer
            // fixed by SO_RCVBUF drops what does not fit, as Linux does
            // when collapsing does not make room (counted in sk_drops and
            // TCPRcvQDrop).
            self.tcp_clamp_window(sk, skb.truesize());
            if self.sk_mut(sk).receive_queue.enqueue(skb).is_err() {
                self.ns_mut(ns).mib.inc(Mib::TcpExtTCPRcvQDrop);
                self.trace(host, Layer::Tcp, |_w| {
                    "receive buffer full: segment dropped (TCPRcvQDrop)".to_string()
                });
                return;
            }
            // tcp_event_data_recv(): the receive RTT, and a well-filled
            // segment lets the window grow.
            let free = self.tcp_space(sk);
            let rmem2 = self.ns(ns).sysctl.tcp_rmem.2;
            let tp = self.tp_mut(sk);
            tp.rcv_nxt = tp.rcv_nxt.wrapping_add(len);
            if fresh {
                tp.tcp_rcv_rtt_measure(now);
            }
            if fresh && len >= 128 {
                let advmss = tp.advmss;
                tp.tcp_grow_window(len, truesize, free, rmem2, advmss);
            }
            let queued = tp.rcv_nxt.wrapping_sub(tp.copied_seq);
            self.trace(host, Layer::Sock, |_w| {
                format!("{len} B queued on sk_receive_queue ({queued} B unread)")
            });
        }
        if fin {
            self.tcp_fin(sk);
            if !self.socks.contains_key(&sk) {
                return;
            }
        }
        // Segments that now follow in order leave the out-of-order queue.
        loop {
            let next = self.tp(sk).rcv_nxt;
            let Some(key) = self.tp(sk).ofo.keys().copied().find(|&k| !after(k, next)) else {
                break;
            };
            let (skb, fin) = self.tp_mut(sk).ofo.remove(&key).expect("found");
            let h = TcpHdr {
                seq: key,
                flags: if fin {
                    TcpFlags::ACK | TcpFlags::FIN
                } else {
                    TcpFlags::ACK
                },
                ..TcpHdr::default()
            };
            let local = self.sk(sk).local();
            let remote = self.sk(sk).daddr.unwrap_or(local);
            self.tcp_data_queue(
                sk,
                Incoming {
                    local,
                    remote,
                    hdr: h,
                    skb,
                },
                false,
            );
        }
        let tp = self.tp_mut(sk);
        if tp.sack_ok {
            let (rcv_nxt, ofo_empty) = (tp.rcv_nxt, tp.ofo.is_empty());
            tp.rx_sack.remove_below(rcv_nxt, ofo_empty);
        }
        self.sk_wake(sk, crate::kernel::wait::Wakeup::DataReady);
    }

    /// `tcp_clamp_window()`: grow `sk_rcvbuf` to hold `truesize` more, up
    /// to `tcp_rmem[2]`, unless `SO_RCVBUF` fixed it.
    fn tcp_clamp_window(&mut self, sk: SockId, truesize: usize) {
        let ns = self.sk(sk).netns;
        let rmem2 = self.ns(ns).sysctl.tcp_rmem.2 as usize;
        let s = self.sk_mut(sk);
        let need = s.receive_queue.rmem_alloc() + truesize;
        let rcvbuf = s.receive_queue.rcvbuf();
        if need > rcvbuf && rcvbuf < rmem2 && !s.rcvbuf_locked {
            s.receive_queue.set_rcvbuf(need.min(rmem2));
        }
    }

    /// `tcp_fin()`: the peer has finished sending.
    fn tcp_fin(&mut self, sk: SockId) {
        let host = self.sk(sk).host;
        let tp = self.tp_mut(sk);
        tp.rcv_nxt = tp.rcv_nxt.wrapping_add(1);
        tp.fin_rcvd = true;
        self.sk_mut(sk).shutdown |= RCV_SHUTDOWN;
        let old = self.sk(sk).state;
        let new = tcp_fin(old);
        self.trace(host, Layer::Tcp, |_w| {
            format!(
                "FIN received: state {} -> {}; reads will return 0",
                state_name(old),
                state_name(new)
            )
        });
        if new == TCP_TIME_WAIT {
            self.tcp_send_ack(sk);
            self.tcp_time_wait(sk);
            return;
        }
        self.sk_mut(sk).state = new;
        match (old, new) {
            // The application will answer with its own FIN soon: delay
            // the ACK so that the FIN carries it (pingpong mode).
            (TCP_ESTABLISHED | TCP_SYN_RECV, TCP_CLOSE_WAIT) => {
                let thresh = self.tcp_pingpong_thresh(sk);
                self.tp_mut(sk).enter_pingpong_mode(thresh);
            }
            // A simultaneous close: both FINs crossed; acknowledge at once.
            (TCP_FIN_WAIT1, TCP_CLOSING) => self.tcp_send_ack(sk),
            _ => {}
        }
        self.sk_wake(sk, crate::kernel::wait::Wakeup::StateChange);
    }

    /// `tcp_reset()`: a reset ends the connection with an error.
    pub(crate) fn tcp_reset(&mut self, sk: SockId, err: Errno) {
        self.sk_mut(sk).err = Some(err);
        self.tcp_done(sk);
        if self.socks.contains_key(&sk) {
            self.sk_wake(sk, crate::kernel::wait::Wakeup::ErrorReport);
        }
    }

    /// `tcp_time_wait()`: a small TIME_WAIT socket takes the connection's
    /// place in the tables for 60 s; the full socket is done.
    pub(crate) fn tcp_time_wait(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let host = self.sk(sk).host;
        let now = self.now;
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        let s = self.sk(sk);
        let local = s.local();
        let remote = s.daddr;
        let mut tp = TcpSock::new(self.tp(sk).snd_nxt);
        tp.rcv_nxt = self.tp(sk).rcv_nxt;
        tp.tw_at = Some(now + super::TCP_TIMEWAIT_LEN);
        let tw = Sock {
            protocol: s.protocol,
            state: TCP_TIME_WAIT,
            rcv_saddr: s.rcv_saddr,
            num: s.num,
            daddr: s.daddr,
            reuseaddr: s.reuseaddr,
            reuseport: s.reuseport,
            dead: true,
            uid: s.uid,
            tcp: Some(Box::new(tp)),
            ..Sock::new(id, s.host, ns, s.family, s.ty)
        };
        self.socks.insert(id, tw);
        if let Some(r) = remote {
            self.ns_mut(ns).tcp.ehash.insert((local, r), id);
        }
        self.ns_mut(ns)
            .tcp
            .bound
            .entry(local.port())
            .or_default()
            .insert(id);
        self.schedule_tcp_timer(id, now + super::TCP_TIMEWAIT_LEN);
        self.trace(host, Layer::Tcp, |_w| {
            format!("TIME_WAIT for {local}: holds the port for 60 s")
        });
        self.tcp_done(sk);
    }

    /// An orphan in FIN_WAIT2 waits `tcp_fin_timeout` for the peer's FIN.
    pub(crate) fn tcp_arm_fin_timeout(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let t = self.now + self.ns(ns).sysctl.tcp_fin_timeout as u64 * 1_000_000_000;
        self.tp_mut(sk).tw_at = Some(t);
        self.schedule_tcp_timer(sk, t);
    }

    /// Ends a TIME_WAIT socket.
    pub(crate) fn tcp_tw_kill(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        self.ns_mut(ns).mib.inc(Mib::TcpExtTW);
        self.tcp_destroy(sk);
    }
}

/// `tcp_rtt_estimator()` and `tcp_set_rto()` (Jacobson/Karels as Linux
/// keeps it): `srtt` moves 1/8 of the way to each sample and the mean
/// deviation (`mdev_us`, four times the deviation) 1/4; the RTO is `srtt`
/// plus `rttvar_us`, the largest deviation seen in the last round trip but
/// never less than `TCP_RTO_MIN`, which decays towards it once per round
/// trip. So the RTO is `srtt + 200 ms` on a steady path, not a clamp to
/// 200 ms (RFC 6298 would give `max(srtt + 4 * rttvar, 1 s)`).
fn rtt_estimator(tp: &mut TcpSock, rtt: crate::sim::time::Nanos) {
    // tcp_update_rtt_min(): RACK's reordering window is a quarter of it.
    tp.update_min_rtt(rtt);
    let rto_min = super::TCP_RTO_MIN;
    match tp.srtt {
        None => {
            tp.srtt = Some(rtt);
            tp.mdev_us = 2 * rtt;
            tp.rttvar_us = tp.mdev_us.max(rto_min);
            tp.mdev_max = tp.rttvar_us;
            tp.rtt_seq = tp.snd_nxt;
        }
        Some(srtt) => {
            let err = rtt as i64 - srtt as i64;
            tp.srtt = Some((srtt as i64 + err / 8) as u64);
            let quarter = (tp.mdev_us / 4) as i64;
            let step = if err < 0 {
                // A sample below srtt moves the deviation an eighth as
                // much: an RTT that drops is good news, not variance.
                let m = -err - quarter;
                if m > 0 { m / 8 } else { m }
            } else {
                err - quarter
            };
            tp.mdev_us = (tp.mdev_us as i64 + step).max(0) as u64;
            if tp.mdev_us > tp.mdev_max {
                tp.mdev_max = tp.mdev_us;
                tp.rttvar_us = tp.rttvar_us.max(tp.mdev_max);
            }
            if after(tp.snd_una, tp.rtt_seq) {
                if tp.mdev_max < tp.rttvar_us {
                    tp.rttvar_us -= (tp.rttvar_us - tp.mdev_max) / 4;
                }
                tp.rtt_seq = tp.snd_nxt;
                tp.mdev_max = rto_min;
            }
        }
    }
    tp.rttvar = tp.mdev_us / 4;
    let srtt = tp.srtt.unwrap_or(rtt);
    tp.rto = (srtt + tp.rttvar_us).min(super::TCP_RTO_MAX);
}

fn hdr_is_rst(h: &TcpHdr) -> bool {
    h.flags.contains(TcpFlags::RST)
}

/// `msstab[]`: the MSS values a SYN cookie can carry.
const MSSTAB: [u32; 4] = [536, 1300, 1440, 1460];

/// The simulation's cookie function: FNV-1a over the connection and slot.
fn cookie_hash(secret: u32, local: SocketAddr, remote: SocketAddr, irs: u32, slot: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ secret.wrapping_mul(0x9e37_79b9);
    let text = format!("{local}|{remote}|{irs}|{slot}");
    for b in text.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
