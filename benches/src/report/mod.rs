//! Runs every workload on every subject (module `run`) and renders the comparison
//! (module `format`).

use std::time::Instant;

use engine_api::{ErrorKind, PropertyValue, Result};
use serde::Serialize;

mod format;
mod run;

pub use format::*;
pub use run::*;

use crate::workload::{Fold, ROLES, Rng, Subject, Workload, WorkloadSize, mix, updated_score};

/// Makes a fresh subject.
pub type SubjectFactory = Box<dyn Fn() -> Result<Box<dyn Subject>>>;

/// What a subject is, which decides the yardstick its ratios are taken against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// A peer that keeps its data in memory (a yardstick for the in-memory backends).
    InMemoryPeer,
    /// A peer that keeps its data on disk (RocksDB raw: the on-disk backend's
    /// yardstick).
    OnDiskPeer,
    /// One of Quiver's in-memory backends: compared with the best in-memory peer of
    /// each row.
    InMemory,
    /// Quiver's on-disk backend: compared with the on-disk peer.
    OnDisk,
}

impl Kind {
    /// A yardstick, not one of ours.
    pub fn is_peer(self) -> bool {
        matches!(self, Kind::InMemoryPeer | Kind::OnDiskPeer)
    }
}

/// One subject of the main table: its column name, what it is, its settings as the
/// report states them (written where the subject is made, so the two cannot drift
/// apart), and how to make a fresh one.
pub struct SubjectEntry {
    /// Column label.
    pub name: String,
    /// Peer or backend, in memory or on disk.
    pub kind: Kind,
    /// What the subject is and how it is configured, in a sentence or two.
    pub settings: String,
    /// Makes a fresh subject.
    pub make: SubjectFactory,
}

impl SubjectEntry {
    /// An entry named `name` whose subjects `make` builds as `settings` says.
    pub fn new(
        name: impl Into<String>,
        kind: Kind,
        settings: impl Into<String>,
        make: impl Fn() -> Result<Box<dyn Subject>> + 'static,
    ) -> Self {
        SubjectEntry {
            name: name.into(),
            kind,
            settings: settings.into(),
            make: Box::new(make),
        }
    }
}

impl std::fmt::Debug for SubjectEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectEntry")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Workload row label.
    pub workload: String,
    /// Subject column label.
    pub subject: String,
    /// The value (a rate, or bytes for memory rows): the median of `samples`.
    pub value: f64,
    /// The value of each repetition, in the order they ran.
    pub samples: Vec<f64>,
    /// Unit of `value`.
    pub unit: String,
    /// Operations done (in each repetition).
    pub operations: u64,
    /// Wall time in seconds, summed over the repetitions (0 for memory rows).
    pub seconds: f64,
    /// What the subject holds or returned after the workload, compared across
    /// subjects: a [`crate::workload::Digest`] of its state read back after a
    /// writing workload, the count the operations returned for a reading one, the
    /// entries the subject reports for an index build; 0 only for memory rows.
    pub checksum: u64,
    /// What state the subject was in, where the row says (the cold rows: the block
    /// cache's size, whether the page cache was dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Machine description.
    pub machine: String,
    /// Commit of the code.
    pub commit: String,
    /// Workload sizes.
    pub size: WorkloadSize,
    /// How many times every workload ran on every subject (each figure is the
    /// median of that many).
    pub repeats: usize,
    /// Subjects in column order.
    pub subjects: Vec<String>,
    /// What each subject is, in column order (it decides each ratio's yardstick).
    pub kinds: Vec<Kind>,
    /// Each subject's settings, in column order.
    pub settings: Vec<(String, String)>,
    /// All figures.
    pub figures: Vec<Figure>,
    /// Retried conflicts in the mixed workload, per subject, over all repetitions.
    pub conflicts: Vec<(String, u64)>,
    /// Per subject, in round order: how long a cache line took between the first
    /// two threads of its small-write rows, in ns (the median of one measurement
    /// before each fifth of the writes).
    pub handover_ns: Vec<(String, Vec<f64>)>,
    /// Subjects that cannot run some rows, and why (their cells read "n/a").
    pub not_applicable: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(workload: &str, subject: &str, value: f64, checksum: u64) -> Figure {
        Figure {
            value,
            samples: vec![value],
            ..fig(workload, subject, 1, 1.0, "ops/s", checksum)
        }
    }

    fn report(subjects: &[(&str, Kind)], figures: Vec<Figure>) -> Report {
        Report {
            machine: String::new(),
            commit: String::new(),
            size: WorkloadSize::default(),
            repeats: 3,
            subjects: subjects.iter().map(|(s, _)| s.to_string()).collect(),
            kinds: subjects.iter().map(|(_, k)| *k).collect(),
            settings: Vec::new(),
            figures,
            conflicts: Vec::new(),
            handover_ns: Vec::new(),
            not_applicable: Vec::new(),
        }
    }

    fn rounds(workload: &str, subject: &str, unit: &str, samples: &[f64]) -> Figure {
        Figure {
            value: median(samples),
            samples: samples.to_vec(),
            unit: unit.into(),
            ..fig(workload, subject, 1, 1.0, unit, 1)
        }
    }

    /// A backend is compared with the best in-memory peer of each row (the lowest
    /// for memory), the on-disk backend with RocksDB raw; ratios are taken round by
    /// round and shown as the median with the range; peers get no ratio.
    #[test]
    fn ratios_are_paired_against_the_right_yardstick() {
        let subjects = [
            ("slow peer", Kind::InMemoryPeer),
            ("fast peer", Kind::InMemoryPeer),
            ("inmem", Kind::InMemory),
            ("RocksDB raw", Kind::OnDiskPeer),
            ("ondisk", Kind::OnDisk),
        ];
        let r = report(
            &subjects,
            vec![
                rounds("reads", "slow peer", "reads/s", &[10.0, 10.0, 10.0]),
                rounds("reads", "fast peer", "reads/s", &[100.0, 50.0, 200.0]),
                rounds("reads", "inmem", "reads/s", &[50.0, 50.0, 50.0]),
                rounds("reads", "RocksDB raw", "reads/s", &[20.0, 40.0, 20.0]),
                rounds("reads", "ondisk", "reads/s", &[10.0, 10.0, 10.0]),
                rounds("memory", "slow peer", "B", &[100.0, 100.0, 100.0]),
                rounds("memory", "fast peer", "B", &[300.0, 300.0, 300.0]),
                rounds("memory", "inmem", "B", &[150.0, 150.0, 150.0]),
            ],
        );
        let (p, peer) = r.ratio("reads", "inmem").expect("a ratio");
        assert_eq!(peer, "fast peer");
        // Round by round: 0.5, 1.0, 0.25 (the ratio of medians would be 0.5).
        assert_eq!((p.median, p.low, p.high), (0.5, 0.25, 1.0));
        assert_eq!(p.cell(), "0.50x (0.25–1.00)");
        let (p, peer) = r.ratio("reads", "ondisk").expect("a ratio");
        assert_eq!(peer, "RocksDB raw");
        assert_eq!((p.median, p.low, p.high), (0.5, 0.25, 0.5));
        let (p, peer) = r.ratio("memory", "inmem").expect("a ratio");
        assert_eq!((peer, p.median), ("slow peer", 1.5));
        assert!(
            r.ratio("memory", "ondisk").is_none(),
            "no on-disk memory peer figure"
        );
        assert!(
            r.ratio("reads", "fast peer").is_none(),
            "a peer is a yardstick"
        );
        let md = r.markdown();
        assert!(md.contains("| reads | reads/s |"), "{md}");
        assert!(md.contains("0.50x (0.25–1.00) fast peer"), "{md}");
        assert!(!md.contains("fast peer / yardstick"), "{md}");
    }

    /// The hand-over times are listed per subject in round order, and only when
    /// some were measured (the write rows ran).
    #[test]
    fn the_hand_over_times_are_listed_when_measured() {
        let mut r = report(&[("inmem", Kind::InMemory)], Vec::new());
        r.handover_ns = vec![("inmem".into(), Vec::new())];
        assert!(!r.markdown().contains("A cache line's trip"));
        r.handover_ns = vec![("inmem".into(), vec![31.6, 170.2])];
        let md = r.markdown();
        assert!(md.contains("in round order): inmem 32, 170."), "{md}");
    }

    /// A backend whose yardstick did not run gets no ratio column, and the report
    /// says why.
    #[test]
    fn a_backend_without_its_yardstick_is_said_so() {
        let r = report(
            &[("inmem", Kind::InMemory), ("RocksDB raw", Kind::OnDiskPeer)],
            vec![
                rounds("reads", "inmem", "reads/s", &[1.0, 1.0, 1.0]),
                rounds("reads", "RocksDB raw", "reads/s", &[1.0, 1.0, 1.0]),
            ],
        );
        let md = r.markdown();
        assert!(!md.contains("inmem / yardstick"), "{md}");
        assert!(
            md.contains("No ratio for inmem: its yardstick (an in-memory peer) is not among"),
            "{md}"
        );
    }

    /// Targets are judged on the graph they were set for, on paired ratios, naming
    /// the yardstick; a row target compares two rows of one subject round by round.
    #[test]
    fn targets_are_judged_on_paired_ratios_at_their_scale() {
        let subjects = [("peer", Kind::InMemoryPeer), ("inmem-txn", Kind::InMemory)];
        let figures = vec![
            rounds("point read by id", "peer", "reads/s", &[10.0, 10.0, 10.0]),
            rounds("point read by id", "inmem-txn", "reads/s", &[2.0, 4.0, 2.0]),
            rounds(LOOKUP_INDEX, "inmem-txn", "lookups/s", &[1.0, 1.0, 1.0]),
        ];
        let r = report(&subjects, figures.clone());
        let md = r.markdown();
        assert!(
            md.contains("- inmem-txn point read by id: 0.20x (0.20–0.40) peer (its yardstick; target at least 0.3x): not met."),
            "{md}"
        );
        assert!(
            md.contains(&format!("- inmem-txn {LOOKUP_INDEX}: 0.50x (0.25–0.50) its point read by id (target at least 0.5x): met.")),
            "{md}"
        );
        let mut other = report(&subjects, figures);
        other.size.vertices = 1000;
        let md = other.markdown();
        assert!(
            md.contains("so none is judged") && !md.contains("not met"),
            "{md}"
        );
    }

    #[test]
    fn repetitions_merge_into_medians_and_must_agree() {
        let runs = vec![
            vec![sample("a", "x", 10.0, 5), sample("a", "y", 1.0, 5)],
            vec![sample("a", "x", 30.0, 5), sample("a", "y", 3.0, 5)],
            vec![sample("a", "x", 20.0, 5), sample("a", "y", 8.0, 5)],
        ];
        let merged = merge_repetitions(runs).expect("they agree");
        assert_eq!(merged[0].value, 20.0);
        assert_eq!(merged[0].samples, vec![10.0, 30.0, 20.0]);
        assert_eq!(merged[1].value, 3.0);
        assert_eq!(spread_percent(&merged[0]), Some(50.0));
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        // A value set after the figure was made (as the memory rows are) is what
        // counts.
        let mut late = fig("memory", "x", 0, 0.0, "B", 0);
        late.value = 120.0;
        let merged = merge_repetitions(vec![vec![late.clone()], vec![late]]).expect("same rows");
        assert_eq!(merged[0].value, 120.0);
        // A checksum that changes between repetitions is refused.
        let runs = vec![
            vec![sample("a", "x", 1.0, 5)],
            vec![sample("a", "x", 1.0, 6)],
        ];
        assert!(merge_repetitions(runs).is_err());
        let runs = vec![vec![sample("a", "x", 1.0, 5)], vec![]];
        assert!(merge_repetitions(runs).is_err());
    }
}
