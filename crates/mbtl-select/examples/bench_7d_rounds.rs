//! Times the first 12 M-MBTL rounds on the 7-D grid (4⁷ = 16 384 tasks, every task a candidate):
//! the hot loop of `mbtl bench select`'s 7-D run, for quick before/after comparisons.
//! Run: `cargo run --release -p mbtl-select --example bench_7d_rounds`
use mbtl_select::{Candidates, History, MMbtl, Strategy, TaskSpace};

fn main() {
    let space = TaskSpace::grid(&[4; 7]).expect("valid grid");
    let best = vec![0.0; space.len()];
    let mut s = MMbtl::new(Candidates::All, 1);
    let mut chosen = Vec::new();
    let start = std::time::Instant::now();
    for _ in 0..12 {
        let t = s
            .select(&History {
                space: &space,
                chosen: &chosen,
                rows: &[],
                best: &best,
            })
            .expect("a task");
        chosen.push(t);
    }
    println!(
        "12 rounds: {:.2} s; chosen {:?}",
        start.elapsed().as_secs_f64(),
        chosen
    );
}
