//! Dump and load of every backend: entities per second each way, bytes per entity,
//! and the peak heap the dump adds (it streams, so this stays small).

use std::time::Instant;

use engine_api::{Error, ImageEngine, Result, StorageEngine};
use serde::Serialize;

use crate::workload::{Subject, Workload};

/// Reads the process's heap: live bytes, and the peak since the last reset.
pub struct HeapMeter<'a> {
    /// Live heap bytes now.
    pub live: &'a dyn Fn() -> i64,
    /// Starts a new peak at the live bytes.
    pub reset_peak: &'a dyn Fn(),
    /// The peak since the last reset.
    pub peak: &'a dyn Fn() -> i64,
}

impl std::fmt::Debug for HeapMeter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapMeter").finish_non_exhaustive()
    }
}

/// One backend's dump and load figures.
#[derive(Debug, Clone, Serialize)]
pub struct DumpFigures {
    /// The backend.
    pub backend: String,
    /// Vertices plus edges.
    pub entities: u64,
    /// Dump time (to a sink that counts bytes), seconds.
    pub dump_seconds: f64,
    /// Dump size.
    pub dump_bytes: u64,
    /// Heap the dump added at its peak, bytes (`None`: not counted, RocksDB's own
    /// memory is C++).
    pub dump_peak_extra_heap: Option<i64>,
    /// Load time of the dump into a new engine of the same backend through its bulk
    /// path (`dump::dump_to_image` into the backend's image import), seconds.
    pub bulk_load_seconds: f64,
    /// Load time of the dump into an open, empty engine through transactions
    /// (`dump::load_dump`, the path for a database that is already running), seconds;
    /// `None` where it is not run (the on-disk backend: a minute at the report's size).
    pub txn_load_seconds: Option<f64>,
}

/// A writer that only counts.
struct Counting(u64);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn import(s: &dyn Subject, w: &Workload) -> Result<()> {
    let mut ids: Vec<u64> = Vec::with_capacity(w.vertices.len());
    for batch in w.vertices.chunks(w.size.batch.max(1)) {
        ids.extend(s.import_vertices(batch)?);
    }
    for batch in w.edges.chunks(w.size.batch.max(1)) {
        s.import_edges(batch, &ids)?;
    }
    Ok(())
}

/// Loads a dump into a fresh engine and returns the vertices and edges it created.
type Load<'a> = &'a mut dyn FnMut(&[u8]) -> Result<(u64, u64)>;

/// Loads `text` into a new, empty engine opened by `open` through the dump loader's
/// transactions (its default batches).
fn load_through_transactions<F: StorageEngine>(
    open: impl Fn() -> Result<F>,
) -> impl FnMut(&[u8]) -> Result<(u64, u64)> {
    move |text| {
        let fresh = open()?;
        let loaded = dump::load_dump(&fresh, text, dump::LoadOptions::new())?;
        Ok((loaded.vertices, loaded.edges))
    }
}

/// Builds a new memory-only engine of backend `F` from `text` through its bulk path:
/// the dump streamed as an image (`dump::dump_to_image`, parsing on a second
/// thread) into `ImageEngine::import`, as an embedder loads a dump into a new
/// database.
fn load_in_bulk<F: ImageEngine>(
    config: impl Fn() -> F::Config,
) -> impl FnMut(&[u8]) -> Result<(u64, u64)> {
    move |text| {
        let engine = F::import(config(), |sink| {
            // A dump has no commit timestamp.
            dump::dump_to_image(text, sink, dump::LoadOptions::new()).map(|_| 0)
        })?;
        let stats = engine.stats()?;
        Ok((stats.vertices, stats.edges))
    }
}

/// How an embedder loads a dump into a new on-disk database, as `quiver load` does:
/// streamed into the on-disk engine's bulk path (`dump::dump_to_image` into
/// `OnDiskEngine::create_from_image`: sorted SST files, ingested; parsing on a second
/// thread).
fn load_on_disk_in_bulk(text: &[u8]) -> Result<(u64, u64)> {
    let dir = crate::durability::tempfile_dir()?;
    let mut input = Some(text);
    let engine = engine_ondisk::OnDiskEngine::create_from_image(
        engine_ondisk::Config::new(dir.path()).durability(
            engine_ondisk::Config::default_durability().sync_mode(engine_api::SyncMode::Off),
        ),
        &mut |sink| {
            let input = input
                .take()
                .ok_or_else(|| Error::invalid_input("the dump is read once"))?;
            // A dump has no commit timestamp.
            dump::dump_to_image(input, sink, dump::LoadOptions::new()).map(|_| 0)
        },
    )?;
    let stats = engine.stats()?;
    engine.close()?;
    Ok((stats.vertices, stats.edges))
}

fn measure<E: StorageEngine>(
    backend: &str,
    source: &E,
    bulk: Load<'_>,
    transactions: Option<Load<'_>>,
    heap: &HeapMeter<'_>,
    heap_counted: bool,
) -> Result<DumpFigures> {
    eprintln!("  dump and load: {backend}");
    let stats = source.stats()?;
    let before = (heap.live)();
    (heap.reset_peak)();
    let start = Instant::now();
    let mut sink = Counting(0);
    let summary = dump::write_dump(source, &mut sink, dump::DumpOptions::new())?;
    let dump_seconds = start.elapsed().as_secs_f64();
    let peak = (heap.peak)() - before;
    if summary.bytes != sink.0 || summary.counts.vertices != stats.vertices {
        return Err(Error::corrupt(
            "the dump's counts disagree with the engine's",
        ));
    }
    let mut text = Vec::with_capacity(usize::try_from(summary.bytes).unwrap_or(0));
    dump::write_dump(source, &mut text, dump::DumpOptions::new())?;
    // Each load's engine is dropped before the next starts.
    let timed = |load: Load<'_>, how: &str| -> Result<f64> {
        let start = Instant::now();
        let (vertices, edges) = load(&text[..])?;
        let seconds = start.elapsed().as_secs_f64();
        if (vertices, edges) != (stats.vertices, stats.edges) {
            return Err(Error::corrupt(format!(
                "{backend}: the load {how} created {vertices} vertices and {edges} edges of {} and {}",
                stats.vertices, stats.edges
            )));
        }
        Ok(seconds)
    };
    let bulk_load_seconds = timed(bulk, "in bulk")?;
    let txn_load_seconds = match transactions {
        Some(load) => Some(timed(load, "through transactions")?),
        None => None,
    };
    Ok(DumpFigures {
        backend: backend.to_string(),
        entities: stats.vertices + stats.edges,
        dump_seconds,
        dump_bytes: summary.bytes,
        dump_peak_extra_heap: heap_counted.then_some(peak),
        bulk_load_seconds,
        txn_load_seconds,
    })
}

/// Imports `w` into each backend, dumps it and loads the dump into a fresh engine
/// of the same backend.
pub fn run(w: &Workload, heap: &HeapMeter<'_>) -> Result<Vec<DumpFigures>> {
    let mut out = Vec::new();
    {
        let source = crate::EngineSubject(engine_inmem_txn::InMemoryEngine::open(
            engine_inmem_txn::Config::default(),
        )?);
        import(&source, w)?;
        out.push(measure(
            "inmem-txn",
            &source.0,
            &mut load_in_bulk::<engine_inmem_txn::InMemoryEngine>(
                engine_inmem_txn::Config::default,
            ),
            Some(&mut load_through_transactions(|| {
                engine_inmem_txn::InMemoryEngine::open(engine_inmem_txn::Config::default())
            })),
            heap,
            true,
        )?);
    }
    {
        let source = crate::EngineSubject(engine_inmem_analytical::AnalyticalEngine::open(
            engine_inmem_analytical::Config::default(),
        )?);
        import(&source, w)?;
        out.push(measure(
            "inmem-analytical",
            &source.0,
            &mut load_in_bulk::<engine_inmem_analytical::AnalyticalEngine>(
                engine_inmem_analytical::Config::default,
            ),
            Some(&mut load_through_transactions(|| {
                engine_inmem_analytical::AnalyticalEngine::open(
                    engine_inmem_analytical::Config::default(),
                )
            })),
            heap,
            true,
        )?);
    }
    {
        // The source is built through the bulk path (the main table measures the
        // import through transactions; at 1M + 5M that import took a minute here).
        let staging = crate::EngineSubject(engine_inmem_analytical::AnalyticalEngine::open(
            engine_inmem_analytical::Config::default(),
        )?);
        import(&staging, w)?;
        let dir = crate::durability::tempfile_dir()?;
        let source = engine_ondisk::OnDiskEngine::create_from_image(
            engine_ondisk::Config::new(dir.path()).durability(
                engine_ondisk::Config::default_durability().sync_mode(engine_api::SyncMode::Off),
            ),
            &mut |sink| staging.0.export(sink),
        )?;
        drop(staging);
        out.push(measure(
            "ondisk",
            &source,
            &mut load_on_disk_in_bulk,
            None,
            heap,
            false,
        )?);
        source.close()?;
    }
    Ok(out)
}

/// The figures as a Markdown section.
pub fn markdown(figures: &[DumpFigures]) -> String {
    let mut md = String::from(
        "\n## Dump and load (the durability section's graph; load into a new engine of the same backend; every backend, whatever `--backends` selects; one run)\n\nTwo ways to load, each into a new engine. **In bulk**, as an embedder builds a new database from a dump: the dump streamed as an image (`dump::dump_to_image`, parsing on a second thread) into the backend's image import (`ImageEngine::import` in memory; `OnDiskEngine::create_from_image` on disk, sorted SST files ingested, as `quiver load` does). **Through transactions**, the path into a database that is already open and serving: `dump::load_dump` (parsing on a second thread) into an open, empty engine, committing every 10 000 statements (not run on disk: a minute at 1M + 5M).\n\n",
    );
    md.push_str("| backend | entities | dump entities/s | load in bulk entities/s | load through transactions entities/s | bytes per entity | peak heap added by the dump |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for f in figures {
        md.push_str(&format!(
            "| {} | {} | {:.2} M | {:.2} M | {} | {:.1} | {} |\n",
            f.backend,
            f.entities,
            f.entities as f64 / f.dump_seconds.max(1e-9) / 1e6,
            f.entities as f64 / f.bulk_load_seconds.max(1e-9) / 1e6,
            f.txn_load_seconds.map_or_else(
                || "not run".to_string(),
                |s| format!("{:.2} M", f.entities as f64 / s.max(1e-9) / 1e6)
            ),
            f.dump_bytes as f64 / f.entities.max(1) as f64,
            match f.dump_peak_extra_heap {
                Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
                None => "not counted (C++ heap)".into(),
            }
        ));
    }
    md.push_str("\nTargets (issue 13): dump at least 1 M entities/s and load at least 0.5 M entities/s on the in-memory backends; the dump of 1 M vertices + 5 M edges adds under 64 MiB at its peak. Issue 34: load through transactions into inmem-txn at least 0.6 M entities/s.\n");
    md
}
