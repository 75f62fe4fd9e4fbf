//! What the refusal says when a damaged snapshot alone held some commits: the
//! engines' open and `quiver verify` name the same gap in the same words, so a user
//! reading either learns the same thing.

use std::path::Path;

/// What every message of this module says of the commits it names, for callers
/// that advise on it.
pub const CANNOT_BE_RECOVERED: &str = "cannot be recovered";

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

/// IN_MEMORY_TRANSACTIONAL: a damaged snapshot (damaged because `why`) of commit
/// `snapshot_ts`, while the older snapshots and the WAL reach only `reached`
/// (0: they hold no commit at all).
pub fn beyond_the_wal(why: &str, reached: u64, snapshot_ts: u64) -> String {
    let reach = if reached == 0 {
        "no older snapshot that reads and no WAL record holds any commit".to_string()
    } else {
        format!("the older snapshots and the WAL reach only commit {reached}")
    };
    format!(
        "{why}; {reach}, so {} {CANNOT_BE_RECOVERED}",
        commits(reached + 1, snapshot_ts)
    )
}

/// IN_MEMORY_ANALYTICAL: a damaged snapshot (damaged because `why`) of commit
/// `snapshot_ts`, newer than `loaded`, the snapshot that verifies (of commit
/// `loaded_ts`), if any. The mode keeps no WAL to cover the gap.
pub fn beyond_the_older_snapshot(
    why: &str,
    loaded_ts: u64,
    snapshot_ts: u64,
    loaded: Option<&Path>,
) -> String {
    let from = match loaded {
        Some(p) => format!("from the older snapshot that verifies ({})", p.display()),
        None => "from any older snapshot (none verifies)".to_string(),
    };
    format!(
        "{why}; IN_MEMORY_ANALYTICAL mode keeps no WAL, so {} {CANNOT_BE_RECOVERED} {from}",
        commits(loaded_ts + 1, snapshot_ts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_commit_is_not_a_range() {
        assert_eq!(commits(4, 4), "commit 4");
        assert_eq!(commits(4, 9), "commits 4 to 9");
        assert_eq!(commits_are(4, 4), "commit 4 is");
        assert_eq!(commits_are(4, 5), "commits 4 to 5 are");
        let m = beyond_the_wal("bad block", 1, 2);
        assert!(
            m.ends_with("reach only commit 1, so commit 2 cannot be recovered"),
            "{m}"
        );
        let m = beyond_the_wal("bad block", 0, 3);
        assert!(
            m.contains("no WAL record holds any commit, so commits 1 to 3"),
            "{m}"
        );
        let m = beyond_the_older_snapshot("cut", 2, 5, Some(Path::new("s/2.snapshot")));
        assert!(
            m.contains("commits 3 to 5 cannot be recovered from the older"),
            "{m}"
        );
        assert!(m.ends_with("(s/2.snapshot)"), "{m}");
    }
}
