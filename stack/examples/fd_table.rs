//! `socket()` returns a file descriptor: the lowest free slot in the
//! process's fd table. 0, 1 and 2 are taken by the terminal, so the first
//! socket is 3; a closed number is the first to be reused.
//!
//! Run it with `cargo run -q -p stack --example fd_table`.

use stack::prelude::*;

fn main() {
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");

    sim.spawn(host, "app", |p| async move {
        // ANCHOR: main
        let a = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let b = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let c = p.socket(AF_INET6, SOCK_DGRAM, 0)?;
        println!("socket() -> {a}, socket() -> {b}, socket() -> {c}");
        println!("\nls -l /proc/{}/fd", p.pid());
        print!("{}", p.fd_table());

        p.close(a)?;
        println!("\nclose({a})");
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
