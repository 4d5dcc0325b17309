//! Misuse of the API and malformed input: the simulation must answer with
//! the errno Linux gives, or drop the frame and count it where Linux counts
//! it, and never panic.
//!
//! Part 1 is a table of misuse sequences. Each runs in the simulation, and
//! where it can be done safely also on this machine's kernel, so the
//! expected errno is checked against the real thing: with `std`, `socket2`
//! or `nix` where they can make the call, otherwise with a Python one-liner
//! (for raw values the safe Rust bindings cannot express, such as
//! `shutdown(fd, 7)` or `fcntl(fd, 9999)`; skipped if `python3` is missing).
//!
//! Part 2 injects malformed frames into a host's NIC and compares every
//! counter against a run without the frame: the difference must be exactly
//! what the kernel counts for such a frame, and a well-formed datagram sent
//! afterwards must still arrive.
//!
//! A test marked `#[ignore = "sim differs: ..."]` asserts the kernel's
//! behaviour where the simulation does not match it yet.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::process::Command;
use std::rc::Rc;

use nix::sys::socket::{MsgFlags, SockaddrIn};
use proptest::prelude::*;
use socket2::{Domain, Protocol, Socket, Type};
use stack::prelude::*;
use stack::wire::arp::{ARPOP_REQUEST, ArpHdr};
use stack::wire::ethernet::{ETH_P_ARP, ETH_P_IP, ETH_ZLEN, EthHdr, MacAddr};
use stack::wire::ipv4::{IPPROTO_UDP as IP_UDP, Ipv4Hdr};
use stack::wire::udp::{UdpHdr, fill_checksum_v4};

// =================================================================== part 1

/// A misuse sequence in the simulation: setup steps that must succeed, then
/// the call under test, whose result is returned.
type SimSeq = fn(Process) -> Pin<Box<dyn Future<Output = SysResult<()>>>>;

/// How the expectation is checked on this machine's kernel.
enum Real {
    /// The same sequence through `std`/`socket2`/`nix`: the errno number.
    Rust(fn() -> Result<(), i32>),
    /// A Python statement run with `s` an `AF_INET`/`SOCK_DGRAM` socket and
    /// the `socket`, `fcntl` modules imported.
    Python(&'static str),
    /// Not checkable here, and why.
    SimOnly(&'static str),
}

struct Misuse {
    name: &'static str,
    expected: Errno,
    sim: SimSeq,
    real: Real,
}

/// A setup step that must work; its failure is a broken test, not a result.
fn setup<T>(r: SysResult<T>) -> T {
    r.unwrap_or_else(|e| panic!("setup step failed: {e}"))
}

fn raw_errno(e: io::Error) -> i32 {
    e.raw_os_error().expect("an OS error")
}

fn nix_errno(e: nix::errno::Errno) -> i32 {
    e as i32
}

fn udp4() -> Socket {
    Socket::new(Domain::IPV4, Type::DGRAM, None).expect("socket")
}

fn addr(s: &str) -> socket2::SockAddr {
    socket2::SockAddr::from(s.parse::<SocketAddr>().unwrap())
}

fn sin(ip: [u8; 4], port: u16) -> SockaddrIn {
    SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

/// A file that is not a socket, standing in for the simulation's terminal.
fn not_a_socket() -> File {
    File::open("/dev/null").expect("/dev/null")
}

/// An fd number that is certainly not open in this process.
const UNUSED_FD: i32 = 999;

fn unused_fd() -> i32 {
    assert!(
        !std::path::Path::new(&format!("/proc/self/fd/{UNUSED_FD}")).exists(),
        "fd {UNUSED_FD} is open in the test process"
    );
    UNUSED_FD
}

/// The misuse table.
fn table() -> Vec<Misuse> {
    use Errno::*;
    vec![
        // ------------------------------------------------------------ fds
        Misuse {
            name: "close(-1)",
            expected: EBADF,
            sim: |p| Box::pin(async move { p.close(-1) }),
            real: Real::Rust(|| nix::unistd::close(-1).map_err(nix_errno)),
        },
        Misuse {
            name: "close(999)",
            expected: EBADF,
            sim: |p| Box::pin(async move { p.close(999) }),
            real: Real::Rust(|| nix::unistd::close(unused_fd()).map_err(nix_errno)),
        },
        Misuse {
            name: "close twice",
            expected: EBADF,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    setup(p.close(fd));
                    p.close(fd)
                })
            },
            real: Real::Rust(|| {
                let fd = udp4().into_raw_fd();
                nix::unistd::close(fd).expect("first close");
                nix::unistd::close(fd).map_err(nix_errno)
            }),
        },
        Misuse {
            name: "recv on a closed fd",
            expected: EBADF,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    setup(p.close(fd));
                    p.recv(fd, &mut [0; 8], MSG_DONTWAIT).await.map(drop)
                })
            },
            real: Real::Rust(|| {
                nix::sys::socket::recv(unused_fd(), &mut [0; 8], MsgFlags::MSG_DONTWAIT)
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "sendto on fd 999",
            expected: EBADF,
            sim: |p| Box::pin(async move { p.sendto(999, b"x", 0, "127.0.0.1:9").await.map(drop) }),
            real: Real::Rust(|| {
                nix::sys::socket::sendto(
                    unused_fd(),
                    b"x",
                    &sin([127, 0, 0, 1], 9),
                    MsgFlags::empty(),
                )
                .map(drop)
                .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "fcntl(F_GETFL) on fd 999",
            expected: EBADF,
            sim: |p| Box::pin(async move { p.fcntl(999, F_GETFL, 0).map(drop) }),
            real: Real::Python("fcntl.fcntl(999, fcntl.F_GETFL)"),
        },
        Misuse {
            name: "getsockname on fd 999",
            expected: EBADF,
            sim: |p| Box::pin(async move { p.getsockname(999).map(drop) }),
            real: Real::Rust(|| {
                nix::sys::socket::getsockname::<SockaddrIn>(unused_fd())
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "EMFILE with RLIMIT_NOFILE 0",
            expected: EMFILE,
            sim: |p| {
                Box::pin(async move {
                    p.set_nofile_limit(0);
                    p.socket(AF_INET, SOCK_DGRAM, 0).map(drop)
                })
            },
            real: Real::SimOnly(
                "covered against the kernel by differential_udp::emfile_when_rlimit_nofile_is_reached",
            ),
        },
        // ------------------------------------------------------------ not a socket
        Misuse {
            name: "recv on fd 0 (not a socket)",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.recv(0, &mut [0; 8], 0).await.map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::recv(f.as_raw_fd(), &mut [0; 8], MsgFlags::MSG_DONTWAIT)
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "send on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.send(0, b"x", 0).await.map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::send(f.as_raw_fd(), b"x", MsgFlags::empty())
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "sendto on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.sendto(0, b"x", 0, "127.0.0.1:9").await.map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::sendto(
                    f.as_raw_fd(),
                    b"x",
                    &sin([127, 0, 0, 1], 9),
                    MsgFlags::empty(),
                )
                .map(drop)
                .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "bind on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.bind(0, "127.0.0.1:0") }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::bind(f.as_raw_fd(), &sin([127, 0, 0, 1], 0)).map_err(nix_errno)
            }),
        },
        Misuse {
            name: "connect on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.connect(0, "127.0.0.1:9").await }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::connect(f.as_raw_fd(), &sin([127, 0, 0, 1], 9)).map_err(nix_errno)
            }),
        },
        Misuse {
            name: "setsockopt on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.setsockopt(0, SOL_SOCKET, SO_REUSEADDR, 1) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::setsockopt(&f, nix::sys::socket::sockopt::ReuseAddr, &true)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "getsockopt on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.getsockopt(0, SOL_SOCKET, SO_TYPE).map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::getsockopt(&f, nix::sys::socket::sockopt::SockType)
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "getsockname on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.getsockname(0).map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::getsockname::<SockaddrIn>(f.as_raw_fd())
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "getpeername on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.getpeername(0).map(drop) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::getpeername::<SockaddrIn>(f.as_raw_fd())
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "shutdown on fd 0",
            expected: ENOTSOCK,
            sim: |p| Box::pin(async move { p.shutdown(0, SHUT_RDWR) }),
            real: Real::Rust(|| {
                let f = not_a_socket();
                nix::sys::socket::shutdown(f.as_raw_fd(), nix::sys::socket::Shutdown::Both)
                    .map_err(nix_errno)
            }),
        },
        // ------------------------------------------------------------ socket()
        Misuse {
            name: "socket(99, SOCK_DGRAM, 0)",
            expected: EAFNOSUPPORT,
            sim: |p| Box::pin(async move { p.socket(99, SOCK_DGRAM, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::from(99), Type::DGRAM, None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(-1, SOCK_DGRAM, 0)",
            expected: EAFNOSUPPORT,
            sim: |p| Box::pin(async move { p.socket(-1, SOCK_DGRAM, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::from(-1), Type::DGRAM, None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, 99, 0)",
            expected: EINVAL,
            sim: |p| Box::pin(async move { p.socket(AF_INET, 99, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::from(99), None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, SOCK_MAX, 0)",
            expected: EINVAL,
            sim: |p| Box::pin(async move { p.socket(AF_INET, 11, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::from(11), None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, SOCK_DGRAM | 0x100, 0): unknown flag",
            expected: EINVAL,
            sim: |p| Box::pin(async move { p.socket(AF_INET, SOCK_DGRAM | 0x100, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::from(2 | 0x100), None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)",
            expected: EPROTONOSUPPORT,
            sim: |p| Box::pin(async move { p.socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::TCP))
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, SOCK_DGRAM, 99)",
            expected: EPROTONOSUPPORT,
            sim: |p| Box::pin(async move { p.socket(AF_INET, SOCK_DGRAM, 99).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::from(99)))
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "socket(AF_INET, SOCK_SEQPACKET, 0)",
            expected: ESOCKTNOSUPPORT,
            sim: |p| Box::pin(async move { p.socket(AF_INET, SOCK_SEQPACKET, 0).map(drop) }),
            real: Real::Rust(|| {
                Socket::new(Domain::IPV4, Type::SEQPACKET, None)
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        // ------------------------------------------------------------ bind()
        Misuse {
            name: "bind twice",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    setup(p.bind(fd, "127.0.0.1:0"));
                    p.bind(fd, "127.0.0.1:0")
                })
            },
            real: Real::Rust(|| {
                let s = udp4();
                s.bind(&addr("127.0.0.1:0")).expect("first bind");
                s.bind(&addr("127.0.0.1:0")).map_err(raw_errno)
            }),
        },
        Misuse {
            name: "bind to 10.9.9.9, not an address of the host",
            expected: EADDRNOTAVAIL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.bind(fd, "10.9.9.9:0")
                })
            },
            real: Real::Rust(|| {
                let nonlocal = std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind");
                assert_eq!(
                    nonlocal.unwrap_or_default().trim(),
                    "0",
                    "ip_nonlocal_bind is on"
                );
                udp4().bind(&addr("10.9.9.9:0")).map_err(raw_errno)
            }),
        },
        Misuse {
            name: "bind an AF_INET socket to an IPv6 address",
            expected: EAFNOSUPPORT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.bind(fd, "[::1]:0")
                })
            },
            real: Real::Rust(|| udp4().bind(&addr("[::1]:0")).map_err(raw_errno)),
        },
        Misuse {
            name: "bind an AF_INET6 socket to an IPv4 address",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET6, SOCK_DGRAM, 0));
                    p.bind(fd, "127.0.0.1:0")
                })
            },
            real: Real::Rust(|| {
                Socket::new(Domain::IPV6, Type::DGRAM, None)
                    .expect("AF_INET6 socket")
                    .bind(&addr("127.0.0.1:0"))
                    .map_err(raw_errno)
            }),
        },
        // ------------------------------------------------------------ connect(), send()
        Misuse {
            name: "connect an AF_INET socket to an IPv6 address",
            expected: EAFNOSUPPORT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.connect(fd, "[::1]:9").await
                })
            },
            real: Real::Rust(|| udp4().connect(&addr("[::1]:9")).map_err(raw_errno)),
        },
        Misuse {
            name: "send on an unconnected UDP socket",
            expected: EDESTADDRREQ,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.send(fd, b"x", 0).await.map(drop)
                })
            },
            real: Real::Rust(|| udp4().send(b"x").map(drop).map_err(raw_errno)),
        },
        Misuse {
            name: "write on an unconnected UDP socket",
            expected: EDESTADDRREQ,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.write(fd, b"x").await.map(drop)
                })
            },
            real: Real::Rust(|| {
                nix::unistd::write(udp4(), b"x")
                    .map(drop)
                    .map_err(nix_errno)
            }),
        },
        Misuse {
            name: "sendto port 0",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.sendto(fd, b"x", 0, "127.0.0.1:0").await.map(drop)
                })
            },
            real: Real::Rust(|| {
                udp4()
                    .send_to(b"x", &addr("127.0.0.1:0"))
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "sendto of 65508 bytes",
            expected: EMSGSIZE,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.sendto(fd, &[0; 65508], 0, "127.0.0.1:9").await.map(drop)
                })
            },
            real: Real::Rust(|| {
                udp4()
                    .send_to(&[0; 65508], &addr("127.0.0.1:9"))
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "sendto an IPv6 address from an AF_INET socket",
            expected: EAFNOSUPPORT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.sendto(fd, b"x", 0, "[::1]:9").await.map(drop)
                })
            },
            real: Real::Rust(|| {
                udp4()
                    .send_to(b"x", &addr("[::1]:9"))
                    .map(drop)
                    .map_err(raw_errno)
            }),
        },
        Misuse {
            name: "sendto an unreachable network (only loopback, no route)",
            expected: ENETUNREACH,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.sendto(fd, b"x", 0, "192.0.2.1:9").await.map(drop)
                })
            },
            real: Real::SimOnly(
                "this machine has a default route, so no destination is unroutable",
            ),
        },
        Misuse {
            name: "connect to an unreachable network",
            expected: ENETUNREACH,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.connect(fd, "192.0.2.1:9").await
                })
            },
            real: Real::SimOnly(
                "this machine has a default route, so no destination is unroutable",
            ),
        },
        // ------------------------------------------------------------ options, fcntl, shutdown
        Misuse {
            name: "setsockopt(SOL_SOCKET, 9999): unknown option",
            expected: ENOPROTOOPT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.setsockopt(fd, SOL_SOCKET, 9999, 1)
                })
            },
            real: Real::Python("s.setsockopt(socket.SOL_SOCKET, 9999, 1)"),
        },
        Misuse {
            name: "setsockopt(SOL_SOCKET, SO_TYPE): read-only option",
            expected: ENOPROTOOPT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.setsockopt(fd, SOL_SOCKET, SO_TYPE, 1)
                })
            },
            real: Real::Python("s.setsockopt(socket.SOL_SOCKET, socket.SO_TYPE, 1)"),
        },
        Misuse {
            name: "setsockopt at level 12345",
            expected: ENOPROTOOPT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.setsockopt(fd, 12345, 1, 1)
                })
            },
            real: Real::Python("s.setsockopt(12345, 1, 1)"),
        },
        Misuse {
            name: "getsockopt(SOL_SOCKET, 9999): unknown option",
            expected: ENOPROTOOPT,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.getsockopt(fd, SOL_SOCKET, 9999).map(drop)
                })
            },
            real: Real::Python("s.getsockopt(socket.SOL_SOCKET, 9999)"),
        },
        Misuse {
            name: GETSOCKOPT_LEVEL_12345,
            // udp_getsockopt() -> ip_getsockopt() -> do_ip_getsockopt():
            // `if (level != SOL_IP) return -EOPNOTSUPP;` (net/ipv4/ip_sockglue.c),
            // where setsockopt's do_ip_setsockopt() says ENOPROTOOPT.
            expected: EOPNOTSUPP,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.getsockopt(fd, 12345, 1).map(drop)
                })
            },
            real: Real::Python("s.getsockopt(12345, 1)"),
        },
        Misuse {
            name: "fcntl with an unknown cmd (9999)",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.fcntl(fd, 9999, 0).map(drop)
                })
            },
            real: Real::Python("fcntl.fcntl(s.fileno(), 9999, 0)"),
        },
        Misuse {
            name: "shutdown(fd, 7)",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.shutdown(fd, 7)
                })
            },
            real: Real::Python("s.shutdown(7)"),
        },
        Misuse {
            name: "shutdown(fd, -1)",
            expected: EINVAL,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.shutdown(fd, -1)
                })
            },
            real: Real::Python("s.shutdown(-1)"),
        },
        Misuse {
            name: "getpeername on an unconnected socket",
            expected: ENOTCONN,
            sim: |p| {
                Box::pin(async move {
                    let fd = setup(p.socket(AF_INET, SOCK_DGRAM, 0));
                    p.getpeername(fd).map(drop)
                })
            },
            real: Real::Rust(|| udp4().peer_addr().map(drop).map_err(raw_errno)),
        },
    ]
}

/// Misuse cases where the simulation is known to differ from the kernel;
/// the table test leaves them to their own ignored tests below.
const GETSOCKOPT_LEVEL_12345: &str = "getsockopt at level 12345";
const KNOWN_SIM_DIFFERENCES: &[&str] = &[GETSOCKOPT_LEVEL_12345];

/// Runs a sequence in a fresh one-host world (loopback only).
fn run_in_sim(seq: SimSeq) -> Result<SysResult<()>, String> {
    let mut sim = Sim::new(1);
    let host = sim.add_host("box");
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    sim.spawn(host, "misuse", move |p| async move {
        let r = seq(p).await;
        *out.borrow_mut() = Some(r);
        Ok(())
    });
    let report = sim.run();
    if !report.is_ok() {
        return Err(format!("the run did not end cleanly: {report}"));
    }
    slot.take()
        .ok_or_else(|| "the sequence never finished".to_string())
}

/// What `python3` reports for `stmt`: `Ok(())`, the errno number, or
/// `None` when Python is not available.
fn python_errno(stmt: &str) -> Option<Result<(), i32>> {
    let script = format!(
        "import socket, fcntl\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         try:\n    {stmt}\n    print(0)\n\
         except OSError as e:\n    print(e.errno)\n"
    );
    match Command::new("python3").arg("-c").arg(script).output() {
        Ok(out) if out.status.success() => {
            let n: i32 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("python printed a number");
            Some(if n == 0 { Ok(()) } else { Err(n) })
        }
        Ok(out) => panic!(
            "python3 failed on {stmt:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => None,
    }
}

/// What the kernel said for a case, or why it was not asked.
fn real_outcome(real: &Real) -> Result<String, String> {
    let result = match real {
        Real::Rust(f) => f(),
        Real::Python(stmt) => python_errno(stmt).ok_or("python3 is not installed")?,
        Real::SimOnly(why) => return Err(why.to_string()),
    };
    Ok(match result {
        Ok(()) => "success".to_string(),
        Err(n) => Errno::from_raw(n).map_or(format!("errno {n}"), |e| e.name().to_string()),
    })
}

/// Checks one case on both sides; `Err` describes every mismatch.
fn check_case(case: &Misuse) -> Result<(), String> {
    let mut problems = Vec::new();
    match real_outcome(&case.real) {
        Ok(seen) if seen != case.expected.name() => problems.push(format!(
            "the real kernel says {seen}, the table expects {}",
            case.expected.name()
        )),
        Ok(_) => {}
        Err(why) => println!("{}: not checked on the real kernel: {why}", case.name),
    }
    let seq = case.sim;
    match catch_unwind(AssertUnwindSafe(|| run_in_sim(seq))) {
        Ok(Ok(Err(e))) if e == case.expected => {}
        Ok(Ok(got)) => problems.push(format!(
            "the simulation gives {}, expected {}",
            got.map_or_else(|e| e.name().to_string(), |()| "success".to_string()),
            case.expected.name()
        )),
        Ok(Err(run)) => problems.push(format!("the simulation: {run}")),
        Err(panic) => problems.push(format!(
            "the simulation panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.name, problems.join("; ")))
    }
}

fn check_named(name: &str) {
    let cases = table();
    let case = cases
        .iter()
        .find(|c| c.name == name)
        .expect("a case of that name");
    if let Err(e) = check_case(case) {
        panic!("{e}");
    }
}

#[test]
fn misuse_gets_the_errno_linux_gives() {
    let cases = table();
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let failures: Vec<String> = cases
        .iter()
        .filter(|c| !KNOWN_SIM_DIFFERENCES.contains(&c.name))
        .filter_map(|c| check_case(c).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} misuse cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]

fn getsockopt_at_an_unknown_level_is_eopnotsupp() {
    check_named(GETSOCKOPT_LEVEL_12345);
}

// =================================================================== part 2

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 9000;
const CLOSED_PORT: u16 = 9999;
/// What the client sends after the bad frame; the server reads until it
/// arrives.
const AFTER_TEXT: &str = "after the bad frame";
const AFTER: &[u8] = AFTER_TEXT.as_bytes();

/// Two hosts, `a` (10.0.0.1) and `b` (10.0.0.2), cabled eth0 to eth0.
fn two_hosts() -> (Sim, HostId, HostId) {
    let mut sim = Sim::new(7);
    let a = sim.add_host("a");
    let b = sim.add_host("b");
    sim.add_link(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkConfig::default());
    (sim, a, b)
}

/// A device's MAC address, from `ip -s link`.
fn mac_of(sim: &Sim, host: HostId, dev: &str) -> MacAddr {
    let out = sim.sh(host, "ip -s link");
    let mut lines = out
        .lines()
        .skip_while(|l| !l.contains(&format!(": {dev}: ")));
    lines.next().unwrap_or_else(|| panic!("no {dev} in\n{out}"));
    let mac = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no link/ line for {dev} in\n{out}"));
    let bytes: Vec<u8> = mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect();
    MacAddr(bytes.try_into().expect("six bytes"))
}

/// Every counter that can move when b receives something, by name:
/// both hosts' SNMP counters, their devices' statistics, the softnet
/// counters, and the `drops` of b's UDP socket on [`PORT`].
type Counters = BTreeMap<String, i64>;

struct LabRun {
    counters: Counters,
    /// What the server on b read, in order, up to and including [`AFTER`].
    delivered: Vec<String>,
    neigh_b: String,
}

fn snapshot(sim: &Sim, hosts: &[(&str, HostId)], server_drops: u64) -> Counters {
    let mut c = Counters::new();
    for &(h, id) in hosts {
        for &m in Mib::ALL {
            c.insert(format!("{h}.{}", m.name()), sim.counter(id, m) as i64);
        }
        for dev in ["lo", "eth0"] {
            let s = sim.dev_stats(id, dev).expect("device");
            for (k, v) in [
                ("rx_packets", s.rx_packets),
                ("rx_bytes", s.rx_bytes),
                ("rx_errors", s.rx_errors),
                ("rx_dropped", s.rx_dropped),
                ("rx_missed", s.rx_missed),
                ("tx_packets", s.tx_packets),
                ("tx_bytes", s.tx_bytes),
                ("tx_errors", s.tx_errors),
                ("tx_dropped", s.tx_dropped),
            ] {
                c.insert(format!("{h}.{dev}.{k}"), v as i64);
            }
        }
        let softnet = sim.sh(id, "cat /proc/net/softnet_stat");
        let cols: Vec<i64> = softnet
            .split_whitespace()
            .take(3)
            .map(|w| i64::from_str_radix(w, 16).expect("hex"))
            .collect();
        for (k, v) in ["processed", "dropped", "time_squeeze"].iter().zip(cols) {
            c.insert(format!("{h}.softnet.{k}"), v);
        }
    }
    c.insert("b.udp_socket.drops".into(), server_drops as i64);
    c
}

/// The `drops` column of the `/proc/net/udp` row for a local port.
fn udp_drops(proc_net_udp: &str, port: u16) -> Option<u64> {
    proc_net_udp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local = u16::from_str_radix(f.get(1)?.split(':').nth(1)?, 16).ok()?;
        (local == port).then(|| f.get(12)?.parse().ok())?
    })
}

/// Injects `frames` into b's eth0 at time 0 (the server on b is already
/// bound to [`PORT`] by then), has a send [`AFTER`] to b at 1 ms, and runs
/// to the end. `make` gets (a's eth0 MAC, b's eth0 MAC).
fn run_lab(make: impl FnOnce(MacAddr, MacAddr) -> Vec<Vec<u8>>) -> LabRun {
    let (mut sim, a, b) = two_hosts();
    let frames = make(mac_of(&sim, a, "eth0"), mac_of(&sim, b, "eth0"));
    for f in frames {
        sim.inject_frame(b, "eth0", f).expect("b has eth0");
    }
    let got = Rc::new(RefCell::new((Vec::new(), 0u64)));
    let out = got.clone();
    sim.spawn(b, "server", move |p| async move {
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.bind(fd, ("0.0.0.0:".to_string() + &PORT.to_string()).as_str())?;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = p.recv(fd, &mut buf, 0).await?;
            out.borrow_mut()
                .0
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            if &buf[..n] == AFTER {
                break;
            }
        }
        let drops = udp_drops(&p.sh("cat /proc/net/udp"), PORT).expect("the server's row");
        out.borrow_mut().1 = drops;
        Ok(())
    });
    sim.spawn(a, "client", |p| async move {
        p.sleep(ms(1)).await;
        let fd = p.socket(AF_INET, SOCK_DGRAM, 0)?;
        p.sendto(fd, AFTER, 0, (B_IP, PORT)).await?;
        Ok(())
    });
    let report = sim.run();
    assert!(report.is_ok(), "the run did not end cleanly:\n{report}");
    let (delivered, drops) = got.take();
    LabRun {
        counters: snapshot(&sim, &[("a", a), ("b", b)], drops),
        delivered,
        neigh_b: sim.sh(b, "ip neigh"),
    }
}

/// What one bad frame changed, relative to the same run without it: the
/// counters that differ, and what the server read.
struct Effect {
    delta: BTreeMap<String, i64>,
    delivered: Vec<String>,
    neigh_b: String,
}

fn effect_of(make: impl FnOnce(MacAddr, MacAddr) -> Vec<Vec<u8>>) -> Effect {
    let base = run_lab(|_, _| Vec::new());
    assert_eq!(base.delivered, [AFTER_TEXT], "the baseline delivers");
    let run = run_lab(make);
    let delta = run
        .counters
        .iter()
        .filter_map(|(k, &v)| {
            let d = v - base.counters[k];
            (d != 0).then(|| (k.clone(), d))
        })
        .collect();
    Effect {
        delta,
        delivered: run.delivered,
        neigh_b: run.neigh_b,
    }
}

/// `IpExtInOctets` is checked on its own (see
/// [`ip_in_octets_count_every_received_byte`]); the other tests leave it out.
fn without_octets(delta: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    delta
        .iter()
        .filter(|(k, _)| !k.ends_with("IpExtInOctets"))
        .map(|(k, &v)| (k.clone(), v))
        .collect()
}

fn expect(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

#[track_caller]
fn assert_effect(what: &str, e: &Effect, expected: &[(&str, i64)]) {
    assert_eq!(
        e.delivered,
        [AFTER_TEXT],
        "{what}: the good datagram sent afterwards must still be the one delivered"
    );
    assert_eq!(
        without_octets(&e.delta),
        expect(expected),
        "{what}: counters moved (left) vs what the kernel moves (right)"
    );
}

/// An Ethernet frame from a to b, padded to the 60-byte minimum as a NIC
/// pads it on the wire.
fn eth(src: MacAddr, dst: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; EthHdr::LEN];
    EthHdr {
        dst,
        src,
        ethertype,
    }
    .write(&mut f)
    .unwrap();
    f.extend_from_slice(payload);
    if f.len() < ETH_ZLEN {
        f.resize(ETH_ZLEN, 0);
    }
    f
}

/// An IPv4 packet a → b with a correct header checksum for `hdr` as given.
fn ipv4(protocol: u8, payload: &[u8], tweak: impl FnOnce(&mut Ipv4Hdr)) -> Vec<u8> {
    let mut hdr = Ipv4Hdr {
        tot_len: (Ipv4Hdr::LEN + payload.len()) as u16,
        id: 0x4242,
        protocol,
        saddr: A_IP,
        daddr: B_IP,
        ..Ipv4Hdr::default()
    };
    tweak(&mut hdr);
    let mut p = vec![0u8; Ipv4Hdr::LEN];
    hdr.write(&mut p).unwrap();
    p.extend_from_slice(payload);
    p
}

/// A UDP datagram a → b with a correct checksum.
fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; UdpHdr::LEN];
    UdpHdr {
        source: 40000,
        dest: dport,
        len: (UdpHdr::LEN + payload.len()) as u16,
        check: 0,
    }
    .write(&mut d)
    .unwrap();
    d.extend_from_slice(payload);
    fill_checksum_v4(A_IP, B_IP, &mut d).unwrap();
    d
}

/// The IPv4 header checksum over a header's bytes.
fn recompute_ip_check(packet: &mut [u8]) {
    packet[10..12].copy_from_slice(&[0, 0]);
    let hlen = usize::from(packet[0] & 0x0f) * 4;
    let c = stack::wire::checksum(&packet[..hlen]);
    packet[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The counters a frame that the NIC accepts and `netif_receive_skb()`
/// hands to a protocol always moves (60-byte frames).
const FRAME_IN: &[(&str, i64)] = &[
    ("b.eth0.rx_packets", 1),
    ("b.eth0.rx_bytes", 60),
    ("b.softnet.processed", 1),
];

fn with(base: &[(&'static str, i64)], more: &[(&'static str, i64)]) -> Vec<(&'static str, i64)> {
    base.iter().chain(more).copied().collect()
}

// ---------------------------------------------------------------- Ethernet

/// A 10-byte frame, shorter than an Ethernet header: the driver refuses it
/// and counts it as a receive error (a length error, part of `rx_errors`).
#[test]
fn truncated_ethernet_frame() {
    let e = effect_of(|_, _| vec![vec![0xff; 10]]);
    assert_eq!(e.delivered, [AFTER_TEXT]);
    let d = without_octets(&e.delta);
    assert_eq!(d.get("b.eth0.rx_errors"), Some(&1), "{d:?}");
    let protocol_level: Vec<_> = d.keys().filter(|k| !k.starts_with("b.eth0.rx_")).collect();
    assert!(
        protocol_level.is_empty(),
        "nothing above the driver moved: {d:?}"
    );
}

/// `rx_packets` is "Number of good packets received by the interface" and a
/// runt is a bad one, counted in `rx_errors` (through `rx_length_errors`)
/// only (`struct rtnl_link_stats64`, include/uapi/linux/if_link.h).
#[test]

fn truncated_ethernet_frame_is_not_a_good_packet() {
    let e = effect_of(|_, _| vec![vec![0xff; 10]]);
    assert_effect("runt", &e, &[("b.eth0.rx_errors", 1)]);
}

/// An EtherType no protocol handles: `__netif_receive_skb_core()` finds no
/// handler and counts the device's `rx_dropped`.
#[test]
fn unknown_ethertype() {
    let e = effect_of(|a, b| vec![eth(a, b, 0x88b5, &[0; 46])]);
    assert_effect(
        "ethertype 0x88b5",
        &e,
        &with(FRAME_IN, &[("b.eth0.rx_dropped", 1)]),
    );
}

/// A frame for another station's MAC address: the NIC's address filter
/// drops it (not promiscuous), and even a promiscuous one would see
/// `ip_rcv_core()` drop `PACKET_OTHERHOST` before any IP counter. The
/// datagram inside must not reach the socket.
#[test]

fn frame_for_another_mac_is_not_delivered() {
    let e = effect_of(|a, _| {
        let other = MacAddr([0x02, 0, 0, 0, 0x99, 0x99]);
        vec![eth(
            a,
            other,
            ETH_P_IP,
            &ipv4(IP_UDP, &udp(PORT, b"not for us"), |_| {}),
        )]
    });
    assert_effect("frame for another MAC", &e, &[]);
}

// ---------------------------------------------------------------- IPv4

#[test]
fn ipv4_bad_header_checksum() {
    let e = effect_of(|a, b| {
        let mut p = ipv4(IP_UDP, &udp(PORT, b"bad ip csum"), |_| {});
        p[10] ^= 0x5a;
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    // csum_error: counts InCsumErrors, then falls into inhdr_error.
    assert_effect(
        "bad IPv4 header checksum",
        &e,
        &with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpExtInCsumErrors", 1),
                ("b.IpInHdrErrors", 1),
            ],
        ),
    );
}

#[test]
fn ipv4_version_5() {
    let e = effect_of(|a, b| {
        let mut p = ipv4(IP_UDP, &udp(PORT, b"version 5"), |_| {});
        p[0] = 0x55;
        recompute_ip_check(&mut p);
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_effect(
        "IPv4 version 5",
        &e,
        &with(FRAME_IN, &[("b.IpInReceives", 1), ("b.IpInHdrErrors", 1)]),
    );
}

#[test]
fn ipv4_ihl_below_5() {
    let e = effect_of(|a, b| {
        let mut p = ipv4(IP_UDP, &udp(PORT, b"ihl 4"), |_| {});
        p[0] = 0x44;
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_effect(
        "IPv4 ihl 4",
        &e,
        &with(FRAME_IN, &[("b.IpInReceives", 1), ("b.IpInHdrErrors", 1)]),
    );
}

/// ihl 15 claims 60 bytes of header; the frame holds 46 after the Ethernet
/// header: `pskb_may_pull(skb, iph->ihl*4)` fails, a header error.
#[test]
fn ipv4_options_cut_off() {
    let e = effect_of(|a, b| {
        let mut p = ipv4(IP_UDP, &udp(PORT, b"ihl 15"), |_| {});
        p[0] = 0x4f;
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_effect(
        "IPv4 ihl 15 in 46 bytes",
        &e,
        &with(FRAME_IN, &[("b.IpInReceives", 1), ("b.IpInHdrErrors", 1)]),
    );
}

/// `tot_len` larger than the bytes received: `InTruncatedPkts`, not a
/// header error.
#[test]
fn ipv4_tot_len_beyond_the_bytes() {
    let e = effect_of(|a, b| {
        let p = ipv4(IP_UDP, &udp(PORT, b"too long"), |h| h.tot_len = 200);
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_effect(
        "IPv4 tot_len 200 in a 60-byte frame",
        &e,
        &with(
            FRAME_IN,
            &[("b.IpInReceives", 1), ("b.IpExtInTruncatedPkts", 1)],
        ),
    );
}

/// `tot_len` shorter than the header itself: a header error.
#[test]
fn ipv4_tot_len_below_the_header() {
    let e = effect_of(|a, b| {
        let p = ipv4(IP_UDP, &udp(PORT, b"too short"), |h| h.tot_len = 10);
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_effect(
        "IPv4 tot_len 10",
        &e,
        &with(FRAME_IN, &[("b.IpInReceives", 1), ("b.IpInHdrErrors", 1)]),
    );
}

/// `__IP_UPD_PO_STATS(net, IPSTATS_MIB_IN, skb->len)` is the first thing
/// `ip_rcv_core()` does, before any check: `InOctets` counts every byte the
/// IP layer was handed, Ethernet padding included (the trim to `tot_len`
/// comes later), for good and bad packets alike.
#[test]

fn ip_in_octets_count_every_received_byte() {
    let bad = effect_of(|a, b| {
        let mut p = ipv4(IP_UDP, &udp(PORT, b"x"), |_| {});
        p[10] ^= 0x5a;
        vec![eth(a, b, ETH_P_IP, &p)]
    });
    assert_eq!(bad.delta.get("b.IpExtInOctets"), Some(&46), "bad checksum");
    let good = effect_of(|a, b| vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &udp(PORT, b"x"), |_| {}))]);
    // A 29-byte packet padded to fill a 60-byte frame.
    assert_eq!(
        good.delta.get("b.IpExtInOctets"),
        Some(&46),
        "padded good packet"
    );
}

/// A protocol nobody handles (253, reserved for experiments): the kernel
/// counts `InUnknownProtos` but not `InDelivers` (`ip_protocol_deliver_rcu()`
/// counts `InDelivers` only after a handler ran, or a raw socket took it),
/// and answers with ICMP protocol unreachable.
#[test]

fn ipv4_unknown_protocol() {
    let e = effect_of(|a, b| vec![eth(a, b, ETH_P_IP, &ipv4(253, &[0; 26], |_| {}))]);
    assert_eq!(e.delivered, [AFTER_TEXT]);
    let d = &e.delta;
    assert_eq!(d.get("b.IpInUnknownProtos"), Some(&1), "{d:?}");
    assert_eq!(d.get("b.IpInDelivers"), None, "{d:?}");
    assert_eq!(d.get("b.IcmpOutDestUnreachs"), Some(&1), "{d:?}");
}

// ---------------------------------------------------------------- UDP

/// A bad UDP checksum for a port nobody listens on: `__udp4_lib_rcv()`
/// verifies it before answering, counts `InCsumErrors` and `InErrors`, and
/// sends no port unreachable (no `NoPorts`).
#[test]
fn udp_bad_checksum_to_a_closed_port() {
    let e = effect_of(|a, b| {
        let mut d = udp(CLOSED_PORT, b"bad udp csum");
        d[6] ^= 0x5a;
        vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &d, |_| {}))]
    });
    assert_effect(
        "bad UDP checksum, closed port",
        &e,
        &with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpInDelivers", 1),
                ("b.UdpInCsumErrors", 1),
                ("b.UdpInErrors", 1),
            ],
        ),
    );
}

/// A bad UDP checksum for the server's port: the datagram is queued, and
/// found bad when `udp_recvmsg()` copies it (`csum_copy_err`), which counts
/// `InCsumErrors` and `InErrors` and goes on to the next datagram. The
/// server never sees it. (The socket's `drops` is the next test.)
#[test]
fn udp_bad_checksum_to_the_servers_port() {
    let e = effect_of(|a, b| {
        let mut d = udp(PORT, b"bad udp csum");
        d[6] ^= 0x5a;
        vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &d, |_| {}))]
    });
    let mut delta = e.delta.clone();
    delta.remove("b.udp_socket.drops");
    assert_effect(
        "bad UDP checksum, open port",
        &Effect { delta, ..e },
        &with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpInDelivers", 1),
                ("b.UdpInCsumErrors", 1),
                ("b.UdpInErrors", 1),
            ],
        ),
    );
}

/// `csum_copy_err` drops the datagram with `__sk_queue_drop_skb()`, which
/// does `atomic_inc(&sk->sk_drops)` (net/core/datagram.c): the socket's
/// `drops` column in /proc/net/udp shows it.
#[test]

fn udp_bad_checksum_counts_in_the_sockets_drops() {
    let e = effect_of(|a, b| {
        let mut d = udp(PORT, b"bad udp csum");
        d[6] ^= 0x5a;
        vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &d, |_| {}))]
    });
    assert_eq!(e.delivered, [AFTER_TEXT]);
    assert_eq!(e.delta.get("b.udp_socket.drops"), Some(&1), "{:?}", e.delta);
}

/// UDP length field below the header size: `short_packet`, UDP `InErrors`
/// only (before any checksum).
#[test]
fn udp_length_below_8() {
    let e = effect_of(|a, b| {
        let mut d = udp(PORT, b"len 4");
        d[4..6].copy_from_slice(&4u16.to_be_bytes());
        vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &d, |_| {}))]
    });
    assert_effect(
        "UDP len 4",
        &e,
        &with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpInDelivers", 1),
                ("b.UdpInErrors", 1),
            ],
        ),
    );
}

/// UDP length field beyond the IP payload: also `short_packet`.
#[test]
fn udp_length_beyond_the_packet() {
    let e = effect_of(|a, b| {
        let mut d = udp(PORT, b"len 500");
        d[4..6].copy_from_slice(&500u16.to_be_bytes());
        vec![eth(a, b, ETH_P_IP, &ipv4(IP_UDP, &d, |_| {}))]
    });
    assert_effect(
        "UDP len 500",
        &e,
        &with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpInDelivers", 1),
                ("b.UdpInErrors", 1),
            ],
        ),
    );
}

/// Control: a well-formed datagram injected the same way is delivered, so
/// the drops above are the bad fields' doing.
#[test]
fn well_formed_injected_datagram_is_delivered() {
    let e = effect_of(|a, b| {
        vec![eth(
            a,
            b,
            ETH_P_IP,
            &ipv4(IP_UDP, &udp(PORT, b"fine"), |_| {}),
        )]
    });
    assert_eq!(e.delivered, ["fine", AFTER_TEXT]);
    let d = without_octets(&e.delta);
    assert_eq!(
        d,
        expect(&with(
            FRAME_IN,
            &[
                ("b.IpInReceives", 1),
                ("b.IpInDelivers", 1),
                ("b.UdpInDatagrams", 1),
            ]
        ))
    );
}

// ---------------------------------------------------------------- ARP

fn bad_arp(a: MacAddr, b: MacAddr) -> Vec<Vec<u8>> {
    let mut p = vec![0u8; ArpHdr::LEN];
    ArpHdr {
        op: ARPOP_REQUEST,
        sha: MacAddr([0x02, 0, 0, 0, 0x77, 0x77]),
        spa: Ipv4Addr::new(10, 0, 0, 77),
        tha: MacAddr::ZERO,
        tpa: B_IP,
    }
    .write(&mut p)
    .unwrap();
    p[4] = 8; // hardware address length: not the device's 6
    let _ = b;
    vec![eth(a, MacAddr::BROADCAST, ETH_P_ARP, &p)]
}

/// An ARP request with a hardware address length of 8 on Ethernet:
/// `arp_rcv()` drops it (`ar_hln != dev->addr_len`). Nothing is learned or
/// answered, and the datagram after it still arrives.
#[test]
fn arp_with_bad_hardware_length_is_dropped() {
    let e = effect_of(bad_arp);
    assert_eq!(e.delivered, [AFTER_TEXT]);
    assert!(
        !e.neigh_b.contains("10.0.0.77"),
        "learned from a bad ARP:\n{}",
        e.neigh_b
    );
    let d = &e.delta;
    for k in ["b.eth0.tx_packets", "a.eth0.rx_packets"] {
        assert_eq!(d.get(k), None, "no ARP reply: {d:?}");
    }
}

/// The same, counter by counter: `arp_rcv()` frees the packet with
/// `kfree_skb_reason()` and nothing else; ARP has no MIB and a protocol's
/// refusal is not a device error (the frame was a good packet for the
/// NIC). Only the NIC's `rx_packets`/`rx_bytes` and softnet `processed` move.
#[test]

fn arp_with_bad_hardware_length_moves_no_error_counter() {
    let e = effect_of(bad_arp);
    assert_effect("bad ARP hln", &e, FRAME_IN);
}

// ---------------------------------------------------------------- fuzz

/// Whatever arrives, the run ends cleanly and the good datagram still
/// arrives after it.
fn survives(frames: Vec<Vec<u8>>) -> Result<(), TestCaseError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| run_lab(move |_, _| frames)));
    let run = outcome.map_err(|_| TestCaseError::fail("the simulation panicked"))?;
    prop_assert_eq!(run.delivered.last().map(String::as_str), Some(AFTER_TEXT));
    Ok(())
}

fn fuzz_config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Random bytes on the wire.
    #[test]
    fn random_frames(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..4)) {
        survives(frames)?;
    }

    /// A valid Ethernet header (IPv4, ARP or IPv6) with random bytes after it.
    #[test]
    fn random_payloads(
        ethertype in prop::sample::select(vec![ETH_P_IP, ETH_P_ARP, 0x86dd]),
        payload in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let (sim, a, b) = two_hosts();
        let frame = eth(mac_of(&sim, a, "eth0"), mac_of(&sim, b, "eth0"), ethertype, &payload);
        survives(vec![frame])?;
    }

    /// A good UDP frame for the server with a few bytes changed.
    #[test]
    fn mutated_datagrams(edits in prop::collection::vec((0usize..60, any::<u8>()), 1..4)) {
        let (sim, a, b) = two_hosts();
        let mut frame = eth(
            mac_of(&sim, a, "eth0"),
            mac_of(&sim, b, "eth0"),
            ETH_P_IP,
            &ipv4(IP_UDP, &udp(PORT, b"mutant"), |_| {}),
        );
        for (at, byte) in edits {
            frame[at] = byte;
        }
        survives(vec![frame])?;
    }
}
