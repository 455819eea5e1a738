"""Monte Carlo local sums for regions above the enumeration cap (kcn.md §7).

The region's *own* law p₀(x) ∝ exp(W(x)) (its factors; optionally the centre's unary weight) is sampled
once per inverse temperature with a heat-bath (Gibbs) sampler run as many independent chains; the
samples are cached and reused by every iteration, so the fixed-point iteration stays deterministic.
Incoming messages then reweight the samples (importance sampling):

    Σ_x p₀(x) Π_p q_p(x_p) f(x)  ≈  Σ_s w_s f(x_s) / Σ_s w_s,     w_s = Π_p q_p(x_{s,p})

and the effective sample size (Σw)² / Σw² is reported (it collapses at low temperature or with
polarised messages).

Hard zeros (falsified clauses) make single-site dynamics non-ergodic from a random start, so burn-in
anneals the penalty of a violated factor from :data:`PENALTY_START` up to hard; samples that still
violate a factor afterwards are discarded.
"""

from __future__ import annotations

import numpy as np

from bpcount.loopy.model import DiscreteModel

#: independent chains per region (vectorised together)
NUM_CHAINS = 64
#: burn-in sweeps per chain (the penalty on violated hard factors grows geometrically during them)
BURN_IN_SWEEPS = 200
#: penalty (in nats) of a violated hard factor at the first burn-in sweep
PENALTY_START = 0.5
#: penalty growth per burn-in sweep: 0.5·1.05^200 ≈ 8.6e3 nats, effectively hard
PENALTY_GROWTH = 1.05


def sample_region(model: DiscreteModel, region_vars: np.ndarray, factors: np.ndarray, num_samples: int,
                  rng: np.random.Generator, unary_first: bool = True) -> np.ndarray:
    """Samples of the region's own law, shape (S, s) int8 with S ≤ num_samples (invalid dropped).

    ``model`` must already be at the wanted temperature (:meth:`DiscreteModel.scaled`).
    """
    s = len(region_vars)
    where = {int(v): p for p, v in enumerate(region_vars)}
    facs = []  # (positions (k,), table (2^k,))
    touching: list[list[tuple[int, int]]] = [[] for _ in range(s)]
    for a in factors:
        pos = np.array([where[int(v)] for v in model.scope(a)], dtype=np.int64)
        for q, p in enumerate(pos):
            touching[p].append((len(facs), q))
        facs.append((pos, model.table(a)))
    chains = min(NUM_CHAINS, max(1, num_samples))
    per_chain = -(-num_samples // chains)
    X = rng.integers(0, 2, size=(chains, s))
    phi0 = model.log_phi[int(region_vars[0])] if unary_first else np.zeros(2)
    out = []
    penalty = PENALTY_START
    for sweep in range(BURN_IN_SWEEPS + per_chain):
        hard = sweep >= BURN_IN_SWEEPS
        for p in range(s):
            l0 = np.full(chains, phi0[0] if p == 0 else 0.0)
            l1 = np.full(chains, phi0[1] if p == 0 else 0.0)
            for f, q in touching[p]:
                pos, tab = facs[f]
                if not hard:
                    tab = np.maximum(tab, -penalty)
                idx = np.zeros(chains, dtype=np.int64)
                for qq, pp in enumerate(pos):
                    if qq != q:
                        idx += X[:, pp] << qq
                l0 = l0 + tab[idx]
                l1 = l1 + tab[idx + (1 << q)]
            with np.errstate(invalid="ignore"):
                diff = l1 - l0
            p1 = np.where(np.isnan(diff), X[:, p].astype(float), 1.0 / (1.0 + np.exp(-np.clip(diff, -700, 700))))
            X[:, p] = (rng.random(chains) < p1).astype(np.int64)
        if not hard:
            penalty *= PENALTY_GROWTH
        else:
            out.append(X.copy())
    samples = np.concatenate(out)[:num_samples]
    valid = np.ones(len(samples), dtype=bool)
    for pos, tab in facs:
        idx = (samples[:, pos] << np.arange(len(pos))).sum(1)
        valid &= np.isfinite(tab[idx])
    return samples[valid].astype(np.int8)


def effective_sample_size(log_w: np.ndarray) -> float:
    """(Σw)² / Σw² for log-weights (S,)."""
    if len(log_w) == 0:
        return 0.0
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / np.sum(w * w))
