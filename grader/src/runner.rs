//! Runs cargo and nextest on a scratch copy: a clean environment, the
//! grader's own nextest profile (per-test time limit, no retries, JUnit
//! output), every test process started through `grader wrapper`.

use crate::lab::Limits;
use crate::sandbox::{Sandbox, View, tool_homes, toolchain_paths};
use crate::wrapper::{CONFIG_VAR, WrapperConfig};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where cargo builds, and the toolchain it uses.
pub struct Toolchain {
    pub target_dir: PathBuf,
    /// The host triple, for `CARGO_TARGET_<TRIPLE>_RUNNER`.
    pub host: String,
}

impl Toolchain {
    pub fn detect(target_dir: PathBuf) -> Result<Toolchain, String> {
        let out = Command::new("rustc")
            .arg("-vV")
            .output()
            .map_err(|e| format!("rustc: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let host = text
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .ok_or("rustc -vV printed no host")?
            .trim()
            .to_string();
        std::fs::create_dir_all(&target_dir).map_err(|e| e.to_string())?;
        Ok(Toolchain { target_dir, host })
    }
}

/// The variables cargo and rustup need, and nothing else of ours.
const KEPT_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "TMPDIR",
    "LANG",
];

/// A build's limits, per process (`grader limits`): address space (MiB),
/// CPU seconds, largest file written (MiB), processes. Enough for rustc and
/// the linker on the stack; a compile-time memory bomb (a module read from
/// `/dev/zero`) stops at the first.
const BUILD_LIMITS: [u64; 4] = [6144, 900, 2048, 4096];

/// Only the integration tests (`tests/`, and the hidden ones copied there):
/// unit tests a submission writes in its own source are not graded, and
/// cannot stretch the run.
const ONLY_TESTS_DIR: &str = "kind(test)";

/// What a cargo command is for: compiling (in the sandbox), or running the
/// tests already compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Build,
    Run,
}

/// `name` as found on `PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A run of cargo in `ws`, with the grader's environment.
pub struct Run<'a> {
    pub tc: &'a Toolchain,
    pub ws: &'a Path,
    /// The grader's files for this run (nextest config, results), outside `ws`.
    pub dir: &'a Path,
    pub limits: Limits,
    pub profile: String,
    pub isolate: bool,
    /// The scratch package's name (its artifacts are this run's own).
    pub package: &'a str,
    /// Files this run built for its own package, removed by [`Run::clean`].
    pub artifacts: RefCell<Vec<PathBuf>>,
    /// Where builds run, if this machine can sandbox them.
    pub sandbox: Option<&'static Sandbox>,
    /// What a build reads outside the scratch workspace
    /// ([`crate::scratch::source_paths`]).
    pub sources: Vec<PathBuf>,
    /// The reference solution's test binaries the wrapper judges against,
    /// and where their transcripts are kept.
    pub reference: Option<BTreeMap<String, PathBuf>>,
    pub reference_cache: Option<PathBuf>,
    /// Tests the wrapper times for a figure: nextest runs each alone.
    pub figures: Vec<crate::lab::FigureSpec>,
    /// A student's own check, whose plain tests are the student's own.
    pub own_tests: bool,
}

impl<'a> Run<'a> {
    /// A build of the course's own code in the scratch workspace `ws`
    /// (the reference solution, the pristine lab): not isolated, judged by
    /// nobody, timed for no figure.
    pub fn of_course_code(
        tc: &'a Toolchain,
        ws: &'a Path,
        package: &'a str,
        dir: &'a Path,
        limits: Limits,
        profile: String,
    ) -> Run<'a> {
        Run {
            tc,
            ws,
            dir,
            limits,
            profile,
            isolate: false,
            package,
            artifacts: Default::default(),
            sandbox: Sandbox::get(),
            sources: crate::scratch::source_paths(ws),
            reference: None,
            reference_cache: None,
            figures: Vec::new(),
            own_tests: false,
        }
    }
}

/// Output of a finished command, bounded.
pub struct Outcome {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Keeps the last `max` bytes of `s` (cut at a char boundary).
pub fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[... {} bytes cut ...]\n{}", start, &s[start..])
}

impl Run<'_> {
    pub fn results(&self) -> PathBuf {
        self.dir.join("results")
    }

    fn nextest_config(&self) -> PathBuf {
        self.dir.join("nextest.toml")
    }

    /// Writes the nextest config and the wrapper's config.
    pub fn setup(&self) -> Result<(), String> {
        let t = self.limits.test_timeout_secs;
        // The wrapper enforces the time limit itself; nextest's is a backstop
        // should the wrapper hang.
        let config = format!(
            r#"[store]
dir = "{store}"

[profile.{p}]
retries = 0
fail-fast = false
slow-timeout = {{ period = "{slow}s", terminate-after = 2 }}
leak-timeout = "500ms"
status-level = "fail"
final-status-level = "none"

[profile.{p}.junit]
path = "junit.xml"
store-success-output = false
store-failure-output = true
"#,
            p = self.profile,
            slow = t + 5,
            store = self.dir.join("store").display(),
        );
        // A timed test runs alone, so that no other test shares its CPU,
        // and gets the time of its runs.
        let mut config = config;
        for f in &self.figures {
            // nextest refuses a filter naming a binary it does not have
            // (a hidden test, when only the public ones run).
            let Some((binary, test)) = f.test.split_once("::") else {
                continue;
            };
            if !self
                .ws
                .join("lab/tests")
                .join(format!("{binary}.rs"))
                .is_file()
            {
                continue;
            }
            let each = f.timeout_secs.unwrap_or(t) as f64;
            let period = each + crate::lab::FigureSpec::EXTRA_SECS + each + 10.0;
            config.push_str(&format!(
                "\n[[profile.{p}.overrides]]\nfilter = 'binary(={binary}) & test(={test})'\nthreads-required = \"num-cpus\"\nslow-timeout = {{ period = \"{period}s\", terminate-after = 2 }}\n",
                p = self.profile,
            ));
        }
        std::fs::write(self.nextest_config(), config).map_err(|e| e.to_string())?;
        let results = self.results();
        std::fs::create_dir_all(&results).map_err(|e| e.to_string())?;
        // Searchable, not listable: a test reaches its own folder by name.
        std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| e.to_string())?;
        let wc = WrapperConfig {
            results,
            limits: self.limits,
            isolate: self.isolate,
            sandbox: self.sandbox.is_some(),
            reference: self.reference.clone(),
            reference_cache: self.reference_cache.clone(),
            figures: self.figures.clone(),
            own_tests: self.own_tests,
        };
        std::fs::write(
            self.dir.join("wrapper.json"),
            serde_json::to_string(&wc).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())
    }

    /// The environment cargo gets: only what it and rustup need, and the
    /// grader's settings.
    fn cargo_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = KEPT_VARS
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        for (k, v) in [
            (
                "CARGO_TARGET_DIR",
                self.tc.target_dir.to_string_lossy().as_ref(),
            ),
            // A submission may not use `unsafe`; lints in source cannot
            // lift a forbid given on the command line.
            ("RUSTFLAGS", "-F unsafe_code"),
            ("CARGO_TERM_COLOR", "never"),
            // Smaller, quicker-to-link test binaries; a grading needs no
            // debugger.
            ("CARGO_PROFILE_DEV_DEBUG", "0"),
            ("CARGO_PROFILE_TEST_DEBUG", "0"),
            // The stack a submission is graded with compiles the
            // submission (crate::one_source): kept incremental, a new
            // submission recompiles what changed, not the whole stack.
            ("CARGO_INCREMENTAL", "1"),
        ] {
            env.push((k.to_string(), v.to_string()));
        }
        env
    }

    /// cargo with `args` in the scratch workspace. `Build` steps compile
    /// the submission and run in the sandbox (when there is one) with
    /// limits on memory, CPU, file size and processes; the `Run` step only
    /// starts test binaries already built, each through `grader wrapper`.
    fn command(&self, args: &[&str], step: Step) -> Result<Command, String> {
        let mut env = self.cargo_env();
        let cargo = find_in_path("cargo").ok_or("cargo is not on PATH")?;
        let mut cmd = match (step, self.sandbox) {
            (Step::Build, Some(sb)) => {
                // Inside, HOME and TMPDIR are the sandbox's own empty /tmp,
                // so rustup and cargo are told where their homes are.
                env.retain(|(k, _)| {
                    !["HOME", "TMPDIR", "RUSTUP_HOME", "CARGO_HOME"].contains(&k.as_str())
                });
                env.push(("HOME".into(), "/tmp".into()));
                let (rustup_home, cargo_home) = tool_homes();
                for (k, v) in [("RUSTUP_HOME", rustup_home), ("CARGO_HOME", cargo_home)] {
                    if let Some(v) = v {
                        env.push((k.into(), v.to_string_lossy().into_owned()));
                    }
                }
                env.push(("TMPDIR".into(), "/tmp".into()));
                env.push(("CARGO_NET_OFFLINE".into(), "true".into()));
                let mut ro = toolchain_paths();
                ro.extend(self.sources.iter().cloned());
                ro.push(self.nextest_config());
                if let Some(dir) = cargo.parent() {
                    ro.push(dir.to_path_buf());
                }
                let mut view = View {
                    ro,
                    rw: vec![self.ws.to_path_buf(), self.tc.target_dir.clone()],
                    env,
                    cwd: Some(self.ws.to_path_buf()),
                    as_nobody: true,
                    tmp_mib: 1024,
                };
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                if let Some(dir) = exe.parent() {
                    view.ro.push(dir.to_path_buf());
                }
                // `grader limits` sets the build's limits, then becomes bwrap.
                let inner = sb.command(&view, &cargo, &args);
                let mut cmd = Command::new(&exe);
                cmd.arg("limits")
                    .args(BUILD_LIMITS.map(|v| v.to_string()))
                    .arg("--")
                    .arg(inner.get_program())
                    .args(inner.get_args())
                    .env_clear();
                cmd
            }
            _ => {
                let mut cmd = Command::new(&cargo);
                cmd.args(args).current_dir(self.ws).env_clear().envs(env);
                cmd
            }
        };
        cmd.stdin(Stdio::null());
        if step == Step::Run {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let runner_var = format!(
                "CARGO_TARGET_{}_RUNNER",
                self.tc.host.to_uppercase().replace(['-', '.'], "_")
            );
            cmd.env(runner_var, format!("{} wrapper", exe.display()))
                .env(CONFIG_VAR, self.dir.join("wrapper.json"));
        }
        Ok(cmd)
    }

    /// Runs cargo with `args`, capturing its output (to files, so that a
    /// flood cannot fill memory), killed with all it started after
    /// `deadline`.
    pub fn cargo(&self, args: &[&str], step: Step, deadline: Duration) -> Result<Outcome, String> {
        let out_path = self.dir.join("cargo.out");
        let err_path = self.dir.join("cargo.err");
        let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut cmd = self.command(args, step)?;
        cmd.stdout(file(&out_path)?).stderr(file(&err_path)?);
        let status = wait_bounded(cmd, deadline, true)?;
        let read = |p: &Path| {
            let mut buf = Vec::new();
            if let Ok(f) = std::fs::File::open(p) {
                use std::io::Read;
                let _ = f.take(64 << 20).read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        };
        let mut stderr = read(&err_path);
        if status.is_none() {
            stderr.push_str(&format!(
                "\ngrader: cargo {} was stopped after {} s\n",
                args.first().copied().unwrap_or(""),
                deadline.as_secs()
            ));
        }
        Ok(Outcome {
            ok: status.is_some_and(|s| s.success()),
            stdout: read(&out_path),
            stderr: tail(&stderr, 64 * 1024),
        })
    }

    /// Builds the library and the tests present now.
    pub fn build(&self) -> Result<Outcome, String> {
        let out = self.cargo(
            &[
                "build",
                "--tests",
                "--quiet",
                "--message-format",
                "json-render-diagnostics",
            ],
            Step::Build,
            self.build_deadline(),
        )?;
        // Note every file built for our package, to remove afterwards.
        let tag = format!("#{}@", self.package);
        for line in out.stdout.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["reason"] != "compiler-artifact"
                || !v["package_id"].as_str().is_some_and(|p| p.contains(&tag))
            {
                continue;
            }
            let files = v["filenames"].as_array().into_iter().flatten();
            let mut artifacts = self.artifacts.borrow_mut();
            artifacts.extend(files.filter_map(|f| f.as_str()).map(PathBuf::from));
            if let Some(e) = v["executable"].as_str() {
                artifacts.push(PathBuf::from(e));
            }
        }
        Ok(out)
    }

    /// `cargo nextest list`: `binary id -> test names`. It compiles what
    /// is not built yet (the hidden tests), in the sandbox, and records
    /// what was built (`binaries.json`, `metadata.json`) so that running
    /// the tests compiles nothing.
    pub fn list(&self) -> Result<Result<BTreeMap<String, Vec<String>>, Outcome>, String> {
        let config = self.nextest_config();
        let config = config.to_string_lossy();
        let base = [
            "nextest",
            "list",
            "--config-file",
            &config,
            "--profile",
            &self.profile,
            "--message-format",
            "json",
            "-E",
            ONLY_TESTS_DIR,
        ];
        let out = self.cargo(&base, Step::Build, self.build_deadline())?;
        if !out.ok {
            return Ok(Err(out));
        }
        // What nextest's reuse-build reads (the shape of `nextest list
        // --list-type binaries-only`), taken from this listing rather than
        // from a second run of cargo.
        let v: serde_json::Value =
            serde_json::from_str(&out.stdout).map_err(|e| format!("nextest list: {e}"))?;
        let mut binaries = serde_json::Map::new();
        for (id, suite) in v["rust-suites"].as_object().into_iter().flatten() {
            let mut b = serde_json::Map::new();
            for key in [
                "binary-id",
                "binary-name",
                "package-id",
                "kind",
                "binary-path",
                "build-platform",
            ] {
                b.insert(key.into(), suite[key].clone());
            }
            binaries.insert(id.clone(), serde_json::Value::Object(b));
        }
        let bins = serde_json::json!({
            "rust-build-meta": v["rust-build-meta"],
            "rust-binaries": binaries,
        });
        let meta = self.cargo(
            &["metadata", "--format-version", "1", "--no-deps"],
            Step::Build,
            self.build_deadline(),
        )?;
        if !meta.ok {
            return Ok(Err(meta));
        }
        std::fs::write(self.dir.join("binaries.json"), bins.to_string())
            .map_err(|e| e.to_string())?;
        std::fs::write(self.dir.join("metadata.json"), &meta.stdout).map_err(|e| e.to_string())?;
        let mut tests = BTreeMap::new();
        if let Some(suites) = v.get("rust-suites").and_then(|s| s.as_object()) {
            for (binary_id, suite) in suites {
                let names: Vec<String> = suite
                    .get("testcases")
                    .and_then(|t| t.as_object())
                    .map(|t| t.keys().cloned().collect())
                    .unwrap_or_default();
                tests.insert(binary_id.clone(), names);
                if let Some(p) = suite.get("binary-path").and_then(|p| p.as_str()) {
                    self.artifacts.borrow_mut().push(PathBuf::from(p));
                }
            }
        }
        Ok(Ok(tests))
    }

    /// The test binaries `list` recorded, by binary name (`ring`,
    /// `hidden_ring`; the part of nextest's binary id after `::`).
    pub fn binary_paths(&self) -> Result<BTreeMap<String, PathBuf>, String> {
        let text = std::fs::read_to_string(self.dir.join("binaries.json"))
            .map_err(|e| format!("binaries.json: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("binaries.json: {e}"))?;
        let mut out = BTreeMap::new();
        for (id, b) in v["rust-binaries"].as_object().into_iter().flatten() {
            if let (Some((_, name)), Some(path)) = (id.split_once("::"), b["binary-path"].as_str())
            {
                out.insert(name.to_string(), PathBuf::from(path));
            }
        }
        Ok(out)
    }

    /// How long a build may take (the submission's code is compiled, and
    /// compile-time evaluation can be made slow).
    fn build_deadline(&self) -> Duration {
        Duration::from_secs(self.limits.build_timeout_secs)
    }

    /// `cargo nextest run` of `tests` tests; `progress` shows nextest's own
    /// display.
    pub fn run(&self, progress: bool, tests: usize) -> Result<Outcome, String> {
        // Every test at its time limit, one at a time, plus a build.
        let deadline = self.build_deadline()
            + Duration::from_secs((self.limits.test_timeout_secs + 5) * tests as u64);
        let config = self.nextest_config();
        let config = config.to_string_lossy().into_owned();
        // What `list` recorded: nextest runs those binaries and builds nothing.
        let bins = self
            .dir
            .join("binaries.json")
            .to_string_lossy()
            .into_owned();
        let meta = self
            .dir
            .join("metadata.json")
            .to_string_lossy()
            .into_owned();
        let mut args = vec![
            "nextest",
            "run",
            "--no-fail-fast",
            "--binaries-metadata",
            &bins,
            "--cargo-metadata",
            &meta,
            "--config-file",
            &config,
            "--profile",
            &self.profile,
            "-E",
            ONLY_TESTS_DIR,
        ];
        if !progress {
            args.push("--hide-progress-bar");
        }
        let mut cmd = self.command(&args, Step::Run)?;
        if progress {
            cmd.env("CARGO_TERM_COLOR", "auto")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            let status = wait_bounded(cmd, deadline, false)?;
            return Ok(Outcome {
                ok: status.is_some_and(|s| s.success()),
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        self.cargo(&args, Step::Run, deadline)
    }

    /// Removes this grading's own artifacts from the shared build folder
    /// (each grading's package has a name of its own, so they would pile
    /// up): the files its builds reported, their dep-info files, and the
    /// package's fingerprints. The dependencies stay built. (Not `cargo
    /// clean -p`: it removes by target name, which other gradings share.)
    pub fn clean(&self) {
        for f in self.artifacts.borrow().iter() {
            let _ = std::fs::remove_file(f);
            if let (Some(dir), Some(stem)) = (f.parent(), f.file_stem()) {
                let stem = stem.to_string_lossy();
                let stem = stem.strip_prefix("lib").unwrap_or(&stem);
                let _ = std::fs::remove_file(dir.join(format!("{stem}.d")));
            }
        }
        let prefix = format!("{}-", self.package);
        for profile in ["debug", "release"] {
            let fp = self.tc.target_dir.join(profile).join(".fingerprint");
            for e in std::fs::read_dir(&fp).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }

    pub fn junit_path(&self) -> PathBuf {
        self.dir.join("store").join(&self.profile).join("junit.xml")
    }
}

/// Runs `cmd`; past `deadline` kills it and returns `None`. With
/// `own_group` it runs in a process group of its own, and the whole group
/// is killed; without, a terminal's Ctrl-C reaches it (interactive use).
fn wait_bounded(
    mut cmd: Command,
    deadline: Duration,
    own_group: bool,
) -> Result<Option<ExitStatus>, String> {
    let start = Instant::now();
    if own_group {
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cargo: {e}"))?;
    let pid = child.id() as i32;
    let group = Pid::from_raw(if own_group { -pid } else { pid });
    loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Some(s));
        }
        if start.elapsed() >= deadline {
            let _ = kill(group, Signal::SIGKILL);
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One test case in nextest's JUnit report.
#[derive(Debug, Clone)]
pub struct JunitCase {
    pub passed: bool,
    pub message: String,
    pub output: String,
    pub seconds: f64,
}

/// Reads nextest's JUnit XML: `(binary id, test) -> case`.
pub fn read_junit(path: &Path) -> Result<BTreeMap<(String, String), JunitCase>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("junit: {e}"))?;
    let mut out = BTreeMap::new();
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        let binary = suite.attribute("name").unwrap_or_default().to_string();
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let name = case.attribute("name").unwrap_or_default().to_string();
            let seconds = case
                .attribute("time")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0.0);
            let mut passed = true;
            let mut message = String::new();
            let mut output = String::new();
            for child in case.children().filter(|n| n.is_element()) {
                match child.tag_name().name() {
                    "failure" | "error" | "skipped" | "flakyFailure" | "rerunFailure" => {
                        passed = false;
                        if message.is_empty() {
                            message = child
                                .attribute("message")
                                .unwrap_or(child.tag_name().name())
                                .to_string();
                        }
                    }
                    "system-out" | "system-err" => {
                        output.push_str(child.text().unwrap_or_default());
                    }
                    _ => {}
                }
            }
            out.insert(
                (binary.clone(), name),
                JunitCase {
                    passed,
                    message,
                    output,
                    seconds,
                },
            );
        }
    }
    Ok(out)
}
