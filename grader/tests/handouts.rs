//! Every command of this repository a lab's handout shows runs as the
//! handout says: the `cargo grader ...` and `cargo test -p lab-...` lines
//! of each handout's `sh` blocks are run on the course's own skeletons,
//! and each must run the lab's tests (which fail there: they are
//! skeletons). Any other `cargo` command fails the test until it is run
//! here too.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The commands of a handout's `sh` blocks, comments cut.
fn commands(handout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in handout.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            let cmd = line.split(" #").next().unwrap_or("").trim();
            if !cmd.is_empty() {
                out.push(cmd.to_string());
            }
        }
    }
    out
}

#[test]
fn the_cargo_grader_alias_runs_this_grader() {
    let config = std::fs::read_to_string(repo().join(".cargo/config.toml")).unwrap();
    let config: toml::Table = toml::from_str(&config).unwrap();
    assert_eq!(
        config["alias"]["grader"].as_str(),
        Some("run -q --locked -p grader --")
    );
}

#[test]
fn every_command_in_the_handouts_runs() {
    let repo = repo();
    let mut ran = 0;
    for entry in std::fs::read_dir(repo.join("book/labs")).unwrap() {
        let path = entry.unwrap().path();
        let lab = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for cmd in commands(&text) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let out = match words.as_slice() {
                ["cargo", "grader", rest @ ..] => Command::new(env!("CARGO_BIN_EXE_grader"))
                    .args(rest)
                    .current_dir(&repo)
                    .output()
                    .unwrap(),
                ["cargo", "test", rest @ ..] => Command::new(env!("CARGO"))
                    .arg("test")
                    .args(rest)
                    .current_dir(&repo)
                    .output()
                    .unwrap(),
                // Commands for a real machine (strace, ss on a live
                // server) are the book's to show, not this repository's.
                [first, ..] if *first != "cargo" => continue,
                _ => panic!("{}: a command no test runs: {cmd}", path.display()),
            };
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let ran_tests = if words[1] == "grader" {
                stdout.contains(&format!("lab {lab}")) && stdout.contains("public tests: 0/")
            } else {
                stdout.contains("running ") && !stdout.contains("running 0 tests")
            };
            assert!(
                ran_tests,
                "{}: `{cmd}` ran no tests:\n{stdout}\n{stderr}",
                path.display()
            );
            ran += 1;
        }
    }
    assert!(ran >= 8, "{ran} commands");
}
