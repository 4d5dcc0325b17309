//! The client side of the handshake (`tcp_connect`,
//! `tcp_rcv_synsent_state_process`) and the resets it meets.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn connect_sends_a_syn_and_a_syn_ack_establishes() {
        script(1000, "
            state CLOSE
            connect
            > S seq=1000
            state SYN_SENT
            timer 1
            at 0.002
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            state ESTABLISHED
            timer none
            error none
        ");
    }

    fn a_reset_answering_the_syn_is_connection_refused() {
        script(1000, "
            connect
            > S seq=1000
            < R. seq=0 ack=1001
            state CLOSE
            error ECONNREFUSED
            timer none
        ");
    }

    fn a_syn_ack_for_another_syn_is_answered_with_a_reset() {
        script(1000, "
            connect
            > S seq=1000
            < S. seq=5000 ack=4242
            > R seq=4242
            state SYN_SENT
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            state ESTABLISHED
        ");
    }

    fn connect_twice_is_ealready_then_eisconn() {
        script(1000, "
            connect
            > S seq=1000
            connect -> EALREADY
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            connect -> EISCONN
        ");
    }

    fn a_closed_port_answers_with_a_reset() {
        script(1000, "
            < S seq=100
            > R. seq=0 ack=101
            < . seq=7 ack=99
            > R seq=99
            < R seq=7
            state CLOSE
        ");
    }

    fn a_reset_at_rcv_nxt_resets_an_established_connection() {
        script(1000, &format!("{CLIENT_EST}
            < R seq=5001
            state CLOSE
            error ECONNRESET
        "));
    }
}
