"""Plain-Python twins of ``fleetmind.sim.swarm._kernels``: every pair of agents checked, no cell lists, agent order."""

from __future__ import annotations

import math

import numpy as np

TWO_PI = 2.0 * math.pi


def wrap_angle(a: float) -> float:
    return a - TWO_PI * math.floor((a + math.pi) / TWO_PI)


def delta(a: float, b: float, box: float, periodic: bool) -> float:
    d = b - a
    if periodic:
        if d > 0.5 * box:
            d -= box
        elif d < -0.5 * box:
            d += box
    return d


def offset(pos: np.ndarray, i: int, j: int, box: float, periodic: bool) -> tuple[float, float]:
    """``pos[j] - pos[i]`` (the minimum image when periodic)."""
    return delta(pos[i, 0], pos[j, 0], box, periodic), delta(pos[i, 1], pos[j, 1], box, periodic)


def neighbours(pos: np.ndarray, i: int, box: float, r: float, periodic: bool) -> list[int]:
    """The other agents within ``r`` of agent ``i``."""
    out = []
    for j in range(len(pos)):
        dx, dy = offset(pos, i, j, box, periodic)
        if j != i and dx * dx + dy * dy <= r * r:
            out.append(j)
    return out


def circular_neighbour_sums(pos, angle, box, r, periodic):
    n = len(pos)
    sc, ss, count = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in neighbours(pos, i, box, r, periodic):
            sc[i] += math.cos(angle[j])
            ss[i] += math.sin(angle[j])
            count[i] += 1
    return sc, ss, count


def keep_inside(x: float, box: float, periodic: bool) -> tuple[float, bool]:
    if periodic:
        x = x - box * math.floor(x / box)
        return (x - box if x >= box else x), False
    if x < 0.0:
        return min(-x, box), True
    if x > box:
        return max(2.0 * box - x, 0.0), True
    return x, False


def vicsek_step(pos, head, turn, noise, box, r, speed, dt, coupling, periodic):
    """The kernel's rule in angles: headings come in and go out as unit vectors ``(cos theta, sin theta)``."""
    n = len(pos)
    theta = [math.atan2(head[i, 1], head[i, 0]) for i in range(n)]
    new_pos, new_head = np.empty((n, 2)), np.empty((n, 2))
    for i in range(n):
        group = [i, *neighbours(pos, i, box, r, periodic)]
        phi = math.atan2(sum(math.sin(theta[j]) for j in group), sum(math.cos(theta[j]) for j in group))
        th = wrap_angle(theta[i] + coupling * wrap_angle(phi - theta[i]) + turn[i] * dt + noise[i])
        x, fx = keep_inside(pos[i, 0] + speed * dt * math.cos(th), box, periodic)
        y, fy = keep_inside(pos[i, 1] + speed * dt * math.sin(th), box, periodic)
        if fx:
            th = wrap_angle(math.pi - th)
        if fy:
            th = wrap_angle(-th)
        new_pos[i] = x, y
        new_head[i] = math.cos(th), math.sin(th)
    return new_pos, new_head, polar_order([math.atan2(s, c) for c, s in new_head])


def kuramoto_step(pos, phase, omega, control, noise, box, r, coupling, dt, periodic):
    out = np.empty(len(pos))
    for i in range(len(pos)):
        near = neighbours(pos, i, box, r, periodic)
        pull = coupling * sum(math.sin(phase[j] - phase[i]) for j in near) / len(near) if near else 0.0
        out[i] = wrap_angle(phase[i] + dt * (omega[i] + control[i] + pull) + noise[i])
    return out


def aggregation_step(pos, velocity, noise, box, vmax, dt, periodic):
    out = np.empty_like(pos)
    for i in range(len(pos)):
        v = np.asarray(velocity[i], dtype=float)
        speed = math.hypot(v[0], v[1])
        if speed > vmax:
            v = v * (vmax / speed)
        for a in range(2):
            out[i, a] = keep_inside(pos[i, a] + dt * v[a] + noise[i, a], box, periodic)[0]
    return out


def polar_order(angle) -> float:
    if len(angle) == 0:
        return 0.0
    return abs(sum(complex(math.cos(a), math.sin(a)) for a in angle)) / len(angle)


def centroid_distance(pos, box, periodic) -> float:
    if len(pos) == 0:
        return 0.0
    centre = []
    for a in range(2):
        if periodic:
            z = sum(complex(math.cos(TWO_PI * x / box), math.sin(TWO_PI * x / box)) for x in pos[:, a])
            centre.append((math.atan2(z.imag, z.real) % TWO_PI) * box / TWO_PI)
        else:
            centre.append(sum(pos[:, a]) / len(pos))
    total = 0.0
    for p in pos:
        total += math.hypot(delta(centre[0], p[0], box, periodic), delta(centre[1], p[1], box, periodic))
    return total / len(pos)


def cluster_labels(pos, box, r, periodic) -> np.ndarray:
    """Breadth-first search from each unlabelled agent in index order: the label is the component's first agent."""
    n = len(pos)
    labels = np.full(n, -1, dtype=np.int64)
    for s in range(n):
        if labels[s] >= 0:
            continue
        labels[s] = s
        queue = [s]
        while queue:
            i = queue.pop()
            for j in neighbours(pos, i, box, r, periodic):
                if labels[j] < 0:
                    labels[j] = s
                    queue.append(j)
    return labels


def neighbour_histograms(pos, values, facing, fov, bins, mode, box, r, periodic):
    n = len(pos)
    hist, count = np.zeros((n, bins)), np.zeros(n, dtype=np.int64)
    width = TWO_PI / bins
    for i in range(n):
        for j in neighbours(pos, i, box, r, periodic):
            dx, dy = offset(pos, i, j, box, periodic)
            ahead = dx * math.cos(facing[i]) + dy * math.sin(facing[i])
            seen = ahead >= math.cos(0.5 * fov) * math.sqrt(dx * dx + dy * dy)
            if fov < TWO_PI and not seen:
                continue
            if mode == 0:
                v = wrap_angle(values[j])
            elif mode == 1:
                v = wrap_angle(values[j] - values[i])
            else:
                v = wrap_angle(math.atan2(dy, dx) - facing[i])
            hist[i, min(int((v + math.pi) / width), bins - 1)] += 1
            count[i] += 1
        if count[i]:
            hist[i] /= count[i]
    return hist, count


def neighbour_embedding(pos, values, facing, offset_noise, fov, centres, width, mode, box, r, periodic):
    """Mode 0: von Mises kernel of relative angles; mode 1: Gaussian kernel of relative positions (agent frame)."""
    n, nb = len(pos), len(centres)
    emb, count = np.zeros((n, nb)), np.zeros(n, dtype=np.int64)
    for i in range(n):
        fc, fs = math.cos(facing[i]), math.sin(facing[i])
        for j in neighbours(pos, i, box, r, periodic):
            dx, dy = offset(pos, i, j, box, periodic)
            if fov < TWO_PI and dx * fc + dy * fs < math.cos(0.5 * fov) * math.sqrt(dx * dx + dy * dy):
                continue
            count[i] += 1
            for b in range(nb):
                if mode == 0:
                    v = wrap_angle(values[j] - values[i])
                    emb[i, b] += math.exp((math.cos(v - centres[b][0]) - 1.0) / width**2)
                else:
                    ux, uy = (dx + offset_noise[j][0]) / r, (dy + offset_noise[j][1]) / r
                    px, py = ux * fc + uy * fs, -ux * fs + uy * fc
                    emb[i, b] += math.exp(-((px - centres[b][0]) ** 2 + (py - centres[b][1]) ** 2) / (2 * width**2))
        if count[i]:
            emb[i] /= count[i]
    return emb, count


def assignment_cost(cost) -> float:
    """The least total cost of a perfect matching, by trying every permutation (small ``n`` only)."""
    import itertools

    n = len(cost)
    return min(sum(cost[i][p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
