use mbtl_select::synth::*;
use mbtl_select::table::*;
use mbtl_select::*;
fn main() {
    let t0 = std::time::Instant::now();
    let mut per = std::collections::HashMap::new();
    for f in [SourceTerm::Constant, SourceTerm::Linear] {
        for g in [TargetTerm::Linear, TargetTerm::None] {
            for h in [GapTerm::NonDistance, GapTerm::L1] {
                let spec = SynthSpec {
                    family: Family::D3,
                    f,
                    g,
                    h,
                    noise: 0.0,
                };
                let mut ms: Vec<_> = (0..100).map(|t| spec.generate(t).unwrap()).collect();
                TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
                for m in Method::ALL {
                    let t1 = std::time::Instant::now();
                    run_trials(&ms, &spec.task_space(), 50, &[m], Candidates::All).unwrap();
                    *per.entry(format!("{m:?}")).or_insert(0.0) += t1.elapsed().as_secs_f64();
                }
            }
        }
    }
    println!("{per:?} total {:.1}s", t0.elapsed().as_secs_f64());
}
