"""Cluster-variation (CVM) free energy with Möbius counting numbers (kcn.md §5, §11).

Regions are identified by their *factor sets*; a region's variables are the variables of its
factors. Outer regions are the distinct maximal neighbourhood factor sets F_i (for a sampled node,
whose full joint cannot be stored, its factors enter as single-factor regions instead). The family
is closed under R ⊓ R' = F_R ∩ F_R' (when non-empty), and every variable also gets a singleton
region ({v}, ∅). Counting numbers are c_R = 1 − Σ_{R' ⊋ R} c_R'. They are valid: every factor and
every variable is counted exactly once (the regions containing a factor, or a variable, have a
unique minimal element, the intersection, or the singleton).

Using factor sets (rather than V_i ∩ V_j) makes r = 0 equal to the Bethe free energy whenever no
two factors share two variables (the stars are then trees), and keeps the region energies
consistent with the neighbourhood beliefs, which only contain the factors of F_i.

    ln Z ≈ Σ_R c_R ( H[b_R] + Σ_{a∈F_R} E_{b_R}[ln ψ_a] + Σ_{v∈V_R} E_{b_R}[ln φ_v] )

with b_R the average, over the neighbourhoods i with F_R ⊆ F_i (singletons: v ∈ V_i), of the
marginal of the neighbourhood belief b_i on V_R; a region equal to some non-sampled F_i ("owner")
uses that single belief instead, whose entropy is computed without tabulating V_i.

Construction is a Python loop over regions (done once per model and radius).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcount.loopy.model import DiscreteModel
from bpcount.loopy.neighbourhoods import Neighbourhoods


@dataclass(frozen=True)
class RegionFamily:
    """CVM regions with non-zero counting numbers.

    * ``region_vars``: tuple of R sorted int64 arrays, V_R.
    * ``region_factors``: tuple of R sorted int64 arrays, F_R (empty for singletons).
    * ``counting``: (R,) float64, c_R.
    * ``sources``: tuple of R int64 arrays, the neighbourhoods whose belief is averaged into b_R.
    * ``owner``: (R,) int64, a non-sampled node i with F_i = F_R (its belief's entropy is then
      computed by component decomposition), or −1.
    * ``num_outer``: number of outer (maximal) regions; ``num_regions_total``: before dropping c = 0.
    """

    region_vars: tuple[np.ndarray, ...]
    region_factors: tuple[np.ndarray, ...]
    counting: np.ndarray
    sources: tuple[np.ndarray, ...]
    owner: np.ndarray
    num_outer: int
    num_regions_total: int


def build_regions(model: DiscreteModel, nb: Neighbourhoods, sampled: np.ndarray) -> RegionFamily:
    """The region family, counting numbers and belief sources. ``sampled``: (n,) bool."""
    scopes = [frozenset(int(v) for v in model.scope(a)) for a in range(model.num_factors)]
    fsets = [frozenset(f.tolist()) for f in nb.factors_of]
    candidates: set[frozenset[int]] = set()
    for i, f in enumerate(fsets):
        if not f:
            continue
        if sampled[i]:
            candidates.update(frozenset([a]) for a in f)
        else:
            candidates.add(f)
    cand = sorted(candidates, key=len, reverse=True)
    index: dict[int, list[int]] = {}
    for r, f in enumerate(cand):
        for a in f:
            index.setdefault(a, []).append(r)
    outer = [f for f in cand if not any(len(cand[o]) > len(f) and f < cand[o] for o in index[min(f)])]

    family: dict[frozenset[int], int] = {}
    by_factor: dict[int, set[int]] = {}
    regions: list[frozenset[int]] = []

    def add(f: frozenset[int]) -> bool:
        if f in family:
            return False
        family[f] = len(regions)
        for a in f:
            by_factor.setdefault(a, set()).add(len(regions))
        regions.append(f)
        return True

    for f in outer:
        add(f)
    work = list(range(len(regions)))
    while work:
        r = work.pop()
        f = regions[r]
        others = set().union(*(by_factor[a] for a in f)) - {r}
        for o in sorted(others):
            inter = f & regions[o]
            if inter and add(inter):
                work.append(family[inter])

    order = sorted(range(len(regions)), key=lambda r: len(regions[r]), reverse=True)
    counting = np.zeros(len(regions))
    for r in order:
        f = regions[r]
        supers = set.intersection(*(by_factor[a] for a in f)) - {r}
        counting[r] = 1.0 - sum(counting[o] for o in supers)
    region_vars_f = [np.array(sorted(set().union(*(scopes[a] for a in f))), dtype=np.int64) for f in regions]
    by_var: dict[int, list[int]] = {}
    for r, vs in enumerate(region_vars_f):
        for v in vs:
            by_var.setdefault(int(v), []).append(r)
    single_c = np.array([1.0 - sum(counting[r] for r in by_var.get(v, [])) for v in range(model.num_vars)])

    node_by_factor: dict[int, set[int]] = {}
    node_by_var: dict[int, list[int]] = {}
    for i, f in enumerate(fsets):
        for a in f:
            node_by_factor.setdefault(a, set()).add(i)
    for i, vs in enumerate(nb.vars_of):
        for v in vs:
            node_by_var.setdefault(int(v), []).append(i)

    owner_of: dict[frozenset[int], int] = {}
    for i, f in enumerate(fsets):
        if f and not sampled[i]:
            owner_of.setdefault(f, i)
    out_vars, out_facs, out_c, out_src, out_owner = [], [], [], [], []
    for r, f in enumerate(regions):
        if abs(counting[r]) < 0.5:  # counting numbers are integers
            continue
        out_vars.append(region_vars_f[r])
        out_facs.append(np.array(sorted(f), dtype=np.int64))
        out_c.append(counting[r])
        out_src.append(np.array(sorted(set.intersection(*(node_by_factor[a] for a in f))), dtype=np.int64))
        out_owner.append(owner_of.get(f, -1))
    for v in range(model.num_vars):
        if abs(single_c[v]) < 0.5:
            continue
        out_vars.append(np.array([v], dtype=np.int64))
        out_facs.append(np.zeros(0, dtype=np.int64))
        out_c.append(single_c[v])
        out_src.append(np.array(sorted(node_by_var[v]), dtype=np.int64))
        out_owner.append(-1)
    return RegionFamily(tuple(out_vars), tuple(out_facs), np.array(out_c, dtype=np.float64),
                        tuple(out_src), np.array(out_owner, dtype=np.int64), len(outer),
                        len(regions) + model.num_vars)
