//! Memory management (`mm/`): the page cache that files live in, and a
//! process's own pages as `vmsplice()` and `MSG_ZEROCOPY` pin them.

pub mod pagecache;
pub mod user_pages;
