//! Handles for the simulation's objects. Each is an index into one of the
//! simulation's tables; they are plain numbers so that the order in which
//! things are visited (and so printed) is fixed.
//!
//! No kernel file: the kernel uses pointers (`struct sock *`, `struct
//! net_device *`); the simulation uses these indices instead.

use std::fmt;

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) u32);

        impl $name {
            #[allow(dead_code)]
            pub(crate) fn idx(self) -> usize {
                self.0 as usize
            }

            /// The handle numbered `n` (for code outside the stack that
            /// keeps handles, such as a lab's queues and its tests).
            pub fn from_raw(n: u32) -> Self {
                $name(n)
            }

            /// The handle's number.
            pub fn raw(self) -> u32 {
                self.0
            }
        }
    };
}

id!(
    /// A simulated machine: one kernel, one CPU.
    HostId
);
id!(
    /// A network namespace (`struct net`).
    NetNsId
);
id!(
    /// A network device (`struct net_device`).
    DevId
);
id!(
    /// A cable between two NICs.
    LinkId
);
id!(
    /// A network-layer socket (`struct sock`).
    SockId
);
id!(
    /// An open file description (`struct file`).
    FileId
);
id!(
    /// A pipe (`struct pipe_inode_info`), shared by its two ends.
    PipeId
);

/// A simulated process. Printed as the kernel prints a pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(pub(crate) u32);

impl Pid {
    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Real pids start well above 1; ours start at 100 so they read like pids.
        write!(f, "{}", 100 + self.0)
    }
}
