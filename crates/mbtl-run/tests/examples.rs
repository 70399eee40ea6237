//! Every experiment file under `examples/` and `examples/external/` parses, resolves and survives
//! the store's canonical round trip (the README points users at them). The traffic-signal
//! environment is registered here as the `mbtl` binary registers it; the double integrator's
//! experiment needs its crate's environment registered, and that crate's tests run it.

use std::path::Path;

use mbtl_run::config::Experiment;

#[test]
fn every_example_experiment_resolves() {
    mbtl_traffic::env::register().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    let entries = ["", "external", "external/sb3"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap());
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let exp = Experiment::read(&path).unwrap();
            let plan = exp
                .plan(&path.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(plan.n_tasks() >= plan.options.budget, "{}", path.display());
            // The store keeps the canonical text; it must read back as the same experiment.
            let back = Experiment::parse(&exp.canonical(), "canonical").unwrap();
            assert_eq!(back, exp, "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 9, "examples found: {seen}");
}
