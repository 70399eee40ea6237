//! GP-MBTL on one trial of each 3-D noise-0 setting, timed (profiling aid).
//! Run: `cargo run --release -p mbtl-select --example prof_gp`
use mbtl_select::synth::SynthSpec;
use mbtl_select::{run_selection, GpMbtl, TransferMatrix};

fn main() {
    for spec in SynthSpec::table_3d(0.0) {
        let mut m = vec![spec.generate(0).expect("valid spec")];
        TransferMatrix::normalize_minmax_global(&mut m).expect("range");
        let t = std::time::Instant::now();
        for _ in 0..5 {
            run_selection(&mut GpMbtl::new(), &mut &m[0], &spec.task_space(), 50).expect("runs");
        }
        println!(
            "{spec}: {:.1} ms per run",
            t.elapsed().as_secs_f64() * 200.0
        );
    }
}
