//! A packetdrill runner for the simulated stack: reads Linux's packetdrill
//! scripts (`../shared/packetdrill/`, the language in its `syntax.md`) and
//! runs each against one simulated host whose peer is the script, through
//! a simulated tun device, checking what the host sends as packetdrill
//! checks it.
//!
//! The runner uses no operating-system facility (files and Python come
//! through [`run::Env`]; `fs_env` is the native one), so it can run
//! wherever the stack runs; the
//! binary (`cargo run -q --release -p packetdrill -- PATH...`) reads the
//! scripts from disk and reports as `run-real.sh` does.

pub mod fs_env;
pub mod host;
pub mod parse;
pub mod run;
pub mod script;
pub mod shell;
pub mod symbols;
pub mod syscalls;
pub mod wire;
