//! `--compare previous.json`: each figure of the main table against the same figure
//! of an earlier report, with regressions beyond the spread flagged.
//!
//! A figure counts as a regression when every run of it now is worse than every run
//! of it before (the two ranges of repetitions do not overlap): slower for a rate,
//! larger for a memory row. A change inside the runs' spread is noise, not a finding.

use std::path::Path;

use engine_api::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::report::{Figure, Report, human, sample_range};

/// A figure as an earlier report.json holds it (`samples` is absent in reports made
/// before repetitions: the value is its only sample then).
#[derive(Debug, Deserialize)]
struct Earlier {
    workload: String,
    subject: String,
    value: f64,
    unit: String,
    #[serde(default)]
    samples: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct EarlierMain {
    figures: Vec<Earlier>,
}

#[derive(Debug, Deserialize)]
struct EarlierReport {
    main: EarlierMain,
}

/// Whether `now` is worse than `before` beyond both their spreads.
fn regressed(now: &Figure, before: &Earlier) -> bool {
    let (now_lo, now_hi) = sample_range(&now.samples, now.value);
    let (before_lo, before_hi) = sample_range(&before.samples, before.value);
    if now.unit == "B" {
        now_lo > before_hi
    } else {
        now_hi < before_lo
    }
}

/// The comparison of `report` with the report.json at `previous`, as Markdown.
/// Errors: the file cannot be read or is not a report.json.
pub fn compare(report: &Report, previous: &Path) -> Result<String> {
    let text = std::fs::read_to_string(previous).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot read {}: {e}", previous.display()),
        )
    })?;
    let earlier: EarlierReport = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{} is not a report.json: {e}", previous.display()),
        )
    })?;
    Ok(render(report, &earlier, &previous.display().to_string()))
}

fn render(report: &Report, earlier: &EarlierReport, name: &str) -> String {
    let mut md = format!(
        "\n## Compared with {name}\n\nChange of each median; **regression** where every run now is worse than every run before.\n\n| workload | subject | before | now | change | |\n|---|---|---:|---:|---:|---|\n"
    );
    let mut regressions = 0;
    for f in &report.figures {
        let Some(e) = earlier
            .main
            .figures
            .iter()
            .find(|e| e.workload == f.workload && e.subject == f.subject && e.unit == f.unit)
        else {
            continue;
        };
        if e.value <= 0.0 || f.value <= 0.0 {
            continue;
        }
        let change = (f.value / e.value - 1.0) * 100.0;
        let flag = if regressed(f, e) {
            regressions += 1;
            "**regression**"
        } else {
            ""
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {change:+.1}% | {flag} |\n",
            f.workload,
            f.subject,
            human(e.value),
            human(f.value)
        ));
    }
    md.push_str(&format!(
        "\n{regressions} regression(s) beyond the spread.\n"
    ));
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkloadSize;

    fn figure(workload: &str, unit: &str, samples: &[f64]) -> Figure {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        Figure {
            workload: workload.into(),
            subject: "inmem-txn".into(),
            value: s[s.len() / 2],
            samples: samples.to_vec(),
            unit: unit.into(),
            operations: 1,
            seconds: 1.0,
            checksum: 1,
            note: None,
        }
    }

    #[test]
    fn only_changes_beyond_both_spreads_are_regressions() {
        let now = Report {
            machine: "m".into(),
            commit: "c".into(),
            size: WorkloadSize::default(),
            repeats: 3,
            subjects: vec!["inmem-txn".into()],
            kinds: vec![crate::report::Kind::InMemory],
            settings: Vec::new(),
            figures: vec![
                figure("slower, overlapping", "ops/s", &[90.0, 95.0, 100.0]),
                figure("slower, apart", "ops/s", &[70.0, 72.0, 75.0]),
                figure("faster", "ops/s", &[150.0, 160.0, 170.0]),
                figure("memory grew", "B", &[130.0, 130.0, 130.0]),
                figure("new row", "ops/s", &[1.0, 1.0, 1.0]),
            ],
            conflicts: Vec::new(),
            handover_ns: Vec::new(),
            not_applicable: Vec::new(),
        };
        let json = r#"{"main": {"figures": [
            {"workload": "slower, overlapping", "subject": "inmem-txn", "value": 100.0, "unit": "ops/s", "samples": [98.0, 100.0, 104.0]},
            {"workload": "slower, apart", "subject": "inmem-txn", "value": 100.0, "unit": "ops/s", "samples": [95.0, 100.0, 101.0]},
            {"workload": "faster", "subject": "inmem-txn", "value": 100.0, "unit": "ops/s"},
            {"workload": "memory grew", "subject": "inmem-txn", "value": 120.0, "unit": "B", "samples": [120.0, 121.0]}
        ]}, "durability": {}}"#;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("report.json");
        std::fs::write(&path, json).expect("written");
        let md = compare(&now, &path).expect("a report.json");
        let line = |w: &str| {
            md.lines()
                .find(|l| l.starts_with(&format!("| {w} |")))
                .unwrap_or("")
        };
        assert!(!line("slower, overlapping").contains("regression"), "{md}");
        assert!(line("slower, apart").contains("regression"), "{md}");
        assert!(line("faster").contains("+60.0%") && !line("faster").contains("regression"));
        assert!(line("memory grew").contains("regression"), "{md}");
        assert!(line("new row").is_empty(), "no earlier figure, no line");
        assert!(md.contains("2 regression(s)"), "{md}");
        std::fs::write(&path, "{}").expect("written");
        assert!(compare(&now, &path).is_err(), "not a report.json");
        assert!(compare(&now, &dir.path().join("missing.json")).is_err());
    }
}
