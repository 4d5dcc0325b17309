//! The scratch copy a submission is graded in: the pristine lab, only the
//! files `lab.toml` allows taken from the submission, a generated workspace
//! around it whose path dependencies point back into the repository, and
//! (later) the hidden tests.
//!
//! Nothing else of the submission is read: its `Cargo.toml`, `build.rs`,
//! `.cargo/config.toml`, `.config/nextest.toml`, `rust-toolchain.toml` and
//! tests never reach the scratch copy.

use crate::lab::Lab;
use std::path::{Component, Path, PathBuf};

/// Largest submission file taken (bytes).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why a submission file was refused, or other notes on the submission.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Note {
    pub file: String,
    pub message: String,
    /// Refusals make the submission score zero; other notes are informative.
    pub refused: bool,
}

/// A prepared scratch workspace.
pub struct Scratch {
    /// The generated workspace root.
    pub ws: PathBuf,
    /// The lab's copy inside it.
    pub lab: PathBuf,
    /// The package name of this grading's copy (see `rename_package`).
    pub package: String,
    pub notes: Vec<Note>,
    /// The lab's stack copy (`crate::one_source`), this grading's while
    /// the scratch copy lives.
    pub _one_source: Option<crate::one_source::Held>,
}

/// A relative path that stays inside its folder: no `..`, no root, no prefix.
pub fn check_relative(p: &str) -> Result<(), String> {
    let path = Path::new(p);
    if p.is_empty() || path.is_absolute() {
        return Err("must be a relative path".into());
    }
    for c in path.components() {
        match c {
            Component::Normal(_) => {}
            _ => return Err("must not leave the lab folder".into()),
        }
    }
    Ok(())
}

/// Puts the skeleton's `rel` in the scratch copy, for a submission file
/// that is missing or refused.
fn keep_skeleton(lab: &Lab, lab_dir: &Path, rel: &str) -> Result<(), String> {
    let from = lab.dir.join(rel);
    let Ok(bytes) = std::fs::read(&from) else {
        return Ok(());
    };
    let to = lab_dir.join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    write_if_changed(&to, &bytes).map_err(|e| format!("{}: {e}", to.display()))
}

/// Writes `bytes` to `path` unless it holds them already, so that a copy
/// kept between gradings (the reference solution's) keeps its files'
/// times and cargo does not rebuild it.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
}

/// Copies `src` into `dst` recursively, skipping `skip` names at the top
/// level; symlinks are not followed (the pristine lab has none).
fn copy_tree(src: &Path, dst: &Path, skip: &[&str], skip_files: &[PathBuf]) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) || skip_files.contains(&entry.path()) {
            continue;
        }
        let ty = entry.file_type()?;
        let to = dst.join(&name);
        if ty.is_dir() {
            copy_tree(&entry.path(), &to, &[], skip_files)?;
        } else if ty.is_file() {
            write_if_changed(&to, &std::fs::read(entry.path())?)?;
        }
    }
    Ok(())
}

/// The pristine lab's folders and files that never enter a scratch copy.
const NOT_COPIED: &[&str] = &[
    "hidden",
    "solution",
    "wrong",
    "target",
    ".git",
    ".cargo",
    ".config",
    "rust-toolchain",
    "rust-toolchain.toml",
    "build.rs",
];

/// Reads one allowed file from the submission, or says why not.
fn take(submission: &Path, rel: &str) -> Result<Option<Vec<u8>>, String> {
    // Every component must be a real directory or, last, a regular file:
    // a symlink anywhere could reach outside the submission.
    let mut at = submission.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    for (i, c) in parts.iter().enumerate() {
        at.push(c.as_os_str());
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        if meta.file_type().is_symlink() {
            return Err("is a symbolic link (refused)".into());
        }
        let last = i + 1 == parts.len();
        if last && !meta.is_file() {
            return Err("is not a regular file (refused)".into());
        }
        if !last && !meta.is_dir() {
            return Ok(None);
        }
        if last && meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "is {} bytes, more than the {} allowed (refused)",
                meta.len(),
                MAX_FILE_BYTES
            ));
        }
    }
    let bytes = std::fs::read(&at).map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("grew past the size limit while read (refused)".into());
    }
    if std::str::from_utf8(&bytes).is_err() {
        return Err("is not UTF-8 text (refused)".into());
    }
    Ok(Some(bytes))
}

/// Rewrites relative `path = "..."` of dependency tables to absolute paths
/// (relative to `base`).
pub(crate) fn absolutize_deps(table: &mut toml::Table, base: &Path) {
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(toml::Value::Table(deps)) = table.get_mut(key) {
            for (_, dep) in deps.iter_mut() {
                if let toml::Value::Table(d) = dep
                    && let Some(toml::Value::String(p)) = d.get_mut("path")
                    && Path::new(p.as_str()).is_relative()
                {
                    *p = base.join(p.as_str()).to_string_lossy().into_owned();
                }
            }
        }
    }
    if let Some(toml::Value::Table(targets)) = table.get_mut("target") {
        for (_, t) in targets.iter_mut() {
            if let toml::Value::Table(t) = t {
                absolutize_deps(t, base);
            }
        }
    }
}

/// Gives the package a name of its own for this grading, keeping the
/// library's crate name: cargo names artifacts by package, not by folder,
/// so two gradings sharing a build folder would otherwise overwrite each
/// other's test binaries.
fn rename_package(manifest: &mut toml::Table, root: &Path) -> Result<String, String> {
    let Some(toml::Value::Table(package)) = manifest.get_mut("package") else {
        return Err("the lab's Cargo.toml has no [package]".into());
    };
    let Some(toml::Value::String(name)) = package.get("name").cloned() else {
        return Err("the lab's package has no name".into());
    };
    let tag: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let renamed = format!("{name}-{tag}");
    package.insert("name".into(), renamed.clone().into());
    let lib = manifest
        .entry("lib")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(lib) = lib {
        lib.entry("name")
            .or_insert_with(|| name.replace('-', "_").into());
    }
    Ok(renamed)
}

pub(crate) fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The generated workspace manifest: the repository's shared settings
/// (`[workspace.package]`, lints, dependencies, profiles), with one member.
fn workspace_manifest(repo: &Path) -> Result<String, String> {
    let root = read_toml(&repo.join("Cargo.toml"))?;
    let mut ws = toml::Table::new();
    ws.insert("resolver".into(), "3".into());
    ws.insert("members".into(), toml::Value::Array(vec!["lab".into()]));
    if let Some(toml::Value::Table(w)) = root.get("workspace") {
        for key in ["package", "lints"] {
            if let Some(v) = w.get(key) {
                ws.insert(key.into(), v.clone());
            }
        }
        if let Some(toml::Value::Table(deps)) = w.get("dependencies") {
            let mut t = toml::Table::new();
            t.insert("dependencies".into(), toml::Value::Table(deps.clone()));
            absolutize_deps(&mut t, repo);
            if let Some(d) = t.remove("dependencies") {
                ws.insert("dependencies".into(), d);
            }
        }
    }
    let mut out = toml::Table::new();
    out.insert("workspace".into(), toml::Value::Table(ws));
    if let Some(p) = root.get("profile") {
        out.insert("profile".into(), p.clone());
    }
    toml::to_string(&out).map_err(|e| e.to_string())
}

/// Builds the scratch copy under `root`: the pristine lab with the
/// submission's allowed files (without a submission, the skeleton as it
/// is), and the public tests if `public_tests`. `root` may hold an earlier
/// copy: only files that differ are rewritten. With `one_source` (a
/// folder kept between gradings), the stack the lab is built with runs on
/// the lab's files as they are in the copy (`crate::one_source`).
pub fn prepare(
    repo: &Path,
    lab: &Lab,
    submission: Option<&Path>,
    root: &Path,
    public_tests: bool,
    one_source: Option<&Path>,
) -> Result<Scratch, String> {
    let ws = root.join("ws");
    let lab_dir = ws.join("lab");
    // A submission's files are written once, from the submission or the
    // skeleton: never the skeleton's first and then the submission's, so a
    // copy kept between gradings keeps its files' times.
    let mut replaced: Vec<PathBuf> = match submission {
        Some(_) => lab
            .toml
            .submission
            .files
            .iter()
            .map(|f| lab.dir.join(f))
            .collect(),
        None => Vec::new(),
    };
    if !public_tests {
        replaced.extend(public_test_files(lab));
    }
    copy_tree(&lab.dir, &lab_dir, NOT_COPIED, &replaced)
        .map_err(|e| format!("copying the lab: {e}"))?;
    write_if_changed(&ws.join("Cargo.toml"), workspace_manifest(repo)?.as_bytes())
        .map_err(|e| format!("writing the workspace: {e}"))?;
    if repo.join("Cargo.lock").is_file() && !ws.join("Cargo.lock").is_file() {
        let _ = std::fs::copy(repo.join("Cargo.lock"), ws.join("Cargo.lock"));
    }
    let mut manifest = read_toml(&lab.dir.join("Cargo.toml"))?;
    absolutize_deps(&mut manifest, &lab.dir);
    let package = rename_package(&mut manifest, root)?;

    let mut notes = Vec::new();
    if let Some(sub) = submission {
        for rel in &lab.toml.submission.files {
            match take(sub, rel) {
                Ok(Some(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    if let Err(why) = crate::source_check::check(&text) {
                        keep_skeleton(lab, &lab_dir, rel)?;
                        notes.push(Note {
                            file: rel.clone(),
                            message: format!("{why} (refused)"),
                            refused: true,
                        });
                        continue;
                    }
                    let to = lab_dir.join(rel);
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                    }
                    write_if_changed(&to, &bytes).map_err(|e| e.to_string())?;
                }
                Ok(None) => {
                    keep_skeleton(lab, &lab_dir, rel)?;
                    notes.push(Note {
                        file: rel.clone(),
                        message: "not in the submission; the skeleton's is used".into(),
                        refused: false,
                    })
                }
                Err(message) => {
                    keep_skeleton(lab, &lab_dir, rel)?;
                    notes.push(Note {
                        file: rel.clone(),
                        message,
                        refused: true,
                    })
                }
            }
        }
    }
    // After the submission's files are in: the stack copy compiles them.
    let one_source = match one_source {
        Some(dir) => {
            crate::one_source::redirect(repo, lab, &lab_dir, &mut manifest, &dir.join(lab.name()))?
        }
        None => None,
    };
    write_if_changed(
        &lab_dir.join("Cargo.toml"),
        toml::to_string(&manifest)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    )
    .map_err(|e| format!("writing the lab manifest: {e}"))?;
    Ok(Scratch {
        ws,
        lab: lab_dir,
        package,
        notes,
        _one_source: one_source,
    })
}

/// The public tests: the `.rs` files directly in the lab's `tests/`
/// (shared helpers in subfolders such as `tests/common/` are not tests, and
/// hidden tests use them too).
fn public_test_files(lab: &Lab) -> Vec<PathBuf> {
    std::fs::read_dir(lab.dir.join("tests"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// Copies the hidden tests into the scratch copy's `tests/`.
pub fn add_hidden(lab: &Lab, scratch: &Scratch) -> Result<(), String> {
    let tests = scratch.lab.join("tests");
    std::fs::create_dir_all(&tests).map_err(|e| e.to_string())?;
    for f in lab.hidden_files() {
        let Some(name) = f.file_name() else { continue };
        let to = tests.join(name);
        // A public test of that name (the reference's kept copy holds the
        // hidden tests from before: those are rewritten if they changed).
        if lab.dir.join("tests").join(name).exists() {
            return Err(format!(
                "hidden test {} has the name of a public test",
                f.display()
            ));
        }
        let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        write_if_changed(&to, &bytes).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    // A kept copy may hold a hidden test the lab no longer has.
    let known: Vec<_> = lab
        .hidden_files()
        .into_iter()
        .chain(public_test_files(lab))
        .filter_map(|f| f.file_name().map(|n| n.to_owned()))
        .collect();
    for entry in std::fs::read_dir(&tests).into_iter().flatten().flatten() {
        let path = entry.path();
        let stray = path.is_file()
            && path.extension().is_some_and(|e| e == "rs")
            && !known.contains(&entry.file_name());
        if stray {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// The source folders (and workspace manifests) a build of the scratch
/// workspace reads outside it: every path dependency, followed through
/// their own, and the workspace root each inherits settings from. The
/// build sandbox shows these and nothing else of the repository.
pub fn source_paths(ws: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut todo: Vec<(PathBuf, PathBuf)> = vec![
        (ws.join("Cargo.toml"), ws.to_path_buf()),
        (ws.join("lab").join("Cargo.toml"), ws.join("lab")),
    ];
    while let Some((manifest, base)) = todo.pop() {
        let Ok(mut table) = read_toml(&manifest) else {
            continue;
        };
        if let Some(toml::Value::Table(w)) = table.get_mut("workspace") {
            absolutize_deps(w, &base);
            collect_path_deps(w, &mut todo, &mut out);
        }
        absolutize_deps(&mut table, &base);
        collect_path_deps(&table, &mut todo, &mut out);
        if !base.starts_with(ws) {
            // A crate of the repository inherits from the workspace above it.
            if let Some(root) = base.ancestors().skip(1).find(|a| {
                read_toml(&a.join("Cargo.toml")).is_ok_and(|t| t.contains_key("workspace"))
            }) {
                let m = root.join("Cargo.toml");
                if !out.contains(&m) {
                    out.push(m.clone());
                    todo.push((m, root.to_path_buf()));
                }
            }
        }
    }
    // A crate of the repository may compile a file outside its folder
    // (the stack compiles each lab's reference solution, its one source).
    let outside: Vec<PathBuf> = out
        .iter()
        .filter(|d| d.is_dir() && !d.starts_with(ws))
        .flat_map(|d| path_attribute_targets(d))
        .collect();
    out.extend(outside);
    out.sort();
    out.dedup();
    out
}

/// The files that `#[path = "…"]` attributes in `dir`'s Rust sources name
/// outside `dir`. (A plain text scan: these are the course's own sources.)
fn path_attribute_targets(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && e.file_name() != "target" {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for rest in text.split("#[path = \"").skip(1) {
            let Some((target, _)) = rest.split_once('"') else {
                continue;
            };
            let Some(at) = f.parent().map(|p| p.join(target)) else {
                continue;
            };
            if let Ok(at) = at.canonicalize()
                && !at.starts_with(dir)
            {
                out.push(at);
            }
        }
    }
    out
}

fn collect_path_deps(
    table: &toml::Table,
    todo: &mut Vec<(PathBuf, PathBuf)>,
    out: &mut Vec<PathBuf>,
) {
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(toml::Value::Table(deps)) = table.get(key) {
            for dep in deps.values() {
                if let toml::Value::Table(d) = dep
                    && let Some(toml::Value::String(p)) = d.get("path")
                {
                    let dir = PathBuf::from(p);
                    if !out.contains(&dir) {
                        out.push(dir.clone());
                        todo.push((dir.join("Cargo.toml"), dir));
                    }
                }
            }
        }
    }
    if let Some(toml::Value::Table(targets)) = table.get("target") {
        for t in targets.values() {
            if let toml::Value::Table(t) = t {
                collect_path_deps(t, todo, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside() {
        assert!(check_relative("src/lib.rs").is_ok());
        assert!(check_relative("../x.rs").is_err());
        assert!(check_relative("src/../../x.rs").is_err());
        assert!(check_relative("/etc/passwd").is_err());
        assert!(check_relative("").is_err());
    }
}
