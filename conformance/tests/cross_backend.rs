//! A snapshot written by one backend restores in another: engine-ondisk's export into
//! engine-inmem-txn and back, and either in-memory mode's snapshot in the other, with
//! data, ids, names and schema intact. (The backends never depend on each other;
//! this crate sits above them.)

use std::path::Path;

use engine_api::{
    ConstraintSpec, Direction, IndexSpec, PropertyValue, Result, StorageEngine, Transaction,
    TxnOptions,
};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::InMemoryEngine;
use engine_ondisk::OnDiskEngine;

fn inmem(dir: &Path) -> Result<InMemoryEngine> {
    InMemoryEngine::open(engine_inmem_txn::Config::default().data_directory(dir))
}

fn analytical(dir: &Path) -> Result<AnalyticalEngine> {
    AnalyticalEngine::open(engine_inmem_analytical::Config::new().data_directory(dir))
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
    fill_data(e)?;
    e.create_constraint(&ConstraintSpec::Unique {
        label: "Person".into(),
        properties: vec!["name".into()],
    })
}

/// Data, an index and a trigger (no constraint: analytical mode has none).
fn fill_data<E: StorageEngine>(e: &E) -> Result<()> {
    e.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["name".into()],
    })?;
    e.create_index(&IndexSpec::EdgeType("KNOWS".into()))?;
    e.create_trigger(&trigger())?;
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
    assert_eq!(e.indexes()?.len(), 2);
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

fn trigger() -> engine_api::TriggerSpec {
    engine_api::TriggerSpec {
        name: "audit".into(),
        event: engine_api::TriggerEvent::VertexCreate,
        phase: engine_api::TriggerPhase::AfterCommit,
        security: engine_api::TriggerSecurity::Invoker,
        statement: "CREATE (:Audit)".into(),
    }
}

/// The schema `fill_data` made, as the other mode restored it.
fn check_data_schema<E: StorageEngine>(e: &E) -> Result<()> {
    let specs: Vec<IndexSpec> = e.indexes()?.into_iter().map(|i| i.spec).collect();
    assert_eq!(specs.len(), 2, "{specs:?}");
    assert_eq!(e.triggers()?, vec![trigger()]);
    let t = e.begin(TxnOptions::new().read_only())?;
    let bob = engine_api::PropertyBounds::equal("Bob".into());
    assert_eq!(t.vertices_with_property("Person", "name", &bob)?.count(), 1);
    assert!(t.vertex_lookup_index("Person", &["name"])?.is_some());
    assert_eq!(t.edges_with_type("KNOWS", None)?.count(), 1);
    Ok(())
}

#[test]
fn a_transactional_snapshot_opens_in_analytical_mode() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let txn = inmem(dir.path())?;
    fill_data(&txn)?;
    let expected = state(&txn)?;
    // Closing writes a snapshot; the WAL beside it holds nothing newer.
    txn.close()?;
    let db = analytical(dir.path())?;
    assert_eq!(state(&db)?, expected);
    check_data_schema(&db)?;
    let mut t = db.begin(TxnOptions::new())?;
    let fresh = t.create_vertex()?;
    assert!(fresh.0 >= 3, "id {fresh} reuses a restored or deleted one");
    Ok(())
}

#[test]
fn an_analytical_snapshot_opens_in_transactional_mode() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = analytical(dir.path())?;
    fill_data(&db)?;
    let expected = state(&db)?;
    db.create_snapshot()?;
    db.close()?;
    let txn = inmem(dir.path())?;
    assert_eq!(state(&txn)?, expected);
    check_data_schema(&txn)?;
    // The transactional mode logs on top of the analytical snapshot and recovers
    // both after a crash.
    let mut t = txn.begin(TxnOptions::new())?;
    t.create_vertex_with(&["Later"], &[])?;
    t.commit()?;
    let with_later = state(&txn)?;
    drop(txn);
    let txn = inmem(dir.path())?;
    assert_eq!(state(&txn)?, with_later);
    Ok(())
}

#[test]
fn analytical_mode_refuses_a_log_with_commits_after_the_snapshot() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let txn = inmem(dir.path())?;
    fill_data(&txn)?;
    txn.create_snapshot()?;
    let mut t = txn.begin(TxnOptions::new())?;
    t.create_vertex_with(&["OnlyInTheLog"], &[])?;
    t.commit()?;
    let expected = state(&txn)?;
    // A crash: the last commit is in the WAL only.
    drop(txn);
    let err = analytical(dir.path()).expect_err("the log holds a newer commit");
    assert_eq!(err.kind(), engine_api::ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("IN_MEMORY_TRANSACTIONAL"), "{err}");
    // Nothing was lost: the transactional mode still recovers it all.
    assert_eq!(state(&inmem(dir.path())?)?, expected);
    Ok(())
}

#[test]
fn analytical_mode_refuses_a_snapshot_with_constraints() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let txn = inmem(dir.path())?;
    fill(&txn)?;
    txn.close()?;
    let err = analytical(dir.path()).expect_err("constraints cannot be enforced");
    assert_eq!(err.kind(), engine_api::ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("constraint"), "{err}");
    Ok(())
}

#[test]
fn in_memory_modes_refuse_an_on_disk_directory_and_change_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = ondisk(dir.path())?;
    fill_data(&db)?;
    db.create_snapshot()?;
    let expected = state(&db)?;
    db.close()?;
    let files = |root: &Path| -> Result<Vec<(std::path::PathBuf, u64)>> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)? {
                let e = e?;
                if e.file_type()?.is_dir() {
                    stack.push(e.path());
                } else if e.file_name() != ".lock" {
                    out.push((e.path(), e.metadata()?.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    };
    let before = files(dir.path())?;
    let err = inmem(dir.path()).expect_err("an on-disk database");
    assert_eq!(err.kind(), engine_api::ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("ON_DISK_TRANSACTIONAL"), "{err}");
    let err = analytical(dir.path()).expect_err("an on-disk database");
    assert_eq!(err.kind(), engine_api::ErrorKind::Unsupported, "{err}");
    assert_eq!(files(dir.path())?, before, "nothing was written or removed");
    assert_eq!(state(&ondisk(dir.path())?)?, expected);
    Ok(())
}

fn dump_of<E: StorageEngine>(e: &E) -> Result<String> {
    let mut out = Vec::new();
    dump::write_dump(e, &mut out, dump::DumpOptions::new())?;
    Ok(String::from_utf8(out).expect("a dump is UTF-8"))
}

#[test]
fn a_dump_of_one_backend_loads_into_the_others() -> Result<()> {
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let txn = inmem(dirs[0].path())?;
    fill(&txn)?;
    let text = dump_of(&txn)?;
    // engine-ondisk holds all of it and dumps the same bytes.
    let disk = ondisk(dirs[1].path())?;
    dump::load_dump(&disk, text.as_bytes(), dump::LoadOptions::new())?;
    assert_eq!(dump_of(&disk)?, text);
    // Back from disk into memory: the same again.
    let back = InMemoryEngine::open(engine_inmem_txn::Config::default())?;
    dump::load_dump(&back, dump_of(&disk)?.as_bytes(), dump::LoadOptions::new())?;
    assert_eq!(dump_of(&back)?, text);
    // The analytical mode holds all but the constraint, when told to skip it.
    let a = analytical(dirs[2].path())?;
    let loaded = dump::load_dump(
        &a,
        text.as_bytes(),
        dump::LoadOptions::new().skip_constraints(true),
    )?;
    assert_eq!(loaded.skipped, 1);
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("CREATE CONSTRAINT"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(dump_of(&a)?, without);
    Ok(())
}
