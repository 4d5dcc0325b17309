//! Differential tests of network namespaces, veth pairs, the bridge,
//! rtnetlink and raw ICMP sockets: each scenario is built twice, once with
//! real namespaces on this machine (`ip netns add`, `ip link add ... type
//! veth`, `... type bridge`; we run as root) and once in the simulation,
//! with the same names, addresses and MAC addresses, and what a user sees
//! must be the same: the output of `ip addr`, `ip link`, `ip -s link`, `ip
//! route`, `bridge fdb show`; the bytes of rtnetlink dumps; errno values;
//! the datagrams a raw socket reads; the ICMP counters.
//!
//! The real namespaces get IPv6 turned off on their new devices
//! (`net.ipv6.conf.default.disable_ipv6`) and the bridge gets multicast
//! snooping off, because the simulation models neither: otherwise the
//! kernel would add link-local addresses and send router solicitations,
//! MLD and IGMP reports of its own. Every real namespace is deleted when
//! its test ends, even when it fails. A test skips (with a note) when
//! namespaces cannot be made here.

use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, SockaddrIn, recv,
    recvfrom, sendto, socket,
};
use stack::netlink::{self, user};
use stack::prelude::*;

mod common;
use common::*;

// ------------------------------------------------------------ real side

/// Runs a command; its stdout, or its stderr as the error.
fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `ip ARGS` (words split on spaces), which must succeed.
fn ip(args: &str) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    run("ip", &words).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `f` on a thread that has joined the real namespace `name`.
/// Sockets made there stay in that namespace when handed back.
fn in_ns<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let fd = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(&fd, CloneFlags::CLONE_NEWNET).expect("setns(CLONE_NEWNET)");
        f()
    })
    .join()
    .expect("the thread in the namespace panicked")
}

/// Real namespaces for one test, named after it and this process so that
/// tests running at the same time do not meet; deleted on drop.
struct RealNetns {
    names: Vec<String>,
}

impl RealNetns {
    /// Makes the namespaces (IPv6 off on new devices, `lo` up), or
    /// returns `None` after a note if this machine cannot.
    fn new(test: &str, roles: &[&str]) -> Option<RealNetns> {
        let names: Vec<String> = roles
            .iter()
            .map(|r| format!("stk{}{test}{r}", std::process::id()))
            .collect();
        let mut made = RealNetns { names: Vec::new() };
        for n in &names {
            let _ = run("ip", &["netns", "del", n]);
            if let Err(e) = run("ip", &["netns", "add", n]) {
                println!("skipping: cannot make a network namespace: {e}");
                return None;
            }
            made.names.push(n.clone());
            in_ns(n, || {
                std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1")
                    .expect("disable IPv6 on new devices")
            });
            ip(&format!("-n {n} link set lo up"));
        }
        Some(made)
    }
}

impl Drop for RealNetns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = run("ip", &["netns", "del", n]);
        }
    }
}

// ------------------------------------------------------------- topology

/// The MAC address of `dev` in an `ip link` listing.
fn mac_of(ip_link: &str, dev: &str) -> String {
    let mut lines = ip_link.lines();
    while let Some(l) = lines.next() {
        if l.split(": ").nth(1).and_then(|n| n.split('@').next()) == Some(dev) {
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

/// Two containers joined to the host's bridge, the way a container
/// runtime wires them: namespace `names[0]` plays the host (a named
/// namespace, so that `ip` can name it in `link-netns`), with `br0`
/// 10.0.0.1/24; `names[1]` and `names[2]` each have an `eth0` (10.0.0.2,
/// 10.0.0.3) whose veth peer `veth1`/`veth2` is a port of `br0`.
fn sim_topology(names: &[String]) -> (Sim, HostId, Vec<NetNsId>) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns: Vec<NetNsId> = names
        .iter()
        .map(|n| {
            let id = sim.add_netns(h, n).unwrap();
            sim.link_set_up(id, "lo").unwrap();
            id
        })
        .collect();
    sim.add_bridge(ns[0], "br0").unwrap();
    sim.addr_add(ns[0], "br0", "10.0.0.1/24").unwrap();
    for i in 1..=2 {
        let veth = format!("veth{i}");
        sim.add_veth(ns[0], &veth, ns[i], "eth0").unwrap();
        sim.link_set_master(ns[0], &veth, "br0").unwrap();
        sim.addr_add(ns[i], "eth0", &format!("10.0.0.{}/24", i + 1))
            .unwrap();
        sim.add_route(ns[i], "default", "10.0.0.1").unwrap();
    }
    (sim, h, ns)
}

/// The same topology with real namespaces, devices created in the same
/// order (so with the same ifindexes) and given the simulation's MACs.
fn real_topology(sim: &Sim, ns: &[NetNsId], names: &[String]) {
    let host_links = sim.sh(ns[0], "ip link");
    let (h, c1, c2) = (&names[0], &names[1], &names[2]);
    ip(&format!(
        "-n {h} link add br0 address {} type bridge mcast_snooping 0",
        mac_of(&host_links, "br0")
    ));
    ip(&format!("-n {h} link set br0 up"));
    ip(&format!("-n {h} addr add 10.0.0.1/24 dev br0"));
    for (i, c) in [(1, c1), (2, c2)] {
        let veth = format!("veth{i}");
        ip(&format!(
            "-n {h} link add {veth} address {} type veth peer name eth0 address {} netns {c}",
            mac_of(&host_links, &veth),
            mac_of(&sim.sh(ns[i], "ip link"), "eth0")
        ));
        ip(&format!("-n {h} link set {veth} up"));
        ip(&format!("-n {c} link set eth0 up"));
        ip(&format!("-n {h} link set {veth} master br0"));
        ip(&format!("-n {c} addr add 10.0.0.{}/24 dev eth0", i + 1));
        ip(&format!("-n {c} route add default via 10.0.0.1"));
    }
}

/// `bridge fdb show br br0` without the devices' own multicast entries
/// (`self`), which the simulation does not model.
fn real_fdb(host: &str) -> String {
    run("bridge", &["-n", host, "fdb", "show", "br", "br0"])
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .filter(|l| !l.contains(" self"))
        .map(|l| format!("{l}\n"))
        .collect()
}

// ---------------------------------------------------------------- tests

#[test]
fn ip_views_of_a_container_topology_match_the_kernel() {
    let Some(real) = RealNetns::new("ipv", &["host", "ctr1", "ctr2"]) else {
        return;
    };
    let (sim, h, ns) = sim_topology(&real.names);
    real_topology(&sim, &ns, &real.names);
    for name in &real.names {
        for cmd in ["addr", "link", "-s link", "route", "route show table local"] {
            let want = ip(&format!("-n {name} {cmd}"));
            // The host's shell, reaching into the namespace as `ip -n` does.
            let got = sim.sh(h, &format!("ip -n {name} {cmd}"));
            same(&format!("ip -n {name} {cmd}"), want, got);
        }
    }
    same(
        "bridge fdb show br br0",
        real_fdb(&real.names[0]),
        sim.sh(ns[0], "bridge fdb show br br0"),
    );
}

/// One datagram from the second container to the first: an ARP request
/// flooded by the bridge, its reply forwarded, then the datagram
/// forwarded. Every interface counter and the learned FDB entries must end
/// up as the kernel's.
#[test]
fn a_datagram_across_the_bridge_moves_the_same_counters() {
    let Some(real) = RealNetns::new("udp", &["host", "ctr1", "ctr2"]) else {
        return;
    };
    let (mut sim, h, ns) = sim_topology(&real.names);
    real_topology(&sim, &ns, &real.names);

    let rx = in_ns(&real.names[1], || {
        UdpSocket::bind("0.0.0.0:9000").expect("bind")
    });
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    in_ns(&real.names[2], || {
        let tx = UdpSocket::bind("0.0.0.0:0").expect("bind");
        tx.send_to(b"hello", "10.0.0.2:9000").expect("send_to");
    });
    let mut buf = [0u8; 16];
    let (n, from) = rx.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!(
        (&buf[..n], from.ip().to_string()),
        (&b"hello"[..], "10.0.0.3".into())
    );
    std::thread::sleep(SETTLE);

    let got = spawn_collect(&mut sim, ns[1], "server", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, "0.0.0.0:9000")?;
        let mut buf = [0u8; 16];
        let (n, from) = p.recvfrom(fd, &mut buf, 0).await?;
        Ok((
            buf[..n].to_vec(),
            from.and_then(|a| a.inet()).map(|a| a.ip().to_string()),
        ))
    });
    sim.spawn(ns[2], "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, b"hello", 0, "10.0.0.2:9000").await?;
        Ok(())
    });
    assert!(sim.run().is_ok());
    assert_eq!(
        got.take(),
        Some((b"hello".to_vec(), Some("10.0.0.3".into())))
    );

    for name in &real.names {
        same(
            &format!("ip -n {name} -s link after the datagram"),
            ip(&format!("-n {name} -s link")),
            sim.sh(h, &format!("ip -n {name} -s link")),
        );
    }
    same(
        "bridge fdb show br br0 after the datagram",
        real_fdb(&real.names[0]),
        sim.sh(ns[0], "bridge fdb show br br0"),
    );
}

/// Ports are per namespace: the same port is bound in two namespaces, and
/// 127.0.0.1 is each namespace's own (nobody listens on this one's).
/// Before `lo` is up a new namespace cannot reach 127.0.0.1 at all.
#[test]
fn namespaces_isolate_ports_and_loopback() {
    let Some(netns) = RealNetns::new("iso", &["a", "b", "fresh"]) else {
        return;
    };
    // `RealNetns::new` brought every `lo` up; the fresh one goes back to
    // the state of a namespace just made (no address at all).
    let fresh = netns.names[2].clone();
    let _ = run("ip", &["netns", "del", &fresh]);
    ip(&format!("netns add {fresh}"));

    let listen = |name: &str| {
        in_ns(name, || {
            let l = std::net::TcpListener::bind("127.0.0.1:7000");
            l.map(|l| (l.local_addr().map(|a| a.port()).ok(), l))
                .map_err(|e| e.kind())
        })
    };
    let a = listen(&netns.names[0]);
    let b = listen(&netns.names[1]);
    let real_binds = (
        a.as_ref().map(|x| x.0).ok().flatten(),
        b.as_ref().map(|x| x.0).ok().flatten(),
    );
    let connect_from = |name: &str| {
        in_ns(name, || {
            real(std::net::TcpStream::connect_timeout(
                &"127.0.0.1:7001".parse().unwrap(),
                Duration::from_secs(1),
            ))
            .map(|_| ())
        })
    };
    let real_refused = connect_from(&netns.names[0]);
    let real_unreach = connect_from(&fresh);
    let real_udp = in_ns(&fresh, || {
        let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
        real(s.send_to(b"x", "127.0.0.1:9")).map(|_| ())
    });

    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns: Vec<NetNsId> = ["a", "b", "fresh"]
        .iter()
        .map(|n| sim.add_netns(h, n).unwrap())
        .collect();
    sim.link_set_up(ns[0], "lo").unwrap();
    sim.link_set_up(ns[1], "lo").unwrap();
    let mut binds = Vec::new();
    for &at in &ns[..2] {
        binds.push(spawn_collect(&mut sim, at, "server", |p| async move {
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(fd, "127.0.0.1:7000")?;
            p.listen(fd, 8)?;
            p.sleep(ms(10)).await;
            Ok(p.getsockname(fd)?.inet().map(|a| a.port()))
        }));
    }
    let try_connect = |p: Process| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        Ok(sim_r(p.connect(fd, "127.0.0.1:7001").await))
    };
    let refused = spawn_collect(&mut sim, ns[0], "client", try_connect);
    let unreach = spawn_collect(&mut sim, ns[2], "client", try_connect);
    let udp = spawn_collect(&mut sim, ns[2], "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        Ok(sim_r(p.sendto(fd, b"x", 0, "127.0.0.1:9").await))
    });
    assert!(sim.run().is_ok());
    same(
        "the same port bound in two namespaces",
        real_binds,
        (binds[0].take().flatten(), binds[1].take().flatten()),
    );
    same(
        "connect to an unused port of this namespace's 127.0.0.1",
        real_refused,
        refused.take().unwrap(),
    );
    same(
        "connect to 127.0.0.1 before lo is up",
        real_unreach,
        unreach.take().unwrap(),
    );
    same(
        "sendto 127.0.0.1 before lo is up",
        real_udp,
        udp.take().unwrap(),
    );
}

/// A simulated call's result with the errno by name.
fn sim_r<T>(r: SysResult<T>) -> R<()> {
    r.map(|_| ()).map_err(Errno::name)
}

/// A new namespace's tunables: the kernel's defaults, not the values
/// `init_net` was given; the global ones visible but read-only; the
/// per-CPU ones absent.
#[test]
fn a_new_namespace_has_the_kernels_sysctls() {
    let Some(real) = RealNetns::new("sys", &["ns"]) else {
        return;
    };
    let name = real.names[0].clone();
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns = sim.add_netns(h, &name).unwrap();
    for &key in stack::sysctl::NAMES {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let want = in_ns(&name, move || {
            std::fs::read_to_string(&path)
                .map(|v| v.trim_end().to_string())
                .map_err(|e| errno_name(e.raw_os_error()))
        });
        let got = sim.sysctl_get(ns, key).map_err(Errno::name);
        if want != got && stack::sysctl::BUILD_CHOICE.contains(&key) {
            println!(
                "note: skipping {key}: a build choice (this machine {want:?}, simulation {got:?})"
            );
            continue;
        }
        same(&format!("sysctl {key} in a new namespace"), want, got);
    }
    let want = in_ns(&name, || {
        std::fs::write("/proc/sys/net/core/rmem_max", "300000")
            .map_err(|e| errno_name(e.raw_os_error()))
    });
    let got = sim
        .sysctl(ns, "net.core.rmem_max", "300000")
        .map_err(Errno::name);
    same("writing net.core.rmem_max in a new namespace", want, got);
}

// -------------------------------------------------------------- netlink

/// Sends `req` on a new real `NETLINK_ROUTE` socket in namespace `name`
/// and reads datagrams (with a 32 KiB buffer) until `NLMSG_DONE` or an
/// error; returns them and the socket's port id.
fn real_netlink(name: &str, req: Vec<u8>) -> (Vec<Vec<u8>>, u32) {
    in_ns(name, move || {
        let fd: OwnedFd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::empty(),
            SockProtocol::NetlinkRoute,
        )
        .expect("socket(AF_NETLINK)");
        sendto(
            fd.as_raw_fd(),
            &req,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .expect("sendto");
        let me: NetlinkAddr = nix::sys::socket::getsockname(fd.as_raw_fd()).expect("getsockname");
        (
            read_until_done(|buf| recv(fd.as_raw_fd(), buf, MsgFlags::empty()).expect("recv")),
            me.pid(),
        )
    })
}

/// Reads datagrams until one holds `NLMSG_DONE` or `NLMSG_ERROR`.
fn read_until_done(mut recv_one: impl FnMut(&mut [u8]) -> usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut buf = vec![0u8; 32768];
        let n = recv_one(&mut buf);
        buf.truncate(n);
        let last = user::parse(&buf)
            .iter()
            .any(|r| matches!(r, user::Reply::Done | user::Reply::Error { .. }));
        out.push(buf);
        if last || n == 0 {
            return out;
        }
    }
}

/// The same exchange in the simulation, inside namespace `ns`.
fn sim_netlink(sim: &mut Sim, ns: NetNsId, req: Vec<u8>) -> (Vec<Vec<u8>>, u32) {
    let got = spawn_collect(sim, ns, "nl", move |p| async move {
        let fd = p.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
        p.sendto(fd, &req, 0, SockAddr::Netlink { pid: 0, groups: 0 })
            .await?;
        let mut out = Vec::new();
        loop {
            let mut buf = vec![0u8; 32768];
            let n = p.recv(fd, &mut buf, 0).await?;
            buf.truncate(n);
            let last = user::parse(&buf)
                .iter()
                .any(|r| matches!(r, user::Reply::Done | user::Reply::Error { .. }));
            out.push(buf);
            if last {
                break;
            }
        }
        let pid = match p.getsockname(fd)? {
            SockAddr::Netlink { pid, .. } => pid,
            _ => 0,
        };
        Ok((out, pid))
    });
    assert!(sim.run().is_ok());
    got.take().expect("the netlink exchange finished")
}

/// The datagrams with each message's port id zeroed (it is the reader's
/// pid, which differs), and addresses' creation timestamps zeroed.
fn normalized(datagrams: &[Vec<u8>]) -> Vec<Vec<u8>> {
    datagrams
        .iter()
        .map(|d| {
            let mut d = d.clone();
            let mut off = 0;
            while let Some(h) = d.get(off..).and_then(netlink::NlMsgHdr::parse) {
                let len = h.len as usize;
                if len < 16 || off + len > d.len() {
                    break;
                }
                d[off + 12..off + 16].fill(0);
                if h.ty == netlink::RTM_NEWADDR {
                    zero_cacheinfo_stamps(&mut d[off + 24..off + len]);
                }
                off += netlink::align4(len);
            }
            d
        })
        .collect()
}

/// `IFA_CACHEINFO`'s `cstamp` and `tstamp` (jiffies since boot).
fn zero_cacheinfo_stamps(attrs: &mut [u8]) {
    let mut off = 0;
    while off + 4 <= attrs.len() {
        let len = u16::from_ne_bytes([attrs[off], attrs[off + 1]]) as usize;
        let ty = u16::from_ne_bytes([attrs[off + 2], attrs[off + 3]]);
        if len < 4 || off + len > attrs.len() {
            return;
        }
        if ty == netlink::IFA_CACHEINFO && len == 20 {
            attrs[off + 12..off + 20].fill(0);
        }
        off += netlink::align4(len);
    }
}

/// Whether `a` appears in `b` in order (not necessarily adjacent).
fn subsequence(a: &[u16], b: &[u16]) -> bool {
    let mut it = b.iter();
    a.iter().all(|x| it.any(|y| y == x))
}

/// The links of a dump, by ifindex.
fn links(datagrams: &[Vec<u8>]) -> Vec<user::Link> {
    datagrams
        .iter()
        .flat_map(|d| user::parse(d))
        .filter_map(|r| match r {
            user::Reply::Link(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// The simulation's link description must be the kernel's wherever it
/// says something: each field it fills in has the kernel's value, and its
/// attributes come in the kernel's order.
fn check_link(ctx: &str, real: &user::Link, sim: &user::Link) {
    assert!(
        subsequence(&sim.attr_types, &real.attr_types),
        "{ctx}: attributes {:?} are not in the kernel's order {:?}",
        sim.attr_types,
        real.attr_types
    );
    let mut masked = real.clone();
    macro_rules! only_if_sim_has {
        ($($f:ident),*) => { $( if sim.$f.is_none() { masked.$f = None; } )* };
    }
    only_if_sim_has!(
        mtu,
        min_mtu,
        max_mtu,
        txqlen,
        operstate,
        linkmode,
        group,
        promiscuity,
        allmulti,
        carrier,
        master,
        address,
        broadcast,
        link,
        link_netnsid,
        qdisc,
        kind,
        slave_kind
    );
    masked.stats = sim.stats;
    masked.attr_types = sim.attr_types.clone();
    same(ctx, masked, sim.clone());
}

#[test]
fn rtnetlink_dumps_match_the_kernel() {
    let Some(real) = RealNetns::new("nl", &["host", "ctr1", "ctr2"]) else {
        return;
    };
    let (mut sim, _h, ns) = sim_topology(&real.names);
    real_topology(&sim, &ns, &real.names);
    for (i, name) in real.names.iter().enumerate() {
        // Links: the kernel says more about each, so compare field by field.
        let req = user::dump_request(netlink::RTM_GETLINK, 0, 1);
        let (want, _) = real_netlink(name, req.clone());
        let (got, _) = sim_netlink(&mut sim, ns[i], req);
        let (want, got) = (links(&want), links(&got));
        assert_eq!(want.len(), got.len(), "{name}: number of links");
        for (w, g) in want.iter().zip(&got) {
            check_link(&format!("RTM_GETLINK in {name}, {}", g.name), w, g);
        }
        // Routes and addresses: the same bytes, datagram for datagram.
        for (ty, family, what) in [
            (netlink::RTM_GETROUTE, 2, "RTM_GETROUTE AF_INET"),
            (netlink::RTM_GETADDR, 0, "RTM_GETADDR AF_UNSPEC"),
            (netlink::RTM_GETADDR, 2, "RTM_GETADDR AF_INET"),
        ] {
            let req = user::dump_request(ty, family, 7);
            let (want, real_pid) = real_netlink(name, req.clone());
            let (got, sim_pid) = sim_netlink(&mut sim, ns[i], req);
            same(
                &format!("{what} in {name}"),
                normalized(&want),
                normalized(&got),
            );
            // Every answer is addressed to the asking socket.
            for (d, pid) in [(&want, real_pid), (&got, sim_pid)] {
                for dg in d.iter() {
                    for (h, _) in netlink::messages(dg) {
                        assert_eq!(h.pid, pid, "{what}: nlmsg_pid is the reader's port id");
                    }
                }
            }
        }
    }
}

/// A namespace just made: `lo` is down, with no qdisc yet and no carrier.
#[test]
fn rtnetlink_describes_a_fresh_loopback_as_the_kernel_does() {
    let Some(real) = RealNetns::new("lo", &["ns"]) else {
        return;
    };
    let name = real.names[0].clone();
    let _ = run("ip", &["netns", "del", &name]);
    ip(&format!("netns add {name}"));
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns = sim.add_netns(h, &name).unwrap();
    for up in [false, true] {
        if up {
            ip(&format!("-n {name} link set lo up"));
            sim.link_set_up(ns, "lo").unwrap();
        }
        let req = user::dump_request(netlink::RTM_GETLINK, 0, 1);
        let (want, _) = real_netlink(&name, req.clone());
        let (got, _) = sim_netlink(&mut sim, ns, req);
        let (want, got) = (links(&want), links(&got));
        assert_eq!((want.len(), got.len()), (1, 1));
        check_link(&format!("lo, up: {up}"), &want[0], &got[0]);
        // The kernel's own bytes, printed by our parser, read as `ip link`.
        let none = |_| None;
        same(
            &format!("the kernel's RTM_NEWLINK for lo printed like ip link, up: {up}"),
            ip(&format!("-n {name} link")),
            stack::tools::ip_link(&[want[0].ip_link_row(&none)]),
        );
        same(
            &format!("ip addr, lo up: {up}"),
            ip(&format!("-n {name} addr")),
            sim.sh(ns, "ip addr"),
        );
    }
}

/// What the kernel answers to requests it does not serve, and to
/// acknowledged requests: the same bytes but for the port id.
#[test]
fn rtnetlink_errors_and_acks_match_the_kernel() {
    let Some(real) = RealNetns::new("nle", &["ns"]) else {
        return;
    };
    let name = real.names[0].clone();
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let ns = sim.add_netns(h, &name).unwrap();
    sim.link_set_up(ns, "lo").unwrap();
    let msg = |ty: u16, flags: u16, body: &[u8]| {
        let mut m = netlink::NlMsg::new(ty, flags, 42, 0);
        m.put(body);
        m.finish()
    };
    let mut getlink99 = vec![0u8; 16];
    getlink99[4..8].copy_from_slice(&99i32.to_ne_bytes());
    let cases = [
        ("type 200 (above RTM_MAX)", msg(200, 5, b"abcd")),
        (
            "RTM_NEWADDR for AF_UNSPEC",
            msg(netlink::RTM_NEWADDR, 5, &[0; 8]),
        ),
        (
            "RTM_GETLINK of ifindex 99",
            msg(netlink::RTM_GETLINK, 5, &getlink99),
        ),
        (
            "RTM_GETLINK without NLM_F_REQUEST, with NLM_F_ACK",
            msg(netlink::RTM_GETLINK, 4, &[0; 16]),
        ),
        (
            "NLMSG_DONE sent to the kernel with NLM_F_ACK",
            msg(3, 5, b""),
        ),
        (
            "an empty RTM_NEWLINK with NLM_F_ACK",
            msg(netlink::RTM_NEWLINK, 5, b""),
        ),
    ];
    for (what, req) in cases {
        let (want, _) = real_netlink(&name, req.clone());
        let (got, _) = sim_netlink(&mut sim, ns, req);
        same(what, normalized(&want), normalized(&got));
    }
}

// ------------------------------------------------------------- raw ICMP

/// An ICMP echo request as `ping` builds it, checksum included (or
/// deliberately wrong).
fn echo_request(id: u16, seq: u16, data: &[u8], good_checksum: bool) -> Vec<u8> {
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
    let mut csum = !(sum as u16);
    if !good_checksum {
        csum ^= 0x1234;
    }
    m[2..4].copy_from_slice(&csum.to_be_bytes());
    m
}

/// An IPv4 header without its id and checksum: version and header
/// length, TOS, total length, fragment field (DF), TTL, protocol, source,
/// destination.
type IpFields = (u8, u8, u16, u16, u8, u8, String, String);

/// What a user checks in a datagram read from a raw socket: the IP
/// header's fields but the id and checksum (the kernel hashes its ids),
/// the ICMP header, whether its checksum is right, and the data.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    len: usize,
    ip: Option<IpFields>,
    icmp: Vec<u8>,
    checksum_ok: bool,
}

fn seen(d: &[u8]) -> Seen {
    let ihl = usize::from(d.first().copied().unwrap_or(0) & 0xf) * 4;
    let ip = (d.len() >= 20).then(|| {
        (
            d[0],
            d[1],
            u16::from_be_bytes([d[2], d[3]]),
            u16::from_be_bytes([d[6], d[7]]),
            d[8],
            d[9],
            format!("{}.{}.{}.{}", d[12], d[13], d[14], d[15]),
            format!("{}.{}.{}.{}", d[16], d[17], d[18], d[19]),
        )
    });
    let mut body = d.get(ihl..).unwrap_or_default().to_vec();
    let mut sum: u32 = body
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // An ICMP error quotes the offending datagram's IP header, whose id
    // the kernel hashes (the simulation puts 0): the id, the quoted header's
    // checksum and the ICMP checksum covering them are left out.
    if d.get(9) == Some(&1) && body.first() == Some(&3) && body.len() >= 20 {
        body[2..4].fill(0);
        body[12..14].fill(0);
        body[18..20].fill(0);
        // The quoted UDP header's checksum: see below.
        if let Some(c) = body.get_mut(34..36) {
            c.fill(0);
        }
    }
    // On loopback the kernel leaves a UDP checksum partial
    // (CHECKSUM_PARTIAL: the pseudo-header sum, for a device to finish,
    // which lo never does); the simulation writes the finished checksum.
    if d.get(9) == Some(&17) && body.len() >= 8 {
        body[6..8].fill(0);
    }
    Seen {
        len: d.len(),
        ip,
        icmp: body,
        checksum_ok: sum == 0xffff,
    }
}

/// The ICMP counters of `/proc/net/snmp` (the `Icmp:` and `IcmpMsg:`
/// tables) as (name, value), for the names the simulation keeps.
fn icmp_counters(snmp: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = snmp.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((t, names)), Some((_, values))) =
            (names.split_once(": "), values.split_once(": "))
        else {
            continue;
        };
        if t != "Icmp" && t != "IcmpMsg" {
            continue;
        }
        for (n, v) in names.split(' ').zip(values.split(' ')) {
            let name = format!("{t}{n}");
            if Mib::ALL.iter().any(|m| m.name() == name) {
                out.push((name, v.parse().unwrap_or(0)));
            }
        }
    }
    out.sort();
    out
}

/// The same counters from the simulation's `nstat -az`.
fn nstat_icmp(nstat: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = nstat
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            let value = w.next()?.parse().ok()?;
            (name.starts_with("Icmp") && !name.starts_with("Icmp6"))
                .then(|| (name.to_string(), value))
        })
        .collect();
    out.sort();
    out
}

/// Everything the ping scenario observes.
#[derive(Debug, PartialEq, Eq)]
struct PingRun {
    /// (socket, what it read), in reading order; `None` for `EAGAIN`.
    reads: Vec<(&'static str, Option<Seen>)>,
    /// `recv` into a 10-byte buffer, then the next datagram's length.
    truncated: (usize, usize),
    counters: Vec<(String, u64)>,
    /// `/proc/net/raw` once every queue is drained, without the columns
    /// that depend on the machine (hash bucket, inode, kernel pointer).
    proc_net_raw: Vec<String>,
}

/// `/proc/net/raw` lines with `sl`, `inode` and `pointer` blanked, sorted.
fn proc_raw_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            for i in [0, 9, 11] {
                if let Some(x) = f.get_mut(i) {
                    *x = "-";
                }
            }
            f.join(" ")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn ping_with_a_raw_socket_matches_the_kernel() {
    let Some(real) = RealNetns::new("raw", &["ns"]) else {
        return;
    };
    let hello = echo_request(0x1234, 1, b"hello raw", true);
    let bad = echo_request(0x1234, 2, b"bad", false);
    let big = echo_request(7, 3, &[b'x'; 100], true);

    let (h2, b2, g2) = (hello.clone(), bad.clone(), big.clone());
    let real_run = in_ns(&real.names[0], move || {
        let raw = |proto| {
            socket(
                AddressFamily::Inet,
                SockType::Raw,
                SockFlag::SOCK_NONBLOCK,
                proto,
            )
            .expect("socket(AF_INET, SOCK_RAW)")
        };
        let (a, b, u) = (
            raw(SockProtocol::Icmp),
            raw(SockProtocol::Icmp),
            raw(SockProtocol::Udp),
        );
        let lo = SockaddrIn::new(127, 0, 0, 1, 0);
        let read = |fd: &OwnedFd| {
            let mut buf = [0u8; 256];
            recvfrom::<SockaddrIn>(fd.as_raw_fd(), &mut buf)
                .ok()
                .map(|(n, _)| seen(&buf[..n]))
        };
        let mut reads = Vec::new();
        sendto(a.as_raw_fd(), &h2, &lo, MsgFlags::empty()).expect("sendto");
        std::thread::sleep(SETTLE);
        for (name, fd) in [("a", &a), ("a", &a), ("b", &b), ("b", &b), ("a", &a)] {
            reads.push((name, read(fd)));
        }
        sendto(a.as_raw_fd(), &b2, &lo, MsgFlags::empty()).expect("sendto");
        std::thread::sleep(SETTLE);
        for (name, fd) in [("a", &a), ("a", &a), ("b", &b), ("b", &b)] {
            reads.push((name, read(fd)));
        }
        let udp = UdpSocket::bind("127.0.0.1:40000").expect("bind");
        udp.send_to(b"udp!", "127.0.0.1:9").expect("send_to");
        std::thread::sleep(SETTLE);
        for (name, fd) in [("u", &u), ("u", &u), ("a", &a), ("b", &b)] {
            reads.push((name, read(fd)));
        }
        sendto(a.as_raw_fd(), &g2, &lo, MsgFlags::empty()).expect("sendto");
        std::thread::sleep(SETTLE);
        let mut small = [0u8; 10];
        let first = recv(a.as_raw_fd(), &mut small, MsgFlags::empty()).unwrap_or(0);
        let mut rest = [0u8; 256];
        let second = recv(a.as_raw_fd(), &mut rest, MsgFlags::empty()).unwrap_or(0);
        let snmp = std::fs::read_to_string("/proc/thread-self/net/snmp").expect("snmp");
        while read(&b).is_some() {}
        let raw = std::fs::read_to_string("/proc/thread-self/net/raw").expect("raw");
        PingRun {
            reads,
            truncated: (first, second),
            counters: icmp_counters(&snmp),
            proc_net_raw: proc_raw_lines(&raw),
        }
    });

    let sim_run = run_sim(move |p| async move {
        let raw = |proto| p.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, proto);
        let (a, b, u) = (raw(IPPROTO_ICMP)?, raw(IPPROTO_ICMP)?, raw(IPPROTO_UDP)?);
        let mut reads = Vec::new();
        let read = |fd: i32| {
            let p = p.clone();
            async move {
                let mut buf = [0u8; 256];
                p.recvfrom(fd, &mut buf, 0)
                    .await
                    .ok()
                    .map(|(n, _)| seen(&buf[..n]))
            }
        };
        p.sendto(a, &hello, 0, "127.0.0.1:0").await?;
        for (name, fd) in [("a", a), ("a", a), ("b", b), ("b", b), ("a", a)] {
            reads.push((name, read(fd).await));
        }
        p.sendto(a, &bad, 0, "127.0.0.1:0").await?;
        for (name, fd) in [("a", a), ("a", a), ("b", b), ("b", b)] {
            reads.push((name, read(fd).await));
        }
        let udp = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(udp, "127.0.0.1:40000")?;
        p.sendto(udp, b"udp!", 0, "127.0.0.1:9").await?;
        for (name, fd) in [("u", u), ("u", u), ("a", a), ("b", b)] {
            reads.push((name, read(fd).await));
        }
        p.sendto(a, &big, 0, "127.0.0.1:0").await?;
        let mut small = [0u8; 10];
        let first = p.recv(a, &mut small, 0).await.unwrap_or(0);
        let mut rest = [0u8; 256];
        let second = p.recv(a, &mut rest, 0).await.unwrap_or(0);
        let counters = nstat_icmp(&p.sh("nstat -az"));
        while read(b).await.is_some() {}
        Ok(PingRun {
            reads,
            truncated: (first, second),
            counters,
            proc_net_raw: proc_raw_lines(&p.sh("cat /proc/net/raw")),
        })
    });
    same("ping over loopback with raw sockets", real_run, sim_run);
}
