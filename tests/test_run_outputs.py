"""Results are never lost silently (issue 13, item 15): a run into an existing --out adds its seeds to the same
run's metrics.json, refuses another run's or an unreadable one without --overwrite; bench llm does the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.robots.errors import BadInputError

from fleetmind.app import runner
from fleetmind.app.scenario import load_scenario
from fleetmind.cli import main


def _run(out: Path, *argv: str) -> int:
    return main(["run", "boxnet1_2x2", "--out", str(out), "-q", *argv])


def _seeds(out: Path) -> list[int]:
    return [e["seed"] for e in json.loads((out / "metrics.json").read_text())["episodes"]]


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_later_run_of_the_same_scenario_and_planner_adds_its_seeds(tmp_path, capsys, caplog):
    assert _run(tmp_path, "--seed", "0", "--episodes", "3") == 0
    first = json.loads((tmp_path / "metrics.json").read_text())
    capsys.readouterr()
    assert _run(tmp_path, "--seed", "2", "--episodes", "3") == 0  # seeds 2-4: seed 2 again
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert _seeds(tmp_path) == [0, 1, 2, 3, 4]
    assert metrics["episodes"][:2] == first["episodes"][:2]  # seeds 0 and 1 kept as they were
    assert metrics["success_rate"] == 1.0
    assert metrics["mean_steps"] == pytest.approx(sum(e["steps"] for e in metrics["episodes"]) / 5)
    assert sorted(p.name for p in (tmp_path / "episodes").iterdir()) == [f"seed_{n}.jsonl" for n in range(5)]
    printed = capsys.readouterr()
    assert "3 episode(s): success 3/3" in printed.out  # this run
    assert "metrics.json now holds seeds 0-4 (5 episode(s), 2 kept from earlier runs): success 5/5" in printed.out
    assert "re-ran seed(s) 2, replacing their earlier records" in printed.out
    assert "re-running seed(s) 2 replaces their earlier records" in caplog.text


def test_another_run_is_refused_with_one_line_and_nothing_written(tmp_path, capsys):
    assert _run(tmp_path, "--episodes", "2") == 0
    before = (tmp_path / "metrics.json").read_bytes()
    capsys.readouterr()
    assert _run(tmp_path, "--planner", "cmas", "--llm", "oracle") == 2
    assert _one_line(capsys) == (
        f"fleetmind: error: {tmp_path / 'metrics.json'}: holds results of another run: planner 'oracle' "
        "(this run: 'cmas'); pass --overwrite to replace it, or choose another --out"
    )
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "episodes").iterdir()) == ["seed_0.jsonl", "seed_1.jsonl"]
    # --overwrite: the new run alone, and the replaced run's traces go with it
    assert _run(tmp_path, "--planner", "cmas", "--llm", "oracle", "--seed", "1", "--overwrite") == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["planner"] == "cmas" and _seeds(tmp_path) == [1]
    assert sorted(p.name for p in (tmp_path / "episodes").iterdir()) == ["seed_1.jsonl", "seed_1.llm.jsonl"]
    # an LLM setting that shapes the plans is another run too; the run's object names it
    capsys.readouterr()
    assert _run(tmp_path, "--planner", "cmas", "--llm", "oracle", "--history", "none") == 2
    assert "llm.history 'state_action' (this run: 'none')" in _one_line(capsys)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"scenario": "boxnet1_2x2", "episodes": [', "cannot read the earlier results (Expecting value"),
        ("[1, 2]", "not a fleetmind result file (no episodes list)"),
        ('{"scenario": "boxnet1_2x2", "planner": "oracle", "episodes": []}', "does not say which settings made it"),
    ],
)
def test_an_unreadable_or_unknown_metrics_json_is_refused_unless_overwrite(tmp_path, capsys, content, reason):
    (tmp_path / "metrics.json").write_text(content)
    assert _run(tmp_path) == 2
    line = _one_line(capsys)
    assert line.startswith(f"fleetmind: error: {tmp_path / 'metrics.json'}: {reason}")
    assert line.endswith("pass --overwrite to replace it, or choose another --out")
    assert (tmp_path / "metrics.json").read_text() == content and not (tmp_path / "episodes").exists()
    assert _run(tmp_path, "--overwrite") == 0
    assert _seeds(tmp_path) == [0]


def test_an_interrupted_rerun_keeps_the_earlier_records_of_the_seeds_it_did_not_reach(tmp_path):
    config = runner.RunConfig(scenario=load_scenario("boxnet1_2x2"), seed=0, episodes=3, out=tmp_path)
    runner.run(config)
    earlier = json.loads((tmp_path / "metrics.json").read_text())["episodes"]

    def stop(record: runner.EpisodeRecord) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run(config, on_episode=stop)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["episodes"] == earlier and metrics["complete"] is False


def test_only_settings_that_shape_the_plans_make_another_run(tmp_path):
    scenario = load_scenario("boxnet1_2x2")

    def identity(planner: str, **llm: object) -> dict[str, object]:
        return runner.run_identity(runner.RunConfig(scenario=scenario, planner=planner, llm=LLMSettings(**llm)))

    assert identity("cmas") == identity("cmas", timeout_s=5, max_retries=0, base_url="http://127.0.0.1:1/v1")
    assert identity("cmas") != identity("cmas", temperature=0.7)
    assert identity("cmas") != identity("cmas", hints=True)  # hints default off for this backend
    assert identity("cmas", backend="local") == identity("cmas", backend="local", hints=True)  # on by default
    assert identity("oracle") == identity("oracle", temperature=0.7)  # no LLM: its settings do not matter
    assert identity("oracle")["world"] == {**scenario.world.model_dump(mode="json")}
    (tmp_path / "metrics.json").mkdir()  # a folder where the file should be: one line, exit 2
    with pytest.raises(BadInputError, match=r"metrics.json: cannot read the earlier results \(Is a directory\)"):
        runner.earlier_episodes(runner.RunConfig(scenario=scenario, out=tmp_path))


def _bench(out: Path, *argv: str) -> int:
    return main(["bench", "llm", "--quick", "--tasks", "boxnet1", "--seeds", "1", "--out", str(out), *argv])


def test_bench_adds_cells_to_the_same_benchs_tables_and_refuses_another(tmp_path, capsys):
    assert _bench(tmp_path, "--frameworks", "cmas") == 0
    first = json.loads((tmp_path / "llm.json").read_text())["rows"]
    assert [r["framework"] for r in first] == ["cmas"] and first[0]["run_at"]
    assert _bench(tmp_path, "--frameworks", "dmas,cmas") == 0
    rows = json.loads((tmp_path / "llm.json").read_text())["rows"]
    assert [r["framework"] for r in rows] == ["dmas", "cmas"]  # cmas run again: its row replaced, not doubled
    assert len((tmp_path / "llm.csv").read_text().splitlines()) == 3
    assert "the tables hold 2 rows: 0 kept from earlier benches, 1 replaced by this one's" in capsys.readouterr().out
    before = (tmp_path / "llm.json").read_bytes()
    assert _bench(tmp_path, "--frameworks", "hmas1", "--seeds", "2") == 2
    assert "holds results of another run: seeds 1 (this run: 2); pass --overwrite" in _one_line(capsys)
    assert (tmp_path / "llm.json").read_bytes() == before
    assert _bench(tmp_path, "--frameworks", "hmas1", "--overwrite") == 0
    assert [r["framework"] for r in json.loads((tmp_path / "llm.json").read_text())["rows"]] == ["hmas1"]


def test_demo_refuses_an_unreadable_metrics_json_before_it_writes_anything(tmp_path, capsys):
    (tmp_path / "oracle").mkdir()
    (tmp_path / "oracle" / "metrics.json").write_text("{")
    assert main(["demo", "--llm", "oracle", "--out", str(tmp_path)]) == 2
    assert "oracle/metrics.json: cannot read the earlier results" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oracle"]  # the LLM part did not run
    assert (tmp_path / "oracle" / "metrics.json").read_text() == "{"


def test_bench_rows_carry_hmas2_checks_and_the_dialogue_figures(tmp_path):
    """Issue 18: HMAS-2's agreement rate and the plan changes its checks caused, DMAS's turns per step and how often
    EXECUTE came on the first turn, are columns of the bench (CMAS rows leave them empty, the CSV still has them)."""
    assert _bench(tmp_path, "--frameworks", "cmas,hmas2,dmas") == 0
    rows = {r["framework"]: r for r in json.loads((tmp_path / "llm.json").read_text())["rows"]}
    h2, dm = rows["hmas2"], rows["dmas"]
    assert h2["hmas2_checks"] >= h2["steps_total"] and h2["hmas2_agreements"] <= h2["hmas2_checks"]
    assert h2["hmas2_agreement_rate"] == pytest.approx(h2["hmas2_agreements"] / h2["hmas2_checks"], abs=1e-4)
    assert dm["dialogue_steps"] == dm["steps_total"] and dm["dialogue_turns_per_step"] >= 1.0
    assert 0.0 <= dm["execute_first_turn_rate"] <= 1.0 and "hmas2_checks" not in rows["cmas"]
    header = (tmp_path / "llm.csv").read_text().splitlines()[0].split(",")
    assert {"hmas2_agreement_rate", "dialogue_turns_per_step"} <= set(header)
    md = (tmp_path / "llm.md").read_text()
    assert "hmas2_agreement_rate" in md and "execute_first_turn_rate" in md


def test_the_result_writers_replace_whole_files_or_leave_the_old_one(tmp_path):
    from fleetmind.app.results import copy_atomic, write_json

    path = tmp_path / "metrics.json"
    write_json(path, {"b": 1, "a": [1, 2]}, sort_keys=True)
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})  # fails half-way through the dump
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind
    src = tmp_path / "new.npz"
    src.write_bytes(b"new")
    copy_atomic(src, path)
    assert path.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "new.npz"]


def test_a_demo_whose_model_server_is_down_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    """The demo used to exit 0 after its LLM part failed as llm_unavailable (``make demo`` passed showing nothing)."""
    import socket

    from fleetmind.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("FLEETMIND_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    import fleetmind.app.cli as app_cli

    settings = app_cli.llm_settings
    monkeypatch.setattr(  # no retries: the refused connection is the whole story
        app_cli, "llm_settings", lambda *a: settings(*a).model_copy(update={"max_retries": 0, "backoff_s": 0.0})
    )
    assert main(["demo", "--llm", "openai", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("fleetmind: error: demo's CMAS part: no episode ran: 1 of 1 failed for infrastructure")
    assert json.loads((tmp_path / "oracle" / "metrics.json").read_text())["success_rate"] == 1.0  # the floor ran


def test_a_bench_cell_whose_model_server_is_down_is_not_run_not_a_zero_success(tmp_path, capsys, monkeypatch):
    """Rows said ``success 0.00`` for cells whose every episode was llm_unavailable, and the bench exited 0."""
    import socket

    from fleetmind.planners.llm.config import LLMSettings

    import fleetmind.app.bench as bench

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("FLEETMIND_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setattr(bench, "LLMSettings", lambda **kw: LLMSettings(**kw, max_retries=0, backoff_s=0.0))
    argv = ["bench", "llm", "--llm", "openai", "--quick", "--frameworks", "cmas", "--tasks", "boxnet1"]
    assert main([*argv, "--seeds", "1", "--out", str(tmp_path)]) == 1
    printed = capsys.readouterr()
    assert "cmas   boxnet1   2x2    hints off not run: every episode failed for infrastructure" in printed.out
    assert printed.err.strip().splitlines()[-1].startswith("fleetmind: error: no cell ran: every episode failed for")
    row = json.loads((tmp_path / "llm.json").read_text())["rows"][0]
    assert (row["episodes_ran"], row["success_rate"]) == (0, None)
    assert row["infrastructure_failures"] == {"llm_unavailable": 1}
