//! The grader's commands on the fixture repository: list, grade (every
//! format), check, verify, release, and the Gradescope bundle run the way
//! Gradescope runs it.

mod common;
use common::*;
use std::path::Path;

#[test]
fn list_shows_the_labs_groups_and_points() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let out = grader(&repo, &["list"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("adder: Adding numbers"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  public: 4 points (basic::)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  edge cases: 2 points per test (hidden_edge::)")
    );
    // From a folder inside the repository too, and with every test.
    let out = grader(&repo.join("labs/adder/src"), &["list", "--tests"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    for t in ALL_TESTS {
        assert!(out.stdout.contains(t), "{t} missing:\n{}", out.stdout);
    }
}

#[test]
fn solution_full_marks_skeleton_zero_same_maximum() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let sol = grade_json(&repo, &repo.join("labs/adder/solution"));
    assert_eq!(score(&sol), (10.0, 10.0), "{sol:#}");
    let ids: Vec<String> = verdicts(&sol).into_iter().map(|v| v.0).collect();
    assert_eq!(ids, ALL_TESTS);
    let vis: Vec<&str> = sol["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["visibility"].as_str().unwrap())
        .collect();
    assert_eq!(vis, ["public", "public", "hidden", "hidden", "hidden"]);
    let speed = &sol["tests"][4]["figures"][0];
    assert_eq!(speed["name"], "Msum/s");
    assert!(speed["value"].as_f64().unwrap() > 0.0);
    // Timed by the grader: the median of three runs, and how far apart
    // they were.
    assert_eq!(speed["runs"], 3, "{speed}");
    assert!(speed["spread"].as_f64().unwrap() >= 0.0, "{speed}");

    let skel = grade_json(&repo, &repo.join("labs/adder"));
    assert_eq!(score(&skel), (0.0, 10.0));
    assert!(skel["built"].as_bool().unwrap());
    assert!(
        verdicts(&skel)
            .iter()
            .all(|(_, passed, why)| !passed && why.contains("not yet implemented"))
    );
}

fn grade_as(repo: &Path, submission: &Path, format: &str) -> String {
    let out_file = repo.join(format!("report.{format}"));
    let out = grader(
        repo,
        &[
            "grade",
            "adder",
            "--submission",
            submission.to_str().unwrap(),
            "--format",
            format,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "--out writes nothing to stdout");
    std::fs::read_to_string(out_file).unwrap()
}

#[test]
fn every_format_of_a_partial_submission() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    // Wrong `add` (multiplies), right `sum`: 6 of 10.
    let sub = fixtures().join("hostile/edits_tests");

    let gs: serde_json::Value = serde_json::from_str(&grade_as(&repo, &sub, "gradescope")).unwrap();
    assert_eq!(gs["score"].as_f64(), Some(6.0));
    let tests = gs["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    for t in tests {
        for key in ["name", "score", "max_score", "output", "visibility"] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
    }
    assert_eq!(tests[0]["name"], "basic::adds_small");
    assert_eq!(tests[0]["score"].as_f64(), Some(0.0));
    assert_eq!(tests[0]["max_score"].as_f64(), Some(2.0));
    assert_eq!(tests[0]["visibility"], "visible");
    assert_eq!(tests[2]["visibility"], "after_due_date");
    assert!(tests[0]["output"].as_str().unwrap().contains("assertion"));
    let board = gs["leaderboard"].as_array().unwrap();
    assert_eq!(board[0]["name"], "Msum/s");

    let junit = grade_as(&repo, &sub, "junit");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 5);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ADD_TESTS);

    let md = grade_as(&repo, &sub, "markdown");
    assert!(md.starts_with("## Lab `adder`: 6 / 10"), "{md}");
    assert!(md.contains("| test | visibility | points | result |"));
    assert!(
        md.contains("| `basic::sums_three` | public | 2/2 | ✅ pass |"),
        "{md}"
    );
    assert!(md.contains("| Msum/s |"));

    let human = grade_as(&repo, &sub, "human");
    assert!(!human.contains('\x1b'), "no colours when not on a terminal");
    assert!(human.contains("score: 6 / 10 (3/5 tests passed"), "{human}");
    assert!(human.contains("basic::adds_small") && human.contains("FAIL"));
}

#[test]
fn verify_proves_the_fixture_lab_sound_and_finds_a_weak_one() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let out = grader(&repo, &["verify"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("adder: solution 10 / 10"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("adder: skeleton 0 / 10"));
    assert!(
        out.stdout
            .contains("3/3 wrong implementations caught; 3/3 hidden tests catch one")
    );

    // A "wrong" implementation that is right is not caught; drop the others
    // and no hidden test catches anything.
    for w in ["off_by_one", "empty_sum", "drops_last"] {
        std::fs::remove_dir_all(repo.join("labs/adder/wrong").join(w)).unwrap();
    }
    let same = repo.join("labs/adder/wrong/same/src");
    std::fs::create_dir_all(&same).unwrap();
    std::fs::copy(
        repo.join("labs/adder/solution/src/lib.rs"),
        same.join("lib.rs"),
    )
    .unwrap();
    let out = grader(&repo, &["verify", "adder"]);
    assert_eq!(out.status, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("wrong implementation 'same' passes every hidden test")
    );
    assert!(
        out.stdout
            .contains("hidden test hidden_edge::sum_of_nothing fails on no wrong implementation")
    );
    assert!(
        out.stdout
            .contains("0/1 wrong implementations caught; 0/3 hidden tests catch one")
    );
}

#[test]
fn release_leaves_out_hidden_tests_and_solutions_and_check_works_there() {
    let tmp = tempdir();
    let (repo, rel) = release_in(tmp.path());
    let lab = rel.join("labs/adder");
    for gone in ["hidden", "solution", "wrong"] {
        assert!(!lab.join(gone).exists(), "{gone} released");
    }
    for kept in ["lab.toml", "Cargo.toml", "src/lib.rs", "tests/basic.rs"] {
        assert!(lab.join(kept).is_file(), "{kept} missing");
    }
    // The students' own files replace the course's, and the release is a
    // git repository with one commit and nothing left out of it.
    let readme = std::fs::read_to_string(rel.join("README.md")).unwrap();
    assert!(readme.contains("The students' README"), "{readme}");
    assert!(!rel.join("student").exists());
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(&rel)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(git(&["status", "--porcelain"]), "");

    // The student's loop: the skeleton fails the public tests...
    let out = grader(&lab, &["check", "adder"]);
    assert_eq!(out.status, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("public tests: 0/2 passed"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("hidden_edge"));
    // ...and a finished lab passes them.
    std::fs::copy(
        repo.join("labs/adder/solution/src/lib.rs"),
        lab.join("src/lib.rs"),
    )
    .unwrap();
    let out = grader(&lab, &["check", "adder"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("public tests: 2/2 passed"),
        "{}",
        out.stdout
    );
}

/// A student's loop: a failing public test shows its values, where it is
/// and the command that reruns it (which works); the student's own plain
/// tests run, listed apart and never graded.
#[test]
fn check_shows_what_failed_and_how_to_rerun_it_and_runs_your_own_tests() {
    let tmp = tempdir();
    let (_, rel) = release_in(tmp.path());
    let lab = rel.join("labs/adder");
    std::fs::write(
        lab.join("src/lib.rs"),
        "pub fn add(a: u64, b: u64) -> u64 { a + b + 1 }\n\
         pub fn sum(xs: &[u64]) -> u64 { xs.iter().sum() }\n",
    )
    .unwrap();
    std::fs::write(
        lab.join("tests/mine.rs"),
        "#[test]\nfn mine_passes() { assert_eq!(lab_adder::sum(&[1, 2]), 3); }\n\
         #[test]\nfn mine_fails() { assert_eq!(lab_adder::add(2, 2), 4, \"two and two\"); }\n",
    )
    .unwrap();
    let out = grader(&lab, &["check", "adder"]);
    assert_eq!(out.status, 1, "{}\n{}", out.stdout, out.stderr);
    let text = &out.stdout;
    for want in [
        "basic::adds_small",
        "panicked at labs/adder/tests/basic.rs:",
        "left: 6",
        "right: 5",
        "your own tests (not graded):",
        "mine::mine_passes",
        "two and two",
        "public tests: 1/2 passed",
        "your own tests: 1/2 passed",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    assert!(!text.contains("no receipt") && !text.contains("before the test's end"));
    let rerun = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("rerun it alone: "))
        .expect("a rerun command");
    assert_eq!(
        rerun,
        "cargo test -p lab-adder --test basic -- adds_small --exact"
    );
    let args: Vec<&str> = rerun.split_whitespace().skip(1).collect();
    let run = std::process::Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(&rel)
        .env("CARGO_TARGET_DIR", tmp.path().join("student-target"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success());
    assert!(
        stdout.contains("running 1 test") && stdout.contains("adds_small"),
        "{stdout}"
    );
}

#[test]
fn gradescope_bundle_runs_like_gradescope_runs_it() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let ag = tmp.path().join("autograder");
    let source = ag.join("source");
    let out = grader(
        &repo,
        &[
            "gradescope-bundle",
            "adder",
            "--out",
            source.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(source.join("setup.sh").is_file());
    let lab = source.join("repo/labs/adder");
    assert!(lab.join("hidden/hidden_edge.rs").is_file());
    // The judge grades against the reference solution.
    assert!(lab.join("solution/src/lib.rs").is_file());

    // Gradescope puts the student's files in submission/ and reads
    // results/results.json.
    let sub = ag.join("submission");
    copy_dir(&fixtures().join("hostile/edits_tests"), &sub);
    std::fs::create_dir_all(ag.join("results")).unwrap();
    let status = std::process::Command::new("bash")
        .arg(source.join("run_autograder"))
        .env("AUTOGRADER_ROOT", &ag)
        .env("GRADER", GRADER)
        .env("GRADER_TARGET_DIR", shared_target())
        .status()
        .unwrap();
    assert!(status.success());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ag.join("results/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["score"].as_f64(), Some(6.0), "{results:#}");
    assert_eq!(results["tests"].as_array().unwrap().len(), 5);
    assert!(results["leaderboard"].is_array());
}

/// The workflow every student repository gets holds no secret and grades
/// nothing; the one that grades with the hidden tests is the course's own
/// and reads its token from the course repository's secrets.
#[test]
fn no_student_workflow_holds_a_secret_or_the_hidden_tests() {
    let workflows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let check = std::fs::read_to_string(workflows.join("check.yml")).unwrap();
    assert!(!check.contains("secrets."), "check.yml uses a secret");
    assert!(check.contains("grader check"), "check.yml runs no check");
    assert!(!check.contains(" grade "), "check.yml grades");
    let grade = std::fs::read_to_string(workflows.join("grade-students.yml")).unwrap();
    assert!(grade.contains("secrets.STUDENT_REPOS_TOKEN"));
    assert!(!grade.contains("on:\n  push"), "grading runs on a push");
    // Every workflow but the course's grading goes to the students.
    for e in std::fs::read_dir(&workflows).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(workflows.join(&name)).unwrap();
        if name != "grade-students.yml" {
            assert!(!text.contains("secrets."), "{name} uses a secret");
        }
    }
}

/// Hints come a step at a time, by a test's full id or its name alone.
#[test]
fn hints_come_a_step_at_a_time() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let out = grader(&repo, &["hint", "adder"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("1. Read the doc comments"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("basic::adds_small (2 steps)"),
        "{}",
        out.stdout
    );

    let out = grader(&repo, &["hint", "adder", "adds_small"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.contains("step 1 of 2"), "{}", out.stdout);
    assert!(!out.stdout.contains("wraps"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("next step: cargo grader hint adder basic::adds_small --step 2"),
        "{}",
        out.stdout
    );
    let out = grader(
        &repo,
        &["hint", "adder", "basic::adds_small", "--step", "2"],
    );
    assert!(
        out.stdout.contains("2. Overflow wraps around."),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("next step"), "{}", out.stdout);

    let out = grader(&repo, &["hint", "adder", "no_such_test"]);
    assert_ne!(out.status, 0);
    assert!(
        out.stderr.contains("no hint for 'no_such_test'"),
        "{}",
        out.stderr
    );
}

/// `status` says which labs were checked and how it went; `check --watch`
/// checks again when a file of the lab changes.
#[test]
fn status_follows_checks_and_watch_rechecks_on_save() {
    use std::io::BufRead;
    let tmp = tempdir();
    let (repo, rel) = release_in(tmp.path());
    let out = grader(&rel, &["status"]);
    assert!(
        out.stdout
            .contains("adder  not checked yet: cargo grader check adder"),
        "{}",
        out.stdout
    );
    let lab = rel.join("labs/adder");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(["--target-dir", shared_target().to_str().unwrap()])
        .args(["check", "adder", "--watch"])
        .current_dir(&lab)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut seen = String::new();
        while std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(1)) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(want) {
                    return seen;
                }
            }
        }
        panic!("no {want:?} in:\n{seen}");
    };
    let first = wait_for("watching");
    assert!(first.contains("public tests: 0/2 passed"), "{first}");
    let out = grader(&rel, &["status"]);
    assert!(
        out.stdout
            .contains("adder  0/2 public tests passed (just now); next: basic::"),
        "{}",
        out.stdout
    );
    std::fs::copy(
        repo.join("labs/adder/solution/src/lib.rs"),
        lab.join("src/lib.rs"),
    )
    .unwrap();
    let second = wait_for("watching");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        second.contains("a file changed: checking again"),
        "{second}"
    );
    assert!(second.contains("public tests: 2/2 passed"), "{second}");
    let out = grader(&rel, &["status"]);
    assert!(
        out.stdout
            .contains("adder  2/2 public tests passed (just now)"),
        "{}",
        out.stdout
    );
}
