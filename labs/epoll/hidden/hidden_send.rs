//! Hidden: the order of the ready list, and what a scan leaves on it.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn items_not_reached_stay_in_front_of_those_put_back() {
        let mut ep = lists();
        let mut f = Files::default();
        for fd in 3..7 {
            f.set(key(1, fd), EPOLLIN);
            add(ep.as_mut(), &mut f, key(1, fd), EPOLLIN, fd as u64).unwrap();
        }
        assert_eq!(wait(ep.as_mut(), &mut f, 2), vec![(EPOLLIN, 3), (EPOLLIN, 4)]);
        assert_eq!(ready(ep.as_ref()), vec![(1, 5), (1, 6), (1, 3), (1, 4)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 3), vec![(EPOLLIN, 5), (EPOLLIN, 6), (EPOLLIN, 3)]);
        assert_eq!(ready(ep.as_ref()), vec![(1, 4), (1, 5), (1, 6), (1, 3)]);
    }

    fn an_item_no_longer_ready_leaves_the_ready_list() {
        let mut ep = lists();
        let mut f = Files::default();
        let (a, b) = (key(1, 3), key(1, 4));
        f.set(a, EPOLLIN);
        f.set(b, EPOLLIN);
        add(ep.as_mut(), &mut f, a, EPOLLIN, 3).unwrap();
        add(ep.as_mut(), &mut f, b, EPOLLIN, 4).unwrap();
        f.set(a, 0);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 4)]);
        assert_eq!(ready(ep.as_ref()), vec![(1, 4)]);
        f.set(a, EPOLLIN);
        assert!(!wait(ep.as_mut(), &mut f, 8).contains(&(EPOLLIN, 3)), "only a callback brings it back");
    }

    fn a_disabled_oneshot_item_ignores_callbacks() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        f.set(k, EPOLLIN);
        add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLONESHOT, 3).unwrap();
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 3)]);
        assert_eq!(interest(ep.as_ref(), k).map(|i| i.0 & !EP_PRIVATE), Some(0), "no events left");
        assert_eq!(cb(ep.as_mut(), k, DATA_READY, true), (false, true));
        assert_eq!(cb(ep.as_mut(), k, STATE_CHANGE, true), (false, true));
        assert!(ready(ep.as_ref()).is_empty());
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty());
    }

    fn an_edge_triggered_item_is_linked_once_however_many_callbacks() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLOUT | EPOLLET, 3).unwrap();
        f.set(k, EPOLLIN | EPOLLOUT);
        cb(ep.as_mut(), k, DATA_READY, false);
        cb(ep.as_mut(), k, WRITE_SPACE, false);
        cb(ep.as_mut(), k, DATA_READY, false);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN | EPOLLOUT, 3)]);
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty());
    }

    fn a_scan_with_nothing_ready_returns_nothing_and_keeps_nothing() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN, 3).unwrap();
        cb(ep.as_mut(), k, STATE_CHANGE, false);
        assert_eq!(ready(ep.as_ref()), vec![(1, 3)]);
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "the file says nothing");
        assert!(ready(ep.as_ref()).is_empty());
    }
}
