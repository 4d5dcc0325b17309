use std::cell::RefCell;
use std::rc::Rc;

use crate::net::core::errqueue::SockExtendedErr;
use crate::net::core::skbuff::zerocopy::notify::skb_zerocopy_notify_extend as zerocopy_notify_extend;
use crate::prelude::*;

fn zc_range(lo: u32, hi: u32) -> SockExtendedErr {
    SockExtendedErr {
        ee_origin: SO_EE_ORIGIN_ZEROCOPY,
        ee_info: lo,
        ee_data: hi,
        ..SockExtendedErr::default()
    }
}

#[test]
fn consecutive_ranges_merge_and_a_gap_does_not() {
    let mut n = zc_range(0, 2);
    assert!(zerocopy_notify_extend(&mut n, 3, 1));
    assert_eq!((n.ee_info, n.ee_data), (0, 3));
    assert!(zerocopy_notify_extend(&mut n, 4, 5));
    assert_eq!((n.ee_info, n.ee_data), (0, 8));
    // 10 leaves out 9: no merge, the range is unchanged.
    assert!(!zerocopy_notify_extend(&mut n, 10, 1));
    // An earlier range does not merge either.
    assert!(!zerocopy_notify_extend(&mut n, 0, 1));
    assert_eq!((n.ee_info, n.ee_data), (0, 8));
}

#[test]
fn ids_wrap_but_a_range_never_covers_all_of_them() {
    let mut n = zc_range(u32::MAX - 1, u32::MAX);
    assert!(zerocopy_notify_extend(&mut n, 0, 2));
    assert_eq!((n.ee_info, n.ee_data), (u32::MAX - 1, 1));
    // 2^32 ids in one range would be ambiguous.
    let mut full = zc_range(1, u32::MAX);
    assert!(!zerocopy_notify_extend(&mut full, 0, 1));
}

/// The sender's view after a scenario.
#[derive(Debug, Default)]
struct Seen {
    notes: Vec<SockExtendedErr>,
    after: Option<Errno>,
    costs: crate::kernel::host::Costs,
    pollerr_before: bool,
    pollerr_after: bool,
    optmem_before: u32,
    optmem_after: u32,
}

/// Reads the error queue until `EAGAIN`, noting poll and optmem around it.
async fn drain(p: &Process, fd: i32, seen: &mut Seen) -> SysResult<()> {
    seen.optmem_before = p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM];
    seen.pollerr_before = pollerr(p, fd).await?;
    loop {
        match p.recv_errqueue(fd) {
            Ok(m) => {
                assert_eq!(m.len, 0);
                assert_eq!(m.msg_flags, MSG_ERRQUEUE);
                assert_eq!((m.cmsg_level, m.cmsg_type), (SOL_IP, IP_RECVERR));
                seen.notes.push(m.ee);
            }
            Err(e) => {
                seen.after = Some(e);
                break;
            }
        }
    }
    seen.pollerr_after = pollerr(p, fd).await?;
    seen.optmem_after = p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM];
    Ok(())
}

async fn pollerr(p: &Process, fd: i32) -> SysResult<bool> {
    let mut fds = [PollFd::new(fd, POLLIN)];
    p.poll(&mut fds, 0).await?;
    Ok(fds[0].revents & POLLERR != 0)
}

/// A TCP sender on `a` sends `sends` buffers of `len` bytes with `flags`
/// to a reader on `b` (or on `a` itself over loopback), which reads it all;
/// then the sender drains its error queue.
fn tcp_scenario(
    link: Option<LinkConfig>,
    zerocopy: bool,
    flags: i32,
    sends: usize,
    len: usize,
) -> Seen {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let (b, dst) = match link {
        Some(cfg) => {
            let b = sim.add_host("b");
            sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
            (b, "10.0.0.2:7000")
        }
        None => (a, "127.0.0.1:7000"),
    };
    let total = sends * len;
    sim.spawn(b, "reader", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 65536];
        let mut got = 0;
        while got < total {
            let n = p.read(fd, &mut buf).await?;
            assert!(n > 0, "early end of stream");
            got += n;
        }
        Ok(())
    });
    let seen = Rc::new(RefCell::new(Seen::default()));
    let out = seen.clone();
    sim.spawn(a, "sender", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if zerocopy {
            p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        }
        p.connect(fd, dst).await?;
        let data = vec![7u8; len];
        let before = p.costs();
        for _ in 0..sends {
            assert_eq!(p.send(fd, &data, flags).await?, len);
        }
        // Long enough for every byte to be acknowledged.
        p.sleep(ms(500)).await;
        let after = p.costs();
        let mut seen = Seen {
            costs: crate::kernel::host::Costs {
                pages_pinned: after.pages_pinned - before.pages_pinned,
                copied_from_user: after.copied_from_user - before.copied_from_user,
                copied_ubufs: after.copied_ubufs - before.copied_ubufs,
                ..Default::default()
            },
            ..Seen::default()
        };
        drain(&p, fd, &mut seen).await?;
        *out.borrow_mut() = seen;
        Ok(())
    });
    assert!(sim.run().is_ok());
    seen.take()
}

#[test]
fn loopback_zerocopy_is_copied_on_the_way_in_and_notified_as_copied() {
    let s = tcp_scenario(None, true, MSG_ZEROCOPY, 3, 100_000);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    let n = s.notes[0];
    assert_eq!((n.ee_info, n.ee_data), (0, 2));
    assert_eq!(n.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
    assert_eq!(n.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
    assert_eq!(n.ee_errno, 0);
    assert_eq!(s.after, Some(Errno::EAGAIN));
    // 100 000 bytes span 25 pages; nothing came in by copy_from_user, and
    // the receive path copied all of it out of the pinned pages.
    assert_eq!(s.costs.pages_pinned, 75);
    assert_eq!(s.costs.copied_from_user, 0);
    assert_eq!(s.costs.copied_ubufs, 300_000);
    assert!(s.pollerr_before && !s.pollerr_after);
    assert_eq!(
        (s.optmem_before, s.optmem_after),
        (crate::net::core::skbuff::skb_truesize_for(0) as u32, 0)
    );
}

#[test]
fn without_so_zerocopy_the_flag_is_ignored() {
    let s = tcp_scenario(None, false, MSG_ZEROCOPY, 3, 100_000);
    assert!(s.notes.is_empty());
    assert_eq!(s.after, Some(Errno::EAGAIN));
    assert_eq!(s.costs.copied_from_user, 300_000);
    assert_eq!(s.costs.pages_pinned, 0);
    assert!(!s.pollerr_before);
}

#[test]
fn a_nic_that_gathers_sends_from_the_users_pages() {
    let cfg = LinkConfig::default().scatter_gather(true);
    let s = tcp_scenario(Some(cfg), true, MSG_ZEROCOPY, 4, 64 * 1024);
    assert_eq!(s.costs.copied_from_user, 0);
    assert_eq!(s.costs.copied_ubufs, 0);
    assert_eq!(s.costs.pages_pinned, 64);
    let ids: Vec<(u32, u32)> = s.notes.iter().map(|n| (n.ee_info, n.ee_data)).collect();
    assert_eq!(ids, vec![(0, 3)]);
    assert_eq!(s.notes[0].ee_code, 0, "really zero-copy");
}

#[test]
fn a_nic_without_scatter_gather_copies_and_notifies_at_once() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    sim.spawn(b, "reader", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 10_000];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        let before = p.costs();
        p.send(fd, &[1u8; 10_000], MSG_ZEROCOPY).await?;
        // No ACK yet, but nothing holds the buffer: the bytes were copied.
        let m = p.recv_errqueue(fd)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data), (0, 0));
        assert_eq!(m.ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
        assert_eq!(p.costs().copied_from_user - before.copied_from_user, 10_000);
        assert_eq!(p.costs().pages_pinned, 0);
        p.close(fd)
    });
    assert!(sim.run().is_ok());
}

#[test]
fn pages_stay_referenced_until_the_ack_frees_the_segments() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default().scatter_gather(true).latency(ms(10));
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.spawn(b, "reader", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 10_000];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        p.send(fd, &[1u8; 8192], MSG_ZEROCOPY).await?;
        // Two pages, each in a write-queue segment (and, while the NIC
        // sends, in the frame's skb too).
        let held = p.zerocopy_pages(fd)?;
        assert_eq!(held.pages, 2);
        assert!(held.refs >= 2, "{held:?}");
        assert_eq!(p.recv_errqueue(fd).map(|_| ()), Err(Errno::EAGAIN));
        // The frames are out, the ACK is 20 ms away: still held.
        p.sleep(ms(5)).await;
        let held = p.zerocopy_pages(fd)?;
        assert_eq!(held.pages, 2);
        assert_eq!(p.recv_errqueue(fd).map(|_| ()), Err(Errno::EAGAIN));
        // After the ACK the segments are freed, and with them the pages.
        p.sleep(ms(30)).await;
        assert_eq!(p.zerocopy_pages(fd)?, PinnedPages::default());
        let m = p.recv_errqueue(fd)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data, m.ee.ee_code), (0, 0, 0));
        p.close(fd)
    });
    assert!(sim.run().is_ok());
}

#[test]
fn setsockopt_values_and_socket_types() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        let t = p.socket(AF_INET, SOCK_STREAM, 0)?;
        assert_eq!(p.getsockopt(t, SOL_SOCKET, SO_ZEROCOPY)?, 0);
        assert_eq!(
            p.setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, 2),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, -1),
            Err(Errno::EINVAL)
        );
        p.setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        assert_eq!(p.getsockopt(t, SOL_SOCKET, SO_ZEROCOPY)?, 1);
        // An unconnected socket fails with EPIPE and gives its id back.
        assert_eq!(
            p.send(t, b"x", MSG_ZEROCOPY | MSG_NOSIGNAL).await,
            Err(Errno::EPIPE)
        );
        assert_eq!(p.recv_errqueue(t).map(|_| ()), Err(Errno::EAGAIN));
        assert_eq!(p.recv_errqueue(99).map(|_| ()), Err(Errno::EBADF));
        assert_eq!(p.recv_errqueue(0).map(|_| ()), Err(Errno::ENOTSOCK));
        Ok(())
    });
    assert!(sim.run().is_ok());
}

#[test]
fn accepted_sockets_inherit_so_zerocopy() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        p.setsockopt(l, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.bind(l, "127.0.0.1:7000")?;
        p.listen(l, 1)?;
        let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(c, "127.0.0.1:7000").await?;
        let (a, _) = p.accept(l).await?;
        assert_eq!(p.getsockopt(a, SOL_SOCKET, SO_ZEROCOPY)?, 1);
        assert_eq!(p.getsockopt(c, SOL_SOCKET, SO_ZEROCOPY)?, 0);
        Ok(())
    });
    assert!(sim.run().is_ok());
}

#[test]
fn a_send_joining_unsent_data_shares_its_buffer() {
    // A slow link: the first send fills the initial window, so the second
    // finds unsent data of the first at the tail and joins its buffer.
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default()
        .scatter_gather(true)
        .bandwidth_bps(10_000_000);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.spawn(b, "reader", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 65536];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        let one = crate::net::core::skbuff::skb_truesize_for(0) as u32;
        p.send(fd, &[1u8; 40_000], MSG_ZEROCOPY).await?;
        assert_eq!(p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM], one);
        p.send(fd, &[2u8; 40_000], MSG_ZEROCOPY).await?;
        // Still one buffer: ids 0 and 1 share it.
        assert_eq!(p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM], one);
        p.sleep(ms(200)).await;
        let m = p.recv_errqueue(fd)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data, m.ee.ee_code), (0, 1, 0));
        assert_eq!(p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM], 0);
        p.close(fd)
    });
    assert!(sim.run().is_ok());
}

/// UDP over a link and over loopback from one socket: the loopback send
/// completes first, so its notification is queued first, and the link
/// one, whose id comes before it, cannot merge into it.
#[test]
fn out_of_order_completions_leave_a_gap() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default().scatter_gather(true);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.spawn(b, "sink", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 2000];
        p.recvfrom(fd, &mut buf, 0).await?;
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let lo = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(lo, "127.0.0.1:9000")?;
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.sleep(ms(1)).await; // let ARP resolve first
        p.sendto(fd, &[0u8; 1000], MSG_ZEROCOPY, "10.0.0.2:9000")
            .await?;
        p.sendto(fd, &[1u8; 1000], MSG_ZEROCOPY, "127.0.0.1:9000")
            .await?;
        p.sleep(ms(10)).await;
        let first = p.recv_errqueue(fd)?.ee;
        let second = p.recv_errqueue(fd)?.ee;
        assert_eq!((first.ee_info, first.ee_data), (1, 1));
        assert_eq!(first.ee_code, SO_EE_CODE_ZEROCOPY_COPIED, "loopback");
        assert_eq!((second.ee_info, second.ee_data), (0, 0));
        assert_eq!(second.ee_code, 0, "the NIC sent from the pages");
        assert_eq!(p.recv_errqueue(fd).map(|_| ()), Err(Errno::EAGAIN));
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn optmem_max_bounds_the_buffers_not_yet_notified() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default().scatter_gather(true);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    // Room for two notification skbs (832 each; the check adds
    // SKB_TRUESIZE(0) = 576 to what is charged).
    sim.sysctl(a, "net.core.optmem_max", "2000").unwrap();
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.sendto(fd, b"warm up ARP", 0, "10.0.0.2:9000").await?;
        p.sleep(ms(1)).await;
        // Three datagrams at one instant: the first two still sit in the
        // NIC's queue when the third asks for a buffer.
        p.sendto(fd, &[0u8; 100], MSG_ZEROCOPY, "10.0.0.2:9000")
            .await?;
        p.sendto(fd, &[0u8; 100], MSG_ZEROCOPY, "10.0.0.2:9000")
            .await?;
        assert_eq!(
            p.sendto(fd, &[0u8; 100], MSG_ZEROCOPY, "10.0.0.2:9000")
                .await,
            Err(Errno::ENOBUFS)
        );
        // Once they are sent the two merge into one unread notification,
        // and the id the failed send did not use goes to the next.
        p.sleep(ms(1)).await;
        p.sendto(fd, &[0u8; 100], MSG_ZEROCOPY, "10.0.0.2:9000")
            .await?;
        p.sleep(ms(1)).await;
        let m = p.recv_errqueue(fd)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data), (0, 2));
        assert_eq!(p.recv_errqueue(fd).map(|_| ()), Err(Errno::EAGAIN));
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn udp_on_loopback_notifies_each_datagram_even_an_empty_one() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("h");
    sim.spawn(h, "p", |p| async move {
        let r = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(r, "127.0.0.1:9000")?;
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        // Without SO_ZEROCOPY: copied, no notification.
        p.sendto(u, &[5u8; 100], MSG_ZEROCOPY, "127.0.0.1:9000")
            .await?;
        assert_eq!(p.recv_errqueue(u).map(|_| ()), Err(Errno::EAGAIN));
        p.setsockopt(u, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        for _ in 0..3 {
            p.sendto(u, &[5u8; 1000], MSG_ZEROCOPY, "127.0.0.1:9000")
                .await?;
        }
        // No address on an unconnected socket: no id taken.
        assert_eq!(
            p.send(u, b"z", MSG_ZEROCOPY).await,
            Err(Errno::EDESTADDRREQ)
        );
        let m = p.recv_errqueue(u)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data), (0, 2));
        assert_eq!(m.ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
        assert_eq!(p.sendto(u, &[], MSG_ZEROCOPY, "127.0.0.1:9000").await?, 0);
        let m = p.recv_errqueue(u)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data), (3, 3));
        let mut buf = [0u8; 2000];
        for want in [100, 1000, 1000, 1000, 0] {
            let (n, _) = p.recvfrom(r, &mut buf, 0).await?;
            assert_eq!(n, want);
        }
        Ok(())
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}

#[test]
fn a_buffer_covers_at_most_512_kib_of_sends() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default()
        .scatter_gather(true)
        .bandwidth_bps(10_000_000);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.spawn(b, "reader", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 65536];
        while p.read(fd, &mut buf).await? > 0 {}
        Ok(())
    });
    sim.spawn(a, "sender", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 2 << 20)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        let one = crate::net::core::skbuff::skb_truesize_for(0) as u32;
        p.send(fd, &[1u8; 300_000], MSG_ZEROCOPY).await?;
        // 600 000 bytes would pass 512 KiB: a second buffer.
        p.send(fd, &[2u8; 300_000], MSG_ZEROCOPY).await?;
        assert_eq!(p.so_meminfo(fd)?[SK_MEMINFO_OPTMEM], 2 * one);
        p.sleep(secs(2)).await;
        let m = p.recv_errqueue(fd)?;
        assert_eq!((m.ee.ee_info, m.ee.ee_data), (0, 1), "merged on the queue");
        p.close(fd)
    });
    let r = sim.run();
    assert!(r.is_ok(), "{r}");
}
