//! Builds the course book and checks it.
//!
//! The book (`book.toml`, `book/`) promises three things a reader relies
//! on: every output shown under a snippet is what the snippet printed
//! (an include of the snapshot `stack/tests/examples.rs` verifies), every
//! link and picture works, and the same book can be read offline as a PDF.
//! This crate holds the checks for those promises; its tests run them.
//!
//! - [`summary`]: the table of contents (`book/SUMMARY.md`).
//! - [`source`]: what a page's Markdown says: its `{{#include}}`s, code
//!   blocks, pictures and how many words of prose it has.
//! - [`pins`]: line-range includes of snapshots, pinned to the lines they
//!   were written for (`bookcheck/pins.toml`), so they cannot drift.
//! - [`mdbook`]: running `mdbook build` (cached per source state) and the
//!   built pages' internal links.
//! - [`chromium`]: headless Chromium: loading a page with its console and
//!   pictures watched, and printing the whole book to PDF.
//! - [`playground`]: the examples built to WebAssembly for the pages'
//!   in-browser runs.
//! - [`serve`]: a static file server for the built book, as a reader's
//!   `python3 -m http.server` serves it.
//! - [`tools`]: finding the external programs, and what to do without them.

pub mod chromium;
pub mod mdbook;
pub mod pins;
pub mod playground;
pub mod serve;
pub mod source;
pub mod summary;
pub mod tools;

use std::path::{Path, PathBuf};

/// The repository's root (where `book.toml` is).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The pins of line-range includes ([`pins`]).
pub fn pins_file() -> PathBuf {
    repo_root().join("bookcheck/pins.toml")
}

/// The book's source folder (`book/`).
pub fn book_src() -> PathBuf {
    repo_root().join("book")
}
