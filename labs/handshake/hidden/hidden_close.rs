//! Hidden: the closing states' edge cases, TIME_WAIT's segment rules,
//! close and shutdown in every state.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

const ACTIVE_TW: &str = "
    at 1
    close
    > F. seq=1001 ack=5001
    < . seq=5001 ack=1002
    < F. seq=5001 ack=1002
    > . seq=1002 ack=5002
    state TIME_WAIT
";

lab_receipt::graded! {
    fn time_wait_acks_a_retransmitted_fin_and_starts_over() {
        script(1000, &format!("{CLIENT_EST}{ACTIVE_TW}
            timer 61
            at 30
            < F. seq=5001 ack=1002
            > . seq=1002 ack=5002
            timer 90
            at 50
            < . seq=5002 ack=1002
            timer 110
            state TIME_WAIT
        "));
    }

    fn time_wait_ends_on_a_reset_at_rcv_nxt_only() {
        script(1000, &format!("{CLIENT_EST}{ACTIVE_TW}
            < R seq=5003
            state TIME_WAIT
            < R seq=5002
            state CLOSE
        "));
    }

    fn a_new_syn_ends_time_wait() {
        script(1000, &format!("{CLIENT_EST}{ACTIVE_TW}
            < S seq=5001
            > . seq=1002 ack=5002
            state TIME_WAIT
            < S seq=9000
            state CLOSE
        "));
    }

    fn a_fin_with_the_ack_of_ours_goes_straight_to_time_wait() {
        script(1000, &format!("{CLIENT_EST}
            close
            > F. seq=1001 ack=5001
            < F. seq=5001 ack=1002
            > . seq=1002 ack=5002
            state TIME_WAIT
            timer 60
        "));
    }

    fn after_shutdown_fin_wait2_waits_forever_and_reads() {
        script(1000, &format!("{CLIENT_EST}
            shutdown
            > F. seq=1001 ack=5001
            < . seq=5001 ack=1002
            state FIN_WAIT2
            timer none
            < P. seq=5001 ack=1002 len=4
            > . seq=1002 ack=5005
            read 4
            at 500
            state FIN_WAIT2
            close
            timer 560
        "));
    }

    fn data_after_close_is_answered_with_a_reset() {
        script(1000, &format!("{CLIENT_EST}
            close
            > F. seq=1001 ack=5001
            < . seq=5001 ack=1002
            < P. seq=5001 ack=1002 len=4
            > R seq=1002
            state CLOSE
        "));
    }

    fn close_wait_acks_a_retransmitted_fin_and_ignores_new_segments() {
        script(5000, &format!("{SERVER_EST}
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            < P. seq=102 ack=5001 len=5
            state CLOSE_WAIT
            read 0
        "));
    }

    fn a_reset_in_close_wait_is_epipe() {
        script(5000, &format!("{SERVER_EST}
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            < R seq=102
            state CLOSE
            error EPIPE
        "));
    }

    fn last_ack_waits_for_the_ack_of_its_fin() {
        script(5000, &format!("{SERVER_EST}
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            close
            > F. seq=5001 ack=102
            < . seq=102 ack=5001
            state LAST_ACK
            < . seq=102 ack=5009
            > . seq=5002 ack=102
            state LAST_ACK
            < . seq=102 ack=5002
            state CLOSE
        "));
    }

    fn close_and_shutdown_before_a_connection() {
        script(1000, "
            shutdown -> ENOTCONN
            close
            state CLOSE
        ");
        script(1000, "
            connect
            > S seq=1000
            close
            state CLOSE
            timer none
            < S. seq=5000 ack=1001
            > R seq=1001
        ");
        script(1000, "
            connect
            > S seq=1000
            shutdown
            state CLOSE
            error ECONNRESET
        ");
        script(1000, "
            listen
            close
            state CLOSE
        ");
    }

}
