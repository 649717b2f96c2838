"""Swarm controllers (issue 15): classical laws with tuned gains and the Dec-POMFC policy (a shared MLP on each
agent's mean-field observation, trained with PPO in numpy). All of them map a :class:`SwarmObservation` (every
agent's local view) to bounded actions, one row per agent: the same decentralized rule for every agent."""

from fleetmind.planners.swarm.laws import LAWS, ClassicController, make_classic
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.planners.swarm.policy import MLPPolicy, PolicyController, load_policy

__all__ = [
    "LAWS",
    "ClassicController",
    "MLPPolicy",
    "PolicyController",
    "SwarmObservation",
    "load_policy",
    "make_classic",
]
