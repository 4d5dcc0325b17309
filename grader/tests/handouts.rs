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
                ["cargo", "run", "-q", "-p", "stack", "--example", name] => {
                    Command::new(env!("CARGO"))
                        .args(["run", "-q", "-p", "stack", "--example", name])
                        .current_dir(&repo)
                        .output()
                        .unwrap()
                }
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
            let ran_tests = if words[1..3] == ["grader", "check"] {
                stdout.contains(&format!("lab {lab}")) && stdout.contains("public tests: 0/")
            } else if words[1] == "run" {
                // An example of the stack: it runs and prints its story.
                out.status.success() && !stdout.trim().is_empty()
            } else if words[1] == "grader" {
                out.status.success() && stdout.contains(&lab)
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

/// The public tests of a lab: the functions its `graded!` blocks declare
/// in the files directly in `tests/` (indented one level inside the
/// macro; helpers outside it are not).
fn public_tests(lab: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(lab.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for f in files {
        let binary = f.file_stem().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if let Some(rest) = line.strip_prefix("    fn ")
                && let Some((name, _)) = rest.split_once("()")
            {
                out.push(format!("{binary}::{name}"));
            }
        }
    }
    out
}

/// Every public test of every lab has a hint (`cargo grader hint`), no
/// hint names a hidden test, and no hint gives away a line of the
/// reference solution.
#[test]
fn every_public_test_has_a_hint_that_is_not_the_answer() {
    let repo = repo();
    for entry in std::fs::read_dir(repo.join("labs")).unwrap() {
        let lab = entry.unwrap().path();
        if !lab.join("lab.toml").is_file() {
            continue;
        }
        let name = lab.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(lab.join("hints.toml"))
            .unwrap_or_else(|e| panic!("{name}: hints.toml: {e}"));
        let hints: toml::Table = toml::from_str(&text).unwrap();
        let hinted: Vec<String> = hints["hint"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["test"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(hinted, public_tests(&lab), "{name}: hints.toml's tests");
        assert!(
            !text.contains("hidden_"),
            "{name}: a hint names a hidden test"
        );
        let solution: Vec<String> = std::fs::read_dir(lab.join("solution/src"))
            .unwrap()
            .flat_map(|e| {
                let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
                text.lines()
                    .map(|l| l.trim().to_string())
                    .collect::<Vec<_>>()
            })
            // Lines of code (a lone name, such as a constant's, is not one).
            .filter(|l| l.len() >= 24 && !l.starts_with("//") && l.contains([' ', '(', '=', '.']))
            .collect();
        for line in &solution {
            assert!(
                !text.contains(line.as_str()),
                "{name}: a hint gives away the solution's line `{line}`"
            );
        }
    }
}

/// The students' README (`student/README.md`, the release's README) shows
/// commands that exist: an example of the stack, a lab's check, and the
/// students' test script, which is valid shell.
#[test]
fn the_students_readme_shows_commands_that_exist() {
    let repo = repo();
    let readme = std::fs::read_to_string(repo.join("student/README.md")).unwrap();
    let cmds = commands(&readme);
    assert!(cmds.len() >= 3, "{cmds:?}");
    for cmd in cmds {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words.as_slice() {
            ["cargo", "run", .., "--example", name] => assert!(
                repo.join(format!("stack/examples/{name}.rs")).is_file(),
                "{cmd}"
            ),
            ["cargo", "grader", "check", lab] => {
                assert!(
                    repo.join("labs").join(lab).join("lab.toml").is_file(),
                    "{cmd}"
                )
            }
            ["bash", "scripts/test"] => {
                let script = repo.join("student/scripts/test");
                let ok = Command::new("bash")
                    .arg("-n")
                    .arg(&script)
                    .status()
                    .unwrap();
                assert!(ok.success(), "{}: not valid shell", script.display());
            }
            _ => panic!("student/README.md: a command no test knows: {cmd}"),
        }
    }
}
