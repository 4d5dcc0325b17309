//! Grading one submission of one lab: scratch copy, build, list, run, and
//! the per-test verdicts scored by `lab.toml`.

use crate::lab::Lab;
use crate::runner::{Run, Toolchain, read_junit, tail};
use crate::sandbox::Sandbox;
use crate::scratch::{self, Note};
use crate::wrapper::{Verdict, verdict_file};
use nix::unistd::Uid;
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to grade and how.
pub struct Options<'a> {
    pub repo: &'a Path,
    pub lab: &'a Lab,
    /// The submission folder (a copy of the lab folder); `None` grades the
    /// skeleton.
    pub submission: Option<&'a Path>,
    /// Add the hidden tests (`grade`); `check` runs the public ones only.
    pub hidden: bool,
    /// Run the public tests too. `verify` leaves them out when it runs a
    /// wrong implementation, which the hidden tests alone must catch: half
    /// the test binaries to build and link for each of them.
    pub public: bool,
    /// Show nextest's progress display.
    pub progress: bool,
    pub target_dir: PathBuf,
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `binary::test`, the name `lab.toml` groups refer to.
    pub id: String,
    pub group: Option<String>,
    /// `public` (from `tests/`), `hidden` (from `hidden/`), or `yours` (a
    /// plain `#[test]` of the student's, under `check`: never graded).
    pub visibility: &'static str,
    pub passed: bool,
    /// Why it failed, or "passed".
    pub reason: String,
    pub score: f64,
    pub max_score: f64,
    pub seconds: f64,
    /// The test's output (bounded), for failed tests.
    pub output: String,
    pub figures: Vec<Figure>,
    /// The command that reruns this test alone in the student's
    /// repository (`check` only).
    pub rerun: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    /// From the lab's `[[figure]]` of that name, if it has one.
    pub unit: String,
    pub higher_is_better: bool,
    /// How far apart the timed runs were: (slowest - fastest) / median.
    pub spread: f64,
    /// How many runs were timed.
    pub runs: usize,
    /// An entry of Gradescope's leaderboard.
    pub leaderboard: bool,
}

/// The result of grading one submission.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lab: String,
    pub title: String,
    pub submission: String,
    /// Only the public tests ran (`check`): points are not meaningful, as
    /// a group's points are shared with hidden tests when grading.
    pub public_only: bool,
    /// Whether the submission built; when not, every test fails.
    pub built: bool,
    /// The build's error output (bounded) when it did not build.
    pub build_log: String,
    pub notes: Vec<Note>,
    /// Whether each test ran under a uid of its own with no network (the
    /// grader runs as root); see the README.
    pub isolated: bool,
    /// What was not isolated in this grading, in plain words (empty when
    /// builds and tests ran sandboxed, each test under a uid of its own).
    pub not_isolated: Vec<String>,
    pub score: f64,
    pub max_score: f64,
    pub tests: Vec<TestResult>,
    pub seconds: f64,
}

impl Report {
    /// Every figure reported by a passing test, with its test.
    pub fn figures(&self) -> Vec<(&str, &Figure)> {
        self.tests
            .iter()
            .flat_map(|t| t.figures.iter().map(move |f| (t.id.as_str(), f)))
            .collect()
    }
}

/// `binary id` (`lab-x::ring`) to the short binary name (`ring`); the
/// library's unit tests are `lib`.
fn short_binary(binary_id: &str) -> &str {
    binary_id.split_once("::").map_or("lib", |(_, b)| b)
}

/// A fresh folder for one grading, searchable by test uids, under the
/// build folder (never under `/tmp`): no one but the grader can write to
/// it or to its parents, so nothing can be planted where cargo looks for
/// configuration (`.cargo/config.toml` in every parent of the workspace).
fn scratch_root(target_dir: &Path) -> Result<PathBuf, String> {
    let base = target_dir.join("scratch");
    std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| e.to_string())?;
    let base = base.canonicalize().map_err(|e| e.to_string())?;
    for _ in 0..100 {
        let name = format!(
            "grader-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_u64()
        );
        let p = base.join(name);
        if std::fs::create_dir(&p).is_ok() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o711))
                .map_err(|e| e.to_string())?;
            return Ok(p);
        }
    }
    Err("cannot create a scratch folder".into())
}

/// The parents of `p` that someone other than their owner may write to
/// (where a test could plant a cargo configuration for the next grading).
fn writable_by_others(p: &Path) -> Vec<PathBuf> {
    p.ancestors()
        .skip(1)
        .filter(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o022 != 0))
        .map(Path::to_path_buf)
        .collect()
}

/// What this grading could not isolate, in plain words for every report.
fn isolation_gaps(isolated: bool, scratch: &Path) -> Vec<String> {
    let mut gaps = Vec::new();
    if Sandbox::get().is_none() {
        gaps.push(format!(
            "builds and tests ran without a sandbox ({}): they could read every file the \
             grader's user can read and write to the machine's temporary folders",
            Sandbox::missing_reason()
        ));
    }
    if !isolated {
        gaps.push(
            "tests ran as the grader's own user, not each under a uid of its own (the grader \
             is not root, or the build folder is not searchable by others): a test could \
             signal the grader's other processes, and no limit bounded how many it started"
                .to_string(),
        );
    }
    let open = writable_by_others(scratch);
    if !open.is_empty() {
        gaps.push(format!(
            "the scratch folder's parents {} are writable by others",
            open.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    gaps
}

fn rand_u64() -> u128 {
    let mut b = [0u8; 8];
    use std::io::Read;
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u64::from_le_bytes(b) as u128
}

/// Every ancestor of `p` lets others search it (a test running under its
/// own uid must reach the test binary).
fn searchable(p: &Path) -> bool {
    p.ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Removes a grading's artifacts from the build folder however it ends.
struct Cleanup<'a>(&'a Run<'a>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.clean();
    }
}

/// Grades; the scratch folder is removed afterwards.
pub fn grade(opts: &Options) -> Result<Report, String> {
    let root = scratch_root(&opts.target_dir)?;
    let result = grade_in(opts, &root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn grade_in(opts: &Options, root: &Path) -> Result<Report, String> {
    let start = Instant::now();
    let lab = opts.lab;
    let tc = Toolchain::detect(opts.target_dir.clone())?;
    let target_abs = tc.target_dir.canonicalize().map_err(|e| e.to_string())?;
    let isolate = Uid::effective().is_root()
        && searchable(&target_abs)
        && searchable(root)
        && std::env::var_os("GRADER_NO_ISOLATION").is_none();
    let sc = scratch::prepare(
        opts.repo,
        lab,
        opts.submission,
        root,
        opts.public,
        Some(&opts.target_dir.join("onesource")),
    )?;
    let (reference, reference_cache) = match reference_build(opts, &tc)? {
        Some((p, c)) => (Some(p), Some(c)),
        None => (None, None),
    };
    let profile = format!("grader-{:016x}", rand_u64());
    let run = Run {
        tc: &tc,
        ws: &sc.ws,
        dir: root,
        limits: lab.toml.limits,
        profile,
        isolate,
        package: &sc.package,
        artifacts: Default::default(),
        sandbox: Sandbox::get(),
        sources: scratch::source_paths(&sc.ws),
        reference,
        reference_cache,
        figures: lab.toml.figures.clone(),
        own_tests: !opts.hidden,
    };
    run.setup()?;
    let _cleanup = Cleanup(&run);
    let refused = sc.notes.iter().any(|n| n.refused);
    let submission = opts
        .submission
        .map_or("(skeleton)".to_string(), |p| p.display().to_string());
    let mut report = Report {
        lab: lab.name().to_string(),
        title: lab.toml.lab.title.clone(),
        submission,
        public_only: !opts.hidden,
        built: false,
        build_log: String::new(),
        notes: sc.notes.clone(),
        isolated: isolate,
        not_isolated: Vec::new(),
        score: 0.0,
        max_score: 0.0,
        tests: Vec::new(),
        seconds: 0.0,
    };

    // The library and public tests are built before the hidden tests exist
    // in the scratch copy: a submission that reads them at compile time
    // does not compile.
    let mut build_error = None;
    if refused {
        build_error = Some("the submission was refused (see the notes)".to_string());
    } else {
        // A student's check says what it is doing: the first build takes
        // minutes.
        let say = |what: &str| {
            if !opts.hidden {
                eprintln!("{what}");
            }
        };
        say(&format!(
            "building {} (the first build compiles the stack and its dependencies: a few minutes)...",
            lab.name()
        ));
        let b = run.build()?;
        say(&format!(
            "built in {:.1} s; running the tests...",
            start.elapsed().as_secs_f64()
        ));
        if !b.ok {
            build_error = Some(b.stderr);
        }
    }
    if opts.hidden {
        scratch::add_hidden(lab, &sc)?;
    }
    let listed = if build_error.is_none() {
        match run.list()? {
            Ok(t) => Some(t),
            Err(out) => {
                build_error = Some(out.stderr);
                None
            }
        }
    } else {
        None
    };
    let (tests, cases) = match listed {
        Some(tests) => {
            let out = run.run(opts.progress, tests.values().map(Vec::len).sum())?;
            let junit = run.junit_path();
            let cases = match read_junit(&junit) {
                Ok(c) => c,
                // No report at all: nextest itself failed; say why.
                Err(e) => return Err(format!("{e}\n{}", out.stderr)),
            };
            let _ = std::fs::remove_file(&junit);
            (tests, cases)
        }
        None => {
            // The names come from the pristine lab, so that the maximum is
            // the same whatever the submission.
            (pristine_tests(opts, &tc)?, BTreeMap::new())
        }
    };
    report.built = build_error.is_none();
    report.build_log = build_error.map(|e| tail(&e, 16 * 1024)).unwrap_or_default();

    let package = lab
        .package_name()
        .unwrap_or_else(|| format!("lab-{}", lab.name()));
    let hidden_names: Vec<String> = lab
        .hidden_files()
        .iter()
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for (binary_id, names) in &tests {
        for name in names {
            ids.push(format!("{}::{name}", short_binary(binary_id)));
            keys.push((binary_id.clone(), name.clone()));
        }
    }
    let points = lab.points(&ids);
    let mut all_isolated = true;
    let output_cap = (lab.toml.limits.output_kib as usize * 1024).min(16 * 1024);
    for ((id, key), pts) in ids.iter().zip(&keys).zip(points) {
        let case = cases.get(key);
        let verdict: Option<Verdict> =
            std::fs::read_to_string(verdict_file(&run.results(), &key.0, &key.1))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        // A pass needs both: nextest's record, and the wrapper's verdict
        // (the judge's, when there is a reference).
        if let Some(v) = &verdict {
            all_isolated &= v.isolated;
        }
        let (passed, reason) = match (case, &verdict) {
            _ if !report.built => (false, "did not build".to_string()),
            (None, _) => (false, "not run".to_string()),
            (Some(c), Some(v)) => (c.passed && v.passed, v.reason.clone()),
            (Some(c), None) if !c.passed => (false, c.message.clone()),
            (Some(_), None) => (false, "no verdict from the grader's wrapper".to_string()),
        };
        // A panic's place is in the scratch workspace (`lab/tests/...`);
        // the student's own check names it where the student has it.
        let reason = match lab.dir.strip_prefix(opts.repo) {
            Ok(rel) if !opts.hidden => reason.replacen(
                "panicked at lab/",
                &format!("panicked at {}/", rel.display()),
                1,
            ),
            _ => reason,
        };
        let own = verdict.as_ref().is_some_and(|v| v.own);
        let max = if own { 0.0 } else { pts.unwrap_or(0.0) };
        let figures = match (&verdict, passed) {
            (Some(v), true) => v
                .figures
                .iter()
                .map(|m| {
                    let spec = lab.toml.figures.iter().find(|s| s.name == m.name);
                    Figure {
                        name: m.name.clone(),
                        value: m.value,
                        unit: spec.map(|s| s.unit.clone()).unwrap_or_default(),
                        higher_is_better: spec.is_none_or(|s| s.higher_is_better),
                        spread: m.spread,
                        runs: m.runs,
                        leaderboard: spec.is_none_or(|s| s.leaderboard),
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        report.tests.push(TestResult {
            id: id.clone(),
            group: lab
                .group_of(id)
                .filter(|_| !own)
                .map(|g| lab.toml.groups[g].name.clone()),
            visibility: if own {
                "yours"
            } else if hidden_names.contains(&short_binary(&key.0).to_string()) {
                "hidden"
            } else {
                "public"
            },
            passed,
            reason,
            score: if passed { max } else { 0.0 },
            max_score: max,
            seconds: case.map_or(0.0, |c| c.seconds),
            output: if passed {
                String::new()
            } else {
                tail(
                    &case.map(|c| c.output.clone()).unwrap_or_default(),
                    output_cap,
                )
            },
            figures,
            rerun: (!opts.hidden).then(|| rerun_command(&package, &key.0, &key.1)),
        });
    }
    report.isolated = isolate && all_isolated;
    report.not_isolated = isolation_gaps(report.isolated, root);
    report.score = round2(report.tests.iter().map(|t| t.score).sum());
    report.max_score = round2(report.tests.iter().map(|t| t.max_score).sum());
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// `cargo test` of one test, as a student types it in their repository.
fn rerun_command(package: &str, binary_id: &str, test: &str) -> String {
    let target = match binary_id.split_once("::") {
        Some((_, binary)) => format!("--test {binary}"),
        None => "--lib".to_string(),
    };
    format!("cargo test -p {package} {target} -- {test} --exact")
}

/// The reference's test binaries by name, and its transcripts' folder.
type Reference = (BTreeMap<String, PathBuf>, PathBuf);

/// The reference solution's build of the lab's tests, which every test is
/// judged against (when grading a lab that has a solution): its test
/// binaries by name, and the folder of its cached transcripts. It is kept
/// between gradings (its files are rewritten only when they change), so a
/// warm grading rebuilds nothing of it; a lock keeps two gradings of a lab
/// from building it at once.
fn reference_build(opts: &Options, tc: &Toolchain) -> Result<Option<Reference>, String> {
    let lab = opts.lab;
    let solution = lab.dir.join("solution");
    if !opts.hidden || !solution.is_dir() {
        return Ok(None);
    }
    let base = opts.target_dir.join("reference");
    let reference_root = base.join(format!(
        "{}-{}",
        lab.name(),
        if opts.public { "all" } else { "hidden" }
    ));
    std::fs::create_dir_all(&reference_root).map_err(|e| e.to_string())?;
    for d in [&base, &reference_root] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| e.to_string())?;
    }
    let lock =
        std::fs::File::create(reference_root.with_extension("lock")).map_err(|e| e.to_string())?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("locking the reference build: {e}"))?;
    let sc = scratch::prepare(
        opts.repo,
        lab,
        Some(&solution),
        &reference_root,
        opts.public,
        None,
    )?;
    scratch::add_hidden(lab, &sc)?;
    let run = Run::of_course_code(
        tc,
        &sc.ws,
        &sc.package,
        &reference_root,
        lab.toml.limits,
        "grader-reference".to_string(),
    );
    run.setup()?;
    let b = run.build()?;
    let listed = if b.ok { run.list()? } else { Err(b) };
    if let Err(out) = listed {
        return Err(format!(
            "the reference solution of '{}' does not build:\n{}",
            lab.name(),
            out.stderr
        ));
    }
    let paths = run.binary_paths()?;
    let cache = reference_root.join("transcripts");
    std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| e.to_string())?;
    // Transcripts of earlier builds are never read again.
    let current: Vec<PathBuf> = paths
        .values()
        .map(|b| crate::wrapper::transcript_dir(&cache, b))
        .collect();
    for entry in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
        if !current.contains(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(Some((paths, cache)))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The test names of the pristine lab (the skeleton, with the hidden tests
/// when grading).
fn pristine_tests(opts: &Options, tc: &Toolchain) -> Result<BTreeMap<String, Vec<String>>, String> {
    let root = scratch_root(&tc.target_dir)?;
    let result = (|| {
        let sc = scratch::prepare(opts.repo, opts.lab, None, &root, true, None)?;
        if opts.hidden {
            scratch::add_hidden(opts.lab, &sc)?;
        }
        let run = Run::of_course_code(
            tc,
            &sc.ws,
            &sc.package,
            &root,
            opts.lab.toml.limits,
            format!("grader-{:016x}", rand_u64()),
        );
        run.setup()?;
        let _cleanup = Cleanup(&run);
        // Built first so that the library's files are known and removed.
        let _ = run.build()?;
        match run.list()? {
            Ok(t) => Ok(t),
            Err(out) => Err(format!(
                "the pristine lab '{}' does not build:\n{}",
                opts.lab.name(),
                out.stderr
            )),
        }
    })();
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// Every test of the pristine lab as `binary::test`, sorted.
pub fn list_tests(opts: &Options) -> Result<Vec<String>, String> {
    let tc = Toolchain::detect(opts.target_dir.clone())?;
    let tests = pristine_tests(opts, &tc)?;
    Ok(tests
        .iter()
        .flat_map(|(b, names)| {
            names
                .iter()
                .map(move |n| format!("{}::{n}", short_binary(b)))
        })
        .collect())
}
