//! Headless Chromium: loading a built page the way a reader's browser does,
//! and printing the whole book to PDF.
//!
//! A page is checked by loading a copy of it with a small script put first
//! in its `<head>`. The script reports, through the console Chromium logs
//! to stderr (`--enable-logging=stderr`), every `console.error`/`warn`,
//! every uncaught exception or rejected promise, every element whose
//! resource failed to load (`error` events, caught on the way down), and,
//! once the page has loaded, every picture that did not decode
//! (`naturalWidth == 0`). The copy sits next to the page, so its relative
//! links resolve as the page's do, and is removed afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROBE: &str = r#"<script>(function () {
  var say = function (kind, msg) { console.log("BOOKCHECK " + kind + " " + msg); };
  ["error", "warn"].forEach(function (level) {
    var orig = console[level].bind(console);
    console[level] = function () {
      say("console." + level, Array.prototype.join.call(arguments, " "));
      orig.apply(null, arguments);
    };
  });
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { say("resource", t.src || t.href); }
    else { say("exception", e.message + " at " + e.filename + ":" + e.lineno); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { say("rejection", String(e.reason)); });
  window.addEventListener("load", function () {
    Array.prototype.forEach.call(document.images, function (img) {
      if (!img.complete || img.naturalWidth === 0) { say("image", img.currentSrc || img.src); }
    });
    say("loaded", document.images.length + " images");
  });
})();</script>"#;

/// What loading a page showed.
#[derive(Clone, Debug, Default)]
pub struct PageReport {
    /// Whether the page's `load` event fired.
    pub loaded: bool,
    /// How many pictures the page has.
    pub images: usize,
    /// Errors, warnings, failed resources and broken pictures.
    pub problems: Vec<String>,
}

fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-dev-shm-usage",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// A fresh browser profile, so runs in parallel do not share one.
fn profile(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bookcheck-chromium-{}-{tag}", std::process::id()))
}

/// Loads `page` (an HTML file of the built book) and reports what went
/// wrong. `budget_ms` is the virtual time the page gets to settle.
pub fn check_page(chromium: &Path, page: &Path, budget_ms: u32) -> Result<PageReport, String> {
    let html = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
    let Some(head) = html.find("<head>") else {
        return Err(format!("{}: no <head>", page.display()));
    };
    let at = head + "<head>".len();
    let probed = format!("{}{PROBE}{}", &html[..at], &html[at..]);
    let stem = page.file_stem().and_then(|s| s.to_str()).unwrap_or("page");
    let tag = format!("{stem}-{}", std::process::id());
    let copy = page.with_file_name(format!(".bookcheck-{tag}.html"));
    std::fs::write(&copy, probed).map_err(|e| format!("{}: {e}", copy.display()))?;
    let profile = profile(stem);
    let mut cmd = headless(chromium, &profile);
    cmd.args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("file://{}", copy.display()));
    let output = cmd.output();
    let _ = std::fs::remove_file(&copy);
    let _ = std::fs::remove_dir_all(&profile);
    let output = output.map_err(|e| format!("running {}: {e}", chromium.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut report = PageReport::default();
    let mut heard = false;
    for line in stderr.lines() {
        let Some(at) = line.find("BOOKCHECK ") else {
            continue;
        };
        heard = true;
        let msg = line[at + "BOOKCHECK ".len()..].trim_end();
        // Chromium quotes the message and appends `", source: ...`.
        let msg = msg.split("\", source:").next().unwrap_or(msg);
        match msg.strip_prefix("loaded ") {
            Some(rest) => {
                report.loaded = true;
                report.images = rest
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            None => report
                .problems
                .push(msg.replace(&format!(".bookcheck-{tag}.html"), &format!("{stem}.html"))),
        }
    }
    if !heard {
        // Not even the probe's own lines: the page did not run, or the
        // browser no longer logs the console to stderr. Either way nothing
        // about the page can be concluded, so say so rather than pass.
        return Err(format!(
            "the probe script reported nothing through {} (exit {}); a browser update may \
             have changed headless logging or page loading.\ncommand: {}\nwhat it said \
             (D-Bus noise left out):\n{}",
            version(chromium),
            output.status,
            command_line(&cmd),
            meaningful_stderr(&output.stderr)
        ));
    }
    Ok(report)
}

/// Prints `print_html` (mdBook's whole-book page) to `pdf`.
///
/// Chromium prints once the page has loaded. No `--virtual-time-budget`
/// here: from Chromium 156 on, `--print-to-pdf` combined with it exits
/// with status 0 and writes nothing. A browser that changes behaviour like
/// that again gets the same treatment: the error names the browser's
/// version and the exact command, so the cause is one step away.
pub fn print_to_pdf(chromium: &Path, print_html: &Path, pdf: &Path) -> Result<(), String> {
    let profile = profile("print");
    let mut cmd = headless(chromium, &profile);
    cmd.arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", print_html.display()));
    let output = cmd.output();
    let _ = std::fs::remove_dir_all(&profile);
    let output = output.map_err(|e| format!("running {}: {e}", chromium.display()))?;
    let written = std::fs::metadata(pdf).map(|m| m.len()).unwrap_or(0);
    if written == 0 {
        return Err(format!(
            "{} wrote no PDF although it exited with {}; a browser update may have \
             changed how headless printing works.\ncommand: {}\nwhat it said (D-Bus \
             noise left out):\n{}",
            version(chromium),
            output.status,
            command_line(&cmd),
            meaningful_stderr(&output.stderr)
        ));
    }
    Ok(())
}

/// What `chromium --version` says, or why it said nothing.
pub fn version(chromium: &Path) -> String {
    match Command::new(chromium).arg("--version").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => format!("{} (--version failed: {e})", chromium.display()),
    }
}

fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Chromium's stderr without the lines every headless run prints on a
/// machine with no D-Bus (they say nothing about the page).
fn meaningful_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("dbus/") && !l.trim().is_empty())
        .collect();
    if kept.is_empty() {
        "(nothing)".to_string()
    } else {
        kept.join("\n")
    }
}

/// The text of a PDF, pages in order, as `pdftotext` extracts it.
pub fn pdf_text(pdftotext: &Path, pdf: &Path) -> Result<String, String> {
    let output = Command::new(pdftotext)
        .arg(pdf)
        .arg("-")
        .output()
        .map_err(|e| format!("running {}: {e}", pdftotext.display()))?;
    if !output.status.success() {
        return Err(format!(
            "pdftotext failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Text with runs of white space made one space and typographic quotes
/// made plain, so a heading matches however the PDF wrapped it.
pub fn normalise(text: &str) -> String {
    text.replace(['\u{2019}', '\u{2018}'], "'")
        .replace(['\u{201c}', '\u{201d}'], "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens `page` (a file under `html`, which `server` serves) with `query`
/// appended, runs `body` (the body of a JavaScript function returning a
/// string or a promise of one) once the page has loaded, and returns that
/// string. The script is put first in a copy of the page, next to it, and
/// reports through the console in chunks (long texts survive Chromium's
/// logging); the browser is stopped as soon as the whole text is in, or
/// after `timeout`.
pub fn run_in_page(
    chromium: &Path,
    html: &Path,
    page: &str,
    query: &str,
    server: &crate::serve::Server,
    body: &str,
    timeout: std::time::Duration,
) -> Result<String, String> {
    use std::io::BufRead;
    let file = html.join(page);
    let source = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let Some(head) = source.find("<head>") else {
        return Err(format!("{page}: no <head>"));
    };
    let at = head + "<head>".len();
    let script = format!(
        r#"<script>window.addEventListener("load", function () {{
  var report = function (kind, s) {{
    var n = Math.max(1, Math.ceil(s.length / 1000));
    for (var i = 0; i < n; i++) {{
      console.log("BOOKCHECK " + kind + " " + i + " " + n + " " + JSON.stringify(s.slice(i * 1000, (i + 1) * 1000)));
    }}
  }};
  var waitFor = function (test, ms) {{
    return new Promise(function (ok, fail) {{
      var t0 = Date.now();
      var t = setInterval(function () {{
        var v = test();
        if (v) {{ clearInterval(t); ok(v); }}
        else if (Date.now() - t0 > (ms || 60000)) {{ clearInterval(t); fail(new Error("timed out waiting")); }}
      }}, 25);
    }});
  }};
  Promise.resolve().then(function () {{ {body} }}).then(
    function (s) {{ report("part", String(s)); }},
    function (e) {{ report("fail", String(e)); }});
}});</script>"#
    );
    let n = NEXT_COPY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!("{}-{n}", std::process::id());
    let copy_name = format!(".bookcheck-run-{tag}.html");
    let copy = file.with_file_name(&copy_name);
    std::fs::write(&copy, format!("{}{script}{}", &source[..at], &source[at..]))
        .map_err(|e| format!("{}: {e}", copy.display()))?;
    let rel = Path::new(page).with_file_name(&copy_name);
    let url = format!("{}{}{query}", server.base, rel.display());
    let profile = profile(&format!("run-{tag}"));
    let mut cmd = headless(chromium, &profile);
    cmd.args([
        "--enable-logging=stderr",
        "--v=0",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(&url)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let result = (|| {
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("running {}: {e}", chromium.display()))?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + timeout;
        let mut parts: Vec<Option<String>> = Vec::new();
        let mut failed = None;
        let mut heard = Vec::new();
        let outcome = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                break Err(format!(
                    "{url}: no answer within {timeout:?}; the browser said:\n{}",
                    heard.join("\n")
                ));
            };
            let Some(at) = line.find("BOOKCHECK ") else {
                if !line.contains("dbus/") {
                    heard.push(line);
                }
                continue;
            };
            let msg = &line[at + "BOOKCHECK ".len()..];
            let msg = msg.rsplit_once("\", source:").map_or(msg, |(m, _)| m);
            let mut f = msg.splitn(4, ' ');
            let (kind, i, total, text) = (f.next(), f.next(), f.next(), f.next());
            let (Some(kind), Some(i), Some(total), Some(text)) = (
                kind,
                i.and_then(|v| v.parse::<usize>().ok()),
                total.and_then(|v| v.parse::<usize>().ok()),
                text.and_then(|t| serde_json::from_str::<String>(t).ok()),
            ) else {
                continue;
            };
            if parts.len() != total {
                parts = vec![None; total];
            }
            if let Some(slot) = parts.get_mut(i) {
                *slot = Some(text);
            }
            if kind == "fail" {
                failed = Some(());
            }
            if parts.iter().all(Option::is_some) {
                let text: String = parts.iter().flatten().map(String::as_str).collect();
                break match failed {
                    Some(()) => Err(format!("{url}: the script failed: {text}")),
                    None => Ok(text),
                };
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        outcome
    })();
    let _ = std::fs::remove_file(&copy);
    let _ = std::fs::remove_dir_all(&profile);
    result
}

/// Numbers the page copies of one process, which may run pages in parallel.
static NEXT_COPY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in browser that behaves as Chromium 156 did with
    /// `--virtual-time-budget`: it exits 0 and writes no PDF.
    fn silent_browser(dir: &Path) -> PathBuf {
        let path = dir.join("chromium");
        std::fs::write(
            &path,
            "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Chromium 999.0 test double' && exit 0\n\
             echo '[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus' >&2\n\
             echo 'printing is broken today' >&2\nexit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_browser_that_writes_no_pdf_is_named_with_its_version_and_command() {
        let dir = std::env::temp_dir().join(format!("bookcheck-silent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let browser = silent_browser(&dir);
        let err = print_to_pdf(&browser, &dir.join("print.html"), &dir.join("out.pdf"))
            .expect_err("no PDF was written");
        let page = dir.join("page.html");
        std::fs::write(&page, "<html><head></head><body></body></html>").unwrap();
        let quiet = check_page(&browser, &page, 100).expect_err("the probe said nothing");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("wrote no PDF"), "{err}");
        assert!(err.contains("Chromium 999.0 test double"), "{err}");
        assert!(err.contains("--print-to-pdf="), "{err}");
        assert!(err.contains("printing is broken today"), "{err}");
        assert!(!err.contains("dbus/"), "{err}");
        assert!(quiet.contains("reported nothing"), "{quiet}");
        assert!(quiet.contains("Chromium 999.0 test double"), "{quiet}");
    }
}
