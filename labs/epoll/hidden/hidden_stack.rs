//! Hidden: your lists inside the full stack. Each scenario runs on your
//! lists and on the stack's own; what the programs saw, and the wakeup,
//! callback and poll counters, must be the same.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

use std::cell::Cell;
use std::rc::Rc;

async fn udp_pair(p: &Process) -> SysResult<(i32, i32)> {
    let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    p.bind(a, "127.0.0.1:7000")?;
    p.connect(b, "127.0.0.1:7000").await?;
    Ok((a, b))
}

fn e(events: u32, data: u64) -> Option<EpollEvent> {
    Some(EpollEvent { events, data })
}

/// One-shot re-arming, `epoll_ctl`'s errors, and the rule that an item
/// belongs to the open file: it outlives a closed fd number while a `dup`
/// keeps the file open, and goes with the last close.
async fn ctl_and_dup(p: Process, log: Log) -> SysResult<()> {
    let (a, b) = udp_pair(&p).await?;
    let ep = p.epoll_create1(0)?;
    let mut r = Vec::new();
    r.push(p.epoll_ctl(ep, EPOLL_CTL_ADD, a, e(EPOLLIN | EPOLLONESHOT, 1)));
    r.push(p.epoll_ctl(ep, EPOLL_CTL_ADD, a, e(EPOLLIN, 1)));
    r.push(p.epoll_ctl(ep, EPOLL_CTL_MOD, b, e(EPOLLIN, 1)));
    r.push(p.epoll_ctl(ep, EPOLL_CTL_DEL, b, None));
    r.push(p.epoll_ctl(ep, EPOLL_CTL_ADD, b, e(EPOLLOUT | EPOLLEXCLUSIVE, 2)));
    r.push(p.epoll_ctl(ep, EPOLL_CTL_MOD, b, e(EPOLLOUT, 2)));
    note(&log, format!("ctl: {r:?}"));
    let w = p.epoll_wait(ep, 8, 0).await;
    note(&log, format!("b writable: {}", show(w)));
    p.send(b, b"x", 0).await?;
    p.sleep(ms(1)).await;
    for what in ["datagram", "disabled"] {
        let w = p.epoll_wait(ep, 8, 0).await;
        note(&log, format!("{what}: {}", show(w)));
    }
    let m = p.epoll_ctl(ep, EPOLL_CTL_MOD, a, e(EPOLLIN | EPOLLONESHOT, 3));
    let w = p.epoll_wait(ep, 8, 0).await;
    note(&log, format!("re-armed {m:?}: {}", show(w)));
    let a2 = p.dup(a)?;
    p.close(a)?;
    p.epoll_ctl(ep, EPOLL_CTL_MOD, a2, e(EPOLLIN, 4))
        .map_err(|e| note(&log, format!("mod via dup: {e:?}")))
        .ok();
    let d = p.epoll_ctl(ep, EPOLL_CTL_DEL, a, None);
    note(&log, format!("del of the closed number: {d:?}"));
    p.send(b, b"y", 0).await?;
    p.sleep(ms(1)).await;
    let w = p.epoll_wait(ep, 8, 0).await;
    note(&log, format!("after dup+close: {}", show(w)));
    p.close(a2)?;
    p.send(b, b"z", 0).await?;
    let w = p.epoll_wait(ep, 8, 0).await;
    note(&log, format!("after the last close: {}", show(w)));
    Ok(())
}

/// A blocked `epoll_wait()` times out, then is woken by a datagram; the
/// epoll fd itself polls readable when an item is ready, and an outer
/// epoll instance watching it hears of it.
async fn sleep_poll_and_nest(p: Process, log: Log) -> SysResult<()> {
    let (a, b) = udp_pair(&p).await?;
    let inner = p.epoll_create1(0)?;
    let outer = p.epoll_create1(0)?;
    p.epoll_ctl(inner, EPOLL_CTL_ADD, a, e(EPOLLIN, 7))?;
    p.epoll_ctl(outer, EPOLL_CTL_ADD, inner, e(EPOLLIN, 8))?;
    let t0 = p.now();
    let w = p.epoll_wait(inner, 8, 5).await;
    note(
        &log,
        format!("timed out after {} ns: {}", p.now() - t0, show(w)),
    );
    let mut pf = [PollFd::new(inner, POLLIN)];
    let n = p.poll(&mut pf, 0).await?;
    note(&log, format!("poll(inner) idle: {n} {:#x}", pf[0].revents));
    let q = p.clone();
    p.fork("sender", move |c| async move {
        c.sleep(ms(20)).await;
        c.send(b, b"x", 0).await?;
        drop(q);
        Ok(())
    })?;
    let w = p.epoll_wait(outer, 8, -1).await;
    note(&log, format!("outer woke at {}: {}", p.now(), show(w)));
    let n = p.poll(&mut pf, 0).await?;
    note(&log, format!("poll(inner) ready: {n} {:#x}", pf[0].revents));
    let w = p.epoll_wait(inner, 8, -1).await;
    note(&log, format!("inner: {}", show(w)));
    let mut buf = [0u8; 4];
    p.recv(a, &mut buf, 0).await?;
    let n = p.poll(&mut pf, 0).await?;
    note(
        &log,
        format!("poll(inner) drained: {n} {:#x}", pf[0].revents),
    );
    Ok(())
}

/// The thundering herd of `stack/examples/thundering_herd.rs`: four
/// workers, each with an epoll instance watching one shared listener, and
/// one connection. Returns (wakeups, accepted, EAGAIN, callbacks).
fn herd(student: bool, exclusive: bool) -> (u64, u64, u64, u64) {
    let mut sim = sim(student);
    let server = sim.add_host("server");
    let client = sim.add_host("client");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(ms(1)),
    );
    sim.set_tracing(false);
    let accepted = Rc::new(Cell::new(0u64));
    let eagain = Rc::new(Cell::new(0u64));
    let (acc, eag) = (accepted.clone(), eagain.clone());
    sim.spawn(server, "master", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 128)?;
        for i in 0..4 {
            let (acc, eag) = (acc.clone(), eag.clone());
            p.fork(&format!("worker-{i}"), move |w| async move {
                let ep = w.epoll_create1(0)?;
                let flags = if exclusive { EPOLLEXCLUSIVE } else { 0 };
                w.epoll_ctl(ep, EPOLL_CTL_ADD, lfd, e(EPOLLIN | flags, 0))?;
                loop {
                    w.epoll_wait(ep, 1, -1).await?;
                    match w.accept(lfd).await {
                        Ok(_) => {
                            acc.set(acc.get() + 1);
                            return Ok(());
                        }
                        Err(Errno::EAGAIN) => eag.set(eag.get() + 1),
                        Err(e) => return Err(e),
                    }
                }
            })?;
        }
        Ok(())
    });
    sim.spawn(client, "client", |p| async move {
        p.sleep(ms(10)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:8080").await?;
        Ok(())
    });
    let before = sim.costs(server);
    sim.run_until(ms(50));
    let after = sim.costs(server);
    (
        after.wakeups - before.wakeups,
        accepted.get(),
        eagain.get(),
        after.epoll_callbacks - before.epoll_callbacks,
    )
}

/// Two epoll instances watch one listener with `EPOLLEXCLUSIVE`; nobody
/// waits on the first. The connection must still reach the sleeper on the
/// second: the first callback did not count as a wakeup.
fn exclusive_without_waiter(student: bool) -> Vec<String> {
    let mut sim = sim(student);
    let h = sim.add_host("h");
    let log = Log::default();
    let l = log.clone();
    sim.spawn(h, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        p.bind(lfd, "127.0.0.1:8080")?;
        p.listen(lfd, 16)?;
        let idle = p.epoll_create1(0)?;
        let busy = p.epoll_create1(0)?;
        p.epoll_ctl(idle, EPOLL_CTL_ADD, lfd, e(EPOLLIN | EPOLLEXCLUSIVE, 1))?;
        p.epoll_ctl(busy, EPOLL_CTL_ADD, lfd, e(EPOLLIN | EPOLLEXCLUSIVE, 2))?;
        let w = p.epoll_wait(busy, 8, 100).await;
        note(&l, format!("woke at {}: {}", p.now(), show(w)));
        let w = p.epoll_wait(idle, 8, 0).await;
        note(&l, format!("idle instance: {}", show(w)));
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        p.sleep(ms(10)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "127.0.0.1:8080").await?;
        Ok(())
    });
    let r = sim.run();
    let c = sim.costs(h);
    let mut out = log.take();
    out.push(format!(
        "ok {} wakeups {} callbacks {}",
        r.is_ok(),
        c.wakeups,
        c.epoll_callbacks
    ));
    out
}

lab_receipt::graded! {
    fn oneshot_ctl_errors_and_the_dup_rule_match_the_stack() {
        let want = run_scenario(false, ctl_and_dup);
        assert!(want.iter().any(|l| l == "ran to the end: true"), "{want:#?}");
        assert_eq!(run_scenario(true, ctl_and_dup), want);
    }

    fn sleeping_polling_and_nesting_match_the_stack() {
        let want = run_scenario(false, sleep_poll_and_nest);
        assert!(want.iter().any(|l| l == "ran to the end: true"), "{want:#?}");
        assert_eq!(run_scenario(true, sleep_poll_and_nest), want);
    }

    fn the_thundering_herd_numbers_match_the_stack() {
        let plain = herd(false, false);
        let excl = herd(false, true);
        assert_eq!((plain.0, plain.1), (4, 1), "the herd: four woken for one connection");
        assert_eq!((excl.0, excl.1), (1, 1), "EPOLLEXCLUSIVE: one");
        assert_eq!(herd(true, false), plain, "(wakeups, accepted, EAGAIN, callbacks)");
        assert_eq!(herd(true, true), excl, "(wakeups, accepted, EAGAIN, callbacks)");
    }

    fn an_exclusive_instance_without_a_waiter_lets_the_wakeup_through() {
        let want = exclusive_without_waiter(false);
        assert!(want[0].starts_with("woke at 10"), "{want:#?}");
        assert_eq!(exclusive_without_waiter(true), want);
    }
}
