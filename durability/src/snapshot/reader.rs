//! Reading snapshot files: every block verified ([`read_snapshot`]), the header
//! alone, the schema alone, and the listing engines report.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use engine_api::codec::Decoder;
use engine_api::{ImageEdge, ImageVertex, Result, SnapshotInfo};

use super::format::*;
use super::sink::SnapshotSink;
use crate::format::{
    HEADER_LEN, Header, corrupt, decode_named_header, io_error, read_header_bytes, u32_at, u64_at,
};
use crate::schema::{SchemaOp, decode_schema_op};

/// Reads the header only. A file with a snapshot's name is ours: a wrong magic is
/// Corrupt, like any other damage.
pub fn read_snapshot_header(path: &Path) -> Result<SnapshotSummary> {
    Ok(summary_of(&read_header(path)?))
}

/// The commit the header of the snapshot at `path` says it holds, if the header
/// reads, whatever the file's name says (for a message about a file whose name and
/// header disagree).
pub fn held_commit(path: &Path) -> Option<u64> {
    read_header_unnamed(path, &path.display().to_string())
        .ok()
        .map(|h| h.a)
}

/// The verified header of the snapshot at `path`, its name not looked at.
fn read_header_unnamed(path: &Path, what: &str) -> Result<Header> {
    let head = read_header_bytes(path, what)?;
    decode_named_header(MAGIC, SNAPSHOT_VERSIONS, what, "snapshot", &head)
}

/// What a header tells of its snapshot (the counts are the footer's: 0 here).
pub(super) fn summary_of(h: &Header) -> SnapshotSummary {
    SnapshotSummary {
        database: h.database,
        commit_ts: h.a,
        created_at: UNIX_EPOCH + Duration::from_micros(h.b),
        vertices: 0,
        edges: 0,
    }
}

/// The verified header of the snapshot at `path`, its name checked against the
/// commit it holds.
pub(super) fn read_header(path: &Path) -> Result<Header> {
    let what = path.display().to_string();
    let h = read_header_unnamed(path, &what)?;
    // The name says which commit the file holds, and recovery orders snapshots by
    // name: a copy of an older snapshot under a newer name would roll the database
    // back without a word. (Found by a hostile-user run.)
    if let Some((_, named)) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::dir::parse_snapshot_name)
        && named != h.a
    {
        return Err(engine_api::Error::corrupt(format!(
            "{what}: named as the snapshot of commit {named}, but it holds commit {}: a copy under another name; {}",
            h.a,
            crate::lost::MOVE_OUT_OF_SNAPSHOTS
        )));
    }
    Ok(h)
}

/// The schema definitions of the snapshot at `path` (its create-operations), read
/// from the blocks before its id counters: the rest of the file is not read.
///
/// Errors: as [`read_snapshot`] for the part it reads.
pub fn read_snapshot_schema(path: &Path) -> Result<Vec<SchemaOp>> {
    /// Collects the schema and stops the read at the first block after it.
    struct SchemaOnly {
        ops: Vec<SchemaOp>,
        stopped: bool,
    }
    impl SchemaOnly {
        fn stop(&mut self) -> Result<()> {
            self.stopped = true;
            Err(engine_api::Error::new(
                engine_api::ErrorKind::Aborted,
                "the schema is read",
            ))
        }
    }
    impl SnapshotSink for SchemaOnly {
        fn name(&mut self, _: NameKind, _: u32, _: &str) -> Result<()> {
            Ok(())
        }
        fn schema(&mut self, definition: SchemaOp) -> Result<()> {
            self.ops.push(definition);
            Ok(())
        }
        fn counters(&mut self, _: u64, _: u64) -> Result<()> {
            self.stop()
        }
        fn vertex(&mut self, _: ImageVertex<'_>) -> Result<()> {
            self.stop()
        }
        fn edge(&mut self, _: ImageEdge<'_>) -> Result<()> {
            self.stop()
        }
    }
    let mut sink = SchemaOnly {
        ops: Vec::new(),
        stopped: false,
    };
    match read_snapshot(path, &mut sink) {
        Ok(_) => Ok(sink.ops),
        Err(_) if sink.stopped => Ok(sink.ops),
        Err(e) => Err(e),
    }
}

/// What the `snapshots()` listing of an engine reports for these files, oldest
/// first. A snapshot whose header does not verify fails the listing with `Corrupt`,
/// naming it: leaving it out would hide the damage from a backup tool.
pub fn snapshot_infos(snapshots: &[crate::dir::SnapshotName]) -> Result<Vec<SnapshotInfo>> {
    // Retention in another thread may delete a listed snapshot before it is read:
    // one that is gone is left out, one that is there must read.
    let gone = |path: &Path| {
        std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    };
    let mut out = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let h = match read_snapshot_header(&s.path) {
            Ok(h) => h,
            Err(_) if gone(&s.path) => continue,
            Err(e) => return Err(e),
        };
        let size_bytes = match std::fs::metadata(&s.path) {
            Ok(m) => m.len(),
            Err(_) if gone(&s.path) => continue,
            Err(e) => return Err(io_error(&format!("cannot read {}", s.path.display()), e)),
        };
        out.push(SnapshotInfo {
            path: s.path.clone(),
            commit_timestamp: h.commit_ts,
            created_at: h.created_at,
            size_bytes,
        });
    }
    Ok(out)
}

/// Reads the whole snapshot at `path`, every block checked, keeping only its schema:
/// its summary with the vertex and edge counts (the header alone does not hold them)
/// and its schema definitions.
///
/// Errors: as [`read_snapshot`].
pub fn read_snapshot_counts(path: &Path) -> Result<(SnapshotSummary, Vec<SchemaOp>)> {
    struct SchemaKept(Vec<SchemaOp>);
    impl SnapshotSink for SchemaKept {
        fn name(&mut self, _: NameKind, _: u32, _: &str) -> Result<()> {
            Ok(())
        }
        fn schema(&mut self, definition: SchemaOp) -> Result<()> {
            self.0.push(definition);
            Ok(())
        }
        fn counters(&mut self, _: u64, _: u64) -> Result<()> {
            Ok(())
        }
        fn vertex(&mut self, _: ImageVertex<'_>) -> Result<()> {
            Ok(())
        }
        fn edge(&mut self, _: ImageEdge<'_>) -> Result<()> {
            Ok(())
        }
    }
    let mut kept = SchemaKept(Vec::new());
    let summary = read_snapshot(path, &mut kept)?;
    Ok((summary, kept.0))
}

/// Reads and verifies a whole snapshot, handing its contents to `sink`.
pub fn read_snapshot(path: &Path, sink: &mut dyn SnapshotSink) -> Result<SnapshotSummary> {
    let what = path.display().to_string();
    let header = read_header(path)?;
    let version = header.version;
    let mut summary = summary_of(&header);
    let file = File::open(path).map_err(|e| io_error(&format!("cannot open {what}"), e))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut skip = [0u8; HEADER_LEN];
    r.read_exact(&mut skip)
        .map_err(|e| io_error(&format!("cannot read {what}"), e))?;
    let mut offset = HEADER_LEN as u64;
    let mut dict_sizes = [0u64; 3];
    let (mut vertices, mut edges, mut blocks) = (0u64, 0u64, 0u64);
    let mut payload = Vec::new();
    let mut schema_seen = false;
    loop {
        let mut head = [0u8; 9];
        match read_full(&mut r, &mut head) {
            Ok(9) => {}
            Ok(_) => return Err(corrupt(&what, offset, "file ends before its footer")),
            Err(e) => return Err(io_error(&format!("cannot read {what}"), e)),
        }
        let kind = head[0];
        let len = u32_at(&head, 1) as usize;
        if len > BLOCK_MAX {
            return Err(corrupt(&what, offset, "block length out of range"));
        }
        payload.clear();
        payload.resize(len, 0);
        match read_full(&mut r, &mut payload) {
            Ok(n) if n == len => {}
            Ok(_) => return Err(corrupt(&what, offset, "file ends inside a block")),
            Err(e) => return Err(io_error(&format!("cannot read {what}"), e)),
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&head[..5]);
        hasher.update(&payload);
        if hasher.finalize() != u32_at(&head, 5) {
            return Err(corrupt(&what, offset, "block checksum mismatch"));
        }
        let base = offset + 9;
        let bad = |e: engine_api::codec::DecodeError| e.into_corrupt(&what, base);
        let mut d = Decoder::new(&payload);
        match kind {
            BLOCK_FOOTER => {
                if len != 24 {
                    return Err(corrupt(&what, offset, "footer has the wrong length"));
                }
                let (fv, fe, fb) = (
                    u64_at(&payload, 0),
                    u64_at(&payload, 8),
                    u64_at(&payload, 16),
                );
                if (fv, fe, fb) != (vertices, edges, blocks) {
                    return Err(corrupt(
                        &what,
                        offset,
                        &format!(
                            "footer counts {fv} vertices, {fe} edges, {fb} blocks; the file holds {vertices}, {edges}, {blocks}"
                        ),
                    ));
                }
                let mut extra = [0u8; 1];
                match read_full(&mut r, &mut extra) {
                    Ok(0) => {}
                    Ok(_) => {
                        return Err(corrupt(&what, base + 24, "bytes after the footer"));
                    }
                    Err(e) => return Err(io_error(&format!("cannot read {what}"), e)),
                }
                summary.vertices = vertices;
                summary.edges = edges;
                return Ok(summary);
            }
            BLOCK_NAMES => {
                let k = d.bytes(1).map_err(bad)?[0];
                let kind = match k {
                    0 => NameKind::Label,
                    1 => NameKind::EdgeType,
                    2 => NameKind::PropertyKey,
                    _ => return Err(corrupt(&what, base, "unknown dictionary kind")),
                };
                let n = d.uvarint().map_err(bad)?;
                for _ in 0..n {
                    let id = d.uvarint().map_err(bad)?;
                    let len = d.uvarint().map_err(bad)?;
                    let at = d.position() as u64;
                    let bytes = d.bytes(len as usize).map_err(bad)?;
                    let name = std::str::from_utf8(bytes)
                        .map_err(|_| corrupt(&what, base + at, "name is not UTF-8"))?;
                    let id = u32::try_from(id)
                        .map_err(|_| corrupt(&what, base + at, "name id out of range"))?;
                    if u64::from(id) != dict_sizes[kind as usize] {
                        return Err(corrupt(&what, base + at, "name ids are not dense"));
                    }
                    dict_sizes[kind as usize] += 1;
                    sink.name(kind, id, name)?;
                }
            }
            BLOCK_SCHEMA => {
                if schema_seen {
                    return Err(corrupt(&what, offset, "a second schema block"));
                }
                schema_seen = true;
                let n = d.uvarint().map_err(bad)?;
                for _ in 0..n {
                    let op = decode_schema_op(&mut d).map_err(bad)?;
                    if !matches!(
                        op,
                        SchemaOp::CreateIndex(_)
                            | SchemaOp::CreateConstraint(_)
                            | SchemaOp::CreateTrigger(_)
                    ) {
                        return Err(corrupt(&what, base, "a drop operation in the schema block"));
                    }
                    sink.schema(op)?;
                }
            }
            BLOCK_COUNTERS => {
                let v = d.uvarint().map_err(bad)?;
                let e = d.uvarint().map_err(bad)?;
                sink.counters(v, e)?;
            }
            BLOCK_VERTICES => {
                let n = d.uvarint().map_err(bad)?;
                let mut labels = Vec::new();
                for _ in 0..n {
                    let id = d.uvarint().map_err(bad)?;
                    let nl = d.uvarint().map_err(bad)?;
                    labels.clear();
                    for _ in 0..nl {
                        let at = d.position() as u64;
                        let l = d.uvarint().map_err(bad)?;
                        if l >= dict_sizes[NameKind::Label as usize] {
                            return Err(corrupt(&what, base + at, "undefined label id"));
                        }
                        labels.push(l as u32);
                    }
                    let degree = if version >= 3 {
                        let at = d.position() as u64;
                        let mut hint = || -> Result<u32> {
                            u32::try_from(d.uvarint().map_err(bad)?)
                                .map_err(|_| corrupt(&what, base + at, "degree out of range"))
                        };
                        (hint()?, hint()?)
                    } else {
                        (0, 0)
                    };
                    let props = props_record(&mut d, &dict_sizes, &what, base)?;
                    sink.vertex(ImageVertex::new(id, &labels, props).with_degree(degree))?;
                    vertices += 1;
                }
            }
            BLOCK_EDGES => {
                let n = d.uvarint().map_err(bad)?;
                for _ in 0..n {
                    let id = d.uvarint().map_err(bad)?;
                    let at = d.position() as u64;
                    let t = d.uvarint().map_err(bad)?;
                    if t >= dict_sizes[NameKind::EdgeType as usize] {
                        return Err(corrupt(&what, base + at, "undefined edge type id"));
                    }
                    let s = d.uvarint().map_err(bad)?;
                    let tg = d.uvarint().map_err(bad)?;
                    let props = props_record(&mut d, &dict_sizes, &what, base)?;
                    sink.edge(ImageEdge::new(id, t as u32, s, tg, props))?;
                    edges += 1;
                }
            }
            _ => return Err(corrupt(&what, offset, "unknown block kind")),
        }
        if !d.is_empty() {
            return Err(corrupt(
                &what,
                base + d.position() as u64,
                "trailing bytes in block",
            ));
        }
        blocks += 1;
        offset = base + len as u64;
    }
}

/// Reads a length-prefixed property record and checks it decodes and uses only
/// defined keys.
fn props_record<'a>(
    d: &mut Decoder<'a>,
    dict_sizes: &[u64; 3],
    what: &str,
    base: u64,
) -> Result<&'a [u8]> {
    let bad = |e: engine_api::codec::DecodeError| e.into_corrupt(what, base);
    let len = d.uvarint().map_err(bad)?;
    let at = d.position() as u64;
    let bytes = d
        .bytes(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(bad)?;
    let mut p = Decoder::new(bytes);
    let mut prev = None;
    let fix = |e: engine_api::codec::DecodeError| e.into_corrupt(what, base + at);
    while let Some(k) = p.property_key(prev).map_err(fix)? {
        if u64::from(k) >= dict_sizes[NameKind::PropertyKey as usize] {
            return Err(corrupt(what, base + at, "undefined property key id"));
        }
        p.skip_value().map_err(fix)?;
        prev = Some(k);
    }
    Ok(bytes)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
