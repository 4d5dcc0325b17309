//! Hidden tests: your components inside the simulated stack, compared with
//! the stack's own.

use std::cell::RefCell;
use std::rc::Rc;

use lab_queues::{DescRing, Errno as LabErrno, RcvQueue, plug_rx_ring, rx_skb, udp_recvmsg};
use stack::netdev::ring::RxRing;
use stack::prelude::*;
use stack::skbuff::SkBuff;

/// What a run shows from user space and `ip -s link` / `nstat`.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    read: Vec<(u32, usize)>,
    rx_packets: u64,
    rx_missed: u64,
    rcvbuf_errors: u64,
    rcvbuf: i32,
}

/// A burst of `sizes.len()` datagrams over a fast link to a reader that
/// sleeps through it, then reads everything. The reader's NIC receives into
/// `ring` when given.
fn burst(sizes: &[usize], so_rcvbuf: i32, ring: Option<Box<dyn RxRing<SkBuff>>>) -> Seen {
    let mut sim = Sim::new(7);
    let a = sim.add_host("sender");
    let b = sim.add_host("reader");
    let link = LinkConfig::default()
        .bandwidth_bps(100_000_000_000)
        .latency(us(1))
        .mtu(9000);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", link);
    if let Some(ring) = ring {
        sim.set_rx_ring(b, "eth0", ring)
            .expect("b has an idle eth0");
    }
    let read = Rc::new(RefCell::new(Vec::new()));
    let rcvbuf = Rc::new(RefCell::new(0));
    let (r, rb) = (read.clone(), rcvbuf.clone());
    sim.spawn(b, "reader", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, so_rcvbuf)?;
        *rb.borrow_mut() = p.getsockopt(fd, SOL_SOCKET, SO_RCVBUF)?;
        p.bind(fd, "0.0.0.0:5000")?;
        p.sleep(ms(5)).await;
        let mut buf = [0u8; 9000];
        loop {
            match p.recv(fd, &mut buf, MSG_DONTWAIT).await {
                Ok(n) => {
                    let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                    r.borrow_mut().push((seq, n));
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    let sizes = sizes.to_vec();
    sim.spawn(a, "sender", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(1)).await;
        for (seq, &size) in sizes.iter().enumerate() {
            let mut msg = vec![seq as u8; size.max(4)];
            msg[..4].copy_from_slice(&(seq as u32).to_be_bytes());
            p.sendto(fd, &msg, 0, "10.0.0.2:5000").await?;
        }
        Ok(())
    });
    sim.run();
    let stats = sim.dev_stats(b, "eth0").expect("eth0");
    let read = read.borrow().clone();
    let rcvbuf = *rcvbuf.borrow();
    Seen {
        read,
        rx_packets: stats.rx_packets,
        rx_missed: stats.rx_missed,
        rcvbuf_errors: sim.counter(b, Mib::UdpRcvbufErrors),
        rcvbuf,
    }
}

lab_receipt::graded! {
    /// A small RX ring of yours in the reader's NIC drops exactly the frames
    /// the stack's own ring of that size drops, and the reader gets the same
    /// datagrams.
    fn your_ring_in_the_nic() {
        let sizes = vec![200; 80];
        for size in [1usize, 4, 8, 16] {
            let theirs = burst(&sizes, 1 << 20, Some(Box::new(stack::netdev::ring::DescRing::new(size))));
            let yours = burst(&sizes, 1 << 20, Some(Box::new(DescRing::<SkBuff>::new(size))));
            assert!(theirs.rx_missed > 0, "the scenario must overflow a ring of {size}");
            assert_eq!(
                (yours.rx_packets, yours.rx_missed, yours.rcvbuf_errors),
                (theirs.rx_packets, theirs.rx_missed, theirs.rcvbuf_errors),
                "ring of {size}: (rx_packets, rx_missed, RcvbufErrors)"
            );
            assert_eq!(yours.read, theirs.read, "ring of {size}: datagrams read");
        }
        // plug_rx_ring is the same thing.
        let mut sim = Sim::new(1);
        let a = sim.add_host("a");
        let b = sim.add_host("b");
        sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
        assert_eq!(plug_rx_ring(&mut sim, b, "eth0", DescRing::new(4)), Ok(()));
        assert_eq!(plug_rx_ring(&mut sim, b, "eth9", DescRing::new(4)), Err(LabErrno::ENODEV));
    }

    /// Your receive queue admits and drops exactly the datagrams the stack's
    /// UDP socket does with the same buffer, and your udp_recvmsg reads them
    /// the same.
    fn your_queue_drops_what_udp_drops() {
        let sizes: Vec<usize> = (0..40).map(|i| [200, 1400, 60, 3000, 9000 - 42 - 20][i % 5]).collect();
        for so_rcvbuf in [0, 1024, 4096, 6000, 20_000] {
            let theirs = burst(&sizes, so_rcvbuf, None);
            assert_eq!(theirs.rx_missed, 0);
            let mut q = RcvQueue::new(theirs.rcvbuf as usize);
            for (seq, &size) in sizes.iter().enumerate() {
                let mut msg = vec![seq as u8; size.max(4)];
                msg[..4].copy_from_slice(&(seq as u32).to_be_bytes());
                let _ = q.enqueue(rx_skb(&msg));
            }
            let mut read = Vec::new();
            let mut buf = [0u8; 9000];
            while let Ok(r) = udp_recvmsg(&mut q, &mut buf, 0) {
                read.push((u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]), r.ret));
                assert!(read.len() <= sizes.len(), "more datagrams read than sent");
            }
            assert!(theirs.rcvbuf_errors > 0, "SO_RCVBUF {so_rcvbuf} must drop some");
            assert_eq!(q.drops(), theirs.rcvbuf_errors, "SO_RCVBUF {so_rcvbuf}: drops");
            assert_eq!(read, theirs.read, "SO_RCVBUF {so_rcvbuf}: datagrams read");
        }
    }
}
