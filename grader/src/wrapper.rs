//! `grader wrapper BINARY ARGS...`: the nextest target runner every graded
//! test process is started through (hidden from the help).
//!
//! For one test it makes a fresh secret, hands it to the test through a file
//! the test deletes before its body runs, applies the lab's limits, runs the
//! test in its own process group (and, when the grader runs as root, under a
//! uid of its own, in a network namespace with no network), kills whatever
//! the test left behind, and exits 0 only if the test exited 0 **and**
//! handed the secret back. Its verdict, with the reason and any figures, is
//! also written to the grader's results folder, which the test cannot reach.

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
}

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
    pub figures: Vec<(String, f64)>,
    pub seconds: f64,
    /// Ran under a uid of its own with no network.
    #[serde(default)]
    pub isolated: bool,
}

/// File name of a test's verdict in the results folder.
pub fn verdict_file(results: &Path, binary_id: &str, test: &str) -> PathBuf {
    let key: String = format!("{binary_id}__{test}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    results.join(format!("{key}.json"))
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
    lines.find(|l| l.contains("panicked at"))?;
    let message: String = lines.next().unwrap_or("").chars().take(200).collect();
    Some(format!("panicked: {message}"))
}

fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

fn run_one(
    binary: &str,
    args: &[String],
    config: &WrapperConfig,
    binary_id: &str,
    test: &str,
) -> std::io::Result<Verdict> {
    let limits = config.limits;
    let secret = random_hex(32)?;
    // The test's own folder: its secret and its receipt, nothing else.
    let dir = config.results.join(format!("t-{}", random_hex(8)?));
    std::fs::create_dir(&dir)?;
    let secret_file = dir.join("secret");
    let receipt_file = dir.join("receipt");
    std::fs::write(&secret_file, &secret)?;
    let output_file = config.results.join(format!("o-{}", random_hex(8)?));
    let mut output = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&output_file)?;

    let root = Uid::effective().is_root();
    let uid = if config.isolate && root {
        // A uid no one else uses: the test can't read other processes'
        // memory or environment, RLIMIT_NPROC counts only its processes,
        // and everything it leaves behind can be killed by uid. Where that
        // cannot be set up (a container that maps few uids), the test runs
        // as the grader's user, and its verdict says so.
        let isolate = || -> std::io::Result<u32> {
            let r = u32::from_str_radix(&random_hex(3)?, 16).unwrap_or(0);
            let uid = 2_000_000 + r;
            for p in [&dir, &secret_file] {
                std::os::unix::fs::chown(p, Some(uid), Some(uid))?;
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
            std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600))?;
            // No network: a new namespace has only a loopback that is down.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
            Ok(uid)
        };
        isolate().ok()
    } else {
        None
    };

    // Limits are set on this process and inherited by the test: the wrapper
    // only waits and reads small files from here on.
    let output_bytes = limits.output_kib.saturating_mul(1024);
    set_limit(Resource::RLIMIT_FSIZE, output_bytes.max(4096));
    set_limit(Resource::RLIMIT_CORE, 0);
    set_limit(
        Resource::RLIMIT_CPU,
        limits.test_timeout_secs.saturating_add(1),
    );
    if uid.is_some() {
        set_limit(Resource::RLIMIT_NPROC, MAX_PROCESSES);
    }
    set_limit(
        Resource::RLIMIT_AS,
        limits.memory_mib.saturating_mul(1024 * 1024),
    );

    let mut env = test_env();
    env.push((
        "LAB_RECEIPT_SECRET_FILE".into(),
        secret_file.display().to_string(),
    ));
    env.push((
        "LAB_RECEIPT_OUT_FILE".into(),
        receipt_file.display().to_string(),
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
        // Switching uid refused (no CAP_SETUID in this container): run as
        // ourselves rather than not at all.
        Err(_) if uid.is_some() => (command(None)?.spawn()?, None),
        Err(e) => return Err(e),
    };
    let pgid = Pid::from_raw(child.id() as i32);
    let deadline = Duration::from_secs(limits.test_timeout_secs);
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
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    // Whatever the test left behind: its process group, and with a uid of
    // its own, every process of that uid (even one that left the group).
    let _ = kill(Pid::from_raw(-pgid.as_raw()), Signal::SIGKILL);
    if let Some(uid) = uid {
        reap_uid(uid);
    }

    // The test's output, bounded, for nextest to record.
    let written = output.seek(SeekFrom::End(0))?;
    output.seek(SeekFrom::Start(0))?;
    let mut text = Vec::new();
    output.take(output_bytes).read_to_end(&mut text)?;
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(&text);
    let _ = stdout.flush();
    let _ = std::fs::remove_file(&output_file);

    let receipt = std::fs::read_to_string(&receipt_file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let mut lines = receipt.lines();
    let receipt_ok = lines.next() == Some(secret.as_str());
    let figures = if receipt_ok {
        lines
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                match (w.next(), w.next(), w.next()) {
                    (Some("figure"), Some(n), Some(v)) => Some((n.to_string(), v.parse().ok()?)),
                    _ => None,
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let reason = if timed_out {
        format!("time limit exceeded ({} s)", limits.test_timeout_secs)
    } else if let Some(sig) = status.signal().or_else(|| {
        // bwrap reports a child killed by a signal as 128 + the signal.
        status
            .code()
            .filter(|c| sandbox.is_some() && (129..=128 + 64).contains(c))
            .map(|c| c - 128)
    }) {
        match Signal::try_from(sig) {
            Ok(Signal::SIGXFSZ) => format!("output limit exceeded ({} KiB)", limits.output_kib),
            Ok(Signal::SIGXCPU) | Ok(Signal::SIGKILL)
                if seconds + 0.5 >= limits.test_timeout_secs as f64 =>
            {
                format!("CPU time limit exceeded ({} s)", limits.test_timeout_secs)
            }
            _ => format!("killed by {}", signal_name(sig)),
        }
    } else if written >= output_bytes && !status.success() {
        format!("output limit exceeded ({} KiB)", limits.output_kib)
    } else if !status.success() {
        panic_message(&text).unwrap_or_else(|| {
            format!(
                "failed (exit status {})",
                status.code().map_or("?".into(), |c| c.to_string())
            )
        })
    } else if receipt.is_empty() {
        "exited with status 0 before the test's end (no receipt)".to_string()
    } else if !receipt_ok {
        "the receipt does not match this run's secret".to_string()
    } else {
        "passed".to_string()
    };
    let passed = status.success() && receipt_ok && !timed_out;
    Ok(Verdict {
        binary_id: binary_id.to_string(),
        test: test.to_string(),
        passed,
        reason,
        figures,
        seconds,
        isolated: uid.is_some(),
    })
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
