//! epoll: `fs/eventpoll.c`.
//!
//! Filled in by the multiplexing work; this first part is the wait-queue
//! callback's entry point.

use crate::ids::FileId;
use crate::sim::World;
use crate::wait::Wakeup;

impl World {
    /// `ep_poll_callback()`: a watched file's wait queue was woken.
    pub(crate) fn ep_poll_callback(&mut self, _ep: FileId, _file: FileId, _why: Wakeup) -> bool {
        false
    }
}
