//! Network namespaces, veth pairs and the bridge in the simulation: what a
//! container's network looks like from inside and from the host.
//!
//! The comparisons with this machine's kernel (the same topology built
//! with real namespaces) are in `differential_netns.rs`; these tests check
//! the behaviour a user relies on: isolation, delivery, learning.

use stack::prelude::*;

mod common;
use common::spawn_collect;

/// Two containers on one host, as a container runtime wires them: each
/// namespace has `eth0`, whose veth peer on the host is a port of `br0`
/// (10.0.0.1/24); `ctr1` is 10.0.0.2, `ctr2` 10.0.0.3.
fn two_containers() -> (Sim, HostId, NetNsId, NetNsId) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ctr1 = sim.add_netns(h, "ctr1").unwrap();
    let ctr2 = sim.add_netns(h, "ctr2").unwrap();
    sim.add_bridge(h, "br0").unwrap();
    sim.addr_add(h, "br0", "10.0.0.1/24").unwrap();
    for (i, ns) in [ctr1, ctr2].into_iter().enumerate() {
        let host_end = format!("veth{}", i + 1);
        sim.add_veth(h, &host_end, ns, "eth0").unwrap();
        sim.link_set_master(h, &host_end, "br0").unwrap();
        sim.addr_add(ns, "eth0", &format!("10.0.0.{}/24", i + 2))
            .unwrap();
        sim.link_set_up(ns, "lo").unwrap();
        sim.add_route(ns, "default", "10.0.0.1").unwrap();
    }
    (sim, h, ctr1, ctr2)
}

#[test]
fn the_same_port_can_be_bound_in_two_namespaces() {
    let (mut sim, h, ctr1, ctr2) = two_containers();
    for at in [ctr1, ctr2] {
        sim.spawn(at, "server", |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(fd, "0.0.0.0:8080")?;
            p.listen(fd, 16)?;
            // A second bind in the same namespace is refused.
            let again = p.socket(AF_INET, SOCK_STREAM, 0)?;
            assert_eq!(p.bind(again, "0.0.0.0:8080"), Err(Errno::EADDRINUSE));
            p.sleep(ms(1)).await;
            Ok(())
        });
    }
    // And once more on the host itself.
    sim.spawn(h, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:8080")?;
        Ok(())
    });
    let report = sim.run_until(us(500));
    assert!(!report.to_string().contains("error"), "{report}");
    // Each namespace's ss shows its own listener only.
    for at in [ctr1, ctr2] {
        let ss = sim.sh(at, "ss -tln");
        assert_eq!(ss.matches("0.0.0.0:8080").count(), 1, "{ss}");
    }
    assert!(!sim.sh(h, "ss -tln").contains("8080"));
    // The host's shell reaches into a namespace as `ip netns exec` does.
    assert_eq!(
        sim.sh(h, "ip netns exec ctr1 ss -tln"),
        sim.sh(ctr1, "ss -tln")
    );
    assert_eq!(
        sim.sh(h, "ip netns exec nope ss -tln"),
        "Cannot open network namespace \"nope\": No such file or directory\n"
    );
}

#[test]
fn loopback_is_per_namespace() {
    let (mut sim, _h, ctr1, ctr2) = two_containers();
    sim.spawn(ctr2, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(fd, "127.0.0.1:7000")?;
        p.listen(fd, 16)?;
        p.sleep(ms(5)).await;
        Ok(())
    });
    let got = spawn_collect(&mut sim, ctr1, "client", |p| async move {
        p.sleep(ms(1)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        Ok(p.connect(fd, "127.0.0.1:7000").await)
    });
    assert!(sim.run().is_ok());
    // ctr1's 127.0.0.1 is ctr1's own lo: nobody listens there.
    assert_eq!(got.take(), Some(Err(Errno::ECONNREFUSED)));
}

#[test]
fn a_new_namespace_cannot_reach_127_0_0_1_until_lo_is_up() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns = sim.add_netns(h, "ctr1").unwrap();
    let before = spawn_collect(&mut sim, ns, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        Ok(p.sendto(fd, b"x", 0, "127.0.0.1:9").await)
    });
    assert!(sim.run().is_ok());
    assert_eq!(before.take(), Some(Err(Errno::ENETUNREACH)));
    sim.link_set_up(ns, "lo").unwrap();
    let after = spawn_collect(&mut sim, ns, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        Ok(p.sendto(fd, b"x", 0, "127.0.0.1:9").await)
    });
    assert!(sim.run().is_ok());
    assert_eq!(after.take(), Some(Ok(1)));
}

#[test]
fn tcp_between_containers_crosses_veth_and_bridge() {
    let (mut sim, h, ctr1, ctr2) = two_containers();
    sim.spawn(ctr1, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(fd, "0.0.0.0:8080")?;
        p.listen(fd, 16)?;
        let (c, peer) = p.accept(fd).await?;
        assert_eq!(
            peer.inet().map(|a| a.ip().to_string()).as_deref(),
            Some("10.0.0.3")
        );
        let mut buf = [0u8; 16];
        let n = p.read(c, &mut buf).await?;
        p.write(c, &buf[..n]).await?;
        p.close(c)?;
        Ok(())
    });
    let echo = spawn_collect(&mut sim, ctr2, "client", |p| async move {
        p.sleep(ms(1)).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:8080").await?;
        p.write(fd, b"ping").await?;
        let mut buf = [0u8; 16];
        let n = p.read(fd, &mut buf).await?;
        Ok(buf[..n].to_vec())
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(echo.take().as_deref(), Some(&b"ping"[..]));
    // The frames went through the host's veth ends, which the bridge
    // forwarded; the counters agree on both sides of each pair.
    let v1 = sim.dev_stats(h, "veth1").unwrap();
    let e1 = sim.dev_stats(ctr1, "eth0").unwrap();
    assert!(v1.rx_packets > 0 && v1.tx_packets > 0);
    assert_eq!((v1.rx_packets, v1.rx_bytes), (e1.tx_packets, e1.tx_bytes));
    assert_eq!((v1.tx_packets, v1.tx_bytes), (e1.rx_packets, e1.rx_bytes));
    let trace = sim.trace_text();
    for step in ["veth_xmit on eth0", "br_forward", "netif_rx", "br_flood"] {
        assert!(trace.contains(step), "no {step:?} in the trace");
    }
}

/// The first frame to an unknown station is flooded; its answer teaches
/// the bridge where that station is, so later frames go to one port only.
#[test]
fn the_bridge_learns_and_stops_flooding() {
    let (mut sim, h, ctr1, ctr2) = two_containers();
    // A third container that should see only the broadcast ARP request.
    let ctr3 = sim.add_netns(h, "ctr3").unwrap();
    sim.add_veth(h, "veth3", ctr3, "eth0").unwrap();
    sim.link_set_master(h, "veth3", "br0").unwrap();
    sim.addr_add(ctr3, "eth0", "10.0.0.4/24").unwrap();
    sim.spawn(ctr1, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 16];
        for _ in 0..3 {
            p.recvfrom(fd, &mut buf, 0).await?;
        }
        Ok(())
    });
    sim.spawn(ctr2, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        for _ in 0..3 {
            p.sendto(fd, b"hello", 0, "10.0.0.2:9000").await?;
            p.sleep(ms(1)).await;
        }
        Ok(())
    });
    assert!(sim.run().is_ok());
    // veth3 carried the ARP request (a broadcast) and nothing else.
    assert_eq!(sim.dev_stats(h, "veth3").unwrap().tx_packets, 1);
    let (flooded, forwarded) = sim.bridge_counts(h, "br0").unwrap();
    assert_eq!(flooded, 1, "only the ARP request is flooded");
    // The ARP reply and three datagrams went to one port each.
    assert_eq!(forwarded, 4);
    let fdb = sim.sh(h, "bridge fdb show br br0");
    let mac1 = mac_of(&sim.sh(ctr1, "ip link"), "eth0");
    let mac2 = mac_of(&sim.sh(ctr2, "ip link"), "eth0");
    assert!(
        fdb.contains(&format!("{mac1} dev veth1 master br0 \n")),
        "{fdb}"
    );
    assert!(
        fdb.contains(&format!("{mac2} dev veth2 master br0 \n")),
        "{fdb}"
    );
}

/// An FDB entry not refreshed for 300 s is forgotten: the next frame to
/// that station is flooded again.
#[test]
fn fdb_entries_age_out() {
    let (mut sim, h, ctr1, ctr2) = two_containers();
    sim.spawn(ctr1, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 16];
        p.recvfrom(fd, &mut buf, 0).await?;
        p.recvfrom(fd, &mut buf, 0).await?;
        Ok(())
    });
    sim.spawn(ctr2, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"a", 0, "10.0.0.2:9000").await?;
        p.sleep(secs(301)).await;
        p.sendto(fd, b"b", 0, "10.0.0.2:9000").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    let (flooded, _) = sim.bridge_counts(h, "br0").unwrap();
    // The ARP request, then the second datagram to a forgotten station
    // (ctr2's ARP entry is still usable: the simulation does not age
    // neighbours).
    assert_eq!(flooded, 2);
}

/// A veth end whose peer is down has no carrier, and what it sends is
/// dropped.
#[test]
fn a_veth_whose_peer_is_down_drops_what_it_sends() {
    let (mut sim, h, ctr1, _ctr2) = two_containers();
    sim.link_set_down(h, "veth1").unwrap();
    let link = sim.sh(ctr1, "ip link");
    assert!(
        link.contains("eth0@if3: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN"),
        "{link}"
    );
    assert!(sim.sh(ctr1, "ip route").contains("linkdown"));
    sim.spawn(ctr1, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"lost", 0, "10.0.0.3:9000").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    // The ARP requests that must go first (repeated until the neighbour
    // entry fails) are dropped on eth0 and counted on both ends.
    let tries = u64::from(stack::inet::neighbour::ARP_MCAST_SOLICIT);
    assert_eq!(sim.dev_stats(ctr1, "eth0").unwrap().tx_dropped, tries);
    assert_eq!(sim.dev_stats(h, "veth1").unwrap().rx_dropped, tries);
}

/// A device's MAC address, from `ip link`.
fn mac_of(ip_link: &str, dev: &str) -> String {
    let mut lines = ip_link.lines();
    while let Some(l) = lines.next() {
        if l.split(": ")
            .nth(1)
            .is_some_and(|n| n.split('@').next() == Some(dev))
        {
            let next = lines.next().unwrap_or_default();
            return next
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
        }
    }
    panic!("no {dev} in {ip_link}");
}

/// A capture on a container's `eth0` holds the frames of its veth, as
/// `ip netns exec ctr1 tcpdump -i eth0 -w FILE` would write them: the ARP
/// request and reply and the datagram, each at the instant it crossed.
#[test]
fn a_veth_end_can_be_captured() {
    let (mut sim, _h, ctr1, ctr2) = two_containers();
    sim.spawn(ctr1, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 16];
        p.recvfrom(fd, &mut buf, 0).await?;
        Ok(())
    });
    sim.spawn(ctr2, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"hello", 0, "10.0.0.2:9000").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    let pcap = sim.pcap(ctr1, "eth0").expect("ctr1 has an eth0");
    // The global header, then one record header (16 bytes) per frame:
    // ARP request in (42 B), ARP reply out (42 B), datagram in (47 B).
    assert_eq!(pcap.len(), 24 + (16 + 42) + (16 + 42) + (16 + 47));
    assert!(sim.pcap(ctr1, "veth1").is_none(), "veth1 is the host's");
}

/// A program that dumps the links over rtnetlink and prints them with the
/// user-side parser gets what `ip link` shows.
#[test]
fn an_rtnetlink_link_dump_prints_like_ip_link() {
    use stack::netlink::{self, user};
    let (mut sim, _h, ctr1, _ctr2) = two_containers();
    let dump = common::spawn_collect(&mut sim, ctr1, "nl", |p| async move {
        let fd = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
        let req = user::dump_request(netlink::RTM_GETLINK, 0, 1);
        p.sendto(fd, &req, 0, SockAddr::Netlink { pid: 0, groups: 0 })
            .await?;
        let mut links = Vec::new();
        loop {
            let mut buf = vec![0u8; 32768];
            let n = p.recv(fd, &mut buf, 0).await?;
            let replies = user::parse(&buf[..n]);
            for r in &replies {
                if let user::Reply::Link(l) = r {
                    links.push(l.clone());
                }
            }
            if replies.contains(&user::Reply::Done) {
                return Ok(links);
            }
        }
    });
    assert!(sim.run().is_ok());
    let links = dump.take().unwrap();
    let names: Vec<(u32, String)> = links
        .iter()
        .map(|l| (l.ifindex as u32, l.name.clone()))
        .collect();
    let name_of = |i: u32| names.iter().find(|(x, _)| *x == i).map(|(_, n)| n.clone());
    let rows: Vec<_> = links.iter().map(|l| l.ip_link_row(&name_of)).collect();
    assert_eq!(stack::tools::ip_link(&rows), sim.sh(ctr1, "ip link"));
}

/// A NIC enslaved to a bridge takes frames for the stations behind the
/// bridge (the bridge makes it promiscuous): another host reaches a
/// container through the wire, the NIC, the bridge and a veth.
#[test]
fn a_bridged_nic_lets_another_host_reach_a_container() {
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.254/24", LinkConfig::default());
    sim.add_bridge(b, "br0").unwrap();
    sim.link_set_master(b, "eth0", "br0").unwrap();
    let ctr = sim.add_netns(b, "ctr").unwrap();
    sim.add_veth(b, "veth1", ctr, "eth0").unwrap();
    sim.link_set_master(b, "veth1", "br0").unwrap();
    sim.addr_add(ctr, "eth0", "10.0.0.2/24").unwrap();
    let got = spawn_collect(&mut sim, ctr, "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 16];
        let (n, from) = p.recvfrom(fd, &mut buf, 0).await?;
        Ok((
            buf[..n].to_vec(),
            from.and_then(|f| f.inet()).map(|f| f.ip().to_string()),
        ))
    });
    sim.spawn(a, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"over the wire", 0, "10.0.0.2:9000").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    assert_eq!(
        got.take(),
        Some((b"over the wire".to_vec(), Some("10.0.0.1".into())))
    );
    let fdb = sim.sh(b, "bridge fdb show br br0");
    assert_eq!(
        fdb.lines().filter(|l| !l.contains("permanent")).count(),
        2,
        "{fdb}"
    );
}
