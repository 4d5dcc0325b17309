//! What a page's Markdown says, read the way mdBook reads it: the
//! `{{#...}}` directives its preprocessors replace (mdBook's `links`
//! preprocessor for `{{#include}}`, mdbook-quiz for `{{#quiz}}`), its code
//! blocks, its pictures and links, and how many words of prose it has.

use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// A `{{#name target}}` directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// `include`, `quiz`, `rustdoc_include`, ...
    pub name: String,
    /// The file, as written (relative to the page's folder).
    pub file: String,
    /// Which part of the file.
    pub part: Part,
    /// 1-based line of the page it is on.
    pub line: usize,
}

/// The part of a file an include takes (mdBook's syntax after the path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The whole file.
    Whole,
    /// Between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(String),
    /// Lines `start..=end` (1-based); `None` ends run to the file's end.
    Lines { start: usize, end: Option<usize> },
}

impl Directive {
    /// The file it names, resolved against the page's folder.
    pub fn resolve(&self, page_dir: &Path) -> PathBuf {
        page_dir.join(&self.file)
    }

    /// The file's name without folders.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

/// Every directive on the page, in order. A directive escaped with a
/// backslash (`\{{#include ...}}`) is shown, not run, and is skipped.
pub fn directives(text: &str) -> Vec<Directive> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(at) = rest.find("{{#") {
            let escaped = at > 0 && rest.as_bytes()[at - 1] == b'\\';
            let body = &rest[at + 3..];
            let Some(end) = body.find("}}") else { break };
            if !escaped && let Some(d) = directive(&body[..end], i + 1) {
                found.push(d);
            }
            offset += at + 3 + end + 2;
            rest = &line[offset..];
        }
    }
    found
}

fn directive(body: &str, line: usize) -> Option<Directive> {
    let mut words = body.trim().splitn(2, char::is_whitespace);
    let name = words.next()?.to_string();
    let target = words.next().unwrap_or("").trim();
    let mut pieces = target.split(':');
    let file = pieces.next().unwrap_or("").to_string();
    let rest: Vec<&str> = pieces.collect();
    let number = |s: &str| s.trim().parse::<usize>().ok();
    let part = match rest.as_slice() {
        [] => Part::Whole,
        [one] if number(one).is_none() && !one.is_empty() => Part::Anchor(one.trim().to_string()),
        [one] => {
            let n = number(one).unwrap_or(1);
            Part::Lines {
                start: n,
                end: Some(n),
            }
        }
        [start, end, ..] => Part::Lines {
            start: number(start).unwrap_or(1),
            end: number(end),
        },
    };
    Some(Directive {
        name,
        file,
        part,
        line,
    })
}

/// The page's title: its first level-1 heading.
pub fn title(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(str::trim)
}

/// A fenced code block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBlock {
    /// The info string (`rust,ignore`, `text`, `sh`).
    pub info: String,
    /// What is between the fences.
    pub body: String,
    /// 1-based line of the opening fence.
    pub line: usize,
}

/// What the page is made of, apart from its directives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// Fenced code blocks.
    pub code_blocks: Vec<CodeBlock>,
    /// Picture sources (`![alt](src)` and `<img src>`).
    pub images: Vec<String>,
    /// Link targets (`[text](target)`).
    pub links: Vec<String>,
    /// Words of prose: text outside code blocks, HTML and directives.
    pub prose_words: usize,
}

/// Reads the page's Markdown.
pub fn content(text: &str) -> Content {
    let mut out = Content::default();
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut block: Option<CodeBlock> = None;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some(CodeBlock {
                    info,
                    body: String::new(),
                    line: line_of(range.start),
                });
            }
            Event::End(TagEnd::CodeBlock) => out.code_blocks.extend(block.take()),
            Event::Text(t) => match block.as_mut() {
                Some(b) => b.body.push_str(&t),
                None => out.prose_words += words(&t),
            },
            Event::Code(_) => out.prose_words += 1,
            Event::Start(Tag::Image { dest_url, .. }) => out.images.push(dest_url.to_string()),
            Event::Start(Tag::Link { dest_url, .. }) => out.links.push(dest_url.to_string()),
            Event::Html(h) | Event::InlineHtml(h) => out.images.extend(img_srcs(&h)),
            _ => {}
        }
    }
    out
}

/// Words in a run of text, leaving out directives and tokens without a
/// letter or digit (dashes, arrows).
fn words(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let (before, after) = match rest.find("{{#") {
            Some(at) => {
                let tail = &rest[at..];
                let end = tail.find("}}").map_or(tail.len(), |e| e + 2);
                (&rest[..at], &tail[end..])
            }
            None => (rest, ""),
        };
        count += before
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count();
        rest = after;
    }
    count
}

/// The `src` of every `<img>` in a piece of HTML.
fn img_srcs(html: &str) -> Vec<String> {
    let mut srcs = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<img") {
        rest = &rest[at + 4..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        if let Some(src) = attribute(&rest[..tag_end], "src") {
            srcs.push(src);
        }
    }
    srcs
}

/// The value of `name="..."` (or single-quoted) in a tag's text.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before_ok = at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace();
        let after = rest[at + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                return inner.find(quote).map(|end| inner[..end].to_string());
            }
        }
        rest = &rest[at + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_forms() {
        let text = "a {{#include ../x.rs:main}} b\n{{#include ../s.snap:5:}}\n{{#include f:3:9}}\n\\{{#include skipped}}\n{{#quiz quizzes/ch01.toml}}";
        let d = directives(text);
        assert_eq!(d.len(), 4);
        assert_eq!(d[0].part, Part::Anchor("main".into()));
        assert_eq!(d[0].file_name(), "x.rs");
        assert_eq!(
            d[1].part,
            Part::Lines {
                start: 5,
                end: None
            }
        );
        assert_eq!(d[1].line, 2);
        assert_eq!(
            d[2].part,
            Part::Lines {
                start: 3,
                end: Some(9)
            }
        );
        assert_eq!(d[3].name, "quiz");
        assert_eq!(d[3].part, Part::Whole);
    }

    #[test]
    fn prose_leaves_out_code_html_and_directives() {
        let text = "# Title here\n\nOne two `three` four.\n\n```text\nnot these words\n```\n\n<details>ignored</details>\n\n{{#quiz q.toml}}\n\n![a picture](img/x.svg)\n";
        let c = content(text);
        assert_eq!(c.prose_words, 2 + 4 + 2);
        assert_eq!(c.code_blocks.len(), 1);
        assert_eq!(c.code_blocks[0].info, "text");
        assert_eq!(c.code_blocks[0].line, 5);
        assert_eq!(c.images, vec!["img/x.svg".to_string()]);
    }

    #[test]
    fn attributes() {
        assert_eq!(
            attribute(r#" alt="x" src='a.svg'"#, "src").as_deref(),
            Some("a.svg")
        );
        assert_eq!(attribute(r#" data-src="no""#, "src"), None);
    }
}
