//! The stack a submission is graded with runs on the submission.
//!
//! The course's stack compiles each lab's reference solution as its own
//! code (`#[path = "…/labs/LAB/solution/src/F.rs"]`: one source for both).
//! Graded against that stack, a submission could hand back the answer it
//! holds (`pub use stack::…::RcvQueue;`), and the hidden tests that run
//! the book's scenarios would run the reference, not the student. So a
//! grading builds a copy of each crate that compiles the lab's solution,
//! in which those paths name the submission's files instead, as they name
//! the student's own files in the students' repository (`grader release`).
//! Another lab's solution stays the reference's, so a scenario that needs
//! it runs.
//!
//! The copy lives at one place per lab under the build folder, so cargo
//! and rustc's incremental cache keep it between gradings: its files are
//! rewritten only when they change, and a grading of the same files
//! rebuilds nothing. A lock keeps two gradings of a lab from sharing it at
//! once. The reference build needs no copy: the course's stack already
//! runs on the reference.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::lab::Lab;
use crate::scratch::{read_toml, write_if_changed};

/// Where, under the copy's folder, the submission's files are put.
const LAB_SRC: &str = "lab-src";

/// The copy, this grading's while held: the lock, and the submission's
/// files, removed when the grading ends so that the next submission's
/// tests cannot find them at a known path on a machine with no sandbox.
/// (The next grading writes its own and rebuilds what they change.)
pub struct Held {
    _lock: Flock<File>,
    lab_src: PathBuf,
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.lab_src);
    }
}

/// Points `manifest`'s dependencies that compile `lab`'s reference solution
/// at copies under `dir` that compile the files of `lab_dir/src` instead
/// (copied to `dir/lab-src`). Returns the copy, held, or `None`
/// when no dependency compiles the lab's solution (a release, or a lab
/// not yet one source).
pub fn redirect(
    repo: &Path,
    lab: &Lab,
    lab_dir: &Path,
    manifest: &mut toml::Table,
    dir: &Path,
) -> Result<Option<Held>, String> {
    let prefix = Path::new("labs").join(lab.name()).join("solution");
    let files = crate::release::one_source_files(repo);
    let crates: Vec<PathBuf> = {
        let mut c: Vec<PathBuf> = files
            .iter()
            .filter(|(_, targets)| targets.iter().any(|t| t.starts_with(&prefix)))
            .filter_map(|(rel, _)| crate_root(repo, rel))
            .collect();
        c.sort();
        c.dedup();
        c
    };
    if crates.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lock = File::create(dir.with_extension("lock")).map_err(|e| e.to_string())?;
    let lock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("locking {}: {e}", dir.display()))?;
    let dir = dir.canonicalize().map_err(|e| e.to_string())?;
    // The submission's files, where the copies look for them.
    for (_, targets) in &files {
        for t in targets {
            if let Ok(rest) = t.strip_prefix(prefix.join("src")) {
                let bytes = std::fs::read(lab_dir.join("src").join(rest))
                    .map_err(|e| format!("{}: {e}", rest.display()))?;
                write_if_changed(&dir.join(LAB_SRC).join(rest), &bytes)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    for c in &crates {
        let to = dir.join(c);
        let rewritten: Vec<(PathBuf, String)> = files
            .iter()
            .filter(|(rel, _)| rel.starts_with(c))
            .map(|(rel, _)| {
                let text = std::fs::read_to_string(repo.join(rel)).map_err(|e| e.to_string())?;
                let text = retarget(&text, rel, &|t| match t.strip_prefix(prefix.join("src")) {
                    Ok(rest) => dir.join(LAB_SRC).join(rest),
                    Err(_) => repo.join(t),
                });
                Ok((rel.strip_prefix(c).unwrap_or(rel).to_path_buf(), text))
            })
            .collect::<Result<_, String>>()?;
        copy_crate(&repo.join(c), &to, Path::new(""), &rewritten)
            .map_err(|e| format!("copying {}: {e}", c.display()))?;
        write_if_changed(
            &to.join("Cargo.toml"),
            standalone_manifest(repo, &repo.join(c))?.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        point_dependencies(manifest, &repo.join(c), &to);
    }
    Ok(Some(Held {
        _lock: lock,
        lab_src: dir.join(LAB_SRC),
    }))
}

/// The crate (a folder with a `Cargo.toml`, inside `repo`) that `rel` is
/// part of, relative to `repo`.
fn crate_root(repo: &Path, rel: &Path) -> Option<PathBuf> {
    rel.ancestors()
        .skip(1)
        .find(|a| !a.as_os_str().is_empty() && repo.join(a).join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// `text` (the file `rel` of the repository) with each `#[path]` line that
/// names a lab's solution naming `to(target)` instead, as an absolute path.
fn retarget(text: &str, rel: &Path, to: &dyn Fn(&Path) -> PathBuf) -> String {
    let dir = rel.parent().unwrap_or(Path::new(""));
    text.split_inclusive('\n')
        .map(|line| {
            let Some(path) = crate::release::solution_path(line) else {
                return line.to_string();
            };
            match crate::release::normalize(&dir.join(path)) {
                Some(target) => line.replacen(path, &to(&target).to_string_lossy(), 1),
                None => line.to_string(),
            }
        })
        .collect()
}

/// Copies the crate at `src` to `dst` (its `target/` left out), with the
/// files of `rewritten` (relative to the crate) as given there; a file
/// that did not change is left alone, so cargo sees nothing new. Anything
/// in `dst` the crate does not have goes (a `build.rs` or `.cargo/` left
/// there by an earlier grading's tests, on a machine with no sandbox,
/// would otherwise be built or read).
fn copy_crate(
    src: &Path,
    dst: &Path,
    rel: &Path,
    rewritten: &[(PathBuf, String)],
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dst.join(rel))
        .into_iter()
        .flatten()
        .flatten()
    {
        let here = rel.join(entry.file_name());
        let from = std::fs::symlink_metadata(src.join(&here));
        let to = entry.file_type()?;
        let same_kind = from.is_ok_and(|m| m.is_dir() == to.is_dir() && !to.is_symlink());
        if !same_kind || entry.file_name() == "target" || entry.file_name() == ".git" {
            if to.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    for entry in std::fs::read_dir(src.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let here = rel.join(&name);
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_crate(src, dst, &here, rewritten)?;
        } else if ty.is_file() {
            let bytes = match rewritten.iter().find(|(r, _)| *r == here) {
                Some((_, text)) => text.clone().into_bytes(),
                None => std::fs::read(entry.path())?,
            };
            write_if_changed(&dst.join(&here), &bytes)?;
        }
    }
    Ok(())
}

/// The crate's manifest made to stand alone outside the repository's
/// workspace: what it inherits (`x.workspace = true`) written out, path
/// dependencies made absolute, and an empty `[workspace]` of its own.
fn standalone_manifest(repo: &Path, crate_dir: &Path) -> Result<String, String> {
    let root = read_toml(&repo.join("Cargo.toml"))?;
    let empty = toml::Table::new();
    let ws = match root.get("workspace") {
        Some(toml::Value::Table(w)) => w,
        _ => &empty,
    };
    let section = |name: &str| match ws.get(name) {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => toml::Table::new(),
    };
    let inherited = |v: &toml::Value| matches!(v, toml::Value::Table(t) if t.get("workspace") == Some(&toml::Value::Boolean(true)));
    let mut m = read_toml(&crate_dir.join("Cargo.toml"))?;
    let ws_package = section("package");
    if let Some(toml::Value::Table(package)) = m.get_mut("package") {
        for (key, value) in package.iter_mut() {
            if inherited(value) {
                *value = ws_package
                    .get(key.as_str())
                    .cloned()
                    .ok_or_else(|| format!("the workspace gives no package.{key}"))?;
            }
        }
    }
    if m.get("lints").is_some_and(inherited) {
        m.insert("lints".into(), toml::Value::Table(section("lints")));
    }
    let ws_deps = section("dependencies");
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(toml::Value::Table(deps)) = m.get_mut(key) {
            for (name, dep) in deps.iter_mut() {
                if !inherited(dep) {
                    continue;
                }
                let mut full = match ws_deps.get(name.as_str()) {
                    Some(toml::Value::String(v)) => {
                        toml::Table::from_iter([("version".to_string(), v.clone().into())])
                    }
                    Some(toml::Value::Table(t)) => t.clone(),
                    _ => return Err(format!("the workspace gives no dependency {name}")),
                };
                if let toml::Value::Table(own) = dep {
                    for (k, v) in own.iter().filter(|(k, _)| *k != "workspace") {
                        full.insert(k.clone(), v.clone());
                    }
                }
                *dep = toml::Value::Table(full);
            }
        }
    }
    crate::scratch::absolutize_deps(&mut m, crate_dir);
    m.insert("workspace".into(), toml::Value::Table(toml::Table::new()));
    toml::to_string(&m).map_err(|e| e.to_string())
}

/// Path dependencies of `manifest` on the crate at `from` now name `to`.
fn point_dependencies(manifest: &mut toml::Table, from: &Path, to: &Path) {
    let from = from.canonicalize().unwrap_or_else(|_| from.to_path_buf());
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(toml::Value::Table(deps)) = manifest.get_mut(key) {
            for (_, dep) in deps.iter_mut() {
                if let toml::Value::Table(d) = dep
                    && let Some(toml::Value::String(p)) = d.get_mut("path")
                    && Path::new(p.as_str())
                        .canonicalize()
                        .is_ok_and(|c| c == from)
                {
                    *p = to.to_string_lossy().into_owned();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_holds_the_crate_and_nothing_planted_in_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        std::fs::create_dir_all(src.join("src")).unwrap();
        std::fs::write(src.join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(src.join("src/lib.rs"), "// lib\n").unwrap();
        std::fs::write(src.join("src/m.rs"), "// m\n").unwrap();
        // What an earlier grading's tests could have left there.
        std::fs::create_dir_all(dst.join(".cargo")).unwrap();
        std::fs::create_dir_all(dst.join("src/lib.rs")).unwrap();
        std::fs::write(dst.join(".cargo/config.toml"), "[build]\n").unwrap();
        std::fs::write(dst.join("build.rs"), "fn main() {}\n").unwrap();
        std::fs::write(dst.join("src/extra.rs"), "\n").unwrap();
        let rewritten = vec![(PathBuf::from("src/m.rs"), "// rewritten\n".to_string())];
        copy_crate(&src, &dst, Path::new(""), &rewritten).unwrap();
        let mut found = Vec::new();
        fn walk(d: &Path, base: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path(), base, out);
                } else {
                    out.push(e.path().strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        walk(&dst, &dst, &mut found);
        found.sort();
        assert_eq!(found, ["Cargo.toml", "src/lib.rs", "src/m.rs"]);
        assert_eq!(
            std::fs::read_to_string(dst.join("src/lib.rs")).unwrap(),
            "// lib\n"
        );
        assert_eq!(
            std::fs::read_to_string(dst.join("src/m.rs")).unwrap(),
            "// rewritten\n"
        );
    }
}
