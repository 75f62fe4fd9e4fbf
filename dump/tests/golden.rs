//! The dump we write, byte for byte: a change of the format has to change the golden
//! file too, deliberately. `QUIVER_BLESS=1` rewrites it from the current writer.

mod common;

use common::graph;
use engine_api::Result;

#[test]
fn our_dump_matches_the_golden_file_byte_for_byte() -> Result<()> {
    let engine = graph()?;
    let mut out = Vec::new();
    let summary = dump::write_dump(&engine, &mut out, dump::DumpOptions::new())?;
    assert_eq!(summary.counts.vertices, 3);
    assert_eq!(summary.counts.edges, 4);
    assert_eq!(summary.bytes, out.len() as u64);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ours.cypherl");
    if std::env::var_os("QUIVER_BLESS").is_some() {
        std::fs::write(&path, &out)?;
    }
    let golden = std::fs::read(&path)?;
    assert!(
        golden == out,
        "the dump differs from {}; if the change is deliberate, rerun with QUIVER_BLESS=1\n{}",
        path.display(),
        String::from_utf8_lossy(&out)
    );
    // One statement per line, whatever the strings hold.
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(text.lines().count() as u64, summary.statements);
    assert!(text.lines().all(|l| l.ends_with(';')));
    Ok(())
}

#[test]
fn progress_is_reported_with_statements_and_bytes() -> Result<()> {
    let engine = graph()?;
    let mut seen = Vec::new();
    let mut on_progress = |p: dump::Progress| seen.push((p.statements, p.bytes));
    let mut out = Vec::new();
    let summary = dump::write_dump(
        &engine,
        &mut out,
        dump::DumpOptions::new().progress(2, &mut on_progress),
    )?;
    assert!(seen.len() >= 2, "{seen:?}");
    assert_eq!(seen.last(), Some(&(summary.statements, summary.bytes)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    Ok(())
}
