"""mbtl: which tasks to train in contextual reinforcement learning, and fast contextual
environments.

* :class:`Selector` — MBTL's strategies one step at a time (ask which task to train, tell the
  zero-shot row you measured), with a state that survives restarts.
* :func:`replay` — every strategy on recorded transfer matrices (the CLI's ``mbtl replay``).
* :func:`read_matrix`, :func:`write_matrix`, :func:`synth` — transfer-matrix files (MBTL CSV,
  ``.npy``) and SD-MBTL's synthetic benchmarks.
* :mod:`mbtl.metrics` — curves, Average, sample efficiency N/k*, the aggregated metric, CIs.
* :mod:`mbtl.envs` — CARL-compatible contextual environments stepped in Rust, as
  ``gymnasium.Env`` and ``gymnasium.vector.VectorEnv``.

The selection engine is the Rust crate ``mbtl-select``; errors are ``ValueError`` with its
messages, the same text the command line prints.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np

from . import _mbtl
from . import metrics

__version__: str = _mbtl.__version__
STRATEGIES: List[str] = list(_mbtl.StrategyNames)

__all__ = [
    "Selector",
    "replay",
    "read_matrix",
    "write_matrix",
    "synth",
    "metrics",
    "STRATEGIES",
    "__version__",
]


def _gap(gap: str, slope: float) -> str:
    return f"fixed:{float(slope)!r}" if gap == "fixed" else gap


class Selector:
    """MBTL's task selection driven by you: ``ask()`` names the next source task to train,
    ``tell(task, row)`` hands back its zero-shot performance on every target (raw or
    normalised, as long as it is consistent).

    Give the tasks as exactly one of ``n_tasks`` (1-D, MBTL's index coordinates), ``grid``
    (an N-D grid's levels, row-major, last axis fastest) or ``coords`` (an ``N × d`` array of
    task coordinates). Strategies and options have the names of ``mbtl replay``; the same
    seed makes the same choices as ``mbtl replay`` on the same matrix.

    >>> sel = Selector("mbtl-gp", n_tasks=20, budget=5)
    >>> while (task := sel.ask()) is not None:          # doctest: +SKIP
    ...     sel.tell(task, train_and_evaluate(task))
    """

    def __init__(
        self,
        strategy: str,
        *,
        budget: int,
        n_tasks: Optional[int] = None,
        grid: Optional[Sequence[int]] = None,
        coords: Optional[np.ndarray] = None,
        seed: int = 42,
        slope: float = 0.005,
        gap: str = "fixed",
        acquisition: str = "sqrt-log",
        candidates: Union[str, int] = "all",
        trial: int = 0,
        _inner: Optional[_mbtl.Selector] = None,
    ) -> None:
        if _inner is not None:
            self._inner = _inner
            return
        self._inner = _mbtl.Selector(
            strategy,
            budget,
            n_tasks=n_tasks,
            grid=list(grid) if grid is not None else None,
            coords=None if coords is None else np.ascontiguousarray(coords, dtype=np.float64).reshape(len(coords), -1),
            seed=seed,
            gap=_gap(gap, slope),
            acquisition=acquisition,
            candidates=str(candidates),
            trial=trial,
        )

    def ask(self) -> Optional[int]:
        """The next task to train, or ``None`` once ``budget`` tasks are told. Asking again
        before telling returns the same task. If the task was told before (a strategy may
        choose a task twice), ``tell(task)`` needs no row."""
        return self._inner.ask()

    def tell(self, task: int, row: Optional[Iterable[float]] = None) -> float:
        """Records the zero-shot row of the task last asked for (one finite value per target,
        in task order); returns ``V_k``, the mean over targets of the best so far."""
        arr = None if row is None else np.ascontiguousarray(np.asarray(row, dtype=np.float64).ravel())
        return self._inner.tell(task, arr)

    def coord(self, task: int) -> np.ndarray:
        """The coordinates of ``task``: its context values for a ``coords`` space, its grid
        position for a ``grid``, its index for ``n_tasks``."""
        return np.asarray(self._inner.coord(task))

    def known_row(self, task: int) -> Optional[np.ndarray]:
        """The row told for ``task``, if it was chosen before."""
        return self._inner.known_row(task)

    @property
    def curve(self) -> np.ndarray:
        """``V_k`` after each step told so far."""
        return self._inner.curve

    @property
    def order(self) -> List[int]:
        """Tasks told so far, in order."""
        return self._inner.order

    @property
    def done(self) -> bool:
        return self._inner.done

    @property
    def n_tasks(self) -> int:
        return self._inner.n_tasks

    @property
    def budget(self) -> int:
        return self._inner.budget

    @property
    def strategy(self) -> str:
        return self._inner.strategy

    def state(self) -> str:
        """The selector as JSON text: its settings and every step told."""
        return self._inner.state()

    @classmethod
    def from_state(cls, text: str) -> "Selector":
        """Rebuilds a selector from :meth:`state`; the recorded steps are replayed through the
        strategy, so it continues exactly as the saved one would have."""
        return cls("", budget=0, _inner=_mbtl.Selector.from_state(text))

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes :meth:`state` to ``path`` atomically."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w") as f:
            f.write(self.state())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Selector":
        with open(path) as f:
            return cls.from_state(f.read())

    def __repr__(self) -> str:
        return (
            f"Selector({self.strategy!r}, n_tasks={self.n_tasks}, budget={self.budget}, "
            f"order={self.order}, curve={[round(v, 4) for v in self.curve]})"
        )


def replay(
    matrices: Union[np.ndarray, Sequence[np.ndarray]],
    strategies: Optional[Sequence[str]] = None,
    *,
    budget: int,
    grid: Optional[Sequence[int]] = None,
    coords: Optional[np.ndarray] = None,
    normalize: Union[None, str, Sequence[float]] = None,
    negate: bool = False,
    clip: bool = False,
    seed: int = 42,
    slope: float = 0.005,
    gap: str = "fixed",
    acquisition: str = "sqrt-log",
    candidates: Union[str, int] = "all",
    random_repeats: int = 1,
    multitask: Optional[Sequence[float]] = None,
) -> List[dict]:
    """Every strategy on one or more transfer matrices (trials of one benchmark): what
    ``mbtl replay --json`` prints, one dict per strategy (``strategy``, ``order``, ``curve``,
    ``curve_ci95``, ``average``, ``trials``), with the curves as NumPy arrays.

    ``normalize``: ``None``, ``"minmax"`` (global over the matrices) or ``(lower, upper)``
    (MBTL's bounds; ``negate`` first for costs); ``clip=True`` clamps bound-normalised values
    to [0, 1]. ``strategies=None`` runs the CLI's default set."""
    if isinstance(matrices, np.ndarray) and matrices.ndim == 2:
        matrices = [matrices]
    ms = [np.ascontiguousarray(m, dtype=np.float64) for m in matrices]
    if normalize is not None and not isinstance(normalize, str):
        lo, hi = normalize
        normalize = f"{float(lo)!r},{float(hi)!r}"
    if clip:
        if normalize in (None, "none", "minmax"):
            raise ValueError(f"clip=True needs bounds normalize=(lower, upper), got normalize={normalize!r}")
        normalize = f"{normalize},clip"
    text = _mbtl.replay(
        ms,
        None if strategies is None else list(strategies),
        budget,
        grid=list(grid) if grid is not None else None,
        coords=None if coords is None else np.ascontiguousarray(coords, dtype=np.float64).reshape(len(coords), -1),
        normalize=normalize,
        negate=negate,
        seed=seed,
        gap=_gap(gap, slope),
        acquisition=acquisition,
        candidates=str(candidates),
        random_repeats=random_repeats,
        multitask=None if multitask is None else np.ascontiguousarray(multitask, dtype=np.float64),
    )
    results = json.loads(text)
    for r in results:
        r["curve"] = np.asarray(r["curve"])
        r["curve_ci95"] = np.asarray(r["curve_ci95"])
    return results


def read_matrix(path: Union[str, os.PathLike], nan: str = "refuse") -> np.ndarray:
    """A transfer matrix from MBTL's CSV (N×N, no header, row = source) or ``.npy``.
    ``nan``: ``refuse`` (an error naming the cell), ``min``, or a number to impute."""
    return _mbtl.read_matrix(os.fspath(path), nan)


def write_matrix(path: Union[str, os.PathLike], matrix: np.ndarray) -> None:
    """Writes a transfer matrix as CSV or ``.npy`` (by the extension), atomically."""
    _mbtl.write_matrix(os.fspath(path), np.ascontiguousarray(matrix, dtype=np.float64))


def synth(family: str, f: str, g: str, h: str, noise: float = 0.0, trial: int = 0) -> np.ndarray:
    """SD-MBTL's synthetic transfer matrix (``family`` 3d/5d/7d, terms f, g, h), trial
    ``trial``'s noise drawn as NumPy's legacy ``np.random.seed(trial)`` does."""
    return _mbtl.synth(family, f, g, h, float(noise), int(trial))
