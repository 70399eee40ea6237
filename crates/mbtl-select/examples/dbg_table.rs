use mbtl_select::synth::*;
use mbtl_select::table::*;
use mbtl_select::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trials: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(2);
    for (f, g, h) in [
        (
            SourceTerm::Constant,
            TargetTerm::Linear,
            GapTerm::NonDistance,
        ),
        (SourceTerm::Constant, TargetTerm::None, GapTerm::L1),
    ] {
        let spec = SynthSpec {
            family: Family::D3,
            f,
            g,
            h,
            noise: 0.0,
        };
        let t0 = std::time::Instant::now();
        let mut ms: Vec<_> = (0..trials)
            .map(|t| spec.generate(t as u32).unwrap())
            .collect();
        TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
        for m in Method::ALL {
            let t1 = std::time::Instant::now();
            let r = run_trials(&ms, &spec.task_space(), 50, &[m], Candidates::All).unwrap();
            println!(
                "{spec} {:?} {:.4} ±{:.4} order {:?} ({:.2}s)",
                m,
                r[0].final_ci().0,
                r[0].final_ci().1,
                &r[0].order_trial0[..10],
                t1.elapsed().as_secs_f64()
            );
        }
        println!("total {:.2}s", t0.elapsed().as_secs_f64());
    }
}
