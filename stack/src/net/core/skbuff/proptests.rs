use proptest::prelude::*;

use super::*;

/// One step applied to an skb. Sizes range past what fits so the error
/// paths are exercised as often as the happy ones.
#[derive(Clone, Debug)]
enum Op {
    Reserve(usize),
    Put(usize),
    Push(usize),
    Pull(usize),
    Trim(usize),
    AddFrag { page: usize, off: usize, len: usize },
    Linearize,
    MayPull(usize),
    ExpandHead(usize, usize),
    SetHeader(isize),
    WriteData(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..300).prop_map(Op::Reserve),
        (0usize..300).prop_map(Op::Put),
        (0usize..300).prop_map(Op::Push),
        (0usize..300).prop_map(Op::Pull),
        (0usize..600).prop_map(Op::Trim),
        (0usize..3, 0usize..4200, 0usize..2000).prop_map(|(page, off, len)| Op::AddFrag {
            page,
            off,
            len
        }),
        Just(Op::Linearize),
        (0usize..3000).prop_map(Op::MayPull),
        (0usize..200, 0usize..200).prop_map(|(h, t)| Op::ExpandHead(h, t)),
        (-300isize..300).prop_map(Op::SetHeader),
        any::<u8>().prop_map(Op::WriteData),
    ]
}

fn apply(skb: &mut SkBuff, pages: &[Page], op: &Op) {
    // Results are ignored on purpose: errors are a legitimate outcome, the
    // properties are about what every outcome leaves behind.
    match *op {
        Op::Reserve(n) => {
            let _ = skb.reserve(n);
        }
        Op::Put(n) => {
            if let Ok(area) = skb.put(n) {
                area.fill(0x5a);
            }
        }
        Op::Push(n) => {
            if let Ok(area) = skb.push(n) {
                area.fill(0xa5);
            }
        }
        Op::Pull(n) => {
            let _ = skb.pull(n);
        }
        Op::Trim(n) => skb.trim(n),
        Op::AddFrag { page, off, len } => {
            let _ = skb.add_rx_frag(pages[page % pages.len()].get_page(), off, len, len);
        }
        Op::Linearize => {
            let _ = skb.linearize();
        }
        Op::MayPull(n) => {
            let _ = skb.pskb_may_pull(n);
        }
        Op::ExpandHead(h, t) => {
            let _ = skb.pskb_expand_head(h, t);
        }
        Op::SetHeader(off) => {
            let _ = skb.set_network_header(off);
            let _ = skb.network_header_bytes();
        }
        Op::WriteData(b) => skb.data_mut().fill(b),
    }
}

/// Everything an skb shows to the outside, to compare before and after.
fn snapshot(skb: &SkBuff) -> (Vec<u8>, usize, usize, usize, Option<usize>) {
    let mut all = vec![0; skb.len()];
    skb.copy_bits(0, &mut all).unwrap();
    (
        all,
        skb.headroom(),
        skb.end_offset(),
        skb.truesize(),
        skb.network_header(),
    )
}

fn pages() -> Vec<Page> {
    (0..3u8)
        .map(|i| {
            let p = Page::alloc();
            let bytes: Vec<u8> = (0..PAGE_SIZE).map(|j| (j as u8) ^ i).collect();
            p.write(0, &bytes).unwrap();
            p
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any sequence of operations keeps head <= data <= tail <= end and
    /// len == headlen + data_len, and never panics.
    #[test]
    fn invariants_hold_after_every_op(size in 0usize..3000, ops in prop::collection::vec(op(), 0..40)) {
        let pages = pages();
        let mut skb = SkBuff::alloc_skb(size).unwrap();
        for op in &ops {
            apply(&mut skb, &pages, op);
            prop_assert_eq!(skb.check_invariants(), Ok(()), "after {:?}", op);
            prop_assert_eq!(skb.len(), skb.headlen() + skb.data_len());
        }
    }

    /// Without frags or reallocation, the buffer is only ever partitioned
    /// differently: headroom + len + tailroom stays the buffer's size.
    #[test]
    fn linear_ops_conserve_the_buffer(size in 0usize..3000, ops in prop::collection::vec(op(), 0..40)) {
        let pages = pages();
        let mut skb = SkBuff::alloc_skb(size).unwrap();
        let end = skb.end_offset();
        let truesize = skb.truesize();
        for op in ops.iter().filter(|op| matches!(op,
            Op::Reserve(_) | Op::Put(_) | Op::Push(_) | Op::Pull(_) | Op::Trim(_)
                | Op::SetHeader(_) | Op::WriteData(_)))
        {
            apply(&mut skb, &pages, op);
            prop_assert_eq!(skb.headroom() + skb.len() + skb.tailroom(), end);
            prop_assert_eq!(skb.truesize(), truesize);
        }
        prop_assert_eq!(skb.cow_copies(), 0);
    }

    /// skb_pull then skb_push of the same length puts data back where it
    /// was, with the same bytes: pulled headers are not erased.
    #[test]
    fn pull_then_push_restores_the_bytes(
        headroom in 0usize..100,
        payload in prop::collection::vec(any::<u8>(), 0..300),
        n in 0usize..400,
    ) {
        let mut skb = SkBuff::alloc_skb(headroom + payload.len()).unwrap();
        skb.reserve(headroom).unwrap();
        skb.put_data(&payload).unwrap();
        let pulled = skb.pull(n).map(<[u8]>::to_vec);
        if n <= payload.len() {
            prop_assert_eq!(pulled.as_deref(), Some(&payload[..n]));
            let pushed = skb.push(n).unwrap().to_vec();
            prop_assert_eq!(&pushed[..], &payload[..n]);
        } else {
            prop_assert!(pulled.is_none());
        }
        prop_assert_eq!(skb.data(), &payload[..]);
        prop_assert_eq!(skb.headroom(), headroom);
    }

    /// After skb_clone, whatever one of the pair does, the other's bytes,
    /// geometry and truesize stay as they were.
    #[test]
    fn clones_never_see_each_others_writes(
        payload in prop::collection::vec(any::<u8>(), 1..300),
        frag_len in 0usize..500,
        ops in prop::collection::vec(op(), 1..20),
        write_original in any::<bool>(),
    ) {
        let pages = pages();
        let mut a = SkBuff::alloc_skb(64 + payload.len()).unwrap();
        a.reserve(64).unwrap();
        a.put_data(&payload).unwrap();
        a.reset_network_header();
        if frag_len > 0 {
            a.add_rx_frag(pages[0].get_page(), 10, frag_len, frag_len).unwrap();
        }
        let mut b = a.skb_clone();
        let (writer, watcher) = if write_original { (&mut a, &b) } else { (&mut b, &a) };
        let before = snapshot(watcher);
        let head_before = watcher.data().to_vec();
        for op in &ops {
            apply(writer, &pages, op);
            prop_assert_eq!(&snapshot(watcher), &before, "after {:?}", op);
            prop_assert_eq!(watcher.data(), &head_before[..]);
        }
    }

    /// skb_copy_bits over an skb built from a linear part and frags returns
    /// exactly the concatenation of those parts.
    #[test]
    fn copy_bits_is_the_concatenation(
        linear in prop::collection::vec(any::<u8>(), 0..200),
        frags in prop::collection::vec((0usize..4096, 0usize..600, any::<u8>()), 0..MAX_SKB_FRAGS),
        range in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
    ) {
        let mut skb = SkBuff::alloc_skb(linear.len()).unwrap();
        skb.put_data(&linear).unwrap();
        let mut expected = linear.clone();
        for &(off, len, seed) in &frags {
            let len = len.min(PAGE_SIZE - off);
            let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_add(seed)).collect();
            let page = Page::alloc();
            page.write(off, &bytes).unwrap();
            skb.add_rx_frag(page, off, len, len).unwrap();
            expected.extend_from_slice(&bytes);
        }
        prop_assert_eq!(skb.len(), expected.len());
        let mut all = vec![0; skb.len()];
        skb.copy_bits(0, &mut all).unwrap();
        prop_assert_eq!(&all, &expected);

        let total = expected.len() + 1;
        let (x, y) = (range.0.index(total), range.1.index(total));
        let (start, end) = (x.min(y), x.max(y));
        let mut part = vec![0; end - start];
        skb.copy_bits(start, &mut part).unwrap();
        prop_assert_eq!(&part[..], &expected[start..end]);
        let mut too_long = vec![0; total - start];
        prop_assert!(skb.copy_bits(start, &mut too_long).is_err());

        // Linearizing gives the same bytes, now all in the linear part.
        prop_assert_eq!(skb.linearize(), Ok(expected.len() - linear.len()));
        prop_assert_eq!(skb.data(), &expected[..]);
    }

    /// However skbs holding frags are cloned, copied, trimmed, linearized
    /// and dropped, each page is back to one reference (ours) at the end.
    #[test]
    fn page_references_all_come_back(
        ops in prop::collection::vec(op(), 0..30),
        clone_at in 0usize..30,
        copy_at in 0usize..30,
    ) {
        let pages = pages();
        let mut skbs = vec![SkBuff::alloc_skb(100).unwrap()];
        for (i, op) in ops.iter().enumerate() {
            let last = skbs.len() - 1;
            apply(&mut skbs[last], &pages, op);
            if i == clone_at {
                let c = skbs[last].skb_clone();
                skbs.push(c);
            }
            if i == copy_at {
                if let Ok(c) = skbs[0].skb_copy() {
                    skbs.push(c);
                }
            }
        }
        let mut q = SkbQueue::new();
        for skb in skbs {
            q.queue_tail(skb);
        }
        q.purge();
        for p in &pages {
            prop_assert_eq!(p.page_count(), 1);
        }
    }

    /// Arbitrary, absurd arguments produce errors or no-ops, never a panic.
    #[test]
    fn nothing_panics_on_absurd_arguments(
        size in prop_oneof![0usize..5000, Just(usize::MAX), Just(KMALLOC_MAX_SIZE)],
        a in any::<usize>(),
        b in any::<usize>(),
        off in any::<isize>(),
    ) {
        let _ = SkBuff::alloc_skb(size);
        let _ = skb_truesize_for(a);
        let _ = kmalloc_size_roundup(a);
        let mut skb = SkBuff::alloc_skb(size.min(5000)).unwrap();
        let _ = skb.reserve(a);
        let _ = skb.put(a);
        let _ = skb.push(a);
        let _ = skb.pull(a);
        skb.trim(a);
        let _ = skb.add_rx_frag(Page::alloc(), a, b, a);
        let _ = skb.add_rx_frag(Page::alloc(), a % PAGE_SIZE, b % PAGE_SIZE, b);
        let _ = skb.set_header(HeaderKind::Mac, off);
        let _ = skb.header(HeaderKind::Mac);
        let _ = skb.header_mut(HeaderKind::Mac);
        let _ = skb.pskb_may_pull(a);
        let _ = skb.pskb_expand_head(a, b);
        let _ = skb.copy_bits(a, &mut [0; 8]);
        let _ = skb.linearize();
        let _ = Page::alloc().write(a, &[1, 2, 3]);
        prop_assert_eq!(skb.check_invariants(), Ok(()));
    }
}
