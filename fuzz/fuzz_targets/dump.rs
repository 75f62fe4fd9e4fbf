//! A dump from arbitrary bytes: parsed statement by statement, then checked and
//! loaded into a fresh in-memory engine. Hostile strings must give a typed error,
//! never a panic; a dump that loads must give the counts its summary reports.
#![no_main]

use engine_api::{StorageEngine, Transaction, TxnOptions};
use engine_inmem_analytical::{AnalyticalEngine, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = dump::StatementReader::new(data);
    while let Ok(Some(_)) = reader.next_statement() {}
    let Ok(engine) = AnalyticalEngine::open(Config::default()) else {
        return;
    };
    let _ = dump::check_dump(&engine, data, &dump::LoadOptions::new());
    if let Ok(summary) = dump::load_dump(&engine, data, dump::LoadOptions::new()) {
        let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
        let vertices = t.vertices().expect("scan").count() as u64;
        assert_eq!(
            vertices, summary.vertices,
            "the engine holds the vertices the load reports"
        );
    }
});
