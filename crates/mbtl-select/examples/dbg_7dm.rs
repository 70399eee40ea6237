use mbtl_select::*;
fn main() {
    let space = TaskSpace::grid(&[4; 7]).unwrap();
    let m = TransferMatrix::from_fn(1, |_, _| 0.0).unwrap();
    let _ = m;
    let t1 = std::time::Instant::now();
    let mut s = MMbtl::new(Candidates::All, 1);
    let mut chosen = vec![];
    let rows: Vec<Vec<f64>> = vec![];
    let best = vec![0.0; space.len()];
    for k in 0..12 {
        let t = s
            .select(&History {
                space: &space,
                chosen: &chosen,
                rows: &rows,
                best: &best,
            })
            .unwrap();
        chosen.push(t);
        eprintln!("k={} t={} {:.1}s", k + 1, t, t1.elapsed().as_secs_f64());
    }
}
