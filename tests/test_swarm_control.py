"""Swarm controllers (issue 15): PPO's pieces by hand-worked numbers and a finite-difference check, the classical
laws and the agents' views on hand-placed agents, a short seeded training run that improves the return, the
shipped policies loading by task name, and bad parameters refused with one line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fleetmind.planners.swarm import SwarmObservation, load_policy, make_classic
from fleetmind.planners.swarm.ppo import PPO, PPOSettings, clipped_surrogate, gae, normalize, value_loss
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.swarm import SWARM_TASKS, get_swarm_task

from fleetmind.app.cli import build_parser, run_command
from fleetmind.app.swarm_env import SwarmEnv, steady_state
from fleetmind.app.swarm_run import run_swarm
from fleetmind.app.swarm_train import TrainSettings, rollout, train


def test_gae_by_hand():
    rewards = np.array([[1.0], [2.0]])
    values = np.array([[0.5], [1.0], [3.0]])  # the last row bootstraps the truncated end
    adv, ret = gae(rewards, values, gamma=0.9, lam=0.5)
    d1 = 2.0 + 0.9 * 3.0 - 1.0  # 3.7
    d0 = 1.0 + 0.9 * 1.0 - 0.5  # 1.4
    assert adv[:, 0] == pytest.approx([d0 + 0.9 * 0.5 * d1, d1])
    assert ret[:, 0] == pytest.approx(adv[:, 0] + [0.5, 1.0])


def test_advantage_normalization():
    a = normalize(np.array([1.0, 2.0, 3.0, 10.0]))
    assert a.mean() == pytest.approx(0.0, abs=1e-12) and a.std() == pytest.approx(1.0, rel=1e-6)
    assert np.all(normalize(np.full(5, 7.0)) == 0.0)


def test_clipping_stops_the_gradient_past_the_clip_range():
    adv = np.array([2.0, 2.0, -2.0, -2.0])
    ratio = np.array([1.5, 0.5, 0.5, 1.5])
    loss, grad = clipped_surrogate(ratio, adv, clip=0.2)
    # min(r A, clip(r) A): 1.2*2 (clipped), 0.5*2 (unclipped), 0.8*-2 (clipped), 1.5*-2 (unclipped)
    assert loss == pytest.approx(-(2.4 + 1.0 - 1.6 - 3.0) / 4)
    assert grad == pytest.approx([0.0, -1.0 / 4, 0.0, 3.0 / 4])


def test_value_loss_by_hand():
    loss, grad = value_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    assert loss == pytest.approx(2.5) and grad == pytest.approx([0.5, 1.5])


def test_ppo_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    ppo = PPO(5, 2, 6, rng, PPOSettings(clip=0.3, ent_coef=0.01))
    x = rng.normal(size=(7, 5))
    a, logp, _ = ppo.sample(x)
    logp_old = logp + rng.normal(0, 0.1, 7)  # ratios near 1, some clipped
    adv, ret = rng.normal(size=7), rng.normal(size=7)

    def total(which: str) -> float:
        info, _, _ = ppo.losses_and_grads(x, a, logp_old, adv, ret)
        if which == "pi":
            return info["policy_loss"] - 0.01 * float((ppo.policy.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum())
        return info["value_loss"]

    _, pi_grads, v_grads = ppo.losses_and_grads(x, a, logp_old, adv, ret)
    checks = [("pi", [*ppo.policy.mlp.params, ppo.policy.log_std], pi_grads), ("v", ppo.value.params, v_grads)]
    for which, params, grads in checks:
        for p, g in zip(params, grads, strict=True):
            for idx in [(0,) * p.ndim, tuple(s - 1 for s in p.shape)]:
                old = p[idx]
                p[idx] = old + 1e-6
                up = total(which)
                p[idx] = old - 1e-6
                down = total(which)
                p[idx] = old
                assert g[idx] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8), (which, p.shape, idx)


def _obs(moment, count, hist_bins=4):
    n = len(count)
    return SwarmObservation(
        np.zeros((n, hist_bins)), np.array(moment, float), np.array(count, float), np.zeros((n, 0)), 2.0
    )


def test_classical_laws_by_hand():
    obs = _obs([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]], [1, 3, 0])
    # Vicsek: angle of (1 + n cos, n sin): atan2(1, 1), atan2(0, 4), atan2(0, 1); times k = 0.5
    assert make_classic("vicsek_average", {"k": 0.5}).act(obs) == pytest.approx([math.pi / 8, 0.0, 0.0])
    assert make_classic("cucker_smale", {"k": 1.0}).act(obs) == pytest.approx([0.5, 0.0, 0.0])  # n sin / expected
    assert make_classic("kuramoto_coupling", {"k": 4.0}).act(obs) == pytest.approx([1.0, 0.0, 0.0])  # clipped to 1
    off = _obs([[0.5, 0.0], [0.1, 0.0]], [2, 2])
    act = make_classic("attraction_repulsion", {"ka": 1.0, "kr": 3.0, "d": 0.2}).act(off)
    assert act == pytest.approx(np.array([[0.5, 0.0], [-0.2, 0.0]]))  # the second is inside d: pushed back


def test_views_of_hand_placed_agents():
    vicsek = SwarmEnv(get_swarm_task("vicsek"), get_swarm_task("vicsek").make_config(agents=3, density=0.03))
    vicsek.reset(0)
    vicsek.world.pos = np.array([[1.0, 1.0], [1.5, 1.0], [6.0, 6.0]])
    vicsek.world.theta = np.array([0.0, math.pi / 2, 1.0])
    vicsek.world._cells = None
    obs = vicsek.observe()
    assert obs.count == pytest.approx([1, 1, 0])
    assert obs.moment == pytest.approx(np.array([[0.0, 1.0], [0.0, -1.0], [0.0, 0.0]]), abs=1e-12)
    agg = SwarmEnv(get_swarm_task("aggregation"), get_swarm_task("aggregation").make_config(agents=3, density=0.03))
    agg.reset(0)
    agg.world.pos = np.array([[0.2, 1.0], [9.9, 1.3], [6.0, 6.0]])  # the first two meet across the periodic edge
    agg.world._cells = None
    obs = agg.observe()
    box = agg.world.box
    assert obs.moment[0] == pytest.approx([(9.9 - box - 0.2), 0.3], abs=1e-9)  # mean offset over radius 1
    assert obs.moment[1] == pytest.approx([(0.2 + box - 9.9), -0.3], abs=1e-9)


def test_a_short_training_run_improves_the_return_on_a_fixed_seed():
    task = get_swarm_task("vicsek")
    base = task.make_config(agents=30, density=1.0, noise=0.5)
    settings = TrainSettings(
        iterations=6,
        episodes=2,
        agents=30,
        steps=40,
        hidden=16,
        seed=5,
        randomize=False,
        residual=False,
        ppo=PPOSettings(lr=1e-3, init_log_std=-1.0),
    )
    first = train(task, base, TrainSettings(**{**settings.__dict__, "iterations": 0}))
    result = train(task, base, settings)
    again = train(task, base, settings)
    assert all(np.array_equal(p, q) for p, q in zip(result.policy.mlp.params, again.policy.mlp.params, strict=True))
    config = base.model_copy(update={"steps": 60})
    before = steady_state(rollout(SwarmEnv(task, config), first.policy.act, 77, 60))
    after = steady_state(rollout(SwarmEnv(task, config), result.policy.act, 77, 60))
    assert result.curve[-1] > result.curve[0] and after > before + 0.2, (result.curve, before, after)
    assert result.env_steps == 6 * 2 * 40 and result.agent_steps == 6 * 2 * 40 * 30


@pytest.mark.parametrize("name", list(SWARM_TASKS))
def test_shipped_policies_load_by_task_name(name, tmp_path):
    task = get_swarm_task(name)
    policy = load_policy(task.policy_path())
    assert policy.meta["task"] == name and policy.inputs == SwarmObservation.size(8, task.own_dim)
    config = task.make_config(agents=20, steps=5)
    m = run_swarm(task, config, "dec-pomfc", 0, tmp_path, gif_frames=2 if name == "vicsek" else 0)
    assert 0.0 <= m["final_order_parameter"] <= 1.0 and len(m["order_parameter"]) == 5
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "order.png").stat().st_size > 1000
    assert (tmp_path / "swarm.gif").exists() == (name == "vicsek")


def test_a_policy_trained_for_another_task_is_refused_in_one_line():
    """A vicsek policy on aggregation failed on its actions' shape (a ValueError traceback from the world)."""
    from fleetmind.app.swarm_run import controller

    aggregation, vicsek = get_swarm_task("aggregation"), get_swarm_task("vicsek")
    with pytest.raises(BadInputError, match=r"^--policy .*vicsek.npz: a Dec-POMFC policy trained for vicsek, not agg"):
        controller(aggregation, "dec-pomfc", vicsek.policy_path())
    assert callable(controller(vicsek, "dec-pomfc", vicsek.policy_path()))


def test_bad_parameters_are_refused_with_one_line(capsys):
    task = get_swarm_task("vicsek")
    with pytest.raises(BadInputError, match=r"^vicsek: radius: .*greater than 0 \(got -1"):
        task.make_config(radius=-1.0)
    with pytest.raises(BadInputError, match=r"^vicsek: agents: .*greater than or equal to 1 \(got 0\)"):
        task.make_config(agents=0)
    with pytest.raises(BadInputError, match=r"^vicsek: agents: .*less than or equal to 1000000 \(got 100000000\)"):
        task.make_config(agents=100_000_000)  # was accepted, then filled the machine's 24 GB
    with pytest.raises(BadInputError, match=r"^vicsek: radius: .*less than or equal to 1000000 \(got 1e\+300\)"):
        task.make_config(radius=1e300)  # overflowed the classical law's expected neighbour count
    with pytest.raises(BadInputError, match=r"^vicsek: noise: .*less than or equal to 100 \(got 1e\+100\)"):
        task.make_config(noise=1e100)  # ran: the phases lost float precision and kuramoto showed an order of 0.85
    with pytest.raises(BadInputError, match=r"^gain k=nan of vicsek_average is not a finite number"):
        make_classic("vicsek_average", {"k": float("nan")})
    with pytest.raises(BadInputError, match="unknown swarm task 'flock'; swarm tasks: vicsek, kuramoto"):
        get_swarm_task("flock")
    for argv in (["--radius", "-1"], ["--agents", "0"], ["--noise", "nan"]):
        args = build_parser()[0].parse_args(["swarm", "run", "vicsek", *argv, "--out", "/tmp/unused"])
        assert run_command(args, {}) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("fleetmind: error: vicsek: "), err


def test_the_velocity_shield_rule_by_hand():
    from fleetmind.planners.swarm.shield import check_velocity_plan
    from fleetmind.robots.commands import SetVelocity, Wait

    plan = {"robot_0": SetVelocity(0.1, 0.5), "robot_1": Wait(), "robot_2": SetVelocity(0.1, 3.0)}
    plan["robot_3"] = SetVelocity(float("nan"), 0.0)
    assert check_velocity_plan(plan, 0.5, 2.0) == [
        "robot_2: velocity (0.1, 3.0) is beyond |linear| <= 0.5, |angular| <= 2.0",
        "robot_3: velocity (nan, 0.0) is beyond |linear| <= 0.5, |angular| <= 2.0",
    ]


@pytest.mark.parametrize("backend", ["fleet", "pybullet"])
def test_sixteen_robots_run_the_classical_law_on_a_fleet(backend, tmp_path):
    if backend == "pybullet":
        pytest.importorskip("pybullet")
    task = get_swarm_task("vicsek")
    config = task.make_config(agents=16, steps=6)
    m = run_swarm(task, config, "classic", 3, tmp_path, gif_frames=0, backend=backend)
    assert m["backend"] == backend and len(m["order_parameter"]) == 6 and m["noise_modelled"] is False
    assert m["steady_order_parameter"] > 0.3  # aligning: 16 random headings start near 0.25
    with pytest.raises(BadInputError, match="robot fleets play the vicsek task"):
        kuramoto = get_swarm_task("kuramoto")
        run_swarm(kuramoto, kuramoto.make_config(agents=16, steps=2), "none", 0, tmp_path, 0, backend=backend)


@pytest.mark.parametrize("name", list(SWARM_TASKS))
def test_policies_are_mirror_equivariant(name):
    """The mirror-image swarm gets the mirrored actions (no turn bias): turns negate, velocities flip their y."""
    task = get_swarm_task(name)
    env = SwarmEnv(task, task.make_config(agents=40))
    obs = env.reset(4)
    obs = env.step(np.zeros((40, 2)) if task.action_dim == 2 else np.zeros(40))
    policy = load_policy(task.policy_path())
    a, b = policy.act(obs), policy.act(obs.mirrored())
    assert np.abs(a).max() > 1e-3  # not trivially zero
    if task.action_dim == 1:
        assert b == pytest.approx(-a, abs=1e-12)
    else:
        assert b == pytest.approx(a * np.array([1.0, -1.0]), abs=1e-12)


def test_swarm_train_and_run_commands_write_their_outputs(tmp_path, capsys):
    def cli(*argv: str) -> int:
        return run_command(build_parser()[0].parse_args(["swarm", *argv]), {})

    out = tmp_path / "train"
    assert cli("train", "vicsek", "--iterations", "1", "--agents", "8", "--out", str(out), "-q") == 0
    assert {p.name for p in out.iterdir()} == {"policy.npz", "learning_curve.png", "train.json"}
    assert "300 environment steps (2400 agent-steps)" in capsys.readouterr().out  # 1 iteration x 3 x 100 steps
    policy = load_policy(out / "policy.npz")
    assert policy.meta["env_steps"] == 300 and policy.meta["base_law"] == "vicsek_average"
    run = tmp_path / "run"
    argv = ["run", "vicsek", "--policy", str(out / "policy.npz"), "--agents", "12", "--steps", "4", "--out", str(run)]
    assert cli(*argv, "--gif-frames", "2", "-q") == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["controller"] == "dec-pomfc" and len(m["order_parameter"]) == 4 and (run / "swarm.gif").exists()


@pytest.mark.parametrize(
    ("meta", "reason"),
    [("{broken", "never closed"), ("{1: [}", "does not match"), ("[1, 2]", None)],
)
def test_a_policy_file_with_a_malformed_meta_is_one_line(tmp_path, meta, reason):
    """A hand-edited or foreign ``.npz``: its meta is parsed inside the refusal, not later as a SyntaxError."""
    bad = tmp_path / "p.npz"
    np.savez(bad, p0=np.zeros((3, 3)), p1=np.zeros(3), log_std=np.zeros(2), meta=np.array(meta))
    if meta.startswith("{"):
        with pytest.raises(BadInputError, match=r"p\.npz is not a Dec-POMFC policy file \(.*" + reason):
            load_policy(bad)
    else:  # a meta that is no dict literal reads as no meta (older files)
        assert load_policy(bad).meta == {}
    text = tmp_path / "metrics.json"
    text.write_text("{}")
    with pytest.raises(BadInputError, match=r"metrics\.json is not a Dec-POMFC policy file \(not an \.npz archive\)"):
        load_policy(text)
