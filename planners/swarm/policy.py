"""Dec-POMFC's shared policy: a small tanh MLP from one agent's observation vector to the mean of a Gaussian over
its action (in units of the world's bound), with a learned state-independent log standard deviation, and a value
MLP of the same shape (training only). The MLP may be a residual on a classical law (``meta["base_law"]``, with
``meta["base_gains"]``): the action is then ``clip(law(obs) + mlp(obs))`` for agents with neighbours (the law alone
for the others), so training starts from the tuned law.
Weights live in ``.npz`` files; inference is plain numpy."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.robots.errors import BadInputError


class MLP:
    """``x (B, in) -> (B, out)``: tanh hidden layers, a linear output. ``params``: ``W0, b0, W1, b1, ...``."""

    def __init__(self, params: list[np.ndarray]):
        self.params = params

    @staticmethod
    def init(sizes: list[int], rng: np.random.Generator, out_scale: float = 0.01) -> MLP:
        params: list[np.ndarray] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            scale = out_scale if i == len(sizes) - 2 else np.sqrt(1.0 / a)
            params += [rng.normal(0.0, scale, (a, b)), np.zeros(b)]
        return MLP(params)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Output and the activations (the input of each layer) for :meth:`backward`."""
        acts = [x]
        h = x
        layers = len(self.params) // 2
        for i in range(layers):
            h = h @ self.params[2 * i] + self.params[2 * i + 1]
            if i < layers - 1:
                h = np.tanh(h)
                acts.append(h)
        return h, acts

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[0]

    def backward(self, acts: list[np.ndarray], grad_out: np.ndarray) -> list[np.ndarray]:
        """Gradients of ``sum(grad_out * output)`` w.r.t. ``params`` (same order)."""
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        g = grad_out
        for i in range(len(self.params) // 2 - 1, -1, -1):
            grads[2 * i] = acts[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = (g @ self.params[2 * i].T) * (1.0 - acts[i] ** 2)
        return grads


class MLPPolicy:
    """The shared Gaussian policy: ``mean = mlp(obs)``, ``std = exp(log_std)``; ``act`` is its mean (clipped)."""

    def __init__(self, mlp: MLP, log_std: np.ndarray, meta: dict[str, Any] | None = None):
        self.mlp = mlp
        self.log_std = log_std
        self.meta = dict(meta or {})

    @property
    def inputs(self) -> int:
        return int(self.mlp.params[0].shape[0])

    def act(self, obs: SwarmObservation) -> np.ndarray:
        """Deterministic actions (the Gaussian's mean) in ``[-1, 1]`` bound units: ``(N,)`` for one action column,
        else ``(N, k)``."""
        x = obs.vector()
        if x.shape[1] != self.inputs:
            raise BadInputError(
                f"the policy takes {self.inputs} observation values per agent, the world gives {x.shape[1]}: "
                "use the bins it was trained with, or retrain (fleetmind swarm train)"
            )
        a = np.clip(self.command(self.symmetric(obs, x), obs), -1.0, 1.0)
        return a[:, 0] if a.shape[1] == 1 else a

    def symmetric(self, obs: SwarmObservation, x: np.ndarray) -> np.ndarray:
        """The MLP's output made mirror-equivariant, ``(f(obs) + S f(mirror(obs))) / 2`` with ``S`` the mirror of
        an action (a turn or frequency change: -1; a velocity: ``(vx, -vy)``): the physics has this symmetry, and a
        policy without it carries a turn bias (a swarm that turns in circles and stops mixing in a large box)."""
        out = self.mlp(x)
        sign = -np.ones(out.shape[1]) if out.shape[1] == 1 else np.array([1.0, -1.0])
        return 0.5 * (out + sign * self.mlp(obs.mirrored().vector()))

    def command(self, residual: np.ndarray, obs: SwarmObservation) -> np.ndarray:
        """``(N, k)`` actions from the MLP's ``residual``: on a base law, the law plus the residual for agents that
        see a neighbour (an agent alone knows nothing to correct the law with: it follows the law); else the MLP."""
        if not self.meta.get("base_law"):
            return residual
        return self.base(obs) + residual * (obs.count > 0)[:, None]

    def base(self, obs: SwarmObservation) -> np.ndarray:
        """``(N, k)`` actions of the classical law this policy is a residual on (0 without one)."""
        law = self.meta.get("base_law")
        k = self.mlp.params[-1].shape[0]
        if not law:
            return np.zeros((obs.agents, k))
        from fleetmind.planners.swarm.laws import ClassicController

        return ClassicController(law, self.meta.get("base_gains") or {}).act(obs).reshape(obs.agents, k)

    def save(self, path: str | Path, **meta: Any) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"p{i}": p for i, p in enumerate(self.mlp.params)}
        info = np.array(repr({**self.meta, **meta}))
        with path.open("wb") as f:
            np.savez_compressed(f, log_std=self.log_std, meta=info, **arrays)
        return path


def load_policy(path: str | Path) -> MLPPolicy:
    """A policy saved by :meth:`MLPPolicy.save`; a missing or unreadable file: one line saying how to make it."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"no Dec-POMFC policy at {path}: train one with `fleetmind swarm train TASK`")
    try:
        with np.load(path, allow_pickle=False) as z:
            params = [z[f"p{i}"] for i in range(sum(1 for k in z.files if k.startswith("p")))]
            log_std = z["log_std"]
            meta_text = str(z["meta"])
        meta = ast.literal_eval(meta_text) if meta_text.startswith("{") else {}
        if not isinstance(meta, dict):
            raise ValueError(f"its meta is a {type(meta).__name__}, not a dict")
    except (OSError, ValueError, KeyError, SyntaxError, MemoryError, RecursionError) as exc:
        reason = exc if zipfile.is_zipfile(path) else "not an .npz archive"  # numpy would suggest unpickling it
        raise BadInputError(
            f"{path} is not a Dec-POMFC policy file ({reason}): retrain with `fleetmind swarm train`"
        ) from None
    return MLPPolicy(MLP(params), log_std, meta)


class PolicyController:
    """A loaded policy as a controller (``act(obs)``)."""

    def __init__(self, policy: MLPPolicy):
        self.policy = policy

    def act(self, obs: SwarmObservation) -> np.ndarray:
        return self.policy.act(obs)
