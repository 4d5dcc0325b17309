//! Line-range includes of snapshots, pinned.
//!
//! `{{#include ../stack/tests/snapshots/examples__x.snap:86:112}}` shows
//! lines 86 to 112 of what the example printed. When the example changes,
//! the snapshot is regenerated and those lines may hold something else,
//! yet the include still resolves: the book would show the wrong excerpt
//! under prose written for the right one. So every such range is listed in
//! `bookcheck/pins.toml` with the text of its first and last lines as the
//! author saw them, and the check fails when the snapshot no longer has
//! that text there; the author then moves the range (and the pin).
//! Whole outputs (`:5:`, from the first line after insta's header) need no
//! pin.

use std::path::Path;

use serde::Deserialize;

/// `bookcheck/pins.toml`.
#[derive(Debug, Default, Deserialize)]
pub struct Pins {
    /// One per range include.
    #[serde(default)]
    pub pin: Vec<Pin>,
}

/// The lines a range include was written for.
#[derive(Clone, Debug, Deserialize)]
pub struct Pin {
    /// The snapshot's file name and range, as in the include:
    /// `examples__netns_veth.snap:86:112`.
    pub range: String,
    /// The first line's text (surrounding spaces ignored).
    pub first: String,
    /// The last line's text (surrounding spaces ignored).
    pub last: String,
}

/// The first line of a snapshot's body: lines 1-4 are insta's header.
pub const SNAPSHOT_BODY: usize = 5;

impl Pins {
    /// Reads a pins file (none: no pins).
    pub fn read(path: &Path) -> Result<Pins, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Pins::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The pin for `range`, if there is one.
    pub fn get(&self, range: &str) -> Option<&Pin> {
        self.pin.iter().find(|p| p.range == range)
    }
}

impl Pin {
    /// Checks the pinned lines against the snapshot's `lines` (1-based
    /// `start..=end`); the error says what is there now.
    pub fn check(&self, snapshot: &str, start: usize, end: usize) -> Result<(), String> {
        let lines: Vec<&str> = snapshot.lines().collect();
        let at = |n: usize| {
            lines
                .get(n.wrapping_sub(1))
                .map_or("<past the end>", |l| l.trim())
        };
        let (first, last) = (at(start), at(end));
        if first == self.first.trim() && last == self.last.trim() {
            Ok(())
        } else {
            Err(format!(
                "{}: the lines now read {first:?} .. {last:?}, the pin expects {:?} .. {:?}; \
                 move the range to where that text is now (and update bookcheck/pins.toml)",
                self.range, self.first, self.last
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_range_is_caught() {
        let pin = Pin {
            range: "examples__x.snap:6:7".into(),
            first: "b".into(),
            last: "c".into(),
        };
        let snap = "h1\nh2\nh3\nh4\na\nb\nc\n";
        assert!(pin.check(snap, 6, 7).is_ok());
        let moved = "h1\nh2\nh3\nh4\nnew line\na\nb\nc\n";
        let err = pin.check(moved, 6, 7).unwrap_err();
        assert!(err.contains("\"a\" .. \"b\""), "{err}");
        assert!(pin.check(snap, 6, 99).is_err());
    }
}
