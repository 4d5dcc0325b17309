//! TCP (`net/ipv4/tcp*.c`, `include/net/tcp.h`): a byte stream over IP with
//! a state machine, queues, windows and timers.
//!
//! The module is split the way the kernel splits it: the calls a process
//! makes (`calls.rs`: connect, listen, accept, send, receive, close,
//! shutdown, as `net/ipv4/tcp.c`, `inet_connection_sock.c` and
//! `af_inet.c`), what arrives (`input.rs`: `tcp_v4_rcv()`,
//! `tcp_rcv_state_process()`, `tcp_ack()`, `tcp_data_queue()`, the listen
//! queues of `tcp_conn_request()` / `tcp_check_req()`), what leaves
//! (`output.rs`: `tcp_write_xmit()`, `tcp_transmit_skb()`, resets), when
//! to acknowledge (`delack.rs`), the timers (`timer.rs`:
//! retransmission, SYN-ACK retransmission, TIME_WAIT), and the constants
//! of `include/net/tcp.h` (`defs.rs`). The state machine's decisions
//! (what a segment, a call or a timer does to the state) are pure
//! functions in `state_machine.rs`, the handshake lab's solution; the
//! files above do what they decide. Each file is the kernel's `tcp_*.c`
//! of the same name without the prefix.
//!
//! What is modelled as Linux does it, because user space can see it: the
//! eleven states and their transitions; the SYN queue and the accept queue
//! (full once it holds backlog + 1; SYNs dropped while it is full; a final
//! ACK that finds it full dropped, or answered by RST with
//! `tcp_abort_on_overflow`); `send()` returning once bytes are in the write
//! queue; reads across segment boundaries; FIN and RST handling with the
//! errno each state gives; TIME_WAIT for 60 s; resets for closed ports and
//! for a close with unread data.
//!
//! A process inside a system call holds the socket (`lock_sock()`): a
//! segment that arrives then, for instance the peer's answer delivered
//! inline over loopback, waits in the socket backlog and is processed when
//! the call releases the socket (`release_sock()`), as in the kernel.
//!
//! Delayed ACK (`delack.rs`): the first segments are acknowledged at once
//! (quick-ack, up to 16), then an ACK goes for every second full segment,
//! with data, or after `ato` (40 ms at first, adapted to the flow); a
//! request/response connection enters pingpong mode and delays its ACKs
//! from the first answer on.
//! Nagle with Minshall's rule: a small segment waits while an earlier small
//! one is unacknowledged, unless `TCP_NODELAY`; `TCP_CORK` and a send with
//! `MSG_MORE` hold it, and setting `TCP_NODELAY` pushes it; `MSG_EOR` ends
//! a record that later data does not join (`output.rs`, `calls.rs`). The
//! RTO is Linux's: srtt plus a deviation term never below `TCP_RTO_MIN`
//! (`tcp_rtt_estimator()`). Congestion control is CUBIC by default, Reno
//! selectable (`cong.rs`, `cubic.rs`). With SACK the sender keeps a
//! scoreboard, finds losses by time (RACK), recovers with proportional
//! rate reduction and resends only what is lost (`recovery.rs`); without
//! SACK, fast retransmit on three duplicate ACKs with NewReno recovery. A
//! zero window arms the persist timer: a probe at `rto`, doubling to
//! `TCP_RTO_MAX`.
//!
//! SACK is negotiated (`tcp_sack`) and the receiver reports its blocks and
//! D-SACK (`sack`). Timestamps
//! (`tcp_timestamps`, `timestamps`) are negotiated, carried on every
//! segment, echoed, and used for PAWS and for RTT samples of
//! retransmitted data.
//!
//! The receive buffer is autotuned to what the reader takes per round
//! trip (`rcvbuf.rs`), and grows to keep a window already promised
//! (`tcp_clamp_window()`); the window offered follows the payload share
//! of the buffer, `window_clamp` and `rcv_ssthresh` (`window.rs`).
//!
//! A tail loss is probed for before the RTO (`tlp.rs`). Simplified so
//! far: no undo of a spurious recovery (`recovery.rs` says what else); write-queue memory is
//! charged as payload plus a fixed per-segment overhead; an ephemeral port
//! is never shared between connections. This machine's kernel uses BBR
//! congestion control by default; the simulation has CUBIC and Reno.

pub mod calls;
pub mod chrono;
pub mod cong;
pub mod cubic;
pub mod defs;
pub mod delack;
pub mod info;
pub mod input;
pub mod keepalive;
pub mod output;
pub mod poll;
pub mod rcvbuf;
pub mod recovery;
pub mod sack;
pub mod sockopt;
pub mod splice;
pub mod state_machine;
pub mod timer;
pub mod timestamps;
pub mod tlp;
pub mod window;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::kernel::ids::SockId;
use crate::net::core::skbuff::{PageFrag, SkBuff};
use crate::sim::time::Nanos;

pub use crate::net::ipv4::request_sock_queue::RequestSock;
pub use defs::*;

/// A segment in the write queue: sent and awaiting its ACK, or not sent yet.
#[derive(Clone, Debug)]
pub(crate) struct TxSeg {
    pub(crate) seq: u32,
    /// Payload copied in by `send()`/`write()`.
    pub(crate) data: Vec<u8>,
    /// Payload that follows `data` as page fragments: pages spliced in by
    /// `sendfile()`/`splice()` (references to pages that already held the
    /// bytes, `MSG_SPLICE_PAGES`), or bytes copied after such a fragment.
    pub(crate) frags: Vec<PageFrag>,
    pub(crate) syn: bool,
    pub(crate) fin: bool,
    pub(crate) psh: bool,
    /// The last segment of a `MSG_EOR` send: later data starts a new one.
    pub(crate) eor: bool,
    /// When it was last sent; `None` until it is.
    pub(crate) sent_at: Option<Nanos>,
    /// Sent more than once (its ACK gives no RTT sample: Karn's rule).
    pub(crate) retransmitted: bool,
    /// The scoreboard's bits (`recovery.rs`): SACKed
    /// (`TCPCB_SACKED_ACKED`), marked lost (`TCPCB_LOST`), resent since
    /// (`TCPCB_SACKED_RETRANS`).
    pub(crate) sacked: bool,
    pub(crate) lost: bool,
    pub(crate) rexmit: bool,
    /// The user pages this segment's bytes are sent from, for a
    /// `MSG_ZEROCOPY` send (`data` keeps the bytes for the simulation's
    /// own bookkeeping; what goes out references the pages).
    pub(crate) zc: Option<crate::net::core::zerocopy::TxZc>,
}

impl TxSeg {
    /// `TCP_SKB_CB(skb)->end_seq`: SYN and FIN each take a sequence number.
    pub(crate) fn end_seq(&self) -> u32 {
        self.seq
            .wrapping_add(self.len() as u32)
            .wrapping_add(self.syn as u32)
            .wrapping_add(self.fin as u32)
    }

    pub(crate) fn charge(&self) -> u32 {
        self.len() as u32 + TX_SEG_OVERHEAD
    }

    /// Payload bytes, copied and spliced.
    pub(crate) fn len(&self) -> usize {
        self.data.len() + self.frags.iter().map(PageFrag::len).sum::<usize>()
    }

    /// Whether spliced pages may join this segment: not sent yet, not a
    /// SYN or FIN, shorter than `goal`, not carrying a `MSG_ZEROCOPY`
    /// buffer, and with a free fragment slot (`tcp_skb_can_collapse_to()`,
    /// `MAX_SKB_FRAGS`).
    pub(crate) fn appendable(&self, goal: usize) -> bool {
        self.sent_at.is_none()
            && !self.fin
            && !self.syn
            && !self.eor
            && self.zc.is_none()
            && self.len() < goal
            && self.frags.len() < crate::net::core::skbuff::MAX_SKB_FRAGS
    }

    /// A segment with no payload yet at `seq`.
    pub(crate) fn empty(seq: u32) -> TxSeg {
        TxSeg {
            seq,
            data: Vec::new(),
            frags: Vec::new(),
            syn: false,
            fin: false,
            psh: false,
            eor: false,
            sent_at: None,
            retransmitted: false,
            sacked: false,
            lost: false,
            rexmit: false,
            zc: None,
        }
    }

    /// The part of `tcp_fragment()` that cuts the payload: keeps the first
    /// `at` bytes and returns the rest, copied bytes and fragments (a
    /// fragment cut in two becomes two references to its page).
    pub(crate) fn split_payload(&mut self, at: usize) -> (Vec<u8>, Vec<PageFrag>) {
        if at <= self.data.len() {
            return (self.data.split_off(at), std::mem::take(&mut self.frags));
        }
        let mut left = at - self.data.len();
        let mut keep = Vec::new();
        let mut rest = Vec::new();
        for f in std::mem::take(&mut self.frags) {
            if left >= f.len() {
                left -= f.len();
                keep.push(f);
            } else if left > 0 {
                let mut tail = f.clone();
                tail.advance(left);
                let mut head = f;
                head.truncate(left);
                left = 0;
                keep.push(head);
                rest.push(tail);
            } else {
                rest.push(f);
            }
        }
        self.frags = keep;
        (Vec::new(), rest)
    }
}

/// The TCP part of a socket (`struct tcp_sock` and
/// `struct inet_connection_sock`).
#[derive(Debug)]
pub(crate) struct TcpSock {
    pub(crate) iss: u32,
    pub(crate) snd_una: u32,
    pub(crate) snd_nxt: u32,
    /// Sequence number after the last byte the process wrote.
    pub(crate) write_seq: u32,
    /// The peer's receive window, scaled.
    pub(crate) snd_wnd: u32,
    /// The largest window the peer has offered (`max_window`).
    pub(crate) max_window: u32,
    pub(crate) snd_wl1: u32,
    pub(crate) rcv_nxt: u32,
    /// How far the process has read.
    pub(crate) copied_seq: u32,
    /// The window we last advertised, and `rcv_nxt` when we did.
    pub(crate) rcv_wnd: u32,
    pub(crate) rcv_wup: u32,
    pub(crate) snd_wscale: u8,
    pub(crate) rcv_wscale: u8,
    /// Both ends offered SACK (`rx_opt.sack_ok`).
    pub(crate) sack_ok: bool,
    /// The blocks this end reports as a receiver.
    pub(crate) rx_sack: sack::RxSack,
    /// Timestamps: negotiated or not, our offset, the TSval to echo.
    pub(crate) ts: timestamps::Timestamps,
    /// Where the sender's time went (`chrono_type`, `chrono_stat`).
    pub(crate) chrono: chrono::Chrono,
    /// `mss_cache`: payload bytes per segment.
    pub(crate) mss: u32,
    /// `icsk_ack.rcv_mss`: the largest segment received so far, our guess
    /// of the peer's MSS, used to size the window we offer.
    pub(crate) rcv_mss: u32,
    pub(crate) cwnd: u32,
    pub(crate) ssthresh: u32,
    /// The congestion control's state (`cong.rs`).
    pub(crate) cc: cong::Cong,
    /// The SACK scoreboard and loss recovery (`recovery.rs`).
    pub(crate) sb: recovery::Scoreboard,
    /// Receive-buffer autotuning: the reader's last measure and the
    /// receive RTT (`rcvbuf.rs`).
    pub(crate) rcvq_space: rcvbuf::RcvqSpace,
    pub(crate) rcv_rtt: rcvbuf::RcvRttEst,
    /// The receive window's limits (`window.rs`): the payload share of
    /// the buffer in 1/256ths, the most the window may be, where it may
    /// reach now; and `tp->advmss` once established.
    pub(crate) scaling_ratio: u8,
    pub(crate) window_clamp: u32,
    pub(crate) rcv_ssthresh: u32,
    pub(crate) advmss: u32,
    pub(crate) srtt: Option<Nanos>,
    /// The smoothed mean deviation `ss` and `tcp_info` report
    /// (`mdev_us / 4`).
    pub(crate) rttvar: Nanos,
    /// `mdev_us`: four times the mean deviation; `mdev_max_us`: its largest
    /// value in this round trip; `rttvar_us`: the deviation the RTO adds,
    /// at least `TCP_RTO_MIN`; `rtt_seq`: where this round trip ends.
    pub(crate) mdev_us: Nanos,
    pub(crate) mdev_max: Nanos,
    pub(crate) rttvar_us: Nanos,
    pub(crate) rtt_seq: u32,
    pub(crate) rto: Nanos,
    /// Consecutive timeouts (`icsk_retransmits`), for backoff and giving up.
    pub(crate) retransmits: u32,
    /// When what is being retransmitted was first sent (`retrans_stamp`),
    /// for `TCP_USER_TIMEOUT`; none once an ACK moves on.
    pub(crate) retrans_stamp: Option<Nanos>,
    pub(crate) write_queue: VecDeque<TxSeg>,
    /// `sk_wmem_queued`.
    pub(crate) wmem_queued: u32,
    /// Segments that arrived ahead of `rcv_nxt` (`out_of_order_queue`).
    pub(crate) ofo: BTreeMap<u32, (SkBuff, bool)>,
    /// The retransmission timer, when armed (or the loss probe armed in
    /// its place, `tlp.pending`).
    pub(crate) rto_at: Option<Nanos>,
    pub(crate) tlp: tlp::Tlp,
    /// The TIME_WAIT (or orphaned FIN_WAIT2) timer, when armed.
    pub(crate) tw_at: Option<Nanos>,
    /// A FIN was received (`SOCK_DONE`): reads return 0 at the end.
    pub(crate) fin_rcvd: bool,
    /// When the SYN queue last overflowed into SYN cookies
    /// (`tcp_synq_overflow()`): ACKs are checked as cookies for 2 minutes.
    pub(crate) last_overflow: Option<Nanos>,
    /// When the last out-of-window ACK or challenge ACK went out
    /// (`last_oow_ack_time`), for `tcp_invalid_ratelimit`.
    pub(crate) last_oow_ack_time: Option<Nanos>,
    /// A listener's backlog (`sk_max_ack_backlog`).
    pub(crate) max_ack_backlog: u32,
    /// A listener's SYN queue and accept queue (`icsk_accept_queue`).
    pub(crate) queues: crate::net::ipv4::request_sock_queue::AcceptQueue,
    /// The listener a child belongs to until it is accepted.
    pub(crate) parent: Option<SockId>,
    /// `TCP_NODELAY`.
    pub(crate) nodelay: bool,
    /// The other options set at `IPPROTO_TCP`.
    pub(crate) opts: sockopt::TcpOpts,
    /// Segments sent and received, for `ss -i`.
    pub(crate) segs_out: u64,
    pub(crate) segs_in: u64,
    /// The delayed-ACK timer, when armed (`icsk_delack_timer`).
    pub(crate) delack_at: Option<Nanos>,
    /// ACKs still to send at once before delaying (`icsk_ack.quick`).
    pub(crate) quick: u32,
    /// Data arrived that our next ACK must cover (`ICSK_ACK_SCHED`).
    pub(crate) ack_sched: bool,
    /// The predicted gap between arriving segments, the delayed-ACK
    /// timeout (`icsk_ack.ato`); 0 until the first data.
    pub(crate) ato: Nanos,
    /// When the last data arrived (`icsk_ack.lrcvtime`).
    pub(crate) lrcvtime: Nanos,
    /// Answers sent within `ato` of a request (`icsk_ack.pingpong`): at
    /// `tcp_pingpong_thresh` the connection is interactive and ACKs wait
    /// to ride on the answer.
    pub(crate) pingpong: u8,
    /// A segment smaller than `rcv_mss` arrived since the last ACK
    /// (`ICSK_ACK_PUSHED`): the end of a write, worth acknowledging as soon
    /// as the reader has drained it (unless the connection is interactive).
    pub(crate) ack_pushed: bool,
    /// A second small segment arrived since the last ACK
    /// (`ICSK_ACK_PUSHED2`): acknowledged when drained even in pingpong mode.
    pub(crate) ack_pushed2: bool,
    /// End of the last small segment sent (`snd_sml`), for Nagle.
    pub(crate) snd_sml: u32,
    /// Duplicate ACKs in a row.
    pub(crate) dupacks: u32,
    /// Fast recovery in progress until this sequence is acknowledged.
    pub(crate) recover: Option<u32>,
    /// The zero-window probe timer, when armed, and probes sent in a row.
    pub(crate) probe_at: Option<Nanos>,
    pub(crate) probes_out: u32,
    /// The keepalive timer, when armed; keepalive probes unanswered (the
    /// kernel keeps them in `icsk_probes_out` too); when the last ACK
    /// came (`rcv_tstamp`).
    pub(crate) keepalive_at: Option<Nanos>,
    pub(crate) keepalive_probes: u32,
    pub(crate) rcv_tstamp: Nanos,
    /// A process is inside a system call on this socket (`lock_sock()`:
    /// `sk_lock.owned`); segments that arrive meanwhile wait in `backlog`.
    pub(crate) owned: bool,
    /// The socket backlog (`sk_backlog`), processed by `release_sock()`.
    pub(crate) backlog: VecDeque<input::Incoming>,
}

impl TcpSock {
    /// `tcp_bound_to_half_wnd()`: a segment is never more than half the
    /// largest window the peer has offered, so a window that has half
    /// closed can still take one (this is why Linux on loopback shows an
    /// `mss` of about 32 KiB in `ss -i`).
    pub(crate) fn size_goal(&self) -> u32 {
        let cutoff = if self.max_window > TCP_MSS_DEFAULT {
            self.max_window / 2
        } else {
            self.max_window
        };
        if cutoff > 0 && self.mss > cutoff {
            cutoff.max(48)
        } else {
            self.mss
        }
    }

    /// Records the peer's window.
    pub(crate) fn set_snd_wnd(&mut self, wnd: u32) {
        self.snd_wnd = wnd;
        self.max_window = self.max_window.max(wnd);
    }

    pub(crate) fn new(iss: u32) -> TcpSock {
        TcpSock {
            iss,
            snd_una: iss,
            snd_nxt: iss,
            write_seq: iss,
            snd_wnd: 0,
            max_window: 0,
            snd_wl1: 0,
            rcv_nxt: 0,
            copied_seq: 0,
            rcv_wnd: 0,
            rcv_wup: 0,
            snd_wscale: 0,
            sack_ok: false,
            ts: timestamps::Timestamps::default(),
            chrono: chrono::Chrono::default(),
            rx_sack: sack::RxSack::default(),
            rcv_wscale: 0,
            mss: TCP_MSS_DEFAULT,
            rcv_mss: TCP_MSS_DEFAULT,
            cwnd: TCP_INIT_CWND,
            ssthresh: u32::MAX,
            cc: cong::Cong::default(),
            sb: recovery::Scoreboard::default(),
            rcvq_space: Default::default(),
            rcv_rtt: Default::default(),
            scaling_ratio: window::TCP_DEFAULT_SCALING_RATIO,
            // No limits until a SYN or SYN-ACK sets them.
            window_clamp: u32::MAX,
            rcv_ssthresh: u32::MAX,
            advmss: TCP_MSS_DEFAULT,
            srtt: None,
            rttvar: 0,
            mdev_us: 0,
            mdev_max: 0,
            rttvar_us: 0,
            rtt_seq: 0,
            rto: TCP_TIMEOUT_INIT,
            retransmits: 0,
            retrans_stamp: None,
            write_queue: VecDeque::new(),
            wmem_queued: 0,
            ofo: BTreeMap::new(),
            rto_at: None,
            tlp: Default::default(),
            tw_at: None,
            fin_rcvd: false,
            last_overflow: None,
            last_oow_ack_time: None,
            max_ack_backlog: 0,
            queues: Default::default(),
            parent: None,
            nodelay: false,
            opts: Default::default(),
            segs_out: 0,
            segs_in: 0,
            owned: false,
            backlog: VecDeque::new(),
            delack_at: None,
            quick: 0,
            ack_sched: false,
            ato: 0,
            lrcvtime: 0,
            pingpong: 0,
            ack_pushed: false,
            ack_pushed2: false,
            snd_sml: iss,
            dupacks: 0,
            recover: None,
            probe_at: None,
            probes_out: 0,
            keepalive_at: None,
            keepalive_probes: 0,
            rcv_tstamp: 0,
        }
    }
}

/// A namespace's TCP socket tables (`tcp_hashinfo`).
#[derive(Debug, Default)]
pub(crate) struct TcpTable {
    /// Connected sockets by (local, remote): `ehash`.
    pub(crate) ehash: BTreeMap<(SocketAddr, SocketAddr), SockId>,
    /// Listening sockets by port: `lhash2`.
    pub(crate) listeners: BTreeMap<u16, Vec<SockId>>,
    /// Every socket holding a local port, TIME_WAIT ones included: `bhash`.
    pub(crate) bound: BTreeMap<u16, std::collections::BTreeSet<SockId>>,
}
