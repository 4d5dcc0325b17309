//! Hidden: the interest list's corners.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn mod_of_an_exclusive_item_is_einval() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLEXCLUSIVE, 1).unwrap();
        assert_eq!(modify(ep.as_mut(), &mut f, k, EPOLLIN, 2), Err(Errno::EINVAL));
        assert_eq!(interest(ep.as_ref(), k), Some((EPOLLIN | EPOLLEXCLUSIVE | EPOLLERR | EPOLLHUP, 1)));
        assert_eq!(ep.remove(k), Ok(()), "but it can be deleted");
    }

    fn mod_replaces_the_interest_and_the_data() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        f.set(k, EPOLLOUT);
        assert_eq!(add(ep.as_mut(), &mut f, k, EPOLLIN | EPOLLET, 1), Ok(false));
        assert_eq!(modify(ep.as_mut(), &mut f, k, EPOLLOUT, 2), Ok(true), "ready for the new interest");
        assert_eq!(interest(ep.as_ref(), k), Some((EPOLLOUT | EPOLLERR | EPOLLHUP, 2)));
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLOUT, 2)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLOUT, 2)], "no longer edge-triggered");
        assert_eq!(modify(ep.as_mut(), &mut f, k, EPOLLIN, 3), Ok(false));
        assert!(wait(ep.as_mut(), &mut f, 8).is_empty(), "the new interest masks the scan");
    }

    fn the_interest_list_is_in_file_then_fd_order() {
        let mut ep = lists();
        let mut f = Files::default();
        for (file, fd) in [(5, 3), (1, 9), (5, 1), (2, 4), (1, 2)] {
            add(ep.as_mut(), &mut f, key(file, fd), EPOLLIN, 0).unwrap();
        }
        let keys: Vec<(u64, i32)> = ep.keys().into_iter().map(|k| (k.file, k.fd)).collect();
        assert_eq!(keys, vec![(1, 2), (1, 9), (2, 4), (5, 1), (5, 3)]);
    }

    fn del_takes_the_item_off_the_ready_list_and_a_new_add_starts_afresh() {
        let mut ep = lists();
        let mut f = Files::default();
        let (a, b) = (key(1, 3), key(2, 4));
        f.set(a, EPOLLIN);
        f.set(b, EPOLLIN);
        add(ep.as_mut(), &mut f, a, EPOLLIN, 1).unwrap();
        add(ep.as_mut(), &mut f, b, EPOLLIN, 2).unwrap();
        assert_eq!(ready(ep.as_ref()), vec![(1, 3), (2, 4)]);
        ep.remove(a).unwrap();
        assert_eq!(ready(ep.as_ref()), vec![(2, 4)]);
        f.set(a, 0);
        assert_eq!(add(ep.as_mut(), &mut f, a, EPOLLIN, 9), Ok(false));
        assert_eq!(ready(ep.as_ref()), vec![(2, 4)], "not ready: not linked");
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 2)]);
        f.set(a, EPOLLIN);
        cb(ep.as_mut(), a, DATA_READY, false);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLIN, 2), (EPOLLIN, 9)]);
    }
}
