"""numba kernel of LaCAM*'s search for a first solution (``lacam_first.py`` owns its state): depth-first over
configurations, a lazy constraint tree per configuration, PIBT (with LaCAM3's swap, optionally SUO-guided) as the
successor generator, LaCAM2's carried-over priorities and LaCAM*'s occasional restart from the root. Resumable: all
state lives in plain arrays, so a call explores up to a budget of new configurations and the next call goes on.

Layout (``cap`` configurations, ``ccap`` constraints, ``scap`` stack entries, ``tcap`` hash slots, a power of 2):
``cfgs (cap, N) int32`` cells; ``parent (cap,) int32``; ``gcost``/``hcost (cap,) int64`` sum of loss from the root /
sum of distances; ``prio (cap, N) float64``; ``order (cap, N) int32`` agents by priority; ``nseed (cap,) uint64``
the seed of the configuration's preference noise; ``hashes (cap,) uint64``; ``head``/``tail (cap,) int64`` its FIFO
of constraints; constraints ``c_parent``/``c_who``/``c_depth``/``c_next (ccap,) int32`` and ``c_where (ccap,) int8``;
``table (tcap,) int32`` open addressing on the configuration's hash, -1 empty; ``stack (scap,) int32`` the DFS
stack; ``meta (4,) int64``: configurations, constraints, stack height, goal configuration (-1: none);
``rng (1,) uint64``: a splitmix64 state (the twin in ``tests/naive/lacam_search.py`` draws the same numbers).
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._kernels import configure
from fleetmind.planners.mapf._oneshot_kernels import lacam_preferences_into
from numba import njit

RUNNING, FOUND, EXHAUSTED, FULL = 0, 1, 2, 3  # what a call of :func:`search_run` returns
RESTART = 0.001  # LaCAM*: probability of pushing the root again after meeting a known configuration
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True)
def mix64(z):  # pragma: no cover - compiled
    """splitmix64's output function on a ``uint64``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def next_u64(rng):  # pragma: no cover - compiled
    """The next ``uint64`` of the splitmix64 stream whose state is ``rng[0]``."""
    rng[0] = rng[0] + _GOLDEN
    return mix64(rng[0])


@njit(cache=True)
def _unit(z):  # pragma: no cover - compiled
    return float(z >> _S11) * _UNIT


@njit(cache=True)
def fill_noise(seed, noise):  # pragma: no cover - compiled
    """``noise`` ``(N, 5) float64`` in [0, 1): the splitmix64 stream from ``seed``, row by row."""
    state = seed
    for i in range(noise.shape[0]):
        for s in range(5):
            state = state + _GOLDEN
            noise[i, s] = _unit(mix64(state))


@njit(cache=True)
def config_hash(cfg):  # pragma: no cover - compiled
    """64-bit hash of a configuration (FNV-1a over the cells, then splitmix64's mix)."""
    h = _FNV_OFFSET
    for i in range(cfg.shape[0]):
        h = (h ^ np.uint64(cfg[i])) * _FNV_PRIME
    return mix64(h)


@njit(cache=True)
def _lookup(cfg, h, cfgs, hashes, table):  # pragma: no cover - compiled
    """(configuration index or -1, the slot where it is or would go)."""
    mask = table.shape[0] - 1
    idx = np.int64(h & np.uint64(mask))
    while True:
        t = table[idx]
        if t == -1:
            return -1, idx
        if hashes[t] == h:
            same = True
            for i in range(cfg.shape[0]):
                if cfgs[t, i] != cfg[i]:
                    same = False
                    break
            if same:
                return t, idx
        idx = (idx + 1) & mask


@njit(cache=True)
def rehash(table, hashes, count):  # pragma: no cover - compiled
    """Fill ``table`` (all -1) with the first ``count`` configurations (after it grew)."""
    mask = table.shape[0] - 1
    for t in range(count):
        idx = np.int64(hashes[t] & np.uint64(mask))
        while table[idx] != -1:
            idx = (idx + 1) & mask
        table[idx] = t


@njit(cache=True)
def _new_constraint(v, par, who, where, depth, head, tail, c_parent, c_who, c_where, c_depth, c_next, meta):
    # pragma: no cover - compiled
    x = meta[1]
    c_parent[x], c_who[x], c_where[x], c_depth[x], c_next[x] = par, who, where, depth, -1
    if tail[v] == -1:
        head[v] = x
    else:
        c_next[tail[v]] = x
    tail[v] = x
    meta[1] = x + 1


@njit(cache=True)
def _order_by_priority(prio, out):  # pragma: no cover - compiled
    """``out``: the agents by decreasing ``prio``, ties by index (a stable sort of ``-prio``): a bottom-up merge sort
    (numba's ``argsort(kind="mergesort")`` took ~4 s to compile)."""
    n = prio.shape[0]
    a = np.arange(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while k < hi:
                if j >= hi or (i < mid and prio[a[i]] >= prio[a[j]]):
                    b[k] = a[i]
                    i += 1
                else:
                    b[k] = a[j]
                    j += 1
                k += 1
        a, b = b, a
        width *= 2
    for i in range(n):
        out[i] = a[i]


@njit(cache=True)
def add_config(
    cfg, par, g, slot, goal, dist, cfgs, parent, gcost, hcost, prio, order, nseed, hashes, head, tail,
    c_parent, c_who, c_where, c_depth, c_next, table, stack, meta, rng,
):  # fmt: skip  # pragma: no cover - compiled
    """Store configuration ``cfg`` ``(N,) int64`` (reached from ``par``, -1 for the root, at sum of loss ``g``) in
    hash slot ``slot`` and push it; its priorities are LaCAM2's (the root's: distance / longest distance x 0.99;
    then +1 for an agent off its goal, the fractional part for one on it)."""
    k = meta[0]
    n = cfg.shape[0]
    h = 0
    dmax = 0
    for i in range(n):
        cfgs[k, i] = cfg[i]
        d = dist[i, cfg[i]]
        h += d
        dmax = max(dmax, d)
    for i in range(n):
        if par < 0:
            prio[k, i] = dist[i, cfg[i]] / max(1, dmax) * 0.99
        elif cfg[i] != goal[i]:
            prio[k, i] = prio[par, i] + 1.0
        else:
            prio[k, i] = prio[par, i] - np.floor(prio[par, i])
    _order_by_priority(prio[k], order[k])
    parent[k], gcost[k], hcost[k] = par, g, h
    nseed[k] = next_u64(rng)
    hashes[k] = config_hash(cfg)
    table[slot] = k
    head[k], tail[k] = -1, -1
    none, zero = np.int64(-1), np.int64(0)
    _new_constraint(k, none, none, none, zero, head, tail, c_parent, c_who, c_where, c_depth, c_next, meta)
    stack[meta[2]] = k
    meta[2] += 1
    meta[0] = k + 1


@njit(cache=True)
def configure_into(
    pos, order, nbr, priority_order, fixed_agents, fixed_slots, goal, dist, drow, swap, occ_now, occ_next, count,
    nxt, slot, st_agent, st_t, st_swap,
):  # fmt: skip  # pragma: no cover - compiled
    """``_kernels.pibt_configure`` into ``slot`` ``(N,) int64`` with scratch instead of three arrays of the map's
    size a call: ``occ_now``/``occ_next`` ``(C,) int64`` all -1 and ``count`` ``(C,) int64`` all 0 on entry and
    again on return; ``nxt``, ``st_*``: ``(N + 1,) int64``. True if the constraints admit a configuration."""
    n = pos.shape[0]
    for i in range(n):
        occ_now[pos[i]] = i
        nxt[i] = -1
    ok = configure(
        pos, order, nbr, priority_order, fixed_agents, fixed_slots, goal, dist, drow, swap, occ_now, occ_next, count,
        nxt, slot, st_agent, st_t, st_swap,
    )  # fmt: skip
    for i in range(n):  # every cell written lies under an agent now or where one goes
        occ_now[pos[i]] = -1
        occ_next[pos[i]] = -1
        if nxt[i] >= 0:
            occ_next[nxt[i]] = -1
            count[nxt[i]] = 0
    return ok


@njit(cache=True)
def search_run(
    budget, max_steps, goal, dist, nbr, slots, swap, tries, cfgs, parent, gcost, hcost, prio, order, nseed, hashes,
    head, tail, c_parent, c_who, c_where, c_depth, c_next, table, stack, meta, rng,
):  # fmt: skip  # pragma: no cover - compiled
    """Go on with the search until it holds ``budget`` more configurations or took ``max_steps`` constraints
    (RUNNING), the configuration on top of the stack is the goal (FOUND, its index in ``meta[3]``), the stack is
    empty (EXHAUSTED: no solution) or an array is full (FULL: grow it and call again). ``slots``: ``(N, C) int8``
    SUO slots or ``(0, 0)``; ``tries``: PIBT runs per successor, the one of least cost + distances kept."""
    n = goal.shape[0]
    num_cells = nbr.shape[0]
    agents = np.arange(n)
    cur = np.empty(n, dtype=np.int64)
    ordv = np.empty(n, dtype=np.int64)
    nxt = np.empty(n, dtype=np.int64)
    noise = np.empty((n, 5))
    cand = np.empty(5, dtype=np.int64)
    prefs = np.empty((n, 5), dtype=np.int64)
    got = np.empty(n, dtype=np.int64)
    best = np.empty(n, dtype=np.int64)
    occupied = np.zeros(num_cells, dtype=np.bool_)
    occ_now = np.full(num_cells, -1, dtype=np.int64)
    occ_next = np.full(num_cells, -1, dtype=np.int64)
    count = np.zeros(num_cells, dtype=np.int64)
    pnxt = np.empty(n + 1, dtype=np.int64)
    st_agent = np.empty(n + 1, dtype=np.int64)
    st_t = np.empty(n + 1, dtype=np.int64)
    st_swap = np.empty(n + 1, dtype=np.int64)
    target = meta[0] + budget
    steps = 0
    while True:
        top = meta[2]
        if top == 0:
            return EXHAUSTED
        v = stack[top - 1]
        if hcost[v] == 0:
            meta[3] = v
            return FOUND
        if meta[0] >= target or steps >= max_steps:
            return RUNNING
        if meta[0] + 1 > cfgs.shape[0] or meta[1] + 5 > c_parent.shape[0] or top + 2 > stack.shape[0]:
            return FULL
        steps += 1
        c = head[v]
        if c == -1:  # every constraint of this configuration tried
            meta[2] = top - 1
            continue
        head[v] = c_next[c]
        if head[v] == -1:
            tail[v] = -1
        depth = c_depth[c]
        for i in range(n):
            cur[i] = cfgs[v, i]
            ordv[i] = order[v, i]
        if depth < n:  # the lazy constraint tree: the next agent by priority, each of its moves, shuffled
            i = ordv[depth]
            m = 0
            for k in range(5):
                if nbr[cur[i], k] >= 0:
                    cand[m] = k
                    m += 1
            for a in range(m - 1, 0, -1):
                b = np.int64(next_u64(rng) % np.uint64(a + 1))
                cand[a], cand[b] = cand[b], cand[a]
            for q in range(m):
                _new_constraint(
                    v, c, i, cand[q], depth + 1, head, tail, c_parent, c_who, c_where, c_depth, c_next, meta
                )
        fixed_who = np.empty(depth, dtype=np.int64)
        fixed_where = np.empty(depth, dtype=np.int64)
        x = c
        for d in range(depth - 1, -1, -1):
            fixed_who[d] = c_who[x]
            fixed_where[d] = c_where[x]
            x = c_parent[x]
        have = False
        best_f = 0
        for draw in range(max(1, tries)):  # LaCAM3's Monte-Carlo successors: the best of a few tie-breaks
            fill_noise(nseed[v] if draw == 0 else next_u64(rng), noise)
            lacam_preferences_into(cur, nbr, dist, noise, slots, occupied, prefs)
            if not configure_into(
                cur, prefs, nbr, ordv, fixed_who, fixed_where, goal, dist, agents, swap, occ_now, occ_next, count,
                pnxt, got, st_agent, st_t, st_swap,
            ):  # fmt: skip
                continue
            f = 0
            if tries > 1:
                for i in range(n):
                    u = nbr[cur[i], got[i]]
                    f += dist[i, u] + (1 if cur[i] != goal[i] or u != goal[i] else 0)
            if not have or f < best_f:
                best[:] = got
                best_f, have = f, True
            if tries <= 1:
                break
        if not have:
            continue
        g = gcost[v]
        for i in range(n):
            nxt[i] = nbr[cur[i], best[i]]
            if cur[i] != goal[i] or nxt[i] != goal[i]:
                g += 1
        known, slot = _lookup(nxt, config_hash(nxt), cfgs, hashes, table)
        if known >= 0:
            stack[top] = known
            top += 1
            if _unit(next_u64(rng)) < RESTART:  # LaCAM*: an occasional restart from the root escapes bad basins
                stack[top] = 0
                top += 1
            meta[2] = top
            continue
        add_config(
            nxt, v, g, slot, goal, dist, cfgs, parent, gcost, hcost, prio, order, nseed, hashes, head, tail,
            c_parent, c_who, c_where, c_depth, c_next, table, stack, meta, rng,
        )  # fmt: skip
