//! The hostile corpus: each submission in `tests/fixtures/hostile/` breaks
//! `add` in its own way (and keeps `sum` correct); the grader must fail
//! exactly the tests that call `add`, score the rest, say why, and finish
//! in bounded time.

mod common;
use common::*;
use std::path::Path;

/// Grades a hostile case and checks: the tests calling `add` fail with a
/// reason containing `why`, every other test passes, 6 of 10 points.
fn only_add_fails(case: &str, why: &str) -> serde_json::Value {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let report = grade_json(&repo, &fixtures().join("hostile").join(case));
    assert!(report["built"].as_bool().unwrap(), "{report:#}");
    for (id, passed, reason) in verdicts(&report) {
        if ADD_TESTS.contains(&id.as_str()) {
            assert!(!passed, "{case}: {id} passed");
            assert!(
                reason.contains(why),
                "{case}: {id}: reason {reason:?} lacks {why:?}"
            );
        } else {
            assert!(passed, "{case}: {id} failed: {reason}");
        }
    }
    assert_eq!(score(&report), (6.0, 10.0), "{case}");
    report
}

/// Grades a case that must score zero of ten, every test failing.
fn all_fail(repo: &Path, submission: &Path) -> serde_json::Value {
    let report = grade_json(repo, submission);
    assert_eq!(score(&report), (0.0, 10.0));
    let v = verdicts(&report);
    assert_eq!(v.len(), 5);
    assert!(v.iter().all(|(_, passed, _)| !passed));
    report
}

#[test]
fn does_not_compile() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let r = all_fail(&repo, &fixtures().join("hostile/no_compile"));
    assert!(!r["built"].as_bool().unwrap());
    assert!(r["build_log"].as_str().unwrap().contains("error"), "{r:#}");
    assert!(
        verdicts(&r)
            .iter()
            .all(|(_, _, why)| why == "did not build")
    );
}

#[test]
fn todo_left() {
    only_add_fails("todo_left", "not yet implemented");
}

#[test]
fn panics() {
    only_add_fails("panics", "no adding today");
}

#[test]
fn aborts() {
    only_add_fails("aborts", "SIGABRT");
}

#[test]
fn stack_overflow() {
    // Rust reports the overflow and aborts.
    only_add_fails("stack_overflow", "killed by SIG");
}

#[test]
fn infinite_loop() {
    only_add_fails("infinite_loop", "limit exceeded");
}

#[test]
fn sleeps_forever() {
    only_add_fails("sleeps_forever", "time limit exceeded");
}

#[test]
fn memory_bomb() {
    // The allocation fails against RLIMIT_AS and Rust aborts.
    only_add_fails("memory_bomb", "SIGABRT");
}

#[test]
fn fake_output_and_results() {
    only_add_fails("fake_output", "");
}

#[test]
fn exit_zero_before_the_assertions() {
    only_add_fails("exit_zero", "stopped before the test's end");
}

#[test]
fn stdout_flood() {
    let r = only_add_fails("stdout_flood", "output limit exceeded");
    for t in r["tests"].as_array().unwrap() {
        assert!(t["output"].as_str().unwrap().len() <= 17 * 1024);
    }
}

#[test]
fn edits_tests_manifest_build_script_and_configs() {
    // Everything but src/lib.rs is ignored: the pristine tests run against
    // its wrong `add`, its build.rs (which panics), cargo config (a flag
    // rustc rejects), toolchain (one that does not exist) and nextest
    // config never come into play.
    let r = only_add_fails("edits_tests", ": expected ");
    assert!(r["notes"].as_array().unwrap().is_empty(), "{r:#}");
}

#[test]
fn include_str_of_the_hidden_tests() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let r = all_fail(&repo, &fixtures().join("hostile/include_hidden"));
    let notes = r["notes"].as_array().unwrap();
    assert!(notes[0]["refused"].as_bool().unwrap());
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap()
            .contains("include_str")
    );
}

#[test]
fn symlink_and_huge_files_are_refused() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let link = tmp.path().join("link");
    std::fs::create_dir_all(link.join("src")).unwrap();
    std::os::unix::fs::symlink(
        repo.join("labs/adder/solution/src/lib.rs"),
        link.join("src/lib.rs"),
    )
    .unwrap();
    let r = all_fail(&repo, &link);
    assert!(
        r["notes"][0]["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link")
    );

    let huge = tmp.path().join("huge");
    std::fs::create_dir_all(huge.join("src")).unwrap();
    let mut text = std::fs::read_to_string(repo.join("labs/adder/solution/src/lib.rs")).unwrap();
    text.push_str(&"// padding\n".repeat(200_000));
    std::fs::write(huge.join("src/lib.rs"), text).unwrap();
    let r = all_fail(&repo, &huge);
    assert!(r["notes"][0]["message"].as_str().unwrap().contains("bytes"));
}

#[test]
fn missing_files_come_from_the_skeleton() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = all_fail(&repo, &empty);
    assert!(r["built"].as_bool().unwrap());
    assert!(!r["notes"][0]["refused"].as_bool().unwrap());
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| {
            String::from_utf8_lossy(c)
                .replace('\0', " ")
                .contains(needle)
        })
        .count()
}

#[test]
fn processes_that_outlive_the_test_are_killed() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let r = grade_json(&repo, &fixtures().join("hostile/fork_outlives"));
    // The answers are right: full marks, and no waiting on the leftovers.
    assert_eq!(score(&r), (10.0, 10.0), "{r:#}");
    // The leftover in the test's process group is always killed; the one
    // that left the group only when tests run under uids of their own.
    assert_eq!(processes_with("sleep 1234.5"), 0);
    if r["isolated"].as_bool().unwrap() {
        assert_eq!(processes_with("sleep 1234.6"), 0);
    } else {
        // Known limit without isolation (see the README): clean up.
        kill_processes_with("sleep 1234.6");
    }
}

fn kill_processes_with(needle: &str) {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(c) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(needle)
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn network_is_unreachable_when_isolated() {
    let listener = std::net::TcpListener::bind("127.0.0.1:47123");
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let r = grade_json(&repo, &fixtures().join("hostile/network"));
    if r["isolated"].as_bool().unwrap() {
        assert_eq!(score(&r), (6.0, 10.0), "{r:#}");
        if let Ok(l) = listener {
            l.set_nonblocking(true).unwrap();
            assert!(l.accept().is_err(), "a test reached the network");
        }
    } else {
        // Without root the grader cannot take the network away; the
        // grading still completes.
        assert!(is_root() || score(&r).1 == 10.0);
    }
}

#[test]
fn unit_tests_in_the_submission_are_not_run() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let r = grade_json(&repo, &fixtures().join("hostile/unit_tests_in_source"));
    assert_eq!(score(&r), (10.0, 10.0), "{r:#}");
    let ids: Vec<String> = verdicts(&r).into_iter().map(|v| v.0).collect();
    assert_eq!(ids, ALL_TESTS);
    // Two hour-long sleeps were never waited for.
    assert!(r["seconds"].as_f64().unwrap() < 120.0);
}

#[test]
fn a_build_that_never_ends_is_stopped() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let toml = repo.join("labs/adder/lab.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace("output_kib = 64", "output_kib = 64\nbuild_timeout_secs = 8");
    std::fs::write(&toml, text).unwrap();
    let r = all_fail(&repo, &fixtures().join("hostile/slow_build"));
    assert!(!r["built"].as_bool().unwrap());
    assert!(
        r["build_log"]
            .as_str()
            .unwrap()
            .contains("was stopped after 8 s"),
        "{r:#}"
    );
}

/// A submission whose `src/lib.rs` is `lib_rs`, under `dir`.
fn submission(dir: &Path, name: &str, lib_rs: &str) -> std::path::PathBuf {
    let sub = dir.join(name);
    std::fs::create_dir_all(sub.join("src")).unwrap();
    std::fs::write(sub.join("src/lib.rs"), lib_rs).unwrap();
    sub
}

/// Whether this machine sandboxes gradings (bubblewrap installed, and
/// namespaces allowed); `scripts/test` installs bubblewrap as root.
fn sandboxed(report: &serde_json::Value) -> bool {
    !report["not_isolated"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g.as_str().unwrap().contains("without a sandbox"))
}

/// Lines only the fixture lab's solution and hidden tests hold.
const SECRETS: [&str; 2] = [
    "xs.iter().fold(0, |acc, &x| add(acc, x))",
    "499_999_500_000",
];

fn leaks(report: &serde_json::Value) -> Vec<&'static str> {
    let text = report.to_string();
    SECRETS.into_iter().filter(|s| text.contains(s)).collect()
}

/// Each way of making the compiler read another file: refused by the
/// source check, and, with the check off, finding nothing in the build
/// sandbox. Never a point, never a line of the solution or hidden tests in
/// the report.
#[test]
fn compile_time_reads_find_nothing() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let solution = repo.join("labs/adder/solution/src/lib.rs");
    let hidden = repo.join("labs/adder/hidden/hidden_edge.rs");
    let cases = [
        (
            "path_to_solution",
            format!(
                "#[path = \"{}\"]\nmod answer;\npub use answer::*;\n",
                solution.display()
            ),
        ),
        (
            "include_after_raw_byte_strings",
            format!(
                "const A: &[u8] = br#\"\"\"#; const B: &core::ffi::CStr = cr\"x\";\n\
                 const H: &str = include_str!(\"{}\");\n\
                 pub fn add(a: u64, b: u64) -> u64 {{ if H.len() > 1 {{ a.wrapping_add(b) }} else {{ 0 }} }}\n\
                 pub fn sum(xs: &[u64]) -> u64 {{ xs.iter().fold(0, |acc, &x| add(acc, x)) + A.len() as u64 * 0 + B.count_bytes() as u64 * 0 }}\n",
                hidden.display()
            ),
        ),
        (
            "debugger_visualizer",
            format!(
                "#![debugger_visualizer(gdb_script_file = \"{}\")]\n\
                 pub fn add(a: u64, b: u64) -> u64 {{ a.wrapping_add(b) }}\n\
                 pub fn sum(xs: &[u64]) -> u64 {{ xs.iter().fold(0, |acc, &x| add(acc, x)) }}\n",
                solution.display()
            ),
        ),
    ];
    for (name, src) in &cases {
        let sub = submission(tmp.path(), name, src);
        let checked = grade_json(&repo, &sub);
        assert_eq!(score(&checked).0, 0.0, "{name}: {checked:#}");
        assert!(
            checked["notes"][0]["refused"].as_bool().unwrap(),
            "{name}: {checked:#}"
        );
        assert_eq!(leaks(&checked), Vec::<&str>::new(), "{name}");

        let unchecked = grade_json_env(&repo, &sub, &[("GRADER_NO_SOURCE_CHECK", "1")]);
        assert!(
            sandboxed(&unchecked),
            "install bubblewrap to grade in a sandbox"
        );
        assert_eq!(score(&unchecked).0, 0.0, "{name}: {unchecked:#}");
        assert!(
            !unchecked["built"].as_bool().unwrap(),
            "{name}: {unchecked:#}"
        );
        assert_eq!(
            leaks(&unchecked),
            Vec::<&str>::new(),
            "{name}: {unchecked:#}"
        );
    }
}

/// A module read from `/dev/zero` makes rustc eat memory until its limit:
/// the build fails in bounded time and the grader carries on.
#[test]
fn a_compile_time_memory_bomb_is_stopped() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let sub = submission(tmp.path(), "zero", "#[path = \"/dev/zero\"]\nmod z;\n");
    let start = std::time::Instant::now();
    let r = grade_json_env(&repo, &sub, &[("GRADER_NO_SOURCE_CHECK", "1")]);
    assert!(sandboxed(&r), "install bubblewrap to grade in a sandbox");
    assert_eq!(score(&r), (0.0, 10.0), "{r:#}");
    assert!(!r["built"].as_bool().unwrap());
    assert!(start.elapsed() < std::time::Duration::from_secs(180));
}

/// What a test writes outside its own folder (the machine's temporary
/// folders, a cargo configuration where the next grading's cargo would
/// look) is gone when the grading ends, and the next grading of an empty
/// submission still scores what the skeleton scores.
#[test]
fn nothing_a_test_writes_survives_or_reaches_the_next_grading() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let tag = format!("grader-litter-{}", std::process::id());
    let plant = format!(
        r##"fn plant() {{
    let evil = "[build]\nrustc-wrapper = \"/tmp/{tag}/evil.sh\"\n";
    for dir in ["/tmp", "/var/tmp", "/dev/shm"] {{
        let d = std::path::Path::new(dir).join("{tag}");
        let _ = std::fs::create_dir_all(d.join(".cargo"));
        let _ = std::fs::write(d.join(".cargo/config.toml"), evil);
        let _ = std::fs::write(d.join("evil.sh"), "#!/bin/sh\necho planted\n");
        let _ = std::fs::create_dir_all(std::path::Path::new(dir).join(".cargo"));
        let _ = std::fs::write(std::path::Path::new(dir).join(".cargo/{tag}.toml"), evil);
    }}
}}
pub fn add(a: u64, b: u64) -> u64 {{ plant(); a.wrapping_add(b) }}
pub fn sum(xs: &[u64]) -> u64 {{ plant(); xs.iter().fold(0, |acc, &x| acc.wrapping_add(x)) }}
"##
    );
    let sub = submission(tmp.path(), "planter", &plant);
    let r = grade_json(&repo, &sub);
    assert!(sandboxed(&r), "install bubblewrap to grade in a sandbox");
    assert_eq!(score(&r), (10.0, 10.0), "{r:#}");
    for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
        let d = Path::new(dir);
        assert!(!d.join(&tag).exists(), "{dir}/{tag} survived the grading");
        assert!(!d.join(".cargo").join(format!("{tag}.toml")).exists());
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let next = grade_json(&repo, &empty);
    assert_eq!(score(&next), (0.0, 10.0), "{next:#}");
}

/// A test that reads the lab's hidden tests, its solution, or the scratch
/// copy at run time finds none of them, and nothing of them reaches the
/// report.
#[test]
fn runtime_reads_find_nothing() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let lab = repo.join("labs/adder");
    let reader = format!(
        r#"fn snoop() -> String {{
    let mut seen = String::new();
    for p in ["{sol}", "{hid}", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hidden_edge.rs"),
              concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")] {{
        if let Ok(t) = std::fs::read_to_string(p) {{ seen.push_str(&t); }}
    }}
    // Other processes (another grading's, with its paths): only the
    // sandbox's own two are there.
    let procs = std::fs::read_dir("/proc").into_iter().flatten().flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok()).count();
    if procs > 2 {{ seen.push_str(&format!("{{procs}} processes")); }}
    seen
}}
pub fn add(a: u64, b: u64) -> u64 {{ let s = snoop(); if s.is_empty() {{ a.wrapping_add(b) }} else {{ panic!("{{s}}") }} }}
pub fn sum(xs: &[u64]) -> u64 {{ let s = snoop(); if s.is_empty() {{ xs.iter().fold(0, |acc, &x| acc.wrapping_add(x)) }} else {{ panic!("{{s}}") }} }}
"#,
        sol = lab.join("solution/src/lib.rs").display(),
        hid = lab.join("hidden/hidden_edge.rs").display(),
    );
    let sub = submission(tmp.path(), "reader", &reader);
    let r = grade_json(&repo, &sub);
    assert!(sandboxed(&r), "install bubblewrap to grade in a sandbox");
    assert_eq!(leaks(&r), Vec::<&str>::new(), "{r:#}");
    // It read nothing, so it computed honestly: full marks.
    assert_eq!(score(&r), (10.0, 10.0), "{r:#}");
}

/// A submission that writes the transcript itself, as a process that can
/// read its own memory and environment could, and exits before the test's
/// checks. Blind, it earns nothing. Even knowing the public test's source
/// (and writing its expected values by hand, the classic hard-coded
/// answer), it earns nothing on the hidden test of the same function:
/// there it would have to compute what the reference computed.
#[test]
fn a_forged_transcript_earns_nothing_it_did_not_compute() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let forger = |lie: &str| {
        format!(
            r#"fn forge() -> ! {{
    if let Some(p) = std::env::var_os("LAB_TRANSCRIPT_FILE") {{
        let _ = std::fs::write(p, "{lie}");
    }}
    std::process::exit(0)
}}
pub fn add(_a: u64, _b: u64) -> u64 {{ forge() }}
pub fn sum(xs: &[u64]) -> u64 {{ xs.iter().fold(0u64, |acc, &x| acc.wrapping_add(x)) }}
"#
        )
    };
    let blind = submission(tmp.path(), "blind", &forger("start \\nend \\n"));
    let r = grade_json(&repo, &blind);
    assert_eq!(score(&r), (6.0, 10.0), "{r:#}");

    let public = forger("start \\ncheck lab/tests/basic.rs:6 5 == 5\\nend \\n");
    let r = grade_json(&repo, &submission(tmp.path(), "public", &public));
    for (id, passed, reason) in verdicts(&r) {
        if id == "hidden_edge::adds_with_wrap" {
            assert!(!passed, "{id} passed on a forged transcript: {reason}");
        }
    }
    assert!(score(&r).0 < 10.0, "{r:#}");
}

/// A figure is what the grader timed: a submission that is slow and
/// writes a figure of its own into its transcript gets the figure its
/// runs took, and a floor it misses fails the test.
#[test]
fn a_figure_is_what_the_grader_timed() {
    let tmp = tempdir();
    let repo = repo_in(tmp.path());
    let slow = r#"pub fn add(a: u64, b: u64) -> u64 { a.wrapping_add(b) }
pub fn sum(xs: &[u64]) -> u64 {
    if let Some(p) = std::env::var_os("LAB_TRANSCRIPT_FILE") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(p) {
            let _ = writeln!(f, "figure Msum/s 1000000");
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    xs.iter().fold(0u64, |acc, &x| acc.wrapping_add(x))
}
"#;
    let r = grade_json(&repo, &submission(tmp.path(), "slow", slow));
    assert_eq!(score(&r), (10.0, 10.0), "{r:#}");
    let speed = &r["tests"][4];
    assert_eq!(speed["id"], "hidden_edge::sum_speed");
    let figure = speed["figures"][0]["value"].as_f64().unwrap();
    // 1 Msum in at least 0.4 s of every run.
    assert!(figure > 0.0 && figure < 2.5, "{figure}: {r:#}");

    // The same lab with a floor this submission misses.
    let toml = repo.join("labs/adder/lab.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("work = 1.0", "work = 1.0\nmin = 100.0")).unwrap();
    let r = grade_json(&repo, &submission(tmp.path(), "slow2", slow));
    let (passed, reason) = (&r["tests"][4]["passed"], &r["tests"][4]["reason"]);
    assert_eq!(passed, false, "{r:#}");
    assert!(
        reason.as_str().unwrap().contains("below the floor of 100"),
        "{reason}"
    );
}
