//! Concurrency under load (issue 17, part 5): on each storage mode, client threads
//! transfer money, create, link, change and detach-delete items, while snapshots,
//! index builds (create, drop, create again) and backups run beside them, and the
//! invariants are checked over and over:
//! - the money adds up (a transfer moves it between two of sixteen accounts);
//! - no edge dangles, and each edge is seen from both its endpoints;
//! - a lookup of `Item`(`key`) equals the scan, while the index comes and goes;
//! - every backup, restored (into the next mode in turn) and opened, holds each
//!   client's writes acknowledged before the backup began, and the invariants hold
//!   in it.
//!
//! Where the mode isolates transactions (IN_MEMORY_TRANSACTIONAL, ON_DISK) a checker
//! thread checks the invariants continuously, each time in one read-only transaction.
//! IN_MEMORY_ANALYTICAL gives no isolation, so a reader may see a transfer half done:
//! there the invariants are checked where the mode promises a consistent state, in
//! every restored backup (its snapshot waits for running transactions) and at the
//! end; and only one client transfers (two would race each other's reads).
//!
//! `QUIVER_STRESS_SECS` sets the seconds of load per mode (default 3).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_api::{
    DeleteMode, Direction, Error, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result,
    StorageEngine, StorageMode, Transaction, TxnOptions, VertexId,
};
use quiver::{Config, Database, RestoreOptions, backup, restore};

const ACCOUNTS: usize = 16;
const BALANCE: i64 = 1000;
const CLIENTS: usize = 4;
/// Items at most; above it clients delete rather than create.
const MAX_ITEMS: usize = 1500;
const KEYS: u64 = 32;

fn quiet(_: u64, _: u64) {}

fn index() -> IndexSpec {
    IndexSpec::LabelProperties {
        label: "Item".into(),
        properties: vec!["key".into()],
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn int(v: Option<PropertyValue>) -> i64 {
    match v {
        Some(PropertyValue::Int(i)) => i,
        other => panic!("expected an Int, found {other:?}"),
    }
}

/// An error a client expects under load: a conflict, an item another client deleted,
/// a `begin` held back by a snapshot for longer than its bound.
fn expected(e: &Error) -> bool {
    e.is_retryable() || matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Blocked)
}

/// What one round of checks saw.
#[derive(Debug, Default, Clone, Copy)]
struct Checked {
    edges: u64,
    lookups: u64,
    indexed_lookups: u64,
}

/// Checks the invariants in one transaction's view; `ledgers` gives, per client,
/// the writes it had acknowledged (the view must hold at least those).
fn check<T: Transaction>(t: &T, rng: &mut Rng, ledgers: &[u64]) -> Result<Checked> {
    let mut seen = Checked::default();
    let mut total = 0;
    for v in t.vertices_with_label("Account")? {
        total += int(t.vertex_property(v?, "balance")?);
    }
    assert_eq!(
        total,
        ACCOUNTS as i64 * BALANCE,
        "money appeared or vanished"
    );
    for v in t.vertices_with_label("Client")? {
        let v = v?;
        let client = int(t.vertex_property(v, "client")?) as usize;
        let acked = int(t.vertex_property(v, "acked")?) as u64;
        assert!(
            acked >= ledgers[client],
            "client {client}: {acked} writes there, {} acknowledged before",
            ledgers[client]
        );
    }
    let mut keyed: Vec<(VertexId, Option<PropertyValue>)> = Vec::new();
    for v in t.vertices_with_label("Item")? {
        let v = v?;
        keyed.push((v, t.vertex_property(v, "key")?));
        for e in t.edges(v, Direction::Out, None)? {
            let e = e?;
            assert!(
                t.contains_vertex(e.target)?,
                "edge {} from {v} dangles: {} is gone",
                e.id,
                e.target
            );
            let back: Vec<_> = t
                .edges(e.target, Direction::In, None)?
                .filter(|b| b.as_ref().is_ok_and(|b| b.id == e.id))
                .collect();
            assert_eq!(back.len(), 1, "edge {} is not seen from its target", e.id);
            seen.edges += 1;
        }
        for e in t.edges(v, Direction::In, None)? {
            let e = e?;
            assert!(
                t.contains_vertex(e.source)?,
                "edge {} into {v} dangles: {} is gone",
                e.id,
                e.source
            );
        }
    }
    keyed.sort_by_key(|(v, _)| *v);
    let indexed = t.vertex_lookup_index("Item", &["key"])?.is_some();
    for _ in 0..3 {
        let bounds = PropertyBounds::equal(PropertyValue::Int(rng.below(KEYS) as i64));
        let scanned: Vec<VertexId> = keyed
            .iter()
            .filter(|(_, k)| k.as_ref().is_some_and(|k| bounds.matches(k)))
            .map(|(v, _)| *v)
            .collect();
        let mut looked_up: Vec<VertexId> = t
            .vertices_with_property("Item", "key", &bounds)?
            .collect::<Result<_>>()?;
        looked_up.sort();
        assert_eq!(
            looked_up, scanned,
            "a lookup differs from the scan (index used: {indexed})"
        );
        seen.lookups += 1;
        seen.indexed_lookups += u64::from(indexed);
    }
    Ok(seen)
}

/// The shared state of one run.
struct Load<'a> {
    db: &'a Database,
    accounts: Vec<VertexId>,
    clients: Vec<VertexId>,
    /// Writes each client has acknowledged.
    ledgers: Vec<AtomicU64>,
    items: Mutex<Vec<VertexId>>,
    stop: AtomicBool,
    /// Only these clients transfer (all with isolation, one without).
    transferring: usize,
}

/// Counts over a run, for the summary line.
#[derive(Debug, Default)]
struct Counts {
    ops: AtomicU64,
    retries: AtomicU64,
    checks: AtomicU64,
    edges: AtomicU64,
    lookups: AtomicU64,
    indexed_lookups: AtomicU64,
    snapshots: AtomicU64,
    index_builds: AtomicU64,
    backups: AtomicU64,
}

impl Counts {
    fn add(&self, c: Checked) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        self.edges.fetch_add(c.edges, Ordering::Relaxed);
        self.lookups.fetch_add(c.lookups, Ordering::Relaxed);
        self.indexed_lookups
            .fetch_add(c.indexed_lookups, Ordering::Relaxed);
    }
}

impl Load<'_> {
    fn ledgers(&self) -> Vec<u64> {
        self.ledgers
            .iter()
            .map(|l| l.load(Ordering::Acquire))
            .collect()
    }

    /// One client's operation, in one transaction that also counts the client's
    /// acknowledged writes on its own `Client` vertex.
    fn operate(&self, client: usize, rng: &mut Rng) -> Result<()> {
        let acked = self.ledgers[client].load(Ordering::Relaxed);
        let mut t = self.db.begin(TxnOptions::new())?;
        let roll = rng.below(100);
        let items = self.items.lock().expect("items").len();
        let mut created = None;
        let mut deleted = None;
        if roll < 40 && client < self.transferring {
            let from = self.accounts[rng.below(ACCOUNTS as u64) as usize];
            let to = self.accounts[rng.below(ACCOUNTS as u64) as usize];
            if from != to {
                let amount = rng.below(100) as i64;
                let a = int(t.vertex_property(from, "balance")?);
                let b = int(t.vertex_property(to, "balance")?);
                t.set_vertex_property(from, "balance", (a - amount).into())?;
                // A client thinks in the middle of its transfer: this keeps a lost
                // update (or a snapshot taken mid-transfer) from hiding in a window
                // of a microsecond.
                std::thread::sleep(Duration::from_micros(100));
                t.set_vertex_property(to, "balance", (b + amount).into())?;
            }
        } else if roll < 70 && items < MAX_ITEMS {
            let v = t.create_vertex_with(&["Item"], &[("key", (rng.below(KEYS) as i64).into())])?;
            let others: Vec<VertexId> = {
                let list = self.items.lock().expect("items");
                (0..2.min(list.len()))
                    .map(|_| list[rng.below(list.len() as u64) as usize])
                    .collect()
            };
            for (k, o) in others.into_iter().enumerate() {
                if k % 2 == 0 {
                    t.create_edge(v, o, "LINK")?;
                } else {
                    t.create_edge(o, v, "LINK")?;
                }
            }
            created = Some(v);
        } else {
            let victim = {
                let list = self.items.lock().expect("items");
                if list.is_empty() {
                    return Ok(());
                }
                list[rng.below(list.len() as u64) as usize]
            };
            if roll < 85 {
                t.set_vertex_property(victim, "key", (rng.below(KEYS) as i64).into())?;
            } else {
                t.delete_vertex(victim, DeleteMode::Detach)?;
                deleted = Some(victim);
            }
        }
        t.set_vertex_property(self.clients[client], "acked", (acked as i64 + 1).into())?;
        t.commit()?;
        self.ledgers[client].store(acked + 1, Ordering::Release);
        let mut list = self.items.lock().expect("items");
        if let Some(v) = created {
            list.push(v);
        }
        if let Some(v) = deleted {
            list.retain(|x| *x != v);
        }
        Ok(())
    }
}

/// Creates the accounts and the clients' vertices.
fn seed(db: &Database) -> Result<(Vec<VertexId>, Vec<VertexId>)> {
    let mut t = db.begin(TxnOptions::new())?;
    let accounts = (0..ACCOUNTS)
        .map(|_| t.create_vertex_with(&["Account"], &[("balance", BALANCE.into())]))
        .collect::<Result<_>>()?;
    let clients = (0..CLIENTS)
        .map(|c| {
            t.create_vertex_with(
                &["Client"],
                &[("client", (c as i64).into()), ("acked", 0.into())],
            )
        })
        .collect::<Result<_>>()?;
    t.commit()?;
    Ok((accounts, clients))
}

/// Backs up, restores into `mode` and checks the restored database.
fn backup_round(load: &Load<'_>, root: &Path, round: u64, mode: StorageMode) -> Result<Checked> {
    let ledgers = load.ledgers();
    let dest = root.join(format!("backup-{round}"));
    let target = root.join(format!("restored-{round}"));
    backup(load.db, &dest, &quiet)?;
    restore(&dest, &target, &RestoreOptions::new().mode(mode), &quiet)?;
    let copy = Database::open(Config::new().data_directory(&target))?;
    let t = copy.begin(TxnOptions::new().read_only())?;
    let checked = check(&t, &mut Rng(round + 1), &ledgers)
        .map_err(|e| Error::new(e.kind(), format!("restored backup {round} ({mode:?}): {e}")))?;
    drop(t);
    copy.close()?;
    std::fs::remove_dir_all(&dest)?;
    std::fs::remove_dir_all(&target)?;
    Ok(checked)
}

fn next_mode(mode: StorageMode) -> StorageMode {
    match mode {
        StorageMode::InMemoryTransactional => StorageMode::InMemoryAnalytical,
        StorageMode::InMemoryAnalytical => StorageMode::OnDiskTransactional,
        StorageMode::OnDiskTransactional => StorageMode::InMemoryTransactional,
    }
}

/// Runs the load for `seconds` on a database of `mode`; panics naming the broken
/// invariant. Returns the summary line.
fn stress(mode: StorageMode, seconds: u64) -> Result<String> {
    let root = tempfile::tempdir()?;
    let db = Database::open(
        Config::new()
            .data_directory(root.path().join("data"))
            .mode(mode),
    )?;
    let (accounts, clients) = seed(&db)?;
    let isolated = db.capabilities().write_conflict_detection;
    let load = Load {
        db: &db,
        accounts,
        clients,
        ledgers: (0..CLIENTS).map(|_| AtomicU64::new(0)).collect(),
        items: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        transferring: if isolated { CLIENTS } else { 1 },
    };
    let counts = Counts::default();
    let started = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let (load, counts, root) = (&load, &counts, root.path());
        let mut workers = Vec::new();
        for client in 0..CLIENTS {
            workers.push(s.spawn(move || -> Result<()> {
                let mut rng = Rng(client as u64 * 7919 + 11);
                while !load.stop.load(Ordering::Relaxed) {
                    match load.operate(client, &mut rng) {
                        Ok(()) => counts.ops.fetch_add(1, Ordering::Relaxed),
                        Err(e) if expected(&e) => counts.retries.fetch_add(1, Ordering::Relaxed),
                        Err(e) => return Err(e),
                    };
                }
                Ok(())
            }));
        }
        if isolated {
            workers.push(s.spawn(move || -> Result<()> {
                let mut rng = Rng(0xc4ec);
                while !load.stop.load(Ordering::Relaxed) {
                    // The ledgers are read before the transaction begins: it must
                    // see at least those writes.
                    let ledgers = load.ledgers();
                    let t = load.db.begin(TxnOptions::new().read_only())?;
                    counts.add(check(&t, &mut rng, &ledgers)?);
                }
                Ok(())
            }));
        }
        workers.push(s.spawn(move || -> Result<()> {
            while !load.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(25));
                load.db.create_snapshot()?;
                counts.snapshots.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
        workers.push(s.spawn(move || -> Result<()> {
            while !load.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(15));
                load.db.create_index(&index())?;
                counts.index_builds.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(40));
                load.db.drop_index(&index())?;
            }
            Ok(())
        }));
        workers.push(s.spawn(move || -> Result<()> {
            let mut target = mode;
            for round in 0.. {
                if load.stop.load(Ordering::Relaxed) {
                    break;
                }
                target = next_mode(target);
                counts.add(backup_round(load, root, round, target)?);
                counts.backups.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
        std::thread::sleep(Duration::from_secs(seconds));
        load.stop.store(true, Ordering::Relaxed);
        let mut first_error = None;
        for w in workers {
            let outcome = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            if let Err(e) = outcome {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })?;
    // Quiet now: the invariants hold on the database itself, in every mode.
    let t = db.begin(TxnOptions::new().read_only())?;
    counts.add(check(&t, &mut Rng(7), &load.ledgers())?);
    let stats = db.stats()?;
    assert_eq!(
        (stats.vertices, stats.edges),
        (t.vertex_count()?, t.edge_count()?),
        "stats() disagree with a scan"
    );
    drop(t);
    db.close()?;
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    assert!(
        n(&counts.ops) > 0,
        "{mode:?}: no client operation succeeded"
    );
    assert!(n(&counts.backups) > 0, "{mode:?}: no backup finished");
    assert!(
        n(&counts.indexed_lookups) > 0 && n(&counts.lookups) > n(&counts.indexed_lookups),
        "{mode:?}: lookups were not checked both with and without the index"
    );
    Ok(format!(
        "{mode:?}, {:.1} s: {} operations ({} retried or refused), {} checks ({} edges, {} lookups of which {} indexed), {} snapshots, {} index builds, {} backups restored and checked",
        started.elapsed().as_secs_f64(),
        n(&counts.ops),
        n(&counts.retries),
        n(&counts.checks),
        n(&counts.edges),
        n(&counts.lookups),
        n(&counts.indexed_lookups),
        n(&counts.snapshots),
        n(&counts.index_builds),
        n(&counts.backups),
    ))
}

fn seconds() -> u64 {
    std::env::var("QUIVER_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

#[test]
fn in_memory_transactional_keeps_its_invariants_under_load() -> Result<()> {
    println!("{}", stress(StorageMode::InMemoryTransactional, seconds())?);
    Ok(())
}

#[test]
fn in_memory_analytical_keeps_its_invariants_under_load() -> Result<()> {
    println!("{}", stress(StorageMode::InMemoryAnalytical, seconds())?);
    Ok(())
}

#[test]
fn on_disk_keeps_its_invariants_under_load() -> Result<()> {
    println!("{}", stress(StorageMode::OnDiskTransactional, seconds())?);
    Ok(())
}

#[test]
fn the_checks_see_a_broken_invariant() {
    // The checker itself must fail on what it is meant to catch: an acknowledged
    // write that is missing, and money that vanished.
    let fails = |db: &Database, ledgers: &[u64]| {
        let t = db.begin(TxnOptions::new().read_only()).expect("begin");
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(&t, &mut Rng(1), ledgers)
        }))
        .is_err()
    };
    let db = Database::open(Config::new()).expect("open");
    let (accounts, _) = seed(&db).expect("seed");
    assert!(
        !fails(&db, &[0; CLIENTS]),
        "a sound database failed the checks"
    );
    assert!(fails(&db, &[0, 1, 0, 0]), "the ledgers were not checked");
    let mut t = db.begin(TxnOptions::new()).expect("begin");
    t.set_vertex_property(accounts[0], "balance", 0.into())
        .expect("set");
    t.commit().expect("commit");
    assert!(fails(&db, &[0; CLIENTS]), "the total was not checked");
}
