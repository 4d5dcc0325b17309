//! The core kernel (`kernel/`, `include/linux/sched.h`): machines,
//! processes and their system calls, `fork()`, wait queues, and the
//! `World` (in `world`) that holds every host's kernel state.

pub mod fork;
pub mod host;
pub mod ids;
pub mod syscalls;
pub mod task;
pub mod wait;
pub mod world;
