//! Writes the fuzz targets' seed corpora (fuzz/README.md) from real files: a
//! transactional engine with a data directory is given every value type, hostile
//! names, indexes, constraints and triggers; its snapshot, its WAL segments, its
//! dump and the encoded values and schema definitions become the seeds. The same
//! data in an on-disk database gives the `ondisk_records` seeds (every key and value
//! RocksDB holds, read back raw), and a backup of it the `manifest` seed.
//!
//! Run: `cargo run -p conformance --example fuzz_seeds -- fuzz/seeds`

use std::path::Path;

use durability::wal::{SegmentRead, read_segment};
use engine_api::codec::{encode_properties, encode_value};
use engine_api::{
    ConstraintSpec, IndexSpec, StorageEngine, Transaction, TriggerEvent, TriggerPhase,
    TriggerSecurity, TriggerSpec, TxnOptions, ValueType,
};
use engine_inmem_txn::{Config, InMemoryEngine};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}

/// A file of a target that reads a mode byte first: 1 = repair checksums (a no-op on
/// a whole file), then the file.
fn moded(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.push(1);
    out.extend_from_slice(bytes);
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: fuzz_seeds <directory>")?;
    let out = Path::new(&out);
    let samples = conformance::values::samples();

    // The value codec: every sample alone, and all of them as one property list.
    for (i, v) in samples.iter().enumerate() {
        let mut bytes = Vec::new();
        encode_value(v, &mut bytes);
        write(out, "codec", &format!("value-{i:02}"), &bytes)?;
    }
    let mut props = Vec::new();
    encode_properties(
        samples.iter().enumerate().map(|(i, v)| (i as u32, v)),
        &mut props,
    );
    write(out, "codec", "properties", &props)?;

    // A database with a data directory, with everything the files can hold.
    let data = tempfile::tempdir()?;
    let engine = InMemoryEngine::open(Config::new().data_directory(data.path()))?;
    let mut t = engine.begin(TxnOptions::new())?;
    let pairs: Vec<(String, engine_api::PropertyValue)> = samples
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("p{i}"), v.clone()))
        .collect();
    let borrowed: Vec<(&str, engine_api::PropertyValue)> =
        pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let all = t.create_vertex_with(&["Person", "Every`Type"], &borrowed)?;
    let hostile = t.create_vertex_with(
        &["la`bel\n;MATCH (n) DETACH DELETE n;//"],
        &[("na\"me'", "\"); DROP;\u{0}\u{202e}".into())],
    )?;
    t.create_edge_with(all, hostile, "KNOWS", &[("since", 2019.into())])?;
    t.commit()?;
    engine.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["p1".into(), "p2".into()],
    })?;
    engine.create_index(&IndexSpec::EdgeTypeProperty {
        edge_type: "KNOWS".into(),
        property: "since".into(),
    })?;
    engine.create_constraint(&ConstraintSpec::Type {
        label: "Person".into(),
        property: "p2".into(),
        value_type: ValueType::Int,
    })?;
    engine.create_trigger(&TriggerSpec {
        name: "audit".into(),
        event: TriggerEvent::VertexCreate,
        phase: TriggerPhase::AfterCommit,
        security: TriggerSecurity::Invoker,
        statement: "UNWIND createdVertices AS v\nCREATE (:Audit {id: id(v)})".into(),
    })?;
    let snapshot = engine.create_snapshot()?;
    write(
        out,
        "snapshot",
        "engine.snapshot",
        &moded(&std::fs::read(&snapshot.path)?),
    )?;
    // Commits after the snapshot, in the WAL.
    let mut t = engine.begin(TxnOptions::new())?;
    t.set_vertex_property(hostile, "late", 1.5.into())?;
    t.create_vertex_with(&["Person"], &[("p2", 7.into())])?;
    t.commit()?;
    engine.create_constraint(&ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["p2".into()],
    })?;
    let mut dump = Vec::new();
    dump::write_dump(&engine, &mut dump, dump::DumpOptions::new())?;
    write(out, "dump", "engine.cypherl", &dump)?;
    drop(engine);

    let mut schema = 0;
    for entry in std::fs::read_dir(data.path().join("wal"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write(out, "wal_segment", &name, &moded(&std::fs::read(&path)?))?;
        if let SegmentRead::Read { schema: ops, .. } = read_segment(&path, true)? {
            for record in ops {
                let mut bytes = Vec::new();
                durability::schema::encode_schema_op(&record.op, &mut bytes);
                write(out, "schema_op", &format!("op-{schema:02}"), &bytes)?;
                schema += 1;
            }
        }
    }
    let records = ondisk_seeds(out, &dump)?;
    println!(
        "wrote seeds for codec, snapshot, wal_segment, schema_op ({schema} ops), dump, ondisk_records ({records} records) and manifest under {}",
        out.display()
    );
    Ok(())
}

/// Loads `dump` into an on-disk database and writes every key and value it stored as
/// `ondisk_records` seeds (a first byte picking the decoder), then backs the database
/// up and writes the manifest as the `manifest` seed. Returns the records written.
fn ondisk_seeds(out: &Path, dump: &[u8]) -> Result<usize, Box<dyn std::error::Error>> {
    use engine_ondisk::keys::{EDGES, IN, INDEX, LABELS, META, OUT, VERTICES};
    use engine_ondisk::rocksdb::{DB, IteratorMode};

    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let db = quiver::Database::open(
        quiver::Config::new()
            .data_directory(&data)
            .mode(engine_api::StorageMode::OnDiskTransactional),
    )?;
    dump::load_dump(&db, dump, dump::LoadOptions::new())?;
    let backup = root.path().join("backup");
    quiver::backup(&db, &backup, &|_, _| {})?;
    write(
        out,
        "manifest",
        "quiver-backup.json",
        &std::fs::read(backup.join(quiver::MANIFEST_FILE))?,
    )?;
    db.close()?;

    let (opts, cfs) = engine_ondisk::rocksdb_options(&engine_ondisk::Config::new(&data));
    let names: Vec<String> = cfs.iter().map(|c| c.name().to_string()).collect();
    let raw = DB::open_cf_for_read_only(&opts, data.join("rocksdb"), &names, false)?;
    let mut written = 0;
    for name in &names {
        let cf = raw.cf_handle(name).ok_or("a column family is missing")?;
        for item in raw.iterator_cf(&cf, IteratorMode::Start) {
            let (key, value) = item?;
            let seeds: Vec<(u8, &[u8])> = match name.as_str() {
                VERTICES => vec![(0, &value[..]), (2, &key[..])],
                EDGES => vec![(1, &value[..]), (2, &key[..])],
                OUT | IN => vec![(3, &key[..])],
                LABELS => vec![(4, &key[..])],
                INDEX => vec![(5, &key[..])],
                META if &key[..] == b"schema" => vec![(6, &value[..])],
                _ => Vec::new(),
            };
            for (which, bytes) in seeds {
                let mut seed = vec![which];
                seed.extend_from_slice(bytes);
                write(
                    out,
                    "ondisk_records",
                    &format!("{name}-{written:03}"),
                    &seed,
                )?;
                written += 1;
            }
        }
    }
    Ok(written)
}
