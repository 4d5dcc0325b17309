//! Pipes, files and splice in the simulation: what the differential tests
//! cannot drive on the real kernel without threads and timing (processes
//! sleeping on a pipe and being woken, a deadlock on a pipe named in the
//! report), what only the simulation counts (the copy counters of
//! `read()`+`write()` against `sendfile()` and `splice()`), and the calls
//! the real side cannot make safely (bad fd numbers).

use std::cell::Cell;
use std::rc::Rc;

use stack::host::Costs;
use stack::prelude::*;

mod common;
use common::*;

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect()
}

/// One host with `/srv/file` holding `data`.
fn world_with_file(data: &[u8]) -> (Sim, HostId) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.create_file(h, "/srv/file", data);
    (sim, h)
}

/// Reads until end of file; the bytes.
async fn read_to_end(p: &Process, fd: i32, chunk: usize) -> SysResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = p.read(fd, &mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Runs the world to its end; the run must end cleanly.
fn run_ok(mut sim: Sim) {
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_reader_sleeps_on_an_empty_pipe_until_the_writer_writes() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "writer", |p| async move {
        let (r, w) = p.pipe()?;
        p.fork("reader", move |c| async move {
            c.close(w)?;
            let mut buf = [0u8; 64];
            let n = c.read(r, &mut buf).await?;
            assert_eq!(&buf[..n], b"ping");
            assert_eq!(c.now(), ms(3), "woken when the data came");
            assert_eq!(c.read(r, &mut buf).await?, 0, "then end of file");
            Ok(())
        })?;
        p.close(r)?;
        p.sleep(ms(3)).await;
        assert_eq!(p.write(w, b"ping").await?, 4);
        p.close(w)
    });
    run_ok(sim);
}

#[test]
fn a_writer_sleeps_on_a_full_pipe_until_the_reader_drains_it() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let data = pattern(100_000);
    let sent = data.clone();
    sim.spawn(h, "writer", |p| async move {
        let (r, w) = p.pipe()?;
        p.fork("reader", move |c| async move {
            c.close(w)?;
            c.sleep(ms(5)).await;
            let got = read_to_end(&c, r, 10_000).await?;
            assert_eq!(got, sent);
            Ok(())
        })?;
        p.close(r)?;
        assert_eq!(
            p.write(w, &data).await?,
            100_000,
            "all of it, after sleeping"
        );
        assert_eq!(p.now(), ms(5), "the write finished once the reader read");
        p.close(w)
    });
    run_ok(sim);
}

#[test]
fn writers_blocked_on_a_full_pipe_wake_one_another() {
    // Each wakeup of writers wakes one (they wait exclusively); the one
    // woken wakes the next if room is left. Without that, the second
    // writer would sleep forever and the reader would never see EOF.
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "reader", |p| async move {
        let (r, w) = p.pipe()?;
        // w1 fills the pipe and sleeps with 4464 bytes to go; w2 finds it
        // full and sleeps too. One read empties the pipe and wakes w1 only;
        // w1's last two pages leave room, so w1 must wake w2.
        for (name, len) in [("w1", 70_000), ("w2", 10_000)] {
            p.fork(name, move |c| async move {
                c.close(r)?;
                assert_eq!(c.write(w, &vec![7u8; len]).await?, len);
                c.close(w)
            })?;
        }
        p.close(w)?;
        p.sleep(ms(1)).await;
        let got = read_to_end(&p, r, 65_536).await?;
        assert_eq!(got.len(), 80_000);
        Ok(())
    });
    run_ok(sim);
}

#[test]
fn closing_the_last_writer_wakes_a_blocked_reader_with_eof() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "parent", |p| async move {
        let (r, w) = p.pipe()?;
        p.fork("reader", move |c| async move {
            c.close(w)?;
            let mut buf = [0u8; 8];
            assert_eq!(c.read(r, &mut buf).await?, 0);
            assert_eq!(c.now(), ms(2));
            Ok(())
        })?;
        p.close(r)?;
        p.sleep(ms(2)).await;
        p.close(w)
    });
    run_ok(sim);
}

#[test]
fn closing_the_last_reader_ends_a_blocked_write_with_what_it_wrote() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "writer", |p| async move {
        let (r, w) = p.pipe()?;
        p.fork("reader", move |c| async move {
            c.close(w)?;
            c.sleep(ms(2)).await;
            c.close(r)
        })?;
        p.close(r)?;
        assert_eq!(
            p.write(w, &[1u8; 100_000]).await,
            Ok(65_536),
            "the bytes that went in count; EPIPE only for the next write"
        );
        assert_eq!(p.write(w, b"x").await, Err(Errno::EPIPE));
        Ok(())
    });
    run_ok(sim);
}

#[test]
fn a_process_reading_its_own_pipe_is_a_deadlock_named_in_the_report() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "selfish", |p| async move {
        let (r, _w) = p.pipe()?;
        let mut buf = [0u8; 10];
        p.read(r, &mut buf).await?;
        Ok(())
    });
    let report = sim.run();
    let sleepers = report.deadlock.expect("a deadlock");
    assert_eq!(sleepers.len(), 1);
    assert!(
        sleepers[0].syscall.starts_with("read(3"),
        "{:?}",
        sleepers[0]
    );
    assert!(
        sleepers[0].waits_for.starts_with("data in pipe:[")
            && sleepers[0].waits_for.contains("1 writer"),
        "{:?}",
        sleepers[0]
    );
}

#[test]
fn the_fd_table_shows_pipe_ends_and_files_and_a_fork_shares_them() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.create_file(h, "/etc/motd", b"hi\n");
    let seen = Rc::new(Cell::new(0));
    let out = seen.clone();
    sim.spawn(h, "parent", |p| async move {
        let (r, w) = p.pipe()?;
        let f = p.open("/etc/motd", O_RDONLY)?;
        let table = p.fd_table();
        assert!(
            table.contains(&format!("lr-x------ 1 root root 64 {r} -> pipe:[")),
            "{table}"
        );
        assert!(
            table.contains(&format!("l-wx------ 1 root root 64 {w} -> pipe:[")),
            "{table}"
        );
        assert!(
            table.contains(&format!("lr-x------ 1 root root 64 {f} -> /etc/motd")),
            "{table}"
        );
        p.fork("child", move |c| async move {
            out.set(c.open_fds());
            let mut buf = [0u8; 8];
            assert_eq!(c.read(f, &mut buf).await?, 3, "the open file is shared");
            assert_eq!(c.write(w, b"from the child").await?, 14);
            Ok(())
        })?;
        // The child runs while the parent sleeps here; end of file comes
        // when it exits, closing its copy of the write end.
        p.close(w)?;
        assert_eq!(read_to_end(&p, r, 64).await?, b"from the child");
        let mut buf = [0u8; 8];
        assert_eq!(
            p.read(f, &mut buf).await?,
            0,
            "the child's read moved the shared f_pos"
        );
        Ok(())
    });
    run_ok(sim);
    assert_eq!(
        seen.get(),
        6,
        "stdin, stdout, stderr, both pipe ends and the file"
    );
}

#[test]
fn socket_calls_on_a_pipe_and_splice_to_udp() {
    let got = run_sim(|p| async move {
        let f = p.open("/f", O_RDWR | O_CREAT)?;
        p.write(f, b"abc").await?;
        let (r, w) = p.pipe()?;
        let u = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        let mut b = [0u8; 4];
        Ok(vec![
            sim(p.send(w, b"x", 0).await),
            sim(p.recv(r, &mut b, 0).await),
            sim(p.splice(f, Some(&mut 0), w, None, 3, 0).await),
            sim(p.splice(r, None, u, None, 3, 0).await),
        ])
    });
    assert_eq!(
        got,
        vec![
            Err("ENOTSOCK"),
            Err("ENOTSOCK"),
            Ok(3),
            // Splicing into a UDP socket is not modelled (Linux copies).
            Err("EINVAL"),
        ]
    );
}

#[test]
fn epoll_sees_a_pipe_fill_and_its_writer_go() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "watcher", |p| async move {
        let (r, w) = p.pipe()?;
        let ep = p.epoll_create1(0)?;
        let watch = |fd: i32| {
            Some(EpollEvent {
                events: EPOLLIN,
                data: fd as u64,
            })
        };
        p.epoll_ctl(ep, EPOLL_CTL_ADD, r, watch(r))?;
        p.fork("writer", move |c| async move {
            c.close(r)?;
            c.sleep(ms(2)).await;
            c.write(w, b"hello").await?;
            c.sleep(ms(2)).await;
            c.close(w)
        })?;
        p.close(w)?;
        let events = p.epoll_wait(ep, 8, -1).await?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].events, EPOLLIN, "data, woken at {}", p.now());
        assert_eq!(p.now(), ms(2));
        let mut buf = [0u8; 8];
        assert_eq!(p.read(r, &mut buf).await?, 5);
        let events = p.epoll_wait(ep, 8, -1).await?;
        assert_eq!(events[0].events, EPOLLHUP, "the last writer is gone");
        assert_eq!(p.now(), ms(4));
        // Regular files cannot be watched.
        let f = p.open("/f", O_CREAT | O_RDWR)?;
        assert_eq!(
            p.epoll_ctl(ep, EPOLL_CTL_ADD, f, watch(f)),
            Err(Errno::EPERM)
        );
        Ok(())
    });
    run_ok(sim);
}

#[test]
fn vmsplice_lends_the_pages_so_a_later_store_is_what_the_reader_gets() {
    run_sim(|p| async move {
        let (r, w) = p.pipe()?;
        let buf = UserBuf::from_bytes(b"hello, world");
        assert_eq!(buf.page_count(0), Some(1));
        assert_eq!(p.vmsplice(w, &[(&buf).into()], 0).await?, 12);
        assert_eq!(
            buf.page_count(0),
            Some(2),
            "the pipe buffer holds the user's page"
        );
        // The process changes its memory before the reader reads.
        buf.write(0, b"HELLO");
        let mut out = [0u8; 12];
        assert_eq!(p.read(r, &mut out).await?, 12);
        assert_eq!(&out, b"HELLO, world", "the pipe had no copy of its own");
        assert_eq!(buf.page_count(0), Some(1));
        let c = p.process_costs();
        assert_eq!(c.copied_from_user, 0, "vmsplice copied nothing in");
        assert_eq!(c.copied_to_user, 12, "read() copied out");
        assert_eq!(c.pages_referenced, 1);
        Ok(())
    });
}

/// Serves `/srv/file` to a reader on the same host, with `sendfile()` or
/// with `read()`+`write()` through a 64 KiB buffer; returns the server's
/// own costs, and checks the reader got the file.
fn serve(data: &[u8], use_sendfile: bool) -> Costs {
    let (mut sim, h) = world_with_file(data);
    let expect = data.to_vec();
    let costs = Rc::new(Cell::new(Costs::default()));
    let out = costs.clone();
    sim.spawn(h, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        p.fork("client", move |c| async move {
            let s = c.socket(AF_INET, SOCK_STREAM, 0)?;
            c.connect(s, "127.0.0.1:8080").await?;
            let got = read_to_end(&c, s, 65_536).await?;
            assert!(got == expect, "the client got the file's bytes");
            Ok(())
        })?;
        let (s, _) = p.accept(l).await?;
        let before = p.process_costs();
        let f = p.open("/srv/file", O_RDONLY)?;
        let size = p.fstat(f)?.st_size as usize;
        if use_sendfile {
            let mut sent = 0;
            while sent < size {
                sent += p.sendfile(s, f, None, size - sent).await?;
            }
        } else {
            let mut buf = vec![0u8; 65_536];
            loop {
                let n = p.read(f, &mut buf).await?;
                if n == 0 {
                    break;
                }
                p.write(s, &buf[..n]).await?;
            }
        }
        out.set(p.process_costs().since(&before));
        p.close(s)?;
        p.close(f)
    });
    run_ok(sim);
    costs.get()
}

#[test]
fn sendfile_copies_nothing_where_read_and_write_copy_everything_twice() {
    let data = pattern(100_000);
    let rw = serve(&data, false);
    let sf = serve(&data, true);
    assert_eq!((rw.copied_to_user, rw.copied_from_user), (100_000, 100_000));
    assert_eq!(rw.pages_referenced, 0);
    assert_eq!(
        (sf.copied_to_user, sf.copied_from_user, sf.copied_in_kernel),
        (0, 0, 0)
    );
    // 25 pages (24 full and one of 1696 bytes), each referenced once by
    // sendfile's pipe and once by a segment of the socket's write queue.
    assert_eq!(sf.pages_referenced, 2 * 25);
    // open, fstat, sendfile, against open, fstat, 3 reads, 2 writes.
    assert_eq!((sf.syscalls, rw.syscalls), (3, 7));
}

#[test]
fn a_nonblocking_sendfile_stops_short_and_a_blocking_one_waits_for_room() {
    const SIZE: usize = 4 << 20;
    let (mut sim, h) = world_with_file(&pattern(SIZE));
    sim.spawn(h, "server", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        p.fork("client", |c| async move {
            let s = c.socket(AF_INET, SOCK_STREAM, 0)?;
            c.connect(s, "127.0.0.1:8080").await?;
            c.sleep(ms(10)).await;
            assert_eq!(read_to_end(&c, s, 1 << 20).await?.len(), SIZE);
            Ok(())
        })?;
        let (s, _) = p.accept(l).await?;
        let f = p.open("/srv/file", O_RDONLY)?;
        // The client reads nothing for 10 ms: the send buffer and the
        // client's window take part of the file, then nothing more.
        p.fcntl(s, F_SETFL, O_NONBLOCK)?;
        let mut off = 0u64;
        let first = p.sendfile(s, f, Some(&mut off), SIZE).await?;
        assert!(first > 0 && first < SIZE, "a short count: {first}");
        assert_eq!(off, first as u64, "the offset stops after what was sent");
        assert_eq!(
            p.sendfile(s, f, Some(&mut off), SIZE).await,
            Err(Errno::EAGAIN)
        );
        assert_eq!(
            p.lseek(f, 0, SEEK_CUR)?,
            0,
            "f_pos untouched when an offset is given"
        );
        // Blocking: the rest goes, the call sleeping until the client reads.
        p.fcntl(s, F_SETFL, 0)?;
        assert_eq!(p.sendfile(s, f, Some(&mut off), SIZE).await?, SIZE - first);
        assert!(p.now() >= ms(10), "sendfile slept until the client read");
        p.close(s)
    });
    run_ok(sim);
}

#[test]
fn splice_from_an_empty_pipe_sleeps_until_the_writer_writes() {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    sim.spawn(h, "forwarder", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:9000")?;
        p.listen(l, 8)?;
        let (r, w) = p.pipe()?;
        p.fork("producer", move |c| async move {
            c.close(r)?;
            c.sleep(ms(4)).await;
            c.write(w, b"through the pipe").await?;
            c.close(w)
        })?;
        p.close(w)?;
        let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(s, "127.0.0.1:9000").await?;
        let (a, _) = p.accept(l).await?;
        assert_eq!(p.splice(r, None, s, None, 1000, 0).await?, 16);
        assert_eq!(p.now(), ms(4));
        assert_eq!(
            p.splice(r, None, s, None, 1000, 0).await?,
            0,
            "end of the pipe"
        );
        let mut buf = [0u8; 64];
        let n = p.read(a, &mut buf).await?;
        assert_eq!(&buf[..n], b"through the pipe");
        Ok(())
    });
    run_ok(sim);
}

/// Sends a 100000-byte file with `sendfile()` to a reader on another host
/// across a link with or without scatter-gather; the sender's costs.
fn sendfile_across_a_link(scatter_gather: bool) -> Costs {
    const SIZE: usize = 100_000;
    let mut sim = Sim::new(1);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    let cfg = LinkConfig::default().scatter_gather(scatter_gather);
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", cfg);
    sim.create_file(a, "/srv/file", &pattern(SIZE));
    sim.spawn(b, "reader", |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "0.0.0.0:80")?;
        p.listen(l, 1)?;
        let (s, _) = p.accept(l).await?;
        assert!(read_to_end(&p, s, 65_536).await? == pattern(SIZE));
        Ok(())
    });
    let costs = Rc::new(Cell::new(Costs::default()));
    let out = costs.clone();
    sim.spawn(a, "sender", move |p| async move {
        let s = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.connect(s, "10.0.0.2:80").await?;
        let f = p.open("/srv/file", O_RDONLY)?;
        let before = p.process_costs();
        let mut sent = 0;
        while sent < SIZE {
            sent += p.sendfile(s, f, None, SIZE - sent).await?;
        }
        out.set(p.process_costs().since(&before));
        p.close(s)
    });
    run_ok(sim);
    costs.get()
}

#[test]
fn without_scatter_gather_the_kernel_copies_what_sendfile_would_have_referenced() {
    let sg = sendfile_across_a_link(true);
    let linear = sendfile_across_a_link(false);
    // 25 pages: the pipe references them either way.
    assert_eq!((sg.copied_in_kernel, sg.copied_from_user), (0, 0));
    assert!(
        sg.pages_referenced > 2 * 25,
        "a page cut by segment boundaries is referenced by each"
    );
    assert_eq!(
        linear.copied_in_kernel, 100_000,
        "no gather: the pages are copied into the segments"
    );
    assert_eq!((linear.pages_referenced, linear.copied_from_user), (25, 0));
}
