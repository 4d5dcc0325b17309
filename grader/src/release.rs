//! `grader release --out DIR`: the student repository. Everything the
//! repository tracks (by `git ls-files` when it is a git work tree, else
//! every file but `target/` and `.git/`), less each lab's `hidden/`,
//! `solution/` and `wrong/` and the instructor's own files; the files in
//! `student/` take the place of the course's (its README, its test
//! script), and the result is a git repository with one commit, ready to
//! push as a template.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lab folders the students never see.
const PRIVATE: &[&str] = &["hidden", "solution", "wrong"];

/// Files of the course repository that are the instructor's alone: the
/// workflow that grades students' repositories with the hidden tests.
const INSTRUCTOR_ONLY: &[&str] = &[".github/workflows/grade-students.yml"];

/// The folder whose files replace the course's in the release.
const STUDENT: &str = "student";

fn is_private(rel: &Path) -> bool {
    let parts: Vec<_> = rel.components().map(|c| c.as_os_str()).collect();
    (parts.len() >= 3 && parts[0] == "labs" && PRIVATE.iter().any(|p| parts[2] == *p))
        || INSTRUCTOR_ONLY.iter().any(|f| rel == Path::new(f))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let name = e.file_name();
        if name == ".git" || name == "target" {
            continue;
        }
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(root, &p, out)?;
        } else if ty.is_file() {
            out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
        }
    }
    Ok(())
}

fn tracked(repo: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
            .filter(|p| repo.join(p).is_file())
            .collect(),
    )
}

pub fn release(repo: &Path, out: &Path) -> Result<(), String> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{}: exists and is not empty", out.display()));
    }
    let files = match tracked(repo) {
        Some(f) => f,
        None => {
            let mut f = Vec::new();
            walk(repo, repo, &mut f).map_err(|e| e.to_string())?;
            f
        }
    };
    let copy = |from: &Path, to_rel: &Path| -> Result<(), String> {
        let to = out.join(to_rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
        }
        let bytes =
            std::fs::read(repo.join(from)).map_err(|e| format!("{}: {e}", from.display()))?;
        let bytes = match std::str::from_utf8(&bytes) {
            Ok(text) if from.extension().is_some_and(|e| e == "rs") => {
                to_students_file(text).into_bytes()
            }
            _ => bytes,
        };
        std::fs::write(&to, bytes).map_err(|e| format!("{}: {e}", to_rel.display()))
    };
    let (students, course): (Vec<&PathBuf>, Vec<&PathBuf>) = files
        .iter()
        .filter(|r| !is_private(r))
        .partition(|r| r.starts_with(STUDENT));
    for rel in course {
        copy(rel, rel)?;
    }
    for rel in students {
        copy(rel, rel.strip_prefix(STUDENT).unwrap_or(rel))?;
    }
    commit(out)
}

/// A lab's reference solution compiled into the stack (its one source,
/// `#[path = "…/labs/LAB/solution/src/F.rs"]`) becomes the student's own
/// file of the lab (`…/labs/LAB/src/F.rs`): in the students' repository
/// the stack runs on their code.
fn to_students_file(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match solution_path(line) {
            Some(_) => line.replacen("/solution/src/", "/src/", 1),
            None => line.to_string(),
        })
        .collect()
}

/// The path of a line that is a `#[path = "…"]` attribute naming a lab's
/// reference solution (never a comment or a string that mentions one).
pub(crate) fn solution_path(line: &str) -> Option<&str> {
    let path = line.trim_start().strip_prefix("#[path = \"")?;
    let (path, _) = path.split_once('"')?;
    (path.contains("labs/") && path.contains("/solution/src/")).then_some(path)
}

/// The course's Rust files outside `labs/` that compile a lab's reference
/// solution (which the release points at the student's file), each with
/// the solution files it names, relative to `repo`.
pub fn one_source_files(repo: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let files = tracked(repo).unwrap_or_else(|| {
        let mut f = Vec::new();
        let _ = walk(repo, repo, &mut f);
        f
    });
    let mut out = Vec::new();
    for rel in files {
        if rel.starts_with("labs") || rel.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(repo.join(&rel)) else {
            continue;
        };
        if to_students_file(&text) == text {
            continue;
        }
        let dir = rel.parent().unwrap_or(Path::new(""));
        let targets = text
            .lines()
            .filter_map(solution_path)
            .filter_map(|t| normalize(&dir.join(t)))
            .collect();
        out.push((rel, targets));
    }
    out
}

/// `a/b/../c` as `a/c`; `None` if it climbs out of the repository.
pub(crate) fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => return None,
        }
    }
    Some(out)
}

/// Makes `out` a git repository with everything in one commit.
fn commit(out: &Path) -> Result<(), String> {
    let git = |args: &[&str]| -> Result<(), String> {
        let o = Command::new("git")
            .args(["-c", "user.name=socket-journey"])
            .args(["-c", "user.email=course@example.invalid"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(out)
            .output()
            .map_err(|e| format!("running git: {e}"))?;
        if o.status.success() {
            Ok(())
        } else {
            Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    };
    git(&["init", "-q", "-b", "main"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "The course, as released to students"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solution_compiled_into_the_stack_becomes_the_students_file() {
        let course = "// one source\n#[path = \"../../../labs/epoll/solution/src/eventpoll.rs\"]\nmod lab_epoll;\n#[path = \"other.rs\"]\nmod other;\n";
        assert_eq!(
            to_students_file(course),
            "// one source\n#[path = \"../../../labs/epoll/src/eventpoll.rs\"]\nmod lab_epoll;\n#[path = \"other.rs\"]\nmod other;\n"
        );
    }

    #[test]
    fn private_folders_are_those_of_labs() {
        assert!(is_private(Path::new("labs/queues/hidden/x.rs")));
        assert!(is_private(Path::new("labs/queues/solution/src/lib.rs")));
        assert!(is_private(Path::new("labs/queues/wrong/a/src/lib.rs")));
        assert!(!is_private(Path::new("labs/queues/src/lib.rs")));
        assert!(!is_private(Path::new("labs/README.md")));
        assert!(!is_private(Path::new("stack/src/hidden/x.rs")));
        assert!(is_private(Path::new(
            ".github/workflows/grade-students.yml"
        )));
        assert!(!is_private(Path::new(".github/workflows/check.yml")));
    }
}
