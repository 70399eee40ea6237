"""Type stubs of the Rust extension (see mbtl/__init__.py and mbtl/envs.py for the public API)."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str
StrategyNames: List[str]

class Selector:
    def __init__(
        self,
        strategy: str,
        budget: int,
        n_tasks: Optional[int] = ...,
        grid: Optional[List[int]] = ...,
        coords: Optional[npt.NDArray[np.float64]] = ...,
        seed: int = ...,
        gap: str = ...,
        acquisition: str = ...,
        candidates: str = ...,
        trial: int = ...,
    ) -> None: ...
    def ask(self) -> Optional[int]: ...
    def tell(self, task: int, row: Optional[npt.NDArray[np.float64]] = ...) -> float: ...
    def known_row(self, task: int) -> Optional[npt.NDArray[np.float64]]: ...
    def coord(self, task: int) -> List[float]: ...
    @property
    def curve(self) -> npt.NDArray[np.float64]: ...
    @property
    def order(self) -> List[int]: ...
    @property
    def done(self) -> bool: ...
    @property
    def n_tasks(self) -> int: ...
    @property
    def budget(self) -> int: ...
    @property
    def strategy(self) -> str: ...
    @property
    def modes(self) -> List[str]: ...
    def state(self) -> str: ...
    @staticmethod
    def from_state(text: str) -> "Selector": ...

class Env:
    def __init__(
        self,
        name: str,
        context: Optional[Dict[str, float]] = ...,
        semantics: str = ...,
        seed: int = ...,
        context_obs: Optional[List[str]] = ...,
        max_episode_steps: Optional[int] = ...,
    ) -> None: ...
    def reset(self, seed: Optional[int] = ...) -> npt.NDArray[np.float32]: ...
    def reset_to(self, state: List[float]) -> npt.NDArray[np.float32]: ...
    def step(self, action: Any) -> Tuple[npt.NDArray[np.float32], float, bool, bool]: ...
    state: List[float]
    obs_dim: int
    max_episode_steps: int
    action_space: Dict[str, Any]
    context: Dict[str, float]
    name: str

class VecEnv:
    def __init__(
        self,
        name: str,
        contexts: List[Optional[Dict[str, float]]],
        semantics: str = ...,
        seed: int = ...,
        context_obs: Optional[List[str]] = ...,
        max_episode_steps: Optional[int] = ...,
    ) -> None: ...
    def reset(self, seed: Optional[int] = ...) -> npt.NDArray[np.float32]: ...
    def step(
        self, actions: Any
    ) -> Tuple[
        npt.NDArray[np.float32],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.bool_],
        Optional[npt.NDArray[np.float32]],
    ]: ...
    num_envs: int
    obs_dim: int
    action_space: Dict[str, Any]
    contexts: List[Dict[str, float]]

def replay(
    matrices: List[npt.NDArray[np.float64]],
    strategies: Optional[List[str]],
    budget: int,
    n_tasks: Optional[int] = ...,
    grid: Optional[List[int]] = ...,
    coords: Optional[npt.NDArray[np.float64]] = ...,
    normalize: Optional[str] = ...,
    negate: bool = ...,
    seed: int = ...,
    gap: str = ...,
    acquisition: str = ...,
    candidates: str = ...,
    random_repeats: int = ...,
    multitask: Optional[npt.NDArray[np.float64]] = ...,
) -> str: ...
def read_matrix(path: str, nan: str = ...) -> npt.NDArray[np.float64]: ...
def write_matrix(path: str, matrix: npt.NDArray[np.float64]) -> None: ...
def synth(family: str, f: str, g: str, h: str, noise: float, trial: int) -> npt.NDArray[np.float64]: ...
def independent(matrix: npt.NDArray[np.float64]) -> float: ...
def oracle(matrix: npt.NDArray[np.float64]) -> float: ...
def curve_of(matrix: npt.NDArray[np.float64], order: List[int]) -> List[float]: ...
def average(curve: List[float]) -> float: ...
def sample_efficiency(curve: List[float], n_tasks: int, reference: float) -> Optional[Tuple[int, float]]: ...
def aggregated(value: float, random: float, oracle: float) -> float: ...
def mean_ci95(values: List[float]) -> Tuple[float, float]: ...
def environments(semantics: str = ...) -> List[Dict[str, Any]]: ...
