//! SVG charts of the main table, written beside report.md and linked from it.
//!
//! - `ratios.svg`: every throughput row, each subject's median as a ratio to the
//!   first column, on a logarithmic axis (the rows span six orders of magnitude, the
//!   ratios read on one scale).
//! - `scaling.svg`: small write transactions and mixed operations per second on 1,
//!   2 and 4 threads, side by side.
//! - `memory.svg`: heap bytes per vertex and per edge after the import.
//! - `durable.svg`: durable commits per second against the disk's limit for one
//!   committer (1 / fdatasync latency).
//!
//! Text stays SVG `<text>` (plotters without a font library estimates its size), so
//! nothing beyond the crate is needed to write them.

use std::path::{Path, PathBuf};

use engine_api::{Error, ErrorKind, Result};
use plotters::prelude::*;

use crate::durability::DurabilityFigures;
use crate::report::Report;

/// Subject colours, in column order.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn chart_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("cannot draw {what}: {e}"))
}

/// Draws the series labels of `chart` on a white box at `position`.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    what: &str,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(position)
        .draw()
        .map_err(|e| chart_error(what, e))
}

/// One panel of the scaling chart: caption, y axis, rows by thread count.
type Panel = (&'static str, &'static str, [(u32, &'static str); 3]);

/// The panels of the scaling chart.
const SCALING: [Panel; 2] = [
    (
        "Small write transactions by thread count",
        "transactions/s",
        [
            (1, "small write txn, 1 thread"),
            (2, "small write txn, 2 threads"),
            (4, "small write txn, 4 threads"),
        ],
    ),
    (
        "Mixed 90% read / 10% write by thread count",
        "operations/s",
        [
            (1, "mixed 90% read / 10% write, 1 thread"),
            (2, "mixed 90% read / 10% write, 2 threads"),
            (4, "mixed 90% read / 10% write, 4 threads"),
        ],
    ),
];

/// Writes the charts into `dir`; returns their paths (a chart with nothing to show,
/// such as memory without a counting allocator, is not written).
pub fn write_charts(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let path = dir.join("ratios.svg");
    if ratios(report, &path)? {
        out.push(path);
    }
    let path = dir.join("scaling.svg");
    if scaling(report, &path)? {
        out.push(path);
    }
    let path = dir.join("memory.svg");
    if memory(report, &path)? {
        out.push(path);
    }
    Ok(out)
}

fn value(report: &Report, row: &str, subject: &str) -> Option<f64> {
    report
        .figures
        .iter()
        .find(|f| f.workload == row && f.subject == subject)
        .map(|f| f.value)
        .filter(|v| *v > 0.0)
}

fn throughput_rows(report: &Report) -> Vec<&str> {
    let mut rows: Vec<&str> = Vec::new();
    for f in &report.figures {
        if f.unit != "B" && !rows.contains(&f.workload.as_str()) {
            rows.push(&f.workload);
        }
    }
    rows
}

fn ratios(report: &Report, path: &Path) -> Result<bool> {
    // Our backends, each against its yardstick (the report's paired ratios), on the
    // rows where one of them has a ratio.
    let others: Vec<(usize, &String)> = report
        .subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| report.kind(s).is_some_and(|k| !k.is_peer()))
        .collect();
    let rows: Vec<&str> = throughput_rows(report)
        .into_iter()
        .filter(|r| others.iter().any(|(_, s)| report.ratio(r, s).is_some()))
        .collect();
    // (row, subject column, median, low, high)
    let mut points: Vec<(usize, usize, f64, f64, f64)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (i, s) in &others {
            if let Some((p, _)) = report.ratio(row, s) {
                points.push((r, *i, p.median, p.low, p.high));
            }
        }
    }
    if points.is_empty() {
        return Ok(false);
    }
    let lo = points.iter().map(|p| p.3).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.4).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = ((lo / 2.0).min(0.5), (hi * 2.0).max(2.0));
    // Room above the rows for the legend.
    let legend_room = others.len() as f64 * 0.7 + 0.5;
    let height = 120 + (28.0 * (rows.len() as f64 + legend_room)) as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    let draw = |e| chart_error("ratios.svg", e);
    root.fill(&WHITE).map_err(draw)?;
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Each backend's throughput relative to its yardstick: the best in-memory peer of the row, or RocksDB raw (log scale; right is faster; bars: lowest to highest round)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(300)
        .build_cartesian_2d((lo..hi).log_scale(), -0.5..n - 0.5 + legend_room)
        .map_err(draw)?;
    chart
        .configure_mesh()
        // Dense enough that every whole number (a row) gets a label.
        .y_labels(rows.len() * 4 + 8)
        .light_line_style(TRANSPARENT)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 0.01 && i >= 0.0 {
                rows.get(i as usize)
                    .map_or(String::new(), |r| (*r).to_string())
            } else {
                String::new()
            }
        })
        .x_desc("ratio to the yardstick, round by round")
        .draw()
        .map_err(draw)?;
    chart
        .draw_series(LineSeries::new(
            [(1.0, -0.5), (1.0, n - 0.5)],
            BLACK.mix(0.5),
        ))
        .map_err(draw)?;
    for (k, (i, s)) in others.iter().enumerate() {
        let c = colour(*i);
        // Subjects sit side by side within a row.
        let offset = (k as f64 - (others.len() as f64 - 1.0) / 2.0) * 0.15;
        let mine = || points.iter().filter(|p| p.1 == *i);
        for p in mine() {
            let y = p.0 as f64 + offset;
            chart
                .draw_series(LineSeries::new([(p.3, y), (p.4, y)], c.stroke_width(2)))
                .map_err(draw)?;
        }
        chart
            .draw_series(mine().map(|p| Circle::new((p.2, p.0 as f64 + offset), 5, c.filled())))
            .map_err(draw)?
            .label(s.as_str())
            .legend(move |(x, y)| Circle::new((x, y), 5, c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, "ratios.svg")?;
    root.present().map_err(draw)?;
    Ok(true)
}

/// One subject's line: its column, its name, (threads, rate) points.
type Line<'a> = (usize, &'a String, Vec<(u32, f64)>);

fn scaling(report: &Report, path: &Path) -> Result<bool> {
    let panels: Vec<(&str, &str, Vec<Line<'_>>)> = SCALING
        .iter()
        .map(|(caption, unit, rows)| {
            let series = report
                .subjects
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let pts = rows
                        .iter()
                        .filter_map(|(t, row)| value(report, row, s).map(|v| (*t, v)))
                        .collect();
                    (i, s, pts)
                })
                .filter(|(_, _, pts): &Line<'_>| pts.len() > 1)
                .collect::<Vec<_>>();
            (*caption, *unit, series)
        })
        .filter(|(_, _, series)| !series.is_empty())
        .collect();
    if panels.is_empty() {
        return Ok(false);
    }
    const KEY_WIDTH: u32 = 170;
    let root =
        SVGBackend::new(path, (500 * panels.len() as u32 + KEY_WIDTH, 480)).into_drawing_area();
    let draw = |e| chart_error("scaling.svg", e);
    root.fill(&WHITE).map_err(draw)?;
    let (plots, key) = root.split_horizontally(500 * panels.len() as u32);
    // One key for both panels, beside them (inside a panel it hid the lines).
    let mut subjects: Vec<(usize, &String)> = panels
        .iter()
        .flat_map(|(_, _, series)| series.iter().map(|(i, s, _)| (*i, *s)))
        .collect();
    subjects.sort();
    subjects.dedup();
    for (row, (i, s)) in subjects.iter().enumerate() {
        let y = 60 + 22 * row as i32;
        let c = colour(*i);
        key.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(2)))
            .map_err(draw)?;
        key.draw(&Circle::new((19, y), 4, c.filled()))
            .map_err(draw)?;
        key.draw(&Text::new(s.as_str(), (38, y - 7), ("sans-serif", 13)))
            .map_err(draw)?;
    }
    let areas = plots.split_evenly((1, panels.len()));
    for ((caption, unit, series), area) in panels.iter().zip(&areas) {
        let top = series
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{caption} (higher is better)"), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5f64..4.5f64, 0.0..top)
            .map_err(draw)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| human(*y))
            .x_desc("threads")
            .y_desc(*unit)
            .draw()
            .map_err(draw)?;
        for (i, _, pts) in series {
            let c = colour(*i);
            let line: Vec<(f64, f64)> = pts.iter().map(|(t, v)| (f64::from(*t), *v)).collect();
            chart
                .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
                .map_err(draw)?;
            chart
                .draw_series(line.into_iter().map(|p| Circle::new(p, 4, c.filled())))
                .map_err(draw)?;
        }
    }
    root.present().map_err(draw)?;
    Ok(true)
}

fn memory(report: &Report, path: &Path) -> Result<bool> {
    let rows = ["memory: bytes per vertex", "memory: bytes per edge"];
    let bars: Vec<(usize, usize, f64)> = report
        .subjects
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            rows.iter()
                .enumerate()
                .filter_map(move |(r, row)| value(report, row, s).map(|v| (r, i, v)))
        })
        .collect();
    if bars.is_empty() {
        return Ok(false);
    }
    // Subjects whose heap was counted, in column order.
    let counted: Vec<(usize, &String)> = report
        .subjects
        .iter()
        .enumerate()
        .filter(|(i, _)| bars.iter().any(|b| b.1 == *i))
        .collect();
    let n = counted.len() as f64;
    let top = bars.iter().map(|b| b.2).fold(0.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    let draw = |e| chart_error("memory.svg", e);
    root.fill(&WHITE).map_err(draw)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Heap bytes per vertex and per edge after the import (lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..1.5f64, 0.0..top)
        .map_err(draw)?;
    chart
        .configure_mesh()
        .x_labels(2)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && (0.0..=1.0).contains(&i) {
                ["per vertex", "per edge"][i as usize].to_string()
            } else {
                String::new()
            }
        })
        .y_desc("bytes")
        .draw()
        .map_err(draw)?;
    let width = 0.8 / n;
    for (slot, (i, s)) in counted.iter().enumerate() {
        let c = colour(*i);
        let left = |r: usize| r as f64 - 0.4 + slot as f64 * width;
        chart
            .draw_series(bars.iter().filter(|b| b.1 == *i).map(|b| {
                Rectangle::new(
                    [(left(b.0), 0.0), (left(b.0) + width * 0.9, b.2)],
                    c.filled(),
                )
            }))
            .map_err(draw)?
            .label(s.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::MiddleRight, "memory.svg")?;
    root.present().map_err(draw)?;
    Ok(true)
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Writes `durable.svg` into `dir`: each durable-commit figure as a bar, the one-
/// committer limit (1 / fdatasync latency) as a line. `None` if there is nothing to
/// draw (no latency measured).
pub fn write_durable_chart(d: &DurabilityFigures, dir: &Path) -> Result<Option<PathBuf>> {
    if d.fdatasync_latency_s <= 0.0 {
        return Ok(None);
    }
    let limit = 1.0 / d.fdatasync_latency_s;
    let bars: Vec<(String, f64)> = d
        .durable
        .iter()
        .map(|r| {
            let threads = if r.threads == 1 { "thread" } else { "threads" };
            (
                format!("{}, {} {threads}", r.subject, r.threads),
                r.commits_per_s,
            )
        })
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    let top = bars.iter().map(|b| b.1).fold(limit, f64::max) * 1.2;
    let path = dir.join("durable.svg");
    let root = SVGBackend::new(&path, (1200, 480)).into_drawing_area();
    let draw = |e| chart_error("durable.svg", e);
    root.fill(&WHITE).map_err(draw)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Durable small writes per second (synced at every commit) against one committer's limit",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..bars.len() as f64 - 0.5, 0.0..top)
        .map_err(draw)?;
    chart
        .configure_mesh()
        .x_labels(bars.len() * 4)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                bars.get(i as usize)
                    .map_or(String::new(), |b| b.0.to_string())
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| human(*y))
        .y_desc("commits/s")
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(draw)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            Rectangle::new([(x - 0.3, 0.0), (x + 0.3, b.1)], colour(i).filled())
        }))
        .map_err(draw)?;
    let end = bars.len() as f64 - 0.5;
    chart
        .draw_series(LineSeries::new(
            [(-0.5, limit), (end, limit)],
            BLACK.stroke_width(2),
        ))
        .map_err(draw)?
        .label(format!("1 / fdatasync latency = {limit:.0} commits/s"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::MiddleRight, "durable.svg")?;
    root.present().map_err(draw)?;
    drop(chart);
    drop(root);
    Ok(Some(path))
}

/// Markdown that links the charts written into the report's directory.
pub fn markdown(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let mut md = String::from("\n## Charts\n\n");
    for p in paths {
        if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            md.push_str(&format!("![{name}]({name})\n\n"));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkloadSize;
    use crate::report::{Figure, Kind};

    fn figure(workload: &str, subject: &str, value: f64, unit: &str) -> Figure {
        Figure {
            workload: workload.into(),
            subject: subject.into(),
            value,
            samples: vec![value],
            unit: unit.into(),
            operations: 1,
            seconds: 1.0,
            checksum: 1,
            note: None,
        }
    }

    #[test]
    fn charts_are_svg_files_naming_every_subject_and_row() {
        let subjects = ["hand-rolled", "inmem-txn", "RocksDB raw", "ondisk"];
        let mut figures = Vec::new();
        for (k, s) in subjects.iter().enumerate() {
            let scale = 1.0 / (k as f64 + 1.0);
            figures.push(figure("point read by id", s, 1e7 * scale, "reads/s"));
            figures.push(figure("label scan", s, 1e9 * scale, "vertices/s"));
            for (_, _, rows) in SCALING {
                for (t, row) in rows {
                    figures.push(figure(row, s, 1e5 * f64::from(t) * scale, "txn/s"));
                }
            }
            figures.push(figure("memory: bytes per vertex", s, 100.0 + k as f64, "B"));
            figures.push(figure("memory: bytes per edge", s, 50.0 + k as f64, "B"));
        }
        let report = Report {
            machine: "test".into(),
            commit: "test".into(),
            size: WorkloadSize::default(),
            repeats: 1,
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            kinds: vec![
                Kind::InMemoryPeer,
                Kind::InMemory,
                Kind::OnDiskPeer,
                Kind::OnDisk,
            ],
            settings: Vec::new(),
            figures,
            conflicts: Vec::new(),
            handover_ns: Vec::new(),
            not_applicable: Vec::new(),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = write_charts(&report, dir.path()).expect("charts drawn");
        assert_eq!(paths.len(), 3);
        for p in &paths {
            let svg = std::fs::read_to_string(p).expect("written");
            assert!(svg.starts_with("<svg"), "{}", p.display());
            // The ratio chart shows our backends; the others every subject.
            let ratio_chart = p.ends_with("ratios.svg");
            for (s, k) in subjects.iter().zip(&report.kinds) {
                if !ratio_chart || !k.is_peer() {
                    assert!(svg.contains(s), "{} names {s}", p.display());
                }
            }
        }
        let ratios = std::fs::read_to_string(dir.path().join("ratios.svg")).expect("written");
        assert!(ratios.contains("point read by id") && ratios.contains("label scan"));
        assert!(
            !ratios.contains("hand-rolled"),
            "peers have no ratio of their own"
        );
        let scaling = std::fs::read_to_string(dir.path().join("scaling.svg")).expect("written");
        assert!(
            scaling.contains("Small write transactions") && scaling.contains("Mixed 90%"),
            "both panels"
        );
        let md = markdown(&paths);
        assert!(md.contains("![scaling.svg](scaling.svg)"), "{md}");
        // Nothing to draw: no file.
        let empty = Report {
            figures: Vec::new(),
            ..report
        };
        let none = tempfile::tempdir().expect("temp dir");
        assert!(
            write_charts(&empty, none.path())
                .expect("no error")
                .is_empty()
        );
    }

    #[test]
    fn the_durable_chart_shows_the_limit() {
        let d = DurabilityFigures {
            fdatasync_latency_s: 0.002,
            ..DurabilityFigures::example()
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_durable_chart(&d, dir.path())
            .expect("drawn")
            .expect("a latency was measured");
        let svg = std::fs::read_to_string(path).expect("written");
        assert!(
            svg.contains("500 commits/s") && svg.contains("ondisk, 2 threads"),
            "{svg}"
        );
        let none = DurabilityFigures {
            fdatasync_latency_s: 0.0,
            ..d
        };
        assert!(
            write_durable_chart(&none, dir.path())
                .expect("no error")
                .is_none()
        );
    }
}
