"""The architecture, checked from the source: imports only go down the layers of DESIGN.md, task names are compared
only inside ``tasks/``, heavy libraries stay at their edges, and loading a scenario imports none of them."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Layer of each part of the package, lowest first. Peers of one layer may not import each other.
LAYERS: dict[str, int] = {
    "robots": 0,
    "tasks": 1,
    "sim": 2,
    "planners": 2,
    "firmware_bridge": 2,
    "testing": 3,
    "app": 4,
    "ros": 5,
    "cli": 6,
}
SOURCE = {part: ROOT / part for part in ("robots", "tasks", "sim", "planners", "firmware_bridge")} | {
    part: ROOT / "fleetmind" / part for part in ("testing", "app", "ros")
}
# Where each heavy library may be imported (path prefixes relative to the repository root).
HEAVY = {
    "rclpy": ("fleetmind/ros/",),
    "pybullet": ("sim/pybullet/",),
    "openai": ("planners/llm/client.py",),
    "numba": ("_kernels.py",),
}


def part_of_module(module: str) -> str | None:
    """``fleetmind.sim.grid`` -> ``sim``; ``fleetmind.cli`` / ``fleetmind.__main__`` -> ``cli``."""
    parts = module.split(".")
    if parts[0] != "fleetmind":
        return None
    if len(parts) == 1 or parts[1] not in LAYERS:
        return "cli"
    return parts[1]


def part_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] == "fleetmind":
        return rel[1] if len(rel) > 2 and rel[1] in LAYERS else "cli"
    return rel[0]


def package_files() -> list[Path]:
    files = [
        p
        for d in ("robots", "tasks", "sim", "planners", "firmware_bridge", "fleetmind")
        for p in (ROOT / d).rglob("*.py")
    ]
    return sorted(p for p in files if "__pycache__" not in p.parts)


def imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def violations(files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        src = part_of_file(path)
        rel = path.relative_to(ROOT).as_posix()
        for line, module in imports(path):
            top = module.split(".")[0]
            if top in ("robots", "tasks", "sim", "planners", "firmware_bridge"):
                bad.append(f"{rel}:{line}: imports {module}; write fleetmind.{module}")
            if top in HEAVY and not any(p in rel if p.endswith(".py") else rel.startswith(p) for p in HEAVY[top]):
                bad.append(f"{rel}:{line}: imports {top} outside {', '.join(HEAVY[top])}")
            dst = part_of_module(module)
            if dst is None or dst == src:
                continue
            if LAYERS[dst] > LAYERS[src]:
                bad.append(f"{rel}:{line}: {src} imports {module} from the higher layer {dst}")
            elif LAYERS[dst] == LAYERS[src]:
                bad.append(f"{rel}:{line}: {src} imports its peer {module}")
    return bad


def test_imports_only_go_down_the_layers():
    bad = violations(package_files())
    assert not bad, "forbidden imports:\n" + "\n".join(bad)


def test_the_layer_check_catches_an_upward_and_a_peer_edge(tmp_path):
    """The check itself can fail: a module under sim/ importing planners (a peer) or the app is reported with its
    file and line."""
    probe = ROOT / "sim" / "_layer_probe.py"
    probe.write_text("import numpy\nimport fleetmind.planners\nfrom fleetmind.app.runner import run\n")
    try:
        bad = violations([probe])
    finally:
        probe.unlink()
    assert bad == [
        "sim/_layer_probe.py:2: sim imports its peer fleetmind.planners",
        "sim/_layer_probe.py:3: sim imports fleetmind.app.runner from the higher layer app",
    ]


TASK_NAME = re.compile(
    r"""(==|!=|\bin\b)\s*\(?\s*["'](boxnet1|boxnet2|warehouse|boxlift|mapf_lifelong)["']"""
    r"""|["'](boxnet1|boxnet2|warehouse|boxlift|mapf_lifelong)["']\s*(==|!=|:)"""
)


def test_no_module_outside_tasks_compares_task_names():
    """Choose by type: a task is found once in the registry, never by comparing its name."""
    bad = []
    for path in package_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tasks/"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TASK_NAME.search(line.split("#")[0]):
                bad.append(f"{rel}:{n}: {line.strip()}")
    assert not bad, "task names compared outside tasks/:\n" + "\n".join(bad)


HEAVY_MODULES = ("rclpy", "pybullet", "openai", "langgraph", "numba")


def test_loading_every_scenario_imports_no_heavy_library():
    code = (
        "import json, sys\n"
        "from fleetmind.app.scenario import list_scenarios\n"
        "loaded = [str(p) for p, s in list_scenarios() if not isinstance(s, Exception)]\n"
        f"print(json.dumps([loaded, sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded, heavy = json.loads(out.stdout.splitlines()[-1])
    assert len(loaded) == len(list((ROOT / "scenarios").glob("*.yaml")))
    assert heavy == []
