//! Hidden: a request in `SYN_RECV` (`tcp_check_req`) and `LISTEN`'s edge
//! cases.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn a_retransmitted_syn_gets_the_syn_ack_again() {
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            at 0.5
            < S seq=100
            > S. seq=5000 ack=101
            timer 1.5
            state SYN_RECV
        ");
    }

    fn the_final_ack_may_carry_data_or_a_fin() {
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            < P. seq=101 ack=5001 len=5
            > . seq=5001 ack=106
            state ESTABLISHED
            read 5
        ");
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            state CLOSE_WAIT
        ");
    }


    fn a_request_checks_the_window_then_dies_of_a_reset_or_a_new_syn() {
        script(5000, "
            listen
            < SF seq=100
            < F seq=100
            < P seq=100 len=3
            state LISTEN
            < S seq=100
            > S. seq=5000 ack=101
            < . seq=101 ack=4000
            > R seq=4000
            < . seq=101 ack=5002
            > R seq=5002
            state SYN_RECV
            < . seq=900000 ack=5001
            > . seq=5001 ack=101
            < R seq=900000
            < F seq=101
            state SYN_RECV
            < R seq=101
            state CLOSE
            timer none
            error none
        ");
        script(5000, "
            listen
            < S seq=4294967295
            > S. seq=5000 ack=0
            < S seq=0
            > R. seq=0 ack=1
            state CLOSE
        ");
    }
}
