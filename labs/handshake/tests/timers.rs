//! Timers: SYN and SYN-ACK retransmission with exponential backoff and
//! retry limits, `tcp_fin_timeout`, TIME_WAIT's 60 s.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn the_syn_is_resent_after_1_3_7_s() {
        script(1000, "
            connect
            > S seq=1000
            at 0.999
            timer 1
            at 1
            > S seq=1000
            timer 3
            at 3
            > S seq=1000
            timer 7
            at 7
            > S seq=1000
            timer 15
        ");
    }

    fn the_syn_ack_is_resent_after_1_3_7_s() {
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            at 7
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            timer 15
            state SYN_RECV
        ");
    }

    fn an_orphan_in_fin_wait2_waits_tcp_fin_timeout() {
        let cfg = Config { fin_timeout: secs(30), ..Config::default() };
        script_with(1000, cfg, &format!("{CLIENT_EST}
            close
            > F. seq=1001 ack=5001
            at 2
            < . seq=5001 ack=1002
            state FIN_WAIT2
            timer 32
            at 32
            state CLOSE
        "));
    }
}
