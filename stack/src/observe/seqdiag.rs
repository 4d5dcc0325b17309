//! Sequence diagrams of segments between hosts, the drawings of every TCP
//! textbook: one vertical line per host, time running down the page, one
//! arrow per segment from the instant it left its sender to the instant it
//! reached the receiver, so a slanted arrow shows the one-way delay and an
//! arrow that ends in a cross is a segment the network lost.
//!
//! Two renderings of the same [`Arrow`]s: [`text`] for a terminal, a test
//! snapshot or a code block in the book, and [`svg`] for a figure. Both are
//! deterministic (same input, same bytes) and take any input without
//! panicking: labels are cleaned of control characters and shortened with
//! `...` past a fixed length, and an arrow naming a host that is not in the
//! participant list gets a column of its own after the others.
//!
//! Nothing in the kernel draws these; they are what `tcpdump` output on
//! both hosts, lined up by time, amounts to.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::sim::time::Nanos;

/// One segment (or datagram, or frame) on its way between two hosts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arrow {
    /// When it left the sender.
    pub sent: Nanos,
    /// When it reached the receiver; `None` if it was lost.
    pub arrived: Option<Nanos>,
    /// The sending host, one of the participants.
    pub from: String,
    /// The receiving host.
    pub to: String,
    /// What to write on the arrow, e.g. `SYN seq=0 win=65535 <mss 1460>`.
    pub label: String,
}

impl Arrow {
    /// A segment that arrived.
    pub fn delivered(
        from: impl Into<String>,
        to: impl Into<String>,
        sent: Nanos,
        arrived: Nanos,
        label: impl Into<String>,
    ) -> Arrow {
        Arrow {
            sent,
            arrived: Some(arrived),
            from: from.into(),
            to: to.into(),
            label: label.into(),
        }
    }

    /// A segment that was lost on the way.
    pub fn lost(
        from: impl Into<String>,
        to: impl Into<String>,
        sent: Nanos,
        label: impl Into<String>,
    ) -> Arrow {
        Arrow {
            sent,
            arrived: None,
            from: from.into(),
            to: to.into(),
            label: label.into(),
        }
    }
}

/// Longest label [`text`] prints; longer ones end in `...`.
pub const TEXT_LABEL_MAX: usize = 60;
/// Longest label [`svg`] draws.
pub const SVG_LABEL_MAX: usize = 80;
/// Longest host name either prints.
const NAME_MAX: usize = 24;

/// `s` with control characters (newlines, tabs, escapes; also the two
/// noncharacters XML forbids) turned into spaces, cut to `max` characters
/// with `...` at the end if it was longer.
fn clean(s: &str, max: usize) -> String {
    let mut chars: Vec<char> = s
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if chars.len() > max {
        chars.truncate(max.saturating_sub(3));
        chars.extend(['.'; 3].iter().take(max.min(3)));
    }
    chars.into_iter().collect()
}

/// The columns, left to right: the participants in order, then any host
/// an arrow names that is not among them, in order of first appearance. A
/// name listed twice keeps its first place.
struct Columns<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Columns<'a> {
    fn new(participants: &'a [String], arrows: &'a [Arrow]) -> Columns<'a> {
        let mut c = Columns {
            names: Vec::new(),
            index: HashMap::new(),
        };
        let names = participants
            .iter()
            .map(String::as_str)
            .chain(arrows.iter().flat_map(|a| [a.from.as_str(), a.to.as_str()]));
        for name in names {
            if !c.index.contains_key(name) {
                c.index.insert(name, c.names.len());
                c.names.push(name);
            }
        }
        c
    }

    /// The column of a host; every host an arrow names has one.
    fn of(&self, name: &str) -> usize {
        self.index.get(name).copied().unwrap_or(0)
    }
}

/// Formats instants as seconds with six decimals, or nine if any instant
/// has a nanosecond part, so every time shown is exact.
struct Clock {
    nanos: bool,
}

impl Clock {
    fn new(arrows: &[Arrow]) -> Clock {
        let nanos = arrows
            .iter()
            .flat_map(|a| [Some(a.sent), a.arrived])
            .flatten()
            .any(|t| t % 1_000 != 0);
        Clock { nanos }
    }

    fn fmt(&self, t: Nanos) -> String {
        let (s, ns) = (t / 1_000_000_000, t % 1_000_000_000);
        if self.nanos {
            format!("{s}.{ns:09}")
        } else {
            format!("{s}.{:06}", ns / 1_000)
        }
    }
}

/// The arrows sorted by the instant they were sent (stable, so arrows sent
/// together keep their order).
fn by_sent(arrows: &[Arrow]) -> Vec<&Arrow> {
    let mut v: Vec<&Arrow> = arrows.iter().collect();
    v.sort_by_key(|a| a.sent);
    v
}

/// A monospace diagram: host names over their lifelines, then one line per
/// arrow in the order the arrows were sent (a stable sort on `sent`):
///
/// ```
/// use stack::seqdiag::{Arrow, text};
///
/// let hosts = ["client".to_string(), "server".to_string()];
/// let arrows = [
///     Arrow::delivered("client", "server", 0, 50_000, "SYN seq=0"),
///     Arrow::delivered("server", "client", 50_000, 100_000, "SYN,ACK seq=0 ack=1"),
///     Arrow::lost("client", "server", 100_000, "ACK ack=1"),
/// ];
/// assert_eq!(
///     text(&hosts, &arrows),
///     concat!(
///         "        client                        server\n",
///         "           |                             |\n",
///         "0.000000   |---- SYN seq=0 ------------->|   0.000050\n",
///         "0.000100   |<--- SYN,ACK seq=0 ack=1 ----|   0.000050\n",
///         "0.000100   |---- ACK ack=1 ------------X |\n",
///     )
/// );
/// ```
///
/// The time at the left is the instant at the arrow's left end, the time
/// at the right the instant at its right end: for two hosts, each side
/// shows its own host's clock, the sending time at the tail and the
/// arrival time at the head. A lost segment's arrow ends in `X` short of
/// the receiver and has no arrival time. An arrow between hosts that are
/// not neighbours crosses the lifelines between them; an arrow from a host
/// to itself is drawn `|<-'`. Columns are as wide as the longest label
/// needs (labels past [`TEXT_LABEL_MAX`] characters are shortened), so
/// every arrow has the same layout: its label starts five characters after
/// its left end. Times have six decimals, nine if any instant is not a
/// whole microsecond.
pub fn text(participants: &[String], arrows: &[Arrow]) -> String {
    let cols = Columns::new(participants, arrows);
    if cols.names.is_empty() {
        return String::new();
    }
    let clock = Clock::new(arrows);
    let arrows = by_sent(arrows);
    let labels: Vec<Vec<char>> = arrows
        .iter()
        .map(|a| clean(&a.label, TEXT_LABEL_MAX).chars().collect())
        .collect();
    let names: Vec<Vec<char>> = cols
        .names
        .iter()
        .map(|n| clean(n, NAME_MAX).chars().collect())
        .collect();
    let longest_label = labels.iter().map(Vec::len).max().unwrap_or(0);
    let longest_name = names.iter().map(Vec::len).max().unwrap_or(0);
    // Columns between two lifelines: "|<--- " + label + " ---->|" needs
    // label + 10; names need room to sit side by side.
    let gap = (longest_label + 10).max(longest_name + 2).max(16);
    let xs: Vec<usize> = (0..cols.names.len()).map(|i| i * (gap + 1)).collect();
    let last_x = xs[xs.len() - 1];
    let mut width = last_x + 1;
    for (a, l) in arrows.iter().zip(&labels) {
        if a.from == a.to {
            width = width.max(xs[cols.of(&a.from)] + 5 + l.len());
        }
    }
    let times: Vec<(String, String)> = arrows
        .iter()
        .map(|a| {
            let (f, t) = (cols.of(&a.from), cols.of(&a.to));
            let sent = clock.fmt(a.sent);
            let arrived = a.arrived.map(|t| clock.fmt(t)).unwrap_or_default();
            if t < f {
                (arrived, sent)
            } else {
                (sent, arrived)
            }
        })
        .collect();
    let tw = times
        .iter()
        .flat_map(|(l, r)| [l.len(), r.len()])
        .max()
        .unwrap_or(0);
    // Left margin: the times, right-aligned, then three spaces.
    let margin = if tw == 0 { 0 } else { tw + 3 };

    let lifelines = || {
        let mut row = vec![' '; width];
        for &x in &xs {
            row[x] = '|';
        }
        row
    };
    let mut out = String::new();
    // Names centred over their lifelines, in a row that may start left of
    // the first lifeline (into the margin) or run past the last.
    let mut header = vec![' '; margin + width + NAME_MAX];
    for (name, &x) in names.iter().zip(&xs) {
        let start = (margin + x).saturating_sub(name.len() / 2);
        header[start..start + name.len()].copy_from_slice(name);
    }
    let header: String = header.into_iter().collect();
    out.push_str(header.trim_end());
    out.push('\n');
    let mut push_line = |left: &str, row: &[char], right: &str| {
        let mut line = format!("{left:>tw$}");
        line.push_str(&" ".repeat(margin - tw.min(margin)));
        line.extend(row.iter());
        if !right.is_empty() {
            line.push_str("   ");
            line.push_str(right);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };

    push_line("", &lifelines(), "");

    for ((a, label), (left, right)) in arrows.iter().zip(&labels).zip(&times) {
        let mut row = lifelines();
        let (f, t) = (xs[cols.of(&a.from)], xs[cols.of(&a.to)]);
        let lost = a.arrived.is_none();
        if f == t {
            row[f + 1..f + 4].copy_from_slice(&['<', '-', '\'']);
            row[f + 5..f + 5 + label.len()].copy_from_slice(label);
            push_line(left, &row, right);
            continue;
        }
        let (l, r) = (f.min(t), f.max(t));
        for c in &mut row[l + 1..r] {
            *c = '-';
        }
        if t > f {
            if lost {
                row[r - 2] = 'X';
                row[r - 1] = ' ';
            } else {
                row[r - 1] = '>';
            }
        } else if lost {
            row[l + 1] = ' ';
            row[l + 2] = 'X';
        } else {
            row[l + 1] = '<';
        }
        row[l + 5] = ' ';
        row[l + 6..l + 6 + label.len()].copy_from_slice(label);
        row[l + 6 + label.len()] = ' ';
        push_line(left, &row, right);
    }
    out
}

/// A coordinate, printed with at most one decimal (`82`, `416.4`), so the
/// SVG does not carry floating-point noise such as `440.40000000000003`.
struct P(f64);

impl std::fmt::Display for P {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = format!("{:.1}", self.0);
        let s = s.strip_suffix(".0").unwrap_or(&s);
        f.write_str(if s == "-0" { "0" } else { s })
    }
}

/// Escapes text for XML character data and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

// Geometry of the SVG, in pixels.
/// Width of a character of the 12px monospace font.
const CHAR_W: f64 = 7.2;
/// Top of the host boxes.
const TOP: f64 = 16.0;
/// Height of a host box.
const BOX_H: f64 = 28.0;
/// First instant's distance below the host boxes.
const FIRST: f64 = 34.0;
/// Vertical distance between arrows sent at the same instant.
const ROW: f64 = 24.0;
/// Least vertical distance between consecutive instants.
const MIN_STEP: f64 = 20.0;
/// Most vertical distance between consecutive instants; longer pauses are
/// drawn this tall with a break mark on the lifelines.
const MAX_STEP: f64 = 96.0;
/// What the typical one-way delay is drawn as.
const TYPICAL_DROP: f64 = 60.0;
/// How far along its way a lost segment's arrow ends.
const LOST_FRACTION: f64 = 0.6;

/// Places instants on the page: `y(t)` grows with time, by an amount
/// proportional to the time elapsed, scaled so the median one-way delay is
/// [`TYPICAL_DROP`] pixels, but never less than [`MIN_STEP`] (so labels do
/// not collide) nor more than [`MAX_STEP`] (so a long timeout does not
/// push the rest off the page). An instant at which several arrows leave
/// gets one row per arrow.
struct Timeline {
    /// Each distinct instant and the y of its first row.
    rows: Vec<(Nanos, f64)>,
    /// The y just after which a pause was shortened to [`MAX_STEP`].
    breaks: Vec<f64>,
    /// Pixels per nanosecond.
    scale: f64,
    bottom: f64,
}

impl Timeline {
    fn new(arrows: &[&Arrow]) -> Timeline {
        let mut delays: Vec<Nanos> = arrows
            .iter()
            .filter_map(|a| a.arrived.map(|t| t.saturating_sub(a.sent)))
            .filter(|&d| d > 0)
            .collect();
        delays.sort_unstable();
        let scale = match delays.get(delays.len() / 2) {
            Some(&median) => TYPICAL_DROP / median as f64,
            None => 0.0,
        };
        let mut instants: Vec<Nanos> = arrows
            .iter()
            .flat_map(|a| [Some(a.sent), a.arrived])
            .flatten()
            .collect();
        instants.sort_unstable();
        instants.dedup();
        let first = TOP + BOX_H + FIRST;
        let mut rows = Vec::with_capacity(instants.len());
        let mut breaks = Vec::new();
        let mut sends: HashMap<Nanos, usize> = HashMap::new();
        for a in arrows {
            *sends.entry(a.sent).or_insert(0) += 1;
        }
        let mut y = first;
        let mut prev: Option<(Nanos, usize)> = None;
        for t in instants {
            if let Some((pt, sends)) = prev {
                let own = sends.saturating_sub(1) as f64 * ROW;
                let want = (t - pt) as f64 * scale;
                if want > MAX_STEP {
                    breaks.push(y + own + MAX_STEP / 2.0);
                }
                y += own + want.clamp(MIN_STEP, MAX_STEP);
            }
            y = (y * 10.0).round() / 10.0;
            rows.push((t, y));
            prev = Some((t, sends.get(&t).copied().unwrap_or(0)));
        }
        let tail = prev.map_or(0.0, |(_, s)| s.saturating_sub(1) as f64 * ROW);
        Timeline {
            rows,
            breaks,
            scale,
            bottom: y + tail + 30.0,
        }
    }

    /// The y of an instant's first row.
    fn y(&self, t: Nanos) -> f64 {
        match self.rows.binary_search_by_key(&t, |r| r.0) {
            Ok(i) => self.rows[i].1,
            Err(_) => self.bottom,
        }
    }

    /// How far down a lost segment would have arrived: its typical delay.
    fn typical_drop(&self) -> f64 {
        if self.scale > 0.0 {
            TYPICAL_DROP
        } else {
            MIN_STEP * 2.0
        }
    }
}

/// A standalone SVG figure of the same diagram [`text`] draws: a box with
/// each host's name over a dashed lifeline, time running down; each
/// arrow a line from the sender's lifeline at the instant it was sent to
/// the receiver's at the instant it arrived, so its slant is the delay;
/// its label along it, above the line; the instants at the left. A lost
/// segment is a red line that stops part of the way across and ends in a
/// cross. The vertical scale makes the median delay 60 pixels, and
/// squeezes long pauses (a retransmission timeout) to at most 96 pixels,
/// marking the lifelines where it did; arrows that leave at the same
/// instant are drawn one under the other. Labels past [`SVG_LABEL_MAX`]
/// characters are shortened; all text is escaped for XML.
pub fn svg(participants: &[String], arrows: &[Arrow]) -> String {
    let cols = Columns::new(participants, arrows);
    let clock = Clock::new(arrows);
    let arrows = by_sent(arrows);
    let labels: Vec<String> = arrows
        .iter()
        .map(|a| clean(&a.label, SVG_LABEL_MAX))
        .collect();
    let names: Vec<String> = cols.names.iter().map(|n| clean(n, NAME_MAX)).collect();
    let longest_label = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let longest_name = names.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let gap = (longest_label as f64 * CHAR_W + 56.0)
        .max(longest_name as f64 * CHAR_W + 40.0)
        .max(200.0)
        .round();
    let time_w = arrows
        .iter()
        .flat_map(|a| [Some(a.sent), a.arrived])
        .flatten()
        .map(|t| clock.fmt(t).len() as f64 * CHAR_W)
        .fold(0.0, f64::max);
    let box_w = (longest_name as f64 * CHAR_W + 24.0).max(72.0).round();
    let left = (time_w + 24.0).max(box_w / 2.0 + 12.0).round();
    let xs: Vec<f64> = (0..cols.names.len())
        .map(|i| left + i as f64 * gap)
        .collect();
    let timeline = Timeline::new(&arrows);
    let mut right = xs.last().copied().unwrap_or(left) + box_w / 2.0 + 12.0;
    for (a, l) in arrows.iter().zip(&labels) {
        if a.from == a.to {
            let x = xs[cols.of(&a.from)];
            right = right.max(x + 44.0 + l.chars().count() as f64 * CHAR_W + 12.0);
        }
    }
    let width = right.round();
    let height = timeline.bottom.round();

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="12">"#
    );
    s.push_str(concat!(
        "<style>\n",
        ".host { fill: #f4f6fa; stroke: #2b3a55; stroke-width: 1.2; }\n",
        ".name { fill: #1b2333; font-weight: bold; text-anchor: middle; }\n",
        ".life { stroke: #8a94a6; stroke-width: 1; stroke-dasharray: 4 3; }\n",
        ".brk { stroke: #8a94a6; stroke-width: 1.2; fill: none; }\n",
        ".time { fill: #5b6478; font-size: 11px; text-anchor: end; }\n",
        ".tick { stroke: #d5d9e2; stroke-width: 1; }\n",
        ".seg { stroke: #1f4e9c; stroke-width: 1.4; fill: none; }\n",
        ".lost { stroke: #c0392b; stroke-width: 1.4; fill: none; }\n",
        ".label, .lostlabel { text-anchor: middle; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }\n",
        ".label { fill: #1b2333; }\n",
        ".lostlabel { fill: #c0392b; }\n",
        "</style>\n",
        "<defs>\n",
        "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">",
        "<path d=\"M0,1 L10,5 L0,9 z\" fill=\"#1f4e9c\"/></marker>\n",
        "</defs>\n",
    ));
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
    );

    // Hosts and lifelines.
    for (name, &x) in names.iter().zip(&xs) {
        let x = P(x);
        let _ = writeln!(
            s,
            r#"<line class="life" x1="{x}" y1="{}" x2="{x}" y2="{}"/>"#,
            TOP + BOX_H,
            height - 8.0
        );
        let _ = writeln!(
            s,
            r#"<rect class="host" x="{}" y="{TOP}" width="{box_w}" height="{BOX_H}" rx="4"/>"#,
            P(x.0 - box_w / 2.0)
        );
        let _ = writeln!(
            s,
            r#"<text class="name" x="{x}" y="{}">{}</text>"#,
            TOP + BOX_H / 2.0 + 4.0,
            xml(name)
        );
    }
    // Shortened pauses: a white gap with two slashes across each lifeline.
    for &y in &timeline.breaks {
        for &x in &xs {
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="16" height="8" fill="#ffffff"/><path class="brk" d="M{},{} l10,-4 M{},{} l10,-4"/>"##,
                P(x - 8.0),
                P(y - 4.0),
                P(x - 5.0),
                P(y + 1.0),
                P(x - 5.0),
                P(y + 5.0),
            );
        }
    }

    // Where each arrow starts: the instant's row, one row further down for
    // each arrow that left earlier at the same instant.
    let mut earlier: HashMap<Nanos, usize> = HashMap::new();
    let starts: Vec<f64> = arrows
        .iter()
        .map(|a| {
            let k = earlier.entry(a.sent).or_insert(0);
            *k += 1;
            timeline.y(a.sent) + (*k - 1) as f64 * ROW
        })
        .collect();

    // The instants, at the left, once per height, with a faint tick.
    let mut marks: Vec<(f64, Nanos)> = Vec::new();
    for (a, &y0) in arrows.iter().zip(&starts) {
        marks.push((y0, a.sent));
        if let Some(t) = a.arrived {
            marks.push((timeline.y(t).max(y0), t));
        }
    }
    marks.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
    marks.dedup_by(|p, q| (p.0 - q.0).abs() < 0.5);
    let (first_x, last_x) = (
        xs.first().copied().unwrap_or(left),
        xs.last().copied().unwrap_or(left),
    );
    for (y, t) in marks {
        let (y, last_x) = (P(y), P(last_x));
        let _ = writeln!(
            s,
            r#"<line class="tick" x1="{}" y1="{y}" x2="{last_x}" y2="{y}"/><text class="time" x="{}" y="{}">{}</text>"#,
            P(first_x - 6.0),
            P(first_x - 12.0),
            P(y.0 + 4.0),
            clock.fmt(t)
        );
    }

    // The arrows.
    for ((a, label), &y0) in arrows.iter().zip(&labels).zip(&starts) {
        let (x0, x1) = (xs[cols.of(&a.from)], xs[cols.of(&a.to)]);
        let label = xml(label);
        let (px0, py0) = (P(x0), P(y0));
        if x0 == x1 {
            let y1 = a
                .arrived
                .map_or(y0 + ROW * 0.75, |t| timeline.y(t).max(y0 + ROW * 0.75));
            let class = if a.arrived.is_some() { "seg" } else { "lost" };
            let end = if a.arrived.is_some() {
                r#" marker-end="url(#head)""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<path class="{class}" d="M{px0},{py0} h32 V{} H{}"{end}/>"#,
                P(y1),
                P(x0 + 1.0)
            );
            let _ = writeln!(
                s,
                r#"<text class="label" style="text-anchor: start" x="{}" y="{}">{label}</text>"#,
                P(x0 + 40.0),
                P((y0 + y1) / 2.0 + 4.0)
            );
            continue;
        }
        let (ex, ey, class, text_class) = match a.arrived {
            Some(t) => (x1, timeline.y(t).max(y0), "seg", "label"),
            None => (
                x0 + (x1 - x0) * LOST_FRACTION,
                y0 + timeline.typical_drop() * LOST_FRACTION,
                "lost",
                "lostlabel",
            ),
        };
        let (pex, pey) = (P(ex), P(ey));
        if a.arrived.is_some() {
            let _ = writeln!(
                s,
                r#"<line class="{class}" x1="{px0}" y1="{py0}" x2="{pex}" y2="{pey}" marker-end="url(#head)"/>"#
            );
        } else {
            let _ = writeln!(
                s,
                r#"<line class="{class}" x1="{px0}" y1="{py0}" x2="{pex}" y2="{pey}"/><path class="{class}" style="stroke-width: 2" d="M{},{} l10,10 M{},{} l10,-10"/>"#,
                P(ex - 5.0),
                P(ey - 5.0),
                P(ex - 5.0),
                P(ey + 5.0)
            );
        }
        // The label runs along the arrow, centred on the part drawn and
        // lifted off it, reading left to right whichever way the arrow
        // points; a white halo keeps it legible where another arrow
        // crosses.
        let (mx, my) = ((x0 + ex) / 2.0, (y0 + ey) / 2.0);
        let (dx, dy) = if ex >= x0 {
            (ex - x0, ey - y0)
        } else {
            (x0 - ex, y0 - ey)
        };
        let _ = writeln!(
            s,
            r#"<text class="{text_class}" transform="translate({} {}) rotate({:.2})" y="-5">{label}</text>"#,
            P(mx),
            P(my),
            dy.atan2(dx).to_degrees()
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::time::us;
    use proptest::prelude::*;

    fn hosts() -> Vec<String> {
        vec!["client".to_string(), "server".to_string()]
    }

    /// A connection over a link with 50 us one-way delay: handshake, a
    /// request, its answer, a lost segment and its retransmission after a
    /// 200 ms timeout, and the close.
    fn handshake_data_fin() -> Vec<Arrow> {
        vec![
            Arrow::delivered(
                "client",
                "server",
                0,
                us(50),
                "SYN seq=0 win=65535 <mss 1460>",
            ),
            Arrow::delivered(
                "server",
                "client",
                us(50),
                us(100),
                "SYN,ACK seq=0 ack=1 <mss 1460>",
            ),
            Arrow::delivered("client", "server", us(100), us(150), "ACK ack=1"),
            Arrow::delivered(
                "client",
                "server",
                us(100),
                us(152),
                "PSH,ACK seq=1:6 ack=1 (5)",
            ),
            Arrow::delivered("server", "client", us(152), us(202), "ACK ack=6"),
            Arrow::lost("server", "client", us(160), "PSH,ACK seq=1:101 ack=6 (100)"),
            Arrow::delivered(
                "server",
                "client",
                us(200_160),
                us(200_212),
                "PSH,ACK seq=1:101 ack=6 (100)",
            ),
            Arrow::delivered(
                "client",
                "server",
                us(200_212),
                us(200_262),
                "FIN,ACK seq=6 ack=101",
            ),
            Arrow::delivered(
                "server",
                "client",
                us(200_262),
                us(200_312),
                "FIN,ACK seq=101 ack=7",
            ),
            Arrow::delivered("client", "server", us(200_312), us(200_362), "ACK ack=102"),
        ]
    }

    #[test]
    fn text_golden() {
        insta::assert_snapshot!(text(&hosts(), &handshake_data_fin()), @r##"
        client                                   server
           |                                        |
0.000000   |---- SYN seq=0 win=65535 <mss 1460> --->|   0.000050
0.000100   |<--- SYN,ACK seq=0 ack=1 <mss 1460> ----|   0.000050
0.000100   |---- ACK ack=1 ------------------------>|   0.000150
0.000100   |---- PSH,ACK seq=1:6 ack=1 (5) -------->|   0.000152
0.000202   |<--- ACK ack=6 -------------------------|   0.000152
           | X-- PSH,ACK seq=1:101 ack=6 (100) -----|   0.000160
0.200212   |<--- PSH,ACK seq=1:101 ack=6 (100) -----|   0.200160
0.200212   |---- FIN,ACK seq=6 ack=101 ------------>|   0.200262
0.200312   |<--- FIN,ACK seq=101 ack=7 -------------|   0.200262
0.200312   |---- ACK ack=102 ---------------------->|   0.200362
"##);
    }

    #[test]
    fn text_three_hosts_and_odd_arrows() {
        let hosts = vec!["a".to_string(), "router".to_string(), "b".to_string()];
        let arrows = vec![
            Arrow::delivered("a", "b", 0, 1_500, "a to b, across the router"),
            Arrow::lost("b", "a", 2_000, "lost on the way back"),
            Arrow::delivered("router", "router", 3_000, 3_001, "timer"),
            Arrow::delivered("b", "c", 4_000, 5_000, "to a host not listed"),
        ];
        insta::assert_snapshot!(text(&hosts, &arrows), @r##"
              a                                router                                 b                                   c
              |                                   |                                   |                                   |
0.000000000   |---- a to b, across the router --------------------------------------->|                                   |   0.000001500
              | X-- lost on the way back ---------------------------------------------|                                   |   0.000002000
0.000003000   |                                   |<-' timer                          |                                   |   0.000003001
0.000004000   |                                   |                                   |---- to a host not listed -------->|   0.000005000
"##);
    }

    #[test]
    fn svg_golden() {
        insta::assert_snapshot!(svg(&hosts(), &handshake_data_fin()), @r##"
<svg xmlns="http://www.w3.org/2000/svg" width="402" height="741" viewBox="0 0 402 741" font-family="ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="12">
<style>
.host { fill: #f4f6fa; stroke: #2b3a55; stroke-width: 1.2; }
.name { fill: #1b2333; font-weight: bold; text-anchor: middle; }
.life { stroke: #8a94a6; stroke-width: 1; stroke-dasharray: 4 3; }
.brk { stroke: #8a94a6; stroke-width: 1.2; fill: none; }
.time { fill: #5b6478; font-size: 11px; text-anchor: end; }
.tick { stroke: #d5d9e2; stroke-width: 1; }
.seg { stroke: #1f4e9c; stroke-width: 1.4; fill: none; }
.lost { stroke: #c0392b; stroke-width: 1.4; fill: none; }
.label, .lostlabel { text-anchor: middle; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
.label { fill: #1b2333; }
.lostlabel { fill: #c0392b; }
</style>
<defs>
<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="#1f4e9c"/></marker>
</defs>
<rect x="0" y="0" width="402" height="741" fill="#ffffff"/>
<line class="life" x1="82" y1="44" x2="82" y2="733"/>
<rect class="host" x="46" y="16" width="72" height="28" rx="4"/>
<text class="name" x="82" y="34">client</text>
<line class="life" x1="354" y1="44" x2="354" y2="733"/>
<rect class="host" x="318" y="16" width="72" height="28" rx="4"/>
<text class="name" x="354" y="34">server</text>
<rect x="74" y="416.4" width="16" height="8" fill="#ffffff"/><path class="brk" d="M77,421.4 l10,-4 M77,425.4 l10,-4"/>
<rect x="346" y="416.4" width="16" height="8" fill="#ffffff"/><path class="brk" d="M349,421.4 l10,-4 M349,425.4 l10,-4"/>
<line class="tick" x1="76" y1="78" x2="354" y2="78"/><text class="time" x="70" y="82">0.000000</text>
<line class="tick" x1="76" y1="138" x2="354" y2="138"/><text class="time" x="70" y="142">0.000050</text>
<line class="tick" x1="76" y1="198" x2="354" y2="198"/><text class="time" x="70" y="202">0.000100</text>
<line class="tick" x1="76" y1="222" x2="354" y2="222"/><text class="time" x="70" y="226">0.000100</text>
<line class="tick" x1="76" y1="282" x2="354" y2="282"/><text class="time" x="70" y="286">0.000150</text>
<line class="tick" x1="76" y1="302" x2="354" y2="302"/><text class="time" x="70" y="306">0.000152</text>
<line class="tick" x1="76" y1="322" x2="354" y2="322"/><text class="time" x="70" y="326">0.000160</text>
<line class="tick" x1="76" y1="372.4" x2="354" y2="372.4"/><text class="time" x="70" y="376.4">0.000202</text>
<line class="tick" x1="76" y1="468.4" x2="354" y2="468.4"/><text class="time" x="70" y="472.4">0.200160</text>
<line class="tick" x1="76" y1="530.8" x2="354" y2="530.8"/><text class="time" x="70" y="534.8">0.200212</text>
<line class="tick" x1="76" y1="590.8" x2="354" y2="590.8"/><text class="time" x="70" y="594.8">0.200262</text>
<line class="tick" x1="76" y1="650.8" x2="354" y2="650.8"/><text class="time" x="70" y="654.8">0.200312</text>
<line class="tick" x1="76" y1="710.8" x2="354" y2="710.8"/><text class="time" x="70" y="714.8">0.200362</text>
<line class="seg" x1="82" y1="78" x2="354" y2="138" marker-end="url(#head)"/>
<text class="label" transform="translate(218 108) rotate(12.44)" y="-5">SYN seq=0 win=65535 &lt;mss 1460&gt;</text>
<line class="seg" x1="354" y1="138" x2="82" y2="198" marker-end="url(#head)"/>
<text class="label" transform="translate(218 168) rotate(-12.44)" y="-5">SYN,ACK seq=0 ack=1 &lt;mss 1460&gt;</text>
<line class="seg" x1="82" y1="198" x2="354" y2="282" marker-end="url(#head)"/>
<text class="label" transform="translate(218 240) rotate(17.16)" y="-5">ACK ack=1</text>
<line class="seg" x1="82" y1="222" x2="354" y2="302" marker-end="url(#head)"/>
<text class="label" transform="translate(218 262) rotate(16.39)" y="-5">PSH,ACK seq=1:6 ack=1 (5)</text>
<line class="seg" x1="354" y1="302" x2="82" y2="372.4" marker-end="url(#head)"/>
<text class="label" transform="translate(218 337.2) rotate(-14.51)" y="-5">ACK ack=6</text>
<line class="lost" x1="354" y1="322" x2="190.8" y2="358"/><path class="lost" style="stroke-width: 2" d="M185.8,353 l10,10 M185.8,363 l10,-10"/>
<text class="lostlabel" transform="translate(272.4 340) rotate(-12.44)" y="-5">PSH,ACK seq=1:101 ack=6 (100)</text>
<line class="seg" x1="354" y1="468.4" x2="82" y2="530.8" marker-end="url(#head)"/>
<text class="label" transform="translate(218 499.6) rotate(-12.92)" y="-5">PSH,ACK seq=1:101 ack=6 (100)</text>
<line class="seg" x1="82" y1="530.8" x2="354" y2="590.8" marker-end="url(#head)"/>
<text class="label" transform="translate(218 560.8) rotate(12.44)" y="-5">FIN,ACK seq=6 ack=101</text>
<line class="seg" x1="354" y1="590.8" x2="82" y2="650.8" marker-end="url(#head)"/>
<text class="label" transform="translate(218 620.8) rotate(-12.44)" y="-5">FIN,ACK seq=101 ack=7</text>
<line class="seg" x1="82" y1="650.8" x2="354" y2="710.8" marker-end="url(#head)"/>
<text class="label" transform="translate(218 680.8) rotate(12.44)" y="-5">ACK ack=102</text>
</svg>
"##);
    }

    #[test]
    fn empty_input() {
        assert_eq!(text(&[], &[]), "");
        let t = text(&hosts(), &[]);
        assert_eq!(t.lines().count(), 2);
        let s = svg(&[], &[]);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        check_well_formed(&s);
        check_well_formed(&svg(&hosts(), &[]));
    }

    #[test]
    fn huge_labels_keep_the_layout() {
        let long = "x".repeat(10_000);
        let arrows = vec![
            Arrow::delivered("client", "server", 0, 10, long.clone()),
            Arrow::delivered("server", "client", 10, 20, "short"),
        ];
        let t = text(&hosts(), &arrows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[2].contains(&format!("{}...", "x".repeat(TEXT_LABEL_MAX - 3))));
        // Lifelines stay in the same column on every line.
        let bar = |l: &str| {
            l.char_indices()
                .filter(|c| c.1 == '|')
                .map(|c| c.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(bar(lines[1]), bar(lines[2]));
        assert_eq!(bar(lines[1]), bar(lines[3]));
        let s = svg(&hosts(), &arrows);
        assert!(s.contains(&format!("{}...", "x".repeat(SVG_LABEL_MAX - 3))));
        assert!(!s.contains(&"x".repeat(SVG_LABEL_MAX)));
        check_well_formed(&s);
    }

    #[test]
    fn text_is_cleaned_and_escaped() {
        let hosts = vec!["<a&b>".to_string(), "\"q\" 'r'".to_string()];
        let arrows = vec![Arrow::lost(
            "<a&b>",
            "\"q\" 'r'",
            0,
            "line\nbreak\ttab\u{1b}[31m <x> & \u{FFFF}",
        )];
        let t = text(&hosts, &arrows);
        assert!(t.contains("line break tab [31m <x> &  "), "{t}");
        assert_eq!(t.lines().count(), 3);
        let s = svg(&hosts, &arrows);
        assert!(s.contains("&lt;a&amp;b&gt;") && s.contains("&quot;q&quot; &apos;r&apos;"));
        assert!(s.contains("line break tab [31m &lt;x&gt; &amp;  "));
        check_well_formed(&s);
    }

    #[test]
    fn nanosecond_times_get_nine_digits() {
        let arrows = vec![Arrow::delivered("client", "server", 1, 1_000_000_002, "x")];
        let t = text(&hosts(), &arrows);
        assert!(
            t.contains("0.000000001") && t.contains("1.000000002"),
            "{t}"
        );
        assert!(svg(&hosts(), &arrows).contains(">1.000000002<"));
    }

    #[test]
    fn deterministic() {
        let a = handshake_data_fin();
        assert_eq!(text(&hosts(), &a), text(&hosts(), &a));
        assert_eq!(svg(&hosts(), &a), svg(&hosts(), &a));
    }

    /// A minimal XML well-formedness check: every tag closes, in order,
    /// attributes are quoted, and `&` only starts one of the five entities.
    fn check_well_formed(doc: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = doc;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            check_text(text);
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("empty tag");
            assert!(
                tag.matches('"').count() % 2 == 0,
                "unbalanced quotes in <{tag}>"
            );
            let attrs: String = tag.split('"').step_by(2).collect();
            assert!(
                !attrs.contains('<') && !attrs.contains('\''),
                "bad attribute in <{tag}>"
            );
            check_text(&tag.split('"').skip(1).step_by(2).collect::<String>());
            if !self_closing {
                stack.push(name);
            }
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn check_text(text: &str) {
        assert!(!text.contains('<'), "bare < in {text:?}");
        let mut parts = text.split('&');
        parts.next();
        for p in parts {
            assert!(
                ["amp;", "lt;", "gt;", "quot;", "apos;"]
                    .iter()
                    .any(|e| p.starts_with(e)),
                "bare & in {text:?}"
            );
        }
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control character in {text:?}"
        );
    }

    /// The real XML parser, where there is one: python3's minidom must
    /// accept the document.
    #[test]
    fn svg_parses_as_xml() {
        let doc = svg(&hosts(), &handshake_data_fin());
        check_well_formed(&doc);
        let run = std::process::Command::new("python3")
            .arg("-c")
            .arg("import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.buffer.read()); print(d.documentElement.tagName)")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let mut child = match run {
            Ok(c) => c,
            Err(e) => {
                println!(
                    "note: python3 not available ({e}); checked with the built-in checker only"
                );
                return;
            }
        };
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(doc.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "svg");
    }

    fn any_arrow() -> impl Strategy<Value = Arrow> {
        let name = prop_oneof![
            Just("client".to_string()),
            Just("server".to_string()),
            "[a-z<&]{0,30}",
        ];
        (
            any::<u64>(),
            proptest::option::of(any::<u64>()),
            name.clone(),
            name,
            ".{0,200}",
        )
            .prop_map(|(sent, arrived, from, to, label)| Arrow {
                sent,
                arrived,
                from,
                to,
                label,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_panics_and_stays_aligned(
            participants in proptest::collection::vec("[a-z]{0,40}", 0..4),
            arrows in proptest::collection::vec(any_arrow(), 0..12),
        ) {
            let t = text(&participants, &arrows);
            if !t.is_empty() {
                prop_assert_eq!(t.lines().count(), arrows.len() + 2);
            }
            let s = svg(&participants, &arrows);
            check_well_formed(&s);
        }
    }
}
