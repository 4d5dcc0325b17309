use super::*;

fn filled(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn page_with(bytes: &[u8]) -> Page {
    let p = Page::alloc();
    p.write(0, bytes).unwrap();
    p
}

fn linear_skb(headroom: usize, payload: &[u8]) -> SkBuff {
    let mut skb = SkBuff::alloc_skb(headroom + payload.len()).unwrap();
    skb.reserve(headroom).unwrap();
    skb.put_data(payload).unwrap();
    skb
}

// ----- allocation and geometry -----

#[test]
fn alloc_gives_the_rounded_up_room_and_no_headroom() {
    let skb = SkBuff::alloc_skb(123).unwrap();
    // SKB_HEAD_ALIGN(123) = 448 fits the 576-byte small-head slab, whose
    // SKB_WITH_OVERHEAD is 256: more room than asked for.
    assert_eq!(skb.end_offset(), 256);
    assert_eq!(skb.headroom(), 0);
    assert_eq!(skb.tailroom(), 256);
    assert_eq!(skb.len(), 0);
    assert!(skb.is_empty());
    assert_eq!(skb.truesize(), 832);
    assert_eq!(skb.dataref(), 1);
    assert!(!skb.cloned());
    assert_eq!(skb.mac_header(), None);
    skb.check_invariants().unwrap();
}

#[test]
fn alloc_too_big_is_an_error_not_a_crash() {
    assert_eq!(
        SkBuff::alloc_skb(KMALLOC_MAX_SIZE).unwrap_err(),
        SkbError::TooBig {
            size: KMALLOC_MAX_SIZE
        }
    );
    assert!(SkBuff::alloc_skb(usize::MAX).is_err());
    // The largest head kmalloc can give still works.
    let skb = SkBuff::alloc_skb(KMALLOC_MAX_SIZE - SKB_SHINFO_SIZE).unwrap();
    assert_eq!(skb.end_offset(), KMALLOC_MAX_SIZE - SKB_SHINFO_SIZE);
}

#[test]
fn reserve_moves_data_and_tail_together() {
    let mut skb = SkBuff::alloc_skb(100).unwrap();
    let end = skb.end_offset();
    skb.reserve(16).unwrap();
    assert_eq!(
        (skb.headroom(), skb.len(), skb.tailroom()),
        (16, 0, end - 16)
    );
    // Twice is fine while still empty.
    skb.reserve(16).unwrap();
    assert_eq!(skb.headroom(), 32);
}

#[test]
fn reserve_on_non_empty_or_past_end_fails() {
    let mut skb = SkBuff::alloc_skb(100).unwrap();
    let end = skb.end_offset();
    assert_eq!(
        skb.reserve(end + 1),
        Err(SkbError::NoTailroom {
            need: end + 1,
            have: end
        })
    );
    skb.put_data(b"x").unwrap();
    assert_eq!(skb.reserve(1), Err(SkbError::NotEmpty));
    assert_eq!(skb.headroom(), 0);
}

#[test]
fn put_appends_at_the_tail() {
    let mut skb = SkBuff::alloc_skb(64).unwrap();
    skb.put_data(b"hello ").unwrap();
    skb.put(5).unwrap().copy_from_slice(b"world");
    assert_eq!(skb.data(), b"hello world");
    assert_eq!(skb.len(), 11);
    assert_eq!(skb.headlen(), 11);
    assert_eq!(skb.data_len(), 0);
    assert_eq!(skb.put_zero(3).unwrap(), &[0, 0, 0]);
    skb.check_invariants().unwrap();
}

#[test]
fn put_without_tailroom_is_skb_over_panic_and_changes_nothing() {
    let mut skb = SkBuff::alloc_skb(64).unwrap();
    let room = skb.tailroom();
    skb.put_data(&filled(room - 2, 1)).unwrap();
    assert_eq!(skb.put(3), Err(SkbError::NoTailroom { need: 3, have: 2 }));
    assert_eq!(
        skb.put_data(b"abc"),
        Err(SkbError::NoTailroom { need: 3, have: 2 })
    );
    assert_eq!(skb.len(), room - 2);
    skb.put_data(b"ab").unwrap();
    assert_eq!(skb.tailroom(), 0);
}

#[test]
fn put_on_a_nonlinear_skb_is_refused() {
    let mut skb = linear_skb(0, b"head");
    skb.add_rx_frag(page_with(b"paged"), 0, 5, 5).unwrap();
    assert_eq!(skb.put(1), Err(SkbError::Nonlinear));
    assert_eq!(skb.tailroom(), 0);
}

#[test]
fn push_prepends_into_the_headroom() {
    let mut skb = linear_skb(32, b"payload");
    skb.push(8).unwrap().copy_from_slice(b"UDPHDR..");
    assert_eq!(skb.data(), b"UDPHDR..payload");
    assert_eq!(skb.headroom(), 24);
    assert_eq!(skb.len(), 15);
    skb.check_invariants().unwrap();
}

#[test]
fn push_without_headroom_is_skb_under_panic_and_changes_nothing() {
    let mut skb = linear_skb(4, b"data");
    assert_eq!(skb.push(5), Err(SkbError::NoHeadroom { need: 5, have: 4 }));
    assert_eq!(skb.data(), b"data");
    skb.push(4).unwrap();
    assert_eq!(skb.headroom(), 0);
}

#[test]
fn pull_steps_over_a_header_and_returns_it() {
    let mut skb = linear_skb(0, b"ETHERNET|IP|rest");
    assert_eq!(skb.pull(9), Some(&b"ETHERNET|"[..]));
    assert_eq!(skb.data(), b"IP|rest");
    assert_eq!(skb.headroom(), 9);
    assert_eq!(skb.pull(100), None);
    assert_eq!(skb.data(), b"IP|rest");
    assert_eq!(skb.pull(7), Some(&b"IP|rest"[..]));
    assert!(skb.is_empty());
    skb.check_invariants().unwrap();
}

#[test]
fn pull_does_not_reach_into_frags() {
    let mut skb = linear_skb(0, b"ab");
    skb.add_rx_frag(page_with(b"cd"), 0, 2, 2).unwrap();
    assert_eq!(skb.pull(3), None);
    assert_eq!(skb.len(), 4);
}

#[test]
fn trim_a_linear_skb_moves_the_tail() {
    let mut skb = linear_skb(8, b"0123456789");
    skb.trim(20);
    assert_eq!(skb.len(), 10);
    skb.trim(4);
    assert_eq!(skb.data(), b"0123");
    assert_eq!(skb.tailroom(), skb.end_offset() - 8 - 4);
    skb.check_invariants().unwrap();
}

#[test]
fn trim_into_the_frags_shortens_one_and_frees_the_rest() {
    let p1 = page_with(b"AAAA");
    let p2 = page_with(b"BBBB");
    let mut skb = linear_skb(0, b"hh");
    skb.add_rx_frag(p1.get_page(), 0, 4, 4).unwrap();
    skb.add_rx_frag(p2.get_page(), 0, 4, 4).unwrap();
    let truesize = skb.truesize();
    assert_eq!(p2.page_count(), 2);

    skb.trim(4);
    assert_eq!(skb.len(), 4);
    assert_eq!(skb.data_len(), 2);
    assert_eq!(skb.nr_frags(), 1);
    assert_eq!(skb.frags()[0].len(), 2);
    // The second page's reference went with its frag.
    assert_eq!(p2.page_count(), 1);
    assert_eq!(skb.truesize(), truesize);
    skb.check_invariants().unwrap();

    // Trimming into the linear part drops every frag.
    skb.trim(1);
    assert_eq!((skb.len(), skb.data_len(), skb.nr_frags()), (1, 0, 0));
    assert_eq!(skb.data(), b"h");
    assert_eq!(p1.page_count(), 1);
    skb.check_invariants().unwrap();
}

#[test]
fn trim_exactly_at_a_frag_boundary_keeps_that_frag_whole() {
    let mut skb = linear_skb(0, b"hh");
    skb.add_rx_frag(page_with(b"AAAA"), 0, 4, 4).unwrap();
    skb.add_rx_frag(page_with(b"BBBB"), 0, 4, 4).unwrap();
    skb.trim(6);
    assert_eq!(skb.nr_frags(), 1);
    assert_eq!(skb.frags()[0].len(), 4);
    let mut out = [0; 6];
    skb.copy_bits(0, &mut out).unwrap();
    assert_eq!(&out, b"hhAAAA");
    // Trimming to exactly the linear length drops all frags.
    skb.trim(2);
    assert_eq!(skb.nr_frags(), 0);
    skb.check_invariants().unwrap();
}

// ----- header offsets -----

#[test]
fn a_datagram_goes_down_and_up_the_stack() {
    // Sending: __ip_append_data reserves LL_RESERVED_SPACE (16) and puts
    // IP header + UDP header + payload; the device pushes Ethernet.
    let payload = filled(64, 7);
    let mut skb = SkBuff::alloc_skb(20 + 8 + 64 + 16 + 15).unwrap();
    skb.reserve(16).unwrap();
    skb.reset_network_header();
    skb.set_transport_header(20).unwrap();
    skb.put_zero(28).unwrap();
    skb.put_data(&payload).unwrap();
    skb.push(14).unwrap().copy_from_slice(&[0xee; 14]);
    skb.reset_mac_header();
    assert_eq!(skb.headroom(), 2);
    assert_eq!(skb.len(), 14 + 28 + 64);
    assert_eq!(skb.mac_header(), Some(2));
    assert_eq!(skb.network_header(), Some(16));
    assert_eq!(skb.transport_header(), Some(36));

    // Receiving: each layer pulls its header and the next one resets its
    // offset at the new data.
    assert_eq!(skb.pull(14).unwrap(), &[0xee; 14]);
    skb.reset_network_header();
    skb.pull(20).unwrap();
    skb.reset_transport_header();
    skb.pull(8).unwrap();
    assert_eq!(skb.data(), &payload[..]);
    // Pulled headers are still there for whoever kept the offset.
    assert_eq!(skb.mac_header_bytes().unwrap()[..14], [0xee; 14]);
    assert_eq!(skb.network_header_bytes().unwrap().len(), 20 + 8 + 64);
    assert_eq!(skb.transport_header_bytes().unwrap().len(), 8 + 64);
    skb.check_invariants().unwrap();
}

#[test]
fn set_header_takes_offsets_relative_to_data() {
    let mut skb = linear_skb(14, &[0; 40]);
    skb.set_mac_header(-14).unwrap();
    assert_eq!(skb.mac_header(), Some(0));
    skb.set_network_header(0).unwrap();
    assert_eq!(skb.network_header(), Some(14));
    assert_eq!(skb.set_mac_header(-15), Err(SkbError::BadOffset));
    let end = skb.end_offset() as isize;
    assert_eq!(skb.set_transport_header(end), Err(SkbError::BadOffset));
    assert_eq!(skb.mac_header(), Some(0));
    assert_eq!(skb.header_offset(HeaderKind::Network), skb.network_header());
}

#[test]
fn header_bytes_are_none_when_unset_or_past_the_tail() {
    let mut skb = linear_skb(0, &[1; 40]);
    assert_eq!(skb.transport_header_bytes(), None);
    assert!(skb.header_mut(HeaderKind::Transport).is_none());
    skb.set_transport_header(30).unwrap();
    assert_eq!(skb.transport_header_bytes().unwrap().len(), 10);
    skb.trim(20);
    assert_eq!(skb.transport_header_bytes(), None);
    assert!(skb.header_mut(HeaderKind::Transport).is_none());
}

#[test]
fn header_mut_rewrites_in_place() {
    let mut skb = linear_skb(0, &[0; 28]);
    skb.reset_network_header();
    skb.header_mut(HeaderKind::Network).unwrap()[0] = 0x45;
    assert_eq!(skb.data()[0], 0x45);
    assert_eq!(skb.cow_copies(), 0);
}

// ----- clone, copy and copy-on-write -----

#[test]
fn clone_shares_the_buffer_and_marks_both() {
    let mut a = linear_skb(16, b"shared bytes");
    a.reset_network_header();
    a.mark = 7;
    let b = a.skb_clone();
    assert_eq!(a.dataref(), 2);
    assert_eq!(b.dataref(), 2);
    assert!(a.cloned() && b.cloned());
    assert!(a.skb_cloned() && b.skb_cloned());
    assert_eq!(b.data(), b"shared bytes");
    assert_eq!(b.truesize(), a.truesize());
    assert_eq!(b.network_header(), a.network_header());
    assert_eq!(b.mark, 7);
    drop(b);
    assert_eq!(a.dataref(), 1);
    // The flag stays, as in the kernel; skb_cloned() looks at dataref too.
    assert!(a.cloned());
    assert!(!a.skb_cloned());
}

#[test]
fn writing_a_clone_copies_first_and_the_other_never_sees_it() {
    let mut a = linear_skb(16, b"original");
    let mut b = a.skb_clone();
    b.data_mut().copy_from_slice(b"CHANGED!");
    assert_eq!(a.data(), b"original");
    assert_eq!(b.data(), b"CHANGED!");
    assert_eq!(b.cow_copies(), 1);
    // pskb_expand_head copies head..tail: headroom and data.
    assert_eq!(b.cow_bytes(), 16 + 8);
    assert_eq!((a.dataref(), b.dataref()), (1, 1));
    assert!(!b.cloned());
    // The one left alone has nothing to copy any more.
    a.data_mut()[0] = b'O';
    assert_eq!(a.cow_copies(), 0);
    assert_eq!(b.data(), b"CHANGED!");
}

#[test]
fn push_on_a_clone_copies_but_pull_does_not() {
    let mut a = linear_skb(16, b"payload");
    let mut b = a.skb_clone();
    b.pull(3).unwrap();
    assert_eq!(b.cow_copies(), 0);
    assert_eq!(b.dataref(), 2);
    b.push(5).unwrap().copy_from_slice(b"HDR!!");
    assert_eq!(b.cow_copies(), 1);
    assert_eq!(b.data(), b"HDR!!load");
    a.push(2).unwrap().copy_from_slice(b"xx");
    assert_eq!(a.data(), b"xxpayload");
    assert_eq!(a.cow_copies(), 0);
}

#[test]
fn put_and_header_mut_on_a_clone_copy_first() {
    let mut a = linear_skb(0, b"abc");
    a.reset_network_header();
    let mut b = a.skb_clone();
    b.put_data(b"def").unwrap();
    assert_eq!(a.data(), b"abc");
    assert_eq!(b.data(), b"abcdef");
    let mut c = a.skb_clone();
    c.header_mut(HeaderKind::Network).unwrap()[0] = b'X';
    assert_eq!(a.data(), b"abc");
    assert_eq!(c.data(), b"Xbc");
    assert_eq!((b.cow_copies(), c.cow_copies()), (1, 1));
}

#[test]
fn clone_shares_frags_without_taking_page_references() {
    let page = page_with(b"PAGE");
    let mut a = linear_skb(0, b"h");
    a.add_rx_frag(page.get_page(), 0, 4, 2048).unwrap();
    assert_eq!(page.page_count(), 2);
    let mut b = a.skb_clone();
    assert_eq!(page.page_count(), 2);
    // Unsharing copies skb_shared_info, so the copy references the page.
    b.data_mut()[0] = b'H';
    assert_eq!(page.page_count(), 3);
    drop(a);
    assert_eq!(page.page_count(), 2);
    drop(b);
    assert_eq!(page.page_count(), 1);
}

#[test]
fn skb_copy_is_private_linear_and_keeps_headroom_and_offsets() {
    let page = page_with(b"-paged-");
    let mut a = linear_skb(16, b"lin");
    a.push(2).unwrap().copy_from_slice(b"LL");
    a.reset_mac_header();
    a.protocol = 0x0800;
    a.add_rx_frag(page.get_page(), 1, 5, 4096).unwrap();
    let mut c = a.skb_copy().unwrap();
    assert_eq!(c.dataref(), 1);
    assert!(!c.cloned());
    assert_eq!(c.nr_frags(), 0);
    assert_eq!(c.data(), b"LLlinpaged");
    assert_eq!(c.headroom(), a.headroom());
    assert_eq!(c.mac_header(), a.mac_header());
    assert_eq!(c.protocol, 0x0800);
    // The copy's head is sized skb_end_offset + data_len.
    assert_eq!(c.truesize(), skb_truesize_for(a.end_offset() + 5));
    assert_eq!(page.page_count(), 2);
    c.data_mut()[0] = b'!';
    assert_eq!(a.data(), b"LLlin");
    assert_eq!(c.cow_copies(), 0);
    c.check_invariants().unwrap();
}

#[test]
fn pskb_expand_head_grows_headroom_and_shifts_offsets() {
    let mut skb = linear_skb(2, b"data");
    skb.reset_network_header();
    let before = skb.truesize();
    let copied = skb.pskb_expand_head(64, 0).unwrap();
    assert_eq!(copied, 6);
    assert_eq!(skb.headroom(), 66);
    assert_eq!(skb.network_header(), Some(66));
    assert_eq!(skb.data(), b"data");
    assert!(skb.end_offset() >= 256 + 64);
    assert_eq!(
        skb.truesize() - before,
        skb.end_offset() - SlabModel::DEFAULT.linear_room_for(6)
    );
    assert_eq!(skb.cow_copies(), 1);
    assert_eq!(
        skb.pskb_expand_head(usize::MAX, 1),
        Err(SkbError::TooBig { size: usize::MAX })
    );
    assert!(matches!(
        skb.pskb_expand_head(KMALLOC_MAX_SIZE, 0),
        Err(SkbError::TooBig { .. })
    ));
    skb.check_invariants().unwrap();
}

// ----- pages and frags -----

#[test]
fn pages_count_references_and_share_memory() {
    let p = Page::alloc();
    assert_eq!(p.page_count(), 1);
    let q = p.get_page();
    #[allow(clippy::redundant_clone)]
    let r = q.clone();
    assert_eq!(p.page_count(), 3);
    assert!(p.same_page(&r));
    assert!(!p.same_page(&Page::alloc()));
    q.write(4090, b"end").unwrap();
    let mut out = [0; 3];
    r.read(4090, &mut out).unwrap();
    assert_eq!(&out, b"end");
    assert_eq!(
        p.write(4095, b"xy"),
        Err(SkbError::BadFrag {
            offset: 4095,
            len: 2
        })
    );
    assert!(p.read(usize::MAX, &mut out).is_err());
    drop((q, r));
    assert_eq!(p.page_count(), 1);
    assert_eq!(format!("{p:?}"), "Page { count: 1 }");
}

#[test]
fn add_rx_frag_adds_to_len_data_len_and_truesize() {
    let mut skb = SkBuff::alloc_skb(128).unwrap();
    let truesize = skb.truesize();
    let page = page_with(&filled(4096, 3));
    skb.add_rx_frag(page.get_page(), 100, 1400, 2048).unwrap();
    assert_eq!(skb.len(), 1400);
    assert_eq!(skb.data_len(), 1400);
    assert_eq!(skb.headlen(), 0);
    assert!(skb.is_nonlinear());
    assert_eq!(skb.truesize(), truesize + 2048);
    assert_eq!(skb.nr_frags(), 1);
    let frag = &skb.frags()[0];
    assert_eq!(
        (frag.offset(), frag.len(), frag.is_empty()),
        (100, 1400, false)
    );
    assert!(frag.page().same_page(&page));
    assert_eq!(page.page_count(), 2);
    drop(skb);
    assert_eq!(page.page_count(), 1);
}

#[test]
fn add_rx_frag_refuses_bad_frags_and_the_eighteenth() {
    let mut skb = SkBuff::alloc_skb(0).unwrap();
    assert_eq!(
        skb.add_rx_frag(Page::alloc(), 4000, 100, 100),
        Err(SkbError::BadFrag {
            offset: 4000,
            len: 100
        })
    );
    assert!(skb.add_rx_frag(Page::alloc(), usize::MAX, 2, 0).is_err());
    assert!(PageFrag::new(Page::alloc(), 0, 4097).is_err());
    let page = Page::alloc();
    for _ in 0..MAX_SKB_FRAGS {
        skb.add_rx_frag(page.get_page(), 0, 10, 10).unwrap();
    }
    assert_eq!(
        skb.add_rx_frag(page.get_page(), 0, 10, 10),
        Err(SkbError::TooManyFrags)
    );
    assert_eq!(skb.len(), 170);
    assert_eq!(page.page_count(), 1 + MAX_SKB_FRAGS);
    skb.check_invariants().unwrap();
}

#[test]
fn copy_bits_reads_across_linear_and_frags() {
    let mut skb = linear_skb(4, b"0123");
    skb.add_rx_frag(page_with(b"..4567.."), 2, 4, 4).unwrap();
    skb.add_rx_frag(page_with(b"89"), 0, 2, 2).unwrap();
    let mut all = [0; 10];
    skb.copy_bits(0, &mut all).unwrap();
    assert_eq!(&all, b"0123456789");
    let mut mid = [0; 5];
    skb.copy_bits(3, &mut mid).unwrap();
    assert_eq!(&mid, b"34567");
    let mut none = [0; 0];
    skb.copy_bits(10, &mut none).unwrap();
    assert_eq!(
        skb.copy_bits(8, &mut mid),
        Err(SkbError::OutOfRange {
            offset: 8,
            len: 5,
            skb_len: 10
        })
    );
    assert!(skb.copy_bits(usize::MAX, &mut mid).is_err());
}

#[test]
fn linearize_copies_frags_in_and_releases_their_pages() {
    let p1 = page_with(b"abcd");
    let p2 = page_with(b"efgh");
    let mut skb = linear_skb(0, b"hdr:");
    skb.add_rx_frag(p1.get_page(), 0, 4, 4).unwrap();
    skb.add_rx_frag(p2.get_page(), 0, 4, 4).unwrap();
    assert_eq!(skb.linearize(), Ok(8));
    assert_eq!(skb.data(), b"hdr:abcdefgh");
    assert_eq!((skb.data_len(), skb.nr_frags()), (0, 0));
    assert_eq!((p1.page_count(), p2.page_count()), (1, 1));
    // Enough tailroom: no new head.
    assert_eq!(skb.cow_copies(), 0);
    assert_eq!(skb.linearize(), Ok(0));
    skb.check_invariants().unwrap();
}

#[test]
fn linearize_grows_the_head_when_the_frags_do_not_fit() {
    let page = page_with(&filled(4096, 9));
    let mut skb = linear_skb(0, b"h");
    skb.add_rx_frag(page.get_page(), 0, 4096, 4096).unwrap();
    let truesize = skb.truesize();
    assert_eq!(skb.linearize(), Ok(4096));
    assert_eq!(skb.cow_copies(), 1);
    assert!(skb.end_offset() >= 4097);
    assert!(skb.truesize() > truesize);
    assert_eq!(&skb.data()[1..], &filled(4096, 9)[..]);
    assert_eq!(page.page_count(), 1);
    skb.check_invariants().unwrap();
}

#[test]
fn linearize_on_a_clone_leaves_the_other_paged() {
    let page = page_with(b"PAGE");
    let mut a = linear_skb(0, b"h");
    a.add_rx_frag(page.get_page(), 0, 4, 4).unwrap();
    let mut b = a.skb_clone();
    b.linearize().unwrap();
    assert_eq!(b.data(), b"hPAGE");
    assert_eq!(a.nr_frags(), 1);
    assert_eq!(a.data(), b"h");
    assert_eq!(page.page_count(), 2);
    drop(a);
    assert_eq!(page.page_count(), 1);
}

#[test]
fn pskb_may_pull_makes_a_header_linear() {
    let page = page_with(b"IPHDR+payload");
    let mut skb = SkBuff::alloc_skb(64).unwrap();
    skb.add_rx_frag(page.get_page(), 0, 13, 13).unwrap();
    assert!(skb.pskb_may_pull(0));
    assert!(!skb.pskb_may_pull(14));
    assert!(skb.pskb_may_pull(5));
    assert_eq!(skb.data(), b"IPHDR");
    assert_eq!(skb.data_len(), 8);
    assert_eq!(skb.frags()[0].offset(), 5);
    assert_eq!(page.page_count(), 2);
    assert!(skb.pskb_may_pull(13));
    assert_eq!(skb.nr_frags(), 0);
    assert_eq!(page.page_count(), 1);
    skb.check_invariants().unwrap();
}

// ----- queues -----

#[test]
fn queue_is_fifo_and_sums_len_and_truesize() {
    let mut q = SkbQueue::new();
    assert!(q.is_empty());
    assert_eq!(q.dequeue().map(|s| s.len()), None);
    q.queue_tail(linear_skb(0, b"one"));
    q.queue_tail(linear_skb(0, b"three"));
    q.queue_head(linear_skb(0, b"zero"));
    assert_eq!(q.qlen(), 3);
    assert_eq!(q.bytes(), 12);
    assert_eq!(q.truesize(), 3 * skb_truesize_for(5));
    assert_eq!(q.peek().unwrap().data(), b"zero");
    assert_eq!(q.peek_tail().unwrap().data(), b"three");
    let order: Vec<&[u8]> = q.iter().map(SkBuff::data).collect();
    assert_eq!(order, [&b"zero"[..], b"one", b"three"]);
    let lens: Vec<usize> = (&q).into_iter().map(SkBuff::len).collect();
    assert_eq!(lens, [4, 3, 5]);
    q.peek_mut().unwrap().pull(2).unwrap();
    assert_eq!(q.bytes(), 10);
    assert_eq!(q.dequeue().unwrap().data(), b"ro");
    assert_eq!(q.dequeue_tail().unwrap().data(), b"three");
    assert_eq!(q.qlen(), 1);
}

#[test]
fn purge_frees_everything_and_says_how_much() {
    let page = Page::alloc();
    let mut q = SkbQueue::new();
    for _ in 0..3 {
        let mut skb = SkBuff::alloc_skb(0).unwrap();
        skb.add_rx_frag(page.get_page(), 0, 100, 100).unwrap();
        q.queue_tail(skb);
    }
    assert_eq!(page.page_count(), 4);
    assert_eq!(q.purge(), 3);
    assert_eq!(page.page_count(), 1);
    assert_eq!((q.qlen(), q.bytes(), q.truesize()), (0, 0, 0));
    assert_eq!(q.purge(), 0);
}

// ----- truesize -----

#[test]
fn kmalloc_size_classes() {
    let cases = [
        (0, 0),
        (1, 8),
        (8, 8),
        (9, 16),
        (33, 64),
        (65, 96),
        (97, 128),
        (129, 192),
        (193, 256),
        (257, 512),
        (448, 512),
        (513, 1024),
        (4416, 8192),
        (8192, 8192),
        // Past KMALLOC_MAX_CACHE_SIZE: whole pages, PAGE_SIZE << order.
        (8193, 16384),
        (16385, 32768),
        (KMALLOC_MAX_SIZE, KMALLOC_MAX_SIZE),
        // Beyond what kmalloc serves: returned as is.
        (KMALLOC_MAX_SIZE + 1, KMALLOC_MAX_SIZE + 1),
        (usize::MAX, usize::MAX),
    ];
    for (size, class) in cases {
        assert_eq!(kmalloc_size_roundup(size), class, "size {size}");
    }
}

#[test]
fn small_head_slab_sizes_per_kernel() {
    // 6.14+: SKB_HEAD_ALIGN(max(MAX_TCP_HEADER, GRO_MAX_HEAD_PAD)).
    // Minimal: max(L1_CACHE_ALIGN(128+32)=192, 32+128+64+0=224) = 224,
    // SKB_HEAD_ALIGN(224) = 256 + 320 = 576, not a power of two: 576.
    assert_eq!(SlabModel::DEFAULT.small_head_cache(), Some(576));
    // Distro: max(L1_CACHE_ALIGN(304)=320, 176+192=368) = 368 -> 384+320.
    assert_eq!(
        SlabModel::linux_6_14(MAX_HEADER_DISTRO).small_head_cache(),
        Some(704)
    );
    // 6.3-6.13: SKB_HEAD_ALIGN(MAX_TCP_HEADER). Distro: 320 + 320 = 640.
    assert_eq!(
        SlabModel::linux_6_3(MAX_HEADER_DISTRO).small_head_cache(),
        Some(640)
    );
    // Minimal: 192 + 320 = 512 is a power of two, so + L1_CACHE_BYTES.
    assert_eq!(
        SlabModel::linux_6_3(MAX_HEADER_MINIMAL).small_head_cache(),
        Some(576)
    );
    assert_eq!(SlabModel::KMALLOC_ONLY.small_head_cache(), None);
    assert_eq!(SlabModel::default(), SlabModel::DEFAULT);
}

/// truesize = SKB_TRUESIZE(SKB_WITH_OVERHEAD(alloc)) = alloc + 256, where
/// alloc is what kmalloc_reserve() hands out for SKB_HEAD_ALIGN(size) =
/// SKB_DATA_ALIGN(size) + 320: the 576-byte small-head slab when it fits
/// (default model), else kmalloc_size_roundup().
#[test]
fn truesize_table() {
    let table = [
        // size, SKB_HEAD_ALIGN, alloc, linear room, truesize
        (0, 320, 576, 256, 832),           // 0 + 320 fits the small-head slab
        (123, 448, 576, 256, 832),         // 128 + 320
        (256, 576, 576, 256, 832),         // 256 + 320: exactly the slab
        (257, 640, 1024, 704, 1280),       // 320 + 320 > 576: kmalloc-1k
        (1059, 1408, 2048, 1728, 2304),    // 1088 + 320: kmalloc-2k
        (1728, 2048, 2048, 1728, 2304),    // the whole kmalloc-2k room
        (1729, 2112, 4096, 3776, 4352),    // one byte more: kmalloc-4k
        (4059, 4416, 8192, 7872, 8448),    // 4096 + 320: kmalloc-8k
        (8059, 8384, 16384, 16064, 16640), // past 8 KiB: an order-2 page
    ];
    for (size, head_align, alloc, room, truesize) in table {
        assert_eq!(skb_head_align(size), head_align, "size {size}");
        assert_eq!(
            SlabModel::DEFAULT.head_alloc_size(size),
            alloc,
            "size {size}"
        );
        assert_eq!(
            SlabModel::DEFAULT.linear_room_for(size),
            room,
            "size {size}"
        );
        assert_eq!(skb_truesize_for(size), truesize, "size {size}");
        assert_eq!(truesize, alloc + SKB_STRUCT_SIZE);
        let skb = SkBuff::alloc_skb(size).unwrap();
        assert_eq!((skb.end_offset(), skb.truesize()), (room, truesize));
    }
}

/// The bytes `__ip_append_data()` asks `sock_alloc_send_skb()` for when a
/// UDP payload fits one linear skb on loopback: fragheaderlen (IPv4 header,
/// 20) + UDP header (8) + payload + LL_RESERVED_SPACE(lo) (16) + 15.
fn udp_loopback_alloc(payload: usize) -> usize {
    20 + 8 + payload + 16 + 15
}

#[test]
fn a_small_udp_datagram_on_loopback_costs_what_the_kernel_says() {
    let size = udp_loopback_alloc(64);
    assert_eq!(size, 123);
    // Before 6.3 (the 768 that `ss` shows on older kernels): kmalloc-512.
    assert_eq!(SlabModel::KMALLOC_ONLY.truesize_for(size), 768);
    // 6.3-6.13, distro config: the 640-byte small-head slab.
    assert_eq!(
        SlabModel::linux_6_3(MAX_HEADER_DISTRO).truesize_for(size),
        896
    );
    // 6.14+, distro config: 704-byte slab.
    assert_eq!(
        SlabModel::linux_6_14(MAX_HEADER_DISTRO).truesize_for(size),
        960
    );
    // 6.14+, minimal config, the default: 576-byte slab.
    assert_eq!(skb_truesize_for(size), 832);
    // A measured slab size gives the same as the derived one.
    assert_eq!(
        SlabModel::with_small_head_cache(576).truesize_for(size),
        832
    );
}

/// Measured on the reference machine (Linux 6.18.44, x86_64): one datagram
/// of each payload size sent over 127.0.0.1 to a bound socket nobody reads,
/// then `rx_queue` from /proc/net/udp (which, like `ss`' Recv-Q, shows
/// sk_rmem_alloc: the skb's truesize). Payloads up to 16000 bytes stay in
/// one linear skb (fraglen + 31 < SKB_MAX_ALLOC = 16064).
#[test]
fn truesize_matches_the_reference_kernel() {
    let measured = [
        (0, 832),
        (1, 832),
        (64, 832),
        (100, 832),
        (200, 1280),
        (500, 1280),
        (1000, 2304),
        (1472, 2304),
        (2000, 4352),
        (4000, 8448),
        (8000, 16640),
        (16000, 16640),
    ];
    for (payload, rx_queue) in measured {
        assert_eq!(
            skb_truesize_for(udp_loopback_alloc(payload)),
            rx_queue,
            "payload {payload}"
        );
    }
}

// ----- formatting -----

#[test]
fn display_and_debug_show_geometry_not_bytes() {
    let mut skb = linear_skb(16, &[0xab; 100]);
    let _clone = skb.skb_clone();
    assert_eq!(
        skb.to_string(),
        "skb len=100 headroom=16 headlen=100 tailroom=140 data_len=0 nr_frags=0 truesize=832 dataref=2"
    );
    let dbg = format!("{skb:?}");
    assert!(dbg.starts_with("SkBuff { len: 100"), "{dbg}");
    assert!(!dbg.contains("171"), "{dbg}");
    for e in [
        SkbError::NoTailroom { need: 1, have: 0 },
        SkbError::NoHeadroom { need: 1, have: 0 },
        SkbError::NotEmpty,
        SkbError::Nonlinear,
        SkbError::TooManyFrags,
        SkbError::BadFrag { offset: 1, len: 2 },
        SkbError::BadOffset,
        SkbError::OutOfRange {
            offset: 1,
            len: 2,
            skb_len: 0,
        },
        SkbError::TooBig { size: 1 },
    ] {
        assert!(!e.to_string().is_empty());
    }
}
