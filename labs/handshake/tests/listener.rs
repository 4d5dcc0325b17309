//! The listener side: `LISTEN` answers a SYN, the request waits in
//! `SYN_RECV` for the final ACK (`tcp_conn_request`, `tcp_check_req`).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn a_syn_is_answered_and_the_final_ack_establishes() {
        script(5000, "
            listen
            state LISTEN
            < S seq=100
            > S. seq=5000 ack=101
            state SYN_RECV
            timer 1
            at 0.002
            < . seq=101 ack=5001
            state ESTABLISHED
            timer none
        ");
    }

    fn a_listener_resets_an_ack_and_ignores_a_reset() {
        script(5000, "
            listen
            < . seq=100 ack=777
            > R seq=777
            < R seq=100
            < R. seq=100 ack=1
            state LISTEN
        ");
    }

    fn a_final_ack_for_the_wrong_sequence_is_reset() {
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            < . seq=101 ack=5000
            > R seq=5000
            state SYN_RECV
            < . seq=101 ack=5001
            state ESTABLISHED
        ");
    }

    fn listen_only_from_close() {
        script(5000, &format!("{SERVER_EST}
            listen -> EINVAL
        "));
        script(5000, "
            listen
            listen
            connect -> EISCONN
            state LISTEN
        ");
    }
}
