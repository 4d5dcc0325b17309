//! What the book's tests share: its pages, read through the summary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bookcheck::summary::{self, Entry};

/// A page of the book with its Markdown.
pub struct Page {
    pub entry: Entry,
    /// Relative to `book/`.
    pub path: String,
    pub text: String,
}

impl Page {
    /// The folder its relative paths start from.
    pub fn dir(&self) -> PathBuf {
        let full = bookcheck::book_src().join(&self.path);
        full.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// Every page the summary lists, in order (drafts, having no file, left out).
pub fn pages() -> Vec<Page> {
    let src = bookcheck::book_src();
    let entries = summary::read(&src).expect("book/SUMMARY.md");
    entries
        .into_iter()
        .filter_map(|entry| {
            let path = entry.path.clone()?;
            let text = std::fs::read_to_string(src.join(&path)).unwrap_or_default();
            Some(Page { entry, path, text })
        })
        .collect()
}

/// The twelve chapters, `chNN-*.md`.
pub fn chapters() -> Vec<Page> {
    pages()
        .into_iter()
        .filter(|p| p.entry.chapter().is_some())
        .collect()
}

/// Fails with every problem found, one per line.
pub fn assert_none(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
