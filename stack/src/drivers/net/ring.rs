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
//! is the stack's own, and the queues lab (`labs/queues`) has students
//! write another that [`crate::sim::Sim::set_rx_ring`] plugs into a NIC.
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

/// A ring of `size` descriptors.
#[derive(Debug)]
pub struct DescRing<T> {
    slots: Vec<Option<T>>,
    prod: u64,
    cons: u64,
}

impl<T> DescRing<T> {
    /// A ring with `size` descriptors (at least 1).
    pub fn new(size: usize) -> DescRing<T> {
        let size = size.max(1);
        DescRing {
            slots: (0..size).map(|_| None).collect(),
            prod: 0,
            cons: 0,
        }
    }

    /// The number of descriptors.
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// Descriptors holding an item not yet consumed.
    pub fn len(&self) -> usize {
        (self.prod - self.cons) as usize
    }

    /// True when no descriptor holds an item.
    pub fn is_empty(&self) -> bool {
        self.prod == self.cons
    }

    /// True when every descriptor holds an item.
    pub fn is_full(&self) -> bool {
        self.len() == self.size()
    }

    /// The producer index (total items ever produced).
    pub fn prod(&self) -> u64 {
        self.prod
    }

    /// The consumer index (total items ever consumed).
    pub fn cons(&self) -> u64 {
        self.cons
    }

    /// Puts an item in the next slot, or hands it back when the ring is full.
    pub fn produce(&mut self, item: T) -> Result<usize, T> {
        if self.is_full() {
            return Err(item);
        }
        let slot = (self.prod % self.size() as u64) as usize;
        self.slots[slot] = Some(item);
        self.prod += 1;
        Ok(slot)
    }

    /// Takes the oldest item.
    pub fn consume(&mut self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let slot = (self.cons % self.size() as u64) as usize;
        self.cons += 1;
        self.slots[slot].take()
    }

    /// The item `n` places after the oldest, if there is one.
    pub fn get(&self, n: usize) -> Option<&T> {
        if n >= self.len() {
            return None;
        }
        let slot = ((self.cons + n as u64) % self.size() as u64) as usize;
        self.slots[slot].as_ref()
    }
}

impl<T: std::fmt::Debug> RxRing<T> for DescRing<T> {
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
