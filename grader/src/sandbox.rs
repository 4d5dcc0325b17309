//! The sandbox a submission is built and tested in: bubblewrap (`bwrap`,
//! Debian's `bubblewrap`), the tool Flatpak confines applications with.
//!
//! A sandboxed command gets namespaces of its own (mounts, processes,
//! network, IPC, host name) and sees a file system made of what it is
//! given and nothing else: the system's programs and libraries (`/usr`),
//! the paths named read-only or writable, an empty `/tmp`, `/var/tmp` and
//! `/dev/shm` that vanish with it, a fresh `/proc` and a minimal `/dev`. It
//! has no capabilities, no network (not even loopback), and dies with the
//! grader. A compile-time read of a file (`#[path]`, `include_str!`,
//! `#[debugger_visualizer]`, or anything a later rustc adds) then finds
//! only the scratch copy, the toolchain and the sources the lab depends
//! on; a test finds only its own binary.
//!
//! bwrap itself is started as an unprivileged user: as root it would keep
//! root's capabilities inside. Where the grader runs as root, builds run as
//! uid 65534 inside a user namespace (files they write belong to the
//! grader's user), and tests as the random uid the wrapper picks. Where
//! bwrap is missing or the kernel refuses namespaces (some containers, some
//! hardened laptops), nothing is sandboxed and every report says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The sandbox tool found on this machine, if it works here.
#[derive(Clone, Debug)]
pub struct Sandbox {
    bwrap: PathBuf,
}

/// What a sandboxed command sees and may do.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Paths bound read-only, at the same place.
    pub ro: Vec<PathBuf>,
    /// Paths bound writable, at the same place.
    pub rw: Vec<PathBuf>,
    /// Environment (the command's is cleared).
    pub env: Vec<(String, String)>,
    /// The working directory.
    pub cwd: Option<PathBuf>,
    /// Run as uid 65534 inside a user namespace (when started as root).
    pub as_nobody: bool,
    /// Size of each of the empty `/tmp`, `/var/tmp` and `/dev/shm` (MiB);
    /// 0 leaves the kernel's default (half the memory).
    pub tmp_mib: u64,
}

const CANDIDATES: &[&str] = &["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];

impl Sandbox {
    /// The sandbox, if bwrap is installed and can make its namespaces on
    /// this machine (checked once per process by running `true` in one).
    pub fn get() -> Option<&'static Sandbox> {
        static FOUND: OnceLock<Option<Sandbox>> = OnceLock::new();
        FOUND
            .get_or_init(|| {
                if std::env::var_os("GRADER_NO_SANDBOX").is_some() {
                    return None;
                }
                let bwrap = CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file())?;
                let sb = Sandbox { bwrap };
                let view = View {
                    as_nobody: true,
                    ..View::default()
                };
                let ok = sb
                    .command(&view, Path::new("/usr/bin/true"), &[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                ok.then_some(sb)
            })
            .as_ref()
    }

    /// Why nothing is sandboxed here, for the reports.
    pub fn missing_reason() -> String {
        if std::env::var_os("GRADER_NO_SANDBOX").is_some() {
            "GRADER_NO_SANDBOX is set".into()
        } else if !CANDIDATES.iter().any(|p| Path::new(p).is_file()) {
            "bubblewrap (bwrap) is not installed".into()
        } else {
            "bwrap cannot create namespaces on this machine".into()
        }
    }

    /// `program args` inside a sandbox showing `view`.
    pub fn command(&self, view: &View, program: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.bwrap);
        cmd.env_clear();
        cmd.args(["--die-with-parent", "--new-session", "--unshare-all"]);
        cmd.args(["--cap-drop", "ALL", "--clearenv"]);
        if view.as_nobody && nix::unistd::Uid::effective().is_root() {
            cmd.args(["--unshare-user", "--uid", "65534", "--gid", "65534"]);
        }
        cmd.args(["--ro-bind", "/usr", "/usr"]);
        for (link, to) in [
            ("/bin", "usr/bin"),
            ("/sbin", "usr/sbin"),
            ("/lib", "usr/lib"),
            ("/lib64", "usr/lib64"),
        ] {
            if Path::new(link).is_symlink() {
                cmd.args(["--symlink", to, link]);
            } else if Path::new(link).is_dir() {
                cmd.args(["--ro-bind", link, link]);
            }
        }
        // `cc` and friends are links through /etc/alternatives.
        cmd.args(["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]);
        cmd.args(["--proc", "/proc", "--dev", "/dev"]);
        for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
            if view.tmp_mib > 0 {
                cmd.arg("--size").arg((view.tmp_mib << 20).to_string());
            }
            cmd.args(["--tmpfs", dir]);
        }
        for p in &view.ro {
            cmd.arg("--ro-bind").arg(p).arg(p);
        }
        for p in &view.rw {
            cmd.arg("--bind").arg(p).arg(p);
        }
        for (k, v) in &view.env {
            cmd.arg("--setenv").arg(k).arg(v);
        }
        if let Some(cwd) = &view.cwd {
            cmd.arg("--chdir").arg(cwd);
        }
        cmd.arg("--").arg(program).args(args);
        cmd
    }
}

/// Where rustup and cargo keep their files: `RUSTUP_HOME` and
/// `CARGO_HOME`, or their defaults under `HOME`.
pub fn tool_homes() -> (Option<PathBuf>, Option<PathBuf>) {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
    let cargo = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
    (rustup, cargo)
}

/// The toolchain folders a build must read: rustup's toolchains and
/// cargo's programs and downloaded crates (never cargo's credentials or
/// configuration).
pub fn toolchain_paths() -> Vec<PathBuf> {
    let (rustup, cargo) = tool_homes();
    let mut out = Vec::new();
    out.extend(rustup);
    if let Some(c) = cargo {
        for sub in ["bin", "registry", "git"] {
            out.push(c.join(sub));
        }
    }
    out.retain(|p| p.exists());
    out
}

/// `grader limits AS_MIB CPU_SECS FSIZE_MIB NPROC -- PROGRAM ARGS...`
/// (hidden): sets these limits on itself and becomes `PROGRAM`, which, and
/// whatever it starts, inherits them.
pub fn limits_main(args: &[String]) -> std::process::ExitCode {
    use nix::sys::resource::{Resource, setrlimit};
    use std::os::unix::process::CommandExt;
    let usage = || {
        eprintln!("grader limits: usage: AS_MIB CPU_SECS FSIZE_MIB NPROC -- PROGRAM ARGS...");
        std::process::ExitCode::from(2)
    };
    let nums: Vec<u64> = args.iter().take(4).filter_map(|n| n.parse().ok()).collect();
    let (&[as_mib, cpu, fsize_mib, nproc], Some("--"), Some((prog, pargs))) = (
        nums.as_slice(),
        args.get(4).map(String::as_str),
        args.get(5..).and_then(|p| p.split_first()),
    ) else {
        return usage();
    };
    for (r, v) in [
        (Resource::RLIMIT_AS, as_mib << 20),
        (Resource::RLIMIT_CPU, cpu),
        (Resource::RLIMIT_FSIZE, fsize_mib << 20),
        (Resource::RLIMIT_NPROC, nproc),
        (Resource::RLIMIT_CORE, 0),
    ] {
        let _ = setrlimit(r, v, v);
    }
    let err = Command::new(prog).args(pargs).exec();
    eprintln!("grader limits: {prog}: {err}");
    std::process::ExitCode::from(127)
}
