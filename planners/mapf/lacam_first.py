"""LaCAM*'s first solution from the numba search (``_search_kernels.py``): :class:`FirstSearch` owns one search's
arrays (grown by doubling between calls, up to a memory cap) and runs it in slices; :func:`portfolio` runs several
searches with different seeds round-robin at small equal budgets, the first to reach the goal wins. The number of
configurations one search needs is heavy-tailed in PIBT's tie-breaks (210 .. >8,500 over ten seeds at 400 agents on
random-32-32-20), so K searches in turns finish in about K times the best one's count rather than the worst's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from fleetmind.planners.mapf._search_kernels import EXHAUSTED, FOUND, FULL, add_config, rehash, search_run

log = logging.getLogger(__name__)

MAX_BYTES = 1 << 30  # one search's arrays stop growing here: it then reports itself exhausted by memory
_START_CAP = 256  # configurations a search holds before its first growth
_CHUNK = 64  # new configurations per kernel call at most: the deadline is checked between calls
_NO_SLOTS = np.zeros((0, 0), dtype=np.int8)


class FirstSearch:
    """One resumable LaCAM* search for a first solution. ``start``/``goal``: ``(N,) int64`` cells; ``dist``:
    ``(N, C)`` cost-to-go; ``nbr``: ``(C, 5) int64``; ``slots``: ``(N, C) int8`` SUO slots or None; ``seed``: the
    splitmix64 state. :meth:`run` explores up to a budget of new configurations; ``found``/``exhausted`` say why it
    stopped; ``out_of_memory``: exhausted because its arrays would pass ``max_bytes``."""

    def __init__(
        self, start: np.ndarray, goal: np.ndarray, dist: np.ndarray, nbr: np.ndarray, seed: int,
        slots: np.ndarray | None = None, swap: bool = True, tries: int = 1, max_bytes: int = MAX_BYTES,
        capacity: int = _START_CAP,
    ):  # fmt: skip
        n = len(start)
        self.goal, self.dist, self.nbr = np.asarray(goal, dtype=np.int64), dist, nbr
        self.slots = _NO_SLOTS if slots is None else slots
        self.guided = slots is not None
        self.seed, self.swap, self.tries, self.max_bytes = seed, swap, tries, max_bytes
        self.found = self.exhausted = self.out_of_memory = False
        cap = max(4, capacity)
        self.cfgs = np.zeros((cap, n), dtype=np.int32)
        self.prio = np.zeros((cap, n))
        self.order = np.zeros((cap, n), dtype=np.int32)
        self.parent = np.zeros(cap, dtype=np.int32)
        self.gcost, self.hcost, self.head, self.tail = (np.zeros(cap, dtype=np.int64) for _ in range(4))
        self.nseed, self.hashes = np.zeros(cap, dtype=np.uint64), np.zeros(cap, dtype=np.uint64)
        ccap = 8 * cap
        self.c_parent, self.c_who, self.c_depth, self.c_next = (np.zeros(ccap, dtype=np.int32) for _ in range(4))
        self.c_where = np.zeros(ccap, dtype=np.int8)
        self.table = np.full(2 * _pow2(cap), -1, dtype=np.int32)
        self.stack = np.zeros(2 * cap, dtype=np.int32)
        self.meta = np.array([0, 0, 0, -1], dtype=np.int64)
        self.rng = np.array([seed % 2**64], dtype=np.uint64)
        start = np.asarray(start, dtype=np.int64)
        slot = int(np.flatnonzero(self.table == -1)[0])  # the empty table: any slot; rehash puts it right
        add_config(start, -1, 0, slot, self.goal, dist, *self._arrays())
        self.table[:] = -1
        rehash(self.table, self.hashes, 1)

    def _arrays(self) -> tuple:
        return (
            self.cfgs, self.parent, self.gcost, self.hcost, self.prio, self.order, self.nseed, self.hashes,
            self.head, self.tail, self.c_parent, self.c_who, self.c_where, self.c_depth, self.c_next, self.table,
            self.stack, self.meta, self.rng,
        )  # fmt: skip

    @property
    def nodes(self) -> int:
        """Configurations explored (the root counts)."""
        return int(self.meta[0])

    @property
    def searching(self) -> bool:
        return not (self.found or self.exhausted)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays())

    def run(self, budget: int, deadline: float = float("inf")) -> None:
        """Explore up to ``budget`` new configurations (fewer if it finds the goal or exhausts the space), in kernel
        calls of at most ``_CHUNK`` each, stopping between them once ``deadline`` (``time.perf_counter()``) passed."""
        target = self.nodes + budget
        while self.searching and self.nodes < target and time.perf_counter() < deadline:
            chunk = min(_CHUNK, target - self.nodes)
            status = search_run(
                chunk, 64 * chunk + 1024, self.goal, self.dist, self.nbr, self.slots, self.swap, self.tries,
                *self._arrays(),
            )  # fmt: skip
            if status == FOUND:
                self.found = True
            elif status == EXHAUSTED:
                self.exhausted = True
            elif status == FULL and not self._grow():
                self.exhausted = self.out_of_memory = True
                log.info("LaCAM*: search %d stops at %d configurations: %d bytes", self.seed, self.nodes, self.nbytes())

    def _grow(self) -> bool:
        """Double whichever pool is full; False if that would pass ``max_bytes``."""
        meta = self.meta
        full_nodes = meta[0] + 1 > len(self.parent)
        full_cons = meta[1] + 5 > len(self.c_parent)
        full_stack = meta[2] + 2 > len(self.stack)
        cons = sum(a.nbytes for a in (self.c_parent, self.c_who, self.c_where, self.c_depth, self.c_next))
        nodes = self.nbytes() - cons - self.stack.nbytes
        more = nodes * full_nodes + cons * full_cons + self.stack.nbytes * full_stack
        if self.nbytes() + more > self.max_bytes:
            return False
        if full_nodes:
            for name in ("cfgs", "prio", "order", "parent", "gcost", "hcost", "head", "tail", "nseed", "hashes"):
                setattr(self, name, _doubled(getattr(self, name)))
            self.table = np.full(2 * _pow2(len(self.parent)), -1, dtype=np.int32)
            rehash(self.table, self.hashes, self.nodes)
        if full_cons:
            for name in ("c_parent", "c_who", "c_where", "c_depth", "c_next"):
                setattr(self, name, _doubled(getattr(self, name)))
        if full_stack:
            self.stack = _doubled(self.stack)
        return True

    def solution(self) -> np.ndarray:
        """The configurations from the start to the goal: ``(T+1, N) int64`` cells."""
        assert self.found
        path = []
        v = int(self.meta[3])
        while v >= 0:
            path.append(v)
            v = int(self.parent[v])
        return self.cfgs[path[::-1]].astype(np.int64)

    @property
    def sum_of_loss(self) -> int:
        return int(self.gcost[self.meta[3]])


@dataclass
class Portfolio:
    """Searches run in turns by :func:`portfolio`: ``winner`` found the first solution (None: none did)."""

    searches: list[FirstSearch]
    winner: FirstSearch | None

    @property
    def nodes(self) -> int:
        return sum(s.nodes for s in self.searches)


def portfolio(
    make: Callable[[int, bool], FirstSearch], seeds: list[int], deadline: float, turn: int, node_limit: int,
    first: int | None = None, widen: int = 0, guided: str = "never", grow_every: int = 4,
) -> Portfolio:  # fmt: skip
    """Run ``make(seed, guided)`` searches round-robin, ``turn`` new configurations each (doubled every
    ``grow_every`` rounds), until one reaches the goal, one exhausts the space (then none can), every search holds
    ``node_limit`` configurations or ran out of memory, or ``deadline`` (``time.perf_counter()``) passes.

    The searches of the first ``first`` seeds (None: all) start; once each has had ``widen`` configurations without
    a solution (the instance is in the heavy tail), the other seeds join and, with ``guided="join"``, SUO-guided
    searches with every seed (the SUO paths cost up to ~0.4 s at 500 agents, more than an easy instance's whole
    search). ``guided="only"``: every search is SUO-guided; ``"never"``: none."""
    started = seeds if first is None else seeds[:first]
    searches = [make(s, guided == "only") for s in started]
    given = 0
    rounds = 0
    while time.perf_counter() < deadline:
        live = [s for s in searches if s.searching and s.nodes < node_limit]
        if not live:
            if all(s.out_of_memory for s in searches):
                log.warning("LaCAM*: no first solution: every search filled its %d MB", MAX_BYTES >> 20)
            break
        for s in live:
            s.run(min(turn, node_limit - s.nodes), deadline)
            if s.found:
                return Portfolio(searches, s)
            if s.exhausted and not s.out_of_memory:
                return Portfolio(searches, None)  # LaCAM is complete: no search can find one
            if time.perf_counter() >= deadline:
                break
        given += turn
        rounds += 1
        if given >= widen and len(started) < len(seeds):
            searches += [make(s, guided == "only") for s in seeds[len(started) :]]
            started = seeds
            if guided == "join":
                searches += [make(s, True) for s in seeds]
            log.debug("LaCAM*: no first solution in %d configurations a search: %d searches", given, len(searches))
        if rounds % grow_every == 0:
            turn *= 2
    return Portfolio(searches, None)


def _pow2(x: int) -> int:
    return 1 << max(0, int(x - 1).bit_length())


def _doubled(a: np.ndarray) -> np.ndarray:
    out = np.zeros((2 * len(a), *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out
