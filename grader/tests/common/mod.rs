//! Helpers of the grader's tests: a copy of the fixture repository (with the
//! receipt crate's path made absolute), and the grader binary run with a
//! time bound and a build folder shared by all the tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const GRADER: &str = env!("CARGO_BIN_EXE_grader");

/// Longest a grading may take here (fixture tests time out after 4 s; the
/// builds are shared and small).
pub const BOUND: Duration = Duration::from_secs(240);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One cargo build folder for every test: the fixture lab's dependencies
/// are built once.
pub fn shared_target() -> PathBuf {
    let t = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grader-fixtures");
    std::fs::create_dir_all(&t).unwrap();
    t
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            copy_tree(&e.path(), &to);
        } else if ty.is_file() {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

pub fn copy_dir(src: &Path, dst: &Path) {
    copy_tree(src, dst)
}

/// A fresh copy of the fixture repository under `dir`.
pub fn repo_in(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    copy_tree(&fixtures().join("repo"), &repo);
    let manifest = repo.join("labs/adder/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let receipt = Path::new(env!("CARGO_MANIFEST_DIR")).join("receipt");
    let text = text.replace("../../../../../receipt", &receipt.display().to_string());
    std::fs::write(&manifest, text).unwrap();
    repo
}

/// The fixture repository in `dir` and its student release beside it
/// (`dir/release`).
pub fn release_in(dir: &Path) -> (PathBuf, PathBuf) {
    let repo = repo_in(dir);
    let rel = dir.join("release");
    let out = grader(&repo, &["release", "--out", rel.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    (repo, rel)
}

/// A temporary folder others may search (tests run under uids of their own
/// when the grader is root).
pub fn tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs the grader with `args` in `cwd`; fails the test if it runs past
/// [`BOUND`] (the grader must never hang).
pub fn grader(cwd: &Path, args: &[&str]) -> Output {
    grader_env(cwd, args, &[])
}

/// [`grader`] with more environment variables.
pub fn grader_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let start = Instant::now();
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let mut child = Command::new(GRADER)
        .args(["--target-dir", shared_target().to_str().unwrap()])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("grader {args:?} ran past {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        elapsed: start.elapsed(),
    }
}

/// Grades `submission` in `repo` and returns the JSON report.
pub fn grade_json(repo: &Path, submission: &Path) -> serde_json::Value {
    grade_json_env(repo, submission, &[])
}

/// [`grade_json`] with more environment variables for the grader.
pub fn grade_json_env(repo: &Path, submission: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let out = grader_env(
        repo,
        &[
            "grade",
            "adder",
            "--submission",
            submission.to_str().unwrap(),
            "--format",
            "json",
        ],
        env,
    );
    assert_eq!(
        out.status, 0,
        "grader failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// `test id -> (passed, reason)` of a report.
pub fn verdicts(report: &serde_json::Value) -> Vec<(String, bool, String)> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["passed"].as_bool().unwrap(),
                t["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn score(report: &serde_json::Value) -> (f64, f64) {
    (
        report["score"].as_f64().unwrap(),
        report["max_score"].as_f64().unwrap(),
    )
}

pub const ALL_TESTS: [&str; 5] = [
    "basic::adds_small",
    "basic::sums_three",
    "hidden_edge::adds_with_wrap",
    "hidden_edge::sum_of_nothing",
    "hidden_edge::sum_speed",
];

/// Tests that call `add` (the function the hostile submissions break).
pub const ADD_TESTS: [&str; 2] = ["basic::adds_small", "hidden_edge::adds_with_wrap"];
