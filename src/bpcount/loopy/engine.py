"""The KCN neighbourhood message-passing engine on a :class:`DiscreteModel` (kcn.md §3, §11).

State: one message per ordered pair (i, j ∈ V_i \\ i), stored as normalised log-probabilities
``logq`` of shape (M, 2) (column x = value of x_j). One parallel iteration evaluates

    (12′) q_{i←j}(x_j) ∝ φ_j(x_j) Σ_{x_{V_{j\\i}\\j}} Π_{b∈F_j\\F_i} ψ_b Π_{k∈V_{j\\i}\\j} q_{j←k}(x_k)

for all messages at once, grouped by cavity size (:mod:`bpcount.loopy.localsums`); regions above
the enumeration cap are importance-sampled (:mod:`bpcount.loopy.montecarlo`). Damping δ (weight of
the old message) mixes probabilities. Neighbourhood beliefs (10′) give the marginals and, with the
CVM region family of :mod:`bpcount.loopy.entropy`, ln Z.

Every log-weight is multiplied by an inverse temperature ``beta`` (1 for CNF); the static tables
are built once at β = 1 and rescaled, so a temperature scan reuses the construction.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from bpcount.loopy.entropy import RegionFamily, build_regions
from bpcount.loopy.localsums import CHUNK_ENTRIES, EnumGroup, assignment_bits, build_groups
from bpcount.loopy.model import DiscreteModel
from bpcount.loopy.montecarlo import effective_sample_size, sample_region
from bpcount.loopy.neighbourhoods import Neighbourhoods, build_messages, build_neighbourhoods

#: ln q is floored here so that ln q(1) − ln q(0) stays finite in the bit-linear message term.
#: A message that is truly 0 (a variable forced inside a cavity) becomes e^−50 ≈ 2e−22, far below
#: any reported digit of ln Z.
LOG_MESSAGE_FLOOR = -50.0

#: Default cap on the number of stored table entries (Σ_t 2^{s_t} over all enumerated regions,
#: float64): 2^26 entries = 512 MiB.
DEFAULT_MAX_TABLE_ENTRIES = 1 << 26

LN_HALF = math.log(0.5)


class LoopyCapError(ValueError):
    """A memory cap of the neighbourhood engine was hit (the message says which and what to do)."""


def _normalise(logq: torch.Tensor) -> torch.Tensor:
    return logq - torch.logsumexp(logq, dim=-1, keepdim=True)


@dataclass
class BeliefBlock:
    """Neighbourhood beliefs of some nodes over a common assignment list.

    ``nodes`` (T,) int64; ``bits`` (N, s) float64 torch (all 2^s assignments, or the samples of an
    MC node); ``probs`` (T, N) float64 torch, normalised per row.
    """

    nodes: np.ndarray
    bits: torch.Tensor
    probs: torch.Tensor


@dataclass
class Solution:
    """Messages after :meth:`KCNSolver.solve`. Per-graph tensors have shape (B,)."""

    logq: torch.Tensor  # (M, 2)
    beta: float
    converged: torch.Tensor
    iterations: torch.Tensor
    residual: torch.Tensor
    contradictions: int = 0
    min_ess: float = float("inf")
    extra: dict = field(default_factory=dict)


class KCNSolver:
    """Neighbourhoods, message index and static local-sum tables of one model at one radius.

    Construction loops over variables and messages in Python (documented in the submodules);
    :meth:`solve` is batched over all messages of all graphs.
    """

    def __init__(self, model: DiscreteModel, radius: int, *, max_region_vars: int = 20,
                 mc_samples: int = 10000, max_messages: int = 5_000_000, seed: int = 0,
                 max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES):
        self.model = model
        self.radius = radius
        self.max_region_vars = max_region_vars
        self.mc_samples = mc_samples
        self.seed = seed
        self.nb: Neighbourhoods = build_neighbourhoods(model, radius, max_region_vars)
        sizes = self.nb.sizes
        self.sampled = sizes > max_region_vars  # even the star is too large: sampled beliefs
        total = int(np.sum(sizes - 1))
        if total > max_messages:
            raise LoopyCapError(
                f"neighbourhood BP at radius {radius} needs {total} messages, above the cap of "
                f"{max_messages}; use a smaller --radius or raise the message cap")
        self.msgs = build_messages(model, self.nb)
        M = self.msgs.num_messages
        self.num_messages = M
        msg_sizes = np.array([len(v) for v in self.msgs.cavity_vars], dtype=np.int64)
        self.msg_mc = np.nonzero(msg_sizes > max_region_vars)[0]
        msg_exact = np.nonzero(msg_sizes <= max_region_vars)[0]
        node_exact = np.nonzero(~self.sampled)[0]
        entries = int(np.sum(np.left_shift(1, msg_sizes[msg_exact]))) + int(np.sum(np.left_shift(1, sizes[node_exact])))
        if entries > max_table_entries:
            raise LoopyCapError(
                f"neighbourhood BP at radius {radius} would store {entries} local-sum table entries "
                f"(largest region {int(sizes.max())} variables), above the cap of {max_table_entries}; "
                f"use a smaller --radius or a smaller region cap (max_region_vars, now {max_region_vars})")
        cav_vars, cav_fac = list(self.msgs.cavity_vars), list(self.msgs.cavity_factors)
        self.msg_groups: list[EnumGroup] = build_groups(model, cav_vars, cav_fac, list(self.msgs.incoming),
                                                        "first", M, msg_exact)
        self.msg_group_ids = [torch.from_numpy(g.task_ids) for g in self.msg_groups]
        self.node_groups: list[EnumGroup] = build_groups(model, list(self.nb.vars_of), list(self.nb.factors_of),
                                                         list(self.msgs.belief_incoming), "first", M, node_exact)
        self.graph_of_msg = torch.from_numpy(model.graph_of_var[self.msgs.target])
        self._samples: dict[float, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self._regions: RegionFamily | None = None

    # ----------------------------------------------------------------------------------- sampling
    def _mc(self, beta: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cached samples (message tasks, sampled nodes) of the regions' own laws at ``beta``."""
        if beta not in self._samples:
            rng = np.random.default_rng(self.seed)
            scaled = self.model.scaled(beta) if beta != 1.0 else self.model
            msg = [sample_region(scaled, self.msgs.cavity_vars[t], self.msgs.cavity_factors[t], self.mc_samples, rng)
                   for t in self.msg_mc]
            nodes = [sample_region(scaled, self.nb.vars_of[i], self.nb.factors_of[i], self.mc_samples, rng)
                     for i in np.nonzero(self.sampled)[0]]
            self._samples[beta] = (msg, nodes)
        return self._samples[beta]

    @property
    def num_sampled_sums(self) -> int:
        """Local sums evaluated by Monte Carlo (message tasks plus node beliefs)."""
        return int(len(self.msg_mc) + self.sampled.sum())

    # --------------------------------------------------------------------------------- iteration
    def update(self, logq: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, float]:
        """One undamped parallel update. Returns (new logq (M, 2), contradiction mask (M,), min ESS)."""
        ext = torch.cat([logq, logq.new_zeros(1, 2)])
        new = torch.empty_like(logq)
        for g, ids in zip(self.msg_groups, self.msg_group_ids, strict=True):
            for rows in g.chunks():
                lw = g.log_weights(ext, rows, beta)
                T = lw.shape[0]
                new[ids[rows]] = torch.logsumexp(lw.view(T, -1, 2), dim=1)
        min_ess = float("inf")
        if len(self.msg_mc):
            samples, _ = self._mc(beta)
            for t, X in zip(self.msg_mc, samples, strict=True):
                out, ess = self._mc_message(ext, t, X)
                new[t] = out
                min_ess = min(min_ess, ess)
        bad = torch.isneginf(new).all(dim=1)
        new = torch.where(bad[:, None], logq, _normalise(torch.where(bad[:, None], logq, new)))
        return new.clamp(min=LOG_MESSAGE_FLOOR), bad, min_ess

    def _mc_message(self, ext: torch.Tensor, t: int, X: np.ndarray) -> tuple[torch.Tensor, float]:
        if len(X) == 0:
            return torch.full((2,), -math.inf, dtype=ext.dtype), 0.0
        inc = torch.from_numpy(self.msgs.incoming[t])
        contrib = ext[inc]  # (s-1, 2)
        bits = torch.from_numpy(X[:, 1:].astype(np.float64))
        lw = contrib[:, 0].sum() + bits @ (contrib[:, 1] - contrib[:, 0])
        x0 = torch.from_numpy(X[:, 0])
        out = torch.stack([torch.logsumexp(lw[x0 == b], 0) if bool((x0 == b).any()) else lw.new_tensor(-math.inf)
                           for b in (0, 1)])
        return out, effective_sample_size(lw.numpy())

    def initial_messages(self, bias: float = 0.0) -> torch.Tensor:
        """(M, 2) messages ∝ φ_j, tilted towards x_j = 1 by ``bias`` (a log-odds, for symmetry breaking)."""
        logq = torch.from_numpy(self.model.log_phi[self.msgs.source].copy())
        logq[:, 1] += bias
        return _normalise(logq).clamp(min=LOG_MESSAGE_FLOOR)

    def solve(self, *, beta: float = 1.0, init: torch.Tensor | None = None, damping: float = 0.5,
              max_iters: int = 200, tol: float = 1e-8, deadline: float | None = None) -> Solution:
        """Damped parallel iteration to max |Δq| < tol per graph (converged graphs are frozen)."""
        if not 0.0 <= damping < 1.0:
            raise ValueError(f"damping must be in [0, 1), got {damping}")
        B = self.model.num_graphs
        logq = (self.initial_messages() if init is None else init.clone()).to(torch.float64)
        converged = torch.zeros(B, dtype=torch.bool)
        iterations = torch.zeros(B, dtype=torch.int64)
        residual = torch.zeros(B, dtype=torch.float64)
        contradictions = 0
        min_ess = float("inf")
        if self.num_messages == 0:
            return Solution(logq, beta, torch.ones(B, dtype=torch.bool), iterations, residual)
        log_keep = math.log(damping) if damping > 0 else -math.inf
        log_new = math.log1p(-damping)
        for t in range(1, max_iters + 1):
            new, bad, ess = self.update(logq, beta)
            min_ess = min(min_ess, ess)
            contradictions = int(bad.sum())
            if damping > 0:
                new = torch.logaddexp(log_new + new, log_keep + logq).clamp(min=LOG_MESSAGE_FLOOR)
            frozen = converged[self.graph_of_msg]
            new = torch.where(frozen[:, None], logq, new)
            delta = (new[:, 1].exp() - logq[:, 1].exp()).abs()
            res = torch.zeros(B, dtype=torch.float64).scatter_reduce_(0, self.graph_of_msg, delta, "amax")
            residual = torch.where(converged, residual, res)
            iterations = torch.where(converged, iterations, torch.full_like(iterations, t))
            converged = converged | (res < tol)
            logq = new
            if bool(converged.all()) or (deadline is not None and time.monotonic() > deadline):
                break
        return Solution(logq, beta, converged, iterations, residual, contradictions, min_ess)

    # ----------------------------------------------------------------------------------- beliefs
    def beliefs(self, sol: Solution) -> list[BeliefBlock]:
        """Neighbourhood beliefs b_i (10′) of every node, as blocks sharing an assignment list."""
        ext = torch.cat([sol.logq, sol.logq.new_zeros(1, 2)])
        blocks = []
        for g in self.node_groups:
            parts = [torch.softmax(g.log_weights(ext, rows, sol.beta), dim=1) for rows in g.chunks()]
            blocks.append(BeliefBlock(g.task_ids, g.bits, torch.cat(parts)))
        if self.sampled.any():
            _, samples = self._mc(sol.beta)
            for i, X in zip(np.nonzero(self.sampled)[0], samples, strict=True):
                inc = torch.from_numpy(self.msgs.belief_incoming[i])
                contrib = ext[inc]
                bits = torch.from_numpy(X.astype(np.float64))
                lw = contrib[:, 0].sum() + bits[:, 1:] @ (contrib[:, 1] - contrib[:, 0])
                sol.min_ess = min(sol.min_ess, effective_sample_size(lw.numpy()))
                blocks.append(BeliefBlock(np.array([i]), bits, torch.softmax(lw, 0)[None, :]))
        return blocks

    def marginals(self, blocks: list[BeliefBlock], nodes: np.ndarray, region_vars: np.ndarray) -> torch.Tensor:
        """Marginals (P, 2^k) of b_{nodes[p]} on ``region_vars[p]`` (P, k); bit q ↔ region_vars[p, q]."""
        nodes = np.asarray(nodes, dtype=np.int64)
        region_vars = np.asarray(region_vars, dtype=np.int64).reshape(len(nodes), -1)
        k = region_vars.shape[1]
        out = torch.zeros(len(nodes), 1 << k, dtype=torch.float64)
        where = self._block_index(blocks)
        blk = where[0][nodes]
        for b in np.unique(blk):
            sel = np.nonzero(blk == b)[0]
            block = blocks[b]
            rows = where[1][nodes[sel]]
            pos = np.empty((len(sel), k), dtype=np.int64)
            for p, (node, vs) in enumerate(zip(nodes[sel], region_vars[sel], strict=True)):
                lookup = {int(v): q for q, v in enumerate(self.nb.vars_of[node])}
                pos[p] = [lookup[int(v)] for v in vs]
            bits = block.bits.to(torch.int64)
            N = bits.shape[0]
            step = max(1, CHUNK_ENTRIES // max(N, 1))
            for lo in range(0, len(sel), step):
                hi = min(lo + step, len(sel))
                code = torch.zeros(hi - lo, N, dtype=torch.int64)
                for q in range(k):
                    code += bits[:, torch.from_numpy(pos[lo:hi, q])].T << q
                out[torch.from_numpy(sel[lo:hi])] = torch.zeros(hi - lo, 1 << k, dtype=torch.float64).scatter_add_(
                    1, code, block.probs[torch.from_numpy(rows[lo:hi])])
        return out

    def _block_index(self, blocks: list[BeliefBlock]) -> tuple[np.ndarray, np.ndarray]:
        blk = np.zeros(self.model.num_vars, dtype=np.int64)
        row = np.zeros(self.model.num_vars, dtype=np.int64)
        for b, block in enumerate(blocks):
            blk[block.nodes] = b
            row[block.nodes] = np.arange(len(block.nodes))
        return blk, row

    def p_one(self, blocks: list[BeliefBlock]) -> np.ndarray:
        """(n,) P(x_i = 1) from each node's own neighbourhood belief (11′)."""
        out = np.zeros(self.model.num_vars)
        for block in blocks:
            out[block.nodes] = (block.probs @ block.bits[:, 0]).numpy()
        return out

    def factor_expectations(self, blocks: list[BeliefBlock], beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E_{b_i}[β ln ψ_a] for every (i, a ∈ ∂i): returns (node (P,), factor (P,), value (P,))."""
        nodes, facs = [], []
        for a in range(self.model.num_factors):
            for v in self.model.scope(a):
                nodes.append(int(v))
                facs.append(a)
        nodes, facs = np.array(nodes, dtype=np.int64), np.array(facs, dtype=np.int64)
        values = np.zeros(len(nodes))
        arity = np.diff(self.model.factor_ptr)[facs]
        for k in np.unique(arity):
            sel = np.nonzero(arity == k)[0]
            scopes = self.model.factor_vars[self.model.factor_ptr[facs[sel]][:, None] + np.arange(k)]
            marg = self.marginals(blocks, nodes[sel], scopes).numpy()
            tabs = self.model.tables[self.model.table_ptr[facs[sel]][:, None] + np.arange(1 << k)] * beta
            values[sel] = np.where(marg > 0, marg * np.where(np.isfinite(tabs), tabs, 0.0), 0.0).sum(1)
        return nodes, facs, values

    # ---------------------------------------------------------------------------------------- CVM
    @property
    def regions(self) -> RegionFamily:
        if self._regions is None:
            self._regions = build_regions(self.model, self.nb, self.sampled)
        return self._regions

    def cvm(self, blocks: list[BeliefBlock], beta: float) -> tuple[np.ndarray, np.ndarray]:
        """CVM (entropy S, ln Z) per graph, each (B,) float64 (ln Z without any external offset)."""
        fam = self.regions
        B = self.model.num_graphs
        entropy = np.zeros(B)
        energy = np.zeros(B)
        sizes = np.array([len(v) for v in fam.region_vars])
        phi = self.model.log_phi * beta
        for k in np.unique(sizes):
            regs = np.nonzero(sizes == k)[0]
            nodes = np.concatenate([fam.sources[r] for r in regs])
            owner = np.repeat(np.arange(len(regs)), [len(fam.sources[r]) for r in regs])
            rv = np.stack([fam.region_vars[r] for r in regs])
            marg = self.marginals(blocks, nodes, rv[owner])
            b = torch.zeros(len(regs), 1 << k, dtype=torch.float64).index_add_(0, torch.from_numpy(owner), marg)
            b = (b / b.sum(1, keepdim=True)).numpy()
            h = -np.where(b > 0, b * np.log(np.where(b > 0, b, 1.0)), 0.0).sum(1)
            bits = assignment_bits(int(k))
            e = np.zeros(len(regs))
            for q in range(int(k)):  # unary terms of every region variable
                e += (b * phi[rv[:, q]][:, bits[:, q]]).sum(1)
            for j, r in enumerate(regs):  # factor terms (Python loop over region factors)
                lookup = {int(v): q for q, v in enumerate(fam.region_vars[r])}
                for a in fam.region_factors[r]:
                    pos = [lookup[int(v)] for v in self.model.scope(a)]
                    idx = (bits[:, pos] << np.arange(len(pos))).sum(1)
                    tab = self.model.table(a)[idx] * beta
                    e[j] += np.where(b[j] > 0, b[j] * np.where(np.isfinite(tab), tab, 0.0), 0.0).sum()
            graph = self.model.graph_of_var[rv[:, 0]]
            c = fam.counting[regs]
            np.add.at(entropy, graph, c * h)
            np.add.at(energy, graph, c * e)
        return entropy, entropy + energy


def estimate_log_z(solver: KCNSolver, sol: Solution) -> tuple[np.ndarray, list[BeliefBlock]]:
    """CVM ln Z per graph (B,) at a solution, and the beliefs used."""
    blocks = solver.beliefs(sol)
    _, log_z = solver.cvm(blocks, sol.beta)
    return log_z, blocks


__all__ = ["KCNSolver", "LoopyCapError", "Solution", "BeliefBlock", "build_neighbourhoods", "estimate_log_z"]
