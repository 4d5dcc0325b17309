//! The listener's queues alone: limits, admission of a SYN, the final ACK,
//! the SYN-ACK timer, `accept()`.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn the_accept_queue_is_full_at_backlog_plus_one() {
        let mut q = queues();
        for n in 0..3 {
            assert!(!q.accept_queue_is_full(2), "{n} children in a backlog of 2");
            q.accept_queue_add(child(n));
        }
        assert!(q.accept_queue_is_full(2), "3 = backlog + 1: full");
        assert_eq!(q.accept_queue_len(), 3);
        assert_eq!(q.accept().map(SockId::raw), Some(0), "the oldest first");
        assert!(!q.accept_queue_is_full(2));
    }

    fn the_syn_queue_is_full_at_backlog_plus_one() {
        let mut q = queues();
        for port in 1..=3 {
            assert!(!q.syn_queue_is_full(2), "{} requests in a backlog of 2", port - 1);
            q.hash_add(req(port, 100 * port as u32), 0);
        }
        assert!(q.syn_queue_is_full(2), "3 = backlog + 1: full");
        assert_eq!(q.syn_queue_len(), 3);
        assert_eq!(syn_ports(q.as_ref()), vec![1, 2, 3]);
        let mut zero = queues();
        assert!(!zero.syn_queue_is_full(0), "a backlog of 0 still takes one request");
        zero.hash_add(req(1, 100), 0);
        assert!(zero.syn_queue_is_full(0), "and only one");
    }

    fn a_syn_is_queued_cookied_or_dropped() {
        let mut q = queues();
        assert_eq!(admit(q.as_ref(), 1, true), "queue");
        q.hash_add(req(1, 100), 0);
        assert_eq!(admit(q.as_ref(), 1, true), "queue", "backlog + 1 requests fit");
        q.hash_add(req(2, 200), 0);
        assert_eq!(admit(q.as_ref(), 1, true), "cookie");
        assert_eq!(admit(q.as_ref(), 1, false), "drop: SYN queue full");
        q.accept_queue_add(child(1));
        q.accept_queue_add(child(2));
        assert_eq!(admit(q.as_ref(), 1, true), "drop: accept queue full");
    }

    fn the_final_ack_makes_a_child() {
        let mut q = queues();
        assert_eq!(q.hash_add(req(1, 100), ms(5)), ms(1005), "the SYN-ACK timer: 1 s");
        assert_eq!(request_of(q.as_ref(), 1), Some((0, false, "1.005".into())));
        assert_eq!(check(q.as_mut(), 1, 100, 4, false), "bad ack");
        assert_eq!(check(q.as_mut(), 2, 101, 4, false), "no request");
        assert_eq!(check(q.as_mut(), 1, 101, 4, false), "child from port 1");
        assert_eq!(q.syn_queue_len(), 0);
        assert_eq!(request_of(q.as_ref(), 1), None);
    }

    fn the_syn_ack_is_resent_five_times_then_the_request_dies() {
        let mut q = queues();
        q.hash_add(req(1, 100), 0);
        assert_eq!(
            timer_story(q.as_mut(), 1, 5),
            vec![
                "1: resend #1, next at 3",
                "3: resend #2, next at 7",
                "7: resend #3, next at 15",
                "15: resend #4, next at 31",
                "31: resend #5, next at 63",
                "63: expire",
            ]
        );
        assert_eq!(q.syn_queue_len(), 0);
    }
}
