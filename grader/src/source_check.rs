//! A second line behind the build sandbox: submission source that asks the
//! compiler to read another file is refused before it is compiled.
//!
//! The sandbox is the defence: a compile-time read finds nothing there but
//! the scratch copy, the toolchain and the lab's dependencies. This check
//! only makes the common attempts fail early with a clear note, and keeps
//! a grading without a sandbox (a machine with no bubblewrap) from being an
//! open door. It reads the source with a real Rust tokenizer (proc-macro2,
//! the one procedural macros use), so comments, string literals of every
//! kind (`b"…"`, `r#"…"#`, `br"…"`, `c"…"`) and raw identifiers cannot
//! hide a token from it or desynchronise it. Source that does not tokenize
//! is refused: rustc would reject it anyway.
//!
//! Refused: the macros `include!`, `include_str!`, `include_bytes!` (named
//! anywhere, so passing the name through `macro_rules!` is caught too), a
//! `path` attribute (`#[path = "…"] mod m;`, which makes any file a
//! module), and `debugger_visualizer`, which embeds a file in the binary.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::str::FromStr;

/// Identifiers that read a file at compile time wherever they appear.
const FORBIDDEN_IDENTS: &[(&str, &str)] = &[
    ("include", "include!"),
    ("include_str", "include_str!"),
    ("include_bytes", "include_bytes!"),
    ("debugger_visualizer", "#[debugger_visualizer]"),
];

/// `Ok` if the source is acceptable, or what it uses that reads files at
/// compile time.
pub fn check(src: &str) -> Result<(), String> {
    if std::env::var_os("GRADER_NO_SOURCE_CHECK").is_some() {
        return Ok(());
    }
    let tokens =
        TokenStream::from_str(src).map_err(|e| format!("does not tokenize as Rust ({e})"))?;
    let mut found = Vec::new();
    walk(tokens, &mut found);
    found.sort();
    found.dedup();
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "uses {} (reads files at compile time)",
            found.join(", ")
        ))
    }
}

fn walk(tokens: TokenStream, found: &mut Vec<&'static str>) {
    let mut prev_is_pound = false;
    for tt in tokens {
        match &tt {
            TokenTree::Ident(i) => {
                let name = i.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name);
                if let Some((_, shown)) = FORBIDDEN_IDENTS.iter().find(|(n, _)| *n == name) {
                    found.push(shown);
                }
            }
            TokenTree::Group(g) => {
                // `#[path …]` and `#![path …]`: the attribute's first token.
                if prev_is_pound
                    && g.delimiter() == Delimiter::Bracket
                    && g.stream()
                        .into_iter()
                        .next()
                        .is_some_and(|t| matches!(t, TokenTree::Ident(i) if i == "path"))
                {
                    found.push("#[path]");
                }
                walk(g.stream(), found);
            }
            _ => {}
        }
        prev_is_pound = match &tt {
            TokenTree::Punct(p) => p.as_char() == '#' || (prev_is_pound && p.as_char() == '!'),
            _ => false,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn refused(src: &str) -> String {
        check(src).expect_err(src)
    }

    #[test]
    fn file_reads_are_refused_wherever_they_hide() {
        assert!(
            refused(r#"const X: &str = include_str!("../tests/x.rs");"#).contains("include_str!")
        );
        assert!(
            refused("macro_rules! m { ($i:ident) => { $i!(\"f\") } } m!(include);")
                .contains("include!")
        );
        assert!(refused("fn g() { r#include_bytes!(\"x\"); }").contains("include_bytes!"));
        assert!(refused("#[path = \"/etc/passwd\"] mod m;").contains("#[path]"));
        assert!(refused("#![path = \"x\"]").contains("#[path]"));
        assert!(
            refused("#![debugger_visualizer(natvis_file = \"/x\")]")
                .contains("debugger_visualizer")
        );
        // Byte and C raw strings before the read cannot desynchronise it.
        let desync = "const A: &[u8] = br#\"\"\"#; const B: &core::ffi::CStr = cr\"x\";\n\
                      const C: &str = include_str!(\"/abs/hidden.rs\");";
        assert!(refused(desync).contains("include_str!"));
        assert!(refused("fn f() { \"unterminated }").contains("does not tokenize"));
    }

    #[test]
    fn comments_strings_and_lookalikes_are_fine() {
        for ok in [
            "// include_str!(\"x\")\nfn f() {}",
            "/* include! */ fn f() { let s = \"include!\"; }",
            "fn f() -> char { 'i' } fn included() {}",
            "fn g() -> &'static str { r#\"include!\"# }",
            "#[derive(Debug)] struct P { path: u8 } fn f(p: P) -> u8 { p.path }",
            "#[doc = \"#[path]\"] fn h() {}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }
}
