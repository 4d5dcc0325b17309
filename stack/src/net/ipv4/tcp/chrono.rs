//! Where a sender's time goes (`tcp_chrono_start()`, `tcp_chrono_stop()`
//! in `net/ipv4/tcp_output.c`, `enum tcp_chrono` in `include/net/tcp.h`):
//! busy (data queued or in flight), or held back by the peer's receive
//! window. `getsockopt(TCP_INFO)` reports the totals as `tcpi_busy_time`
//! (all of it) and `tcpi_rwnd_limited`.
//!
//! One state at a time, the more specific winning: a window-limited
//! sender is not counted busy as well, and its time goes back to busy when
//! the window opens. The state starts when data is queued on an empty
//! write queue (`tcp_add_write_queue_tail()`), becomes window-limited when
//! `tcp_write_xmit()` stops for the peer's window, and ends when the last
//! byte is acknowledged.
//!
//! Simplified: time held back by a full send buffer
//! (`TCP_CHRONO_SNDBUF_LIMITED`) is counted as busy, so `tcpi_busy_time`
//! is right but `tcpi_sndbuf_limited` is not reported; Linux counts in
//! jiffies, the simulation in nanoseconds.

use crate::sim::time::Nanos;

/// `enum tcp_chrono`, in the order that decides which one wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ChronoType {
    /// Nothing to send (`TCP_CHRONO_UNSPEC`).
    #[default]
    Unspec,
    /// Data queued or in flight (`TCP_CHRONO_BUSY`).
    Busy,
    /// Stalled by the peer's receive window (`TCP_CHRONO_RWND_LIMITED`).
    RwndLimited,
}

/// A connection's chrono: the state now, since when, and the time spent
/// in each state before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Chrono {
    kind: ChronoType,
    start: Nanos,
    /// `chrono_stat[]`: time in `Busy` and in `RwndLimited`.
    stat: [Nanos; 2],
}

impl Chrono {
    /// `tcp_chrono_set()`: close the running state's account.
    fn set(&mut self, kind: ChronoType, now: Nanos) {
        if let Some(i) = slot(self.kind) {
            self.stat[i] += now.saturating_sub(self.start);
        }
        self.kind = kind;
        self.start = now;
    }

    /// `tcp_chrono_start()`: enter `kind` unless a more specific state runs.
    pub(crate) fn start(&mut self, kind: ChronoType, now: Nanos) {
        if kind > self.kind {
            self.set(kind, now);
        }
    }

    /// `tcp_chrono_stop()`: with nothing queued or in flight, stop
    /// counting; otherwise leaving `kind` means being busy again.
    pub(crate) fn stop(&mut self, kind: ChronoType, queues_empty: bool, now: Nanos) {
        if queues_empty {
            self.set(ChronoType::Unspec, now);
        } else if kind == self.kind {
            self.set(ChronoType::Busy, now);
        }
    }

    /// Time spent busy (window-limited time included) and window-limited,
    /// up to `now` (`tcp_get_info_chrono_stats()`).
    pub(crate) fn totals(&self, now: Nanos) -> (Nanos, Nanos) {
        let mut stat = self.stat;
        if let Some(i) = slot(self.kind) {
            stat[i] += now.saturating_sub(self.start);
        }
        (stat[0] + stat[1], stat[1])
    }
}

fn slot(kind: ChronoType) -> Option<usize> {
    match kind {
        ChronoType::Unspec => None,
        ChronoType::Busy => Some(0),
        ChronoType::RwndLimited => Some(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limited_time_is_busy_time_too() {
        let mut c = Chrono::default();
        c.start(ChronoType::Busy, 10);
        c.start(ChronoType::RwndLimited, 10);
        c.start(ChronoType::Busy, 50);
        assert_eq!(c.totals(110), (100, 100), "busy does not displace rwnd");
        c.stop(ChronoType::RwndLimited, false, 210);
        c.stop(ChronoType::Busy, true, 240);
        assert_eq!(c.totals(1000), (230, 200), "stopped at 240");
        c.start(ChronoType::Busy, 1000);
        assert_eq!(c.totals(1010), (240, 200));
    }
}
