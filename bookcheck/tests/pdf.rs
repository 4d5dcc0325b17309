//! The PDF for offline reading has the whole book: every page of the
//! contents, in order, found by its title in the PDF's text.

mod common;

use std::path::Path;

use bookcheck::chromium::{self, normalise};
use bookcheck::{mdbook, source, tools};
use common::{assert_none, pages};

#[test]
fn the_pdf_has_every_page_in_order() {
    let Some(chromium) = tools::CHROMIUM.require("print the book to PDF") else {
        return;
    };
    let Some(pdftotext) = tools::PDFTOTEXT.require("read the PDF back") else {
        return;
    };
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let Some(build) = mdbook::cached_build(cache) else {
        return;
    };
    let build = build.unwrap_or_else(|e| panic!("{e}"));
    let pdf = cache.join(format!("book-{}.pdf", std::process::id()));
    chromium::print_to_pdf(&chromium, &build.html.join("print.html"), &pdf)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = chromium::pdf_text(&pdftotext, &pdf);
    let _ = std::fs::remove_file(&pdf);
    let text = normalise(&text.unwrap_or_else(|e| panic!("{e}")));
    let mut problems = Vec::new();
    let mut from = 0;
    for page in pages() {
        let Some(title) = source::title(&page.text) else {
            problems.push(format!("{}: no title to look for", page.path));
            continue;
        };
        let title = normalise(&title.replace('`', ""));
        match text[from..].find(&title) {
            Some(at) => from += at + title.len(),
            None if text.contains(&title) => {
                problems.push(format!("{}: {title:?} is out of order", page.path))
            }
            None => problems.push(format!("{}: {title:?} is not in the PDF", page.path)),
        }
    }
    assert_none("PDF", &problems);
}
