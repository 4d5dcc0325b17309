//! The external programs the book needs: `mdbook` (0.5), its
//! preprocessor `mdbook-quiz` and backend `mdbook-linkcheck2`, Chromium
//! (Debian's `chromium`) and `pdftotext` (poppler-utils). `scripts/test`
//! installs them and sets `BOOKCHECK_STRICT`. A check that needs a missing
//! program fails when `BOOKCHECK_STRICT` or `CI` is set (so a broken set-up
//! cannot pass quietly) and otherwise says what to install and skips.

use std::path::{Path, PathBuf};

/// A program and how to install it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The command's name.
    pub name: &'static str,
    /// Other names it goes by (`chromium-browser`).
    pub aliases: &'static [&'static str],
    /// How to get it.
    pub install: &'static str,
}

/// mdBook itself.
pub const MDBOOK: Tool = Tool {
    name: "mdbook",
    aliases: &[],
    install: "cargo install mdbook --version 0.5.4 --locked",
};

/// The quiz preprocessor.
pub const MDBOOK_QUIZ: Tool = Tool {
    name: "mdbook-quiz",
    aliases: &[],
    install: "cargo install mdbook-quiz --version 0.5.0 --locked",
};

/// The link-checking backend.
pub const LINKCHECK: Tool = Tool {
    name: "mdbook-linkcheck2",
    aliases: &[],
    install: "cargo install mdbook-linkcheck2 --version 0.13.0 --locked",
};

/// Headless Chromium.
pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    aliases: &["chromium-browser", "google-chrome"],
    install: "apt-get install chromium",
};

/// Text out of a PDF.
pub const PDFTOTEXT: Tool = Tool {
    name: "pdftotext",
    aliases: &[],
    install: "apt-get install poppler-utils",
};

impl Tool {
    /// Where the program is: on `PATH`, or in cargo's `bin` folder (where
    /// `cargo install` puts it even when that is not on `PATH`).
    pub fn find(&self) -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if let Some(home) = std::env::var_os("CARGO_HOME") {
            dirs.push(Path::new(&home).join("bin"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(Path::new(&home).join(".cargo/bin"));
        }
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
            .find(|p| p.is_file())
    }

    /// The program, or: in CI a failure, elsewhere a note and `None` (the
    /// caller skips).
    pub fn require(&self, what_for: &str) -> Option<PathBuf> {
        if let Some(path) = self.find() {
            return Some(path);
        }
        let msg = format!(
            "{} is not installed; it is needed to {what_for}. Install it with `{}` (bash scripts/test does)",
            self.name, self.install
        );
        if strict() {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        None
    }
}

/// Whether a missing program is a failure rather than a skip.
pub fn strict() -> bool {
    std::env::var_os("BOOKCHECK_STRICT").is_some() || std::env::var_os("CI").is_some()
}
