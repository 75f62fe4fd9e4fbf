//! Statement splitting: a dump read line by line into statements, each with the
//! line and column it starts at (comments, strings and escaped names respected).

use super::grammar::{NameCache, Parser};
use super::*;

/// Where the reader is between two statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// In whitespace.
    Space,
    /// After a `/` that may open a comment.
    Slash,
    /// In a `//` comment, up to the end of its line.
    Line,
    /// In a `/* */` comment.
    Block,
    /// In a `/* */` comment, right after a `*`.
    BlockStar,
}

/// Splits a stream into statements (text up to a `;` outside quotes), tracking
/// lines and columns; comments between statements (`// …` to the end of the line,
/// `/* … */`) are passed over. Scans the input's buffer in place and copies each statement
/// once into a buffer that is reused (quotes and `;` are ASCII, so they never sit
/// inside a multi-byte character); each statement is checked to be UTF-8 once.
pub struct StatementReader<R: BufRead> {
    input: R,
    /// The current statement's bytes (reused from one statement to the next).
    text: Vec<u8>,
    /// Labels, types and keys seen last, shared by the statements that repeat them.
    names: NameCache,
    line: u64,
    column: u64,
    bytes: u64,
}

impl<R: BufRead> std::fmt::Debug for StatementReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementReader")
            .field("line", &self.line)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> StatementReader<R> {
    /// Reads statements from `input`.
    pub fn new(input: R) -> Self {
        StatementReader {
            input,
            text: Vec::new(),
            names: NameCache::default(),
            line: 1,
            column: 1,
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads the next statement's text (without its `;`) into `self.text` and
    /// returns its start, or `None` at the end. Errors: `InvalidInput` for text
    /// after the last `;` or an unclosed quote; `Io` when reading fails.
    fn next_text(&mut self) -> Result<Option<(u64, u64)>> {
        self.text.clear();
        let (mut line, mut column) = (self.line, self.column);
        let mut started = false;
        let mut quote: Option<u8> = None;
        let mut escaped = false;
        // Between statements: whitespace, `// …` to the end of the line, `/* … */`.
        let mut gap = Gap::Space;
        // Where the comment (or the lone `/`) being read began.
        let mut gap_at = (line, column);
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("line {}: cannot read the dump: {e}", self.line),
                    )
                    .with_source(e));
                }
            };
            // A byte-order mark before the first statement (some editors write one)
            // is no text of the dump.
            if self.bytes == 0 && buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.input.consume(3);
                self.bytes = 3;
                continue;
            }
            if buf.is_empty() {
                if !started {
                    return match gap {
                        Gap::Space | Gap::Line => Ok(None),
                        Gap::Slash => Err(at(
                            gap_at.0,
                            gap_at.1,
                            ErrorKind::InvalidInput,
                            "expected a statement (CREATE, MATCH or DROP) or a comment",
                        )),
                        Gap::Block | Gap::BlockStar => Err(at(
                            gap_at.0,
                            gap_at.1,
                            ErrorKind::InvalidInput,
                            "a comment opened with /* is not closed",
                        )),
                    };
                }
                let msg = match quote {
                    Some(q) => format!("the statement ends inside a {}-quoted text", q as char),
                    None => "the last statement has no closing ';'".to_string(),
                };
                return Err(at(line, column, ErrorKind::InvalidInput, &msg));
            }
            let mut pos = 0;
            if !started {
                // Whitespace and comments before a statement; its first other
                // character is its start.
                while pos < buf.len() {
                    let b = buf[pos];
                    gap = match (gap, b) {
                        (Gap::Space, b'/') => {
                            gap_at = (self.line, self.column);
                            advance_over(&mut gap_at.0, &mut gap_at.1, &buf[..pos]);
                            Gap::Slash
                        }
                        (Gap::Space, b) if b.is_ascii_whitespace() => Gap::Space,
                        (Gap::Space, _) => break,
                        (Gap::Slash, b'/') => Gap::Line,
                        (Gap::Slash, b'*') => Gap::Block,
                        (Gap::Slash, _) => {
                            return Err(at(
                                gap_at.0,
                                gap_at.1,
                                ErrorKind::InvalidInput,
                                "expected a statement (CREATE, MATCH or DROP) or a comment",
                            ));
                        }
                        (Gap::Line, b'\n') => Gap::Space,
                        (Gap::Line, _) => Gap::Line,
                        (Gap::Block | Gap::BlockStar, b'*') => Gap::BlockStar,
                        (Gap::BlockStar, b'/') => Gap::Space,
                        (Gap::Block | Gap::BlockStar, _) => Gap::Block,
                    };
                    pos += 1;
                }
                advance_over(&mut self.line, &mut self.column, &buf[..pos]);
                if pos == buf.len() {
                    self.input.consume(pos);
                    self.bytes += pos as u64;
                    continue;
                }
                started = true;
                (line, column) = (self.line, self.column);
            }
            let seg = pos;
            let mut end_of_statement = None;
            // The hot loop: from one byte that changes the quote state to the next
            // (lines and columns are counted per segment).
            while pos < buf.len() {
                if escaped {
                    escaped = false;
                    pos += 1;
                    continue;
                }
                let rest = &buf[pos..];
                let found = match quote {
                    None => {
                        // Four bytes open a quote or end the statement: the first
                        // of three, then a single quote before it.
                        let first = memchr::memchr3(b';', b'"', b'`', rest);
                        let upto = first.unwrap_or(rest.len());
                        memchr::memchr(b'\'', &rest[..upto]).or(first)
                    }
                    Some(b'`') => memchr::memchr(b'`', rest),
                    Some(q) => memchr::memchr2(q, b'\\', rest),
                };
                let Some(n) = found else {
                    pos = buf.len();
                    break;
                };
                let b = rest[n];
                pos += n + 1;
                match quote {
                    None if b == b';' => {
                        end_of_statement = Some(pos - 1);
                        break;
                    }
                    None => quote = Some(b),
                    Some(_) if b == b'\\' => escaped = true,
                    Some(_) => quote = None,
                }
            }
            advance_over(&mut self.line, &mut self.column, &buf[seg..pos]);
            self.text
                .extend_from_slice(&buf[seg..end_of_statement.unwrap_or(pos)]);
            self.input.consume(pos);
            self.bytes += pos as u64;
            if end_of_statement.is_some() {
                return Ok(Some((line, column)));
            }
        }
    }

    /// The next statement, parsed.
    pub fn next_statement(&mut self) -> Result<Option<Statement>> {
        let Some((line, column)) = self.next_text()? else {
            return Ok(None);
        };
        let t = match std::str::from_utf8(&self.text) {
            Ok(t) => t,
            Err(e) => {
                let (mut l, mut c) = (line, column);
                advance_over(&mut l, &mut c, &self.text[..e.valid_up_to()]);
                return Err(at(l, c, ErrorKind::InvalidInput, "text that is not UTF-8"));
            }
        };
        let mut p = Parser {
            s: t.as_bytes(),
            t,
            i: 0,
            line,
            column,
            names: &mut self.names,
            depth: 0,
        };
        let kind = match p.statement() {
            // Skipping it must not skip a statement that follows it unclosed.
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                return Err(unclosed_before(t, line).unwrap_or(e));
            }
            kind => kind?,
        };
        Ok(Some(Statement { line, column, kind }))
    }
}

/// A line inside the statement `t` (which starts at `line`) that starts one of the
/// statements a dump is made of: the statement before it lacks its `;`. Skipping it
/// as unsupported would skip that one too, without a word.
fn unclosed_before(t: &str, line: u64) -> Option<Error> {
    t.split('\n').enumerate().skip(1).find_map(|(i, text)| {
        let word = text.trim_start();
        let starts = ["CREATE", "MATCH", "DROP"].iter().any(|k| {
            word.get(..k.len()).is_some_and(|w| w.eq_ignore_ascii_case(k))
                && word[k.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        });
        starts.then(|| {
            let column = (text.chars().count() - word.chars().count() + 1) as u64;
            at(
                line + i as u64,
                column,
                ErrorKind::InvalidInput,
                &format!(
                    "a statement starts here inside the one of line {line}, which has no ';' before it (that one cannot be loaded, and skipping it would skip this one too)"
                ),
            )
        })
    })
}
