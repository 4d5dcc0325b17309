//! TCP's constants and sequence arithmetic (`include/net/tcp.h`,
//! `include/net/tcp_states.h`): the timeouts, retry limits and window
//! defaults the rest of TCP is tuned by, the state numbers, and
//! `before()`/`after()`.
//!
//! Kept apart from the TCP code (the kernel keeps them in headers), so
//! the parts a lab replaces, such as the listener's queues, can use them
//! without depending on the state machine.

use crate::sim::time::{Nanos, ms, secs};

pub use crate::observe::tools::{
    TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
    TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT,
};

/// `TCP_TIMEWAIT_LEN`: 60 s, fixed in the kernel.
pub const TCP_TIMEWAIT_LEN: Nanos = secs(60);
/// `TCP_TIMEOUT_INIT`: the first retransmission timeout, before any RTT
/// sample.
pub const TCP_TIMEOUT_INIT: Nanos = secs(1);
/// `TCP_RTO_MIN`.
pub const TCP_RTO_MIN: Nanos = ms(200);
/// `TCP_RTO_MAX`.
pub const TCP_RTO_MAX: Nanos = secs(120);
/// `TCP_INIT_CWND`.
pub const TCP_INIT_CWND: u32 = 10;
/// `tcp_synack_retries` default.
pub const TCP_SYNACK_RETRIES: u32 = 5;
/// `tcp_syn_retries` default.
pub const TCP_SYN_RETRIES: u32 = 6;
/// `tcp_retries2` default: retransmissions before an established
/// connection gives up with `ETIMEDOUT`.
pub const TCP_RETRIES2: u32 = 15;
/// `TCP_MSS_DEFAULT`: what a peer that sends no MSS option is assumed to take.
pub const TCP_MSS_DEFAULT: u32 = 536;
/// `TCP_MAX_QUICKACKS`: ACKs sent at once at the start of a connection
/// before delayed ACK takes over.
pub const TCP_MAX_QUICKACKS: u32 = 16;
/// `TCP_DELACK_MIN`: the shortest delayed-ACK timeout (`HZ/25`).
pub const TCP_DELACK_MIN: Nanos = ms(40);
/// `TCP_DELACK_MAX`: the longest delayed-ACK timeout (`HZ/5`).
pub const TCP_DELACK_MAX: Nanos = ms(200);
/// `TCP_ATO_MIN`: where `ato` starts and returns to (`HZ/25`).
pub const TCP_ATO_MIN: Nanos = ms(40);
/// `TCP_FASTRETRANS_THRESH`: duplicate ACKs that trigger fast retransmit.
pub const TCP_FASTRETRANS_THRESH: u32 = 3;
/// Bytes a queued segment costs the send buffer besides its payload (the
/// `sk_buff` and its head), a simplification of `sk_wmem_queued`.
pub const TX_SEG_OVERHEAD: u32 = 768;

/// The name of a TCP state, as the kernel's `tcp_state_names` and `ss`
/// spell them.
pub fn state_name(state: u8) -> &'static str {
    match state {
        TCP_ESTABLISHED => "ESTABLISHED",
        TCP_SYN_SENT => "SYN_SENT",
        TCP_SYN_RECV => "SYN_RECV",
        TCP_FIN_WAIT1 => "FIN_WAIT1",
        TCP_FIN_WAIT2 => "FIN_WAIT2",
        TCP_TIME_WAIT => "TIME_WAIT",
        TCP_CLOSE => "CLOSE",
        TCP_CLOSE_WAIT => "CLOSE_WAIT",
        TCP_LAST_ACK => "LAST_ACK",
        TCP_LISTEN => "LISTEN",
        TCP_CLOSING => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// `before(a, b)`: sequence number `a` comes before `b`, modulo 2^32.
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `after(a, b)`.
pub fn after(a: u32, b: u32) -> bool {
    before(b, a)
}
