//! The receive window as Linux 6.6 and later size it (`tcp_output.c`:
//! `tcp_select_initial_window()`; `tcp_input.c`: `tcp_init_buffer_space()`,
//! `tcp_measure_rcv_mss()`, `tcp_grow_window()`; `tcp.c`:
//! `tcp_set_window_clamp()`; `include/net/tcp.h`: `tcp_win_from_space()`).
//!
//! A receive buffer holds more than payload: each `sk_buff` costs its
//! truesize. The share of the buffer offered as window is the
//! `scaling_ratio`, in 1/256ths: one half until data arrives, then the
//! payload over the truesize of the last segment larger than any before
//! (about 5/8 for 1448-byte segments in 2304-byte buffers, nearly all
//! for loopback's large ones). This replaced `tcp_adv_win_scale` in 6.6.
//!
//! Three limits stack up. `window_clamp` is the most the window may ever
//! be: the buffer's share, less one segment kept in reserve at first
//! (`tcp_init_buffer_space()`), following the buffer as it grows.
//! `rcv_ssthresh` is where the window is now allowed to reach: it starts
//! at the window of the SYN or SYN-ACK (the buffer's share rounded down
//! to whole segments, 64240 on Ethernet for a connect, 65160 for a
//! listener with timestamps, 65495 on loopback), and each well-filled
//! segment raises it by two segments (`tcp_grow_window()`), up to the
//! clamp and the free space; a sender with a poor payload-to-truesize
//! ratio earns less. The free space itself is the buffer's share of what
//! is not yet queued (`tcp_space()`).
//!
//! Simplified: no memory pressure (`tcp_under_memory_pressure()`), no
//! `sk_reserved_mem`, and a segment's truesize is the whole buffer the
//! simulation gave it (the kernel lets drivers that hold frames in page
//! fragments count less, `truesize_adjust()`).

use crate::kernel::ids::SockId;
use crate::kernel::world::World;

use super::TcpSock;

/// `TCP_RMEM_TO_WIN_SCALE`: the ratio is in 1/256ths.
const TCP_RMEM_TO_WIN_SCALE: u32 = 8;
/// `TCP_DEFAULT_SCALING_RATIO`: one half, until data says otherwise.
pub(crate) const TCP_DEFAULT_SCALING_RATIO: u8 = 1 << (TCP_RMEM_TO_WIN_SCALE - 1);
/// `SOCK_MIN_RCVBUF / 2`: the smallest window clamp.
const MIN_WINDOW_CLAMP: u32 = 2304;
/// `U16_MAX << TCP_MAX_WSCALE`: the largest window there is.
const MAX_WINDOW: u32 = 65535 << 14;

/// `__tcp_win_from_space()`: the window a buffer of `space` bytes offers.
pub(crate) fn win_from_space(ratio: u8, space: u32) -> u32 {
    ((u64::from(space) * u64::from(ratio)) >> TCP_RMEM_TO_WIN_SCALE) as u32
}

/// `__tcp_space_from_win()`: the buffer a window of `win` bytes needs.
pub(crate) fn space_from_win(ratio: u8, win: u64) -> u64 {
    (win << TCP_RMEM_TO_WIN_SCALE) / u64::from(ratio.max(1))
}

/// What `tcp_select_initial_window()` decides for a SYN or SYN-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InitialWindow {
    /// The window offered (the SYN carries at most 65535 of it).
    pub(crate) rcv_wnd: u32,
    pub(crate) window_clamp: u32,
}

/// `tcp_select_initial_window()`: the buffer's share (`space`), at most
/// the clamp (0: none; a process that sized its buffer clamps to it),
/// rounded down to whole segments of `mss`.
pub(crate) fn tcp_select_initial_window(
    space: u32,
    mss: u32,
    clamp: u32,
    wscale: u8,
) -> InitialWindow {
    let clamp = if clamp == 0 { MAX_WINDOW } else { clamp };
    let mut space = space.min(clamp);
    if space > mss && mss > 0 {
        space -= space % mss;
    }
    InitialWindow {
        rcv_wnd: space,
        window_clamp: clamp.min(65535 << wscale),
    }
}

impl TcpSock {
    /// `tcp_win_from_space()` at this connection's ratio.
    pub(crate) fn win_from_space(&self, space: u32) -> u32 {
        win_from_space(self.scaling_ratio, space)
    }

    /// `tcp_set_window_clamp()`: a lower clamp lowers `rcv_ssthresh`
    /// with it, a higher one lets it reach the window already offered.
    fn tcp_set_window_clamp(&mut self, val: u32) {
        let new = val.max(MIN_WINDOW_CLAMP);
        let old = self.window_clamp;
        if new == old {
            return;
        }
        self.window_clamp = new;
        if new < old {
            self.rcv_ssthresh = self.rcv_ssthresh.min(new);
        } else {
            self.rcv_ssthresh = self.rcv_ssthresh.max(self.rcv_wnd.min(new));
        }
    }

    /// The part of `tcp_measure_rcv_mss()` that learns the payload share:
    /// a segment longer than any before sets the ratio from its truesize,
    /// and the clamp follows.
    pub(crate) fn tcp_measure_scaling_ratio(&mut self, len: u32, truesize: u32, rcvbuf: u32) {
        if len <= self.rcv_mss || truesize == 0 {
            return;
        }
        let ratio = ((u64::from(len) << TCP_RMEM_TO_WIN_SCALE) / u64::from(truesize)).clamp(1, 255);
        let old = self.scaling_ratio;
        self.scaling_ratio = ratio as u8;
        if old != self.scaling_ratio {
            let clamp = self.win_from_space(rcvbuf);
            self.tcp_set_window_clamp(clamp);
            self.rcvq_space.space = self.rcvq_space.space.min(self.window_clamp);
        }
    }

    /// `tcp_grow_window()`: a segment whose payload is a fair share of its
    /// truesize raises `rcv_ssthresh` by two segments (or twice its
    /// length), within the clamp and the free space; a poor one earns
    /// two segments only while `rcv_ssthresh` is small against
    /// `tcp_rmem[2]`, halving the bar each step (`__tcp_grow_window()`).
    pub(crate) fn tcp_grow_window(
        &mut self,
        len: u32,
        truesize: u32,
        free: u32,
        rmem2: u32,
        advmss: u32,
    ) {
        let room = self.window_clamp.min(free) as i64 - i64::from(self.rcv_ssthresh);
        if room <= 0 {
            return;
        }
        let incr = if self.win_from_space(truesize) <= len {
            2 * advmss
        } else {
            let mut truesize = self.win_from_space(truesize) >> 1;
            let mut window = self.win_from_space(rmem2) >> 1;
            let mut incr = 0;
            while self.rcv_ssthresh <= window {
                if truesize <= len {
                    incr = 2 * self.rcv_mss;
                    break;
                }
                truesize >>= 1;
                window >>= 1;
            }
            incr
        };
        if incr > 0 {
            let incr = incr.max(2 * len);
            self.rcv_ssthresh += (room as u32).min(incr);
            self.quick |= 1;
        }
    }
}

impl World {
    /// `tcp_full_space()`: the window the whole receive buffer offers.
    pub(crate) fn tcp_full_space(&self, sk: SockId) -> u32 {
        self.tp(sk).win_from_space(self.sk(sk).rcvbuf())
    }

    /// `tcp_space()`: the window the free part of the buffer offers.
    pub(crate) fn tcp_space(&self, sk: SockId) -> u32 {
        let s = self.sk(sk);
        self.tp(sk)
            .win_from_space(s.rcvbuf().saturating_sub(s.rmem_alloc()))
    }

    /// The window clamp a socket starts from: none, or the buffer's share
    /// when the process sized the buffer (`tcp_connect_init()`,
    /// `tcp_openreq_init_rwin()`).
    pub(crate) fn tcp_initial_clamp(&self, sk: SockId) -> u32 {
        if self.sk(sk).rcvbuf_locked {
            self.tcp_full_space(sk)
        } else {
            0
        }
    }

    /// The window-clamp part of `tcp_init_buffer_space()`: the buffer's
    /// share, less one segment kept in reserve (`tcp_app_win`); and
    /// `rcv_ssthresh` within it.
    pub(crate) fn tcp_init_window_clamp(&mut self, sk: SockId, advmss: u32) {
        let maxwin = self.tcp_full_space(sk);
        let tp = self.tp_mut(sk);
        if tp.window_clamp >= maxwin {
            tp.window_clamp = maxwin;
        }
        if tp.window_clamp > 2 * advmss && tp.window_clamp + advmss > maxwin {
            tp.window_clamp = (2 * advmss).max(maxwin.saturating_sub(advmss));
        }
        tp.rcv_ssthresh = tp.rcv_ssthresh.min(tp.window_clamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_windows_are_whole_segments_of_the_buffers_half() {
        // 131072-byte buffer, half of it: Ethernet connect, listener with
        // timestamps, loopback.
        for (mss, want) in [(1460, 64240), (1448, 65160), (65495, 65495)] {
            let w = tcp_select_initial_window(65536, mss, 0, 10);
            assert_eq!(w.rcv_wnd, want, "mss {mss}");
        }
        let w = tcp_select_initial_window(65536, 1460, 0, 7);
        assert_eq!(w.window_clamp, 65535 << 7);
    }

    #[test]
    fn the_ratio_follows_the_payload_share() {
        let mut tp = TcpSock::new(0);
        tp.window_clamp = 64088;
        tp.rcv_ssthresh = 64088;
        tp.rcv_wnd = 65160;
        tp.rcv_mss = 536;
        tp.tcp_measure_scaling_ratio(1448, 2304, 131072);
        assert_eq!(tp.scaling_ratio, 160);
        assert_eq!(tp.window_clamp, 131072 * 160 / 256);
        // A larger clamp lets rcv_ssthresh reach the window offered.
        assert_eq!(tp.rcv_ssthresh, 65160);
    }

    #[test]
    fn well_filled_segments_grow_rcv_ssthresh_by_two_segments() {
        let mut tp = TcpSock::new(0);
        tp.scaling_ratio = 160;
        tp.window_clamp = 81920;
        tp.rcv_ssthresh = 64088;
        tp.rcv_mss = 1448;
        tp.tcp_grow_window(1448, 2304, 81920, 33_554_432, 1448);
        assert_eq!(tp.rcv_ssthresh, 64088 + 2896);
        // Never past the clamp.
        for _ in 0..20 {
            tp.tcp_grow_window(1448, 2304, 81920, 33_554_432, 1448);
        }
        assert_eq!(tp.rcv_ssthresh, 81920);
    }
}
