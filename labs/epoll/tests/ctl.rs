//! `epoll_ctl`: the interest list (`ep_insert`, `ep_modify`, `ep_remove`).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn add_watches_err_and_hup_and_keeps_the_data() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        assert_eq!(add(ep.as_mut(), &mut f, k, EPOLLIN, 42), Ok(false));
        assert_eq!(interest(ep.as_ref(), k), Some((EPOLLIN | EPOLLERR | EPOLLHUP, 42)));
        assert_eq!(interest(ep.as_ref(), key(1, 4)), None);
        let flags = EPOLLOUT | EPOLLET | EPOLLONESHOT;
        assert_eq!(add(ep.as_mut(), &mut f, key(2, 5), flags, 7), Ok(false));
        assert_eq!(
            interest(ep.as_ref(), key(2, 5)),
            Some((flags | EPOLLERR | EPOLLHUP, 7)),
            "the flags are kept with the mask"
        );
    }

    fn add_twice_is_eexist_mod_and_del_of_nothing_are_enoent() {
        let mut ep = lists();
        let mut f = Files::default();
        let k = key(1, 3);
        assert_eq!(add(ep.as_mut(), &mut f, k, EPOLLIN, 1), Ok(false));
        assert_eq!(add(ep.as_mut(), &mut f, k, EPOLLOUT, 2), Err(Errno::EEXIST));
        assert_eq!(interest(ep.as_ref(), k), Some((EPOLLIN | EPOLLERR | EPOLLHUP, 1)), "unchanged");
        assert_eq!(modify(ep.as_mut(), &mut f, key(1, 4), EPOLLIN, 1), Err(Errno::ENOENT));
        assert_eq!(ep.remove(key(9, 3)), Err(Errno::ENOENT));
        // The same file through another fd number is another item.
        assert_eq!(add(ep.as_mut(), &mut f, key(1, 4), EPOLLIN, 2), Ok(false));
        assert_eq!(ep.keys().len(), 2);
    }

    fn a_file_ready_at_add_goes_on_the_ready_list() {
        let mut ep = lists();
        let mut f = Files::default();
        f.set(key(1, 3), EPOLLOUT | EPOLLWRNORM);
        f.set(key(2, 4), EPOLLOUT);
        assert_eq!(add(ep.as_mut(), &mut f, key(1, 3), EPOLLOUT, 1), Ok(true));
        assert_eq!(add(ep.as_mut(), &mut f, key(2, 4), EPOLLIN, 2), Ok(false), "not what it watches");
        assert_eq!(ready(ep.as_ref()), vec![(1, 3)]);
        assert_eq!(wait(ep.as_mut(), &mut f, 8), vec![(EPOLLOUT, 1)], "masked by the interest");
    }

    fn del_takes_the_item_off_the_interest_list() {
        let mut ep = lists();
        let mut f = Files::default();
        add(ep.as_mut(), &mut f, key(1, 3), EPOLLIN, 1).unwrap();
        add(ep.as_mut(), &mut f, key(2, 3), EPOLLIN, 2).unwrap();
        assert_eq!(ep.remove(key(1, 3)), Ok(()));
        assert_eq!(interest(ep.as_ref(), key(1, 3)), None);
        assert_eq!(ep.keys(), vec![key(2, 3)]);
        assert_eq!(ep.remove(key(1, 3)), Err(Errno::ENOENT), "gone");
    }
}
