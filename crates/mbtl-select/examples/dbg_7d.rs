use mbtl_select::synth::*;
use mbtl_select::*;
fn main() {
    let h = if std::env::args().nth(1).as_deref() == Some("nd") {
        GapTerm::NonDistance
    } else {
        GapTerm::L1
    };
    let t0 = std::time::Instant::now();
    let spec = SynthSpec {
        family: Family::D7,
        f: SourceTerm::Constant,
        g: TargetTerm::Linear,
        h,
        noise: 5.0,
    };
    let mut ms = vec![spec.generate(0).unwrap()];
    TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
    println!("generated in {:.1}s", t0.elapsed().as_secs_f64());
    let t1 = std::time::Instant::now();
    let mut s = MgpMbtl::new(Candidates::All, 1);
    let sel = run_selection(&mut s, &mut &ms[0], &spec.task_space(), 50).unwrap();
    println!(
        "M/GP 7-D: V_50 {:.4} in {:.1}s modes {:?}",
        sel.curve[49],
        t1.elapsed().as_secs_f64(),
        sel.modes.iter().filter(|m| m.starts_with("GP")).count()
    );
}
