//! A grading report in each output format: a human table, JSON,
//! Gradescope's `results.json`, JUnit XML, and Markdown for CI job pages.

use crate::grade::{Report, TestResult};
use serde_json::json;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Gradescope,
    Junit,
    Markdown,
}

pub fn render(r: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Human => human(r, colour),
        Format::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        Format::Gradescope => {
            serde_json::to_string_pretty(&gradescope(r)).unwrap_or_default() + "\n"
        }
        Format::Junit => junit(r),
        Format::Markdown => markdown(r),
    }
}

fn pts(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The first line of a (possibly long) text, for table cells.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub fn human(r: &Report, colour: bool) -> String {
    let (green, red, bold, reset) = if colour {
        ("\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut s = String::new();
    let _ = writeln!(s, "{bold}lab {}{reset}: {}", r.lab, r.title);
    for g in &r.not_isolated {
        let _ = writeln!(s, "  not isolated: {g}");
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note: {}: {}", n.file, n.message);
    }
    if !r.built {
        let _ = writeln!(s, "{red}the submission did not build{reset}");
        let _ = writeln!(s, "{}", r.build_log.trim_end());
    }
    let width = r.tests.iter().map(|t| t.id.len()).max().unwrap_or(4).max(4);
    // Under `check` only public tests run; their points would mislead (a
    // group's points are shared with hidden tests when grading).
    let points = !r.public_only;
    let _ = write!(s, "  {:<width$}  {:>6}", "test", "vis");
    if points {
        let _ = write!(s, "  {:>9}", "points");
    }
    s.push_str("  result\n");
    // The student's own tests come last, apart: they are never graded.
    let (graded, yours): (Vec<&TestResult>, Vec<&TestResult>) =
        r.tests.iter().partition(|t| t.visibility != "yours");
    for (i, t) in graded.iter().chain(&yours).enumerate() {
        if i == graded.len() {
            let _ = writeln!(s, "  your own tests (not graded):");
        }
        let (c, word) = if t.passed {
            (green, "PASS")
        } else {
            (red, "FAIL")
        };
        let _ = write!(s, "  {:<width$}  {:>6}", t.id, t.visibility);
        if points {
            let _ = write!(
                s,
                "  {:>9}",
                format!("{}/{}", pts(t.score), pts(t.max_score))
            );
        }
        let _ = write!(s, "  {c}{word}{reset}");
        if !t.passed {
            let _ = write!(s, " {}", first_line(&t.reason));
        }
        for f in &t.figures {
            let _ = write!(
                s,
                " [{} = {:.3} {}: median of {} runs, spread {:.1}%]",
                f.name,
                f.value,
                f.unit,
                f.runs,
                f.spread * 100.0
            );
        }
        s.push('\n');
    }
    // What failed, in full: the assertion with its values, where it is,
    // and how to run that test alone.
    for t in graded.iter().chain(&yours).filter(|t| !t.passed) {
        if t.reason.lines().count() < 2 && t.rerun.is_none() {
            continue;
        }
        let _ = writeln!(s, "\n{bold}{}{reset}", t.id);
        for l in t.reason.lines() {
            let _ = writeln!(s, "    {l}");
        }
        if let Some(cmd) = &t.rerun {
            let _ = writeln!(s, "  rerun it alone: {cmd}");
        }
    }
    let passed = graded.iter().filter(|t| t.passed).count();
    if points {
        let _ = writeln!(
            s,
            "{bold}score: {} / {}{reset} ({passed}/{} tests passed, {:.1} s)",
            pts(r.score),
            pts(r.max_score),
            r.tests.len(),
            r.seconds
        );
    } else {
        let _ = writeln!(
            s,
            "{bold}public tests: {passed}/{} passed{reset} ({:.1} s; the grader also runs hidden tests)",
            graded.len(),
            r.seconds
        );
        if !yours.is_empty() {
            let _ = writeln!(
                s,
                "your own tests: {}/{} passed",
                yours.iter().filter(|t| t.passed).count(),
                yours.len()
            );
        }
    }
    s
}

/// Gradescope's `results.json`: hidden tests are shown after the due date;
/// figures become leaderboard entries.
pub fn gradescope(r: &Report) -> serde_json::Value {
    let tests: Vec<_> = r
        .tests
        .iter()
        .map(|t| {
            let mut output = t.reason.clone();
            if !t.output.is_empty() {
                output.push_str("\n\n");
                output.push_str(&t.output);
            }
            json!({
                "name": t.id,
                "score": t.score,
                "max_score": t.max_score,
                "status": if t.passed { "passed" } else { "failed" },
                "output": output,
                "visibility": if t.visibility == "hidden" { "after_due_date" } else { "visible" },
            })
        })
        .collect();
    let mut out = json!({
        "score": r.score,
        "execution_time": r.seconds.round() as u64,
        "output": summary_text(r),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    let board: Vec<_> = r
        .figures()
        .iter()
        .filter(|(_, f)| f.leaderboard)
        .map(|(_, f)| {
            json!({
                "name": f.name,
                "value": f.value,
                "order": if f.higher_is_better { "desc" } else { "asc" },
            })
        })
        .collect();
    if !board.is_empty() {
        out["leaderboard"] = serde_json::Value::Array(board);
    }
    out
}

fn summary_text(r: &Report) -> String {
    let mut s = String::new();
    for g in &r.not_isolated {
        let _ = writeln!(s, "Not isolated: {g}");
    }
    for n in &r.notes {
        let _ = writeln!(s, "{}: {}", n.file, n.message);
    }
    if !r.built {
        let _ = writeln!(s, "The submission did not build:\n{}", r.build_log);
    }
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all, even escaped.
            c if ((c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t'))
                || matches!(c, '\u{fffe}' | '\u{ffff}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

pub fn junit(r: &Report) -> String {
    let failures = r.tests.iter().filter(|t| !t.passed).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"grader\" tests=\"{}\" failures=\"{failures}\">",
        r.tests.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        xml_escape(&r.lab),
        r.tests.len(),
        r.seconds
    );
    if !r.not_isolated.is_empty() {
        s.push_str("    <properties>\n");
        for g in &r.not_isolated {
            let _ = writeln!(
                s,
                "      <property name=\"not-isolated\" value=\"{}\"/>",
                xml_escape(g)
            );
        }
        s.push_str("    </properties>\n");
    }
    for t in &r.tests {
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            xml_escape(&t.id),
            xml_escape(&r.lab),
            t.seconds
        );
        if t.passed {
            s.push_str("/>\n");
        } else {
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                xml_escape(first_line(&t.reason)),
                xml_escape(&t.output)
            );
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

fn md_cell(s: &str) -> String {
    first_line(s).replace('|', "\\|").replace('`', "'")
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Lab `{}`: {} / {}\n",
        r.lab,
        pts(r.score),
        pts(r.max_score)
    );
    if !r.title.is_empty() {
        let _ = writeln!(s, "{}\n", r.title);
    }
    for g in &r.not_isolated {
        let _ = writeln!(s, "> **Not isolated:** {}\n", md_cell(g));
    }
    for n in &r.notes {
        let _ = writeln!(s, "- **{}**: {}", md_cell(&n.file), md_cell(&n.message));
    }
    if !r.built {
        let _ = writeln!(
            s,
            "**The submission did not build.**\n\n```text\n{}\n```\n",
            r.build_log.trim_end().replace("```", "'''")
        );
    }
    s.push_str("| test | visibility | points | result |\n|---|---|---:|---|\n");
    for t in &r.tests {
        let result = if t.passed {
            "✅ pass".to_string()
        } else {
            format!("❌ {}", md_cell(&t.reason))
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {}/{} | {} |",
            md_cell(&t.id),
            t.visibility,
            pts(t.score),
            pts(t.max_score),
            result
        );
    }
    let figures = r.figures();
    if !figures.is_empty() {
        s.push_str("\n| figure | value | test |\n|---|---:|---|\n");
        for (test, f) in figures {
            let _ = writeln!(
                s,
                "| {} | {:.3} {} (median of {}, spread {:.1}%) | `{}` |",
                md_cell(&f.name),
                f.value,
                md_cell(&f.unit),
                f.runs,
                f.spread * 100.0,
                md_cell(test)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(xml_escape("bell\x07tab\tok"), "bell\\u{7}tab\tok");
        assert_eq!(
            xml_escape("\u{fffe}\u{ffff}\u{fffd}"),
            "\\u{fffe}\\u{ffff}\u{fffd}"
        );
    }

    #[test]
    fn markdown_cells_stay_on_one_line_and_in_their_column() {
        assert_eq!(md_cell("a | b\nsecond line"), "a \\| b");
        assert_eq!(md_cell("`code`"), "'code'");
    }

    /// Every character a test could print, XML's forbidden ones included.
    fn hostile_text() -> String {
        let mut t: String = (0u32..0x80).filter_map(char::from_u32).collect();
        t.push_str(
            "\u{85}\u{d7ff}\u{e000}\u{fffd}\u{fffe}\u{ffff}\u{10000}\u{10ffff}]]></failure>",
        );
        t
    }

    #[test]
    fn junit_is_well_formed_whatever_a_test_printed() {
        let text = hostile_text();
        let report = Report {
            lab: format!("lab{text}"),
            title: String::new(),
            submission: String::new(),
            public_only: false,
            built: true,
            build_log: String::new(),
            notes: Vec::new(),
            isolated: false,
            not_isolated: vec![text.clone()],
            score: 0.0,
            max_score: 1.0,
            tests: vec![crate::grade::TestResult {
                rerun: None,
                id: format!("t::{text}"),
                group: None,
                visibility: "public",
                passed: false,
                reason: text.clone(),
                score: 0.0,
                max_score: 1.0,
                seconds: 0.0,
                output: text.clone(),
                figures: Vec::new(),
            }],
            seconds: 0.0,
        };
        let xml = junit(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure element");
        // What XML can carry arrives unchanged.
        let out = failure.text().unwrap_or("");
        assert!(
            out.contains("\u{fffd}\\u{fffe}\\u{ffff}\u{10000}"),
            "{out:?}"
        );
        assert!(out.contains("]]></failure>"), "{out:?}");
    }
}
