//! Every `cargo run -q -p stack --example NAME -- ARGS...` the book shows
//! (an example with its knobs turned) runs as shown and succeeds. The
//! commands without arguments are the snapshots' own, which
//! `stack/tests/examples.rs` runs.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{assert_none, pages};

const PREFIX: &str = "cargo run -q -p stack --example ";

/// The commands with arguments on a page: in inline code or `sh` blocks.
fn knob_commands(text: &str) -> BTreeSet<(String, Vec<String>)> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(PREFIX) {
        let rest = &text[at + PREFIX.len()..];
        let end = rest.find(['`', '\n']).unwrap_or(rest.len());
        let cmd = rest[..end].split(" #").next().unwrap_or("").trim();
        let mut words = cmd.split_whitespace();
        let Some(name) = words.next() else { continue };
        if words.next() != Some("--") || name == "NAME" {
            continue;
        }
        let args: Vec<String> = words.map(String::from).collect();
        if args
            .iter()
            .any(|a| a.contains("KNOB") || a.contains("VALUE"))
        {
            continue;
        }
        found.insert((name.to_string(), args));
    }
    found
}

#[test]
fn every_example_command_with_knobs_runs() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut commands = BTreeSet::new();
    for page in pages() {
        commands.extend(knob_commands(&page.text));
    }
    assert!(!commands.is_empty(), "the book shows no example with knobs");
    let mut problems = Vec::new();
    for (name, args) in &commands {
        let out = Command::new(&cargo)
            .current_dir(bookcheck::repo_root())
            .args(["run", "-q", "-p", "stack", "--example", name, "--"])
            .args(args)
            .output()
            .expect("cargo run");
        if !out.status.success() {
            problems.push(format!(
                "{PREFIX}{name} -- {}: {}\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert_none("example commands", &problems);
}

#[test]
fn commands_are_found_in_code_and_placeholders_are_left_out() {
    let text = "Run `cargo run -q -p stack --example four_views -- --pcap-dir /tmp` or\n\
        ```sh\ncargo run -q -p stack --example a -- --help   # its knobs\n```\n\
        and `cargo run -q -p stack --example NAME -- --KNOB VALUE`, \
        `cargo run -q -p stack --example b`.";
    let found: Vec<_> = knob_commands(text).into_iter().collect();
    assert_eq!(
        found,
        [
            ("a".to_string(), vec!["--help".to_string()]),
            (
                "four_views".to_string(),
                vec!["--pcap-dir".to_string(), "/tmp".to_string()]
            ),
        ]
    );
}
