"""`fleetmind up` with the local model: one model server for the whole graph, which every node reaches by URL."""

from __future__ import annotations

from fleetmind.planners.llm.config import LLMSettings

from fleetmind.app import llm as backends
from fleetmind.ros.graph import node_graph
from fleetmind.ros.up import UpConfig, graph_llm


def test_up_starts_one_local_model_server_that_every_node_shares(monkeypatch):
    started: list[str] = []

    def fake_local_url(settings: LLMSettings) -> str:
        started.append(settings.local_model)
        return "http://127.0.0.1:9/v1"

    monkeypatch.setattr(backends, "_local_url", fake_local_url)
    config = UpConfig(scenario="boxnet1_2x2", planner="hmas2", llm=LLMSettings(backend="local"))
    shared = graph_llm(config)
    assert started == ["qwen2.5-coder-0.5b"]
    assert (shared.backend, shared.base_url, shared.model) == ("openai", "http://127.0.0.1:9/v1", "qwen2.5-coder-0.5b")
    assert shared.hints_on and shared.cache_prompt_on  # as the local backend has them
    nodes = node_graph("boxnet1_2x2", "hmas2", shared)
    llm_nodes = [n for n in nodes if "llm.backend" in n.parameters]
    assert len(llm_nodes) == 5  # the planner and one agent per robot
    assert {(n.parameters["llm.backend"], n.parameters["llm.base_url"]) for n in llm_nodes} == {
        ("openai", "http://127.0.0.1:9/v1")
    }


def test_up_starts_no_model_server_for_a_planner_without_a_model(monkeypatch):
    monkeypatch.setattr(backends, "_local_url", lambda settings: (_ for _ in ()).throw(AssertionError("started")))
    config = UpConfig(scenario="boxnet1_2x2", planner="oracle", llm=LLMSettings(backend="local"))
    assert graph_llm(config).backend == "local"
