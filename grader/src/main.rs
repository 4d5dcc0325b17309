//! The course's grader: lists the labs, runs a lab's public tests on a
//! student's working copy, grades a submission in a scratch copy with the
//! hidden tests, verifies the labs, and builds the student release and the
//! Gradescope bundle. See `grader/README.md`.

mod bundle;
mod grade;
mod hints;
mod judge;
mod lab;
mod one_source;
mod release;
mod report;
mod runner;
mod sandbox;
mod scratch;
mod source_check;
mod status;
mod verify;
mod wrapper;

use clap::{Parser, Subcommand};
use report::Format;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "grader", about = "Grades the course's labs", version)]
struct Cli {
    /// The repository (default: the nearest ancestor of the current folder
    /// with `labs/` and `Cargo.toml`).
    #[arg(long, global = true)]
    repo: Option<PathBuf>,
    /// Where cargo builds the scratch copies (default: `$GRADER_TARGET_DIR`,
    /// else `<repo>/target/grader`).
    #[arg(long, global = true)]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The labs, their test groups and points (`--tests`: every test, which
    /// builds each lab).
    List {
        #[arg(long)]
        tests: bool,
    },
    /// Runs a lab's public tests, and your own, on your working copy.
    Check {
        lab: String,
        /// Check again each time a file of the lab changes (Ctrl-C stops).
        #[arg(long)]
        watch: bool,
    },
    /// A hint for a lab (where to start), or for one of its public tests,
    /// a step at a time.
    Hint {
        lab: String,
        /// `binary::test`, or the test's name alone.
        test: Option<String>,
        /// Show the steps up to this one.
        #[arg(long, default_value_t = 1)]
        step: usize,
    },
    /// Where you stand on every lab, from each one's last check.
    Status,
    /// Grades a submission (a copy of the lab folder) with the hidden tests.
    Grade {
        lab: String,
        #[arg(long)]
        submission: PathBuf,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Checks every lab (or one): the solution scores full marks, the
    /// skeleton zero, every wrong implementation is caught and every hidden
    /// test catches one.
    Verify { lab: Option<String> },
    /// Writes the student repository (no hidden tests, no solutions).
    Release {
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes a Gradescope autograder bundle (setup.sh, run_autograder).
    GradescopeBundle {
        lab: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// (internal) the nextest target runner for one test process.
    #[command(hide = true)]
    Wrapper {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// (internal) kills every process of the calling uid.
    #[command(hide = true)]
    Reap,
}

fn main() -> ExitCode {
    // The wrapper is on every test's path: parse nothing more than needed.
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some("wrapper") {
        return wrapper::main(&raw[2..]);
    }
    if raw.get(1).map(String::as_str) == Some("limits") {
        return sandbox::limits_main(&raw[2..]);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("grader: {e}");
            ExitCode::from(2)
        }
    }
}

struct Ctx {
    repo: PathBuf,
    target_dir: PathBuf,
}

impl Ctx {
    fn new(cli: &Cli) -> Result<Ctx, String> {
        let repo = match &cli.repo {
            Some(r) => r
                .canonicalize()
                .map_err(|e| format!("{}: {e}", r.display()))?,
            None => {
                let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
                lab::find_repo(&cwd)
                    .ok_or("no repository here (a folder with labs/ and Cargo.toml); use --repo")?
            }
        };
        let target_dir = cli
            .target_dir
            .clone()
            .or_else(|| std::env::var_os("GRADER_TARGET_DIR").map(PathBuf::from))
            .unwrap_or_else(|| repo.join("target").join("grader"));
        std::fs::create_dir_all(&target_dir).map_err(|e| e.to_string())?;
        let target_dir = target_dir.canonicalize().map_err(|e| e.to_string())?;
        Ok(Ctx { repo, target_dir })
    }

    fn options<'a>(
        &'a self,
        lab: &'a lab::Lab,
        submission: Option<&'a Path>,
        hidden: bool,
        progress: bool,
    ) -> grade::Options<'a> {
        grade::Options {
            repo: &self.repo,
            lab,
            submission,
            hidden,
            public: true,
            progress,
            target_dir: self.target_dir.clone(),
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    if let Cmd::Reap = cli.cmd {
        return Ok(wrapper::reap_main());
    }
    let ctx = Ctx::new(&cli)?;
    match &cli.cmd {
        Cmd::List { tests } => {
            let labs = lab::discover(&ctx.repo)?;
            if labs.is_empty() {
                println!("no labs under {}", ctx.repo.join("labs").display());
            }
            for l in &labs {
                println!("{}: {}", l.name(), l.toml.lab.title);
                if let Some(h) = &l.toml.lab.handout {
                    println!("  handout: {h}");
                }
                for g in &l.toml.groups {
                    let p = match (g.points, g.per_test) {
                        (Some(p), _) => format!("{p} points"),
                        (_, Some(p)) => format!("{p} points per test"),
                        _ => String::new(),
                    };
                    println!("  {}: {p} ({})", g.name, g.tests.join(" "));
                }
                for f in &l.toml.figures {
                    let better = if f.higher_is_better {
                        "higher"
                    } else {
                        "lower"
                    };
                    let floor = f.min.map(|m| format!(", at least {m}")).unwrap_or_default();
                    let by = format!(", timing {}", f.test);
                    println!(
                        "  figure {} ({}, {better} is better{floor}{by})",
                        f.name, f.unit
                    );
                }
                if *tests {
                    let opts = ctx.options(l, None, true, false);
                    let listed = grade::list_tests(&opts)?;
                    let points = l.points(&listed);
                    for (t, p) in listed.iter().zip(points) {
                        let p = p.map_or("(no group)".to_string(), |p| format!("{p:.2}"));
                        println!("    {t:<40} {p}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { lab, watch } => {
            let l = lab::find(&ctx.repo, lab)?;
            let dir = l.dir.clone();
            let check = || -> Result<bool, String> {
                let opts = ctx.options(&l, Some(&dir), false, std::io::stderr().is_terminal());
                let r = grade::grade(&opts)?;
                status::record(&ctx.target_dir, &l, &r);
                print!("{}", report::human(&r, std::io::stdout().is_terminal()));
                Ok(r.built && r.tests.iter().all(|t| t.passed))
            };
            if !*watch {
                return Ok(if check()? {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            loop {
                let before = lab::snapshot(&dir);
                if let Err(e) = check() {
                    eprintln!("grader: {e}");
                }
                println!("\nwatching {} for changes (Ctrl-C stops)", dir.display());
                let _ = std::io::Write::flush(&mut std::io::stdout());
                while lab::snapshot(&dir) == before {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
                println!("a file changed: checking again\n");
            }
        }
        Cmd::Hint { lab, test, step } => {
            let l = lab::find(&ctx.repo, lab)?;
            let h = hints::load(&l)?;
            print!("{}", hints::show(&l, &h, test.as_deref(), *step)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status => {
            let labs = lab::discover(&ctx.repo)?;
            print!("{}", status::show(&ctx.target_dir, &labs));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Grade {
            lab,
            submission,
            format,
            out,
        } => {
            let l = lab::find(&ctx.repo, lab)?;
            if !submission.is_dir() {
                return Err(format!("{}: not a folder", submission.display()));
            }
            let opts = ctx.options(&l, Some(submission), true, false);
            let r = grade::grade(&opts)?;
            let colour = out.is_none() && std::io::stdout().is_terminal();
            let text = report::render(&r, *format, colour);
            match out {
                Some(path) => {
                    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Verify { lab } => verify::verify(&ctx.repo, &ctx.target_dir, lab.as_deref()),
        Cmd::Release { out } => {
            release::release(&ctx.repo, out)?;
            println!("student repository written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::GradescopeBundle { lab, out } => {
            let l = lab::find(&ctx.repo, lab)?;
            bundle::bundle(&ctx.repo, &l, out)?;
            println!(
                "Gradescope bundle written to {} (zip its contents)",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Wrapper { args } => Ok(wrapper::main(args)),
        Cmd::Reap => Ok(wrapper::reap_main()),
    }
}
