//! # Lab: epoll
//!
//! Build the heart of an epoll instance: the interest list, the ready list
//! and the callback that a watched file's wait queue runs when something
//! happens to it. Your work goes in [`eventpoll`] (the only file the
//! grader takes from you); the handout is `book/labs/epoll.md`.
//!
//! Your [`EventPoll`] implements the stack's own trait,
//! [`stack::eventpoll_lists::EventPollLists`], the shape the simulated
//! kernel uses for its epoll instances. So once it works, a simulation can
//! run on it:
//!
//! ```no_run
//! use stack::prelude::*;
//!
//! let mut sim = Sim::new(1);
//! sim.set_eventpoll(lab_epoll::boxed); // every epoll instance uses your lists
//! ```

pub mod eventpoll;

pub use eventpoll::EventPoll;
pub use stack::eventpoll_lists::{Callback, EpKey, EventPollLists};

/// Your lists, boxed, as [`stack::sim::Sim::set_eventpoll`] wants them.
pub fn boxed() -> Box<dyn EventPollLists> {
    Box::new(EventPoll::new())
}
