use engine_api::{PropertyValue, StorageEngine, Transaction, TxnOptions, VertexId};
use engine_inmem_txn::{Config, InMemoryEngine};
use std::time::Instant;

fn small(e: &InMemoryEngine, target: u64, label: bool) {
    loop {
        let mut t = e.begin(TxnOptions::new()).unwrap();
        let labels: &[&str] = if label { &["Person"] } else { &[] };
        let v = t
            .create_vertex_with(labels, &[("id", PropertyValue::Int(-1))])
            .unwrap();
        match t.create_edge(v, VertexId(target), "KNOWS") {
            Ok(_) => {}
            Err(_) => continue,
        }
        if t.commit().is_ok() {
            return;
        }
    }
}

fn main() {
    let label = std::env::args().nth(1).as_deref() != Some("nolabel");
    let threads_list: Vec<usize> = std::env::var("T").map(|s| s.split(",").map(|x| x.parse().unwrap()).collect()).unwrap_or(vec![1, 2, 4]);
    for threads in threads_list {
        let e = InMemoryEngine::open(Config::new()).unwrap();
        let mut t = e.begin(TxnOptions::new()).unwrap();
        let base: Vec<u64> = (0..100_000).map(|_| t.create_vertex().unwrap().0).collect();
        t.commit().unwrap();
        let n = 400_000usize;
        let start = Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                let e = &e;
                let base = &base;
                s.spawn(move || {
                    let per = n / threads;
                    for i in 0..per {
                        // disjoint targets per thread
                        let idx = (k * 50_000 / threads.max(1)
                            + (i * 7919) % (50_000 / threads.max(1)))
                            % base.len();
                        small(e, base[idx], label);
                    }
                });
            }
        });
        let el = start.elapsed().as_secs_f64();
        println!("threads {threads}: {:.0} txn/s", n as f64 / el);
    }
}
