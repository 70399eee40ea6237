//! Bring your own trainer: MBTL-GP chooses which contexts to train, your code trains a policy
//! on each chosen context and evaluates it on every target. Here the "trainer" is a stand-in
//! function (a policy trained at context x scores 1 − 0.8·|x − x'| on target x', a little worse
//! far from the middle); replace it with your RL stack.
//!
//! Run: `cargo run --release -p mbtl-select --example own_trainer`

use mbtl_select::{
    run_selection, FnEvaluator, GapModel, MbtlGp, MbtlGpOptions, SelectError, TaskSpace,
};

fn main() -> Result<(), SelectError> {
    // 40 tasks: a context (say, a pole length) from 0.25 to 2.0.
    let contexts: Vec<f64> = (0..40).map(|i| 0.25 + 1.75 * i as f64 / 39.0).collect();
    let space = TaskSpace::points(&contexts.iter().map(|&c| vec![c]).collect::<Vec<_>>())?;
    let mut trainings = 0;
    let mut evaluator = FnEvaluator {
        n: contexts.len(),
        f: |source: usize| {
            trainings += 1;
            let xs = contexts[source];
            let quality = 1.0 - 0.1 * (xs - 1.1).abs();
            Ok(contexts
                .iter()
                .map(|&xt| (quality - 0.8 * (xs - xt).abs()).max(0.0))
                .collect())
        },
    };
    // Physical coordinates: the gap slope is per unit of context (performance lost per metre).
    let mut strategy = MbtlGp::new(MbtlGpOptions {
        gap: GapModel::Fixed(0.8),
        ..Default::default()
    });
    let selection = run_selection(&mut strategy, &mut evaluator, &space, 5)?;
    for (k, (&task, v)) in selection.order.iter().zip(&selection.curve).enumerate() {
        println!(
            "step {}: train context {:.3} → mean best performance over all 40 targets {v:.4}",
            k + 1,
            contexts[task]
        );
    }
    println!("{trainings} trainings instead of 40");
    Ok(())
}
