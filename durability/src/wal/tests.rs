use std::path::Path;
use std::sync::Arc;

use engine_api::{PropertyValue, SyncMode};
use parking_lot::Mutex;

use super::format::*;
use super::*;
use crate::dir::segment_file_name;
use crate::file::StdFiles;
use crate::format::DatabaseId;

fn sample_ops(i: u64) -> Vec<WalOp> {
    vec![
        WalOp::CreateVertex {
            id: i,
            labels: vec!["Person".into(), "with `tick`".into()],
            properties: vec![
                ("name".into(), PropertyValue::from("Ann")),
                ("n".into(), PropertyValue::Int(i as i64)),
            ],
        },
        WalOp::AddLabel {
            vertex: i,
            label: "X".into(),
        },
        WalOp::RemoveLabel {
            vertex: i,
            label: "X".into(),
        },
        WalOp::SetVertexProperty {
            vertex: i,
            key: "n".into(),
            value: PropertyValue::Null,
        },
        WalOp::CreateEdge {
            id: i,
            source: i,
            target: i,
            edge_type: "SELF".into(),
            properties: vec![],
        },
        WalOp::SetEdgeProperty {
            edge: i,
            key: "w".into(),
            value: PropertyValue::Float(0.5),
        },
        WalOp::DeleteEdge { edge: i },
        WalOp::DeleteVertex { vertex: i },
    ]
}

pub(crate) fn write_segment(dir: &Path, n: u64, sync: SyncMode, segment_bytes: u64) -> DatabaseId {
    let db = DatabaseId::random();
    let w = WalWriter::new(
        dir.to_path_buf(),
        db,
        sync,
        segment_bytes,
        1,
        Arc::new(StdFiles),
    );
    for ts in 1..=n {
        let t = w.append(ts, &encode_ops(&sample_ops(ts))).expect("append");
        w.wait(t).expect("wait");
    }
    w.flush().expect("flush");
    db
}

#[test]
fn records_round_trip_through_a_segment() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = write_segment(tmp.path(), 5, SyncMode::EveryCommit, 1 << 20);
    let path = tmp.path().join(segment_file_name(1));
    let SegmentRead::Read {
        header,
        records,
        valid_len,
        file_len,
        ..
    } = read_segment(&path, true).expect("read")
    else {
        panic!("expected records");
    };
    assert_eq!(
        header,
        SegmentHeader {
            database: db,
            seq: 1,
            first_ts: 1
        }
    );
    assert_eq!(valid_len, file_len);
    assert_eq!(records.len(), 5);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.commit_ts, i as u64 + 1);
        assert_eq!(r.ops, sample_ops(i as u64 + 1));
    }
}

#[test]
fn id_reservations_read_back_and_keep_first_timestamps_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = WalWriter::new(
        tmp.path().to_path_buf(),
        DatabaseId::random(),
        SyncMode::EveryCommit,
        1 << 20,
        1,
        Arc::new(StdFiles),
    );
    let t = w.append_reservation(1, 65_536, 100).expect("reserve");
    w.wait(t).expect("durable");
    let t = w.append(1, &encode_ops(&sample_ops(1))).expect("append");
    w.wait(t).expect("durable");
    let t = w.append_reservation(2, 131_072, 100).expect("reserve");
    w.wait(t).expect("durable");
    let SegmentRead::Read {
        header,
        records,
        reserved,
        ..
    } = read_segment(&tmp.path().join(segment_file_name(1)), true).expect("read")
    else {
        panic!("expected records");
    };
    assert_eq!(header.first_ts, 1);
    assert_eq!(records.len(), 1);
    assert_eq!(reserved, Some((131_072, 100)));
}

#[test]
fn segments_rotate_by_size_with_contiguous_sequence_numbers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_segment(tmp.path(), 200, SyncMode::Off, 4096);
    let mut seqs = Vec::new();
    let mut next_ts = 1;
    let mut names: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    assert!(
        names.len() > 3,
        "expected several segments, got {}",
        names.len()
    );
    let last = names.len() - 1;
    for (i, p) in names.iter().enumerate() {
        let SegmentRead::Read {
            header, records, ..
        } = read_segment(p, i == last).expect("read")
        else {
            panic!("expected records");
        };
        seqs.push(header.seq);
        assert_eq!(header.first_ts, next_ts);
        for r in records {
            assert_eq!(r.commit_ts, next_ts);
            next_ts += 1;
        }
    }
    assert_eq!(next_ts, 201);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn concurrent_committers_share_syncs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = Arc::new(WalWriter::new(
        tmp.path().to_path_buf(),
        DatabaseId::random(),
        SyncMode::EveryCommit,
        1 << 24,
        1,
        Arc::new(StdFiles),
    ));
    let order = Arc::new(Mutex::new(0u64));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (w, order) = (w.clone(), order.clone());
            s.spawn(move || {
                for _ in 0..50 {
                    let t = {
                        let mut o = order.lock();
                        *o += 1;
                        w.append(*o, &encode_ops(&[])).expect("append")
                    };
                    w.wait(t).expect("durable");
                }
            });
        }
    });
    let SegmentRead::Read { records, .. } =
        read_segment(&tmp.path().join(segment_file_name(1)), true).expect("read")
    else {
        panic!("expected records");
    };
    let ts: Vec<u64> = records.iter().map(|r| r.commit_ts).collect();
    assert_eq!(ts, (1..=200).collect::<Vec<_>>());
}

#[test]
fn commit_records_carry_their_time_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let before = std::time::SystemTime::now();
    write_segment(tmp.path(), 20, SyncMode::EveryCommit, 1 << 20);
    let after = std::time::SystemTime::now();
    let SegmentRead::Read { records, .. } =
        read_segment(&tmp.path().join(segment_file_name(1)), true).expect("read")
    else {
        panic!("expected records");
    };
    let times: Vec<_> = records.iter().map(|r| r.time.expect("a time")).collect();
    assert_eq!(times.len(), 20);
    // Stored to the microsecond: the first may read a little before `before`.
    let slack = std::time::Duration::from_micros(1);
    assert!(
        times[0] + slack >= before && times[19] <= after,
        "{times:?}"
    );
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

/// A segment written by a build before commit times (format version 2) reads as it
/// is: the same commits, no times.
#[test]
fn a_version_2_segment_reads_without_times() {
    use crate::format::{Header, encode_header};
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = DatabaseId::random();
    let mut bytes = encode_header(
        MAGIC,
        2,
        &Header {
            version: 2,
            database: db,
            a: 1,
            b: 1,
        },
    )
    .to_vec();
    for ts in 1..=3 {
        frame_record(
            RECORD_COMMIT,
            ts,
            &[&encode_ops(&sample_ops(ts))],
            &mut bytes,
        );
    }
    let path = tmp.path().join(segment_file_name(1));
    std::fs::write(&path, &bytes).expect("write");
    let SegmentRead::Read { records, .. } = read_segment(&path, true).expect("read") else {
        panic!("expected records");
    };
    assert_eq!(records.len(), 3);
    for (i, r) in records.iter().enumerate() {
        assert_eq!((r.commit_ts, r.time), (i as u64 + 1, None));
        assert_eq!(r.ops, sample_ops(i as u64 + 1));
    }
    // Read as version 3, the same bytes are damage, not commits with made-up times.
    bytes[8..10].copy_from_slice(&3u16.to_le_bytes());
    let header_crc_at = crate::format::HEADER_LEN - 4;
    let crc = crc32fast::hash(&bytes[..header_crc_at]);
    bytes[header_crc_at..crate::format::HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    assert!(read_segment(&path, false).is_err());
}
