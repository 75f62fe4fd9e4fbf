//! The writer: streams a database's [`DumpEntity`] view as statements.

use std::io::Write;
use std::time::{Duration, Instant};

use engine_api::{
    ConstraintSpec, DumpCounts, DumpEntity, Error, ErrorKind, IndexSpec, PropertyMap, Result,
    StorageEngine, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, dump_entities,
};

use crate::literal::{name, value};

/// The helper label and property that let edge statements find their endpoints.
pub const HELPER_LABEL: &str = "__mg_vertex__";
/// See [`HELPER_LABEL`].
pub const HELPER_ID: &str = "__mg_id__";

/// How far a dump or load has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Statements written (or applied).
    pub statements: u64,
    /// Bytes written (or read).
    pub bytes: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

impl Progress {
    /// Statements per second so far.
    pub fn rate(&self) -> f64 {
        self.statements as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A progress callback.
pub type ProgressFn<'a> = &'a mut dyn FnMut(Progress);

/// What a dump wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpSummary {
    /// The entities, by kind.
    pub counts: DumpCounts,
    /// Statements written.
    pub statements: u64,
    /// Bytes written.
    pub bytes: u64,
}

struct Writer<'a, W: Write> {
    out: W,
    line: String,
    statements: u64,
    bytes: u64,
    vertices: u64,
    helper_index: bool,
    cleaned_up: bool,
    started: Instant,
    progress: Option<ProgressFn<'a>>,
    every: u64,
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write the dump: {e}")).with_source(e)
}

fn properties(line: &mut String, id: Option<u64>, props: &PropertyMap) -> Result<()> {
    if id.is_none() && props.is_empty() {
        return Ok(());
    }
    line.push_str(" {");
    let mut first = true;
    if let Some(id) = id {
        line.push_str(HELPER_ID);
        line.push_str(": ");
        line.push_str(&id.to_string());
        first = false;
    }
    for (k, v) in props {
        if !first {
            line.push_str(", ");
        }
        first = false;
        name(line, k);
        line.push_str(": ");
        value(line, v)?;
    }
    line.push('}');
    Ok(())
}

fn names(line: &mut String, var: &str, list: &[String]) {
    for (i, n) in list.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        if !var.is_empty() {
            line.push_str(var);
            line.push('.');
        }
        name(line, n);
    }
}

impl<W: Write> Writer<'_, W> {
    /// Writes the statement in `self.line` (without its `;`).
    fn emit(&mut self) -> Result<()> {
        self.line.push_str(";\n");
        self.out.write_all(self.line.as_bytes()).map_err(io)?;
        self.bytes += self.line.len() as u64;
        self.statements += 1;
        self.line.clear();
        if self.statements.is_multiple_of(self.every)
            && let Some(p) = self.progress.as_mut()
        {
            p(Progress {
                statements: self.statements,
                bytes: self.bytes,
                elapsed: self.started.elapsed(),
            });
        }
        Ok(())
    }

    fn statement(&mut self, text: &str) -> Result<()> {
        self.line.push_str(text);
        self.emit()
    }

    /// The helper index, once, after the last vertex (only if there is one).
    fn after_vertices(&mut self) -> Result<()> {
        if !self.helper_index && self.vertices > 0 {
            self.helper_index = true;
            self.statement(&format!("CREATE INDEX ON :{HELPER_LABEL}({HELPER_ID})"))?;
        }
        Ok(())
    }

    /// Drops the helper index, label and property, once, after the last edge.
    fn after_edges(&mut self) -> Result<()> {
        self.after_vertices()?;
        if !self.cleaned_up && self.vertices > 0 {
            self.cleaned_up = true;
            self.statement(&format!("DROP INDEX ON :{HELPER_LABEL}({HELPER_ID})"))?;
            self.statement(&format!("MATCH (u) REMOVE u:{HELPER_LABEL}, u.{HELPER_ID}"))?;
        }
        Ok(())
    }

    fn entity(&mut self, e: DumpEntity) -> Result<()> {
        match e {
            DumpEntity::Vertex {
                key,
                labels,
                properties: props,
            } => {
                self.line.push_str("CREATE (:");
                self.line.push_str(HELPER_LABEL);
                for l in &labels {
                    self.line.push(':');
                    name(&mut self.line, l);
                }
                properties(&mut self.line, Some(key), &props)?;
                self.line.push(')');
                self.vertices += 1;
                self.emit()
            }
            DumpEntity::Edge {
                source,
                target,
                edge_type,
                properties: props,
            } => {
                self.after_vertices()?;
                self.line.push_str(&format!(
                    "MATCH (u:{HELPER_LABEL}), (v:{HELPER_LABEL}) WHERE u.{HELPER_ID} = {source} AND v.{HELPER_ID} = {target} CREATE (u)-[:"
                ));
                name(&mut self.line, &edge_type);
                properties(&mut self.line, None, &props)?;
                self.line.push_str("]->(v)");
                self.emit()
            }
            DumpEntity::Index(spec) => {
                self.after_edges()?;
                self.index(&spec)
            }
            DumpEntity::Constraint(spec) => {
                self.after_edges()?;
                self.constraint(&spec)
            }
            DumpEntity::Trigger(spec) => {
                self.after_edges()?;
                self.trigger(&spec)
            }
        }
    }

    fn index(&mut self, spec: &IndexSpec) -> Result<()> {
        match spec {
            IndexSpec::Label(l) => {
                self.line.push_str("CREATE INDEX ON :");
                name(&mut self.line, l);
            }
            IndexSpec::LabelProperties { label, properties } => {
                self.line.push_str("CREATE INDEX ON :");
                name(&mut self.line, label);
                self.line.push('(');
                names(&mut self.line, "", properties);
                self.line.push(')');
            }
            IndexSpec::EdgeType(t) => {
                self.line.push_str("CREATE EDGE INDEX ON :");
                name(&mut self.line, t);
            }
            IndexSpec::EdgeTypeProperty {
                edge_type,
                property,
            } => {
                self.line.push_str("CREATE EDGE INDEX ON :");
                name(&mut self.line, edge_type);
                self.line.push('(');
                name(&mut self.line, property);
                self.line.push(')');
            }
        }
        self.emit()
    }

    fn constraint(&mut self, spec: &ConstraintSpec) -> Result<()> {
        self.line.push_str("CREATE CONSTRAINT ON (u:");
        name(&mut self.line, spec.label());
        self.line.push_str(") ASSERT ");
        match spec {
            ConstraintSpec::Exists { property, .. } => {
                self.line.push_str("EXISTS (u.");
                name(&mut self.line, property);
                self.line.push(')');
            }
            ConstraintSpec::Unique { properties, .. } => {
                names(&mut self.line, "u", properties);
                self.line.push_str(" IS UNIQUE");
            }
            ConstraintSpec::Type {
                property,
                value_type,
                ..
            } => {
                self.line.push_str("u.");
                name(&mut self.line, property);
                self.line.push_str(" IS TYPED ");
                self.line.push_str(value_type.cypher_name());
            }
        }
        self.emit()
    }

    fn trigger(&mut self, t: &TriggerSpec) -> Result<()> {
        self.line.push_str("CREATE TRIGGER ");
        name(&mut self.line, &t.name);
        self.line.push_str(match t.security {
            TriggerSecurity::Invoker => " SECURITY INVOKER",
            TriggerSecurity::Definer => " SECURITY DEFINER",
        });
        self.line.push_str(match t.event {
            TriggerEvent::Any => "",
            TriggerEvent::VertexCreate => " ON () CREATE",
            TriggerEvent::EdgeCreate => " ON --> CREATE",
            TriggerEvent::Update => " ON UPDATE",
            TriggerEvent::Delete => " ON DELETE",
        });
        self.line.push_str(match t.phase {
            TriggerPhase::BeforeCommit => " BEFORE COMMIT EXECUTE ",
            TriggerPhase::AfterCommit => " AFTER COMMIT EXECUTE ",
        });
        // One statement per line: the statement's own line breaks become spaces.
        for c in t.statement.chars() {
            self.line.push(if c == '\n' || c == '\r' { ' ' } else { c });
        }
        self.emit()
    }
}

/// Options of [`write_dump`].
#[derive(Default)]
pub struct DumpOptions<'a> {
    progress: Option<ProgressFn<'a>>,
    every: u64,
}

impl std::fmt::Debug for DumpOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpOptions")
            .field("progress", &self.progress.is_some())
            .field("every", &self.every)
            .finish()
    }
}

impl<'a> DumpOptions<'a> {
    /// No progress reports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `progress` after every `every` statements (default: none). A small
    /// `every` costs a call per statement; 100 000 is a report every fraction of a
    /// second.
    #[must_use]
    pub fn progress(mut self, every: u64, progress: ProgressFn<'a>) -> Self {
        self.every = every.max(1);
        self.progress = Some(progress);
        self
    }
}

/// Writes the whole database as statements to `out`, streaming (memory: one
/// statement and one `u64` per vertex), from one read transaction (see
/// [`dump_entities`]). The order and forms are `docs/dump.md`'s.
///
/// Errors: `Io` when `out` fails, and whatever reading the database returns.
pub fn write_dump<E: StorageEngine, W: Write>(
    engine: &E,
    out: W,
    options: DumpOptions<'_>,
) -> Result<DumpSummary> {
    let mut w = Writer {
        out,
        line: String::new(),
        statements: 0,
        bytes: 0,
        vertices: 0,
        helper_index: false,
        cleaned_up: false,
        started: Instant::now(),
        every: if options.progress.is_some() {
            options.every
        } else {
            u64::MAX
        },
        progress: options.progress,
    };
    let counts = dump_entities(engine, &mut |e| w.entity(e))?;
    w.after_edges()?;
    w.out.flush().map_err(io)?;
    if let Some(p) = w.progress.as_mut() {
        p(Progress {
            statements: w.statements,
            bytes: w.bytes,
            elapsed: w.started.elapsed(),
        });
    }
    Ok(DumpSummary {
        counts,
        statements: w.statements,
        bytes: w.bytes,
    })
}
