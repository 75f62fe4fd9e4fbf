//! The grammar of the dump dialect: one statement's text to a [`StatementKind`],
//! with a fast path for the canonical edge statement.

use super::*;

/// The names a reader keeps (a dump's labels, types and keys repeat): the most
/// recent ones, replaced round-robin.
#[derive(Default)]
pub(super) struct NameCache {
    names: Vec<Name>,
    next: usize,
}

/// How many recent names a reader keeps.
const NAME_CACHE: usize = 64;

impl NameCache {
    fn find(&self, bytes: &[u8]) -> Option<Name> {
        self.names.iter().find(|c| c.as_bytes() == bytes).cloned()
    }

    fn keep(&mut self, name: &Name) {
        if self.names.len() < NAME_CACHE {
            self.names.push(name.clone());
        } else {
            self.names[self.next] = name.clone();
            self.next = (self.next + 1) % NAME_CACHE;
        }
    }
}

/// Parses one statement's bytes (checked to be UTF-8). Non-ASCII bytes only occur
/// inside names, strings and the trigger text; they count as identifier characters.
pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    /// `s` as text.
    pub(super) t: &'a str,
    pub(super) i: usize,
    pub(super) line: u64,
    pub(super) column: u64,
    pub(super) names: &'a mut NameCache,
    /// Lists and maps open at the current position.
    pub(super) depth: usize,
}

/// Words a Cypher statement can start with: a statement that starts with another
/// is malformed, not merely unsupported.
const CYPHER_CLAUSES: [&str; 33] = [
    "CREATE", "MATCH", "OPTIONAL", "MERGE", "DROP", "DELETE", "DETACH", "SET", "REMOVE", "WITH",
    "UNWIND", "CALL", "RETURN", "LOAD", "FOREACH", "SHOW", "USING", "ALTER", "ANALYZE", "STORAGE",
    "FREE", "EXPLAIN", "PROFILE", "REGISTER", "GRANT", "DENY", "REVOKE", "BEGIN", "COMMIT",
    "ROLLBACK", "USE", "START", "STOP",
];

/// Words that may follow `CREATE` in a Cypher statement this loader does not
/// support (other index kinds, users, roles, enums, ...): such a statement is
/// unsupported and may be skipped on request. Any other word after `CREATE` is a
/// typo, not a statement (`CREATE INDX ...` would otherwise be skipped and its
/// index lost without a word).
const CREATE_FORMS: [&str; 20] = [
    "TEXT",
    "POINT",
    "VECTOR",
    "GLOBAL",
    "UNIQUE",
    "USER",
    "ROLE",
    "DATABASE",
    "ENUM",
    "SNAPSHOT",
    "STREAM",
    "KAFKA",
    "PULSAR",
    "REPLICA",
    "OR",
    "TRANSFORMATION",
    "FULLTEXT",
    "RANGE",
    "LOOKUP",
    "ALIAS",
];

/// Cypher's value functions this loader does not support (an unknown name is a
/// syntax error: a misspelt `DATE(...)` must not be skipped with its vertex).
const OTHER_FUNCTIONS: [&str; 5] = ["TIME", "TIMESTAMP", "ZONEDDATETIME", "LOCALDATE", "ENUM"];

/// Cypher's value types a type constraint may name that this loader does not
/// support.
const OTHER_TYPES: [&str; 8] = [
    "ENUM",
    "POINT",
    "LIST",
    "MAP",
    "NODE",
    "RELATIONSHIP",
    "PATH",
    "ANY",
];

/// A name from the dump as an error shows it: quoted with control characters
/// escaped (a name in backquotes may hold any), and cut after 64 characters.
fn shown(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    if cut.len() < name.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl<'a> Parser<'a> {
    /// Line and column of the current position.
    fn here(&self) -> (u64, u64) {
        self.position_of(self.i)
    }

    /// Line and column of byte `at` of the statement.
    fn position_of(&self, at: usize) -> (u64, u64) {
        let (mut line, mut column) = (self.line, self.column);
        for b in &self.s[..at.min(self.s.len())] {
            if *b == b'\n' {
                line += 1;
                column = 1;
            } else if b & 0xC0 != 0x80 {
                column += 1;
            }
        }
        (line, column)
    }

    fn text(&self, from: usize, to: usize) -> Result<&'a str> {
        self.t
            .get(from..to)
            .ok_or_else(|| self.err("text that is not UTF-8"))
    }

    fn err(&self, msg: &str) -> Error {
        self.err_at(self.i, msg)
    }

    /// An error naming the place of byte `pos` (where the bad token starts).
    fn err_at(&self, pos: usize, msg: &str) -> Error {
        let (l, c) = self.position_of(pos);
        at(l, c, ErrorKind::InvalidInput, msg)
    }

    fn unsupported(&self, msg: &str) -> Error {
        let (l, c) = self.here();
        at(l, c, ErrorKind::Unsupported, msg)
    }

    fn peek(&self) -> Option<char> {
        // A byte of a multi-byte character stands for "some letter".
        self.s
            .get(self.i)
            .map(|b| if b.is_ascii() { *b as char } else { 'ª' })
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    /// Consumes `sym` (after whitespace) if it is next.
    fn eat(&mut self, sym: &str) -> bool {
        self.skip_ws();
        if self.s[self.i.min(self.s.len())..].starts_with(sym.as_bytes()) {
            self.i += sym.len();
            true
        } else {
            false
        }
    }

    fn require(&mut self, sym: &str) -> Result<()> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{sym}'")))
        }
    }

    /// Consumes keyword `kw` (any case, whole word) if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let n = kw.len();
        if self.s.len() < self.i + n {
            return false;
        }
        let matches = self.s[self.i..self.i + n].eq_ignore_ascii_case(kw.as_bytes());
        let whole = self
            .s
            .get(self.i + n)
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || !b.is_ascii()));
        if matches && whole {
            self.i += n;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {kw}")))
        }
    }

    /// A name: backticked (doubled backticks inside) or a bare identifier; borrowed
    /// from the statement unless it holds a doubled backtick.
    fn name(&mut self) -> Result<Cow<'a, str>> {
        self.skip_ws();
        match self.peek() {
            Some('`') => {
                self.i += 1;
                let start = self.i;
                let mut doubled: Option<Vec<u8>> = None;
                loop {
                    match self.s.get(self.i) {
                        None => return Err(self.err("a backticked name is not closed")),
                        Some(b'`') if self.s.get(self.i + 1) == Some(&b'`') => {
                            let out = doubled.get_or_insert_with(|| self.s[start..self.i].to_vec());
                            out.push(b'`');
                            self.i += 2;
                        }
                        Some(b'`') => {
                            let end = self.i;
                            self.i += 1;
                            return match doubled {
                                None => self.text(start, end).map(Cow::Borrowed),
                                Some(out) => String::from_utf8(out)
                                    .map(Cow::Owned)
                                    .map_err(|_| self.err("a name that is not UTF-8")),
                            };
                        }
                        Some(b) => {
                            if let Some(out) = doubled.as_mut() {
                                out.push(*b);
                            }
                            self.i += 1;
                        }
                    }
                }
            }
            Some(c) if is_ident_start(c) => {
                let start = self.i;
                while self.peek().is_some_and(is_ident) {
                    self.i += 1;
                }
                self.text(start, self.i).map(Cow::Borrowed)
            }
            _ => Err(self.err("expected a name")),
        }
    }

    /// A label, type or key, shared with earlier statements that used it (no
    /// allocation for a name seen recently).
    fn shared_name(&mut self) -> Result<Name> {
        let n = self.name()?;
        if let Some(hit) = self.names.find(n.as_bytes()) {
            return Ok(hit);
        }
        let name = Name::from(n);
        self.names.keep(&name);
        Ok(name)
    }

    /// After `{`: the `key: value` pairs of an object's properties, keys shared.
    fn properties(&mut self) -> Result<Vec<(Name, PropertyValue)>> {
        let mut out = Vec::new();
        if self.eat("}") {
            return Ok(out);
        }
        loop {
            let k = self.shared_name()?;
            self.require(":")?;
            out.push((k, self.value()?));
            if self.eat("}") {
                return Ok(out);
            }
            self.require(",")?;
        }
    }

    /// Parses a name and tells whether it is `expected` (no allocation for a bare
    /// name, the common case).
    fn name_is(&mut self, expected: &str) -> Result<bool> {
        self.skip_ws();
        if self.peek() == Some('`') {
            return Ok(self.name()? == expected);
        }
        let start = self.i;
        if !self.peek().is_some_and(is_ident_start) {
            return Err(self.err("expected a name"));
        }
        while self.peek().is_some_and(is_ident) {
            self.i += 1;
        }
        Ok(&self.s[start..self.i] == expected.as_bytes())
    }

    fn end(&mut self) -> Result<()> {
        self.skip_ws();
        if self.i < self.s.len() {
            return Err(self.err("unexpected text before the end of the statement"));
        }
        Ok(())
    }

    pub(super) fn statement(&mut self) -> Result<StatementKind> {
        let kind = if self.keyword("CREATE") {
            if self.keyword("INDEX") {
                self.create_index(false)?
            } else if self.keyword("EDGE") {
                self.expect_keyword("INDEX")?;
                self.create_index(true)?
            } else if self.keyword("CONSTRAINT") {
                self.constraint()?
            } else if self.keyword("TRIGGER") {
                return self.trigger();
            } else if self.eat("(") {
                self.vertex()?
            } else if CREATE_FORMS.iter().any(|w| self.keyword(w)) {
                return Err(self.unsupported("a CREATE statement this loader does not know"));
            } else {
                return Err(self.err(
                    "expected INDEX, EDGE INDEX, CONSTRAINT, TRIGGER or a vertex pattern after CREATE",
                ));
            }
        } else if self.keyword("MATCH") {
            self.matched()?
        } else if self.keyword("DROP") {
            // Only the dump's own helper index is dropped. Any other DROP is refused
            // outright, never skipped as unsupported: skipping it would leave the
            // database holding what the dump drops.
            let helper = |p: &mut Self| -> Result<bool> {
                if !(p.keyword("INDEX") && p.keyword("ON") && p.eat(":")) {
                    return Ok(false);
                }
                let l = p.name()?.into_owned();
                if !p.eat("(") {
                    return Ok(false);
                }
                let k = p.name()?.into_owned();
                Ok(p.eat(")") && l == HELPER_LABEL && k == HELPER_ID)
            };
            if !helper(self).unwrap_or(false) {
                return Err(self.err(&format!(
                    "a DROP other than of the dump's helper index ({HELPER_LABEL}({HELPER_ID})) cannot be loaded, and is not skipped: the database would keep what it drops"
                )));
            }
            StatementKind::Helper
        } else {
            // A Cypher statement of another kind is unsupported (and may be skipped
            // on request); anything else is not a statement at all.
            self.skip_ws();
            let start = self.i;
            // A word as `keyword` reads it (a letter, digit, `_` or any non-ASCII
            // character continues it): `CREATE_INDEX` is no CREATE.
            while self
                .s
                .get(self.i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || !b.is_ascii())
            {
                self.i += 1;
            }
            let word = self.t.get(start..self.i).unwrap_or("");
            self.i = start;
            if CYPHER_CLAUSES.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                return Err(self.unsupported("a statement this loader does not know"));
            }
            return Err(self.err("expected a statement (CREATE, MATCH or DROP)"));
        };
        self.end()?;
        Ok(kind)
    }

    fn create_index(&mut self, edge: bool) -> Result<StatementKind> {
        self.other_form_unless_on("an index")?;
        self.require(":")?;
        let target = self.name()?.into_owned();
        let mut keys = Vec::new();
        if self.eat("(") {
            loop {
                keys.push(self.name()?.into_owned());
                if !self.eat(",") {
                    break;
                }
            }
            self.require(")")?;
        }
        Ok(match (edge, keys.len()) {
            (false, 0) => StatementKind::Index(IndexSpec::Label(target)),
            (false, _) if target == HELPER_LABEL && keys == [HELPER_ID] => StatementKind::Helper,
            (false, _) => StatementKind::Index(IndexSpec::LabelProperties {
                label: target,
                properties: keys,
            }),
            (true, 0) => StatementKind::Index(IndexSpec::EdgeType(target)),
            (true, 1) => StatementKind::Index(IndexSpec::EdgeTypeProperty {
                edge_type: target,
                property: keys.remove(0),
            }),
            (true, _) => return Err(self.unsupported("an edge index on several properties")),
        })
    }

    /// Expects `ON`; Cypher's other form of an index or constraint (`[name] FOR`,
    /// `IF NOT EXISTS`) is unsupported, anything else a syntax error.
    fn other_form_unless_on(&mut self, what: &str) -> Result<()> {
        if self.keyword("ON") {
            return Ok(());
        }
        let start = self.i;
        if self.keyword("FOR") || self.keyword("IF") {
            return Err(self.unsupported(&format!("{what} in another Cypher form")));
        }
        if self.name().is_ok() && (self.keyword("FOR") || self.keyword("IF")) {
            return Err(self.unsupported(&format!("{what} in another Cypher form")));
        }
        self.i = start;
        self.expect_keyword("ON")
    }

    fn constraint(&mut self) -> Result<StatementKind> {
        self.other_form_unless_on("a constraint")?;
        self.require("(")?;
        let var = self.name()?;
        self.require(":")?;
        let label = self.name()?.into_owned();
        self.require(")")?;
        self.expect_keyword("ASSERT")?;
        let prop = |p: &mut Parser| -> Result<String> {
            let v = p.name()?;
            if v != var {
                return Err(p.err(&format!("expected the variable {}", shown(&var))));
            }
            p.require(".")?;
            p.name().map(Cow::into_owned)
        };
        if self.keyword("EXISTS") {
            self.require("(")?;
            let property = prop(self)?;
            self.require(")")?;
            return Ok(StatementKind::Constraint(ConstraintSpec::Exists {
                label,
                property,
            }));
        }
        let mut properties = vec![prop(self)?];
        while self.eat(",") {
            properties.push(prop(self)?);
        }
        self.expect_keyword("IS")?;
        if self.keyword("UNIQUE") {
            return Ok(StatementKind::Constraint(ConstraintSpec::Unique {
                label,
                properties,
            }));
        }
        if self.keyword("TYPED") && properties.len() == 1 {
            let t = self.name()?;
            let value_type = ValueType::ALL
                .into_iter()
                .find(|v| v.cypher_name().eq_ignore_ascii_case(&t))
                .ok_or_else(|| {
                    if OTHER_TYPES.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
                        self.unsupported(&format!("the type {}", shown(&t)))
                    } else {
                        self.err(&format!("unknown type {}", shown(&t)))
                    }
                })?;
            return Ok(StatementKind::Constraint(ConstraintSpec::Type {
                label,
                property: properties.remove(0),
                value_type,
            }));
        }
        if self.keyword("NOT") || self.keyword("NODE") || self.keyword("KEY") {
            return Err(self.unsupported("a constraint kind this loader does not know"));
        }
        Err(self.err("expected UNIQUE or TYPED after IS"))
    }

    fn trigger(&mut self) -> Result<StatementKind> {
        let name = self.name()?.into_owned();
        let mut security = TriggerSecurity::Invoker;
        if self.keyword("SECURITY") {
            security = if self.keyword("INVOKER") {
                TriggerSecurity::Invoker
            } else if self.keyword("DEFINER") {
                TriggerSecurity::Definer
            } else {
                return Err(self.err("expected INVOKER or DEFINER"));
            };
        }
        let mut event = TriggerEvent::Any;
        if self.keyword("ON") {
            let vertex = self.eat("()");
            let edge = !vertex && self.eat("-->");
            event = match (vertex, edge) {
                (true, _) if self.keyword("CREATE") => TriggerEvent::VertexCreate,
                (_, true) if self.keyword("CREATE") => TriggerEvent::EdgeCreate,
                (false, false) if self.keyword("UPDATE") => TriggerEvent::Update,
                (false, false) if self.keyword("DELETE") => TriggerEvent::Delete,
                // `() UPDATE`, `--> DELETE`, ...: events of Cypher's this loader lacks.
                _ if self.keyword("UPDATE") || self.keyword("DELETE") => {
                    return Err(self.unsupported("a trigger event this loader does not know"));
                }
                _ => return Err(self.err("expected CREATE, UPDATE or DELETE after ON")),
            };
        }
        let phase = if self.keyword("BEFORE") {
            TriggerPhase::BeforeCommit
        } else if self.keyword("AFTER") {
            TriggerPhase::AfterCommit
        } else {
            return Err(self.err("expected BEFORE or AFTER"));
        };
        self.expect_keyword("COMMIT")?;
        self.expect_keyword("EXECUTE")?;
        self.skip_ws();
        let statement = self.text(self.i, self.s.len())?;
        self.i = self.s.len();
        Ok(StatementKind::Trigger(TriggerSpec {
            name,
            event,
            phase,
            security,
            statement: statement.trim_end().to_string(),
        }))
    }

    /// After `CREATE (`: a vertex with the helper label and id.
    fn vertex(&mut self) -> Result<StatementKind> {
        if self.peek().is_some_and(is_ident_start) {
            self.name()?;
        }
        let mut labels = Vec::new();
        let mut helper = false;
        while self.eat(":") {
            let l = self.shared_name()?;
            if &*l == HELPER_LABEL && !helper {
                helper = true;
            } else {
                labels.push(l);
            }
        }
        let mut properties = if self.eat("{") {
            self.properties()?
        } else {
            Vec::new()
        };
        self.require(")")?;
        let at = properties.iter().position(|(k, _)| &**k == HELPER_ID);
        let key = match (helper, at.map(|i| properties.remove(i))) {
            (true, Some((_, PropertyValue::Int(k)))) => k,
            _ => {
                return Err(self.unsupported(&format!(
                    "a vertex without the helper label {HELPER_LABEL} and an integer {HELPER_ID}"
                )));
            }
        };
        Ok(StatementKind::Vertex {
            key,
            labels,
            properties,
        })
    }

    /// After `MATCH`: an edge, or the removal of the helper label and property.
    /// The edge statement spelled exactly as dumps write it (ours and the reference
    /// database's: ` (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 1 AND
    /// v.__mg_id__ = 2 CREATE (u)-[:T {…}]->(v)` after `MATCH`), read without the
    /// grammar's token steps: five of six statements of a dump are edges, and
    /// their parse bounded the bulk load. `None`, with nothing consumed, for any
    /// other spelling or anything wrong in it, which the grammar then reads (and
    /// reports) as before, so both paths give the same statement or error.
    fn canonical_edge(&mut self) -> Option<StatementKind> {
        const HEAD: &[u8] = b" (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = ";
        const MIDDLE: &[u8] = b" AND v.__mg_id__ = ";
        const TAIL: &[u8] = b" CREATE (u)-[:";
        const END: &[u8] = b"]->(v)";
        let start = self.i;
        let found = (|| {
            self.literal(HEAD)?;
            let source = self.digits()?;
            self.literal(MIDDLE)?;
            let target = self.digits()?;
            self.literal(TAIL)?;
            let edge_type = self.shared_name().ok()?;
            let properties = if self.literal(b" {").is_some() {
                self.properties().ok()?
            } else {
                Vec::new()
            };
            self.literal(END)?;
            Some(StatementKind::Edge {
                source,
                target,
                edge_type,
                properties,
            })
        })();
        if found.is_none() {
            self.i = start;
        }
        found
    }

    /// Consumes `bytes` if they come next, exactly (no whitespace skipped).
    fn literal(&mut self, bytes: &[u8]) -> Option<()> {
        let rest = self.s.get(self.i..)?;
        rest.starts_with(bytes).then(|| self.i += bytes.len())
    }

    /// An integer of ASCII digits only (no sign), if one comes next and fits.
    fn digits(&mut self) -> Option<i64> {
        let start = self.i;
        let mut n: i64 = 0;
        while let Some(d) = self.s.get(self.i).filter(|b| b.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
            self.i += 1;
        }
        (self.i > start).then_some(n)
    }

    fn matched(&mut self) -> Result<StatementKind> {
        if let Some(edge) = self.canonical_edge() {
            return Ok(edge);
        }
        self.require("(")?;
        let u = self.name()?;
        if self.eat(")") {
            // Like a DROP: a MATCH that changes what the dump created is refused,
            // never skipped.
            if !self.keyword("REMOVE") {
                return Err(self.err(
                    "a MATCH that neither creates the dump's edge nor removes its helper (one that deletes or sets, say) cannot be loaded, and is not skipped: the database would keep what it changes",
                ));
            }
            let v = self.name()?;
            self.require(":")?;
            let l = self.name()?;
            self.require(",")?;
            let w = self.name()?;
            self.require(".")?;
            let k = self.name()?;
            if v != u || w != u || l != HELPER_LABEL || k != HELPER_ID {
                return Err(self.err(
                    "a REMOVE other than the dump's helper cleanup cannot be loaded, and is not skipped: the database would keep what it removes",
                ));
            }
            return Ok(StatementKind::Helper);
        }
        let helper = |p: &mut Parser| -> Result<()> {
            p.require(":")?;
            if !p.name_is(HELPER_LABEL)? {
                return Err(p.unsupported("a MATCH on a label other than the dump's helper"));
            }
            Ok(())
        };
        helper(self)?;
        self.require(")")?;
        self.require(",")?;
        self.require("(")?;
        let v = self.name()?;
        helper(self)?;
        self.require(")")?;
        self.expect_keyword("WHERE")?;
        let id_of = |p: &mut Parser<'a>| -> Result<(Cow<'a, str>, i64)> {
            let var = p.name()?;
            p.require(".")?;
            if !p.name_is(HELPER_ID)? {
                return Err(p.unsupported("a WHERE on a property other than the helper id"));
            }
            p.require("=")?;
            match p.value()? {
                PropertyValue::Int(k) => Ok((var, k)),
                _ => Err(p.err("expected an integer id")),
            }
        };
        let first = id_of(self)?;
        self.expect_keyword("AND")?;
        let second = id_of(self)?;
        let find = |p: &Parser, var: &str| -> Result<i64> {
            [&first, &second]
                .iter()
                .find(|(n, _)| n == var)
                .map(|(_, k)| *k)
                .ok_or_else(|| p.err(&format!("no id given for {}", shown(var))))
        };
        let (ku, kv) = (find(self, &u)?, find(self, &v)?);
        self.expect_keyword("CREATE")?;
        self.require("(")?;
        let from = self.name()?;
        self.require(")")?;
        let backwards = if self.eat("<-") {
            true
        } else {
            self.require("-")?;
            false
        };
        self.require("[")?;
        if self.peek().is_some_and(is_ident_start) {
            self.name()?;
        }
        self.require(":")?;
        let edge_type = self.shared_name()?;
        let properties = if self.eat("{") {
            self.properties()?
        } else {
            Vec::new()
        };
        self.require("]")?;
        if backwards {
            self.require("-")?;
        } else {
            self.require("->")?;
        }
        self.require("(")?;
        let to = self.name()?;
        self.require(")")?;
        let key = |p: &Parser, var: &str| -> Result<i64> {
            if var == u {
                Ok(ku)
            } else if var == v {
                Ok(kv)
            } else {
                Err(p.err(&format!("unknown variable {}", shown(var))))
            }
        };
        let (mut source, mut target) = (key(self, &from)?, key(self, &to)?);
        if backwards {
            std::mem::swap(&mut source, &mut target);
        }
        Ok(StatementKind::Edge {
            source,
            target,
            edge_type,
            properties,
        })
    }

    /// After `{`: `key: value` pairs up to `}`.
    fn entries(&mut self) -> Result<Vec<(String, PropertyValue)>> {
        let mut out = Vec::new();
        if self.eat("}") {
            return Ok(out);
        }
        loop {
            let k = self.name()?.into_owned();
            self.require(":")?;
            out.push((k, self.value()?));
            if self.eat("}") {
                return Ok(out);
            }
            self.require(",")?;
        }
    }

    fn number(&mut self) -> Result<PropertyValue> {
        self.skip_ws();
        let start = self.i;
        if matches!(self.peek(), Some('-' | '+')) {
            self.i += 1;
        }
        let word_start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
            || (matches!(self.peek(), Some('-' | '+'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E')))
        {
            self.i += 1;
        }
        let text = self.text(start, self.i)?;
        let word = &text[word_start - start..];
        let negative = text.starts_with('-');
        let special = if word.eq_ignore_ascii_case("nan") {
            Some(f64::NAN)
        } else if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
            Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        } else {
            None
        };
        if let Some(f) = special {
            return Ok(PropertyValue::Float(f));
        }
        let parsed = if word.contains(['.', 'e', 'E']) {
            // Out of range is refused as an integer is, not rounded to infinity or 0.
            text.parse::<f64>()
                .ok()
                .filter(|f| {
                    let mantissa = word.split(['e', 'E']).next().unwrap_or(word);
                    let underflow =
                        *f == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
                    f.is_finite() && !underflow
                })
                .map(PropertyValue::Float)
        } else {
            text.parse::<i64>().ok().map(PropertyValue::Int)
        };
        parsed.ok_or_else(|| self.err_at(start, &format!("bad number {text}")))
    }

    fn string(&mut self) -> Result<String> {
        self.skip_ws();
        let Some(q) = self
            .s
            .get(self.i)
            .copied()
            .filter(|c| *c == b'"' || *c == b'\'')
        else {
            return Err(self.err("expected a string"));
        };
        self.i += 1;
        // Most strings hold no escape: one copy of the text between the quotes.
        let plain = self.s[self.i..].iter().position(|b| *b == q || *b == b'\\');
        if let Some(n) = plain
            && self.s[self.i + n] == q
        {
            let text = self.text(self.i, self.i + n)?.to_owned();
            self.i += n + 1;
            return Ok(text);
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("a string is not closed"));
            };
            self.i += 1;
            if b == q {
                return String::from_utf8(out).map_err(|_| self.err("a string that is not UTF-8"));
            }
            if b != b'\\' {
                out.push(b);
                continue;
            }
            let slash = self.i - 1;
            let Some(&e) = self.s.get(self.i) else {
                return Err(self.err("a string ends in an escape"));
            };
            self.i += 1;
            let mut push = |c: char| {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            };
            match e {
                b'\\' | b'"' | b'\'' => push(e as char),
                b'b' => push('\u{8}'),
                b'f' => push('\u{c}'),
                b'n' => push('\n'),
                b'r' => push('\r'),
                b't' => push('\t'),
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let hex = self
                        .s
                        .get(self.i..self.i + n)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .unwrap_or("");
                    let code = u32::from_str_radix(hex, 16).ok();
                    // A UTF-16 surrogate pair (`\uD83D\uDE00`, as tools that count in
                    // UTF-16 write a character beyond the first plane) is one character.
                    let low = self
                        .s
                        .get(self.i + n..self.i + n + 6)
                        .and_then(|h| h.strip_prefix(b"\\u"))
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .filter(|l| (0xDC00..=0xDFFF).contains(l));
                    let (code, len) = match (code, low) {
                        (Some(h @ 0xD800..=0xDBFF), Some(l)) if e == b'u' => {
                            (Some(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00)), n + 6)
                        }
                        _ => (code, n),
                    };
                    let c = code.and_then(char::from_u32).ok_or_else(|| {
                        self.err_at(slash, &format!("bad escape \\{}{hex}", e as char))
                    })?;
                    self.i += len;
                    push(c);
                }
                other => {
                    return Err(self.err_at(slash, &format!("unknown escape \\{}", other as char)));
                }
            }
        }
    }

    fn value(&mut self) -> Result<PropertyValue> {
        let v = self.single_value()?;
        // `0.0/0.0`, `1.0/0.0`, `-1.0/0.0`: the writer's NaN and infinities.
        if self.eat("/") {
            let d = self.number()?;
            let as_f = |v: &PropertyValue| match v {
                PropertyValue::Int(i) => Some(*i as f64),
                PropertyValue::Float(f) => Some(*f),
                _ => None,
            };
            return match (as_f(&v), as_f(&d)) {
                (Some(a), Some(b)) => Ok(PropertyValue::Float(a / b)),
                _ => Err(self.err("a division of non-numbers")),
            };
        }
        Ok(v)
    }

    /// Opens one more list or map level; refused past what a value may hold, before
    /// the parser goes deeper (a hostile dump must not exhaust the stack).
    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_NESTING_DEPTH {
            return Err(self.err(&format!(
                "a value nests more than {MAX_NESTING_DEPTH} lists and maps deep"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn single_value(&mut self) -> Result<PropertyValue> {
        self.skip_ws();
        match self.peek() {
            Some('"' | '\'') => return self.string().map(PropertyValue::String),
            Some('[') => {
                self.enter()?;
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.value()?);
                        if self.eat("]") {
                            break;
                        }
                        self.require(",")?;
                    }
                }
                self.depth -= 1;
                return Ok(PropertyValue::List(items));
            }
            Some('{') => {
                self.enter()?;
                self.i += 1;
                let entries = self.entries()?;
                self.depth -= 1;
                return Ok(PropertyValue::Map(
                    entries.into_iter().collect::<BTreeMap<_, _>>(),
                ));
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                return self.number();
            }
            _ => {}
        }
        for (word, v) in [
            ("null", PropertyValue::Null),
            ("true", PropertyValue::Bool(true)),
            ("false", PropertyValue::Bool(false)),
        ] {
            if self.keyword(word) {
                return Ok(v);
            }
        }
        if self.keyword("nan") {
            return Ok(PropertyValue::Float(f64::NAN));
        }
        if self.keyword("inf") || self.keyword("infinity") {
            return Ok(PropertyValue::Float(f64::INFINITY));
        }
        if !self.peek().is_some_and(|c| is_ident_start(c) || c == '`') {
            return Err(self.err("expected a value"));
        }
        let function = self.name()?.to_ascii_uppercase();
        self.require("(")?;
        let v = if function == "POINT" {
            self.require("{")?;
            let entries = self.entries()?;
            self.point(entries)?
        } else {
            let text = self.string()?;
            self.temporal(&function, &text)?
        };
        self.require(")")?;
        Ok(v)
    }

    fn point(&self, entries: Vec<(String, PropertyValue)>) -> Result<PropertyValue> {
        let mut p = Point {
            srid: 7203,
            x: 0.0,
            y: 0.0,
            z: None,
        };
        let f = |v: &PropertyValue| match v {
            PropertyValue::Float(f) => Some(*f),
            PropertyValue::Int(i) => Some(*i as f64),
            _ => None,
        };
        for (k, v) in &entries {
            let bad = || self.err(&format!("bad point coordinate {}", shown(k)));
            match k.to_ascii_lowercase().as_str() {
                "x" | "longitude" => p.x = f(v).ok_or_else(bad)?,
                "y" | "latitude" => p.y = f(v).ok_or_else(bad)?,
                "z" | "height" => p.z = Some(f(v).ok_or_else(bad)?),
                "srid" => match v {
                    PropertyValue::Int(i) => p.srid = u32::try_from(*i).map_err(|_| bad())?,
                    _ => return Err(bad()),
                },
                "crs" => return Err(self.unsupported("a point given by crs name")),
                _ => return Err(bad()),
            }
        }
        Ok(PropertyValue::Point(p))
    }

    fn temporal(&self, function: &str, text: &str) -> Result<PropertyValue> {
        let bad = || self.err(&format!("bad {} value {}", shown(function), shown(text)));
        Ok(match function {
            "DATE" => PropertyValue::Date(parse_date(text).ok_or_else(bad)?),
            "LOCALTIME" => PropertyValue::LocalTime(
                LocalTime::from_micros_since_midnight(parse_time(text).ok_or_else(bad)?)
                    .ok_or_else(bad)?,
            ),
            "LOCALDATETIME" => {
                let (d, t) = text.split_once('T').ok_or_else(bad)?;
                let micros = date_micros(parse_date(d).ok_or_else(bad)?)
                    .checked_add(parse_time(t).ok_or_else(bad)?)
                    .ok_or_else(bad)?;
                PropertyValue::LocalDateTime(LocalDateTime::from_micros_since_epoch(micros))
            }
            "DATETIME" => {
                // RFC 9557's form, as the reference database writes a zone given by
                // name: `…-08:00[America/Los_Angeles]`. The value type holds an
                // offset only; a well-formed value is refused as unsupported (never
                // as malformed), naming the zone.
                if let Some(open) = text.find('[')
                    && text.ends_with(']')
                {
                    let zone = &text[open + 1..text.len() - 1];
                    let stamp = &text[..open];
                    let well_formed = self.temporal("DATETIME", stamp).is_ok()
                        || self.temporal("LOCALDATETIME", stamp).is_ok();
                    if !well_formed || zone.is_empty() {
                        return Err(bad());
                    }
                    return Err(self.unsupported(&format!(
                        "the DATETIME {text:?} with the named time zone {zone} (zones given by name are not supported: Quiver's zoned date-times carry an offset)"
                    )));
                }
                let (d, rest) = text.split_once('T').ok_or_else(bad)?;
                let split = rest.rfind(['+', '-', 'Z']).ok_or_else(bad)?;
                let (t, zone) = rest.split_at(split);
                let offset = parse_offset(zone).ok_or_else(bad)?;
                let local = date_micros(parse_date(d).ok_or_else(bad)?)
                    .checked_add(parse_time(t).ok_or_else(bad)?)
                    .ok_or_else(bad)?;
                let utc = local
                    .checked_sub(i64::from(offset) * 1_000_000)
                    .ok_or_else(bad)?;
                PropertyValue::ZonedDateTime(ZonedDateTime::new(utc, offset).ok_or_else(bad)?)
            }
            "DURATION" => PropertyValue::Duration(Duration::from_micros(
                parse_duration(text).ok_or_else(bad)?,
            )),
            other if OTHER_FUNCTIONS.contains(&other) => {
                return Err(self.unsupported(&format!("the function {}", shown(other))));
            }
            other => return Err(self.err(&format!("unknown function {}", shown(other)))),
        })
    }
}
