//! Two programs that each wait for the other to speak first. Both sleep
//! in `recv()`, nothing is in flight that could wake either, and the
//! simulation says so instead of hanging: a deadlock report naming who
//! waits on what.
//!
//! Run it with `cargo run -q -p stack --example recv_deadlock`.
//! Knobs: --speak-first (cargo run -q -p stack --example recv_deadlock --
//! --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("recv_deadlock")
        .choice(
            "speak-first",
            "none",
            &["none", "one", "both"],
            "which peers send before recv()",
        )
        .parse();
    let speak_first = k.choice("speak-first").to_string();
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");

    // ANCHOR: main
    for (me, peer) in [(8001, 8002), (8002, 8001)] {
        let first = speak_first == "both" || (speak_first == "one" && me == 8001);
        sim.spawn(host, &format!("peer-{me}"), move |p| async move {
            let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
            p.bind(fd, format!("127.0.0.1:{me}"))?;
            p.connect(fd, format!("127.0.0.1:{peer}")).await?;
            let mut buf = [0u8; 100];
            if first {
                p.sleep(ms(1)).await; // once the other is up...
                p.send(fd, b"hello", 0).await?; // ...speak first: the way out
            }
            let n = p.recv(fd, &mut buf, 0).await?; // both wait here first...
            if !first {
                p.send(fd, b"hello", 0).await?; // ...so neither gets here
            }
            p.log(format!("got {n} bytes"));
            Ok(())
        });
    }
    // ANCHOR_END: main

    let report = sim.run();
    print!("{report}");
    println!("\nss -uanp at that moment:");
    print!("{}", sim.sh(host, "ss -uanp"));
}
