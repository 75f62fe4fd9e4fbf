//! Unit tests of the snapshot writer and listing.

use super::format::encode_edge;
use super::*;
use crate::DatabaseId;
use crate::snapshot::{Checked, ImageLoader, NameKind, Rejected, SnapshotSink};
use engine_api::Result;
use engine_api::codec::put_uvarint;
use engine_api::image::{ImageEdge, ImageVertex};

#[test]
fn an_edge_head_encodes_as_separate_varints_would() {
    let values = [
        0u64,
        1,
        127,
        128,
        300,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX,
    ];
    // Every record length around each copy size, with bytes that tell their
    // places apart, appended after what the block holds already.
    let record: Vec<u8> = (1..=40).collect();
    for &a in &values {
        for &b in &values {
            for len in 0..=record.len() {
                let props = &record[..len];
                let mut fast = vec![0xee; 5];
                encode_edge(&mut fast, a, b as u32, b, a, props);
                let mut plain = vec![0xee; 5];
                for v in [a, u64::from(b as u32), b, a, len as u64] {
                    put_uvarint(&mut plain, v);
                }
                plain.extend_from_slice(props);
                assert_eq!(fast, plain, "{a} {b} {len}");
            }
        }
    }
}

/// A snapshot retention deleted after the listing is left out of the infos; a
/// damaged one that is there still fails them. (Regression: `snapshots()` under
/// a concurrent snapshot's retention failed in the long stress run.)
#[test]
fn a_listed_snapshot_that_is_gone_is_left_out() -> Result<()> {
    let root = tempfile::tempdir()?;
    // A folder of its own: the writer stages files beside it, not in the shared
    // temp folder.
    let dir = root.path().join("snapshots");
    std::fs::create_dir_all(&dir)?;
    let db = DatabaseId::random();
    let mut names = Vec::new();
    for seq in 1..=2 {
        let w = SnapshotWriter::create(&dir, seq, seq * 10, db)?;
        let info = w.finish()?;
        names.push(crate::dir::SnapshotName {
            seq,
            commit_ts: seq * 10,
            path: info.path,
        });
    }
    std::fs::remove_file(&names[0].path)?;
    let infos = snapshot_infos(&names)?;
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].commit_timestamp, 20);
    std::fs::write(&names[1].path, b"damaged")?;
    assert!(
        snapshot_infos(&names).is_err(),
        "a damaged snapshot that is there"
    );
    Ok(())
}

/// Records what the checks let through, refusing what it is told to.
#[derive(Default)]
struct Recorder {
    vertices: Vec<(u64, Vec<u32>)>,
    edges: Vec<u64>,
    refuse_edge: Option<Rejected>,
}

impl ImageLoader for Recorder {
    fn name(&mut self, _: NameKind, _: u32, _: &str) -> Result<(), Rejected> {
        Ok(())
    }
    fn schema(&mut self, _: crate::SchemaOp) -> Result<(), Rejected> {
        Ok(())
    }
    fn counters(&mut self, _: u64, _: u64) -> Result<(), Rejected> {
        Ok(())
    }
    fn vertex(&mut self, v: ImageVertex<'_>) -> Result<(), Rejected> {
        self.vertices.push((v.id, v.labels.to_vec()));
        Ok(())
    }
    fn edge(&mut self, e: ImageEdge<'_>) -> Result<(), Rejected> {
        match self.refuse_edge.take() {
            Some(r) => Err(r),
            None => {
                self.edges.push(e.id);
                Ok(())
            }
        }
    }
}

/// The checks every loader shares: order of kinds and ids, labels normalised, the
/// loader's own refusals named after the image, other failures passed through.
#[test]
fn checked_images_keep_their_order_and_name_the_image() {
    let corrupt = |r: Result<()>, says: &str| {
        let e = r.expect_err(says);
        assert_eq!(e.kind(), engine_api::ErrorKind::Corrupt, "{e}");
        assert!(e.message().starts_with("img: "), "{e}");
        assert!(e.message().contains(says), "{e}");
    };
    let mut c = Checked::new("img", Recorder::default());
    c.vertex(ImageVertex::new(1, &[3, 1, 3, 2], &[]))
        .expect("a first vertex");
    corrupt(
        c.vertex(ImageVertex::new(1, &[], &[])),
        "vertex 1 appears twice",
    );
    corrupt(
        c.vertex(ImageVertex::new(0, &[], &[])),
        "vertex 0 appears twice or out of order",
    );
    c.vertex(ImageVertex::new(5, &[], &[]))
        .expect("a higher id");
    c.edge(ImageEdge::new(2, 0, 1, 5, &[])).expect("an edge");
    corrupt(
        c.edge(ImageEdge::new(2, 0, 1, 5, &[])),
        "edge 2 appears twice",
    );
    corrupt(
        c.vertex(ImageVertex::new(9, &[], &[])),
        "vertex 9 follows edges",
    );
    let r = c.into_inner();
    assert_eq!(r.vertices, vec![(1, vec![1, 2, 3]), (5, vec![])]);
    assert_eq!(r.edges, vec![2]);

    let mut c = Checked::new(
        "img",
        Recorder {
            refuse_edge: Some(Rejected::Bad("edge 0 refers to missing vertex 7".into())),
            ..Recorder::default()
        },
    );
    corrupt(
        c.edge(ImageEdge::new(0, 0, 7, 7, &[])),
        "edge 0 refers to missing vertex 7",
    );
    let mut c = Checked::new(
        "img",
        Recorder {
            refuse_edge: Some(Rejected::Failed(engine_api::Error::new(
                engine_api::ErrorKind::Io,
                "disk full",
            ))),
            ..Recorder::default()
        },
    );
    let e = c
        .edge(ImageEdge::new(0, 0, 7, 7, &[]))
        .expect_err("a failure");
    assert_eq!(
        (e.kind(), e.message()),
        (engine_api::ErrorKind::Io, "disk full")
    );
}

/// A file that records the ranges [`DurableFile::start_writeback`] is asked for,
/// and passes everything to a real file.
struct Recording {
    file: std::fs::File,
    asked: std::sync::Arc<parking_lot::Mutex<Vec<(u64, u64)>>>,
}

impl crate::file::DurableFile for Recording {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.file, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        crate::file::DurableFile::write_at(&mut self.file, offset, buf)
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
    fn start_writeback(&mut self, offset: u64, len: u64) {
        self.asked.lock().push((offset, len));
        crate::file::DurableFile::start_writeback(&mut self.file, offset, len);
    }
}

#[derive(Debug, Default)]
struct RecordingFiles {
    asked: std::sync::Arc<parking_lot::Mutex<Vec<(u64, u64)>>>,
}

impl crate::file::FileLayer for RecordingFiles {
    fn create(&self, path: &std::path::Path) -> std::io::Result<Box<dyn crate::file::DurableFile>> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(Recording {
            file,
            asked: self.asked.clone(),
        }))
    }
}

/// A snapshot written in parallel asks for writeback of what it wrote, range after
/// range from the start (so the final sync waits for the last range only), and the
/// file reads back whole: the hint changes no byte.
#[test]
fn a_long_snapshot_starts_its_writeback_as_it_goes() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("snapshots");
    std::fs::create_dir(&dir)?;
    let files = RecordingFiles::default();
    let mut w = SnapshotWriter::create_with(&files, &dir, 1, 9, DatabaseId::random())?;
    let (parts, per_part) = (150u64, 20_000u64);
    w.name(NameKind::EdgeType, 0, "T")?;
    w.write_parallel(Items::Vertices, 1, 2, |_, enc| {
        enc.vertex(0, &[], &[], (0, 0));
        Ok(())
    })?;
    w.write_parallel(Items::Edges, parts, 2, |part, enc| {
        for id in part * per_part..(part + 1) * per_part {
            enc.edge(id, 0, 0, 0, &[]);
        }
        Ok(())
    })?;
    let info = w.finish()?;
    let asked = files.asked.lock().clone();
    assert!(
        info.size_bytes > 2 * super::writer::WRITEBACK_STEP,
        "{}",
        info.size_bytes
    );
    assert!(asked.len() >= 2, "{asked:?}");
    let mut next = 0;
    for &(offset, len) in &asked {
        assert_eq!(offset, next, "{asked:?}");
        assert!(len >= super::writer::WRITEBACK_STEP, "{asked:?}");
        next = offset + len;
    }
    assert!(next <= info.size_bytes);
    assert!(info.size_bytes - next < super::writer::WRITEBACK_STEP + (1 << 20));
    let (summary, _) = read_snapshot_counts(&info.path)?;
    assert_eq!((summary.vertices, summary.edges), (1, parts * per_part));
    Ok(())
}

/// Items written in place by the parallel encoder, of every size around the room a
/// block keeps (records from empty to longer than a block, up to a dozen labels),
/// read back as written.
#[test]
fn items_written_in_place_read_back_whole() -> Result<()> {
    #[derive(Default)]
    struct Kept {
        vertices: Vec<(u64, Vec<u32>, Vec<u8>)>,
        edges: Vec<(u64, u32, u64, u64, Vec<u8>)>,
    }
    impl SnapshotSink for Kept {
        fn name(&mut self, _: NameKind, _: u32, _: &str) -> Result<()> {
            Ok(())
        }
        fn schema(&mut self, _: crate::SchemaOp) -> Result<()> {
            Ok(())
        }
        fn counters(&mut self, _: u64, _: u64) -> Result<()> {
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
    let record = |id: u64| -> Vec<u8> {
        let len = match id % 7 {
            0 => 0,
            1 => 100_000,
            2 => 65_536,
            _ => (id * 7919 % 3000) as usize,
        };
        let mut out = Vec::new();
        if len > 0 {
            let text: String = (0..len)
                .map(|i| char::from(b'a' + ((i as u64 ^ id) % 26) as u8))
                .collect();
            engine_api::codec::properties_record_into(
                &mut [(0, engine_api::PropertyValue::String(text))],
                &mut out,
            );
        }
        out
    };
    let labels = |id: u64| -> Vec<u32> { (0..(id % 13) as u32).collect() };
    // Under a data directory of its own: the temporary file goes to its
    // `.in-progress`, beside `snapshots` (directly under the system's temporary
    // directory, it would be shared with other tests).
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("snapshots");
    std::fs::create_dir(&dir)?;
    let mut w = SnapshotWriter::create(&dir, 1, 9, DatabaseId::random())?;
    for l in 0..13 {
        w.name(NameKind::Label, l, &format!("L{l}"))?;
    }
    for t in 0..3 {
        w.name(NameKind::EdgeType, t, &format!("T{t}"))?;
    }
    w.name(NameKind::PropertyKey, 0, "p")?;
    let (parts, per_part) = (6u64, 40u64);
    w.write_parallel(Items::Vertices, parts, 2, |part, enc| {
        for id in part * per_part..(part + 1) * per_part {
            enc.vertex(id, &labels(id), &record(id), (1, 2));
        }
        Ok(())
    })?;
    w.write_parallel(Items::Edges, parts, 2, |part, enc| {
        for id in part * per_part..(part + 1) * per_part {
            enc.edge(
                id,
                (id % 3) as u32,
                id << 20,
                u64::MAX - id,
                &record(id + 1),
            );
        }
        Ok(())
    })?;
    let info = w.finish()?;
    let mut kept = Kept::default();
    read_snapshot(&info.path, &mut kept)?;
    let n = parts * per_part;
    assert_eq!(kept.vertices.len() as u64, n);
    assert_eq!(kept.edges.len() as u64, n);
    for (i, (id, l, p)) in kept.vertices.iter().enumerate() {
        assert_eq!(
            (*id, l, p),
            (i as u64, &labels(i as u64), &record(i as u64))
        );
    }
    for (i, e) in kept.edges.iter().enumerate() {
        let id = i as u64;
        assert_eq!(
            e,
            &(id, (id % 3) as u32, id << 20, u64::MAX - id, record(id + 1))
        );
    }
    Ok(())
}

/// A link someone put in the folder of work in progress under the temporary name
/// of the next snapshot is removed, not written through, by both ways of writing a
/// snapshot (a new one, and a copy under another database's name).
#[cfg(unix)]
#[test]
fn a_link_at_a_temporary_name_is_removed_not_written_through() -> Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("snapshots");
    std::fs::create_dir_all(&dir)?;
    let aside = root.path().join(crate::dir::IN_PROGRESS);
    std::fs::create_dir_all(&aside)?;
    let victim = root.path().join("victim");
    std::fs::write(&victim, b"theirs")?;
    let plant = |seq: u64, commit_ts: u64| -> Result<()> {
        let name = crate::dir::snapshot_file_name(seq, commit_ts);
        std::os::unix::fs::symlink(&victim, aside.join(format!("{name}.tmp")))?;
        Ok(())
    };
    let db = DatabaseId::random();
    plant(1, 10)?;
    let first = SnapshotWriter::create(&dir, 1, 10, db)?.finish()?;
    assert_eq!(std::fs::read(&victim)?, b"theirs");
    plant(2, 10)?;
    let copy = copy_snapshot(&first.path, &dir, 2, DatabaseId::random())?;
    assert_eq!(
        std::fs::read(&victim)?,
        b"theirs",
        "written through the link"
    );
    assert!(copy.path.is_file() && !copy.path.is_symlink());
    assert_eq!(super::reader::read_header(&copy.path)?.a, 10);
    Ok(())
}
