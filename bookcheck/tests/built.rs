//! The book builds with mdBook 0.5 without a warning, every page in the
//! contents becomes a page, and no internal link or anchor of the built
//! pages leads nowhere (checked here on the HTML, and also by
//! mdbook-linkcheck2 on the sources when it is installed).

mod common;

use bookcheck::mdbook::{self, Build};
use bookcheck::tools;
use common::{assert_none, pages};

fn built() -> Option<Build> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    Some(mdbook::cached_build(cache)?.unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn mdbook_is_0_5() {
    let Some(mdbook) = tools::MDBOOK.require("build the book") else {
        return;
    };
    let out = std::process::Command::new(mdbook)
        .arg("--version")
        .output()
        .expect("mdbook --version");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.contains("v0.5."),
        "the book is written for mdBook 0.5, found {version}"
    );
}

#[test]
fn the_book_builds_without_warnings() {
    let Some(build) = built() else { return };
    assert_none(
        "mdbook build",
        &build
            .warnings()
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>(),
    );
}

#[test]
fn every_page_in_the_contents_is_built() {
    let Some(build) = built() else { return };
    let mut problems = Vec::new();
    for page in pages() {
        let html = page.entry.html_path().unwrap_or_default();
        if !build.html.join(&html).is_file() {
            problems.push(format!("{} was not built as {html}", page.path));
        }
    }
    assert!(build.html.join("print.html").is_file(), "no print.html");
    assert_none("built pages", &problems);
}

#[test]
fn internal_links_and_anchors_resolve() {
    let Some(build) = built() else { return };
    let broken: Vec<String> = mdbook::broken_links(&build.html)
        .into_iter()
        .map(|b| format!("{}: {}: {}", b.page, b.target, b.why))
        .collect();
    assert_none("links", &broken);
}
