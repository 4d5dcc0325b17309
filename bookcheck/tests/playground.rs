//! The playground in a real browser (headless Chromium, the built book
//! served over HTTP as GitHub Pages or `python3 -m http.server` serve it):
//! `playground.html?example=NAME&KNOB=VALUE` writes into `#output` exactly
//! what `cargo run -q -p stack --example NAME -- --KNOB VALUE` prints, and
//! a chapter's "Run it here" button replaces the output above it with the
//! same text.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bookcheck::{chromium, mdbook, serve, tools};

/// The built book and a server for it, or `None` (skipped) without the tools.
fn served() -> Option<(PathBuf, PathBuf, serve::Server)> {
    let chromium = tools::CHROMIUM.require("run the playground in a browser")?;
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let build = mdbook::cached_build(cache)?.unwrap_or_else(|e| panic!("{e}"));
    let server = serve::serve(&build.html).expect("serve the book");
    Some((chromium, build.html, server))
}

/// What the native example prints: stdout, or stderr when it fails, and
/// its exit status.
fn native(example: &str, knobs: &[(&str, &str)]) -> (i32, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(bookcheck::repo_root()).args([
        "run",
        "-q",
        "-p",
        "stack",
        "--example",
        example,
        "--",
    ]);
    for (k, v) in knobs {
        cmd.arg(format!("--{k}")).arg(v);
    }
    let out = cmd.output().expect("cargo run");
    let code = out.status.code().unwrap_or(-1);
    let text = if code == 0 {
        out.stdout
    } else {
        [out.stdout, out.stderr].concat()
    };
    (code, String::from_utf8(text).expect("UTF-8"))
}

/// What playground.html shows for an address: its exit status and
/// `#output`'s text.
const READ_OUTPUT: &str = r#"return waitFor(function () {
  var o = document.getElementById("output");
  return o && o.getAttribute("data-status") ? o : null;
}).then(function (o) {
  return (o.getAttribute("data-exit") || o.getAttribute("data-status")) + "\n" + o.textContent;
});"#;

fn playground(
    (chromium, html, server): &(PathBuf, PathBuf, serve::Server),
    example: &str,
    knobs: &[(&str, &str)],
) -> (String, String) {
    let mut query = format!("?example={example}");
    for (k, v) in knobs {
        query.push_str(&format!("&{k}={v}"));
    }
    let got = chromium::run_in_page(
        chromium,
        html,
        "playground.html",
        &query,
        server,
        READ_OUTPUT,
        Duration::from_secs(90),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, text) = got.split_once('\n').expect("status line");
    (code.to_string(), text.to_string())
}

#[test]
fn the_playground_page_prints_what_the_native_run_prints() {
    let Some(env) = served() else { return };
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("accept_queue_overflow", &[]),
        ("accept_queue_overflow", &[("backlog", "8")]),
        (
            "accept_queue_overflow",
            &[("clients", "3"), ("accept-after", "2")],
        ),
        ("four_views", &[("seed", "7"), ("loss", "10")]),
        ("packet_journey", &[]),
        // Its `ss` lines end in blanks the snapshot trims.
        ("demux_wildcards", &[]),
    ];
    for (example, knobs) in cases {
        let (code, text) = playground(&env, example, knobs);
        let (native_code, native_text) = native(example, knobs);
        assert_eq!(code, native_code.to_string(), "{example} {knobs:?}: {text}");
        assert_eq!(text, native_text, "{example} {knobs:?}");
        if knobs.is_empty() {
            let snap = bookcheck::repo_root()
                .join(format!("stack/tests/snapshots/examples__{example}.snap"));
            let snap = std::fs::read_to_string(snap).expect("snapshot");
            // insta stores a snapshot with each line's trailing blanks and
            // the final empty lines trimmed; so does the book, which
            // includes it.
            let lines = |t: &str| -> Vec<String> {
                let mut v: Vec<String> = t.lines().map(|l| l.trim_end().to_string()).collect();
                while v.last().is_some_and(String::is_empty) {
                    v.pop();
                }
                v
            };
            let body: String = snap.split_inclusive('\n').skip(4).collect();
            assert_eq!(lines(&text), lines(&body), "{example}: not the snapshot");
        }
    }
}

#[test]
fn a_knob_out_of_range_gets_the_examples_own_error() {
    let Some(env) = served() else { return };
    let knobs = &[("backlog", "999")];
    let (code, text) = playground(&env, "accept_queue_overflow", knobs);
    let (native_code, native_text) = native("accept_queue_overflow", knobs);
    assert_eq!((code.as_str(), native_code), ("2", 2), "{text}");
    assert_eq!(text, native_text);
    assert!(text.contains("--backlog"), "{text}");
}

#[test]
fn run_it_here_replaces_a_chapters_output_in_place() {
    let Some((chromium, html, server)) = served() else {
        return;
    };
    let script = r#"var box = document.querySelector('div.run-example[data-example="accept_queue_overflow"]');
if (!box) { throw new Error("no playground under accept_queue_overflow's output"); }
box.querySelector("button.playground-open").click();
return waitFor(function () { return box.querySelector('input[name="backlog"]'); }).then(function (input) {
  input.value = "8";
  box.querySelector("form").requestSubmit();
  return waitFor(function () { return document.querySelector("pre.playground-fresh"); });
}).then(function (pre) {
  return pre.textContent + "\u0000" + box.querySelector(".playground-command").textContent;
});"#;
    let got = chromium::run_in_page(
        &chromium,
        &html,
        "ch05-tcp-in-depth.html",
        "",
        &server,
        script,
        Duration::from_secs(90),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (shown, command) = got.split_once('\0').expect("two parts");
    let (_, native_text) = native("accept_queue_overflow", &[("backlog", "8")]);
    assert_eq!(shown, native_text);
    assert_eq!(
        command,
        "cargo run -q -p stack --example accept_queue_overflow -- --backlog 8"
    );
}

/// The `sh` block of `book/playground.md`: how a reader builds the book
/// and serves it offline. Both commands are run as written (the server
/// on a port the kernel picks instead of 8000, which may be taken), and
/// the playground's page and module must come back over HTTP.
#[test]
fn the_offline_instructions_work() {
    if tools::MDBOOK
        .require("build the book as the page says")
        .is_none()
    {
        return;
    }
    let root = bookcheck::repo_root();
    let page = std::fs::read_to_string(root.join("book/playground.md")).expect("page");
    let block: Vec<&str> = page
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("an sh block")
        .lines()
        .collect();
    assert_eq!(block.len(), 2, "{block:?}");
    let words = |line: &str| {
        line.split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let (build, serve_cmd) = (words(block[0]), words(block[1]));
    assert_eq!(build[..3], ["cargo", "run", "-q"]);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = tools::MDBOOK
        .find()
        .and_then(|m| m.parent().map(PathBuf::from))
    {
        path = std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&path)))
            .expect("PATH");
    }
    let built = Command::new(&cargo)
        .args(&build[1..])
        .current_dir(&root)
        .env("PATH", &path)
        .output()
        .expect("cargo run bookcheck build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert_eq!(serve_cmd[..3], ["python3", "-m", "http.server"]);
    assert_eq!(serve_cmd.last().map(String::as_str), Some("8000"));
    let mut args = serve_cmd[1..serve_cmd.len() - 1].to_vec();
    args.push("0".into());
    let mut server = Command::new("python3")
        .args(&args)
        .current_dir(&root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .env("PYTHONUNBUFFERED", "1")
        .spawn()
        .expect("python3 -m http.server");
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().expect("stdout")),
        &mut first,
    )
    .expect("the server's first line");
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let port: u16 = first
        .split(" port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let get = |path: &str| -> Vec<u8> {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(conn, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
        let mut all = Vec::new();
        conn.read_to_end(&mut all).expect("response");
        all
    };
    let page = get("/playground.html");
    let wasm = get("/playground/playground.wasm");
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        page.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&page[..80.min(page.len())])
    );
    assert!(String::from_utf8_lossy(&page).contains("id=\"output\""));
    let body = wasm
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| &wasm[i + 4..]);
    assert_eq!(
        body.map(|b| &b[..4]),
        Some(&b"\0asm"[..]),
        "no WebAssembly module served"
    );
}
