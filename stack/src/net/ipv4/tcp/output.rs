//! What TCP sends (`net/ipv4/tcp_output.c`): `tcp_write_xmit()` sends what
//! the receiver's window and the congestion window allow;
//! `tcp_transmit_skb()` puts the header on a segment, with the window we
//! advertise (`tcp_select_window()`); and the segments that carry no data:
//! ACKs, SYN-ACKs for the listen queue, and resets (`tcp_v4_send_reset()`
//! for a segment nobody wants, `tcp_send_active_reset()` for an abort).

use std::net::SocketAddr;

use super::chrono::ChronoType;
use super::state_machine::{Segment as StateSegment, tcp_v4_send_reset};
use super::window::InitialWindow;
use super::{RequestSock, after};
use crate::kernel::ids::{NetNsId, SockId};
use crate::kernel::world::World;
use crate::net::core::skbuff::PageFrag;
use crate::net::core::snmp::Mib;
use crate::net::ipv4::ip_output::Ipcm;
use crate::observe::trace::Layer;
use crate::wire::ipv4::IPPROTO_TCP;
use crate::wire::tcp::{TcpFlags, TcpHdr, TcpOptions};

/// Headroom for link, IP and TCP headers (`MAX_TCP_HEADER`).
const MAX_TCP_HEADER: usize = 16 + 40 + 60;

/// `net.ipv4.tcp_invalid_ratelimit`'s default (500 ms, this machine's
/// value): the least gap between two out-of-window or challenge ACKs of
/// one socket.
const TCP_INVALID_RATELIMIT: crate::sim::time::Nanos = crate::sim::time::ms(500);

/// What to put on the wire: a TCP header's fields and the payload.
pub(crate) struct Segment<'a> {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: TcpFlags,
    pub(crate) window: u16,
    pub(crate) options: TcpOptions,
    /// Copied payload, then spliced payload as page fragments.
    pub(crate) payload: &'a [u8],
    /// Pages spliced in (`sendfile()`, `splice()`), after `payload`.
    pub(crate) frags: &'a [PageFrag],
    /// The user pages a `MSG_ZEROCOPY` payload is sent from.
    pub(crate) zc: Option<&'a crate::net::core::zerocopy::TxZc>,
    /// The sending socket's IP options (`IP_TTL`, `IP_TOS`).
    pub(crate) ipc: Ipcm,
    /// A retransmission: counted in `TcpRetransSegs` by its caller, not
    /// in `TcpOutSegs` (`__tcp_transmit_skb()` counts a segment only if it
    /// goes past `snd_nxt` or carries no sequence space).
    pub(crate) retrans: bool,
}

impl Segment<'_> {
    /// A segment without payload and without options: an ACK, a reset, a
    /// probe; a SYN-ACK or a data segment adds its own on top.
    pub(crate) fn control(
        (src, dst): (SocketAddr, SocketAddr),
        (seq, ack): (u32, u32),
        flags: TcpFlags,
        window: u16,
        ipc: Ipcm,
    ) -> Segment<'static> {
        Segment {
            src,
            dst,
            seq,
            ack,
            flags,
            window,
            options: TcpOptions::default(),
            payload: &[],
            frags: &[],
            zc: None,
            retrans: false,
            ipc,
        }
    }
}

impl World {
    /// The receive window to advertise (`tcp_select_window()`): what the
    /// free buffer allows (`__tcp_select_window()`), but never less than
    /// what was already promised: the right edge never moves back (the
    /// default `tcp_shrink_window = 0`), rounded up to our window scale's
    /// unit so that scaling cannot take a byte of it away.
    pub(crate) fn tcp_select_window(&mut self, sk: SockId) -> u16 {
        let fresh = self.tcp_free_window(sk);
        let tp = self.tp(sk);
        let promised = tp.rcv_wup.wrapping_add(tp.rcv_wnd).wrapping_sub(tp.rcv_nxt);
        let promised = if (promised as i32) < 0 { 0 } else { promised };
        let scale = tp.rcv_wscale;
        let win = if fresh < promised {
            align_up(promised, scale)
        } else {
            fresh
        };
        let tp = self.tp_mut(sk);
        tp.rcv_wnd = win;
        tp.rcv_wup = tp.rcv_nxt;
        (win.min(u32::from(u16::MAX) << scale) >> scale) as u16
    }

    /// `__tcp_select_window()`: the window the free buffer allows (its
    /// payload share, `tcp_space()`), within `window_clamp` and
    /// `rcv_ssthresh` (`window.rs`); once less than half of the full
    /// window is free, offer nothing rather than a sliver smaller than a
    /// segment (`rcv_mss`) or 1/16 of the buffer (silly-window
    /// avoidance), and round what is offered down to the window scale's
    /// unit; otherwise round it up, so that a window a little short of a
    /// unit is not announced as a unit less.
    fn tcp_free_window(&self, sk: SockId) -> u32 {
        let tp = self.tp(sk);
        let allowed = self.tcp_full_space(sk);
        let full = tp.window_clamp.min(allowed);
        let mut free = self.tcp_space(sk);
        let mss = tp.rcv_mss.min(full);
        if free < full / 2 {
            free &= !((1u32 << tp.rcv_wscale) - 1);
            if free < (allowed >> 4) || free < mss {
                return 0;
            }
        }
        align_up(free.min(tp.rcv_ssthresh), tp.rcv_wscale)
    }

    /// `tcp_cleanup_rbuf()`: after a read, if the window we could offer
    /// now is at least twice the one the peer knows, tell it (a window
    /// update), so a sender stopped by a full buffer can go on. The read
    /// first lets autotuning grow the buffer (`tcp_recvmsg_locked()` calls
    /// `tcp_rcv_space_adjust()` before this).
    pub(crate) fn tcp_cleanup_rbuf(&mut self, sk: SockId) {
        if self.sk(sk).shutdown & crate::net::core::sock::RCV_SHUTDOWN != 0
            || self.sk(sk).daddr.is_none()
        {
            return;
        }
        self.tcp_rcv_space_adjust(sk);
        let s = self.sk(sk);
        let tp = s.tcp.as_deref().expect("tcp");
        let current = tp.rcv_wup.wrapping_add(tp.rcv_wnd).wrapping_sub(tp.rcv_nxt);
        let current = if (current as i32) < 0 { 0 } else { current };
        let possible = self.tcp_free_window(sk);
        // __tcp_cleanup_rbuf(): an ACK being delayed goes now if more than
        // one full segment awaits it, or if the reader drained the end of a
        // write (ICSK_ACK_PUSHED).
        // In pingpong mode one small segment is not enough: the answer
        // will carry the ACK (ICSK_ACK_PUSHED2 is two small segments).
        let unacked = tp.rcv_nxt.wrapping_sub(tp.rcv_wup);
        let interactive = tp.in_pingpong_mode(self.ns(s.netns).sysctl.tcp_pingpong_thresh);
        let pushed = tp.ack_pushed2 || (tp.ack_pushed && !interactive);
        if tp.ack_sched && (unacked > tp.rcv_mss || (pushed && s.rmem_alloc() == 0)) {
            self.tcp_send_ack(sk);
            return;
        }
        if 2 * current <= tp.window_clamp && possible > 0 && possible >= 2 * current {
            let host = s.host;
            self.trace(host, Layer::Tcp, |_w| {
                format!("window update after read: {current} -> {possible}")
            });
            self.tcp_send_ack(sk);
        }
    }

    /// `tcp_transmit_skb()`: build the segment and hand it to IP.
    pub(crate) fn tcp_transmit(&mut self, ns: NetNsId, seg: Segment<'_>) {
        let host = self.ns(ns).host;
        let hdr = TcpHdr {
            source: seg.src.port(),
            dest: seg.dst.port(),
            seq: seg.seq,
            ack_seq: seg.ack,
            doff: 0,
            flags: seg.flags,
            window: seg.window,
            check: 0,
            urg_ptr: 0,
            options: seg.options,
        };
        let hlen = hdr.header_len();
        let Ok(rt) = self.ip_route_output(ns, seg.dst.ip()) else {
            return;
        };
        // tcp_sendmsg() copies into page fragments when the device can
        // gather: a segment costs its payload plus a small head. Spliced
        // pages join as fragments too (each a reference to the same page,
        // as the clone tcp_transmit_skb() sends shares them); a device
        // that cannot gather gets their bytes linear.
        let linear;
        let (payload, frags) = if rt.dev_sg || seg.frags.is_empty() {
            (seg.payload, seg.frags)
        } else {
            linear = [
                seg.payload,
                &crate::net::core::skbuff::page::frags_to_vec(seg.frags),
            ]
            .concat();
            (&linear[..], &[][..])
        };
        let paged = rt.dev_sg && (!payload.is_empty() || !frags.is_empty());
        let skb = match seg.zc {
            // The clone tcp_transmit_skb() sends shares the segment's frags:
            // the user's pages, not a copy.
            Some(zc) => self.alloc_skb_zerocopy(MAX_TCP_HEADER, seg.payload, zc),
            None => self.alloc_skb_with_payload(MAX_TCP_HEADER, payload, paged),
        };
        let Some(mut skb) = skb else {
            return;
        };
        for f in frags {
            if skb
                .add_rx_frag(f.page().get_page(), f.offset(), f.len(), f.len())
                .is_err()
            {
                return;
            }
        }
        if let Ok(room) = skb.push(hlen) {
            let _ = hdr.write(room);
        }
        crate::net::ipv4::fill_l4_checksum(&mut skb, seg.src.ip(), seg.dst.ip(), IPPROTO_TCP);
        skb.reset_transport_header();
        if !seg.retrans {
            self.ns_mut(ns).mib.inc(Mib::TcpOutSegs);
        }
        if seg.flags.contains(TcpFlags::RST) {
            self.ns_mut(ns).mib.inc(Mib::TcpOutRsts);
        }
        let len = payload.len() + frags.iter().map(PageFrag::len).sum::<usize>();
        self.trace(host, Layer::Tcp, |_w| {
            let mut opts = String::new();
            if let Some(m) = seg.options.mss {
                opts.push_str(&format!(", mss {m}"));
            }
            if let Some(w) = seg.options.wscale {
                opts.push_str(&format!(", wscale {w}"));
            }
            format!(
                "{} > {}: Flags {}, seq {}, ack {}, win {}{opts}, length {len}",
                seg.src, seg.dst, seg.flags, seg.seq, seg.ack, seg.window
            )
        });
        let _ = self.ip_send_skb(
            ns,
            skb,
            seg.src.ip(),
            seg.dst.ip(),
            IPPROTO_TCP,
            rt,
            seg.ipc,
        );
    }

    /// Sends one queued segment (first transmission or retransmission).
    pub(crate) fn tcp_send_queued(&mut self, sk: SockId, idx: usize) {
        let ns = self.sk(sk).netns;
        let now = self.now;
        let (src, dst) = (self.sk(sk).local(), self.sk(sk).daddr.expect("connected"));
        let window = if self.tp(sk).write_queue[idx].syn {
            self.syn_window(sk)
        } else {
            self.tcp_select_window(sk)
        };
        let syn_recv = self.sk(sk).state == super::TCP_SYN_RECV;
        let sack_on = self.ns(ns).sysctl.tcp_sack != 0;
        let ts_on = self.ns(ns).sysctl.tcp_timestamps != 0;
        // The SYN offers the advertised MSS, not the payload per segment,
        // which the timestamps cut.
        let advmss = if self.tp(sk).write_queue[idx].syn {
            self.tcp_advertise_mss(sk, dst)
        } else {
            0
        };
        let tp = self.tp_mut(sk);
        let goal = tp.size_goal();
        // An ACK rides on this segment (all but a first SYN carry one): no
        // delayed ACK needed (tcp_event_ack_sent()); and data may be an
        // answer (tcp_event_data_sent()).
        let (syn, len) = (tp.write_queue[idx].syn, tp.write_queue[idx].len());
        if !syn || syn_recv {
            tp.event_ack_sent();
        }
        if len > 0 {
            tp.event_data_sent(now);
            tp.tcp_cc_data_sent(now);
        }
        let seg = &mut tp.write_queue[idx];
        let mut flags = TcpFlags::ACK;
        let mut options = TcpOptions::default();
        let mut ack = tp.rcv_nxt;
        if seg.syn {
            options.mss = Some(advmss.min(u16::MAX as u32) as u16);
            options.wscale = Some(tp.rcv_wscale);
            // tcp_syn_options(): SACK and timestamps offered if their
            // sysctls are on; a SYN-ACK of a simultaneous open only if both
            // offered.
            options.sack_permitted = if syn_recv { tp.sack_ok } else { sack_on };
            options.timestamps = if syn_recv {
                tp.ts.option(now)
            } else {
                ts_on.then(|| (tp.ts.tsval(now), 0))
            };
            // In SYN_RECV (simultaneous open) the SYN also acknowledges theirs.
            if syn_recv {
                flags = TcpFlags::SYN | TcpFlags::ACK;
            } else {
                flags = TcpFlags::SYN;
                ack = 0;
            }
        }
        if !seg.syn {
            options.timestamps = tp.ts.option(now);
            if tp.sack_ok {
                options.sack = tp.rx_sack.take_for_ack();
            }
        }
        let seg = &mut tp.write_queue[idx];
        if seg.fin {
            flags = flags | TcpFlags::FIN;
        }
        if seg.psh && seg.len() > 0 {
            flags = flags | TcpFlags::PSH;
        }
        if seg.sent_at.is_some() {
            seg.retransmitted = true;
        }
        if (seg.len() as u32) < goal && !seg.syn {
            tp.snd_sml = seg.end_seq();
        }
        seg.sent_at = Some(now);
        let (seq, end) = (seg.seq, seg.end_seq());
        let retrans = !after(end, tp.snd_nxt) && seq != end;
        let data = seg.data.clone();
        let frags = seg.frags.clone();
        let zc = seg.zc.clone();
        if after(end, tp.snd_nxt) {
            tp.snd_nxt = end;
        }
        tp.segs_out += 1;
        // tcp_event_new_data_sent(): the first packet out starts the RTO,
        // and new data sent while a loss probe is armed brings the RTO
        // back (the probe is armed again after the burst).
        if tp.rto_at.is_none() || (tp.tlp.pending && !retrans) {
            self.tcp_rearm_rto(sk);
        }
        let ipc = self.inet_ipcm(sk);
        self.tcp_transmit(
            ns,
            Segment {
                options,
                payload: &data,
                frags: &frags,
                zc: zc.as_ref(),
                retrans,
                ..Segment::control((src, dst), (seq, ack), flags, window, ipc)
            },
        );
    }

    /// The window in a SYN is never scaled (RFC 7323): what
    /// `tcp_connect_init()` chose (`tcp_select_initial_window()` on the
    /// advertised MSS), at most 65535.
    fn syn_window(&mut self, sk: SockId) -> u16 {
        let dst = self.sk(sk).daddr.expect("connecting");
        let mss = self.tcp_advertise_mss(sk, dst);
        let space = self.tcp_full_space(sk);
        let clamp = self.tcp_initial_clamp(sk);
        let wscale = self.tp(sk).rcv_wscale;
        let w = super::window::tcp_select_initial_window(space, mss, clamp, wscale);
        let tp = self.tp_mut(sk);
        tp.rcv_wnd = w.rcv_wnd;
        tp.window_clamp = w.window_clamp;
        tp.rcv_ssthresh = w.rcv_wnd;
        tp.rcv_wnd.min(u32::from(u16::MAX)) as u16
    }

    /// `tcp_write_xmit()`: send unsent segments while the peer's window and
    /// the congestion window have room. `nonagle` says how a partial last
    /// segment is treated on this push besides what the socket's options
    /// say: held as under `TCP_CORK` for a push made with `MSG_MORE`
    /// (`tcp_push()`'s `TCP_NAGLE_CORK`), or sent whatever Nagle and cork
    /// say when `TCP_NODELAY` is set (`TCP_NAGLE_PUSH`).
    ///
    /// A burst that the congestion or the peer's window cuts short of what
    /// is queued ends with PSH: Linux sends a burst as TSO packets cut from
    /// larger buffers (`tso_fragment()`), and on this machine's 6.18 kernel
    /// a packet cut off that way carries PSH (the receiver's GRO flushes
    /// on it), while one that Nagle or `MSG_MORE` cuts (holding the rest)
    /// does not. Without TSO buffers, the simulation marks the last segment
    /// of such a burst.
    pub(crate) fn tcp_write_xmit(&mut self, sk: SockId) {
        self.tcp_write_xmit_nonagle(sk, Nonagle::Socket);
    }

    pub(crate) fn tcp_write_xmit_nonagle(&mut self, sk: SockId, nonagle: Nonagle) {
        let snd_nxt = self.tp(sk).snd_nxt;
        let rwnd_limited = self.tcp_write_xmit_loop(sk, nonagle);
        // The window-limited clock runs while the peer's window holds data
        // back, and only then.
        let now = self.now;
        let tp = self.tp_mut(sk);
        let is_cwnd_limited = tp.packets_out() >= tp.cwnd;
        let sent = tp.snd_nxt != snd_nxt;
        if sent || is_cwnd_limited {
            tp.tcp_cwnd_validate(is_cwnd_limited);
        }
        if rwnd_limited {
            tp.chrono.start(ChronoType::RwndLimited, now);
        } else {
            let empty = tp.write_queue.is_empty();
            tp.chrono.stop(ChronoType::RwndLimited, empty, now);
        }
        // One loss probe per tail loss episode.
        if sent {
            self.tcp_schedule_loss_probe(sk, false);
        }
    }

    /// Sends what may go; true if the peer's window held the next segment.
    fn tcp_write_xmit_loop(&mut self, sk: SockId, nonagle: Nonagle) -> bool {
        loop {
            let tp = self.tp(sk);
            let Some(idx) = tp.write_queue.iter().position(|s| s.sent_at.is_none()) else {
                return false;
            };
            match self.xmit_verdict(sk, idx, tp.snd_nxt, nonagle) {
                Xmit::Send => {}
                Xmit::Cwnd => return false,
                // tcp_check_probe_timer(): with nothing in flight no ACK
                // will come to open the window or to push a corked segment;
                // the probe timer does (the "200 ms ceiling" of TCP_CORK).
                held @ (Xmit::Window | Xmit::Nagle) => {
                    let tp = self.tp(sk);
                    if tp.snd_nxt == tp.snd_una && tp.probe_at.is_none() {
                        self.tcp_arm_probe(sk);
                    }
                    return held == Xmit::Window;
                }
            }
            let tp = self.tp(sk);
            let seg = &tp.write_queue[idx];
            let more_queued = idx + 1 < tp.write_queue.len();
            let end = seg.seq.wrapping_add(seg.len() as u32);
            if more_queued
                && seg.len() > 0
                && matches!(
                    self.xmit_verdict(sk, idx + 1, end, nonagle),
                    Xmit::Cwnd | Xmit::Window
                )
            {
                self.tp_mut(sk).write_queue[idx].psh = true;
            }
            // PRR counts new data sent in recovery too.
            let tp = self.tp_mut(sk);
            if tp.recover.is_some() {
                tp.sb.prr_out += tp.pcount(idx);
            }
            self.tcp_send_queued(sk, idx);
        }
    }

    /// Whether `tcp_write_xmit()` sends the unsent segment at `idx` when
    /// `snd_nxt` is where the segments before it end, and if not, what
    /// stops it.
    fn xmit_verdict(&self, sk: SockId, idx: usize, snd_nxt: u32, nonagle: Nonagle) -> Xmit {
        let tp = self.tp(sk);
        let seg = &tp.write_queue[idx];
        let in_flight_segs = tp.packets_in_flight_at(snd_nxt);
        let window_end = tp.snd_una.wrapping_add(tp.snd_wnd);
        if !seg.syn && after(seg.seq.wrapping_add(seg.len() as u32), window_end) {
            return Xmit::Window;
        }
        // tcp_cwnd_test(): a bare FIN goes even when the window is full.
        if in_flight_segs >= tp.cwnd && !(seg.fin && seg.len() == 0) {
            return Xmit::Cwnd;
        }
        // tcp_nagle_check() (Minshall): a partial segment waits while an
        // earlier partial one is unacknowledged, and always while the
        // socket is corked. Only the last segment of the write queue is
        // held (tcp_write_xmit() passes TCP_NAGLE_PUSH for the others): a
        // segment with data queued behind it can no longer grow, so
        // holding it would only delay what follows.
        let partial = (seg.len() as u32) < tp.size_goal() && !seg.fin && !seg.syn;
        let last = idx + 1 == tp.write_queue.len();
        let minshall = !tp.nodelay && after(tp.snd_sml, tp.snd_una);
        let held = match nonagle {
            Nonagle::Socket => tp.opts.cork || minshall,
            Nonagle::Cork => true,
            Nonagle::Push => false,
        };
        if partial && last && held {
            return Xmit::Nagle;
        }
        Xmit::Send
    }

    /// Arms the persist timer (`tcp_check_probe_timer()`).
    pub(crate) fn tcp_arm_probe(&mut self, sk: SockId) {
        let now = self.now;
        let tp = self.tp_mut(sk);
        let when =
            (tp.rto.max(super::TCP_RTO_MIN) << tp.probes_out.min(16)).min(super::TCP_RTO_MAX);
        tp.probe_at = Some(now + when);
        self.schedule_tcp_timer(sk, now + when);
    }

    /// Retransmits the oldest unacknowledged segment.
    pub(crate) fn tcp_retransmit_head(&mut self, sk: SockId) {
        if self
            .tp(sk)
            .write_queue
            .front()
            .is_some_and(|s| s.sent_at.is_some())
        {
            let ns = self.sk(sk).netns;
            self.ns_mut(ns).mib.inc(Mib::TcpRetransSegs);
            self.tp_mut(sk).sb.total_retrans += 1;
            self.tcp_send_queued(sk, 0);
        }
    }

    /// Sends a segment without data on a connection: an ACK, a window
    /// probe or a reset. `old_seq` sends `snd_una - 1` instead of
    /// `snd_nxt` (a probe the receiver must answer).
    fn tcp_send_control(&mut self, sk: SockId, flags: TcpFlags, old_seq: bool) {
        let ns = self.sk(sk).netns;
        let Some(dst) = self.sk(sk).daddr else { return };
        let src = self.sk(sk).local();
        let rst = flags.contains(TcpFlags::RST);
        let window = if rst { 0 } else { self.tcp_select_window(sk) };
        let now = self.now;
        let tp = self.tp_mut(sk);
        if flags.contains(TcpFlags::ACK) {
            tp.event_ack_sent();
        }
        tp.segs_out += 1;
        let seq = if old_seq {
            tp.snd_una.wrapping_sub(1)
        } else {
            tp.snd_nxt
        };
        let ack = tp.rcv_nxt;
        // tcp_established_options(): timestamps on every segment, resets
        // too; SACK blocks on every ACK.
        let mut options = TcpOptions {
            timestamps: tp.ts.option(now),
            ..TcpOptions::default()
        };
        if tp.sack_ok && flags.contains(TcpFlags::ACK) && !rst {
            options.sack = tp.rx_sack.take_for_ack();
        }
        let ipc = self.inet_ipcm(sk);
        self.tcp_transmit(
            ns,
            Segment {
                options,
                ..Segment::control((src, dst), (seq, ack), flags, window, ipc)
            },
        );
    }

    /// `tcp_write_wakeup()` / `tcp_xmit_probe_skb()`: a zero-window probe,
    /// a segment with an old sequence number that makes the receiver answer
    /// with its current window.
    pub(crate) fn tcp_send_probe(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPWinProbe);
        self.tcp_send_control(sk, TcpFlags::ACK, true);
    }

    /// A keepalive probe (`tcp_xmit_probe_skb()`): `snd_una - 1`, no data,
    /// so the peer must answer with an ACK.
    pub(crate) fn tcp_send_keepalive_probe(&mut self, sk: SockId) {
        self.tcp_send_control(sk, TcpFlags::ACK, true);
    }

    /// `tcp_send_ack()`: an ACK carrying our window, now.
    pub(crate) fn tcp_send_ack(&mut self, sk: SockId) {
        self.tcp_send_control(sk, TcpFlags::ACK, false);
    }

    /// `tcp_send_challenge_ack()` (net/ipv4/tcp_input.c): an ACK that
    /// tells the peer where we are, in answer to a reset we do not trust
    /// (RFC 5961). At most one per socket every `tcp_invalid_ratelimit`
    /// (500 ms; `__tcp_oow_rate_limited()`, `TCPACKSkippedChallenge`
    /// otherwise). The per-namespace limit `tcp_challenge_ack_limit` is
    /// `INT_MAX`, off, by default since Linux 6.0, and not modelled.
    pub(crate) fn tcp_send_challenge_ack(&mut self, sk: SockId) {
        let ns = self.sk(sk).netns;
        let now = self.now;
        if let Some(last) = self.tp(sk).last_oow_ack_time
            && now - last < TCP_INVALID_RATELIMIT
        {
            self.ns_mut(ns).mib.inc(Mib::TcpExtTCPACKSkippedChallenge);
            return;
        }
        self.tp_mut(sk).last_oow_ack_time = Some(now);
        self.ns_mut(ns).mib.inc(Mib::TcpExtTCPChallengeACK);
        self.tcp_send_ack(sk);
    }

    /// `tcp_send_active_reset()`: abort a connection with RST.
    pub(crate) fn tcp_send_active_reset(&mut self, sk: SockId) {
        self.tcp_send_control(sk, TcpFlags::RST | TcpFlags::ACK, false);
    }

    /// `tcp_v4_send_reset()`: the answer to a segment no socket wants. If
    /// it carried an ACK, the RST takes that number as its sequence;
    /// otherwise the RST acknowledges everything the segment occupied.
    pub(crate) fn tcp_send_reset_reply(
        &mut self,
        ns: NetNsId,
        local: SocketAddr,
        remote: SocketAddr,
        hdr: &TcpHdr,
        payload_len: usize,
    ) {
        let Some(rst) = tcp_v4_send_reset(&StateSegment::of(hdr, payload_len as u32)) else {
            return;
        };
        let (seq, ack, flags) = (rst.seq, rst.ack, rst.tcp_flags());
        self.tcp_transmit(
            ns,
            Segment::control((local, remote), (seq, ack), flags, 0, Ipcm::default()),
        );
    }

    /// Sends the SYN-ACK for a request in a listener's SYN queue.
    pub(crate) fn tcp_send_synack(&mut self, listener: SockId, remote: SocketAddr) {
        let Some(req) = self.tp(listener).queues.0.request(remote).cloned() else {
            return;
        };
        self.tcp_send_synack_req(listener, &req);
    }

    /// The window a SYN-ACK offers (`req->rsk_rcv_wnd`): half the
    /// listener's receive buffer, unscaled.
    pub(crate) fn synack_window(&mut self, listener: SockId, req: &RequestSock) -> InitialWindow {
        let ns = self.sk(listener).netns;
        let route_mss = self.route_mss(ns, req.remote);
        let ts = if req.ts_recent.is_some() {
            super::timestamps::TCPOLEN_TSTAMP_ALIGNED
        } else {
            0
        };
        let mss = self.tcp_mss_clamp(listener, route_mss).saturating_sub(ts);
        let space = self.tcp_full_space(listener);
        let clamp = self.tcp_initial_clamp(listener);
        let wscale = if req.wscale_ok && !req.cookie {
            self.rcv_wscale_for(listener)
        } else {
            0
        };
        super::window::tcp_select_initial_window(space, mss, clamp, wscale)
    }

    /// `tcp_v4_reqsk_send_ack()`: a request's answer to a segment outside
    /// its window, `. seq=iss+1 ack=irs+1`.
    pub(crate) fn tcp_v4_reqsk_send_ack(&mut self, listener: SockId, req: &RequestSock) {
        let ns = self.sk(listener).netns;
        let window = self
            .synack_window(listener, req)
            .rcv_wnd
            .min(u32::from(u16::MAX)) as u16;
        let ends = (req.local, req.remote);
        let seqs = (req.iss.wrapping_add(1), req.irs.wrapping_add(1));
        let ipc = self.inet_ipcm(listener);
        let options = TcpOptions {
            timestamps: self.req_timestamps(req),
            ..TcpOptions::default()
        };
        self.tcp_transmit(
            ns,
            Segment {
                options,
                ..Segment::control(ends, seqs, TcpFlags::ACK, window, ipc)
            },
        );
    }

    /// A request's timestamp option: our clock plus its offset, echoing the
    /// SYN's TSval (`tcp_synack_options()`), if the SYN offered them.
    fn req_timestamps(&self, req: &RequestSock) -> Option<(u32, u32)> {
        let clock = super::timestamps::tcp_clock_ms(self.now);
        req.ts_recent
            .map(|recent| (clock.wrapping_add(req.ts_off), recent))
    }

    /// Sends the SYN-ACK for `req` (kept in the SYN queue or not: a cookie).
    pub(crate) fn tcp_send_synack_req(&mut self, listener: SockId, req: &RequestSock) {
        let ns = self.sk(listener).netns;
        let route_mss = self.route_mss(ns, req.remote);
        let mss = self.tcp_mss_clamp(listener, route_mss);
        let window = self
            .synack_window(listener, req)
            .rcv_wnd
            .min(u32::from(u16::MAX)) as u16;
        let ipc = self.inet_ipcm(listener);
        let options = TcpOptions {
            mss: Some(mss as u16),
            // Window scaling only if the peer offered it, and never with a
            // cookie (it cannot be remembered).
            wscale: (req.wscale_ok && !req.cookie).then(|| self.rcv_wscale_for(listener)),
            sack_permitted: req.sack_ok,
            timestamps: self.req_timestamps(req),
            ..TcpOptions::default()
        };
        let ends = (req.local, req.remote);
        let seqs = (req.iss, req.irs.wrapping_add(1));
        let flags = TcpFlags::SYN | TcpFlags::ACK;
        self.tcp_transmit(
            ns,
            Segment {
                options,
                ..Segment::control(ends, seqs, flags, window, ipc)
            },
        );
    }

    /// The MSS for a path: the device MTU less 40 bytes of headers.
    pub(crate) fn route_mss(&mut self, ns: NetNsId, dst: SocketAddr) -> u32 {
        match self.ip_route_output(ns, dst.ip()) {
            // ipv4_default_advmss(): an IP datagram is at most 65535 bytes.
            Ok(rt) => self
                .dev(rt.dev)
                .mtu
                .min(u16::MAX as u32)
                .saturating_sub(40)
                .clamp(64, u16::MAX as u32),
            Err(_) => super::TCP_MSS_DEFAULT,
        }
    }

    /// `tcp_mss_clamp()`: the MSS a socket advertises and uses, lowered
    /// to its `TCP_MAXSEG` if one was set.
    /// `tcp_advertise_mss()`: the route's MSS towards `dst`, clamped by
    /// `TCP_MAXSEG`: what a SYN offers (`tp->advmss` before timestamps
    /// take their 12 bytes).
    pub(crate) fn tcp_advertise_mss(&mut self, sk: SockId, dst: SocketAddr) -> u32 {
        let route = self.route_mss(self.sk(sk).netns, dst);
        self.tcp_mss_clamp(sk, route)
    }

    pub(crate) fn tcp_mss_clamp(&self, sk: SockId, mss: u32) -> u32 {
        match self.tp(sk).opts.user_mss {
            0 => mss,
            user => mss.min(user),
        }
    }

    /// `tcp_select_initial_window()`: the window scale that lets the largest
    /// receive buffer (`tcp_rmem[2]` or `rmem_max`) be advertised, or, when
    /// the process fixed `SO_RCVBUF`, that buffer's window
    /// (`window_clamp = tcp_full_space()`).
    pub(crate) fn rcv_wscale_for(&self, sk: SockId) -> u8 {
        let s = self.sk(sk);
        let sysctl = &self.ns(s.netns).sysctl;
        let mut space = sysctl.tcp_rmem.2.max(sysctl.rmem_max);
        if s.rcvbuf_locked {
            space = space.min(s.rcvbuf() / 2);
        }
        let mut scale = 0;
        while space > 65535 && scale < 14 {
            space >>= 1;
            scale += 1;
        }
        scale
    }
}

/// How one push treats a partial last segment (`tcp_write_xmit()`'s
/// `nonagle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nonagle {
    /// As the socket's `TCP_NODELAY` and `TCP_CORK` say.
    Socket,
    /// Held (`TCP_NAGLE_CORK`: a send with `MSG_MORE`).
    Cork,
    /// Sent (`TCP_NAGLE_PUSH`: `TCP_NODELAY` was just set).
    Push,
}

/// What `tcp_write_xmit()` does with the next unsent segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Xmit {
    Send,
    /// It does not fit in the peer's window.
    Window,
    /// The congestion window is full.
    Cwnd,
    /// Nagle or cork holds it.
    Nagle,
}

/// `ALIGN(win, 1 << scale)`: up to a whole unit of the window scale.
fn align_up(win: u32, scale: u8) -> u32 {
    let unit = 1u32 << scale;
    win.saturating_add(unit - 1) & !(unit - 1)
}
