//! Differential test of receive-buffer autotuning (`tcp_rcv_space_adjust()`):
//! a reader that keeps up with a bulk transfer over loopback sees its
//! `SO_RCVBUF` grow past `tcp_rmem[1]`, and one whose buffer the process
//! sized with `SO_RCVBUF` keeps that size. Written once against
//! `common::inet::Api`; the real side runs on this machine's kernel over
//! 127.0.0.1, the simulated side on one simulated host.
//!
//! How far the buffer grows depends on the RTT, the scheduler and (on
//! 6.6 and later) the payload share of each buffer, so what is compared
//! is whether it grew, not by how much; both sizes are printed.

use std::time::Duration;

use stack::prelude::*;

mod common;
use common::inet::*;
use common::*;

/// What the reader's buffer did during the transfer.
#[derive(Debug, PartialEq)]
struct Growth {
    /// `SO_RCVBUF` went up.
    grew: bool,
    /// It stayed within `tcp_rmem[2]` (32 MiB here and in the simulation).
    within_max: bool,
}

/// Sends `total` bytes from one end of a loopback pair to the other, the
/// reader draining as fast as it can; `lock` first sets the reader's
/// `SO_RCVBUF`.
async fn bulk<A: Api>(a: &A, total: usize, lock: Option<i32>) -> Growth {
    let (c, s) = pair(a).await;
    if let Some(size) = lock {
        a.setsockopt(s, SOL_SOCKET, SO_RCVBUF, size)
            .expect("SO_RCVBUF");
    }
    let before = a.getsockopt(s, SOL_SOCKET, SO_RCVBUF).expect("SO_RCVBUF");
    let chunk = vec![0x5a_u8; 65536];
    let (mut sent, mut got) = (0, 0);
    while got < total {
        if sent < total {
            let n = chunk.len().min(total - sent);
            match a
                .sendto(c, &chunk[..n], MSG_DONTWAIT | MSG_NOSIGNAL, None)
                .await
            {
                Ok(n) => sent += n,
                Err("EAGAIN") => {}
                Err(e) => panic!("send: {e}"),
            }
        }
        match a.recv(s, 65536, MSG_DONTWAIT).await {
            // Each read takes the reader a moment: in the simulation system
            // calls take no virtual time, and a loopback round trip none
            // either, so without it no receive RTT would ever pass.
            Ok((n, _)) => {
                got += n;
                a.wait(Duration::from_micros(20)).await;
            }
            Err("EAGAIN") => a.wait(Duration::from_micros(100)).await,
            Err(e) => panic!("recv: {e}"),
        }
    }
    let after = a.getsockopt(s, SOL_SOCKET, SO_RCVBUF).expect("SO_RCVBUF");
    println!("SO_RCVBUF {before} -> {after} (lock {lock:?})");
    a.close(c).expect("close");
    a.close(s).expect("close");
    Growth {
        grew: after > before,
        within_max: after <= 33_554_432,
    }
}

#[test]
fn a_reader_that_keeps_up_gets_a_larger_buffer() {
    let (real, simulated) = both!(bulk, 16 << 20, None);
    assert!(real.grew, "this kernel did not autotune: {real:?}");
    same("a fast reader's buffer", real, simulated);
}

#[test]
fn a_buffer_sized_with_so_rcvbuf_is_not_autotuned() {
    let (real, simulated) = both!(bulk, 16 << 20, Some(65536));
    assert!(!real.grew, "{real:?}");
    same("a buffer the process sized", real, simulated);
}
