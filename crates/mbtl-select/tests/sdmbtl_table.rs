//! SD-MBTL's published 3-D noise-0 table (K = 50, 100 trials): every Random, GP-MBTL, M-MBTL,
//! M/GP-MBTL and Myopic-oracle cell within 0.0005, and the per-step M-MBTL, Myopic-oracle and
//! M/GP-MBTL selections of the independent reference checks.

mod common;

use common::read_table;
use mbtl_select::replay::StrategyName as Method;
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};
use mbtl_select::table::{label, run_trials, synthetic_trials, TABLE_METHODS};
use mbtl_select::{metrics, run_selection, Candidates, GpMbtl, TransferMatrix};

fn spec(f: &str, g: &str, h: &str) -> SynthSpec {
    SynthSpec {
        family: Family::D3,
        f: if f == "Linear" {
            SourceTerm::Linear
        } else {
            SourceTerm::Constant
        },
        g: if g == "Linear" {
            TargetTerm::Linear
        } else {
            TargetTerm::None
        },
        h: if h == "L1 norm" {
            GapTerm::L1
        } else {
            GapTerm::NonDistance
        },
        noise: 0.0,
    }
}

/// GP-MBTL's third task is the worst-served target; on this setting 126 targets tie for it.
/// The authors' code takes the first of NumPy's unstable `argsort`; mbtl takes the lowest index.
const TIE_CELL: (&str, &str, &str) = ("Constant", "Linear", "L1 norm");

#[test]
fn three_d_noise0_table_within_half_a_thousandth() {
    let table = read_table("sdmbtl/synthetic_performance_with_CI_noise0.csv");
    let settings: Vec<(String, String, String)> = table
        .iter()
        .filter(|r| r["f_x"] != "Aggregated" && r["method"] == "Random")
        .map(|r| (r["f_x"].clone(), r["g_y"].clone(), r["h_xy"].clone()))
        .collect();
    assert_eq!(settings.len(), 8);
    let mut aggregated = vec![Vec::new(); TABLE_METHODS.len()];
    let mut report = Vec::new();
    for (f, g, h) in &settings {
        let spec = spec(f, g, h);
        let trials = synthetic_trials(&spec, 100).unwrap();
        let results = run_trials(
            &trials,
            &spec.task_space(),
            50,
            &TABLE_METHODS,
            Candidates::All,
        )
        .unwrap();
        let value = |m: Method| {
            results
                .iter()
                .find(|r| r.strategy == m.name())
                .unwrap()
                .final_ci()
                .0
        };
        for (i, r) in results.iter().enumerate() {
            let want: f64 = table
                .iter()
                .find(|row| {
                    &row["f_x"] == f
                        && &row["g_y"] == g
                        && &row["h_xy"] == h
                        && row["method"] == label(r.strategy.parse().unwrap())
                })
                .unwrap()["value"]
                .parse()
                .unwrap();
            let (got, ci) = r.final_ci();
            report.push(format!(
                "{f}/{g}/{h} {}: {got:.4} ± {ci:.4} (published {want:.4})",
                label(r.strategy.parse().unwrap())
            ));
            if r.strategy == Method::GpMbtl.name()
                && (f.as_str(), g.as_str(), h.as_str()) == TIE_CELL
            {
                // The one cell decided by NumPy's sort order among tied targets: see
                // `gp_mbtl_tie_order_explains_the_constant_linear_l1_cell`.
                assert!((got - 0.7094).abs() < 5e-5, "{}", report.last().unwrap());
            } else {
                assert!((got - want).abs() <= 0.0005, "{}", report.last().unwrap());
            }
            // The aggregated row is checked with the published tie order replayed in the one
            // cell that depends on it (see the test below).
            let v = if r.strategy == Method::GpMbtl.name()
                && (f.as_str(), g.as_str(), h.as_str()) == TIE_CELL
            {
                gp_with_numpy_tie(&trials[0])
            } else {
                got
            };
            aggregated[i].push(metrics::aggregated(
                v,
                value(Method::Random),
                value(Method::SequentialOracle),
            ));
        }
    }
    for (i, m) in TABLE_METHODS.iter().enumerate() {
        let (agg, _) = metrics::mean_ci95(&aggregated[i]);
        let want: f64 = table
            .iter()
            .find(|r| r["f_x"] == "Aggregated" && r["method"] == label(*m))
            .unwrap()["value"]
            .parse()
            .unwrap();
        report.push(format!(
            "Aggregated {}: {agg:.4} (published {want:.4})",
            label(*m)
        ));
        assert!((agg - want).abs() <= 0.005, "{}", report.last().unwrap());
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn per_step_selections_match_the_reference_checks() {
    let selections = read_table("sdmbtl/synthetic3d_noise0_selections.csv");
    let curves = read_table("sdmbtl/synthetic3d_noise0_curves.csv");
    for (f, g, h) in [
        ("Constant", "Linear", "Non-distance"),
        ("Constant", "None", "L1 norm"),
        ("Linear", "None", "L1 norm"),
    ] {
        let spec = spec(f, g, h);
        let m = synthetic_trials(&spec, 1).unwrap();
        let results = run_trials(
            &m,
            &spec.task_space(),
            50,
            &[Method::MMbtl, Method::MgpMbtl, Method::SequentialOracle],
            Candidates::All,
        )
        .unwrap();
        for (method, label) in [
            (Method::MMbtl, "M-MBTL (seed 1, all candidates)"),
            (Method::MgpMbtl, "M/GP-MBTL (seed 1, numpy GP)"),
            (Method::SequentialOracle, "Myopic Oracle"),
        ] {
            let want: Vec<usize> = selections
                .iter()
                .filter(|r| {
                    r["f_x"] == f && r["g_y"] == g && r["h_xy"] == h && r["method"] == label
                })
                .map(|r| r["task_index"].parse().unwrap())
                .collect();
            assert_eq!(want.len(), 50, "{f}/{g}/{h} {label}");
            let result = results
                .iter()
                .find(|r| r.strategy == method.name())
                .unwrap();
            let got = &result.order;
            let same_set = |got: &[usize]| {
                let (mut a, mut b) = (got.to_vec(), want.clone());
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{f}/{g}/{h} {label}: the same 50 tasks");
            };
            match method {
                Method::MgpMbtl if !(f == "Constant" && h == "L1 norm") => {
                    // Not a Mountain row: after the switch to GP-MBTL, near-tied acquisitions may be ordered
                    // differently by another GP implementation; the clustering prefix agrees.
                    assert_eq!(got[..6], want[..6], "{f}/{g}/{h} {label}");
                }
                Method::SequentialOracle => {
                    // Tied greedy gains go to the lowest index here and to rounding noise in the
                    // reference; a tie swaps two tasks without changing any V_k.
                    let curve: Vec<f64> = curves
                        .iter()
                        .filter(|r| {
                            r["f_x"] == f && r["g_y"] == g && r["h_xy"] == h && r["method"] == label
                        })
                        .map(|r| r["value"].parse().unwrap())
                        .collect();
                    for (k, (a, b)) in result.curve.iter().zip(&curve).enumerate() {
                        assert!(
                            (a - b).abs() < 1e-6,
                            "{f}/{g}/{h} {label} k={}: {a} vs {b}",
                            k + 1
                        );
                    }
                    same_set(got);
                }
                _ => {
                    // Exact ties late in the run (equal clustering costs) go to the lowest index
                    // here and to rounding noise in the reference.
                    assert_eq!(got[..40], want[..40], "{f}/{g}/{h} {label}");
                    same_set(got);
                }
            }
        }
    }
}

/// GP-MBTL's `V_50` with NumPy 2.4.6's first tied target (17) at step 3.
fn gp_with_numpy_tie(m: &TransferMatrix) -> f64 {
    let space = spec(TIE_CELL.0, TIE_CELL.1, TIE_CELL.2).task_space();
    let mut s = GpMbtl::new().with_tie_preference(vec![17]);
    run_selection(&mut s, &mut &*m, &space, 50).unwrap().curve[49]
}

#[test]
fn gp_mbtl_tie_order_explains_the_constant_linear_l1_cell() {
    // NumPy 2.4.6's argsort (AVX-512) of the best-so-far vector puts task 17 first among the 126
    // tied worst-served targets at step 3; with that one tie replayed, mbtl's GP-MBTL chooses
    // the reference's 50 tasks exactly and lands on the published value.
    let (f, g, h) = TIE_CELL;
    let spec = spec(f, g, h);
    let m = synthetic_trials(&spec, 1).unwrap();
    let mut s = GpMbtl::new().with_tie_preference(vec![17]);
    let sel = run_selection(&mut s, &mut &m[0], &spec.task_space(), 50).unwrap();
    let want: Vec<usize> = read_table("sdmbtl/synthetic3d_noise0_selections.csv")
        .iter()
        .filter(|r| {
            r["f_x"] == f
                && r["g_y"] == g
                && r["h_xy"] == h
                && r["method"] == "GP-MBTL (numpy re-statement)"
        })
        .map(|r| r["task_index"].parse().unwrap())
        .collect();
    assert_eq!(sel.order, want);
    assert!(
        (sel.curve[49] - 0.7110).abs() <= 0.0005,
        "{}",
        sel.curve[49]
    );
}
