//! # Lab: the receive path's queues
//!
//! A received packet waits in two queues on its way to a process:
//!
//! 1. the NIC's **RX descriptor ring** ([`ring::DescRing`]), where the
//!    hardware leaves frames for the driver's NAPI poll, and where a frame
//!    that finds no free descriptor is dropped and counted;
//! 2. the socket's **receive queue** ([`rcv_queue::RcvQueue`],
//!    `sk->sk_receive_queue`), charged by each skb's `truesize` against the
//!    socket's receive buffer (`sk_rmem_alloc` against `sk_rcvbuf`);
//!
//! and then leaves by a read: TCP's byte-stream read, which crosses segment
//! boundaries and may take part of a segment ([`recv::tcp_recvmsg`]), or
//! UDP's whole-datagram read with its truncation rule
//! ([`recv::udp_recvmsg`]).
//!
//! You edit `src/ring.rs`, `src/rcv_queue.rs` and `src/recv.rs`; this file
//! is given (the grader uses its own copy). The handout is
//! `book/labs/queues.md`.
//!
//! Your ring has the shape of the stack's own (`stack::netdev::ring`), so
//! it plugs into a simulated NIC: see [`plug_rx_ring`].

pub mod rcv_queue;
pub mod recv;
pub mod ring;

pub use rcv_queue::RcvQueue;
pub use recv::{tcp_recvmsg, udp_recvmsg};
pub use ring::DescRing;

pub use stack::errno::Errno;
pub use stack::skbuff::SkBuff;
pub use stack::uapi::{MSG_PEEK, MSG_TRUNC};

/// What a `recvmsg()` returns: the return value and the flags the kernel
/// sets in `msg.msg_flags` (`MSG_TRUNC` when a datagram did not fit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recv {
    /// The call's return value: bytes copied, or with `MSG_TRUNC` in the
    /// call's flags, a datagram's real length.
    pub ret: usize,
    /// `msg.msg_flags` on return.
    pub msg_flags: i32,
}

/// `NET_SKB_PAD`: the headroom a driver leaves before a received frame.
pub const NET_SKB_PAD: usize = stack::netdev::nic::NET_SKB_PAD;
/// Ethernet (14), IPv4 (20) and UDP (8) headers in front of a datagram's
/// payload in a received frame.
pub const UDP_HEADERS: usize = 42;

/// The skb a NIC builds for a received UDP datagram carrying `payload`,
/// with the headers already pulled (as `udp_rcv()` leaves it): its `len()`
/// is the payload's length, its `truesize()` that of a 2 KiB receive
/// buffer, as in the stack's NIC (`stack/src/drivers/net/nic.rs`,
/// `nic_frame_arrives`).
pub fn rx_skb(payload: &[u8]) -> SkBuff {
    let frame = payload.len() + UDP_HEADERS;
    let mut skb = SkBuff::alloc_skb(frame.max(1536) + NET_SKB_PAD).expect("a frame fits an skb");
    skb.reserve(NET_SKB_PAD + UDP_HEADERS)
        .expect("room for the headroom");
    skb.put_data(payload).expect("room for the payload");
    skb
}

/// A TCP segment's skb: [`rx_skb`] with `TCP_SKB_CB(skb)->seq`, the
/// sequence number of its first byte, set to `seq`.
pub fn rx_segment(seq: u32, payload: &[u8]) -> SkBuff {
    let mut skb = rx_skb(payload);
    skb.cb.seq = seq;
    skb
}

impl<T: std::fmt::Debug> stack::netdev::ring::RxRing<T> for DescRing<T> {
    fn size(&self) -> usize {
        DescRing::size(self)
    }

    fn len(&self) -> usize {
        DescRing::len(self)
    }

    fn produce(&mut self, item: T) -> Result<usize, T> {
        DescRing::produce(self, item)
    }

    fn consume(&mut self) -> Option<T> {
        DescRing::consume(self)
    }
}

/// Plugs a ring of yours into the NIC `dev` of `host` in a simulation, as
/// `ethtool -G` would resize the stack's own: frames that land on that NIC
/// go through your [`DescRing::produce`] and the driver's NAPI poll takes
/// them with your [`DescRing::consume`].
pub fn plug_rx_ring(
    sim: &mut stack::sim::Sim,
    host: stack::ids::HostId,
    dev: &str,
    ring: DescRing<SkBuff>,
) -> Result<(), Errno> {
    sim.set_rx_ring(host, dev, Box::new(ring))
}

/// The throughput of your queues, as the grader measures it: frames of
/// `frame` payload bytes go through a 256-descriptor [`DescRing`] into a
/// [`RcvQueue`] and out through [`tcp_recvmsg`] with a 64 KiB buffer,
/// until `max_bytes` have been read or `max_secs` of wall time have
/// passed. Building the skbs is not timed; everything your code does is.
/// Returns (bytes read, seconds taken, Gbit/s). Panics if the bytes read
/// are not the bytes sent, in order.
pub fn measure_throughput(frame: usize, max_bytes: usize, max_secs: f64) -> (usize, f64, f64) {
    use std::time::{Duration, Instant};
    const BATCH: usize = 256;
    let mut ring: DescRing<SkBuff> = DescRing::new(BATCH);
    let mut q = RcvQueue::new(usize::MAX / 2);
    let mut copied_seq = 0u32;
    let mut next_seq = 0u32;
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = 0usize;
    let mut timed = Duration::ZERO;
    let budget = Duration::from_secs_f64(max_secs);
    let frame = frame.max(1);
    let payload: Vec<u8> = (0..frame).map(|i| i as u8).collect();
    // Byte p of the stream is p % frame: a read at p must match this from p % frame.
    let pattern: Vec<u8> = (0..buf.len() + frame).map(|i| (i % frame) as u8).collect();
    while read < max_bytes && timed < budget {
        let skbs: Vec<SkBuff> = (0..BATCH)
            .map(|i| {
                let seq = next_seq.wrapping_add((i * frame) as u32);
                rx_segment(seq, &payload)
            })
            .collect();
        next_seq = next_seq.wrapping_add((BATCH * frame) as u32);
        let start = Instant::now();
        for skb in skbs {
            if ring.produce(skb).is_err() {
                panic!("a ring of {BATCH} refused one of {BATCH} frames");
            }
        }
        while let Some(skb) = ring.consume() {
            q.enqueue(skb)
                .expect("an unlimited queue admits everything");
        }
        let mut batch = 0;
        while let Ok(n) = tcp_recvmsg(&mut q, &mut copied_seq, &mut buf, 0) {
            let at = read % frame;
            assert!(
                n <= buf.len() && buf[..n] == pattern[at..at + n],
                "the bytes read at {read} are not the bytes sent"
            );
            read += n;
            batch += n;
            assert!(
                batch <= BATCH * frame,
                "tcp_recvmsg reads more than was sent"
            );
        }
        assert_eq!(batch, BATCH * frame, "tcp_recvmsg left bytes unread");
        timed += start.elapsed();
    }
    let secs = timed.as_secs_f64().max(1e-9);
    (read, secs, read as f64 * 8.0 / secs / 1e9)
}

/// Prints a figure in the test's output for the student to read. (The
/// grader takes figures from `lab_receipt::figure`, never from output.)
pub fn report_figure(name: &str, value: f64, unit: &str) {
    println!("{name} = {value:.3} {unit}");
}
