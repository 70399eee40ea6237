use mbtl_select::synth::*;
use mbtl_select::*;
fn main() {
    for (f, g, h) in [
        (
            SourceTerm::Constant,
            TargetTerm::Linear,
            GapTerm::NonDistance,
        ),
        (SourceTerm::Constant, TargetTerm::None, GapTerm::L1),
        (SourceTerm::Linear, TargetTerm::Linear, GapTerm::L1),
    ] {
        let spec = SynthSpec {
            family: Family::D3,
            f,
            g,
            h,
            noise: 0.0,
        };
        let mut ms = vec![spec.generate(0).unwrap()];
        TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
        for name in ["gp", "mgp", "m"] {
            let t = std::time::Instant::now();
            let mut s: Box<dyn Strategy> = match name {
                "gp" => Box::new(GpMbtl::new()),
                "mgp" => Box::new(MgpMbtl::new(Candidates::All, 1)),
                _ => Box::new(MMbtl::new(Candidates::All, 1)),
            };
            let sel = run_selection(s.as_mut(), &mut &ms[0], &spec.task_space(), 50).unwrap();
            println!(
                "{spec} {name} {:.4} {:.3}s",
                sel.curve[49],
                t.elapsed().as_secs_f64()
            );
        }
    }
}
