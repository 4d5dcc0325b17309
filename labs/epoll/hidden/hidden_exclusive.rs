//! Hidden: `EPOLLEXCLUSIVE` and the callback's return value.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn an_exclusive_item_without_a_waiter_does_not_count() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLEXCLUSIVE, 3).unwrap();
        assert_eq!(cb(ep.as_mut(), k, DATA_READY, false), (true, false), "queued, but woke nobody");
        assert_eq!(ready(ep.as_ref()), vec![(1, 3)]);
    }

    fn an_exclusive_item_with_a_waiter_counts_for_what_it_watches() {
        let mut f = Files::default();
        let k = key(1, 3);
        let mut verdicts = Vec::new();
        for watch in [EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT] {
            for flags in [DATA_READY, WRITE_SPACE, DATA_READY | WRITE_SPACE, STATE_CHANGE, EPOLLERR] {
                let mut ep = lists();
                add(ep.as_mut(), &mut f, k, watch | EPOLLEXCLUSIVE, 3).unwrap();
                verdicts.push(cb(ep.as_mut(), k, flags, true));
            }
        }
        let t = (true, true);
        let q = (true, false); // queued, does not count
        let n = (false, false); // not for this item
        assert_eq!(
            verdicts,
            vec![
                t, n, q, t, t, // watches EPOLLIN
                n, t, q, t, t, // watches EPOLLOUT
                t, t, q, t, t, // watches both
            ]
        );
    }

    fn a_callback_for_an_unknown_item_does_nothing() {
        let mut ep = lists();
        let mut f = Files::default();
        add(ep.as_mut(), &mut f, key(1, 3), EPOLLIN, 3).unwrap();
        assert_eq!(cb(ep.as_mut(), key(1, 4), DATA_READY, true), (false, false));
        assert!(ready(ep.as_ref()).is_empty());
    }
}
