//! `socket()` returns a file descriptor: the lowest free slot in the
//! process's fd table. 0, 1 and 2 are taken by the terminal, so the first
//! socket is 3; a closed number is the first to be reused.
//!
//! Run it with `cargo run -q -p stack --example fd_table`.
//! Knobs: --close, --nofile (cargo run -q -p stack --example fd_table --
//! --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("fd_table")
        .int("close", 3, 3..=5, "the fd the program closes")
        .int(
            "nofile",
            1024,
            4..=1024,
            "the program's RLIMIT_NOFILE, in fds",
        )
        .parse();
    let (close, nofile) = (k.int("close") as i32, k.int("nofile") as u32);
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");

    sim.spawn(host, "app", move |p| async move {
        p.set_nofile_limit(nofile);
        // ANCHOR: main
        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let c = p.socket(AF_INET6, SOCK_DGRAM, 0)?;
        println!("socket() -> {a}, socket() -> {b}, socket() -> {c}");
        println!("\nls -l /proc/{}/fd", p.pid());
        print!("{}", p.fd_table());

        p.close(close)?;
        println!("\nclose({close})");
        let d = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        println!("socket() -> {d}   (the lowest free number, not {})", c + 1);
        println!("\nls -l /proc/{}/fd", p.pid());
        print!("{}", p.fd_table());

        // A number that names nothing is EBADF, whatever the call.
        match p.close(a + 10) {
            Err(e) => println!("\nclose({}) -> {e}", a + 10),
            Ok(()) => println!("\nclose({}) unexpectedly succeeded", a + 10),
        }
        // ANCHOR_END: main
        Ok(())
    });

    sim.set_tracing(false);
    let report = sim.run();
    println!();
    print!("{report}");
}
