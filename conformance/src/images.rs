//! Graphs and views of them for tests that compare what two engines (or two runs of
//! one) hold: a graph wide enough to span several of a snapshot's encoding ranges,
//! the whole observable graph as text, and each vertex's adjacency in the order the
//! engine keeps it.

use engine_api::{
    DeleteMode, Direction, PropertyValue, Result, StorageEngine, Transaction, VertexId,
};

pub use crate::support::observe;

/// Vertices [`wide_graph`] creates (more than one 16 384-id snapshot range).
pub const WIDE_VERTICES: u64 = 20_000;
/// Edges [`wide_graph`] creates.
pub const WIDE_EDGES: u64 = 40_000;

/// Builds [`WIDE_VERTICES`] vertices (labels `A`, every third also `B`, property `i`)
/// and [`WIDE_EDGES`] edges of type `E` between pseudo-random endpoints (every 50th a
/// self-loop, property `w`), then detach-deletes every 97th vertex, so both id
/// sequences have holes.
pub fn wide_graph<E: StorageEngine>(db: &E) -> Result<()> {
    let mut state = 7u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut t = db.begin(engine_api::TxnOptions::new())?;
    let mut vs: Vec<VertexId> = Vec::with_capacity(WIDE_VERTICES as usize);
    for i in 0..WIDE_VERTICES as i64 {
        let labels: &[&str] = if i % 3 == 0 { &["A", "B"] } else { &["A"] };
        vs.push(t.create_vertex_with(labels, &[("i", PropertyValue::Int(i))])?);
    }
    for i in 0..WIDE_EDGES as i64 {
        let s = vs[next(WIDE_VERTICES) as usize];
        let d = if i % 50 == 0 {
            s
        } else {
            vs[next(WIDE_VERTICES) as usize]
        };
        t.create_edge_with(s, d, "E", &[("w", PropertyValue::Int(i))])?;
    }
    t.commit()?;
    let mut t = db.begin(engine_api::TxnOptions::new())?;
    for v in vs.iter().step_by(97) {
        t.delete_vertex(*v, DeleteMode::Detach)?;
    }
    t.commit()?;
    Ok(())
}

/// Each vertex's outgoing and incoming edge ids, in the order the engine lists them.
pub fn adjacency_order<T: Transaction>(t: &T) -> Result<String> {
    let mut out = String::new();
    for v in t.vertices()? {
        let v = v?;
        out.push_str(&format!("{v}"));
        for d in [Direction::Out, Direction::In] {
            out.push_str(" |");
            for e in t.edges(v, d, None)? {
                out.push_str(&format!(" {}", e?.id));
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// Whether every list [`adjacency_order`] shows is in ascending edge id order.
pub fn adjacency_in_id_order<T: Transaction>(t: &T) -> Result<bool> {
    for v in t.vertices()? {
        let v = v?;
        for d in [Direction::Out, Direction::In] {
            let ids: Vec<_> = t
                .edges(v, d, None)?
                .map(|e| e.map(|e| e.id))
                .collect::<Result<_>>()?;
            if ids.windows(2).any(|w| w[0] > w[1]) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// What a load must reproduce, read in one transaction of `db`: the graph
/// ([`observe`]), each adjacency list's order ([`adjacency_order`]), and whether every
/// list is in edge id order ([`adjacency_in_id_order`]).
pub fn views<E: StorageEngine>(db: &E) -> Result<(String, String, bool)> {
    let t = db.begin(engine_api::TxnOptions::new().read_only())?;
    Ok((
        observe(&t)?,
        adjacency_order(&t)?,
        adjacency_in_id_order(&t)?,
    ))
}

/// Writes a snapshot of the same database with each writer thread count and loads
/// each into an empty directory with each loader thread count, checking that every
/// load holds `live` (the source's [`observe`]), keeps every adjacency list in edge
/// id order, and lists adjacency exactly as the first load does. `snapshot(n)` opens
/// the source with `n` snapshot threads and writes one; `load(dir, n)` opens `dir`
/// with `n` load threads.
pub fn thread_counts_give_one_image<E: StorageEngine>(
    live: &str,
    snapshot: impl Fn(usize) -> Result<engine_api::SnapshotInfo>,
    load: impl Fn(&std::path::Path, usize) -> Result<E>,
) -> Result<()> {
    let mut first_load: Option<String> = None;
    for (write_threads, load_threads) in [(1, 1), (3, 1), (1, 3), (2, 2)] {
        let dir = tempfile::tempdir()?;
        let info = snapshot(write_threads)?;
        std::fs::create_dir_all(dir.path().join("snapshots"))?;
        let name = info.path.file_name().ok_or_else(|| {
            engine_api::Error::corrupt(format!("snapshot {} has no file name", info.path.display()))
        })?;
        std::fs::copy(&info.path, dir.path().join("snapshots").join(name))?;
        let engine = load(dir.path(), load_threads)?;
        let what = format!("written on {write_threads} thread(s), loaded on {load_threads}");
        let (data, order, sorted) = views(&engine)?;
        assert!(data == live, "{what}: the data differs");
        assert!(sorted, "{what}: an adjacency list is not in edge id order");
        match &first_load {
            None => first_load = Some(order),
            Some(first) => assert!(*first == order, "{what}: differs from one thread's load"),
        }
    }
    Ok(())
}

/// Opens, with `load(dir, n)` on one and on two load threads, a data directory whose
/// only snapshot holds 100 vertices and one good edge followed by what `bad` writes;
/// each open must fail with `Corrupt` and a message holding `expect`.
pub fn damaged_snapshot_is_refused<E>(
    load: impl Fn(&std::path::Path, usize) -> Result<E>,
    bad: impl Fn(&mut durability::SnapshotWriter) -> Result<()>,
    expect: &str,
) -> Result<()> {
    use durability::{ImageEdge, ImageVertex, NameKind};
    for threads in [1, 2] {
        let dir = tempfile::tempdir()?;
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots)?;
        let database = durability::DatabaseId::random();
        let mut w = durability::SnapshotWriter::create(&snapshots, 1, 5, database)?;
        w.names(NameKind::EdgeType, [(0, "E")])?;
        w.counters(200, 2)?;
        for id in 0..100 {
            w.vertex(ImageVertex::new(id, &[], &[]))?;
        }
        w.edge(ImageEdge::new(0, 0, 1, 2, &[]))?;
        bad(&mut w)?;
        w.finish()?;
        let Err(err) = load(dir.path(), threads) else {
            panic!("{threads} thread(s): a damaged snapshot opened");
        };
        assert_eq!(
            err.kind(),
            engine_api::ErrorKind::Corrupt,
            "{threads} thread(s): {err}"
        );
        assert!(err.message().contains(expect), "{threads} thread(s): {err}");
    }
    Ok(())
}

/// A snapshot with an edge to a missing vertex is refused (vertex 150 is owned by
/// another linking thread than vertices 1 and 2); the backend's message holds
/// `missing`.
pub fn an_edge_to_a_missing_vertex_is_refused<E>(
    load: impl Fn(&std::path::Path, usize) -> Result<E>,
    missing: &str,
) -> Result<()> {
    let dangling =
        |w: &mut durability::SnapshotWriter| w.edge(durability::ImageEdge::new(1, 0, 3, 150, &[]));
    damaged_snapshot_is_refused(load, dangling, missing)
}

/// A snapshot with a vertex after the edges is refused: a linking thread may not
/// have reached the edge to it yet, so the loader itself must refuse the order.
pub fn a_vertex_after_the_edges_is_refused<E>(
    load: impl Fn(&std::path::Path, usize) -> Result<E>,
) -> Result<()> {
    let late_vertex = |w: &mut durability::SnapshotWriter| {
        w.edge(durability::ImageEdge::new(1, 0, 3, 150, &[]))?;
        w.vertex(durability::ImageVertex::new(150, &[], &[]))
    };
    damaged_snapshot_is_refused(load, late_vertex, "")
}
