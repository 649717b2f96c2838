"""What one agent of a swarm sees: the empirical distribution of its neighbours within the radius (a histogram, the
box-kernel embedding), its first circular moment (the Fourier-kernel embedding, exact), the neighbour count and the
agent's own state. Built by the app from the world; read by every controller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SwarmObservation:
    """Every agent's local view, one row per agent.

    ``hist``: ``(N, bins) float64``, neighbours' relative headings / phases (or bearings), rows sum to 1 (0 alone).
    ``moment``: ``(N, 2) float64``, the mean over the neighbours of ``(cos, sin)`` of the relative angle (Vicsek,
    Kuramoto) or the mean offset to the neighbours over the radius (aggregation); 0 without neighbours.
    ``count``: ``(N,) float64`` neighbours within the radius. ``own``: ``(N, k) float64`` the agent's own state
    (Kuramoto: its natural frequency; may have 0 columns). ``expected``: the mean neighbour count of a uniform
    swarm at this density and radius (scales ``count``)."""

    hist: np.ndarray
    moment: np.ndarray
    count: np.ndarray
    own: np.ndarray
    expected: float

    @property
    def agents(self) -> int:
        return int(self.hist.shape[0])

    def vector(self) -> np.ndarray:
        """The policy's input, ``(N, bins + 4 + k) float64``: histogram, moment, log neighbour count relative to
        the expected count, a has-neighbours flag, own state."""
        seen = (self.count > 0).astype(float)[:, None]
        rel = np.log1p(self.count / max(self.expected, 1e-9))[:, None]
        return np.concatenate([self.hist, self.moment, rel, seen, self.own], axis=1)

    def mirrored(self) -> SwarmObservation:
        """The view of the mirror-image swarm (angles negated: ``y -> -y`` for positions and bearings): histogram
        bins reversed (their edges are symmetric about 0), the moment's sine / y part and the own state negated."""
        moment = self.moment * np.array([1.0, -1.0])
        return SwarmObservation(self.hist[:, ::-1], moment, self.count, -self.own, self.expected)

    @staticmethod
    def size(bins: int, own: int) -> int:
        """Length of :meth:`vector` rows for ``bins`` and ``own`` columns."""
        return bins + 4 + own
