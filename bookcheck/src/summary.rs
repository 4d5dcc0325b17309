//! The table of contents, `book/SUMMARY.md`, as mdBook reads it: part
//! titles (`# Labs`), numbered chapters (`- [Title](file.md)`), prefix and
//! suffix chapters (`[Title](file.md)` outside a list) and draft chapters,
//! which have a title but no file yet (`- [Title]()`).

use std::path::Path;

/// One entry of the table of contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The title shown in the sidebar.
    pub title: String,
    /// The page's file, relative to `book/`; `None` for a draft.
    pub path: Option<String>,
    /// The part heading the entry sits under, if any.
    pub part: Option<String>,
}

impl Entry {
    /// The chapter number for `chNN-*.md` pages.
    pub fn chapter(&self) -> Option<u32> {
        let name = self.path.as_deref()?;
        let rest = name.strip_prefix("ch")?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() == 2 && rest[2..].starts_with('-') {
            digits.parse().ok()
        } else {
            None
        }
    }

    /// The page mdBook renders for it, relative to the output folder.
    pub fn html_path(&self) -> Option<String> {
        let path = self.path.as_deref()?;
        Some(match path.strip_suffix(".md") {
            Some(stem) if stem.ends_with("README") || stem.ends_with("index") => {
                let dir = stem.trim_end_matches("README").trim_end_matches("index");
                format!("{dir}index.html")
            }
            Some(stem) => format!("{stem}.html"),
            None => path.to_string(),
        })
    }
}

/// Reads `SUMMARY.md` from the book's source folder.
pub fn read(book_src: &Path) -> std::io::Result<Vec<Entry>> {
    Ok(parse(&std::fs::read_to_string(
        book_src.join("SUMMARY.md"),
    )?))
}

/// Parses the text of a `SUMMARY.md`.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut part = None;
    let mut entries = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(title) = trimmed.strip_prefix("# ") {
            // The first level-1 heading is the summary's own title.
            if entries.is_empty() && part.is_none() && title.trim() == "Summary" {
                continue;
            }
            part = Some(title.trim().to_string());
            continue;
        }
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
            .unwrap_or(trimmed);
        if let Some(entry) = link(item) {
            entries.push(Entry {
                part: part.clone(),
                ..entry
            });
        }
    }
    entries
}

/// `[Title](path)` at the start of `item`.
fn link(item: &str) -> Option<Entry> {
    let rest = item.strip_prefix('[')?;
    let close = rest.find("](")?;
    let title = &rest[..close];
    let after = &rest[close + 2..];
    let end = after.find(')')?;
    let path = after[..end].trim();
    Some(Entry {
        title: title.to_string(),
        path: (!path.is_empty()).then(|| path.to_string()),
        part: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_chapters_and_drafts() {
        let text = "# Summary\n\n[Introduction](introduction.md)\n\n- [One](ch01-one.md)\n- [Later]()\n\n# Labs\n\n- [queues](labs/queues.md)\n";
        let entries = parse(text);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].part, None);
        assert_eq!(entries[1].chapter(), Some(1));
        assert_eq!(entries[1].html_path().as_deref(), Some("ch01-one.html"));
        assert_eq!(entries[2].path, None);
        assert_eq!(entries[3].part.as_deref(), Some("Labs"));
        assert_eq!(entries[3].chapter(), None);
        assert_eq!(entries[3].html_path().as_deref(), Some("labs/queues.html"));
    }

    #[test]
    fn readme_pages_render_as_index() {
        let e = &parse("- [Guide](instructors/README.md)\n")[0];
        assert_eq!(e.html_path().as_deref(), Some("instructors/index.html"));
    }
}
