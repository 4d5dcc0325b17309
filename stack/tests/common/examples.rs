//! Running the examples (`stack/examples/`) as a reader does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example binary `cargo test` built next to this test, or `None` if
/// there is none or it is older than the sources (a run that built only
/// this test target, `--test examples`, leaves examples as they were).
fn built_example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir.join("examples").join(name);
    let built = std::fs::metadata(&path).ok()?.modified().ok()?;
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = crate_dir.join("examples").join(format!("{name}.rs"));
    let newest = newest_mtime(&crate_dir.join("src"))
        .max(newest_mtime(&example))
        .max(newest_mtime(&crate_dir.join("../knobs/src")));
    (newest <= built).then_some(path)
}

/// The latest modification time of a file, or of any file under a folder.
fn newest_mtime(path: &Path) -> std::time::SystemTime {
    let Ok(meta) = std::fs::metadata(path) else {
        return std::time::SystemTime::UNIX_EPOCH;
    };
    if !meta.is_dir() {
        return meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| newest_mtime(&e.path()))
        .max()
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
}

/// Runs `cargo run -q -p stack --example NAME -- ARGS...` (or the binary
/// it would run, when that is up to date).
pub fn run(name: &str, args: &[&str]) -> Output {
    match built_example(name) {
        Some(path) => Command::new(path).args(args).output(),
        None => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["run", "-q", "-p", "stack", "--example", name, "--"])
            .args(args)
            .output(),
    }
    .unwrap_or_else(|e| panic!("cannot run example {name}: {e}"))
}

/// Every example's name, sorted.
pub fn names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .expect("stack/examples")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "rs").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    v.sort();
    v
}
