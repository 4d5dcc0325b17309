//! Your lists inside the full stack: a program's epoll calls on real
//! (simulated) UDP sockets give what they give on the stack's own lists.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

/// One UDP socket watched level-triggered, edge-triggered and one-shot,
/// through two datagrams, reads and a third datagram.
async fn lt_et_oneshot(p: Process, log: Log) -> SysResult<()> {
    let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    p.bind(a, "127.0.0.1:7000")?;
    p.connect(b, "127.0.0.1:7000").await?;
    let eps = [
        p.epoll_create1(0)?,
        p.epoll_create1(0)?,
        p.epoll_create1(0)?,
    ];
    for (ep, flags) in eps.iter().zip([0, EPOLLET, EPOLLONESHOT]) {
        p.epoll_ctl(
            *ep,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN | flags,
                data: *ep as u64,
            }),
        )?;
    }
    let look = |what: &str, log: &Log| {
        let (p, log, what) = (p.clone(), log.clone(), what.to_string());
        async move {
            for ep in eps {
                let r = p.epoll_wait(ep, 8, 0).await;
                note(&log, format!("{what}: ep {ep}: {}", show(r)));
            }
        }
    };
    look("idle", &log).await;
    p.send(b, b"x", 0).await?;
    p.send(b, b"y", 0).await?;
    p.sleep(ms(1)).await;
    look("two datagrams", &log).await;
    look("again", &log).await;
    let mut buf = [0u8; 8];
    p.recv(a, &mut buf, 0).await?;
    look("one read", &log).await;
    p.recv(a, &mut buf, 0).await?;
    look("drained", &log).await;
    p.send(b, b"z", 0).await?;
    p.sleep(ms(1)).await;
    look("a third datagram", &log).await;
    Ok(())
}

lab_receipt::graded! {
    fn level_edge_and_oneshot_on_a_udp_socket_match_the_stack() {
        // The stack's own lists (in your repository, yours as well) and
        // your lab's, each against what the reference printed.
        let stack_log = run_scenario(false, lt_et_oneshot);
        let want = lab_receipt::expected(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected/lt_et_oneshot.txt"),
            include_str!("expected/lt_et_oneshot.txt"),
            &stack_log,
        );
        assert!(want.iter().any(|l| l == "ran to the end: true"), "{want:#?}");
        assert_eq!(stack_log, want, "the stack running your lists");
        assert_eq!(run_scenario(true, lt_et_oneshot), want, "your lab's lists plugged in");
    }
}
