//! Watching the kernel work. Not a part of the kernel's tree: these are the
//! ways a reader sees the simulation, as the kernel's tracepoints, packet
//! taps and `/proc` files let one see a real machine. The trace of each
//! step of a packet's journey, the capture of every frame on the wire (as
//! pcap files and sequence diagrams), and the real tools' views (`ss`,
//! `netstat`, `nstat`, `ip`, `/proc/net/*`) in their exact formats.

pub mod capture;
pub mod pcap;
pub mod seqdiag;
pub mod tools;
pub mod trace;
pub mod views;
