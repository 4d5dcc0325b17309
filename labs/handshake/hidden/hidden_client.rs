//! Hidden: the client side's edge cases and the resets of RFC 5961.

mod common;
use common::*;

lab_receipt::graded! {
    fn a_connection_challenges_resets_syns_and_acks_it_cannot_trust() {
        script(1000, &format!("{CLIENT_EST}
            < R seq=5002
            > . seq=1001 ack=5001
            state ESTABLISHED
            < R seq=5000
            state ESTABLISHED
            < R seq=900000
            state ESTABLISHED
            < S seq=7000
            > . seq=1001 ack=5001
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            < . seq=5001 ack=1500
            < P. seq=5001 ack=1500 len=3
            state ESTABLISHED
            read 0
            error none
            < R seq=5001
            state CLOSE
            error ECONNRESET
        "));
    }

    fn the_window_in_a_sequence_space_that_wraps() {
        script(4294967295, "
            connect
            > S seq=4294967295
            < S. seq=4294967290 ack=0
            > . seq=0 ack=4294967291
            state ESTABLISHED
            < P. seq=4294967000 ack=0 len=10
            > . seq=0 ack=4294967291
            < P. seq=300000 ack=0 len=10
            > . seq=0 ack=4294967291
            < P. seq=5 ack=0 len=10
            > . seq=0 ack=4294967291
            read 0
            < P. seq=4294967291 ack=0 len=10
            > . seq=0 ack=5
            read 10
            < P. seq=0 ack=0 len=10
            > . seq=0 ack=10
            < P. seq=10 ack=0 len=5
            > . seq=0 ack=15
            read 10
            < F. seq=15 ack=0
            > . seq=0 ack=16
            state CLOSE_WAIT
            < R seq=16
            error EPIPE
        ");
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

}
