"""Run by ``swarm_scaling.py --vmas`` with the interpreter of VMAS's own venv (VMAS is GPL-3.0: measured, never
vendored or imported by fleetmind): VMAS's ``flocking`` scenario on CPU, one environment of N agents, zero
actions. Prints one JSON line per N: ``{"agents", "ms_per_step", "steps", "vmas", "torch"}``."""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    import torch
    import vmas

    torch.set_num_threads(2)
    budget = float(sys.argv[1])
    for n in map(int, sys.argv[2:]):
        env = vmas.make_env("flocking", num_envs=1, device="cpu", continuous_actions=True, n_agents=n, seed=0)
        env.reset()
        actions = [torch.zeros((1, 2)) for _ in range(n)]
        env.step(actions)  # warm
        times: list[float] = []
        while not times or (sum(times) < budget and len(times) < 20):
            t0 = time.perf_counter()
            env.step(actions)
            times.append(time.perf_counter() - t0)
        times.sort()
        ms = 1e3 * times[len(times) // 2]
        row = {
            "agents": n,
            "ms_per_step": ms,
            "steps": len(times),
            "vmas": vmas.__version__,
            "torch": torch.__version__,
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
