//! Every example of the book in one program: `playground NAME [--KNOB
//! VALUE]...` runs the example `NAME` with those knobs and prints exactly
//! what `cargo run -q -p stack --example NAME -- --KNOB VALUE...` prints.
//! `playground --list` names the examples.
//!
//! Built for `wasm32-wasip1`, it is what the book's pages run in the
//! reader's browser (`book/playground/`, and `docs/playground.md` for how
//! it is built and served). One module for all the examples, since they
//! share the whole simulated kernel: the reader downloads it once.

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

fn main() {
    let mut args = std::env::args().skip(1);
    let names = || {
        EXAMPLES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join("\n")
    };
    match args.next().as_deref() {
        Some("--list") => println!("{}", names()),
        Some(name) if !name.starts_with('-') => {
            let Some((_, run)) = EXAMPLES.iter().find(|(n, _)| *n == name) else {
                eprintln!("error: no example named {name:?}; `playground --list` names them");
                std::process::exit(2);
            };
            let argv = std::iter::once(name.to_string()).chain(args).collect();
            knobs::with_args(argv, run);
        }
        _ => {
            eprintln!(
                "usage: playground EXAMPLE [--KNOB VALUE]...  (playground --list names the examples)"
            );
            std::process::exit(2);
        }
    }
}
