//! Random programs on `AF_UNIX` sockets: two processes on one host make
//! any sequence of calls on stream, datagram and seqpacket sockets, bound
//! to a few shared names, and the kernel answers each with a value or an
//! errno, never a panic; once both have exited, no unix socket is left
//! (`/proc/net/unix` is empty) and no name is still bound.
//!
//! Every socket is non-blocking and every transfer uses `MSG_DONTWAIT`, so
//! both programs run to their end. Only the terminal's fds are passed with
//! `SCM_RIGHTS`: a socket passed over itself would stay open for ever,
//! since the simulation has no garbage collector for files in flight (as
//! the module documents).

use proptest::prelude::*;
use stack::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Socket(i32),
    Pair(i32),
    Bind(i32, usize),
    Connect(i32, usize),
    Listen(i32, i32),
    Accept(i32),
    SendTo(i32, usize, Option<usize>),
    SendFds(i32, usize, Vec<i32>),
    Recv(i32, i32),
    RecvFds(i32, usize),
    Close(i32),
    Shutdown(i32, i32),
    Unlink(usize),
    Ioctl(i32, i32),
    Names(i32),
    Poll(i32),
    Sleep(u64),
}

const NAMES: [&str; 4] = ["@a", "@b", "/run/a", "/run/b"];

fn fd() -> impl Strategy<Value = i32> {
    prop_oneof![4 => 3..10i32, 1 => any::<i32>()]
}

fn ty() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(SOCK_STREAM),
        Just(SOCK_DGRAM),
        Just(SOCK_SEQPACKET),
        any::<i32>()
    ]
    .prop_map(|t| t | SOCK_NONBLOCK)
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    let flags = prop_oneof![
        Just(MSG_DONTWAIT),
        Just(MSG_DONTWAIT | MSG_PEEK),
        Just(MSG_DONTWAIT | MSG_TRUNC),
        Just(MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
    ];
    prop_oneof![
        ty().prop_map(Op::Socket),
        ty().prop_map(Op::Pair),
        (fd(), name.clone()).prop_map(|(f, n)| Op::Bind(f, n)),
        (fd(), name.clone()).prop_map(|(f, n)| Op::Connect(f, n)),
        (fd(), -1..3i32).prop_map(|(f, b)| Op::Listen(f, b)),
        fd().prop_map(Op::Accept),
        (
            fd(),
            prop_oneof![0..100usize, Just(40_000usize), Just(212_961usize)],
            proptest::option::of(name.clone())
        )
            .prop_map(|(f, n, a)| Op::SendTo(f, n, a)),
        (
            fd(),
            0..10usize,
            proptest::collection::vec(prop_oneof![0..3i32, any::<i32>()], 0..4)
        )
            .prop_map(|(f, n, fds)| Op::SendFds(f, n, fds)),
        (fd(), flags).prop_map(|(f, fl)| Op::Recv(f, fl)),
        (fd(), 0..3usize).prop_map(|(f, r)| Op::RecvFds(f, r)),
        fd().prop_map(Op::Close),
        (fd(), -1..4i32).prop_map(|(f, h)| Op::Shutdown(f, h)),
        name.prop_map(Op::Unlink),
        (
            fd(),
            prop_oneof![Just(SIOCINQ), Just(SIOCOUTQ), any::<i32>()]
        )
            .prop_map(|(f, r)| Op::Ioctl(f, r)),
        fd().prop_map(Op::Names),
        fd().prop_map(Op::Poll),
        (0..3u64).prop_map(Op::Sleep),
    ]
}

/// Every result is acceptable here; only a panic or a hang is a failure.
fn any_result<T>(_: T) {}

async fn play(p: Process, ops: Vec<Op>) -> Result<(), Errno> {
    for op in ops {
        match op {
            Op::Socket(t) => any_result(p.socket(AF_UNIX, t, 0)),
            Op::Pair(t) => any_result(p.socketpair(AF_UNIX, t, 0)),
            Op::Bind(f, n) => any_result(p.bind(f, NAMES[n])),
            Op::Connect(f, n) => any_result(p.connect(f, NAMES[n]).await),
            Op::Listen(f, b) => any_result(p.listen(f, b)),
            Op::Accept(f) => any_result(p.accept(f).await),
            Op::SendTo(f, n, a) => {
                let buf = vec![1u8; n];
                any_result(match a {
                    Some(a) => p.sendto(f, &buf, MSG_DONTWAIT, NAMES[a]).await,
                    None => p.send(f, &buf, MSG_DONTWAIT).await,
                })
            }
            Op::SendFds(f, n, fds) => {
                // Only the terminal (fds 0 to 2) may travel; see above.
                let fds: Vec<i32> = fds.into_iter().filter(|&x| !(3..).contains(&x)).collect();
                any_result(p.send_fds(f, &vec![3u8; n], &fds, MSG_DONTWAIT).await)
            }
            Op::Recv(f, flags) => {
                let mut buf = [0u8; 64];
                any_result(p.recvfrom(f, &mut buf, flags).await)
            }
            Op::RecvFds(f, room) => {
                let mut buf = [0u8; 64];
                any_result(p.recv_fds(f, &mut buf, room, MSG_DONTWAIT).await)
            }
            Op::Close(f) => any_result(p.close(f)),
            Op::Shutdown(f, h) => any_result(p.shutdown(f, h)),
            Op::Unlink(n) => any_result(NAMES[n].strip_prefix('/').map(|_| p.unlink(NAMES[n]))),
            Op::Ioctl(f, r) => any_result(p.ioctl(f, r)),
            Op::Names(f) => {
                any_result(p.getsockname(f));
                any_result(p.getpeername(f));
                any_result(p.peercred(f));
            }
            Op::Poll(f) => {
                let mut fds = [PollFd::new(f, POLLIN | POLLOUT | POLLRDHUP)];
                any_result(p.poll(&mut fds, 0).await)
            }
            Op::Sleep(n) => p.sleep(ms(n)).await,
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_unix_programs_never_panic_and_leave_nothing_behind(
        a in proptest::collection::vec(op(), 0..50),
        b in proptest::collection::vec(op(), 0..50),
    ) {
        let mut sim = Sim::new(5);
        let h = sim.add_host("box");
        sim.set_tracing(false);
        sim.spawn(h, "a", move |p| play(p, a));
        sim.spawn(h, "b", move |p| play(p, b));
        let report = sim.run();
        prop_assert!(report.is_ok(), "{}", report);
        let proc = sim.sh(h, "cat /proc/net/unix");
        prop_assert_eq!(proc.lines().count(), 1, "unix sockets left open:\n{}", proc);
        prop_assert_eq!(sim.sh(h, "ss -xa").lines().count(), 1);
        // Abstract names went with their sockets: binding them works again.
        sim.spawn(h, "check", |p| async move {
            for name in ["@a", "@b"] {
                for ty in [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET] {
                    let s = p.socket(AF_UNIX, ty, 0)?;
                    p.bind(s, name)?;
                }
            }
            Ok(())
        });
        let report = sim.run();
        prop_assert!(report.is_ok(), "{}", report);
    }
}
