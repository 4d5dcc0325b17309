//! Selective acknowledgment on the receiving side (RFC 2018): the blocks a
//! receiver reports for data that arrived above a hole, and the D-SACK
//! block (RFC 2883) for data that arrived twice.
//!
//! Linux keeps them in `tp->selective_acks[]` and `tp->duplicate_sack[]`
//! (`include/linux/tcp.h`) and maintains them in `net/ipv4/tcp_input.c`:
//! `tcp_sack_new_ofo_skb()` when a segment joins the out-of-order queue,
//! `tcp_sack_remove()` when `rcv_nxt` moves past blocks, `tcp_dsack_set()`
//! for a duplicate. `tcp_established_options()` and `tcp_options_write()`
//! (`net/ipv4/tcp_output.c`) put the D-SACK block first, then the others,
//! as many as fit, and forget the D-SACK block once sent.
//!
//! The sender's side, the scoreboard the blocks build, is `recovery.rs`.
//!
//! Simplified: D-SACK is reported only for a
//! segment wholly below `rcv_nxt`, not for one already in the
//! out-of-order queue.

use crate::wire::tcp::{SackBlocks, TCP_NUM_SACKS};

use super::defs::{after, before};

/// The receiver's SACK state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxSack {
    /// `selective_acks[]`: most recently changed block first.
    blocks: Vec<(u32, u32)>,
    /// `duplicate_sack[0]`, while `rx_opt.dsack` is set.
    dsack: Option<(u32, u32)>,
}

/// `tcp_sack_extend()`: grow `sp` by `[seq, end)` if they touch or overlap.
fn extend(sp: &mut (u32, u32), seq: u32, end: u32) -> bool {
    if !after(seq, sp.1) && !after(sp.0, end) {
        if before(seq, sp.0) {
            sp.0 = seq;
        }
        if after(end, sp.1) {
            sp.1 = end;
        }
        return true;
    }
    false
}

impl RxSack {
    /// `tcp_sack_new_ofo_skb()`: `[seq, end)` joined the out-of-order
    /// queue. A block it touches grows and moves to the front (and absorbs
    /// the blocks it now reaches); otherwise a new block goes in front,
    /// the oldest falling off when there are four.
    pub(crate) fn new_ofo(&mut self, seq: u32, end: u32) {
        if let Some(i) = self.blocks.iter_mut().position(|sp| extend(sp, seq, end)) {
            let sp = self.blocks.remove(i);
            self.blocks.insert(0, sp);
            // tcp_sack_maybe_coalesce().
            let mut j = 1;
            while j < self.blocks.len() {
                let (s, e) = self.blocks[j];
                if extend(&mut self.blocks[0], s, e) {
                    self.blocks.remove(j);
                } else {
                    j += 1;
                }
            }
            return;
        }
        self.blocks.truncate(TCP_NUM_SACKS - 1);
        self.blocks.insert(0, (seq, end));
    }

    /// `tcp_sack_remove()`: `rcv_nxt` moved; blocks it reached go. With
    /// the out-of-order queue empty, all go.
    pub(crate) fn remove_below(&mut self, rcv_nxt: u32, ofo_empty: bool) {
        if ofo_empty {
            self.blocks.clear();
        } else {
            self.blocks.retain(|&(start, _)| before(rcv_nxt, start));
        }
    }

    /// `tcp_dsack_set()`: `[seq, end)` arrived again.
    pub(crate) fn set_dsack(&mut self, seq: u32, end: u32) {
        self.dsack = Some((seq, end));
    }

    /// The blocks for the next ACK, D-SACK first; taking them forgets the
    /// D-SACK block, as `tcp_options_write()` clears `rx_opt.dsack`.
    pub(crate) fn take_for_ack(&mut self) -> SackBlocks {
        let mut out = SackBlocks::default();
        for (s, e) in self
            .dsack
            .take()
            .into_iter()
            .chain(self.blocks.iter().copied())
        {
            out.push(s, e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(s: &mut RxSack) -> Vec<(u32, u32)> {
        s.take_for_ack().as_slice().to_vec()
    }

    #[test]
    fn the_newest_block_comes_first_and_touching_blocks_merge() {
        let mut s = RxSack::default();
        s.new_ofo(2000, 3000);
        s.new_ofo(4000, 5000);
        assert_eq!(blocks(&mut s), [(4000, 5000), (2000, 3000)]);
        // 3000..4000 fills the gap between them: one block.
        s.new_ofo(3000, 4000);
        assert_eq!(blocks(&mut s), [(2000, 5000)]);
    }

    #[test]
    fn four_blocks_at_most_and_the_oldest_falls_off() {
        let mut s = RxSack::default();
        for i in 0..5u32 {
            s.new_ofo(2000 * i + 1000, 2000 * i + 1500);
        }
        assert_eq!(
            blocks(&mut s),
            [(9000, 9500), (7000, 7500), (5000, 5500), (3000, 3500)]
        );
    }

    #[test]
    fn rcv_nxt_passing_a_block_removes_it_and_dsack_is_sent_once() {
        let mut s = RxSack::default();
        s.new_ofo(2000, 3000);
        s.new_ofo(4000, 5000);
        s.remove_below(3000, false);
        assert_eq!(blocks(&mut s), [(4000, 5000)]);
        s.set_dsack(100, 200);
        assert_eq!(blocks(&mut s), [(100, 200), (4000, 5000)]);
        assert_eq!(blocks(&mut s), [(4000, 5000)]);
        s.remove_below(5000, true);
        assert!(s.take_for_ack().is_empty());
    }
}
