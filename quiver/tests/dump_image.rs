//! A dump streamed into the on-disk bulk path (`dump::dump_to_image` into
//! `Database::create_on_disk_from_image`) makes the database a transactional load of
//! the same dump makes: same ids, labels, properties, edges, schema and id counters;
//! a bad dump is refused naming its line, and leaves nothing behind.

mod common;

use engine_api::{ErrorKind, Result, StorageEngine, StorageMode, Transaction, TxnOptions};
use quiver::{Config, Database};

fn golden(name: &str) -> Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dump/tests/golden")
        .join(name);
    Ok(std::fs::read_to_string(path)?)
}

fn vertex(key: i64, labels: &str, props: &str) -> String {
    let props = if props.is_empty() {
        String::new()
    } else {
        format!(", {props}")
    };
    format!("CREATE (:__mg_vertex__{labels} {{__mg_id__: {key}{props}}});\n")
}

fn edge(source: i64, target: i64, edge_type: &str, props: &str) -> String {
    format!(
        "MATCH (u:__mg_vertex__), (v:__mg_vertex__) WHERE u.__mg_id__ = {source} AND v.__mg_id__ = {target} CREATE (u)-[:{edge_type}{props}]->(v);\n"
    )
}

/// A dump a writer of ours would not make, but a loader must take: keys with holes,
/// a key beyond any vector and one below zero, one that later keys surround, a label and a property key given
/// twice in one statement, null values, more distinct property keys than the
/// parser's cache of names holds, and vertices after edges.
fn irregular() -> String {
    // Key 200 comes first, beyond the keys so far: the vertices after it cover it.
    let mut text = vertex(200, ":`First`", "");
    for k in (0..250i64).filter(|k| *k != 200) {
        let key = if k % 7 == 3 { k * 1000 } else { k };
        let props = format!(
            "`k{}`: {k}, `k{}`: \"s{k}\", `n`: null",
            k % 100,
            (k + 31) % 100
        );
        text += &vertex(key, ":`A`:`B`:`A`", &props);
    }
    text += &vertex(1 << 40, ":`Far`", "`x`: 1, `x`: 2");
    text += &vertex(-5, "", "");
    text += &edge(0, 1 << 40, "`T`", " {`w`: 1.5}");
    text += &edge(-5, 3000, "`U`", "");
    text += &edge(200, 198, "`U`", "");
    text += &vertex(1_000_000, ":`Late`", "`k7`: [1, 2]");
    text += &edge(1_000_000, 0, "`T`", "");
    text += "CREATE INDEX ON :`A`(`k1`);\n";
    text += "CREATE CONSTRAINT ON (u:`Far`) ASSERT EXISTS (u.`x`);\n";
    text
}

/// The database a transactional load of `text` makes, and the one the bulk path
/// makes, each described by every object (by id) and its own dump.
fn both(text: &str) -> Result<[(String, String); 2]> {
    let describe = |db: &Database| -> Result<(String, String)> {
        let mut out = Vec::new();
        dump::write_dump(db, &mut out, dump::DumpOptions::new())?;
        // The id counters: the next objects get the same ids in both.
        let mut t = db.begin(TxnOptions::new())?;
        let v = t.create_vertex()?;
        let e = t.create_edge(v, v, "NEXT")?;
        let next = format!("next v{} e{}\n", v.0, e.0);
        t.rollback();
        Ok((
            common::image(db)? + &next,
            String::from_utf8(out).expect("UTF-8"),
        ))
    };
    let on_disk = |dir: &std::path::Path| {
        Config::new()
            .data_directory(dir)
            .mode(StorageMode::OnDiskTransactional)
    };
    let a = tempfile::tempdir()?;
    let db = Database::open(on_disk(a.path()))?;
    dump::load_dump(&db, text.as_bytes(), dump::LoadOptions::new().batch_size(7))?;
    let transactional = describe(&db)?;
    db.close()?;
    let b = tempfile::tempdir()?;
    let mut input = Some(text.as_bytes());
    let db = Database::create_on_disk_from_image(on_disk(b.path()), &mut |sink| {
        let input = input.take().expect("read once");
        dump::dump_to_image(input, sink, dump::LoadOptions::new()).map(|_| 0)
    })?;
    let bulk = describe(&db)?;
    db.close()?;
    // And as a reopening finds them. Not the next ids: the engine reserves ids in
    // blocks, and which block a reopening starts at depends on what was reserved
    // (above every id handed out, in both).
    let reopened = |dir: &std::path::Path| -> Result<(String, String)> {
        let db = Database::open(Config::new().data_directory(dir))?;
        assert_eq!(db.storage_mode(), StorageMode::OnDiskTransactional);
        let (objects, dump) = describe(&db)?;
        db.close()?;
        let objects = objects
            .lines()
            .filter(|l| !l.starts_with("next "))
            .collect();
        Ok((objects, dump))
    };
    assert_eq!(
        reopened(b.path())?,
        reopened(a.path())?,
        "the bulk copy differs at its reopening"
    );
    Ok([transactional, bulk])
}

#[test]
fn the_bulk_path_makes_what_a_transactional_load_makes() -> Result<()> {
    for (what, text) in [
        ("ours.cypherl", golden("ours.cypherl")?),
        ("reference.cypherl", golden("reference.cypherl")?),
        ("irregular", irregular()),
    ] {
        let [transactional, bulk] = both(&text)?;
        assert_eq!(bulk.0, transactional.0, "{what}: objects differ");
        assert_eq!(bulk.1, transactional.1, "{what}: dumps differ");
        assert!(
            transactional.0.contains("\nv"),
            "{what}: {}",
            transactional.0
        );
    }
    Ok(())
}

/// Streams `text` into a new on-disk database in `dir`.
fn create(dir: &std::path::Path, text: &str) -> Result<Database> {
    let mut input = Some(text.as_bytes());
    Database::create_on_disk_from_image(Config::new().data_directory(dir), &mut |sink| {
        let input = input.take().expect("read once");
        dump::dump_to_image(input, sink, dump::LoadOptions::new()).map(|_| 0)
    })
}

#[test]
fn a_bad_dump_is_refused_at_its_line_and_leaves_nothing() -> Result<()> {
    let good = vertex(0, ":`P`", "`name`: \"a\"") + &vertex(1, ":`P`", "`name`: \"b\"");
    let cases = [
        (
            good.clone() + "CREATE (:__mg_vertex__ {__mg_id__: 2, `x`: });\n",
            ErrorKind::InvalidInput,
            "line 3, column 44",
        ),
        (
            good.clone() + &vertex(1, "", ""),
            ErrorKind::InvalidInput,
            "line 3: a vertex with key 1",
        ),
        (
            good.clone() + &edge(0, 9, "`T`", ""),
            ErrorKind::NotFound,
            "line 3: no vertex was created for key 9",
        ),
        (
            // A definition made twice: the dump contradicts itself.
            good.clone() + "CREATE INDEX ON :`P`;\nCREATE INDEX ON :`P`;\n",
            ErrorKind::InvalidInput,
            "line 4: the index :`P` is created earlier in the dump",
        ),
        (
            // The data breaks the dump's own constraint: found when it is built.
            good.clone()
                + &vertex(2, ":`P`", "`name`: \"a\"")
                + "CREATE CONSTRAINT ON (u:`P`) ASSERT u.`name` IS UNIQUE;\n",
            ErrorKind::ConstraintViolation,
            "",
        ),
    ];
    for (text, kind, says) in cases {
        let dir = tempfile::tempdir()?;
        let err = create(dir.path(), &text).expect_err("a bad dump");
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().starts_with(says), "{err}");
        // Nothing of it is left: the same directory takes a good dump.
        let db = create(dir.path(), &good)?;
        let stats = db.stats()?;
        assert_eq!((stats.vertices, stats.edges), (2, 0), "after {err}");
        let t = db.begin(TxnOptions::new().read_only())?;
        assert_eq!(t.vertices_with_label("P")?.count(), 2);
        drop(t);
        db.close()?;
    }
    Ok(())
}

#[test]
fn only_an_empty_directory_is_created_from_an_image() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = create(dir.path(), &vertex(0, "", ""))?;
    db.close()?;
    let err = create(dir.path(), &vertex(0, "", "")).expect_err("holds a database");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let other = tempfile::tempdir()?;
    Database::open(
        Config::new()
            .data_directory(other.path())
            .mode(StorageMode::InMemoryAnalytical),
    )?
    .close()?;
    let err = create(other.path(), &vertex(0, "", "")).expect_err("another mode's directory");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("IN_MEMORY_ANALYTICAL"), "{err}");
    let err = Database::create_on_disk_from_image(
        Config::new()
            .data_directory(other.path())
            .mode(StorageMode::InMemoryTransactional),
        &mut |_| Ok(0),
    )
    .expect_err("another mode");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    Ok(())
}
