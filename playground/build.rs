//! Declares every example of `stack/examples/` as a module of the
//! playground, so that a new example is in the browser without a list to
//! keep up to date.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack/examples");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("stack/examples")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    let mut out = String::new();
    for name in &names {
        let path = dir.join(format!("{name}.rs"));
        let path = path.canonicalize().expect("example path");
        let _ = writeln!(
            out,
            "#[path = {:?}]\nmod {name};",
            path.display().to_string()
        );
    }
    out.push_str(
        "/// Every example, by name, and its `main`.\npub const EXAMPLES: &[(&str, fn())] = &[\n",
    );
    for name in &names {
        let _ = writeln!(out, "    ({name:?}, {name}::main),");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("examples.rs");
    std::fs::write(dest, out).expect("write examples.rs");
}
