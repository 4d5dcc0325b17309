//! The parser for packetdrill scripts: text in, [`Script`] out.
//!
//! A small lexer cuts the text into tokens by the rules of packetdrill's
//! `lexer.l` (words, integers, floats, strings, backquoted commands,
//! `%{ }%` blocks, `--options`, `//` and `/* */` comments), and a
//! recursive-descent parser follows the productions of `parser.y` that
//! [`crate::script`] can express. Like the real tool it ignores line
//! breaks between tokens, so an expression may span lines; the line
//! numbers are kept for the events and for the errors. What the AST has
//! no room for is kept as text: a non-TCP packet line, a TCP option such
//! as `FO abcd1234`, an `inet6_addr("::1")`.
//!
//! The checks `parser.y` makes while parsing are made here too (a time
//! range that goes backwards, `*` or a range on anything but an outbound
//! packet, `<...>` on an inbound packet, values out of their field's
//! range, sequence numbers that disagree with the length), so that a
//! script the real tool would refuse is refused with a line number.

use std::fmt;

use crate::script::{
    Action, Direction, Event, EventTime, Expr, Packet, Script, Syscall, TcpOption, TcpOptions,
};

/// A parse error: the line (1-based) and what was wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// The line the problem was found on.
    pub line: usize,
    /// What was wrong, in words.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole packetdrill script.
pub fn parse(text: &str) -> Result<Script, ParseError> {
    Parser::new(text).script()
}

/// Builds an error at `line`.
fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

// ---------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A decimal integer, with its `-` when written (`-1`).
    Int(i64),
    /// A hexadecimal integer (`0x2`).
    Hex(i64),
    /// A number with a fraction (`0.100`, `.1`).
    Float(f64),
    /// A run of letters, digits and underscores (`SOCK_STREAM`, `abcd1234`),
    /// or a dotted IPv4 address.
    Word(String),
    /// A `"..."` string, without the quotes, escapes left as written.
    Str(String),
    /// A backquoted shell command, without the backquotes.
    Command(String),
    /// A `%{ ... }%` block, without the delimiters and the spaces and tabs
    /// next to them (as the real lexer does, for Python's sake).
    Code(String),
    /// `--name` or `--name=value`.
    Opt(String, Option<String>),
    /// `...`.
    Ellipsis,
    /// Any other single character: `<`, `(`, `,`, `=`, `+`, ...
    Punct(char),
    /// The end of the text.
    Eof,
}

/// A token and where it was: its first line and its byte range.
#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
    start: usize,
    end: usize,
}

/// Cuts the text into tokens, one at a time.
struct Lexer<'a> {
    src: &'a str,
    /// The byte offset of the next character to read.
    pos: usize,
    /// The line `pos` is on.
    line: usize,
}

/// Whether `b` may be part of a word (`[A-Za-z0-9_]`, as in `lexer.l`).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
        }
    }

    /// The byte at `at`, if any.
    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    /// Whether the byte at `at` is an ASCII digit.
    fn digit_at(&self, at: usize) -> bool {
        self.byte(at).is_some_and(|b| b.is_ascii_digit())
    }

    /// The offset of the first byte at or after `from` that is not `pred`.
    fn scan(&self, from: usize, pred: impl Fn(u8) -> bool) -> usize {
        let bytes = self.src.as_bytes();
        let mut at = from;
        while at < bytes.len() && pred(bytes[at]) {
            at += 1;
        }
        at
    }

    /// The text between two offsets (empty if they are not on character
    /// boundaries, which token offsets always are).
    fn text(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    /// Moves to `end`, counting the line breaks passed over.
    fn advance_to(&mut self, end: usize) {
        self.line += self.text(self.pos, end).matches('\n').count();
        self.pos = end;
    }

    /// Skips blanks, `// ...` and `/* ... */` comments.
    fn skip_blanks(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.byte(self.pos), self.byte(self.pos + 1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n'), _) => self.advance_to(self.pos + 1),
                (Some(b'/'), Some(b'/')) => {
                    let end = self.scan(self.pos, |b| b != b'\n');
                    self.pos = end;
                }
                (Some(b'/'), Some(b'*')) => {
                    let Some(len) = self.text(self.pos + 2, self.src.len()).find("*/") else {
                        return Err(error(self.line, "unterminated /* comment (no closing */)"));
                    };
                    self.advance_to(self.pos + 2 + len + 2);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads the next token.
    fn next_token(&mut self) -> Result<Token, ParseError> {
        let end_of_last = self.line;
        self.skip_blanks()?;
        let start = self.pos;
        // The end is reported on the last line with something on it.
        let line = if start == self.src.len() {
            end_of_last
        } else {
            self.line
        };
        let rest = self.text(start, self.src.len());
        let first = self.byte(start);
        let tok = if rest.is_empty() {
            Tok::Eof
        } else if rest.starts_with("...") {
            self.pos += 3;
            Tok::Ellipsis
        } else if rest.starts_with("%{") {
            self.code()?
        } else if rest.starts_with("--") && self.byte(start + 2).is_some_and(is_word_byte) {
            self.option()?
        } else if first == Some(b'"') {
            Tok::Str(self.quoted(b'"', "string")?)
        } else if first == Some(b'`') {
            Tok::Command(self.quoted(b'`', "backquoted command")?)
        } else if self.starts_number(start) {
            self.number()?
        } else if first.is_some_and(is_word_byte) {
            let end = self.scan(start, is_word_byte);
            self.pos = end;
            Tok::Word(self.text(start, end).to_string())
        } else {
            let c = rest.chars().next().unwrap_or('\0');
            self.advance_to(start + c.len_utf8());
            Tok::Punct(c)
        };
        Ok(Token {
            tok,
            line,
            start,
            end: self.pos,
        })
    }

    /// Whether a number starts at `at`: a digit, `.5`, `-1` or `-.5`.
    fn starts_number(&self, at: usize) -> bool {
        let at = if self.byte(at) == Some(b'-') {
            at + 1
        } else {
            at
        };
        self.digit_at(at) || (self.byte(at) == Some(b'.') && self.digit_at(at + 1))
    }

    /// Reads a number, or a word that starts with digits (`0x2` is hex,
    /// `1st` a word; the real lexer takes the longest match the same way),
    /// or a dotted IPv4 address (as a word).
    fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let negative = self.byte(start) == Some(b'-');
        let digits_start = start + usize::from(negative);
        let int_end = self.scan(digits_start, |b| b.is_ascii_digit());
        let too_large = |line| error(line, "number too large");

        if !negative {
            let word_end = self.scan(start, is_word_byte);
            if word_end > int_end {
                self.pos = word_end;
                let text = self.text(start, word_end);
                let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
                return match hex {
                    Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        i64::from_str_radix(hex, 16)
                            .map(Tok::Hex)
                            .map_err(|_| too_large(self.line))
                    }
                    _ => Ok(Tok::Word(text.to_string())),
                };
            }
        }

        if self.byte(int_end) == Some(b'.') && self.digit_at(int_end + 1) {
            let mut end = self.scan(int_end + 1, |b| b.is_ascii_digit());
            if !negative && int_end > digits_start && self.byte(end) == Some(b'.') {
                // 192.0.2.1: an address, kept as a word.
                while self.byte(end) == Some(b'.') && self.digit_at(end + 1) {
                    end = self.scan(end + 1, |b| b.is_ascii_digit());
                }
                self.pos = end;
                return Ok(Tok::Word(self.text(start, end).to_string()));
            }
            self.pos = end;
            return self
                .text(start, end)
                .parse()
                .map(Tok::Float)
                .map_err(|_| error(self.line, "malformed number"));
        }

        self.pos = int_end;
        self.text(start, int_end)
            .parse()
            .map(Tok::Int)
            .map_err(|_| too_large(self.line))
    }

    /// Reads a string or backquoted command that ends at the next unescaped
    /// `delim` (possibly lines later), returning what is between.
    fn quoted(&mut self, delim: u8, what: &str) -> Result<String, ParseError> {
        let (start, line) = (self.pos, self.line);
        let bytes = self.src.as_bytes();
        let mut at = start + 1;
        while at < bytes.len() {
            match bytes[at] {
                b'\\' => at += 2,
                b if b == delim => {
                    let inside = self.text(start + 1, at).to_string();
                    self.advance_to(at + 1);
                    return Ok(inside);
                }
                _ => at += 1,
            }
        }
        Err(error(line, format!("unterminated {what}")))
    }

    /// Reads a `%{ ... }%` block, which ends at the first `}%`.
    fn code(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos + 2;
        let Some(len) = self.text(start, self.src.len()).find("}%") else {
            return Err(error(
                self.line,
                "unterminated %{ code block (no closing }%)",
            ));
        };
        let inside = self.text(start, start + len).trim_matches([' ', '\t']);
        let tok = Tok::Code(inside.to_string());
        self.advance_to(start + len + 2);
        Ok(tok)
    }

    /// Reads `--name` or `--name=value`; the value runs to the next blank,
    /// except inside quotes, and loses its quotes if it is one string.
    fn option(&mut self) -> Result<Tok, ParseError> {
        let name_start = self.pos + 2;
        let name_end = self.scan(name_start, is_word_byte);
        let name = self.text(name_start, name_end).to_string();
        self.pos = name_end;
        if self.byte(name_end) != Some(b'=') {
            return Ok(Tok::Opt(name, None));
        }
        let value_start = name_end + 1;
        let bytes = self.src.as_bytes();
        let mut at = value_start;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            if matches!(bytes[at], b'"' | b'`') {
                let close = self
                    .text(at + 1, self.src.len())
                    .find(char::from(bytes[at]));
                let Some(len) = close else {
                    return Err(error(
                        self.line,
                        format!("unterminated quote in option --{name}"),
                    ));
                };
                at += len + 1;
            }
            at += 1;
        }
        let raw = self.text(value_start, at);
        if raw.is_empty() {
            return Err(error(self.line, format!("missing value after --{name}=")));
        }
        let value = match raw.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inside) if !inside.contains('"') => inside,
            _ => raw,
        };
        let tok = Tok::Opt(name, Some(value.to_string()));
        self.advance_to(at);
        Ok(tok)
    }

    /// Reads the free text of a note up to the `)` that matches the `(`
    /// just read, and returns it with its blanks squeezed to single spaces.
    fn note(&mut self) -> Result<String, ParseError> {
        let (start, line) = (self.pos, self.line);
        let mut depth = 1;
        for (offset, b) in self.text(start, self.src.len()).bytes().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                let end = start + offset;
                let words: Vec<&str> = self.text(start, end).split_whitespace().collect();
                self.advance_to(end + 1);
                return Ok(words.join(" "));
            }
        }
        Err(error(line, "unterminated note: '(' without its ')'"))
    }
}

// ---------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------

/// The ECN codepoints a packet may carry in brackets (`[ect0]`).
const ECN_WORDS: [&str; 5] = ["noecn", "ect0", "ect1", "ect01", "ce"];

/// Characters a TCP flags word may hold (`tcp_packet.c`): flags, `.` for
/// ACK, and the digits of an AccECN ACE count.
const TCP_FLAG_CHARS: &str = ".FSRPEWAU01234567";

/// Words after the direction that make a packet something other than a
/// plain TCP segment: encapsulations, UDP, ICMP. Kept as text.
const OTHER_PACKET_WORDS: [&str; 8] = [
    "ipv4", "ipv6", "gre", "GREv0", "mpls", "encap", "udp", "icmp",
];

/// IP information in brackets other than an ECN codepoint.
const IP_INFO_WORDS: [&str; 3] = ["tos", "flowlabel", "ttl"];

/// How deep expressions may nest (`[[{...}]]`); scripts use 3 or 4.
const MAX_DEPTH: usize = 64;

/// A recursive-descent parser over the lexer, with one token of lookahead.
struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Where the last token taken ends: its byte offset and its line.
    prev_end: usize,
    prev_line: usize,
    /// How many expressions the one being read is nested in, bounded so
    /// that hostile input gives an error rather than a stack overflow.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(text),
            peeked: None,
            prev_end: 0,
            prev_line: 1,
            depth: 0,
        }
    }

    /// The next token, left in place.
    fn peek(&mut self) -> Result<&Token, ParseError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    /// The next token, taken.
    fn next(&mut self) -> Result<Token, ParseError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        // The lexer stops right after the token it read last, which is
        // this one: its line is where this token ends.
        self.prev_end = token.end;
        self.prev_line = self.lexer.line;
        Ok(token)
    }

    /// Whether the next token is `tok`.
    fn peek_is(&mut self, tok: &Tok) -> Result<bool, ParseError> {
        Ok(self.peek()?.tok == *tok)
    }

    /// Takes the next token if it is `tok`.
    fn eat(&mut self, tok: &Tok) -> Result<bool, ParseError> {
        let found = self.peek_is(tok)?;
        if found {
            self.next()?;
        }
        Ok(found)
    }

    /// Takes the next token if it is the character `c`.
    fn eat_punct(&mut self, c: char) -> Result<bool, ParseError> {
        self.eat(&Tok::Punct(c))
    }

    /// Takes the next token if it is the word `word`.
    fn eat_word(&mut self, word: &str) -> Result<bool, ParseError> {
        self.eat(&Tok::Word(word.to_string()))
    }

    /// Takes the next token, which must be `want` (a character, a word or
    /// `...`); `context` says where, for the error.
    fn expect(&mut self, want: Tok, context: &str) -> Result<Token, ParseError> {
        let token = self.next()?;
        if token.tok == want {
            return Ok(token);
        }
        let shown = match &want {
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Word(word) => format!("'{word}'"),
            Tok::Ellipsis => "'...'".to_string(),
            other => format!("{other:?}"),
        };
        Err(self.unexpected(&token, &format!("{shown} {context}")))
    }

    /// The text of the script between two offsets.
    fn text(&self, start: usize, end: usize) -> String {
        self.lexer.text(start, end).to_string()
    }

    /// How a token reads in an error message.
    fn describe(&self, token: &Token) -> String {
        match &token.tok {
            Tok::Eof => "the end of the script".to_string(),
            Tok::Str(_) => "a string".to_string(),
            Tok::Command(_) => "a backquoted command".to_string(),
            Tok::Code(_) => "a %{ }% code block".to_string(),
            Tok::Opt(name, _) => format!("the option --{name}"),
            _ => format!("'{}'", self.lexer.text(token.start, token.end)),
        }
    }

    /// "expected X, found Y" at the found token's line.
    fn unexpected(&self, found: &Token, expected: &str) -> ParseError {
        let message = format!("expected {expected}, found {}", self.describe(found));
        error(found.line, message)
    }

    /// Takes a non-negative decimal integer that must fit in `T`; `what`
    /// names it for the error.
    fn number<T: TryFrom<i64>>(&mut self, what: &str) -> Result<T, ParseError> {
        let token = self.next()?;
        match token.tok {
            Tok::Int(value) => T::try_from(value)
                .map_err(|_| error(token.line, format!("{what} {value} is out of range"))),
            _ => Err(self.unexpected(&token, &format!("{what} (a number)"))),
        }
    }

    // --- script and events ---

    /// script: options, then events (a command may stand without a time).
    fn script(mut self) -> Result<Script, ParseError> {
        let mut options = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        loop {
            let last_line = self.prev_line;
            let token = self.next()?;
            match token.tok {
                Tok::Eof => break,
                Tok::Opt(name, value) if events.is_empty() => options.push((name, value)),
                Tok::Opt(name, _) => {
                    let message = format!("option --{name} must come before the first event");
                    return Err(error(token.line, message));
                }
                _ if !events.is_empty() && token.line == last_line => {
                    let message = format!(
                        "unexpected {} after the end of the event on this line",
                        self.describe(&token)
                    );
                    return Err(error(token.line, message));
                }
                _ => events.push(self.event(token)?),
            }
        }
        Ok(Script { options, events })
    }

    /// event: time action, or a backquoted command alone (the init and
    /// cleanup commands), which happens with no delay.
    fn event(&mut self, first: Token) -> Result<Event, ParseError> {
        let line = first.line;
        if let Tok::Command(command) = first.tok {
            return Ok(Event {
                line,
                time: EventTime::Relative(0.0),
                action: Action::Command(command),
            });
        }
        let time = self.event_time(first)?;
        let action = self.action()?;
        let outbound_packet = match &action {
            Action::Packet(packet) => packet.direction == Direction::Outbound,
            Action::OtherPacket(text) => text.starts_with('>'),
            _ => false,
        };
        match time {
            EventTime::Any if !outbound_packet => Err(error(
                line,
                "event time '*' can only be used with outbound packets",
            )),
            EventTime::AbsoluteRange(..) | EventTime::RelativeRange(..) if !outbound_packet => Err(
                error(line, "a time range can only be used with outbound packets"),
            ),
            _ => Ok(Event { line, time, action }),
        }
    }

    /// event_time: `*`, `+t`, `t`, `t~t`, `+t~+t`.
    fn event_time(&mut self, first: Token) -> Result<EventTime, ParseError> {
        match first.tok {
            Tok::Punct('*') => Ok(EventTime::Any),
            Tok::Punct('+') => {
                let start = self.time("after '+'")?;
                if !self.eat_punct('~')? {
                    return Ok(EventTime::Relative(start));
                }
                self.expect(Tok::Punct('+'), "after '~' (a relative range is +a~+b)")?;
                let end = self.time("after '~+'")?;
                check_range(first.line, start, end)?;
                Ok(EventTime::RelativeRange(start, end))
            }
            Tok::Int(_) | Tok::Float(_) => {
                let start = self.time_value(&first, "")?;
                if !self.eat_punct('~')? {
                    return Ok(EventTime::Absolute(start));
                }
                let end = self.time("after '~'")?;
                check_range(first.line, start, end)?;
                Ok(EventTime::AbsoluteRange(start, end))
            }
            _ => Err(self.unexpected(&first, "an event time (like 0, +0.1 or *)")),
        }
    }

    /// Takes a time in seconds.
    fn time(&mut self, context: &str) -> Result<f64, ParseError> {
        let token = self.next()?;
        self.time_value(&token, context)
    }

    /// The seconds a number token stands for; times are never negative.
    fn time_value(&self, token: &Token, context: &str) -> Result<f64, ParseError> {
        let seconds = match token.tok {
            Tok::Int(value) => value as f64,
            Tok::Float(value) => value,
            _ => {
                let expected = format!("a time in seconds {context}");
                return Err(self.unexpected(token, expected.trim_end()));
            }
        };
        if seconds < 0.0 {
            return Err(error(token.line, "negative time"));
        }
        Ok(seconds)
    }

    /// action: a packet, a system call, a command or a code block.
    fn action(&mut self) -> Result<Action, ParseError> {
        let token = self.next()?;
        match token.tok {
            Tok::Punct('<') => self.packet(Direction::Inbound, &token),
            Tok::Punct('>') => self.packet(Direction::Outbound, &token),
            Tok::Command(command) => Ok(Action::Command(command)),
            Tok::Code(code) => Ok(Action::Code(code)),
            Tok::Ellipsis | Tok::Word(_) => self.syscall(token).map(Action::Syscall),
            _ => Err(self.unexpected(
                &token,
                "a packet ('<' or '>'), a system call, a backquoted command or a %{ }% block \
                 after the event time",
            )),
        }
    }

    // --- packets ---

    /// The rest of a packet line that the AST cannot hold, as text from
    /// its direction to the last token on its line.
    fn rest_of_line(&mut self, start: usize, line: usize) -> Result<Action, ParseError> {
        loop {
            let token = self.peek()?;
            if token.line != line || token.tok == Tok::Eof {
                break;
            }
            self.next()?;
        }
        Ok(Action::OtherPacket(self.text(start, self.prev_end)))
    }

    /// Whether the next token makes the packet a non-TCP or encapsulated
    /// one (`udp`, `icmp`, `ipv4 ... :`, ...).
    fn peek_other_packet(&mut self) -> Result<bool, ParseError> {
        Ok(matches!(&self.peek()?.tok, Tok::Word(w) if OTHER_PACKET_WORDS.contains(&w.as_str())))
    }

    /// tcp_packet_spec, after the direction: `[ecn] flags start:end(len)
    /// [ack N] [win N] [urg N] [<options>]`.
    fn packet(&mut self, direction: Direction, first: &Token) -> Result<Action, ParseError> {
        let (start, line) = (first.start, first.line);
        if self.peek_other_packet()? {
            return self.rest_of_line(start, line);
        }

        let mut ecn = None;
        for (open, close) in [('[', ']'), ('(', ')')] {
            if !self.eat_punct(open)? {
                continue;
            }
            let inner = self.next()?;
            match &inner.tok {
                Tok::Word(w) if ECN_WORDS.contains(&w.as_str()) => {
                    if !self.eat_punct(close)? {
                        // `[ect0, flowlabel 0x1]`: more IP information.
                        return self.rest_of_line(start, line);
                    }
                    ecn = Some(w.clone());
                }
                Tok::Word(w) if IP_INFO_WORDS.contains(&w.as_str()) => {
                    return self.rest_of_line(start, line);
                }
                _ => {
                    return Err(self.unexpected(&inner, "an ECN codepoint (ect0, ect1, ce, noecn)"));
                }
            }
            break;
        }
        if self.peek_other_packet()? {
            return self.rest_of_line(start, line);
        }
        if let Tok::Int(_) = self.peek()?.tok {
            // `1234>8080`: ports, which the AST has no room for.
            let number = self.next()?;
            if self.peek_is(&Tok::Punct('>'))? {
                return self.rest_of_line(start, line);
            }
            return Err(self.unexpected(&number, "TCP flags (like S, S., P., . or -)"));
        }

        let flags = self.flags()?;
        let start_seq: u32 = self.number("start sequence number")?;
        self.expect(
            Tok::Punct(':'),
            "after the start sequence number (start:end(length))",
        )?;
        let end_seq: u32 = self.number("end sequence number")?;
        self.expect(
            Tok::Punct('('),
            "after the end sequence number (start:end(length))",
        )?;
        let len: u16 = self.number("payload length")?;
        self.expect(Tok::Punct(')'), "after the payload length")?;
        if u64::from(start_seq) + u64::from(len) != u64::from(end_seq) {
            let message = format!(
                "inconsistent TCP sequence numbers and payload size: {start_seq}:{end_seq}({len})"
            );
            return Err(error(line, message));
        }

        let ack = self.field("ack", "ack number")?;
        let win = self.field::<u16>("win", "window")?.map(u32::from);
        let urg = self.field::<u16>("urg", "urgent pointer")?.map(u32::from);
        let options = if self.eat_punct('<')? {
            let options = self.tcp_options()?;
            if options == TcpOptions::Any && direction == Direction::Inbound {
                let message = "<...> for TCP options can only be used with outbound packets";
                return Err(error(line, message));
            }
            Some(options)
        } else {
            None
        };

        Ok(Action::Packet(Packet {
            direction,
            ecn,
            flags,
            start_seq,
            end_seq,
            len: u32::from(len),
            ack,
            win,
            urg,
            options,
        }))
    }

    /// `keyword N` if the next word is `keyword`.
    fn field<T: TryFrom<i64>>(
        &mut self,
        keyword: &str,
        what: &str,
    ) -> Result<Option<T>, ParseError> {
        if self.eat_word(keyword)? {
            self.number(what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// flags: a word with an optional `.` (or AccECN `.N`) after it, `.`
    /// alone, or `-` for none.
    fn flags(&mut self) -> Result<String, ParseError> {
        let token = self.next()?;
        let mut flags = match &token.tok {
            Tok::Punct('-') => return Ok("-".to_string()),
            Tok::Punct('.') => ".".to_string(),
            Tok::Word(word) => word.clone(),
            Tok::Float(_) => self.text(token.start, token.end),
            _ => return Err(self.unexpected(&token, "TCP flags (like S, S., P., . or -)")),
        };
        if let Tok::Word(_) = token.tok {
            let next = self.peek()?;
            let adjacent_ace = matches!(next.tok, Tok::Float(_)) && next.start == token.end;
            if next.tok == Tok::Punct('.') || adjacent_ace {
                let dot = self.next()?;
                flags.push_str(&self.text(dot.start, dot.end));
            }
        }
        if let Some(bad) = flags.chars().find(|c| !TCP_FLAG_CHARS.contains(*c)) {
            return Err(error(
                token.line,
                format!("invalid TCP flag '{bad}' in '{flags}'"),
            ));
        }
        Ok(flags)
    }

    /// opt_tcp_options, after its `<`: `...>` or options separated by
    /// commas, then `>`.
    fn tcp_options(&mut self) -> Result<TcpOptions, ParseError> {
        if self.eat(&Tok::Ellipsis)? {
            self.expect(Tok::Punct('>'), "after '<...'")?;
            return Ok(TcpOptions::Any);
        }
        let mut list = Vec::new();
        loop {
            list.push(self.tcp_option()?);
            if self.eat_punct(',')? {
                continue;
            }
            self.expect(Tok::Punct('>'), "or ',' after a TCP option")?;
            return Ok(TcpOptions::List(list));
        }
    }

    /// One TCP option.
    fn tcp_option(&mut self) -> Result<TcpOption, ParseError> {
        let token = self.next()?;
        let expected = "a TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, md5)";
        let Tok::Word(name) = &token.tok else {
            return Err(self.unexpected(&token, expected));
        };
        let option = match name.as_str() {
            "nop" => TcpOption::Nop,
            "eol" => TcpOption::Eol,
            "mss" => TcpOption::Mss(self.number("mss value")?),
            "wscale" => TcpOption::Wscale(self.number("window scale shift count")?),
            "sackOK" => TcpOption::SackOk,
            "sack" => {
                let mut blocks = Vec::new();
                loop {
                    blocks.push(self.sack_block()?);
                    if !matches!(self.peek()?.tok, Tok::Int(_)) {
                        break TcpOption::Sack(blocks);
                    }
                }
            }
            "TS" => {
                self.expect(Tok::Word("val".to_string()), "after 'TS'")?;
                let val = self.number("TS val")?;
                self.expect(Tok::Word("ecr".to_string()), "after the TS value")?;
                let ecr = self.number("TS ecr")?;
                TcpOption::Timestamp { val, ecr }
            }
            // Fast Open cookies, MD5 signatures, AccECN counters: as text.
            "FO" | "FOEXP" | "md5" | "ECN" => {
                loop {
                    let next = &self.peek()?.tok;
                    if matches!(next, Tok::Punct(',' | '>') | Tok::Eof) {
                        break;
                    }
                    self.next()?;
                }
                TcpOption::Other(self.text(token.start, self.prev_end))
            }
            _ => return Err(self.unexpected(&token, expected)),
        };
        Ok(option)
    }

    /// sack_block: `start:end`.
    fn sack_block(&mut self) -> Result<(u32, u32), ParseError> {
        let start = self.number("SACK block start")?;
        self.expect(Tok::Punct(':'), "in a SACK block (start:end)")?;
        let end = self.number("SACK block end")?;
        Ok((start, end))
    }

    // --- system calls ---

    /// syscall_spec: `[...END] name(args) = result [ERRNO] [(note)]`;
    /// `first` is the `...` or the name.
    fn syscall(&mut self, first: Token) -> Result<Syscall, ParseError> {
        let mut name_token = first;
        let mut end_time = None;
        if name_token.tok == Tok::Ellipsis {
            let token = self.next()?;
            if token.tok == Tok::Punct('+') {
                let message = "the end time after '...' is written without '+' (like +0...0.200)";
                return Err(error(token.line, message));
            }
            end_time = Some(self.time_value(&token, "after '...'")?);
            name_token = self.next()?;
        }
        let Tok::Word(name) = name_token.tok.clone() else {
            return Err(self.unexpected(&name_token, "a system call name"));
        };
        self.expect(
            Tok::Punct('('),
            &format!("after the system call name '{name}'"),
        )?;
        let args = self.expr_list(')')?;
        self.expect(
            Tok::Punct('='),
            &format!("after the arguments of {name}() (name(args) = result)"),
        )?;
        let result = self.expr()?;
        // The errno must start on the line the result ends on, so that a
        // call missing its time on the next line is reported as such
        // rather than read as an errno (every script writes it so).
        let result_line = self.prev_line;
        let errno = match self.peek()? {
            Token {
                tok: Tok::Word(word),
                line,
                ..
            } if *line == result_line => Some(word.clone()),
            _ => None,
        };
        if errno.is_some() {
            self.next()?;
        }
        let note = if self.eat_punct('(')? {
            let note = self.lexer.note()?;
            self.prev_end = self.lexer.pos;
            self.prev_line = self.lexer.line;
            Some(note)
        } else {
            None
        };
        Ok(Syscall {
            end_time,
            name,
            args,
            result,
            errno,
            note,
        })
    }

    /// Expressions separated by commas, up to and including `close`.
    fn expr_list(&mut self, close: char) -> Result<Vec<Expr>, ParseError> {
        let mut items = Vec::new();
        if self.eat_punct(close)? {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat_punct(',')? {
                continue;
            }
            self.expect(Tok::Punct(close), "or ',' in the list")?;
            return Ok(items);
        }
    }

    /// expression: terms joined by `|`, left to right.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        if self.depth >= MAX_DEPTH {
            let message = format!("expressions nested more than {MAX_DEPTH} deep");
            return Err(error(self.prev_line, message));
        }
        self.depth += 1;
        let result = self.or_terms();
        self.depth -= 1;
        result
    }

    /// Terms joined by `|`.
    fn or_terms(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.term()?;
        while self.eat_punct('|')? {
            let right = self.term()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// One expression without `|` (except inside an assignment's value).
    fn term(&mut self) -> Result<Expr, ParseError> {
        let token = self.next()?;
        match token.tok {
            Tok::Ellipsis => Ok(Expr::Ellipsis),
            Tok::Int(value) | Tok::Hex(value) => Ok(Expr::Int(value)),
            Tok::Str(text) => self.string(text),
            Tok::Punct('[') => self.expr_list(']').map(Expr::Array),
            Tok::Punct('{') => self.braces(),
            Tok::Word(word) => self.word(word),
            _ => Err(self.unexpected(&token, "an expression")),
        }
    }

    /// A string, with the strings right after it joined on (C-style
    /// concatenation, as `parser.y` does), and `...` after it.
    fn string(&mut self, mut text: String) -> Result<Expr, ParseError> {
        while let Tok::Str(more) = &self.peek()?.tok {
            text.push_str(more);
            self.next()?;
        }
        if self.eat(&Tok::Ellipsis)? {
            Ok(Expr::StrEllipsis(text))
        } else {
            Ok(Expr::Str(text))
        }
    }

    /// A word: `name=value`, `inet_addr("...")`, `htons(N)` (its number),
    /// `inet6_addr("...")` (kept as its text), or a plain symbol.
    fn word(&mut self, word: String) -> Result<Expr, ParseError> {
        if self.eat_punct('=')? {
            return Ok(Expr::Assign(word, Box::new(self.expr()?)));
        }
        let call = matches!(word.as_str(), "inet_addr" | "inet6_addr" | "htons");
        if !call || !self.eat_punct('(')? {
            return Ok(Expr::Word(word));
        }
        let context = format!("in {word}(...)");
        let token = self.next()?;
        let expr = match (word.as_str(), token.tok.clone()) {
            ("inet_addr", Tok::Str(address)) => Expr::InetAddr(address),
            ("inet6_addr", Tok::Str(address)) => Expr::Word(format!("inet6_addr(\"{address}\")")),
            ("htons", Tok::Int(port) | Tok::Hex(port)) => Expr::Int(port),
            ("htons", _) => {
                return Err(self.unexpected(&token, &format!("a port number {context}")));
            }
            _ => return Err(self.unexpected(&token, &format!("an address string {context}"))),
        };
        self.expect(Tok::Punct(')'), &context)?;
        Ok(expr)
    }

    /// After `{`: a msghdr, or a list of expressions (pollfd, epoll_event,
    /// linger, iovec, cmsg, sockaddr all read as lists of members).
    fn braces(&mut self) -> Result<Expr, ParseError> {
        if self.peek_is(&Tok::Word("msg_name".to_string()))? {
            return self.msghdr();
        }
        self.expr_list('}').map(Expr::List)
    }

    /// msghdr, after `{`: `msg_name(...)=..., msg_iov(N)=[...],
    /// msg_flags=F [, msg_control=[...]]}`. The count N is not kept: the
    /// iovec array says how many there are.
    fn msghdr(&mut self) -> Result<Expr, ParseError> {
        let context = "in a msghdr ({msg_name(...)=..., msg_iov(N)=[...], msg_flags=F})";
        let word = |w: &str| Tok::Word(w.to_string());
        for want in [
            word("msg_name"),
            Tok::Punct('('),
            Tok::Ellipsis,
            Tok::Punct(')'),
        ] {
            self.expect(want, context)?;
        }
        for want in [
            Tok::Punct('='),
            Tok::Ellipsis,
            Tok::Punct(','),
            word("msg_iov"),
        ] {
            self.expect(want, context)?;
        }
        self.expect(Tok::Punct('('), context)?;
        let _count: u32 = self.number("msg_iov count")?;
        for want in [Tok::Punct(')'), Tok::Punct('='), Tok::Punct('[')] {
            self.expect(want, context)?;
        }
        let iov = self.expr_list(']')?;
        for want in [Tok::Punct(','), word("msg_flags"), Tok::Punct('=')] {
            self.expect(want, context)?;
        }
        let flags = Box::new(self.expr()?);
        let mut control = None;
        if self.eat_punct(',')? {
            for want in [word("msg_control"), Tok::Punct('='), Tok::Punct('[')] {
                self.expect(want, context)?;
            }
            control = Some(self.expr_list(']')?);
        }
        self.expect(Tok::Punct('}'), context)?;
        Ok(Expr::Msghdr {
            iov,
            flags,
            control,
        })
    }
}

/// A time range must not end before it starts.
fn check_range(line: usize, start: f64, end: f64) -> Result<(), ParseError> {
    if end < start {
        return Err(error(line, "time range is backwards"));
    }
    Ok(())
}
