//! `packetdrill PATH...`: runs packetdrill scripts (files, or every `.pkt`
//! under a folder) against the simulated stack and prints, as
//! `run-real.sh` does for the real kernel, `PASS path` or
//! `FAIL path: line N: what differed` for each, then `N passed, M failed`.
//! Exits 0 when every script passed, 1 when some failed, 2 on bad usage.
//!
//! `--reference REAL-KERNEL.md` adds how many of the scripts the real
//! kernel passed (the list under that file's "## Passed" heading) pass here,
//! and how many of the others.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use packetdrill::fs_env::FsEnv;
use packetdrill::run;

fn scripts(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            scripts(&e, out)?;
        }
    } else if path.extension().is_some_and(|e| e == "pkt") || !path.exists() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// One script's verdict: `Ok` or the failure line.
fn run_one(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let script = packetdrill::parse::parse(&text).map_err(|e| format!("parse error: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    run::run(&script, &FsEnv { dir }).map_err(|f| format!("line {}: {}", f.line, f.message))
}

/// The scripts listed under "## Passed" in `REAL-KERNEL.md`.
fn reference_set(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with("## Passed");
        } else if inside && let Some(path) = line.strip_prefix("- ") {
            out.push(path.trim().to_string());
        }
    }
    out
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: packetdrill [--reference REAL-KERNEL.md] PATH...   (a .pkt script, or a folder searched for them)";
    let mut reference = None;
    if let Some(i) = args.iter().position(|a| a == "--reference") {
        if i + 1 >= args.len() {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
        let file = args.remove(i + 1);
        args.remove(i);
        match std::fs::read_to_string(&file) {
            Ok(text) => reference = Some(reference_set(&text)),
            Err(e) => {
                eprintln!("packetdrill: {file}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for a in &args {
        if let Err(e) = scripts(Path::new(a), &mut files) {
            eprintln!("packetdrill: {a}: {e}");
            return ExitCode::from(2);
        }
    }
    let (mut pass, mut fail) = (0, 0);
    let (mut ref_pass, mut ref_seen, mut other_pass, mut other_seen) = (0, 0, 0, 0);
    for f in &files {
        let path = f.to_string_lossy();
        let in_reference = reference
            .as_ref()
            .map(|r| r.iter().any(|s| path.ends_with(s.as_str())));
        let verdict = run_one(f);
        match in_reference {
            Some(true) => {
                ref_seen += 1;
                ref_pass += usize::from(verdict.is_ok());
            }
            Some(false) => {
                other_seen += 1;
                other_pass += usize::from(verdict.is_ok());
            }
            None => {}
        }
        match verdict {
            Ok(()) => {
                pass += 1;
                println!("PASS {}", f.display());
            }
            Err(why) => {
                fail += 1;
                println!("FAIL {}: {why}", f.display());
            }
        }
    }
    println!("{pass} passed, {fail} failed");
    if let Some(r) = &reference {
        println!(
            "the real kernel's reference set ({} scripts, {ref_seen} of them run here): {ref_pass} pass on the simulation; the other scripts run: {other_pass} of {other_seen} pass",
            r.len()
        );
    }
    if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
