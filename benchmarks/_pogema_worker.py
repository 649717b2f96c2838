"""Runs in fleetmind's own venv: our planners for ``_pogema_adapter.py``, which runs POGEMA in the pogema venv.

    .venv/bin/python benchmarks/_pogema_worker.py      # started by the adapter; JSON lines on stdin and stdout

pogema 1.4.0 needs pydantic 1 and numpy < 2, fleetmind needs pydantic 2, so the two cannot share a process: the
adapter steps POGEMA and sends this worker, one JSON object per line, what a planner sees:

- ``{"op": "reset", "planner": NAME, "blocked": ["..#.", ...], "agents": N, "seed": S}``: a new episode on that map
  (``#`` blocked); the planner's kernels are warmed here, outside the timing. Reply ``{"ok": true}``.
- ``{"op": "act", "pos": [[r, c], ...], "goal": [[r, c], ...]}``: the next joint action. Reply
  ``{"actions": [...], "planning_s": T}`` (the planner's own time for this step; a decentralized planner also gets
  the agents each one sees within radius 5, as in POGEMA's observation).
- ``{"op": "resolve", "pos": [...], "actions": [...]}``: our soft-collision rule on the current map (the semantics
  check). Reply ``{"after": [[r, c], ...]}``: where the agents stand after them.

A bad request gets ``{"error": "..."}`` and the worker goes on; end of input ends it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleetmind.planners.mapf import lifelong_core, visible_lists  # noqa: E402
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, soft_resolve  # noqa: E402

VISIBLE = ("follower", "follower_il")  # the decentralized cores: each agent also gets the agents it sees
RADIUS = 5


class Session:
    def __init__(self) -> None:
        self.core: Any = None
        self.planner = ""
        self.blocked = np.zeros((0, 0), dtype=bool)

    def reset(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.planner = str(msg["planner"])
        self.blocked = np.array([[ch == "#" for ch in row] for row in msg["blocked"]], dtype=bool)
        self.core = lifelong_core(self.planner, self.blocked, int(msg["agents"]), int(msg["seed"]))
        w = self.blocked.shape[1]
        free = np.flatnonzero(~self.blocked.ravel())[: int(msg["agents"])]
        cells = free.astype(np.int64)
        pos = np.stack(np.divmod(cells, w), axis=1)
        self._actions(pos, cells, cells[::-1].copy())  # warm-up: compile or load the numba kernels
        self.core.reset(int(msg["seed"]))
        return {"ok": True}

    def _actions(self, pos: np.ndarray, pc: np.ndarray, gc: np.ndarray) -> np.ndarray:
        if self.planner in VISIBLE:
            h, w = self.blocked.shape
            return self.core.actions(pc, gc, *visible_lists(pos, w, RADIUS, h))  # type: ignore[no-any-return]
        return self.core.actions(pc, gc)  # type: ignore[no-any-return]

    def act(self, msg: dict[str, Any]) -> dict[str, Any]:
        if self.core is None:
            return {"error": "act before reset"}
        w = self.blocked.shape[1]
        pos = np.array(msg["pos"], dtype=np.int64).reshape(-1, 2)
        goal = np.array(msg["goal"], dtype=np.int64).reshape(-1, 2)
        t0 = time.perf_counter()
        acts = self._actions(pos, pos[:, 0] * w + pos[:, 1], goal[:, 0] * w + goal[:, 1])
        return {"actions": [int(a) for a in acts], "planning_s": time.perf_counter() - t0}

    def resolve(self, msg: dict[str, Any]) -> dict[str, Any]:
        pos = np.array(msg["pos"], dtype=np.int64).reshape(-1, 2)
        acts = np.array(msg["actions"], dtype=np.int64)
        out = soft_resolve(pos[:, 0].copy(), pos[:, 1].copy(), acts, self.blocked)
        return {"after": (pos + np.stack([DR[out], DC[out]], axis=1)).tolist()}


def main() -> int:
    session = Session()
    ops = {"reset": session.reset, "act": session.act, "resolve": session.resolve}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            reply = ops[msg["op"]](msg)
        except (KeyError, ValueError, TypeError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
