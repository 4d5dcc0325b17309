//! `bookcheck build`: the book as it is published, HTML and PDF.
//!
//! Builds the book with mdBook (and mdbook-linkcheck2 when installed) into
//! `--out` (default `target/book`; the pages go to `<out>/html`), fails on
//! any warning mdBook prints or any broken internal link, then prints the whole book (`print.html`) to
//! `<out>/html/socket-journey.pdf` with headless Chromium, so the PDF is served
//! next to the pages it was made from. The checks of the result are this
//! crate's tests.

use std::path::PathBuf;
use std::process::ExitCode;

use bookcheck::{chromium, mdbook, tools};
use clap::{Parser, Subcommand};

/// The published PDF's name inside the output folder.
const PDF: &str = "socket-journey.pdf";

#[derive(Parser)]
#[command(about = "Build the course book: HTML and PDF")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the HTML book and its PDF.
    Build {
        /// Output folder.
        #[arg(long, default_value = "target/book")]
        out: PathBuf,
        /// Only the HTML (no Chromium needed).
        #[arg(long)]
        no_pdf: bool,
    },
}

fn main() -> ExitCode {
    let Cmd::Build { out, no_pdf } = Cli::parse().command;
    match build(&out, no_pdf) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bookcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build(out: &std::path::Path, no_pdf: bool) -> Result<(), String> {
    let missing = |t: tools::Tool| format!("{} is not installed: {}", t.name, t.install);
    let mdbook = tools::MDBOOK.find().ok_or_else(|| missing(tools::MDBOOK))?;
    let root = bookcheck::repo_root();
    let out = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join(out);
    // With mdbook-linkcheck2 as a second backend, mdBook writes the HTML
    // to `<out>/html`; without it, it is told to write there.
    let linkcheck = tools::LINKCHECK.find();
    let dest = match linkcheck {
        Some(_) => out.clone(),
        None => out.join("html"),
    };
    let built = mdbook::build(&mdbook, &root, &dest, linkcheck.as_deref())?;
    let warnings = built.warnings();
    if !warnings.is_empty() {
        return Err(format!("mdbook printed warnings:\n{}", warnings.join("\n")));
    }
    let broken = mdbook::broken_links(&built.html);
    if let Some(b) = broken.first() {
        return Err(format!(
            "{} broken link(s), the first in {}: {} ({})",
            broken.len(),
            b.page,
            b.target,
            b.why
        ));
    }
    println!("html: {}", built.html.display());
    if no_pdf {
        return Ok(());
    }
    let chromium = tools::CHROMIUM
        .find()
        .ok_or_else(|| missing(tools::CHROMIUM))?;
    let pdf = built.html.join(PDF);
    chromium::print_to_pdf(&chromium, &built.html.join("print.html"), &pdf)?;
    println!("pdf: {}", pdf.display());
    Ok(())
}
