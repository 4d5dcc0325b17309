//! The [`Env`] of a native run: files read from the script's folder and
//! Python blocks run by `python3`. The runner (`run`) only sees the trait,
//! so a run elsewhere (in a browser) can supply its own.

use std::path::PathBuf;

use crate::run::Env;

/// Files next to the script, and `python3` for its Python blocks.
pub struct FsEnv {
    /// The script's folder: paths in shell lines are relative to it.
    pub dir: PathBuf,
}

impl Env for FsEnv {
    fn read_file(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(path)).ok()
    }

    fn python(&self, code: &str) -> Result<(), String> {
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(code)
            .output()
            .map_err(|e| format!("cannot run python3 for a Python block: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "error in Python code: {}",
            err.lines().last().unwrap_or("python3 failed")
        ))
    }
}

/// Whether `python3` can be run here.
pub fn have_python() -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .output()
        .is_ok_and(|o| o.status.success())
}
