//! How cost grows with the graph: the main workloads again on graphs of a tenth and a
//! third of the size (the same operation counts), and the time per operation at each
//! size, as a table and a chart. An operation whose time stays flat scales with the
//! graph; one whose time grows pays for the size (deeper trees, more cache misses).

use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result};
use plotters::prelude::*;

use crate::WorkloadSize;
use crate::report::{self, Report, SubjectEntry};

/// The rows the section follows.
pub const ROWS: [&str; 6] = [
    "import: all records",
    "point read by id",
    "label scan",
    "1-hop expansion",
    "small write txn, 1 thread",
    "mixed 90% read / 10% write, 2 threads",
];

/// The smaller graphs' sizes, as divisors of the main one: a 10x span shows where an
/// operation leaves the caches, and the imports (the longest part of a run) cost in
/// proportion to the size.
const GROWTH_DIVISORS: [usize; 2] = [10, 3];

/// Runs the main workloads on graphs of a tenth and a third of `size` (vertices and
/// edges; operation counts unchanged), smallest first.
pub fn run(
    size: WorkloadSize,
    subjects: &[SubjectEntry],
    heap: &dyn Fn() -> Option<i64>,
    repeats: usize,
    only: &report::Selection,
) -> Result<Vec<Report>> {
    GROWTH_DIVISORS
        .into_iter()
        .map(|div| {
            // Operations shrink with the graph (time per operation is what is
            // compared): with the full counts this section took longer than the
            // main table.
            let vertices = (size.vertices / div).max(1);
            let smaller = WorkloadSize {
                vertices,
                edges: (size.edges / div).min(vertices.saturating_mul(vertices)),
                reads: (size.reads / div).max(1000),
                expansions: (size.expansions / div).max(100),
                small_writes: (size.small_writes / div).max(100),
                mixed_ops: (size.mixed_ops / div).max(100),
                ..size
            };
            report::run(
                smaller,
                subjects,
                heap,
                String::new(),
                String::new(),
                report::Rounds::new(repeats).without_warm_up(),
                only,
            )
        })
        .collect()
}

/// Nanoseconds per operation of `row` for `subject` in `r`.
fn ns_per_op(r: &Report, row: &str, subject: &str) -> Option<f64> {
    r.figures
        .iter()
        .find(|f| f.workload == row && f.subject == subject && f.value > 0.0)
        .map(|f| 1e9 / f.value)
}

/// The section as Markdown; `points` are (vertices, report), ascending.
pub fn markdown(points: &[(usize, &Report)]) -> String {
    let Some((_, largest)) = points.last() else {
        return String::new();
    };
    if points.len() < 2 {
        return String::new();
    }
    let mut md = String::from(
        "\n## How cost grows with the graph\n\nNanoseconds per operation (lower is better) on graphs of a tenth, a third and all of the vertices and edges, with operation counts shrunk in proportion (the smaller graphs run once, the full one is the main table's median); the last column is the largest graph's time over the smallest's (1.00x: flat).\n\n| workload | subject |",
    );
    for (v, _) in points {
        md.push_str(&format!(" {v} vertices |"));
    }
    md.push_str(" growth |\n|---|---|");
    for _ in points {
        md.push_str("---:|");
    }
    md.push_str("---:|\n");
    for row in ROWS {
        for s in &largest.subjects {
            let times: Vec<Option<f64>> =
                points.iter().map(|(_, r)| ns_per_op(r, row, s)).collect();
            if times.iter().all(Option::is_none) {
                continue;
            }
            md.push_str(&format!("| {row} | {s} |"));
            for t in &times {
                match t {
                    // Under 10 ns (a label scan's per-vertex cost) whole
                    // nanoseconds would read 0.
                    Some(t) if *t < 10.0 => md.push_str(&format!(" {t:.2} |")),
                    Some(t) => md.push_str(&format!(" {t:.0} |")),
                    None => md.push_str(" — |"),
                }
            }
            match (
                times.first().copied().flatten(),
                times.last().copied().flatten(),
            ) {
                (Some(a), Some(b)) => md.push_str(&format!(" {:.2}x |\n", b / a)),
                _ => md.push_str(" — |\n"),
            }
        }
    }
    md
}

/// `growth.svg`: nanoseconds per operation against vertices, one line per subject,
/// for each row of [`ROWS`] (one panel each). `None`-like: nothing is written with
/// fewer than two sizes.
pub fn write_chart(points: &[(usize, &Report)], dir: &Path) -> Result<Option<PathBuf>> {
    let Some((_, largest)) = points.last() else {
        return Ok(None);
    };
    if points.len() < 2 {
        return Ok(None);
    }
    let path = dir.join("growth.svg");
    draw_growth(points, largest, &path)?;
    Ok(Some(path))
}

/// One subject's line in a panel: its column, its name, (vertices, ns) points.
type Line<'a> = (usize, &'a String, Vec<(f64, f64)>);

fn draw_growth(points: &[(usize, &Report)], largest: &Report, path: &Path) -> Result<()> {
    let draw = |e| Error::new(ErrorKind::Io, format!("cannot draw growth.svg: {e}"));
    let root = SVGBackend::new(path, (1200, 820)).into_drawing_area();
    root.fill(&WHITE).map_err(draw)?;
    let (title, body) = root.split_vertically(40);
    title
        .titled(
            "Nanoseconds per operation against graph size (flat: the cost does not grow)",
            ("sans-serif", 20),
        )
        .map_err(draw)?;
    let panels = body.split_evenly((2, 3));
    let xs: Vec<f64> = points.iter().map(|(v, _)| *v as f64).collect();
    let (x_lo, x_hi) = (xs[0] * 0.8, xs[xs.len() - 1] * 1.25);
    for (panel, row) in panels.iter().zip(ROWS) {
        let lines: Vec<Line<'_>> = largest
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pts = points
                    .iter()
                    .filter_map(|(v, r)| ns_per_op(r, row, s).map(|t| (*v as f64, t)))
                    .collect::<Vec<_>>();
                (i, s, pts)
            })
            .filter(|(_, _, pts)| pts.len() > 1)
            .collect();
        let top = lines
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|(_, t)| *t))
            .fold(1.0, f64::max)
            * 2.0;
        let bottom = lines
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|(_, t)| *t))
            .fold(f64::INFINITY, f64::min)
            .min(top / 4.0)
            / 2.0;
        let mut chart = ChartBuilder::on(panel)
            .caption(row, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (x_lo..x_hi).log_scale(),
                (bottom.max(0.001)..top).log_scale(),
            )
            .map_err(draw)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| format!("{:.0}k", x / 1e3))
            .y_label_formatter(&|y| format!("{y:.0} ns"))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(draw)?;
        for (i, s, pts) in lines {
            let c = crate::charts::colour(i);
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(draw)?
                .label(s.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], c.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                .map_err(draw)?;
        }
        if row == ROWS[0] {
            crate::charts::legend(&mut chart, SeriesLabelPosition::UpperLeft, "growth.svg")?;
        }
    }
    root.present().map_err(draw)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Figure;

    fn report_at(vertices: usize, ns: f64) -> Report {
        let figure = |row: &str, subject: &str, ns: f64| Figure {
            workload: row.into(),
            subject: subject.into(),
            value: 1e9 / ns,
            samples: vec![1e9 / ns],
            unit: "ops/s".into(),
            operations: 1,
            seconds: 1.0,
            checksum: 1,
            note: None,
        };
        Report {
            machine: String::new(),
            commit: String::new(),
            size: WorkloadSize {
                vertices,
                ..WorkloadSize::default()
            },
            repeats: 1,
            subjects: vec!["a".into(), "b".into()],
            kinds: vec![
                crate::report::Kind::InMemoryPeer,
                crate::report::Kind::InMemory,
            ],
            settings: Vec::new(),
            figures: vec![
                figure("point read by id", "a", ns),
                figure("point read by id", "b", 50.0),
            ],
            conflicts: Vec::new(),
            handover_ns: Vec::new(),
            not_applicable: Vec::new(),
        }
    }

    #[test]
    fn growth_is_the_largest_graphs_time_over_the_smallests() {
        let (small, mid, large) = (
            report_at(25, 10.0),
            report_at(50, 20.0),
            report_at(100, 40.0),
        );
        let points = [(25, &small), (50, &mid), (100, &large)];
        let md = markdown(&points);
        assert!(
            md.contains("| point read by id | a | 10 | 20 | 40 | 4.00x |"),
            "{md}"
        );
        assert!(
            md.contains("| point read by id | b | 50 | 50 | 50 | 1.00x |"),
            "{md}"
        );
        assert!(
            !md.contains("| label scan |"),
            "rows nobody measured are left out"
        );
        // Below 10 ns the table keeps two decimals instead of rounding to 0.
        let fast = [(25, &report_at(25, 0.44)), (100, &report_at(100, 0.5))];
        assert!(
            markdown(&fast).contains("| point read by id | a | 0.44 | 0.50 | 1.14x |"),
            "{}",
            markdown(&fast)
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_chart(&points, dir.path())
            .expect("drawn")
            .expect("three sizes");
        let svg = std::fs::read_to_string(path).expect("written");
        assert!(svg.contains("point read by id"));
        assert!(markdown(&points[2..]).is_empty(), "one size: no section");
        assert!(
            write_chart(&points[2..], dir.path())
                .expect("no error")
                .is_none()
        );
    }
}
