//! The file layer (`fs/`): open files and the fd table, the system calls
//! on files, pipes, `splice()`, the in-memory file system, and the
//! readiness machinery every file shares: `->poll`, `select()`/`poll()`
//! and epoll.

pub mod eventpoll;
pub mod eventpoll_lists;
#[cfg(test)]
mod eventpoll_tests;
pub mod file;
pub mod pipe;
pub mod pipe_ring;
pub mod poll;
pub mod ramfs;
pub mod read_write;
pub mod select;
pub mod splice;
pub mod syscalls;
