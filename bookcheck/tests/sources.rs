//! The book's sources keep its promises: every page the contents list
//! exists, every include resolves to the part of the file it names, every
//! chapter shows at least two snippets with the output they printed, no
//! output is typed by hand, and every chapter is a chapter (words, quiz,
//! instructor's notes, pictures that are pictures).

mod common;

use std::collections::BTreeSet;

use bookcheck::pins::{Pins, SNAPSHOT_BODY};
use bookcheck::source::{self, Directive, Part};
use bookcheck::summary;
use common::{assert_none, chapters, pages};

/// Where example outputs live, relative to the book.
const SNAPSHOTS: &str = "../stack/tests/snapshots/";
const EXAMPLES: &str = "../stack/examples/";

#[test]
fn the_contents_list_every_chapter_and_no_drafts() {
    let src = bookcheck::book_src();
    let entries = summary::read(&src).expect("book/SUMMARY.md");
    let mut problems = Vec::new();
    for e in &entries {
        match &e.path {
            None => problems.push(format!("{:?} is a draft (no file)", e.title)),
            Some(p) if !src.join(p).is_file() => {
                problems.push(format!("{p} is listed but missing"))
            }
            Some(_) => {}
        }
    }
    let numbers: Vec<u32> = entries.iter().filter_map(|e| e.chapter()).collect();
    if numbers != (1..=12).collect::<Vec<_>>() {
        problems.push(format!("chapters are {numbers:?}, not 1 to 12 in order"));
    }
    assert_none("SUMMARY.md", &problems);
}

#[test]
fn every_page_in_the_sources_is_in_the_contents() {
    let src = bookcheck::book_src();
    let listed: BTreeSet<String> = pages().into_iter().map(|p| p.path).collect();
    let mut problems = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("book/").flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("html") {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path
                    .strip_prefix(&src)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                if rel != "SUMMARY.md" && !listed.contains(&rel) {
                    problems.push(format!(
                        "{rel} is not in SUMMARY.md, so no reader can reach it"
                    ));
                }
            }
        }
    }
    assert_none("orphan pages", &problems);
}

#[test]
fn every_include_resolves_to_what_it_names() {
    let mut problems = Vec::new();
    for page in pages() {
        for d in source::directives(&page.text) {
            if let Err(e) = check_directive(&page.dir(), &d) {
                problems.push(format!(
                    "{}:{}: {{{{#{} {}}}}}: {e}",
                    page.path, d.line, d.name, d.file
                ));
            }
        }
    }
    assert_none("includes", &problems);
}

fn check_directive(dir: &std::path::Path, d: &Directive) -> Result<(), String> {
    let path = d.resolve(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    match (d.name.as_str(), &d.part) {
        ("include", Part::Whole) => Ok(()),
        ("include", Part::Anchor(a)) => {
            let begin = text.contains(&format!("ANCHOR: {a}"));
            let end = text.contains(&format!("ANCHOR_END: {a}"));
            if begin && end {
                Ok(())
            } else {
                Err(format!("no ANCHOR/ANCHOR_END pair {a:?}"))
            }
        }
        ("include", Part::Lines { start, end }) => {
            let n = text.lines().count();
            let last = end.unwrap_or(n);
            if *start >= 1 && *start <= last && last <= n {
                Ok(())
            } else {
                Err(format!("lines {start}..{last} but the file has {n}"))
            }
        }
        ("quiz", _) => {
            let quiz: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
            let n = quiz
                .get("questions")
                .and_then(|q| q.as_array())
                .map_or(0, Vec::len);
            if n >= 3 {
                Ok(())
            } else {
                Err(format!("{n} questions; a self-check needs at least 3"))
            }
        }
        (other, _) => Err(format!("unknown directive {other:?}")),
    }
}

#[test]
fn range_includes_of_outputs_are_pinned_to_their_lines() {
    let pins = Pins::read(&bookcheck::pins_file()).expect("bookcheck/pins.toml");
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for page in pages() {
        for d in source::directives(&page.text) {
            let Part::Lines { start, end } = d.part else {
                continue;
            };
            if !d.file.starts_with(SNAPSHOTS) || (start == SNAPSHOT_BODY && end.is_none()) {
                continue;
            }
            let text = std::fs::read_to_string(d.resolve(&page.dir())).unwrap_or_default();
            let end = end.unwrap_or(text.lines().count());
            let range = format!("{}:{start}:{end}", d.file_name());
            used.insert(range.clone());
            match pins.get(&range) {
                None => problems.push(format!(
                    "{}:{}: {range} has no pin in bookcheck/pins.toml (add one with its first and last line)",
                    page.path, d.line
                )),
                Some(pin) => {
                    if let Err(e) = pin.check(&text, start, end) {
                        problems.push(format!("{}:{}: {e}", page.path, d.line));
                    }
                }
            }
        }
    }
    for pin in &pins.pin {
        if !used.contains(&pin.range) {
            problems.push(format!(
                "bookcheck/pins.toml pins {} which no page includes",
                pin.range
            ));
        }
    }
    assert_none("pinned ranges", &problems);
}

#[test]
fn every_chapter_shows_two_snippets_with_their_output_and_how_to_run_them() {
    let mut problems = Vec::new();
    for page in chapters() {
        let directives = source::directives(&page.text);
        let examples: BTreeSet<String> = directives
            .iter()
            .filter(|d| d.file.starts_with(EXAMPLES) && d.file.ends_with(".rs"))
            .map(|d| d.file_name().trim_end_matches(".rs").to_string())
            .collect();
        let snippets = directives
            .iter()
            .filter(|d| d.file.starts_with(EXAMPLES))
            .count();
        if snippets < 2 {
            problems.push(format!(
                "{}: {snippets} snippet(s) from stack/examples, needs 2",
                page.path
            ));
        }
        for ex in &examples {
            let snap = format!("examples__{ex}.snap");
            if !directives.iter().any(|d| d.file_name() == snap) {
                problems.push(format!(
                    "{}: shows {ex}.rs but not its output ({snap})",
                    page.path
                ));
            }
            if !page.text.contains(&format!("--example {ex}")) {
                problems.push(format!(
                    "{}: shows {ex}.rs but not how to run it (--example {ex})",
                    page.path
                ));
            }
        }
    }
    assert_none("snippets", &problems);
}

/// Every whole output of an example in a chapter has the playground under
/// it (`<div class="run-example" data-example="NAME">`, which
/// `book/playground/playground.js` turns into "Run it here"), naming that
/// example; and every such div names an example that exists.
#[test]
fn every_whole_output_can_be_rerun_in_the_browser() {
    let mut problems = Vec::new();
    let examples = bookcheck::repo_root().join("stack/examples");
    for page in chapters() {
        let lines: Vec<&str> = page.text.lines().collect();
        for d in source::directives(&page.text) {
            let whole = d.part
                == (Part::Lines {
                    start: SNAPSHOT_BODY,
                    end: None,
                });
            let Some(example) = d
                .file_name()
                .strip_prefix("examples__")
                .and_then(|f| f.strip_suffix(".snap"))
            else {
                continue;
            };
            if !whole || !d.file.starts_with(SNAPSHOTS) {
                continue;
            }
            let div = format!("<div class=\"run-example\" data-example=\"{example}\"></div>");
            // The include, the closing fence, a blank line, the div.
            let below = lines.get(d.line + 2).copied().unwrap_or("");
            if below.trim() != div {
                problems.push(format!(
                    "{}:{}: the output of {example} has no `{div}` under it",
                    page.path, d.line
                ));
            }
        }
        for (i, line) in lines.iter().enumerate() {
            if let Some(rest) = line
                .trim()
                .strip_prefix("<div class=\"run-example\" data-example=\"")
            {
                let name = rest.split('"').next().unwrap_or("");
                if !examples.join(format!("{name}.rs")).is_file() {
                    problems.push(format!("{}:{}: no example named {name}", page.path, i + 1));
                }
            }
        }
    }
    assert_none("playgrounds under outputs", &problems);
}

#[test]
fn no_output_is_typed_by_hand() {
    let mut problems = Vec::new();
    for page in pages() {
        for block in source::content(&page.text).code_blocks {
            if block.info.split(',').next() != Some("text") {
                continue;
            }
            let generated = |l: &str| l.starts_with("{{#include ") && l.contains(SNAPSHOTS);
            let hand_typed = block
                .body
                .lines()
                .map(str::trim)
                .any(|l| !l.is_empty() && !generated(l));
            if hand_typed {
                problems.push(format!(
                    "{}:{}: a text block holds more than includes of snapshots; outputs must come from a run",
                    page.path, block.line
                ));
            }
        }
    }
    assert_none("hand-typed output", &problems);
}

#[test]
fn every_chapter_is_a_chapter() {
    let src = bookcheck::book_src();
    let mut problems = Vec::new();
    let mut table = String::new();
    for page in chapters() {
        let n = page.entry.chapter().unwrap_or(0);
        let words = source::content(&page.text).prose_words;
        table.push_str(&format!("ch{n:02} {words:>6} words  {}\n", page.path));
        if words < 2000 {
            problems.push(format!(
                "{}: {words} words of prose; a chapter has over 2,000",
                page.path
            ));
        }
        if !source::directives(&page.text)
            .iter()
            .any(|d| d.name == "quiz")
        {
            problems.push(format!(
                "{}: no self-check quiz ({{{{#quiz ...}}}})",
                page.path
            ));
        }
        let notes = format!("instructors/ch{n:02}.md");
        if !src.join(&notes).is_file() {
            problems.push(format!("{}: no instructor's notes ({notes})", page.path));
        }
        if source::title(&page.text).is_none() {
            problems.push(format!("{}: no title (# heading)", page.path));
        }
    }
    println!("{table}");
    assert_none("chapters", &problems);
}

#[test]
fn pictures_exist_and_are_well_formed() {
    let mut problems = Vec::new();
    for page in pages() {
        for img in source::content(&page.text).images {
            if img.starts_with("http") {
                problems.push(format!(
                    "{}: {img} is not in the book (offline readers lose it)",
                    page.path
                ));
                continue;
            }
            let path = page.dir().join(&img);
            match std::fs::read(&path) {
                Err(e) => problems.push(format!("{}: {img}: {e}", page.path)),
                Ok(bytes) if img.ends_with(".svg") => {
                    let svg = String::from_utf8_lossy(&bytes);
                    if let Err(e) = roxmltree::Document::parse(&svg) {
                        problems.push(format!("{}: {img} is not well-formed XML: {e}", page.path));
                    }
                }
                Ok(_) => {}
            }
        }
    }
    assert_none("pictures", &problems);
}
