//! Hidden: random sequences of `epoll_ctl`, callbacks, readiness changes
//! and scans, on your lists and on the stack's own, must give the same
//! plain values at every step (results, events, the ready list, polls).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::eventpoll_lists::Lists;

fn step_log(
    ep: &mut dyn EventPollLists,
    f: &mut Files,
    op: u32,
    k: EpKey,
    events: u32,
    arg: u32,
    waiter: bool,
) -> String {
    let polls = f.polls;
    let what = match op {
        0 => format!("add {:?}", add(ep, f, k, events, u64::from(arg))),
        1 => format!("mod {:?}", modify(ep, f, k, events, u64::from(arg))),
        2 => format!("del {:?}", ep.remove(k)),
        3 => format!("cb {:?}", cb(ep, k, arg, waiter)),
        4 => format!("wait {:?}", wait(ep, f, arg as usize)),
        _ => {
            f.set(k, arg);
            "set".to_string()
        }
    };
    let interest: Vec<_> = ep
        .keys()
        .into_iter()
        .map(|k| ((k.file, k.fd), interest(ep, k)))
        .collect();
    format!(
        "{what}; ready {:?}; polls {}; interest {interest:?}",
        ready(ep),
        f.polls - polls
    )
}

lab_receipt::graded! {
    fn random_sequences_match_the_stacks_lists() {
        let flags = [0, EPOLLET, EPOLLONESHOT, EPOLLET | EPOLLONESHOT, EPOLLEXCLUSIVE];
        let watch = [EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLRDHUP | EPOLLIN];
        let masks = [0, EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLHUP | EPOLLIN, EPOLLERR, EPOLLIN | EPOLLRDHUP];
        let keys_ = [DATA_READY, WRITE_SPACE, STATE_CHANGE, EPOLLERR, DATA_READY | WRITE_SPACE];
        for seed in 0..300u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut yours = lists();
            let mut theirs: Box<dyn EventPollLists> = Box::new(Lists::default());
            let (mut fy, mut ft) = (Files::default(), Files::default());
            let mut history = Vec::new();
            for _ in 0..80 {
                let op = rng.u32(0..7);
                let k = key(rng.u64(1..4), rng.i32(3..5));
                let events = watch[rng.usize(..watch.len())] | flags[rng.usize(..flags.len())];
                let arg = match op {
                    0 | 1 => rng.u32(0..100),
                    3 => keys_[rng.usize(..keys_.len())],
                    4 => rng.u32(1..5),
                    _ => masks[rng.usize(..masks.len())],
                };
                let waiter = rng.bool();
                let op = op.min(5);
                let want = step_log(theirs.as_mut(), &mut ft, op, k, events, arg, waiter);
                let got = step_log(yours.as_mut(), &mut fy, op, k, events, arg, waiter);
                history.push(format!("op {op} key ({}, {}) events {events:#x} arg {arg:#x} waiter {waiter}", k.file, k.fd));
                assert_eq!(got, want, "seed {seed}, after:\n{}", history.join("\n"));
            }
        }
    }
}
