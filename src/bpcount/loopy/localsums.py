"""Local sums over regions: batched exact enumeration, grouped by region size.

A *region task* is an ordered list of variables (position 0 first), a set of factors inside it, and,
per position p ≥ 1, the id of an incoming message q(x_p) (or none). Its static log-weight table

    W_t(x) = Σ_{a∈factors} ln ψ_a(x_a) + [unary terms]          shape (2^s,), x bit p = position p

is built once; each iteration only adds the messages, which are linear in the bits:

    ln w_t(x) = W_t(x) + Σ_p ln q_p(0) + Σ_p x_p (ln q_p(1) − ln q_p(0))   (one matmul per group)

so a group of T tasks of size s costs one (T, s) @ (s, 2^s) product and a logsumexp. Tasks are
processed in chunks of at most :data:`CHUNK_ENTRIES` table entries to bound peak memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bpcount.loopy.model import DiscreteModel

#: Upper bound on T·2^s entries materialised at once by one chunk of a group (float64: 64 MiB).
CHUNK_ENTRIES = 1 << 23


def assignment_bits(s: int) -> np.ndarray:
    """(2^s, s) int64 matrix of all assignments; row x has bit p = (x >> p) & 1."""
    return (np.arange(1 << s)[:, None] >> np.arange(s)[None, :]) & 1


@dataclass(frozen=True)
class EnumGroup:
    """T region tasks of equal size s, enumerated exactly.

    * ``task_ids``: (T,) int64, positions of these tasks in the caller's task list.
    * ``table``: (T, 2^s) float64 torch, static log weights W_t (−inf = hard zero).
    * ``incoming``: (T, s) int64 torch, message id per position (``dummy`` row for none).
    * ``bits``: (2^s, s) float64 torch assignment matrix.
    """

    size: int
    task_ids: np.ndarray
    table: torch.Tensor
    incoming: torch.Tensor
    bits: torch.Tensor

    def log_weights(self, logq: torch.Tensor, rows: slice, beta: float = 1.0) -> torch.Tensor:
        """Unnormalised ln w (T_chunk, 2^s) for task rows ``rows`` given messages ``logq`` (M+1, 2),
        with the static table at inverse temperature ``beta`` (tables are stored at β = 1)."""
        contrib = logq[self.incoming[rows]]  # (T, s, 2)
        base = contrib[..., 0].sum(1, keepdim=True)
        delta = contrib[..., 1] - contrib[..., 0]  # (T, s)
        table = self.table[rows] if beta == 1.0 else self.table[rows] * beta
        return table + base + delta @ self.bits.T

    def chunks(self):
        """Row slices of at most CHUNK_ENTRIES table entries."""
        step = max(1, CHUNK_ENTRIES >> self.size)
        for lo in range(0, len(self.task_ids), step):
            yield slice(lo, min(lo + step, len(self.task_ids)))


def static_tables(model: DiscreteModel, var_lists: list[np.ndarray], factor_lists: list[np.ndarray],
                  s: int, unary: str) -> np.ndarray:
    """Static log tables (T, 2^s) for tasks of size s (vectorised over (task, factor) pairs).

    ``unary``: "first" adds ln φ of position 0 only, "all" adds ln φ of every position, "none" adds
    no unary term.
    """
    T = len(var_lists)
    bits = assignment_bits(s)
    table = np.zeros((T, 1 << s))
    # unary terms
    vs = np.stack(var_lists) if T else np.zeros((0, s), np.int64)
    if unary == "first":
        phi = model.log_phi[vs[:, 0]]  # (T, 2)
        table += phi[:, bits[:, 0]]
    elif unary == "all":
        phi = model.log_phi[vs]  # (T, s, 2)
        table += phi[..., 0].sum(1, keepdims=True) + (phi[..., 1] - phi[..., 0]) @ bits.T
    # factor terms, grouped by arity
    pairs_task, pairs_fac = [], []
    for t, fac in enumerate(factor_lists):
        pairs_task.extend([t] * len(fac))
        pairs_fac.extend(fac.tolist())
    if not pairs_fac:
        return table
    pairs_task = np.array(pairs_task, dtype=np.int64)
    pairs_fac = np.array(pairs_fac, dtype=np.int64)
    arity = np.diff(model.factor_ptr)[pairs_fac]
    for k in np.unique(arity):
        sel = np.nonzero(arity == k)[0]
        tasks, facs = pairs_task[sel], pairs_fac[sel]
        scope = model.factor_vars[model.factor_ptr[facs][:, None] + np.arange(k)[None, :]]  # (P, k)
        region = vs[tasks]  # (P, s)
        pos = np.argmax(region[:, None, :] == scope[:, :, None], axis=2)  # (P, k)
        step = max(1, CHUNK_ENTRIES >> s)
        for lo in range(0, len(sel), step):
            hi = min(lo + step, len(sel))
            idx = np.zeros((hi - lo, 1 << s), dtype=np.int64)
            for q in range(k):
                idx += bits[:, pos[lo:hi, q]].T << q
            vals = model.tables[model.table_ptr[facs[lo:hi]][:, None] + idx]
            np.add.at(table, tasks[lo:hi], vals)
    return table


def build_groups(model: DiscreteModel, var_lists: list[np.ndarray], factor_lists: list[np.ndarray],
                 incoming: list[np.ndarray] | None, unary: str, dummy: int,
                 task_ids: np.ndarray | None = None) -> list[EnumGroup]:
    """Group the given tasks by size and build their static tables.

    ``incoming[t]`` lists message ids for positions 1..s−1 (position 0 never has one); None means
    no messages (e.g. CVM region energies). ``dummy`` is the id of the all-zero message row.
    """
    ids = np.arange(len(var_lists)) if task_ids is None else np.asarray(task_ids)
    sizes = np.array([len(var_lists[t]) for t in ids], dtype=np.int64)
    groups = []
    for s in np.unique(sizes):
        s = int(s)
        sel = ids[sizes == s]
        tab = static_tables(model, [var_lists[t] for t in sel], [factor_lists[t] for t in sel], s, unary)
        inc = np.full((len(sel), s), dummy, dtype=np.int64)
        if incoming is not None:
            for r, t in enumerate(sel):
                inc[r, 1:] = incoming[t]
        groups.append(EnumGroup(s, sel, torch.from_numpy(tab), torch.from_numpy(inc),
                                torch.from_numpy(assignment_bits(s).astype(np.float64))))
    return groups
