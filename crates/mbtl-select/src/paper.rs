//! The MBTL paper's published curves, to set a run's beside them.
//!
//! The numbers are digitized from the authors' result figures (±0.005; mbtl-spec §5.3): for
//! each panel, the mean normalised generalized performance `V_k` of every method after `k`
//! trained tasks, and from the zero-shot bar chart (§5.2) the Oracle-transfer level of the
//! panels it covers. They ship inside the crate, so a report can compare without the data
//! folder. Method names map onto mbtl's strategies: MBTL → `mbtl-gp`, Greedy → `pseudogreedy`
//! (the authors' "greedy" is the pseudo-greedy of mbtl-spec §2.6), Seq. Oracle →
//! `sequential-oracle`.

use std::fmt::Write as _;

use crate::replay::StrategyName;
use crate::{Result, SelectError};

const CURVES: &str = include_str!("../data/learning_curves_digitized.csv");
const BARS: &str = include_str!("../data/zero_shot_bars_digitized.csv");

/// The `k` at which the paper's side-by-side tables are printed (mbtl-spec §5.3).
pub const TABLE_KS: [usize; 7] = [1, 2, 3, 5, 10, 20, 40];

/// One digitized panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperPanel {
    pub name: String,
    /// Method columns, in the file's order, with mbtl's strategy for each.
    pub methods: Vec<(String, StrategyName)>,
    /// `(k, value per method)`; `None` where the figure hid the line.
    pub rows: Vec<(usize, Vec<Option<f64>>)>,
    /// The zero-shot bar chart's Oracle-transfer level, where the chart has the panel.
    pub oracle: Option<f64>,
}

/// The paper's method name as mbtl's strategy.
fn strategy_of(method: &str) -> Option<StrategyName> {
    Some(match method {
        "Random" => StrategyName::Random,
        "Independent" => StrategyName::Independent,
        "Multitask" => StrategyName::Multitask,
        "Greedy" => StrategyName::Pseudogreedy,
        "Equidistant" => StrategyName::Equidistant,
        "MBTL" => StrategyName::MbtlGp,
        "SeqOracle" => StrategyName::SequentialOracle,
        _ => return None,
    })
}

/// The bar chart's (benchmark, variation) of a panel.
fn bar_of(panel: &str) -> Option<(&'static str, &'static str)> {
    Some(match panel {
        "CartPole_MassCart" => ("CartPole", "mass of cart"),
        "Pendulum_Timestep" => ("Pendulum", "timestep"),
        "TrafficSignal_Inflow" => ("TrafficSignalControl", "inflow"),
        "EcoDriving_GreenPhase" => ("EcoDriving", "green phase"),
        _ => return None,
    })
}

/// Names of every digitized panel.
pub fn panels() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in CURVES.lines().skip(1) {
        if let Some(name) = line.split(',').next() {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The digitized panel `name` (e.g. `CartPole_MassCart`).
pub fn panel(name: &str) -> Result<PaperPanel> {
    let mut lines = CURVES.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    // panel, k, samples, then one column per method.
    let methods: Vec<(String, StrategyName)> = header[3..]
        .iter()
        .map(|m| {
            let s = strategy_of(m).expect("every digitized method has a strategy");
            (m.to_string(), s)
        })
        .collect();
    let mut rows = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[0] != name {
            continue;
        }
        let k: usize = cells[1].parse().expect("digitized k is an integer");
        let values: Vec<Option<f64>> = cells[3..]
            .iter()
            .map(|c| c.trim().parse::<f64>().ok())
            .collect();
        if values.iter().any(Option::is_some) {
            rows.push((k, values));
        }
    }
    if rows.is_empty() {
        return Err(SelectError::Invalid {
            what: "paper panel",
            value: name.to_string(),
            expected: format!("one of the digitized panels: {}", panels().join(", ")),
        });
    }
    let oracle = bar_of(name).and_then(|(bench, variation)| {
        BARS.lines().skip(1).find_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0] == bench && c[1] == variation)
                .then(|| c[4].parse().ok())
                .flatten()
        })
    });
    Ok(PaperPanel {
        name: name.to_string(),
        methods,
        rows,
        oracle,
    })
}

impl PaperPanel {
    /// The paper's value of `strategy` at `k`, if digitized.
    pub fn value(&self, strategy: StrategyName, k: usize) -> Option<f64> {
        let col = self.methods.iter().position(|(_, s)| *s == strategy)?;
        self.rows
            .iter()
            .find(|(rk, _)| *rk == k)
            .and_then(|(_, v)| v[col])
    }

    /// The paper's curve of `strategy`: `(k, V_k)` where digitized.
    pub fn curve(&self, strategy: StrategyName) -> Vec<(usize, f64)> {
        let Some(col) = self.methods.iter().position(|(_, s)| *s == strategy) else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter_map(|(k, v)| v[col].map(|x| (*k, x)))
            .collect()
    }

    /// A side-by-side table, as text: for each strategy in `ours` (name, mean curve over
    /// trials, `V_k` at `k = 1…`), "mbtl / paper" at [`TABLE_KS`] up to the longest curve,
    /// and the constant levels (Independent, Multi-task, Oracle) against the paper's.
    pub fn side_by_side(&self, ours: &[(StrategyName, Vec<f64>)]) -> String {
        let longest = ours.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
        let ks: Vec<usize> = TABLE_KS.iter().copied().filter(|&k| k <= longest).collect();
        let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
        let mut out = String::new();
        let _ = write!(out, "{:<18}", format!("mbtl / {}", self.name));
        for k in &ks {
            let _ = write!(out, " {:>13}", format!("k={k}"));
        }
        out.push('\n');
        for (s, curve) in ours {
            let constant = matches!(
                s,
                StrategyName::Independent | StrategyName::Multitask | StrategyName::Oracle
            );
            let _ = write!(out, "{:<18}", s.name());
            if constant {
                let paper = match s {
                    StrategyName::Oracle => self.oracle,
                    _ => self.curve(*s).first().map(|p| p.1),
                };
                let _ = write!(
                    out,
                    " {:>13}",
                    format!("{} / {}", cell(curve.first().copied()), cell(paper))
                );
                out.push_str("  (constant)\n");
                continue;
            }
            for &k in &ks {
                let _ = write!(
                    out,
                    " {:>13}",
                    format!(
                        "{} / {}",
                        cell(curve.get(k - 1).copied()),
                        cell(self.value(*s, k))
                    )
                );
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digitized_cartpole_panel_reads_as_published() {
        let p = panel("CartPole_MassCart").unwrap();
        // mbtl-spec §5.3's table.
        assert_eq!(p.value(StrategyName::MbtlGp, 1), Some(0.278));
        assert_eq!(p.value(StrategyName::SequentialOracle, 2), Some(0.938));
        assert_eq!(p.value(StrategyName::Pseudogreedy, 40), Some(0.979));
        assert_eq!(
            p.value(StrategyName::Independent, 40),
            None,
            "hidden in the figure"
        );
        assert_eq!(p.oracle, Some(0.999));
        assert_eq!(panel("Pendulum_Timestep").unwrap().oracle, Some(0.888));
        assert_eq!(panel("HalfCheetah_Friction").unwrap().oracle, None);
        let e = panel("CartPole_Masscart").unwrap_err().to_string();
        assert!(e.contains("CartPole_MassCart"), "{e}");
        let t = p.side_by_side(&[
            (StrategyName::MbtlGp, vec![0.5, 0.75, 1.0]),
            (StrategyName::Independent, vec![0.9; 3]),
        ]);
        assert!(t.contains("0.500 / 0.278"), "{t}");
        assert!(t.contains("1.000 / 0.722"), "{t}");
        assert!(t.contains("0.900 / 0.946"), "{t}");
        assert!(!t.contains("k=5"), "only k within the curves: {t}");
    }
}
