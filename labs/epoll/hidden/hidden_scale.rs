//! Hidden: `epoll_wait()` costs grow with the ready fds, not the watched
//! ones, counted in polls of a file (`->poll` calls), not in time.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

lab_receipt::graded! {
    fn a_scan_polls_only_the_ready_list() {
        let mut ep = lists();
        let mut f = Files::default();
        for n in 0..10_000u64 {
            add(ep.as_mut(), &mut f, key(n, n as i32), EPOLLIN, n).unwrap();
        }
        assert_eq!(f.polls, 10_000, "each add polls its file once");
        let hot = [17u64, 4242, 9999];
        for &n in &hot {
            f.set(key(n, n as i32), EPOLLIN);
            cb(ep.as_mut(), key(n, n as i32), DATA_READY, true);
        }
        assert_eq!(f.polls, 10_000, "a callback polls nothing");
        let before = f.polls;
        assert_eq!(wait(ep.as_mut(), &mut f, 64), hot.map(|n| (EPOLLIN, n)).to_vec());
        assert_eq!(f.polls - before, 3, "three ready, three polls");
        for &n in &hot {
            f.set(key(n, n as i32), 0);
        }
        let before = f.polls;
        assert!(wait(ep.as_mut(), &mut f, 64).is_empty());
        assert_eq!(f.polls - before, 3, "the level-triggered three are looked at once more");
        let before = f.polls;
        assert!(wait(ep.as_mut(), &mut f, 64).is_empty());
        assert_eq!(f.polls - before, 0, "an empty ready list costs nothing");
    }

    fn in_the_stack_epoll_wait_polls_the_ready_fds_only() {
        // The same program watching 10 and 500 sockets, three of which
        // get a datagram: the fds polled beyond the adds do not change.
        let run = |student: bool, n: u16| {
            run_scenario(student, move |p, log| async move {
                let ep = p.epoll_create1(0)?;
                let mut fds = Vec::new();
                for i in 0..n {
                    let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
                    p.bind(fd, format!("127.0.0.1:{}", 9000 + i))?;
                    p.epoll_ctl(ep, EPOLL_CTL_ADD, fd, Some(EpollEvent { events: EPOLLIN, data: u64::from(i) }))?;
                    fds.push(fd);
                }
                let tx = p.socket(AF_INET, SOCK_DGRAM, 0)?;
                for i in [1u16, 5, 7] {
                    p.sendto(tx, b"x", 0, format!("127.0.0.1:{}", 9000 + i)).await?;
                }
                p.sleep(ms(1)).await;
                let r = p.epoll_wait(ep, 64, 0).await;
                note(&log, show(r));
                let mut buf = [0u8; 4];
                for i in [1usize, 5, 7] {
                    p.recv(fds[i], &mut buf, 0).await?;
                }
                for _ in 0..2 {
                    let r = p.epoll_wait(ep, 64, 0).await;
                    note(&log, show(r));
                }
                Ok(())
            })
        };
        let polls_beyond_adds = |log: &[String], n: u64| -> u64 {
            let last = log.last().expect("counters");
            let polled: u64 = last.rsplit(' ').next().and_then(|s| s.parse().ok()).expect("a number");
            polled - n
        };
        let small = run(false, 10);
        let big = run(false, 500);
        assert!(small.iter().any(|l| l == "ran to the end: true"), "{small:#?}");
        assert_eq!(polls_beyond_adds(&small, 10), polls_beyond_adds(&big, 500));
        let yours_small = run(true, 10);
        let yours_big = run(true, 500);
        assert_eq!(yours_small, small);
        assert_eq!(polls_beyond_adds(&yours_big, 500), polls_beyond_adds(&big, 500), "{yours_big:#?}");
        assert_eq!(yours_big, big);
    }
}
