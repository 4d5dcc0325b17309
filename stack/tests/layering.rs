//! The stack's layering, checked on its own sources.
//!
//! Kernel code is written as `impl World` blocks in the module of the layer
//! it models, and `World` holds every layer's state, so kernel modules and
//! `kernel::world` depend on each other: that loop is intended. Everything
//! else must stay out of it:
//!
//! - the leaf layers (header formats, `sk_buff`, the real tools'
//!   formatters, `uapi` and errno, ids and time, and the traits a lab's
//!   component implements) never name `Sim` or `World`, and depend only on
//!   other leaves, so a lab, a tool or a test can use them alone;
//! - the simulation's driver (`sim/`), the views (`observe/`) and the crate
//!   root use the kernel, and the kernel never uses them back.
//!
//! Sources are read with a real tokenizer (proc-macro2), so comments and
//! strings never count, and code under `#[cfg(test)]` is left out: a
//! module's tests may run it inside the whole simulation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Leaf layers: these modules and everything under them.
const LEAVES: &[&str] = &[
    "uapi",
    "wire",
    "kernel::ids",
    "sim::time",
    "net::core::skbuff",
    "net::ipv4::tcp::defs",
    "observe::tools",
    "observe::trace",
    "observe::pcap",
    "observe::seqdiag",
    "observe::capture",
    // The lab-interface traits (and the stack's own implementations).
    "drivers::net::ring",
    "fs::eventpoll_lists",
    "fs::pipe_ring",
    "net::ipv4::request_sock_queue",
    "net::ipv4::tcp::state_machine",
];

/// Folders whose modules drive or watch the kernel and must never be part
/// of its loop.
const OUTSIDE_THE_KERNEL: &[&str] = &["sim", "observe"];

type ModPath = Vec<String>;

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate root".into()
    } else {
        m.join("::")
    }
}

fn under(m: &[String], prefix: &str) -> bool {
    let p: Vec<&str> = prefix.split("::").collect();
    m.len() >= p.len() && m.iter().zip(&p).all(|(a, b)| a == b)
}

fn is_leaf(m: &[String]) -> bool {
    LEAVES.iter().any(|l| under(m, l))
}

/// A token stream flattened to what the checks need.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    Open(Delimiter),
    Close,
    Lit,
}

fn flatten(ts: TokenStream, out: &mut Vec<Tok>) {
    for tt in ts {
        match tt {
            TokenTree::Ident(i) => out.push(Tok::Ident(i.to_string())),
            TokenTree::Punct(p) => out.push(Tok::Punct(p.as_char())),
            TokenTree::Literal(_) => out.push(Tok::Lit),
            TokenTree::Group(g) => {
                out.push(Tok::Open(g.delimiter()));
                flatten(g.stream(), out);
                out.push(Tok::Close);
            }
        }
    }
}

/// Index just past the group opening at `i`.
fn skip_group(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0;
    loop {
        match toks[i] {
            Tok::Open(_) => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The tokens with every item under `#[cfg(test)]` removed; the names of
/// `#[cfg(test)] mod NAME;` files go to `test_mods`.
fn without_tests(toks: &[Tok], test_mods: &mut BTreeSet<String>) -> Vec<Tok> {
    let cfg_test = [
        Tok::Punct('#'),
        Tok::Open(Delimiter::Bracket),
        Tok::Ident("cfg".into()),
        Tok::Open(Delimiter::Parenthesis),
        Tok::Ident("test".into()),
        Tok::Close,
        Tok::Close,
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i..].starts_with(&cfg_test) {
            i += cfg_test.len();
            if let [Tok::Ident(m), Tok::Ident(name), Tok::Punct(';'), ..] = &toks[i..]
                && m == "mod"
            {
                test_mods.insert(name.clone());
            }
            // Skip the item: up to its `;` or through its `{ … }` body.
            while i < toks.len() {
                match toks[i] {
                    Tok::Punct(';') => {
                        i += 1;
                        break;
                    }
                    Tok::Open(Delimiter::Brace) => {
                        i = skip_group(toks, i);
                        break;
                    }
                    Tok::Open(_) => i = skip_group(toks, i),
                    _ => i += 1,
                }
            }
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// Reads a path's segments from `i` (after a `crate::`/`super::` prefix),
/// expanding `{a, b::c}` groups; returns where it stopped.
fn read_paths(toks: &[Tok], mut i: usize, prefix: ModPath, out: &mut Vec<ModPath>) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
                if toks.get(i) == Some(&Tok::Punct(':'))
                    && toks.get(i + 1) == Some(&Tok::Punct(':'))
                {
                    i += 2;
                    continue;
                }
                out.push(path);
                return i;
            }
            Some(Tok::Open(Delimiter::Brace)) => {
                let end = skip_group(toks, i);
                i += 1;
                while i < end - 1 {
                    match toks[i] {
                        Tok::Punct(',') => i += 1,
                        _ => {
                            let at = i;
                            i = read_paths(toks, i, path.clone(), out);
                            if i == at {
                                i += 1;
                            }
                        }
                    }
                }
                return end;
            }
            _ => {
                if !path.is_empty() {
                    out.push(path);
                }
                return i;
            }
        }
    }
}

/// What one source file says about its dependencies.
#[derive(Debug, Default)]
struct Source {
    /// Every `crate::…` path (and `super::…`, made absolute).
    paths: Vec<ModPath>,
    /// Whether the code names `Sim` or `World`.
    names: BTreeSet<String>,
    /// Files that hold only tests (`#[cfg(test)] mod NAME;`).
    test_mods: BTreeSet<String>,
}

fn scan(module: &[String], text: &str) -> Result<Source, String> {
    let stream = TokenStream::from_str(text).map_err(|e| format!("does not tokenize: {e}"))?;
    let mut flat = Vec::new();
    flatten(stream, &mut flat);
    let mut src = Source::default();
    let toks = without_tests(&flat, &mut src.test_mods);
    // `super` in a file is its module's parent (for `mod.rs` as well).
    let parent: ModPath = module[..module.len().saturating_sub(1)].to_vec();
    for t in &toks {
        if let Tok::Ident(s) = t
            && (s == "Sim" || s == "World")
        {
            src.names.insert(s.clone());
        }
    }
    let mut i = 0;
    while i < toks.len() {
        if let Tok::Ident(s) = &toks[i] {
            let base = match s.as_str() {
                "crate" => Some(Vec::new()),
                "super" => Some(parent.clone()),
                _ => None,
            };
            if let Some(base) = base
                && toks.get(i + 1) == Some(&Tok::Punct(':'))
                && toks.get(i + 2) == Some(&Tok::Punct(':'))
            {
                i = read_paths(&toks, i + 3, base, &mut src.paths);
                continue;
            }
        }
        i += 1;
    }
    Ok(src)
}

/// The crate's modules: module path → file, without test-only files.
fn modules(src: &Path) -> BTreeMap<ModPath, (PathBuf, Source)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut all = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap().with_extension("");
        let mut module: ModPath = rel
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        let is_mod_rs = matches!(module.last().map(String::as_str), Some("mod" | "lib"));
        if is_mod_rs {
            module.pop();
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let source = scan(&module, &text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for t in &source.test_mods {
            let mut m = module.clone();
            m.push(t.clone());
            test_only.insert(m);
        }
        all.insert(module, (f, source));
    }
    all.retain(|m, _| !test_only.iter().any(|t| m.starts_with(t)));
    all
}

/// The module a path lands in: its longest prefix that is a file.
fn resolve(mods: &BTreeMap<ModPath, (PathBuf, Source)>, path: &[String]) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| mods.contains_key(p))
}

type Graph = BTreeMap<ModPath, BTreeSet<ModPath>>;

fn graph(mods: &BTreeMap<ModPath, (PathBuf, Source)>) -> Graph {
    mods.iter()
        .map(|(m, (_, src))| {
            let deps = src
                .paths
                .iter()
                .filter_map(|p| resolve(mods, p))
                .filter(|d| d != m)
                .collect();
            (m.clone(), deps)
        })
        .collect()
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<BTreeSet<ModPath>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on: BTreeSet<&'a ModPath>,
        out: Vec<BTreeSet<ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in &s.g[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Everything wrong with the layering of these modules.
fn problems(mods: &BTreeMap<ModPath, (PathBuf, Source)>) -> Vec<String> {
    let g = graph(mods);
    let mut out = Vec::new();
    for (m, (file, src)) in mods {
        if !is_leaf(m) {
            continue;
        }
        for name in &src.names {
            out.push(format!("{} ({}) names `{name}`", show(m), file.display()));
        }
        for d in &g[m] {
            if !is_leaf(d) {
                out.push(format!(
                    "leaf {} ({}) depends on {}, which is not a leaf",
                    show(m),
                    file.display(),
                    show(d)
                ));
            }
        }
    }
    let world = vec!["kernel".to_string(), "world".to_string()];
    for comp in cycles(&g) {
        if !comp.contains(&world) {
            out.push(format!(
                "a cycle apart from the kernel's loop with World: {:?}",
                comp.iter().map(|m| show(m)).collect::<Vec<_>>()
            ));
        }
        for m in &comp {
            if m.is_empty() || is_leaf(m) || OUTSIDE_THE_KERNEL.iter().any(|o| under(m, o)) {
                out.push(format!("{} is in the kernel's loop with World", show(m)));
            }
        }
    }
    out
}

fn fake(files: &[(&str, &str)]) -> BTreeMap<ModPath, (PathBuf, Source)> {
    files
        .iter()
        .map(|(m, text)| {
            let module: ModPath = if m.is_empty() {
                Vec::new()
            } else {
                m.split("::").map(String::from).collect()
            };
            let src = scan(&module, text).unwrap();
            (module, (PathBuf::from(format!("{m}.rs")), src))
        })
        .collect()
}

#[test]
fn the_stack_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    // The checks below see the real shape: World and the kernel's loop.
    let world = vec!["kernel".to_string(), "world".to_string()];
    assert!(mods.contains_key(&world), "kernel/world.rs not found");
    assert!(
        cycles(&graph(&mods)).iter().any(|c| c.contains(&world)),
        "no loop through World found: the scan no longer reads the sources"
    );
    for leaf in LEAVES {
        let m: ModPath = leaf.split("::").map(String::from).collect();
        assert!(
            mods.contains_key(&m),
            "leaf {leaf} is not a module any more"
        );
    }
    let problems = problems(&mods);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_root_of_src_holds_at_most_a_dozen_entries() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut entries: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert!(
        entries.len() <= 12,
        "{} entries: {entries:?}",
        entries.len()
    );
}

#[test]
fn a_leaf_that_names_world_or_reaches_the_kernel_is_caught() {
    let kernel = "use crate::kernel::world::World; use crate::wire::Frame; impl World { fn rcv(&mut self) {} }";
    let world = "pub struct World { x: crate::net::Sock }";
    let ok = fake(&[
        ("kernel::world", world),
        ("net", kernel),
        (
            "wire",
            "pub struct Frame; // World in a comment is fine\nconst S: &str = \"Sim\";",
        ),
        ("", "pub mod net; pub use crate::wire::Frame;"),
    ]);
    assert_eq!(problems(&ok), Vec::<String>::new());

    let bad = fake(&[
        ("kernel::world", world),
        ("net", kernel),
        (
            "wire",
            "use crate::{kernel::world::World, net};\npub struct Frame;",
        ),
    ]);
    let found = problems(&bad);
    assert!(
        found.iter().any(|p| p.contains("names `World`")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("depends on kernel::world")),
        "{found:?}"
    );

    // A driver module that the kernel calls back joins the loop.
    let looped = fake(&[
        ("kernel::world", world),
        (
            "net",
            "use crate::kernel::world::World; impl World { fn f(&self) { crate::sim::g() } }",
        ),
        (
            "sim",
            "pub fn g() {} fn h(w: &crate::kernel::world::World) {}",
        ),
    ]);
    let found = problems(&looped);
    assert!(
        found
            .iter()
            .any(|p| p.contains("sim is in the kernel's loop")),
        "{found:?}"
    );

    // Tests may use anything.
    let tests = fake(&[
        ("kernel::world", world),
        ("net", kernel),
        (
            "wire",
            "#[cfg(test)]\nmod tests { use crate::sim::Sim; }\npub struct Frame;",
        ),
    ]);
    assert_eq!(problems(&tests), Vec::<String>::new());
}
