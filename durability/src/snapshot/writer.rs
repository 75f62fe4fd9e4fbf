//! Writing snapshot files: streaming ([`SnapshotWriter`]), in parallel id ranges
//! ([`SnapshotWriter::write_parallel`], [`BlockEncoder`]), and copying one under
//! another database's id ([`copy_snapshot`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use engine_api::codec::put_uvarint;
use engine_api::{ImageEdge, ImageVertex, Result, SnapshotInfo};

use super::format::*;
use super::reader::read_header;
use super::sink::SnapshotSink;
use crate::dir::{snapshot_file_name, sync_dir};
use crate::file::{FileLayer, StdFiles, Writer};
use crate::format::{DatabaseId, HEADER_LEN, Header, encode_header, io_error, put_str};
use crate::schema::{SchemaOp, encode_schema_op};

/// Writes one snapshot, streaming, to a temporary file that `finish` renames into
/// place after syncing it.
pub struct SnapshotWriter {
    out: BufWriter<Writer>,
    tmp: PathBuf,
    path: PathBuf,
    seq: u64,
    database: DatabaseId,
    /// The commit timestamp the header was written with.
    header_ts: u64,
    commit_ts: u64,
    created: SystemTime,
    block: Vec<u8>,
    block_kind: u8,
    /// The dictionary of a names block being filled by [`SnapshotSink::name`].
    block_names: Option<NameKind>,
    /// Schema definitions not written yet: they all go into one block, written before
    /// the next block of another kind.
    schema: Vec<SchemaOp>,
    block_items: u64,
    blocks: u64,
    vertices: u64,
    edges: u64,
    bytes: u64,
    /// Bytes up to which writeback was started ([`WRITEBACK_STEP`]).
    written_back: u64,
}

/// How many bytes a snapshot's parallel writing lets pile up in the page cache
/// before it asks the system to start writing them to the disk: the disk then
/// works while the next ranges are encoded, and the final sync waits only for the
/// rest (about a fifth of a large snapshot's time went to that sync).
pub(super) const WRITEBACK_STEP: u64 = 8 << 20;

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("path", &self.path)
            .field("commit_ts", &self.commit_ts)
            .finish_non_exhaustive()
    }
}

impl SnapshotWriter {
    /// Starts snapshot `seq` of the state at `commit_ts` in `dir`.
    pub fn create(dir: &Path, seq: u64, commit_ts: u64, database: DatabaseId) -> Result<Self> {
        Self::create_with(&StdFiles, dir, seq, commit_ts, database)
    }

    /// [`SnapshotWriter::create`] through `files` (a test's layer that injects
    /// failures; the engines pass the layer their configuration names).
    pub fn create_with(
        files: &dyn FileLayer,
        dir: &Path,
        seq: u64,
        commit_ts: u64,
        database: DatabaseId,
    ) -> Result<Self> {
        let name = snapshot_file_name(seq, commit_ts);
        let path = dir.join(&name);
        let tmp = crate::dir::temporary_snapshot_path(dir, &name)?;
        remove_left_temporary(&tmp)?;
        let file = files
            .create_bulk(&tmp)
            .map_err(|e| io_error(&format!("cannot create {}", tmp.display()), e))?;
        let created = SystemTime::now();
        let header = header_bytes(database, commit_ts, created);
        let mut out = BufWriter::with_capacity(1 << 20, Writer(file));
        if let Err(e) = out.write_all(&header) {
            drop(out);
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error(&format!("cannot write {}", tmp.display()), e));
        }
        Ok(SnapshotWriter {
            out,
            tmp,
            path,
            seq,
            database,
            header_ts: commit_ts,
            commit_ts,
            created,
            block: Vec::with_capacity(BLOCK_TARGET + 1024),
            block_kind: 0,
            block_names: None,
            schema: Vec::new(),
            block_items: 0,
            blocks: 0,
            vertices: 0,
            edges: 0,
            bytes: HEADER_LEN as u64,
            written_back: 0,
        })
    }

    fn write_block(&mut self, kind: u8, payload: &[u8]) -> Result<()> {
        let head = frame(kind, payload);
        self.out
            .write_all(&head)
            .and_then(|()| self.out.write_all(payload))
            .map_err(|e| io_error(&format!("cannot write {}", self.tmp.display()), e))?;
        self.blocks += 1;
        self.bytes += 9 + payload.len() as u64;
        Ok(())
    }

    fn flush_items(&mut self) -> Result<()> {
        if !self.schema.is_empty() {
            let definitions = std::mem::take(&mut self.schema);
            let mut payload = Vec::new();
            put_uvarint(&mut payload, definitions.len() as u64);
            for op in &definitions {
                encode_schema_op(op, &mut payload);
            }
            self.write_block(BLOCK_SCHEMA, &payload)?;
        }
        if self.block_items == 0 {
            return Ok(());
        }
        let mut payload = Vec::with_capacity(self.block.len() + 11);
        if let Some(kind) = self.block_names.take() {
            payload.push(kind as u8);
        }
        put_uvarint(&mut payload, self.block_items);
        payload.extend_from_slice(&self.block);
        self.block.clear();
        self.block_items = 0;
        self.write_block(self.block_kind, &payload)
    }

    fn item(&mut self, kind: u8) -> Result<()> {
        if self.block_kind != kind
            || self.block_names.is_some()
            || !self.schema.is_empty()
            || self.block.len() >= BLOCK_TARGET
        {
            self.flush_items()?;
            self.block_kind = kind;
        }
        self.block_items += 1;
        Ok(())
    }

    /// Sets the commit timestamp of the state written, for a writer that learns it
    /// only while writing (an export that takes its own consistent view): `finish`
    /// rewrites the header and names the file with it.
    pub fn set_commit_ts(&mut self, commit_ts: u64) {
        self.commit_ts = commit_ts;
    }

    /// The vertices and edges written so far.
    pub fn written(&self) -> (u64, u64) {
        (self.vertices, self.edges)
    }

    /// Writes one dictionary.
    pub fn names<'a>(
        &mut self,
        kind: NameKind,
        names: impl IntoIterator<Item = (u32, &'a str)>,
    ) -> Result<()> {
        for (id, name) in names {
            SnapshotSink::name(self, kind, id, name)?;
        }
        Ok(())
    }

    /// Writes the schema: the definitions of every index, constraint and trigger, as
    /// create-operations.
    pub fn schema(&mut self, definitions: &[SchemaOp]) -> Result<()> {
        self.flush_items()?;
        self.schema.extend_from_slice(definitions);
        Ok(())
    }

    /// Writes the id counters.
    pub fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()> {
        self.flush_items()?;
        let mut payload = Vec::new();
        put_uvarint(&mut payload, next_vertex);
        put_uvarint(&mut payload, next_edge);
        self.write_block(BLOCK_COUNTERS, &payload)
    }

    /// Writes one vertex: its labels' ids, its property record and its degree.
    pub fn vertex(&mut self, v: ImageVertex<'_>) -> Result<()> {
        self.item(BLOCK_VERTICES)?;
        encode_vertex(&mut self.block, v.id, v.labels, v.props, v.degree);
        self.vertices += 1;
        Ok(())
    }

    /// Writes one edge.
    pub fn edge(&mut self, e: ImageEdge<'_>) -> Result<()> {
        self.item(BLOCK_EDGES)?;
        encode_edge(
            &mut self.block,
            e.id,
            e.edge_type,
            e.source,
            e.target,
            e.props,
        );
        self.edges += 1;
        Ok(())
    }

    /// Writes the vertices (or edges) of `parts` id ranges, encoded on `threads`
    /// threads while the calling thread writes what they encoded (so encoding
    /// overlaps writing, also with one): `produce(part, encoder)` hands the objects
    /// of range `part` to the encoder, in id order; ranges are written in order
    /// `0..parts`, so the file is the same image a single thread would write (cut
    /// into blocks differently). Memory stays bounded: a thread runs at most two
    /// ranges ahead of the file, and written blocks' buffers are reused.
    ///
    /// Vertices must all come before edges, as in [`SnapshotSink`]. The first error
    /// (of `produce` or of the file) stops every thread and is returned.
    pub fn write_parallel<F>(
        &mut self,
        items: Items,
        parts: u64,
        threads: usize,
        produce: F,
    ) -> Result<()>
    where
        F: Fn(u64, &mut BlockEncoder) -> Result<()> + Sync,
    {
        self.flush_items()?;
        // Finished blocks go to the file directly (each is one contiguous frame);
        // what the buffer holds goes first.
        self.out
            .flush()
            .map_err(|e| io_error(&format!("cannot write {}", self.tmp.display()), e))?;
        let kind = match items {
            Items::Vertices => BLOCK_VERTICES,
            Items::Edges => BLOCK_EDGES,
        };
        if parts == 0 {
            return Ok(());
        }
        let threads = threads.clamp(1, usize::try_from(parts).unwrap_or(usize::MAX));
        // Written blocks' buffers go back to the encoders: a snapshot allocates a
        // few dozen of them, not one per 64 KiB written.
        let pool = BlockPool::new(4 * threads + 4);
        let (produce, pool) = (&produce, &pool);
        // Even one encoding thread runs beside this one, which writes: encoding the
        // next range overlaps writing the last.
        std::thread::scope(|scope| {
            let mut inboxes = Vec::with_capacity(threads);
            for t in 0..threads {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<BlockEncoder>>(2);
                inboxes.push(rx);
                scope.spawn(move || {
                    let mut part = t as u64;
                    while part < parts {
                        let mut enc = BlockEncoder::new(kind, pool.clone());
                        let done = produce(part, &mut enc).map(|()| enc);
                        let failed = done.is_err();
                        // A closed channel: the writer stopped (an error elsewhere).
                        if tx.send(done).is_err() || failed {
                            return;
                        }
                        part += threads as u64;
                    }
                });
            }
            for part in 0..parts {
                let inbox = &inboxes[(part % threads as u64) as usize];
                // A thread only ends without a result by panicking; the scope
                // re-raises that panic once this returns.
                let enc = inbox.recv().map_err(|_| {
                    engine_api::Error::aborted(
                        "a snapshot encoding thread stopped without a result",
                        false,
                    )
                })??;
                self.write_encoded(enc, pool)?;
            }
            Ok(())
        })
    }

    /// Writes an encoder's blocks straight to the file, one `write` per block (the
    /// buffer is empty: [`SnapshotWriter::write_parallel`] flushed it), so the bytes
    /// are copied once, into the page cache.
    fn write_encoded(&mut self, mut enc: BlockEncoder, pool: &BlockPool) -> Result<()> {
        enc.close_block();
        for (block, start) in std::mem::take(&mut enc.blocks) {
            let framed = &block[start..];
            self.out
                .get_mut()
                .write_all(framed)
                .map_err(|e| io_error(&format!("cannot write {}", self.tmp.display()), e))?;
            self.blocks += 1;
            self.bytes += framed.len() as u64;
            pool.give(block);
            if self.bytes - self.written_back >= WRITEBACK_STEP {
                let from = self.written_back;
                self.out
                    .get_mut()
                    .0
                    .start_writeback(from, self.bytes - from);
                self.written_back = self.bytes;
            }
        }
        match enc.kind {
            BLOCK_VERTICES => self.vertices += enc.count,
            _ => self.edges += enc.count,
        }
        Ok(())
    }

    /// Writes the footer, syncs the file, renames it to its real name and syncs the
    /// directory: a crash at any point leaves either no snapshot or a whole one. On
    /// an error the temporary file is removed.
    pub fn finish(self) -> Result<SnapshotInfo> {
        let tmp = self.tmp.clone();
        self.complete().inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    fn complete(mut self) -> Result<SnapshotInfo> {
        self.flush_items()?;
        let mut footer = Vec::with_capacity(24);
        footer.extend_from_slice(&self.vertices.to_le_bytes());
        footer.extend_from_slice(&self.edges.to_le_bytes());
        footer.extend_from_slice(&self.blocks.to_le_bytes());
        self.write_block(BLOCK_FOOTER, &footer)?;
        let what = format!("cannot write {}", self.tmp.display());
        let Writer(mut file) = self
            .out
            .into_inner()
            .map_err(|e| io_error(&what, e.into_error()))?;
        if self.commit_ts != self.header_ts {
            let header = header_bytes(self.database, self.commit_ts, self.created);
            file.write_at(0, &header).map_err(|e| io_error(&what, e))?;
            if let Some(dir) = self.path.parent() {
                self.path = dir.join(snapshot_file_name(self.seq, self.commit_ts));
            }
        }
        file.sync_data().map_err(|e| io_error(&what, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            io_error(
                &format!("cannot rename {} into place", self.tmp.display()),
                e,
            )
        })?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        if let Some(from) = self.tmp.parent()
            && Some(from) != self.path.parent()
        {
            sync_dir(from)?;
        }
        Ok(SnapshotInfo {
            path: self.path,
            commit_timestamp: self.commit_ts,
            created_at: self.created,
            size_bytes: self.bytes,
        })
    }

    /// Abandons the snapshot, removing the temporary file.
    pub fn abandon(self) {
        let tmp = self.tmp.clone();
        drop(self);
        let _ = std::fs::remove_file(tmp);
    }
}

/// Which objects [`SnapshotWriter::write_parallel`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Items {
    /// Vertex blocks.
    Vertices,
    /// Edge blocks.
    Edges,
}

/// Encodes one id range's vertices or edges into finished blocks (checksummed), on
/// the thread that reads them; see [`SnapshotWriter::write_parallel`].
#[derive(Debug)]
pub struct BlockEncoder {
    kind: u8,
    /// Where empty block buffers come from.
    pool: BlockPool,
    block: Vec<u8>,
    /// Where the block's next item goes (0: no block started); the bytes from
    /// here on are room, not items.
    pos: usize,
    items: u64,
    count: u64,
    /// Finished blocks, and where each one's frame (head, then payload) starts.
    blocks: Vec<(Vec<u8>, usize)>,
}

/// Room at the front of a [`BlockEncoder`]'s block for its head (9 bytes) and its
/// item count (a varint of up to 10), filled in when the block is finished.
const FRAME_ROOM: usize = 9 + 10;

impl BlockEncoder {
    fn new(kind: u8, pool: BlockPool) -> Self {
        BlockEncoder {
            kind,
            pool,
            block: Vec::new(),
            pos: 0,
            items: 0,
            count: 0,
            blocks: Vec::new(),
        }
    }

    /// Ends the block being filled: its item count and then its head go into the room
    /// left at the front (so the items are not copied), where its frame starts.
    fn close_block(&mut self) {
        if self.items == 0 {
            return;
        }
        let mut count = [0u8; 10];
        let n = varint_into(&mut count, self.items);
        let payload = FRAME_ROOM - n;
        let mut block = std::mem::take(&mut self.block);
        block.truncate(self.pos);
        self.pos = 0;
        block[payload..FRAME_ROOM].copy_from_slice(&count[..n]);
        let head = frame(self.kind, &block[payload..]);
        block[payload - 9..payload].copy_from_slice(&head);
        self.items = 0;
        self.blocks.push((block, payload - 9));
    }

    /// Starts an item of at most `max` bytes; returns the room it is written into
    /// (at least `max` bytes), at the end of the block.
    ///
    /// Items are written in place, not appended: a buffer's bytes are zeroed once,
    /// when it first grows, and a block's end is `pos` (appending two small slices
    /// per item, the head and the record, cost two copies and two capacity checks:
    /// a fifth of an edge's encoding).
    fn item(&mut self, max: usize) -> &mut [u8] {
        if self.pos >= BLOCK_TARGET + FRAME_ROOM {
            self.close_block();
        }
        if self.pos == 0 {
            self.block = self.pool.take();
            self.pos = FRAME_ROOM;
        }
        let end = self.pos + max;
        if self.block.len() < end {
            self.block
                .resize(end.max(FRAME_ROOM + BLOCK_TARGET + 1024), 0);
        }
        self.items += 1;
        self.count += 1;
        &mut self.block[self.pos..end]
    }

    /// One vertex (of a vertex range): labels, property record, (outgoing, incoming)
    /// degree.
    pub fn vertex(&mut self, id: u64, labels: &[u32], props: &[u8], degree: (u32, u32)) {
        debug_assert_eq!(self.kind, BLOCK_VERTICES);
        let room = self.item(vertex_head_max(labels.len()) + props.len());
        let n = vertex_head_into(room, id, labels, props.len(), degree);
        room[n..n + props.len()].copy_from_slice(props);
        self.pos += n + props.len();
    }

    /// One edge (in an edge range).
    pub fn edge(&mut self, id: u64, edge_type: u32, source: u64, target: u64, props: &[u8]) {
        debug_assert_eq!(self.kind, BLOCK_EDGES);
        let room = self.item(EDGE_HEAD_MAX + props.len());
        let n = edge_head_into(room, id, edge_type, source, target, props.len());
        room[n..n + props.len()].copy_from_slice(props);
        self.pos += n + props.len();
    }
}

/// Empty block buffers shared by a parallel write's encoders and its writer, at
/// most `cap` of them kept.
#[derive(Debug, Clone)]
struct BlockPool {
    spare: std::sync::Arc<parking_lot::Mutex<Vec<Vec<u8>>>>,
    cap: usize,
}

impl BlockPool {
    fn new(cap: usize) -> Self {
        BlockPool {
            spare: Default::default(),
            cap,
        }
    }

    /// An empty buffer: a returned one if there is any.
    fn take(&self) -> Vec<u8> {
        self.spare.lock().pop().unwrap_or_default()
    }

    /// Returns a written block's buffer.
    fn give(&self, block: Vec<u8>) {
        // Its bytes stay: a block is written in place up to its end (see
        // `BlockEncoder::item`), so they are not zeroed again.
        let mut spare = self.spare.lock();
        if spare.len() < self.cap {
            spare.push(block);
        }
    }
}

impl SnapshotSink for SnapshotWriter {
    fn name(&mut self, kind: NameKind, id: u32, name: &str) -> Result<()> {
        if self.block_names != Some(kind)
            || !self.schema.is_empty()
            || self.block.len() >= BLOCK_TARGET
        {
            self.flush_items()?;
            self.block_kind = BLOCK_NAMES;
            self.block_names = Some(kind);
        }
        self.block_items += 1;
        put_uvarint(&mut self.block, u64::from(id));
        put_str(&mut self.block, name);
        Ok(())
    }

    fn schema(&mut self, definition: SchemaOp) -> Result<()> {
        if self.block_items > 0 {
            self.flush_items()?;
        }
        self.schema.push(definition);
        Ok(())
    }

    fn schema_all(&mut self, definitions: &[SchemaOp]) -> Result<()> {
        SnapshotWriter::schema(self, definitions)
    }

    fn counters(&mut self, next_vertex: u64, next_edge: u64) -> Result<()> {
        SnapshotWriter::counters(self, next_vertex, next_edge)
    }

    fn vertex(&mut self, vertex: ImageVertex<'_>) -> Result<()> {
        SnapshotWriter::vertex(self, vertex)
    }

    fn edge(&mut self, edge: ImageEdge<'_>) -> Result<()> {
        SnapshotWriter::edge(self, edge)
    }
}

/// Removes what stands at temporary path `tmp` before a snapshot is written there:
/// a file a crash left behind is ours to replace, and a link there (put in our
/// folder by someone else) is removed rather than written through.
fn remove_left_temporary(tmp: &Path) -> Result<()> {
    match std::fs::remove_file(tmp) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&format!("cannot remove {}", tmp.display()), e)),
    }
}

/// Copies the snapshot at `src` into `dir` as snapshot `seq` of the database
/// `database`: the same state and commit timestamp under another database's name.
/// The body is copied byte for byte (every block carries its own checksum and the
/// footer its counts; the one who opens the copy reads and checks them); the header,
/// the only part naming the database, is written anew, keeping its format version.
/// Written like any snapshot: under a temporary name, synced, renamed, its directory
/// synced, so a crash leaves no file or the whole one.
///
/// Errors: `Corrupt` if `src`'s header does not verify; `Io` naming the file.
pub fn copy_snapshot(
    src: &Path,
    dir: &Path,
    seq: u64,
    database: DatabaseId,
) -> Result<SnapshotInfo> {
    let old = read_header(src)?;
    let what = src.display().to_string();
    let created = SystemTime::now();
    let micros = created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let header = encode_header(
        MAGIC,
        old.version,
        &Header {
            version: old.version,
            database,
            a: old.a,
            b: micros,
        },
    );
    let name = snapshot_file_name(seq, old.a);
    let path = dir.join(&name);
    let tmp = crate::dir::temporary_snapshot_path(dir, &name)?;
    remove_left_temporary(&tmp)?;
    let copied = (|| -> std::io::Result<u64> {
        let mut from = File::open(src)?;
        std::io::Seek::seek(&mut from, std::io::SeekFrom::Start(HEADER_LEN as u64))?;
        let mut to = File::create(&tmp)?;
        to.write_all(&header)?;
        let body = std::io::copy(&mut from, &mut to)?;
        to.sync_data()?;
        Ok(HEADER_LEN as u64 + body)
    })();
    let size_bytes = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error(
                &format!("cannot copy {what} to {}", tmp.display()),
                e,
            ));
        }
    };
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(
            &format!("cannot rename {} into place", tmp.display()),
            e,
        ));
    }
    sync_dir(dir)?;
    if let Some(from) = tmp.parent()
        && from != dir
    {
        sync_dir(from)?;
    }
    Ok(SnapshotInfo {
        path,
        commit_timestamp: old.a,
        created_at: created,
        size_bytes,
    })
}
