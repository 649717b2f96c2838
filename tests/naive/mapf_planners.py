"""Twins of ``fleetmind.planners.mapf._kernels``: PIBT (with LaCAM3's swap) as the papers write it (recursion),
Bellman-Ford cost-to-go, and Dijkstra with ``heapq`` for the traffic-flow A*."""

from __future__ import annotations

import heapq

import numpy as np

MOVES = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]


def neighbour_table(blocked) -> np.ndarray:
    h, w = blocked.shape
    nbr = np.full((h * w, 5), -1, dtype=np.int64)
    for r in range(h):
        for c in range(w):
            if blocked[r, c]:
                continue
            for k, (dr, dc) in enumerate(MOVES):
                nr, nc = r + dr, c + dc
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc]:
                    nbr[r * w + c, k] = nr * w + nc
    return nbr


class _Pibt:
    """PIBT as the paper writes it (recursion), with LaCAM3's swap, on dicts and lists."""

    def __init__(self, pos, order, nbr, goal, dist, drow, swap) -> None:
        self.pos, self.order, self.nbr, self.goal = pos, order, nbr, goal
        self.dist, self.drow, self.swap = dist, drow, swap
        self.occ_now = {int(p): i for i, p in enumerate(pos)}
        self.occ_next: dict[int, int] = {}
        self.nxt: list[int | None] = [None] * len(pos)

    def d(self, agent, cell) -> float:
        return self.dist[self.drow[agent]][cell]

    def neighbours(self, c) -> list[int]:
        return [int(u) for u in self.nbr[c, 1:] if u >= 0]

    def left(self, c, pusher) -> list[int]:
        """Where an agent pulled into ``c`` could go on: not back, not into a dead end whose agent rests there."""
        out = []
        for u in self.neighbours(c):
            a = self.occ_now.get(u)
            if u == pusher or (len(self.neighbours(u)) == 1 and a is not None and self.goal[a] == u):
                continue
            out.append(u)
        return out

    def swap_required(self, pusher, puller, v_pusher, v_puller) -> bool:
        while self.d(pusher, v_puller) < self.d(pusher, v_pusher):
            options = self.left(v_puller, v_pusher)
            if len(options) >= 2:
                return False
            if not options:
                break
            v_pusher, v_puller = v_puller, options[-1]
        return self.d(puller, v_pusher) < self.d(puller, v_puller) and (
            self.d(pusher, v_pusher) == 0 or self.d(pusher, v_puller) < self.d(pusher, v_pusher)
        )

    def swap_possible(self, v_pusher, v_puller) -> bool:
        origin = v_pusher
        while v_puller != origin:
            options = self.left(v_puller, v_pusher)
            if len(options) >= 2:
                return True
            if not options:
                return False
            v_pusher, v_puller = v_puller, options[-1]
        return False

    def partner(self, i, first) -> int | None:
        pos = self.pos
        if first == pos[i]:
            return None
        j = self.occ_now.get(first)
        if (
            j is not None
            and self.nxt[j] is None
            and self.swap_required(i, j, pos[i], pos[j])
            and self.swap_possible(pos[j], pos[i])
        ):
            return j
        for u in self.neighbours(pos[i]):
            a = self.occ_now.get(u)
            if a is None or first == pos[a]:
                continue
            if self.swap_required(a, i, pos[i], first) and self.swap_possible(first, pos[i]):
                return a
        return None

    def run(self, i) -> bool:
        pos, nbr = self.pos, self.nbr
        cands = [int(nbr[pos[i], s]) for s in self.order[i] if nbr[pos[i], s] >= 0]
        partner = self.partner(i, cands[0]) if self.swap else None
        if partner is not None:
            cands.reverse()
        for k, v in enumerate(cands):
            if v in self.occ_next:
                continue
            j = self.occ_now.get(v)
            if j is not None and j != i and self.nxt[j] == pos[i]:
                continue
            self.occ_next[v] = i
            self.nxt[i] = v
            if j is not None and j != i and self.nxt[j] is None and not self.run(j):
                continue
            if k == 0 and partner is not None and self.nxt[partner] is None and pos[i] not in self.occ_next:
                self.nxt[partner] = int(pos[i])
                self.occ_next[int(pos[i])] = partner
            return True
        self.occ_next[int(pos[i])] = i
        self.nxt[i] = int(pos[i])
        return False


def pibt_configure(
    pos, order, nbr, priority_order, num_cells, fixed_agents, fixed_slots, goal, dist, drow, swap
) -> np.ndarray:
    n = len(pos)
    p = _Pibt(pos, order, nbr, goal, dist, drow, swap)
    fail = np.full(n, -1, dtype=np.int64)
    for i, s in zip(fixed_agents, fixed_slots, strict=True):
        v = int(nbr[pos[i], s])
        j = p.occ_now.get(v)
        if v < 0 or v in p.occ_next or (j is not None and j != i and p.nxt[j] == pos[i]):
            return fail
        p.occ_next[v] = int(i)
        p.nxt[i] = v
    for i in priority_order:
        if p.nxt[i] is None:
            p.run(int(i))
    if len(set(p.nxt)) < n:
        return fail
    for i in range(n):
        j = p.occ_now.get(p.nxt[i])
        if j is not None and j != i and p.nxt[j] == pos[i]:
            return fail
    return np.array([list(nbr[pos[i]]).index(p.nxt[i]) for i in range(n)], dtype=np.int64)


def pibt_step(pos, order, nbr, priority_order, num_cells, goal, dist, drow, swap) -> np.ndarray:
    empty = np.zeros(0, dtype=np.int64)
    return pibt_configure(pos, order, nbr, priority_order, num_cells, empty, empty, goal, dist, drow, swap)


def pibt_preferences(pos, nbr, dist, drow, noise, w_occupied) -> np.ndarray:
    occupied = set(int(p) for p in pos)
    out = []
    for i, p in enumerate(pos):
        keys = []
        for s in range(5):
            v = int(nbr[p, s])
            key = np.inf if v < 0 else float(dist[drow[i]][v]) + noise[i, s] + (w_occupied if v in occupied else 0.0)
            keys.append((key, s))
        out.append([s for _, s in sorted(keys)])
    return np.array(out, dtype=np.int64)


def dijkstra_distances(nbr, icost, goal: int, out, scale) -> None:
    """Cost-to-go by brute force: Bellman-Ford style relaxation on the integer costs until nothing changes."""
    dist: list[float] = [np.inf] * len(nbr)
    dist[goal] = 0
    changed = True
    while changed:
        changed = False
        for u in range(len(nbr)):
            for v in nbr[u, 1:]:
                if v >= 0 and dist[v] + icost[v] < dist[u]:
                    dist[u] = dist[v] + icost[v]
                    changed = True
    out[:] = [1e30 if d == np.inf else d / scale for d in dist]


def flow_path_cost(start: int, goal: int, cell_cost, flow, nbr, w_flow: float, w_load: float) -> float:
    """Optimal cost from ``start`` to ``goal`` when entering v from u costs ``cell_cost[v] + w_flow * flow[v, slot
    v->u] + w_load * (planned moves into v)`` (plain Dijkstra with ``heapq``); -1 if unreachable."""
    best = {start: 0.0}
    queue = [(0.0, start)]
    done = set()
    while queue:
        d, u = heapq.heappop(queue)
        if u in done:
            continue
        done.add(u)
        if u == goal:
            return d
        for k in range(1, 5):
            v = int(nbr[u, k])
            if v < 0:
                continue
            back = [s for s in range(1, 5) if nbr[v, s] == u][0]
            into_v = sum(flow[x, s] for x in range(len(nbr)) for s in range(1, 5) if nbr[x, s] == v)
            nd = d + cell_cost[v] + w_flow * flow[v, back] + w_load * into_v
            if nd < best.get(v, np.inf):
                best[v] = nd
                heapq.heappush(queue, (nd, v))
    return -1.0


def flow_counts(paths, head, length, nbr) -> np.ndarray:
    """``(C, 5)`` planned moves per cell and slot, counted from the stored paths."""
    flow = np.zeros((len(nbr), 5), dtype=np.int64)
    for i in range(len(paths)):
        for t in range(head[i], length[i] - 1):
            u, v = int(paths[i, t]), int(paths[i, t + 1])
            flow[u, [s for s in range(1, 5) if nbr[u, s] == v][0]] += 1
    return flow
