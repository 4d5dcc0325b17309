//! A server that forgets to `close()`. Each client asks, gets its answer
//! and closes; the server never reads the end of the stream and never
//! closes its side. Its sockets sit in CLOSE-WAIT, each with Recv-Q 1 (the
//! unread FIN) and an fd, for as long as the process lives: a leak that
//! ends in `EMFILE`. The clients' sockets wait in FIN-WAIT-2 for a FIN that
//! never comes, until `tcp_fin_timeout` (60 s) frees them; the server's
//! CLOSE-WAIT sockets stay.
//!
//! Run it with `cargo run -q -p stack --example close_wait_leak`.
//! Knobs: --clients, --fin-timeout, --nofile (cargo run -q -p stack
//! --example close_wait_leak -- --help)

use stack::prelude::*;

pub fn main() {
    let k = knobs::Knobs::new("close_wait_leak")
        .int("clients", 3, 1..=40, "clients that connect, 10 ms apart")
        .int(
            "fin-timeout",
            60,
            1..=120,
            "the clients' tcp_fin_timeout sysctl, in s",
        )
        .int(
            "nofile",
            1024,
            5..=1024,
            "the server's RLIMIT_NOFILE, in fds",
        )
        .parse();
    let clients = k.int("clients") as usize;
    let fin_timeout = k.int("fin-timeout") as u64;
    let nofile = k.int("nofile") as u32;
    let mut sim = Sim::new(1);
    let client = sim.add_host("client");
    let server = sim.add_host("server");
    sim.add_link(
        client,
        "10.0.0.1/24",
        server,
        "10.0.0.2/24",
        LinkConfig::default(),
    );
    sim.set_tracing(false);
    sim.sysctl(client, "net.ipv4.tcp_fin_timeout", &fin_timeout.to_string())
        .expect("known sysctl");

    sim.spawn(server, "leaky-server", move |p| async move {
        p.set_nofile_limit(nofile);
        let lfd = p.socket(AF_INET, SOCK_STREAM, 0)?;
        p.bind(lfd, "0.0.0.0:80")?;
        p.listen(lfd, 128)?;
        let mut forgotten = Vec::new();
        for _ in 0..clients {
            let (fd, _) = match p.accept(lfd).await {
                Ok(conn) => conn,
                Err(e) => {
                    p.log(format!(
                        "accept() -> {e}: the leak used up RLIMIT_NOFILE ({nofile})"
                    ));
                    break;
                }
            };
            let mut buf = [0u8; 100];
            let n = p.read(fd, &mut buf).await?;
            p.write(fd, &buf[..n]).await?;
            forgotten.push(fd); // the bug: no read() of the EOF, no close(fd)
        }
        p.sleep(secs(fin_timeout + 10)).await;
        println!("\nleaky-server$ ls -l /proc/{}/fd", p.pid());
        print!("{}", p.fd_table());
        println!();
        for fd in forgotten {
            let mut buf = [0u8; 100];
            let n = p.read(fd, &mut buf).await?;
            p.log(format!(
                "fixed: read({fd}) -> {n} (end of stream); close({fd})"
            ));
            p.close(fd)?;
        }
        Ok(())
    });

    for i in 0..clients {
        sim.spawn(client, &format!("client-{i}"), move |p| async move {
            p.sleep(ms(10 * i as u64)).await;
            let fd = p.socket(AF_INET, SOCK_STREAM, 0)?;
            p.connect(fd, "10.0.0.2:80").await?;
            p.write(fd, b"ping").await?;
            let mut buf = [0u8; 100];
            p.read(fd, &mut buf).await?;
            p.close(fd)?;
            Ok(())
        });
    }

    for t in [1, fin_timeout + 5] {
        sim.run_until(secs(t));
        println!("-- t={t}s");
        println!("client$ ss -tan");
        print!("{}", sim.sh(client, "ss -tan"));
        println!("server$ ss -tanp");
        print!("{}", sim.sh(server, "ss -tanp"));
    }
    let report = sim.run();
    println!("\nserver$ ss -tan");
    print!("{}", sim.sh(server, "ss -tan"));
    println!();
    print!("{report}");
}
