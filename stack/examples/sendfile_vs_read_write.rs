//! What a copy costs: a server sends the same 1 MiB file to a client over
//! TCP twice, once the classic way and once with `sendfile()`.
//!
//! With `read()` + `write()` every byte is copied twice: `read()` copies it
//! from the file's page cache into the server's buffer (`copy_to_user`),
//! `write()` copies it from that buffer into the socket's memory
//! (`copy_from_user`). With `sendfile()` the kernel copies nothing: it puts
//! references to the page-cache pages in a pipe the process never sees,
//! then hands the same pages to TCP as fragments of its segments
//! (`MSG_SPLICE_PAGES`); over loopback the client's receive queue ends up
//! pointing at the server's page cache. One system call instead of dozens,
//! and page references instead of byte copies.
//!
//! The counters are the server's own (`Process::process_costs`, like
//! `/proc/PID/io`); the client reads with `read()` in both runs, and the
//! bytes it got are checked against the file.
//!
//! Run it with `cargo run -q -p stack --example sendfile_vs_read_write`.
//! Knobs: --kib, --buf (cargo run -q -p stack --example
//! sendfile_vs_read_write -- --help)

use stack::host::Costs;
use stack::prelude::*;

const PATH: &str = "/srv/big.bin";

#[derive(Clone, Copy, PartialEq)]
enum Method {
    ReadWrite,
    Sendfile,
}

/// What one run measured.
struct Run {
    server: Costs,
    client: Costs,
    received: usize,
    received_fnv: u64,
}

pub fn main() {
    let k = knobs::Knobs::new("sendfile_vs_read_write")
        .int("kib", 1024, 4..=2048, "size of the file, in KiB")
        .int("buf", 64, 1..=1024, "the read()+write() buffer, in KiB")
        .parse();
    let size = k.int("kib") as usize * 1024;
    let buf = k.int("buf") as usize * 1024;
    let file: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4096) as u8).collect();
    println!(
        "A {size}-byte file ({PATH}, {} pages in the page cache) sent to a client over TCP on loopback.",
        size.div_ceil(4096)
    );
    println!(
        "\n== read() + write() through a {} KiB buffer ==",
        buf >> 10
    );
    let rw = run(Method::ReadWrite, &file, buf);
    println!("\n== sendfile() ==");
    let sf = run(Method::Sendfile, &file, buf);

    println!("\nThe server's costs:");
    println!("{:<28} {:>15} {:>12}", "", "read()+write()", "sendfile()");
    let rows: [Row; 5] = [
        ("system calls", |c| c.syscalls),
        ("bytes copied to user", |c| c.copied_to_user),
        ("bytes copied from user", |c| c.copied_from_user),
        ("bytes copied in the kernel", |c| c.copied_in_kernel),
        ("page references taken", |c| c.pages_referenced),
    ];
    for (name, get) in rows {
        println!("{name:<28} {:>15} {:>12}", get(&rw.server), get(&sf.server));
    }
    let pages = size.div_ceil(4096) as u64;
    let refs = sf.server.pages_referenced;
    println!(
        "\nsendfile(): {refs} page references for {pages} pages: 2 per page (into its private pipe, then into a TCP segment), and {} more for pages that straddle two segments.",
        refs.saturating_sub(2 * pages)
    );
    println!(
        "The client, in both runs: read() copied {} and {} bytes to user.",
        rw.client.copied_to_user, sf.client.copied_to_user
    );
    let want = fnv1a(&file);
    for (name, r) in [("read()+write()", &rw), ("sendfile()", &sf)] {
        println!(
            "{name:<15} the client got {} bytes, FNV-1a {:#018x}: {}",
            r.received,
            r.received_fnv,
            if r.received == size && r.received_fnv == want {
                "the file, intact"
            } else {
                "NOT the file"
            }
        );
    }
}

/// A row of the table: its name and the counter it shows.
type Row = (&'static str, fn(&Costs) -> u64);

fn run(method: Method, file: &[u8], buf_len: usize) -> Run {
    let last_page = (file.len().div_ceil(4096) - 1) as u64;
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.set_tracing(false);
    sim.create_file(h, PATH, file);
    let result = std::rc::Rc::new(std::cell::RefCell::new(None));
    let out = result.clone();

    sim.spawn(h, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let got = std::rc::Rc::new(std::cell::Cell::new((0usize, 0u64, Costs::default())));
        let client_got = got.clone();
        p.fork("client", move |c| async move {
            let s = c.socket(AF_INET, SOCK_STREAM, 0)?;
            c.connect(s, "127.0.0.1:8080").await?;
            let mut bytes = Vec::new();
            let mut buf = vec![0u8; buf_len];
            loop {
                let n = c.read(s, &mut buf).await?;
                if n == 0 {
                    break;
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            client_got.set((bytes.len(), fnv1a(&bytes), c.process_costs()));
            c.close(s)
        })?;
        let (s, _) = p.accept(l).await?;
        let before = p.process_costs();
        let f = p.open(PATH, O_RDONLY)?;
        let size = p.fstat(f)?.st_size as usize;
        // ANCHOR: send
        match method {
            Method::ReadWrite => {
                let mut buf = vec![0u8; buf_len];
                let (mut reads, mut writes) = (0, 0);
                loop {
                    let n = p.read(f, &mut buf).await?;
                    reads += 1;
                    if n == 0 {
                        break;
                    }
                    p.write(s, &buf[..n]).await?;
                    writes += 1;
                }
                println!(
                    "server: {reads} read()s (the last one returned 0) and {writes} write()s of up to {buf_len} bytes"
                );
            }
            Method::Sendfile => {
                let mut sent = 0;
                while sent < size {
                    sent += p.sendfile(s, f, None, size - sent).await?;
                }
                println!("server: sendfile() returned {sent}");
                println!(
                    "server: page {last_page} of {PATH} now has {} references: the page cache's, and the skb fragments still holding it",
                    p.page_count(PATH, last_page).unwrap_or(0)
                );
            }
        }
        // ANCHOR_END: send
        let server = p.process_costs().since(&before);
        p.close(f)?;
        p.close(s)?;
        p.sleep(ms(1)).await;
        let (received, received_fnv, client) = got.get();
        *out.borrow_mut() = Some(Run {
            server,
            client,
            received,
            received_fnv,
        });
        Ok(())
    });
    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
    if method == Method::Sendfile {
        println!(
            "after the run: page {last_page} has {} reference, the page cache's alone",
            sim.page_count(h, PATH, last_page).unwrap_or(0)
        );
    }
    result.take().expect("the server finished")
}

/// FNV-1a, 64 bits: a checksum to compare what arrived with the file.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
