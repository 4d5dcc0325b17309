//! Hidden tests: the ring's edge cases (merge rule, atomicity, capacity
//! in slots, counters wrapping at 2^32, resizing).

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

use stack::pipe::PipeRing as TheirRing;

/// xorshift64: the same operations on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// A ring as plain values: occupancy, bytes, full, each buffer's
/// (offset, len, flags), a digest of the bytes held. (A digest, as every
/// check's values go to the transcript the grader compares: the held bytes
/// themselves would be megabytes of it.)
type State = (usize, usize, bool, Vec<(usize, usize, u32)>, u64);

fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Your ring's [`State`].
fn state_yours(r: &PipeRing) -> State {
    (r.occupancy(), r.bytes(), r.is_full(), layout(r), digest(&held(r)))
}

/// The stack's ring's [`State`].
fn state_theirs(r: &TheirRing) -> State {
    let bufs: Vec<&PipeBuffer> = stack::pipe_ring::bufs(r).collect();
    let mut bytes = Vec::new();
    for b in &bufs {
        let mut v = vec![0u8; b.len];
        b.page.read(b.offset, &mut v).expect("in the page");
        bytes.extend_from_slice(&v);
    }
    let layout = bufs.iter().map(|b| (b.offset, b.len, b.flags)).collect();
    (r.occupancy(), r.bytes(), r.is_full(), layout, digest(&bytes))
}

lab_receipt::graded! {
    /// Only the first len % 4096 bytes merge, and only if all of them fit;
    /// a whole number of pages never merges.
    fn only_the_remainder_merges_and_only_whole() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 10), true), 10);
        assert_eq!(r.write(&pattern(10, 4096 + 20), true), 4116);
        assert_eq!(
            layout(&r).iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(),
            vec![(0, 30), (0, 4096)]
        );
        assert_eq!(r.write(&pattern(4126, 4096), true), 4096);
        assert_eq!(r.occupancy(), 3, "a whole page never merges");
        // 4000 bytes do not fit after 4096: a fresh buffer, not a split.
        assert_eq!(r.write(&pattern(8222, 4000), true), 4000);
        assert_eq!(r.occupancy(), 4);
        assert_eq!(drain(&mut r), pattern(0, 12222));
    }

    /// merge = false (a write resumed after sleeping) never merges.
    fn no_merge_when_not_asked() {
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        assert_eq!(r.write(&pattern(0, 10), true), 10);
        assert_eq!(r.write(&pattern(10, 10), false), 10);
        assert_eq!(r.occupancy(), 2);
        assert_eq!(drain(&mut r), pattern(0, 20));
    }

    /// A full ring whose last buffer has some room takes no part of a
    /// small write that does not fit whole: PIPE_BUF atomicity.
    fn a_full_ring_takes_nothing_of_a_write_that_does_not_fit() {
        let mut r = PipeRing::new(2);
        assert_eq!(r.write(&pattern(0, 4096 + 4000), true), 8096);
        assert!(r.is_full());
        assert_eq!(r.write(&pattern(8096, 200), true), 0, "no room for 200 whole");
        assert_eq!(r.write(&pattern(8096, 96), true), 96, "96 fit in the last page");
        assert_eq!(r.bytes(), 8192);
        assert_eq!(drain(&mut r), pattern(0, 8192));
    }

    /// Capacity is counted in slots: 16 tiny spliced buffers fill it.
    fn capacity_is_slots_not_bytes() {
        let page = page_of(&pattern(0, 4096));
        let mut r = PipeRing::new(PIPE_DEF_BUFFERS);
        for i in 0..16 {
            assert!(r.push(spliced(&page, i, 1)).is_ok(), "buffer {i}");
        }
        assert!(r.is_full());
        assert_eq!(r.bytes(), 16);
        assert!(r.push(spliced(&page, 0, 1)).is_err(), "a 17th buffer");
        assert_eq!(r.write(b"x", true), 0, "nothing merges into spliced buffers");
        assert_eq!(page.page_count(), 17, "the refused buffer's reference went back");
    }

    /// The counters wrap at 2^32 and nothing notices.
    fn counters_wrap_at_two_to_the_32() {
        let mut r = PipeRing::starting_at(4, u32::MAX - 1);
        let mut next = 0;
        let mut read = 0;
        for round in 0..6 {
            assert_eq!(r.write(&pattern(next, 3 * 4096), true), 3 * 4096, "round {round}");
            next += 3 * 4096;
            assert_eq!(r.occupancy(), 3);
            assert!(!r.is_full() && !r.is_empty());
            let mut out = vec![0u8; 3 * 4096];
            assert_eq!(r.read(&mut out), 3 * 4096);
            assert_eq!(out, pattern(read, 3 * 4096), "round {round}");
            read += 3 * 4096;
        }
        assert_eq!(r.head(), (u32::MAX - 1).wrapping_add(18));
        assert_eq!(r.tail(), r.head());
        assert!(r.is_empty());
    }

    /// F_SETPIPE_SZ: EBUSY below the occupancy; otherwise the buffers keep
    /// their order, renumbered from 0.
    fn resizing_keeps_the_buffers() {
        let mut r = PipeRing::starting_at(4, u32::MAX - 1);
        assert_eq!(r.write(&pattern(0, 3 * 4096), true), 3 * 4096);
        let mut out = vec![0u8; 4096];
        assert_eq!(r.read(&mut out), 4096);
        assert_eq!(r.write(&pattern(3 * 4096, 2 * 4096), true), 2 * 4096);
        assert_eq!(r.set_max_usage(2), Err(Errno::EBUSY));
        assert_eq!(r.max_usage(), 4);
        assert_eq!(r.set_max_usage(8), Ok(()));
        assert_eq!((r.tail(), r.head(), r.max_usage()), (0, 4, 8));
        assert_eq!(r.write(&pattern(5 * 4096, 4 * 4096), true), 4 * 4096);
        assert!(r.is_full());
        assert_eq!(drain(&mut r), pattern(4096, 8 * 4096));
    }

    /// Random sequences of writes, splices in and out, reads, consumes and
    /// resizes, on your ring and on the stack's: the same results, the same
    /// buffers, the same bytes and the same page counts after every step.
    fn random_operations_as_the_stack() {
        let pages: Vec<Page> = (0..6).map(|i| page_of(&pattern(i * 97, 4096))).collect();
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let start = [0, u32::MAX - 3, 1 << 31][seed as usize % 3];
            let mut yours = PipeRing::starting_at(16, start);
            let mut theirs = TheirRing::default();
            let mut next = 0;
            let mut out_y = Vec::new();
            let mut out_t = Vec::new();
            for step in 0..120 {
                let op = rng.below(7);
                let (y, t): (i64, i64) = match op {
                    0 | 1 => {
                        let len = [1, 7, 100, 4095, 4096, 4097, 9000, 70_000][rng.below(8)];
                        let merge = rng.below(4) > 0;
                        let bytes = pattern(next, len);
                        let y = yours.write(&bytes, merge);
                        let t = theirs.write(&bytes, merge);
                        next += t;
                        (y as i64, t as i64)
                    }
                    2 => {
                        let p = &pages[rng.below(pages.len())];
                        let off = rng.below(4096);
                        let len = 1 + rng.below(4096 - off);
                        let y = yours.push(spliced(p, off, len)).is_ok();
                        let t = theirs.push(spliced(p, off, len)).is_ok();
                        (i64::from(y), i64::from(t))
                    }
                    3 => {
                        let len = rng.below(10_000);
                        let mut by = vec![0u8; len];
                        let mut bt = vec![0u8; len];
                        let y = yours.read(&mut by);
                        let t = theirs.read(&mut bt);
                        out_y.extend_from_slice(&by[..y.min(len)]);
                        out_t.extend_from_slice(&bt[..t.min(len)]);
                        (y as i64, t as i64)
                    }
                    4 => {
                        let n = rng.below(9000).min(theirs.bytes());
                        (yours.consume(n) as i64, theirs.consume(n) as i64)
                    }
                    5 => {
                        let len = rng.below(6000);
                        let y = yours.splice_out(len).map(|b| (b.offset, b.len, b.flags));
                        let t = theirs.splice_out(len).map(|b| (b.offset, b.len, b.flags));
                        assert_eq!(y, t, "seed {seed} step {step}: splice_out({len})");
                        (0, 0)
                    }
                    _ => {
                        let slots = [1, 2, 4, 8, 16, 32][rng.below(6)];
                        let y = yours.set_max_usage(slots).map_err(|e| e as i32);
                        let t = theirs.set_max_usage(slots).map_err(|e| e as i32);
                        assert_eq!(y, t, "seed {seed} step {step}: set_max_usage({slots})");
                        (0, 0)
                    }
                };
                assert_eq!(y, t, "seed {seed} step {step}: operation {op}");
                assert_eq!(
                    state_yours(&yours),
                    state_theirs(&theirs),
                    "seed {seed} step {step} after operation {op}: (occupancy, bytes, full, buffers, bytes held)"
                );
                assert!(out_y == out_t, "seed {seed} step {step}: bytes read");
            }
            // Each pool page is referenced by the test and by each buffer
            // of either ring still holding it: both rings hold the same.
            let refs = |page: &Page| {
                (0..yours.occupancy())
                    .filter_map(|n| yours.buf(n))
                    .filter(|b| b.page.same_page(page))
                    .count()
            };
            for p in &pages {
                assert_eq!(p.page_count(), 1 + 2 * refs(p), "seed {seed}: page references");
            }
            yours.clear();
            theirs.clear();
            assert!(pages.iter().all(|p| p.page_count() == 1), "seed {seed}: clear");
        }
    }
}
