//! `MSG_ZEROCOPY`: the kernel sends from your pages instead of copying
//! them, and tells you on the socket's error queue when it is done with
//! them.
//!
//! A sender streams 4 buffers of 256 KiB over TCP, three times:
//!
//! 1. plainly, over a gigabit link whose NICs can gather (scatter-gather):
//!    every byte is copied from user memory into the kernel;
//! 2. with `SO_ZEROCOPY` and `MSG_ZEROCOPY` over the same link: nothing is
//!    copied, the skbs point at the sender's pages. `send()` returns at
//!    once, but the pages stay referenced until the peer's ACKs free the
//!    segments; only then does the notification arrive (`POLLERR`, then
//!    `recvmsg(MSG_ERRQUEUE)`): ids `lo..=hi`, merged when several complete
//!    before the process reads. Until then the buffer must not be reused;
//! 3. the same over loopback: the receiving socket cannot keep the
//!    sender's pages, so they are copied on the way in after all, and the
//!    notification says `SO_EE_CODE_ZEROCOPY_COPIED`;
//! 4. the same over a link whose NICs cannot gather: the kernel copies at
//!    `send()` time, as for a plain send, and the notifications (COPIED)
//!    are there as soon as `send()` returns.
//!
//! Run it with `cargo run -q -p stack --example msg_zerocopy`.
//! Knobs: --bufs, --kib, --latency (cargo run -q -p stack --example
//! msg_zerocopy -- --help)

use stack::prelude::*;

/// The knobs: how many buffers, their size in bytes, the link's delay.
#[derive(Clone, Copy)]
struct Stream {
    bufs: usize,
    len: usize,
    latency: u64,
}

pub fn main() {
    let k = knobs::Knobs::new("msg_zerocopy")
        .int(
            "bufs",
            4,
            1..=8,
            "buffers the sender sends, one send() each",
        )
        .int("kib", 256, 4..=512, "size of each buffer, in KiB")
        .int("latency", 1, 0..=50, "one-way delay of the link, in ms")
        .parse();
    let s = Stream {
        bufs: k.int("bufs") as usize,
        len: k.int("kib") as usize * 1024,
        latency: k.int("latency") as u64,
    };
    println!("== 1. A plain send() over a link with scatter-gather ==\n");
    run(Path::Link, false, s);
    println!("\n== 2. MSG_ZEROCOPY over the same link ==\n");
    run(Path::Link, true, s);
    println!("\n== 3. MSG_ZEROCOPY over loopback ==\n");
    run(Path::Loopback, true, s);
    println!("\n== 4. MSG_ZEROCOPY over a link without scatter-gather ==\n");
    run(Path::LinkNoSg, true, s);
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Link,
    LinkNoSg,
    Loopback,
}

fn run(path: Path, zerocopy: bool, s: Stream) {
    let Stream { bufs, len, latency } = s;
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let (b, dst) = match path {
        Path::Link | Path::LinkNoSg => {
            let b = sim.add_host("b");
            let cfg = LinkConfig::default()
                .latency(ms(latency))
                .scatter_gather(path == Path::Link);
            sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
            (b, "10.0.0.2:7000")
        }
        Path::Loopback => (a, "127.0.0.1:7000"),
    };
    sim.set_tracing(false);

    sim.spawn(b, "receiver", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:7000")?;
        p.listen(l, 1)?;
        let (fd, _) = p.accept(l).await?;
        let mut buf = vec![0u8; 65536];
        let mut got = 0;
        while got < bufs * len {
            let n = p.read(fd, &mut buf).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        p.log(format!("read all {got} bytes"));
        Ok(())
    });

    sim.spawn(a, "sender", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        // Room for the whole stream, so send() returns at once.
        p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, (2 * bufs * len) as i32)?;
        // ANCHOR: zerocopy
        if zerocopy {
            p.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)?;
        }
        p.connect(fd, dst).await?;
        let flags = if zerocopy { MSG_ZEROCOPY } else { 0 };
        let data: Vec<Vec<u8>> = (0..bufs).map(|i| vec![b'a' + i as u8; len]).collect();
        let before = p.costs();
        for buf in &data {
            p.send(fd, buf, flags).await?;
        }
        let c = p.costs();
        p.log(format!(
            "{bufs} x send({len} B{}) returned: copied_from_user {} B, pages pinned {}",
            if zerocopy { ", MSG_ZEROCOPY" } else { "" },
            c.copied_from_user - before.copied_from_user,
            c.pages_pinned - before.pages_pinned
        ));
        if !zerocopy {
            // The bytes are the kernel's now: the buffers may be reused.
            p.sleep(ms(100)).await;
            return p.close(fd);
        }
        // ANCHOR_END: zerocopy
        let held = p.zerocopy_pages(fd)?;
        if held.pages > 0 {
            p.log(format!(
                "the kernel still holds {} of our pages ({} references from skbs): do not touch the buffers",
                held.pages, held.refs
            ));
        } else {
            p.log("the kernel holds none of our pages");
        }
        let mut done = read_notes(&p, fd)?;
        if done == 0 {
            p.log("recvmsg(MSG_ERRQUEUE) -> EAGAIN: nothing completed yet");
        }
        // Wait for completions: POLLERR is reported whatever is asked.
        while done < bufs as u32 {
            let mut fds = [PollFd::new(fd, 0)];
            p.poll(&mut fds, -1).await?;
            let held = p.zerocopy_pages(fd)?;
            p.log(format!(
                "poll -> {}; pages still held: {}",
                epoll_events_name(fds[0].revents),
                held.pages
            ));
            done = done.max(read_notes(&p, fd)?);
        }
        p.log(format!(
            "every buffer is ours again; the kernel copied {} B of the pinned pages after all (skb_copy_ubufs)",
            p.costs().copied_ubufs - before.copied_ubufs
        ));
        p.close(fd)
    });

    let report = sim.run();
    if !report.is_ok() {
        print!("{report}");
    }
}

/// Reads the error queue until `EAGAIN`, printing each notification;
/// returns one past the highest id seen (0 if none).
fn read_notes(p: &Process, fd: i32) -> SysResult<u32> {
    let mut next = 0;
    loop {
        let m = match p.recv_errqueue(fd) {
            Ok(m) => m,
            Err(Errno::EAGAIN) => return Ok(next),
            Err(e) => return Err(e),
        };
        let ee = m.ee;
        p.log(format!(
            "recvmsg(MSG_ERRQUEUE) -> ee_origin {} (ZEROCOPY), ids {}..={}, ee_code {}{}",
            ee.ee_origin,
            ee.ee_info,
            ee.ee_data,
            ee.ee_code,
            if ee.ee_code == SO_EE_CODE_ZEROCOPY_COPIED {
                " (COPIED)"
            } else {
                " (sent from our pages)"
            }
        ));
        next = ee.ee_data + 1;
    }
}
