use mbtl_select::synth::*;
use mbtl_select::table::*;
use mbtl_select::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let f = if a[1] == "Linear" {
        SourceTerm::Linear
    } else {
        SourceTerm::Constant
    };
    let g = if a[2] == "Linear" {
        TargetTerm::Linear
    } else {
        TargetTerm::None
    };
    let h = if a[3] == "L1" {
        GapTerm::L1
    } else {
        GapTerm::NonDistance
    };
    let m = match a[4].as_str() {
        "M" => Method::MMbtl,
        "GP" => Method::GpMbtl,
        "MGP" => Method::MgpMbtl,
        _ => Method::MyopicOracle,
    };
    let spec = SynthSpec {
        family: Family::D3,
        f,
        g,
        h,
        noise: 0.0,
    };
    let mut ms = vec![spec.generate(0).unwrap()];
    TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
    let r = run_trials(&ms, &spec.task_space(), 50, &[m], Candidates::All).unwrap();
    println!("{:?}", r[0].order_trial0);
    println!(
        "{:?}",
        r[0].mean_curve
            .iter()
            .map(|v| format!("{v:.6}"))
            .collect::<Vec<_>>()
    );
}
