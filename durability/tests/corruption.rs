//! Every single-byte change and every truncation of a small snapshot and a small WAL
//! segment: reading returns Corrupt or (for a torn WAL tail) a prefix of the records.
//! Never a panic, never wrong data, and never "not ours": a file that carries one of
//! our names is read as ours, so a damaged magic is Corrupt too.

use std::path::Path;
use std::sync::Arc;

use durability::snapshot::read_snapshot;
use durability::wal::{SegmentRead, encode_ops, read_segment};
use durability::{
    DatabaseId, ImageEdge, ImageVertex, NameKind, SchemaOp, SnapshotSink, SnapshotWriter, StdFiles,
    WalOp, WalWriter,
};
use engine_api::{
    ConstraintSpec, ErrorKind, IndexSpec, PropertyValue, Result, SyncMode, TriggerEvent,
    TriggerPhase, TriggerSecurity, TriggerSpec,
};

#[derive(Debug, Default, PartialEq)]
struct Collected {
    names: Vec<(NameKind, u32, String)>,
    schema: Vec<SchemaOp>,
    counters: Vec<(u64, u64)>,
    vertices: Vec<(u64, Vec<u32>, Vec<u8>)>,
    edges: Vec<(u64, u32, u64, u64, Vec<u8>)>,
}

impl SnapshotSink for Collected {
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<()> {
        self.names.push((kind, id, name.to_string()));
        Ok(())
    }
    fn schema(&mut self, op: SchemaOp) -> Result<()> {
        self.schema.push(op);
        Ok(())
    }
    fn counters(&mut self, v: u64, e: u64) -> Result<()> {
        self.counters.push((v, e));
        Ok(())
    }
    fn vertex(&mut self, v: ImageVertex<'_>) -> Result<()> {
        self.vertices
            .push((v.id, v.labels.to_vec(), v.props.to_vec()));
        Ok(())
    }
    fn edge(&mut self, e: ImageEdge<'_>) -> Result<()> {
        self.edges
            .push((e.id, e.edge_type, e.source, e.target, e.props.to_vec()));
        Ok(())
    }
}

fn definitions() -> Vec<SchemaOp> {
    vec![
        SchemaOp::CreateIndex(IndexSpec::LabelProperties {
            label: "Person".into(),
            properties: vec!["name".into(), "age".into()],
        }),
        SchemaOp::CreateConstraint(ConstraintSpec::Exists {
            label: "Person".into(),
            property: "name".into(),
        }),
        SchemaOp::CreateTrigger(TriggerSpec {
            name: "audit".into(),
            event: TriggerEvent::Any,
            phase: TriggerPhase::AfterCommit,
            security: TriggerSecurity::Invoker,
            statement: "CREATE (:Audit)".into(),
        }),
    ]
}

fn props(pairs: &[(u32, PropertyValue)]) -> Vec<u8> {
    let mut out = Vec::new();
    engine_api::codec::encode_properties(pairs.iter().map(|(k, v)| (*k, v)), &mut out);
    out
}

fn write_small_snapshot(dir: &Path) -> (std::path::PathBuf, Collected) {
    // In a folder of its own: the writer stages the file beside that folder, and two
    // tests staging the same name in one shared folder (the system's temp folder)
    // raced (one renamed the other's file away).
    let dir = &dir.join("snapshots");
    std::fs::create_dir_all(dir).expect("snapshots folder");
    let mut w = SnapshotWriter::create(dir, 1, 7, DatabaseId::random()).expect("create");
    w.names(NameKind::Label, [(0, "Person"), (1, "Admin")])
        .expect("names");
    w.names(NameKind::EdgeType, [(0, "KNOWS")]).expect("names");
    w.names(NameKind::PropertyKey, [(0, "name"), (1, "age")])
        .expect("names");
    w.schema(&definitions()).expect("schema");
    w.counters(3, 2).expect("counters");
    let p0 = props(&[(0, "Ann".into()), (1, 42.into())]);
    let p1 = props(&[(0, "Bob".into())]);
    w.vertex(ImageVertex::new(0, &[0, 1], &p0)).expect("v");
    w.vertex(ImageVertex::new(2, &[0], &p1)).expect("v");
    let pe = props(&[(1, PropertyValue::Float(1.5))]);
    w.edge(ImageEdge::new(1, 0, 0, 2, &pe)).expect("e");
    let info = w.finish().expect("finish");
    let mut expected = Collected::default();
    read_snapshot(&info.path, &mut expected)
        .map_err(|_| "the intact snapshot must read")
        .expect("read");
    assert_eq!(expected.vertices.len(), 2);
    assert_eq!(expected.schema, definitions());
    (info.path, expected)
}

fn check_snapshot(path: &Path, original: &Collected, what: &str) {
    let mut got = Collected::default();
    match read_snapshot(path, &mut got) {
        Ok(_) => assert_eq!(&got, original, "{what}: accepted with different contents"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}");
            assert!(e.message().contains("offset"), "{what}: {e}");
        }
    }
}

#[test]
fn every_byte_change_and_truncation_of_a_snapshot_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (path, original) = write_small_snapshot(tmp.path());
    let bytes = std::fs::read(&path).expect("read");
    let probe = tmp.path().join("probe.snapshot");
    let mut accepted = 0;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            std::fs::write(&probe, &b).expect("write");
            let mut got = Collected::default();
            if read_snapshot(&probe, &mut got).is_ok() {
                accepted += 1;
            }
            check_snapshot(&probe, &original, &format!("byte {i} ^ {mask:#x}"));
        }
    }
    assert_eq!(accepted, 0, "a changed byte was accepted");
    for len in 0..bytes.len() {
        std::fs::write(&probe, &bytes[..len]).expect("write");
        let mut got = Collected::default();
        assert!(
            read_snapshot(&probe, &mut got).is_err(),
            "truncation to {len} bytes was accepted"
        );
    }
    let mut extra = bytes.clone();
    extra.extend_from_slice(b"garbage");
    std::fs::write(&probe, &extra).expect("write");
    assert!(read_snapshot(&probe, &mut Collected::default()).is_err());
}

fn write_small_segment(dir: &Path) -> (std::path::PathBuf, Vec<durability::CommitRecord>) {
    let w = WalWriter::new(
        dir.to_path_buf(),
        DatabaseId::random(),
        SyncMode::EveryCommit,
        1 << 20,
        1,
        Arc::new(StdFiles),
    );
    // A schema record first, so every later record's damage is checked after it.
    let t = w
        .append_schema(1, &definitions()[0])
        .expect("append schema");
    w.wait(t).expect("wait");
    for ts in 1..=4u64 {
        let ops = vec![
            WalOp::CreateVertex {
                id: ts,
                labels: vec!["L".into()],
                properties: vec![("p".into(), PropertyValue::Int(ts as i64))],
            },
            WalOp::SetVertexProperty {
                vertex: ts,
                key: "q".into(),
                value: "x".into(),
            },
        ];
        let t = w.append(ts, &encode_ops(&ops)).expect("append");
        w.wait(t).expect("wait");
    }
    let path = dir.join(durability::dir::segment_file_name(1));
    let SegmentRead::Read {
        records, schema, ..
    } = read_segment(&path, true).expect("read")
    else {
        panic!("intact segment must read");
    };
    assert_eq!(records.len(), 4);
    let logged: Vec<_> = schema.iter().map(|r| (r.next_ts, r.op.clone())).collect();
    assert_eq!(logged, vec![(1, definitions()[0].clone())]);
    assert!(schema.iter().all(|r| r.time.is_some()));
    (path, records)
}

/// Checks a damaged segment: Corrupt, foreign, or (only where allowed) a prefix.
fn check_segment(
    path: &Path,
    original: &[durability::CommitRecord],
    last: bool,
    what: &str,
) -> bool {
    match read_segment(path, last) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}");
            false
        }
        Ok(SegmentRead::TornHeader) => false,
        Ok(SegmentRead::Read {
            records, schema, ..
        }) => {
            assert!(
                records.len() <= original.len() && records[..] == original[..records.len()],
                "{what}: records that differ from what was written"
            );
            assert!(
                schema.is_empty()
                    || schema
                        .iter()
                        .map(|r| (r.next_ts, r.op.clone()))
                        .collect::<Vec<_>>()
                        == vec![(1, definitions()[0].clone())],
                "{what}: a schema record that differs from what was written"
            );
            true
        }
    }
}

#[test]
fn every_byte_change_of_a_wal_segment_is_refused_or_a_torn_tail() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (path, original) = write_small_segment(tmp.path());
    let bytes = std::fs::read(&path).expect("read");
    let probe = tmp.path().join("probe.wal");
    let last_record_start = {
        // The last record starts after the schema record and the first three commits.
        let mut at = 48;
        for _ in 0..4 {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
            at += 12 + len;
        }
        at
    };
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            std::fs::write(&probe, &b).expect("write");
            let what = format!("byte {i} ^ {mask:#x}");
            // In a segment that is not the last, nothing may be accepted.
            if check_segment(&probe, &original, false, &what) {
                panic!("{what}: a damaged middle segment was accepted");
            }
            // In the last segment only damage in the last record may read as a torn
            // tail, and then it yields exactly the first three records.
            if check_segment(&probe, &original, true, &what) {
                assert!(
                    i >= last_record_start,
                    "{what}: damage before the last record read as torn"
                );
                let SegmentRead::Read { records, .. } = read_segment(&probe, true).expect("read")
                else {
                    unreachable!("checked above");
                };
                assert_eq!(records.len(), 3, "{what}");
            }
        }
    }
}

#[test]
fn every_truncation_of_the_last_wal_segment_keeps_a_valid_prefix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (path, original) = write_small_segment(tmp.path());
    let bytes = std::fs::read(&path).expect("read");
    let probe = tmp.path().join("probe.wal");
    let mut seen = std::collections::BTreeSet::new();
    for len in 0..=bytes.len() {
        std::fs::write(&probe, &bytes[..len]).expect("write");
        match read_segment(&probe, true).expect("a torn last segment reads") {
            SegmentRead::TornHeader => assert!(len < 48),
            SegmentRead::Read {
                records, valid_len, ..
            } => {
                assert_eq!(records[..], original[..records.len()]);
                assert!(valid_len <= len as u64);
                seen.insert(records.len());
            }
        }
        // As a middle segment, a cut inside a record is Corrupt.
        check_segment(&probe, &original, false, &format!("truncated to {len}"));
    }
    assert_eq!(seen, (0..=4).collect(), "every prefix length occurs");
}

/// Regression: a flipped bit in the magic of the newest WAL segment made it read as a
/// foreign file, which recovery skipped, losing acknowledged commits in silence.
#[test]
fn a_damaged_magic_is_corrupt_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (segment, _) = write_small_segment(tmp.path());
    let (snapshot, _) = write_small_snapshot(tmp.path());
    for (path, is_segment) in [(segment, true), (snapshot, false)] {
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[3] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");
        let err = if is_segment {
            for last in [false, true] {
                let err = read_segment(&path, last).expect_err("a damaged magic must not read");
                assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
            }
            durability::wal::read_segment_header(&path).expect_err("header")
        } else {
            read_snapshot(&path, &mut Collected::default()).expect_err("a damaged magic")
        };
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        let message = err.message();
        assert!(
            message.starts_with(&path.display().to_string()) && message.contains("magic"),
            "the error names the file first and says why: {message}"
        );
    }
}

/// A running database's newest segment may be read by a backup before its header is
/// written: only there, and only a header cut short, reads as "no header yet"; a
/// whole header that is damaged, a foreign start or an older segment cut short stay
/// Corrupt.
#[test]
fn only_the_newest_segment_may_lack_its_header_while_the_database_runs() {
    use durability::wal::read_live_segment_header;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (segment, _) = write_small_segment(tmp.path());
    let whole = std::fs::read(&segment).expect("read");
    let header = read_live_segment_header(&segment, true).expect("a whole segment");
    assert_eq!(
        header.map(|h| h.first_ts),
        Some(
            durability::wal::read_segment_header(&segment)
                .expect("header")
                .first_ts
        )
    );
    let probe = tmp.path().join("probe.wal");
    for len in [0, 1, 8, 20, 47] {
        std::fs::write(&probe, &whole[..len]).expect("write");
        assert!(
            read_live_segment_header(&probe, true)
                .expect("the newest segment while it is created")
                .is_none(),
            "{len} bytes"
        );
        let err = read_live_segment_header(&probe, false).expect_err("an older segment");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{len} bytes: {err}");
    }
    let mut damaged = whole[..48].to_vec();
    damaged[30] ^= 0x01;
    let mut foreign = whole[..20].to_vec();
    foreign[0] ^= 0x01;
    for (what, bytes) in [
        ("a damaged whole header", damaged),
        ("a foreign start", foreign),
    ] {
        std::fs::write(&probe, &bytes).expect("write");
        for last in [true, false] {
            let err = read_live_segment_header(&probe, last).expect_err(what);
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{what}, last {last}: {err}");
        }
    }
}
