//! # Lab: zero copy
//!
//! Moving bytes without copying them, as Linux does with `splice()`,
//! `sendfile()`, `vmsplice()` and `MSG_ZEROCOPY`:
//!
//! 1. **the pipe's ring of page references** ([`pipe_ring::PipeRing`],
//!    `fs/pipe.c`): buffers that are references to pages, filled either by
//!    copying (`write()`, with its merge rule and `PIPE_BUF` atomicity) or
//!    by taking a reference to a page someone else holds (splice), emptied
//!    by copying (`read()`) or by handing the references on (splice), each
//!    page reference dropped exactly when its buffer goes;
//! 2. **zero-copy completion notifications** ([`zerocopy_notify`],
//!    `net/core/skbuff.c`): the ids of `MSG_ZEROCOPY` sends, and how
//!    completed ranges are coalesced into error-queue notifications.
//!
//! You edit `src/pipe_ring.rs` and `src/zerocopy_notify.rs`; this file is
//! given (the grader uses its own copy). The handout is
//! `book/labs/zerocopy.md`.
//!
//! The stack runs on both files: in your repository every pipe of the
//! simulated kernel is your `PipeRing` (`stack/src/fs/pipe_ring.rs`
//! compiles your `src/pipe_ring.rs`) and every `MSG_ZEROCOPY` send goes
//! through your `src/zerocopy_notify.rs`, so the book's examples run on
//! your code and stop with this lab's message until it is written. Your
//! types also plug into one simulation on their own (the stack's
//! `stack::pipe_ring::PipeBufRing` and `stack::zerocopy::ZerocopyCallback`):
//! see [`plug_pipe_ring`] and [`plug_zerocopy_callback`].

pub mod pipe_ring;
pub mod zerocopy_notify;

pub use pipe_ring::{PIPE_DEF_BUFFERS, PipeRing};
pub use zerocopy_notify::{
    Realloc, Ubuf, ZC_BYTE_LIMIT, ZcKey, msg_zerocopy_callback, skb_zerocopy_notify_extend,
};

pub use stack::errno::Errno;
pub use stack::errqueue::SockExtendedErr;
pub use stack::pipe_ring::{
    PIPE_BUF_FLAG_CAN_MERGE, PIPE_BUF_FLAG_GIFT, PipeBufOps, PipeBufRing, PipeBuffer,
};
pub use stack::skbuff::{PAGE_SIZE, Page};
pub use stack::uapi::{SO_EE_CODE_ZEROCOPY_COPIED, SO_EE_ORIGIN_ZEROCOPY};

/// `PIPE_BUF`: a write of at most this many bytes is atomic.
pub const PIPE_BUF: usize = 4096;

stack::impl_pipe_buf_ring!(PipeRing);

fn your_ring() -> Box<dyn PipeBufRing> {
    Box::new(PipeRing::new(PIPE_DEF_BUFFERS))
}

/// Builds every pipe of `sim` created from now on (and `sendfile()`'s
/// private pipe) on a [`PipeRing`] of yours with [`PIPE_DEF_BUFFERS`]
/// slots.
pub fn plug_pipe_ring(sim: &mut stack::sim::Sim) {
    sim.set_pipe_ring(your_ring);
}

fn your_callback(
    tail: Option<&mut SockExtendedErr>,
    lo: u32,
    len: u16,
    zerocopy: bool,
) -> Option<SockExtendedErr> {
    let done = Ubuf {
        id: lo,
        len,
        bytelen: 0,
        zerocopy,
    };
    msg_zerocopy_callback(tail, &done)
}

/// Queues the zero-copy notifications of `sim`'s sockets with your
/// [`msg_zerocopy_callback`].
pub fn plug_zerocopy_callback(sim: &mut stack::sim::Sim) {
    sim.set_zerocopy_callback(your_callback);
}

/// What [`splice_rounds`] moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spliced {
    /// Bytes moved from the first ring to the second.
    pub bytes: usize,
    /// A digest of the buffers spliced out (offset, length, flags, a byte
    /// of the page), which depends on the seed: the same on every correct
    /// ring.
    pub digest: u64,
}

/// The work the grader times for the splice figure: `rounds` rounds of
/// [`PIPE_DEF_BUFFERS`] page references (pages and cut points made from
/// `seed`) pushed into one ring, spliced to a second (each buffer in two
/// pieces: a shared part, then the rest whole) and consumed there.
/// Returns what moved and the seconds your ring took (the grader, which
/// times the whole test process, counts the rest too). Panics if a page
/// arrives that is not the page sent, or if a page is still referenced by
/// a ring after a round.
pub fn splice_rounds(rounds: usize, seed: u64) -> (Spliced, f64) {
    use std::time::{Duration, Instant};
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pages: Vec<Page> = (0..PIPE_DEF_BUFFERS)
        .map(|_| {
            let p = Page::alloc();
            let _ = p.write(0, &[next() as u8; PAGE_SIZE]);
            p
        })
        .collect();
    let mut a = PipeRing::new(PIPE_DEF_BUFFERS);
    let mut b = PipeRing::new(2 * PIPE_DEF_BUFFERS);
    let mut out = Spliced {
        bytes: 0,
        digest: seed,
    };
    let mut timed = Duration::ZERO;
    for _ in 0..rounds {
        let cut = 1 + (next() as usize) % (PAGE_SIZE - 1);
        let start = Instant::now();
        for p in &pages {
            let buf = PipeBuffer::of_page(p.get_page(), 0, PAGE_SIZE, PipeBufOps::PageCache);
            assert!(
                a.push(buf).is_ok(),
                "a ring of 16 refused one of 16 buffers"
            );
        }
        for p in &pages {
            for want in [cut, PAGE_SIZE - cut] {
                let Some(buf) = a.splice_out(want) else {
                    panic!("splice_out found no buffer");
                };
                assert!(
                    buf.page.same_page(p) && buf.len == want,
                    "not the page sent"
                );
                let mut byte = [0u8];
                let _ = buf.page.read(buf.offset, &mut byte);
                out.digest =
                    (out.digest.rotate_left(7) ^ (buf.offset as u64) << 16 ^ buf.len as u64)
                        .wrapping_mul(0x0100_0000_01b3)
                        ^ u64::from(buf.flags) << 40
                        ^ u64::from(byte[0]) << 48;
                assert!(
                    b.push(buf).is_ok(),
                    "a ring of 32 refused one of 32 buffers"
                );
            }
        }
        let got = b.bytes();
        b.consume(got);
        timed += start.elapsed();
        assert_eq!(got, PIPE_DEF_BUFFERS * PAGE_SIZE, "bytes lost on the way");
        assert!(
            pages.iter().all(|p| p.page_count() == 1),
            "a ring still holds a page reference after releasing every buffer"
        );
        out.bytes += got;
    }
    (out, timed.as_secs_f64())
}
