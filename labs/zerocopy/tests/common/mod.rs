//! What the tests share: pages and spliced buffers, plain-value views of
//! a ring, an error queue driven by your callback, and simulations that
//! run on your ring (or your callback) or on the stack's own.
#![allow(dead_code, unused_imports)]

// Checks in helpers are recorded too, so that the grader's judge compares
// their values with the reference's run.
#[allow(unused_imports)]
use lab_receipt::checks::{assert, assert_eq, assert_ne};

use std::cell::RefCell;
use std::rc::Rc;

pub use lab_zerocopy::*;
pub use stack::host::Costs;
pub use stack::prelude::*;

/// A page holding `bytes` from offset 0.
pub fn page_of(bytes: &[u8]) -> Page {
    let p = Page::alloc();
    p.write(0, bytes).expect("fits a page");
    p
}

/// A buffer as `splice()` from a file puts in a pipe: a new reference to
/// `page`, `len` bytes at `offset`.
pub fn spliced(page: &Page, offset: usize, len: usize) -> PipeBuffer {
    PipeBuffer::of_page(page.get_page(), offset, len, PipeBufOps::PageCache)
}

/// Bytes 0, 1, 2, ... (mod 251), `n` of them, starting at `from`.
pub fn pattern(from: usize, n: usize) -> Vec<u8> {
    (from..from + n).map(|i| (i % 251) as u8).collect()
}

/// The ring's buffers, oldest first, as (offset, len, flags).
pub fn layout(r: &PipeRing) -> Vec<(usize, usize, u32)> {
    (0..r.occupancy())
        .filter_map(|n| r.buf(n))
        .map(|b| (b.offset, b.len, b.flags))
        .collect()
}

/// The bytes the ring holds, oldest first, read through its buffers
/// (without consuming them).
pub fn held(r: &PipeRing) -> Vec<u8> {
    let mut out = Vec::new();
    for b in (0..r.occupancy()).filter_map(|n| r.buf(n)) {
        let mut bytes = vec![0u8; b.len];
        b.page.read(b.offset, &mut bytes).expect("in the page");
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads everything the ring holds with `read()`.
pub fn drain(r: &mut PipeRing) -> Vec<u8> {
    let mut out = vec![0u8; r.bytes() + 1];
    let n = r.read(&mut out);
    out.truncate(n);
    out
}

/// A notification as plain values: (ee_origin, ee_code, ee_info, ee_data).
pub fn ee(e: &SockExtendedErr) -> (u8, u8, u32, u32) {
    (e.ee_origin, e.ee_code, e.ee_info, e.ee_data)
}

/// A zero-copy notification for ids `lo..=hi`.
pub fn zc_note(lo: u32, hi: u32, copied: bool) -> SockExtendedErr {
    SockExtendedErr {
        ee_origin: SO_EE_ORIGIN_ZEROCOPY,
        ee_code: if copied {
            SO_EE_CODE_ZEROCOPY_COPIED
        } else {
            0
        },
        ee_info: lo,
        ee_data: hi,
        ..SockExtendedErr::default()
    }
}

/// A socket's error queue fed by your [`msg_zerocopy_callback`].
#[derive(Default)]
pub struct ErrQueue {
    pub q: Vec<SockExtendedErr>,
}

impl ErrQueue {
    /// The last reference to `done` went.
    pub fn complete(&mut self, done: &Ubuf) {
        if let Some(e) = msg_zerocopy_callback(self.q.last_mut(), done) {
            self.q.push(e);
        }
    }

    /// The queue as plain values.
    pub fn plain(&self) -> Vec<(u8, u8, u32, u32)> {
        self.q.iter().map(ee).collect()
    }
}

/// Whose ring (or notification callback) a simulation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    Stack,
    Yours,
}

/// A simulation with one host, on `whose` pipe ring.
pub fn sim_on(whose: Whose, seed: u64) -> (Sim, HostId) {
    let mut sim = Sim::new(seed);
    sim.set_tracing(false);
    if whose == Whose::Yours {
        plug_pipe_ring(&mut sim);
    }
    let h = sim.add_host("box");
    (sim, h)
}

/// What a scenario saw: the bytes that arrived, the return values of the
/// calls it made (an errno as its negative number), and the costs of the
/// process under test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub bytes: Vec<u8>,
    pub rets: Vec<i64>,
    pub costs: (u64, u64, u64, u64),
}

/// (copied_from_user, copied_to_user, copied_in_kernel, pages_referenced).
pub fn costs_of(c: &Costs) -> (u64, u64, u64, u64) {
    (
        c.copied_from_user,
        c.copied_to_user,
        c.copied_in_kernel,
        c.pages_referenced,
    )
}

/// A return value as a number.
pub fn ret(r: SysResult<usize>) -> i64 {
    match r {
        Ok(n) => n as i64,
        Err(e) => -(e as i64),
    }
}

/// A file of `size` bytes of [`pattern`] at `path`; a server on the same
/// host sends it to a client over TCP on loopback with `sendfile()` in
/// pieces of at most `count`. The client's bytes, the sendfile return
/// values, and the server's costs from opening the file on.
pub fn sendfile_scenario(whose: Whose, size: usize, count: usize) -> Seen {
    let (mut sim, h) = sim_on(whose, 3);
    sim.create_file(h, "/data", &pattern(0, size));
    let seen = Rc::new(RefCell::new(Seen::default()));
    let out = seen.clone();
    sim.spawn(h, "server", move |p| async move {
        let l = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(l, "127.0.0.1:8080")?;
        p.listen(l, 8)?;
        let client_seen = out.clone();
        p.fork("client", move |c| async move {
            let s = c.socket(AF_INET, SOCK_STREAM, 0)?;
            c.connect(s, "127.0.0.1:8080").await?;
            let mut buf = vec![0u8; 65536];
            loop {
                let n = c.read(s, &mut buf).await?;
                if n == 0 {
                    break;
                }
                client_seen.borrow_mut().bytes.extend_from_slice(&buf[..n]);
            }
            c.close(s)
        })?;
        let (s, _) = p.accept(l).await?;
        let before = p.process_costs();
        let f = p.open("/data", O_RDONLY)?;
        loop {
            let r = p.sendfile(s, f, None, count).await;
            out.borrow_mut().rets.push(ret(r));
            if !matches!(r, Ok(n) if n > 0) {
                break;
            }
        }
        out.borrow_mut().costs = costs_of(&p.process_costs().since(&before));
        p.close(s)
    });
    let report = sim.run();
    assert!(report.is_ok(), "{report}");
    seen.take()
}
