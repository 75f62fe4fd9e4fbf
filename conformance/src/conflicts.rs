//! Write-write conflicts: first writer wins, the loser gets a retryable Conflict and
//! is rolled back. For a backend without conflict detection each test checks the
//! declared behaviour instead: both writes succeed and the last one stays.

use engine_api::{
    DeleteMode, Direction, ErrorKind, Result, StorageEngine, Transaction, TxnOptions, VertexId,
};

use crate::EngineFactory;
use crate::support::{expect_kind, fresh, rw};

fn detects<E: StorageEngine>(db: &E) -> bool {
    db.capabilities().write_conflict_detection
}

fn two_vertices<E: StorageEngine>(db: &E) -> Result<(VertexId, VertexId)> {
    let mut t = rw(db)?;
    let a = t.create_vertex_with(&[], &[("v", 0.into())])?;
    let b = t.create_vertex_with(&[], &[("v", 0.into())])?;
    t.commit()?;
    Ok((a, b))
}

/// The second concurrent writer of a vertex fails at once with a retryable Conflict;
/// its transaction is then aborted; the first commits.
pub fn first_writer_wins_with_retryable_conflict<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let (a, _) = two_vertices(&*db)?;
    let mut t1 = rw(&*db)?;
    let mut t2 = rw(&*db)?;
    t1.set_vertex_property(a, "v", 1.into())?;
    let r = t2.set_vertex_property(a, "v", 2.into());
    if !detects(&*db) {
        r?;
        t1.commit()?;
        t2.commit()?;
        assert_eq!(rw(&*db)?.vertex_property(a, "v")?, Some(2.into()));
        return Ok(());
    }
    let err = r.expect_err("second writer must conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    expect_kind(
        t2.vertex_property(a, "v"),
        ErrorKind::Aborted,
        "use after conflict",
    );
    let err = t2.commit().expect_err("commit after conflict");
    assert_eq!(err.kind(), ErrorKind::Aborted, "{err}");
    assert!(
        err.is_retryable(),
        "a retry loop that checks only commit() must learn it may retry: {err}"
    );
    t1.commit()?;
    assert_eq!(rw(&*db)?.vertex_property(a, "v")?, Some(1.into()));
    Ok(())
}

/// Everything the losing transaction wrote before its conflict is undone at once.
pub fn conflict_rolls_back_the_losers_earlier_writes<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    if !detects(&*db) {
        return first_writer_wins_with_retryable_conflict(f);
    }
    let (a, b) = two_vertices(&*db)?;
    let mut t1 = rw(&*db)?;
    let mut t2 = rw(&*db)?;
    t1.set_vertex_property(a, "v", 1.into())?;
    t2.set_vertex_property(b, "v", 2.into())?;
    let created = t2.create_vertex_with(&["Ghost"], &[])?;
    t2.create_edge(b, created, "T")?;
    expect_kind(
        t2.set_vertex_property(a, "v", 3.into()),
        ErrorKind::Conflict,
        "second writer",
    );
    // Even before t2 is dropped, its writes are gone: b is writable by others.
    let mut t3 = rw(&*db)?;
    t3.set_vertex_property(b, "v", 4.into())?;
    t3.commit()?;
    drop(t2);
    t1.commit()?;
    let r = rw(&*db)?;
    assert!(!r.contains_vertex(created)?);
    assert_eq!(r.vertices_with_label("Ghost")?.count(), 0);
    assert_eq!(r.vertex_property(b, "v")?, Some(4.into()));
    assert_eq!(r.edges(b, Direction::Both, None)?.count(), 0);
    Ok(())
}

/// Under snapshot isolation, writing an object that another transaction changed and
/// committed after this one began is a Conflict, even though nobody holds it now.
pub fn write_after_concurrent_commit_conflicts_under_si<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let si = engine_api::IsolationLevel::SnapshotIsolation;
    let (a, _) = two_vertices(&*db)?;
    if !db.capabilities().supports_isolation(si) || !detects(&*db) {
        return first_writer_wins_with_retryable_conflict(f);
    }
    let mut old = db.begin(TxnOptions::new().isolation(si))?;
    let mut t = rw(&*db)?;
    t.set_vertex_property(a, "v", 1.into())?;
    t.commit()?;
    expect_kind(
        old.set_vertex_property(a, "v", 2.into()),
        ErrorKind::Conflict,
        "write after a concurrent commit",
    );
    Ok(())
}

fn assert_no_dangling_edges<E: StorageEngine>(db: &E) -> Result<()> {
    let r = rw(db)?;
    for v in r.vertices()? {
        for e in r.edges(v?, Direction::Both, None)? {
            let e = e?;
            assert!(
                r.contains_vertex(e.source)? && r.contains_vertex(e.target)?,
                "edge {} has a missing endpoint",
                e.id
            );
        }
    }
    Ok(())
}

/// Deleting a vertex while another transaction creates an edge to it: one of them
/// gets a Conflict, and no dangling edge is ever left.
pub fn create_edge_conflicts_with_delete_of_endpoint<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let (a, b) = two_vertices(&*db)?;
    let mut deleter = rw(&*db)?;
    let mut creator = rw(&*db)?;
    deleter.delete_vertex(b, DeleteMode::Plain)?;
    let created = creator.create_edge(a, b, "T");
    if detects(&*db) {
        expect_kind(
            created,
            ErrorKind::Conflict,
            "edge to a vertex being deleted",
        );
        deleter.commit()?;
    } else {
        // Without conflict detection the delete is already visible.
        expect_kind(created, ErrorKind::NotFound, "edge to a deleted vertex");
        deleter.commit()?;
        creator.commit()?;
    }
    assert_no_dangling_edges(&*db)
}

/// Creating an edge while another transaction deletes its endpoint, the other order.
pub fn delete_endpoint_conflicts_with_create_edge<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let (a, b) = two_vertices(&*db)?;
    let mut creator = rw(&*db)?;
    let mut deleter = rw(&*db)?;
    creator.create_edge(a, b, "T")?;
    let deleted = deleter.delete_vertex(b, DeleteMode::Plain);
    if detects(&*db) {
        expect_kind(
            deleted,
            ErrorKind::Conflict,
            "delete of an endpoint being linked",
        );
        creator.commit()?;
        assert_eq!(rw(&*db)?.edge_count()?, 1);
    } else {
        expect_kind(
            deleted,
            ErrorKind::HasEdges,
            "plain delete of a linked vertex",
        );
        creator.commit()?;
    }
    // A snapshot-isolated deleter that began before the edge's commit also conflicts.
    if detects(&*db) {
        let mut late = rw(&*db)?;
        let mut t = rw(&*db)?;
        let c = t.create_vertex()?;
        t.commit()?;
        let mut linker = rw(&*db)?;
        linker.create_edge(a, c, "T")?;
        linker.commit()?;
        let r = late.delete_vertex(c, DeleteMode::Plain);
        assert!(
            matches!(
                r.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::Conflict) | Err(ErrorKind::NotFound) | Err(ErrorKind::HasEdges)
            ),
            "a delete that cannot see the new edge must not succeed: {r:?}"
        );
    }
    assert_no_dangling_edges(&*db)
}

/// A delete of a vertex that began before an edge to it was committed cannot see the
/// edge in its snapshot; it must still not succeed and leave the edge dangling, with
/// a plain delete or a detach delete (which would delete only the edges it sees).
pub fn delete_that_began_before_an_edge_commit_leaves_no_dangling_edge<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    let db = fresh(f)?;
    for mode in [DeleteMode::Plain, DeleteMode::Detach] {
        let (a, b) = two_vertices(&*db)?;
        let mut deleter = rw(&*db)?;
        deleter.contains_vertex(b)?;
        let mut linker = rw(&*db)?;
        linker.create_edge(a, b, "T")?;
        linker.commit()?;
        match deleter.delete_vertex(b, mode) {
            Ok(()) => {
                // Only a deleter that saw the edge (no isolation) may get here, and a
                // detach delete then removed it.
                match deleter.commit() {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Conflict => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::Conflict | ErrorKind::HasEdges),
                "{mode:?} delete: {e}"
            ),
        }
        assert_no_dangling_edges(&*db)?;
    }
    Ok(())
}

/// An endpoint found by one edge's creation is checked again for the next: after its
/// delete commits, a new edge to it is refused; after a delete that rolled back, it
/// is allowed; a snapshot from before its creation does not see it although a
/// later transaction linked it; and a vertex deleted by the transaction that created
/// it, or by the next one, is refused (backends that cache endpoint checks must get
/// all of these right).
pub fn endpoints_are_checked_again_after_delete_rollback_and_creation<F: EngineFactory>(
    f: &F,
) -> Result<()> {
    let db = fresh(f)?;
    let (a, x) = two_vertices(&*db)?;
    let mut t = rw(&*db)?;
    t.create_edge(a, x, "T")?;
    t.commit()?;
    // A delete that rolls back leaves the vertex linkable.
    if db.capabilities().rollback {
        let mut t = rw(&*db)?;
        t.delete_vertex(x, DeleteMode::Detach)?;
        t.rollback();
        let mut t = rw(&*db)?;
        t.create_edge(a, x, "T")?;
        t.commit()?;
    }
    // A committed delete makes it unlinkable.
    let mut t = rw(&*db)?;
    t.delete_vertex(x, DeleteMode::Detach)?;
    t.commit()?;
    let mut t = rw(&*db)?;
    expect_kind(
        t.create_edge(a, x, "T"),
        ErrorKind::NotFound,
        "edge to a deleted vertex linked before",
    );
    drop(t);
    // A transaction that began before the vertex was created does not see it.
    let mut early = rw(&*db)?;
    let mut t = rw(&*db)?;
    let z = t.create_vertex()?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.create_edge(a, z, "T")?;
    t.commit()?;
    let r = early.create_edge(a, z, "T");
    if db.capabilities().default_isolation == engine_api::IsolationLevel::SnapshotIsolation {
        assert!(
            matches!(
                r.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::NotFound) | Err(ErrorKind::Conflict)
            ),
            "an edge to a vertex its snapshot does not hold: {r:?}"
        );
    } else {
        r?;
        early.commit()?;
    }
    // A vertex created and deleted by one transaction is not linkable after it;
    // nor is one created by one transaction and deleted by the next.
    let mut t = rw(&*db)?;
    let gone = t.create_vertex()?;
    let kept = t.create_vertex()?;
    t.delete_vertex(gone, DeleteMode::Plain)?;
    t.commit()?;
    let mut t = rw(&*db)?;
    let short = t.create_vertex()?;
    t.commit()?;
    let mut t = rw(&*db)?;
    t.delete_vertex(short, DeleteMode::Plain)?;
    t.commit()?;
    for v in [gone, short] {
        let mut t = rw(&*db)?;
        expect_kind(
            t.create_edge(a, v, "T"),
            ErrorKind::NotFound,
            "edge to a vertex deleted after its creation",
        );
    }
    let mut t = rw(&*db)?;
    t.create_edge(a, kept, "T")?;
    t.commit()?;
    assert_no_dangling_edges(&*db)
}

/// Concurrent writers of different vertices both commit.
pub fn writers_of_different_objects_do_not_conflict<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let (a, b) = two_vertices(&*db)?;
    let mut t1 = rw(&*db)?;
    let mut t2 = rw(&*db)?;
    t1.set_vertex_property(a, "v", 1.into())?;
    t2.set_vertex_property(b, "v", 2.into())?;
    t1.create_vertex()?;
    t2.create_vertex()?;
    t1.commit()?;
    t2.commit()?;
    let r = rw(&*db)?;
    assert_eq!(r.vertex_property(a, "v")?, Some(1.into()));
    assert_eq!(r.vertex_property(b, "v")?, Some(2.into()));
    Ok(())
}

/// After a conflict, running the transaction again once the winner committed works.
pub fn retry_after_conflict_succeeds<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let (a, _) = two_vertices(&*db)?;
    let mut winner = rw(&*db)?;
    winner.set_vertex_property(a, "v", 1.into())?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut t = rw(&*db)?;
        let current = match t.vertex_property(a, "v")? {
            Some(engine_api::PropertyValue::Int(i)) => i,
            other => panic!("unexpected {other:?}"),
        };
        match t.set_vertex_property(a, "v", (current + 10).into()) {
            Ok(_) => {
                t.commit()?;
                break;
            }
            Err(e) if e.is_retryable() => {
                assert!(attempts < 3, "retry did not succeed");
                drop(t);
                std::mem::replace(&mut winner, rw(&*db)?).commit()?;
            }
            Err(e) => return Err(e),
        }
    }
    // With detection the retry reads the winner's committed 1; without it, the
    // winner's write was visible at once. Either way 1 + 10.
    assert_eq!(rw(&*db)?.vertex_property(a, "v")?, Some(11.into()));
    Ok(())
}
