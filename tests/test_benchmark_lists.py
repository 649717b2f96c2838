"""Every benchmark's comma-list option refuses an empty or unknown list in one line (exit 2) before any work:
``--only ,`` used to run every map set, ``--planners ,`` none, ``--missions nope`` ran and wrote an empty result,
and swarm_control's ``--tasks nope`` / ``--transfer-agents abc`` ended in a traceback."""

from __future__ import annotations

import benchmark_script
import pytest

# (script, argv, the line on stderr)
CASES = [
    ("mapf_lifelong", ["--only", ","], "--only: an empty list"),
    ("mapf_lifelong", ["--planners", ","], "--planners: an empty list"),
    ("mapf_lifelong", ["--only", "large,nope"], "--only: unknown map set 'nope'; choose from"),
    ("mapf_vs_pogema", ["--planners", ","], "--planners: an empty list"),
    ("mapf_vs_pogema", ["--only", ","], "--only: an empty list"),
    ("mapf_vs_pogema", ["--only", "nope"], "--only: unknown map 'nope'"),
    ("has_missions", ["--missions", "nope"], "--missions: unknown mission 'nope'"),
    ("has_missions", ["--methods", ","], "--methods: an empty list"),
    ("swarm_control", ["--tasks", "nope"], "--tasks: unknown task 'nope'"),
    ("swarm_control", ["--tasks", ","], "--tasks: an empty list"),
    ("swarm_control", ["--transfer-modes", "nope"], "--transfer-modes: unknown mode 'nope'"),
    ("swarm_control", ["--transfer-agents", "abc"], "--transfer-agents: 'abc' is not a comma list"),
    ("swarm_control", ["--transfer-agents", "100,0"], "--transfer-agents: '100,0' is not a comma list"),
]


@pytest.mark.parametrize(("name", "argv", "line"), CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_a_bad_list_is_one_line_and_exit_2_before_any_work(name, argv, line, capsys, monkeypatch, tmp_path):
    module = benchmark_script.load(name)
    for slow in ("ensure_venv", "benchmark_maps", "episode", "run_one"):  # reaching any of them is the failure
        if hasattr(module, slow):
            monkeypatch.setattr(module, slow, lambda *a, **k: pytest.fail(f"{name} {argv} started work"))
    monkeypatch.chdir(tmp_path)
    try:
        code = module.main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert line in err and "Traceback" not in err
    assert len([x for x in err.splitlines() if x.strip() and not x.startswith(("usage", " "))]) == 1  # + usage
    assert not list(tmp_path.rglob("*.json"))  # nothing written
