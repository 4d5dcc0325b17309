//! The 40 ms stall of a request written in two pieces: Nagle's algorithm
//! on the client and delayed ACK on the server, each reasonable, together
//! a pause on every request.
//!
//! A client sends twelve requests on one connection, each as two
//! `write()`s, a 700-byte header and a 200-byte body, and waits for a
//! 100-byte response. The server reads until it has the whole 900-byte
//! request, then answers. The same run three times: as written, with
//! `TCP_NODELAY` on the client, and with the request built in one buffer
//! and written once. Under the table, the TCP segments of one slow request,
//! and the counters.
//!
//! The first request is quick: a new connection acknowledges at once
//! (quick-ack mode). Its response makes the server's connection
//! interactive ("pingpong" mode: it sent data just after receiving some),
//! and from then on the server delays its ACKs, hoping to send each on an
//! answer, so every later request stalls, as it does over loopback on
//! Linux (`tests/differential_delack.rs` compares the two).
//!
//! Run it with `cargo run -q -p stack --example nagle_delayed_ack`.
//! Knobs: --requests, --header, --body, --latency (cargo run -q -p stack
//! --example nagle_delayed_ack -- --help)

use std::cell::RefCell;
use std::rc::Rc;

use stack::prelude::*;
use stack::trace::Layer;

/// The knobs: requests, their two pieces in bytes, the one-way delay in us.
#[derive(Clone, Copy)]
struct Load {
    requests: usize,
    header: usize,
    body: usize,
    latency: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Client {
    TwoWrites,
    NoDelay,
    OneWrite,
}

struct Run {
    latencies: Vec<Nanos>,
    starts: Vec<Nanos>,
    sim: Sim,
    client: HostId,
    server: HostId,
}

pub fn main() {
    let k = knobs::Knobs::new("nagle_delayed_ack")
        .int(
            "requests",
            12,
            2..=40,
            "requests on the connection, 1 ms apart",
        )
        .int(
            "header",
            700,
            1..=4000,
            "bytes of the first write() of a request",
        )
        .int(
            "body",
            200,
            1..=4000,
            "bytes of the second write() of a request",
        )
        .int(
            "latency",
            50,
            1..=10_000,
            "one-way delay of the link, in us",
        )
        .parse();
    let load = Load {
        requests: k.int("requests") as usize,
        header: k.int("header") as usize,
        body: k.int("body") as usize,
        latency: k.int("latency") as u64,
    };
    let Load {
        requests,
        header,
        body,
        latency,
    } = load;
    let runs = [Client::TwoWrites, Client::NoDelay, Client::OneWrite].map(|how| run(how, load));
    println!(
        "{requests} requests of {header} + {body} bytes, 100-byte responses, {latency} us each way\n"
    );
    println!(
        "{:>7} {:>18} {:>18} {:>18}",
        "request", "two writes", "TCP_NODELAY", "one write"
    );
    for i in 0..requests {
        println!(
            "{:>7} {:>18} {:>18} {:>18}",
            i + 1,
            fmt_ms(runs[0].latencies[i]),
            fmt_ms(runs[1].latencies[i]),
            fmt_ms(runs[2].latencies[i]),
        );
    }
    let total = |r: &Run| r.latencies.iter().sum::<Nanos>();
    println!(
        "{:>7} {:>18} {:>18} {:>18}",
        "total",
        fmt_ms(total(&runs[0])),
        fmt_ms(total(&runs[1])),
        fmt_ms(total(&runs[2])),
    );

    // ANCHOR: slow
    let r = &runs[0];
    let (from, to) = (r.starts[1], r.starts[1] + r.latencies[1]);
    println!("\nRequest 2, written in two pieces: the process and TCP steps");
    for e in r.sim.trace_events() {
        let shown = matches!(e.layer, Layer::User | Layer::Syscall | Layer::Tcp);
        if e.at >= from && e.at <= to && shown {
            let host = e.host.map(|h| r.sim.host_name(h)).unwrap_or_default();
            println!(
                "  {:>9.6}  {:<6}  {:<7}  {}",
                e.at as f64 / 1e9,
                host,
                e.layer.name(),
                e.what
            );
        }
    }
    // ANCHOR_END: slow

    println!(
        "\nCounters after the {} requests (nstat):",
        in_words(requests)
    );
    for (name, r) in ["two writes", "TCP_NODELAY", "one write"].iter().zip(&runs) {
        println!(
            "  {:<12} server TcpExtDelayedACKs {:>2}   client TcpOutSegs {:>3}",
            name,
            r.sim.counter(r.server, Mib::TcpExtDelayedACKs),
            r.sim.counter(r.client, Mib::TcpOutSegs),
        );
    }
}

/// `12` as "twelve"; numbers past twenty in digits.
fn in_words(n: usize) -> String {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

fn fmt_ms(d: Nanos) -> String {
    format!("{:.3} ms", d as f64 / 1e6)
}

fn run(how: Client, load: Load) -> Run {
    let Load {
        requests,
        header,
        body,
        latency,
    } = load;
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default().latency(us(latency)),
    );
    sim.set_tracing(how == Client::TwoWrites);

    sim.spawn(server, "server", move |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        let (fd, _) = p.accept(lfd).await?;
        for _ in 0..requests {
            let mut req = vec![0u8; header + body];
            let mut got = 0;
            while got < req.len() {
                got += p.read(fd, &mut req[got..]).await?; // the whole request first
            }
            p.write(fd, &[b'r'; 100]).await?;
        }
        Ok(())
    });

    let out = Rc::new(RefCell::new((Vec::new(), Vec::new())));
    let rec = out.clone();
    sim.spawn(client, "client", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        if how == Client::NoDelay {
            p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)?;
        }
        p.connect(fd, "10.0.0.2:80").await?;
        for _ in 0..requests {
            p.sleep(ms(1)).await;
            let start = p.now();
            // ANCHOR: request
            let header = vec![b'h'; header];
            let body = vec![b'b'; body];
            if how == Client::OneWrite {
                let mut whole = header.to_vec();
                whole.extend_from_slice(&body);
                p.write(fd, &whole).await?; // one buffer, one write
            } else {
                p.write(fd, &header).await?; // sent at once: nothing in flight
                p.write(fd, &body).await?; // small, and the header is unacknowledged
            }
            let mut resp = [0u8; 100];
            let mut got = 0;
            while got < resp.len() {
                got += p.read(fd, &mut resp[got..]).await?;
            }
            // ANCHOR_END: request
            let mut r = rec.borrow_mut();
            r.0.push(p.now() - start);
            r.1.push(start);
        }
        p.close(fd)?;
        Ok(())
    });
    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
    let (latencies, starts) = out.borrow().clone();
    Run {
        latencies,
        starts,
        sim,
        client,
        server,
    }
}
