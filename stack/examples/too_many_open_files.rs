//! Every socket holds a slot in the fd table, and a process may hold at
//! most `RLIMIT_NOFILE` of them (`ulimit -n`, 1024 by default). The next
//! `socket()` fails with `EMFILE`: "Too many open files".
//!
//! Run it with `cargo run -q -p stack --example too_many_open_files`.
//! Knobs: --nofile (cargo run -q -p stack --example too_many_open_files --
//! --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("too_many_open_files")
        .int(
            "nofile",
            1024,
            4..=4096,
            "the process's RLIMIT_NOFILE (ulimit -n), in fds",
        )
        .parse();
    let nofile = k.int("nofile") as u32;
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");

    sim.spawn(host, "leaky-server", move |p| async move {
        p.set_nofile_limit(nofile); // ulimit -n
        // ANCHOR: main
        let mut opened = Vec::new();
        loop {
            match p.socket(AF_INET, SOCK_DGRAM, 0) {
                Ok(fd) => opened.push(fd),
                Err(e) => {
                    println!(
                        "socket() #{} failed: errno {} = {} ({})",
                        opened.len() + 1,
                        e.raw(),
                        e.name(),
                        e.strerror()
                    );
                    break;
                }
            }
        }
        println!(
            "opened {} sockets: fds {} to {}; fds 0-2 are the terminal, and the limit is {nofile}",
            opened.len(),
            opened.first().copied().unwrap_or(-1),
            opened.last().copied().unwrap_or(-1)
        );
        p.close(opened[0])?;
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        println!(
            "after close({}), socket() works again and returns {fd}",
            opened[0]
        );
        // ANCHOR_END: main
        Ok(())
    });

    sim.set_tracing(false);
    let report = sim.run();
    print!("{report}");
}
