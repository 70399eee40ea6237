//! Every recorded reference trajectory replays bit for bit under `carl` semantics.

use std::path::{Path, PathBuf};

use mbtl_env::trajectory::{replay, Trajectory};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-trajectories")
}

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    files
}

#[test]
fn all_fifteen_reference_trajectories_replay_exactly() {
    let files = csv_files(&fixtures());
    assert_eq!(files.len(), 15, "5 environments × 3 contexts");
    let mut failures = Vec::new();
    for file in &files {
        let traj = Trajectory::load(file).unwrap();
        let report = replay(&traj).unwrap();
        assert!(
            report.steps > 100,
            "{}: {} steps",
            file.display(),
            report.steps
        );
        if !report.exact() {
            failures.push(format!("{}: {:?}", file.display(), report.columns));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_shared_copy_matches_the_fixture_when_present() {
    // CI has ../shared beside the checkout; the fixture must not drift from it.
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/reference-trajectories");
    assert!(
        shared.is_dir(),
        "CI provides ../shared beside the checkout: {}",
        shared.display()
    );
    for file in csv_files(&shared) {
        let ours = fixtures().join(file.file_name().unwrap());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            std::fs::read(&ours).unwrap(),
            "{}",
            file.display()
        );
    }
}

#[test]
fn a_perturbed_recording_is_reported_with_its_column_and_step() {
    let dir = std::env::temp_dir().join(format!("mbtl-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = fixtures();
    std::fs::copy(src.join("manifest.json"), dir.join("manifest.json")).unwrap();
    let text = std::fs::read_to_string(src.join("cartpole__default.csv")).unwrap();
    // Change the recorded reward of step 5 (line 6, after the header) from 1.0 to 0.5.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[6].split(',').map(String::from).collect();
    let reward_col = cells.len() - 3;
    cells[reward_col] = "0.5".into();
    lines[6] = cells.join(",");
    std::fs::write(dir.join("cartpole__default.csv"), lines.join("\n")).unwrap();
    let report = replay(&Trajectory::load(&dir.join("cartpole__default.csv")).unwrap()).unwrap();
    assert!(!report.exact());
    let reward = report
        .columns
        .iter()
        .find(|c| c.column == "reward")
        .unwrap();
    assert_eq!(reward.mismatches, 1);
    assert_eq!(reward.first_mismatch_step, Some(5));
    assert_eq!(reward.max_abs_diff, 0.5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mbtl_scaled_grids_equal_the_authors_context_values() {
    // shared/data/mbtl/config/context_grids.csv: task index → value from the authors' Slurm
    // scripts (`s × base` with bc, s = 0.1 … 10).
    use mbtl_env::{Context, EnvKind, Semantics, Spacing};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/mbtl/config/context_grids.csv");
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut by_variation: std::collections::BTreeMap<(String, String), Vec<(usize, f64)>> =
        Default::default();
    for rec in reader.records() {
        let rec = rec.unwrap();
        by_variation
            .entry((rec[0].to_string(), rec[1].to_string()))
            .or_default()
            .push((rec[3].parse().unwrap(), rec[4].parse().unwrap()));
    }
    // (family, variation, env, feature): MBTL's CARL 0.1 names mapped to CARL 1.1.1 features.
    let cases = [
        ("cartpole", "masscart", EnvKind::CartPole, "masscart"),
        ("cartpole", "lenpole", EnvKind::CartPole, "length"),
        ("cartpole", "masspole", EnvKind::CartPole, "masspole"),
        ("pendulum", "dt", EnvKind::Pendulum, "dt"),
        ("pendulum", "l", EnvKind::Pendulum, "l"),
        ("pendulum", "m", EnvKind::Pendulum, "m"),
    ];
    for (family, variation, kind, feature) in cases {
        let rows = &by_variation[&(family.to_string(), variation.to_string())];
        let default = Context::default_for(kind, Semantics::Physical)
            .get(feature)
            .unwrap();
        let values = Spacing::Scaled { base: None, n: 100 }
            .values(default)
            .unwrap();
        assert_eq!(rows.len(), 100, "{family}/{variation}");
        for &(i, v) in rows {
            assert_eq!(values[i], v, "{family}/{variation} task {i}");
        }
    }
}
