//! The judge: a test's verdict, decided by comparing what the submission's
//! test process saw with what the same test saw on the reference solution.
//!
//! Both runs write a transcript (`lab_receipt`): a `start` line, one
//! `check` line per `assert!`/`assert_eq!`/`assert_ne!` with its place, its
//! expression and the values compared, and `end` when the test's body
//! returned. The judge runs in the wrapper, a process the submission's code
//! cannot read, write, signal or trace (another uid, another PID namespace,
//! no shared memory); the submission's process only computes. A submission
//! passes a test only if its transcript is the reference's, check for
//! check, and its process exited cleanly: exiting early, printing, or
//! writing a transcript of its own gets it nothing unless every value in it
//! is a value the reference computed.

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Start,
    /// `place` (`lab/tests/ring.rs:14`) and `seen` (the values it
    /// compared, or `true`/`false`).
    Check {
        place: String,
        seen: String,
    },
    End,
}

/// A transcript's lines (unknown lines left out).
pub fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| {
            let (kind, rest) = l.split_once(' ').unwrap_or((l, ""));
            match kind {
                "start" => Some(Line::Start),
                "end" => Some(Line::End),
                "check" => {
                    let (place, seen) = rest.split_once(' ')?;
                    Some(Line::Check {
                        place: place.to_string(),
                        seen: unescape(seen),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// The verdict on a submission's transcript, given the reference's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Pass,
    /// A check saw other values than the reference's.
    Differs {
        place: String,
        expected: String,
        got: String,
    },
    /// The submission's test stopped after `done` of the reference's
    /// `total` checks without failing one (a panic, a crash, an exit).
    Stopped {
        done: usize,
        total: usize,
    },
    /// It went through checks the reference never reached, or in another
    /// order.
    OtherPath {
        place: String,
    },
    /// The reference itself did not reach its end: the test or the grader
    /// is broken, not the submission.
    ReferenceBroken,
}

/// Compares a submission's transcript with the reference's.
pub fn judge(reference: &[Line], submission: &[Line]) -> Judgement {
    if reference.first() != Some(&Line::Start) || reference.last() != Some(&Line::End) {
        return Judgement::ReferenceBroken;
    }
    let total = reference
        .iter()
        .filter(|l| matches!(l, Line::Check { .. }))
        .count();
    let mut done = 0;
    for (i, want) in reference.iter().enumerate() {
        let Some(got) = submission.get(i) else {
            return Judgement::Stopped { done, total };
        };
        match (want, got) {
            (a, b) if a == b => {
                if matches!(a, Line::Check { .. }) {
                    done += 1;
                }
            }
            (
                Line::Check {
                    place,
                    seen: expected,
                },
                Line::Check {
                    place: p2,
                    seen: got,
                },
            ) if place == p2 => {
                return Judgement::Differs {
                    place: place.clone(),
                    expected: expected.clone(),
                    got: got.clone(),
                };
            }
            (_, Line::Check { place, .. }) => {
                return Judgement::OtherPath {
                    place: place.clone(),
                };
            }
            _ => return Judgement::Stopped { done, total },
        }
    }
    if submission.len() > reference.len() {
        return Judgement::OtherPath {
            place: "after the test's end".into(),
        };
    }
    Judgement::Pass
}

impl Judgement {
    /// The reason a student reads; `source` gives a place's line of code.
    pub fn reason(&self, source: impl Fn(&str) -> Option<String>) -> String {
        match self {
            Judgement::Pass => "passed".into(),
            Judgement::Differs {
                place,
                expected,
                got,
            } => match source(place) {
                Some(code) => format!("{place}: `{code}`: expected {expected}, got {got}"),
                None => format!("{place}: expected {expected}, got {got}"),
            },
            Judgement::Stopped { done, total } => format!(
                "stopped before the test's end ({done} of {total} checks done)"
            ),
            Judgement::OtherPath { place } => {
                format!("went another way than the reference solution: a check at {place}")
            }
            Judgement::ReferenceBroken => {
                "the reference solution does not pass this test (a problem of the lab, not of the submission)".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Vec<Line> {
        parse(text)
    }

    const REF: &str = "start \ncheck tests/a.rs:3 3 == 3\ncheck tests/a.rs:4 false\nend \n";

    #[test]
    fn the_same_transcript_passes() {
        assert_eq!(judge(&t(REF), &t(REF)), Judgement::Pass);
    }

    #[test]
    fn another_value_is_named_with_what_was_expected() {
        let sub = REF.replace("3 == 3", "2 == 3");
        let j = judge(&t(REF), &t(&sub));
        let code = |p: &str| (p == "tests/a.rs:3").then(|| "assert_eq!(r.len(), 3);".to_string());
        assert_eq!(
            j.reason(code),
            "tests/a.rs:3: `assert_eq!(r.len(), 3);`: expected 3 == 3, got 2 == 3"
        );
        assert_eq!(
            j.reason(|_| None),
            "tests/a.rs:3: expected 3 == 3, got 2 == 3"
        );
    }

    #[test]
    fn forged_endings_and_early_exits_fail() {
        // An exit before the checks, with or without a forged end.
        assert_eq!(
            judge(&t(REF), &t("start \n")),
            Judgement::Stopped { done: 0, total: 2 }
        );
        assert_eq!(
            judge(&t(REF), &t("start \nend \n")),
            Judgement::Stopped { done: 0, total: 2 }
        );
        // Checks forged as passing, with values of its own.
        let forged = "start \ncheck tests/a.rs:3 1 == 1\nend \n";
        assert!(matches!(
            judge(&t(REF), &t(forged)),
            Judgement::Differs { .. }
        ));
        // Nothing at all, or extra lines after the end.
        assert!(matches!(judge(&t(REF), &[]), Judgement::Stopped { .. }));
        let longer = format!("{REF}check x.rs:1 true\n");
        assert!(matches!(
            judge(&t(REF), &t(&longer)),
            Judgement::OtherPath { .. }
        ));
    }

    #[test]
    fn a_broken_reference_is_not_the_submissions_fault() {
        assert_eq!(judge(&t("start \n"), &t(REF)), Judgement::ReferenceBroken);
    }

    #[test]
    fn values_on_several_lines_survive_the_transcript() {
        let lines = t("start \ncheck f.rs:1 \"a\\nb\\\\\" == \"x\"\nend \n");
        assert_eq!(
            lines[1],
            Line::Check {
                place: "f.rs:1".into(),
                seen: "\"a\nb\\\" == \"x\"".into(),
            }
        );
    }
}
