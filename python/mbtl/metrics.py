"""MBTL's and SD-MBTL's metrics (the same code as ``mbtl replay``)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from . import _mbtl

__all__ = ["independent", "oracle", "curve_of", "average", "sample_efficiency", "aggregated", "mean_ci95"]


def independent(matrix: np.ndarray) -> float:
    """Mean of the diagonal: every task trained on itself."""
    return _mbtl.independent(np.ascontiguousarray(matrix, dtype=np.float64))


def oracle(matrix: np.ndarray) -> float:
    """Mean over targets of the best source (every task trained, best transfer chosen)."""
    return _mbtl.oracle(np.ascontiguousarray(matrix, dtype=np.float64))


def curve_of(matrix: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """``V_k`` of a fixed order of sources on a matrix."""
    return np.asarray(_mbtl.curve_of(np.ascontiguousarray(matrix, dtype=np.float64), list(order)))


def average(curve: Sequence[float]) -> float:
    """Mean of a curve over k (MBTL's "Average")."""
    return _mbtl.average([float(v) for v in curve])


def sample_efficiency(curve: Sequence[float], n_tasks: int, reference: float) -> Optional[Tuple[int, float]]:
    """``(k*, N/k*)``: the first k at which the curve reaches ``reference`` (the better of
    Independent and Multi-task), or ``None`` if it never does."""
    return _mbtl.sample_efficiency([float(v) for v in curve], int(n_tasks), float(reference))


def aggregated(value: float, random: float, oracle: float) -> float:
    """SD-MBTL's aggregated metric: 0 at Random's value, 1 at the oracle's."""
    return _mbtl.aggregated(float(value), float(random), float(oracle))


def mean_ci95(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and 95 % half-width ``1.96·sd/√n`` (sample sd)."""
    return _mbtl.mean_ci95([float(v) for v in values])
