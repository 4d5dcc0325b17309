//! A NIC descriptor ring: a fixed array of slots shared by the driver and
//! the hardware, with a producer index and a consumer index that only ever
//! grow (the slot is the index modulo the size), as in most drivers
//! (`next_to_use` / `next_to_clean` in `drivers/net/ethernet/intel/`).
//!
//! On receive the NIC produces (DMA writes a frame into the next free
//! slot) and the driver's NAPI poll consumes; when every slot holds a frame
//! the driver has not yet taken, the NIC has nowhere to put the next one and
//! drops it (`rx_missed_errors`). On transmit the driver produces and the
//! NIC consumes.
//!
//! Simplified: a receive slot's buffer is allocated when the frame lands
//! rather than pre-posted by the driver; the count of free slots is the same.
//!
//! [`RxRing`] is the shape the NIC needs of its receive ring; [`DescRing`]
//! is the stack's own, compiled from the queues lab (`labs/queues`), and
//! [`crate::sim::Sim::set_rx_ring`] plugs any other into one NIC.
//!
//! The descriptor rings are part of each driver in the kernel; here they
//! are a module of their own because they are the queues lab's component.

/// What the NIC and its driver do with a receive ring: the NIC produces
/// into it when a frame lands, the driver's NAPI poll consumes from it.
pub trait RxRing<T>: std::fmt::Debug {
    /// The number of descriptors.
    fn size(&self) -> usize;
    /// Descriptors holding an item not yet consumed.
    fn len(&self) -> usize;
    /// True when no descriptor holds an item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Puts an item in the next free slot and returns the slot's number,
    /// or hands the item back when every slot is taken.
    fn produce(&mut self, item: T) -> Result<usize, T>;
    /// Takes the oldest item.
    fn consume(&mut self) -> Option<T>;
}

// The stack's ring is the queues lab's reference solution: one source for
// both. In the students' repository (`grader release`) this path is their
// `labs/queues/src/ring.rs`, so every NIC runs on their ring (and the
// examples stop with the lab's message until it is written).
#[path = "../../../../labs/queues/solution/src/ring.rs"]
mod lab_ring;

/// A ring of `size` descriptors: the queues lab's
/// [`DescRing`](lab_ring::DescRing), a `Vec` of slots and two indices.
pub use lab_ring::DescRing;

/// `impl<T> RxRing<T> for $ring<T>` by calling the inherent methods of the
/// same names: how the queues lab's `DescRing` (its reference solution in
/// the stack, the student's own in the lab crate) becomes an [`RxRing`]
/// without a second copy of the forwarding.
#[macro_export]
macro_rules! impl_rx_ring {
    ($ring:ident) => {
        impl<T: std::fmt::Debug> $crate::drivers::net::ring::RxRing<T> for $ring<T> {
            fn size(&self) -> usize {
                $ring::size(self)
            }

            fn len(&self) -> usize {
                $ring::len(self)
            }

            fn produce(&mut self, item: T) -> Result<usize, T> {
                $ring::produce(self, item)
            }

            fn consume(&mut self) -> Option<T> {
                $ring::consume(self)
            }
        }
    };
}

impl_rx_ring!(DescRing);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_around_and_refuses_when_full() {
        let mut r = DescRing::new(3);
        assert_eq!(r.produce(1), Ok(0));
        assert_eq!(r.produce(2), Ok(1));
        assert_eq!(r.produce(3), Ok(2));
        assert_eq!(r.produce(4), Err(4));
        assert_eq!(r.consume(), Some(1));
        assert_eq!(r.produce(5), Ok(0));
        assert_eq!(r.get(0), Some(&2));
        assert_eq!(r.get(2), Some(&5));
        assert_eq!(r.get(3), None);
        assert_eq!((r.prod(), r.cons()), (4, 1));
    }

    proptest! {
        /// The ring behaves as a bounded FIFO whatever the interleaving.
        #[test]
        fn matches_a_bounded_fifo(size in 1usize..8, ops in proptest::collection::vec(any::<bool>(), 0..200)) {
            let mut ring = DescRing::new(size);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0u32;
            for produce in ops {
                if produce {
                    let res = ring.produce(next);
                    if model.len() < size {
                        prop_assert!(res.is_ok());
                        model.push_back(next);
                    } else {
                        prop_assert_eq!(res, Err(next));
                    }
                    next += 1;
                } else {
                    prop_assert_eq!(ring.consume(), model.pop_front());
                }
                prop_assert_eq!(ring.len(), model.len());
                prop_assert_eq!(ring.is_full(), model.len() == size);
            }
        }
    }
}
