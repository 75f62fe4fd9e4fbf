//! Schema operations for a backend's crash test: a child process runs them in a loop
//! beside its committing threads and reports each one acknowledged; after the kill,
//! the parent checks that the recovered schema is the one after the acknowledged
//! operations (or after one more, the operation in flight), that a recovered index
//! answers like a scan, and that a recovered constraint is enforced.
//!
//! The operations cycle through six steps on one label: create an index on one
//! property, create a uniqueness constraint, create a trigger, then drop each again.
//!
//! [`KillableChild`] and [`abort_on_panic`] are the process side both backends' crash
//! tests share: a child that dies whole when any of its threads panics, and a parent
//! that waits for the child's first acknowledgement before it starts the kill timer,
//! so a cycle cannot pass without having tested anything.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use engine_api::{
    ConstraintSpec, ErrorKind, IndexSpec, PropertyBounds, PropertyValue, Result, StorageEngine,
    Transaction, TriggerEvent, TriggerPhase, TriggerSecurity, TriggerSpec, TxnOptions, VertexId,
};

/// The schema a crash test churns: an index on `label`(`index_key`) and a uniqueness
/// constraint on `label`(`unique_keys`), which the test's data must satisfy.
#[derive(Debug, Clone)]
pub struct SchemaChurn {
    /// The label of the test's vertices.
    pub label: &'static str,
    /// The property the index covers.
    pub index_key: &'static str,
    /// The properties that are unique among the test's vertices.
    pub unique_keys: &'static [&'static str],
}

/// What exists after a number of operations: (index, constraint, trigger).
fn state_after(ops: u64) -> (bool, bool, bool) {
    let k = ops % 6;
    (
        (1..=3).contains(&k),
        (2..=4).contains(&k),
        (3..=5).contains(&k),
    )
}

impl SchemaChurn {
    fn index(&self) -> IndexSpec {
        IndexSpec::LabelProperties {
            label: self.label.into(),
            properties: vec![self.index_key.into()],
        }
    }

    fn constraint(&self) -> ConstraintSpec {
        ConstraintSpec::Unique {
            label: self.label.into(),
            properties: self.unique_keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn trigger(&self) -> TriggerSpec {
        TriggerSpec {
            name: "crash_audit".into(),
            event: TriggerEvent::Any,
            phase: TriggerPhase::AfterCommit,
            security: TriggerSecurity::Invoker,
            statement: "CREATE (:Audit)".into(),
        }
    }

    /// Runs operation number `op` (0-based; operations run in order).
    pub fn step<E: StorageEngine>(&self, engine: &E, op: u64) -> Result<()> {
        match op % 6 {
            0 => engine.create_index(&self.index()),
            1 => engine.create_constraint(&self.constraint()),
            2 => engine.create_trigger(&self.trigger()),
            3 => engine.drop_index(&self.index()),
            4 => engine.drop_constraint(&self.constraint()),
            _ => engine.drop_trigger(&self.trigger().name),
        }
    }

    /// Checks a recovered engine after `acked` acknowledged operations and returns how
    /// many operations its schema reflects (`acked` or `acked + 1`): the number to
    /// continue from. Panics, naming the difference, on anything else.
    pub fn check<E: StorageEngine>(&self, engine: &E, acked: u64) -> Result<u64> {
        let index = engine.indexes()?.iter().any(|i| i.spec == self.index());
        let constraint = engine.constraints()?.contains(&self.constraint());
        let trigger = engine.triggers()?.iter().any(|t| *t == self.trigger());
        let found = (index, constraint, trigger);
        let ops = if found == state_after(acked) {
            acked
        } else if found == state_after(acked + 1) {
            acked + 1
        } else {
            panic!(
                "after {acked} acknowledged schema operations the schema is (index, constraint, trigger) = {found:?}, expected {:?} or {:?}",
                state_after(acked),
                state_after(acked + 1)
            );
        };
        let t = engine.begin(TxnOptions::new().read_only())?;
        let all: Vec<VertexId> = t.vertices_with_label(self.label)?.collect::<Result<_>>()?;
        // Spot checks spread over the data: lookups equal the scan's answer.
        let step = (all.len() / 7).max(1);
        for v in all.iter().step_by(step) {
            let Some(value) = t.vertex_property(*v, self.index_key)? else {
                continue;
            };
            let bounds = PropertyBounds::equal(value);
            let mut scanned = Vec::new();
            for w in &all {
                if t.vertex_property(*w, self.index_key)?
                    .is_some_and(|x| bounds.matches(&x))
                {
                    scanned.push(*w);
                }
            }
            let looked_up: Vec<VertexId> = t
                .vertices_with_property(self.label, self.index_key, &bounds)?
                .collect::<Result<_>>()?;
            assert_eq!(
                looked_up, scanned,
                "a lookup after recovery differs from the scan"
            );
        }
        if index {
            assert!(
                t.vertex_lookup_index(self.label, &[self.index_key])?
                    .is_some(),
                "the recovered index is not used"
            );
        }
        drop(t);
        if constraint && let Some(v) = all.first() {
            // A copy of an existing vertex's unique values must be refused.
            let r = engine.begin(TxnOptions::new().read_only())?;
            let mut props: Vec<(&str, PropertyValue)> = Vec::new();
            for k in self.unique_keys {
                if let Some(value) = r.vertex_property(*v, k)? {
                    props.push((k, value));
                }
            }
            drop(r);
            if props.len() == self.unique_keys.len() {
                let mut t = engine.begin(TxnOptions::new())?;
                t.create_vertex_with(&[self.label], &props)?;
                let e = t.commit().expect_err("a duplicate after recovery");
                assert_eq!(e.kind(), ErrorKind::ConstraintViolation, "{e}");
            }
        }
        Ok(ops)
    }
}

/// Makes a panic in any thread of a crash test's child end the whole process at once
/// (after the usual message), instead of only that thread: a worker that died quietly
/// would otherwise leave a child that acknowledges nothing and a cycle that passes.
pub fn abort_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::abort();
    }));
}

/// A crash test's child process, whose standard output lines the parent reads while
/// it runs.
#[derive(Debug)]
pub struct KillableChild {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl KillableChild {
    /// Spawns `command` with its standard output piped (standard error inherited, so
    /// a panic message in the child shows in the test's output).
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the child has no standard output"))?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(KillableChild {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits at most `timeout` for a line that `wanted` accepts; true if one came.
    /// False if the child ended its output (it exited) or the time ran out.
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        if self.seen.iter().any(|l| wanted(l)) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = wanted(&line);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Whether the child has exited by itself, and how.
    pub fn exited(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Sends SIGKILL and returns every line the child wrote. Fails (an `Err` naming
    /// the status) if the child had already exited by itself: a child of a crash test
    /// runs until it is killed, so an exit means it failed.
    pub fn kill(mut self) -> std::result::Result<Vec<String>, String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "the child exited by itself ({status}) before it was killed; see its messages above"
            ));
        }
        // SIGKILL: no destructor, no flush, no close.
        self.child
            .kill()
            .map_err(|e| format!("cannot kill the child: {e}"))?;
        let status = self
            .child
            .wait()
            .map_err(|e| format!("cannot wait for the child: {e}"))?;
        // It may have aborted between the check above and the kill.
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if status.signal() != Some(9) {
                return Err(format!(
                    "the child ended with {status}, not by the kill; see its messages above"
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = status;
        // The reader thread ends when the pipe closes; take what it still holds.
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        Ok(std::mem::take(&mut self.seen))
    }
}

impl Drop for KillableChild {
    /// A parent that fails a cycle must not leave its child running (writing into a
    /// directory that is about to be removed).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
