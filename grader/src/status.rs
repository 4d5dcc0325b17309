//! `grader status`: where a student stands on every lab, from the last
//! `grader check` of each (kept in the grader's build folder, beside the
//! builds it describes).

use crate::grade::Report;
use crate::lab::Lab;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What the last check of a lab found.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checked {
    pub passed: usize,
    pub total: usize,
    /// The public tests that failed.
    pub failing: Vec<String>,
    pub built: bool,
    /// When, in seconds since the Unix epoch.
    pub at: u64,
}

/// A lab's record, named by its folder too: one build folder may serve
/// several copies of the course (`$GRADER_TARGET_DIR`).
fn file(target_dir: &Path, lab: &Lab) -> PathBuf {
    let where_ = lab
        .dir
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    target_dir
        .join("status")
        .join(format!("{}-{where_:016x}.json", lab.name()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Keeps what a check found (a failure to write it costs the student only
/// the status line).
pub fn record(target_dir: &Path, lab: &Lab, r: &Report) {
    let graded: Vec<_> = r.tests.iter().filter(|t| t.visibility != "yours").collect();
    let c = Checked {
        passed: graded.iter().filter(|t| t.passed).count(),
        total: graded.len(),
        failing: graded
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.id.clone())
            .collect(),
        built: r.built,
        at: now(),
    };
    let path = file(target_dir, lab);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(text) = serde_json::to_string(&c) {
        let _ = std::fs::write(path, text);
    }
}

fn ago(secs: u64) -> String {
    match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// One line per lab: its last check, or the command to make one.
pub fn show(target_dir: &Path, labs: &[Lab]) -> String {
    let width = labs.iter().map(|l| l.name().len()).max().unwrap_or(4);
    let mut s = String::new();
    for lab in labs {
        let name = lab.name();
        let checked: Option<Checked> = std::fs::read_to_string(file(target_dir, lab))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let _ = match checked {
            None => writeln!(
                s,
                "{name:<width$}  not checked yet: cargo grader check {name}"
            ),
            Some(c) if !c.built => writeln!(
                s,
                "{name:<width$}  did not build ({})",
                ago(now().saturating_sub(c.at))
            ),
            Some(c) => {
                let next = match c.failing.first() {
                    Some(t) if c.passed < c.total => format!("; next: {t}"),
                    _ => String::new(),
                };
                writeln!(
                    s,
                    "{name:<width$}  {}/{} public tests passed ({}){next}",
                    c.passed,
                    c.total,
                    ago(now().saturating_sub(c.at))
                )
            }
        };
    }
    s
}
