//! `struct tcp_info` (`include/uapi/linux/tcp.h`) as `tcp_get_info()`
//! (`net/ipv4/tcp.c`) fills it for `getsockopt(fd, IPPROTO_TCP,
//! TCP_INFO)`: a connection's state, timers, congestion window and
//! counters, the numbers behind `ss -ti`.
//!
//! Only the fields the simulation models are here; [`TcpInfo::fields`]
//! names them as packetdrill's Python blocks do (`tcpi_snd_cwnd`), so a
//! script that reads a field the simulation does not model fails on the
//! name instead of reading a made-up value. Simplified: `tcpi_ca_state`
//! is derived from the stack's NewReno state (duplicate ACKs without SACK:
//! Disorder; fast recovery: Recovery; after a retransmission timeout,
//! until an ACK for new data: Loss); with SACK agreed the sender does not
//! read the blocks, so it never reports Disorder for them.

use crate::kernel::ids::SockId;
use crate::kernel::syscalls::{Process, SysResult};
use crate::kernel::world::World;
use crate::uapi::errno::Errno;
use crate::uapi::{IPPROTO_TCP, TCP_INFO};

/// `TCP_CA_Open`: nothing wrong.
pub const TCP_CA_OPEN: u8 = 0;
/// `TCP_CA_Disorder`: duplicate ACKs or SACKs seen.
pub const TCP_CA_DISORDER: u8 = 1;
/// `TCP_CA_CWR`: the window was reduced for ECN or a local drop.
pub const TCP_CA_CWR: u8 = 2;
/// `TCP_CA_Recovery`: fast retransmit and recovery.
pub const TCP_CA_RECOVERY: u8 = 3;
/// `TCP_CA_Loss`: after a retransmission timeout.
pub const TCP_CA_LOSS: u8 = 4;

/// `TCPI_OPT_TIMESTAMPS`: timestamps were negotiated.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
/// `TCPI_OPT_SACK`: SACK was negotiated.
pub const TCPI_OPT_SACK: u8 = 2;
/// `TCPI_OPT_WSCALE`: window scaling was negotiated.
pub const TCPI_OPT_WSCALE: u8 = 4;

/// The modelled part of `struct tcp_info`. Times are in microseconds
/// (`tcpi_rto`, `tcpi_rtt`, `tcpi_rttvar`) or milliseconds
/// (`tcpi_last_*`), as in the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_state`: `TCP_ESTABLISHED` (1) ... `TCP_CLOSING` (11).
    pub state: u8,
    /// `tcpi_ca_state`: `TCP_CA_OPEN` ... `TCP_CA_LOSS`.
    pub ca_state: u8,
    /// `tcpi_retransmits`: timeouts in a row for the oldest segment.
    pub retransmits: u8,
    /// `tcpi_probes`: zero-window or keepalive probes unanswered.
    pub probes: u8,
    /// `tcpi_backoff`: how many times the timeout has doubled.
    pub backoff: u8,
    /// `tcpi_options`: `TCPI_OPT_TIMESTAMPS`, `TCPI_OPT_SACK`,
    /// `TCPI_OPT_WSCALE`.
    pub options: u8,
    /// `tcpi_snd_wscale`.
    pub snd_wscale: u8,
    /// `tcpi_rcv_wscale`.
    pub rcv_wscale: u8,
    /// `tcpi_rto` (µs).
    pub rto: u32,
    /// `tcpi_snd_mss`: `mss_cache`.
    pub snd_mss: u32,
    /// `tcpi_rcv_mss`: the largest segment received, the receiver's guess.
    pub rcv_mss: u32,
    /// `tcpi_unacked`: segments sent and not acknowledged (`packets_out`).
    pub unacked: u32,
    /// `tcpi_retrans`: of those, retransmitted and not yet acknowledged or
    /// SACKed (`retrans_out`).
    pub retrans: u32,
    /// `tcpi_lost`: marked lost and not resent since (`lost_out`).
    pub lost: u32,
    /// `tcpi_sacked`: SACKed (`sacked_out`).
    pub sacked: u32,
    /// `tcpi_total_retrans`: segments retransmitted over the connection.
    pub total_retrans: u32,
    /// `tcpi_last_data_recv` (ms since data last arrived).
    pub last_data_recv: u32,
    /// `tcpi_last_ack_recv` (ms since an ACK last arrived).
    pub last_ack_recv: u32,
    /// `tcpi_rtt` (µs, the smoothed RTT).
    pub rtt: u32,
    /// `tcpi_rttvar` (µs).
    pub rttvar: u32,
    /// `tcpi_snd_ssthresh`; `TCP_INFINITE_SSTHRESH` (0x7fffffff) before
    /// the first loss.
    pub snd_ssthresh: u32,
    /// `tcpi_snd_cwnd` (segments).
    pub snd_cwnd: u32,
    /// `tcpi_advmss`: the MSS this end advertised.
    pub advmss: u32,
    /// `tcpi_reordering`: how far out of order segments may arrive, in
    /// segments (3, raised by reordering seen in SACKs).
    pub reordering: u32,
    /// `tcpi_rcv_space`: the reader's last per-RTT measure
    /// (`rcvq_space.space`).
    pub rcv_space: u32,
    /// `tcpi_rcv_rtt` (µs): the receiver's RTT estimate.
    pub rcv_rtt: u32,
    /// `tcpi_rcv_ssthresh`: where the offered window may reach now.
    pub rcv_ssthresh: u32,
    /// `tcpi_segs_out`.
    pub segs_out: u32,
    /// `tcpi_segs_in`.
    pub segs_in: u32,
    /// `tcpi_snd_wnd`: the peer's window.
    pub snd_wnd: u32,
    /// `tcpi_busy_time` (µs): time with data queued or in flight.
    pub busy_time: u64,
    /// `tcpi_rwnd_limited` (µs): of that, time the peer's window held
    /// data back.
    pub rwnd_limited: u64,
}

/// `TCP_INFINITE_SSTHRESH`.
const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

impl TcpInfo {
    /// Each field with the name packetdrill's Python blocks use.
    pub fn fields(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("tcpi_state", self.state.into()),
            ("tcpi_ca_state", self.ca_state.into()),
            ("tcpi_retransmits", self.retransmits.into()),
            ("tcpi_probes", self.probes.into()),
            ("tcpi_backoff", self.backoff.into()),
            ("tcpi_options", self.options.into()),
            ("tcpi_snd_wscale", self.snd_wscale.into()),
            ("tcpi_rcv_wscale", self.rcv_wscale.into()),
            ("tcpi_rto", self.rto.into()),
            ("tcpi_snd_mss", self.snd_mss.into()),
            ("tcpi_rcv_mss", self.rcv_mss.into()),
            ("tcpi_unacked", self.unacked.into()),
            ("tcpi_retrans", self.retrans.into()),
            ("tcpi_lost", self.lost.into()),
            ("tcpi_sacked", self.sacked.into()),
            ("tcpi_total_retrans", self.total_retrans.into()),
            ("tcpi_last_data_recv", self.last_data_recv.into()),
            ("tcpi_last_ack_recv", self.last_ack_recv.into()),
            ("tcpi_rtt", self.rtt.into()),
            ("tcpi_rttvar", self.rttvar.into()),
            ("tcpi_snd_ssthresh", self.snd_ssthresh.into()),
            ("tcpi_snd_cwnd", self.snd_cwnd.into()),
            ("tcpi_advmss", self.advmss.into()),
            ("tcpi_reordering", self.reordering.into()),
            ("tcpi_rcv_space", self.rcv_space.into()),
            ("tcpi_rcv_rtt", self.rcv_rtt.into()),
            ("tcpi_rcv_ssthresh", self.rcv_ssthresh.into()),
            ("tcpi_segs_out", self.segs_out.into()),
            ("tcpi_segs_in", self.segs_in.into()),
            ("tcpi_snd_wnd", self.snd_wnd.into()),
            ("tcpi_busy_time", self.busy_time),
            ("tcpi_rwnd_limited", self.rwnd_limited),
        ]
    }
}

impl World {
    /// `tcp_get_info()`; `advmss` is what the socket advertises
    /// (`tp->advmss`: the route's MSS, clamped by `TCP_MAXSEG`).
    pub(crate) fn tcp_get_info(&self, sk: SockId, advmss: u32) -> TcpInfo {
        let s = self.sk(sk);
        let tp = self.tp(sk);
        let now = self.now;
        let ms = |t: u64| (now.saturating_sub(t) / 1_000_000) as u32;
        let us = |t: u64| (t / 1_000) as u32;
        let ca_state = if tp.recover.is_some() {
            TCP_CA_RECOVERY
        } else if tp.retransmits > 0 || tp.sb.loss_high.is_some() {
            TCP_CA_LOSS
        } else if tp.sb.sacked_out > 0 || (tp.dupacks > 0 && !tp.sack_ok) {
            // SACKed segments, or for Reno duplicate ACKs (which it counts
            // as SACKed segments, sacked_out).
            TCP_CA_DISORDER
        } else {
            TCP_CA_OPEN
        };
        let sent: Vec<_> = tp
            .write_queue
            .iter()
            .filter(|x| x.sent_at.is_some() && x.seq != x.end_seq())
            .collect();
        let (busy, rwnd) = tp.chrono.totals(now);
        let mut options = 0;
        if tp.ts.ok {
            options |= TCPI_OPT_TIMESTAMPS;
        }
        if tp.sack_ok {
            options |= TCPI_OPT_SACK;
        }
        if tp.snd_wscale != 0 || tp.rcv_wscale != 0 {
            options |= TCPI_OPT_WSCALE;
        }
        TcpInfo {
            state: s.state,
            ca_state,
            retransmits: tp.retransmits.min(255) as u8,
            probes: (tp.probes_out + tp.keepalive_probes).min(255) as u8,
            backoff: tp.retransmits.min(255) as u8,
            options,
            snd_wscale: tp.snd_wscale,
            rcv_wscale: tp.rcv_wscale,
            rto: us(tp.rto),
            snd_mss: tp.mss,
            rcv_mss: tp.rcv_mss,
            unacked: sent.len() as u32,
            retrans: tp.sb.retrans_out,
            lost: tp.sb.lost_out,
            sacked: tp.sb.sacked_out,
            total_retrans: tp.sb.total_retrans,
            last_data_recv: ms(tp.lrcvtime),
            last_ack_recv: ms(tp.rcv_tstamp),
            rtt: tp.srtt.map_or(0, us),
            rttvar: us(tp.rttvar),
            snd_ssthresh: tp.ssthresh.min(TCP_INFINITE_SSTHRESH),
            snd_cwnd: tp.cwnd,
            advmss,
            reordering: tp.sb.reordering,
            rcv_space: tp.rcvq_space.space,
            rcv_rtt: tp.rcv_rtt.rtt_us >> 3,
            rcv_ssthresh: tp.rcv_ssthresh,
            segs_out: tp.segs_out as u32,
            segs_in: tp.segs_in as u32,
            snd_wnd: tp.snd_wnd,
            busy_time: busy / 1_000,
            rwnd_limited: rwnd / 1_000,
        }
    }

    fn sys_tcp_info(&mut self, pid: crate::kernel::ids::Pid, fd: i32) -> Result<TcpInfo, Errno> {
        let (_, sk) = self.sockfd_lookup(pid, fd)?;
        if self.sk(sk).tcp.is_none() {
            // What getsockopt() at IPPROTO_TCP says on this socket.
            let err = self.sys_getsockopt(pid, fd, IPPROTO_TCP, TCP_INFO).err();
            return Err(err.unwrap_or(Errno::EOPNOTSUPP));
        }
        let advmss = self.tcp_advmss(sk);
        Ok(self.tcp_get_info(sk, advmss))
    }

    /// `tp->advmss`: the MSS this end advertises, less the timestamp
    /// option when it is on (`tcp_rcv_synsent_state_process()`,
    /// `tcp_create_openreq_child()`).
    pub(crate) fn tcp_advmss(&mut self, sk: SockId) -> u32 {
        match self.sk(sk).daddr {
            Some(d) => {
                let ts = if self.tp(sk).ts.ok {
                    super::timestamps::TCPOLEN_TSTAMP_ALIGNED
                } else {
                    0
                };
                self.tcp_advertise_mss(sk, d).saturating_sub(ts)
            }
            None => self.tp(sk).mss,
        }
    }
}

impl Process {
    /// `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`: the connection's
    /// [`TcpInfo`]. `EBADF`, `ENOTSOCK`, and for a socket that is not TCP
    /// the errno its `getsockopt()` at `IPPROTO_TCP` gives.
    pub fn tcp_info(&self, fd: i32) -> SysResult<TcpInfo> {
        self.call(
            || format!("getsockopt({fd}, IPPROTO_TCP, TCP_INFO)"),
            |w| w.sys_tcp_info(self.pid, fd),
        )
    }
}
