//! Progress bars on a terminal (indicatif); nothing on a pipe, where the commands print plain,
//! parseable lines instead.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mbtl_rl::learner::Budget;

/// Whether stderr is a terminal.
pub(crate) fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar over a training's budget, environment steps or episodes (hidden unless stderr is a
/// terminal).
pub(crate) fn training(budget: Budget) -> ProgressBar {
    if !on_terminal() {
        return ProgressBar::hidden();
    }
    let (total, template) = match budget {
        Budget::Steps(n) => (
            n,
            "{elapsed_precise} [{bar:36}] {pos}/{len} steps ({per_sec}, eta {eta}) {msg}",
        ),
        Budget::Episodes(n) => (
            n,
            "{elapsed_precise} [{bar:36}] {pos}/{len} episodes (eta {eta}) {msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A bar over training jobs; `total` when known (a full matrix), a counter otherwise (online
/// runs decide as they go).
pub(crate) fn jobs(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !on_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{elapsed_precise} [{bar:36}] {pos}/{len} trainings (eta {eta}) {msg}"
    } else {
        "{elapsed_precise} {spinner} {pos} trainings {msg}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
