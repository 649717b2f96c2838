"""Every benchmark command refuses a bad count or number in one argparse line (exit 2) before it measures anything:
``--trials 0``, ``--steps -5`` or ``--density nan`` used to reach the measurement and end in a traceback, an empty
table or a division by zero."""

from __future__ import annotations

import sys

import benchmark_script
import pytest

CASES = [
    ("drone_fleet", ["--vehicles", "0"], "--vehicles: must be >= 1, got 0"),
    ("fuzz_link", ["--out", "x", "--frames", "-1"], "--frames: must be >= 1, got -1"),
    ("has_missions", ["--seeds", "0"], "--seeds: must be >= 1, got 0"),
    ("hmas2_fanout", ["--delay-ms", "-3"], "--delay-ms: must be >= 0, got -3"),
    ("link_cut", ["--out", "x", "--trials", "0"], "--trials: must be >= 1, got 0"),
    ("llm_model_time", ["--seeds", "-1"], "--seeds: must be >= 1, got -1"),
    ("mapf_lifelong", ["--steps", "0"], "--steps: must be >= 1, got 0"),
    ("mapf_vs_pogema", ["--timeout", "inf"], "--timeout: must be a number of seconds > 0, got inf"),
    ("node_stop", ["--delay", "-1"], "--delay: must be a number of seconds >= 0, got -1"),
    ("pybullet_rtf", ["--robots", "16", "0"], "--robots: must be >= 1, got 0"),
    ("real_fleet", ["--steps", "-5"], "--steps: must be >= 1, got -5"),
    ("ros_estop", ["--out", "x", "--at-step", "-2"], "--at-step: must be >= 0, got -2"),
    (
        "swarm_control",
        ["--transfer-horizon-power", "inf"],
        "--transfer-horizon-power: must be a finite number > 0, got inf",
    ),
    ("swarm_pybullet_rtf", ["--vehicles", "0"], "--vehicles: must be >= 1, got 0"),
    ("swarm_scaling", ["--density", "nan"], "--density: must be a finite number > 0, got nan"),
]


def _main(name: str):
    return benchmark_script.load(name).main


@pytest.mark.parametrize(("name", "argv", "line"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_option_is_one_argparse_line_before_any_work(name, argv, line, capsys, monkeypatch):
    main = _main(name)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *argv])  # as run from the shell: main() reads sys.argv
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {line}" in err and "Traceback" not in err
