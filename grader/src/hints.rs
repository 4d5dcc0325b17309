//! `grader hint LAB [TEST]`: the hints a lab's author wrote for its public
//! tests (`labs/LAB/hints.toml`), shown a step at a time so that a student
//! takes only as much help as they need. Hints say where to look and what
//! to check, never the code.

use crate::lab::Lab;
use serde::Deserialize;
use std::fmt::Write;

/// `hints.toml`, parsed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hints {
    /// Where to start on the lab.
    pub start: Steps,
    #[serde(default, rename = "hint")]
    pub hints: Vec<Hint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    pub steps: Vec<String>,
}

/// The steps toward one public test (`binary::test`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub test: String,
    pub steps: Vec<String>,
}

/// The lab's hints; an error says what is wrong with the file.
pub fn load(lab: &Lab) -> Result<Hints, String> {
    let path = lab.dir.join("hints.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (this lab has no hints)", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// What `grader hint` prints: the lab's first steps and the tests with
/// hints, or step `step` (from 1) of one test's hint.
pub fn show(lab: &Lab, hints: &Hints, test: Option<&str>, step: usize) -> Result<String, String> {
    let name = lab.name();
    let mut s = String::new();
    let Some(test) = test else {
        let _ = writeln!(s, "{name}: where to start");
        for (i, step) in hints.start.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {step}", i + 1);
        }
        let _ = writeln!(
            s,
            "\nhints for each public test (cargo grader hint {name} TEST):"
        );
        for h in &hints.hints {
            let _ = writeln!(s, "  {} ({} steps)", h.test, h.steps.len());
        }
        return Ok(s);
    };
    // A test by its full id, or by its name alone when that is unique.
    let found: Vec<&Hint> = hints
        .hints
        .iter()
        .filter(|h| h.test == test || h.test.rsplit("::").next() == Some(test))
        .collect();
    let hint = match found.as_slice() {
        [h] => *h,
        [] => {
            return Err(format!(
                "{name} has no hint for '{test}'; `cargo grader hint {name}` lists the tests that have one"
            ));
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|h| h.test.as_str()).collect();
            return Err(format!("'{test}' is ambiguous: {}", ids.join(", ")));
        }
    };
    let total = hint.steps.len();
    if step == 0 || step > total {
        return Err(format!("{} has steps 1 to {total}", hint.test));
    }
    let _ = writeln!(s, "{} (step {step} of {total})", hint.test);
    for (i, text) in hint.steps.iter().enumerate().take(step) {
        let _ = writeln!(s, "  {}. {text}", i + 1);
    }
    if step < total {
        let _ = writeln!(
            s,
            "next step: cargo grader hint {name} {} --step {}",
            hint.test,
            step + 1
        );
    }
    Ok(s)
}
