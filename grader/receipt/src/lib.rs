//! Receipts for graded tests: proof, given to the grader, that a test ran
//! to its end.
//!
//! nextest and libtest count a test process that exits with status 0 as a
//! pass, so code under test that calls `std::process::exit(0)` before the
//! assertions would "pass". A graded test therefore also hands back a
//! secret it received from the grader before any submission code ran; the
//! grader counts the test only if the receipt matches.
//!
//! The channel: the grader runs every test process through its own wrapper
//! (`grader wrapper`, a nextest target runner), which sets
//! `LAB_RECEIPT_SECRET_FILE` and `LAB_RECEIPT_OUT_FILE` for that process
//! only. [`Receipt::start`] reads the secret and deletes its file before
//! the test body runs, so code under test finds no file to read; the secret
//! then lives only in this test's stack frame. [`Receipt::pass`] writes it
//! to the out file after the body's last assertion, together with any
//! figures the test reported with [`figure`]. A submission's library code
//! cannot call this crate at all: it is only a dev-dependency of the lab.
//!
//! Outside the grader neither variable is set and a graded test is a plain
//! `#[test]`.

use std::path::PathBuf;
use std::sync::Mutex;

/// A graded test in progress.
pub struct Receipt {
    secret: Option<(String, PathBuf)>,
}

const SECRET_VAR: &str = "LAB_RECEIPT_SECRET_FILE";
const OUT_VAR: &str = "LAB_RECEIPT_OUT_FILE";

/// Figures (`name`, `value`) reported by the running test, handed to the
/// grader with the receipt, never through output the submission could print.
static FIGURES: Mutex<Vec<(String, f64)>> = Mutex::new(Vec::new());

/// Reports a measured figure (a throughput, a count) for the grader to show,
/// e.g. as a Gradescope leaderboard entry. Only a test that reaches its end
/// hands its figures over. `name` should be short; whitespace is replaced.
pub fn figure(name: &str, value: f64) {
    let name: String = name
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    if let Ok(mut figures) = FIGURES.lock() {
        figures.push((name, value));
    }
}

impl Receipt {
    /// Takes the secret, if the grader gave one, before the test body runs.
    pub fn start() -> Receipt {
        let secret_file = std::env::var_os(SECRET_VAR).map(PathBuf::from);
        let out_file = std::env::var_os(OUT_VAR).map(PathBuf::from);
        // The file goes before any code under test runs; the variables
        // only name paths, which are useless once the file is gone. A
        // missing or unreadable file leaves an empty secret, which the
        // grader rejects.
        let secret = match (secret_file, out_file) {
            (Some(s), Some(o)) => {
                let text = std::fs::read_to_string(&s).unwrap_or_default();
                let _ = std::fs::remove_file(&s);
                Some((text.trim().to_string(), o))
            }
            _ => None,
        };
        Receipt { secret }
    }

    /// The body returned: hand the secret back, with the figures.
    pub fn pass(self) {
        if let Some((secret, out)) = self.secret {
            let mut text = format!("{secret}\n");
            if let Ok(figures) = FIGURES.lock() {
                for (name, value) in figures.iter() {
                    text.push_str(&format!("figure {name} {value}\n"));
                }
            }
            let _ = std::fs::write(out, text);
        }
    }
}

/// Declares graded tests: each `fn name() { body }` becomes a `#[test]`
/// that takes its receipt before `body` and returns it after.
///
/// A graded test passes only if it runs to its end: no early `return`, and
/// no `#[should_panic]` (assert on `std::panic::catch_unwind` instead).
#[macro_export]
macro_rules! graded {
    ($( $(#[$meta:meta])* fn $name:ident() $body:block )*) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                let receipt = $crate::Receipt::start();
                $body
                receipt.pass();
            }
        )*
    };
}
