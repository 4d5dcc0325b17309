//! Every page of the built book, opened in headless Chromium, loads with
//! no console error, no failed resource and every picture decoded.

mod common;

use std::path::{Path, PathBuf};

use bookcheck::{chromium, mdbook, tools};
use common::{assert_none, pages};

#[test]
fn every_page_loads_cleanly_in_a_browser() {
    let Some(chromium) = tools::CHROMIUM.require("open the book's pages") else {
        return;
    };
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let Some(build) = mdbook::cached_build(cache) else {
        return;
    };
    let build = build.unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<(String, PathBuf)> = pages()
        .into_iter()
        .filter_map(|p| {
            let html = p.entry.html_path()?;
            Some((p.path, build.html.join(html)))
        })
        .collect();
    files.push(("print.html".into(), build.html.join("print.html")));
    // Two browsers at a time: the machine the course targets has two cores.
    let (left, right) = files.split_at(files.len() / 2);
    let check = |files: &[(String, PathBuf)]| -> Vec<String> {
        let mut problems = Vec::new();
        for (name, file) in files {
            match chromium::check_page(&chromium, file, 5000) {
                Err(e) => problems.push(format!("{name}: {e}")),
                Ok(r) if !r.loaded => problems.push(format!("{name}: never finished loading")),
                Ok(r) => problems.extend(r.problems.iter().map(|p| format!("{name}: {p}"))),
            }
        }
        problems
    };
    let problems = std::thread::scope(|s| {
        let other = s.spawn(|| check(right));
        let mut mine = check(left);
        mine.extend(
            other
                .join()
                .unwrap_or_else(|_| vec!["a checker thread panicked".into()]),
        );
        mine
    });
    assert_none("pages in Chromium", &problems);
}

#[test]
fn a_broken_page_is_caught() {
    let Some(chromium) = tools::CHROMIUM.require("open a page") else {
        return;
    };
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("broken-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("fine.svg"), r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#).expect("svg");
    std::fs::write(
        dir.join("bad.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><unclosed></svg>",
    )
    .expect("svg");
    let page = dir.join("page.html");
    std::fs::write(
        &page,
        r#"<html><head><title>t</title></head><body>
<img src="fine.svg"><img src="gone.svg"><img src="bad.svg">
<script>console.error("an error"); undefinedFunction();</script></body></html>"#,
    )
    .expect("page");
    let report = chromium::check_page(&chromium, &page, 2000).expect("chromium runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.loaded);
    assert_eq!(report.images, 3);
    let has = |what: &str| report.problems.iter().any(|p| p.contains(what));
    assert!(has("console.error an error"), "{:?}", report.problems);
    assert!(
        has("exception") && has("undefinedFunction"),
        "{:?}",
        report.problems
    );
    assert!(has("resource") && has("gone.svg"), "{:?}", report.problems);
    assert!(has("image") && has("bad.svg"), "{:?}", report.problems);
    assert!(!has("fine.svg"), "{:?}", report.problems);
}
