//! The knobs of an example: the parameters a reader may turn, declared in
//! one place, at the top of the example's `main()`.
//!
//! ```
//! let k = knobs::Knobs::new("accept_queue_overflow")
//!     .int("backlog", 2, 0..=4096, "the server's listen() backlog")
//!     .float("loss", 0.0, 0.0..=50.0, "percent of frames the link loses")
//!     .parse_from(["accept_queue_overflow", "--backlog", "8"]);
//! assert_eq!(k.int("backlog"), 8);
//! assert_eq!(k.float("loss"), 0.0);
//! ```
//!
//! `cargo run -q -p stack --example NAME -- --KNOB VALUE ...` sets them;
//! with no arguments every knob keeps its default, and the example prints
//! exactly its checked snapshot. `--help` lists the knobs with their
//! defaults and ranges; a value out of range, or a knob the example does
//! not have, is an error that says which and exits with status 2.
//! `--knobs-json` prints the declarations as JSON, which is how the book's
//! playground builds its form fields from the same table.
//!
//! The playground runs every example in one WebAssembly program; it hands
//! each example its arguments with [`with_args`], since a WASI program has
//! one command line for all of them.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::ops::RangeInclusive;

/// What a knob holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A whole number within a range.
    Int {
        default: i64,
        range: RangeInclusive<i64>,
    },
    /// A decimal number within a range.
    Float {
        default: f64,
        range: RangeInclusive<f64>,
    },
    /// One of a few words.
    Choice {
        default: &'static str,
        choices: &'static [&'static str],
    },
    /// Any text, such as a folder (empty by default: none).
    Text,
}

/// One parameter of an example.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    /// The name on the command line (`--name`) and in a playground URL
    /// (`&name=`): lower case, words joined by `-`.
    pub name: &'static str,
    pub kind: Kind,
    /// One line of help.
    pub help: &'static str,
    /// Only meaningful on a real machine (for example a folder to write
    /// captures to): the playground does not offer it.
    pub native_only: bool,
}

/// An example's knobs, declared, then parsed.
#[derive(Clone, Debug)]
pub struct Knobs {
    example: &'static str,
    knobs: Vec<Knob>,
}

/// The values the command line gave (or the defaults).
#[derive(Clone, Debug)]
pub struct Values {
    knobs: Vec<Knob>,
    matches: clap::ArgMatches,
}

thread_local! {
    static ARGS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `f` with `args` (the example's name first) as the command line
/// [`Knobs::parse`] reads, instead of the process's.
pub fn with_args<T>(args: Vec<String>, f: impl FnOnce() -> T) -> T {
    let old = ARGS.with(|a| a.replace(Some(args)));
    let out = f();
    ARGS.with(|a| *a.borrow_mut() = old);
    out
}

impl Knobs {
    pub fn new(example: &'static str) -> Knobs {
        Knobs {
            example,
            knobs: Vec::new(),
        }
    }

    fn push(mut self, knob: Knob) -> Knobs {
        assert!(
            knob.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "knob names are lower-case words joined by '-': {:?}",
            knob.name
        );
        assert!(
            self.knobs.iter().all(|k| k.name != knob.name),
            "knob {:?} declared twice",
            knob.name
        );
        self.knobs.push(knob);
        self
    }

    /// A whole-number knob.
    pub fn int(
        self,
        name: &'static str,
        default: i64,
        range: RangeInclusive<i64>,
        help: &'static str,
    ) -> Knobs {
        assert!(range.contains(&default), "{name}: default out of range");
        self.push(Knob {
            name,
            kind: Kind::Int { default, range },
            help,
            native_only: false,
        })
    }

    /// A decimal knob.
    pub fn float(
        self,
        name: &'static str,
        default: f64,
        range: RangeInclusive<f64>,
        help: &'static str,
    ) -> Knobs {
        assert!(range.contains(&default), "{name}: default out of range");
        self.push(Knob {
            name,
            kind: Kind::Float { default, range },
            help,
            native_only: false,
        })
    }

    /// A knob that takes one of `choices`.
    pub fn choice(
        self,
        name: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
        help: &'static str,
    ) -> Knobs {
        assert!(choices.contains(&default), "{name}: default not a choice");
        self.push(Knob {
            name,
            kind: Kind::Choice { default, choices },
            help,
            native_only: false,
        })
    }

    /// A text knob, empty unless given (a folder to write files to, say).
    pub fn text(self, name: &'static str, help: &'static str) -> Knobs {
        self.push(Knob {
            name,
            kind: Kind::Text,
            help,
            native_only: false,
        })
    }

    /// Marks the knob declared last as one the playground leaves out.
    pub fn native_only(mut self) -> Knobs {
        if let Some(k) = self.knobs.last_mut() {
            k.native_only = true;
        }
        self
    }

    /// The declarations.
    pub fn knobs(&self) -> &[Knob] {
        &self.knobs
    }

    /// The declarations as JSON: `{"example": ..., "knobs": [{"name",
    /// "kind", "default", "min", "max" or "choices", "help",
    /// "native_only"}]}`.
    pub fn to_json(&self) -> String {
        let mut s = format!("{{\"example\":{},\"knobs\":[", json_str(self.example));
        for (i, k) in self.knobs.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{{\"name\":{}", json_str(k.name));
            match &k.kind {
                Kind::Int { default, range } => {
                    let _ = write!(
                        s,
                        ",\"kind\":\"int\",\"default\":{default},\"min\":{},\"max\":{}",
                        range.start(),
                        range.end()
                    );
                }
                Kind::Float { default, range } => {
                    let _ = write!(
                        s,
                        ",\"kind\":\"float\",\"default\":{default},\"min\":{},\"max\":{}",
                        range.start(),
                        range.end()
                    );
                }
                Kind::Text => s.push_str(",\"kind\":\"text\",\"default\":\"\""),
                Kind::Choice { default, choices } => {
                    let list: Vec<String> = choices.iter().map(|c| json_str(c)).collect();
                    let _ = write!(
                        s,
                        ",\"kind\":\"choice\",\"default\":{},\"choices\":[{}]",
                        json_str(default),
                        list.join(",")
                    );
                }
            }
            let _ = write!(
                s,
                ",\"help\":{},\"native_only\":{}}}",
                json_str(k.help),
                k.native_only
            );
        }
        s.push_str("]}");
        s
    }

    fn command(&self) -> clap::Command {
        let mut cmd = clap::Command::new(self.example)
            .about(format!(
                "The example {}: its knobs, each with its default. With none, it prints its checked output.",
                self.example
            ))
            .arg(
                clap::Arg::new("knobs-json")
                    .long("knobs-json")
                    .action(clap::ArgAction::SetTrue)
                    .help("Print the knobs as JSON and exit"),
            );
        for k in &self.knobs {
            let arg = clap::Arg::new(k.name).long(k.name).help(k.help);
            let arg = match &k.kind {
                Kind::Int { default, range } => arg
                    .value_name("N")
                    .default_value(default.to_string())
                    .value_parser(clap::value_parser!(i64).range(*range.start()..=*range.end()))
                    .help(format!("{} ({} to {})", k.help, range.start(), range.end())),
                Kind::Float { default, range } => {
                    let r = range.clone();
                    arg.value_name("X")
                        .default_value(default.to_string())
                        .value_parser(move |v: &str| parse_float(v, &r))
                        .help(format!("{} ({} to {})", k.help, range.start(), range.end()))
                }
                Kind::Text => arg.value_name("TEXT").default_value(""),
                Kind::Choice { default, choices } => arg
                    .value_name("WORD")
                    .default_value(*default)
                    .value_parser(clap::builder::PossibleValuesParser::new(*choices)),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    /// Parses the command line (or what [`with_args`] set). `--help`,
    /// `--knobs-json` and errors print and exit.
    pub fn parse(self) -> Values {
        let args = ARGS
            .with(|a| a.borrow().clone())
            .unwrap_or_else(|| std::env::args().collect());
        let json = self.to_json();
        match self.try_parse_from(args) {
            Ok(v) if v.matches.get_flag("knobs-json") => {
                println!("{json}");
                std::process::exit(0)
            }
            Ok(v) => v,
            Err(e) => e.exit(),
        }
    }

    /// Parses `args` (the program's name first); panics on an error, for
    /// tests and doc examples.
    pub fn parse_from<I, S>(self, args: I) -> Values
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.try_parse_from(args.into_iter().map(Into::into).collect())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parses `args` (the program's name first). `--help` comes back as
    /// an error of kind `DisplayHelp`, as clap gives it.
    pub fn try_parse_from(self, args: Vec<String>) -> Result<Values, clap::Error> {
        let matches = self.command().try_get_matches_from(args)?;
        Ok(Values {
            knobs: self.knobs,
            matches,
        })
    }
}

impl Values {
    fn declared(&self, name: &str) -> &Knob {
        self.knobs
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("no knob named {name:?} was declared"))
    }

    /// A whole-number knob's value.
    pub fn int(&self, name: &str) -> i64 {
        assert!(matches!(self.declared(name).kind, Kind::Int { .. }));
        *self.matches.get_one::<i64>(name).expect("defaulted")
    }

    /// A decimal knob's value.
    pub fn float(&self, name: &str) -> f64 {
        assert!(matches!(self.declared(name).kind, Kind::Float { .. }));
        *self.matches.get_one::<f64>(name).expect("defaulted")
    }

    /// A choice knob's value.
    pub fn choice(&self, name: &str) -> &str {
        assert!(matches!(self.declared(name).kind, Kind::Choice { .. }));
        self.matches
            .get_one::<String>(name)
            .map(String::as_str)
            .expect("defaulted")
    }

    /// A text knob's value (empty if not given).
    pub fn text(&self, name: &str) -> &str {
        assert!(matches!(self.declared(name).kind, Kind::Text));
        self.matches
            .get_one::<String>(name)
            .map(String::as_str)
            .expect("defaulted")
    }

    /// Whether a knob was given on the command line, rather than left at
    /// its default.
    pub fn is_set(&self, name: &str) -> bool {
        self.declared(name);
        self.matches.value_source(name) == Some(clap::parser::ValueSource::CommandLine)
    }
}

fn parse_float(v: &str, range: &RangeInclusive<f64>) -> Result<f64, String> {
    let x: f64 = v.parse().map_err(|_| format!("{v:?} is not a number"))?;
    if range.contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is not in {}..={}", range.start(), range.end()))
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knobs() -> Knobs {
        Knobs::new("demo")
            .int("backlog", 2, 0..=4096, "the listen() backlog")
            .float("loss", 0.0, 0.0..=50.0, "percent lost")
            .choice("cc", "cubic", &["cubic", "reno"], "congestion control")
    }

    #[test]
    fn no_arguments_give_the_defaults() {
        let v = knobs().parse_from(["demo"]);
        assert_eq!(
            (v.int("backlog"), v.float("loss"), v.choice("cc")),
            (2, 0.0, "cubic")
        );
        assert!(!v.is_set("backlog"));
    }

    #[test]
    fn values_are_read_in_both_spellings() {
        let v = knobs().parse_from(["demo", "--backlog", "8", "--loss=1.5", "--cc", "reno"]);
        assert_eq!(
            (v.int("backlog"), v.float("loss"), v.choice("cc")),
            (8, 1.5, "reno")
        );
        assert!(v.is_set("backlog"));
    }

    #[test]
    fn bad_values_and_unknown_knobs_are_errors_that_say_which() {
        let err = |args: &[&str]| {
            let mut all = vec!["demo".to_string()];
            all.extend(args.iter().map(|s| s.to_string()));
            knobs().try_parse_from(all).unwrap_err().to_string()
        };
        let e = err(&["--backlog", "99999"]);
        assert!(e.contains("--backlog") && e.contains("4096"), "{e}");
        let e = err(&["--loss", "many"]);
        assert!(e.contains("--loss") && e.contains("not a number"), "{e}");
        let e = err(&["--cc", "bbr"]);
        assert!(e.contains("bbr") && e.contains("cubic"), "{e}");
        let e = err(&["--colour", "1"]);
        assert!(e.contains("--colour"), "{e}");
    }

    #[test]
    fn help_lists_every_knob_with_default_and_range() {
        let e = knobs()
            .try_parse_from(vec!["demo".into(), "--help".into()])
            .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = e.to_string();
        for part in [
            "--backlog",
            "0 to 4096",
            "[default: 2]",
            "--loss",
            "--cc",
            "reno",
        ] {
            assert!(help.contains(part), "{part:?} missing:\n{help}");
        }
    }

    #[test]
    fn the_json_describes_what_the_parser_accepts() {
        let json = knobs().to_json();
        assert_eq!(
            json,
            r#"{"example":"demo","knobs":[{"name":"backlog","kind":"int","default":2,"min":0,"max":4096,"help":"the listen() backlog","native_only":false},{"name":"loss","kind":"float","default":0,"min":0,"max":50,"help":"percent lost","native_only":false},{"name":"cc","kind":"choice","default":"cubic","choices":["cubic","reno"],"help":"congestion control","native_only":false}]}"#
        );
    }

    #[test]
    fn with_args_replaces_the_command_line_for_its_closure_only() {
        let v = with_args(vec!["demo".into(), "--backlog".into(), "5".into()], || {
            knobs().parse()
        });
        assert_eq!(v.int("backlog"), 5);
        assert!(ARGS.with(|a| a.borrow().is_none()));
    }
}
