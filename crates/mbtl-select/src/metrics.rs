//! Metrics of a selection (mbtl-spec §4.4, sdmbtl-spec §5.1).

/// Independent training: every task trains its own policy (`mean_j J[j, j]`).
pub fn independent(matrix: &crate::TransferMatrix) -> f64 {
    matrix.diagonal().iter().sum::<f64>() / matrix.n() as f64
}

/// Oracle transfer: every target uses the best of all sources (`mean_j max_i J[i, j]`).
pub fn oracle_transfer(matrix: &crate::TransferMatrix) -> f64 {
    let n = matrix.n();
    (0..n)
        .map(|j| {
            (0..n)
                .map(|i| matrix.get(i, j))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum::<f64>()
        / n as f64
}

/// Multi-task training from its per-target performance vector.
pub fn multitask(per_target: &[f64]) -> f64 {
    per_target.iter().sum::<f64>() / per_target.len() as f64
}

/// The `Average` column of MBTL's result files: the mean of the curve over k.
pub fn average(curve: &[f64]) -> f64 {
    curve.iter().sum::<f64>() / curve.len() as f64
}

/// Sample efficiency `N / k*`, `k*` the first (1-based) k where the curve reaches `reference`
/// (the better of Independent and Multi-task); `None` if it never does.
pub fn sample_efficiency(curve: &[f64], n_tasks: usize, reference: f64) -> Option<(usize, f64)> {
    let k = curve.iter().position(|&v| v >= reference)? + 1;
    Some((k, n_tasks as f64 / k as f64))
}

/// SD-MBTL's aggregated metric for one setting: Random = 0, Myopic oracle = 1.
pub fn aggregated(value: f64, random: f64, oracle: f64) -> f64 {
    (value - random) / (oracle - random)
}

/// Mean and 95 % confidence half-width `1.96·sd/√n` (sample sd, ddof 1).
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * var.sqrt() / n.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efficiency_and_ci() {
        assert_eq!(
            sample_efficiency(&[0.2, 0.5, 0.9, 0.95], 100, 0.9),
            Some((3, 100.0 / 3.0))
        );
        assert_eq!(sample_efficiency(&[0.2], 100, 0.9), None);
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((h - 1.96 * (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
        assert_eq!(aggregated(0.75, 0.5, 1.0), 0.5);
    }
}
