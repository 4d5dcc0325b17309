//! Device drivers (`drivers/`): here only the network ones.

pub mod net;
