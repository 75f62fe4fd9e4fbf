//! What the fuzz targets share: a scratch file per process, and checksum repair so
//! mutated inputs reach the decoders behind the checksums.
//!
//! A random mutation of a snapshot or WAL segment almost always breaks a CRC, and the
//! reader stops there (correctly). To test what lies behind the checksums, a target
//! reads its first byte as a mode: odd means "repair every checksum the framing
//! allows, then read", even means "read the bytes as they are". The framing used by
//! the repair is the one of `durability::format`, `durability::snapshot` and
//! `durability::wal` (their module docs): a 48-byte header
//! whose last 4 bytes are a CRC-32 of the 44 before them; snapshot blocks of kind
//! (1 byte), length (u32 LE), CRC-32 (u32 LE) of kind, length and payload; WAL records
//! of length (u32 LE), CRC-32 of the length, CRC-32 of the length and the payload.

use std::path::PathBuf;

/// Length of the common file header.
pub const HEADER_LEN: usize = durability::format::HEADER_LEN;

/// A file in a directory of this process's own (under /dev/shm when it exists, so
/// each run costs no disk I/O), rewritten with `bytes` on every call.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("quiver-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

fn crc_into(bytes: &mut [u8], at: usize, crc: u32) {
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    let mut a = [0u8; 4];
    a.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(a) as usize
}

/// Recomputes the header's CRC, if there is a whole header.
pub fn repair_header(bytes: &mut [u8]) {
    if bytes.len() >= HEADER_LEN {
        let crc = crc32fast::hash(&bytes[..44]);
        crc_into(bytes, 44, crc);
    }
}

/// Recomputes the header's and every whole block's CRC of a snapshot file.
pub fn repair_snapshot(bytes: &mut [u8]) {
    repair_header(bytes);
    let mut at = HEADER_LEN;
    while at + 9 <= bytes.len() {
        let len = u32_at(bytes, at + 1);
        let Some(end) = (at + 9).checked_add(len).filter(|e| *e <= bytes.len()) else {
            return;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&bytes[at..at + 5]);
        h.update(&bytes[at + 9..end]);
        let crc = h.finalize();
        crc_into(bytes, at + 5, crc);
        at = end;
    }
}

/// Recomputes the header's and every whole record's CRCs of a WAL segment.
pub fn repair_wal(bytes: &mut [u8]) {
    repair_header(bytes);
    let mut at = HEADER_LEN;
    while at + 12 <= bytes.len() {
        let len_crc = crc32fast::hash(&bytes[at..at + 4]);
        crc_into(bytes, at + 4, len_crc);
        let len = u32_at(bytes, at);
        let Some(end) = (at + 12).checked_add(len).filter(|e| *e <= bytes.len()) else {
            return;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&bytes[at..at + 4]);
        h.update(&bytes[at + 12..end]);
        let crc = h.finalize();
        crc_into(bytes, at + 8, crc);
        at = end;
    }
}

/// The input without its mode byte, repaired by `repair` if the mode byte is odd.
pub fn moded(data: &[u8], repair: fn(&mut [u8])) -> Vec<u8> {
    let Some((mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        repair(&mut bytes);
    }
    bytes
}

/// What a differential target's engine should hold: vertex id -> its `n`; edge id ->
/// (source, target).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// Vertices and their `n` property.
    pub vertices: std::collections::BTreeMap<u64, i64>,
    /// Edges and their endpoints.
    pub edges: std::collections::BTreeMap<u64, (u64, u64)>,
}

/// What `engine` holds, as a [`Model`] (every vertex must have an integer `n`).
pub fn state<E: engine_api::StorageEngine>(engine: &E) -> Model {
    use engine_api::{Direction, Transaction, TxnOptions};
    let t = engine.begin(TxnOptions::new().read_only()).expect("begin");
    let mut m = Model::default();
    for v in t.vertices().expect("vertices") {
        let v = v.expect("vertex");
        let n = match t.vertex_property(v, "n").expect("property") {
            Some(engine_api::PropertyValue::Int(n)) => n,
            other => panic!("vertex {v:?} has n = {other:?}"),
        };
        m.vertices.insert(v.0, n);
        for e in t.edges(v, Direction::Out, None).expect("edges") {
            let e = e.expect("edge");
            m.edges.insert(e.id.0, (e.source.0, e.target.0));
        }
    }
    m
}

/// An empty directory of this process's own for a differential target's database
/// (under /dev/shm when it exists).
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("quiver-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs up to `count` operations, each read as two bytes (which operation, and an
/// argument choosing the value or the object) from `bytes`, in `t`, and applies each
/// that succeeds to `pending`: create a vertex, set a vertex's `n`, detach-delete a
/// vertex, create an edge, delete an edge. Stops at the first error and returns it.
pub fn apply_ops<T: engine_api::Transaction>(
    t: &mut T,
    pending: &mut Model,
    bytes: &mut impl Iterator<Item = u8>,
    count: usize,
) -> engine_api::Result<()> {
    use engine_api::{DeleteMode, EdgeId, VertexId};
    for _ in 0..count {
        let (Some(op), Some(arg)) = (bytes.next(), bytes.next()) else {
            break;
        };
        let nth = |len: usize| usize::from(arg) % len.max(1);
        let vertex = |m: &Model| m.vertices.keys().nth(nth(m.vertices.len())).copied();
        match op % 5 {
            0 => {
                let v = t.create_vertex_with(&["V"], &[("n", i64::from(arg).into())])?;
                pending.vertices.insert(v.0, i64::from(arg));
            }
            1 => {
                if let Some(v) = vertex(pending) {
                    t.set_vertex_property(VertexId(v), "n", (-i64::from(arg)).into())?;
                    pending.vertices.insert(v, -i64::from(arg));
                }
            }
            2 => {
                if let Some(v) = vertex(pending) {
                    t.delete_vertex(VertexId(v), DeleteMode::Detach)?;
                    pending.vertices.remove(&v);
                    pending.edges.retain(|_, (s, d)| *s != v && *d != v);
                }
            }
            3 => {
                if !pending.vertices.is_empty() {
                    let keys: Vec<u64> = pending.vertices.keys().copied().collect();
                    let (s, d) = (keys[nth(keys.len())], keys[usize::from(op) % keys.len()]);
                    let e = t.create_edge(VertexId(s), VertexId(d), "E")?;
                    pending.edges.insert(e.0, (s, d));
                }
            }
            _ => {
                if let Some(e) = pending.edges.keys().nth(nth(pending.edges.len())).copied() {
                    t.delete_edge(EdgeId(e))?;
                    pending.edges.remove(&e);
                }
            }
        }
    }
    Ok(())
}
