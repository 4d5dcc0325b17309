//! Receipts for graded tests: proof, given to the grader, that a test ran
//! to its end.
//!
//! nextest and libtest count a test process that exits with status 0 as a
//! pass, so code under test that calls `std::process::exit(0)` before the
//! assertions would "pass". A graded test therefore also hands back a
//! secret it received from the grader before any submission code ran; the
//! grader counts the test only if the receipt matches.
//!
//! The channel: when `LAB_RECEIPT_SECRET_FILE` and `LAB_RECEIPT_OUT_FILE`
//! are set (the grader sets them for each test process), [`Receipt::start`]
//! reads the secret and deletes the file before the test body runs; [`Receipt::pass`] writes it to the out file after the body.
//! Outside the grader neither is set and a graded test is a plain test.

use std::path::PathBuf;

/// A graded test in progress.
pub struct Receipt {
    secret: Option<(String, PathBuf)>,
}

const SECRET_VAR: &str = "LAB_RECEIPT_SECRET_FILE";
const OUT_VAR: &str = "LAB_RECEIPT_OUT_FILE";

impl Receipt {
    /// Takes the secret, if the grader gave one, before the test body runs.
    pub fn start() -> Receipt {
        let secret_file = std::env::var_os(SECRET_VAR).map(PathBuf::from);
        let out_file = std::env::var_os(OUT_VAR).map(PathBuf::from);
        // The file goes before any code under test runs; the variables
        // only name paths, which are useless once the file is gone.
        let secret = match (secret_file, out_file) {
            (Some(s), Some(o)) => {
                let text = std::fs::read_to_string(&s).unwrap_or_default();
                let _ = std::fs::remove_file(&s);
                Some((text, o))
            }
            _ => None,
        };
        Receipt { secret }
    }

    /// The body returned: hand the secret back.
    pub fn pass(self) {
        if let Some((secret, out)) = self.secret {
            let _ = std::fs::write(out, secret);
        }
    }
}

/// Declares graded tests: each `fn name() { body }` becomes a `#[test]`
/// that takes its receipt before `body` and returns it after.
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
