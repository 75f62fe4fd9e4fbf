//! What the refusal says when a damaged snapshot alone held some commits: the
//! engines' open and `quiver verify` name the same gap in the same words, so a user
//! reading either learns the same thing.

use std::path::Path;

/// What every message of this module says of the commits it names.
const CANNOT_BE_RECOVERED: &str = "cannot be recovered";

/// The advice that ends a message about a snapshot of ours that does not belong
/// where it is (a copy under another name, another database's): right for a data
/// directory, wrong for a backup, whose manifest lists the file. A reader of a
/// backup replaces the advice through these same texts ([`BACKUP_ADVICE`]).
pub const MOVE_OUT_OF_SNAPSHOTS: &str = "move it out of snapshots/";
/// See [`MOVE_OUT_OF_SNAPSHOTS`].
pub const MOVE_OUT_OF_THE_DIRECTORY: &str = "move it out of the data directory";
/// See [`MOVE_OUT_OF_SNAPSHOTS`].
pub const MOVING_LOSES_NOTHING: &str = "if it was only copied or renamed, moving it loses nothing";
/// What a backup's reader says instead of the advice above.
pub const BACKUP_ADVICE: &str =
    "a backup is not mended by moving its files (its manifest lists them): restore another backup";

/// `first..=last` as a reader says it: "commit 4", or "commits 4 to 9".
pub fn commits(first: u64, last: u64) -> String {
    if first >= last {
        format!("commit {last}")
    } else {
        format!("commits {first} to {last}")
    }
}

/// [`commits`] with its verb: "commit 4 is", "commits 4 to 9 are".
pub fn commits_are(first: u64, last: u64) -> String {
    let verb = if first >= last { "is" } else { "are" };
    format!("{} {verb}", commits(first, last))
}

/// IN_MEMORY_TRANSACTIONAL: the damaged snapshot at `path` (damaged because `why`),
/// named as the snapshot of commit `named_ts`, while the older snapshots and the WAL
/// reach only `reached` (0: they hold no commit at all).
pub fn beyond_the_wal(why: &str, reached: u64, named_ts: u64, path: &Path) -> String {
    let reach = if reached == 0 {
        // The WAL may hold later commits, but not from the first one: with no older
        // snapshot to start from it replays nothing. (It said "no WAL record holds
        // any commit", false for a WAL that starts later; a hostile-user run.)
        "no older snapshot reads and the WAL does not hold the history from the first commit"
            .to_string()
    } else {
        format!("the older snapshots and the WAL reach only commit {reached}")
    };
    match renamed(path, named_ts, reached) {
        Some(held) => format!("{why}; {reach}, which {held}"),
        None => format!(
            "{why}; {reach}, so {} {CANNOT_BE_RECOVERED}",
            commits(reached + 1, named_ts)
        ),
    }
}

/// IN_MEMORY_ANALYTICAL: the way out of a damaged snapshot that alone held some
/// commits, in the data directory whose snapshot folder is `snapshots`. A reader of
/// a backup (which cannot be mended by moving a file) replaces it through this same
/// text.
pub fn move_out_to_open_older(snapshots: &Path) -> String {
    format!(
        "move the damaged snapshot out of {} to open the older state (losing those commits), or restore a backup",
        snapshots.display()
    )
}

/// IN_MEMORY_ANALYTICAL: the damaged snapshot at `path` (damaged because `why`),
/// named as the snapshot of commit `named_ts`, newer than `loaded`, the snapshot that
/// verifies (of commit `loaded_ts`), if any. The mode keeps no WAL to cover the gap.
pub fn beyond_the_older_snapshot(
    why: &str,
    loaded_ts: u64,
    named_ts: u64,
    path: &Path,
    loaded: Option<&Path>,
) -> String {
    let from = match loaded {
        Some(p) => format!("the older snapshot that verifies ({})", p.display()),
        None => "any older snapshot (none verifies)".to_string(),
    };
    match renamed(path, named_ts, loaded_ts) {
        Some(held) => format!("{why}; {from} {held}"),
        None => format!(
            "{why}; IN_MEMORY_ANALYTICAL mode keeps no WAL, so {} {CANNOT_BE_RECOVERED} from {from}",
            commits(loaded_ts + 1, named_ts)
        ),
    }
}

/// For a file whose header reads but holds another commit than its name says (and
/// nothing past `reached`): that nothing of what it holds is lost, and what is
/// lost only if it replaced a snapshot of the commit its name gives.
fn renamed(path: &Path, named_ts: u64, reached: u64) -> Option<String> {
    let held = crate::snapshot::held_commit(path).filter(|h| *h != named_ts && *h <= reached)?;
    Some(format!(
        "holds everything this file holds (commit {held}); if it replaced a snapshot of commit {named_ts}, as its name says, {} {CANNOT_BE_RECOVERED}; {MOVING_LOSES_NOTHING}",
        commits(reached + 1, named_ts)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::Result;

    #[test]
    fn one_commit_is_not_a_range() {
        assert_eq!(commits(4, 4), "commit 4");
        assert_eq!(commits(4, 9), "commits 4 to 9");
        assert_eq!(commits_are(4, 4), "commit 4 is");
        assert_eq!(commits_are(4, 5), "commits 4 to 5 are");
        let nowhere = Path::new("/nonexistent/1_2.snapshot");
        let m = beyond_the_wal("bad block", 1, 2, nowhere);
        assert!(
            m.ends_with("reach only commit 1, so commit 2 cannot be recovered"),
            "{m}"
        );
        let m = beyond_the_wal("bad block", 0, 3, nowhere);
        assert!(
            m.contains("does not hold the history from the first commit, so commits 1 to 3"),
            "{m}"
        );
        let m = beyond_the_older_snapshot("cut", 2, 5, nowhere, Some(Path::new("s/2.snapshot")));
        assert!(
            m.contains("commits 3 to 5 cannot be recovered from the older"),
            "{m}"
        );
        assert!(m.ends_with("(s/2.snapshot)"), "{m}");
    }

    /// A snapshot of commit 3 renamed as commit 5: the message does not claim commits
    /// 4 and 5 are lost, only that they are if the file replaced a real one.
    #[test]
    fn a_renamed_snapshot_is_not_said_to_lose_commits_it_never_held() -> Result<()> {
        let root = tempfile::tempdir()?;
        // Its own data directory: the temporary file goes beside `snapshots`.
        let dir = root.path().join("snapshots");
        std::fs::create_dir(&dir)?;
        let database = crate::DatabaseId::random();
        let real = crate::SnapshotWriter::create(&dir, 1, 3, database)?
            .finish()?
            .path;
        let renamed = dir.join(crate::dir::snapshot_file_name(2, 5));
        std::fs::rename(&real, &renamed)?;
        // The reader's refusal, as opening gives it, is the cause.
        let why = crate::snapshot::read_snapshot_header(&renamed)
            .expect_err("renamed")
            .to_string();
        let m = beyond_the_wal(&why, 3, 5, &renamed);
        assert!(
            m.contains("holds everything this file holds (commit 3)"),
            "{m}"
        );
        assert!(m.contains("if it replaced a snapshot of commit 5"), "{m}");
        assert!(m.contains("commits 4 to 5 cannot be recovered"), "{m}");
        assert!(m.ends_with("moving it loses nothing"), "{m}");
        assert_eq!(m.matches("out of snapshots/").count(), 1, "said once: {m}");
        let m = beyond_the_older_snapshot("named as commit 5", 3, 5, &renamed, None);
        assert!(
            m.contains("holds everything this file holds (commit 3)"),
            "{m}"
        );
        // A file that holds more than the older state reaches is a loss as usual.
        let m = beyond_the_wal("named as commit 5", 2, 5, &renamed);
        assert!(m.ends_with("so commits 3 to 5 cannot be recovered"), "{m}");
        Ok(())
    }
}
