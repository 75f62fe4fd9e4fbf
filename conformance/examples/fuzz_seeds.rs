//! Writes the fuzz targets' seed corpora (fuzz/README.md) from real files: a
//! transactional engine with a data directory is given every value type, hostile
//! names, indexes, constraints and triggers; its snapshot, its WAL segments, its
//! dump and the encoded values and schema definitions become the seeds.
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
            for (_, op) in ops {
                let mut bytes = Vec::new();
                durability::schema::encode_schema_op(&op, &mut bytes);
                write(out, "schema_op", &format!("op-{schema:02}"), &bytes)?;
                schema += 1;
            }
        }
    }
    println!(
        "wrote seeds for codec, snapshot, wal_segment, schema_op ({schema} ops) and dump under {}",
        out.display()
    );
    Ok(())
}
