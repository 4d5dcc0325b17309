//! One connection that runs your decisions ([`crate::tcp_state`]): the
//! given part of the lab, what the stack does with a verdict, on one
//! connection with no I/O. The tests drive it with scripts; a segment, a
//! call or a timer goes in, the segments we send come out.
//!
//! It keeps the sequence space ([`Tcb`]), the state, the error (`sk_err`),
//! how many received bytes the process has not read, whether the socket
//! is an orphan, and one timer. We never send data; the peer may. Our SYN
//! and our FIN each take one sequence number. A request (`SYN_RECV`
//! reached from `LISTEN`) is a full connection here, where Linux keeps a
//! small `request_sock`.

use crate::tcp_state::{
    inet_listen, retransmits_timed_out, tcp_ack, tcp_check_req, tcp_close, tcp_connect, tcp_fin,
    tcp_fin_acked, tcp_listen_state_process, tcp_rcv_data_state, tcp_rcv_synsent_state_process,
    tcp_reset_errno, tcp_shutdown, tcp_syn_timeout, tcp_timewait_state_process, tcp_v4_send_reset,
    tcp_validate_incoming,
};
use crate::{
    ACK, AckCheck, CheckReqSeg, Close, Config, DataCheck, Errno, FIN, Listen, Nanos, RST, SYN,
    Segment, Shutdown, SynSent, TCP_CLOSE, TCP_ESTABLISHED, TCP_FIN_WAIT2, TCP_LISTEN,
    TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT, Tcb, TimeWait, Validate,
};
use stack::inet::tcp::TCP_TIMEWAIT_LEN;

/// One connection (`struct tcp_sock` as far as set-up and tear-down go).
#[derive(Clone, Debug)]
pub struct TcpConn {
    cfg: Config,
    state: u8,
    err: Option<Errno>,
    tcb: Tcb,
    unread: u32,
    /// `SOCK_DEAD`: `close()` was called.
    orphan: bool,
    /// `SYN_RECV` reached from `LISTEN` (a request sock), not by a
    /// simultaneous open.
    request: bool,
    /// SYN or SYN-ACK retransmissions so far.
    retrans: u32,
    timer_at: Option<Nanos>,
}

impl TcpConn {
    /// A socket in `CLOSE` that will use `iss` as its initial sequence
    /// number.
    pub fn new(iss: u32, cfg: Config) -> TcpConn {
        TcpConn {
            cfg,
            state: TCP_CLOSE,
            err: None,
            tcb: Tcb {
                iss,
                snd_una: iss,
                snd_nxt: iss,
                rcv_wnd: cfg.rcv_wnd,
                ..Tcb::default()
            },
            unread: 0,
            orphan: false,
            request: false,
            retrans: 0,
            timer_at: None,
        }
    }

    /// The state, as the kernel numbers it (`TCP_ESTABLISHED`, …).
    pub fn state(&self) -> u8 {
        self.state
    }

    /// The error a reset or a timeout left (`sk_err`): what the process's
    /// next call would return.
    pub fn error(&self) -> Option<Errno> {
        self.err
    }

    /// When the armed timer fires, if one is armed.
    pub fn next_timer(&self) -> Option<Nanos> {
        self.timer_at
    }

    /// The sequence space.
    pub fn tcb(&self) -> Tcb {
        self.tcb
    }

    /// `connect()`.
    pub fn connect(&mut self, now: Nanos) -> Result<Vec<Segment>, Errno> {
        tcp_connect(self.state)?;
        self.state = TCP_SYN_SENT;
        let iss = self.tcb.iss;
        self.tcb.snd_una = iss;
        self.tcb.snd_nxt = iss.wrapping_add(1);
        self.retrans = 0;
        self.err = None;
        self.timer_at = Some(now + tcp_syn_timeout(0));
        Ok(vec![Segment::new(SYN, iss, 0)])
    }

    /// `listen()`.
    pub fn listen(&mut self) -> Result<(), Errno> {
        inet_listen(self.state)?;
        self.state = TCP_LISTEN;
        Ok(())
    }

    /// `close()`.
    pub fn close(&mut self, now: Nanos) -> Vec<Segment> {
        self.orphan = true;
        match tcp_close(self.state, self.unread) {
            Close::Done => {
                self.done();
                Vec::new()
            }
            Close::Reset => {
                // tcp_send_active_reset(): TCPAbortOnClose.
                let rst = Segment::new(RST | ACK, self.tcb.snd_nxt, self.tcb.rcv_nxt);
                self.done();
                vec![rst]
            }
            Close::FinTimeout => {
                self.timer_at = Some(now + self.cfg.fin_timeout);
                Vec::new()
            }
            Close::State(next, fin) => self.close_state(next, fin),
        }
    }

    /// `shutdown(fd, SHUT_WR)`.
    pub fn shutdown_write(&mut self, _now: Nanos) -> Result<Vec<Segment>, Errno> {
        Ok(match tcp_shutdown(self.state)? {
            Shutdown::Disconnect => {
                self.done();
                self.err = Some(Errno::ECONNRESET);
                Vec::new()
            }
            Shutdown::Fin(next) => self.close_state(next, true),
            Shutdown::Nothing => Vec::new(),
        })
    }

    /// The process reads everything received; returns how many bytes.
    pub fn read(&mut self) -> u32 {
        std::mem::take(&mut self.unread)
    }

    /// A segment arrives at `now`; returns what we send in answer.
    pub fn segment(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match self.state {
            TCP_CLOSE => reply_reset(seg),
            TCP_LISTEN => self.listen_rcv(seg, now),
            TCP_SYN_SENT => self.synsent_rcv(seg),
            TCP_TIME_WAIT => self.timewait_rcv(seg, now),
            TCP_SYN_RECV if self.request => self.check_req(seg, now),
            _ => self.synchronized_rcv(seg, now),
        }
    }

    /// The timer fired (or `now` is past it): do what is due.
    pub fn timer(&mut self, now: Nanos) -> Vec<Segment> {
        match self.timer_at {
            Some(at) if at <= now => {}
            _ => return Vec::new(),
        }
        self.timer_at = None;
        match self.state {
            TCP_SYN_SENT | TCP_SYN_RECV => {
                let limit = if self.request {
                    self.cfg.synack_retries
                } else {
                    self.cfg.syn_retries
                };
                if retransmits_timed_out(self.retrans, limit) {
                    if !self.request {
                        self.err = Some(Errno::ETIMEDOUT);
                    }
                    self.done();
                    return Vec::new();
                }
                self.retrans += 1;
                self.timer_at = Some(now + tcp_syn_timeout(self.retrans));
                if self.state == TCP_SYN_SENT {
                    vec![Segment::new(SYN, self.tcb.iss, 0)]
                } else {
                    vec![self.synack()]
                }
            }
            TCP_FIN_WAIT2 | TCP_TIME_WAIT => {
                self.done();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// `tcp_done()`: `CLOSE`, no timer.
    fn done(&mut self) {
        self.state = TCP_CLOSE;
        self.timer_at = None;
    }

    /// `tcp_reset()`: the peer reset the connection.
    fn reset(&mut self) {
        self.err = Some(tcp_reset_errno(self.state));
        self.done();
    }

    fn ack(&self) -> Segment {
        Segment::new(ACK, self.tcb.snd_nxt, self.tcb.rcv_nxt)
    }

    fn synack(&self) -> Segment {
        Segment::new(SYN | ACK, self.tcb.iss, self.tcb.rcv_nxt)
    }

    /// `tcp_set_state()` to `next`, and `tcp_send_fin()` if `fin`.
    fn close_state(&mut self, next: u8, fin: bool) -> Vec<Segment> {
        if !fin {
            if next == TCP_CLOSE {
                self.done();
            } else {
                self.state = next;
            }
            return Vec::new();
        }
        self.state = next;
        self.timer_at = None;
        let seg = Segment::new(FIN | ACK, self.tcb.snd_nxt, self.tcb.rcv_nxt);
        self.tcb.snd_nxt = self.tcb.snd_nxt.wrapping_add(1);
        vec![seg]
    }

    fn time_wait(&mut self, now: Nanos) {
        self.state = TCP_TIME_WAIT;
        self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
    }

    /// The peer's initial sequence number is `seq`.
    fn synchronize(&mut self, seq: u32) {
        self.tcb.irs = seq;
        self.tcb.rcv_nxt = seq.wrapping_add(1);
        self.tcb.rcv_wup = self.tcb.rcv_nxt;
    }

    fn listen_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match tcp_listen_state_process(seg) {
            Listen::Reset => reply_reset(seg),
            Listen::Drop => Vec::new(),
            Listen::Request => {
                self.state = TCP_SYN_RECV;
                self.request = true;
                self.synchronize(seg.seq);
                self.tcb.snd_una = self.tcb.iss;
                self.tcb.snd_nxt = self.tcb.iss.wrapping_add(1);
                self.retrans = 0;
                self.timer_at = Some(now + tcp_syn_timeout(0));
                vec![self.synack()]
            }
        }
    }

    fn synsent_rcv(&mut self, seg: &Segment) -> Vec<Segment> {
        match tcp_rcv_synsent_state_process(&self.tcb, seg) {
            SynSent::Reset => reply_reset(seg),
            SynSent::Refused => {
                self.reset();
                Vec::new()
            }
            SynSent::Drop => Vec::new(),
            SynSent::Established => {
                self.synchronize(seg.seq);
                self.tcb.snd_una = seg.ack;
                self.state = TCP_ESTABLISHED;
                self.timer_at = None;
                vec![self.ack()]
            }
            SynSent::SimultaneousOpen => {
                // The retransmission timer keeps running, and now resends
                // the SYN-ACK.
                self.synchronize(seg.seq);
                self.state = TCP_SYN_RECV;
                vec![self.synack()]
            }
        }
    }

    fn check_req(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match tcp_check_req(&self.tcb, seg) {
            CheckReqSeg::ResendSynAck => {
                // Re-armed from now with the current backoff.
                self.timer_at = Some(now + tcp_syn_timeout(self.retrans));
                vec![self.synack()]
            }
            CheckReqSeg::Reset => reply_reset(seg),
            CheckReqSeg::Ack => vec![self.ack()],
            CheckReqSeg::Drop => Vec::new(),
            CheckReqSeg::Embryonic { reset } => {
                self.done();
                if reset { reply_reset(seg) } else { Vec::new() }
            }
            CheckReqSeg::Child => {
                self.tcb.snd_una = seg.ack;
                self.state = TCP_ESTABLISHED;
                self.request = false;
                self.timer_at = None;
                self.data_rcv(seg, now)
            }
        }
    }

    fn synchronized_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match tcp_validate_incoming(self.state, &self.tcb, seg) {
            Validate::Accept => {}
            Validate::DupAck | Validate::ChallengeAck => return vec![self.ack()],
            Validate::Reset => {
                self.reset();
                return Vec::new();
            }
            Validate::Drop => return Vec::new(),
        }
        match tcp_ack(self.state, &self.tcb, seg) {
            AckCheck::Accept => {}
            AckCheck::Established => {
                self.state = TCP_ESTABLISHED;
                self.timer_at = None;
            }
            AckCheck::Reset => return reply_reset(seg),
            AckCheck::ChallengeAck => return vec![self.ack()],
            AckCheck::Drop => return Vec::new(),
        }
        if after(seg.ack, self.tcb.snd_una) {
            self.tcb.snd_una = seg.ack;
        }
        if self.tcb.snd_una == self.tcb.snd_nxt {
            match tcp_fin_acked(self.state) {
                Some(TCP_FIN_WAIT2) => {
                    self.state = TCP_FIN_WAIT2;
                    if self.orphan {
                        // An orphan waits tcp_fin_timeout for the peer's FIN.
                        self.timer_at = Some(now + self.cfg.fin_timeout);
                    }
                }
                Some(TCP_TIME_WAIT) => {
                    self.time_wait(now);
                    return Vec::new();
                }
                Some(_) => {
                    self.done();
                    return Vec::new();
                }
                None => {}
            }
        }
        self.data_rcv(seg, now)
    }

    /// The segment's text and FIN (`tcp_data_queue()`, `tcp_fin()`).
    fn data_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        if seg.end_seq() == seg.seq {
            // A bare ACK: nothing to acknowledge.
            return Vec::new();
        }
        match tcp_rcv_data_state(self.state, &self.tcb, self.orphan, seg) {
            DataCheck::Queue => {}
            DataCheck::Drop => return Vec::new(),
            DataCheck::AbortOnData => {
                // Nobody will read it: TCPAbortOnData.
                self.done();
                self.err = Some(Errno::ECONNRESET);
                return reply_reset(seg);
            }
        }
        let rcv_nxt = self.tcb.rcv_nxt;
        if after(seg.seq, rcv_nxt) || !after(seg.end_seq(), rcv_nxt) {
            // Out of order (not kept here), or nothing new: a duplicate ACK.
            return vec![self.ack()];
        }
        let data_end = seg.seq.wrapping_add(seg.len);
        if after(data_end, rcv_nxt) {
            self.unread += data_end.wrapping_sub(rcv_nxt);
            self.tcb.rcv_nxt = data_end;
        }
        if seg.has(FIN) {
            self.tcb.rcv_nxt = self.tcb.rcv_nxt.wrapping_add(1);
            match tcp_fin(self.state) {
                TCP_TIME_WAIT => self.time_wait(now),
                next => self.state = next,
            }
        }
        // Every segment is acknowledged at once here (no delayed ACK).
        self.tcb.rcv_wup = self.tcb.rcv_nxt;
        vec![self.ack()]
    }

    fn timewait_rcv(&mut self, seg: &Segment, now: Nanos) -> Vec<Segment> {
        match tcp_timewait_state_process(&self.tcb, seg) {
            TimeWait::Kill | TimeWait::NewSyn => {
                self.done();
                Vec::new()
            }
            TimeWait::Rearm => {
                self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
                Vec::new()
            }
            TimeWait::AckRearm => {
                self.timer_at = Some(now + TCP_TIMEWAIT_LEN);
                vec![self.ack()]
            }
            TimeWait::Ack => vec![self.ack()],
            TimeWait::Drop => Vec::new(),
        }
    }
}

/// The reset [`tcp_v4_send_reset`] answers `seg` with, if any.
fn reply_reset(seg: &Segment) -> Vec<Segment> {
    tcp_v4_send_reset(seg).into_iter().collect()
}

/// `after(a, b)`: `a` comes after `b` in sequence space (modulo 2^32).
fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}
