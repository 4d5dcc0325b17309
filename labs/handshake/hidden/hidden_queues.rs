//! Hidden: the queues' limits at their edges, overflow at the final ACK,
//! the SYN-ACK timer's backoff and staleness, closing a listener.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn accept_queue_limits_at_the_edges() {
        let mut q = queues();
        assert!(!q.accept_queue_is_full(0));
        q.accept_queue_add(child(1));
        assert!(q.accept_queue_is_full(0), "backlog 0 takes one child");
        for n in 2..=6 {
            q.accept_queue_add(child(n));
        }
        assert!(!q.accept_queue_is_full(6));
        assert!(q.accept_queue_is_full(5));
        assert_eq!(q.accept_queue_len(), 6);
        let order: Vec<u32> = std::iter::from_fn(|| q.accept()).map(SockId::raw).collect();
        assert_eq!(order, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(q.accept(), None);
    }

    fn a_full_accept_queue_drops_syns_even_with_cookies() {
        let mut q = queues();
        for port in 1..=3 {
            q.hash_add(req(port, 10 * port as u32), 0);
        }
        for n in 0..3 {
            q.accept_queue_add(child(n));
        }
        assert_eq!(admit(q.as_ref(), 2, true), "drop: accept queue full");
        assert_eq!(admit(q.as_ref(), 2, false), "drop: SYN queue full");
        assert_eq!(admit(q.as_ref(), 3, false), "queue");
        q.accept();
        assert_eq!(admit(q.as_ref(), 2, true), "cookie");
    }

    fn an_overflowing_final_ack_keeps_the_request_marked_acked() {
        let mut q = queues();
        q.hash_add(req(1, 10), 0);
        q.accept_queue_add(child(7));
        q.accept_queue_add(child(8));
        assert_eq!(check(q.as_mut(), 1, 11, 1, false), "overflow, reset false");
        assert_eq!(request_of(q.as_ref(), 1), Some((0, true, "1".into())));
        assert_eq!(q.syn_queue_len(), 1);
        assert_eq!(check(q.as_mut(), 1, 12, 1, false), "bad ack", "checked before room");
        q.accept();
        assert_eq!(check(q.as_mut(), 1, 11, 1, false), "child from port 1");
        assert_eq!(q.syn_queue_len(), 0);
        // With tcp_abort_on_overflow the request goes, and a reset answers.
        let mut q = queues();
        q.hash_add(req(1, 10), 0);
        q.accept_queue_add(child(7));
        assert_eq!(check(q.as_mut(), 1, 11, 0, true), "overflow, reset true");
        assert_eq!(request_of(q.as_ref(), 1), None);
        assert_eq!(check(q.as_mut(), 1, 11, 0, true), "no request");
    }

    fn the_syn_ack_timeout_doubles_up_to_tcp_rto_max() {
        let mut q = queues();
        q.hash_add(req(1, 10), secs(2));
        assert_eq!(
            timer_story(q.as_mut(), 1, 9),
            vec![
                "3: resend #1, next at 5",
                "5: resend #2, next at 9",
                "9: resend #3, next at 17",
                "17: resend #4, next at 33",
                "33: resend #5, next at 65",
                "65: resend #6, next at 129",
                "129: resend #7, next at 249",
                "249: resend #8, next at 369",
                "369: resend #9, next at 489",
                "489: expire",
            ]
        );
        q.hash_add(req(2, 20), 0);
        assert_eq!(timer_story(q.as_mut(), 2, 0), vec!["1: expire"]);
    }

    fn a_stale_timer_does_nothing() {
        let mut q = queues();
        q.hash_add(req(1, 10), 0);
        assert_eq!(fire(q.as_mut(), 1, ms(999), 5), "nothing");
        assert_eq!(fire(q.as_mut(), 2, secs(1), 5), "nothing", "no such request");
        assert_eq!(fire(q.as_mut(), 1, secs(1), 5), "resend #1, next at 3");
        assert_eq!(fire(q.as_mut(), 1, secs(1), 5), "nothing", "already re-armed");
        assert_eq!(request_of(q.as_ref(), 1), Some((1, false, "3".into())));
    }

    fn requests_by_peer_and_closing_the_listener() {
        let mut q = queues();
        for port in [30, 10, 20] {
            q.hash_add(req(port, port as u32), 0);
        }
        assert_eq!(syn_ports(q.as_ref()), vec![10, 20, 30]);
        q.hash_add(req(20, 99), secs(4));
        assert_eq!(q.syn_queue_len(), 3);
        assert_eq!(q.request(peer(20)).map(|r| r.iss), Some(99));
        assert_eq!(q.unlink(peer(10)).map(|r| r.iss), Some(10));
        assert!(q.unlink(peer(10)).is_none());
        assert_eq!(syn_ports(q.as_ref()), vec![20, 30]);
        let mut q = queues();
        q.hash_add(req(1, 10), 0);
        q.hash_add(req(2, 20), 0);
        for n in [5, 3, 9] {
            q.accept_queue_add(child(n));
        }
        let gone: Vec<u32> = q.listen_stop().into_iter().map(SockId::raw).collect();
        assert_eq!(gone, vec![5, 3, 9]);
        assert_eq!((q.syn_queue_len(), q.accept_queue_len()), (0, 0));
        assert!(q.requests().is_empty());
    }
}
