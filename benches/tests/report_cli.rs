//! The `report` binary's command line: a command line it cannot run is refused
//! before any work, with exit code 2 and a message naming what is wrong (a
//! hostile-user run found it exiting 1 after the whole run).

use std::process::Command;

fn report(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_report"))
        .args(args)
        .output()
        .expect("the report binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_command_line_the_report_cannot_run_is_refused_at_once() {
    let (code, stderr) = report(&["--backends", "nosuch"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no subject \"nosuch\""), "{stderr}");
    let (code, stderr) = report(&["--reads", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--reads"), "{stderr}");
}
