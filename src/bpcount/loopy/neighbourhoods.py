"""Radius-r neighbourhoods on a factor graph (kcn.md §1, §2, §11) and the message index.

For a variable i with star ∂i (the factors containing i) and B_i = vars(∂i) \\ {i}, the
neighbourhood's factor set is

    F_i = ∂i ∪ {every factor on a hyper-path of ≤ r factors between two distinct u, w ∈ B_i,
                whose factors do not contain i}

and V_i = {i} ∪ vars(F_i). A hyper-path alternates distinct variables and distinct factors. On a
pairwise graph this is the Kirkley–Cantwell–Newman N_i^(r) (i's edges plus every cycle of length
≤ r + 2 through i).

Construction is the exact pruned search of kcn.md §2: per-source BFS distances from B_i in the
factor graph without ∂i, then a DFS over simple hyper-paths from each u ∈ B_i that stops at the
first other B-node and only extends while ``length + 1 + d(w, B_i \\ {u}) ≤ r``. It is a Python
loop over variables (construction only; the iteration itself is batched).

Capping (kcn.md §11, preference 1): a variable whose V_i would exceed ``max_region_vars`` gets the
largest radius r' < r that fits (a star, r' = 0, is never reduced). Local sums are enumerated per
connected component once the centre is fixed, so a large star costs little; components above the
enumeration cap are sampled (:mod:`bpcount.loopy.montecarlo`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from bpcount.loopy.model import DiscreteModel


@dataclass(frozen=True)
class Neighbourhoods:
    """Neighbourhood of every variable.

    * ``vars_of``: tuple of n int64 arrays; ``vars_of[i]`` is V_i with i first, then ascending.
    * ``factors_of``: tuple of n sorted int64 arrays, F_i.
    * ``radius_of_var``: (n,) int64, the radius actually used for each variable (≤ requested).
    * ``radius``: the requested r.
    """

    vars_of: tuple[np.ndarray, ...]
    factors_of: tuple[np.ndarray, ...]
    radius_of_var: np.ndarray
    radius: int

    @property
    def sizes(self) -> np.ndarray:
        """(n,) int64, |V_i| (counting i)."""
        return np.array([len(v) for v in self.vars_of], dtype=np.int64)


def factors_of_vars(model: DiscreteModel) -> list[list[int]]:
    """For each variable, the list of factors containing it."""
    out: list[list[int]] = [[] for _ in range(model.num_vars)]
    for a in range(model.num_factors):
        for v in model.scope(a):
            out[int(v)].append(a)
    return out


def _neighbourhood_factors(i: int, radius: int, fov: list[list[int]], scopes: list[tuple[int, ...]]) -> set[int]:
    """F_i at the given radius (exact pruned search)."""
    star = fov[i]
    border = sorted({v for a in star for v in scopes[a]} - {i})
    found = set(star)
    if radius == 0 or len(border) < 2:
        return found
    banned = set(star)  # factors containing i
    # per-source BFS distance (in factors) in the graph without ∂i, up to depth radius - 1
    dist: dict[int, dict[int, int]] = {}
    for u in border:
        d = {u: 0}
        queue = deque([u])
        while queue:
            x = queue.popleft()
            if d[x] >= radius - 1:
                continue
            for b in fov[x]:
                if b in banned:
                    continue
                for y in scopes[b]:
                    if y not in d:
                        d[y] = d[x] + 1
                        queue.append(y)
        dist[u] = d
    in_border = set(border)
    inf = radius + 1
    for u in border:
        later = [w for w in border if w > u]
        if not later:
            continue

        def remaining(x: int, later=later) -> int:
            return min((dist[w].get(x, inf) for w in later), default=inf)

        # DFS over simple hyper-paths from u: (variable, visited variables, factors used)
        stack: list[tuple[int, frozenset[int], tuple[int, ...]]] = [(u, frozenset([u]), ())]
        while stack:
            x, seen, path = stack.pop()
            length = len(path) + 1  # length after taking one more factor
            for b in fov[x]:
                if b in banned or b in path:
                    continue
                for y in scopes[b]:
                    if y in seen:
                        continue
                    if y in in_border:
                        if y > u:
                            found.update(path)
                            found.add(b)
                        continue  # stop at the first border variable
                    if length + remaining(y) <= radius:
                        stack.append((y, seen | {y}, path + (b,)))
    return found


def build_neighbourhoods(model: DiscreteModel, radius: int, max_region_vars: int | None = None) -> Neighbourhoods:
    """Neighbourhoods of all variables at radius ``radius`` (adaptively reduced under the cap)."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    fov = factors_of_vars(model)
    scopes = [tuple(int(v) for v in model.scope(a)) for a in range(model.num_factors)]
    vars_of, factors_of = [], []
    radius_of_var = np.zeros(model.num_vars, dtype=np.int64)
    for i in range(model.num_vars):
        for r in range(radius, -1, -1):
            fac = _neighbourhood_factors(i, r, fov, scopes)
            vs = {v for a in fac for v in scopes[a]} - {i}
            if max_region_vars is None or len(vs) + 1 <= max_region_vars or r == 0:
                break
        radius_of_var[i] = r
        vars_of.append(np.array([i, *sorted(vs)], dtype=np.int64))
        factors_of.append(np.array(sorted(fac), dtype=np.int64))
    return Neighbourhoods(tuple(vars_of), tuple(factors_of), radius_of_var, radius)


@dataclass(frozen=True)
class MessageIndex:
    """One message q_{i←j} per ordered pair (i, j ∈ V_i \\ i), and its cavity region.

    * ``target``: (M,) int64, i (the neighbourhood that receives the message).
    * ``source``: (M,) int64, j (the variable the message is about).
    * ``cavity_vars``: tuple of M arrays, V_{j\\i} with j first.
    * ``cavity_factors``: tuple of M arrays, F_j \\ F_i.
    * ``incoming``: tuple of M arrays, message ids of q_{j←k} for k in cavity_vars[1:].
    * ``belief_incoming``: tuple of n arrays, message ids q_{i←j} for j in vars_of[i][1:].
    """

    target: np.ndarray
    source: np.ndarray
    cavity_vars: tuple[np.ndarray, ...]
    cavity_factors: tuple[np.ndarray, ...]
    incoming: tuple[np.ndarray, ...]
    belief_incoming: tuple[np.ndarray, ...]

    @property
    def num_messages(self) -> int:
        return len(self.target)


def build_messages(model: DiscreteModel, nb: Neighbourhoods) -> MessageIndex:
    """Message ids, cavity regions F_{j\\i} = F_j \\ F_i and their incoming message ids."""
    ids: dict[tuple[int, int], int] = {}
    target, source = [], []
    for i, vs in enumerate(nb.vars_of):
        for j in vs[1:]:
            ids[(i, int(j))] = len(target)
            target.append(i)
            source.append(int(j))
    fsets = [set(f.tolist()) for f in nb.factors_of]
    cav_vars, cav_fac, incoming = [], [], []
    for i, j in zip(target, source, strict=True):
        fac = sorted(fsets[j] - fsets[i])
        others = sorted({int(v) for a in fac for v in model.scope(a)} - {j})
        cav_vars.append(np.array([j, *others], dtype=np.int64))
        cav_fac.append(np.array(fac, dtype=np.int64))
        incoming.append(np.array([ids[(j, k)] for k in others], dtype=np.int64))
    belief_in = tuple(np.array([ids[(i, int(j))] for j in vs[1:]], dtype=np.int64)
                      for i, vs in enumerate(nb.vars_of))
    return MessageIndex(np.array(target, dtype=np.int64), np.array(source, dtype=np.int64),
                        tuple(cav_vars), tuple(cav_fac), tuple(incoming), belief_in)
