//! `mbtl._mbtl`: the Rust side of the Python package. Thin: every type here wraps one of
//! `mbtl-select` or `mbtl-env`, converts NumPy arrays at the edge, and turns library errors
//! into Python exceptions with the library's message (the same text the CLI prints). The
//! Pythonic surface (keyword arguments, Gymnasium classes) lives in `mbtl/*.py`.

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use mbtl_env::{
    Action, ActionSpace, BatchActions, BatchEnv, BatchOutput, Context, ContextObs, Env, EnvRef,
    Semantics,
};
use mbtl_select::replay::{replay as replay_all, Normalization, ReplayOptions, StrategyName};
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};
use mbtl_select::{
    metrics, Acquisition, Candidates, GapModel, NanPolicy, Selector, SelectorState, TaskSpace,
    TransferMatrix,
};

/// A Python `ValueError` with the whole chain of causes ("outer: inner: …").
fn value_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> PyErr {
    PyValueError::new_err(mbtl_select::error_chain(&*e.into()))
}

// ---------------------------------------------------------------- selection

/// The task space from exactly one of `n_tasks`, `grid` or `coords`.
fn task_space(
    n_tasks: Option<usize>,
    grid: Option<Vec<usize>>,
    coords: Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<TaskSpace> {
    match (n_tasks, grid, coords) {
        (Some(n), None, None) => {
            if n == 0 {
                return Err(value_err("n_tasks must be at least 1"));
            }
            Ok(TaskSpace::indices(n))
        }
        (None, Some(g), None) => TaskSpace::grid(&g).map_err(value_err),
        (None, None, Some(c)) => {
            let a = c.as_array();
            let points: Vec<Vec<f64>> = a.rows().into_iter().map(|r| r.to_vec()).collect();
            TaskSpace::points(&points).map_err(value_err)
        }
        _ => Err(value_err("give exactly one of n_tasks, grid or coords")),
    }
}

fn options(
    budget: usize,
    seed: u32,
    gap: &str,
    acquisition: &str,
    candidates: &str,
) -> PyResult<ReplayOptions> {
    Ok(ReplayOptions {
        budget,
        seed,
        gap: gap.parse::<GapModel>().map_err(value_err)?,
        acquisition: acquisition.parse::<Acquisition>().map_err(value_err)?,
        candidates: candidates.parse::<Candidates>().map_err(value_err)?,
        ..Default::default()
    })
}

/// Ask/tell selection (see `mbtl.Selector`).
#[pyclass(module = "mbtl._mbtl", name = "Selector", unsendable)]
struct PySelector {
    inner: Selector,
}

#[pymethods]
impl PySelector {
    #[new]
    #[pyo3(signature = (strategy, budget, n_tasks=None, grid=None, coords=None, seed=42, gap="fixed:0.005", acquisition="sqrt-log", candidates="all", trial=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        strategy: &str,
        budget: usize,
        n_tasks: Option<usize>,
        grid: Option<Vec<usize>>,
        coords: Option<PyReadonlyArray2<'_, f64>>,
        seed: u32,
        gap: &str,
        acquisition: &str,
        candidates: &str,
        trial: usize,
    ) -> PyResult<PySelector> {
        let name: StrategyName = strategy.parse().map_err(value_err)?;
        let space = task_space(n_tasks, grid, coords)?;
        let opts = options(budget, seed, gap, acquisition, candidates)?;
        Ok(PySelector {
            inner: Selector::new(name, space, opts, trial).map_err(value_err)?,
        })
    }

    fn ask(&mut self) -> PyResult<Option<usize>> {
        self.inner.ask().map_err(value_err)
    }

    #[pyo3(signature = (task, row=None))]
    fn tell(&mut self, task: usize, row: Option<PyReadonlyArray1<'_, f64>>) -> PyResult<f64> {
        let row = match row {
            Some(r) => r.as_array().to_vec(),
            None => self
                .inner
                .known_row(task)
                .map(<[f64]>::to_vec)
                .ok_or_else(|| value_err(format!("task {task} was never told: give its row")))?,
        };
        Ok(self.inner.tell(task, row).map_err(value_err)?.value)
    }

    /// The coordinates of `task` in the task space (its context, for a `coords` space).
    fn coord(&self, task: usize) -> PyResult<Vec<f64>> {
        if task >= self.inner.n_tasks() {
            return Err(value_err(format!(
                "task {task} is out of range: the space has {} tasks",
                self.inner.n_tasks()
            )));
        }
        Ok(self.inner.space().coord(task).to_vec())
    }

    fn known_row<'py>(&self, py: Python<'py>, task: usize) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner
            .known_row(task)
            .map(|r| r.to_vec().into_pyarray(py))
    }

    #[getter]
    fn curve<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.curve().to_vec().into_pyarray(py)
    }

    #[getter]
    fn order(&self) -> Vec<usize> {
        self.inner.order().to_vec()
    }

    #[getter]
    fn done(&self) -> bool {
        self.inner.done()
    }

    #[getter]
    fn n_tasks(&self) -> usize {
        self.inner.n_tasks()
    }

    #[getter]
    fn budget(&self) -> usize {
        self.inner.budget()
    }

    #[getter]
    fn strategy(&self) -> &'static str {
        self.inner.strategy().name()
    }

    #[getter]
    fn modes(&self) -> Vec<String> {
        self.inner.selection().modes
    }

    /// The state as JSON text (settings and every step told).
    fn state(&self) -> String {
        serde_json::to_string(&self.inner.state()).expect("states serialise")
    }

    #[staticmethod]
    fn from_state(text: &str) -> PyResult<PySelector> {
        let state: SelectorState =
            serde_json::from_str(text).map_err(|e| value_err(format!("selector state: {e}")))?;
        Ok(PySelector {
            inner: Selector::restore(&state).map_err(value_err)?,
        })
    }
}

fn matrices_from(list: Vec<PyReadonlyArray2<'_, f64>>) -> PyResult<Vec<TransferMatrix>> {
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let shape = m.shape();
            if shape[0] != shape[1] {
                return Err(value_err(format!(
                    "matrix {i}: expected a square N×N array, got {}×{}",
                    shape[0], shape[1]
                )));
            }
            let data: Vec<f64> = m.as_array().iter().copied().collect();
            TransferMatrix::new(shape[0], data).map_err(|e| value_err(format!("matrix {i}: {e}")))
        })
        .collect()
}

/// Every strategy on the matrices; the CLI's `--json` list, as JSON text.
#[pyfunction]
#[pyo3(signature = (matrices, strategies, budget, n_tasks=None, grid=None, coords=None, normalize=None, negate=false, seed=42, gap="fixed:0.005", acquisition="sqrt-log", candidates="all", random_repeats=1, multitask=None))]
#[allow(clippy::too_many_arguments)]
fn replay(
    matrices: Vec<PyReadonlyArray2<'_, f64>>,
    strategies: Option<Vec<String>>,
    budget: usize,
    n_tasks: Option<usize>,
    grid: Option<Vec<usize>>,
    coords: Option<PyReadonlyArray2<'_, f64>>,
    normalize: Option<&str>,
    negate: bool,
    seed: u32,
    gap: &str,
    acquisition: &str,
    candidates: &str,
    random_repeats: usize,
    multitask: Option<PyReadonlyArray1<'_, f64>>,
) -> PyResult<String> {
    let mut ms = matrices_from(matrices)?;
    let n = ms
        .first()
        .map(TransferMatrix::n)
        .ok_or_else(|| value_err("no matrix given"))?;
    let mut multitask = multitask.map(|m| m.as_array().to_vec());
    // The same normalisation as `mbtl replay`, the multi-task vector on the same scale.
    let normalization: Normalization = normalize.unwrap_or("none").parse().map_err(value_err)?;
    let rescale = normalization.apply(&mut ms, negate).map_err(value_err)?;
    if let Some(v) = multitask.as_mut() {
        v.iter_mut().for_each(|x| *x = rescale.map(*x));
    }
    let space = match (n_tasks, grid, coords) {
        (None, None, None) => TaskSpace::indices(n),
        (n_tasks, grid, coords) => task_space(n_tasks, grid, coords)?,
    };
    let names: Vec<StrategyName> = match strategies {
        Some(list) => list
            .iter()
            .map(|s| s.parse().map_err(value_err))
            .collect::<PyResult<_>>()?,
        None => StrategyName::defaults(space.dim()),
    };
    let mut opts = options(budget, seed, gap, acquisition, candidates)?;
    opts.random_repeats = random_repeats;
    opts.multitask = multitask;
    let results = replay_all(&ms, &space, &names, &opts).map_err(value_err)?;
    Ok(serde_json::to_string(&results).expect("results serialise"))
}

#[pyfunction]
#[pyo3(signature = (path, nan="refuse"))]
fn read_matrix<'py>(py: Python<'py>, path: &str, nan: &str) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let policy: NanPolicy = nan.parse().map_err(value_err)?;
    let m = TransferMatrix::read(std::path::Path::new(path), policy).map_err(value_err)?;
    let n = m.n();
    let arr = numpy::ndarray::Array2::from_shape_vec((n, n), m.data().to_vec())
        .expect("an N×N matrix has N² values");
    Ok(arr.into_pyarray(py))
}

#[pyfunction]
fn write_matrix(path: &str, matrix: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
    let m = matrices_from(vec![matrix])?.remove(0);
    m.write(std::path::Path::new(path)).map_err(value_err)
}

#[pyfunction]
#[pyo3(signature = (family, f, g, h, noise, trial))]
fn synth<'py>(
    py: Python<'py>,
    family: &str,
    f: &str,
    g: &str,
    h: &str,
    noise: f64,
    trial: u32,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let spec = SynthSpec {
        family: family.parse::<Family>().map_err(value_err)?,
        f: f.parse::<SourceTerm>().map_err(value_err)?,
        g: g.parse::<TargetTerm>().map_err(value_err)?,
        h: h.parse::<GapTerm>().map_err(value_err)?,
        noise,
    };
    let m = spec.generate(trial).map_err(value_err)?;
    let n = m.n();
    let arr = numpy::ndarray::Array2::from_shape_vec((n, n), m.data().to_vec())
        .expect("an N×N matrix has N² values");
    Ok(arr.into_pyarray(py))
}

#[pyfunction]
fn independent(matrix: PyReadonlyArray2<'_, f64>) -> PyResult<f64> {
    Ok(metrics::independent(&matrices_from(vec![matrix])?[0]))
}

#[pyfunction]
fn oracle(matrix: PyReadonlyArray2<'_, f64>) -> PyResult<f64> {
    Ok(metrics::oracle_transfer(&matrices_from(vec![matrix])?[0]))
}

#[pyfunction]
fn curve_of(matrix: PyReadonlyArray2<'_, f64>, order: Vec<usize>) -> PyResult<Vec<f64>> {
    let m = matrices_from(vec![matrix])?.remove(0);
    if let Some(t) = order.iter().find(|&&t| t >= m.n()) {
        return Err(value_err(format!(
            "task {t} is out of range: the matrix has {} tasks",
            m.n()
        )));
    }
    Ok(mbtl_select::curve_of(&m, &order))
}

#[pyfunction]
fn average(curve: Vec<f64>) -> f64 {
    metrics::average(&curve)
}

#[pyfunction]
fn sample_efficiency(curve: Vec<f64>, n_tasks: usize, reference: f64) -> Option<(usize, f64)> {
    metrics::sample_efficiency(&curve, n_tasks, reference)
}

#[pyfunction]
fn aggregated(value: f64, random: f64, oracle: f64) -> f64 {
    metrics::aggregated(value, random, oracle)
}

#[pyfunction]
fn mean_ci95(values: Vec<f64>) -> (f64, f64) {
    metrics::mean_ci95(&values)
}

// ---------------------------------------------------------------- environments

fn context_of(
    name: &str,
    semantics: &str,
    context: Option<&Bound<'_, PyDict>>,
) -> PyResult<Context> {
    let env = EnvRef::lookup(name).map_err(value_err)?;
    let semantics: Semantics = semantics.parse().map_err(value_err)?;
    let mut overrides: Vec<(String, f64)> = Vec::new();
    if let Some(d) = context {
        for (k, v) in d.iter() {
            let key: String = k.extract()?;
            let value: f64 = v.extract().map_err(|_| {
                value_err(format!(
                    "context feature '{key}': expected a number, got {v}"
                ))
            })?;
            overrides.push((key, value));
        }
    }
    Context::new(&env, semantics, &overrides).map_err(value_err)
}

fn context_obs(features: Option<Vec<String>>, ctx: &Context) -> ContextObs {
    match features {
        None => ContextObs::Hidden,
        Some(f) if f.len() == 1 && f[0] == "all" => ContextObs::all(ctx),
        Some(f) => ContextObs::Appended(f),
    }
}

fn space_dict<'py>(py: Python<'py>, space: &ActionSpace) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match space {
        ActionSpace::Discrete { n } => {
            d.set_item("kind", "discrete")?;
            d.set_item("n", *n)?;
        }
        ActionSpace::Continuous { low, high } => {
            d.set_item("kind", "continuous")?;
            d.set_item("low", low.clone())?;
            d.set_item("high", high.clone())?;
        }
    }
    Ok(d)
}

fn context_dict<'py>(py: Python<'py>, ctx: &Context) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in ctx.iter() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// One instance (see `mbtl.envs.make`).
#[pyclass(module = "mbtl._mbtl", name = "Env")]
struct PyEnv {
    env: Env,
    obs: Vec<f32>,
}

#[pymethods]
impl PyEnv {
    #[new]
    #[pyo3(signature = (name, context=None, semantics="physical", seed=0, context_obs=None, max_episode_steps=None))]
    fn new(
        name: &str,
        context: Option<&Bound<'_, PyDict>>,
        semantics: &str,
        seed: u64,
        context_obs: Option<Vec<String>>,
        max_episode_steps: Option<u32>,
    ) -> PyResult<PyEnv> {
        let ctx = context_of(name, semantics, context)?;
        let obs = self::context_obs(context_obs, &ctx);
        let mut env = Env::new(ctx, seed)
            .map_err(value_err)?
            .with_context_obs(obs)
            .map_err(value_err)?;
        if let Some(m) = max_episode_steps {
            env = env.with_max_episode_steps(m);
        }
        let obs = vec![0.0; env.obs_dim()];
        Ok(PyEnv { env, obs })
    }

    /// Reseeds (when `seed` is given) and starts an episode; returns the observation.
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(&mut self, py: Python<'py>, seed: Option<u64>) -> Bound<'py, PyArray1<f32>> {
        if let Some(s) = seed {
            self.env.reseed(s);
        }
        self.env.reset();
        self.env.observe(&mut self.obs);
        self.obs.clone().into_pyarray(py)
    }

    /// Starts an episode from an explicit internal state (conformance replays).
    fn reset_to<'py>(
        &mut self,
        py: Python<'py>,
        state: Vec<f64>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        self.env.reset_to(&state).map_err(value_err)?;
        self.env.observe(&mut self.obs);
        Ok(self.obs.clone().into_pyarray(py))
    }

    /// One step: `(obs, reward, terminated, truncated)`. `action`: an int, or a sequence of
    /// floats for continuous actions.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, f64, bool, bool)> {
        let tr = if self.env.action_space().is_discrete() {
            let a: i64 = action
                .extract()
                .or_else(|_| action.call_method0("item").and_then(|x| x.extract()))
                .map_err(|_| {
                    value_err(format!(
                        "{}: expected an integer action, got {action}",
                        self.env.env()
                    ))
                })?;
            let a = u32::try_from(a).map_err(|_| {
                value_err(format!("{}: action {a} is out of range", self.env.env()))
            })?;
            self.env.step(Action::Discrete(a))
        } else {
            let a: Vec<f32> = action
                .extract()
                .or_else(|_| action.call_method0("tolist").and_then(|x| x.extract()))
                .or_else(|_| action.extract::<f32>().map(|x| vec![x]))
                .map_err(|_| {
                    value_err(format!(
                        "{}: expected a sequence of floats, got {action}",
                        self.env.env()
                    ))
                })?;
            self.env.step(Action::Continuous(&a))
        }
        .map_err(value_err)?;
        self.env.observe(&mut self.obs);
        Ok((
            self.obs.clone().into_pyarray(py),
            tr.reward,
            tr.terminated,
            tr.truncated,
        ))
    }

    /// The finished episode's score where the environment declares one (`traffic-signal`:
    /// the negated average waiting total of the authors' transfer metric); `None` otherwise.
    #[getter]
    fn score(&self) -> Option<f64> {
        self.env.score()
    }

    #[getter]
    fn state(&self) -> Vec<f64> {
        self.env.state().to_vec()
    }

    #[getter]
    fn obs_dim(&self) -> usize {
        self.env.obs_dim()
    }

    #[getter]
    fn max_episode_steps(&self) -> u32 {
        self.env.max_episode_steps()
    }

    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.env.action_space())
    }

    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        context_dict(py, self.env.context())
    }

    #[getter]
    fn name(&self) -> String {
        self.env.env().name().to_string()
    }

    fn __repr__(&self) -> String {
        format!("<mbtl Env {}>", self.env.context())
    }
}

/// Many instances stepped in Rust (see `mbtl.envs.make_vec`).
#[pyclass(module = "mbtl._mbtl", name = "VecEnv")]
struct PyVecEnv {
    batch: BatchEnv,
    out: BatchOutput,
    contexts: Vec<Context>,
    obs_features: Option<Vec<String>>,
    seed: u64,
    max_episode_steps: Option<u32>,
}

fn build_batch(
    contexts: &[Context],
    seed: u64,
    features: &Option<Vec<String>>,
    max: Option<u32>,
) -> PyResult<BatchEnv> {
    let obs = context_obs(features.clone(), &contexts[0]);
    let mut envs = Vec::with_capacity(contexts.len());
    for (i, c) in contexts.iter().enumerate() {
        let mut e = Env::new(c.clone(), mbtl_env::derive_seed(seed, i as u64))
            .map_err(value_err)?
            .with_context_obs(obs.clone())
            .map_err(value_err)?;
        if let Some(m) = max {
            e = e.with_max_episode_steps(m);
        }
        envs.push(e);
    }
    BatchEnv::from_envs(envs).map_err(value_err)
}

#[pymethods]
impl PyVecEnv {
    #[new]
    #[pyo3(signature = (name, contexts, semantics="physical", seed=0, context_obs=None, max_episode_steps=None))]
    fn new(
        name: &str,
        contexts: Vec<Option<Bound<'_, PyDict>>>,
        semantics: &str,
        seed: u64,
        context_obs: Option<Vec<String>>,
        max_episode_steps: Option<u32>,
    ) -> PyResult<PyVecEnv> {
        if contexts.is_empty() {
            return Err(value_err(
                "make_vec needs at least one environment (num_envs ≥ 1)",
            ));
        }
        let contexts: Vec<Context> = contexts
            .iter()
            .map(|c| context_of(name, semantics, c.as_ref()))
            .collect::<PyResult<_>>()?;
        let batch = build_batch(&contexts, seed, &context_obs, max_episode_steps)?;
        let out = batch.output();
        Ok(PyVecEnv {
            batch,
            out,
            contexts,
            obs_features: context_obs,
            seed,
            max_episode_steps,
        })
    }

    /// Reseeds every instance from `seed` (instance `i` from a stream derived from `(seed, i)`)
    /// when given, resets all, and returns the observations (`num_envs × obs_dim`).
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<u64>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        if let Some(s) = seed {
            self.seed = s;
            self.batch = build_batch(
                &self.contexts,
                s,
                &self.obs_features,
                self.max_episode_steps,
            )?;
            self.out = self.batch.output();
        }
        self.batch.reset(&mut self.out);
        Ok(self.obs_array(py, false))
    }

    /// One step of every instance with same-step auto-reset: `(obs, rewards, terminated,
    /// truncated, final_obs)`; `final_obs` is `None` when no episode ended, else its rows are
    /// meaningful where one did.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<bool>>,
        Bound<'py, PyArray1<bool>>,
        Option<Bound<'py, PyArray2<f32>>>,
    )> {
        let n = self.batch.len();
        if self.batch.action_space().is_discrete() {
            // An int64 array goes straight through; anything else is converted once.
            let a: PyReadonlyArray1<'_, i64> = match actions.extract() {
                Ok(a) => a,
                Err(_) => actions
                    .call_method1("astype", ("int64",))
                    .and_then(|x| x.extract())
                    .map_err(|_| {
                        value_err("expected an integer array of one action per environment")
                    })?,
            };
            let a = a.as_array();
            let acts: Vec<u32> = a
                .iter()
                .map(|&x| {
                    u32::try_from(x).map_err(|_| value_err(format!("action {x} is out of range")))
                })
                .collect::<PyResult<_>>()?;
            self.batch
                .step(BatchActions::Discrete(&acts), &mut self.out)
                .map_err(value_err)?;
        } else {
            let a: PyReadonlyArray2<'_, f32> = actions
                .call_method1("astype", ("float32",))
                .and_then(|x| x.call_method1("reshape", (n, -1)))
                .and_then(|x| x.extract())
                .map_err(|_| value_err("expected a float array of shape (num_envs, action_dim)"))?;
            let flat: Vec<f32> = a.as_array().iter().copied().collect();
            self.batch
                .step(BatchActions::Continuous(&flat), &mut self.out)
                .map_err(value_err)?;
        }
        Ok((
            self.obs_array(py, false),
            self.out.reward.clone().into_pyarray(py),
            self.out.terminated.clone().into_pyarray(py),
            self.out.truncated.clone().into_pyarray(py),
            (!self.out.episodes.is_empty()).then(|| self.obs_array(py, true)),
        ))
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.batch.len()
    }

    #[getter]
    fn obs_dim(&self) -> usize {
        self.batch.obs_dim()
    }

    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.batch.action_space())
    }

    #[getter]
    fn contexts<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.contexts.iter().map(|c| context_dict(py, c)).collect()
    }

    fn __repr__(&self) -> String {
        format!("<mbtl VecEnv {} × {}>", self.batch.len(), self.batch.env())
    }
}

impl PyVecEnv {
    fn obs_array<'py>(&self, py: Python<'py>, final_obs: bool) -> Bound<'py, PyArray2<f32>> {
        let src = if final_obs {
            &self.out.final_obs
        } else {
            &self.out.obs
        };
        numpy::ndarray::Array2::from_shape_vec(
            (self.batch.len(), self.batch.obs_dim()),
            src.clone(),
        )
        .expect("buffers are num_envs × obs_dim")
        .into_pyarray(py)
    }
}

/// Every environment with its features (`mbtl envs --json`).
#[pyfunction]
#[pyo3(signature = (semantics="physical"))]
fn environments<'py>(py: Python<'py>, semantics: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let semantics: Semantics = semantics.parse().map_err(value_err)?;
    let mut out = Vec::new();
    for e in mbtl_env::environments() {
        let spec = e.spec();
        let Some(table) = spec.features(semantics) else {
            continue;
        };
        let d = PyDict::new(py);
        d.set_item("name", e.name())?;
        d.set_item("description", &spec.description)?;
        d.set_item("obs_dim", spec.obs_dim)?;
        d.set_item("action_space", space_dict(py, &spec.action_space)?)?;
        d.set_item("max_episode_steps", spec.max_episode_steps)?;
        d.set_item("reward_threshold", spec.reward_threshold)?;
        d.set_item("score", spec.score.as_deref())?;
        let feats = PyDict::new(py);
        for f in table {
            feats.set_item(
                f.name.as_ref(),
                (f.default, f.lower, f.upper, f.effect.as_ref()),
            )?;
        }
        d.set_item("features", feats)?;
        out.push(d);
    }
    Ok(out)
}

#[pymodule]
fn _mbtl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The simulators mbtl ships outside mbtl-env register by name, as the `mbtl` binary does.
    mbtl_traffic::env::register().map_err(value_err)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "StrategyNames",
        StrategyName::ALL.map(StrategyName::name).to_vec(),
    )?;
    m.add_class::<PySelector>()?;
    m.add_class::<PyEnv>()?;
    m.add_class::<PyVecEnv>()?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(read_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(write_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add_function(wrap_pyfunction!(independent, m)?)?;
    m.add_function(wrap_pyfunction!(oracle, m)?)?;
    m.add_function(wrap_pyfunction!(curve_of, m)?)?;
    m.add_function(wrap_pyfunction!(average, m)?)?;
    m.add_function(wrap_pyfunction!(sample_efficiency, m)?)?;
    m.add_function(wrap_pyfunction!(aggregated, m)?)?;
    m.add_function(wrap_pyfunction!(mean_ci95, m)?)?;
    m.add_function(wrap_pyfunction!(environments, m)?)?;
    Ok(())
}
