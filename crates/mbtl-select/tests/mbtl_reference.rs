//! Conformance with the official MBTL selection code on its own synthetic matrix (synthA,
//! N = 30, θ = 0.02): deterministic baselines exactly, MBTL-GP's order exactly and its GP within
//! stated tolerances.

mod common;

use common::{fixture, read_table};
use mbtl_select::{metrics, GapModel, NanPolicy, TaskSpace, TransferMatrix};
use mbtl_select::{
    run_selection, Equidistant, MbtlGp, MbtlGpOptions, Pseudogreedy, SequentialOracle, Strategy,
};

const N: usize = 30;

fn matrix() -> TransferMatrix {
    TransferMatrix::read(
        &fixture("mbtl/synthA_N30_linear_transfer_matrix.csv"),
        NanPolicy::Refuse,
    )
    .unwrap()
}

fn reference_order(column: &str) -> Vec<usize> {
    read_table("mbtl/synthA_N30_linear_selection_order.csv")
        .iter()
        .map(|r| r[column].parse().unwrap())
        .collect()
}

fn reference_curve(method: &str) -> Vec<f64> {
    let rows = read_table("mbtl/synthA_N30_linear_reference_results.csv");
    let row = rows
        .iter()
        .find(|r| r[""] == method)
        .unwrap_or_else(|| panic!("no row {method}"));
    (1..=N)
        .map(|k| row[&format!("k{k}")].parse().unwrap())
        .collect()
}

fn assert_curve(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        // The reference prints 10 decimals.
        assert!((g - w).abs() < 1e-9, "{what} k={}: {g} vs {w}", k + 1);
    }
}

fn run(strategy: &mut dyn Strategy) -> mbtl_select::Selection {
    let m = matrix();
    run_selection(strategy, &mut &m, &TaskSpace::indices(N), N).unwrap()
}

#[test]
fn deterministic_baselines_match_exactly() {
    let m = matrix();
    let cases: Vec<(Box<dyn Strategy>, &str, &str)> = vec![
        (
            Box::new(Pseudogreedy),
            "Pseudogreedy",
            "Pseudogreedy Strategy",
        ),
        (
            Box::new(Equidistant { budget: N }),
            "Equidistant",
            "Equidistant Strategy",
        ),
        (
            Box::new(SequentialOracle::new(vec![m.clone()]).unwrap()),
            "SequentialOracle",
            "Sequential Oracle Training",
        ),
    ];
    for (mut s, col, row) in cases {
        let sel = run(s.as_mut());
        assert_eq!(sel.order, reference_order(col), "{col}");
        assert_curve(&sel.curve, &reference_curve(row), col);
    }
    assert!((metrics::oracle_transfer(&m) - reference_curve("Oracle Transfer")[0]).abs() < 1e-9);
    assert!((metrics::independent(&m) - reference_curve("Independent Training")[0]).abs() < 1e-9);
}

#[test]
fn mbtl_gp_order_curve_and_gp_match_the_official_code() {
    let mut s = MbtlGp::new(MbtlGpOptions {
        gap: GapModel::Fixed(0.02),
        ..Default::default()
    });
    let sel = run(&mut s);
    assert_eq!(sel.order, reference_order("MBTL"));
    assert_curve(&sel.curve, &reference_curve("MBTL"), "MBTL");

    // GP hyper-parameters: relative 1e-3; log-marginal likelihood 1e-4 absolute;
    // posterior mean and std 1e-4 absolute at every task.
    let trace = read_table("mbtl/synthA_N30_linear_mbtl_gp_trace.csv");
    let means = read_table("mbtl/synthA_N30_linear_mbtl_gp_mean.csv");
    let stds = read_table("mbtl/synthA_N30_linear_mbtl_gp_std.csv");
    assert_eq!(s.trace().len(), trace.len());
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for (step, want) in s.trace().iter().zip(&trace) {
        let f = |k: &str| want[k].parse::<f64>().unwrap();
        let label = want["selection_step"].clone();
        assert_eq!(step.k, f("n_trained_before") as usize);
        assert!((step.lambda - f("lambda")).abs() < 1e-8);
        let rel_c = (step.hyper.signal - f("gp_constant")).abs() / f("gp_constant");
        let rel_l = (step.hyper.length_scale - f("gp_length_scale")).abs() / f("gp_length_scale");
        let d_lml = (step.log_marginal_likelihood - f("gp_lml")).abs();
        worst = (worst.0.max(rel_c), worst.1.max(rel_l), worst.2.max(d_lml));
        assert!(
            rel_c < 1e-3 && rel_l < 1e-3 && d_lml < 1e-4,
            "step {label}: {:?} lml {} vs {want:?}",
            step.hyper,
            step.log_marginal_likelihood
        );
        assert_eq!(step.chosen, f("selected_index") as usize);
        let col = format!("step{label}");
        for t in 0..N {
            let (m, sd) = (
                means[t][&col].parse::<f64>().unwrap(),
                stds[t][&col].parse::<f64>().unwrap(),
            );
            assert!(
                (step.mean[t] - m).abs() < 1e-4 && (step.std[t] - sd).abs() < 1e-4,
                "step {label} task {t}: μ {} vs {m}, σ {} vs {sd}",
                step.mean[t],
                step.std[t]
            );
        }
    }
    eprintln!(
        "worst relative error: signal {:.2e}, length scale {:.2e}; worst |Δ lml| {:.2e}",
        worst.0, worst.1, worst.2
    );
}
