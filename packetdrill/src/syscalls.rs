//! The system calls a script makes, run on the simulated host's process,
//! and their results compared with what the script expects, as
//! packetdrill's `run_system_call.c` does: the return value, the errno
//! name, and the values the call writes back (`getsockopt`'s option,
//! `poll`'s `revents`, the events `epoll_wait` reports).
//!
//! Arguments written `...` get what packetdrill gives them: a buffer of
//! the written length, the local address `192.168.0.1:8080` for `bind()`,
//! the remote `192.0.2.1:8080` for `connect()`.

use stack::prelude::*;

use crate::script::{Expr, Syscall};
use crate::symbols;

/// The host's address in every script.
pub const LOCAL_IP: &str = "192.168.0.1";
/// The script's (the remote host's) address.
pub const REMOTE_IP: &str = "192.0.2.1";
/// The port `bind(..., ...)` and `connect(..., ...)` use.
pub const PORT: u16 = 8080;

/// An integer argument: a number, a constant, `a|b`, or `[n]`.
pub fn int(e: &Expr) -> Result<i64, String> {
    match e {
        Expr::Int(n) => Ok(*n),
        Expr::Word(w) => symbols::value(w).ok_or_else(|| format!("unknown symbol {w}")),
        Expr::Or(a, b) => Ok(int(a)? | int(b)?),
        Expr::Array(v) if v.len() == 1 => int(&v[0]),
        Expr::Assign(_, v) => int(v),
        other => Err(format!("expected an integer, found {other:?}")),
    }
}

fn arg(call: &Syscall, i: usize) -> Result<&Expr, String> {
    call.args
        .get(i)
        .ok_or_else(|| format!("{} needs argument {}", call.name, i + 1))
}

fn iarg(call: &Syscall, i: usize) -> Result<i32, String> {
    Ok(int(arg(call, i)?)? as i32)
}

/// A `{name=value, ...}` member.
fn member<'a>(e: &'a Expr, name: &str) -> Option<&'a Expr> {
    let Expr::List(items) = e else { return None };
    items.iter().find_map(|i| match i {
        Expr::Assign(n, v) if n == name => Some(&**v),
        _ => None,
    })
}

/// The result a call gave: a value or an errno.
type Ret = Result<i64, Errno>;

fn usize_ret(r: SysResult<usize>) -> Ret {
    r.map(|n| n as i64)
}

/// Runs `call` on `p` and compares everything it returns with the script.
pub async fn run(p: &Process, call: &Syscall) -> Result<(), String> {
    let name = call.name.as_str();
    let ret: Ret = match name {
        "socket" => {
            let domain = match arg(call, 0)? {
                Expr::Ellipsis => AF_INET as i64,
                e => int(e)?,
            };
            p.socket(domain as i32, iarg(call, 1)?, iarg(call, 2)?)
                .map(i64::from)
        }
        "bind" => p
            .bind(iarg(call, 0)?, format!("{LOCAL_IP}:{PORT}").as_str())
            .map(|()| 0),
        "listen" => p.listen(iarg(call, 0)?, iarg(call, 1)?).map(|()| 0),
        "accept" | "accept4" => {
            let flags = if name == "accept4" { iarg(call, 3)? } else { 0 };
            p.accept4(iarg(call, 0)?, flags)
                .await
                .map(|(fd, _)| fd as i64)
        }
        "connect" => p
            .connect(iarg(call, 0)?, format!("{REMOTE_IP}:{PORT}").as_str())
            .await
            .map(|()| 0),
        "write" => {
            let buf = vec![0u8; iarg(call, 2)? as usize];
            usize_ret(p.write(iarg(call, 0)?, &buf).await)
        }
        "send" => {
            let buf = vec![0u8; iarg(call, 2)? as usize];
            usize_ret(p.send(iarg(call, 0)?, &buf, iarg(call, 3)?).await)
        }
        "read" => {
            let mut buf = vec![0u8; iarg(call, 2)? as usize];
            usize_ret(p.read(iarg(call, 0)?, &mut buf).await)
        }
        "recv" => {
            let mut buf = vec![0u8; iarg(call, 2)? as usize];
            usize_ret(p.recv(iarg(call, 0)?, &mut buf, iarg(call, 3)?).await)
        }
        "sendmsg" => {
            let msg = msghdr(arg(call, 1)?)?;
            let bufs: Vec<Vec<u8>> = msg.iov.iter().map(|&n| vec![0u8; n]).collect();
            let slices: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
            usize_ret(p.sendmsg(iarg(call, 0)?, &slices, iarg(call, 2)?).await)
        }
        "recvmsg" => {
            let msg = msghdr(arg(call, 1)?)?;
            let mut buf = vec![0u8; msg.iov.iter().sum()];
            let r = p.recvmsg(iarg(call, 0)?, &mut buf, iarg(call, 2)?).await;
            if let Ok(m) = &r {
                expect_recvmsg(m, msg.flags, msg.control)?;
            }
            r.map(|m| m.len as i64)
        }
        "open" => {
            let Expr::Str(path) = arg(call, 0)? else {
                return Err("open's first argument must be a quoted path".into());
            };
            p.open(path, iarg(call, 1)?).map(i64::from)
        }
        "sendfile" => {
            let mut offset = match arg(call, 2)? {
                Expr::Word(w) if w == "NULL" => None,
                e => Some(int(e)? as u64),
            };
            let r = p
                .sendfile(
                    iarg(call, 0)?,
                    iarg(call, 1)?,
                    offset.as_mut(),
                    iarg(call, 3)? as usize,
                )
                .await;
            usize_ret(r)
        }
        "close" => p.close(iarg(call, 0)?).map(|()| 0),
        "shutdown" => p.shutdown(iarg(call, 0)?, iarg(call, 1)?).map(|()| 0),
        "fcntl" => {
            let a = if call.args.len() > 2 {
                iarg(call, 2)?
            } else {
                0
            };
            p.fcntl(iarg(call, 0)?, iarg(call, 1)?, a).map(i64::from)
        }
        "setsockopt" => setsockopt(p, call)?,
        "getsockopt" => return getsockopt(p, call),
        "ioctl" => {
            let r = p.ioctl(iarg(call, 0)?, iarg(call, 1)?);
            if let Ok(v) = r {
                expect_value(call, 2, v as i64)?;
            }
            r.map(|_| 0)
        }
        "epoll_create" | "epoll_create1" => p.epoll_create1(0).map(i64::from),
        "epoll_ctl" => {
            let ev = arg(call, 3)?;
            let event = match member(ev, "events") {
                Some(events) => {
                    let data = ["fd", "u32", "u64", "ptr"]
                        .iter()
                        .find_map(|k| member(ev, k))
                        .map(int)
                        .transpose()?
                        .unwrap_or(0);
                    Some(EpollEvent {
                        events: int(events)? as u32,
                        data: data as u64,
                    })
                }
                None => None,
            };
            p.epoll_ctl(iarg(call, 0)?, iarg(call, 1)?, iarg(call, 2)?, event)
                .map(|()| 0)
        }
        "epoll_wait" => {
            let r = p
                .epoll_wait(iarg(call, 0)?, iarg(call, 2)?, iarg(call, 3)?)
                .await;
            if let Ok(events) = &r {
                expect_epoll_events(arg(call, 1)?, events)?;
            }
            r.map(|v| v.len() as i64)
        }
        "poll" => {
            let Expr::Array(items) = arg(call, 0)? else {
                return Err("poll's first argument must be an array of pollfd".into());
            };
            let mut fds = Vec::new();
            for i in items {
                let fd = member(i, "fd").ok_or("pollfd without fd")?;
                let events = member(i, "events").ok_or("pollfd without events")?;
                fds.push(PollFd::new(int(fd)? as i32, int(events)? as u32));
            }
            let r = p.poll(&mut fds, iarg(call, 2)?).await;
            if r.is_ok() {
                for (i, pfd) in items.iter().zip(&fds) {
                    if let Some(want) = member(i, "revents") {
                        let want = int(want)? as u32;
                        if want != pfd.revents {
                            return Err(format!(
                                "poll: expected revents {} for fd {} but got {}",
                                epoll_events_name(want),
                                pfd.fd,
                                epoll_events_name(pfd.revents)
                            ));
                        }
                    }
                }
            }
            usize_ret(r)
        }
        other => return Err(format!("the runner does not support system call {other}()")),
    };
    check_result(call, ret)
}

/// A msghdr argument, as the script wrote it.
struct MsgArg<'a> {
    /// The iovec lengths.
    iov: Vec<usize>,
    /// `msg_flags`.
    flags: &'a Expr,
    /// `msg_control`, if given.
    control: Option<&'a [Expr]>,
}

fn msghdr(e: &Expr) -> Result<MsgArg<'_>, String> {
    let Expr::Msghdr {
        iov,
        flags,
        control,
    } = e
    else {
        return Err("expected a msghdr ({msg_name(...)=..., msg_iov(N)=[...], ...})".into());
    };
    let lens = iov
        .iter()
        .map(|v| match v {
            Expr::List(items) => items.last().map_or(Ok(0), int).map(|n| n as usize),
            other => Err(format!("expected an iovec {{..., LEN}}, found {other:?}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(MsgArg {
        iov: lens,
        flags,
        control: control.as_deref(),
    })
}

/// Compares what `recvmsg()` wrote back with the script: `msg_flags` (the
/// simulation reports none) and each control message's level, type and
/// data.
fn expect_recvmsg(got: &RecvMsg, msg_flags: &Expr, control: Option<&[Expr]>) -> Result<(), String> {
    if !matches!(msg_flags, Expr::Ellipsis) && int(msg_flags)? != 0 {
        return Err(format!(
            "recvmsg: expected msg_flags {} but got 0",
            int(msg_flags)?
        ));
    }
    let Some(want) = control else { return Ok(()) };
    if want.len() != got.cmsgs.len() {
        return Err(format!(
            "recvmsg: expected {} control messages but got {}",
            want.len(),
            got.cmsgs.len()
        ));
    }
    for (w, g) in want.iter().zip(&got.cmsgs) {
        let (level, ty, data) = g.parts();
        for (name, value) in [
            ("cmsg_level", level),
            ("cmsg_type", ty),
            ("cmsg_data", data),
        ] {
            if let Some(e) = member(w, name) {
                let want = int(e)?;
                if want != i64::from(value) {
                    return Err(format!("recvmsg: expected {name} {want} but got {value}"));
                }
            }
        }
    }
    Ok(())
}

fn setsockopt(p: &Process, call: &Syscall) -> Result<Ret, String> {
    let (fd, level, opt) = (iarg(call, 0)?, iarg(call, 1)?, iarg(call, 2)?);
    let val = arg(call, 3)?;
    if let (Some(on), Some(secs)) = (member(val, "onoff"), member(val, "linger")) {
        let secs = (int(on)? != 0).then_some(int(secs)? as u32);
        return Ok(p.set_linger(fd, secs).map(|()| 0));
    }
    if let Expr::Str(name) = val {
        return Ok(p.set_congestion(fd, name).map(|()| 0));
    }
    Ok(p.setsockopt(fd, level, opt, int(val)? as i32).map(|()| 0))
}

fn getsockopt(p: &Process, call: &Syscall) -> Result<(), String> {
    let (fd, level, opt) = (iarg(call, 0)?, iarg(call, 1)?, iarg(call, 2)?);
    if let Some(Expr::Str(want)) = call.args.get(3) {
        let r = p.get_congestion(fd);
        if let Ok(got) = &r
            && got != want
        {
            return Err(format!("getsockopt: expected {want:?} but got {got:?}"));
        }
        return check_result(call, r.map(|_| 0));
    }
    let r = p.getsockopt(fd, level, opt);
    if let Ok(v) = r {
        expect_value(call, 3, v as i64)?;
    }
    check_result(call, r.map(|_| 0))
}

/// Compares a value a call wrote back (`[n]` in the script) with the
/// script's; `...` or a missing argument accepts anything.
fn expect_value(call: &Syscall, i: usize, got: i64) -> Result<(), String> {
    match call.args.get(i) {
        None | Some(Expr::Ellipsis) => Ok(()),
        Some(e) => {
            let want = int(e)?;
            // Scripts write unsigned values (4294967295) for what the
            // stack returns as an int (-1): compare the 32 bits.
            if want == got || want as u32 == got as u32 {
                Ok(())
            } else {
                Err(format!(
                    "{}: expected value {want} but got {got}",
                    call.name
                ))
            }
        }
    }
}

fn expect_epoll_events(want: &Expr, got: &[EpollEvent]) -> Result<(), String> {
    let wants: Vec<&Expr> = match want {
        Expr::Ellipsis => return Ok(()),
        Expr::Array(v) => v.iter().collect(),
        e => vec![e],
    };
    for (w, g) in wants.iter().zip(got) {
        if let Some(events) = member(w, "events") {
            let events = int(events)? as u32;
            if events != g.events {
                return Err(format!(
                    "epoll_wait: expected events {} but got {}",
                    epoll_events_name(events),
                    epoll_events_name(g.events)
                ));
            }
        }
        if let Some(fd) = ["fd", "u32", "u64", "ptr"]
            .iter()
            .find_map(|k| member(w, k))
        {
            let fd = int(fd)? as u64;
            if fd != g.data {
                return Err(format!("epoll_wait: expected data {fd} but got {}", g.data));
            }
        }
    }
    Ok(())
}

/// The return value and errno against the script's, worded as
/// packetdrill words it.
fn check_result(call: &Syscall, ret: Ret) -> Result<(), String> {
    let want = match &call.result {
        Expr::Ellipsis => return Ok(()),
        e => int(e)?,
    };
    let (got, errno) = match ret {
        Ok(v) => (v, None),
        Err(e) => (-1, Some(e)),
    };
    let errno_ok = match (&call.errno, errno) {
        (Some(name), Some(e)) => e.name() == name,
        (Some(_), None) => false,
        (None, _) => true,
    };
    if got == want && errno_ok {
        return Ok(());
    }
    let got_errno = errno.map_or("0 (Success)".to_string(), |e| e.to_string());
    Err(format!(
        "runtime error in {} call: Expected result {want}{} but got {got} with errno {got_errno}",
        call.name,
        call.errno
            .as_ref()
            .map(|e| format!(" {e}"))
            .unwrap_or_default()
    ))
}
