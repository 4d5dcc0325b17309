//! Hidden: retry limits, the backoff's cap, and the instants timers fire.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn connect_gives_up_after_six_resends_with_etimedout() {
        script(1000, "
            connect
            > S seq=1000
            at 63
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            timer 127
            at 126.9
            state SYN_SENT
            at 127
            state CLOSE
            error ETIMEDOUT
            timer none
        ");
    }

    fn syn_retries_is_read_from_the_settings() {
        let cfg = Config { syn_retries: 2, ..Config::default() };
        script_with(1000, cfg, "
            connect
            > S seq=1000
            at 3
            > S seq=1000
            > S seq=1000
            timer 7
            at 7
            error ETIMEDOUT
        ");
    }

    fn the_backoff_stops_at_tcp_rto_max() {
        let cfg = Config { syn_retries: 9, ..Config::default() };
        script_with(1000, cfg, "
            connect
            > S seq=1000
            at 127
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            > S seq=1000
            timer 247
            at 247
            > S seq=1000
            timer 367
        ");
    }

    fn a_request_dies_quietly_after_five_syn_ack_resends() {
        script(5000, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            at 31
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            > S. seq=5000 ack=101
            timer 63
            at 62.5
            state SYN_RECV
            at 63
            state CLOSE
            error none
            timer none
        ");
        let cfg = Config { synack_retries: 1, ..Config::default() };
        script_with(5000, cfg, "
            listen
            < S seq=100
            > S. seq=5000 ack=101
            at 1
            > S. seq=5000 ack=101
            at 3
            state CLOSE
        ");
    }

    fn a_simultaneous_open_resends_its_syn_ack() {
        script(1000, "
            connect
            > S seq=1000
            at 0.5
            < S seq=5000
            > S. seq=1000 ack=5001
            at 1
            > S. seq=1000 ack=5001
            timer 3
        ");
    }

    fn time_wait_lasts_exactly_sixty_seconds() {
        script(1000, &format!("{CLIENT_EST}
            at 2.5
            close
            > F. seq=1001 ack=5001
            < F. seq=5001 ack=1002
            > . seq=1002 ack=5002
            at 62.499
            state TIME_WAIT
            at 62.5
            state CLOSE
        "));
    }

    fn fin_wait2_timeout_starts_when_our_fin_is_acked() {
        let cfg = Config { fin_timeout: secs(5), ..Config::default() };
        script_with(1000, cfg, &format!("{CLIENT_EST}
            close
            > F. seq=1001 ack=5001
            at 10
            state FIN_WAIT1
            timer none
            < . seq=5001 ack=1002
            timer 15
            at 14
            < F. seq=5001 ack=1002
            > . seq=1002 ack=5002
            state TIME_WAIT
            timer 74
        "));
    }
}
