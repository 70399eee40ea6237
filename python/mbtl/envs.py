"""Contextual environments stepped in Rust, for Gymnasium users.

``make("cartpole", context={"length": 1.0})`` is a ``gymnasium.Env``; ``make_vec("cartpole",
num_envs=64, contexts=[...])`` a ``gymnasium.vector.VectorEnv`` whose instances (contexts may
differ) all step inside one Rust call. Under ``semantics="carl"`` trajectories equal CARL
1.1.1's on gymnasium 0.29.1 bit for bit (CARL's dead features and reset ranges included);
``"physical"`` (the default) lets every feature act as the physics says. ``list_envs()`` shows
every environment with its features, defaults and bounds.

Observations are float32 (the base observation, then the context features named in
``context_obs``, or every feature with ``context_obs="all"``). The episode limit is
gymnasium's (CartPole 500 steps, …), reported as ``truncated``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _mbtl

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as e:  # pragma: no cover - gymnasium is an optional dependency
    raise ImportError("mbtl.envs needs gymnasium: pip install 'gymnasium>=1.0'") from e

__all__ = ["make", "make_vec", "list_envs", "ContextualEnv", "ContextualVectorEnv"]

ContextObs = Union[None, str, Sequence[str]]


def _context_obs(context_obs: ContextObs) -> Optional[List[str]]:
    if context_obs is None:
        return None
    if isinstance(context_obs, str):
        return [context_obs]
    return list(context_obs)


def _action_space(desc: Dict[str, Any]) -> "spaces.Space":
    if desc["kind"] == "discrete":
        return spaces.Discrete(desc["n"])
    return spaces.Box(np.asarray(desc["low"], dtype=np.float32), np.asarray(desc["high"], dtype=np.float32), dtype=np.float32)


def _observation_space(dim: int) -> "spaces.Box":
    return spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float32)


def list_envs(semantics: str = "physical") -> List[Dict[str, Any]]:
    """Every environment (built-in and registered) offering ``semantics``: name, spaces,
    episode limit and ``features`` (name → (default, lower, upper, effect))."""
    return _mbtl.environments(semantics)


class ContextualEnv(gym.Env):
    """One contextual environment instance (see :func:`make`)."""

    metadata: Dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        name: str,
        context: Optional[Dict[str, float]] = None,
        semantics: str = "physical",
        context_obs: ContextObs = None,
        max_episode_steps: Optional[int] = None,
    ) -> None:
        self._env = _mbtl.Env(name, context or {}, semantics, 0, _context_obs(context_obs), max_episode_steps)
        self.observation_space = _observation_space(self._env.obs_dim)
        self.action_space = _action_space(self._env.action_space)
        self.spec_name = name
        self.semantics = semantics

    @property
    def context(self) -> Dict[str, float]:
        """Every feature's value (the defaults merged with the overrides)."""
        return self._env.context

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None) -> Tuple[np.ndarray, Dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        return self._env.reset(seed), {}

    def reset_to(self, state: Sequence[float]) -> np.ndarray:
        """Starts an episode from an explicit internal (float64) state, as CARL's recorded
        trajectories do."""
        return self._env.reset_to([float(s) for s in state])

    @property
    def state(self) -> List[float]:
        """The internal float64 state."""
        return self._env.state

    def step(self, action: Any) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        obs, reward, terminated, truncated = self._env.step(action)
        info: Dict[str, Any] = {}
        if terminated or truncated:
            score = self._env.score
            if score is not None:
                # The environment's own episode metric (what mbtl's transfer matrices hold).
                info["score"] = score
        return obs, reward, terminated, truncated, info

    def __repr__(self) -> str:
        return repr(self._env)


def make(
    name: str,
    context: Optional[Dict[str, float]] = None,
    *,
    semantics: str = "physical",
    context_obs: ContextObs = None,
    max_episode_steps: Optional[int] = None,
) -> ContextualEnv:
    """A ``gymnasium.Env`` of ``name`` (``cartpole``, ``pendulum``, ``mountaincar``,
    ``mountaincarcontinuous``, ``acrobot``, ``traffic-signal``; gymnasium ids and CARL class
    names work too) in ``context`` (overrides of the defaults; an unknown feature or a value
    outside its bounds is a ``ValueError`` naming both). An environment with its own episode
    score (``traffic-signal``) reports it in the last step's ``info["score"]``."""
    return ContextualEnv(name, context, semantics, context_obs, max_episode_steps)


_SAME_STEP = getattr(getattr(gym.vector, "AutoresetMode", None), "SAME_STEP", "same-step")


class ContextualVectorEnv(gym.vector.VectorEnv):
    """Many instances stepped together in Rust (see :func:`make_vec`). Auto-reset is
    gymnasium's same-step mode: when an episode ends, ``step`` returns the next episode's
    first observation, and ``infos["final_obs"]`` (rows where ``infos["_final_obs"]``) holds
    the last one."""

    metadata: Dict[str, Any] = {"render_modes": [], "autoreset_mode": _SAME_STEP}

    def __init__(
        self,
        name: str,
        contexts: Sequence[Optional[Dict[str, float]]],
        semantics: str = "physical",
        context_obs: ContextObs = None,
        max_episode_steps: Optional[int] = None,
    ) -> None:
        self._vec = _mbtl.VecEnv(name, [c or {} for c in contexts], semantics, 0, _context_obs(context_obs), max_episode_steps)
        self.num_envs = self._vec.num_envs
        self.single_observation_space = _observation_space(self._vec.obs_dim)
        self.single_action_space = _action_space(self._vec.action_space)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)

    @property
    def contexts(self) -> List[Dict[str, float]]:
        return self._vec.contexts

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None) -> Tuple[np.ndarray, Dict[str, Any]]:
        """Resets every instance; ``seed`` reseeds instance ``i`` from a stream derived from
        ``(seed, i)``."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError("make_vec environments take one integer seed (instance i derives its own from it)")
        if seed is not None:
            self._np_random, _ = gym.utils.seeding.np_random(int(seed))
        return self._vec.reset(None if seed is None else int(seed)), {}

    def step(self, actions: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Dict[str, Any]]:
        obs, rewards, terminated, truncated, final_obs = self._vec.step(np.asarray(actions))
        infos: Dict[str, Any] = {}
        if final_obs is not None:
            infos["final_obs"] = final_obs
            infos["_final_obs"] = terminated | truncated
        return obs, rewards, terminated, truncated, infos

    def __repr__(self) -> str:
        return repr(self._vec)


def make_vec(
    name: str,
    num_envs: Optional[int] = None,
    contexts: Optional[Sequence[Optional[Dict[str, float]]]] = None,
    *,
    semantics: str = "physical",
    context_obs: ContextObs = None,
    max_episode_steps: Optional[int] = None,
) -> ContextualVectorEnv:
    """A ``gymnasium.vector.VectorEnv`` of ``num_envs`` instances of ``name``: all in one
    ``context`` each from ``contexts`` (its length is the number of instances; contexts may
    differ), or ``num_envs`` default ones."""
    if contexts is None:
        if num_envs is None:
            raise ValueError("give num_envs or contexts")
        contexts = [{}] * int(num_envs)
    elif num_envs is not None and num_envs != len(contexts):
        raise ValueError(f"num_envs = {num_envs} but {len(contexts)} contexts given")
    return ContextualVectorEnv(name, list(contexts), semantics, context_obs, max_episode_steps)
