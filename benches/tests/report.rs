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
}
