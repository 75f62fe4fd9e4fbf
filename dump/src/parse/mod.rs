//! The loader's parser: the dialect's statement shapes, nothing more (not a Cypher
//! engine). Errors are `InvalidInput` (or `Unsupported` for a statement of the
//! dialect we do not load) naming line and column.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;

use engine_api::{
    ConstraintSpec, Duration, Error, ErrorKind, IndexSpec, LocalDateTime, LocalTime,
    MAX_NESTING_DEPTH, Name, Point, PropertyValue, Result, TriggerEvent, TriggerPhase,
    TriggerSecurity, TriggerSpec, ValueType, ZonedDateTime,
};

use crate::write::{HELPER_ID, HELPER_LABEL};

/// One parsed statement and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Line of its first character (from 1).
    pub line: u64,
    /// Column of its first character (from 1, in characters).
    pub column: u64,
    /// What it says.
    pub kind: StatementKind,
}

/// The statement shapes of a dump.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `CREATE (:__mg_vertex__:L {__mg_id__: k, ...})`.
    Vertex {
        /// The helper id.
        key: i64,
        /// Labels besides the helper, as written.
        labels: Vec<Name>,
        /// Properties besides the helper id, as written.
        properties: Vec<(Name, PropertyValue)>,
    },
    /// `MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE ... CREATE (u)-[:T {...}]->(v)`.
    Edge {
        /// The source's helper id.
        source: i64,
        /// The target's helper id.
        target: i64,
        /// The edge type.
        edge_type: Name,
        /// Its properties.
        properties: Vec<(Name, PropertyValue)>,
    },
    /// The helper index's creation, drop, or the removal of the helper label and
    /// property: bookkeeping of the statement form, nothing to load.
    Helper,
    /// An index.
    Index(IndexSpec),
    /// A constraint.
    Constraint(ConstraintSpec),
    /// A trigger.
    Trigger(TriggerSpec),
}

fn at(line: u64, column: u64, kind: ErrorKind, msg: &str) -> Error {
    Error::new(kind, format!("line {line}, column {column}: {msg}"))
}

/// Moves a line/column position past `bytes` (columns count characters).
fn advance_over(line: &mut u64, column: &mut u64, bytes: &[u8]) {
    let chars = |b: &[u8]| {
        if b.is_ascii() {
            b.len() as u64
        } else {
            b.iter().filter(|b| **b & 0xC0 != 0x80).count() as u64
        }
    };
    match memchr::memrchr(b'\n', bytes) {
        None => *column += chars(bytes),
        Some(last) => {
            *line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            *column = 1 + chars(&bytes[last + 1..]);
        }
    }
}

mod grammar;
mod statements;

use crate::literal::{date_micros, parse_date, parse_duration, parse_offset, parse_time};
pub use statements::StatementReader;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Result<Vec<StatementKind>> {
        let mut r = StatementReader::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(s) = r.next_statement()? {
            out.push(s.kind);
        }
        Ok(out)
    }

    /// The edge statement's fast path reads exactly what the grammar reads: each
    /// canonical statement parses to what the same statement with one more space
    /// (which only the grammar takes) parses to, and one the fast path cannot take
    /// (a sign, an id past i64, a bad value, text after it) gets the grammar's
    /// answer.
    #[test]
    fn the_canonical_edge_reads_as_the_grammar_reads_it() {
        let edge = |ids: &str, rest: &str| {
            format!("MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE {ids} CREATE (u)-[:{rest};")
        };
        let same = [
            edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "`T`]->(v)"),
            edge(
                "u.__mg_id__ = 0 AND v.__mg_id__ = 9223372036854775807",
                "T {`w`: 1, x: \"a}\", y: [1.5, null]}]->(v)",
            ),
            edge("u.__mg_id__ = 007 AND v.__mg_id__ = 7", "`a``b` {}]->(v)"),
            edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "T]->(u)"),
            edge("v.__mg_id__ = 1 AND u.__mg_id__ = 2", "T]->(v)"),
            edge("u.__mg_id__ = -1 AND v.__mg_id__ = 2", "T]->(v)"),
            edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "T]->(v) "),
        ];
        for text in &same {
            let grammar_only = text.replacen("MATCH ", "MATCH  ", 1);
            assert_eq!(
                parse_all(text).expect("parses"),
                parse_all(&grammar_only).expect("parses"),
                "{text}"
            );
        }
        let StatementKind::Edge {
            source,
            target,
            properties,
            ..
        } = &parse_all(&same[1]).expect("parses")[0]
        else {
            panic!("not an edge");
        };
        assert_eq!((*source, *target, properties.len()), (0, i64::MAX, 3));
        for (text, error) in [
            (
                edge(
                    "u.__mg_id__ = 9223372036854775808 AND v.__mg_id__ = 2",
                    "T]->(v)",
                ),
                "bad number",
            ),
            (
                edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "T {w: 1.2.3}]->(v)"),
                "bad number",
            ),
            (
                edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "T]->(v) x"),
                "unexpected text",
            ),
            (
                edge("u.__mg_id__ = 1.5 AND v.__mg_id__ = 2", "T]->(v)"),
                "an integer id",
            ),
            (
                edge("u.__mg_id__ = 1 AND v.__mg_id__ = 2", "`T]->(v)"),
                "quoted text",
            ),
        ] {
            let e = parse_all(&text).expect_err(&text);
            assert!(e.message().contains(error), "{text}: {e}");
        }
    }

    #[test]
    fn the_golden_dump_parses_statement_by_statement() {
        let golden = include_str!("../../tests/golden/ours.cypherl");
        let parsed = parse_all(golden).expect("parses");
        assert_eq!(parsed.len(), golden.lines().count());
        assert!(
            matches!(&parsed[0], StatementKind::Vertex { key: 0, labels, .. } if labels.iter().map(|l| &**l).eq(["Admin", "Person"]))
        );
        assert!(
            matches!(&parsed[4], StatementKind::Edge { source: 0, target: 1, edge_type, .. } if &**edge_type == "KNOWS")
        );
    }

    /// RFC 9557's named zone, as the reference database writes it, is refused as
    /// unsupported naming the zone and the line, never as malformed; a malformed
    /// value with brackets stays malformed.
    #[test]
    fn a_datetime_with_a_named_zone_is_unsupported_not_malformed() {
        let text = "CREATE (:__mg_vertex__ {__mg_id__: 1});\nCREATE (:__mg_vertex__ {__mg_id__: 7, t: DATETIME(\"1994-12-07T06:10:44.099099-08:00[America/Los_Angeles]\")});";
        let e = parse_all(text).expect_err("a named zone");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.message().starts_with("line 2"), "{e}");
        assert!(e.message().contains("America/Los_Angeles"), "{e}");
        for bad in [
            "1994-13-07T06:10:44-08:00[America/Los_Angeles]",
            "1994-12-07T06:10:44-08:00[]",
            "garbage[Europe/Berlin]",
        ] {
            let text = format!("CREATE (:__mg_vertex__ {{__mg_id__: 7, t: DATETIME(\"{bad}\")}});");
            let e = parse_all(&text).expect_err("malformed");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        }
    }

    #[test]
    fn reference_quirks_load() {
        let text = "CREATE (:__mg_vertex__ {__mg_id__: 7, `f`: 3, n: NULL, m: Null, a: nan, b: -inf, c: inf, s: 'it\\'s'});";
        let parsed = parse_all(text).expect("parses");
        let StatementKind::Vertex {
            key, properties, ..
        } = &parsed[0]
        else {
            panic!("not a vertex: {parsed:?}");
        };
        assert_eq!(*key, 7);
        assert_eq!(
            (&*properties[0].0, &properties[0].1),
            ("f", &PropertyValue::Int(3))
        );
        assert_eq!(properties[1].1, PropertyValue::Null);
        assert!(matches!(properties[3].1, PropertyValue::Float(f) if f.is_nan()));
        assert_eq!(properties[4].1, PropertyValue::Float(f64::NEG_INFINITY));
        assert_eq!(properties[6].1, PropertyValue::from("it's"));
    }

    /// Tools that count in UTF-16 escape a character beyond the first plane as a
    /// surrogate pair: it reads as the one character; `\U` takes it whole.
    #[test]
    fn a_surrogate_pair_escape_is_one_character() {
        let text = "CREATE (:__mg_vertex__ {__mg_id__: 0, s: \"a\\uD83D\\uDE00b\\U0001F600\"});";
        let parsed = parse_all(text).expect("parses");
        let StatementKind::Vertex { properties, .. } = &parsed[0] else {
            panic!("not a vertex: {parsed:?}");
        };
        assert_eq!(properties[0].1, PropertyValue::from("a\u{1F600}b\u{1F600}"));
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "CREATE (:__mg_vertex__ {__mg_id__: 1});\nCREATE (:__mg_vertex__ {__mg_id__: 2, x: [1, }});\n";
        let mut r = StatementReader::new(text.as_bytes());
        assert!(r.next_statement().expect("first parses").is_some());
        let err = r.next_statement().expect_err("second is broken");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message()
                .starts_with("line 2, column 46: expected a value"),
            "{err}"
        );
        let err = parse_all("CREATE TEXT INDEX idx ON :L(p);").expect_err("unsupported");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().starts_with("line 1,"), "{err}");
        let err = parse_all("CREATE (:__mg_vertex__ {__mg_id__: 1})").expect_err("no ;");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }

    /// Statements read through buffers of any size (a statement, a name or a
    /// string cut at any byte) are the same statements at the same places.
    #[test]
    fn any_buffer_size_reads_the_same_statements() {
        let golden = include_str!("../../tests/golden/ours.cypherl");
        // Leading blank lines, a statement over three lines, two on one line,
        // non-ASCII names and text, escapes: positions must survive every cut.
        let text = format!(
            "\n\n  {golden}CREATE (:__mg_vertex__:`Straße` {{__mg_id__: 90,\n  `naïve`: \"ü\\\"ber\\n\",\n  s: 'x;y'}});  CREATE (:__mg_vertex__ {{__mg_id__: 91}});\n"
        );
        let all = |capacity: usize| -> Vec<Statement> {
            let mut r =
                StatementReader::new(std::io::BufReader::with_capacity(capacity, text.as_bytes()));
            let mut out = Vec::new();
            while let Some(s) = r.next_statement().expect("parses") {
                out.push(s);
            }
            assert_eq!(r.bytes(), text.len() as u64, "capacity {capacity}");
            out
        };
        let whole = all(1 << 20);
        assert_eq!(whole.len(), golden.lines().count() + 2);
        assert_eq!((whole[0].line, whole[0].column), (3, 3));
        let last = &whole[whole.len() - 1];
        assert_eq!(
            (last.line, last.column),
            (golden.lines().count() as u64 + 5, 16)
        );
        let StatementKind::Vertex {
            labels, properties, ..
        } = &whole[whole.len() - 2].kind
        else {
            panic!("not a vertex");
        };
        assert_eq!(&*labels[0], "Straße");
        assert_eq!(&*properties[0].0, "naïve");
        assert_eq!(properties[0].1, PropertyValue::from("ü\"ber\n"));
        assert_eq!(properties[1].1, PropertyValue::from("x;y"));
        for capacity in [1, 2, 3, 5, 7, 64] {
            assert_eq!(all(capacity), whole, "capacity {capacity}");
        }
    }

    /// Comments between statements are passed over at any buffer size; one left
    /// open, or a lone `/`, is an error at its place; a file of only comments holds
    /// no statement.
    #[test]
    fn comments_between_statements_are_passed_over() {
        let text = "// a dump\n/* written by hand;\n ** still a comment */ CREATE (:__mg_vertex__ {__mg_id__: 1}); // one\n/**/CREATE (:__mg_vertex__ {__mg_id__: 2});\n// the end";
        let read = |text: &str, capacity: usize| -> Result<Vec<(u64, u64)>> {
            let mut r =
                StatementReader::new(std::io::BufReader::with_capacity(capacity, text.as_bytes()));
            let mut out = Vec::new();
            while let Some(s) = r.next_statement()? {
                out.push((s.line, s.column));
            }
            Ok(out)
        };
        for capacity in [1, 2, 3, 5, 64, 1 << 20] {
            assert_eq!(
                read(text, capacity).expect("parses"),
                vec![(3, 24), (4, 5)],
                "capacity {capacity}"
            );
            assert_eq!(
                read("// only\n/* comments */\n", capacity).expect("empty"),
                vec![]
            );
            let e = read(
                "CREATE (:__mg_vertex__ {__mg_id__: 1});\n  /* open",
                capacity,
            )
            .expect_err("open");
            assert!(
                e.message().starts_with("line 2, column 3: a comment"),
                "{e}"
            );
            let e = read("\n /CREATE (:__mg_vertex__ {__mg_id__: 1});", capacity)
                .expect_err("a lone slash");
            assert!(e.message().starts_with("line 2, column 2: expected"), "{e}");
            let e = read(" /", capacity).expect_err("a lone slash at the end");
            assert!(e.message().starts_with("line 1, column 2: expected"), "{e}");
        }
    }

    /// Bytes that are not UTF-8 are malformed input at their place, wherever they
    /// sit (a string, a name, between tokens), never a panic or another kind.
    #[test]
    fn text_that_is_not_utf8_is_invalid_input_at_its_place() {
        for (bad, column) in [
            (
                &b"CREATE (:__mg_vertex__ {__mg_id__: 1, s: \"a\xff\"});"[..],
                44,
            ),
            (&b"CREATE (:__mg_vertex__:`L\xc3` {__mg_id__: 1});"[..], 26),
            (&b"CREATE \x80(:__mg_vertex__ {__mg_id__: 1});"[..], 8),
        ] {
            let mut text = b"CREATE (:__mg_vertex__ {__mg_id__: 0});\n".to_vec();
            text.extend_from_slice(bad);
            let mut r = StatementReader::new(&text[..]);
            assert!(r.next_statement().expect("the first is fine").is_some());
            let e = r.next_statement().expect_err("not UTF-8");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(
                e.message()
                    .starts_with(&format!("line 2, column {column}: text that is not UTF-8")),
                "{e}"
            );
        }
    }

    /// Hostile shapes: nesting deeper than a value may hold is refused while
    /// parsing (100 000 levels once overflowed the stack), text that is no Cypher
    /// statement is malformed rather than unsupported (so `--skip-unsupported`
    /// cannot skip it), numbers out of range are refused, a byte-order mark is
    /// skipped.
    #[test]
    fn hostile_shapes_are_refused_as_malformed() {
        let deep = format!(
            "CREATE (:__mg_vertex__ {{__mg_id__: 0, l: {}1{}}});",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse_all(&deep).expect_err("too deep");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.message().contains("more than 128"), "{e}");
        let ok = format!(
            "CREATE (:__mg_vertex__ {{__mg_id__: 0, l: {}1{}}});",
            "[".repeat(128),
            "]".repeat(128)
        );
        assert!(parse_all(&ok).is_ok(), "128 levels are allowed");
        for garbage in [
            "BOGUS garbage here;",
            "hello world\n;",
            "\0CREATE (:__mg_vertex__ {__mg_id__: 1});",
        ] {
            let e = parse_all(garbage).expect_err("garbage");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{garbage:?}: {e}");
        }
        for other in [
            "CREATE TEXT INDEX idx ON :L(p);",
            "CREATE VECTOR INDEX v ON :L(p) WITH CONFIG {};",
            "create user alice;",
            "CREATE OR REPLACE TRIGGER t ON CREATE AFTER COMMIT EXECUTE RETURN 1;",
        ] {
            let e = parse_all(other).expect_err("unsupported");
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{other}: {e}");
        }
        // A typo is not a statement this loader may skip: skipping it would lose
        // the index without a word.
        for other in [
            "CREATE KAFKA STREAM s TOPICS t TRANSFORM m.f;",
            "CREATE INDEX idx FOR (n:P) ON (n.name);",
            "CREATE INDEX IF NOT EXISTS FOR (n:P) ON (n.name);",
            "CREATE CONSTRAINT c FOR (n:P) REQUIRE n.name IS UNIQUE;",
            "CREATE CONSTRAINT ON (n:P) ASSERT n.name IS NOT NULL;",
            "CREATE FULLTEXT INDEX f FOR (n:P) ON EACH [n.name];",
            "GRANT MATCH ON * TO alice;",
            "BEGIN;",
            "CREATE TRIGGER t ON () UPDATE BEFORE COMMIT EXECUTE RETURN 1;",
            "CREATE (:__mg_vertex__:P {__mg_id__: 1, t: TIME(\"10:00\")});",
        ] {
            let e = parse_all(other).expect_err("unsupported");
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{other}: {e}");
        }
        // A name from the dump is shown escaped and cut in an error.
        let hostile = format!(
            "CREATE CONSTRAINT ON (n:P) ASSERT n.name IS TYPED `\u{1b}[2J{}`;",
            "x".repeat(100_000)
        );
        let e = parse_all(&hostile).expect_err("unknown type");
        assert!(!e.message().contains('\u{1b}'), "{e}");
        assert!(
            e.message().contains("\\u{1b}[2J") && e.message().len() < 300,
            "{e}"
        );
        // A DROP other than of the helper index is never skippable.
        for drop in [
            "DROP INDEX ON :Person(name);",
            "DROP CONSTRAINT ON (n:P) ASSERT n.name IS UNIQUE;",
            "DROP TRIGGER t;",
            "DROP INDEX idx;",
            "MATCH (n) DETACH DELETE n;",
            "MATCH (n) SET n.x = 1;",
            "MATCH (n) REMOVE n:Person, n.name;",
        ] {
            let e = parse_all(drop).expect_err("refused");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{drop}: {e}");
            assert!(e.message().contains("is not skipped"), "{drop}: {e}");
        }
        assert!(parse_all("DROP INDEX ON :__mg_vertex__(__mg_id__);").is_ok());
        // An unsupported statement left without its `;` would take the next one
        // with it when skipped: refused where that one starts.
        let e =
            parse_all("CREATE TEXT INDEX t ON :P(n)\n  CREATE (:__mg_vertex__ {__mg_id__: 1});")
                .expect_err("unclosed");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.message().starts_with("line 2, column 3:"), "{e}");
        let e = parse_all("CREATE CONSTRAINT c\nFOR (n:P)\nREQUIRE n.name IS UNIQUE;")
            .expect_err("other form");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        // Misspelt, glued or oddly spaced words are no statement of Cypher's: a
        // syntax error, never "unsupported" (which `--skip-unsupported` would
        // skip, losing what the statement creates).
        for typo in [
            "CREATE_INDEX ON :P(name);",
            "CREATE2 INDEX ON :P(name);",
            "CREATE\u{a0}(:__mg_vertex__:P {__mg_id__: 1});",
            "MATCH_ (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 0 AND v.__mg_id__ = 1 CREATE (u)-[:K]->(v);",
            "CREATE CONSTRAINT ON (n:P) ASSERT n.name IS UNIQE;",
            "CREATE CONSTRAINT ON (n:P) ASSERT n.name IS TYPED STRNG;",
            "CREATE TRIGGER t ON () CRATE BEFORE COMMIT EXECUTE RETURN 1;",
            "CREATE (:__mg_vertex__:P {__mg_id__: 1, d: DAET(\"2020-01-01\")});",
        ] {
            let e = parse_all(typo).expect_err("typo");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{typo}: {e}");
        }
        for typo in [
            "CREATE INDX ON :L(p);",
            "CREATE :L;",
            "CREATE CONSTRAIN ON (n:L) ASSERT n.p IS UNIQUE;",
        ] {
            let e = parse_all(typo).expect_err("typo");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{typo}: {e}");
            assert!(e.message().contains("after CREATE"), "{typo}: {e}");
        }
        let e = parse_all("MERGE (n:L);").expect_err("unsupported");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        for number in ["1e400", "-1e400", "1e-400"] {
            let text = format!("CREATE (:__mg_vertex__ {{__mg_id__: 0, n: {number}}});");
            let e = parse_all(&text).expect_err("out of range");
            assert!(e.message().contains("bad number"), "{number}: {e}");
        }
        let zero = parse_all("CREATE (:__mg_vertex__ {__mg_id__: 0, n: 0.0e5});").expect("zero");
        assert!(
            matches!(&zero[0], StatementKind::Vertex { properties, .. } if properties[0].1 == PropertyValue::Float(0.0))
        );
        let bom =
            parse_all("\u{feff}CREATE (:__mg_vertex__ {__mg_id__: 0});").expect("a BOM is skipped");
        assert_eq!(bom.len(), 1);
    }

    /// A bad number or escape is named where it starts (they were named where the
    /// parser stood after them).
    #[test]
    fn bad_tokens_are_named_where_they_start() {
        for (text, column, says) in [
            (
                "CREATE (:__mg_vertex__ {__mg_id__: 0, n: 12x4});",
                42,
                "bad number 12x4",
            ),
            (
                "CREATE (:__mg_vertex__ {__mg_id__: 0, s: \"ab\\q\"});",
                45,
                "unknown escape \\q",
            ),
            (
                "CREATE (:__mg_vertex__ {__mg_id__: 0, s: \"\\ud800\"});",
                43,
                "bad escape \\ud800",
            ),
            (
                "CREATE (:__mg_vertex__ {__mg_id__: 0, s: \"\\ud800\\u0041\"});",
                43,
                "bad escape \\ud800",
            ),
            (
                "CREATE (:__mg_vertex__ {__mg_id__: 0, s: \"\\ude00\"});",
                43,
                "bad escape \\ude00",
            ),
        ] {
            let e = parse_all(text).expect_err("bad token");
            assert!(
                e.message()
                    .starts_with(&format!("line 1, column {column}: {says}")),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn durations_and_times_parse_back() {
        assert_eq!(
            parse_duration("P3DT4H5M6.010011S"),
            Some(((3 * 24 + 4) * 3600 + 5 * 60 + 6) * 1_000_000 + 10_011)
        );
        assert_eq!(parse_duration("-P1DT1H1M1.000001S"), Some(-90_061_000_001));
        assert_eq!(
            parse_time("14:10:44.099099"),
            Some(((14 * 60 + 10) * 60 + 44) * 1_000_000 + 99_099)
        );
        assert_eq!(parse_offset("-08:00"), Some(-8 * 3600));
        assert!(parse_time("25:00:00").is_none());
    }
}
