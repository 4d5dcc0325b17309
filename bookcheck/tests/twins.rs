//! The real-machine twins (`twins/`): short C programs a reader types into
//! a real Linux machine, each the twin of a simulated snippet of the book.
//! They run here against this machine's kernel over loopback.
//!
//! - Every twin builds with the system C compiler (`cc`) as C11, with
//!   `-Wall -Wextra -Werror -pedantic`.
//! - Every command the book and `twins/README.md` show for them runs as
//!   shown (docs are code): the `cc` lines exactly, with nothing on
//!   stderr; the servers on port 0, the port the kernel gave them read from
//!   their first line and put where the clients' commands say `PORT`; the
//!   clients after them. Then the outputs are checked as a reader would
//!   check them: the echo comes back, each datagram is received whole and
//!   alone, every client was served.
//! - The epoll server serves several clients at once, and the twins report
//!   failed calls perror-style with a non-zero exit.
//!
//! Without `cc` these tests fail and say so: the twins are C programs.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// How long one documented session (a server and its clients) may take.
const SESSION: Duration = Duration::from_secs(30);

/// The twins that serve: started first, in the background, with port 0.
const SERVERS: &[&str] = &["echo_server", "epoll_server", "udp_receiver"];

/// The chapters with a twin paragraph, and the twins each one runs.
const CHAPTERS: &[(&str, &[&str])] = &[
    ("ch01-", &["echo_server", "echo_client"]),
    ("ch02-", &["echo_server", "echo_client"]),
    ("ch06-", &["udp_receiver", "udp_sender"]),
    ("ch08-", &["epoll_server", "echo_client"]),
];

fn twins_dir() -> PathBuf {
    bookcheck::repo_root().join("twins")
}

/// The twins' names (`twins/NAME.c`), sorted.
fn twins() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(twins_dir())
        .expect("twins/")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "c").then_some(stem)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no twins/*.c");
    names
}

/// The system C compiler, or a failure that says what is missing.
fn cc() -> PathBuf {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("cc"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`cc` is not installed: the real-machine twins in twins/ are C programs, built \
                 and run by this test with the system C compiler. Install one \
                 (`apt-get install gcc`, which provides `cc`) and run the test again."
            )
        })
}

/// A folder for one test's builds and runs, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("twins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }

    /// A subfolder holding copies of `twins/*.c` (under `twins/` when
    /// `nested`, as in the repository) and every twin already built there,
    /// as a reader who followed the build commands has them.
    fn workdir(&self, name: &str, nested: bool) -> PathBuf {
        let built = self.built();
        let dir = self.0.join(name);
        let sources = if nested {
            dir.join("twins")
        } else {
            dir.clone()
        };
        std::fs::create_dir_all(&sources).expect("work folder");
        for twin in twins() {
            let c = format!("{twin}.c");
            std::fs::copy(twins_dir().join(&c), sources.join(&c)).expect("copy a twin");
            std::fs::copy(built.join(&twin), dir.join(&twin)).expect("copy a built twin");
        }
        dir
    }

    /// Every twin built as C11 with warnings as errors (once per test).
    fn built(&self) -> PathBuf {
        let out = self.0.join("built");
        if out.is_dir() {
            return out;
        }
        std::fs::create_dir_all(&out).expect("build folder");
        let cc = cc();
        let mut problems = Vec::new();
        for twin in twins() {
            let result = Command::new(&cc)
                .args([
                    "-std=c11",
                    "-pedantic",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-O2",
                ])
                .arg("-o")
                .arg(out.join(&twin))
                .arg(twins_dir().join(format!("{twin}.c")))
                .output()
                .expect("run cc");
            if !result.status.success() || !result.stderr.is_empty() {
                problems.push(format!(
                    "twins/{twin}.c:\n{}",
                    String::from_utf8_lossy(&result.stderr)
                ));
            }
        }
        common::assert_none(
            "twins that do not build cleanly (cc -std=c11 -pedantic -Wall -Wextra -Werror)",
            &problems,
        );
        out
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------
// Commands as the documents show them.

/// A command line, split into words as `sh` splits it (quotes, and a
/// trailing `&`: enough for what the documents show, and a failure for
/// anything more).
#[derive(Clone, Debug)]
struct Cmd {
    text: String,
    words: Vec<String>,
    background: bool,
}

fn parse(text: &str) -> Cmd {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in text.trim().chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '|' | ';' | '<' | '>' | '$' | '`' | '(' | ')' | '\\') => {
                panic!("`{text}`: shell syntax this test cannot run as shown ({c:?})")
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "`{text}`: an unclosed quote");
    if in_word {
        words.push(word);
    }
    let background = words.last().is_some_and(|w| w == "&");
    if background {
        words.pop();
    }
    assert!(
        !words.iter().any(|w| w.contains('&')),
        "`{text}`: shell syntax this test cannot run as shown (&)"
    );
    Cmd {
        text: text.trim().to_string(),
        words,
        background,
    }
}

/// Whether a piece of code is a command of this repository's twins: it
/// builds with `cc` (`cc` alone is the compiler's name) or runs a program
/// of the current folder (`./NAME`).
fn is_command(code: &str) -> bool {
    let mut words = code.split_whitespace();
    let first = words.next().unwrap_or("");
    (first == "cc" && words.next().is_some()) || first.starts_with("./")
}

/// What a document shows, block by block (a paragraph, a list item, a
/// code block): its inline code, or the lines of its `sh` blocks (with
/// comments cut), in order.
fn blocks(markdown: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut sh = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Paragraph | Tag::Item | Tag::CodeBlock(_))
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock) => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                sh = match event {
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                        Some(info.split(',').next() == Some("sh"))
                    }
                    Event::Start(Tag::CodeBlock(_)) => Some(false),
                    _ => None,
                };
            }
            Event::Code(code) if sh.is_none() => current.push(code.to_string()),
            Event::Text(text) if sh == Some(true) => {
                for line in text.lines() {
                    let line = line.split(" #").next().unwrap_or("").trim();
                    if !line.is_empty() && !line.starts_with('#') {
                        current.push(line.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The sessions a document shows: the commands of each block that has
/// any, in order. `where_` names the document in messages.
fn sessions(markdown: &str, where_: &str) -> Vec<(String, Vec<Cmd>)> {
    blocks(markdown)
        .into_iter()
        .filter_map(|block| {
            let cmds: Vec<Cmd> = block
                .iter()
                .filter(|c| is_command(c))
                .map(|c| parse(c))
                .collect();
            (!cmds.is_empty()).then(|| {
                let first = cmds[0].text.clone();
                (format!("{where_}, the block with `{first}`"), cmds)
            })
        })
        .collect()
}

// ---------------------------------------------------------------------
// Running them.

/// A twin running, its output read as it comes.
struct Proc {
    name: String,
    args: Vec<String>,
    child: Child,
    lines: Receiver<String>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

/// What a twin did.
#[derive(Debug)]
struct Ran {
    name: String,
    args: Vec<String>,
    /// `None`: it was still running at the deadline and was killed.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn describe(&self) -> String {
        format!(
            "./{} {}: {}\n--- stdout\n{}--- stderr\n{}",
            self.name,
            self.args.join(" "),
            match self.status {
                Some(s) => s.to_string(),
                None => "killed: still running at the deadline".to_string(),
            },
            self.stdout,
            self.stderr
        )
    }
}

impl Proc {
    fn spawn(dir: &Path, name: &str, args: &[String]) -> Proc {
        let mut child = Command::new(dir.join(name))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("./{name}: {e}"));
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = err.read_to_string(&mut all);
            all
        });
        Proc {
            name: name.to_string(),
            args: args.to_vec(),
            child,
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
            status: None,
        }
    }

    /// Waits for the process to end, killing it at the deadline.
    fn finish(mut self, deadline: Instant) -> Ran {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                self.status = Some(status);
                break;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        Ran {
            name: self.name.clone(),
            args: self.args.clone(),
            status: self.status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts a server and reads the port it printed on its first line
/// (`listening on 127.0.0.1:PORT`, `bound to 127.0.0.1:PORT`).
fn start_server(dir: &Path, name: &str, args: &[String]) -> (Proc, u16) {
    let server = Proc::spawn(dir, name, args);
    let first = server.lines.recv_timeout(Duration::from_secs(10));
    let port = first
        .as_deref()
        .ok()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok());
    match port {
        Some(port) if port != 0 => (server, port),
        _ => {
            let ran = server.finish(Instant::now());
            panic!(
                "./{name} did not print the port it got on its first line:\n{}",
                ran.describe()
            )
        }
    }
}

/// Runs one session as a reader would type it: `cc` lines to completion
/// (they must succeed and print nothing), the server in the background,
/// then the clients, `PORT` replaced by the server's port, each to
/// completion unless it ends with `&`; then waits for everything.
fn run_session(dir: &Path, where_: &str, cmds: &[Cmd]) -> Vec<Ran> {
    let deadline = Instant::now() + SESSION;
    let mut server: Option<(Proc, u16)> = None;
    let mut background = Vec::new();
    let mut ran = Vec::new();
    for cmd in cmds {
        let first = cmd.words[0].as_str();
        if first == "cc" {
            assert!(
                !cmd.background,
                "{where_}: `{}` in the background",
                cmd.text
            );
            let out = Command::new(cc())
                .args(&cmd.words[1..])
                .current_dir(dir)
                .output()
                .expect("run cc");
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{where_}: `{}` does not build cleanly:\n{}",
                cmd.text,
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let name = first
            .strip_prefix("./")
            .unwrap_or_else(|| panic!("{where_}: `{}`: a command no test runs", cmd.text));
        assert!(
            twins().iter().any(|t| t == name),
            "{where_}: `{}` runs no twin (twins/{name}.c does not exist)",
            cmd.text
        );
        if SERVERS.contains(&name) {
            assert!(
                server.is_none(),
                "{where_}: a second server in one block: `{}`",
                cmd.text
            );
            assert!(
                cmd.words.get(1).map(String::as_str) == Some("0"),
                "{where_}: `{}`: a server the documents start should take port 0, so that \
                 the kernel picks a free port and tests cannot collide",
                cmd.text
            );
            server = Some(start_server(dir, name, &cmd.words[1..]));
            continue;
        }
        let args: Vec<String> = cmd.words[1..]
            .iter()
            .map(|w| match (w.as_str(), &server) {
                ("PORT", Some((_, port))) => port.to_string(),
                ("PORT", None) => panic!("{where_}: `{}` before any server", cmd.text),
                _ => w.clone(),
            })
            .collect();
        let client = Proc::spawn(dir, name, &args);
        if cmd.background {
            background.push(client);
        } else {
            ran.push(client.finish(deadline));
        }
    }
    ran.extend(background.into_iter().map(|p| p.finish(deadline)));
    ran.extend(server.map(|(p, _)| p.finish(deadline)));
    ran
}

// ---------------------------------------------------------------------
// Checking what they printed.

/// The quoted text of a line (`read 5 bytes: "hello"`), unescaped.
fn quoted(line: &str) -> String {
    let start = line.find('"').map_or(line.len(), |i| i + 1);
    let end = line.rfind('"').unwrap_or(line.len()).max(start);
    let mut out = Vec::new();
    let mut chars = line[start..end].chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            Some(c) => out.push(c as u8),
            None => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The number right after `prefix` at the start of a line (`read 13 bytes`).
fn count_after(line: &str, prefix: &str) -> Option<usize> {
    line.strip_prefix(prefix)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What the servers received, connection by connection: the text of
/// their `read N bytes` lines, in order, grouped by the `accept()` that
/// opened the connection (fd numbers come back after a close).
fn per_connection(stdout: &str) -> Vec<String> {
    let mut conns: Vec<String> = Vec::new();
    let mut by_fd: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("accept() -> fd ") {
            let fd = rest.split(',').next().unwrap_or("").to_string();
            by_fd.insert(fd, conns.len());
            last = Some(conns.len());
            conns.push(String::new());
        } else if line.starts_with("read ") && !line.starts_with("read()") {
            if let Some(i) = last {
                conns[i].push_str(&quoted(line));
            }
        } else if let Some(rest) = line.strip_prefix("fd ")
            && let Some((fd, what)) = rest.split_once(": ")
            && what.starts_with("read ")
            && !what.starts_with("read()")
            && let Some(&i) = by_fd.get(fd)
        {
            conns[i].push_str(&quoted(what));
        }
    }
    conns
}

/// Checks a session's outputs; returns its problems.
fn check_session(ran: &[Ran]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut messages: Vec<String> = Vec::new();
    let mut datagrams: Vec<String> = Vec::new();
    for r in ran {
        if r.status.is_none_or(|s| !s.success()) {
            problems.push(format!("it did not succeed:\n{}", r.describe()));
            continue;
        }
        let lines: Vec<&str> = r.stdout.lines().collect();
        let mut bad = |why: String| problems.push(format!("{why}:\n{}", r.describe()));
        match r.name.as_str() {
            "echo_client" => {
                let msg = r.args[1].clone();
                let port = &r.args[0];
                if !lines.first().is_some_and(|l| {
                    l.starts_with("connect() returned: 127.0.0.1:")
                        && l.ends_with(&format!(" -> 127.0.0.1:{port}"))
                }) {
                    bad("no `connect() returned: 127.0.0.1:N -> 127.0.0.1:PORT` first".into());
                }
                let written: usize = lines
                    .iter()
                    .filter_map(|l| count_after(l, "write() -> "))
                    .sum();
                if written != msg.len() {
                    bad(format!(
                        "write() returned {written} in all, not {}",
                        msg.len()
                    ));
                }
                let echo: String = lines
                    .iter()
                    .filter(|l| l.starts_with("read "))
                    .map(|l| quoted(l))
                    .collect();
                if echo != msg {
                    bad(format!("the echo is {echo:?}, not {msg:?}"));
                }
                messages.push(msg);
            }
            "udp_sender" => {
                for (i, msg) in r.args[1..].iter().enumerate() {
                    let want = format!(
                        "sendto() returned {}: one datagram, handed to the kernel",
                        msg.len()
                    );
                    if lines.get(i) != Some(&want.as_str()) {
                        bad(format!("line {} is not `{want}`", i + 1));
                    }
                }
                datagrams.extend(r.args[1..].iter().cloned());
            }
            _ => {}
        }
    }
    for r in ran {
        if r.status.is_none_or(|s| !s.success()) {
            continue;
        }
        let lines: Vec<&str> = r.stdout.lines().collect();
        let mut bad = |why: String| problems.push(format!("{why}:\n{}", r.describe()));
        let count = |default: usize| r.args.get(1).map_or(default, |n| n.parse().unwrap_or(0));
        match r.name.as_str() {
            "echo_server" | "epoll_server" => {
                let clients = count(if r.name == "echo_server" { 1 } else { 3 });
                if !lines
                    .first()
                    .is_some_and(|l| l.starts_with("listening on 127.0.0.1:"))
                {
                    bad("no `listening on 127.0.0.1:PORT` first".into());
                }
                let accepted = lines
                    .iter()
                    .filter(|l| l.starts_with("accept() -> fd "))
                    .count();
                let closed = lines
                    .iter()
                    .filter(|l| {
                        **l == "read() -> 0: the client closed its side"
                            || (l.starts_with("fd ") && l.ends_with(": read() -> 0, closing"))
                    })
                    .count();
                if accepted != clients || closed != clients {
                    bad(format!(
                        "{accepted} accepted and {closed} closed at the end of the stream, not {clients}"
                    ));
                }
                if r.name == "epoll_server"
                    && lines.last() != Some(&format!("served {clients} clients; exiting").as_str())
                {
                    bad(format!("no `served {clients} clients; exiting` last"));
                }
                let mut got = per_connection(&r.stdout);
                let mut sent = messages.clone();
                got.sort();
                sent.sort();
                if got != sent {
                    bad(format!(
                        "received {got:?} on its connections; the clients sent {sent:?}"
                    ));
                }
            }
            "udp_receiver" => {
                if !lines
                    .first()
                    .is_some_and(|l| l.starts_with("bound to 127.0.0.1:"))
                {
                    bad("no `bound to 127.0.0.1:PORT` first".into());
                }
                let received: Vec<&str> = lines
                    .iter()
                    .copied()
                    .filter(|l| l.starts_with("recvfrom() returned "))
                    .collect();
                if received.len() != count(2) {
                    bad(format!("{} datagrams, not {}", received.len(), count(2)));
                }
                // One call, one datagram: each is one sendto()'s message,
                // whole and alone, of the length recvfrom() returned.
                for (line, want) in received.iter().zip(&datagrams) {
                    let text = quoted(line);
                    let n = count_after(line, "recvfrom() returned ");
                    if &text != want || n != Some(want.len()) || !line.contains(" from 127.0.0.1:")
                    {
                        bad(format!(
                            "`{line}` is not the datagram {want:?} from 127.0.0.1"
                        ));
                    }
                }
                if received.len() != datagrams.len() {
                    bad(format!("the sender sent {datagrams:?}"));
                }
            }
            _ => {}
        }
    }
    problems
}

/// Runs a document's sessions in `dir` and checks them; returns the twins
/// each session ran, by session.
fn run_document(dir: &Path, sessions: &[(String, Vec<Cmd>)]) -> Vec<(String, Vec<String>)> {
    let mut problems = Vec::new();
    let mut ran_twins = Vec::new();
    for (where_, cmds) in sessions {
        let ran = run_session(dir, where_, cmds);
        for p in check_session(&ran) {
            problems.push(format!("{where_}: {p}"));
        }
        ran_twins.push((where_.clone(), ran.iter().map(|r| r.name.clone()).collect()));
    }
    common::assert_none("documented twin sessions", &problems);
    ran_twins
}

// ---------------------------------------------------------------------
// The tests.

#[test]
fn every_twin_builds_as_c11_without_a_warning() {
    let scratch = Scratch::new("build");
    let built = scratch.built();
    for twin in twins() {
        assert!(built.join(&twin).is_file(), "{twin} was not built");
    }
}

#[test]
fn every_twin_is_built_and_run_in_the_readme_and_shown_in_a_chapter() {
    let readme = std::fs::read_to_string(twins_dir().join("README.md")).expect("twins/README.md");
    let shown: Vec<Cmd> = blocks(&readme)
        .into_iter()
        .flatten()
        .filter(|c| is_command(c))
        .map(|c| parse(&c))
        .collect();
    let chapters: Vec<String> = common::chapters().into_iter().map(|p| p.text).collect();
    let mut problems = Vec::new();
    for twin in twins() {
        let build = format!("cc -Wall -Wextra -O2 -o {twin} {twin}.c");
        if !shown.iter().any(|c| c.text == build) {
            problems.push(format!("twins/README.md does not show `{build}`"));
        }
        if !shown.iter().any(|c| c.words[0] == format!("./{twin}")) {
            problems.push(format!("twins/README.md does not show how to run ./{twin}"));
        }
        if !chapters
            .iter()
            .any(|t| t.contains(&format!("`twins/{twin}.c`")))
        {
            problems.push(format!("no chapter points to `twins/{twin}.c`"));
        }
    }
    // Every `twins/...` path the book or the README names exists.
    let book: Vec<String> = common::pages().into_iter().map(|p| p.text).collect();
    for text in book.iter().chain(std::iter::once(&readme)) {
        for code in blocks(text).into_iter().flatten() {
            for word in code.split_whitespace() {
                let path = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
                if let Some(rest) = path.strip_prefix("twins/")
                    && !twins_dir().join(rest).is_file()
                {
                    problems.push(format!("`{code}` names {path}, which does not exist"));
                }
            }
        }
    }
    common::assert_none("twins and their documents", &problems);
}

/// `twins/README.md`'s `sh` blocks run as shown, from the `twins/` folder.
#[test]
fn the_readme_commands_run_as_shown() {
    let readme = std::fs::read_to_string(twins_dir().join("README.md")).expect("twins/README.md");
    let blocks_shown = blocks(&readme);
    // In the README every line of an `sh` block is a twin's command.
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let cmd = line.split(" #").next().unwrap_or("").trim();
        if in_sh && !cmd.is_empty() && !cmd.starts_with('#') {
            assert!(
                is_command(cmd),
                "twins/README.md shows `{cmd}`, a command no test runs"
            );
        }
    }
    assert!(!blocks_shown.is_empty());
    let scratch = Scratch::new("readme");
    let dir = scratch.workdir("twins", false);
    let ran = run_document(&dir, &sessions(&readme, "twins/README.md"));
    for server in SERVERS {
        assert!(
            ran.iter()
                .any(|(_, twins)| twins.iter().any(|t| t == server)),
            "twins/README.md never runs ./{server}"
        );
    }
}

/// Every command of the twins that the book shows (in a paragraph, a list
/// item or an `sh` block) runs as shown, from the repository's root; and
/// chapters 1, 2, 6 and 8 each run their twins.
#[test]
fn the_books_commands_run_as_shown() {
    let scratch = Scratch::new("book");
    let dir = scratch.workdir("repo", true);
    let mut by_page = Vec::new();
    for page in common::pages() {
        let shown = sessions(&page.text, &format!("book/{}", page.path));
        let ran = run_document(&dir, &shown);
        by_page.push((page.path, ran));
    }
    for (chapter, twins_run) in CHAPTERS {
        let ran: Vec<&String> = by_page
            .iter()
            .filter(|(path, _)| path.starts_with(chapter))
            .flat_map(|(_, ran)| ran.iter().flat_map(|(_, t)| t))
            .collect();
        for twin in *twins_run {
            assert!(
                ran.iter().any(|t| t == twin),
                "book/{chapter}*.md runs no ./{twin} (its twin paragraph should)"
            );
        }
    }
}

/// Five clients connected at once, each answered while the other four
/// stay open and silent: a server that served one connection at a time
/// would never read the second one's request.
#[test]
fn the_epoll_server_serves_several_clients_at_once() {
    const CLIENTS: usize = 5;
    let scratch = Scratch::new("epoll");
    let dir = scratch.workdir("twins", false);
    let (server, port) = start_server(&dir, "epoll_server", &["0".into(), CLIENTS.to_string()]);
    let mut streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            s
        })
        .collect();
    let exchange = |s: &mut TcpStream, msg: &str| -> Result<String, String> {
        s.write_all(msg.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = vec![0; msg.len()];
        s.read_exact(&mut buf)
            .map_err(|e| format!("no echo of {msg:?}: {e}"))?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    let mut problems = Vec::new();
    // The last connection first, then the others; then each once more.
    // The first failure ends it (the next would only wait as long).
    'rounds: for round in 0..2 {
        for (i, s) in streams.iter_mut().enumerate().rev() {
            let msg = format!("client {i}, round {round}");
            match exchange(s, &msg) {
                Ok(echo) if echo == msg => {}
                Ok(echo) => problems.push(format!("{msg:?} came back as {echo:?}")),
                Err(e) => problems.push(e),
            }
            if !problems.is_empty() {
                break 'rounds;
            }
        }
    }
    drop(streams);
    let ran = server.finish(Instant::now() + SESSION);
    if !problems.is_empty() {
        problems.push(ran.describe());
    }
    common::assert_none("the epoll server with five clients at once", &problems);
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{}",
        ran.describe()
    );
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("accept() -> fd "))
            .count(),
        CLIENTS,
        "{}",
        ran.describe()
    );
    assert_eq!(
        lines.last().copied(),
        Some("served 5 clients; exiting"),
        "{}",
        ran.describe()
    );
    let mut got = per_connection(&ran.stdout);
    got.sort();
    let mut sent: Vec<String> = (0..CLIENTS)
        .map(|i| format!("client {i}, round 0client {i}, round 1"))
        .collect();
    sent.sort();
    assert_eq!(got, sent, "{}", ran.describe());
}

/// A failed call is reported as perror() reports it, with a non-zero
/// exit; a bad command line prints the usage and exits with 2.
#[test]
fn the_twins_report_failures() {
    let scratch = Scratch::new("errors");
    let dir = scratch.workdir("twins", false);
    let run = |name: &str, args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Proc::spawn(&dir, name, &args).finish(Instant::now() + SESSION)
    };
    let expect = |ran: Ran, code: i32, stderr: &str| {
        assert!(
            ran.status.and_then(|s| s.code()) == Some(code) && ran.stderr.starts_with(stderr),
            "expected exit {code} and {stderr:?} on stderr:\n{}",
            ran.describe()
        );
    };

    // Ports held by this test, so the twins cannot have them.
    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let tcp_port = tcp.local_addr().expect("addr").port().to_string();
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let udp_port = udp.local_addr().expect("addr").port().to_string();
    for server in ["echo_server", "epoll_server"] {
        expect(run(server, &[&tcp_port]), 1, "bind: Address already in use");
    }
    expect(
        run("udp_receiver", &[&udp_port]),
        1,
        "bind: Address already in use",
    );

    // A port where nothing listens: a RST answers the SYN.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port().to_string()
    };
    expect(
        run("echo_client", &[&closed, "hello"]),
        1,
        "connect: Connection refused",
    );

    for (twin, args) in [
        ("echo_server", &["seventy"][..]),
        ("echo_client", &["1"][..]),
        ("udp_receiver", &["70000"][..]),
        ("udp_sender", &[][..]),
        ("epoll_server", &["0", "none"][..]),
    ] {
        expect(run(twin, args), 2, &format!("usage: {twin} "));
    }
    drop((tcp, udp));
}

#[test]
fn documents_are_read_as_a_reader_reads_them() {
    let text = "Build it with `cc -o a twins/a.c` and run\n`./a 0` then `./b PORT \"x y\" &`; `ss -tan` is a tool.\n\n```sh\n./a 0     # comment\n# a comment line\n./b PORT z\n```\n\n- `./c 0`\n";
    let s = sessions(text, "t");
    assert_eq!(s.len(), 3, "{s:?}");
    let words: Vec<Vec<String>> = s[0].1.iter().map(|c| c.words.clone()).collect();
    assert_eq!(
        words,
        [
            vec!["cc", "-o", "a", "twins/a.c"],
            vec!["./a", "0"],
            vec!["./b", "PORT", "x y"]
        ]
    );
    assert!(s[0].1[2].background && !s[0].1[1].background);
    assert_eq!(s[1].1.len(), 2);
    assert_eq!(s[1].1[0].words, ["./a", "0"]);
    assert_eq!(s[2].1[0].words, ["./c", "0"]);
    assert!(!is_command("cc") && is_command("cc -o a a.c") && !is_command("ss -tan"));
    assert_eq!(quoted(r#"read 5 bytes: "a\"b\\\n\x01""#), "a\"b\\\n\u{1}");
    assert_eq!(
        count_after("recvfrom() returned 13 bytes", "recvfrom() returned "),
        Some(13)
    );
}
