//! `grader gradescope-bundle LAB --out DIR`: a Gradescope autograder.
//! DIR holds `setup.sh`, `run_autograder` and `repo/` (the repository with
//! this lab's hidden tests); zip DIR's contents and upload the zip.
//! Gradescope unpacks it into `/autograder/source`, runs `setup.sh` once
//! when it builds the image, and `run_autograder` for each submission with
//! the student's files in `/autograder/submission`; the grader writes
//! `/autograder/results/results.json`.

use crate::lab::Lab;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq curl ca-certificates build-essential git bubblewrap >/dev/null
if ! command -v cargo >/dev/null 2>&1; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
. "$HOME/.cargo/env"
cargo install --locked cargo-nextest
cd /autograder/source/repo
cargo build --release --locked -p grader
# Warm the build cache: grade the skeleton once.
./target/release/grader --repo . grade "$LAB" --submission "labs/$LAB" --format json --out /tmp/warm.json || true
"#;

const RUN: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source/repo"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
GRADER="${GRADER:-$SRC/target/release/grader}"
mkdir -p "$ROOT/results"
# A submission may be the lab folder itself or a folder holding it.
SUB="$ROOT/submission"
if [ ! -d "$SUB/src" ] && [ -d "$SUB/labs/$LAB/src" ]; then SUB="$SUB/labs/$LAB"; fi
if [ ! -d "$SUB/src" ] && [ -d "$SUB/$LAB/src" ]; then SUB="$SUB/$LAB"; fi
if ! "$GRADER" --repo "$SRC" grade "$LAB" --submission "$SUB" \
     --format gradescope --out "$ROOT/results/results.json"; then
  printf '{"score": 0, "output": "The grader failed; please tell the course staff.", "tests": []}\n' \
    > "$ROOT/results/results.json"
fi
"#;

pub fn bundle(repo: &Path, lab: &Lab, out: &Path) -> Result<(), String> {
    let repo_out = out.join("repo");
    crate::release::release(repo, &repo_out)?;
    // The release has no hidden tests or solutions: put back this lab's
    // hidden tests and its solution, which the judge runs every test on
    // (a grading without it could not tell a forged transcript from the
    // work). The sandbox keeps both out of the submission's reach.
    let rel = lab.dir.strip_prefix(repo).map_err(|e| e.to_string())?;
    let hidden_to = repo_out.join(rel).join("hidden");
    std::fs::create_dir_all(&hidden_to).map_err(|e| e.to_string())?;
    for f in lab.hidden_files() {
        if let Some(n) = f.file_name() {
            std::fs::copy(&f, hidden_to.join(n)).map_err(|e| e.to_string())?;
        }
    }
    copy_tree(
        &lab.dir.join("solution"),
        &repo_out.join(rel).join("solution"),
    )?;
    // The stack as the course has it: compiling each lab's reference
    // solution (the release points it at the student's files instead).
    for f in crate::release::one_source_files(repo) {
        let (file, targets) = f;
        copy_file(&repo.join(&file), &repo_out.join(&file))?;
        for t in targets {
            copy_file(&repo.join(&t), &repo_out.join(&t))?;
        }
    }
    let name = lab.name();
    for (file, body) in [("setup.sh", SETUP), ("run_autograder", RUN)] {
        let text = body.replacen("set -", &format!("LAB={name}\nset -"), 1);
        let p = out.join(file);
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", from.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    for e in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()))?;
        } else {
            copy_file(&p, &to.join(e.file_name()))?;
        }
    }
    Ok(())
}
