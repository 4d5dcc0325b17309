//! Captures and sequence diagrams of a run: the [`Sim`] side of
//! [`crate::observe::capture`], which logs every frame a link carries.

use crate::kernel::ids::HostId;
use crate::observe::capture::tcp_label;
use crate::observe::pcap::PcapWriter;
use crate::observe::seqdiag::{self, Arrow};
use crate::sim::Sim;
use crate::sim::time::Nanos;

impl Sim {
    /// Starts logging frames on links (for captures and diagrams). It is on
    /// by default; a benchmark turns it off.
    pub fn set_capture(&mut self, on: bool) {
        self.world.borrow_mut().capture_enabled = on;
    }

    /// The frames an interface sent and received, as a pcap file
    /// (`tcpdump -i DEV -w FILE`), on a host or inside a namespace (`ip
    /// netns exec NS tcpdump -i eth0`). `None` if there is no such device.
    pub fn pcap(&self, at: impl crate::sim::InNetNs, dev: &str) -> Option<Vec<u8>> {
        let ns = at.netns_id(self);
        let w = self.world.borrow();
        let id = w
            .ns(ns)
            .devs
            .iter()
            .copied()
            .find(|&d| w.dev(d).name == dev)?;
        let mut frames: Vec<(Nanos, &[u8])> = Vec::new();
        for f in &w.wire_log {
            if f.from == id {
                frames.push((f.sent, &f.bytes));
            }
            if let (true, Some(t)) = (f.to == id, f.arrived) {
                frames.push((t, &f.bytes));
            }
        }
        frames.sort_by_key(|(t, _)| *t);
        let mut pcap = PcapWriter::new();
        for (t, b) in frames {
            pcap.record(t, b);
        }
        Some(pcap.into_bytes())
    }

    fn tcp_arrows(&self, hosts: &[HostId]) -> (Vec<String>, Vec<Arrow>) {
        let w = self.world.borrow();
        let names: Vec<String> = hosts.iter().map(|&h| w.host(h).name.clone()).collect();
        let mut isn = Vec::new();
        let arrows = w
            .wire_log
            .iter()
            .filter(|f| hosts.contains(&w.dev(f.from).host) && hosts.contains(&w.dev(f.to).host))
            .filter_map(|f| {
                let label = tcp_label(&f.bytes, &mut isn)?;
                Some(Arrow {
                    sent: f.sent,
                    arrived: f.arrived,
                    from: w.host(w.dev(f.from).host).name.clone(),
                    to: w.host(w.dev(f.to).host).name.clone(),
                    label,
                })
            })
            .collect();
        (names, arrows)
    }

    /// The TCP segments between these hosts as a text sequence diagram,
    /// one column per host, in the order given.
    pub fn tcp_sequence_text(&self, hosts: &[HostId]) -> String {
        let (names, arrows) = self.tcp_arrows(hosts);
        seqdiag::text(&names, &arrows)
    }

    /// The same diagram as a standalone SVG picture.
    pub fn tcp_sequence_svg(&self, hosts: &[HostId]) -> String {
        let (names, arrows) = self.tcp_arrows(hosts);
        seqdiag::svg(&names, &arrows)
    }
}
