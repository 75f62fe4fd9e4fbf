//! Dump → load → dump gives the same bytes (a fixed point), on every backend the
//! dump can hold; a reference-dialect dump loads with its quirks.

mod common;

use engine_api::{ErrorKind, PropertyValue, Result, StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::AnalyticalEngine;
use engine_inmem_txn::{Config, InMemoryEngine};

fn dump_of<E: StorageEngine>(e: &E) -> Result<String> {
    let mut out = Vec::new();
    dump::write_dump(e, &mut out, dump::DumpOptions::new())?;
    Ok(String::from_utf8(out).expect("UTF-8"))
}

#[test]
fn a_loaded_dump_dumps_the_same_bytes() -> Result<()> {
    let first = dump_of(&common::graph()?)?;
    for batch in [1, 3, 10_000] {
        let fresh = InMemoryEngine::open(Config::default())?;
        let summary = dump::load_dump(
            &fresh,
            first.as_bytes(),
            dump::LoadOptions::new().batch_size(batch),
        )?;
        assert_eq!(summary.statements, first.lines().count() as u64);
        assert_eq!((summary.vertices, summary.edges), (3, 4));
        assert_eq!(dump_of(&fresh)?, first, "batch size {batch}");
    }
    Ok(())
}

#[test]
fn the_analytical_backend_loads_all_but_the_constraints_when_asked() -> Result<()> {
    let first = dump_of(&common::graph()?)?;
    let analytical = AnalyticalEngine::open(engine_inmem_analytical::Config::default())?;
    let err = dump::load_dump(&analytical, first.as_bytes(), dump::LoadOptions::new())
        .expect_err("constraints cannot be held");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().starts_with("line "), "{err}");
    let analytical = AnalyticalEngine::open(engine_inmem_analytical::Config::default())?;
    let summary = dump::load_dump(
        &analytical,
        first.as_bytes(),
        dump::LoadOptions::new().skip_constraints(true),
    )?;
    assert_eq!(summary.skipped, 3);
    let without: String = first
        .lines()
        .filter(|l| !l.starts_with("CREATE CONSTRAINT"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(dump_of(&analytical)?, without);
    Ok(())
}

#[test]
fn a_bad_statement_rolls_back_its_batch_and_says_what_was_applied() -> Result<()> {
    let text = "CREATE (:__mg_vertex__ {__mg_id__: 0});\n\
                CREATE (:__mg_vertex__ {__mg_id__: 1});\n\
                CREATE (:__mg_vertex__ {__mg_id__: 2});\n\
                MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 0 AND v.__mg_id__ = 9 CREATE (u)-[:`T`]->(v);\n";
    let e = InMemoryEngine::open(Config::default())?;
    let err = dump::load_dump(&e, text.as_bytes(), dump::LoadOptions::new().batch_size(2))
        .expect_err("key 9 has no vertex");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().starts_with("line 4:"), "{err}");
    assert!(
        err.message()
            .ends_with("its batch of 1 was rolled back; 2 statements were applied before it)"),
        "one note: {err}"
    );
    // The first batch (two vertices) stays; the failing batch (vertex 2) is gone.
    let t = e.begin(TxnOptions::new().read_only())?;
    assert_eq!(t.vertex_count()?, 2);
    Ok(())
}

#[test]
fn a_count_of_one_is_said_in_the_singular() -> Result<()> {
    let text = "CREATE (:__mg_vertex__ {__mg_id__: 0});\n\
                MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = 0 AND v.__mg_id__ = 9 CREATE (u)-[:`T`]->(v);\n";
    let e = InMemoryEngine::open(Config::default())?;
    let err = dump::load_dump(&e, text.as_bytes(), dump::LoadOptions::new().batch_size(1))
        .expect_err("key 9 has no vertex");
    assert!(
        err.message()
            .ends_with(" (1 operation was committed before it; 1 statement was applied before it)"),
        "singular, and no empty batch: {err}"
    );
    Ok(())
}

#[test]
fn a_reference_dialect_dump_loads_with_its_quirks() -> Result<()> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/reference.cypherl");
    let text = std::fs::read_to_string(&path)?;
    let e = InMemoryEngine::open(Config::default())?;
    let summary = dump::load_dump(&e, text.as_bytes(), dump::LoadOptions::new())?;
    assert_eq!((summary.vertices, summary.edges), (3, 2));
    let t = e.begin(TxnOptions::new().read_only())?;
    let people: Vec<_> = t.vertices_with_label("Person")?.collect::<Result<_>>()?;
    assert_eq!(people.len(), 2);
    let ann = people[0];
    assert_eq!(t.vertex_property(ann, "name")?, Some("Ann's".into()));
    // The reference writes a float 3.0 as `3`: it loads as written, an integer.
    assert_eq!(
        t.vertex_property(ann, "score")?,
        Some(PropertyValue::Int(3))
    );
    assert!(
        matches!(t.vertex_property(ann, "ratio")?, Some(PropertyValue::Float(f)) if f.is_nan())
    );
    assert_eq!(
        t.vertex_property(ann, "up")?,
        Some(PropertyValue::Float(f64::INFINITY))
    );
    assert_eq!(
        t.vertex_property(ann, "down")?,
        Some(PropertyValue::Float(f64::NEG_INFINITY))
    );
    assert_eq!(t.vertex_property(ann, "gone")?, None);
    // No helper label, property or index is left behind.
    assert_eq!(t.vertices_with_label("__mg_vertex__")?.count(), 0);
    assert_eq!(t.vertex_property(ann, "__mg_id__")?, None);
    let specs: Vec<_> = e
        .indexes()?
        .into_iter()
        .map(|i| i.spec.to_string())
        .collect();
    assert_eq!(specs.len(), 3, "{specs:?}");
    assert_eq!(e.constraints()?.len(), 1);
    assert_eq!(e.triggers()?.len(), 1);
    Ok(())
}

#[test]
fn unsupported_statements_stop_the_load_or_are_skipped_on_request() -> Result<()> {
    let text = "CREATE (:__mg_vertex__ {__mg_id__: 0});\nCREATE TEXT INDEX t ON :L;\nCREATE (:__mg_vertex__ {__mg_id__: 1});\n";
    let e = InMemoryEngine::open(Config::default())?;
    let err =
        dump::load_dump(&e, text.as_bytes(), dump::LoadOptions::new()).expect_err("a text index");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().starts_with("line 2,"), "{err}");
    let e = InMemoryEngine::open(Config::default())?;
    let summary = dump::load_dump(
        &e,
        text.as_bytes(),
        dump::LoadOptions::new().skip_unsupported(true),
    )?;
    assert_eq!((summary.skipped, summary.vertices), (1, 2));
    Ok(())
}

#[test]
fn a_dump_the_backend_cannot_hold_fails_before_anything_is_written() -> Result<()> {
    let text = dump_of(&common::graph()?)?;
    // Removed when dropped, also when an assertion fails.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("graph.cypherl");
    std::fs::write(&path, &text)?;
    let analytical = AnalyticalEngine::open(engine_inmem_analytical::Config::default())?;
    let err = dump::load_dump_file(&analytical, &path, dump::LoadOptions::new())
        .expect_err("constraints cannot be held");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("nothing was written"), "{err}");
    assert_eq!(analytical.stats()?.vertices, 0, "nothing was written");
    let loaded = dump::load_dump_file(
        &analytical,
        &path,
        dump::LoadOptions::new().skip_constraints(true),
    )?;
    assert_eq!((loaded.vertices, loaded.skipped), (3, 3));
    // A syntax error anywhere is found before the first statement is applied too.
    std::fs::write(
        &path,
        format!("{text}CREATE (:__mg_vertex__ {{__mg_id__: 99, x: }});\n"),
    )?;
    let txn = InMemoryEngine::open(Config::default())?;
    let err = dump::load_dump_file(&txn, &path, dump::LoadOptions::new())
        .expect_err("a broken last statement");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(txn.stats()?.vertices, 0);
    Ok(())
}

/// A writer whose device fails (EIO or ENOSPC) after `budget` bytes.
struct FailingWriter {
    written: Vec<u8>,
    budget: usize,
    code: i32,
}

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written.len() + buf.len() > self.budget {
            return Err(std::io::Error::from_raw_os_error(self.code));
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_dump_onto_a_failing_device_fails_with_io_at_any_byte() -> Result<()> {
    let engine = common::graph()?;
    let whole = dump_of(&engine)?;
    for code in [5, 28] {
        for budget in (0..whole.len()).step_by(7) {
            let mut out = FailingWriter {
                written: Vec::new(),
                budget,
                code,
            };
            let e = dump::write_dump(&engine, &mut out, dump::DumpOptions::new())
                .expect_err("the device fails before the end");
            assert_eq!(e.kind(), ErrorKind::Io, "at byte {budget}: {e}");
            assert!(
                e.to_string().contains(&format!("os error {code}")),
                "the cause is named: {e}"
            );
        }
    }
    Ok(())
}

/// A dump longer than the parsing thread's batches (4 096 statements) loads every
/// statement once, in order; an unsupported statement deep in it is skipped when
/// asked and counted; a statement that does not parse there stops the load with
/// everything before it applied and its line named.
#[test]
fn a_long_dump_loads_across_the_parsers_batches() -> Result<()> {
    let n = 9_000u64;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "CREATE (:__mg_vertex__:`P` {{__mg_id__: {i}, `i`: {i}}});\n"
        ));
    }
    for i in 1..n {
        text.push_str(&format!(
            "MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = {} AND v.__mg_id__ = {i} CREATE (u)-[:`NEXT`]->(v);\n",
            i - 1
        ));
    }
    let e = InMemoryEngine::open(Config::default())?;
    let summary = dump::load_dump(&e, text.as_bytes(), dump::LoadOptions::new())?;
    assert_eq!((summary.vertices, summary.edges), (n, n - 1));
    let again = dump_of(&e)?;
    let reloaded = InMemoryEngine::open(Config::default())?;
    dump::load_dump(&reloaded, again.as_bytes(), dump::LoadOptions::new())?;
    assert_eq!(dump_of(&reloaded)?, again);
    let t = e.begin(TxnOptions::new().read_only())?;
    let mut ids: Vec<i64> = Vec::new();
    for v in t.vertices()? {
        if let Some(PropertyValue::Int(i)) = t.vertex_property(v?, "i")? {
            ids.push(i);
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..n as i64).collect::<Vec<_>>());
    drop(t);

    // Deep in the file: an unsupported statement, then one that does not parse.
    let lines: Vec<&str> = text.lines().collect();
    let mut broken: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
    broken.insert(6_000, "CREATE (:NotADump);\n".to_string());
    let skipped: String = broken.concat();
    let e = InMemoryEngine::open(Config::default())?;
    let summary = dump::load_dump(
        &e,
        skipped.as_bytes(),
        dump::LoadOptions::new().skip_unsupported(true),
    )?;
    assert_eq!((summary.skipped, summary.vertices), (1, n));
    broken[6_000] = "CREATE (:__mg_vertex__ {__mg_id__: ;\n".to_string();
    let cut: String = broken.concat();
    let e = InMemoryEngine::open(Config::default())?;
    let err = dump::load_dump(
        &e,
        cut.as_bytes(),
        dump::LoadOptions::new().batch_size(1000),
    )
    .expect_err("line 6001 does not parse");
    assert!(err.message().contains("6001"), "{err}");
    assert!(
        err.message().contains("6000 statements were applied"),
        "{err}"
    );
    assert_eq!(e.stats()?.vertices, 6_000);
    Ok(())
}
