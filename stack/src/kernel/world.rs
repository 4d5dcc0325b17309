//! `World`: the kernel state of every simulated host, in one place, with
//! the virtual clock, the pending events and the trace.
//!
//! The kernel has no such struct: each machine has its own memory, and
//! kernel code reaches its state through globals (`init_net`, the
//! `current` task, per-CPU data) and through the objects it is handed
//! (`struct sock *`, `struct net_device *`). Here many machines share one
//! process, so their state lives side by side in one value, and kernel code
//! is written as `impl World` blocks in the module of the layer it models
//! (`net::ipv4::udp` has `udp_sendmsg`, `net::core::softnet` has
//! `net_rx_action`), so a reader finds each function where the kernel keeps
//! it. The simulation's driver, [`crate::sim::Sim`], owns the `World` and
//! runs its events; nothing here names `Sim`.

use std::collections::BTreeMap;

use crate::drivers::net::link::Link;
use crate::fs::file::File;
use crate::kernel::host::{Costs, Host};
use crate::kernel::ids::{DevId, FileId, HostId, NetNsId, Pid, SockId};
use crate::kernel::task::Task;
use crate::net::core::dev::NetDevice;
use crate::net::core::net_namespace::NetNs;
use crate::net::core::sock::Sock;
use crate::observe::trace::{Layer, Trace};
use crate::sim::event::{Event, EventQueue};
use crate::sim::time::Nanos;

/// All kernel state of every host, plus the clock, events and trace.
pub(crate) struct World {
    pub(crate) now: Nanos,
    pub(crate) events: EventQueue,
    pub(crate) rng: fastrand::Rng,
    pub(crate) trace: Trace,
    pub(crate) hosts: Vec<Host>,
    pub(crate) netns: Vec<NetNs>,
    pub(crate) devs: Vec<NetDevice>,
    pub(crate) links: Vec<Link>,
    pub(crate) tasks: Vec<Task>,
    pub(crate) files: BTreeMap<FileId, File>,
    pub(crate) socks: BTreeMap<SockId, Sock>,
    /// Every pipe, until both its ends are closed.
    pub(crate) pipes: BTreeMap<crate::kernel::ids::PipeId, crate::fs::pipe::Pipe>,
    pub(crate) next_pipe: u32,
    pub(crate) next_file: u32,
    pub(crate) next_sock: u32,
    pub(crate) next_skb: u64,
    /// Every frame put on a link, for captures and diagrams.
    pub(crate) wire_log: Vec<crate::observe::capture::WireFrame>,
    pub(crate) capture_enabled: bool,
    /// epoll instances (`struct eventpoll`), by their file.
    pub(crate) epolls: BTreeMap<FileId, crate::fs::eventpoll::EventPoll>,
    /// io_uring instances, by their file.
    pub(crate) io_rings: BTreeMap<FileId, crate::io_uring::IoRing>,
    /// Which epoll items watch each file (`file->f_ep`), so the last
    /// `close()` of a file can remove them (`eventpoll_release`).
    pub(crate) ep_links: BTreeMap<FileId, Vec<(FileId, i32)>>,
    /// What builds a new epoll instance's lists (`Sim::set_eventpoll`).
    pub(crate) eventpoll_factory: crate::fs::eventpoll_lists::EventPollFactory,
    /// What builds a new listener's SYN and accept queues
    /// (`Sim::set_request_queue`).
    pub(crate) request_queue_factory: crate::net::ipv4::request_sock_queue::RequestQueueFactory,
    /// What builds a new pipe's ring (`Sim::set_pipe_ring`).
    pub(crate) pipe_ring_factory: crate::fs::pipe_ring::PipeRingFactory,
    /// What queues zero-copy notifications (`Sim::set_zerocopy_callback`).
    pub(crate) zerocopy_callback: crate::net::core::zerocopy::ZerocopyCallback,
    /// Processes started by `fork()` whose bodies the executor has yet to
    /// take (`wake_up_new_task`).
    pub(crate) forked: Vec<(Pid, crate::kernel::task::ProcFuture)>,
    /// Files passed over `AF_UNIX` sockets (`SCM_RIGHTS`) and not received
    /// yet, by the skb that carries them (`UNIXCB(skb).fp`).
    pub(crate) unix_inflight: BTreeMap<u64, Vec<FileId>>,
    /// Processes made runnable by a wakeup, in wakeup order.
    pub(crate) runqueue: std::collections::VecDeque<Pid>,
    /// Zero-copy buffers whose last reference went, awaiting their
    /// callback (`World::zerocopy_run_callbacks`).
    pub(crate) zc_done: crate::net::core::skbuff::zerocopy::ZcDoneList,
}

impl World {
    pub(crate) fn new(seed: u64) -> World {
        World {
            now: 0,
            events: EventQueue::default(),
            rng: fastrand::Rng::with_seed(seed),
            trace: Trace::new(),
            hosts: Vec::new(),
            netns: Vec::new(),
            devs: Vec::new(),
            links: Vec::new(),
            tasks: Vec::new(),
            files: BTreeMap::new(),
            socks: BTreeMap::new(),
            pipes: BTreeMap::new(),
            next_pipe: 0,
            next_file: 0,
            next_sock: 0,
            next_skb: 0,
            wire_log: Vec::new(),
            capture_enabled: true,
            runqueue: Default::default(),
            zc_done: Default::default(),
            epolls: BTreeMap::new(),
            io_rings: BTreeMap::new(),
            ep_links: BTreeMap::new(),
            eventpoll_factory: crate::fs::eventpoll_lists::Lists::boxed,
            request_queue_factory: crate::net::ipv4::request_sock_queue::Queues::boxed,
            pipe_ring_factory: crate::fs::pipe::PipeRing::boxed,
            zerocopy_callback: crate::net::core::zerocopy::msg_zerocopy_notification,
            forked: Vec::new(),
            unix_inflight: BTreeMap::new(),
        }
    }

    /// Records one step of the journey. `what` reads the world to describe
    /// the step, and runs only when tracing is on, so a benchmark with the
    /// trace off pays nothing for the words.
    pub(crate) fn trace(
        &mut self,
        host: HostId,
        layer: Layer,
        what: impl FnOnce(&World) -> String,
    ) {
        if self.trace.enabled {
            let text = what(self);
            let now = self.now;
            self.trace.record(now, Some(host), layer, text);
        }
    }

    /// Records a step on the wire, which belongs to no host.
    pub(crate) fn trace_wire(&mut self, what: impl FnOnce(&World) -> String) {
        if self.trace.enabled {
            let text = what(self);
            let now = self.now;
            self.trace.record(now, None, Layer::Link, text);
        }
    }

    pub(crate) fn host(&self, h: HostId) -> &Host {
        &self.hosts[h.idx()]
    }

    pub(crate) fn host_mut(&mut self, h: HostId) -> &mut Host {
        &mut self.hosts[h.idx()]
    }

    pub(crate) fn costs(&mut self, h: HostId) -> &mut Costs {
        &mut self.hosts[h.idx()].costs
    }

    pub(crate) fn ns(&self, n: NetNsId) -> &NetNs {
        &self.netns[n.idx()]
    }

    pub(crate) fn ns_mut(&mut self, n: NetNsId) -> &mut NetNs {
        &mut self.netns[n.idx()]
    }

    pub(crate) fn dev(&self, d: DevId) -> &NetDevice {
        &self.devs[d.idx()]
    }

    pub(crate) fn dev_mut(&mut self, d: DevId) -> &mut NetDevice {
        &mut self.devs[d.idx()]
    }

    pub(crate) fn task(&self, p: Pid) -> &Task {
        &self.tasks[p.idx()]
    }

    pub(crate) fn task_mut(&mut self, p: Pid) -> &mut Task {
        &mut self.tasks[p.idx()]
    }

    pub(crate) fn schedule(&mut self, at: Nanos, ev: Event) {
        self.events.push(at, ev);
    }

    pub(crate) fn next_skb_id(&mut self) -> u64 {
        self.next_skb += 1;
        self.next_skb
    }

    /// Dispatches one event at the current instant.
    pub(crate) fn handle(&mut self, ev: Event) {
        match ev {
            Event::TxDone { dev } => self.nic_tx_done(dev),
            Event::FrameArrives { dev, frame } => self.nic_frame_arrives(dev, frame),
            Event::NetRxSoftirq { host } => self.net_rx_softirq_event(host),
            Event::Wake { pid } => self.timer_wake(pid),
            Event::TcpTimer { sk } => self.tcp_timer(sk),
            Event::NeighTimer { dev, ip } => self.neigh_timer(dev, ip),
            Event::SynAckTimer { listener, remote } => self.tcp_synack_timer(listener, remote),
        }
        self.zerocopy_run_callbacks();
    }
}

impl World {
    /// Logs a frame a device put on the wire, for captures and diagrams
    /// (the kernel's taps: `dev_queue_xmit_nit()`, `__netif_receive_skb_core()`).
    pub(crate) fn log_wire(&mut self, frame: crate::observe::capture::WireFrame) {
        if self.capture_enabled {
            self.wire_log.push(frame);
        }
    }
}
