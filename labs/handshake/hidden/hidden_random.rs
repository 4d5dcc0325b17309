//! Hidden: random sequences of SYNs, final ACKs, timer firings, accepts
//! and closes, run on your queues and on the stack's own
//! (`stack::inet::request_sock_queue::Queues`); every answer and every
//! view must be the same, step by step.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

use stack::inet::request_sock_queue::Queues;

/// One random step on `q`, described as plain text.
fn step(q: &mut dyn RequestSockQueue, op: u32, port: u16, now: Nanos, arg: u32) -> String {
    let backlog = arg % 4;
    match op {
        0 | 1 => {
            let a = admit(q, backlog, arg % 2 == 0);
            if a == "queue" {
                let at = q.hash_add(req(port, 1000 + port as u32), now);
                format!("{a}: timer {}", fmt_secs(at))
            } else {
                a.to_string()
            }
        }
        2 | 3 => {
            let ack = if arg % 5 == 0 { 7 } else { 1001 + port as u32 };
            check(q, port, ack, backlog, arg % 3 == 0)
        }
        4 => match q.request(peer(port)) {
            Some(r) => {
                let at = r.timer_at;
                fire(q, port, at, arg % 6)
            }
            None => fire(q, port, now, arg % 6),
        },
        5 => format!("{:?}", q.accept().map(SockId::raw)),
        6 => {
            q.accept_queue_add(child(arg));
            "child queued".into()
        }
        7 => format!("{:?}", q.unlink(peer(port)).map(|r| r.iss)),
        _ => {
            let gone: Vec<u32> = q.listen_stop().into_iter().map(SockId::raw).collect();
            format!("listen_stop {gone:?}")
        }
    }
}

/// What the queues look like, as plain text.
fn view(q: &dyn RequestSockQueue) -> String {
    let reqs: Vec<String> = q
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}:{}",
                r.remote.port(),
                r.retrans,
                r.acked,
                fmt_secs(r.timer_at)
            )
        })
        .collect();
    format!(
        "syn {} accept {} full(2) {}/{} {reqs:?}",
        q.syn_queue_len(),
        q.accept_queue_len(),
        q.syn_queue_is_full(2),
        q.accept_queue_is_full(2),
    )
}

lab_receipt::graded! {
    fn random_sequences_match_the_stacks_queues() {
        for seed in 0..200u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut mine = queues();
            let mut theirs: Box<dyn RequestSockQueue> = Box::new(Queues::default());
            let mut now: Nanos = 0;
            for i in 0..60 {
                now += ms(rng.u64(0..3000));
                let op = if rng.u32(0..40) == 0 { 9 } else { rng.u32(0..8) };
                let port = rng.u16(1..6);
                let arg = rng.u32(0..60);
                let want = step(theirs.as_mut(), op, port, now, arg);
                let got = step(mine.as_mut(), op, port, now, arg);
                assert_eq!(got, want, "seed {seed}, step {i}: op {op} port {port} arg {arg}");
                assert_eq!(view(mine.as_ref()), view(theirs.as_ref()), "seed {seed}, after step {i}");
            }
        }
    }
}
