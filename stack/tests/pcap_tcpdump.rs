//! The captures [`stack::pcap::PcapWriter`] writes, read by the real
//! `tcpdump`: a TCP handshake, data and teardown built with `stack::wire`
//! must print exactly as tcpdump prints a real connection, with correct
//! checksums and nothing truncated, and [`TcpHdr::summary`] must agree
//! with tcpdump word for word.
//!
//! tcpdump comes from the Debian/Ubuntu package `tcpdump`. When it is not
//! installed the tests print a note and pass.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use stack::pcap::{PcapWriter, parse_pcap};
use stack::wire::ethernet::ETH_P_IP;
use stack::wire::ipv4::{IP_DF, IPPROTO_TCP};
use stack::wire::tcp::{SackBlocks, TcpFlags, TcpHdr, TcpOptions, fill_checksum_v4, tcp_verify_v4};
use stack::wire::{EthHdr, Ipv4Hdr, MacAddr};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const CPORT: u16 = 40000;
const SPORT: u16 = 12345;

/// An Ethernet/IPv4/TCP frame with both checksums filled in.
fn frame(from_client: bool, id: u16, tcp: TcpHdr, payload: &[u8]) -> Vec<u8> {
    let (src, dst, smac, dmac) = if from_client {
        (CLIENT, SERVER, CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER, CLIENT, SERVER_MAC, CLIENT_MAC)
    };
    let tcp_len = tcp.header_len() + payload.len();
    let mut f = vec![0u8; EthHdr::LEN + Ipv4Hdr::LEN + tcp_len];
    EthHdr {
        dst: dmac,
        src: smac,
        ethertype: ETH_P_IP,
    }
    .write(&mut f)
    .unwrap();
    Ipv4Hdr {
        tot_len: (Ipv4Hdr::LEN + tcp_len) as u16,
        id,
        frag_off: IP_DF,
        protocol: IPPROTO_TCP,
        saddr: src,
        daddr: dst,
        ..Ipv4Hdr::default()
    }
    .write(&mut f[EthHdr::LEN..])
    .unwrap();
    let seg = &mut f[EthHdr::LEN + Ipv4Hdr::LEN..];
    tcp.write(seg).unwrap();
    seg[tcp.header_len()..].copy_from_slice(payload);
    fill_checksum_v4(src, dst, seg).unwrap();
    assert!(tcp_verify_v4(src, dst, seg));
    f
}

/// One frame of the conversation with what tcpdump must print for it.
struct Case {
    at: u64,
    from_client: bool,
    tcp: TcpHdr,
    payload: &'static [u8],
    /// `tcpdump -nn -S -tt` output, literally.
    expect: &'static str,
}

fn conversation() -> Vec<Case> {
    use TcpFlags as F;
    let syn_opts = |ts| TcpOptions {
        mss: Some(1460),
        wscale: Some(7),
        sack_permitted: true,
        timestamps: Some(ts),
        sack: SackBlocks::default(),
    };
    let ts = |val, ecr| TcpOptions {
        timestamps: Some((val, ecr)),
        ..TcpOptions::NONE
    };
    let sack = |val, ecr, blocks: &[(u32, u32)]| {
        let mut o = ts(val, ecr);
        for &(s, e) in blocks {
            o.sack.push(s, e);
        }
        o
    };
    vec![
        Case {
            at: 0,
            from_client: true,
            tcp: TcpHdr::new(CPORT, SPORT, 1000, 0, F::SYN, 65535, syn_opts((1, 0))),
            payload: b"",
            expect: "0.000000 IP 10.0.0.1.40000 > 10.0.0.2.12345: Flags [S], seq 1000, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
        },
        Case {
            at: 50_000,
            from_client: false,
            tcp: TcpHdr::new(
                SPORT,
                CPORT,
                5000,
                1001,
                F::SYN | F::ACK,
                65160,
                syn_opts((7, 1)),
            ),
            payload: b"",
            expect: "0.000050 IP 10.0.0.2.12345 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,sackOK,TS val 7 ecr 1,nop,wscale 7], length 0",
        },
        Case {
            at: 100_000,
            from_client: true,
            tcp: TcpHdr::new(CPORT, SPORT, 1001, 5001, F::ACK, 502, ts(2, 7)),
            payload: b"",
            expect: "0.000100 IP 10.0.0.1.40000 > 10.0.0.2.12345: Flags [.], ack 5001, win 502, options [nop,nop,TS val 2 ecr 7], length 0",
        },
        Case {
            at: 100_500,
            from_client: true,
            tcp: TcpHdr::new(CPORT, SPORT, 1001, 5001, F::PSH | F::ACK, 502, ts(2, 7)),
            payload: b"hello",
            expect: "0.000100 IP 10.0.0.1.40000 > 10.0.0.2.12345: Flags [P.], seq 1001:1006, ack 5001, win 502, options [nop,nop,TS val 2 ecr 7], length 5",
        },
        Case {
            at: 150_500,
            from_client: false,
            tcp: TcpHdr::new(SPORT, CPORT, 5001, 1006, F::ACK, 509, ts(8, 2)),
            payload: b"",
            expect: "0.000150 IP 10.0.0.2.12345 > 10.0.0.1.40000: Flags [.], ack 1006, win 509, options [nop,nop,TS val 8 ecr 2], length 0",
        },
        Case {
            at: 150_600,
            from_client: false,
            tcp: TcpHdr::new(
                SPORT,
                CPORT,
                5001,
                1006,
                F::ACK,
                509,
                sack(8, 2, &[(1010, 1020), (1030, 1040)]),
            ),
            payload: b"",
            expect: "0.000150 IP 10.0.0.2.12345 > 10.0.0.1.40000: Flags [.], ack 1006, win 509, options [nop,nop,TS val 8 ecr 2,nop,nop,sack 2 {1010:1020}{1030:1040}], length 0",
        },
        Case {
            at: 200_000,
            from_client: true,
            tcp: TcpHdr::new(CPORT, SPORT, 1006, 5001, F::FIN | F::ACK, 502, ts(3, 8)),
            payload: b"",
            expect: "0.000200 IP 10.0.0.1.40000 > 10.0.0.2.12345: Flags [F.], seq 1006, ack 5001, win 502, options [nop,nop,TS val 3 ecr 8], length 0",
        },
        Case {
            at: 250_123,
            from_client: false,
            tcp: TcpHdr::new(
                SPORT,
                CPORT,
                5001,
                1007,
                F::FIN | F::PSH | F::ACK,
                509,
                ts(9, 3),
            ),
            payload: b"bye\n",
            expect: "0.000250 IP 10.0.0.2.12345 > 10.0.0.1.40000: Flags [FP.], seq 5001:5005, ack 1007, win 509, options [nop,nop,TS val 9 ecr 3], length 4",
        },
        Case {
            at: 1_300_000_001,
            from_client: true,
            tcp: TcpHdr::new(CPORT, SPORT, 1007, 0, F::RST, 0, TcpOptions::NONE),
            payload: b"",
            expect: "1.300000 IP 10.0.0.1.40000 > 10.0.0.2.12345: Flags [R], seq 1007, win 0, length 0",
        },
    ]
}

/// The conversation as a capture, and the capture's frames.
fn capture() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut w = PcapWriter::new();
    let mut frames = Vec::new();
    for (i, c) in conversation().iter().enumerate() {
        let f = frame(c.from_client, i as u16 + 1, c.tcp, c.payload);
        w.record(c.at, &f);
        frames.push(f);
    }
    (w.into_bytes(), frames)
}

/// A capture file that removes itself.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "stack-pcap-tcpdump-{}-{tag}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `tcpdump ARGS -r FILE`; `None` (with a note) if tcpdump is not
/// installed. Panics if tcpdump fails.
fn tcpdump(args: &[&str], file: &TempFile) -> Option<(String, String)> {
    let out = match Command::new("tcpdump")
        .args(args)
        .arg("-r")
        .arg(&file.0)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("note: tcpdump is not installed (apt-get install tcpdump); skipping");
            return None;
        }
        Err(e) => panic!("cannot run tcpdump: {e}"),
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "tcpdump failed: {stderr}");
    Some((stdout, stderr))
}

#[test]
fn the_capture_reads_back() {
    let (bytes, frames) = capture();
    let back = parse_pcap(&bytes).unwrap();
    let times: Vec<u64> = conversation().iter().map(|c| c.at).collect();
    assert_eq!(back.iter().map(|(t, _)| *t).collect::<Vec<_>>(), times);
    assert_eq!(back.into_iter().map(|(_, f)| f).collect::<Vec<_>>(), frames);
}

/// `summary()` is tcpdump's text, independently of tcpdump being here.
#[test]
fn summaries_match_the_expected_tcpdump_lines() {
    for c in conversation() {
        let tail = c.expect.split_once(": ").unwrap().1;
        assert_eq!(c.tcp.summary(c.payload.len()), tail);
    }
}

#[test]
fn tcpdump_prints_each_segment() {
    let (bytes, _) = capture();
    let file = TempFile::new("plain", &bytes);
    let Some((stdout, stderr)) = tcpdump(&["-nn", "-S", "-tt"], &file) else {
        return;
    };
    println!("{stdout}");
    assert!(
        stderr.contains("link-type EN10MB (Ethernet)") && stderr.contains("snapshot length 262144"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let cases = conversation();
    assert_eq!(lines.len(), cases.len(), "{stdout}");
    for (line, c) in lines.iter().zip(&cases) {
        assert_eq!(*line, c.expect);
        let (src, dst) = if c.from_client {
            ("10.0.0.1.40000", "10.0.0.2.12345")
        } else {
            ("10.0.0.2.12345", "10.0.0.1.40000")
        };
        let ours = format!(
            "{} IP {src} > {dst}: {}",
            stack::sim::time::fmt_instant(c.at),
            c.tcp.summary(c.payload.len())
        );
        assert_eq!(*line, ours);
    }
}

/// The nanosecond magic keeps virtual time exact: asked for nanoseconds,
/// tcpdump prints them all.
#[test]
fn tcpdump_reads_nanosecond_timestamps() {
    let (bytes, _) = capture();
    let file = TempFile::new("nano", &bytes);
    let Some((stdout, _)) = tcpdump(&["-nn", "-tt", "--time-stamp-precision=nano"], &file) else {
        return;
    };
    let stamps: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once(' ').unwrap().0)
        .collect();
    assert_eq!(
        stamps,
        [
            "0.000000000",
            "0.000050000",
            "0.000100000",
            "0.000100500",
            "0.000150500",
            "0.000150600",
            "0.000200000",
            "0.000250123",
            "1.300000001",
        ]
    );
}

/// With `-vv` tcpdump verifies the IP and TCP checksums and decodes every
/// field: all correct, nothing truncated or malformed.
#[test]
fn tcpdump_finds_no_fault_with_vv() {
    let (bytes, _) = capture();
    let file = TempFile::new("vv", &bytes);
    let Some((stdout, stderr)) = tcpdump(&["-nn", "-S", "-tt", "-vv"], &file) else {
        return;
    };
    println!("{stdout}");
    for bad in [
        "incorrect",
        "bad",
        "trunc",
        "[|",
        "invalid",
        "malformed",
        "unknown",
    ] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "tcpdump -vv complains ({bad}):\n{stdout}{stderr}"
        );
    }
    let tcp_lines: Vec<&str> = stdout.lines().filter(|l| l.contains("Flags [")).collect();
    assert_eq!(tcp_lines.len(), conversation().len(), "{stdout}");
    for l in tcp_lines {
        assert!(l.contains("cksum 0x") && l.contains("(correct)"), "{l}");
    }
    assert_eq!(
        stdout.matches("flags [DF], proto TCP (6)").count(),
        conversation().len(),
        "{stdout}"
    );
}
