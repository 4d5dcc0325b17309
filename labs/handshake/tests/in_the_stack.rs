//! Your queues inside the full stack: a server that does not call
//! `accept()` for a while sees what it sees on the stack's own queues.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

/// `listen(fd, 2)`, six clients 10 ms apart, no `accept()` for 5 s; what
/// `ss -tan` and `nstat` show on both sides, and what the programs saw.
fn slow_acceptor(student: bool) -> Vec<String> {
    let (mut sim, client, server) = world(student);
    let log = Log::default();
    let l = log.clone();
    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 2)?;
        p.sleep(secs(5)).await;
        note(&l, p.sh("ss -tan"));
        for line in grep(&p.sh("nstat"), &["Listen"]) {
            note(&l, line);
        }
        for _ in 0..6 {
            let (_fd, peer) = p.accept(lfd).await?;
            note(&l, format!("{} accept() -> {peer}", p.now() / ms(1)));
        }
        Ok(())
    });
    for i in 1..=6u64 {
        let l = log.clone();
        sim.spawn(client, &format!("client-{i}"), move |p| async move {
            p.sleep(ms(10 * i)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:8080").await?;
            note(&l, format!("{} client {i} connected", p.now() / ms(1)));
            Ok(())
        });
    }
    sim.run_until(ms(500));
    note(&log, sim.sh(client, "ss -tan"));
    let r = sim.run();
    note(&log, format!("ran to the end: {}", r.is_ok()));
    log.take()
}

lab_receipt::graded! {
    fn a_slow_acceptor_matches_the_stack() {
        // The stack's own queues (in your repository, yours as well) and
        // your lab's, each against what the reference printed.
        let stack_log = slow_acceptor(false);
        let want = lab_receipt::expected(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected/slow_acceptor.txt"),
            include_str!("expected/slow_acceptor.txt"),
            &stack_log,
        );
        assert!(want.iter().any(|l| l == "ran to the end: true"), "{want:#?}");
        assert_eq!(stack_log, want, "the stack running your queues");
        assert_eq!(slow_acceptor(true), want, "your lab's queues plugged in");
    }
}
