//! `grader verify`: every lab is sound. The reference solution scores full
//! marks, the untouched skeleton builds and scores zero (with the same
//! maximum), every wrong implementation (`wrong/<name>/`, laid over the
//! solution) fails some test, and every hidden test fails on at least one
//! wrong implementation.

use crate::grade::{self, Options, Report};
use crate::lab::{self, Lab};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

fn copy_over(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_over(&e.path(), &to)?;
        } else if e.file_type()?.is_file() {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

fn grade_dir(
    repo: &Path,
    target: &Path,
    lab: &Lab,
    sub: Option<&Path>,
    public: bool,
) -> Result<Report, String> {
    grade::grade(&Options {
        repo,
        lab,
        submission: sub,
        hidden: true,
        public,
        progress: false,
        target_dir: target.to_path_buf(),
    })
}

/// The problems found in one lab (empty: sound), printing a summary.
pub fn verify_lab(repo: &Path, target: &Path, lab: &Lab) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let name = lab.name();
    let solution = grade_dir(repo, target, lab, Some(&lab.dir.join("solution")), true)?;
    println!(
        "{name}: solution {} / {}",
        solution.score, solution.max_score
    );
    if solution.max_score <= 0.0 || solution.score < solution.max_score {
        for t in solution.tests.iter().filter(|t| !t.passed) {
            problems.push(format!("{name}: the solution fails {}: {}", t.id, t.reason));
        }
        if !solution.built {
            problems.push(format!(
                "{name}: the solution does not build:\n{}",
                solution.build_log
            ));
        }
        if solution.max_score <= 0.0 {
            problems.push(format!("{name}: no points to score"));
        }
    }
    let skeleton = grade_dir(repo, target, lab, None, true)?;
    println!(
        "{name}: skeleton {} / {}",
        skeleton.score, skeleton.max_score
    );
    if !skeleton.built {
        problems.push(format!(
            "{name}: the skeleton does not build:\n{}",
            skeleton.build_log
        ));
    }
    if skeleton.score != 0.0 {
        problems.push(format!("{name}: the skeleton scores {}", skeleton.score));
    }
    if skeleton.max_score != solution.max_score {
        problems.push(format!(
            "{name}: the maximum differs (skeleton {}, solution {})",
            skeleton.max_score, solution.max_score
        ));
    }
    for t in solution.tests.iter().filter(|t| t.group.is_none()) {
        problems.push(format!("{name}: test {} is in no group of lab.toml", t.id));
    }
    let hidden: BTreeSet<String> = solution
        .tests
        .iter()
        .filter(|t| t.visibility == "hidden")
        .map(|t| t.id.clone())
        .collect();
    let mut caught_by_hidden = BTreeSet::new();
    let wrongs = lab.wrong_dirs();
    let mut caught = 0;
    for w in &wrongs {
        let tmp = std::env::temp_dir().join(format!(
            "grader-wrong-{}-{}",
            std::process::id(),
            caught_by_hidden.len() + caught
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        copy_over(&lab.dir.join("solution"), &tmp).map_err(|e| e.to_string())?;
        if w.is_dir() {
            copy_over(w, &tmp).map_err(|e| e.to_string())?;
        } else {
            apply_patch(w, &tmp)?;
        }
        // Only the hidden tests: they are what must catch it.
        let r = grade_dir(repo, target, lab, Some(&tmp), false);
        let _ = std::fs::remove_dir_all(&tmp);
        let r = r?;
        let failed: Vec<&str> = r
            .tests
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.id.as_str())
            .collect();
        let wname = w
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if failed.is_empty() {
            problems.push(format!(
                "{name}: wrong implementation '{wname}' passes every hidden test"
            ));
        } else {
            caught += 1;
        }
        println!("{name}: wrong/{wname}: fails {}", failed.join(", "));
        for f in failed {
            if hidden.contains(f) {
                caught_by_hidden.insert(f.to_string());
            }
        }
    }
    for h in hidden.difference(&caught_by_hidden) {
        problems.push(format!(
            "{name}: hidden test {h} fails on no wrong implementation"
        ));
    }
    println!(
        "{name}: {caught}/{} wrong implementations caught; {}/{} hidden tests catch one",
        wrongs.len(),
        caught_by_hidden.len(),
        hidden.len()
    );
    Ok(problems)
}

pub fn verify(repo: &Path, target: &Path, only: Option<&str>) -> Result<ExitCode, String> {
    let labs = match only {
        Some(n) => vec![lab::find(repo, n)?],
        None => lab::discover(repo)?,
    };
    let mut problems = Vec::new();
    for l in &labs {
        problems.extend(verify_lab(repo, target, l)?);
    }
    if problems.is_empty() {
        println!("verify: {} labs sound", labs.len());
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            println!("verify: {p}");
        }
        Ok(ExitCode::from(1))
    }
}

/// Applies a wrong implementation's patch to a copy of the solution
/// (`git apply` works outside a repository).
fn apply_patch(patch: &Path, dir: &Path) -> Result<(), String> {
    let patch = std::fs::canonicalize(patch).map_err(|e| format!("{}: {e}", patch.display()))?;
    let out = std::process::Command::new("git")
        .arg("apply")
        .arg("-p1")
        .arg(&patch)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git apply: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} does not apply to the solution: {}",
            patch.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
