//! The isolation anomalies, one test each, as interleavings of two or three
//! transactions on one thread. Each runs at every level the backend supports and
//! checks the table below: a prevented anomaly must not occur; a *required* one must
//! occur, because the level's definition lets it and our backends document that it
//! does (so a backend that runs everything at snapshot isolation while claiming read
//! committed, or whose read uncommitted never shows an uncommitted write, fails); an
//! allowed one may (the test prints whether it did, documenting the backend).
//!
//! | anomaly | read uncommitted | read committed | snapshot isolation |
//! |---|---|---|---|
//! | G0 dirty write | prevented | prevented | prevented |
//! | G1a aborted read (dirty read) | **required** | prevented | prevented |
//! | G1b intermediate read | allowed | prevented | prevented |
//! | G1c circular information flow | allowed | prevented | prevented |
//! | OTV observed transaction vanishes | allowed | prevented | prevented |
//! | P2 non-repeatable read | **required** | **required** | prevented |
//! | PMP predicate many preceders | allowed | allowed | prevented |
//! | P4 lost update | allowed | allowed | prevented |
//! | G-single read skew | **required** | **required** | prevented |
//! | G2-item write skew | allowed | allowed | **required** |
//!
//! Each interleaving runs under a watchdog: a backend whose write waits for a lock
//! that the same thread holds would hang, so the test process fails after a bounded
//! wait instead (every test of the suite has one too).
//!
//! A backend that declares no isolation levels is instead checked to show every
//! write to other transactions at once (the contract of a mode without isolation).

use engine_api::{
    ErrorKind, IsolationLevel, PropertyValue, Result, StorageEngine, Transaction, TxnOptions,
    VertexId,
};

use crate::EngineFactory;
use crate::support::{Watchdog, fresh, rw};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anomaly {
    G0,
    G1a,
    G1b,
    G1c,
    Otv,
    P2,
    Pmp,
    P4,
    GSingle,
    G2Item,
}

fn allowed(a: Anomaly, level: IsolationLevel) -> bool {
    use Anomaly::*;
    use IsolationLevel::*;
    match level {
        ReadUncommitted => a != G0,
        ReadCommitted => matches!(a, P2 | Pmp | P4 | GSingle | G2Item),
        SnapshotIsolation => a == G2Item,
    }
}

/// Anomalies that must occur at `level`: the level's definition permits them and
/// the backends document them as occurring.
fn required(a: Anomaly, level: IsolationLevel) -> bool {
    use Anomaly::*;
    use IsolationLevel::*;
    match level {
        ReadUncommitted => matches!(a, G1a | P2 | GSingle),
        ReadCommitted => matches!(a, P2 | GSingle),
        SnapshotIsolation => a == G2Item,
    }
}

fn verdict(a: Anomaly, level: IsolationLevel, happened: bool) {
    let ok = allowed(a, level);
    let must = required(a, level);
    eprintln!(
        "{a:?} at {level:?}: {}",
        match (happened, ok, must) {
            (true, true, true) => "occurred (required at this level)",
            (true, true, false) => "occurred (allowed at this level)",
            (true, false, _) => "OCCURRED although the level prevents it",
            (false, _, true) => "DID NOT OCCUR although the level's semantics require it",
            (false, _, false) => "prevented",
        }
    );
    assert!(
        !happened || ok,
        "{a:?} must be prevented at {level:?} but occurred"
    );
    assert!(
        happened || !must,
        "{a:?} must occur at {level:?} (the backend runs a stronger level than it claims) but was prevented"
    );
}

/// `Some(value)` for success, `None` for a Conflict (at a write or at commit), any
/// other error is passed on.
fn unless_conflict<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::Conflict => Ok(None),
        Err(e) => Err(e),
    }
}

struct Setup {
    x: VertexId,
    y: VertexId,
}

/// Two vertices labelled `P`: x.v = 10, y.v = 20.
fn setup<E: StorageEngine>(db: &E) -> Result<Setup> {
    let mut t = rw(db)?;
    let x = t.create_vertex_with(&["P"], &[("v", 10.into())])?;
    let y = t.create_vertex_with(&["P"], &[("v", 20.into())])?;
    t.commit()?;
    Ok(Setup { x, y })
}

fn get<T: Transaction>(t: &T, v: VertexId) -> Result<i64> {
    match t.vertex_property(v, "v")? {
        Some(PropertyValue::Int(i)) => Ok(i),
        other => panic!("expected an Int at {v}, found {other:?}"),
    }
}

fn set<T: Transaction>(t: &mut T, v: VertexId, value: i64) -> Result<()> {
    t.set_vertex_property(v, "v", value.into()).map(|_| ())
}

fn begin<E: StorageEngine>(db: &E, level: IsolationLevel) -> Result<E::Txn<'_>> {
    db.begin(TxnOptions::new().isolation(level))
}

/// Runs `scenario` at every supported level, or checks the no-isolation contract.
fn each_level<F: EngineFactory>(
    f: &F,
    a: Anomaly,
    scenario: impl Fn(&F::Engine, &Setup, IsolationLevel) -> Result<bool>,
) -> Result<()> {
    let levels = fresh(f)?.capabilities().isolation_levels.clone();
    if levels.is_empty() {
        return writes_are_visible_at_once(f);
    }
    for level in levels {
        let db = fresh(f)?;
        let s = setup(&*db)?;
        let watchdog = Watchdog::start(format!("the {a:?} interleaving at {level:?}"));
        let happened = scenario(&db, &s, level)?;
        drop(watchdog);
        verdict(a, level, happened);
    }
    Ok(())
}

/// Without isolation a write is visible to every transaction at once, before commit.
fn writes_are_visible_at_once<F: EngineFactory>(f: &F) -> Result<()> {
    let db = fresh(f)?;
    let s = setup(&*db)?;
    let mut w = rw(&*db)?;
    let r = rw(&*db)?;
    set(&mut w, s.x, 11)?;
    assert_eq!(
        get(&r, s.x)?,
        11,
        "a backend without isolation shows writes to other transactions at once"
    );
    w.commit()?;
    Ok(())
}

/// G0: two transactions write the same objects concurrently; their writes must not
/// interleave.
pub fn g0_dirty_write<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::G0, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let mut t2 = begin(db, level)?;
        set(&mut t1, s.x, 11)?;
        if unless_conflict(set(&mut t2, s.x, 12))?.is_none() {
            set(&mut t1, s.y, 21)?;
            t1.commit()?;
            let r = rw(db)?;
            assert_eq!((get(&r, s.x)?, get(&r, s.y)?), (11, 21));
            return Ok(false);
        }
        set(&mut t1, s.y, 21)?;
        let w2 = unless_conflict(set(&mut t2, s.y, 22))?;
        let c1 = unless_conflict(t1.commit())?.is_some();
        let c2 = w2.is_some() && unless_conflict(t2.commit())?.is_some();
        let r = rw(db)?;
        let end = (get(&r, s.x)?, get(&r, s.y)?);
        Ok(c1 && c2 && end != (11, 21) && end != (12, 22))
    })
}

/// G1a: a transaction reads a write of a transaction that later aborts.
pub fn g1a_aborted_read<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::G1a, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let t2 = begin(db, level)?;
        set(&mut t1, s.x, 101)?;
        let a = get(&t2, s.x)?;
        t1.rollback();
        let b = get(&t2, s.x)?;
        t2.commit()?;
        Ok(a == 101 || b == 101)
    })
}

/// G1b: a transaction reads a value its writer later overwrites before committing.
pub fn g1b_intermediate_read<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::G1b, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let t2 = begin(db, level)?;
        set(&mut t1, s.x, 101)?;
        let a = get(&t2, s.x)?;
        set(&mut t1, s.x, 11)?;
        t1.commit()?;
        let _ = get(&t2, s.x)?;
        t2.commit()?;
        Ok(a == 101)
    })
}

/// G1c: each of two transactions sees the other's uncommitted write.
pub fn g1c_circular_information_flow<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::G1c, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let mut t2 = begin(db, level)?;
        set(&mut t1, s.x, 11)?;
        set(&mut t2, s.y, 22)?;
        let a = get(&t1, s.y)?;
        let b = get(&t2, s.x)?;
        t1.commit()?;
        t2.commit()?;
        Ok(a == 22 && b == 11)
    })
}

/// OTV: a reader sees one of a transaction's writes, then finds its other write gone
/// (overwritten by a later transaction).
pub fn otv_observed_transaction_vanishes<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::Otv, |db, s, level| {
        let t3 = begin(db, level)?;
        let mut t1 = begin(db, level)?;
        set(&mut t1, s.x, 11)?;
        set(&mut t1, s.y, 19)?;
        let a = get(&t3, s.x)?;
        t1.commit()?;
        let mut t2 = begin(db, level)?;
        set(&mut t2, s.x, 12)?;
        set(&mut t2, s.y, 18)?;
        let b = get(&t3, s.y)?;
        t2.commit()?;
        t3.commit()?;
        Ok(a == 11 && b != 19)
    })
}

/// P2: a transaction reads x twice and sees two values, because another transaction
/// changed x and committed in between (a fuzzy read).
pub fn p2_non_repeatable_read<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::P2, |db, s, level| {
        let t1 = begin(db, level)?;
        let a = get(&t1, s.x)?;
        let mut t2 = begin(db, level)?;
        set(&mut t2, s.x, 12)?;
        t2.commit()?;
        let b = get(&t1, s.x)?;
        t1.commit()?;
        Ok(a != b)
    })
}

/// PMP: a predicate read (a label scan) changes within one transaction because
/// another transaction inserted a matching vertex.
pub fn pmp_predicate_many_preceders<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::Pmp, |db, _s, level| {
        let t1 = begin(db, level)?;
        let n1 = t1.vertices_with_label("P")?.count();
        let mut t2 = begin(db, level)?;
        t2.create_vertex_with(&["P"], &[("v", 30.into())])?;
        t2.commit()?;
        let n2 = t1.vertices_with_label("P")?.count();
        t1.commit()?;
        Ok(n1 != n2)
    })
}

/// P4: two read-modify-write transactions both commit and one increment is lost.
pub fn p4_lost_update<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::P4, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let mut t2 = begin(db, level)?;
        let a = get(&t1, s.x)?;
        let b = get(&t2, s.x)?;
        set(&mut t1, s.x, a + 1)?;
        t1.commit()?;
        let committed = match unless_conflict(set(&mut t2, s.x, b + 1))? {
            Some(()) => unless_conflict(t2.commit())?.is_some(),
            None => false,
        };
        let r = rw(db)?;
        Ok(committed && get(&r, s.x)? == 11)
    })
}

/// G-single: a reader sees x before and y after another transaction's commit.
pub fn g_single_read_skew<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::GSingle, |db, s, level| {
        let t1 = begin(db, level)?;
        let a = get(&t1, s.x)?;
        let mut t2 = begin(db, level)?;
        set(&mut t2, s.x, 12)?;
        set(&mut t2, s.y, 18)?;
        t2.commit()?;
        let b = get(&t1, s.y)?;
        t1.commit()?;
        Ok(a == 10 && b == 18)
    })
}

/// G2-item: two transactions read both objects, each writes a different one, and
/// both commit (write skew). Allowed under snapshot isolation, and documented so.
pub fn g2_item_write_skew<F: EngineFactory>(f: &F) -> Result<()> {
    each_level(f, Anomaly::G2Item, |db, s, level| {
        let mut t1 = begin(db, level)?;
        let mut t2 = begin(db, level)?;
        let sum1 = get(&t1, s.x)? + get(&t1, s.y)?;
        let sum2 = get(&t2, s.x)? + get(&t2, s.y)?;
        assert_eq!((sum1, sum2), (30, 30));
        let w1 = unless_conflict(set(&mut t1, s.x, 11))?.is_some();
        let w2 = unless_conflict(set(&mut t2, s.y, 21))?.is_some();
        let c1 = w1 && unless_conflict(t1.commit())?.is_some();
        let c2 = w2 && unless_conflict(t2.commit())?.is_some();
        Ok(c1 && c2)
    })
}
