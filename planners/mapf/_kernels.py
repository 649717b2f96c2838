"""numba kernels of the MAPF planners: PIBT's one-step search (with LaCAM3's swap) and the traffic-flow A* of
``pibt_flow`` (cost-to-go rows and the binary heap are in ``_heuristic_kernels.py``, the Follower's kernels in
``_follower_kernels.py``).

Plain arrays in and out; twins in ``tests/naive/mapf_planners.py``. Cells are row-major indices; ``nbr`` is the
``(C, 5) int64`` neighbour table in POGEMA action order (stay, up, down, left, right), -1 where blocked.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._heuristic_kernels import _pop, _push
from numba import njit


@njit(cache=True)
def neighbour_table(blocked):  # pragma: no cover - compiled
    """``(H, W) bool`` -> ``(H*W, 5) int64`` neighbour cells (slot 0 is the cell itself; -1 where blocked)."""
    h, w = blocked.shape
    nbr = np.full((h * w, 5), -1, dtype=np.int64)
    dr = (0, -1, 1, 0, 0)
    dc = (0, 0, 0, -1, 1)
    for r in range(h):
        for c in range(w):
            if blocked[r, c]:
                continue
            for k in range(5):
                nr, nc = r + dr[k], c + dc[k]
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc]:
                    nbr[r * w + c, k] = nr * w + nc
    return nbr


@njit(cache=True)
def _degree_left(c, pusher, nbr, occ_now, goal):  # pragma: no cover - compiled
    """Cells a pulled agent at ``c`` could still move on to: ``c``'s neighbours except ``pusher`` and dead ends
    held by an agent resting on its goal there. Returns (count, the last such cell)."""
    n = 0
    last = -1
    for k in range(1, 5):
        u = nbr[c, k]
        if u < 0 or u == pusher:
            continue
        a = occ_now[u]
        if a != -1 and goal[a] == u:
            deg = 0
            for q in range(1, 5):
                if nbr[u, q] >= 0:
                    deg += 1
            if deg == 1:
                continue
        n += 1
        last = u
    return n, last


@njit(cache=True)
def _swap_required(pusher, puller, v_pusher, v_puller, nbr, occ_now, goal, dist, drow):  # pragma: no cover
    """Would ``pusher`` (at ``v_pusher``) pushing ``puller`` (at ``v_puller``) down a corridor towards the
    pusher's goal end with the two still facing each other (no branch on the way lets them pass)?"""
    dp = dist[drow[pusher]]
    dq = dist[drow[puller]]
    origin = v_pusher
    for _ in range(nbr.shape[0]):
        if not dp[v_puller] < dp[v_pusher]:
            break
        n, nxt = _degree_left(v_puller, v_pusher, nbr, occ_now, goal)
        if n >= 2:
            return False  # a branch ahead: plain pushing lets them pass
        if n <= 0:
            break
        v_pusher, v_puller = v_puller, nxt
        if v_puller == origin:
            break
    return dq[v_pusher] < dq[v_puller] and (dp[v_pusher] == 0 or dp[v_puller] < dp[v_pusher])


@njit(cache=True)
def _swap_possible(v_pusher, v_puller, nbr, occ_now, goal):  # pragma: no cover - compiled
    """Is there a branch behind ``v_puller`` (walking away from ``v_pusher``) where two agents can swap?"""
    origin = v_pusher
    for _ in range(nbr.shape[0]):
        if v_puller == origin:
            return False
        n, nxt = _degree_left(v_puller, v_pusher, nbr, occ_now, goal)
        if n >= 2:
            return True
        if n <= 0:
            return False
        v_pusher, v_puller = v_puller, nxt
    return False


@njit(cache=True)
def _swap_partner(i, first, pos, nxt, nbr, occ_now, goal, dist, drow):  # pragma: no cover - compiled
    """The agent ``i`` should pull along (walk away from, so they can swap at the next branch), or -1."""
    if first == pos[i]:
        return -1
    j = occ_now[first]
    if (
        j != -1
        and nxt[j] == -1
        and _swap_required(i, j, pos[i], pos[j], nbr, occ_now, goal, dist, drow)
        and _swap_possible(pos[j], pos[i], nbr, occ_now, goal)
    ):
        return j
    for k in range(1, 5):  # clearing the way: an agent beside us that must come through where we want to go
        u = nbr[pos[i], k]
        if u < 0:
            continue
        a = occ_now[u]
        if a == -1 or a == i or first == pos[a]:
            continue
        if _swap_required(a, i, pos[i], first, nbr, occ_now, goal, dist, drow) and _swap_possible(
            first, pos[i], nbr, occ_now, goal
        ):
            return a
    return -1


@njit(cache=True)
def _pibt(
    root, pos, order, nbr, nxt, occ_now, occ_next, goal, dist, drow, swap, st_agent, st_t, st_swap
):  # pragma: no cover - compiled
    """PIBT's recursive ``funcPIBT(root)`` on an explicit stack (numba's cache cannot hold recursion), with
    LaCAM3's swap: an agent that meets another head-on in a corridor walks away from it, pulling it along,
    until a branch lets them pass."""
    top = 0
    st_agent[0], st_t[0], st_swap[0] = root, 0, -2  # -2: swap partner not looked up yet
    result = False
    returning = False
    while top >= 0:
        i = st_agent[top]
        if returning:
            returning = False
            if result:  # the pushed agent found a cell: so did we
                _pull(i, st_t[top] - 1, st_swap[top], pos, nxt, occ_next)
                top -= 1
                returning = True
                continue
        nvalid = 0
        for s in range(5):
            if nbr[pos[i], order[i, s]] >= 0:
                nvalid += 1
        if st_swap[top] == -2:
            st_swap[top] = -1
            if swap:
                st_swap[top] = _swap_partner(i, nbr[pos[i], order[i, 0]], pos, nxt, nbr, occ_now, goal, dist, drow)
        acted = False
        while st_t[top] < 5:
            t = st_t[top]
            st_t[top] += 1
            s = order[i, t] if st_swap[top] == -1 else order[i, nvalid - 1 - t] if t < nvalid else order[i, t]
            v = nbr[pos[i], s]
            if v < 0 or occ_next[v] != -1:
                continue
            j = occ_now[v]
            if j != -1 and j != i and nxt[j] == pos[i]:
                continue  # j already moves into our cell: a swap
            occ_next[v] = i
            nxt[i] = v
            if j != -1 and j != i and nxt[j] == -1:
                top += 1  # call funcPIBT(j)
                st_agent[top], st_t[top], st_swap[top] = j, 0, -2
            else:
                _pull(i, t, st_swap[top], pos, nxt, occ_next)
                result = True
                top -= 1
                returning = True
            acted = True
            break
        if acted:
            continue
        occ_next[pos[i]] = i  # no cell left: stay
        nxt[i] = pos[i]
        result = False
        top -= 1
        returning = True


@njit(cache=True)
def _pull(i, t, partner, pos, nxt, occ_next):  # pragma: no cover - compiled
    """After ``i`` secured its first choice while walking away: its swap partner follows into its cell."""
    if t == 0 and partner >= 0 and nxt[partner] == -1 and occ_next[pos[i]] == -1:
        nxt[partner] = pos[i]
        occ_next[pos[i]] = partner


@njit(cache=True)
def pibt_configure(
    pos, order, nbr, priority_order, num_cells, fixed_agents, fixed_slots, goal, dist, drow, swap
):  # pragma: no cover - compiled
    """One PIBT step (priority inheritance with backtracking, Okumura et al. 2022), with some agents' moves
    fixed by constraints (LaCAM's successor generator) and optionally LaCAM3's swap.

    ``pos``/``goal``: ``(N,) int64`` cells; ``order``: ``(N, 5) int64`` each agent's action slots, most
    preferred first, blocked slots last; ``priority_order``: ``(N,) int64`` agents, highest priority first;
    ``fixed_agents``/``fixed_slots``: ``(K,) int64`` agents and their forced slots; ``dist``: ``(R, C)`` cost-to-go
    rows, ``drow``: ``(N,) int64`` each agent's row (read only when ``swap``). Returns ``(N,) int64`` chosen
    slots (= POGEMA actions) free of vertex conflicts and swaps, or all -1 if the constraints admit none.
    """
    n = pos.shape[0]
    occ_now = np.full(num_cells, -1, dtype=np.int64)
    occ_next = np.full(num_cells, -1, dtype=np.int64)
    count = np.zeros(num_cells, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    st_agent = np.empty(n + 1, dtype=np.int64)
    st_t = np.empty(n + 1, dtype=np.int64)
    st_swap = np.empty(n + 1, dtype=np.int64)
    for i in range(n):
        occ_now[pos[i]] = i
    ok = configure(
        pos, order, nbr, priority_order, fixed_agents, fixed_slots, goal, dist, drow, swap, occ_now, occ_next, count,
        nxt, slot, st_agent, st_t, st_swap,
    )  # fmt: skip
    return slot if ok else np.full(n, -1, dtype=np.int64)


@njit(cache=True)
def configure(
    pos, order, nbr, priority_order, fixed_agents, fixed_slots, goal, dist, drow, swap, occ_now, occ_next, count,
    nxt, slot, st_agent, st_t, st_swap,
):  # fmt: skip  # pragma: no cover - compiled
    """:func:`pibt_configure`'s work on the caller's arrays: ``occ_now`` holds every agent at its cell, ``occ_next``
    all -1 and ``count`` all 0 (``(C,) int64``), ``nxt`` all -1; ``slot`` gets the chosen slots. True if the
    constraints admit a configuration."""
    n = pos.shape[0]
    for m in range(fixed_agents.shape[0]):
        i = fixed_agents[m]
        v = nbr[pos[i], fixed_slots[m]]
        if v < 0 or occ_next[v] != -1:
            return False
        j = occ_now[v]
        if j != -1 and j != i and nxt[j] == pos[i]:
            return False
        occ_next[v] = i
        nxt[i] = v
    for m in range(n):
        i = priority_order[m]
        if nxt[i] == -1:
            _pibt(i, pos, order, nbr, nxt, occ_now, occ_next, goal, dist, drow, swap, st_agent, st_t, st_swap)
    for i in range(n):
        v = nxt[i]
        count[v] += 1
        if count[v] > 1:
            return False
        j = occ_now[v]
        if j != -1 and j != i and nxt[j] == pos[i]:
            return False
        slot[i] = -1
        for s in range(5):
            if nbr[pos[i], s] == v:
                slot[i] = s
    return True


@njit(cache=True)
def pibt_step(pos, order, nbr, priority_order, num_cells, goal, dist, drow, swap):  # pragma: no cover - compiled
    """:func:`pibt_configure` without constraints: one conflict-free PIBT step for every agent."""
    empty = np.zeros(0, dtype=np.int64)
    return pibt_configure(pos, order, nbr, priority_order, num_cells, empty, empty, goal, dist, drow, swap)


@njit(cache=True)
def pibt_preferences(pos, nbr, dist, drow, noise, w_occupied):  # pragma: no cover - compiled
    """``(N, 5) int64`` action slots per agent, best first: by cost-to-go of the cell (``dist[drow[i]]``), then
    ``w_occupied`` for a cell some agent holds now, then ``noise`` (``(N, 5)``, the caller's seeded tie-breaker,
    added as is); blocked slots last."""
    n = pos.shape[0]
    occupied = np.zeros(nbr.shape[0], dtype=np.bool_)
    for i in range(n):
        occupied[pos[i]] = True
    out = np.empty((n, 5), dtype=np.int64)
    rank_slots_into(out, pos, nbr, dist, drow, noise, w_occupied, occupied, False)
    return out


@njit(cache=True)
def rank_slots_into(out, pos, nbr, dist, drow, noise, w_occupied, occ, vacant):  # pragma: no cover - compiled
    """:func:`pibt_preferences`' ranking into ``out`` ``(N, 5)``, with the cells held now read from ``occ`` (a cell
    ``v`` is held where ``occ[v] != vacant``: a bool table with ``False``, or an agent-index table with -1)."""
    key = np.empty(5)
    for i in range(pos.shape[0]):
        row = dist[drow[i]]
        for s in range(5):
            v = nbr[pos[i], s]
            if v < 0:
                key[s] = np.inf
            else:
                key[s] = float(row[v]) + noise[i, s] + (w_occupied if occ[v] != vacant else 0.0)
        out[i] = np.argsort(key, kind="mergesort")


@njit(cache=True)
def _slot_of(nbr, u, v):  # pragma: no cover - compiled
    """The action slot that moves from cell ``u`` to its neighbour ``v`` (0 if ``v`` is ``u`` or not adjacent)."""
    for k in range(1, 5):
        if nbr[u, k] == v:
            return k
    return 0


@njit(cache=True)
def flow_replan(
    agents, pos, goal, hpool, hrow, cell_cost, flow, nbr, w_flow, w_load, paths, head, length
):  # pragma: no cover - compiled
    """Re-plan ``agents``' paths on traffic-flow costs, keeping ``flow`` the count of planned moves.

    ``flow``: ``(C, 5) int64``, ``flow[u, k]`` = planned moves out of u through slot k over all agents' stored
    paths. ``paths``: ``(N, W + 1) int64`` cells, the agent's planned cell at ``head[i]`` and its next moves up
    to ``length[i] - 1``. For each agent: its remaining moves leave ``flow``; A* from ``pos[i]`` to ``goal[i]``
    where entering v from u costs ``cell_cost[v] + w_flow * flow[v, slot v->u] + w_load * (planned moves into v)``
    (agents planning to come the other way: opposing flows make lanes; busy cells spread traffic), heuristic
    ``hpool[hrow[i]]`` (the cost-to-go on ``cell_cost`` alone, so A* stays optimal); its first W moves are stored
    and join ``flow``. Returns each agent's path cost
    (``(M,) float64``; -1 if the goal cannot be reached, and then it plans to stay).
    """
    c_total = nbr.shape[0]
    window = paths.shape[1] - 1
    g = np.zeros(c_total)
    parent = np.full(c_total, -1, dtype=np.int64)
    seen = np.zeros(c_total, dtype=np.int64)
    closed = np.zeros(c_total, dtype=np.int64)
    heap_f = np.empty(4 * c_total + 8)
    heap_c = np.empty(4 * c_total + 8, dtype=np.int64)
    trail = np.empty(c_total, dtype=np.int64)
    rev = (0, 2, 1, 4, 3)
    into = np.zeros(c_total, dtype=np.int64)  # planned moves into each cell, kept in step with ``flow``
    if w_load > 0:
        for u in range(c_total):
            for k in range(1, 5):
                if flow[u, k] != 0:
                    into[nbr[u, k]] += flow[u, k]
    costs = np.full(agents.shape[0], -1.0)
    for m in range(agents.shape[0]):
        i = agents[m]
        for t in range(head[i], length[i] - 1):
            flow[paths[i, t], _slot_of(nbr, paths[i, t], paths[i, t + 1])] -= 1
            into[paths[i, t + 1]] -= 1
        start, target = pos[i], goal[i]
        h = hpool[hrow[i]]
        tick = m + 1
        g[start] = 0.0
        seen[start] = tick
        parent[start] = -1
        # np.int64 size, np.float64 key (numba's float() keeps a float32): _push compiles for one type only
        size = _push(heap_f, heap_c, np.int64(0), np.float64(h[start]), start)
        while size > 0:
            c, size = _pop(heap_f, heap_c, size)
            if closed[c] == tick:
                continue
            closed[c] = tick
            if c == target:
                break
            for k in range(1, 5):
                v = nbr[c, k]
                if v < 0:
                    continue
                ng = g[c] + cell_cost[v] + w_flow * flow[v, rev[k]]
                if w_load > 0:  # every planned move into v: busy cells cost more, wide corridors fill evenly
                    ng += w_load * into[v]
                if seen[v] != tick or ng < g[v]:
                    seen[v] = tick
                    g[v] = ng
                    parent[v] = c
                    size = _push(heap_f, heap_c, size, np.float64(ng + h[v]), v)
        paths[i, 0] = start
        head[i] = 0
        length[i] = 1
        if closed[target] != tick:
            continue  # unreachable: plan to stay
        costs[m] = g[target]
        steps = 0
        c = target
        while c != start:
            trail[steps] = c
            steps += 1
            c = parent[c]
        kept = min(steps, window)
        for t in range(kept):
            paths[i, t + 1] = trail[steps - 1 - t]
            flow[paths[i, t], _slot_of(nbr, paths[i, t], paths[i, t + 1])] += 1
            into[paths[i, t + 1]] += 1
        length[i] = kept + 1
    return costs
