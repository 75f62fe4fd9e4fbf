//! Linking a loaded image's edges into their endpoints' adjacency on several threads,
//! for the in-memory loaders: the thread that reads the snapshot decodes and stores
//! each edge and hands it to an [`EdgeLinker`], which appends it to both endpoints'
//! lists.
//!
//! With one thread the linker links at once. With `n`, each of `n` threads owns the
//! vertices of every `n`-th range of 64 ids, sees every edge in id order and appends
//! only to its own vertices' lists: each list ends up in edge id order, as a
//! sequential load leaves it, no list is shared, and no two threads write
//! neighbouring vertex slots. Edges travel in batches of [`LINK_BATCH`]; a thread runs
//! at most four batches behind the reader.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::{Scope, ScopedJoinHandle};

/// Edges per batch handed to the linking threads.
pub const LINK_BATCH: usize = 4096;

/// One edge to link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The edge's id.
    pub edge: u64,
    /// Its type id.
    pub edge_type: u32,
    /// Its source vertex.
    pub source: u64,
    /// Its target vertex.
    pub target: u64,
}

impl From<engine_api::ImageEdge<'_>> for Link {
    fn from(e: engine_api::ImageEdge<'_>) -> Self {
        Link {
            edge: e.id,
            edge_type: e.edge_type,
            source: e.source,
            target: e.target,
        }
    }
}

/// Which end of a [`Link`] a call links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Append to the source's outgoing list.
    Source,
    /// Append to the target's incoming list.
    Target,
}

/// Hands edges to the function that links one end; see the module docs.
pub struct EdgeLinker<'s, 'env, F> {
    link: &'env F,
    threads: Option<Threads<'s>>,
}

struct Threads<'s> {
    batch: Vec<Link>,
    senders: Vec<SyncSender<Arc<Vec<Link>>>>,
    workers: Vec<ScopedJoinHandle<'s, Result<(), String>>>,
}

impl<F> std::fmt::Debug for EdgeLinker<'_, '_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeLinker")
            .field("threads", &self.threads.as_ref().map(|t| t.workers.len()))
            .finish()
    }
}

fn owner(vertex: u64, threads: u64) -> u64 {
    (vertex >> 6) % threads
}

impl<'s, 'env, F> EdgeLinker<'s, 'env, F>
where
    F: Fn(&Link, End) -> Result<(), String> + Sync,
{
    /// Starts `threads` linking threads in `scope` (none for one thread). `link` links
    /// one end of an edge, or says why it cannot (a missing vertex, a full list).
    pub fn start(scope: &'s Scope<'s, 'env>, threads: usize, link: &'env F) -> Self {
        if threads <= 1 {
            return EdgeLinker {
                link,
                threads: None,
            };
        }
        let n = threads as u64;
        let mut senders = Vec::with_capacity(threads);
        let mut workers = Vec::with_capacity(threads);
        for me in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Vec<Link>>>(4);
            senders.push(tx);
            workers.push(scope.spawn(move || {
                for batch in rx {
                    for l in batch.iter() {
                        if owner(l.source, n) == me {
                            link(l, End::Source)?;
                        }
                        if owner(l.target, n) == me {
                            link(l, End::Target)?;
                        }
                    }
                }
                Ok(())
            }));
        }
        EdgeLinker {
            link,
            threads: Some(Threads {
                batch: Vec::with_capacity(LINK_BATCH),
                senders,
                workers,
            }),
        }
    }

    /// Links `l` (now, or in a later batch). An error may belong to an earlier edge
    /// whose linking thread stopped; [`EdgeLinker::finish`] gives the cause.
    pub fn link(&mut self, l: Link) -> Result<(), String> {
        match &mut self.threads {
            None => {
                (self.link)(&l, End::Source)?;
                (self.link)(&l, End::Target)
            }
            Some(t) => {
                t.batch.push(l);
                if t.batch.len() >= LINK_BATCH {
                    t.send()?;
                }
                Ok(())
            }
        }
    }

    /// Links what is left and waits for every thread; the first error.
    pub fn finish(&mut self) -> Result<(), String> {
        let Some(t) = &mut self.threads else {
            return Ok(());
        };
        let sent = t.send();
        t.senders.clear();
        let mut first = None;
        for w in t.workers.drain(..) {
            let r = w
                .join()
                .unwrap_or_else(|_| Err("an edge linking thread panicked".to_string()));
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None => sent,
        }
    }
}

impl Threads<'_> {
    fn send(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let full = Arc::new(std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(LINK_BATCH),
        ));
        for tx in &self.senders {
            // A closed channel: that thread stopped at an error, which `finish` returns.
            if tx.send(full.clone()).is_err() {
                return Err("an edge linking thread stopped".to_string());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every end is linked exactly once, each vertex's ends in edge id order, on any
    /// number of threads; an error stops the load and is returned.
    #[test]
    fn every_end_once_in_edge_order() {
        let edges: Vec<Link> = (0..20_000u64)
            .map(|i| Link {
                edge: i,
                edge_type: 0,
                source: (i * 7919) % 1000,
                target: (i * 104_729) % 1000,
            })
            .collect();
        for threads in [1, 2, 3] {
            let lists: Vec<Mutex<Vec<(u64, End)>>> =
                (0..1000).map(|_| Mutex::new(Vec::new())).collect();
            let link = |l: &Link, end: End| {
                let v = if end == End::Source {
                    l.source
                } else {
                    l.target
                };
                lists[v as usize]
                    .lock()
                    .map_err(|_| "poisoned".to_string())?
                    .push((l.edge, end));
                Ok(())
            };
            std::thread::scope(|scope| {
                let mut linker = EdgeLinker::start(scope, threads, &link);
                for l in &edges {
                    linker.link(*l).expect("link");
                }
                linker.finish().expect("finish");
            });
            let mut ends = 0;
            for list in &lists {
                let list = list.lock().expect("lock");
                assert!(
                    list.windows(2).all(|w| w[0].0 <= w[1].0),
                    "{threads} threads: out of order"
                );
                ends += list.len();
            }
            assert_eq!(ends, 2 * edges.len(), "{threads} threads: every end once");

            let failing = |l: &Link, _: End| {
                if l.edge == 15_000 {
                    Err("edge 15000 is bad".to_string())
                } else {
                    Ok(())
                }
            };
            let err = std::thread::scope(|scope| {
                let mut linker = EdgeLinker::start(scope, threads, &failing);
                let mut linked = Ok(());
                for l in &edges {
                    linked = linker.link(*l);
                    if linked.is_err() {
                        break;
                    }
                }
                linker.finish().and(linked)
            });
            assert_eq!(
                err,
                Err("edge 15000 is bad".to_string()),
                "{threads} threads"
            );
        }
    }
}
