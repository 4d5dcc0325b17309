//! Every example has knobs a reader can turn (`knobs` crate): `--help`
//! lists them, `--knobs-json` describes them for the playground, a value
//! out of range is refused with status 2 and a message naming the knob,
//! and turning each knob to the end of its range runs and changes what
//! the example prints. With no knobs the output is the snapshot
//! (`tests/examples.rs`).

mod common;

use common::examples::{names, run};

/// One knob as `--knobs-json` describes it: its name, and a value at the
/// far end of its range from the default (or another choice).
struct Knob {
    name: String,
    turned: Option<String>,
    out_of_range: Option<String>,
}

/// The value of `"key":` in a flat JSON object (numbers and strings).
fn value<'a>(obj: &'a str, key: &str) -> Option<&'a str> {
    let at = obj.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &obj[at..];
    let end = if let Some(stripped) = rest.strip_prefix('"') {
        return stripped.split('"').next();
    } else if rest.starts_with('[') {
        rest.find(']')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

fn knobs_of(example: &str) -> Vec<Knob> {
    let out = run(example, &["--knobs-json"]);
    assert!(out.status.success(), "{example} --knobs-json failed");
    let json = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        json.starts_with(&format!("{{\"example\":\"{example}\",\"knobs\":[")),
        "{example}: {json}"
    );
    json.split("{\"name\":")
        .skip(1)
        .map(|obj| {
            let obj = format!("{{\"name\":{obj}");
            let name = value(&obj, "name").expect("name").to_string();
            let kind = value(&obj, "kind").expect("kind");
            let native = value(&obj, "native_only") == Some("true");
            let default = value(&obj, "default").unwrap_or_default();
            let (turned, out_of_range) = match kind {
                "int" | "float" => {
                    let (min, max) = (value(&obj, "min").unwrap(), value(&obj, "max").unwrap());
                    let far = if default == max { min } else { max };
                    let beyond = format!("{}1", max);
                    (Some(far.to_string()), Some(beyond))
                }
                "choice" => {
                    let list = value(&obj, "choices").expect("choices");
                    let other = list
                        .trim_matches(['[', ']'])
                        .split(',')
                        .map(|c| c.trim_matches('"'))
                        .find(|c| *c != default)
                        .map(String::from);
                    (other, Some("no-such-choice".to_string()))
                }
                _ => (None, None),
            };
            Knob {
                name,
                turned: if native { None } else { turned },
                out_of_range,
            }
        })
        .collect()
}

#[test]
fn every_example_lists_its_knobs_in_help_and_json() {
    let mut bare = Vec::new();
    for example in names() {
        let knobs = knobs_of(&example);
        if knobs.is_empty() {
            bare.push(example);
            continue;
        }
        let out = run(&example, &["--help"]);
        assert!(out.status.success(), "{example} --help failed");
        let help = String::from_utf8_lossy(&out.stdout);
        for k in &knobs {
            assert!(help.contains(&format!("--{}", k.name)), "{example}: {help}");
        }
    }
    assert!(bare.is_empty(), "examples without knobs: {bare:?}");
}

#[test]
fn a_value_out_of_range_or_an_unknown_knob_is_refused_by_name() {
    for example in names() {
        for k in knobs_of(&example) {
            let Some(bad) = &k.out_of_range else { continue };
            let flag = format!("--{}", k.name);
            let out = run(&example, &[&flag, bad]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{example} {flag} {bad}: {err}");
            assert!(err.contains(&flag), "{example} {flag} {bad}: {err}");
        }
        let out = run(&example, &["--no-such-knob", "1"]);
        assert_eq!(out.status.code(), Some(2), "{example}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-knob"));
    }
}

#[test]
fn turning_each_knob_runs_and_changes_the_output() {
    for example in names() {
        let default = run(&example, &[]);
        assert!(default.status.success(), "{example}");
        for k in knobs_of(&example) {
            let Some(v) = &k.turned else { continue };
            let flag = format!("--{}", k.name);
            let out = run(&example, &[&flag, v]);
            assert!(
                out.status.success(),
                "{example} {flag} {v}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            assert_ne!(
                out.stdout, default.stdout,
                "{example} {flag} {v} printed what the defaults print"
            );
        }
    }
}
