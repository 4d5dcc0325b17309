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
//! The stack runs on these three files: in your repository its NICs'
//! rings are your `DescRing`, every TCP, UDP, raw and netlink socket's
//! receive queue is your `RcvQueue`, and its reads are your two functions
//! (`stack/src/drivers/net/ring.rs` and `stack/src/net/core/receive_queue.rs`
//! compile your files). So the book's examples run on your code, and stop
//! with this lab's message until it is written. A ring of yours also plugs
//! into one simulated NIC on its own: see [`plug_rx_ring`].

pub mod rcv_queue;
pub mod recv;
pub mod ring;

pub use rcv_queue::RcvQueue;
pub use recv::{tcp_recvmsg, udp_recvmsg};
pub use ring::DescRing;

pub use stack::errno::Errno;
pub use stack::net::core::receive_queue::Recv;
pub use stack::skbuff::SkBuff;
pub use stack::uapi::{MSG_PEEK, MSG_TRUNC};

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

stack::impl_rx_ring!(DescRing);

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

/// What [`pump`] moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pumped {
    /// Bytes read.
    pub bytes: usize,
    /// A digest of the reads (each one's size and end bytes), which
    /// depends on the seed: the same on every correct implementation.
    pub digest: u64,
}

/// One round of [`pump`]: this many frames.
pub const PUMP_BATCH: usize = 256;

/// The work the grader times for the throughput figure: `rounds` rounds of
/// [`PUMP_BATCH`] frames of `frame` payload bytes (made from `seed`) go
/// through a 256-descriptor [`DescRing`] into a [`RcvQueue`] and out
/// through [`tcp_recvmsg`] with a 64 KiB buffer. Returns what was read and
/// the seconds your code took (building the skbs not counted; the grader,
/// which times the whole test process, counts it too). Panics if the
/// bytes read are not the bytes sent, in order.
pub fn pump(frame: usize, rounds: usize, seed: u64) -> (Pumped, f64) {
    use std::time::{Duration, Instant};
    let mut ring: DescRing<SkBuff> = DescRing::new(PUMP_BATCH);
    let mut q = RcvQueue::new(usize::MAX / 2);
    let mut copied_seq = 0u32;
    let mut next_seq = 0u32;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Pumped {
        bytes: 0,
        digest: seed,
    };
    let mut timed = Duration::ZERO;
    let frame = frame.max(1);
    let mut x = seed | 1;
    let payload: Vec<u8> = (0..frame)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    // Byte p of the stream is payload[p % frame]: a read at p must match
    // this from p % frame.
    let pattern: Vec<u8> = (0..buf.len() + frame).map(|i| payload[i % frame]).collect();
    for _ in 0..rounds {
        let skbs: Vec<SkBuff> = (0..PUMP_BATCH)
            .map(|i| {
                let seq = next_seq.wrapping_add((i * frame) as u32);
                rx_segment(seq, &payload)
            })
            .collect();
        next_seq = next_seq.wrapping_add((PUMP_BATCH * frame) as u32);
        let start = Instant::now();
        for skb in skbs {
            if ring.produce(skb).is_err() {
                panic!("a ring of {PUMP_BATCH} refused one of {PUMP_BATCH} frames");
            }
        }
        while let Some(skb) = ring.consume() {
            q.enqueue(skb)
                .expect("an unlimited queue admits everything");
        }
        let mut batch = 0;
        while let Ok(n) = tcp_recvmsg(&mut q, &mut copied_seq, &mut buf, 0) {
            let at = out.bytes % frame;
            assert!(
                n > 0 && n <= buf.len() && buf[..n] == pattern[at..at + n],
                "the bytes read at {} are not the bytes sent",
                out.bytes
            );
            out.bytes += n;
            out.digest = (out.digest.rotate_left(7) ^ n as u64).wrapping_mul(0x0100_0000_01b3)
                ^ u64::from(buf[0]) << 8
                ^ u64::from(buf[n - 1]) << 16;
            batch += n;
            assert!(
                batch <= PUMP_BATCH * frame,
                "tcp_recvmsg reads more than was sent"
            );
        }
        assert_eq!(batch, PUMP_BATCH * frame, "tcp_recvmsg left bytes unread");
        timed += start.elapsed();
    }
    (out, timed.as_secs_f64())
}
