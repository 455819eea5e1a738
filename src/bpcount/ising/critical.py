"""Critical temperature from the linearised KCN message map (kcn.md §9).

At zero field, with m_{i←j} = q_{i←j}(+1) − q_{i←j}(−1), linearising (12) about m = 0 gives

    m_{i←j} ≈ Σ_{k ∈ V_{j\\i} \\ j} ⟨s_j s_k⟩⁰_{N_{j\\i}} m_{j←k}

with ⟨·⟩⁰ the cavity region's own law (no messages, no fields). The M×M matrix 𝓜 is a generalised
non-backtracking matrix (at r = 0, 𝓜 = tanh(βJ)·B with B the Hashimoto matrix). T_c is where its
spectral radius ρ(𝓜(β)) = 1; for a ferromagnet ρ is non-decreasing in β, so β_c is found by
bisection.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from bpcount.loopy.engine import KCNSolver

#: Bisection stops when the β bracket is this narrow (relative).
BETA_REL_TOL = 1e-9


def jacobian(solver: KCNSolver, beta: float) -> sp.csr_matrix:
    """𝓜(β), (M, M) sparse: row (i←j), column (j←k), entry ⟨s_j s_k⟩⁰ of the cavity region.

    Each cavity is evaluated per component sub-task: at zero field s_j is unbiased in every
    component's own law (spin-flip symmetry), so ⟨s_j s_k⟩⁰ of the whole cavity equals that of
    k's component.
    """
    M = solver.num_messages
    rows, cols, vals = [], [], []
    for g, ids in zip(solver.msg_groups, solver.msg_group_ids, strict=True):
        if g.size == 1:
            continue
        spins = 2.0 * g.bits - 1.0  # (2^s, s)
        corr_basis = spins[:, :1] * spins[:, 1:]  # (2^s, s-1)
        for r in g.chunks():
            p = torch.softmax(g.table[r] * beta, dim=1)  # own law: no messages, zero field assumed
            corr = (p @ corr_basis).numpy()  # (T, s-1)
            rows.append(np.repeat(ids[r].numpy(), g.size - 1))
            cols.append(g.incoming[r][:, 1:].numpy().reshape(-1))
            vals.append(corr.reshape(-1))
    if len(solver.msg_mc):
        samples, _ = solver._mc(beta)
        for t, X in zip(solver.msg_mc, samples, strict=True):
            s = 2.0 * X.astype(np.float64) - 1.0
            rows.append(np.full(X.shape[1] - 1, solver.msg_sub.parent[t]))
            cols.append(solver.msg_sub.incoming[t])
            vals.append((s[:, :1] * s[:, 1:]).mean(0))
    if not rows:
        return sp.csr_matrix((M, M))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(M, M))


def spectral_radius(mat: sp.spmatrix) -> float:
    """Largest |eigenvalue| of a sparse square matrix (ARPACK, dense fallback for tiny/failed cases)."""
    n = mat.shape[0]
    if mat.nnz == 0:
        return 0.0
    if n <= 64:
        return float(np.max(np.abs(np.linalg.eigvals(mat.toarray()))))
    try:
        ev = spla.eigs(mat.astype(np.float64), k=1, which="LM", return_eigenvectors=False, tol=1e-12,
                       maxiter=20000, v0=np.ones(n))
        return float(np.abs(ev[0]))
    except spla.ArpackNoConvergence:
        return float(np.max(np.abs(np.linalg.eigvals(mat.toarray()))))


def critical_temperature(solver: KCNSolver, beta_max: float = 50.0) -> float:
    """T_c = 1/β_c with ρ(𝓜(β_c)) = 1 (bisection); 0.0 if ρ < 1 for every β ≤ ``beta_max`` (no
    transition, e.g. when every loop lies inside a neighbourhood and the map is nilpotent)."""
    hi = 0.05
    while spectral_radius(jacobian(solver, hi)) < 1.0:
        hi *= 2.0
        if hi > beta_max:
            return 0.0
    lo = hi / 2.0 if hi > 0.05 else 0.0
    while hi - lo > BETA_REL_TOL * hi:
        mid = 0.5 * (lo + hi)
        if spectral_radius(jacobian(solver, mid)) < 1.0:
            lo = mid
        else:
            hi = mid
    return 1.0 / (0.5 * (lo + hi))
