//! Hidden tests: ids and coalescing at their edges.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

fn ubuf(id: u32, len: u16, zerocopy: bool) -> Ubuf {
    Ubuf {
        id,
        len,
        bytelen: 0,
        zerocopy,
    }
}

lab_receipt::graded! {
    /// A gap, or an earlier range, queues a new notification.
    fn only_contiguous_ranges_merge() {
        let mut q = ErrQueue::default();
        q.complete(&ubuf(0, 3, true));
        q.complete(&ubuf(4, 1, true));
        q.complete(&ubuf(3, 1, true));
        q.complete(&ubuf(5, 2, true));
        let z = SO_EE_ORIGIN_ZEROCOPY;
        // 5..=6 follows 4 but not 3: only the tail is ever extended.
        assert_eq!(q.plain(), vec![(z, 0, 0, 2), (z, 0, 4, 4), (z, 0, 3, 3), (z, 0, 5, 6)]);
        let mut t = zc_note(4, 4, false);
        assert!(skb_zerocopy_notify_extend(&mut t, 5, 2));
        assert_eq!((t.ee_info, t.ee_data), (4, 6));
        assert!(!skb_zerocopy_notify_extend(&mut t, 8, 1));
        assert!(!skb_zerocopy_notify_extend(&mut t, 4, 1));
        assert_eq!((t.ee_info, t.ee_data), (4, 6));
    }

    /// Ids wrap: ...MAX-1, MAX, 0, 1 is one range.
    fn ranges_wrap_at_two_to_the_32() {
        let mut q = ErrQueue::default();
        let mut k = ZcKey::new(u32::MAX - 1);
        let bufs: Vec<Ubuf> = (0..4).map(|_| k.alloc(10)).collect();
        assert_eq!(bufs.iter().map(|b| b.id).collect::<Vec<_>>(), vec![u32::MAX - 1, u32::MAX, 0, 1]);
        for b in &bufs {
            q.complete(b);
        }
        assert_eq!(q.plain(), vec![(SO_EE_ORIGIN_ZEROCOPY, 0, u32::MAX - 1, 1)]);
        q.complete(&ubuf(2, 3, true));
        assert_eq!(q.plain(), vec![(SO_EE_ORIGIN_ZEROCOPY, 0, u32::MAX - 1, 4)]);
    }

    /// A range never covers all 2^32 ids: it would be ambiguous.
    fn a_range_stays_below_two_to_the_32_ids() {
        let mut t = zc_note(1, u32::MAX, false);
        assert!(!skb_zerocopy_notify_extend(&mut t, 0, 1));
        let mut t = zc_note(2, u32::MAX, false);
        assert!(skb_zerocopy_notify_extend(&mut t, 0, 1));
        assert_eq!((t.ee_info, t.ee_data), (2, 0));
        let mut t = zc_note(100, u32::MAX - 5, false);
        assert!(!skb_zerocopy_notify_extend(&mut t, u32::MAX - 4, 200));
        assert_eq!((t.ee_info, t.ee_data), (100, u32::MAX - 5));
    }

    /// Whether a range was copied is not compared: the tail's code stands
    /// (as in skb_zerocopy_notify_extend()).
    fn copied_and_not_copied_still_merge() {
        let mut q = ErrQueue::default();
        q.complete(&ubuf(0, 1, true));
        q.complete(&ubuf(1, 1, false));
        q.complete(&ubuf(2, 1, true));
        assert_eq!(q.plain(), vec![(SO_EE_ORIGIN_ZEROCOPY, 0, 0, 2)]);
        let mut q = ErrQueue::default();
        q.complete(&ubuf(5, 2, false));
        q.complete(&ubuf(7, 1, true));
        assert_eq!(q.plain(), vec![(SO_EE_ORIGIN_ZEROCOPY, SO_EE_CODE_ZEROCOPY_COPIED, 5, 7)]);
    }

    /// Only a zero-copy notification at the tail is extended; an aborted
    /// buffer (no sends left) reports nothing.
    fn other_entries_and_aborted_buffers() {
        let icmp = SockExtendedErr {
            ee_errno: 111,
            ee_origin: SO_EE_ORIGIN_ICMP,
            ee_info: 0,
            ee_data: 4,
            ..SockExtendedErr::default()
        };
        let mut q = ErrQueue { q: vec![icmp] };
        q.complete(&ubuf(5, 1, true));
        assert_eq!(q.plain(), vec![(SO_EE_ORIGIN_ICMP, 0, 0, 4), (SO_EE_ORIGIN_ZEROCOPY, 0, 5, 5)]);
        let mut k = ZcKey::new(9);
        let mut u = k.alloc(100);
        k.put_abort(&mut u);
        assert_eq!((k.next(), u.len), (9, 0));
        q.complete(&u);
        assert_eq!(q.q.len(), 2, "an aborted send is not reported");
    }

    /// msg_zerocopy_realloc: a send joins the tail buffer only if no other
    /// send got an id since, and only under the limits; a datagram socket
    /// with a full tail gets nothing.
    fn realloc_joins_only_the_latest_buffer() {
        let mut k = ZcKey::new(0);
        let mut a = k.alloc(100);
        let b = k.alloc(100);
        assert_eq!(k.realloc(Some(&mut a), 50, true), Realloc::New(Ubuf { id: 2, len: 1, bytelen: 50, zerocopy: true }));
        assert_eq!((a.len, a.bytelen, b.id), (1, 100, 1));
        let mut big = k.alloc(ZC_BYTE_LIMIT - 10);
        assert_eq!(big.id, 3);
        assert_eq!(k.realloc(Some(&mut big), 10, false), Realloc::Joined);
        assert_eq!((big.len, big.bytelen, k.next()), (2, ZC_BYTE_LIMIT, 5));
        assert_eq!(k.realloc(Some(&mut big), 1, false), Realloc::Refused);
        assert_eq!(k.next(), 5);
        assert_eq!(k.realloc(Some(&mut big), 1, true), Realloc::New(Ubuf { id: 5, len: 1, bytelen: 1, zerocopy: true }));
        let mut full = Ubuf { id: 6, len: u16::MAX - 1, bytelen: 0, zerocopy: true };
        let mut k = ZcKey::new(6u32.wrapping_add(u32::from(u16::MAX - 1)));
        assert_eq!(k.realloc(Some(&mut full), 1, false), Realloc::Refused);
        let mut wrap = ZcKey::new(u32::MAX);
        let mut w = wrap.alloc(1);
        assert_eq!(wrap.realloc(Some(&mut w), 1, true), Realloc::Joined);
        assert_eq!((w.id, w.len, wrap.next()), (u32::MAX, 2, 1));
    }
}
