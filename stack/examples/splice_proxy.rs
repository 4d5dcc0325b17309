//! A TCP proxy two ways: forwarding with `read()` + `write()`, and with
//! `splice()` through a pipe (socket → pipe → socket), as HAProxy and
//! nginx do.
//!
//! A client sends 1 MiB to the proxy, which forwards it to an upstream
//! server. The read/write proxy pulls every byte up into its own buffer
//! (`copy_to_user`) and pushes it back down (`copy_from_user`). The splice
//! proxy never sees the bytes: `splice(client, pipe)` puts references to
//! the pages of the client's segments in the pipe (`tcp_splice_read()`),
//! and `splice(pipe, upstream)` hands the same pages to the upstream
//! connection's segments. The proxy makes a few more system calls (a
//! pipe to make and close; two splices where the other did a read and a
//! write), but copies nothing.
//!
//! The counters are the proxy's own (`Process::process_costs`); the
//! upstream server checks what arrived against what the client sent.
//!
//! Run it with `cargo run -q -p stack --example splice_proxy`.
//! Knobs: --kib, --chunk (cargo run -q -p stack --example splice_proxy --
//! --help)

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stack::host::Costs;
use stack::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Proxy {
    ReadWrite,
    Splice,
}

pub fn main() {
    let k = knobs::Knobs::new("splice_proxy")
        .int(
            "kib",
            1024,
            4..=2048,
            "KiB the client sends through the proxy",
        )
        .int(
            "chunk",
            64,
            1..=1024,
            "bytes per read(), write() or splice(), in KiB",
        )
        .parse();
    let kib = k.int("kib") as usize;
    let chunk = k.int("chunk") as usize * 1024;
    let size = kib * 1024;
    let data: Vec<u8> = (0..size).map(|i| (i * 13 + i / 1000) as u8).collect();
    let amount = if kib % 1024 == 0 {
        format!("{} MiB", kib / 1024)
    } else {
        format!("{kib} KiB")
    };
    println!(
        "client --{amount}--> proxy (127.0.0.1:8080) --> upstream (127.0.0.1:9000), all on one host\n"
    );
    let rw = run(Proxy::ReadWrite, &data, chunk);
    let sp = run(Proxy::Splice, &data, chunk);

    println!("\nThe proxy's costs:");
    println!("{:<28} {:>15} {:>12}", "", "read()+write()", "splice()");
    let rows: [Row; 5] = [
        ("system calls", |c| c.syscalls),
        ("bytes copied to user", |c| c.copied_to_user),
        ("bytes copied from user", |c| c.copied_from_user),
        ("bytes copied in the kernel", |c| c.copied_in_kernel),
        ("page references taken", |c| c.pages_referenced),
    ];
    for (name, get) in rows {
        println!("{name:<28} {:>15} {:>12}", get(&rw), get(&sp));
    }
    println!(
        "\nsplice(): {} page references for {} pages' worth of bytes: from the client's segments into the pipe, and from the pipe into the upstream connection's segments (a page cut by a segment boundary is referenced by both segments). Not one byte copied.",
        sp.pages_referenced,
        size.div_ceil(4096)
    );
}

/// A row of the table: its name and the counter it shows.
type Row = (&'static str, fn(&Costs) -> u64);

fn run(kind: Proxy, data: &[u8], chunk: usize) -> Costs {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.set_tracing(false);
    let costs = Rc::new(Cell::new(Costs::default()));
    let proxy_costs = costs.clone();
    let sent = data.to_vec();
    let expect = Rc::new(RefCell::new(data.to_vec()));

    sim.spawn(h, "upstream", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:9000")?;
        p.listen(l, 8)?;
        let (s, _) = p.accept(l).await?;
        let mut got = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = p.read(s, &mut buf).await?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let same = got == *expect.borrow();
        println!(
            "upstream got {} bytes, {}",
            got.len(),
            if same {
                "exactly what the client sent"
            } else {
                "NOT what the client sent"
            }
        );
        p.close(s)
    });

    sim.spawn(h, "proxy", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let (client, _) = p.accept(l).await?;
        let up = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(up, "127.0.0.1:9000").await?;
        let before = p.process_costs();
        let mut forwarded = 0;
        match kind {
            Proxy::ReadWrite => {
                let mut buf = vec![0u8; chunk];
                loop {
                    let n = p.read(client, &mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    p.write(up, &buf[..n]).await?;
                    forwarded += n;
                }
            }
            Proxy::Splice => {
                // ANCHOR: splice
                let (r, w) = p.pipe()?;
                loop {
                    let n = p
                        .splice(client, None, w, None, chunk, SPLICE_F_MOVE | SPLICE_F_MORE)
                        .await?;
                    if n == 0 {
                        break;
                    }
                    let mut left = n;
                    while left > 0 {
                        left -= p
                            .splice(r, None, up, None, left, SPLICE_F_MOVE | SPLICE_F_MORE)
                            .await?;
                    }
                    forwarded += n;
                }
                p.close(r)?;
                p.close(w)?;
                // ANCHOR_END: splice
            }
        }
        proxy_costs.set(p.process_costs().since(&before));
        let how = match kind {
            Proxy::ReadWrite => "read() + write()",
            Proxy::Splice => "splice() through a pipe",
        };
        println!("proxy forwarded {forwarded} bytes with {how}");
        p.close(up)?;
        p.close(client)
    });

    sim.spawn(h, "client", move |p| async move {
        let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(s, "127.0.0.1:8080").await?;
        for piece in sent.chunks(chunk) {
            p.write(s, piece).await?;
        }
        p.close(s)
    });

    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
    costs.get()
}
