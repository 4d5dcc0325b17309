//! The NIC's RX descriptor ring.
//!
//! A NIC and its driver share a fixed array of descriptors. The NIC
//! *produces*: when a frame lands it DMAs it into the buffer of the next
//! free descriptor and advances its producer index. The driver's NAPI poll
//! *consumes*: it takes frames off in order and advances the consumer
//! index. Both indices only ever grow; a descriptor's slot is its index
//! modulo the ring's size, so the ring wraps around. Drivers call them
//! `next_to_use` and `next_to_clean` (e.g. `e1000_clean_rx_irq` in
//! `drivers/net/ethernet/intel/e1000/e1000_main.c`).
//!
//! When every descriptor holds a frame the driver has not taken yet, the
//! NIC has nowhere to put the next one: it drops it and counts it
//! (`rx_missed_errors`, the "missed" column of `ip -s link`). Nothing
//! already in the ring is overwritten: the newest frame is the one lost.
//!
//! The stack's NICs run on this ring (`stack/src/drivers/net/ring.rs`
//! compiles this file), for receive and for transmit, so every frame of
//! the book's examples that crosses a NIC goes through it.

/// A ring of `size` descriptors holding items of type `T` (skbs, in a NIC).
#[derive(Debug)]
pub struct DescRing<T> {
    slots: Vec<Option<T>>,
    prod: u64,
    cons: u64,
    dropped: u64,
}

impl<T> DescRing<T> {
    /// A ring with `size` descriptors; a ring has at least one, so a size
    /// of 0 gives a ring of 1.
    pub fn new(size: usize) -> DescRing<T> {
        let size = size.max(1);
        DescRing {
            slots: (0..size).map(|_| None).collect(),
            prod: 0,
            cons: 0,
            dropped: 0,
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

    /// The producer index: items ever produced (not counting drops).
    pub fn prod(&self) -> u64 {
        self.prod
    }

    /// The consumer index: items ever consumed.
    pub fn cons(&self) -> u64 {
        self.cons
    }

    /// Items refused because the ring was full (`rx_missed_errors`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Puts `item` in the next free slot and returns that slot's number
    /// (`0..size`), or, when the ring is full, counts a drop and hands the
    /// item back.
    pub fn produce(&mut self, item: T) -> Result<usize, T> {
        if self.is_full() {
            self.dropped += 1;
            return Err(item);
        }
        let slot = (self.prod % self.size() as u64) as usize;
        self.slots[slot] = Some(item);
        self.prod += 1;
        Ok(slot)
    }

    /// Takes the oldest item, if any.
    pub fn consume(&mut self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let slot = (self.cons % self.size() as u64) as usize;
        self.cons += 1;
        self.slots[slot].take()
    }

    /// The item `n` places after the oldest (`get(0)` is the next
    /// `consume()`), without taking it.
    pub fn get(&self, n: usize) -> Option<&T> {
        if n >= self.len() {
            return None;
        }
        let slot = ((self.cons + n as u64) % self.size() as u64) as usize;
        self.slots[slot].as_ref()
    }
}
