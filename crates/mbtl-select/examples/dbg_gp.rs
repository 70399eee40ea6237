use mbtl_select::synth::*;
use mbtl_select::*;
fn main() {
    let spec = SynthSpec {
        family: Family::D3,
        f: SourceTerm::Constant,
        g: TargetTerm::None,
        h: GapTerm::L1,
        noise: 0.0,
    };
    let mut ms = vec![spec.generate(0).unwrap()];
    TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
    for _ in 0..5 {
        let mut s = GpMbtl::new();
        run_selection(&mut s, &mut &ms[0], &spec.task_space(), 50).unwrap();
    }
}
