//! Linux's own packetdrill scripts, where this machine has them
//! (`../shared/packetdrill/`, outside the repository: they are GPL-2.0):
//! every script listed in `passing.txt` must still pass on the stack.
//! Elsewhere the test says how to fetch them and passes.

use std::path::Path;

use packetdrill::fs_env::{FsEnv, have_python};
use packetdrill::parse::parse;
use packetdrill::run::run;

#[test]
fn every_script_that_passed_still_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/packetdrill");
    if !root.join("net/tcp").is_dir() {
        eprintln!(
            "skipped: Linux's packetdrill scripts are not at {}; scripts/fetch-packetdrill DIR downloads them",
            root.display()
        );
        return;
    }
    if !have_python() {
        eprintln!("skipped: python3 is missing, and some listed scripts have Python blocks");
        return;
    }
    let list = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("passing.txt"))
        .expect("passing.txt");
    let mut failed = Vec::new();
    let mut ran = 0;
    for rel in list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let script = parse(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let dir = path
            .parent()
            .expect("a script is in a folder")
            .to_path_buf();
        ran += 1;
        if let Err(f) = run(&script, &FsEnv { dir }) {
            failed.push(format!("{rel}: line {}: {}", f.line, f.message));
        }
    }
    assert!(ran > 0, "passing.txt lists no script");
    assert!(
        failed.is_empty(),
        "scripts that passed before now fail:\n{}",
        failed.join("\n")
    );
}
