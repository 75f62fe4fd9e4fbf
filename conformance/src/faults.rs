//! Checks for a backend's own fault-injection tests, which supply the failing file
//! layer (the suite itself opens engines through [`crate::EngineFactory`] and cannot
//! reach it). Not part of [`crate::suite!`].

use std::path::Path;

use engine_api::{ErrorKind, SnapshotInfo, StorageEngine};

/// Fails each of the `steps` file operations of one snapshot in turn, with EIO and
/// then ENOSPC: `arm(step, errno)` makes the `step`-th file operation from then on
/// fail with that OS error, `disarm()` heals the disk. Runs `commit` before each
/// attempt and once after the last. Every attempt must fail with `Io`, leave the
/// engine's snapshot listing at exactly `kept`, and leave no temporary file in
/// `snapshots_dir`. Panics, naming the step, otherwise.
pub fn fail_each_snapshot_step<E: StorageEngine>(
    engine: &E,
    (arm, disarm): (impl Fn(u64, i32), impl Fn()),
    steps: u64,
    kept: &SnapshotInfo,
    snapshots_dir: &Path,
    mut commit: impl FnMut(),
) {
    for (step, errno) in (0..steps).flat_map(|s| [(s, 5), (s, 28)]) {
        commit();
        arm(step, errno);
        let failed = engine.create_snapshot();
        disarm();
        let e = failed.expect_err("a snapshot through a failing disk");
        assert_eq!(e.kind(), ErrorKind::Io, "step {step}, errno {errno}: {e}");
        let listed: Vec<_> = engine
            .snapshots()
            .expect("list")
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(
            listed,
            vec![kept.path.clone()],
            "step {step}, errno {errno}"
        );
        let in_progress = snapshots_dir
            .parent()
            .map(|p| p.join(durability::dir::IN_PROGRESS));
        let leftovers: Vec<_> = std::iter::once(snapshots_dir.to_path_buf())
            .chain(in_progress)
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|r| r.flatten())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "step {step}, errno {errno}: {leftovers:?} left"
        );
    }
    commit();
}
