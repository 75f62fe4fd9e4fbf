//! The loader: applies a dump's statements to any backend through the contract.

use std::io::BufRead;
use std::time::Instant;

use engine_api::{
    BulkLoader, Error, ErrorKind, Name, PropertyValue, Result, StorageEngine, Transaction,
};

use crate::image::define_once;
use crate::image::{Batch, read_batches};
use crate::parse::{Statement, StatementKind, StatementReader};
use crate::write::{Progress, ProgressFn};

/// Options of [`load_dump`].
pub struct LoadOptions<'a> {
    batch_size: usize,
    pub(crate) skip_unsupported: bool,
    skip_constraints: bool,
    pub(crate) constraints_aside: Option<&'a mut Vec<engine_api::ConstraintSpec>>,
    pub(crate) progress: Option<ProgressFn<'a>>,
    pub(crate) every: u64,
    pub(crate) skipped_log: Option<&'a std::sync::Mutex<Vec<String>>>,
}

impl std::fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("batch_size", &self.batch_size)
            .field("skip_unsupported", &self.skip_unsupported)
            .field("skip_constraints", &self.skip_constraints)
            .finish_non_exhaustive()
    }
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        LoadOptions {
            batch_size: 10_000,
            skip_unsupported: false,
            skip_constraints: false,
            constraints_aside: None,
            progress: None,
            every: u64::MAX,
            skipped_log: None,
        }
    }
}

impl<'a> LoadOptions<'a> {
    /// The defaults: batches of 10 000 statements, stop at anything unsupported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Statements per transaction (default 10 000). Larger batches load faster and
    /// hold more uncommitted state; a failing statement rolls back its batch.
    #[must_use]
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Skips (and counts) statements this loader does not support instead of
    /// stopping with `Unsupported` (default: stop).
    #[must_use]
    pub fn skip_unsupported(mut self, skip: bool) -> Self {
        self.skip_unsupported = skip;
        self
    }

    /// Skips (and counts) constraints when the backend has none (default: stop with
    /// `Unsupported`).
    #[must_use]
    pub fn skip_constraints(mut self, skip: bool) -> Self {
        self.skip_constraints = skip;
        self
    }

    /// Hands each constraint to `aside` instead of creating it (counted as schema):
    /// for a caller that loads into a mode without constraints and creates them
    /// afterwards in one that has them. Default: create them.
    #[must_use]
    pub fn constraints_aside(mut self, aside: &'a mut Vec<engine_api::ConstraintSpec>) -> Self {
        self.constraints_aside = Some(aside);
        self
    }

    /// Where the statements [`LoadOptions::skip_unsupported`] skips are named: each
    /// one's line and what it is, the first [`SKIPPED_NAMED`] of them, as they are
    /// skipped (the summary counts them all). A load or a check given these options
    /// writes to it. Default: none.
    #[must_use]
    pub fn log_skipped(mut self, log: &'a std::sync::Mutex<Vec<String>>) -> Self {
        self.skipped_log = Some(log);
        self
    }

    /// How these options treat an unsupported statement.
    pub(crate) fn skipping(&self) -> Skipping<'a> {
        Skipping {
            on: self.skip_unsupported,
            log: self.skipped_log,
        }
    }

    /// Calls `progress` after every `every` statements read (and once at the end,
    /// with the statements applied).
    #[must_use]
    pub fn progress(mut self, every: u64, progress: ProgressFn<'a>) -> Self {
        self.every = every.max(1);
        self.progress = Some(progress);
        self
    }
}

/// How many skipped statements [`LoadOptions::log_skipped`] names.
pub const SKIPPED_NAMED: usize = 100;

/// Whether a load or check skips unsupported statements, and where it names them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Skipping<'a> {
    on: bool,
    log: Option<&'a std::sync::Mutex<Vec<String>>>,
}

impl Skipping<'_> {
    /// Whether `e` (a statement's error) is skipped; one that is gets named in the
    /// log while it has room.
    pub(crate) fn skips(&self, e: &Error) -> bool {
        if !self.on || e.kind() != ErrorKind::Unsupported {
            return false;
        }
        if let Some(mut named) = self.log.and_then(|l| l.lock().ok())
            && named.len() < SKIPPED_NAMED
        {
            named.push(e.message().to_string());
        }
        true
    }
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Statements applied (the helper statements included: they need no work).
    pub statements: u64,
    /// Statements skipped on request.
    pub skipped: u64,
    /// Vertices created.
    pub vertices: u64,
    /// Edges created.
    pub edges: u64,
    /// Indexes, constraints and triggers created.
    pub schema: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// The pairs as the loader takes them: each key borrowed, each value moved out
/// (never cloned), in one vector.
fn pairs(props: &mut [(Name, PropertyValue)]) -> Vec<(&str, PropertyValue)> {
    props
        .iter_mut()
        .map(|(k, v)| (&**k, std::mem::replace(v, PropertyValue::Null)))
        .collect()
}

fn explain(e: Error, line: u64, applied: u64) -> Error {
    let message = e.message();
    let applied = format!(
        "{} applied before it",
        engine_api::counted(applied, "statement")
    );
    // The bulk loader's own note, "(N operations were committed before it; ...)",
    // takes this count inside its brackets: one note, not two in a row.
    let message = match message.strip_suffix(')') {
        Some(open) if message.contains(engine_api::COMMITTED_BEFORE) => {
            format!("{open}; {applied})")
        }
        _ => format!("{message} ({applied})"),
    };
    let message = if message.starts_with("line ") {
        message
    } else {
        format!("line {line}: {message}")
    };
    Error::new(e.kind(), message).with_source(e)
}

/// Applies the dump read from `input` to `engine`, streaming: vertices and edges go
/// through [`BulkLoader`] in batches, `__mg_id__` is mapped to the new ids in memory
/// (the helper label, index and property are never created), schema statements run
/// on the engine after the open batch is committed. The dump is parsed on a second
/// thread, a few thousand statements ahead (hence `R: Send`).
///
/// Errors: `InvalidInput` for a statement that does not parse, `Unsupported` for one
/// this loader or the backend does not support (unless asked to skip it), each
/// naming the line and how many statements were applied before; the failing batch
/// is rolled back (where the backend can).
pub fn load_dump<E: StorageEngine, R: BufRead + Send>(
    engine: &E,
    input: R,
    mut options: LoadOptions<'_>,
) -> Result<LoadSummary> {
    // Parsed on a second thread, in batches that go back to it once applied: the
    // names and values parsed are freed where they were allocated (freed on this
    // thread, they made parsing ahead slower than parsing here).
    let started = Instant::now();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (used_tx, used_rx) = std::sync::mpsc::channel::<Batch>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let skip = options.skipping();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let read = read_batches(input, skip, &full_tx, &used_rx);
            // Before the batches' channel closes, so the end is known with it.
            let _ = done_tx.send(read);
        });
        let mut parsed = Parsed {
            full: full_rx,
            used: used_tx,
            done: done_rx,
            batch: Batch::default(),
            at: 0,
            skipped: 0,
        };
        let mut summary = apply(engine, &mut parsed, &mut options, started)?;
        summary.skipped += parsed.skipped;
        Ok(summary)
        // `parsed` drops here: a parser still running stops at its next batch.
    })
}

/// Where [`apply`] takes its statements from.
trait Source {
    /// The next statement in the dump's order, `None` after the last.
    fn next_statement(&mut self) -> Result<Option<&mut Statement>>;
    /// The dump's bytes read so far.
    fn bytes(&self) -> u64;
}

/// The statements a parsing thread reads ahead, batch by batch.
struct Parsed {
    full: std::sync::mpsc::Receiver<Batch>,
    used: std::sync::mpsc::Sender<Batch>,
    done: std::sync::mpsc::Receiver<Result<(u64, u64, u64)>>,
    batch: Batch,
    at: usize,
    /// Statements the parser left out as unsupported (when asked to).
    skipped: u64,
}

impl Source for Parsed {
    fn next_statement(&mut self) -> Result<Option<&mut Statement>> {
        while self.at >= self.batch.statements.len() {
            let spent = std::mem::take(&mut self.batch);
            if spent.statements.capacity() > 0 {
                // Emptied on the parsing thread; gone with it at the end.
                let _ = self.used.send(spent);
            }
            self.at = 0;
            match self.full.recv() {
                Ok(next) => self.batch = next,
                Err(_) => {
                    // The parser ends by sending what it read (or why it stopped)
                    // before its batches' channel closes.
                    return match self.done.recv() {
                        Ok(Ok((_, bytes, skipped))) => {
                            self.batch.read = bytes;
                            self.skipped = skipped;
                            Ok(None)
                        }
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(Error::new(
                            ErrorKind::Io,
                            "the dump's parsing thread stopped without a result",
                        )),
                    };
                }
            }
        }
        self.at += 1;
        Ok(self.batch.statements.get_mut(self.at - 1))
    }

    fn bytes(&self) -> u64 {
        self.batch.read
    }
}

fn apply<E: StorageEngine>(
    engine: &E,
    reader: &mut impl Source,
    options: &mut LoadOptions<'_>,
    started: Instant,
) -> Result<LoadSummary> {
    let mut loader = BulkLoader::new(engine, options.batch_size);
    let mut summary = LoadSummary::default();
    // Statements before the open batch's, counted as applied once it commits.
    let mut pending_helpers = 0u64;
    // The definitions the dump made: a second one of the same contradicts it
    // (invalid input), whatever the target holds.
    let mut defined: Vec<durability::SchemaOp> = Vec::new();
    let caps = engine.capabilities().clone();
    let mut seen = 0u64;
    let mut last_line = 0u64;
    loop {
        let applied = loader.committed() + summary.schema + pending_helpers;
        let statement = match reader.next_statement() {
            Ok(Some(s)) => s,
            Ok(None) => break,
            Err(e) if options.skipping().skips(&e) => {
                summary.skipped += 1;
                continue;
            }
            Err(e) => return Err(explain(e, 0, applied)),
        };
        let line = statement.line;
        last_line = line;
        let outcome = match &mut statement.kind {
            StatementKind::Vertex {
                key,
                labels,
                properties,
            } => {
                let labels: Vec<&str> = labels.iter().map(|l| &**l).collect();
                loader
                    .vertex(*key, &labels, &pairs(properties))
                    .map(|_| summary.vertices += 1)
            }
            StatementKind::Edge {
                source,
                target,
                edge_type,
                properties,
            } => loader
                .edge(*source, *target, edge_type, &pairs(properties))
                .map(|()| summary.edges += 1),
            StatementKind::Helper => {
                pending_helpers += 1;
                Ok(())
            }
            StatementKind::Index(spec) => define_once(
                &mut defined,
                durability::SchemaOp::CreateIndex(spec.clone()),
                &format!("the {}", spec.named()),
            )
            .and_then(|()| loader.commit_batch())
            .and_then(|()| engine.create_index(spec))
            .map(|()| summary.schema += 1),
            StatementKind::Constraint(spec) => {
                let once = define_once(
                    &mut defined,
                    durability::SchemaOp::CreateConstraint(spec.clone()),
                    &format!("the constraint {spec}"),
                );
                if once.is_err() {
                    once
                } else if let Some(aside) = options.constraints_aside.as_mut() {
                    aside.push(spec.clone());
                    summary.schema += 1;
                    Ok(())
                } else if !caps.constraints && options.skip_constraints {
                    summary.skipped += 1;
                    Ok(())
                } else {
                    loader
                        .commit_batch()
                        .and_then(|()| engine.create_constraint(spec))
                        .map(|()| summary.schema += 1)
                }
            }
            StatementKind::Trigger(spec) => define_once(
                &mut defined,
                durability::SchemaOp::CreateTrigger(spec.clone()),
                &format!("the trigger {}", spec.name),
            )
            .and_then(|()| loader.commit_batch())
            .and_then(|()| engine.create_trigger(spec))
            .map(|()| summary.schema += 1),
        };
        if let Err(e) = outcome {
            let applied = loader.committed() + summary.schema + pending_helpers;
            return Err(explain(e, line, applied));
        }
        seen += 1;
        if seen.is_multiple_of(options.every)
            && let Some(p) = options.progress.as_mut()
        {
            p(Progress {
                statements: seen,
                bytes: reader.bytes(),
                elapsed: started.elapsed(),
            });
        }
    }
    // The last batch commits here: a refusal at commit (a uniqueness constraint
    // against the data already there) is explained like one at its statement.
    let last_applied = loader.committed() + summary.schema + pending_helpers;
    let committed = loader
        .finish()
        .map_err(|e| explain(e, last_line, last_applied))?;
    summary.statements = committed + summary.schema + pending_helpers;
    summary.bytes = reader.bytes();
    if let Some(p) = options.progress.as_mut() {
        p(Progress {
            statements: summary.statements,
            bytes: summary.bytes,
            elapsed: started.elapsed(),
        });
    }
    Ok(summary)
}

/// What [`check_dump`] found: the statements a load would apply and skip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpCheck {
    /// Statements a load applies.
    pub statements: u64,
    /// Statements a load skips (as the options ask).
    pub skipped: u64,
    /// Vertex statements.
    pub vertices: u64,
    /// Edge statements.
    pub edges: u64,
    /// The uniqueness constraints the dump creates, with their lines: whether the
    /// dump's vertices and the engine's keep them needs a second read of the dump
    /// ([`check_dump_uniqueness`]), as they come after the data.
    pub creates_unique: Vec<(engine_api::ConstraintSpec, u64)>,
}

/// What the loaded vertices of one label all have: the property keys every one of
/// them carries (for existence constraints), and each key's value types (for type
/// constraints).
#[derive(Default)]
struct LabelFacts {
    vertices: u64,
    /// Keys every vertex of the label has so far.
    everywhere: Option<std::collections::BTreeSet<Name>>,
    /// Per key, the value types seen (the line of the first vertex of each).
    types: std::collections::HashMap<Name, Vec<(engine_api::ValueType, u64)>>,
}

/// Reads a whole dump without writing anything and fails as a load into `engine`
/// would, but before any data is written:
/// - a statement that does not parse (`InvalidInput`, line and column);
/// - one this loader does not support, and schema the backend cannot hold
///   (constraints into engine-inmem-analytical, say; `Unsupported`, naming the line),
///   each unless `options` asks to skip it;
/// - a vertex key given twice (`InvalidInput`: the dump contradicts itself) or an
///   edge whose endpoint no earlier statement creates (`NotFound`);
/// - an index, constraint or trigger that exists already in `engine`
///   (`AlreadyExists`), or that the dump created earlier (`InvalidInput`);
/// - an existence or type constraint that the dump's own vertices break, a vertex
///   that breaks a constraint of `engine`, or values of a uniqueness constraint of
///   `engine` that two of the dump's vertices, or one of them and a vertex `engine`
///   holds, share (`ConstraintViolation`; the last needs one scan of the label's
///   vertices in `engine` per such constraint). A uniqueness constraint the dump
///   creates is in [`DumpCheck::creates_unique`], for [`check_dump_uniqueness`].
///
/// Memory: the set of vertex keys, per label the keys and value types seen, and the
/// values of `engine`'s uniqueness constraints the dump's vertices have.
pub fn check_dump<E: StorageEngine, R: BufRead>(
    engine: &E,
    input: R,
    options: &LoadOptions<'_>,
) -> Result<DumpCheck> {
    let caps = engine.capabilities();
    let mut reader = StatementReader::new(input);
    let mut check = DumpCheck::default();
    let mut keys: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut labels: std::collections::HashMap<Name, LabelFacts> = std::collections::HashMap::new();
    let mut indexes: Vec<engine_api::IndexSpec> = if caps.indexes {
        engine.indexes()?.into_iter().map(|i| i.spec).collect()
    } else {
        Vec::new()
    };
    let mut constraints = if caps.constraints {
        engine.constraints()?
    } else {
        Vec::new()
    };
    // The engine's own constraints, checked against every vertex of the dump as it
    // comes (the dump's constraints come after its data and are checked then).
    let existing = constraints.clone();
    let mut unique_seen: Vec<Seen> = vec![Seen::new(); existing.len()];
    let mut triggers: Vec<String> = if caps.triggers {
        engine.triggers()?.into_iter().map(|t| t.name).collect()
    } else {
        Vec::new()
    };
    // How many of each the engine holds: the definitions after them are the dump's.
    let engine_has = (indexes.len(), constraints.len(), triggers.len());
    loop {
        let statement = match reader.next_statement() {
            Ok(Some(s)) => s,
            Ok(None) => {
                for (spec, seen) in existing.iter().zip(&unique_seen) {
                    if let Some((line, v)) = held_already(engine, spec, seen)? {
                        return Err(Error::new(
                            ErrorKind::ConstraintViolation,
                            format!(
                                "line {line}: the vertex has the values vertex {v} of the database has, under its constraint {spec}; nothing was written"
                            ),
                        ));
                    }
                }
                return Ok(check);
            }
            Err(e) if options.skipping().skips(&e) => {
                check.skipped += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let line = statement.line;
        let refuse = |what: &str| {
            Error::new(
                ErrorKind::Unsupported,
                format!("line {line}: this backend holds no {what}; nothing was written"),
            )
        };
        let exists = |what: String| {
            Error::new(
                ErrorKind::AlreadyExists,
                format!("line {line}: {what} exists already; nothing was written"),
            )
        };
        let twice = |what: &dyn std::fmt::Display| {
            let e = crate::image::twice_in_the_dump(what);
            Error::new(
                e.kind(),
                format!("line {line}: {}; nothing was written", e.message()),
            )
        };
        match statement.kind {
            StatementKind::Vertex {
                key,
                labels: names,
                properties,
            } => {
                if !keys.insert(key) {
                    return Err(twice(&format!("a vertex with key {key}")));
                }
                check.vertices += 1;
                for (c, seen) in existing.iter().zip(unique_seen.iter_mut()) {
                    breaks_existing(c, &names, &properties, seen, line)?;
                }
                for l in names {
                    let facts = labels.entry(l).or_default();
                    facts.vertices += 1;
                    let here: std::collections::BTreeSet<Name> =
                        properties.iter().map(|(k, _)| k.clone()).collect();
                    facts.everywhere = Some(match facts.everywhere.take() {
                        None => here,
                        Some(all) => all.intersection(&here).cloned().collect(),
                    });
                    for (k, v) in &properties {
                        // Null is no value: a type constraint leaves it alone.
                        let Some(t) = engine_api::ValueType::of(v) else {
                            continue;
                        };
                        let seen = facts.types.entry(k.clone()).or_default();
                        if !seen.iter().any(|(s, _)| *s == t) {
                            seen.push((t, line));
                        }
                    }
                }
            }
            StatementKind::Edge { source, target, .. } => {
                for k in [source, target] {
                    if !keys.contains(&k) {
                        return Err(Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "line {line}: no earlier statement creates the vertex with __mg_id__ {k}; nothing was written"
                            ),
                        ));
                    }
                }
                check.edges += 1;
            }
            StatementKind::Constraint(_) if !caps.constraints => {
                if options.skip_constraints {
                    check.skipped += 1;
                    continue;
                }
                return Err(refuse(
                    "constraints (LoadOptions::skip_constraints, `quiver load --skip-constraints` on the command line, loads the rest)",
                ));
            }
            StatementKind::Index(_) if !caps.indexes => return Err(refuse("indexes")),
            StatementKind::Trigger(_) if !caps.triggers => return Err(refuse("triggers")),
            StatementKind::Index(spec) => match indexes.iter().position(|i| *i == spec) {
                Some(at) if at < engine_has.0 => {
                    return Err(exists(format!("the {}", spec.named())));
                }
                Some(_) => return Err(twice(&format!("the {}", spec.named()))),
                None => indexes.push(spec),
            },
            StatementKind::Constraint(spec) => {
                match constraints.iter().position(|c| *c == spec) {
                    Some(at) if at < engine_has.1 => {
                        return Err(exists(format!("the constraint {spec}")));
                    }
                    Some(_) => return Err(twice(&format!("the constraint {spec}"))),
                    None => {}
                }
                broken_by_the_dump(&spec, &labels, line)?;
                broken_by_the_engine(engine, &spec, line)?;
                if matches!(spec, engine_api::ConstraintSpec::Unique { .. }) {
                    check.creates_unique.push((spec.clone(), line));
                }
                constraints.push(spec);
            }
            StatementKind::Trigger(spec) => match triggers.iter().position(|t| *t == spec.name) {
                Some(at) if at < engine_has.2 => {
                    return Err(exists(format!("the trigger {}", spec.name)));
                }
                Some(_) => return Err(twice(&format!("the trigger {}", spec.name))),
                None => triggers.push(spec.name),
            },
            StatementKind::Helper => {}
        }
        check.statements += 1;
    }
}

/// `ConstraintViolation` if the vertex of `line` (its `labels` and `properties`)
/// breaks the engine's constraint `spec`: a missing property, one of another type,
/// or values a vertex earlier in the dump has (`seen` keeps them, for a uniqueness
/// constraint). Against the data the engine holds already, uniqueness is checked
/// when the vertex is created.
fn breaks_existing(
    spec: &engine_api::ConstraintSpec,
    labels: &[Name],
    properties: &[(Name, PropertyValue)],
    seen: &mut Seen,
    line: u64,
) -> Result<()> {
    use engine_api::ConstraintSpec;
    let label = match spec {
        ConstraintSpec::Exists { label, .. }
        | ConstraintSpec::Unique { label, .. }
        | ConstraintSpec::Type { label, .. } => label,
    };
    if !labels.iter().any(|l| **l == **label) {
        return Ok(());
    }
    let value = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| **k == *key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, PropertyValue::Null))
    };
    let broken = |why: String| {
        Err(Error::new(
            ErrorKind::ConstraintViolation,
            format!(
                "line {line}: the vertex breaks the constraint {spec} of the database: {why}; nothing was written"
            ),
        ))
    };
    match spec {
        ConstraintSpec::Exists { property, .. } if value(property).is_none() => {
            broken(format!("it has no {property}"))
        }
        ConstraintSpec::Type {
            property,
            value_type,
            ..
        } => match value(property).and_then(engine_api::ValueType::of) {
            Some(t) if t != *value_type => {
                broken(format!("its {property} is a {t:?}, not a {value_type:?}"))
            }
            _ => Ok(()),
        },
        ConstraintSpec::Unique {
            properties: keys, ..
        } => {
            // A vertex without one of the properties is not constrained.
            let Some(tuple) = unique_tuple(keys, |k| Ok(value(k).cloned()))? else {
                return Ok(());
            };
            match seen.entry(tuple) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(line);
                    Ok(())
                }
                std::collections::hash_map::Entry::Occupied(e) => broken(format!(
                    "the vertex of line {} has the same values",
                    e.get()
                )),
            }
        }
        _ => Ok(()),
    }
}

/// The values of a uniqueness constraint seen, each with the line of its vertex.
type Seen = std::collections::HashMap<Vec<u8>, u64>;

/// The encoded values of `keys` (as the engines order them), or `None` if a key has
/// no value (such a vertex is not constrained).
fn unique_tuple(
    keys: &[String],
    mut value: impl FnMut(&str) -> Result<Option<PropertyValue>>,
) -> Result<Option<Vec<u8>>> {
    let mut tuple = Vec::new();
    for k in keys {
        match value(k)? {
            Some(v) if !matches!(v, PropertyValue::Null) => {
                engine_api::codec::encode_sort_key(&v, &mut tuple)
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(tuple))
}

/// The first of `seen` (line, and the engine's vertex) whose values a vertex of
/// `engine` has under the uniqueness constraint `spec`: one scan of its label.
fn held_already<E: StorageEngine>(
    engine: &E,
    spec: &engine_api::ConstraintSpec,
    seen: &Seen,
) -> Result<Option<(u64, engine_api::VertexId)>> {
    let engine_api::ConstraintSpec::Unique {
        label,
        properties: keys,
    } = spec
    else {
        return Ok(None);
    };
    if seen.is_empty() {
        return Ok(None);
    }
    let mut found = None;
    each_unique_tuple(engine, label, keys, |v, tuple| {
        found = seen.get(&tuple).map(|line| (*line, v));
        Ok(found.is_none())
    })?;
    Ok(found)
}

/// Hands `each` every vertex of `engine` with `label` that has all of `keys`, with
/// its encoded values, until `each` returns false: one scan of the label.
fn each_unique_tuple<E: StorageEngine>(
    engine: &E,
    label: &str,
    keys: &[String],
    mut each: impl FnMut(engine_api::VertexId, Vec<u8>) -> Result<bool>,
) -> Result<()> {
    let t = engine.begin(engine_api::TxnOptions::new().read_only())?;
    for v in t.vertices_with_label(label)? {
        let v = v?;
        if let Some(tuple) = unique_tuple(keys, |k| t.vertex_property(v, k))?
            && !each(v, tuple)?
        {
            break;
        }
    }
    Ok(())
}

/// Checks the uniqueness constraints a dump creates ([`DumpCheck::creates_unique`],
/// from [`check_dump`] on the same dump) before anything is written: reads the dump
/// again (`input`) for the values its vertices have, and scans each constraint's
/// label in `engine` once. `ConstraintViolation`, naming the constraint's line, if
/// two of the dump's vertices, one of them and a vertex of `engine`, or two vertices
/// of `engine` share values.
pub fn check_dump_uniqueness<E: StorageEngine, R: BufRead>(
    engine: &E,
    input: R,
    check: &DumpCheck,
) -> Result<()> {
    if check.creates_unique.is_empty() {
        return Ok(());
    }
    let mut seen: Vec<Seen> = vec![Seen::new(); check.creates_unique.len()];
    let broken = |spec: &engine_api::ConstraintSpec, line: u64, why: String| {
        Error::new(
            ErrorKind::ConstraintViolation,
            format!("line {line}: the constraint {spec} does not hold: {why}; nothing was written"),
        )
    };
    let mut reader = StatementReader::new(input);
    loop {
        let statement = match reader.next_statement() {
            Ok(Some(s)) => s,
            Ok(None) => break,
            // `check_dump` read the same dump: what it let pass as unsupported
            // (skipped as asked) is no vertex. Anything else (the file changed, a
            // read failed) stops the check: a vertex left unread could break the
            // constraint.
            Err(e) if e.kind() == ErrorKind::Unsupported => continue,
            Err(e) => return Err(e),
        };
        let StatementKind::Vertex {
            labels, properties, ..
        } = statement.kind
        else {
            continue;
        };
        for ((spec, at), seen) in check.creates_unique.iter().zip(seen.iter_mut()) {
            let engine_api::ConstraintSpec::Unique {
                label,
                properties: keys,
            } = spec
            else {
                continue;
            };
            if !labels.iter().any(|l| **l == **label) {
                continue;
            }
            let value = |key: &str| {
                Ok(properties
                    .iter()
                    .find(|(k, _)| **k == *key)
                    .map(|(_, v)| v.clone()))
            };
            let Some(tuple) = unique_tuple(keys, value)? else {
                continue;
            };
            if let Some(first) = seen.insert(tuple, statement.line) {
                return Err(broken(
                    spec,
                    *at,
                    if first == statement.line {
                        format!("two vertices of line {first} have the same values",)
                    } else {
                        format!(
                            "the vertices of lines {first} and {} have the same values",
                            statement.line
                        )
                    },
                ));
            }
        }
    }
    for ((spec, at), seen) in check.creates_unique.iter().zip(&seen) {
        let engine_api::ConstraintSpec::Unique {
            label,
            properties: keys,
        } = spec
        else {
            continue;
        };
        // The engine's own vertices, against the dump's and each other.
        let mut held: std::collections::HashMap<Vec<u8>, engine_api::VertexId> =
            std::collections::HashMap::new();
        let mut clash = None;
        each_unique_tuple(engine, label, keys, |v, tuple| {
            clash = match (seen.get(&tuple), held.get(&tuple)) {
                (Some(line), _) => Some(format!(
                    "the vertex of line {line} has the values vertex {v} of the database has"
                )),
                (None, Some(w)) => Some(format!(
                    "vertices {w} and {v} of the database have the same values"
                )),
                (None, None) => {
                    held.insert(tuple, v);
                    None
                }
            };
            Ok(clash.is_none())
        })?;
        if let Some(why) = clash {
            return Err(broken(spec, *at, why));
        }
    }
    Ok(())
}

/// `ConstraintViolation` if the dump's own vertices break `spec` (existence and type
/// constraints; the facts cannot tell uniqueness).
fn broken_by_the_dump(
    spec: &engine_api::ConstraintSpec,
    labels: &std::collections::HashMap<Name, LabelFacts>,
    line: u64,
) -> Result<()> {
    use engine_api::ConstraintSpec;
    let broken = |why: String| {
        Err(Error::new(
            ErrorKind::ConstraintViolation,
            format!(
                "line {line}: the constraint {spec} does not hold for the dump's vertices: {why}; nothing was written"
            ),
        ))
    };
    match spec {
        ConstraintSpec::Exists { label, property } => {
            if let Some(facts) = labels.get(label.as_str())
                && facts.vertices > 0
                && !facts
                    .everywhere
                    .as_ref()
                    .is_some_and(|keys| keys.contains(property.as_str()))
            {
                return broken(format!("a vertex labelled {label} has no {property}"));
            }
        }
        ConstraintSpec::Type {
            label,
            property,
            value_type,
        } => {
            if let Some(seen) = labels
                .get(label.as_str())
                .and_then(|f| f.types.get(property.as_str()))
                && let Some((t, at)) = seen.iter().find(|(t, _)| t != value_type)
            {
                return broken(format!(
                    "the vertex on line {at} has a {t:?} {property}, not a {value_type:?}"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `ConstraintViolation` if a vertex `engine` holds already breaks the existence or
/// type constraint `spec` the dump creates at `line` (one scan of its label; the
/// dump's own vertices are [`broken_by_the_dump`]'s, uniqueness is
/// [`check_dump_uniqueness`]'s).
fn broken_by_the_engine<E: StorageEngine>(
    engine: &E,
    spec: &engine_api::ConstraintSpec,
    line: u64,
) -> Result<()> {
    use engine_api::ConstraintSpec;
    let (label, property) = match spec {
        ConstraintSpec::Exists { label, property }
        | ConstraintSpec::Type {
            label, property, ..
        } => (label, property),
        ConstraintSpec::Unique { .. } => return Ok(()),
    };
    let t = engine.begin(engine_api::TxnOptions::new().read_only())?;
    for v in t.vertices_with_label(label)? {
        let v = v?;
        let value = t
            .vertex_property(v, property)?
            .filter(|v| !matches!(v, PropertyValue::Null));
        let why = match (spec, value) {
            (ConstraintSpec::Exists { .. }, None) => {
                format!("vertex {v} of the database has no {property}")
            }
            (ConstraintSpec::Type { value_type, .. }, Some(value)) => {
                match engine_api::ValueType::of(&value) {
                    Some(t) if t != *value_type => format!(
                        "vertex {v} of the database has a {t:?} {property}, not a {value_type:?}"
                    ),
                    _ => continue,
                }
            }
            _ => continue,
        };
        return Err(Error::new(
            ErrorKind::ConstraintViolation,
            format!("line {line}: the constraint {spec} does not hold: {why}; nothing was written"),
        ));
    }
    Ok(())
}

/// Loads the dump in the file at `path`, after [`check_dump`] has read it once: a
/// dump this backend cannot load fails before anything is written.
pub fn load_dump_file<E: StorageEngine>(
    engine: &E,
    path: &std::path::Path,
    options: LoadOptions<'_>,
) -> Result<LoadSummary> {
    let open = || {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot open {}: {e}", path.display()),
                )
                .with_source(e)
            })
    };
    let check = check_dump(engine, open()?, &options)?;
    check_dump_uniqueness(engine, open()?, &check)?;
    load_dump(engine, open()?, options)
}
