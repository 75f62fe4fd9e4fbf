//! Helpers the facade's integration tests share.
#![allow(dead_code)]

use engine_api::{
    Direction, IndexSpec, Result, StorageEngine, Transaction, TriggerEvent, TriggerPhase,
    TriggerSecurity, TriggerSpec, TxnOptions, VertexId,
};
use quiver::{Config, Database};

/// Everything a database holds, by id: vertices (labels sorted, properties), edges,
/// indexes, triggers and (where the mode has them) constraints.
pub fn image(db: &Database) -> Result<String> {
    let t = db.begin(TxnOptions::new().read_only())?;
    let mut out = String::new();
    let mut ids: Vec<VertexId> = t.vertices()?.collect::<Result<_>>()?;
    ids.sort();
    for v in ids {
        let mut labels = t.vertex_labels(v)?;
        labels.sort();
        out += &format!("v{} {labels:?} {:?}\n", v.0, t.vertex_properties(v)?);
        let mut edges: Vec<_> = t.edges(v, Direction::Out, None)?.collect::<Result<_>>()?;
        edges.sort_by_key(|e| e.id);
        for e in edges {
            out += &format!(
                "  e{} -{}-> v{} {:?}\n",
                e.id.0,
                e.edge_type,
                e.target.0,
                t.edge_properties(e.id)?
            );
        }
    }
    drop(t);
    let mut indexes: Vec<String> = db.indexes()?.iter().map(|i| i.spec.to_string()).collect();
    indexes.sort();
    let mut triggers: Vec<String> = db.triggers()?.iter().map(|t| t.name.clone()).collect();
    triggers.sort();
    out += &format!("indexes {indexes:?}\ntriggers {triggers:?}\n");
    Ok(out)
}

/// A small graph with deleted objects (so ids have gaps), an index and a trigger.
pub fn fill(db: &Database) -> Result<()> {
    let mut t = db.begin(TxnOptions::new())?;
    let mut vs = Vec::new();
    for i in 0..50i64 {
        vs.push(t.create_vertex_with(
            &["Person", if i % 3 == 0 { "Admin" } else { "User" }],
            &[("n", i.into()), ("name", format!("p{i}").into())],
        )?);
    }
    for i in 0..49 {
        t.create_edge_with(vs[i], vs[i + 1], "KNOWS", &[("w", (i as f64).into())])?;
    }
    t.commit()?;
    let mut t = db.begin(TxnOptions::new())?;
    t.delete_vertex(vs[10], engine_api::DeleteMode::Detach)?;
    t.commit()?;
    db.create_index(&IndexSpec::LabelProperties {
        label: "Person".into(),
        properties: vec!["n".into()],
    })?;
    db.create_trigger(&TriggerSpec {
        name: "audit".into(),
        event: TriggerEvent::VertexCreate,
        phase: TriggerPhase::AfterCommit,
        security: TriggerSecurity::Invoker,
        statement: "RETURN 1".into(),
    })?;
    Ok(())
}

/// Opens (creating) the data directory `dir`, fills it, closes it; returns what it
/// holds.
pub fn filled_directory(dir: &std::path::Path) -> Result<String> {
    let db = Database::open(Config::new().data_directory(dir))?;
    fill(&db)?;
    let state = image(&db)?;
    db.close()?;
    Ok(state)
}

/// A tmpfs mounted at a fresh directory, unmounted when dropped.
pub struct SmallDisk {
    /// The mount point.
    pub dir: std::path::PathBuf,
    _root: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with a message) where mounting is not permitted.
    pub fn mount(bytes: u64) -> Option<SmallDisk> {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("disk");
        std::fs::create_dir_all(&dir).expect("mount point");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "skipped: cannot mount a tmpfs here (needs root); the disk-full test checks nothing"
            );
            return None;
        }
        Some(SmallDisk { dir, _root: root })
    }

    /// Remounts the disk with `options` ("ro", "rw", "size=N").
    pub fn remount(&self, options: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {options}");
    }

    /// Gives the disk `bytes` of room.
    pub fn resize(&self, bytes: u64) {
        self.remount(&format!("size={bytes}"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

/// Every file under `dir`, with its bytes, sorted by path: a directory's contents to
/// compare before and after a command.
pub fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}
