//! The packetdrill scripts written for this project (`packetdrill/scripts/`)
//! are differential tests: each must pass on the simulated stack, and on
//! this machine's kernel too, run by `../shared/packetdrill/run-real.sh`
//! (which builds the real packetdrill and runs each script in a fresh
//! network namespace). The real run is skipped, with the reason, where
//! that script, root, or the tools it builds with (gcc, make, flex, bison)
//! are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use packetdrill::fs_env::{FsEnv, have_python};
use packetdrill::parse::parse;
use packetdrill::run::run;

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("packetdrill/scripts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkt"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no scripts in {}", dir.display());
    v
}

#[test]
fn every_own_script_passes_on_the_simulation() {
    let python = have_python();
    for path in scripts() {
        let text = std::fs::read_to_string(&path).expect("readable");
        if !python && text.contains("%{") {
            eprintln!(
                "skipped {}: python3 is missing for its Python blocks",
                path.display()
            );
            continue;
        }
        let script = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dir = path.parent().expect("in a folder").to_path_buf();
        if let Err(f) = run(&script, &FsEnv { dir }) {
            panic!("{}: line {}: {}", path.display(), f.line, f.message);
        }
    }
}

fn real_kernel_skip_reason(run_real: &Path) -> Option<String> {
    if !run_real.exists() {
        return Some(format!("{} is not here", run_real.display()));
    }
    if !nix_is_root() {
        return Some("not root (run-real.sh makes network namespaces)".into());
    }
    for tool in ["gcc", "make", "flex", "bison", "python3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!(
                "{tool} is missing (run-real.sh builds packetdrill)"
            ));
        }
    }
    None
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn every_own_script_passes_on_this_machines_kernel() {
    let run_real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/packetdrill/run-real.sh");
    if let Some(why) = real_kernel_skip_reason(&run_real) {
        eprintln!("skipped on the real kernel: {why}");
        return;
    }
    let out = Command::new("bash")
        .arg(&run_real)
        .args(scripts())
        .output()
        .expect("run-real.sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| !l.starts_with("PASS ")).collect();
    assert!(
        out.status.success() && failed.len() == 1 && failed[0].ends_with(" 0 failed"),
        "the real kernel disagrees with a script written here:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
