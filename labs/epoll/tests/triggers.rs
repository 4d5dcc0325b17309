//! `epoll_wait`'s scan of the ready list (`ep_send_events`): level- and
//! edge-triggered items, one-shot items, `maxevents`.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn level_triggered_is_reported_while_ready() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN, 3).unwrap();
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "nothing yet");
        f.set(k, EPOLLIN | EPOLLRDNORM);
        assert!(cb(ep.as_mut(), k, DATA_READY, false).0, "queued");
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)], "still ready: again");
        f.set(k, 0);
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "drained");
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty());
    }

    fn edge_triggered_is_reported_once_per_callback() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLET, 3).unwrap();
        f.set(k, EPOLLIN);
        cb(ep.as_mut(), k, DATA_READY, false);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)]);
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "no new edge");
        cb(ep.as_mut(), k, DATA_READY, false);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)], "a new edge");
    }

    fn oneshot_is_disabled_until_mod() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        f.set(k, EPOLLIN);
        assert_eq!(add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLONESHOT, 3), Ok(true));
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)]);
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "disabled");
        assert_eq!(modify(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLONESHOT, 4), Ok(true));
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 4)], "re-armed");
    }

    fn maxevents_limits_a_wait_and_the_rest_waits_its_turn() {
        let mut ep = lists();
        let mut f = Files::default();
        for fd in 3..8 {
            f.set(key(fd as u64, fd), EPOLLIN);
            add(ep.as_mut(), &mut f, key(fd as u64, fd), EPOLLIN | EPOLLET, fd as u64).unwrap();
        }
        assert_eq!(wait(ep.as_mut(), &mut f, 2), vec![(EPOLLIN, 3), (EPOLLIN, 4)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 2), vec![(EPOLLIN, 5), (EPOLLIN, 6)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 2), vec![(EPOLLIN, 7)]);
        assert!(wait(ep.as_mut(), &mut f, 2).is_empty());
    }
}
