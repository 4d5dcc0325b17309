//! Building a world: hosts, the links between them, addresses, routes,
//! processes and sysctls. These are the things an administrator does with
//! `ip link`, `ip addr`, `ip route` and `sysctl` before any program runs.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::drivers::net::link::{Link, LinkConfig};
use crate::drivers::net::nic::{DEFAULT_RING_SIZE, Nic};
use crate::kernel::host::{Costs, Host};
use crate::kernel::ids::{DevId, HostId, LinkId, NetNsId, Pid};
use crate::kernel::syscalls::Process;
use crate::kernel::task::{Task, TaskState};
use crate::kernel::world::World;
use crate::net::core::dev::{DevKind, DevStats, IfAddr, NetDevice, Qdisc};
use crate::net::ipv4::route::{Route, in_prefix};
use crate::sim::InNetNs;
use crate::sim::Sim;
use crate::uapi::errno::Errno;
use crate::wire::ethernet::MacAddr;

/// `txqueuelen` of an Ethernet device (`ip link` shows `qlen 1000`).
pub const DEFAULT_TXQUEUELEN: usize = 1000;
/// The loopback device's MTU.
pub const LOOPBACK_MTU: u32 = 65536;

/// Parses `"10.0.0.1/24"` into an address and prefix length.
pub(crate) fn parse_cidr(s: &str) -> Result<(IpAddr, u8), Errno> {
    let (a, p) = s.split_once('/').ok_or(Errno::EINVAL)?;
    let addr: IpAddr = a.parse().map_err(|_| Errno::EINVAL)?;
    let prefix: u8 = p.parse().map_err(|_| Errno::EINVAL)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(Errno::EINVAL);
    }
    Ok((addr, prefix))
}

/// The network address of `addr/prefix`.
pub(crate) fn network_of(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix as u32)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

impl World {
    /// `register_netdevice()`: a new device in `netns`, with the next
    /// ifindex of that namespace (`dev_index_reserve()`). Ethernet-like
    /// devices get a locally administered MAC numbered by device, and NICs a
    /// FIFO qdisc; loopback, veth and bridge devices are `noqueue`.
    pub(crate) fn new_dev(
        &mut self,
        host: HostId,
        netns: NetNsId,
        name: String,
        mtu: u32,
        kind: DevKind,
    ) -> DevId {
        let id = DevId(self.devs.len() as u32);
        let ifindex = self.ns(netns).devs.len() as u32 + 1;
        let n = id.0 + 1;
        let ether = MacAddr([0x02, 0, 0, 0, (n >> 8) as u8, n as u8]);
        let (mac, qdisc) = match kind {
            DevKind::Loopback => (MacAddr::ZERO, None),
            DevKind::Nic(_) => (ether, Some(Qdisc::new(DEFAULT_TXQUEUELEN))),
            _ => (ether, None),
        };
        self.devs.push(NetDevice {
            name,
            ifindex,
            host,
            netns,
            mtu,
            mac,
            up: true,
            activated: true,
            addrs: Vec::new(),
            stats: DevStats::default(),
            qdisc,
            master: None,
            kind,
        });
        self.ns_mut(netns).devs.push(id);
        id
    }

    /// `loopback_net_init()`: a namespace's `lo`.
    pub(crate) fn new_loopback(&mut self, host: HostId, netns: NetNsId) -> DevId {
        let lo = self.new_dev(host, netns, "lo".into(), LOOPBACK_MTU, DevKind::Loopback);
        self.ns_mut(netns).lo = lo;
        lo
    }

    /// `ip addr add ADDR/PREFIX dev DEV`, with the connected route the
    /// kernel adds for it if the device is up (`fib_add_ifaddr()`).
    pub(crate) fn addr_add(&mut self, dev: DevId, addr: IpAddr, prefix: u8) -> Result<(), Errno> {
        if self.dev(dev).addrs.iter().any(|a| a.addr == addr) {
            return Err(Errno::EEXIST);
        }
        self.dev_mut(dev).addrs.push(IfAddr { addr, prefix });
        if self.dev(dev).up {
            self.fib_add_prefix_route(dev, addr, prefix);
        }
        Ok(())
    }

    /// `ip route add DST via GW`: the gateway must be on a connected
    /// subnet (`ENETUNREACH` otherwise).
    pub(crate) fn route_add_via(&mut self, ns: NetNsId, dst: &str, via: &str) -> Result<(), Errno> {
        let (net, prefix) = if dst == "default" {
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
        } else {
            parse_cidr(dst)?
        };
        let gw: IpAddr = via.parse().map_err(|_| Errno::EINVAL)?;
        let dev = self
            .ns(ns)
            .fib
            .routes
            .iter()
            .find(|r| r.via.is_none() && in_prefix(gw, r.dst, r.prefix))
            .map(|r| r.dev)
            .ok_or(Errno::ENETUNREACH)?;
        self.ns_mut(ns).fib.add(Route {
            dst: network_of(net, prefix),
            prefix,
            dev,
            via: Some(gw),
            src: None,
            kernel: false,
        })
    }

    /// The connected route of an address: `NET/PREFIX dev DEV proto kernel
    /// scope link src ADDR`. A loopback device's prefixes are local
    /// instead, and need no route in the main table.
    pub(crate) fn fib_add_prefix_route(&mut self, dev: DevId, addr: IpAddr, prefix: u8) {
        if self.dev(dev).is_loopback() {
            return;
        }
        let ns = self.dev(dev).netns;
        let net = network_of(addr, prefix);
        let exists = self
            .ns(ns)
            .fib
            .routes
            .iter()
            .any(|r| r.dst == net && r.prefix == prefix);
        if !exists {
            let _ = self.ns_mut(ns).fib.add(Route {
                dst: net,
                prefix,
                dev,
                via: None,
                src: Some(addr),
                kernel: true,
            });
        }
    }
}

impl Sim {
    /// Adds a machine with its loopback device (127.0.0.1/8, ::1/128).
    pub fn add_host(&mut self, name: &str) -> HostId {
        let mut w = self.world.borrow_mut();
        let host = HostId(w.hosts.len() as u32);
        let netns = NetNsId(w.netns.len() as u32);
        w.netns.push(crate::net::core::net_namespace::NetNs::new(
            host,
            None,
            Default::default(),
        ));
        w.hosts.push(Host {
            name: name.to_string(),
            init_net: netns,
            softnet: Default::default(),
            costs: Costs::default(),
            next_inode: 40_000,
            next_eth: 0,
            unix_fs: Default::default(),
            ramfs: Default::default(),
        });
        let lo = w.new_loopback(host, netns);
        w.addr_add(lo, IpAddr::V4(Ipv4Addr::LOCALHOST), 8)
            .expect("fresh device");
        w.addr_add(lo, IpAddr::V6(Ipv6Addr::LOCALHOST), 128)
            .expect("fresh device");
        host
    }

    /// Cables two hosts together: a new `ethN` on each, with the given
    /// addresses (`"10.0.0.1/24"`) and their connected routes.
    ///
    /// # Panics
    /// On a malformed address or one already present: topology is set up
    /// by the program's author, and a typo there should stop the program.
    pub fn add_link(
        &mut self,
        a: HostId,
        a_addr: &str,
        b: HostId,
        b_addr: &str,
        cfg: LinkConfig,
    ) -> LinkId {
        let mut w = self.world.borrow_mut();
        let link = LinkId(w.links.len() as u32);
        let mut ends = [DevId(0); 2];
        for (i, (h, addr)) in [(a, a_addr), (b, b_addr)].into_iter().enumerate() {
            let ns = w.host(h).init_net;
            let n = w.host(h).next_eth;
            w.host_mut(h).next_eth += 1;
            let mut nic = Nic::new(DEFAULT_RING_SIZE, DEFAULT_RING_SIZE);
            nic.link = Some(link);
            nic.sg = cfg.scatter_gather;
            let dev = w.new_dev(
                h,
                ns,
                format!("eth{n}"),
                cfg.mtu,
                DevKind::Nic(Box::new(nic)),
            );
            let (ip, prefix) =
                parse_cidr(addr).unwrap_or_else(|e| panic!("bad address {addr:?}: {e}"));
            w.addr_add(dev, ip, prefix)
                .unwrap_or_else(|e| panic!("cannot add {addr}: {e}"));
            ends[i] = dev;
        }
        w.links.push(Link {
            ends,
            cfg,
            frames: 0,
            lost: 0,
        });
        link
    }

    /// `ip route add DST/PREFIX via GW` in a host's initial namespace or in
    /// another namespace: the gateway must be on a connected subnet
    /// (`ENETUNREACH` otherwise), as the kernel requires.
    pub fn add_route(&mut self, at: impl InNetNs, dst: &str, via: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        self.world.borrow_mut().route_add_via(ns, dst, via)
    }

    /// `ip addr add ADDR/PREFIX dev DEV` in a host's initial namespace or
    /// in a namespace: `ENODEV` without such a device, `EINVAL` for a
    /// malformed address, `EEXIST` if the device already has it.
    pub fn addr_add(&mut self, at: impl InNetNs, dev: &str, cidr: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let (addr, prefix) = parse_cidr(cidr)?;
        let mut w = self.world.borrow_mut();
        let d = w.dev_get_by_name(ns, dev)?;
        w.addr_add(d, addr, prefix)
    }

    /// `sysctl -w NAME=VALUE` on a host (its initial namespace) or in a
    /// namespace; see [`crate::net::core::net_namespace`] for which tunables a child
    /// namespace has.
    pub fn sysctl(&mut self, at: impl InNetNs, name: &str, value: &str) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        self.world.borrow_mut().sysctl_set(ns, name, value)
    }

    /// `sysctl -n NAME` on a host or in a namespace.
    pub fn sysctl_get(&self, at: impl InNetNs, name: &str) -> Result<String, Errno> {
        let ns = at.netns_id(self);
        self.world.borrow().sysctl_get(ns, name)
    }

    /// Starts a process on a host (in its initial namespace) or inside a
    /// namespace (as `ip netns exec NAME` does). `body` gets the process's
    /// kernel interface and returns `Ok(())` or the errno it gave up with.
    pub fn spawn<F, Fut>(&mut self, at: impl InNetNs, comm: &str, body: F) -> Pid
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = Result<(), Errno>> + 'static,
    {
        let netns = at.netns_id(self);
        let pid = {
            let mut w = self.world.borrow_mut();
            let pid = Pid(w.tasks.len() as u32);
            let host = w.ns(netns).host;
            w.tasks.push(Task::new(pid, comm, host, netns));
            w.open_stdio(pid);
            w.runqueue.push_back(pid);
            pid
        };
        let p = Process {
            world: self.world.clone(),
            pid,
        };
        self.exec.add(pid, Box::pin(body(p)));
        pid
    }

    /// Delivers raw bytes to a host's device as if they had just arrived
    /// on its wire (a frame from a broken or hostile peer). `ENODEV` if the
    /// host has no device of that name, `EINVAL` if it is not a NIC.
    pub fn inject_frame(
        &mut self,
        at: impl InNetNs,
        dev: &str,
        frame: Vec<u8>,
    ) -> Result<(), Errno> {
        let ns = at.netns_id(self);
        let mut w = self.world.borrow_mut();
        let id = w.dev_get_by_name(ns, dev)?;
        if w.dev(id).nic().is_none() {
            return Err(Errno::EINVAL);
        }
        let now = w.now;
        w.schedule(
            now,
            crate::sim::event::Event::FrameArrives { dev: id, frame },
        );
        Ok(())
    }

    /// A device's interface counters (`ip -s link`).
    pub fn dev_stats(&self, at: impl InNetNs, dev: &str) -> Option<DevStats> {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        w.ns(ns)
            .devs
            .iter()
            .find(|&&d| w.dev(d).name == dev)
            .map(|&d| w.dev(d).stats)
    }

    /// A host's cost counters.
    pub fn costs(&self, host: HostId) -> Costs {
        self.world.borrow().host(host).costs
    }

    /// Runs a tool on a host, or inside a namespace, as a shell would (`ss
    /// -uan`, `nstat -az`, `cat /proc/net/udp`, `ip -s link`, `ip -n NAME
    /// addr`, `ip netns exec NAME ss -tan`, …); see [`crate::observe::views`].
    pub fn sh(&self, at: impl InNetNs, cmd: &str) -> String {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        crate::observe::views::run_tool(&w, ns, cmd)
    }

    /// The trace of the run so far, as text.
    pub fn trace_text(&self) -> String {
        let w = self.world.borrow();
        w.trace.render(&w.trace.events, &|h| w.host(h).name.clone())
    }

    /// The trace from virtual time `from` on, as text: the journey of the
    /// packets sent after that instant.
    pub fn trace_text_since(&self, from: crate::sim::time::Nanos) -> String {
        let w = self.world.borrow();
        let start = w.trace.events.partition_point(|e| e.at < from);
        w.trace
            .render(&w.trace.events[start..], &|h| w.host(h).name.clone())
    }

    /// The trace's steps.
    pub fn trace_events(&self) -> Vec<crate::observe::trace::TraceEvent> {
        self.world.borrow().trace.events.clone()
    }

    /// A host's name.
    pub fn host_name(&self, host: HostId) -> String {
        self.world.borrow().host(host).name.clone()
    }

    /// The value of one SNMP counter in a host's namespace.
    pub fn counter(&self, at: impl InNetNs, m: crate::net::core::snmp::Mib) -> u64 {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        w.ns(ns).mib.get(m)
    }
}

impl World {
    /// A process finished: close its files as `do_exit()` → `exit_files()`
    /// does. It cannot have a timer pending: it was running.
    pub(crate) fn task_exit(&mut self, pid: Pid, result: Result<(), Errno>) {
        let fds: Vec<i32> = self.task(pid).files.iter().map(|(fd, _)| fd).collect();
        for fd in fds {
            let _ = self.sys_close(pid, fd);
        }
        self.task_mut(pid).state = TaskState::Exited(result);
    }

    /// Names the call a process sleeps in, once it is known to sleep.
    pub(crate) fn name_sleeping_call(&mut self, pid: Pid, call: String) {
        let t = self.task_mut(pid);
        if let TaskState::Blocked { syscall, .. } = &mut t.state {
            syscall.clone_from(&call);
        }
        t.syscall = call;
    }

    /// A process's sleep timer fired: the end of a `nanosleep()`, or the
    /// timeout of a `poll()`, `select()` or `epoll_wait()` that is still
    /// asleep on a wait queue (it leaves the queue, as
    /// `schedule_hrtimeout()` returning does).
    pub(crate) fn timer_wake(&mut self, pid: Pid) {
        let now = self.now;
        match self.task(pid).state {
            // A stale timer from an earlier sleep must not end this one.
            TaskState::Sleeping { until } if until == now => {}
            TaskState::Blocked { on, .. } if self.task(pid).timeout == Some(now) => {
                if let Some(wq) = self.wq_mut(on) {
                    wq.remove_where(|e| matches!(e, crate::kernel::wait::WaitEntry::Process { pid: p, .. } if *p == pid));
                }
                self.task_mut(pid).timed_out = true;
            }
            _ => return,
        }
        self.task_mut(pid).state = TaskState::Running;
        self.runqueue.push_back(pid);
    }
}
