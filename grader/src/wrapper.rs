//! `grader wrapper BINARY ARGS...`: the nextest target runner every graded
//! test process is started through (hidden from the help).
//!
//! For one test it applies the lab's limits, runs the test in its own
//! process group (in the sandbox, and when the grader runs as root under a
//! uid of its own with no network), kills whatever the test left behind,
//! and reads the transcript the test wrote. When grading, it runs the same
//! test built against the reference solution too and lets the judge
//! ([`crate::judge`]) compare the two transcripts; for a `[[figure]]`'s
//! test it times further runs. Its verdict (passed, reason, figures) goes
//! to the grader's results folder, which the test cannot reach; its exit
//! status says the same to nextest.

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// What the grader tells the wrapper (a JSON file named by
/// `GRADER_WRAPPER_CONFIG`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrapperConfig {
    pub results: PathBuf,
    pub limits: crate::lab::Limits,
    /// Drop to a uid of the test's own and unshare the network (root only).
    pub isolate: bool,
    /// Run each test in the sandbox ([`crate::sandbox`]).
    #[serde(default)]
    pub sandbox: bool,
    /// The reference solution's test binaries, by binary name (`ring`,
    /// `hidden_ring`): each test is judged against the same test on them.
    #[serde(default)]
    pub reference: Option<std::collections::BTreeMap<String, PathBuf>>,
    /// Where the reference's transcripts are kept, by test and binary (a
    /// rebuilt binary has another name): a reference test runs once per
    /// build, not once per grading.
    #[serde(default)]
    pub reference_cache: Option<PathBuf>,
    /// The figures measured by timing a test.
    #[serde(default)]
    pub figures: Vec<crate::lab::FigureSpec>,
    /// A student's own check: a plain `#[test]` (one that keeps no
    /// transcript) is the student's own, passed or failed by itself.
    #[serde(default)]
    pub own_tests: bool,
}

/// Largest transcript read back (and the file-size limit of a test
/// process, which writes it).
const TRANSCRIPT_BYTES: u64 = 32 << 20;

/// Size of each of a sandboxed test's empty `/tmp`, `/var/tmp` and
/// `/dev/shm` (MiB): memory, so small.
const TMP_MIB: u64 = 64;

/// Processes and threads a test's uid may have at once (as root): enough
/// for a test that starts threads, few enough to stop a fork bomb.
const MAX_PROCESSES: u64 = 256;

pub const CONFIG_VAR: &str = "GRADER_WRAPPER_CONFIG";

/// One test's verdict as the wrapper saw it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Verdict {
    pub binary_id: String,
    pub test: String,
    pub passed: bool,
    pub reason: String,
    pub figures: Vec<Measured>,
    pub seconds: f64,
    /// Ran under a uid of its own with no network.
    #[serde(default)]
    pub isolated: bool,
    /// Judged against the reference solution's run of the same test.
    #[serde(default)]
    pub judged: bool,
    /// A plain `#[test]` of the student's own (`check` only).
    #[serde(default)]
    pub own: bool,
}

/// A figure as the wrapper measured it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub name: String,
    pub value: f64,
    /// (slowest - fastest) / median of the runs' times.
    pub spread: f64,
    pub runs: usize,
}

/// File name of a test's verdict in the results folder.
pub fn verdict_file(results: &Path, binary_id: &str, test: &str) -> PathBuf {
    let key: String = format!("{binary_id}__{test}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    results.join(format!("{key}.json"))
}

/// Where the reference transcripts of one build of a test binary are
/// kept. The binary's name stays when cargo rebuilds it: its modification
/// time tells builds apart.
pub fn transcript_dir(cache: &Path, binary: &Path) -> PathBuf {
    let built = std::fs::metadata(binary)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let file = binary
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    cache.join(format!("{file}-{built}"))
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The environment a test process gets: nothing of the grader's.
fn test_env() -> Vec<(String, String)> {
    let mut env = vec![("PATH".to_string(), "/usr/bin:/bin".to_string())];
    for key in [
        "RUST_BACKTRACE",
        "NEXTEST_TEST_NAME",
        "NEXTEST_BINARY_ID",
        "CARGO_MANIFEST_DIR",
    ] {
        if let Ok(v) = std::env::var(key) {
            env.push((key.to_string(), v));
        }
    }
    env
}

fn set_limit(r: Resource, v: u64) {
    let _ = setrlimit(r, v, v);
}

/// Entry point of `grader wrapper`.
pub fn main(args: &[String]) -> ExitCode {
    let Some((binary, rest)) = args.split_first() else {
        eprintln!("grader wrapper: no test binary");
        return ExitCode::from(2);
    };
    let config: Option<WrapperConfig> = std::env::var(CONFIG_VAR)
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let Some(config) = config else {
        eprintln!("grader wrapper: {CONFIG_VAR} is not set; run tests through `grader`");
        return ExitCode::from(2);
    };
    if std::env::var("NEXTEST_TEST_PHASE").as_deref() != Ok("run") {
        // Listing: libtest's own code, no submission code runs.
        let status = Command::new(binary)
            .args(rest)
            .env_clear()
            .envs(test_env())
            .status();
        return match status {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            _ => ExitCode::from(1),
        };
    }
    let binary_id = std::env::var("NEXTEST_BINARY_ID").unwrap_or_default();
    let test = std::env::var("NEXTEST_TEST_NAME").unwrap_or_default();
    let verdict = run_one(binary, rest, &config, &binary_id, &test);
    let verdict = verdict.unwrap_or_else(|e| Verdict {
        binary_id: binary_id.clone(),
        test: test.clone(),
        passed: false,
        reason: format!("grader wrapper error: {e}"),
        ..Verdict::default()
    });
    let _ = std::fs::write(
        verdict_file(&config.results, &binary_id, &test),
        serde_json::to_string(&verdict).unwrap_or_default(),
    );
    eprintln!("grader: {}", verdict.reason);
    if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// libtest's panic report: "thread '...' panicked at FILE:\nMESSAGE".
fn panic_message(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let mut lines = text.lines();
    let at = lines.find(|l| l.contains("panicked at"))?;
    let place = at
        .split_once("panicked at ")
        .map_or("", |(_, p)| p.trim_end_matches(':'));
    // The message, with the values an assertion prints on the lines after
    // it, up to the backtrace note.
    let mut message = String::new();
    for l in lines.take(40) {
        if l.is_empty() || l.starts_with("note: ") || l.starts_with("stack backtrace:") {
            break;
        }
        if message.len() + l.len() > 4000 {
            message.push_str("\n[...]");
            break;
        }
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(l);
    }
    Some(if place.is_empty() {
        format!("panicked: {message}")
    } else {
        format!("panicked at {place}: {message}")
    })
}

fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// One test process run in isolation: what it did and what it wrote.
struct ProcessRun {
    status: std::process::ExitStatus,
    timed_out: bool,
    seconds: f64,
    /// Its output, at most the limit.
    output: Vec<u8>,
    /// How many bytes of output it wrote in all.
    written: u64,
    transcript: String,
    isolated: bool,
}

/// A uid no one else uses: the test can't read other processes' memory or
/// environment, RLIMIT_NPROC counts only its processes, and everything it
/// leaves behind can be killed by uid.
fn fresh_uid() -> std::io::Result<u32> {
    let r = u32::from_str_radix(&random_hex(3)?, 16).unwrap_or(0);
    Ok(2_000_000 + r)
}

/// Runs `binary args` as one test process: its own folder (for its
/// transcript), its own uid and no network when the grader is root, the
/// sandbox when there is one, the lab's limits, its own process group,
/// killed at the time limit and cleaned up after.
fn run_process(
    binary: &str,
    args: &[String],
    config: &WrapperConfig,
    seed: Option<u64>,
    floor_secs: Option<f64>,
) -> std::io::Result<ProcessRun> {
    let limits = config.limits;
    let dir = config.results.join(format!("t-{}", random_hex(8)?));
    std::fs::create_dir(&dir)?;
    let transcript_file = dir.join("transcript");
    std::fs::write(&transcript_file, "")?;
    let output_file = config.results.join(format!("o-{}", random_hex(8)?));
    let mut output = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&output_file)?;
    let result = (|| {
        let root = Uid::effective().is_root();
        let uid = if config.isolate && root {
            // Where that cannot be set up (a container that maps few uids),
            // the test runs as the grader's user, and its verdict says so.
            let isolate = || -> std::io::Result<u32> {
                let uid = fresh_uid()?;
                for p in [&dir, &transcript_file] {
                    std::os::unix::fs::chown(p, Some(uid), Some(uid))?;
                }
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
                Ok(uid)
            };
            isolate().ok()
        } else {
            None
        };
        let mut env = test_env();
        if let Some(seed) = seed {
            env.push((lab_receipt::SEED_VAR.into(), seed.to_string()));
        }
        env.push((
            lab_receipt::TRANSCRIPT_VAR.into(),
            transcript_file.display().to_string(),
        ));
        let sandbox = crate::sandbox::Sandbox::get().filter(|_| config.sandbox);
        let command = |uid: Option<u32>| -> std::io::Result<Command> {
            let mut cmd = match sandbox {
                // The test sees its binary, its own folder and empty, small
                // temporary folders that vanish with it; nothing else.
                Some(sb) => {
                    let view = crate::sandbox::View {
                        ro: vec![PathBuf::from(binary)],
                        rw: vec![dir.clone()],
                        env: env.clone(),
                        cwd: Some(PathBuf::from("/tmp")),
                        as_nobody: false,
                        tmp_mib: TMP_MIB,
                    };
                    sb.command(&view, Path::new(binary), args)
                }
                None => {
                    let mut cmd = Command::new(binary);
                    cmd.args(args).env_clear().envs(env.clone());
                    cmd
                }
            };
            cmd.stdin(Stdio::null())
                .stdout(output.try_clone()?)
                .stderr(output.try_clone()?)
                .process_group(0);
            if let Some(uid) = uid {
                cmd.uid(uid).gid(uid);
            }
            Ok(cmd)
        };
        let start = Instant::now();
        let (mut child, uid) = match command(uid)?.spawn() {
            Ok(c) => (c, uid),
            // Switching uid refused (no CAP_SETUID in this container): run
            // as ourselves rather than not at all.
            Err(_) if uid.is_some() => (command(None)?.spawn()?, None),
            Err(e) => return Err(e),
        };
        let pgid = Pid::from_raw(child.id() as i32);
        let limit = Duration::from_secs(limits.test_timeout_secs);
        let floor = floor_secs
            .map(Duration::from_secs_f64)
            .filter(|f| *f < limit);
        let deadline = floor.unwrap_or(limit);
        let mut timed_out = false;
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if start.elapsed() >= deadline {
                timed_out = true;
                let _ = kill(Pid::from_raw(-pgid.as_raw()), Signal::SIGKILL);
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let seconds = start.elapsed().as_secs_f64();
        // Whatever the test left behind: its process group, and with a uid
        // of its own, every process of that uid (even one that left it).
        let _ = kill(Pid::from_raw(-pgid.as_raw()), Signal::SIGKILL);
        if let Some(uid) = uid {
            reap_uid(uid);
        }
        let output_bytes = limits.output_kib.saturating_mul(1024);
        let written = output.seek(SeekFrom::End(0))?;
        output.seek(SeekFrom::Start(0))?;
        let mut text = Vec::new();
        (&mut output).take(output_bytes).read_to_end(&mut text)?;
        let mut transcript = String::new();
        if let Ok(f) = std::fs::File::open(&transcript_file) {
            let _ = f.take(TRANSCRIPT_BYTES).read_to_string(&mut transcript);
        }
        Ok(ProcessRun {
            status,
            timed_out,
            seconds,
            output: text,
            written,
            transcript,
            isolated: uid.is_some(),
        })
    })();
    let _ = std::fs::remove_file(&output_file);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_one(
    binary: &str,
    args: &[String],
    config: &WrapperConfig,
    binary_id: &str,
    test: &str,
) -> std::io::Result<Verdict> {
    let short = binary_id.split_once("::").map_or(binary_id, |(_, b)| b);
    let figure = config
        .figures
        .iter()
        .find(|f| f.test == format!("{short}::{test}"));
    let mut limits = config.limits;
    if let Some(t) = figure.and_then(|f| f.timeout_secs) {
        limits.test_timeout_secs = t;
    }
    let config = &WrapperConfig {
        limits,
        ..config.clone()
    };
    // Limits are set on this process and inherited by every test process
    // it starts: the wrapper only waits and reads small files from here on.
    // The file-size limit leaves room for the transcript; the output limit
    // is enforced on what was written.
    let output_bytes = limits.output_kib.saturating_mul(1024);
    set_limit(Resource::RLIMIT_FSIZE, output_bytes.max(TRANSCRIPT_BYTES));
    set_limit(Resource::RLIMIT_CORE, 0);
    set_limit(
        Resource::RLIMIT_CPU,
        limits.test_timeout_secs.saturating_add(1),
    );
    if config.isolate && Uid::effective().is_root() {
        set_limit(Resource::RLIMIT_NPROC, MAX_PROCESSES);
        // No network for either run: a new namespace has only a loopback
        // that is down (the sandbox, when there is one, makes its own too).
        let _ = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET);
    }
    set_limit(
        Resource::RLIMIT_AS,
        limits.memory_mib.saturating_mul(1024 * 1024),
    );

    // A timed test computes from a seed of this grading's, so that no
    // transcript of it can be known beforehand.
    let seed = match figure {
        Some(_) => Some(u64::from_str_radix(&random_hex(8)?, 16).unwrap_or(1)),
        None => None,
    };
    let floor_secs = figure.and_then(|f| f.floor_secs());
    let run = run_process(binary, args, config, seed, floor_secs)?;
    // The test's output, bounded, for nextest to record.
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(&run.output);
    let _ = stdout.flush();

    let reference = match config.reference.as_ref().and_then(|r| r.get(short)) {
        Some(reference_binary) => {
            let cached = config
                .reference_cache
                .as_ref()
                .filter(|_| seed.is_none())
                .map(|dir| verdict_file(&transcript_dir(dir, reference_binary), "", test));
            let text = match cached
                .as_ref()
                .and_then(|c| std::fs::read_to_string(c).ok())
            {
                Some(text) => text,
                None => {
                    let r = run_process(
                        &reference_binary.to_string_lossy(),
                        args,
                        config,
                        seed,
                        None,
                    )?;
                    let finished =
                        crate::judge::parse(&r.transcript).last() == Some(&crate::judge::Line::End);
                    if let (Some(c), true) = (&cached, finished && r.status.success()) {
                        let _ = c.parent().map(std::fs::create_dir_all);
                        let _ = std::fs::write(c, &r.transcript);
                    }
                    r.transcript
                }
            };
            Some(crate::judge::parse(&text))
        }
        None => None,
    };
    let mine = crate::judge::parse(&run.transcript);
    let status = run.status;
    let seconds = run.seconds;

    let past_floor = |seconds: f64| -> Option<String> {
        let (spec, floor) = (figure?, floor_secs?);
        (seconds >= floor && floor < limits.test_timeout_secs as f64).then(|| {
            format!(
                "{} below the floor of {} {}: not done after {floor:.1} s (at the floor, it takes {:.1} s)",
                spec.name,
                spec.min.unwrap_or_default(),
                spec.unit,
                spec.work / spec.min.unwrap_or(1.0),
            )
        })
    };
    let crashed = if run.timed_out {
        Some(
            past_floor(run.seconds)
                .unwrap_or_else(|| format!("time limit exceeded ({} s)", limits.test_timeout_secs)),
        )
    } else if let Some(sig) = status.signal().or_else(|| {
        // bwrap reports a child killed by a signal as 128 + the signal.
        status
            .code()
            .filter(|c| config.sandbox && (129..=128 + 64).contains(c))
            .map(|c| c - 128)
    }) {
        Some(match Signal::try_from(sig) {
            Ok(Signal::SIGXFSZ) => format!("output limit exceeded ({} KiB)", limits.output_kib),
            Ok(Signal::SIGXCPU) | Ok(Signal::SIGKILL)
                if seconds + 0.5 >= limits.test_timeout_secs as f64 =>
            {
                format!("CPU time limit exceeded ({} s)", limits.test_timeout_secs)
            }
            _ => format!("killed by {}", signal_name(sig)),
        })
    } else if run.written > output_bytes {
        Some(format!("output limit exceeded ({} KiB)", limits.output_kib))
    } else {
        None
    };
    let judged = reference.as_ref().map(|r| crate::judge::judge(r, &mine));
    // A check's line of code, read from the scratch copy's tests (never
    // from anything the submission's process wrote).
    let source = |place: &str| -> Option<String> {
        let (file, line) = place.rsplit_once(':')?;
        let line: usize = line.parse().ok()?;
        let ws = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
        let text = std::fs::read_to_string(ws.parent()?.join(file)).ok()?;
        let code = text.lines().nth(line.checked_sub(1)?)?.trim();
        Some(code.chars().take(160).collect())
    };
    let reached_end = mine.last() == Some(&crate::judge::Line::End);
    // Not a graded test: it never opened a transcript. Only a student's
    // own check trusts that (a submission's code could empty the file).
    let own = config.own_tests && judged.is_none() && mine.is_empty();
    let (passed, reason) = match (crashed, &judged) {
        (Some(why), _) => (false, why),
        (None, Some(crate::judge::Judgement::Pass)) if status.success() => {
            (true, "passed".to_string())
        }
        // A failed assertion: the judge names it with both values.
        (None, Some(j @ crate::judge::Judgement::Differs { .. })) => (false, j.reason(source)),
        (None, Some(j @ crate::judge::Judgement::ReferenceBroken)) => (false, j.reason(source)),
        (None, Some(j)) if status.success() => (false, j.reason(source)),
        // No reference (a student's own check): the test's own verdict.
        (None, None) if status.success() && (reached_end || own) => (true, "passed".to_string()),
        (None, None) if status.success() => (
            false,
            "exited with status 0 before the test's end".to_string(),
        ),
        (None, _) => (
            false,
            panic_message(&run.output).unwrap_or_else(|| {
                format!(
                    "failed (exit status {})",
                    status.code().map_or("?".into(), |c| c.to_string())
                )
            }),
        ),
    };
    let (passed, reason, figures) = match figure {
        Some(spec) if passed => {
            match time_figure(spec, run.seconds, || {
                let again = run_process(binary, args, config, seed, floor_secs)?;
                if again.timed_out {
                    return Ok(Err(past_floor(again.seconds).unwrap_or_else(|| {
                        format!(
                            "time limit exceeded ({} s) in a timed run",
                            limits.test_timeout_secs
                        )
                    })));
                }
                let mine = crate::judge::parse(&again.transcript);
                let same = match &reference {
                    Some(r) => crate::judge::judge(r, &mine) == crate::judge::Judgement::Pass,
                    None => mine.last() == Some(&crate::judge::Line::End),
                };
                Ok(if same && again.status.success() {
                    Ok(again.seconds)
                } else {
                    Err("a timed run of the test did not compute what the first did".to_string())
                })
            })? {
                Ok(m) if spec.below_min(m.value) => (
                    false,
                    format!(
                        "{} = {:.3} {}: {} the {} of {} {}",
                        spec.name,
                        m.value,
                        spec.unit,
                        if spec.higher_is_better {
                            "below"
                        } else {
                            "above"
                        },
                        if spec.higher_is_better {
                            "floor"
                        } else {
                            "ceiling"
                        },
                        spec.min.unwrap_or_default(),
                        spec.unit,
                    ),
                    vec![m],
                ),
                Ok(m) => (true, reason, vec![m]),
                Err(why) => (false, why, Vec::new()),
            }
        }
        _ => (passed, reason, Vec::new()),
    };
    Ok(Verdict {
        binary_id: binary_id.to_string(),
        test: test.to_string(),
        passed,
        reason,
        figures,
        seconds,
        isolated: run.isolated,
        judged: judged.is_some(),
        own,
    })
}

/// Times a figure's test: after the first run (which passed, in `first`
/// seconds, and warmed the caches), `spec.runs` more (`rerun` gives each
/// one's wall time, or why it failed); they stop early once they have
/// taken [`crate::lab::FigureSpec::EXTRA_SECS`]. The first run counts only
/// when no other was made.
fn time_figure(
    spec: &crate::lab::FigureSpec,
    first: f64,
    mut rerun: impl FnMut() -> std::io::Result<Result<f64, String>>,
) -> std::io::Result<Result<Measured, String>> {
    let mut seconds = Vec::new();
    let mut extra = 0.0;
    while seconds.len() < spec.runs as usize && extra < crate::lab::FigureSpec::EXTRA_SECS {
        match rerun()? {
            Ok(s) => {
                extra += s;
                seconds.push(s);
            }
            Err(why) => return Ok(Err(why)),
        }
    }
    if seconds.is_empty() {
        seconds.push(first);
    }
    Ok(Ok(Measured {
        name: spec.name.clone(),
        value: spec.value(&seconds),
        spread: crate::lab::FigureSpec::spread(&seconds),
        runs: seconds.len(),
    }))
}

/// Kills every process of `uid`: a helper running as that uid sends SIGKILL
/// to all it may signal (`kill(-1)`), which are exactly that uid's.
fn reap_uid(uid: u32) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for _ in 0..3 {
        let _ = Command::new(&exe)
            .arg("reap")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .uid(uid)
            .gid(uid)
            .status();
    }
}

/// `grader reap`: SIGKILL to every process this uid may signal, except
/// itself (hidden; run by the wrapper as a test's uid).
pub fn reap_main() -> ExitCode {
    if Uid::effective().is_root() {
        // Never as root: kill(-1) would reach every process.
        return ExitCode::from(2);
    }
    let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
    ExitCode::SUCCESS
}
