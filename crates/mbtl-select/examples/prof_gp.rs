//! GP-MBTL on one trial of each 3-D noise-0 setting, timed (profiling aid).
//! Run: `cargo run --release -p mbtl-select --example prof_gp`
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};
use mbtl_select::{run_selection, GpMbtl, TransferMatrix};

fn main() {
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
                let mut m = vec![spec.generate(0).expect("valid spec")];
                TransferMatrix::normalize_minmax_global(&mut m).expect("range");
                let t = std::time::Instant::now();
                for _ in 0..5 {
                    run_selection(&mut GpMbtl::new(), &mut &m[0], &spec.task_space(), 50)
                        .expect("runs");
                }
                println!(
                    "{spec}: {:.1} ms per run",
                    t.elapsed().as_secs_f64() * 200.0
                );
            }
        }
    }
}
