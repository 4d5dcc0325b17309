//! Page references through the zero-copy paths: a page-cache page put in
//! a pipe by `splice()`, then handed to TCP, must be the very same page
//! everywhere, its count rising with each holder and falling as each lets
//! go; and the costs must show no byte was copied.

use crate::fs::file::FileKind;
use crate::kernel::syscalls::Process;
use crate::net::core::skbuff::Page;
use crate::prelude::*;

/// The file's page-cache page at `index`, read without taking a reference.
fn cache_count(p: &Process, fd: i32, index: u64) -> usize {
    p.kernel(|w| {
        let (_, r) = w.regular_file(p.pid, fd).expect("a regular file");
        let inode = w.file_inode(&r).expect("inode");
        inode
            .mapping
            .find_get_page(index)
            .map_or(0, Page::page_count)
    })
}

/// Whether `f(page)` holds for the page-cache page at `index`.
fn with_cache_page<T>(
    p: &Process,
    fd: i32,
    index: u64,
    f: impl FnOnce(&crate::kernel::world::World, &Page) -> T,
) -> T {
    p.kernel(|w| {
        let (_, r) = w.regular_file(p.pid, fd).expect("a regular file");
        let page = w
            .file_inode(&r)
            .and_then(|i| i.mapping.find_get_page(index))
            .expect("cached page");
        f(w, page)
    })
}

async fn pair(p: &Process) -> SysResult<(i32, i32)> {
    let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.bind(l, "127.0.0.1:0")?;
    p.listen(l, 8)?;
    let to = p.getsockname(l)?;
    let c = p.socket(AF_INET, SOCK_STREAM, 0)?;
    p.connect(c, to).await?;
    let (a, _) = p.accept(l).await?;
    p.close(l)?;
    Ok((c, a))
}

fn one_host(body: impl AsyncFnOnce(Process) -> SysResult<()> + 'static) {
    let mut sim = Sim::new(1);
    let h = sim.add_host("box");
    let data: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 253) as u8).collect();
    sim.create_file(h, "/f", &data);
    sim.spawn(h, "p", |p| async move { body(p).await });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_page_cache_page_goes_to_a_pipe_then_to_an_skb_as_the_same_page() {
    one_host(async |p: Process| {
        let f = p.open("/f", O_RDONLY)?;
        let (r, w) = p.pipe()?;
        let (c, a) = pair(&p).await?;
        assert_eq!(cache_count(&p, f, 0), 1, "only the page cache holds it");

        assert_eq!(p.splice(f, None, w, None, 4096, 0).await?, 4096);
        assert_eq!(cache_count(&p, f, 0), 2, "the cache and the pipe buffer");
        let in_pipe = with_cache_page(&p, f, 0, |world, page| {
            let file = world.task(p.pid).files.get(r).expect("fd");
            let FileKind::Pipe(id) = world.files[&file].kind else {
                panic!("a pipe")
            };
            crate::fs::pipe_ring::bufs(world.pipe(id).ring.as_ref()).any(|b| b.page.same_page(page))
        });
        assert!(in_pipe, "the pipe buffer points at the cache's own page");

        assert_eq!(p.splice(r, None, c, None, 4096, 0).await?, 4096);
        let (in_skb, unacked) = with_cache_page(&p, f, 0, |world, page| {
            let (_, sk) = world.sockfd_lookup(p.pid, a).expect("socket");
            let (_, csk) = world.sockfd_lookup(p.pid, c).expect("socket");
            let q = &world.sk(sk).receive_queue;
            let queued = (0..q.qlen())
                .filter_map(|n| q.get(n))
                .any(|skb| skb.frags().iter().any(|fr| fr.page().same_page(page)));
            (queued, world.tp(csk).write_queue.len())
        });
        assert!(
            in_skb,
            "the receiver's skb holds the same page (loopback shares the frags)"
        );
        assert_eq!(
            unacked, 0,
            "the sender's segment was acknowledged and freed"
        );
        assert_eq!(
            cache_count(&p, f, 0),
            2,
            "the cache and the receiver's skb; the pipe let go"
        );

        let mut buf = vec![0u8; 4096];
        assert_eq!(p.read(a, &mut buf).await?, 4096);
        assert_eq!(buf[..4], [0, 1, 2, 3]);
        assert_eq!(
            cache_count(&p, f, 0),
            1,
            "read() copied out and freed the skb"
        );

        let costs = p.process_costs();
        assert_eq!(costs.copied_from_user, 0);
        assert_eq!(costs.copied_to_user, 4096, "only the final read() copied");
        assert_eq!(
            costs.pages_referenced, 2,
            "one reference for the pipe buffer, one for the skb fragment"
        );
        Ok(())
    });
}

#[test]
fn a_page_is_freed_with_its_last_holder() {
    one_host(async |p: Process| {
        let f = p.open("/f", O_RDONLY)?;
        let (r, w) = p.pipe()?;
        assert_eq!(p.splice(f, None, w, None, 100, 0).await?, 100);
        // Keep a reference of our own to watch the count.
        let held = with_cache_page(&p, f, 0, |_, page| page.get_page());
        assert_eq!(held.page_count(), 3, "cache, pipe buffer, us");
        // O_TRUNC drops the file's pages from the cache; the pipe keeps its.
        p.open("/f", O_WRONLY | O_TRUNC)?;
        assert_eq!(held.page_count(), 2, "pipe buffer, us");
        p.close(r)?;
        assert_eq!(held.page_count(), 2, "the write end still holds the pipe");
        p.close(w)?;
        assert_eq!(held.page_count(), 1, "freeing the pipe put its page");
        Ok(())
    });
}

#[test]
fn pipe_poll_reports_data_room_hangup_and_error() {
    one_host(async |p: Process| {
        let (r, w) = p.pipe2(O_NONBLOCK)?;
        let mask = |fd: i32| {
            p.kernel(|world| {
                let file = world.task(p.pid).files.get(fd).expect("fd");
                world.file_poll_mask(file)
            })
        };
        assert_eq!(mask(r), 0, "empty: nothing to read");
        assert_eq!(mask(w), EPOLLOUT | EPOLLWRNORM);
        p.write(w, b"x").await?;
        assert_eq!(mask(r), EPOLLIN | EPOLLRDNORM);
        p.write(w, &vec![0u8; 70_000]).await?;
        assert_eq!(mask(w), 0, "full: no room");
        p.close(w)?;
        assert_eq!(
            mask(r),
            EPOLLIN | EPOLLRDNORM | EPOLLHUP,
            "data, and no writer"
        );
        let (r2, w2) = p.pipe()?;
        p.close(r2)?;
        assert_eq!(
            mask(w2),
            EPOLLOUT | EPOLLWRNORM | EPOLLERR,
            "room, but no reader"
        );
        let (rq, wq) = p.kernel(|world| {
            let obj = |fd| world.file_wait_obj(world.task(p.pid).files.get(fd).expect("fd"));
            (obj(r), obj(w2))
        });
        assert!(
            matches!(
                rq,
                Some(crate::kernel::wait::WaitObj::Pipe(
                    _,
                    crate::fs::pipe::PipeWq::Rd
                ))
            ),
            "a read end's poller waits on rd_wait"
        );
        assert!(matches!(
            wq,
            Some(crate::kernel::wait::WaitObj::Pipe(
                _,
                crate::fs::pipe::PipeWq::Wr
            ))
        ));
        Ok(())
    });
}
