//! The report runs end to end on a tiny workload, and every subject agrees on every
//! count (the runner refuses to write a report otherwise).

use engine_inmem_txn::{Config, InMemoryEngine};
use quiver_benches::report::{self, SubjectFactory};
use quiver_benches::{EngineSubject, HashMapBaseline, WorkloadSize};

#[test]
fn report_runs_and_subjects_agree() {
    let size = WorkloadSize {
        vertices: 2000,
        edges: 8000,
        batch: 500,
        reads: 3000,
        expansions: 500,
        small_writes: 300,
        mixed_ops: 500,
    };
    let subjects: Vec<(String, SubjectFactory)> = vec![
        (
            "HashMap".into(),
            Box::new(|| Ok(Box::new(HashMapBaseline::default()) as _)),
        ),
        (
            "inmem-txn".into(),
            Box::new(|| Ok(Box::new(EngineSubject(InMemoryEngine::open(Config::default())?)) as _)),
        ),
    ];
    let r =
        report::run(size, subjects, &|| None, "test".into(), "test".into()).expect("report runs");
    let md = r.markdown();
    assert!(md.contains("| point read by id | reads/s |"), "{md}");
    assert!(md.contains("inmem-txn / HashMap"), "{md}");
    let reads = r
        .figures
        .iter()
        .filter(|f| f.workload == "point read by id")
        .map(|f| f.checksum)
        .collect::<Vec<_>>();
    assert_eq!(reads, vec![3000, 3000], "every read found its vertex");
    let hop = r
        .figures
        .iter()
        .find(|f| f.workload == "1-hop expansion")
        .expect("row");
    assert!(hop.checksum > 0);
    let row = |name: &str| {
        r.figures
            .iter()
            .find(|f| f.workload == name && f.subject == "inmem-txn")
            .unwrap_or_else(|| panic!("no {name} row for inmem-txn"))
    };
    // Each looked-up id exists once: scans and index lookups find one vertex each.
    let scan = row("label+property lookup, no index");
    assert_eq!(scan.checksum, scan.operations);
    let index = row("label+property lookup, index");
    assert_eq!(index.checksum, index.operations);
    assert_eq!(index.operations, 150);
    assert_eq!(
        row("import: vertices, label+property index present").checksum,
        2000
    );
    assert!(md.contains("label+property lookup, index: "), "{md}");
    assert!(
        !r.figures
            .iter()
            .any(|f| f.subject == "HashMap" && f.workload.contains("label+property")),
        "the HashMap peer has no indexes"
    );
}
