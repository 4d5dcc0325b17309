//! How containers talk: two network namespaces on one host, each with an
//! `eth0` that is one end of a veth pair whose other end is a port of the
//! host's bridge `br0`, the way Docker or a CNI plugin wires them.
//!
//! The story: the host builds the topology with the `ip` commands a
//! container runtime issues; each container sees only its own interfaces,
//! routes and sockets; a TCP client in `ctr2` talks to a server in `ctr1`
//! across veth → bridge → veth; `ctr2` pings `ctr1` with a raw socket,
//! building the ICMP header itself as `ping` does, and reads the reply
//! with its IP header; `ctr1` asks the kernel for its routes over
//! rtnetlink, the way `ip route` does; and the trace shows the path the
//! echo request took (`veth_xmit`, `netif_rx`, `br_forward`, ...).
//!
//! Run it with `cargo run -q -p stack --example netns_veth`.
//! Knobs: --payload, --ttl (cargo run -q -p stack --example netns_veth --
//! --help)

use stack::netlink::{self, user};
use stack::prelude::*;
use stack::tools;

/// An ICMP echo request as `ping` builds it: type 8, code 0, checksum,
/// identifier, sequence number, data.
fn echo_request(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let mut sum: u32 = m
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    m[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    m
}

pub fn main() {
    let k = knobs::Knobs::new("netns_veth")
        .int(
            "payload",
            14,
            0..=1472,
            "bytes of data in the ping (the echo request)",
        )
        .int(
            "ttl",
            64,
            1..=255,
            "ctr1's net.ipv4.ip_default_ttl (the reply's TTL)",
        )
        .parse();
    let payload = k.int("payload") as usize;
    let ttl = k.int("ttl").to_string();
    let mut sim = Sim::new(1);
    let host = sim.add_host("host");

    println!("The container runtime, on the host:");
    for cmd in [
        "netns add ctr1",
        "netns add ctr2",
        "link add br0 type bridge",
        "addr add 10.0.0.1/24 dev br0",
        "link set br0 up",
        "link add veth1 type veth peer name eth0 netns ctr1",
        "link add veth2 type veth peer name eth0 netns ctr2",
        "link set veth1 master br0",
        "link set veth2 master br0",
        "link set veth1 up",
        "link set veth2 up",
        "-n ctr1 link set lo up",
        "-n ctr1 addr add 10.0.0.2/24 dev eth0",
        "-n ctr1 link set eth0 up",
        "-n ctr1 route add default via 10.0.0.1",
        "-n ctr2 link set lo up",
        "-n ctr2 addr add 10.0.0.3/24 dev eth0",
        "-n ctr2 link set eth0 up",
        "-n ctr2 route add default via 10.0.0.1",
    ] {
        println!("  # ip {cmd}");
        sim.ip(host, cmd).expect("a valid command");
    }
    let ctr1 = sim.netns(host, "ctr1").expect("made above");
    let ctr2 = sim.netns(host, "ctr2").expect("made above");
    sim.sysctl(ctr1, "net.ipv4.ip_default_ttl", &ttl)
        .expect("a per-namespace tunable");

    for (name, ns) in [("ctr1", ctr1), ("ctr2", ctr2)] {
        println!("\n{name}# ip addr");
        print!("{}", sim.sh(ns, "ip addr"));
        println!("{name}# ip route");
        print!("{}", sim.sh(ns, "ip route"));
    }
    println!("\nhost# ip link");
    print!("{}", sim.sh(host, "ip link"));

    println!("\n== TCP from ctr2 to ctr1 ==\n");
    sim.spawn(ctr1, "server", |p| async move {
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:8080")?;
        p.listen(lfd, 16)?;
        let (fd, peer) = p.accept(lfd).await?;
        p.log(format!("accepted a connection from {peer}"));
        let mut buf = [0u8; 64];
        let n = p.read(fd, &mut buf).await?;
        p.write(fd, &buf[..n]).await?;
        p.log(format!("ctr1# ss -tan\n{}", p.sh("ss -tan")));
        p.sleep(ms(1)).await;
        p.close(fd)?;
        Ok(())
    });
    sim.spawn(ctr2, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:8080").await?;
        p.write(fd, b"hello from ctr2").await?;
        let mut buf = [0u8; 64];
        let n = p.read(fd, &mut buf).await?;
        p.log(format!(
            "echoed back: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
        p.log(format!("ctr2# ss -tan\n{}", p.sh("ss -tan")));
        p.sleep(ms(1)).await;
        p.close(fd)?;
        Ok(())
    });
    let report = sim.run();
    println!("host# ss -tan (the host's own namespace has no sockets)");
    print!("{}", sim.sh(host, "ss -tan"));
    print!("{report}");
    println!("(the clock ran on for the 60 s the first socket to close spends in TIME_WAIT)");

    println!("\n== ping ctr1 from ctr2 with a raw socket ==\n");
    let ping_at = sim.now() + ms(100);
    // "are you there?" for 14 bytes, repeated or cut for other sizes.
    let data: Vec<u8> = b"are you there? "
        .iter()
        .copied()
        .cycle()
        .take(payload)
        .collect();
    sim.spawn(ctr2, "ping", move |p| async move {
        p.sleep(ping_at - p.now()).await;
        // ANCHOR: raw_ping
        let fd = p.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)?;
        let request = echo_request(0x4242, 1, &data);
        p.sendto(fd, &request, 0, "10.0.0.2:0").await?;
        let mut buf = [0u8; 1500];
        let (n, from) = p.recvfrom(fd, &mut buf, 0).await?;
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        // ANCHOR_END: raw_ping
        let icmp = &buf[ihl..n];
        p.log(format!(
            "recvfrom: {n} bytes from {}: a {ihl}-byte IPv4 header (ttl {}, protocol {}), \
             then ICMP type {} code {} id {:#x} seq {}: {:?}",
            from.map(|a| a.to_string()).unwrap_or_default(),
            buf[8],
            buf[9],
            icmp[0],
            icmp[1],
            u16::from_be_bytes([icmp[4], icmp[5]]),
            u16::from_be_bytes([icmp[6], icmp[7]]),
            String::from_utf8_lossy(&icmp[8..]),
        ));
        Ok(())
    });
    let report = sim.run();
    print!("{report}");
    println!("\nThe path of the echo request and its reply:");
    let trace = sim.trace_text_since(ping_at);
    for line in trace
        .lines()
        .filter(|l| !l.contains(" sched ") && !l.contains(" syscall ") && !l.contains(" user "))
    {
        println!("{line}");
    }

    println!("\nhost# bridge fdb show br br0 (what the bridge learned)");
    print!("{}", sim.sh(host, "bridge fdb show br br0"));
    let (flooded, forwarded) = sim.bridge_counts(host, "br0").unwrap_or_default();
    println!("br0 flooded {flooded} frame(s) and forwarded {forwarded} to a single port");

    println!("\n== ctr1 asks the kernel for its routes (rtnetlink) ==\n");
    sim.spawn(ctr1, "ip-route", |p| async move {
        // ANCHOR: rtnetlink
        let fd = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
        let request = user::dump_request(netlink::RTM_GETROUTE, AF_INET as u8, 1);
        p.log(format!(
            "sendto: RTM_GETROUTE, NLM_F_REQUEST|NLM_F_DUMP, {} bytes: {:02x?}",
            request.len(),
            request
        ));
        p.sendto(fd, &request, 0, SockAddr::Netlink { pid: 0, groups: 0 })
            .await?;
        // ANCHOR_END: rtnetlink
        let names = |i: u32| match i {
            1 => Some("lo".to_string()),
            2 => Some("eth0".to_string()),
            _ => None,
        };
        loop {
            let mut buf = vec![0u8; 32768];
            let n = p.recv(fd, &mut buf, 0).await?;
            let replies = user::parse(&buf[..n]);
            p.log(format!("recv: {n} bytes, {} message(s)", replies.len()));
            let mut rows = Vec::new();
            for r in &replies {
                if let user::Reply::Route(route) = r {
                    let table = if route.table == 254 { "main" } else { "local" };
                    let line = tools::ip_route(&[route.ip_route_row(&names)]);
                    rows.push(format!("  [{table}] {}", line.trim_end()));
                }
            }
            for row in rows {
                println!("{row}");
            }
            if replies.contains(&user::Reply::Done) {
                p.log("NLMSG_DONE: the dump is complete");
                break;
            }
        }
        Ok(())
    });
    print!("{}", sim.run());
}
