//! The hooks that plug a lab's component into the running stack: each
//! replaces one of the stack's own implementations (a NIC's RX ring, epoll's
//! lists, a listener's SYN and accept queues, a pipe's ring, the zero-copy
//! notification callback) with the student's, so the whole simulation, and
//! the book's examples, run on the student's code.

use crate::drivers::net::ring::RxRing;
use crate::fs::eventpoll_lists::EventPollFactory;
use crate::fs::pipe_ring::PipeRingFactory;
use crate::kernel::ids::HostId;
use crate::net::core::skbuff::SkBuff;
use crate::net::core::zerocopy::ZerocopyCallback;
use crate::net::ipv4::request_sock_queue::RequestQueueFactory;
use crate::sim::Sim;
use crate::uapi::errno::Errno;

impl Sim {
    /// `ethtool -G DEV rx N` with a ring of the caller's making: the NIC
    /// `dev` of `host` receives into `ring` from now on (the queues lab
    /// plugs a student's ring in this way). The old ring must be empty,
    /// as a driver only swaps rings with the device stopped: `EBUSY`
    /// otherwise; `ENODEV` if the host has no such device, `EINVAL` if it
    /// is not a NIC.
    pub fn set_rx_ring(
        &mut self,
        host: HostId,
        dev: &str,
        ring: Box<dyn RxRing<SkBuff>>,
    ) -> Result<(), Errno> {
        let mut w = self.world.borrow_mut();
        let ns = w.host(host).init_net;
        let id = w.dev_get_by_name(ns, dev)?;
        let nic = w.dev_mut(id).nic_mut().ok_or(Errno::EINVAL)?;
        if !nic.rx_ring.is_empty() {
            return Err(Errno::EBUSY);
        }
        nic.rx_ring = ring;
        Ok(())
    }
}

impl Sim {
    /// Builds every epoll instance created from now on with `factory`'s
    /// lists instead of the stack's own ([`crate::fs::eventpoll_lists::Lists`]):
    /// how the epoll lab runs a student's lists inside the full stack.
    pub fn set_eventpoll(&mut self, factory: EventPollFactory) {
        self.world.borrow_mut().eventpoll_factory = factory;
    }
}

impl Sim {
    /// Builds the queues of every socket that starts listening from now on
    /// with `factory` instead of the stack's own ([`crate::net::ipv4::request_sock_queue::Queues`]): how the
    /// handshake lab runs a student's queues inside the full stack.
    pub fn set_request_queue(&mut self, factory: RequestQueueFactory) {
        self.world.borrow_mut().request_queue_factory = factory;
    }
}

impl Sim {
    /// Builds the ring of every pipe created from now on (and of every
    /// `sendfile()`'s private pipe) with `factory` instead of the stack's
    /// own ([`crate::fs::pipe::PipeRing`]): how the zerocopy lab runs a
    /// student's ring inside the full stack.
    pub fn set_pipe_ring(&mut self, factory: PipeRingFactory) {
        self.world.borrow_mut().pipe_ring_factory = factory;
    }
}

impl Sim {
    /// Queues zero-copy notifications with `f` instead of the stack's own
    /// [`crate::net::core::zerocopy::msg_zerocopy_notification`]: how the zerocopy lab runs a
    /// student's coalescing inside the full stack.
    pub fn set_zerocopy_callback(&mut self, f: ZerocopyCallback) {
        self.world.borrow_mut().zerocopy_callback = f;
    }
}
