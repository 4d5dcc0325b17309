//! A lab as `lab.toml` describes it: limits, the files a submission may
//! change, and the points of each test group.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `lab.toml`, parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabToml {
    pub lab: LabInfo,
    #[serde(default)]
    pub limits: Limits,
    pub submission: SubmissionRules,
    #[serde(default, rename = "group")]
    pub groups: Vec<Group>,
    /// Figures the grader measures by timing a test (Gradescope's
    /// leaderboard sorts by them).
    #[serde(default, rename = "figure")]
    pub figures: Vec<FigureSpec>,
}

/// A `[[figure]]` of `lab.toml`: a rate the grader measures by timing a
/// test that does a fixed amount of work. The test's process is timed from
/// outside (start to exit, so its setup counts too), never by the test:
/// code in a test's process can make it say anything. Each timed run must
/// compute what the reference solution computes, and the figure is `work`
/// divided by the median of the runs' wall times.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    pub name: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default = "yes")]
    pub higher_is_better: bool,
    /// The floor (the ceiling, if lower is better): the test fails past it.
    #[serde(default)]
    pub min: Option<f64>,
    /// The test that is timed (`binary::test`).
    pub test: String,
    /// The work the test does, in the unit's numerator (for MiB/s, the
    /// MiB it moves).
    pub work: f64,
    /// Timed runs after the judged one (the median counts); fewer when
    /// the runs are long, so that they take at most
    /// [`FigureSpec::EXTRA_SECS`].
    #[serde(default = "three")]
    pub runs: u32,
    /// This test's time limit, for each run, in place of the lab's: a
    /// slow submission still gets its figure measured (and compared to
    /// `min`) instead of running out of time.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Whether Gradescope's leaderboard shows it (a floor's figure need
    /// not be ranked).
    #[serde(default = "yes")]
    pub leaderboard: bool,
}

impl FigureSpec {
    /// The most wall time the timed runs may take together.
    pub const EXTRA_SECS: f64 = 5.0;

    /// The figure from the runs' wall times.
    pub fn value(&self, seconds: &[f64]) -> f64 {
        let mut s: Vec<f64> = seconds.iter().map(|x| x.max(1e-6)).collect();
        s.sort_by(f64::total_cmp);
        let median = match s.len() {
            0 => return 0.0,
            n if n % 2 == 1 => s[n / 2],
            n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        };
        if self.higher_is_better {
            self.work / median
        } else {
            median / self.work
        }
    }

    /// How far apart the runs were: (slowest - fastest) / median, as a
    /// fraction of the median.
    pub fn spread(seconds: &[f64]) -> f64 {
        let mut s: Vec<f64> = seconds.iter().map(|x| x.max(1e-6)).collect();
        s.sort_by(f64::total_cmp);
        match (s.first(), s.last()) {
            (Some(lo), Some(hi)) => (hi - lo) / s[s.len() / 2],
            _ => 0.0,
        }
    }

    /// How long a run may take before it has missed the floor for sure
    /// (twice the time at the floor, and a second for the process's
    /// start): it is stopped then rather than at the time limit.
    pub fn floor_secs(&self) -> Option<f64> {
        match self.min {
            Some(m) if self.higher_is_better && m > 0.0 => Some(2.0 * self.work / m + 1.0),
            _ => None,
        }
    }

    /// Whether `value` misses the floor.
    pub fn below_min(&self, value: f64) -> bool {
        match self.min {
            Some(m) if self.higher_is_better => value < m,
            Some(m) => value > m,
            None => false,
        }
    }
}

fn three() -> u32 {
    3
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabInfo {
    pub name: String,
    #[serde(default)]
    pub title: String,
    /// The handout page in the book (shown by `grader list`).
    #[serde(default)]
    pub handout: Option<String>,
}

/// Per-test-process limits.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_timeout")]
    pub test_timeout_secs: u64,
    #[serde(default = "default_memory")]
    pub memory_mib: u64,
    #[serde(default = "default_output")]
    pub output_kib: u64,
    /// How long building the submission may take (default 900 s).
    #[serde(default = "default_build")]
    pub build_timeout_secs: u64,
}

fn default_timeout() -> u64 {
    10
}
fn default_memory() -> u64 {
    512
}
fn default_output() -> u64 {
    256
}
fn default_build() -> u64 {
    900
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            test_timeout_secs: default_timeout(),
            memory_mib: default_memory(),
            output_kib: default_output(),
            build_timeout_secs: default_build(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRules {
    /// Paths relative to the lab folder, the only ones taken from a submission.
    pub files: Vec<String>,
}

/// A group of tests and its points.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    /// The group's points, shared equally by its tests.
    #[serde(default)]
    pub points: Option<f64>,
    /// Points for each test of the group instead.
    #[serde(default)]
    pub per_test: Option<f64>,
    /// Prefixes of `binary::test` names.
    pub tests: Vec<String>,
}

/// Every file under `dir` (but `target/` and `.git/`) with its size and
/// modification time, sorted: two snapshots differ when a file changed.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                walk(&e.path(), out);
            } else {
                out.push((e.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// A lab found in the repository.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    pub toml: LabToml,
}

impl Lab {
    pub fn load(dir: &Path) -> Result<Lab, String> {
        let path = dir.join("lab.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let toml: LabToml =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for g in &toml.groups {
            if g.points.is_some() == g.per_test.is_some() {
                return Err(format!(
                    "{}: group '{}' needs exactly one of `points` and `per_test`",
                    path.display(),
                    g.name
                ));
            }
        }
        for f in &toml.submission.files {
            crate::scratch::check_relative(f)
                .map_err(|e| format!("{}: submission file '{f}': {e}", path.display()))?;
        }
        Ok(Lab {
            dir: dir.to_path_buf(),
            toml,
        })
    }

    /// The lab's package name, from its `Cargo.toml`.
    pub fn package_name(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join("Cargo.toml")).ok()?;
        let manifest: toml::Table = toml::from_str(&text).ok()?;
        Some(manifest.get("package")?.get("name")?.as_str()?.to_string())
    }

    pub fn name(&self) -> &str {
        &self.toml.lab.name
    }

    /// The group a test (`binary::test`) belongs to: the first whose prefix
    /// matches.
    pub fn group_of(&self, test: &str) -> Option<usize> {
        self.toml
            .groups
            .iter()
            .position(|g| g.tests.iter().any(|p| test.starts_with(p.as_str())))
    }

    /// Points of every test, given the full list of tests: `None` for a test
    /// in no group.
    pub fn points(&self, tests: &[String]) -> Vec<Option<f64>> {
        let groups: Vec<Option<usize>> = tests.iter().map(|t| self.group_of(t)).collect();
        groups
            .iter()
            .map(|g| {
                let g = (*g)?;
                let group = &self.toml.groups[g];
                if let Some(p) = group.per_test {
                    return Some(p);
                }
                let n = groups.iter().filter(|x| **x == Some(g)).count();
                Some(group.points.unwrap_or(0.0) / n as f64)
            })
            .collect()
    }

    /// Names of the hidden test files (`hidden/*.rs`), sorted.
    pub fn hidden_files(&self) -> Vec<PathBuf> {
        rs_files(&self.dir.join("hidden"))
    }

    /// The deliberately wrong implementations, sorted: `wrong/<name>.patch`
    /// (a unified diff against `solution/`, so a variant states only its
    /// mutation) or `wrong/<name>/` (files laid over the solution).
    pub fn wrong_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join("wrong"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "patch"))
            .collect();
        v.sort();
        v
    }
}

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && p.is_file())
        .collect();
    v.sort();
    v
}

/// The repository root: the nearest ancestor of `start` with a `labs/` folder
/// and a `Cargo.toml`.
pub fn find_repo(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .find(|d| d.join("labs").is_dir() && d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// Every lab under `repo/labs/*/lab.toml`, sorted by name.
pub fn discover(repo: &Path) -> Result<Vec<Lab>, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo.join("labs"))
        .map_err(|e| format!("{}: {e}", repo.join("labs").display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| Lab::load(d)).collect()
}

/// The lab called `name`.
pub fn find(repo: &Path, name: &str) -> Result<Lab, String> {
    let labs = discover(repo)?;
    let names: Vec<String> = labs.iter().map(|l| l.name().to_string()).collect();
    labs.into_iter()
        .find(|l| l.name() == name)
        .ok_or_else(|| format!("no lab '{name}' (labs: {})", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(groups: &str) -> Lab {
        let text = format!("[lab]\nname = \"x\"\n[submission]\nfiles = [\"src/lib.rs\"]\n{groups}");
        Lab {
            dir: PathBuf::from("/nonexistent"),
            toml: toml::from_str(&text).unwrap(),
        }
    }

    #[test]
    fn points_are_shared_or_per_test_and_the_first_group_wins() {
        let l = lab(
            "[[group]]\nname = \"a\"\npoints = 9\ntests = [\"ring::\", \"hidden_ring::\"]\n\
             [[group]]\nname = \"b\"\nper_test = 2.5\ntests = [\"hidden_\"]\n",
        );
        let tests: Vec<String> = [
            "ring::x",
            "hidden_ring::y",
            "hidden_ring::z",
            "hidden_other::w",
            "lonely::v",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            l.points(&tests),
            [Some(3.0), Some(3.0), Some(3.0), Some(2.5), None]
        );
        assert_eq!(l.group_of("hidden_ring::y"), Some(0));
    }

    #[test]
    fn limits_default_and_unknown_keys_are_refused() {
        let l = lab("");
        assert_eq!(l.toml.limits.test_timeout_secs, 10);
        assert_eq!(l.toml.limits.build_timeout_secs, 900);
        let bad = "[lab]\nname = \"x\"\n[submission]\nfiles = []\n[limits]\ntest_timeout = 3\n";
        assert!(toml::from_str::<LabToml>(bad).is_err());
    }
}
