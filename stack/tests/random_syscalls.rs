//! Whatever a program does, the simulated kernel answers with a value or
//! an errno, never a panic; and when every process has exited, nothing is
//! left behind: no socket, no charged memory, no queued packet.

use proptest::prelude::*;
use stack::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Socket(i32, i32, i32),
    Bind(i32, u8, u16),
    Connect(i32, u8, u16),
    SendTo(i32, usize, u8, u16),
    Send(i32, usize),
    Recv(i32, i32),
    Close(i32),
    Shutdown(i32, i32),
    SetOpt(i32, i32, i32, i32),
    GetOpt(i32, i32, i32),
    Fcntl(i32, i32, i32),
    Names(i32),
    Sleep(u64),
}

fn fd() -> impl Strategy<Value = i32> {
    prop_oneof![3 => 0..8i32, 1 => any::<i32>()]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            prop_oneof![Just(AF_INET), Just(AF_INET6), Just(AF_UNIX), any::<i32>()],
            prop_oneof![
                Just(SOCK_DGRAM),
                Just(SOCK_DGRAM | SOCK_NONBLOCK),
                Just(SOCK_STREAM),
                any::<i32>()
            ],
            prop_oneof![Just(0), Just(17), any::<i32>()]
        )
            .prop_map(|(d, t, p)| Op::Socket(d, t, p)),
        (fd(), 0..5u8, prop_oneof![Just(0u16), 9000..9003u16])
            .prop_map(|(f, a, p)| Op::Bind(f, a, p)),
        (fd(), 0..5u8, prop_oneof![Just(0u16), 9000..9003u16])
            .prop_map(|(f, a, p)| Op::Connect(f, a, p)),
        (
            fd(),
            prop_oneof![0..100usize, Just(65507usize), Just(65508usize)],
            0..5u8,
            prop_oneof![Just(0u16), 9000..9003u16]
        )
            .prop_map(|(f, n, a, p)| Op::SendTo(f, n, a, p)),
        (fd(), 0..3000usize).prop_map(|(f, n)| Op::Send(f, n)),
        (
            fd(),
            prop_oneof![
                Just(MSG_DONTWAIT),
                Just(MSG_DONTWAIT | MSG_PEEK),
                Just(MSG_DONTWAIT | MSG_TRUNC)
            ]
        )
            .prop_map(|(f, fl)| Op::Recv(f, fl)),
        fd().prop_map(Op::Close),
        (fd(), -1..4i32).prop_map(|(f, h)| Op::Shutdown(f, h)),
        (
            fd(),
            prop_oneof![Just(SOL_SOCKET), any::<i32>()],
            prop_oneof![
                Just(SO_RCVBUF),
                Just(SO_SNDBUF),
                Just(SO_REUSEADDR),
                any::<i32>()
            ],
            any::<i32>()
        )
            .prop_map(|(f, l, o, v)| Op::SetOpt(f, l, o, v)),
        (
            fd(),
            prop_oneof![Just(SOL_SOCKET), any::<i32>()],
            prop_oneof![Just(SO_ERROR), Just(SO_TYPE), Just(SO_RCVBUF), any::<i32>()]
        )
            .prop_map(|(f, l, o)| Op::GetOpt(f, l, o)),
        (
            fd(),
            prop_oneof![
                Just(F_GETFL),
                Just(F_SETFL),
                Just(F_GETFD),
                Just(F_SETFD),
                any::<i32>()
            ],
            any::<i32>()
        )
            .prop_map(|(f, c, a)| Op::Fcntl(f, c, a)),
        fd().prop_map(Op::Names),
        (0..3u64).prop_map(Op::Sleep),
    ]
}

fn addr(which: u8, port: u16) -> String {
    match which {
        0 => format!("127.0.0.1:{port}"),
        1 => format!("0.0.0.0:{port}"),
        2 => format!("10.0.0.2:{port}"),
        3 => format!("[::1]:{port}"),
        _ => format!("192.0.2.9:{port}"),
    }
}

/// Every result is acceptable here; only a panic or a hang is a failure.
fn any_result<T>(_: T) {}

async fn play(p: Process, ops: Vec<Op>) -> Result<(), Errno> {
    for op in ops {
        match op {
            Op::Socket(d, t, pr) => any_result(p.socket(d, t, pr)),
            Op::Bind(f, a, port) => any_result(p.bind(f, addr(a, port))),
            Op::Connect(f, a, port) => any_result(p.connect(f, addr(a, port)).await),
            Op::SendTo(f, n, a, port) => any_result(
                p.sendto(f, &vec![1u8; n], MSG_DONTWAIT, addr(a, port))
                    .await,
            ),
            Op::Send(f, n) => any_result(p.send(f, &vec![2u8; n], MSG_DONTWAIT).await),
            Op::Recv(f, flags) => {
                let mut buf = [0u8; 64];
                any_result(p.recvfrom(f, &mut buf, flags).await)
            }
            Op::Close(f) => any_result(p.close(f)),
            Op::Shutdown(f, h) => any_result(p.shutdown(f, h)),
            Op::SetOpt(f, l, o, v) => any_result(p.setsockopt(f, l, o, v)),
            Op::GetOpt(f, l, o) => any_result(p.getsockopt(f, l, o)),
            Op::Fcntl(f, c, a) => any_result(p.fcntl(f, c, a)),
            Op::Names(f) => {
                any_result(p.getsockname(f));
                any_result(p.getpeername(f));
            }
            Op::Sleep(n) => p.sleep(ms(n)).await,
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_never_panic_and_leave_nothing_behind(
        a in proptest::collection::vec(op(), 0..40),
        b in proptest::collection::vec(op(), 0..40),
    ) {
        let mut sim = Sim::new(3);
        let h1 = sim.add_host("h1");
        let h2 = sim.add_host("h2");
        sim.add_link(h1, "10.0.0.1/24", h2, "10.0.0.2/24", LinkConfig::default().loss(0.1));
        sim.set_tracing(false);
        sim.spawn(h1, "a", move |p| play(p, a));
        sim.spawn(h2, "b", move |p| play(p, b));
        let report = sim.run();
        // Every call is non-blocking or bounded, so both finish.
        prop_assert!(report.is_ok(), "{}", report);
        for h in [h1, h2] {
            let udp = sim.sh(h, "cat /proc/net/udp") + &sim.sh(h, "cat /proc/net/udp6");
            prop_assert_eq!(udp.lines().count(), 2, "sockets left open:\n{}", udp);
            prop_assert!(sim.sh(h, "ss -uan").lines().count() == 1);
        }
    }
}
