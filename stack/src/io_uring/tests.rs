//! io_uring as a program sees it: setup limits, operations that complete at
//! once and ones that are armed until their file is ready, batching, and a
//! ring closed with requests still armed.

use super::{IoOp, Sqe};
use crate::prelude::*;

fn sqe(op: IoOp, user_data: u64) -> Sqe {
    Sqe { op, user_data }
}

#[test]
fn setup_rounds_up_and_refuses_what_the_kernel_refuses() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        assert_eq!(p.io_uring_setup(0), Err(Errno::EINVAL));
        assert_eq!(p.io_uring_setup(32769), Err(Errno::EINVAL));
        let ring = p.io_uring_setup(3)?;
        for i in 0..4 {
            p.io_uring_push(ring, sqe(IoOp::Nop, i))?;
        }
        assert_eq!(p.io_uring_push(ring, sqe(IoOp::Nop, 9)), Err(Errno::EBUSY));
        assert_eq!(p.io_uring_enter(ring, 4, 4).await, Ok(4));
        let done: Vec<u64> = std::iter::from_fn(|| p.io_uring_pop(ring).ok().flatten())
            .map(|c| c.user_data)
            .collect();
        assert_eq!(done, [0, 1, 2, 3]);
        let udp = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        assert_eq!(p.io_uring_enter(udp, 0, 0).await, Err(Errno::EOPNOTSUPP));
        assert_eq!(p.io_uring_enter(77, 0, 0).await, Err(Errno::EBADF));
        assert!(p.fd_table().contains("anon_inode:[io_uring]"));
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn a_receive_is_armed_until_data_arrives_then_completes_with_it() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "server", |p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(u, "127.0.0.1:9000")?;
        let ring = p.io_uring_setup(8)?;
        p.io_uring_push(ring, sqe(IoOp::Recv { fd: u, len: 16 }, 1))?;
        p.io_uring_push(
            ring,
            sqe(
                IoOp::PollAdd {
                    fd: u,
                    events: POLLIN,
                },
                2,
            ),
        )?;
        let before = p.process_costs().syscalls;
        // Nothing is there yet: both are armed, and the call sleeps.
        assert_eq!(p.io_uring_enter(ring, 2, 2).await, Ok(2));
        assert_eq!(
            p.process_costs().syscalls - before,
            1,
            "one system call for both"
        );
        let mut got = Vec::new();
        while let Some(c) = p.io_uring_pop(ring)? {
            got.push((c.user_data, c.res, c.data));
        }
        got.sort();
        assert_eq!(got[0], (1, 5, b"hello".to_vec()));
        assert_eq!(got[1].0, 2);
        assert_ne!(got[1].1 as u32 & POLLIN, 0);
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(5)).await;
        p.sendto(u, b"hello", 0, "127.0.0.1:9000").await?;
        p.sleep(ms(5)).await;
        p.sendto(u, b"again", 0, "127.0.0.1:9000").await?;
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn accept_and_send_complete_and_errors_come_back_as_negative_errno() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let ring = p.io_uring_setup(4)?;
        p.io_uring_push(ring, sqe(IoOp::Accept { fd: l }, 1))?;
        p.io_uring_push(ring, sqe(IoOp::Recv { fd: 99, len: 4 }, 2))?;
        p.io_uring_enter(ring, 2, 2).await?;
        let a = p.io_uring_pop(ring)?.expect("a completion");
        let b = p.io_uring_pop(ring)?.expect("a completion");
        let (bad, acc) = if a.user_data == 2 { (a, b) } else { (b, a) };
        assert_eq!(bad.res, -(Errno::EBADF as i32));
        let conn = acc.res;
        assert!(conn > l, "accept gave fd {conn}");
        p.io_uring_push(
            ring,
            sqe(
                IoOp::Send {
                    fd: conn,
                    data: b"hi".to_vec(),
                },
                3,
            ),
        )?;
        p.io_uring_enter(ring, 1, 1).await?;
        assert_eq!(p.io_uring_pop(ring)?.map(|c| c.res), Some(2));
        Ok(())
    });
    sim.spawn(h, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.sleep(ms(1)).await;
        p.connect(fd, "127.0.0.1:8080").await?;
        let mut buf = [0u8; 2];
        assert_eq!(p.read(fd, &mut buf).await?, 2);
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn closing_a_ring_unhooks_its_armed_requests_and_a_forever_wait_is_reported() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(u, "127.0.0.1:9000")?;
        let ring = p.io_uring_setup(2)?;
        p.io_uring_push(ring, sqe(IoOp::Recv { fd: u, len: 4 }, 1))?;
        p.io_uring_enter(ring, 1, 0).await?;
        p.close(ring)?;
        let world = p.world.borrow();
        let (_, sk) = world.sockfd_lookup(p.pid(), u)?;
        assert!(world.sk(sk).wq.is_empty(), "no entry left on the socket");
        Ok(())
    });
    sim.spawn(h, "waiter", |p| async move {
        let ring = p.io_uring_setup(2)?;
        p.io_uring_enter(ring, 0, 1).await?;
        Ok(())
    });
    let r = sim.run();
    let text = r.to_string();
    assert!(text.contains("io_uring_enter"), "{text}");
    assert!(text.contains("completions on its io_uring"), "{text}");
}
