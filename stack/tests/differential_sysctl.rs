//! Differential test of the sysctl defaults: every tunable the simulation
//! models starts with the value this machine's kernel has in
//! `/proc/sys/net/...`, and `sysctl -n`/`sysctl NAME` print it the same way
//! the real `sysctl` tool does.
//!
//! A name whose `/proc/sys` file does not exist here (an older kernel, a
//! module not loaded) is skipped with a note on stdout; so is the tool
//! comparison when `sysctl` is not installed, and a tunable whose default
//! is a choice made when the kernel is built (`stack::sysctl::BUILD_CHOICE`)
//! when this machine chose another value.

use std::process::Command;

use stack::prelude::*;

/// `/proc/sys/net/core/rmem_max` for `net.core.rmem_max`.
fn proc_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

#[test]
fn every_modelled_sysctl_defaults_to_this_machines_value() {
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");
    let mut compared = 0;
    let mut differ = Vec::new();
    for &name in stack::sysctl::NAMES {
        let path = proc_path(name);
        let real = match std::fs::read_to_string(&path) {
            // The file ends in a newline; multi-valued ones separate by tabs.
            Ok(s) => s.strip_suffix('\n').unwrap_or(&s).to_string(),
            Err(e) => {
                println!("note: skipping {name}: cannot read {path}: {e}");
                continue;
            }
        };
        let simulated = sim
            .sysctl_get(host, name)
            .unwrap_or_else(|e| panic!("{name} is in NAMES but sysctl_get gives {e}"));
        if simulated != real && stack::sysctl::BUILD_CHOICE.contains(&name) {
            println!(
                "note: skipping {name}: this kernel was built with {real:?}, the simulation follows Linux's default {simulated:?}"
            );
            continue;
        }
        if simulated != real {
            differ.push(format!(
                "{name}: this machine {real:?}, simulation {simulated:?}"
            ));
        }
        compared += 1;
    }
    assert!(
        differ.is_empty(),
        "sysctl defaults differ:\n  {}",
        differ.join("\n  ")
    );
    assert!(compared > 0, "no modelled sysctl exists on this machine");
}

#[test]
fn sysctl_tool_output_matches() {
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");
    for &name in stack::sysctl::NAMES {
        if !std::path::Path::new(&proc_path(name)).exists() {
            println!("note: skipping {name}: no {} here", proc_path(name));
            continue;
        }
        for args in [vec!["-n", name], vec![name]] {
            let out = match Command::new("sysctl").args(&args).output() {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                Ok(o) => {
                    println!(
                        "note: skipping: `sysctl {}` failed: {}",
                        args.join(" "),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    continue;
                }
                Err(e) => {
                    println!("note: skipping the tool comparison: cannot run sysctl: {e}");
                    return;
                }
            };
            let shown = sim.sh(host, &format!("sysctl {}", args.join(" ")));
            if shown != out && stack::sysctl::BUILD_CHOICE.contains(&name) {
                println!(
                    "note: skipping {name}: a build choice (this machine {out:?}, simulation {shown:?})"
                );
                continue;
            }
            assert_eq!(shown, out, "`sysctl {}`", args.join(" "));
        }
    }
}

/// Sanity of the comparison itself: a value written with `Sim::sysctl`
/// reads back, and an unknown name is `ENOENT` as a missing `/proc/sys`
/// file is.
#[test]
fn written_values_read_back_and_unknown_names_are_enoent() {
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");
    sim.sysctl(host, "net.core.rmem_max", "1048576").unwrap();
    assert_eq!(
        sim.sysctl_get(host, "net.core.rmem_max").unwrap(),
        "1048576"
    );
    let missing = "net.core.no_such_knob";
    assert!(!std::path::Path::new(&proc_path(missing)).exists());
    assert_eq!(sim.sysctl_get(host, missing), Err(Errno::ENOENT));
}
