//! Every path into the stack's sources that a reader is sent to exists:
//! the book and its lab handouts, the READMEs, `docs/`, and the comments of
//! the labs' code name files as `stack/src/...`, and a file that moved must
//! take those mentions with it.

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                files_under(&p, exts, out);
            }
        } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
}

/// The `stack/src/...` paths named in `text`.
fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("stack/src/") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_/.".contains(c)))
            .unwrap_or(tail.len());
        out.push(tail[..end].trim_end_matches('.').to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![
        root.join("README.md"),
        root.join("grader/README.md"),
        root.join("stack/examples/README.md"),
    ];
    files_under(&root.join("docs"), &["md"], &mut files);
    // The students' README and labs README, whose paths are the release's,
    // which are the course's.
    files_under(&root.join("student"), &["md"], &mut files);
    files_under(&root.join("book"), &["md"], &mut files);
    files_under(&root.join("labs"), &["md", "rs"], &mut files);
    let mut missing = Vec::new();
    let mut seen = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for m in mentions(&text) {
            seen += 1;
            if !root.join(&m).exists() {
                missing.push(format!(
                    "{}: {m}",
                    f.strip_prefix(&root).unwrap_or(f).display()
                ));
            }
        }
    }
    assert!(
        seen > 0,
        "no mention of stack/src found: the scan is broken"
    );
    assert!(
        missing.is_empty(),
        "named but not there:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_mention_ends_where_the_path_does() {
    assert_eq!(
        mentions("see `stack/src/fs/pipe.rs`, and stack/src/net/ipv4/tcp/."),
        ["stack/src/fs/pipe.rs", "stack/src/net/ipv4/tcp/"]
    );
}
