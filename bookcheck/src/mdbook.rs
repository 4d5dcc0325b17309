//! Running `mdbook build`, and the built pages' internal links.
//!
//! A build goes to a folder named after a hash of everything it reads
//! (`book.toml`, `book/`, the examples and snapshots it includes), so the
//! tests that need a built book share one build per state of the sources,
//! even when nextest runs them in separate processes at once: each builds
//! into a private folder and renames it into place, and a loser of that
//! race uses the winner's.

use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::source::attribute;
use crate::tools;

/// A built book.
#[derive(Clone, Debug)]
pub struct Build {
    /// The HTML output (`index.html`, one page per chapter, `print.html`).
    pub html: PathBuf,
    /// What mdBook printed.
    pub log: String,
    /// Whether the link-checking backend ran as part of the build.
    pub linkchecked: bool,
}

impl Build {
    /// The lines of the log that are warnings or errors.
    pub fn warnings(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("warning:"))
            .collect()
    }
}

/// Builds the book at `root` into `out`. The link checker runs as a second
/// backend when `linkcheck` names it; mdBook then puts each backend's output
/// in a subfolder. Missing chapter files are errors, not new empty files in
/// the sources (`build.create-missing = false`).
pub fn build(
    mdbook: &Path,
    root: &Path,
    out: &Path,
    linkcheck: Option<&Path>,
) -> Result<Build, String> {
    let mut cmd = Command::new(mdbook);
    cmd.arg("build").arg(root).arg("--dest-dir").arg(out);
    cmd.env("MDBOOK_BUILD__CREATE_MISSING", "false");
    // mdBook finds preprocessors and backends on PATH; `cargo install`
    // puts them in cargo's bin folder, which may not be on it.
    let plugins = [tools::MDBOOK_QUIZ.find(), linkcheck.map(Path::to_path_buf)];
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = plugins
        .iter()
        .flatten()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .chain(std::env::split_paths(&path));
    cmd.env(
        "PATH",
        std::env::join_paths(dirs).map_err(|e| e.to_string())?,
    );
    if linkcheck.is_some() {
        // A second backend next to book.toml's `[output.html]`, which
        // therefore must stay there (a book without one would lose it).
        cmd.env("MDBOOK_OUTPUT__LINKCHECK2", "{\"follow-web-links\": false}");
    }
    let output = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", mdbook.display()))?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(format!("mdbook build failed ({}):\n{log}", output.status));
    }
    let html = html_dir(out, linkcheck.is_some());
    crate::playground::install(root, &html)?;
    // mdBook copies every non-Markdown file of `book/` into the output,
    // so a `book/html/` left by an older plain `mdbook build` (whose output
    // folder used to be there) lands in it: it is no page of this build.
    let stale = html.join("html");
    if root.join("book/html").is_dir() && stale.is_dir() {
        std::fs::remove_dir_all(&stale).map_err(|e| format!("{}: {e}", stale.display()))?;
    }
    Ok(Build {
        html,
        log,
        linkchecked: linkcheck.is_some(),
    })
}

/// A build of the current sources under `cache`, made once per state of
/// the sources. `None` when mdBook is not installed outside CI.
pub fn cached_build(cache: &Path) -> Option<Result<Build, String>> {
    let mdbook = tools::MDBOOK.require("build the book")?;
    let linkcheck = tools::LINKCHECK.find();
    let root = crate::repo_root();
    let key = sources_hash(&root, linkcheck.is_some());
    let done = cache.join(format!("book-{key:016x}"));
    let log_file = done.join("build.log");
    if !log_file.is_file() {
        let tmp = cache.join(format!("book-{key:016x}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        if let Err(e) = std::fs::create_dir_all(&tmp) {
            return Some(Err(format!("{}: {e}", tmp.display())));
        }
        let built = match build(&mdbook, &root, &tmp.join("out"), linkcheck.as_deref()) {
            Ok(b) => b,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Some(Err(e));
            }
        };
        let linked = if built.linkchecked {
            "linkchecked\n"
        } else {
            ""
        };
        if let Err(e) = std::fs::write(tmp.join("build.log"), format!("{linked}{}", built.log)) {
            return Some(Err(e.to_string()));
        }
        if std::fs::rename(&tmp, &done).is_err() {
            // Another process got there first; its build is as good.
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    let log = match std::fs::read_to_string(&log_file) {
        Ok(l) => l,
        Err(e) => return Some(Err(format!("{}: {e}", log_file.display()))),
    };
    let linkchecked = log.starts_with("linkchecked\n");
    let log = log.trim_start_matches("linkchecked\n").to_string();
    let html = html_dir(&done.join("out"), linkchecked);
    Some(Ok(Build {
        html,
        log,
        linkchecked,
    }))
}

/// Where the HTML backend wrote: a subfolder `html` when a second backend
/// ran, else `out` itself. Decided by the backends, not by looking for an
/// `html/index.html`: mdBook copies every non-Markdown file of `book/` into
/// the output, including a stale `book/html/` left by an older plain
/// `mdbook build`, which would then pass for the build.
fn html_dir(out: &Path, linkchecked: bool) -> PathBuf {
    if linkchecked {
        out.join("html")
    } else {
        out.to_path_buf()
    }
}

/// A hash of everything a build reads.
fn sources_hash(root: &Path, linkcheck: bool) -> u64 {
    let mut files = Vec::new();
    files.push(root.join("book.toml"));
    // Generated folders are not sources: a `book/html` left by an older
    // build (the default output folder used to sit inside the sources), and
    // the folder mdbook-quiz copies its script and style sheet into at
    // every build (ignored by git).
    let generated = [root.join("book/html"), root.join("book/quiz")];
    collect(&root.join("book"), &generated, &mut files);
    collect(&root.join("stack/examples"), &[], &mut files);
    collect(&root.join("stack/tests/snapshots"), &[], &mut files);
    // What the playground's WebAssembly module is built from.
    for dir in ["stack/src", "knobs/src", "playground/src"] {
        collect(&root.join(dir), &[], &mut files);
    }
    files.push(root.join("Cargo.lock"));
    files.sort();
    let mut h = DefaultHasher::new();
    linkcheck.hash(&mut h);
    for f in files {
        f.hash(&mut h);
        std::fs::read(&f).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

/// Every file under `dir`, leaving out the folders in `skip`.
fn collect(dir: &Path, skip: &[PathBuf], into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !skip.contains(&path) {
                collect(&path, skip, into);
            }
        } else {
            into.push(path);
        }
    }
}

/// A link in a built page that leads nowhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenLink {
    /// The page, relative to the output folder.
    pub page: String,
    /// The `href` or `src` as written.
    pub target: String,
    /// What is wrong.
    pub why: String,
}

/// Every internal `href`/`src` of every HTML page under `html` that names a
/// missing file or a missing `id` in the page it points to. Links out of
/// the book (`https:`, `mailto:`) are not followed.
pub fn broken_links(html: &Path) -> Vec<BrokenLink> {
    let mut pages = Vec::new();
    collect(html, &[], &mut pages);
    pages.retain(|p| p.extension().is_some_and(|e| e == "html"));
    pages.sort();
    let mut broken = Vec::new();
    for page in &pages {
        let Ok(text) = std::fs::read_to_string(page) else {
            continue;
        };
        let rel = page
            .strip_prefix(html)
            .unwrap_or(page)
            .display()
            .to_string();
        let dir = page.parent().unwrap_or(html);
        for target in targets(&text) {
            // Absolute paths start at the site's root (`site-url`), which
            // is the output folder.
            let (dir, relative) = match target.strip_prefix('/') {
                Some(rest) if !rest.starts_with('/') => (html, rest.to_string()),
                _ => (dir, target.clone()),
            };
            if let Some(why) = check_target(dir, page, &text, &relative) {
                broken.push(BrokenLink {
                    page: rel.clone(),
                    target,
                    why,
                });
            }
        }
    }
    broken
}

/// `href` and `src` values in a page (outside scripts' code, which mdBook
/// keeps in separate files).
fn targets(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        for name in ["href", "src"] {
            if let Some(v) = attribute(tag, name) {
                found.insert(v);
            }
        }
        rest = &rest[end..];
    }
    found
}

fn check_target(dir: &Path, page: &Path, text: &str, target: &str) -> Option<String> {
    let external = ["http:", "https:", "mailto:", "data:", "javascript:", "//"];
    if target.is_empty() || external.iter().any(|p| target.starts_with(p)) {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (target, None),
    };
    let path = path.split('?').next().unwrap_or("");
    let file = if path.is_empty() && target.starts_with('#') {
        page.to_path_buf()
    } else {
        let joined = dir.join(decode(path));
        if path.is_empty() || path.ends_with('/') {
            joined.join("index.html")
        } else {
            joined
        }
    };
    if !file.is_file() {
        return Some(format!("no file {}", file.display()));
    }
    let fragment = fragment.filter(|f| !f.is_empty())?;
    if file.extension().is_none_or(|e| e != "html") {
        return None;
    }
    let target_text = if file == page {
        text.to_string()
    } else {
        std::fs::read_to_string(&file).unwrap_or_default()
    };
    let id = decode(fragment);
    let has = |q: char| target_text.contains(&format!("id={q}{id}{q}"));
    (!has('"') && !has('\'')).then(|| format!("no id {id:?} in {}", file.display()))
}

/// Undoes `%XX` escapes.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_missing_files_and_ids() {
        let dir = std::env::temp_dir().join(format!("bookcheck-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("labs")).unwrap();
        std::fs::write(
            dir.join("a.html"),
            r##"<a href="labs/b.html#there">x</a><a href="#here">y</a><h2 id="here"></h2><img src="img/gone.svg"><a href="https://example.com/">z</a><a href="labs/b.html#nowhere">w</a>"##,
        )
        .unwrap();
        std::fs::write(
            dir.join("labs/b.html"),
            r#"<p id="there"><a href="../a.html">back</a></p>"#,
        )
        .unwrap();
        let broken = broken_links(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let targets: Vec<&str> = broken.iter().map(|b| b.target.as_str()).collect();
        assert_eq!(targets, vec!["img/gone.svg", "labs/b.html#nowhere"]);
    }

    #[test]
    fn percent_escapes() {
        assert_eq!(decode("a%20b%zz"), "a b%zz");
    }
}
