//! One source: a lab's reference solution is compiled into the stack, and
//! the students' release carries no copy of it. In the release the stack
//! compiles the student's own file of the lab instead, so the stack's
//! examples run on the student's code (and stop with the lab's message
//! until it is written).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && e.file_name() != "target" && e.file_name() != ".git" {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Whether a line says what a function does (not a comment, not mere
/// punctuation, not part of a signature, which the stack's trait and the
/// skeleton share with the answer).
fn is_body(l: &str) -> bool {
    let signature = l.starts_with("fn ")
        || l.starts_with("pub fn ")
        || l.starts_with("&self")
        || l.starts_with("&mut self")
        || l.starts_with(')')
        || l.split_once(": ").is_some_and(|(name, ty)| {
            name.chars().all(|c| c.is_alphanumeric() || c == '_') && ty.ends_with(',')
        });
    !l.is_empty() && !l.starts_with("//") && l.len() > 3 && !signature
}

/// Runs of four consecutive lines of function bodies (trimmed): what a
/// copy of code shares with it.
fn runs(text: &str) -> BTreeSet<[String; 4]> {
    let code: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| is_body(l))
        .map(String::from)
        .collect();
    code.windows(4)
        .map(|w| [w[0].clone(), w[1].clone(), w[2].clone(), w[3].clone()])
        .collect()
}

#[test]
fn the_release_holds_no_answers_and_the_stack_runs_the_students_code() {
    let repo = repo();
    let tmp = tempfile::tempdir().unwrap();
    let rel = tmp.path().join("release");
    let out = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(["release", "--out", rel.to_str().unwrap()])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut released = Vec::new();
    rs_files(&rel, &mut released);
    for entry in std::fs::read_dir(repo.join("labs")).unwrap() {
        let lab = entry.unwrap().path();
        let solution = lab.join("solution/src");
        if !solution.is_dir() {
            continue;
        }
        let name = lab.file_name().unwrap().to_string_lossy().into_owned();
        let mut answers = BTreeSet::new();
        let mut files = Vec::new();
        rs_files(&solution, &mut files);
        for f in files {
            answers.extend(runs(&std::fs::read_to_string(f).unwrap()));
        }
        // The skeleton, which the student completes, may share the
        // declarations; everything else must share nothing.
        let skeleton = rel.join("labs").join(&name).join("src");
        let leaks: Vec<String> = released
            .iter()
            .filter(|f| !f.starts_with(&skeleton))
            .filter(|f| {
                runs(&std::fs::read_to_string(f).unwrap())
                    .intersection(&answers)
                    .next()
                    .is_some()
            })
            .map(|f| f.strip_prefix(&rel).unwrap().display().to_string())
            .collect();
        assert!(!answers.is_empty(), "{name}: no solution code read");
        assert!(
            leaks.is_empty(),
            "{name}'s answer is in the release: {leaks:?}"
        );
    }

    // The released stack compiles the students' files: an example stops at
    // the first lab it needs that is not written, and once the reference
    // solutions are laid over the release it prints what the course's
    // stack prints, byte for byte.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let run = |dir: &Path, example: &str, target: &Path| {
        Command::new(env!("CARGO"))
            .args(["run", "-q", "-p", "stack", "--example", example])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    };
    let released = target.join("one-source-release");
    let steps: &[(&str, &str, &str)] = &[
        ("thundering_herd", "queues", "the queues lab: "),
        ("thundering_herd", "handshake", "the handshake lab: "),
        ("thundering_herd", "epoll", "the epoll lab: EventPoll::"),
        ("sendfile_vs_read_write", "zerocopy", "the zerocopy lab: "),
    ];
    for (example, lab, stops) in steps {
        let out = run(&rel, example, &released);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{example} ran before {lab} was written"
        );
        assert!(
            stderr.contains(&format!("not yet implemented: {stops}")),
            "{example} before {lab}: {stderr}"
        );
        let mut files = Vec::new();
        rs_files(
            &repo.join("labs").join(lab).join("solution/src"),
            &mut files,
        );
        for f in files {
            let to = rel
                .join("labs")
                .join(lab)
                .join("src")
                .join(f.file_name().unwrap());
            std::fs::copy(&f, to).unwrap();
        }
    }
    for example in [
        "thundering_herd",
        "sendfile_vs_read_write",
        "packet_journey",
    ] {
        let ours = run(&rel, example, &released);
        let theirs = run(&repo, example, &target);
        assert!(
            ours.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{example}: the release on the reference solutions prints what the course prints"
        );
    }
    // And a student who wrote the reference solutions passes every public
    // test of every lab, on a stack that runs on them.
    for lab in ["queues", "handshake", "epoll", "zerocopy"] {
        let out = Command::new(env!("CARGO_BIN_EXE_grader"))
            .arg("--repo")
            .arg(&rel)
            .arg("--target-dir")
            .arg(released.join("grader"))
            .args(["check", lab])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with("public tests: "))
            .unwrap_or_else(|| panic!("{lab}: no summary\n{stdout}"));
        let (passed, of) = line["public tests: ".len()..]
            .split_once(' ')
            .and_then(|(n, _)| n.split_once('/'))
            .unwrap_or_else(|| panic!("{lab}: {line}"));
        assert!(
            out.status.success() && passed == of,
            "{lab} on the reference solution in the release: {line}\n{stdout}"
        );
    }
}

/// A submission that hands back the stack's own component
/// (`pub use stack::…`) instead of writing it: the stack it is graded with
/// compiles the submission's files in the reference's place, so the
/// answer is not there to take, and the build fails (the file would
/// re-export itself).
#[test]
fn a_submission_cannot_hand_back_the_stacks_answer() {
    let repo = repo();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
        .join("one-source-grading");
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "queues",
            &[
                ("ring.rs", "pub use stack::netdev::ring::DescRing;\n"),
                (
                    "rcv_queue.rs",
                    "pub use stack::net::core::receive_queue::RcvQueue;\n",
                ),
                (
                    "recv.rs",
                    "pub use stack::net::core::receive_queue::{tcp_recvmsg, udp_recvmsg};\n",
                ),
            ],
        ),
        (
            "epoll",
            &[(
                "eventpoll.rs",
                "pub use stack::eventpoll_lists::Lists as EventPoll;\n",
            )],
        ),
        (
            "handshake",
            &[
                (
                    "request_sock_queue.rs",
                    "pub use stack::inet::request_sock_queue::Queues as ReqskQueue;\n",
                ),
                (
                    "tcp_state.rs",
                    "pub use stack::inet::tcp::state_machine::*;\n",
                ),
            ],
        ),
        (
            "zerocopy",
            &[
                ("pipe_ring.rs", "pub use stack::pipe::PipeRing;\n"),
                (
                    "zerocopy_notify.rs",
                    "pub use stack::zerocopy::msg_zerocopy_notification;\n",
                ),
            ],
        ),
    ];
    // One file at a time: the lab's other files stay the skeleton's, so a
    // re-export that worked would show in its own groups' points.
    for (lab, files) in cases {
        for (name, text) in *files {
            let tmp = tempfile::tempdir().unwrap();
            let sub = tmp.path().join(lab);
            std::fs::create_dir_all(sub.join("src")).unwrap();
            std::fs::write(sub.join("src").join(name), text).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_grader"))
                .args(["--target-dir", target.to_str().unwrap()])
                .args(["grade", lab, "--format", "json", "--submission"])
                .arg(&sub)
                .current_dir(&repo)
                .output()
                .unwrap();
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                    panic!(
                        "{lab}/{name}: not JSON ({e}): {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            assert_eq!(
                report["score"].as_f64(),
                Some(0.0),
                "{lab}/{name}: {report}"
            );
        }
    }
}
