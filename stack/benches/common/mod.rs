//! What the benchmarks share: reading the kernel's memory accounting and
//! printing numbers.
// Each benchmark uses its own part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// `/proc/slabinfo`: cache name → (active objects, object size). Needs
/// root; `None` otherwise.
pub fn slabinfo() -> Option<BTreeMap<String, (u64, u64)>> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let map: BTreeMap<String, (u64, u64)> = text
        .lines()
        .skip(2)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let active: u64 = f.next()?.parse().ok()?;
            let _total = f.next()?;
            let size: u64 = f.next()?.parse().ok()?;
            Some((name, (active, size)))
        })
        .collect();
    (!map.is_empty()).then_some(map)
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

/// The number in a `Name:   1234 kB` line.
pub fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (name, rest) = l.split_once(':')?;
        (name == field).then(|| rest.split_whitespace().next()?.parse().ok())?
    })
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
