//! The image contract (`engine_api::ImageEngine`) as every backend implements it,
//! and the facade's forwarding of the engine contract.

use engine_api::{ImageEngine, Result, StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::InMemoryEngine;
use engine_ondisk::OnDiskEngine;

/// Commits `n` single-vertex transactions; returns the last commit timestamp.
fn commit_many<E: StorageEngine>(engine: &E, n: usize) -> Result<u64> {
    let mut last = 0;
    for i in 0..n {
        let mut t = engine.begin(TxnOptions::new())?;
        t.create_vertex_with(&["N"], &[("i", (i as i64).into())])?;
        last = t.commit()?.commit_timestamp;
    }
    Ok(last)
}

/// One commit after an import: its timestamp.
fn next_commit<E: StorageEngine>(engine: &E) -> Result<u64> {
    commit_many(engine, 1)
}

/// Every backend's import keeps the image's objects and continues its commit
/// timestamps; every backend's export hands over the timestamp of what it exported.
/// (Mutation: the on-disk import ignoring the image's timestamp → its first commit
/// comes before the image's.)
#[test]
fn every_backend_imports_an_image_and_continues_its_clock() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let source = InMemoryEngine::open(engine_inmem_txn::Config::new())?;
    let last = commit_many(&source, 60)?;
    assert_eq!(source.database_id(), None, "a memory-only engine has no id");

    let txn = InMemoryEngine::import(engine_inmem_txn::Config::new(), |s| source.export(s))?;
    let analytical =
        AnalyticalEngine::import(engine_inmem_analytical::Config::new(), |s| txn.export(s))?;
    let disk = OnDiskEngine::import(engine_ondisk::Config::new(dir.path()), |s| {
        analytical.export(s)
    })?;
    assert!(
        disk.database_id().is_some(),
        "an on-disk database has an id"
    );
    for (name, count, next) in [
        ("inmem-txn", txn.stats()?.vertices, next_commit(&txn)?),
        (
            "analytical",
            analytical.stats()?.vertices,
            next_commit(&analytical)?,
        ),
        ("on-disk", disk.stats()?.vertices, next_commit(&disk)?),
    ] {
        assert_eq!(count, 60, "{name}: the image's vertices");
        assert!(
            next > last,
            "{name}: a commit after the import has timestamp {next}, not after the image's {last}"
        );
    }
    let out = tempfile::tempdir()?;
    let mut w =
        durability::SnapshotWriter::create(out.path(), 1, 0, durability::DatabaseId::random())?;
    let ts = disk.export(&mut w)?;
    assert_eq!(w.written(), (61, 0), "the export holds every vertex");
    w.abandon();
    assert!(
        ts > last,
        "the export's timestamp {ts} is after the image's {last}"
    );
    disk.close_without_snapshot()?;
    Ok(())
}

/// The method names of the first `trait $name` or `impl ... $name for` block in
/// `source` (the lines `fn name` at one level of indentation inside it).
fn methods(source: &str, header: &str) -> Vec<String> {
    let start = source
        .find(header)
        .unwrap_or_else(|| panic!("no `{header}` in the source"));
    let mut names = Vec::new();
    for line in source[start..].lines().skip(1) {
        if line.starts_with('}') {
            break;
        }
        if let Some(rest) = line.strip_prefix("    fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names.sort();
    names
}

/// The facade implements every method of `StorageEngine` and `Transaction`, default
/// methods included: a default method the facade did not forward would run the
/// trait's fallback instead of the backend's own version (say, a counting shortcut
/// or a durability operation) without a word. Adding a method to either trait
/// without forwarding it fails this test.
#[test]
fn the_facade_forwards_every_method_of_the_contract() {
    let api = include_str!("../../engine-api/src/engine.rs");
    let facade = include_str!("../src/database.rs");
    for (contract, forwarding) in [
        ("pub trait StorageEngine", "impl StorageEngine for Database"),
        ("pub trait Transaction", "impl<'e> Transaction for Txn<'e>"),
    ] {
        let wanted = methods(api, contract);
        let forwarded = methods(facade, forwarding);
        assert!(wanted.len() > 10, "{contract}: read {wanted:?}");
        let missing: Vec<&String> = wanted.iter().filter(|m| !forwarded.contains(m)).collect();
        assert!(
            missing.is_empty(),
            "{forwarding} does not forward {missing:?}"
        );
    }
}
