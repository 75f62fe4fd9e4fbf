//! A snapshot written by one backend restores in the other: engine-ondisk's export
//! into engine-inmem-txn and back, with data, ids, names and schema intact. (The
//! backends never depend on each other; this crate sits above both.)

use std::path::Path;

use engine_api::{
    ConstraintSpec, Direction, IndexSpec, PropertyValue, Result, StorageEngine, Transaction,
    TxnOptions,
};
use engine_inmem_txn::InMemoryEngine;
use engine_ondisk::OnDiskEngine;

fn inmem(dir: &Path) -> Result<InMemoryEngine> {
    InMemoryEngine::open(engine_inmem_txn::Config::default().data_directory(dir))
}

fn ondisk(dir: &Path) -> Result<OnDiskEngine> {
    OnDiskEngine::open(engine_ondisk::Config::new(dir))
}

/// Vertices with labels and properties, edges with properties, in id order.
fn state<E: StorageEngine>(e: &E) -> Result<String> {
    let t = e.begin(TxnOptions::new().read_only())?;
    let mut out = String::new();
    for v in t.vertices()? {
        let v = v?;
        let mut labels: Vec<String> = t.vertex_labels(v)?.iter().map(|l| l.to_string()).collect();
        labels.sort();
        out.push_str(&format!("{v} {labels:?} {:?}\n", t.vertex_properties(v)?));
        for e in t.edges(v, Direction::Out, None)? {
            let e = e?;
            out.push_str(&format!(
                "  {} -{}-> {} {:?}\n",
                e.id,
                e.edge_type,
                e.target,
                t.edge_properties(e.id)?
            ));
        }
    }
    Ok(out)
}

fn fill<E: StorageEngine>(e: &E) -> Result<()> {
    e.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["name".into()],
    })?;
    e.create_constraint(&ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["name".into()],
    })?;
    let mut t = e.begin(TxnOptions::new())?;
    let a = t.create_vertex_with(
        &["Person", "Admin"],
        &[("name", "Ann".into()), ("score", PropertyValue::Float(1.5))],
    )?;
    let b = t.create_vertex_with(&["Person"], &[("name", "Bob".into())])?;
    let gone = t.create_vertex()?;
    t.create_edge_with(a, b, "KNOWS", &[("since", 2019.into())])?;
    t.create_edge(b, b, "SELF")?;
    t.commit()?;
    let mut t = e.begin(TxnOptions::new())?;
    t.delete_vertex(gone, engine_api::DeleteMode::Plain)?;
    t.commit()?;
    Ok(())
}

fn restore_into(snapshot: &Path, target: &Path) -> Result<()> {
    std::fs::create_dir_all(target.join("snapshots"))?;
    let name = snapshot.file_name().expect("a snapshot file name");
    std::fs::copy(snapshot, target.join("snapshots").join(name))?;
    Ok(())
}

fn check_schema<E: StorageEngine>(e: &E) -> Result<()> {
    assert_eq!(e.indexes()?.len(), 1);
    assert_eq!(e.indexes()?[0].entries, 2);
    assert_eq!(e.constraints()?.len(), 1);
    let mut t = e.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Person"], &[("name", "Ann".into())])?;
    let err = t.commit().expect_err("the restored constraint holds");
    assert_eq!(
        err.kind(),
        engine_api::ErrorKind::ConstraintViolation,
        "{err}"
    );
    Ok(())
}

#[test]
fn an_ondisk_export_restores_in_memory_and_back() -> Result<()> {
    let source = tempfile::tempdir()?;
    let db = ondisk(source.path())?;
    fill(&db)?;
    let expected = state(&db)?;
    let export = db.create_snapshot()?;

    let memory = tempfile::tempdir()?;
    restore_into(&export.path, memory.path())?;
    let mem = inmem(memory.path())?;
    assert_eq!(
        state(&mem)?,
        expected,
        "engine-ondisk's export loaded in memory"
    );
    check_schema(&mem)?;
    // Ids continue past the restored ones in the other backend too.
    let mut t = mem.begin(TxnOptions::new())?;
    let fresh = t.create_vertex()?;
    assert!(fresh.0 >= 3, "id {fresh} reuses a restored or deleted one");
    drop(t);
    let back = mem.create_snapshot()?;

    let disk = tempfile::tempdir()?;
    restore_into(&back.path, disk.path())?;
    let db2 = ondisk(disk.path())?;
    assert_eq!(
        state(&db2)?,
        expected,
        "engine-inmem-txn's snapshot restored on disk"
    );
    check_schema(&db2)?;
    Ok(())
}
