//! Hidden: the client side's edge cases and the resets of RFC 5961.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;

lab_receipt::graded! {
    fn a_connection_challenges_resets_syns_and_acks_it_cannot_trust() {
        script(1000, &format!("{CLIENT_EST}
            < R seq=5002
            > . seq=1001 ack=5001
            state ESTABLISHED
            < R seq=5000
            state ESTABLISHED
            < R seq=900000
            state ESTABLISHED
            < S seq=7000
            > . seq=1001 ack=5001
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            < . seq=5001 ack=1500
            > . seq=1001 ack=5001
            < P. seq=5001 ack=1500 len=3
            > . seq=1001 ack=5001
            state ESTABLISHED
            read 0
            error none
            < R seq=5001
            state CLOSE
            error ECONNRESET
        "));
    }

    fn the_window_in_a_sequence_space_that_wraps() {
        script(4294967295, "
            connect
            > S seq=4294967295
            < S. seq=4294967290 ack=0
            > . seq=0 ack=4294967291
            state ESTABLISHED
            < P. seq=4294967000 ack=0 len=10
            > . seq=0 ack=4294967291
            < P. seq=300000 ack=0 len=10
            > . seq=0 ack=4294967291
            < P. seq=5 ack=0 len=10
            > . seq=0 ack=4294967291
            read 0
            < P. seq=4294967291 ack=0 len=10
            > . seq=0 ack=5
            read 10
            < P. seq=0 ack=0 len=10
            > . seq=0 ack=10
            < P. seq=10 ack=0 len=5
            > . seq=0 ack=15
            read 10
            < F. seq=15 ack=0
            > . seq=0 ack=16
            state CLOSE_WAIT
            < R seq=16
            error EPIPE
        ");
    }

    fn resets_without_a_valid_ack_do_not_refuse_a_connection() {
        script(1000, "
            connect
            > S seq=1000
            < R seq=0
            state SYN_SENT
            < R. seq=0 ack=1000
            state SYN_SENT
            < R. seq=0 ack=1002
            state SYN_SENT
            error none
            < . seq=5000 ack=1001
            state SYN_SENT
            < R. seq=0 ack=1001
            error ECONNREFUSED
        ");
    }

    fn a_syn_crossing_ours_is_a_simultaneous_open() {
        script(1000, "
            connect
            > S seq=1000
            < S seq=5000
            > S. seq=1000 ack=5001
            state SYN_RECV
            < . seq=5001 ack=1001
            state ESTABLISHED
        ");
        script(1000, "
            connect
            > S seq=1000
            < S seq=5000
            > S. seq=1000 ack=5001
            < S. seq=5000 ack=1001
            > . seq=1001 ack=5001
            state ESTABLISHED
        ");
    }

}

/// The stack's judgement of forged resets at an established client (RFC
/// 5961, `tcp_validate_incoming()`), 600 ms apart so that its challenge
/// ACKs are not rate-limited: per reset, its sequence number relative to
/// `rcv_nxt`, whether a challenge ACK went out, and the state after.
fn stack_resets(offsets: &[u32]) -> Vec<(u32, bool, &'static str)> {
    use stack::prelude::*;
    use stack::wire::ethernet::EthHdr;
    use stack::wire::ipv4::Ipv4Hdr;
    use stack::wire::tcp::{TcpFlags, TcpHdr, TcpOptions};
    use std::net::Ipv4Addr;

    let (mut sim, client, server) = world(false);
    sim.set_capture(true);
    sim.spawn(server, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 8)?;
        let _conn = p.accept(l).await?;
        p.sleep(secs(100)).await;
        Ok(())
    });
    sim.spawn(client, "client", |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await?;
        p.sleep(secs(100)).await;
        Ok(())
    });
    sim.run_until(ms(500));
    // The SYN-ACK in the client's capture: the client's port and rcv_nxt.
    let frames = stack::pcap::parse_pcap(&sim.pcap(client, "eth0").unwrap_or_default())
        .unwrap_or_default();
    let (cport, rcv_nxt) = frames
        .iter()
        .find_map(|(_, f)| {
            let tcp = TcpHdr::parse(f.get(EthHdr::LEN + Ipv4Hdr::LEN..)?).ok()?;
            let syn_ack = tcp.flags.contains(TcpFlags::SYN) && tcp.flags.contains(TcpFlags::ACK);
            syn_ack.then(|| (tcp.dest, tcp.seq.wrapping_add(1)))
        })
        .expect("the client received a SYN-ACK");
    let mac = mac_of(&sim.sh(client, "ip -s link"), "eth0");
    let (src, dst) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
    let mut out = Vec::new();
    let mut t = ms(500);
    for &off in offsets {
        let before = sim.counter(client, Mib::TcpExtTCPChallengeACK);
        let hdr = TcpHdr::new(80, cport, rcv_nxt.wrapping_add(off), 0, TcpFlags::RST, 0, TcpOptions::default());
        let frame = forged_tcp_frame(mac, src, dst, &hdr);
        sim.inject_frame(client, "eth0", frame).ok();
        t += ms(600);
        sim.run_until(t);
        let challenged = sim.counter(client, Mib::TcpExtTCPChallengeACK) > before;
        let ss = sim.sh(client, "ss -tan");
        let state = if ss.lines().any(|l| l.starts_with("ESTAB")) {
            "ESTABLISHED"
        } else {
            "CLOSE"
        };
        out.push((off, challenged, state));
    }
    out
}

lab_receipt::graded! {
    fn forged_resets_are_judged_as_the_stack_judges_them() {
        // Outside the window, in it, just before rcv_nxt, at rcv_nxt.
        let offsets = [0x4000_0000, 1000, u32::MAX, 0];
        let stack = stack_resets(&offsets);
        assert_eq!(stack.last().map(|s| s.2), Some("CLOSE"), "{stack:?}");
        assert!(stack.iter().any(|s| s.1), "the stack challenged one: {stack:?}");
        let mut text = String::from(CLIENT_EST);
        for (off, challenged, state) in stack {
            text += &format!("< R seq={}\n", 5001u32.wrapping_add(off));
            if challenged {
                text += "> . seq=1001 ack=5001\n";
            }
            text += &format!("state {state}\n");
        }
        script(1000, &text);
    }
}
