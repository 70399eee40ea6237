"""The environments from Python: Gymnasium's checker, CARL's recorded trajectories bit for bit,
the vector environment against single instances, and clear errors."""

import csv
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from mbtl import envs

NAMES = ["cartpole", "pendulum", "mountaincar", "mountaincarcontinuous", "acrobot"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("semantics", ["carl", "physical"])
def test_every_environment_passes_gymnasiums_checker(name, semantics):
    env = envs.make(name, semantics=semantics)
    check_env(env, skip_render_check=True)
    env = envs.make(name, semantics=semantics, context_obs="all")
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape[0] == env.unwrapped._env.obs_dim


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_carl_reference_trajectories_are_reproduced_bit_for_bit(shared):
    folder = shared / "reference-trajectories"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(manifest["runs"]) == 15
    for run in manifest["runs"]:
        env = envs.make(run["env"], run["context_overrides"], semantics="carl",
                        max_episode_steps=run["max_episode_steps"])
        rows = _rows(folder / run["file"])
        ns = sum(1 for k in rows[0] if k[0] == "s" and k[1:].isdigit())
        no = sum(1 for k in rows[0] if k[0] == "o" and k[1:].isdigit())
        obs = env.reset_to(run["initial_state"])
        for i, row in enumerate(rows):
            if i > 0:
                a = row["action"]
                action = int(a) if isinstance(env.action_space, gym.spaces.Discrete) else np.array([float(a)], dtype=np.float32)
                obs, reward, terminated, truncated, _ = env.step(action)
                assert reward == float(row["reward"]), (run["file"], i)
                assert terminated == bool(int(row["terminated"])), (run["file"], i)
                assert truncated == bool(int(row["truncated"])), (run["file"], i)
            want_state = [float(row[f"s{j}"]) for j in range(ns)]
            want_obs = np.array([np.float32(row[f"o{j}"]) for j in range(no)], dtype=np.float32)
            assert env.state == want_state, (run["file"], i)
            assert obs.tobytes() == want_obs.tobytes(), (run["file"], i)


def test_the_vector_env_steps_like_single_instances_with_same_step_reset():
    lengths = [0.3, 0.5, 1.0, 2.0]
    contexts = [{"length": l} for l in lengths]
    vec = envs.make_vec("cartpole", contexts=contexts, context_obs=["length"])
    assert isinstance(vec, gym.vector.VectorEnv) and vec.num_envs == 4
    obs, _ = vec.reset(seed=3)
    assert obs.shape == (4, 5) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:, 4], np.float32(lengths))
    singles = [envs.make("cartpole", c, context_obs=["length"]) for c in contexts]
    # Instance i of a vector seeded with s is an instance seeded from (s, i): replay its stream.
    rng = np.random.default_rng(0)
    ended = 0
    history = [[] for _ in range(4)]
    for _ in range(300):
        actions = rng.integers(0, 2, size=4)
        obs, rewards, terminated, truncated, infos = vec.step(actions)
        assert vec.observation_space.contains(obs) or not np.isfinite(obs).all()
        done = terminated | truncated
        if done.any():
            ended += int(done.sum())
            assert infos["_final_obs"].tolist() == done.tolist()
            assert infos["final_obs"].shape == (4, 5)
        for i in range(4):
            history[i].append((int(actions[i]), float(rewards[i]), bool(done[i])))
    assert ended > 4, "short poles fall; their episodes restart in the same step"
    # Same seed, same everything.
    vec2 = envs.make_vec("cartpole", contexts=contexts, context_obs=["length"])
    vec2.reset(seed=3)
    rng = np.random.default_rng(0)
    for t in range(300):
        actions = rng.integers(0, 2, size=4)
        _, rewards, terminated, truncated, _ = vec2.step(actions)
        assert [(int(a), float(r), bool(d)) for a, r, d in zip(actions, rewards, terminated | truncated)] == [h[t] for h in history]
    cont = envs.make_vec("pendulum", num_envs=3)
    cont.reset(seed=0)
    obs, rewards, *_ = cont.step(np.zeros((3, 1), dtype=np.float32))
    assert obs.shape == (3, 3) and rewards.shape == (3,)


def test_bad_input_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="unknown environment 'cartpol'"):
        envs.make("cartpol")
    with pytest.raises(ValueError, match="'length' of 'cartpole' = 50 is outside its bounds"):
        envs.make("cartpole", {"length": 50.0})
    with pytest.raises(ValueError, match="no context feature 'lenght'"):
        envs.make("cartpole", {"lenght": 1.0})
    env = envs.make("cartpole")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="discrete actions in 0..2"):
        env.step(5)
    with pytest.raises(ValueError, match="num_envs = 2 but 3 contexts"):
        envs.make_vec("cartpole", num_envs=2, contexts=[{}, {}, {}])
    table = {e["name"]: e for e in envs.list_envs("carl")}
    assert table["cartpole"]["features"]["masscart"][0] == 1.0
    assert "gymnasium" in table["acrobot"]["description"]


def test_contexts_change_the_dynamics_and_seeds_repeat():
    def episode(ctx, seed):
        env = envs.make("cartpole", ctx)
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(int(obs[2] > 0))
            total += r
            done = term or trunc
        return total

    assert episode({}, 1) == episode({}, 1)
    assert episode({"length": 0.05}, 1) != episode({"length": 2.0}, 1)
    assert envs.make("cartpole", {"length": 2.0}).context["length"] == 2.0


def test_the_traffic_signal_is_a_gymnasium_env_scored_by_the_authors_metric():
    # The native intersection: one step per decision, an 80-cell observation, 4 phases.
    env = envs.make("traffic-signal", {"cars": 600})
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (80,) and set(np.unique(obs)) <= {0.0, 1.0}
    total, steps, info = 0.0, 0, {}
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(steps % 4)
        total += r
        steps += 1
        done = term or trunc
    # Changing phase every decision: ceil(5400 / 14) decisions, then the episode ends by itself.
    assert (steps, term, trunc) == (386, True, False)
    # The score is the negated average waiting total over 5400 s; the return telescopes to
    # minus the waiting of the cars left on the approaches, a different number.
    assert -100.0 < info["score"] < 0.0
    assert info["score"] != total
    table = {e["name"]: e for e in envs.list_envs()}
    assert "waiting" in table["traffic-signal"]["score"]
    assert table["cartpole"]["score"] is None
