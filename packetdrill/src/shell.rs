//! The shell lines of a script (`` `../common/defaults.sh` ``, `` `sysctl
//! -q net.ipv4.tcp_notsent_lowat=...` ``): the few commands the scripts in
//! `net/tcp` use, applied to the simulated host instead of run by a shell.
//!
//! - a path to a shell script is read (through [`Env`]) and its lines run;
//! - `sysctl -q NAME=VALUE...` sets the host's sysctls; one the stack does
//!   not have is skipped, as a failing `sysctl` inside `defaults.sh` does
//!   not stop the real run (in a fresh namespace this kernel refuses
//!   `tcp_congestion_control`, for one);
//! - `set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE...` sets them too, and
//!   the restore script it writes is not needed (every script gets a
//!   fresh host);
//! - `ip tcp_metrics flush` does nothing: the stack keeps no metrics;
//! - `tc qdisc add dev tun0 root pfifo` with no limit does nothing: the tun
//!   device passes packets in order without a qdisc, which is what pfifo
//!   does while it is not full;
//! - `rm -f PATH` and `dd bs=N count=M if=/dev/zero of=PATH` remove and
//!   write files on the simulated host, where the script's `open()` and
//!   `sendfile()` find them.
//!
//! Anything else fails the script with the command, so that a script never
//! passes for a setting the simulation ignored.

use crate::host::Host;
use crate::run::Env;

/// Runs one backquoted command.
pub fn run(cmd: &str, host: &mut Host, env: &dyn Env) -> Result<(), String> {
    for part in logical_lines(cmd).iter().flat_map(|l| l.split(';')) {
        let part = part.trim();
        if part.is_empty() || part.starts_with('#') {
            continue;
        }
        if !part.contains(char::is_whitespace)
            && part.ends_with(".sh")
            && !part.starts_with("/tmp/")
        {
            for line in logical_lines(&read_script(part, env)?) {
                run_line(&line, host)?;
            }
        } else {
            run_line(part, host)?;
        }
    }
    Ok(())
}

/// A shell script's text. A file whose whole text is one path (a symbolic
/// link, as git stores one where links are not made: `net/tcp/common/
/// defaults.sh` is `../../common/defaults.sh`) is followed from its folder.
fn read_script(path: &str, env: &dyn Env) -> Result<String, String> {
    let mut path = path.to_string();
    for _ in 0..8 {
        let text = env
            .read_file(&path)
            .ok_or_else(|| format!("cannot read shell script {path}"))?;
        let target = text.trim();
        if target.lines().count() != 1 || !target.ends_with(".sh") || target.starts_with('#') {
            return Ok(text);
        }
        path = match path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{target}"),
            None => target.to_string(),
        };
    }
    Err(format!("too many links following {path}"))
}

/// `dd bs=N count=M if=/dev/zero of=PATH [status=none]`: a file of
/// `N * M` zero bytes (packetdrill expects payloads of zeroes).
fn dd_zeroes(args: &[&str], host: &mut Host) -> Result<(), String> {
    let (mut bs, mut count, mut from, mut to) = (512usize, None, None, None);
    for a in args {
        let num = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("dd: bad number {v}"))
        };
        match a.split_once('=') {
            Some(("bs", v)) => bs = num(v)?,
            Some(("count", v)) => count = Some(num(v)?),
            Some(("if", v)) => from = Some(v),
            Some(("of", v)) => to = Some(v),
            Some(("status", _)) => {}
            _ => return Err(format!("dd: the runner does not support {a}")),
        }
    }
    let (Some(count), Some("/dev/zero"), Some(path)) = (count, from, to) else {
        return Err("dd: the runner supports count=N if=/dev/zero of=PATH".into());
    };
    let len = bs
        .checked_mul(count)
        .filter(|&n| n <= 1 << 30)
        .ok_or("dd: file too large")?;
    host.sim.create_file(host.id, path, &vec![0u8; len]);
    Ok(())
}

/// Lines with `\` continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(line);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

fn run_line(line: &str, host: &mut Host) -> Result<(), String> {
    // A comment to the end of the line.
    let line = line.split(" #").next().unwrap_or(line).trim();
    // `echo VALUE > /proc/sys/net/ipv4/NAME`.
    if let Some((echo, file)) = line.split_once('>')
        && let Some(value) = echo.trim().strip_prefix("echo ")
        && let Some(name) = file.trim().strip_prefix("/proc/sys/")
    {
        let value = split_words(value).join(" ");
        let _ = host.sim.sysctl(host.id, &name.replace('/', "."), &value);
        return Ok(());
    }
    // Redirections and `|| true` do not change what the command does here.
    let line = line.split(" >").next().unwrap_or(line).trim();
    let line = line.split(" 2>").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with("#!") {
        return Ok(());
    }
    let words = split_words(line);
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["sysctl", rest @ ..] => {
            for w in rest.iter().filter(|w| !w.starts_with('-')) {
                let Some((name, value)) = w.split_once('=') else {
                    return Err(format!("sysctl without a value: {w}"));
                };
                let value = expand_arithmetic(value)?;
                // A setting the stack lacks is skipped, as the real run skips
                // what its kernel refuses.
                let _ = host.sim.sysctl(host.id, name, &value);
            }
            Ok(())
        }
        [cmd, rest @ ..] if cmd.ends_with("set_sysctls.py") => {
            // `/proc/sys/net/ipv4/tcp_wmem="4096 50000 4194304"`.
            for w in rest {
                let Some((file, value)) = w.split_once('=') else {
                    return Err(format!("set_sysctls.py without a value: {w}"));
                };
                let name = file.trim_start_matches("/proc/sys/").replace('/', ".");
                let _ = host.sim.sysctl(host.id, &name, &expand_arithmetic(value)?);
            }
            Ok(())
        }
        // The file set_sysctls.py writes to undo its settings: every script
        // gets a fresh host, so there is nothing to undo.
        [cmd] if cmd.starts_with("/tmp/sysctl_restore_") => Ok(()),
        // Files a script prepares for its system calls are the simulated
        // host's: the runner puts them in its file system.
        [rm, "-f", path] if *rm == "rm" || *rm == "/bin/rm" => {
            host.sim.remove_file(host.id, path);
            Ok(())
        }
        [dd, args @ ..] if *dd == "dd" || *dd == "/bin/dd" => dd_zeroes(args, host),
        ["ip", "tcp_metrics", "flush", ..] => Ok(()),
        ["tc", "qdisc", "add", "dev", "tun0", "root", "pfifo"] => Ok(()),
        _ => Err(format!(
            "the runner does not support the shell command `{line}`"
        )),
    }
}

/// Words, with double and single quotes grouping and removed.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// `$((15*1024*1024))` and `$((256*1024))`: the shell's arithmetic, for the
/// products and sums `defaults.sh` writes.
fn expand_arithmetic(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("$((") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find("))")
            .ok_or_else(|| format!("unterminated $(( in {value}"))?;
        out.push_str(&eval_sum(&after[..end])?.to_string());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval_sum(expr: &str) -> Result<i64, String> {
    expr.split('+')
        .map(|term| {
            term.split('*').try_fold(1i64, |acc, f| {
                f.trim()
                    .parse::<i64>()
                    .map(|n| acc.saturating_mul(n))
                    .map_err(|_| format!("cannot evaluate $(({expr}))"))
            })
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sh_arithmetic_and_quotes() {
        assert_eq!(
            expand_arithmetic("4096 540000 $((15*1024*1024))").unwrap(),
            "4096 540000 15728640"
        );
        assert_eq!(
            split_words(r#"sysctl -q net.ipv4.tcp_rmem="4096 540000 1""#),
            ["sysctl", "-q", "net.ipv4.tcp_rmem=4096 540000 1"]
        );
        assert!(expand_arithmetic("$((1*x))").is_err());
    }

    struct NoFiles;
    impl Env for NoFiles {
        fn read_file(&self, _: &str) -> Option<String> {
            None
        }
        fn python(&self, _: &str) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn rm_and_dd_make_the_hosts_files() {
        let mut host = Host::new();
        let cmd = "/bin/rm -f /tmp/f\n/bin/dd bs=2 count=3 if=/dev/zero of=/tmp/f status=none";
        run(cmd, &mut host, &NoFiles).unwrap();
        assert_eq!(host.sim.file_contents(host.id, "/tmp/f"), Some(vec![0; 6]));
        run("rm -f /tmp/f", &mut host, &NoFiles).unwrap();
        assert_eq!(host.sim.file_contents(host.id, "/tmp/f"), None);
        let err = run("dd count=1 if=/dev/urandom of=/tmp/f", &mut host, &NoFiles).unwrap_err();
        assert!(err.contains("if=/dev/zero"), "{err}");
        assert!(run("rm -rf /", &mut host, &NoFiles).is_err());
    }
}
