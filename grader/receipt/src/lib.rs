//! Transcripts of graded tests: what each check saw, for a judge in another
//! process to compare.
//!
//! A test process holds the submission's code, and code can read and write
//! anything in its own process (`/proc/self/mem` is plain file I/O, and the
//! compiler's known soundness holes reach memory from safe code). So no
//! verdict is decided in it. Inside a [`graded!`] test, `assert!`,
//! `assert_eq!` and `assert_ne!` are this crate's: each writes what it
//! checked (its place, its expression, the values it compared) to the
//! test's transcript, then behaves exactly as the standard macro does. The
//! grader runs the same test built against the reference solution in
//! another sandboxed process, and passes the submission's test only if its
//! transcript is the reference's, check for check, up to the end of the
//! test. A submission that exits early, or writes a transcript of its own,
//! must still produce every value the reference computed: it must do the
//! work.
//!
//! The transcript goes to the file named by `LAB_TRANSCRIPT_FILE`, which
//! the grader sets for each test process. Without it (a student running
//! `cargo test`), a graded test is a plain `#[test]`.

use std::io::Write;
use std::sync::Mutex;

mod expected;
pub use expected::{BLESS_VAR, expected};

/// The environment variable naming a test's transcript file.
pub const TRANSCRIPT_VAR: &str = "LAB_TRANSCRIPT_FILE";

/// The open transcript of this test process, if the grader asked for one.
static TRANSCRIPT: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Opens the transcript (the first line says the test started).
pub fn start() {
    let Some(path) = std::env::var_os(TRANSCRIPT_VAR) else {
        return;
    };
    if let Ok(mut slot) = TRANSCRIPT.lock()
        && let Ok(file) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
    {
        *slot = Some(file);
        drop(slot);
        line("start", "");
    }
}

/// The test's body returned: the last line of its transcript.
pub fn end() {
    line("end", "");
}

/// Text on one line: backslashes, newlines and carriage returns escaped.
fn one_line(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn line(kind: &str, text: &str) {
    if let Ok(mut slot) = TRANSCRIPT.lock()
        && let Some(f) = slot.as_mut()
    {
        let _ = writeln!(f, "{kind} {}", one_line(text));
        let _ = f.flush();
    }
}

/// Longest value kept whole in a transcript; a longer one is kept as its
/// start, its length and a hash of all of it, which still compares exactly.
const LONGEST: usize = 400;

/// Where a value's text goes as it is formatted: its start is kept, and
/// its length and hash are computed on the way, so a large value is never
/// held whole.
struct Seen {
    start: String,
    len: usize,
    fnv1a: u64,
}

impl std::fmt::Write for Seen {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.start.len() + c.len_utf8() <= LONGEST {
                self.start.push(c);
            }
        }
        self.len += s.len();
        self.fnv1a = s.bytes().fold(self.fnv1a, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Ok(())
    }
}

/// Records one check: where it is and what it saw. (Not the expression:
/// its text would put a hidden test's expected values in the binary, a
/// string away from a submission reading its own executable. The judge
/// shows the line from the test's source.) Nothing is formatted when no
/// transcript is kept.
#[doc(hidden)]
pub fn record(place: &str, seen: std::fmt::Arguments<'_>) {
    if !recording() {
        return;
    }
    let mut v = Seen {
        start: String::new(),
        len: 0,
        fnv1a: 0xcbf2_9ce4_8422_2325,
    };
    let _ = std::fmt::Write::write_fmt(&mut v, seen);
    let seen = if v.len <= LONGEST {
        v.start
    } else {
        let mut cut = 120;
        while !v.start.is_char_boundary(cut) {
            cut -= 1;
        }
        format!(
            "{}… ({} bytes, fnv1a {:016x})",
            &v.start[..cut],
            v.len,
            v.fnv1a
        )
    };
    line("check", &format!("{place} {seen}"));
}

/// Whether this process keeps a transcript.
fn recording() -> bool {
    TRANSCRIPT.lock().is_ok_and(|slot| slot.is_some())
}

/// The checks a graded test uses in place of the standard macros.
pub mod checks {
    /// `assert!`, recorded.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __lab_assert {
        ($cond:expr $(,)?) => {{
            let ok: bool = $cond;
            $crate::record(
                concat!(file!(), ":", line!()),
                ::std::format_args!("{}", ok),
            );
            // No `stringify!` here: the expression's text (and any expected
            // value in it) stays out of the binary; the panic's place names it.
            ::std::assert!(ok, "assertion failed");
        }};
        ($cond:expr, $($arg:tt)+) => {{
            let ok: bool = $cond;
            $crate::record(
                concat!(file!(), ":", line!()),
                ::std::format_args!("{}", ok),
            );
            ::std::assert!(ok, $($arg)+);
        }};
    }

    /// `assert_eq!`, recorded with both values.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __lab_assert_eq {
        ($left:expr, $right:expr $(,)?) => {
            match (&$left, &$right) {
                (l, r) => {
                    $crate::record(
                        concat!(file!(), ":", line!()),
                        ::std::format_args!("{:?} == {:?}", l, r),
                    );
                    ::std::assert_eq!(l, r);
                }
            }
        };
        ($left:expr, $right:expr, $($arg:tt)+) => {
            match (&$left, &$right) {
                (l, r) => {
                    $crate::record(
                        concat!(file!(), ":", line!()),
                        ::std::format_args!("{:?} == {:?}", l, r),
                    );
                    ::std::assert_eq!(l, r, $($arg)+);
                }
            }
        };
    }

    /// `assert_ne!`, recorded with both values.
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __lab_assert_ne {
        ($left:expr, $right:expr $(,)?) => {
            match (&$left, &$right) {
                (l, r) => {
                    $crate::record(
                        concat!(file!(), ":", line!()),
                        ::std::format_args!("{:?} != {:?}", l, r),
                    );
                    ::std::assert_ne!(l, r);
                }
            }
        };
        ($left:expr, $right:expr, $($arg:tt)+) => {
            match (&$left, &$right) {
                (l, r) => {
                    $crate::record(
                        concat!(file!(), ":", line!()),
                        ::std::format_args!("{:?} != {:?}", l, r),
                    );
                    ::std::assert_ne!(l, r, $($arg)+);
                }
            }
        };
    }

    pub use __lab_assert as assert;
    pub use __lab_assert_eq as assert_eq;
    pub use __lab_assert_ne as assert_ne;
}

/// The environment variable carrying a timed test's seed.
pub const SEED_VAR: &str = "LAB_SEED";

/// The seed of this run: the grader gives a timed test a new one in each
/// grading (the same to the reference solution's run), so that what it
/// computes cannot be known before it runs; 1 when it is not graded.
pub fn seed() -> u64 {
    std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Records a value the test computed, for the judge to compare with the
/// reference solution's, where the test has nothing to assert it equals.
#[macro_export]
macro_rules! computed {
    ($value:expr $(,)?) => {
        $crate::record(
            ::std::concat!(::std::file!(), ":", ::std::line!()),
            ::std::format_args!("{:?}", &$value),
        )
    };
}

/// Declares graded tests: each `fn name() { body }` becomes a `#[test]`
/// whose `assert!`, `assert_eq!` and `assert_ne!` are recorded in its
/// transcript, which ends when `body` returns.
///
/// A graded test passes only if it runs to its end: no early `return`, and
/// no `#[should_panic]` (assert on `std::panic::catch_unwind` instead).
/// Checked values must be the same on every run of the reference solution
/// (no timings, no addresses): the judge compares them. Each is formatted
/// with `{:?}` into the transcript, so a check run thousands of times on a
/// large value should compare a digest of it instead.
#[macro_export]
macro_rules! graded {
    ($( $(#[$meta:meta])* fn $name:ident() $body:block )*) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                $crate::start();
                {
                    #[allow(unused_imports)]
                    use $crate::checks::{assert, assert_eq, assert_ne};
                    $body
                }
                $crate::end();
            }
        )*
    };
}
