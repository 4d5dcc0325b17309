//! `/proc/net/softnet_stat`: one line per online CPU, fifteen `%08x`
//! columns, no header.
//!
//! Mirrors `softnet_seq_show()` in net/core/net-procfs.c (Linux 6.18). The
//! columns, in order:
//!
//! | # | what |
//! |---|------|
//! | 1 | `processed`: packets handled by `net_rx_action` |
//! | 2 | `dropped`: backlog full (`netdev_max_backlog`) |
//! | 3 | `time_squeeze`: `net_rx_action` ran out of budget or time |
//! | 4–8 | always 0 (were the fastroute counters) |
//! | 9 | always 0 (was `cpu_collision`) |
//! | 10 | `received_rps`: RPS IPIs this CPU received |
//! | 11 | `flow_limit_count`: drops by the RPS flow limit |
//! | 12 | backlog length: `input_pkt_queue` + `process_queue` |
//! | 13 | the CPU id, since offline CPUs leave gaps in the lines |
//! | 14 | `input_pkt_queue` length |
//! | 15 | `process_queue` length |
//!
//! Columns are added at the end and never reused, so old parsers keep
//! working; hence the zeros.

use std::fmt::Write as _;

use super::SoftnetRow;

/// Exactly what `cat /proc/net/softnet_stat` prints for these CPUs.
pub fn proc_net_softnet_stat(rows: &[SoftnetRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let process = r.process_qlen.min(r.backlog_len);
        let input = r.backlog_len - process;
        let _ = writeln!(
            out,
            "{:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x}",
            r.processed,
            r.dropped,
            r.time_squeeze,
            0,
            0,
            0,
            0,
            0,
            0,
            r.received_rps,
            r.flow_limit_count,
            r.backlog_len,
            r.cpu,
            input,
            process
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_hex_columns_with_cpu_in_thirteenth() {
        let rows = [SoftnetRow {
            cpu: 1,
            processed: 0x44a,
            dropped: 2,
            backlog_len: 5,
            process_qlen: 1,
            ..Default::default()
        }];
        assert_eq!(
            proc_net_softnet_stat(&rows),
            "0000044a 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000005 00000001 00000004 00000001\n"
        );
    }
}
