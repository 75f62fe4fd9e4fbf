//! Formatting the report: medians and spreads, ratios against each row's
//! yardstick, the targets, and the Markdown tables.

use super::*;

pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The lowest and highest of `samples` (`value` twice if there are none: a figure
/// of a report made before repetitions).
pub(crate) fn sample_range(samples: &[f64], value: f64) -> (f64, f64) {
    if samples.is_empty() {
        return (value, value);
    }
    samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// Half the spread of a figure's samples, relative to its median, in percent.
pub(crate) fn spread_percent(f: &Figure) -> Option<f64> {
    let (lo, hi) = sample_range(&f.samples, f.value);
    (f.samples.len() > 1 && f.value > 0.0).then(|| (hi - lo) / 2.0 / f.value * 100.0)
}

pub(crate) fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.1}")
    }
}

/// Targets set by issues against each subject's yardstick (the best in-memory peer
/// of the row for an in-memory backend, RocksDB raw for the on-disk backend):
/// (workload row, subject, minimum paired ratio). Judged only on the graph they were
/// set for ([`TARGET_GRAPH`]).
pub const TARGETS: &[(&str, &str, f64)] = &[
    ("point read by id", "inmem-txn", 0.3),
    ("point read by id", "inmem-analytical", 0.5),
    ("import: all records", "inmem-txn", 0.25),
    ("small write txn, 2 threads", "inmem-txn", 1.0),
    ("import: all records", "ondisk", 0.5),
    ("import: edges", "ondisk", 0.4),
    ("point read by id", "ondisk", 0.8),
];

/// Targets between two rows of one subject, for every subject of ours that has
/// both: (row, row it is compared to, minimum paired ratio). An index lookup finds
/// one vertex by value: it should cost no more than two point reads by id.
pub const ROW_TARGETS: &[(&str, &str, f64)] = &[
    (LOOKUP_INDEX, "point read by id", 0.5),
    (IMPORT_INDEXED, IMPORT_VERTICES, 0.6),
];

/// Targets between two rows of one subject: (row, subject, row it is compared to,
/// minimum paired ratio).
pub const SUBJECT_ROW_TARGETS: &[(&str, &str, &str, f64)] = &[
    (
        "small write txn, 2 threads",
        "inmem-txn",
        "small write txn, 1 thread",
        1.6,
    ),
    (
        "small write txn, 2 threads",
        "inmem-analytical",
        "small write txn, 1 thread",
        1.5,
    ),
];

/// The graph (vertices, edges) the targets were set on: the default report's.
pub const TARGET_GRAPH: (usize, usize) = (100_000, 500_000);

/// A ratio taken round by round (same round, same data): its median and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// The median of the rounds' ratios.
    pub median: f64,
    /// The lowest round's ratio.
    pub low: f64,
    /// The highest round's ratio.
    pub high: f64,
}

impl Paired {
    /// The ratio of `a` to `b` in each round both measured (a value of 0 is no
    /// measurement); `None` if there is none.
    pub fn of(a: &Figure, b: &Figure) -> Option<Paired> {
        let rounds: Vec<f64> = if a.samples.len() == b.samples.len() && !a.samples.is_empty() {
            a.samples
                .iter()
                .zip(&b.samples)
                .filter(|(x, y)| **x > 0.0 && **y > 0.0)
                .map(|(x, y)| x / y)
                .collect()
        } else if a.value > 0.0 && b.value > 0.0 {
            // A figure made without rounds: its value alone.
            vec![a.value / b.value]
        } else {
            Vec::new()
        };
        if rounds.is_empty() {
            return None;
        }
        let (low, high) = sample_range(&rounds, 0.0);
        Some(Paired {
            median: median(&rounds),
            low,
            high,
        })
    }

    /// `0.42x`, with the range when the rounds differ: `0.42x (0.40–0.45)`.
    pub fn cell(&self) -> String {
        if (self.high - self.low).abs() < 0.005 {
            format!("{:.2}x", self.median)
        } else {
            format!("{:.2}x ({:.2}–{:.2})", self.median, self.low, self.high)
        }
    }
}

impl Report {
    /// What a cell without a figure says: "n/a" for a subject that cannot run the
    /// row (the reason is listed under the table), "—" for a row that does not apply
    /// to it (the disk rows of an in-memory subject).
    fn missing_cell(&self, row: &str, subject: &str) -> String {
        // The one reason listed today: no property indexes, for the label+property rows.
        if row.contains("label+property") && self.not_applicable.iter().any(|(s, _)| s == subject) {
            "n/a".into()
        } else {
            "—".into()
        }
    }

    /// The figure of `workload` for `subject`.
    pub fn figure(&self, workload: &str, subject: &str) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.workload == workload && f.subject == subject)
    }

    /// What `subject` is (`None` for a subject the report does not list).
    pub fn kind(&self, subject: &str) -> Option<Kind> {
        let at = self.subjects.iter().position(|s| s == subject)?;
        self.kinds.get(at).copied()
    }

    /// The peer `subject`'s ratio in `row` is taken against: for an in-memory backend
    /// the best in-memory peer of the row (highest median; lowest for a memory row),
    /// for the on-disk backend the on-disk peer; `None` for a peer, or when no peer
    /// measured the row.
    pub fn yardstick(&self, row: &str, subject: &str) -> Option<&Figure> {
        let want = match self.kind(subject)? {
            Kind::InMemory => Kind::InMemoryPeer,
            Kind::OnDisk => Kind::OnDiskPeer,
            Kind::InMemoryPeer | Kind::OnDiskPeer => return None,
        };
        let lower_is_better = self.figure(row, subject)?.unit == "B";
        self.subjects
            .iter()
            .filter(|s| self.kind(s) == Some(want))
            .filter_map(|s| self.figure(row, s))
            .filter(|f| f.value > 0.0)
            .max_by(|a, b| {
                let order = a.value.total_cmp(&b.value);
                if lower_is_better {
                    order.reverse()
                } else {
                    order
                }
            })
    }

    /// `subject`'s paired ratio in `row` to its yardstick, and the yardstick's name.
    pub fn ratio(&self, row: &str, subject: &str) -> Option<(Paired, &str)> {
        let peer = self.yardstick(row, subject)?;
        let paired = Paired::of(self.figure(row, subject)?, peer)?;
        Some((paired, &peer.subject))
    }

    /// Whether the targets apply: the report ran on the graph they were set for.
    pub fn targets_apply(&self) -> bool {
        (self.size.vertices, self.size.edges) == TARGET_GRAPH
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut rows: Vec<&str> = Vec::new();
        for f in &self.figures {
            if !rows.contains(&f.workload.as_str()) {
                rows.push(&f.workload);
            }
        }
        // A backend gets a ratio column when a yardstick of its kind ran.
        let (ours, unmatched): (Vec<&String>, Vec<&String>) = self
            .subjects
            .iter()
            .filter(|s| self.kind(s).is_some_and(|k| !k.is_peer()))
            .partition(|s| rows.iter().any(|r| self.ratio(r, s).is_some()));
        let mut md = String::new();
        md.push_str("# Quiver backend comparison\n\n");
        md.push_str(&format!(
            "Machine: {}. Commit: {}. Workload: {} vertices (2 labels, 3 properties), {} edges (1 property), import batches of {}, {} point reads, {} 1-hop starts, {} small write transactions, {} mixed operations per thread.\n\n",
            self.machine, self.commit, self.size.vertices, self.size.edges, self.size.batch,
            self.size.reads, self.size.expansions, self.size.small_writes, self.size.mixed_ops
        ));
        md.push_str("Throughput: higher is better; memory: lower is better. Each backend's ratio is against its yardstick in the same run: an in-memory backend against the best in-memory peer of that row (named in the cell), the on-disk backend against RocksDB raw.");
        if self.repeats > 1 {
            md.push_str(&format!(
                " After a discarded warm-up round on a twentieth of the graph, every workload ran {} times on every subject (each round starting with the next subject); a figure is the median, ± half the spread between the lowest and highest round, relative to the median; a ratio is taken round by round (same round, same data) and shown as the median with its range.",
                self.repeats
            ));
        }
        md.push_str("\n\n");
        md.push_str("| workload | unit |");
        for s in &self.subjects {
            md.push_str(&format!(" {s} |"));
        }
        for s in &ours {
            md.push_str(&format!(" {s} / yardstick |"));
        }
        md.push_str("\n|---|---|");
        for _ in 0..self.subjects.len() + ours.len() {
            md.push_str("---:|");
        }
        md.push('\n');
        for row in &rows {
            let unit = self
                .figures
                .iter()
                .find(|f| f.workload == *row)
                .map(|f| f.unit.clone())
                .unwrap_or_default();
            md.push_str(&format!("| {row} | {unit} |"));
            for s in &self.subjects {
                let cell =
                    self.figure(row, s).map_or(
                        self.missing_cell(row, s),
                        |f| match spread_percent(f) {
                            Some(p) => format!("{} ±{p:.0}%", human(f.value)),
                            None => human(f.value),
                        },
                    );
                md.push_str(&format!(" {cell} |"));
            }
            for s in &ours {
                let cell = match self.ratio(row, s) {
                    Some((paired, peer)) => format!("{} {peer}", paired.cell()),
                    None => "—".into(),
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
        for (s, why) in &self.not_applicable {
            md.push_str(&format!("\nn/a: {s} {why}."));
        }
        for s in &unmatched {
            let peer = match self.kind(s) {
                Some(Kind::OnDisk) => "RocksDB raw",
                _ => "an in-memory peer",
            };
            md.push_str(&format!(
                "\nNo ratio for {s}: its yardstick ({peer}) is not among the subjects of this run (`--backends`)."
            ));
        }
        md.push('\n');
        md.push_str("\nMemory rows are the memory the import added divided by the count (lower is better): live heap blocks as the allocator hands them out (its usable size, so its rounding counts), plus, for the subjects built on RocksDB, RocksDB's own memtables, table readers and block cache (RocksDB's accounting over every column family). Disk rows are RocksDB's SST and log files: as the import wrote them, and per record after flush and compaction. Our rows include 2 labels and 3 properties per vertex and 1 property per edge. The index row is the memory the label+property index build added, per vertex indexed (an integer key). For reference only (another machine, no properties): the well-known in-memory graph database publishes about 204 B per vertex and 154 B per edge.\n");
        md.push_str(&self.states_markdown(&rows));
        if !self.settings.is_empty() {
            md.push_str("\n## Subjects and their settings\n\n");
            for (s, settings) in &self.settings {
                md.push_str(&format!("- **{s}**: {settings}\n"));
            }
        }
        md.push_str(&self.targets_markdown());
        for (subject, c) in &self.conflicts {
            md.push_str(&format!(
                "- {subject}: {c} conflicts retried in the mixed workload.\n"
            ));
        }
        md.push_str(&self.handover_markdown());
        md
    }

    /// The hand-over times measured around each subject's small-write rows, if any.
    fn handover_markdown(&self) -> String {
        let measured: Vec<String> = self
            .handover_ns
            .iter()
            .filter(|(_, ns)| !ns.is_empty())
            .map(|(s, ns)| {
                let each: Vec<String> = ns.iter().map(|v| format!("{v:.0}")).collect();
                format!("{s} {}", each.join(", "))
            })
            .collect();
        if measured.is_empty() {
            return String::new();
        }
        format!(
            "- A cache line's trip from one core to the other, between the small-write rows' first two threads (ns, one way; the median of one measurement before each fifth of the writes, in round order): {}. Writers on 2 threads that share data (the graph, the commit order) move lines between their cores at every transaction, so their 2-thread rows are lower when this is long: on the machine the targets were measured on it was about 15, 30 or 170 ns from one process to the next (where the host ran the two virtual cores, as far as we can tell), and in a measurement of inmem-txn's small writes outside the report (10 alternating rounds of 20 000 on 1 and 2 threads, 16 processes), 2 threads did 1.67-1.99x of 1 thread at 30 ns and 1.47-1.56x at 170 ns.\n",
            measured.join("; ")
        )
    }

    /// What state the on-disk subjects' data was in for each row, if any on-disk
    /// subject ran.
    fn states_markdown(&self, rows: &[&str]) -> String {
        let on_disk: Vec<&String> = self
            .subjects
            .iter()
            .filter(|s| matches!(self.kind(s), Some(Kind::OnDisk | Kind::OnDiskPeer)))
            .collect();
        if on_disk.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "\n**On-disk state of each row** (RocksDB subjects; after the import both flush and compact every column family):\n\n| rows | state |\n|---|---|\n",
        );
        type Group<'a> = (&'a str, &'a dyn Fn(&str) -> bool, &'a str);
        let groups: [Group<'_>; 4] = [
            (
                "imports, memory, disk as written",
                &|r| {
                    r.starts_with("import")
                        || r.starts_with("memory: bytes per v")
                        || r.starts_with("memory: bytes per e")
                        || r.ends_with("as written")
                },
                "memtables and log as the import left them (flushes where RocksDB made them)",
            ),
            (
                "disk compacted, point reads, label scan, expansions",
                &|r| {
                    r == DISK_FLUSHED
                        || r == "point read by id"
                        || r == "label scan"
                        || r.ends_with("hop expansion")
                },
                "compacted: every memtable written to SST files and every family rewritten into its bottommost level, in place (both on-disk subjects alike, neither reopened); reads go through the bloom filters and the block cache, warm from the rows before",
            ),
            (
                "the cold rows",
                &|r| r == READ_COLD || r == EXPAND_COLD,
                "as compacted, with a block cache of an eighth of the SST files (see below); the configured cache is back afterwards",
            ),
            (
                "small writes, mixed, index",
                &|r| {
                    r.starts_with("small write")
                        || r.starts_with("mixed")
                        || r.contains("label+property")
                },
                "the compacted data plus the memtables these writes fill",
            ),
        ];
        for (what, matches, state) in groups {
            if rows.iter().any(|r| matches(r)) {
                md.push_str(&format!("| {what} | {state} |\n"));
            }
        }
        for s in on_disk {
            if let Some(note) = self
                .figures
                .iter()
                .find(|f| f.subject == *s && f.note.is_some())
                .and_then(|f| f.note.as_ref())
            {
                md.push_str(&format!("\nCold rows, {s}: {note}."));
            }
        }
        md.push('\n');
        md
    }

    /// The targets section: each target judged on its paired ratio, naming the
    /// yardstick, or why none is judged.
    fn targets_markdown(&self) -> String {
        let mut md = String::from("\n## Against the targets\n\n");
        if !self.targets_apply() {
            md.push_str(&format!(
                "The targets were set for the default graph ({} vertices, {} edges); this run used {} and {}, so none is judged.\n\n",
                TARGET_GRAPH.0, TARGET_GRAPH.1, self.size.vertices, self.size.edges
            ));
            return md;
        }
        let verdict = |p: &Paired, min: f64| {
            if p.median >= min { "met" } else { "not met" }
        };
        for (row, subject, min) in TARGETS {
            if let Some((paired, peer)) = self.ratio(row, subject) {
                md.push_str(&format!(
                    "- {subject} {row}: {} {peer} (its yardstick; target at least {min}x): {}.\n",
                    paired.cell(),
                    verdict(&paired, *min)
                ));
            }
        }
        let mut within = |subject: &str, row: &str, base: &str, min: f64| {
            if let (Some(a), Some(b)) = (self.figure(row, subject), self.figure(base, subject))
                && let Some(paired) = Paired::of(a, b)
            {
                md.push_str(&format!(
                    "- {subject} {row}: {} its {base} (target at least {min}x): {}.\n",
                    paired.cell(),
                    verdict(&paired, min)
                ));
            }
        };
        for (row, base, min) in ROW_TARGETS {
            for subject in &self.subjects {
                if self.kind(subject).is_some_and(|k| !k.is_peer()) {
                    within(subject, row, base, *min);
                }
            }
        }
        for (row, subject, base, min) in SUBJECT_ROW_TARGETS {
            within(subject, row, base, *min);
        }
        md
    }
}
