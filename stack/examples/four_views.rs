//! One connection over a lossy link, seen through four tools that each
//! look at a different thing: `tcpdump` the frames on one interface (and
//! the two ends' captures differ: a frame lost on the wire is in the
//! sender's capture only), `ss -tni` the socket's state and its
//! `tcp_info`, `netstat -tan` the same table with fewer columns, and
//! `nstat` the namespace's counters, which remember the retransmission
//! after the connection is gone.
//!
//! The captures are built from what the simulated NICs sent and received,
//! as `tcpdump -i eth0 -w FILE` would record them. Give a directory with
//! `--pcap-dir DIR` to also write them there (`client.pcap`,
//! `server.pcap`) for the real `tcpdump -r` or Wireshark.
//!
//! Run it with `cargo run -q -p stack --example four_views`.

use stack::pcap::parse_pcap;
use stack::prelude::*;
use stack::wire::ipv4::IPPROTO_TCP;
use stack::wire::tcp::TcpHdr;
use stack::wire::{EthHdr, Ipv4Hdr};

pub fn main() {
    let k = knobs::Knobs::new("four_views")
        .int(
            "seed",
            3,
            0..=1_000_000,
            "the random seed that decides which frames are lost",
        )
        .float("loss", 25.0, 0.0..=60.0, "percent of frames the link loses")
        .int("latency", 5, 0..=500, "one-way delay of the link, in ms")
        .int("bytes", 3000, 1..=1_000_000, "bytes the client sends")
        .text(
            "pcap-dir",
            "also write client.pcap and server.pcap into this folder",
        )
        .native_only()
        .parse();
    let (seed, loss, latency) = (
        k.int("seed") as u64,
        k.float("loss"),
        k.int("latency") as u64,
    );
    let bytes = k.int("bytes") as usize;
    let pcap_dir = k.text("pcap-dir").to_string();
    let mut sim = Sim::new(seed);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default()
            .latency(ms(latency))
            .loss(loss / 100.0),
    );
    sim.set_tracing(false); // no trace of the layers...
    sim.set_capture(true); // ...but the frames on the wire, for tcpdump

    sim.spawn(server, "server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:9000")?;
        p.listen(lfd, 128)?;
        let (fd, _) = p.accept(lfd).await?;
        let mut buf = [0u8; 4096];
        let mut got = 0;
        while got < bytes {
            got += p.read(fd, &mut buf).await?;
        }
        p.write(fd, b"200 OK").await?;
        p.sleep(secs(5)).await;
        p.close(fd)?;
        Ok(())
    });
    sim.spawn(client, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:9000").await?;
        p.write(fd, &vec![b'x'; bytes]).await?;
        let mut buf = [0u8; 100];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!("answer: {n} bytes"));
        p.sleep(secs(5)).await;
        p.close(fd)?;
        Ok(())
    });

    sim.run_until(secs(3));
    println!("-- t=3s, the connection is open");
    println!("client$ ss -tni");
    print!("{}", sim.sh(client, "ss -tni"));
    println!("client$ netstat -tan");
    print!("{}", sim.sh(client, "netstat -tan"));
    let report = sim.run_until(secs(120));
    println!("-- t=120s, the connection is gone");
    println!("client$ ss -tni");
    print!("{}", sim.sh(client, "ss -tni"));
    println!("client$ nstat | grep -E '^Tcp(ActiveOpens|OutSegs|InSegs|RetransSegs|Ext)'");
    for line in sim.sh(client, "nstat").lines().filter(|l| {
        [
            "TcpActiveOpens",
            "TcpOutSegs",
            "TcpInSegs",
            "TcpRetransSegs",
            "TcpExt",
        ]
        .iter()
        .any(|k| l.starts_with(k))
    }) {
        println!("{line}");
    }
    for (host, name) in [(client, "client"), (server, "server")] {
        let pcap = sim.pcap(host, "eth0").expect("eth0");
        if !pcap_dir.is_empty() {
            let dir = &pcap_dir;
            let path = std::path::Path::new(&dir).join(format!("{name}.pcap"));
            std::fs::write(&path, &pcap).expect("write the capture");
        }
        println!("{name}$ tcpdump -nn -tt -S -r {name}.pcap tcp");
        for line in tcpdump(&pcap) {
            println!("{line}");
        }
    }
    print!("{report}");
}

// ANCHOR: tcpdump
/// The TCP frames of a capture as `tcpdump -nn -tt -S` prints them.
fn tcpdump(pcap: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    for (at, frame) in parse_pcap(pcap).expect("a valid capture") {
        let Ok(ip) = Ipv4Hdr::parse(&frame[EthHdr::LEN..]) else {
            continue; // ARP
        };
        if ip.protocol != IPPROTO_TCP {
            continue;
        }
        let l4 = &frame[EthHdr::LEN + ip.header_len()..EthHdr::LEN + ip.tot_len as usize];
        let tcp = TcpHdr::parse(l4).expect("a TCP header");
        lines.push(format!(
            "{}.{:06} IP {}.{} > {}.{}: {}",
            at / 1_000_000_000,
            at % 1_000_000_000 / 1000,
            ip.saddr,
            tcp.source,
            ip.daddr,
            tcp.dest,
            tcp.summary(l4.len() - tcp.header_len())
        ));
    }
    lines
}
// ANCHOR_END: tcpdump
