//! The close states: `FIN_WAIT1`, `FIN_WAIT2`, `CLOSING`, `TIME_WAIT` on
//! the side that closes first, `CLOSE_WAIT` and `LAST_ACK` on the other
//! (`tcp_close_state`, `tcp_fin`, `tcp_time_wait`).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn active_close_goes_through_fin_wait_to_time_wait() {
        script(1000, &format!("{CLIENT_EST}
            at 1
            close
            > F. seq=1001 ack=5001
            state FIN_WAIT1
            < . seq=5001 ack=1002
            state FIN_WAIT2
            < F. seq=5001 ack=1002
            > . seq=1002 ack=5002
            state TIME_WAIT
            timer 61
            at 61
            state CLOSE
            timer none
        "));
    }

    fn passive_close_goes_through_close_wait_and_last_ack() {
        script(5000, &format!("{SERVER_EST}
            < F. seq=101 ack=5001
            > . seq=5001 ack=102
            state CLOSE_WAIT
            close
            > F. seq=5001 ack=102
            state LAST_ACK
            < . seq=102 ack=5002
            state CLOSE
            error none
        "));
    }

    fn simultaneous_close_goes_through_closing() {
        script(1000, &format!("{CLIENT_EST}
            close
            > F. seq=1001 ack=5001
            < F. seq=5001 ack=1001
            > . seq=1002 ack=5002
            state CLOSING
            < . seq=5002 ack=1002
            state TIME_WAIT
            timer 60
        "));
    }

    fn close_with_unread_data_sends_a_reset() {
        script(1000, &format!("{CLIENT_EST}
            < P. seq=5001 ack=1001 len=10
            > . seq=1001 ack=5011
            close
            > R. seq=1001 ack=5011
            state CLOSE
        "));
    }
}
