//! Hidden tests: your components inside the simulated stack. When graded,
//! the stack itself is built from your files, so "the stack's own" below is
//! your code too: each check's values are compared with the same test run
//! on the reference solution (the grader's judge), which is what catches a
//! difference.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use std::cell::RefCell;
use std::rc::Rc;

use lab_queues::{
    DescRing, Errno as LabErrno, RcvQueue, plug_rx_ring, rx_segment, rx_skb, tcp_recvmsg,
    udp_recvmsg,
};
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

/// The reads a reader makes: (buffer length, MSG_PEEK).
const READS: [(usize, bool); 14] = [
    (10, true),
    (700, false),
    (3000, true),
    (1, false),
    (5000, false),
    (0, false),
    (4096, true),
    (4096, false),
    (1448, false),
    (20000, true),
    (9000, false),
    (100, false),
    (100, true),
    (1, false),
];
/// What the writer writes, in these pieces: 20000 bytes.
const WRITES: [usize; 6] = [1000, 1, 7000, 1448, 3000, 7551];

fn stream() -> Vec<u8> {
    (0..WRITES.iter().sum::<usize>())
        .map(|i| (i % 251) as u8)
        .collect()
}

/// What each read returned (bytes, or the errno's number) and the bytes.
type Reads = Vec<(Result<usize, i32>, Vec<u8>)>;

/// The stack's TCP: a writer sends the stream, a reader waits until it is
/// all there and makes [`READS`] without blocking.
fn tcp_reads_in_the_stack() -> Reads {
    let mut sim = Sim::new(3);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    sim.spawn(b, "reader", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:7000")?;
        p.listen(lfd, 8)?;
        let (fd, _) = p.accept(lfd).await?;
        p.sleep(ms(100)).await;
        for (len, peek) in READS {
            let mut buf = vec![0u8; len];
            let flags = MSG_DONTWAIT | if peek { MSG_PEEK } else { 0 };
            let r = p.recv(fd, &mut buf, flags).await;
            let n = *r.as_ref().unwrap_or(&0);
            o.borrow_mut()
                .push((r.map_err(|e| e as i32), buf[..n].to_vec()));
        }
        Ok(())
    });
    sim.spawn(a, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:7000").await?;
        let s = stream();
        let mut at = 0;
        for len in WRITES {
            p.write(fd, &s[at..at + len]).await?;
            at += len;
        }
        p.sleep(ms(500)).await;
        Ok(())
    });
    sim.run();
    out.take()
}

/// Datagrams the UDP writer sends, and the reads the reader makes:
/// (buffer length, MSG_PEEK, MSG_TRUNC).
const DGRAMS: [usize; 7] = [0, 5, 1400, 300, 1, 1472, 64];
const DGRAM_READS: [(usize, bool, bool); 11] = [
    (100, false, false),
    (0, true, true),
    (3, false, false),
    (0, true, true),
    (100, true, false),
    (100, false, true),
    (300, false, false),
    (0, false, false),
    (1472, false, true),
    (10, false, true),
    (64, false, false),
];

fn datagram(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 37 + j) as u8).collect()
}

/// The stack's UDP: [`DGRAMS`] arrive while the reader sleeps, then it
/// makes [`DGRAM_READS`] without blocking.
fn udp_reads_in_the_stack() -> Reads {
    let mut sim = Sim::new(5);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    sim.spawn(b, "reader", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:5000")?;
        p.sleep(ms(10)).await;
        for (len, peek, trunc) in DGRAM_READS {
            let mut buf = vec![0u8; len];
            let flags =
                MSG_DONTWAIT | if peek { MSG_PEEK } else { 0 } | if trunc { MSG_TRUNC } else { 0 };
            let r = p.recv(fd, &mut buf, flags).await;
            let n = (*r.as_ref().unwrap_or(&0)).min(len);
            o.borrow_mut()
                .push((r.map_err(|e| e as i32), buf[..n].to_vec()));
        }
        Ok(())
    });
    sim.spawn(a, "writer", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sleep(ms(1)).await;
        for (i, len) in DGRAMS.into_iter().enumerate() {
            p.sendto(fd, &datagram(i, len), 0, "10.0.0.2:5000").await?;
        }
        Ok(())
    });
    sim.run();
    out.take()
}

lab_receipt::graded! {
    /// Your udp_recvmsg returns what the stack's UDP returns to the same
    /// reads of the same datagrams (empty ones, empty buffers, MSG_PEEK,
    /// MSG_TRUNC), and truncates where it flags truncation.
    fn your_datagram_reads_as_udp_does() {
        let theirs = udp_reads_in_the_stack();
        assert_eq!(theirs.len(), DGRAM_READS.len());
        let mut q = RcvQueue::new(1 << 20);
        for (i, len) in DGRAMS.into_iter().enumerate() {
            q.enqueue(rx_skb(&datagram(i, len))).expect("room");
        }
        let sizes: Vec<usize> = DGRAMS.to_vec();
        let mut next = 0;
        for (i, (len, peek, trunc)) in DGRAM_READS.into_iter().enumerate() {
            let mut buf = vec![0u8; len];
            let flags = if peek { lab_queues::MSG_PEEK } else { 0 }
                | if trunc { lab_queues::MSG_TRUNC } else { 0 };
            let r = udp_recvmsg(&mut q, &mut buf, flags);
            let ret = r.map(|r| r.ret).map_err(|e| e as i32);
            assert_eq!(ret, theirs[i].0, "read {i} {:?}: return value", DGRAM_READS[i]);
            let n = ret.unwrap_or(0).min(len);
            assert!(buf[..n] == theirs[i].1[..], "read {i}: bytes differ");
            if let Ok(r) = r {
                let size = sizes.get(next).copied().unwrap_or(0);
                let cut = if size > len { lab_queues::MSG_TRUNC } else { 0 };
                assert_eq!(r.msg_flags, cut, "read {i}: msg_flags");
                if !peek {
                    next += 1;
                }
            }
        }
        assert_eq!(theirs.last().map(|r| r.0), Some(Err(Errno::EAGAIN as i32)));
    }

    /// Your tcp_recvmsg returns what the stack's TCP returns to the same
    /// reads of the same stream (cut into segments its own way, starting
    /// just before the sequence numbers wrap).
    fn your_stream_reads_as_tcp_does() {
        let theirs = tcp_reads_in_the_stack();
        assert_eq!(theirs.len(), READS.len());
        // The scenario reaches the end of what was sent.
        assert_eq!(theirs.last().map(|r| r.0), Some(Err(Errno::EAGAIN as i32)));
        for first in [0u32, u32::MAX - 5000] {
            let s = stream();
            let mut q = RcvQueue::new(1 << 20);
            let mut seq = first;
            for chunk in s.chunks(1448) {
                q.enqueue(rx_segment(seq, chunk)).expect("room");
                seq = seq.wrapping_add(chunk.len() as u32);
            }
            let mut copied_seq = first;
            let mut yours: Reads = Vec::new();
            for (len, peek) in READS {
                let mut buf = vec![0u8; len];
                let flags = if peek { lab_queues::MSG_PEEK } else { 0 };
                let r = tcp_recvmsg(&mut q, &mut copied_seq, &mut buf, flags);
                let n = *r.as_ref().unwrap_or(&0);
                yours.push((r.map_err(|e| e as i32), buf[..n.min(len)].to_vec()));
            }
            for (i, (y, t)) in yours.iter().zip(&theirs).enumerate() {
                assert_eq!(y.0, t.0, "read {i} {:?}: return value", READS[i]);
                assert!(y.1 == t.1, "read {i} {:?}: bytes differ", READS[i]);
            }
        }
    }

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
