//! Hidden: the client side's edge cases and the resets of RFC 5961.

mod common;
use common::*;

lab_receipt::graded! {
    fn a_reset_in_the_window_but_not_at_rcv_nxt_gets_a_challenge_ack() {
        script(1000, &format!("{CLIENT_EST}
            < R seq=5002
            > . seq=1001 ack=5001
            state ESTABLISHED
            < R seq=5000
            state ESTABLISHED
            < R seq=900000
            state ESTABLISHED
            error none
            < R seq=5001
            state CLOSE
            error ECONNRESET
        "));
    }

    fn resets_without_a_valid_ack_do_not_refuse_a_connection() {
        script(1000, "
            connect
            > S seq=1000
            < R seq=0
            state SYN_SENT
            < R. seq=0 ack=1000
            state SYN_SENT
            < R. seq=0 ack=1002
            state SYN_SENT
            error none
            < . seq=5000 ack=1001
            state SYN_SENT
            < R. seq=0 ack=1001
            error ECONNREFUSED
        ");
    }

    fn a_syn_crossing_ours_is_a_simultaneous_open() {
        script(1000, "
            connect
            > S seq=1000
            < S seq=5000
            > S. seq=1000 ack=5001
            state SYN_RECV
            < . seq=5001 ack=1001
            state ESTABLISHED
        ");
        script(1000, "
            connect
            > S seq=1000
            < S seq=5000
            > S. seq=1000 ack=5001
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            state ESTABLISHED
        ");
    }

    fn a_syn_inside_a_connection_gets_a_challenge_ack() {
        script(1000, &format!("{CLIENT_EST}
            < S seq=7000
            > . seq=1001 ack=5001
            state ESTABLISHED
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            state ESTABLISHED
        "));
    }

    fn a_segment_outside_the_window_gets_a_duplicate_ack() {
        script(1000, &format!("{CLIENT_EST}
            < P. seq=4000 ack=1001 len=10
            > . seq=1001 ack=5001
            < P. seq=200000 ack=1001 len=10
            > . seq=1001 ack=5001
            < P. seq=5001 ack=1001 len=10
            > . seq=1001 ack=5011
            read 10
        "));
    }

    fn wrap_around_sequence_numbers_work() {
        script(4294967295, "
            connect
            > S seq=4294967295
            < S. seq=4294967290 ack=0
            > . seq=0 ack=4294967291
            state ESTABLISHED
            < P. seq=4294967291 ack=0 len=10
            > . seq=0 ack=5
            < R seq=5
            error ECONNRESET
        ");
    }
}
