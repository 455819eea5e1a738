"""Wolff single-cluster Monte Carlo for ferromagnetic zero-field Ising networks (the baseline).

One Wolff step grows a cluster from a random seed, adding each neighbour with the same spin across
edge (i, j) with probability 1 − exp(−2βJ_ij), and flips it. A *sweep* is a fixed number of steps,
n / (mean cluster size during burn-in), so that it flips about n spins. (Stopping a sweep when the
flipped sizes reach n would measure at a state-dependent stopping time, which biases the averages.)
Measurements (one per sweep, after ``burn_in`` sweeps):

* ⟨|m|⟩ (the finite-size magnetisation; ⟨m⟩ = 0 by symmetry),
* u = ⟨H⟩/n and c = β²(⟨H²⟩ − ⟨H⟩²)/n.

The cluster growth is a pure-Python stack loop over adjacency lists (O(cluster size · degree)).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

import numpy as np

from bpcount.ising.model import IsingNetwork


@dataclass(frozen=True)
class MCPoint:
    """Wolff estimates at one temperature (per node) with standard errors from batch means."""

    temperature: float
    abs_magnetisation: float
    energy: float
    heat_capacity: float
    energy_err: float
    sweeps: int
    seconds: float


def _adjacency(net: IsingNetwork) -> list[list[tuple[int, float]]]:
    adj: list[list[tuple[int, float]]] = [[] for _ in range(net.num_nodes)]
    for (i, j), J in zip(net.edges.tolist(), net.couplings.tolist(), strict=True):
        adj[i].append((j, J))
        adj[j].append((i, J))
    return adj


def check_wolff(net: IsingNetwork) -> None:
    """Raise ValueError unless the network is a zero-field ferromagnet (what this sampler supports)."""
    if not net.zero_field or np.any(net.couplings < 0):
        raise ValueError("the Wolff baseline needs zero fields and couplings J >= 0")


def wolff_curve(net: IsingNetwork, temperatures: np.ndarray, *, sweeps: int = 1000, burn_in: int = 200,
                seed: int = 0, progress=None) -> list[MCPoint]:
    """Wolff estimates at each temperature (spins carried over between temperatures)."""
    check_wolff(net)
    rng = random.Random(seed)
    n = net.num_nodes
    adj_j = _adjacency(net)
    spins = [1] * n
    out = []
    for T in np.asarray(temperatures, dtype=float):
        beta = 1.0 / T
        adj = [[(j, -math.expm1(-2.0 * beta * J)) for j, J in row] for row in adj_j]
        t0 = time.perf_counter()
        e_samples, m_samples = [], []
        steps, size_sum, size_count = 1, 0, 0
        for sweep in range(burn_in + sweeps):
            for _ in range(steps):
                seed_node = rng.randrange(n)
                s0 = spins[seed_node]
                spins[seed_node] = -s0
                stack = [seed_node]
                size = 1
                while stack:
                    x = stack.pop()
                    for y, p in adj[x]:
                        if spins[y] == s0 and rng.random() < p:
                            spins[y] = -s0
                            stack.append(y)
                            size += 1
                if sweep < burn_in:  # steps per sweep adapt during burn-in only, then stay fixed
                    size_sum += size
                    size_count += 1
            if sweep < burn_in:
                steps = max(1, round(n * size_count / size_sum))
            if sweep >= burn_in:
                s = np.fromiter(spins, dtype=np.float64, count=n)
                e_samples.append(float(net.energy(s)))
                m_samples.append(abs(s.mean()))
        e = np.array(e_samples)
        batches = np.array_split(e, 10)
        err = float(np.std([b.mean() for b in batches], ddof=1) / math.sqrt(len(batches)) / n)
        out.append(MCPoint(float(T), float(np.mean(m_samples)), float(e.mean() / n),
                           float(beta * beta * e.var() / n), err, sweeps, time.perf_counter() - t0))
        if progress is not None:
            progress.update(1)
    return out
