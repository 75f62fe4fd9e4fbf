//! A snapshot file from arbitrary bytes, read whole into a sink that decodes every
//! property record as a loader would. The first byte picks whether the checksums are
//! repaired first (see the crate docs), so the block decoders behind them are reached.
#![no_main]

use durability::snapshot::{NameKind, read_snapshot, read_snapshot_header};
use durability::{ImageEdge, ImageVertex, SchemaOp, SnapshotSink};
use engine_api::codec::decode_properties;
use libfuzzer_sys::fuzz_target;
use quiver_fuzz::{moded, repair_snapshot, scratch_file};

/// Counts what it is handed and decodes property records, failing the read on a bad
/// one (as the engines' loaders do).
#[derive(Default)]
struct Sink {
    vertices: u64,
    edges: u64,
}

impl SnapshotSink for Sink {
    fn name(&mut self, _kind: NameKind, _id: u32, _name: &str) -> engine_api::Result<()> {
        Ok(())
    }
    fn schema(&mut self, _definition: SchemaOp) -> engine_api::Result<()> {
        Ok(())
    }
    fn counters(&mut self, _next_vertex: u64, _next_edge: u64) -> engine_api::Result<()> {
        Ok(())
    }
    fn vertex(&mut self, v: ImageVertex<'_>) -> engine_api::Result<()> {
        decode_properties(v.props).map_err(|e| e.into_corrupt("vertex", 0))?;
        self.vertices += 1;
        Ok(())
    }
    fn edge(&mut self, e: ImageEdge<'_>) -> engine_api::Result<()> {
        decode_properties(e.props).map_err(|e| e.into_corrupt("edge", 0))?;
        self.edges += 1;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = moded(data, repair_snapshot);
    let path = scratch_file("00000000000000000001_00000000000000000001.snapshot", &bytes);
    let _ = read_snapshot_header(&path);
    let mut sink = Sink::default();
    if let Ok(summary) = read_snapshot(&path, &mut sink) {
        assert_eq!(
            (summary.vertices, summary.edges),
            (sink.vertices, sink.edges),
            "the summary counts what the sink was handed"
        );
    }
});
