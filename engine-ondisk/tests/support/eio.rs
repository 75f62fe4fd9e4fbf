//! Builds the EIO preload library from `eio.c` beside this file. Shared by the
//! I/O-error tests of engine-ondisk and of the facade (`quiver/tests/io_errors.rs`
//! includes this file by path), so the source is embedded rather than located.

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = include_str!("eio.c");

/// Builds the library into `out`; `None` (with a message) where there is no C
/// compiler, so the calling test skips instead of failing, except under CI (`CI` set),
/// where a skipped check would pass unseen: there it panics.
pub fn build(out: &Path) -> Option<PathBuf> {
    let source = out.join("eio.c");
    let lib = out.join("eio.so");
    if let Err(e) = std::fs::write(&source, SOURCE) {
        panic!("cannot write {}: {e}", source.display());
    }
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-ldl")
        .status();
    match built {
        Ok(s) if s.success() => Some(lib),
        other => {
            let why = format!("cannot build the EIO library with cc ({other:?})");
            assert!(std::env::var_os("CI").is_none(), "io_errors: {why}");
            println!("io_errors: skipped, {why}");
            None
        }
    }
}
