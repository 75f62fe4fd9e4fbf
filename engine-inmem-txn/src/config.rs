//! Configuration of the in-memory transactional engine.

use std::time::Duration;

/// How an [`crate::InMemoryEngine`] runs.
///
/// ```
/// use std::time::Duration;
/// use engine_inmem_txn::Config;
/// let config = Config::default().gc_interval(Some(Duration::from_millis(200)));
/// assert_eq!(config.gc_every(), Some(Duration::from_millis(200)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    gc_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gc_interval: Some(Duration::from_secs(1)),
        }
    }
}

impl Config {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How often a background thread collects versions no transaction can see any
    /// more; `None` for no background thread. Default 1 s.
    ///
    /// Every commit also collects what it can without waiting, so a workload without
    /// long-running readers keeps memory flat even with no background thread; the
    /// thread catches up after long readers end. Shorter intervals return memory
    /// sooner at the cost of waking more often.
    #[must_use]
    pub fn gc_interval(mut self, interval: Option<Duration>) -> Self {
        self.gc_interval = interval;
        self
    }

    /// The background collection interval.
    pub fn gc_every(&self) -> Option<Duration> {
        self.gc_interval
    }
}
