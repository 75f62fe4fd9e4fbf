//! The process side of the crash harness: a child that dies whole when any of its
//! threads panics, and a parent that reads the child's lines while it runs, waits for
//! its first acknowledgement before it starts the kill timer (so a cycle cannot pass
//! without having tested anything), and kills it with SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Makes a panic in any thread of a crash test's child end the whole process at once
/// (after the usual message), instead of only that thread: a worker that died quietly
/// would otherwise leave a child that acknowledges nothing and a cycle that passes.
pub fn abort_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::abort();
    }));
}

/// A crash test's child process, whose standard output lines the parent reads while
/// it runs.
#[derive(Debug)]
pub struct KillableChild {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl KillableChild {
    /// Spawns `command` with its standard output piped (standard error inherited, so
    /// a panic message in the child shows in the test's output).
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the child has no standard output"))?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(KillableChild {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits at most `timeout` for a line that `wanted` accepts; true if one came.
    /// False if the child ended its output (it exited) or the time ran out.
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        if self.seen.iter().any(|l| wanted(l)) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = wanted(&line);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Whether the child has exited by itself, and how.
    pub fn exited(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Sends SIGKILL and returns every line the child wrote. Fails (an `Err` naming
    /// the status) if the child had already exited by itself: a child of a crash test
    /// runs until it is killed, so an exit means it failed.
    pub fn kill(mut self) -> std::result::Result<Vec<String>, String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "the child exited by itself ({status}) before it was killed; see its messages above"
            ));
        }
        // SIGKILL: no destructor, no flush, no close.
        self.child
            .kill()
            .map_err(|e| format!("cannot kill the child: {e}"))?;
        let status = self
            .child
            .wait()
            .map_err(|e| format!("cannot wait for the child: {e}"))?;
        // It may have aborted between the check above and the kill.
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if status.signal() != Some(9) {
                return Err(format!(
                    "the child ended with {status}, not by the kill; see its messages above"
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = status;
        // The reader thread ends when the pipe closes; take what it still holds.
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        Ok(std::mem::take(&mut self.seen))
    }
}

impl Drop for KillableChild {
    /// A parent that fails a cycle must not leave its child running (writing into a
    /// directory that is about to be removed).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
