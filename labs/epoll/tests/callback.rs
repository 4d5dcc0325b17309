//! The wait-queue callback (`ep_poll_callback`).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn a_callback_queues_the_item_once() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN, 3).unwrap();
        assert!(ready(ep.as_ref()).is_empty());
        assert_eq!(cb(ep.as_mut(), k, DATA_READY, true), (true, true));
        assert_eq!(cb(ep.as_mut(), k, DATA_READY, true), (true, true));
        assert_eq!(ready(ep.as_ref()), vec![(1, 3)], "linked once");
        assert_eq!(f.polls, 1, "a callback polls nothing (the add did once)");
    }

    fn a_wakeup_for_something_unwatched_passes_by() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN, 3).unwrap();
        assert_eq!(cb(ep.as_mut(), k, WRITE_SPACE, true), (false, true));
        assert!(ready(ep.as_ref()).is_empty());
        assert_eq!(cb(ep.as_mut(), k, STATE_CHANGE, true), (true, true), "no key concerns all");
        assert_eq!(ready(ep.as_ref()), vec![(1, 3)]);
    }

    fn an_error_wakes_every_item() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLOUT, 3).unwrap();
        assert_eq!(cb(ep.as_mut(), k, EPOLLERR, false), (true, true), "EPOLLERR is always watched");
        f.set(k, EPOLLERR | EPOLLOUT);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLERR | EPOLLOUT, 3)]);
    }
}
