//! Behaviour of epoll, poll and select inside the simulation: the rules
//! the module docs of [`crate::fs::eventpoll`] and [`crate::fs::select`] state.
//! (Their agreement with the real kernel is checked by
//! `tests/differential_epoll.rs`.)

use crate::prelude::*;

/// Runs `body` as the only process on a fresh host.
fn run_one<F, Fut>(body: F) -> crate::sim::RunReport
where
    F: FnOnce(Process) -> Fut,
    Fut: std::future::Future<Output = Result<(), Errno>> + 'static,
{
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", body);
    sim.run()
}

async fn udp_pair(p: &Process) -> SysResult<(i32, i32)> {
    let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
    p.bind(a, "127.0.0.1:7000")?;
    p.connect(b, "127.0.0.1:7000").await?;
    Ok((a, b))
}

#[test]
fn level_triggered_reports_until_drained_edge_triggered_once() {
    let r = run_one(|p| async move {
        let (a, b) = udp_pair(&p).await?;
        let lt = p.epoll_create1(0)?;
        let et = p.epoll_create1(0)?;
        p.epoll_ctl(
            lt,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN,
                data: 1,
            }),
        )?;
        p.epoll_ctl(
            et,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN | EPOLLET,
                data: 2,
            }),
        )?;
        p.send(b, b"x", 0).await?;
        p.send(b, b"y", 0).await?;
        p.sleep(ms(1)).await;
        assert_eq!(p.epoll_wait(lt, 8, 0).await?.len(), 1);
        assert_eq!(
            p.epoll_wait(lt, 8, 0).await?.len(),
            1,
            "still ready: reported again"
        );
        assert_eq!(
            p.epoll_wait(et, 8, 0).await?,
            vec![EpollEvent {
                events: EPOLLIN,
                data: 2
            }]
        );
        assert!(p.epoll_wait(et, 8, 0).await?.is_empty(), "no new edge");
        let mut buf = [0u8; 8];
        p.recv(a, &mut buf, 0).await?;
        assert!(
            p.epoll_wait(et, 8, 0).await?.is_empty(),
            "reading is not an edge"
        );
        p.recv(a, &mut buf, 0).await?;
        assert!(p.epoll_wait(lt, 8, 0).await?.is_empty(), "drained");
        p.send(b, b"z", 0).await?;
        p.sleep(ms(1)).await;
        assert_eq!(
            p.epoll_wait(et, 8, 0).await?.len(),
            1,
            "a new datagram is a new edge"
        );
        Ok(())
    });
    assert!(r.is_ok(), "{r}");
}

#[test]
fn oneshot_disables_until_mod_and_ctl_errors_follow_the_kernel() {
    let r = run_one(|p| async move {
        let (a, b) = udp_pair(&p).await?;
        let ep = p.epoll_create1(0)?;
        let ev = |events| Some(EpollEvent { events, data: 0 });
        p.epoll_ctl(ep, EPOLL_CTL_ADD, a, ev(EPOLLIN | EPOLLONESHOT))?;
        assert_eq!(
            p.epoll_ctl(ep, EPOLL_CTL_ADD, a, ev(EPOLLIN)),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            p.epoll_ctl(ep, EPOLL_CTL_MOD, b, ev(EPOLLIN)),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            p.epoll_ctl(ep, EPOLL_CTL_ADD, ep, ev(EPOLLIN)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.epoll_ctl(a, EPOLL_CTL_ADD, b, ev(EPOLLIN)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.epoll_ctl(ep, EPOLL_CTL_ADD, 99, ev(EPOLLIN)),
            Err(Errno::EBADF)
        );
        assert_eq!(p.epoll_ctl(ep, 7, a, ev(EPOLLIN)), Err(Errno::EINVAL));
        assert_eq!(p.epoll_ctl(ep, EPOLL_CTL_ADD, b, None), Err(Errno::EFAULT));
        assert_eq!(
            p.epoll_ctl(
                ep,
                EPOLL_CTL_ADD,
                b,
                ev(EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT)
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(p.epoll_wait(ep, 0, 0).await, Err(Errno::EINVAL));
        assert_eq!(p.epoll_wait(a, 1, 0).await, Err(Errno::EINVAL));
        p.send(b, b"x", 0).await?;
        p.sleep(ms(1)).await;
        assert_eq!(p.epoll_wait(ep, 8, 0).await?.len(), 1);
        assert!(
            p.epoll_wait(ep, 8, 0).await?.is_empty(),
            "disabled after one report"
        );
        p.epoll_ctl(ep, EPOLL_CTL_MOD, a, ev(EPOLLIN | EPOLLONESHOT))?;
        assert_eq!(p.epoll_wait(ep, 8, 0).await?.len(), 1, "re-armed by MOD");
        Ok(())
    });
    assert!(r.is_ok(), "{r}");
}

#[test]
fn an_item_lives_with_the_open_file_not_the_fd_number() {
    let r = run_one(|p| async move {
        let (a, b) = udp_pair(&p).await?;
        let ep = p.epoll_create1(0)?;
        p.epoll_ctl(
            ep,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN,
                data: a as u64,
            }),
        )?;
        let a2 = p.dup(a)?;
        p.close(a)?;
        p.send(b, b"x", 0).await?;
        p.sleep(ms(1)).await;
        let evs = p.epoll_wait(ep, 8, 0).await?;
        assert_eq!(
            evs,
            vec![EpollEvent {
                events: EPOLLIN,
                data: a as u64
            }]
        );
        assert_eq!(p.epoll_ctl(ep, EPOLL_CTL_DEL, a, None), Err(Errno::EBADF));
        p.close(a2)?;
        assert!(
            p.epoll_wait(ep, 8, 0).await?.is_empty(),
            "last close removed the item"
        );
        Ok(())
    });
    assert!(r.is_ok(), "{r}");
}

#[test]
fn epoll_wait_sleeps_until_the_callback_and_times_out() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "waiter", |p| async move {
        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(a, "127.0.0.1:7000")?;
        let ep = p.epoll_create1(0)?;
        p.epoll_ctl(
            ep,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN,
                data: 7,
            }),
        )?;
        let t0 = p.now();
        assert!(p.epoll_wait(ep, 8, 5).await?.is_empty());
        assert_eq!(p.now() - t0, ms(5), "timed out after 5 ms");
        let evs = p.epoll_wait(ep, 8, -1).await?;
        assert_eq!(
            evs,
            vec![EpollEvent {
                events: EPOLLIN,
                data: 7
            }]
        );
        let woke = p.now();
        assert!(
            woke >= ms(20) && woke < ms(21),
            "woken by the datagram at {woke}"
        );
        Ok(())
    });
    sim.spawn(h, "sender", |p| async move {
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(20)).await;
        p.sendto(b, b"x", 0, "127.0.0.1:7000").await?;
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
    let c = sim.costs(h);
    assert!(c.epoll_callbacks >= 1);
}

#[test]
fn poll_and_select_scan_every_fd_and_report_nval_and_ebadf() {
    let r = run_one(|p| async move {
        let (a, b) = udp_pair(&p).await?;
        let mut fds = [
            PollFd::new(a, POLLIN),
            PollFd::new(b, POLLOUT),
            PollFd::new(-1, POLLIN),
            PollFd::new(50, POLLIN),
        ];
        assert_eq!(p.poll(&mut fds, 0).await?, 2);
        assert_eq!(fds.map(|f| f.revents), [0, POLLOUT, 0, POLLNVAL]);
        let mut rd = FdSet::new();
        rd.set(a)?;
        let mut wr = FdSet::new();
        wr.set(b)?;
        assert_eq!(
            p.select(b + 1, Some(&mut rd), Some(&mut wr), None, Some(0))
                .await?,
            1
        );
        assert_eq!((rd.fds(), wr.fds()), (vec![], vec![b]));
        let mut bad = FdSet::new();
        bad.set(60)?;
        assert_eq!(
            p.select(61, Some(&mut bad), None, None, Some(0)).await,
            Err(Errno::EBADF)
        );
        let mut past = FdSet::new();
        past.set(600)?;
        assert_eq!(
            p.select(601, Some(&mut past), None, None, Some(0)).await,
            Ok(0),
            "past the fd table: ignored"
        );
        assert_eq!(FdSet::new().set(1024), Err(Errno::EINVAL));
        assert_eq!(
            p.select(-1, None, None, None, Some(0)).await,
            Err(Errno::EINVAL)
        );
        Ok(())
    });
    assert!(r.is_ok(), "{r}");
}

thread_local! {
    static SCANS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The stack's lists, counting the scans of `epoll_wait()`.
#[derive(Default)]
struct Counting(crate::fs::eventpoll_lists::Lists);

impl crate::fs::eventpoll_lists::EventPollLists for Counting {
    fn insert(
        &mut self,
        key: crate::fs::eventpoll_lists::EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(crate::fs::eventpoll_lists::EpKey) -> u32,
    ) -> Result<bool, Errno> {
        self.0.insert(key, event, poll)
    }
    fn modify(
        &mut self,
        key: crate::fs::eventpoll_lists::EpKey,
        event: EpollEvent,
        poll: &mut dyn FnMut(crate::fs::eventpoll_lists::EpKey) -> u32,
    ) -> Result<bool, Errno> {
        self.0.modify(key, event, poll)
    }
    fn remove(&mut self, key: crate::fs::eventpoll_lists::EpKey) -> Result<(), Errno> {
        self.0.remove(key)
    }
    fn poll_callback(
        &mut self,
        key: crate::fs::eventpoll_lists::EpKey,
        pollflags: u32,
        has_waiter: bool,
    ) -> crate::fs::eventpoll_lists::Callback {
        self.0.poll_callback(key, pollflags, has_waiter)
    }
    fn send_events(
        &mut self,
        maxevents: usize,
        poll: &mut dyn FnMut(crate::fs::eventpoll_lists::EpKey) -> u32,
    ) -> Vec<EpollEvent> {
        SCANS.with(|s| s.set(s.get() + 1));
        self.0.send_events(maxevents, poll)
    }
    fn ready_list(&self) -> Vec<crate::fs::eventpoll_lists::EpKey> {
        self.0.ready_list()
    }
    fn interest(&self, key: crate::fs::eventpoll_lists::EpKey) -> Option<EpollEvent> {
        self.0.interest(key)
    }
    fn keys(&self) -> Vec<crate::fs::eventpoll_lists::EpKey> {
        self.0.keys()
    }
}

#[test]
fn a_sim_runs_its_epoll_instances_on_the_lists_it_is_given() {
    SCANS.with(|s| s.set(0));
    let mut sim = Sim::new(1);
    sim.set_eventpoll(|| Box::<Counting>::default());
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        let (a, b) = udp_pair(&p).await?;
        let ep = p.epoll_create1(0)?;
        p.epoll_ctl(
            ep,
            EPOLL_CTL_ADD,
            a,
            Some(EpollEvent {
                events: EPOLLIN,
                data: 1,
            }),
        )?;
        p.send(b, b"x", 0).await?;
        p.sleep(ms(1)).await;
        assert_eq!(p.epoll_wait(ep, 8, 0).await?.len(), 1);
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
    assert_eq!(
        SCANS.with(|s| s.get()),
        1,
        "the one epoll_wait() scanned the given lists"
    );
}
