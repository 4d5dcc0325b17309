//! Hidden: two of your state machines talking to each other go through the
//! same states, at the same instants, as two sockets of the stack's own
//! TCP (seen through `ss -tan`) in the same exchange.

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

mod common;
use common::*;
use stack::prelude::*;

/// `ss -tan`'s state names as the kernel's `tcp_state_names`.
fn kernel_name(ss: &str) -> &str {
    match ss {
        "ESTAB" => "ESTABLISHED",
        "SYN-SENT" => "SYN_SENT",
        "SYN-RECV" => "SYN_RECV",
        "FIN-WAIT-1" => "FIN_WAIT1",
        "FIN-WAIT-2" => "FIN_WAIT2",
        "TIME-WAIT" => "TIME_WAIT",
        "CLOSE-WAIT" => "CLOSE_WAIT",
        "LAST-ACK" => "LAST_ACK",
        "CLOSING" => "CLOSING",
        "LISTEN" => "LISTEN",
        other => other,
    }
}

/// The state of the connection on `host`: its row in `ss -tan`, else the
/// listener's, else CLOSE.
fn state_on(sim: &Sim, host: HostId) -> String {
    let ss = sim.sh(host, "ss -tan");
    let rows: Vec<&str> = ss
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let conn = rows.iter().find(|s| **s != "LISTEN");
    match (conn, rows.first()) {
        (Some(s), _) => kernel_name(s).to_string(),
        (None, Some(s)) => kernel_name(s).to_string(),
        (None, None) => "CLOSE".to_string(),
    }
}

/// The stack's run of the exchange: the client connects at its instant
/// (to a closed port when `listen` is false), each side closes (or shuts
/// down) at its instant; the server closes its listener once it has
/// accepted.
fn stack_run(
    listen: bool,
    calls: &[(Nanos, usize, &'static str)],
    samples: &[Nanos],
) -> Vec<String> {
    let (mut sim, client, server) = world(false);
    if listen {
        let calls = calls.to_vec();
        sim.spawn(server, "server", move |p| async move {
            let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.bind(lfd, "0.0.0.0:80")?;
            p.listen(lfd, 8)?;
            let (fd, _) = p.accept(lfd).await?;
            p.close(lfd)?;
            for (at, who, what) in calls.into_iter().filter(|c| c.1 == 1) {
                let _ = who;
                p.sleep(at.saturating_sub(p.now())).await;
                if what == "close" {
                    p.close(fd)?;
                } else {
                    p.shutdown(fd, SHUT_WR)?;
                }
            }
            Ok(())
        });
    }
    let calls = calls.to_vec();
    sim.spawn(client, "client", move |p| async move {
        // A datagram first, so that ARP has resolved both neighbours before
        // the handshake (the state machines know nothing of ARP).
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(u, b"arp", 0, "10.0.0.2:9").await?;
        let start = calls.iter().find(|c| c.2 == "connect").map_or(0, |c| c.0);
        p.sleep(start.saturating_sub(p.now())).await;
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(fd, "10.0.0.2:80").await.ok();
        for (at, _, what) in calls.into_iter().filter(|c| c.1 == 0 && c.2 != "connect") {
            p.sleep(at.saturating_sub(p.now())).await;
            if what == "close" {
                p.close(fd)?;
            } else {
                p.shutdown(fd, SHUT_WR)?;
            }
        }
        Ok(())
    });
    let mut out = Vec::new();
    for &t in samples {
        sim.run_until(t);
        out.push(format!(
            "{}/{}",
            state_on(&sim, client),
            state_on(&sim, server)
        ));
    }
    out
}

fn at(ms_: &[f64]) -> Vec<Nanos> {
    ms_.iter().map(|m| (m * 1e6) as Nanos).collect()
}

lab_receipt::graded! {
    fn open_and_close_go_through_the_stacks_states() {
        let calls = [(ms(10), 0, "connect"), (ms(100), 0, "close"), (ms(200), 1, "close")];
        let samples = at(&[
            10.5, 11.5, 12.5, 50.0, 100.5, 101.5, 102.5, 150.0, 200.5, 201.5, 202.5, 30_000.0,
            60_200.5, 60_202.5,
        ]);
        let want = stack_run(true, &calls, &samples);
        assert!(want.iter().any(|s| s.starts_with("TIME_WAIT")), "{want:?}");
        assert_eq!(pair(ms(1), &calls, &samples), want);
    }

    fn a_simultaneous_close_goes_through_closing_as_in_the_stack() {
        let calls = [(ms(10), 0, "connect"), (ms(100), 0, "close"), (ms(100), 1, "close")];
        let samples = at(&[50.0, 100.5, 101.5, 102.5, 103.5, 59_000.0, 60_102.5]);
        let want = stack_run(true, &calls, &samples);
        assert!(want.iter().any(|s| s.contains("CLOSING")), "{want:?}");
        assert_eq!(pair(ms(1), &calls, &samples), want);
    }

    fn the_server_closing_first_as_in_the_stack() {
        let calls = [(ms(10), 0, "connect"), (ms(50), 1, "close"), (ms(80), 0, "close")];
        let samples = at(&[11.5, 50.5, 51.5, 52.5, 70.0, 80.5, 81.5, 82.5, 60_000.0, 60_082.5]);
        let want = stack_run(true, &calls, &samples);
        assert_eq!(pair(ms(1), &calls, &samples), want);
    }
}
