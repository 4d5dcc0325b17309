//! The host under test: one simulated machine with a tun device, as
//! packetdrill's `netdev.c` sets up the kernel it tests (`tun0` with
//! 192.168.0.1/16 and a route to the script's 192.0.2.1 through it), and
//! one process that makes the script's system calls in order.
//!
//! The process is driven from outside the simulation: the runner hands it
//! a call through a shared mailbox and puts it on the run queue
//! ([`Sim::resume`]); the call runs in the simulated kernel, blocking
//! there if it must, and its verdict comes back with the instant it
//! returned.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use stack::prelude::*;

use crate::script::Syscall;
use crate::syscalls::{self, LOCAL_IP};

/// The tun device's name.
pub const TUN: &str = "tun0";

/// What passes between the runner and the process.
#[derive(Default)]
struct Mailbox {
    /// The next call to make.
    job: Option<Syscall>,
    /// The last call's verdict and when it returned.
    done: Option<(Nanos, Result<(), String>)>,
}

/// The simulated host and the process that runs the script's calls.
pub struct Host {
    /// The simulation.
    pub sim: Sim,
    /// The host.
    pub id: HostId,
    driver: Pid,
    mailbox: Rc<RefCell<Mailbox>>,
    /// The process, for calls made between events (`TCP_INFO` for a
    /// Python block).
    process: Rc<RefCell<Option<Process>>>,
}

impl Host {
    /// A fresh host with its tun device, address and route.
    pub fn new() -> Host {
        let mut sim = Sim::new(1);
        sim.set_tracing(false);
        let id = sim.add_host("host");
        let setup = (|| {
            sim.add_tun(id, TUN)?;
            sim.addr_add(id, TUN, &format!("{LOCAL_IP}/16"))?;
            sim.add_route(id, "192.0.2.0/24", "192.168.0.2")
        })();
        // The names and addresses are fixed and valid.
        debug_assert!(setup.is_ok(), "{setup:?}");
        let mailbox = Rc::new(RefCell::new(Mailbox::default()));
        let mb = mailbox.clone();
        let process = Rc::new(RefCell::new(None));
        let keep = process.clone();
        let driver = sim.spawn(id, "packetdrill", move |p| async move {
            *keep.borrow_mut() = Some(p.clone());
            loop {
                let call = poll_fn(|_| match mb.borrow_mut().job.take() {
                    Some(c) => Poll::Ready(c),
                    None => Poll::Pending,
                })
                .await;
                let verdict = syscalls::run(&p, &call).await;
                mb.borrow_mut().done = Some((p.now(), verdict));
            }
        });
        let mut host = Host {
            sim,
            id,
            driver,
            mailbox,
            process,
        };
        host.settle();
        host
    }

    /// Runs whatever is due now (processes woken, softirqs raised).
    pub fn settle(&mut self) {
        let now = self.sim.now();
        self.sim.run_until(now);
    }

    /// Hands `call` to the process and runs it as far as it goes now.
    pub fn start_call(&mut self, call: Syscall) {
        self.mailbox.borrow_mut().job = Some(call);
        self.sim.resume(self.driver);
        self.settle();
    }

    /// `getsockopt(fd, IPPROTO_TCP, TCP_INFO)` in the script's process.
    pub fn tcp_info(&self, fd: i32) -> Result<stack::inet::tcp::info::TcpInfo, Errno> {
        match &*self.process.borrow() {
            Some(p) => p.tcp_info(fd),
            None => Err(Errno::ESRCH),
        }
    }

    /// The verdict of the call in progress, once it has returned.
    pub fn take_done(&mut self) -> Option<(Nanos, Result<(), String>)> {
        self.mailbox.borrow_mut().done.take()
    }
}

impl Default for Host {
    fn default() -> Host {
        Host::new()
    }
}
