//! Virtual time. The simulation never reads a wall clock: time is a count of
//! nanoseconds that only moves when the event loop takes the next event, so
//! every run of the same program sees the same instants.
//!
//! The kernel keeps time in jiffies (`HZ` = 1000 on most distributions) and
//! nanoseconds (`ktime_t`); the simulation uses nanoseconds throughout and
//! converts where a tool prints jiffies or milliseconds.

/// Nanoseconds of virtual time since the simulation started.
pub type Nanos = u64;

/// `n` nanoseconds.
pub const fn ns(n: u64) -> Nanos {
    n
}

/// `n` microseconds.
pub const fn us(n: u64) -> Nanos {
    n * 1_000
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Nanos {
    n * 1_000_000
}

/// `n` seconds.
pub const fn secs(n: u64) -> Nanos {
    n * 1_000_000_000
}

/// Formats a virtual instant as seconds with microsecond digits, the way
/// `tcpdump -ttt`-style timelines and `dmesg` print time: `0.000123`.
pub fn fmt_instant(t: Nanos) -> String {
    format!("{}.{:06}", t / 1_000_000_000, (t % 1_000_000_000) / 1_000)
}

/// Formats a duration for humans: `850ns`, `12.5us`, `3.2ms`, `1.5s`.
pub fn fmt_duration(d: Nanos) -> String {
    if d < 1_000 {
        format!("{d}ns")
    } else if d < 1_000_000 {
        trim_unit(d as f64 / 1e3, "us")
    } else if d < 1_000_000_000 {
        trim_unit(d as f64 / 1e6, "ms")
    } else {
        trim_unit(d as f64 / 1e9, "s")
    }
}

fn trim_unit(v: f64, unit: &str) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    format!("{s}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_formats() {
        assert_eq!(us(3), 3_000);
        assert_eq!(ms(2), 2_000_000);
        assert_eq!(secs(1), 1_000_000_000);
        assert_eq!(fmt_instant(ms(1500) + us(7)), "1.500007");
        assert_eq!(fmt_duration(850), "850ns");
        assert_eq!(fmt_duration(us(12) + 500), "12.5us");
        assert_eq!(fmt_duration(ms(3)), "3ms");
        assert_eq!(fmt_duration(secs(60)), "60s");
    }
}
