//! A dump as a database image: the statements streamed into a
//! [`durability::SnapshotSink`] (the on-disk engine's bulk importer takes one),
//! with the ids, names and schema a load into an empty database would make.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

use durability::{ImageEdge, ImageVertex, NameKind, SchemaOp, SnapshotSink};
use engine_api::{Error, ErrorKind, Name, PropertyValue, Result};

use crate::load::{LoadOptions, LoadSummary};
use crate::parse::{Statement, StatementKind, StatementReader};
use crate::write::Progress;

/// One dictionary of the image: names by first use, ids from 0 (what a load into an
/// empty database interns). A name is handed to the sink the first time it is used.
struct Dictionary {
    kind: NameKind,
    what: &'static str,
    ids: HashMap<Name, u32>,
    /// The parser hands out one shared copy of each name it saw recently: found by
    /// address here, before hashing the name (each entry holds its name, so an
    /// address is not reused while it is cached).
    recent: [Option<(Name, u32)>; 16],
}

impl Dictionary {
    fn new(kind: NameKind, what: &'static str) -> Self {
        Dictionary {
            kind,
            what,
            ids: HashMap::new(),
            recent: Default::default(),
        }
    }

    fn id(&mut self, name: &Name, sink: &mut dyn SnapshotSink) -> Result<u32> {
        let slot = (std::sync::Arc::as_ptr(name).cast::<u8>() as usize >> 4) % self.recent.len();
        if let Some((cached, id)) = &self.recent[slot]
            && std::sync::Arc::ptr_eq(cached, name)
        {
            return Ok(*id);
        }
        let id = match self.ids.get(name) {
            Some(id) => *id,
            None => {
                engine_api::validate_name(self.what, name)?;
                let id = u32::try_from(self.ids.len()).map_err(|_| {
                    Error::invalid_input(format!("too many distinct {} names", self.what))
                })?;
                sink.name(self.kind, id, name)?;
                self.ids.insert(name.clone(), id);
                id
            }
        };
        self.recent[slot] = Some((name.clone(), id));
        Ok(id)
    }
}

/// The dump's vertex keys to the ids of the image: a dump numbers its vertices 0, 1,
/// 2, ... in order, so dense keys index a vector; others go to a map.
#[derive(Default)]
struct Keys {
    dense: Vec<u64>,
    sparse: HashMap<i64, u64>,
}

impl Keys {
    const NONE: u64 = u64::MAX;

    fn get(&self, key: i64) -> Option<u64> {
        match usize::try_from(key).ok().and_then(|k| self.dense.get(k)) {
            Some(&v) if v != Self::NONE => Some(v),
            // A hole, or a key beyond: the map may have it (put there before the
            // vector grew over it).
            _ => self.sparse.get(&key).copied(),
        }
    }

    /// Records `key` → `id` (the key has no vertex yet).
    fn insert(&mut self, key: i64, id: u64) {
        match usize::try_from(key) {
            Ok(k) if k < self.dense.len() => self.dense[k] = id,
            // Holes are filled in while the vector at most doubles; a key far beyond
            // goes to the map.
            Ok(k) if k <= 2 * self.dense.len() + 64 => {
                self.dense.resize(k, Self::NONE);
                self.dense.push(id);
            }
            _ => {
                self.sparse.insert(key, id);
            }
        }
    }
}

/// Statements handed from the parsing thread to the sink's. Each batch goes back
/// to the parsing thread once used, which drops its statements: their strings are
/// freed by the thread that allocated them (freeing them on the other thread made an
/// earlier two-thread loader slower than one thread).
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) statements: Vec<Statement>,
    /// Statements read and bytes consumed once this batch's last statement was read.
    pub(crate) seen: u64,
    pub(crate) read: u64,
}

/// Statements per batch: big enough to cost the channel nothing, small enough to
/// keep both threads busy.
const BATCH: usize = 4096;

/// The image being made on the sink's thread: dictionaries, keys, counters and the
/// schema seen so far.
struct Builder<'s> {
    sink: &'s mut dyn SnapshotSink,
    labels: Dictionary,
    edge_types: Dictionary,
    keys: Dictionary,
    vertex_keys: Keys,
    next_vertex: u64,
    next_edge: u64,
    schema: Vec<SchemaOp>,
    aside: Option<&'s mut Vec<engine_api::ConstraintSpec>>,
    /// Reused buffers: label ids, (key id, position) pairs, the property record.
    label_ids: Vec<u32>,
    pairs: Vec<(u32, usize)>,
    record: Vec<u8>,
}

impl Builder<'_> {
    /// The property record of `properties` into `self.record` (values are read, not
    /// taken: the statement is dropped on the parsing thread). A key given twice
    /// keeps its last value, as the engines' own writes do.
    fn record(&mut self, properties: &[(Name, PropertyValue)]) -> Result<()> {
        self.pairs.clear();
        for (at, (key, value)) in properties.iter().enumerate() {
            engine_api::validate_name("property key", key)?;
            value.validate()?;
            if !value.is_null() {
                let k = self.keys.id(key, &mut *self.sink)?;
                self.pairs.push((k, at));
            }
        }
        // Stable: of a key given twice, the later pair sorts last and is kept.
        self.pairs.sort_by_key(|(k, _)| *k);
        self.record.clear();
        let pairs = &self.pairs;
        let last_of_key = pairs
            .iter()
            .enumerate()
            .filter(|(i, (k, _))| pairs.get(i + 1).is_none_or(|(next, _)| next != k))
            .map(|(_, (k, at))| (*k, &properties[*at].1));
        engine_api::codec::encode_properties(last_of_key, &mut self.record);
        Ok(())
    }

    fn vertex(
        &mut self,
        key: i64,
        labels: &[Name],
        properties: &[(Name, PropertyValue)],
    ) -> Result<()> {
        let id = self.next_vertex;
        if self.vertex_keys.get(key).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("a vertex with key {key} was created before"),
            ));
        }
        self.label_ids.clear();
        for l in labels {
            let l = self.labels.id(l, &mut *self.sink)?;
            self.label_ids.push(l);
        }
        self.label_ids.sort_unstable();
        self.label_ids.dedup();
        self.record(properties)?;
        self.sink
            .vertex(ImageVertex::new(id, &self.label_ids, &self.record))?;
        self.vertex_keys.insert(key, id);
        self.next_vertex += 1;
        Ok(())
    }

    fn edge(
        &mut self,
        source: i64,
        target: i64,
        edge_type: &Name,
        properties: &[(Name, PropertyValue)],
    ) -> Result<()> {
        let (Some(s), Some(t)) = (self.vertex_keys.get(source), self.vertex_keys.get(target))
        else {
            let missing = if self.vertex_keys.get(source).is_none() {
                source
            } else {
                target
            };
            return Err(Error::not_found(format!(
                "no vertex was created for key {missing}"
            )));
        };
        let edge_type = self.edge_types.id(edge_type, &mut *self.sink)?;
        self.record(properties)?;
        self.sink.edge(ImageEdge::new(
            self.next_edge,
            edge_type,
            s,
            t,
            &self.record,
        ))?;
        self.next_edge += 1;
        Ok(())
    }

    fn schema(&mut self, op: SchemaOp, what: &dyn std::fmt::Display) -> Result<()> {
        define_once(&mut self.schema, op, what)
    }

    /// Applies one statement; the count it adds to goes up.
    fn apply(&mut self, kind: &StatementKind, summary: &mut LoadSummary) -> Result<()> {
        match kind {
            StatementKind::Vertex {
                key,
                labels,
                properties,
            } => self
                .vertex(*key, labels, properties)
                .map(|()| summary.vertices += 1),
            StatementKind::Edge {
                source,
                target,
                edge_type,
                properties,
            } => self
                .edge(*source, *target, edge_type, properties)
                .map(|()| summary.edges += 1),
            StatementKind::Helper => Ok(()),
            StatementKind::Index(spec) => self
                .schema(
                    SchemaOp::CreateIndex(spec.clone()),
                    &format!("the {}", spec.named()),
                )
                .map(|()| summary.schema += 1),
            StatementKind::Constraint(spec) => {
                if let Some(aside) = self.aside.as_mut() {
                    if aside.contains(spec) {
                        return Err(twice_in_the_dump(&format!("the constraint {spec}")));
                    }
                    aside.push(spec.clone());
                    summary.schema += 1;
                    Ok(())
                } else {
                    self.schema(
                        SchemaOp::CreateConstraint(spec.clone()),
                        &format!("the constraint {spec}"),
                    )
                    .map(|()| summary.schema += 1)
                }
            }
            StatementKind::Trigger(spec) => self
                .schema(
                    SchemaOp::CreateTrigger(spec.clone()),
                    &format!("the trigger {}", spec.name),
                )
                .map(|()| summary.schema += 1),
        }
    }
}

/// Streams the dump read from `input` into `sink` as the image of a new database:
/// vertices get ids 0, 1, 2, ... and edges 0, 1, 2, ... in the dump's order, names
/// get ids in the order of their first use, and indexes, constraints and triggers
/// become the image's schema: what [`crate::load_dump`] into an empty database
/// would make, without a transaction. The helper label, index and property are
/// never created. Two threads: a second one reads and parses while this one hands
/// the statements to `sink`.
///
/// Order: each name reaches the sink just before the first object that uses it,
/// vertices and edges interleave as the dump has them (each in ascending id order),
/// and the schema and the id counters come after the last object. The on-disk
/// engine's bulk importer (`engine_ondisk::OnDiskEngine::create_from_image`) takes
/// that order; a snapshot writer, which needs its dictionaries first, refuses it.
///
/// Of `options`, the progress callback, `skip_unsupported` (with `log_skipped`)
/// and `constraints_aside` apply; constraints are otherwise part of the image (the importer checks them on
/// the data). The batch size does not apply: the image is one unit.
///
/// Errors, each naming the line: `InvalidInput` for a statement that does not parse
/// or an invalid name or value, `Unsupported` for one this loader does not support
/// (unless skipped) or a vertex key or a schema definition given twice (the dump
/// contradicts itself), `NotFound` for an edge whose endpoint no earlier statement creates, and
/// whatever the sink returns. The sink then holds part of the image: the caller
/// throws it away (`create_from_image` does).
pub fn dump_to_image<R: BufRead + Send>(
    input: R,
    sink: &mut dyn SnapshotSink,
    options: LoadOptions<'_>,
) -> Result<LoadSummary> {
    let started = Instant::now();
    let skip = options.skipping();
    let LoadOptions {
        constraints_aside,
        mut progress,
        every,
        ..
    } = options;
    let mut b = Builder {
        sink,
        labels: Dictionary::new(NameKind::Label, "label"),
        edge_types: Dictionary::new(NameKind::EdgeType, "edge type"),
        keys: Dictionary::new(NameKind::PropertyKey, "property key"),
        vertex_keys: Keys::default(),
        next_vertex: 0,
        next_edge: 0,
        schema: Vec::new(),
        aside: constraints_aside,
        label_ids: Vec::new(),
        pairs: Vec::new(),
        record: Vec::new(),
    };
    let mut summary = LoadSummary::default();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (used_tx, used_rx) = std::sync::mpsc::channel::<Batch>();
    let (read, applied) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || read_batches(input, skip, &full_tx, &used_rx));
        let mut applied = Ok(());
        let mut reported = 0u64;
        'batches: for batch in &full_rx {
            for statement in &batch.statements {
                if let Err(e) = b.apply(&statement.kind, &mut summary) {
                    let message = format!("line {}: {}", statement.line, e.message());
                    applied = Err(Error::new(e.kind(), message).with_source(e));
                    // Dropping the receiver stops the parser at its next batch.
                    break 'batches;
                }
            }
            if batch.seen / every > reported / every
                && let Some(p) = progress.as_mut()
            {
                p(Progress {
                    statements: batch.seen,
                    bytes: batch.read,
                    elapsed: started.elapsed(),
                });
            }
            reported = batch.seen;
            let _ = used_tx.send(batch);
        }
        drop(full_rx);
        let read = parser.join().unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Io,
                "the dump's parsing thread panicked",
            ))
        });
        (read, applied)
    });
    // A refused statement is the cause; the parser then only saw its batches refused.
    applied?;
    let (seen, bytes, skipped) = read?;
    b.sink.schema_all(&b.schema)?;
    b.sink.counters(b.next_vertex, b.next_edge)?;
    summary.statements = seen;
    summary.bytes = bytes;
    summary.skipped = skipped;
    if let Some(p) = progress.as_mut() {
        p(Progress {
            statements: summary.statements,
            bytes: summary.bytes,
            elapsed: started.elapsed(),
        });
    }
    Ok(summary)
}

/// The parsing thread: statements into batches sent to `full`; used batches come
/// back on `used` and are emptied here. Returns the statements read, the bytes
/// consumed and the statements skipped.
pub(crate) fn read_batches<R: BufRead>(
    input: R,
    skip: crate::load::Skipping<'_>,
    full: &std::sync::mpsc::SyncSender<Batch>,
    used: &std::sync::mpsc::Receiver<Batch>,
) -> Result<(u64, u64, u64)> {
    let mut reader = StatementReader::new(input);
    let mut seen = 0u64;
    let mut skipped = 0u64;
    let mut batch = Batch::default();
    let stopped = || {
        Error::new(
            ErrorKind::Aborted,
            "the image's sink stopped taking statements",
        )
    };
    loop {
        match reader.next_statement() {
            Ok(Some(s)) => {
                batch.statements.push(s);
                seen += 1;
            }
            Ok(None) => break,
            Err(e) if skip.skips(&e) => {
                skipped += 1;
                continue;
            }
            Err(e) => {
                // What was read before it is applied first, as a reader on one
                // thread would have applied it.
                if !batch.statements.is_empty() {
                    batch.seen = seen;
                    batch.read = reader.bytes();
                    full.send(batch).map_err(|_| stopped())?;
                }
                return Err(e);
            }
        }
        if batch.statements.len() >= BATCH {
            batch.seen = seen;
            batch.read = reader.bytes();
            let mut next = used.try_recv().unwrap_or_default();
            next.statements.clear();
            full.send(std::mem::replace(&mut batch, next))
                .map_err(|_| stopped())?;
        }
    }
    batch.seen = seen;
    batch.read = reader.bytes();
    full.send(batch).map_err(|_| stopped())?;
    Ok((seen, reader.bytes(), skipped))
}

/// A definition the dump makes twice: the dump contradicts itself (invalid input,
/// whatever the target holds).
pub(crate) fn twice_in_the_dump(what: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{what} is created earlier in the dump"),
    )
}

/// Records `op` among the definitions the dump made so far (`defined`), refusing a
/// second definition of the same (a trigger is known by its name).
pub(crate) fn define_once(
    defined: &mut Vec<SchemaOp>,
    op: SchemaOp,
    what: &dyn std::fmt::Display,
) -> Result<()> {
    let twice = defined.iter().any(|d| match (d, &op) {
        (SchemaOp::CreateTrigger(a), SchemaOp::CreateTrigger(b)) => a.name == b.name,
        _ => *d == op,
    });
    if twice {
        return Err(twice_in_the_dump(what));
    }
    defined.push(op);
    Ok(())
}
