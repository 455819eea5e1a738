"""The KCN neighbourhood message-passing engine on a :class:`DiscreteModel` (kcn.md §3, §11).

State: one message per ordered pair (i, j ∈ V_i \\ i), stored as normalised log-probabilities
``logq`` of shape (M, 2) (column x = value of x_j). One parallel iteration evaluates

    (12′) q_{i←j}(x_j) ∝ φ_j(x_j) Σ_{x_{V_{j\\i}\\j}} Π_{b∈F_j\\F_i} ψ_b Π_{k∈V_{j\\i}\\j} q_{j←k}(x_k)

for all messages at once. Conditioned on its centre variable (x_j for a message, x_i for a belief), a
region splits into the connected components of its other variables, and the local sum factorises:

    Σ_{x_{V − centre}} Π ψ Π q = Π_components Σ_{x_comp} (component's factors and messages)

so the unit of enumeration is a *sub-task* (centre + one component), grouped by size
(:mod:`bpcount.loopy.localsums`). At r = 0, when clauses meet only in single variables, every
component is one clause whatever the degree. Sub-tasks above the enumeration cap are
importance-sampled (:mod:`bpcount.loopy.montecarlo`). Damping δ (weight of the old message) mixes
probabilities. Neighbourhood beliefs (10′) give the marginals and, with the
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
#: float64): 2^25 entries = 256 MiB. When the regions up to ``max_region_vars`` do not fit, the
#: enumeration cap is lowered (larger regions are sampled), down to :data:`MIN_ENUM_CAP`.
DEFAULT_MAX_TABLE_ENTRIES = 1 << 25

#: Never lower the enumeration cap below this many variables (sampling smaller regions is wasteful).
MIN_ENUM_CAP = 10

#: Default cap on the number of sampled local sums. Each costs a Gibbs run when built and a Python-level
#: reweighting per iteration, so formulas needing many of them fail fast (LoopyCapError) instead.
DEFAULT_MAX_SAMPLED_REGIONS = 64


def _entries(node_sizes: np.ndarray, msg_sizes: np.ndarray, cap: int) -> int:
    """Σ 2^s over the node and message regions of at most ``cap`` variables."""
    return int(np.sum(np.left_shift(1, node_sizes[node_sizes <= cap]))
               + np.sum(np.left_shift(1, msg_sizes[msg_sizes <= cap])))

class LoopyCapError(ValueError):
    """A memory cap of the neighbourhood engine was hit (the message says which and what to do)."""


def _normalise(logq: torch.Tensor) -> torch.Tensor:
    return logq - torch.logsumexp(logq, dim=-1, keepdim=True)


@dataclass
class BeliefBlock:
    """Joint beliefs b_i(x_i, x_c) of some belief sub-tasks over a common assignment list.

    ``subtasks`` (T,) int64 sub-task ids; ``bits`` (N, s) float64 torch (all 2^s assignments, or the
    samples of a sampled sub-task); ``probs`` (T, N) float64 torch, each row sums to 1.
    """

    subtasks: np.ndarray
    bits: torch.Tensor
    probs: torch.Tensor


@dataclass
class Beliefs:
    """All neighbourhood beliefs at a solution.

    ``node_logb`` (n, 2) normalised ln b_i(x_i); ``blocks`` the component joints; ``node_entropy``
    (n,) H[b_i] over all of V_i (NaN for nodes with a sampled component).
    """

    node_logb: torch.Tensor
    blocks: list[BeliefBlock]
    node_entropy: np.ndarray


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
    unary_beta: float | None = None  # multiplier of ln φ (None: same as beta)


#: Regions of the CVM family that are not decomposed (see :meth:`KCNSolver.cvm`) are tabulated; above
#: this many variables that table is refused with a LoopyCapError.
REGION_TABLE_LIMIT = 22


def split_components(model: DiscreteModel, centre: int, variables: np.ndarray,
                     factors: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a region into sub-tasks: ([centre, *component vars sorted], component factors).

    Components are those of the region's non-centre variables linked by the region's factors; every
    factor touches exactly one component (a factor whose only variable is the centre gets its own
    sub-task of size 1).
    """
    parent = {int(v): int(v) for v in variables if v != centre}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    scopes = {int(a): [int(v) for v in model.scope(a) if v != centre] for a in factors}
    for vs in scopes.values():
        for v in vs[1:]:
            ra, rb = find(vs[0]), find(v)
            if ra != rb:
                parent[rb] = ra
    comp_vars: dict[int, list[int]] = {}
    for v in parent:
        comp_vars.setdefault(find(v), []).append(v)
    comp_facs: dict[int, list[int]] = {}
    for a, vs in scopes.items():
        comp_facs.setdefault(find(vs[0]) if vs else -1, []).append(a)
    out = []
    for root, vs in sorted(comp_vars.items()):
        out.append((np.array([centre, *sorted(vs)], dtype=np.int64),
                    np.array(sorted(comp_facs.get(root, [])), dtype=np.int64)))
    if -1 in comp_facs:
        out.append((np.array([centre], dtype=np.int64), np.array(sorted(comp_facs[-1]), dtype=np.int64)))
    return out


@dataclass(frozen=True)
class SubTasks:
    """Component sub-tasks of a set of regions (messages or node beliefs).

    * ``vars``/``factors``: per sub-task, [centre, *component] and the component's factors.
    * ``incoming``: per sub-task, message ids for vars[1:].
    * ``parent``: (S,) int64, the message (or node) the sub-task belongs to.
    """

    vars: tuple[np.ndarray, ...]
    factors: tuple[np.ndarray, ...]
    incoming: tuple[np.ndarray, ...]
    parent: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(v) for v in self.vars], dtype=np.int64)


def _subtasks(model, centres, region_vars, region_factors, region_incoming) -> SubTasks:
    vs, fs, inc, par = [], [], [], []
    for r, (c, rv, rf, ri) in enumerate(zip(centres, region_vars, region_factors, region_incoming, strict=True)):
        lookup = dict(zip(rv[1:].tolist(), ri.tolist(), strict=True))
        for sv, sf in split_components(model, int(c), rv, rf):
            vs.append(sv)
            fs.append(sf)
            inc.append(np.array([lookup[int(v)] for v in sv[1:]], dtype=np.int64))
            par.append(r)
    return SubTasks(tuple(vs), tuple(fs), tuple(inc), np.array(par, dtype=np.int64))


class KCNSolver:
    """Neighbourhoods, message index and static local-sum tables of one model at one radius.

    Construction loops over variables, messages and components in Python (documented in the
    submodules); :meth:`solve` is batched over all sub-tasks of all graphs.
    """

    def __init__(self, model: DiscreteModel, radius: int, *, max_region_vars: int = 20,
                 mc_samples: int = 10000, max_messages: int = 5_000_000, seed: int = 0,
                 max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
                 max_sampled_regions: int = DEFAULT_MAX_SAMPLED_REGIONS):
        self.model = model
        self.radius = radius
        self.max_region_vars = max_region_vars
        self.mc_samples = mc_samples
        self.seed = seed
        self.nb: Neighbourhoods = build_neighbourhoods(model, radius, max_region_vars)
        sizes = self.nb.sizes
        total = int(np.sum(sizes - 1))
        if total > max_messages:
            raise LoopyCapError(
                f"neighbourhood BP at radius {radius} needs {total} messages, above the cap of "
                f"{max_messages}; use a smaller --radius or raise the message cap")
        self.msgs = build_messages(model, self.nb)
        M = self.msgs.num_messages
        self.num_messages = M
        self.msg_sub = _subtasks(model, self.msgs.source, self.msgs.cavity_vars, self.msgs.cavity_factors,
                                 self.msgs.incoming)
        self.node_sub = _subtasks(model, np.arange(model.num_vars), self.nb.vars_of, self.nb.factors_of,
                                  self.msgs.belief_incoming)
        msub, nsub = self.msg_sub.sizes, self.node_sub.sizes
        # enumeration cap: the largest c <= max_region_vars whose tables fit the entry budget;
        # sub-tasks above it are sampled
        self.enum_cap = min(max_region_vars, int(max(msub.max(initial=1), nsub.max(initial=1))))
        while self.enum_cap > MIN_ENUM_CAP and _entries(nsub, msub, self.enum_cap) > max_table_entries:
            self.enum_cap -= 1
        if _entries(nsub, msub, self.enum_cap) > max_table_entries:
            raise LoopyCapError(
                f"neighbourhood BP at radius {radius}: the exact local-sum tables do not fit in "
                f"{max_table_entries} entries even when only components of <= {MIN_ENUM_CAP} variables are "
                f"enumerated (largest component {int(max(msub.max(initial=0), nsub.max(initial=0)))} "
                f"variables); use plain BP or a smaller --radius")
        self.msg_mc = np.nonzero(msub > self.enum_cap)[0]  # sampled message sub-tasks
        self.node_mc = np.nonzero(nsub > self.enum_cap)[0]  # sampled belief sub-tasks
        self.sampled = np.zeros(model.num_vars, dtype=bool)  # nodes with a sampled belief component
        self.sampled[self.node_sub.parent[self.node_mc]] = True
        n_sampled = len(self.msg_mc) + len(self.node_mc)
        if n_sampled > max_sampled_regions:
            raise LoopyCapError(
                f"neighbourhood BP at radius {radius} would sample {n_sampled} local sums (components above "
                f"{self.enum_cap} variables), above the cap of {max_sampled_regions}; use plain BP or a "
                f"smaller --radius")
        self.msg_groups: list[EnumGroup] = build_groups(
            model, list(self.msg_sub.vars), list(self.msg_sub.factors), list(self.msg_sub.incoming), "none", M,
            np.nonzero(msub <= self.enum_cap)[0])
        self.msg_group_ids = [torch.from_numpy(self.msg_sub.parent[g.task_ids]) for g in self.msg_groups]
        self.node_groups: list[EnumGroup] = build_groups(
            model, list(self.node_sub.vars), list(self.node_sub.factors), list(self.node_sub.incoming), "none", M,
            np.nonzero(nsub <= self.enum_cap)[0])
        self.graph_of_msg = torch.from_numpy(model.graph_of_var[self.msgs.target])
        self.phi_of_msg = torch.from_numpy(model.log_phi[self.msgs.source].copy())
        self._samples: dict[float, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self._regions: RegionFamily | None = None

    # ----------------------------------------------------------------------------------- sampling
    def _mc(self, beta: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cached samples (message sub-tasks, belief sub-tasks) of their own laws at ``beta``."""
        if beta not in self._samples:
            rng = np.random.default_rng(self.seed)
            scaled = self.model.scaled(beta) if beta != 1.0 else self.model
            msg = [sample_region(scaled, self.msg_sub.vars[t], self.msg_sub.factors[t], self.mc_samples, rng,
                                 unary_first=False) for t in self.msg_mc]
            nodes = [sample_region(scaled, self.node_sub.vars[t], self.node_sub.factors[t], self.mc_samples, rng,
                                   unary_first=False) for t in self.node_mc]
            self._samples[beta] = (msg, nodes)
        return self._samples[beta]

    @property
    def num_sampled_sums(self) -> int:
        """Local sums (component sub-tasks) evaluated by Monte Carlo."""
        return int(len(self.msg_mc) + len(self.node_mc))

    @property
    def num_exact_sums(self) -> int:
        """Local sums (component sub-tasks) evaluated by exact enumeration."""
        return int(len(self.msg_sub.parent) + len(self.node_sub.parent)) - self.num_sampled_sums

    # --------------------------------------------------------------------------------- iteration
    def update(self, logq: torch.Tensor, beta: float, unary_beta: float | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """One undamped parallel update. Returns (new logq (M, 2), contradiction mask (M,), min ESS).

        Factor tables are taken at ``beta``, unary weights at ``unary_beta`` (default ``beta``).
        """
        ext = torch.cat([logq, logq.new_zeros(1, 2)])
        # φ_j once per message; the components' sums are added to it
        new = self.phi_of_msg * (beta if unary_beta is None else unary_beta)
        for g, parent in zip(self.msg_groups, self.msg_group_ids, strict=True):
            for rows in g.chunks():
                lw = g.log_weights(ext, rows, beta)
                new.index_add_(0, parent[rows], torch.logsumexp(lw.view(lw.shape[0], -1, 2), dim=1))
        min_ess = float("inf")
        if len(self.msg_mc):
            samples, _ = self._mc(beta)
            for t, X in zip(self.msg_mc, samples, strict=True):
                out, ess, _ = _mc_weights(ext, self.msg_sub.incoming[t], X)
                new[self.msg_sub.parent[t]] += out
                min_ess = min(min_ess, ess)
        bad = torch.isneginf(new).all(dim=1)
        new = torch.where(bad[:, None], logq, _normalise(torch.where(bad[:, None], logq, new)))
        return new.clamp(min=LOG_MESSAGE_FLOOR), bad, min_ess

    def initial_messages(self, bias: float = 0.0) -> torch.Tensor:
        """(M, 2) messages ∝ φ_j, tilted towards x_j = 1 by ``bias`` (a log-odds, for symmetry breaking)."""
        logq = self.phi_of_msg.clone()
        logq[:, 1] += bias
        return _normalise(logq).clamp(min=LOG_MESSAGE_FLOOR)

    def solve(self, *, beta: float = 1.0, init: torch.Tensor | None = None, damping: float = 0.5,
              max_iters: int = 200, tol: float = 1e-8, deadline: float | None = None,
              unary_beta: float | None = None) -> Solution:
        """Damped parallel iteration to max |Δq| < tol per graph (converged graphs are frozen).

        ``beta`` multiplies the factor log-tables, ``unary_beta`` (default ``beta``) the ln φ.
        """
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
            return Solution(logq, beta, torch.ones(B, dtype=torch.bool), iterations, residual, unary_beta=unary_beta)
        log_keep = math.log(damping) if damping > 0 else -math.inf
        log_new = math.log1p(-damping)
        for t in range(1, max_iters + 1):
            new, bad, ess = self.update(logq, beta, unary_beta)
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
        return Solution(logq, beta, converged, iterations, residual, contradictions, min_ess,
                        unary_beta=unary_beta)

    # ----------------------------------------------------------------------------------- beliefs
    def beliefs(self, sol: Solution) -> Beliefs:
        """Neighbourhood beliefs (10′): b_i(x_i) and, per component sub-task c of node i, the exact
        joint b_i(x_i, x_c) = b_i(x_i) · w_c(x_i, x_c) / Z_c(x_i)."""
        beta = sol.beta
        ext = torch.cat([sol.logq, sol.logq.new_zeros(1, 2)])
        node_logb = torch.from_numpy(self.model.log_phi * (beta if sol.unary_beta is None else sol.unary_beta))
        parent = self.node_sub.parent
        staged = []
        for g in self.node_groups:
            lw = torch.cat([g.log_weights(ext, rows, beta) for rows in g.chunks()])
            z = torch.logsumexp(lw.view(lw.shape[0], -1, 2), dim=1)  # (T, 2): ln Z_c(x_i)
            node_logb.index_add_(0, torch.from_numpy(parent[g.task_ids]), z)
            staged.append((g.task_ids, g.bits, lw, z))
        mc_staged = []
        if len(self.node_mc):
            _, samples = self._mc(beta)
            for t, X in zip(self.node_mc, samples, strict=True):
                z, ess, lw = _mc_weights(ext, self.node_sub.incoming[t], X)
                sol.min_ess = min(sol.min_ess, ess)
                node_logb[parent[t]] += z
                mc_staged.append((t, X, lw, z))
        node_logb = _normalise(node_logb)
        blocks = []
        sub_entropy = np.full(len(parent), np.nan)
        for ids, bits, lw, z in staged:
            T = lw.shape[0]
            logp = (lw.view(T, -1, 2) - z[:, None, :] + node_logb[torch.from_numpy(parent[ids])][:, None, :]).view(T, -1)
            probs = logp.exp()
            cond = logp.view(T, -1, 2) - node_logb[torch.from_numpy(parent[ids])][:, None, :]
            sub_entropy[ids] = -torch.where(probs > 0, probs * cond.view(T, -1), 0.0).sum(1).numpy()
            blocks.append(BeliefBlock(ids, bits, probs))
        for t, X, lw, z in mc_staged:
            x0 = torch.from_numpy(X[:, 0].astype(np.int64))
            logp = lw - z[x0] + node_logb[parent[t]][x0]
            blocks.append(BeliefBlock(np.array([t]), torch.from_numpy(X.astype(np.float64)), logp.exp()[None, :]))
        b = node_logb.exp()
        h_node = -torch.where(b > 0, b * node_logb, 0.0).sum(1).numpy()
        np.add.at(h_node, parent, np.nan_to_num(sub_entropy, nan=0.0))
        h_node[self.sampled] = np.nan
        return Beliefs(node_logb, blocks, h_node)

    def p_one(self, bel: Beliefs) -> np.ndarray:
        """(n,) P(x_i = 1) from each node's own neighbourhood belief (11′)."""
        return bel.node_logb[:, 1].exp().numpy()

    def _var_index(self) -> list[dict[int, tuple[int, int]]]:
        """Per node: variable → (sub-task id, position in the sub-task's variable list)."""
        if getattr(self, "_var_sub", None) is None:
            look: list[dict[int, tuple[int, int]]] = [{} for _ in range(self.model.num_vars)]
            for t, (vs, par) in enumerate(zip(self.node_sub.vars, self.node_sub.parent, strict=True)):
                for q, v in enumerate(vs[1:], 1):
                    look[par][int(v)] = (t, q)
            self._var_sub = look
        return self._var_sub

    def marginals(self, bel: Beliefs, nodes: np.ndarray, region_vars: np.ndarray) -> torch.Tensor:
        """Marginals (P, 2^k) of b_{nodes[p]} on ``region_vars[p]`` (P, k); bit q ↔ region_vars[p, q].

        Regions inside one component (plus the centre) are read off that sub-task's joint; regions
        spanning several components are assembled from per-component conditionals (Python loop,
        at most 2^(k+1) entries each).
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        region_vars = np.asarray(region_vars, dtype=np.int64).reshape(len(nodes), -1)
        P, k = region_vars.shape
        out = torch.zeros(P, 1 << k, dtype=torch.float64)
        look = self._var_index()
        sub = np.full(P, -1, dtype=np.int64)
        pos = np.zeros((P, k), dtype=np.int64)
        for p in range(P):
            i, vs = int(nodes[p]), region_vars[p]
            subs = {look[i][int(v)][0] for v in vs if v != i}
            if not subs:  # the region is {i}
                out[p] = bel.node_logb[i].exp()
            elif len(subs) == 1:
                sub[p] = subs.pop()
                pos[p] = [0 if v == i else look[i][int(v)][1] for v in vs]
            else:
                out[p] = self._product_marginal(bel, i, vs)
        block_of = np.full(len(self.node_sub.parent), -1, dtype=np.int64)
        row_of = np.zeros(len(self.node_sub.parent), dtype=np.int64)
        for b, block in enumerate(bel.blocks):
            block_of[block.subtasks] = b
            row_of[block.subtasks] = np.arange(len(block.subtasks))
        single = np.nonzero(sub >= 0)[0]
        blk = block_of[sub[single]]
        for b in np.unique(blk):
            sel = single[blk == b]
            block = bel.blocks[b]
            bits = block.bits.to(torch.int64)
            N = bits.shape[0]
            step = max(1, CHUNK_ENTRIES // max(N, 1))
            for lo in range(0, len(sel), step):
                part = sel[lo:lo + step]
                code = torch.zeros(len(part), N, dtype=torch.int64)
                for q in range(k):
                    code += bits[:, torch.from_numpy(pos[part, q])].T << q
                rows = torch.from_numpy(row_of[sub[part]])
                out[torch.from_numpy(part)] = torch.zeros(len(part), 1 << k, dtype=torch.float64).scatter_add_(
                    1, code, block.probs[rows])
        return out

    def _product_marginal(self, bel: Beliefs, i: int, vs: np.ndarray) -> torch.Tensor:
        look = self._var_index()
        comps: dict[int, list[int]] = {}
        for v in vs:
            if v != i:
                comps.setdefault(look[i][int(v)][0], []).append(int(v))
        order = [i] + [v for c in comps.values() for v in c]
        L = len(order)
        bitsL = assignment_bits(L)
        b = bel.node_logb[i].exp().numpy()
        value = b[bitsL[:, 0]]
        off = 1
        for members in comps.values():
            joint = self.marginals(bel, np.array([i]), np.array([[i, *members]]))[0].numpy()
            cond = joint.reshape(-1, 2) / np.where(b > 0, b, 1.0)[None, :]  # [code_c, x_i]
            code = (bitsL[:, off:off + len(members)] << np.arange(len(members))).sum(1)
            value = value * cond[code, bitsL[:, 0]]
            off += len(members)
        where = {v: q for q, v in enumerate(order)}
        code_r = (bitsL[:, [where[int(v)] for v in vs]] << np.arange(len(vs))).sum(1)
        return torch.from_numpy(np.bincount(code_r, weights=value, minlength=1 << len(vs)))

    def pair_energies(self, bel: Beliefs, beta: float, nodes: np.ndarray, facs: np.ndarray) -> np.ndarray:
        """E_{b_i}[β ln ψ_a] for pairs (nodes[p], facs[p]) with a ∈ F_i; shape (P,)."""
        values = np.zeros(len(nodes))
        arity = np.diff(self.model.factor_ptr)[facs] if len(facs) else np.zeros(0, dtype=np.int64)
        for k in np.unique(arity):
            sel = np.nonzero(arity == k)[0]
            scopes = self.model.factor_vars[self.model.factor_ptr[facs[sel]][:, None] + np.arange(k)]
            marg = self.marginals(bel, nodes[sel], scopes).numpy()
            tabs = self.model.tables[self.model.table_ptr[facs[sel]][:, None] + np.arange(1 << k)] * beta
            values[sel] = np.where(marg > 0, marg * np.where(np.isfinite(tabs), tabs, 0.0), 0.0).sum(1)
        return values

    def factor_expectations(self, bel: Beliefs, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E_{b_i}[β ln ψ_a] for every (i, a ∈ ∂i): returns (node (P,), factor (P,), value (P,))."""
        facs = np.repeat(np.arange(self.model.num_factors), np.diff(self.model.factor_ptr))
        nodes = self.model.factor_vars.copy()
        return nodes, facs, self.pair_energies(bel, beta, nodes, facs)

    # ---------------------------------------------------------------------------------------- CVM
    @property
    def regions(self) -> RegionFamily:
        if self._regions is None:
            self._regions = build_regions(self.model, self.nb, self.sampled)
        return self._regions

    def cvm(self, bel: Beliefs, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """CVM (entropy S, ln Z) per graph, each (B,) float64 (ln Z without any external offset).

        An outer region equal to a non-sampled node's F_i takes H[b_i] from the component
        decomposition H(x_i) + Σ_c E_{x_i} H(x_c | x_i) (no 2^|V_i| table); every other region is
        tabulated from the average of its sources' marginals (≤ :data:`REGION_TABLE_LIMIT` variables).
        Energies use E_{b_R}[ln ψ_a] = mean over sources of E_{b_i}[ln ψ_a].
        """
        fam = self.regions
        B = self.model.num_graphs
        entropy = np.zeros(B)
        energy = np.zeros(B)
        phi = self.model.log_phi * beta
        # per (node, factor ∈ F_i) energies and per (node, var ∈ V_i) unary energies, computed once
        pn = np.concatenate([np.full(len(f), i) for i, f in enumerate(self.nb.factors_of)]).astype(np.int64)
        pf = np.concatenate(self.nb.factors_of).astype(np.int64) if len(pn) else np.zeros(0, np.int64)
        e_pair = dict(zip(zip(pn.tolist(), pf.tolist(), strict=True),
                          self.pair_energies(bel, beta, pn, pf).tolist(), strict=True))
        vn = np.concatenate([np.full(len(v), i) for i, v in enumerate(self.nb.vars_of)]).astype(np.int64)
        vv = np.concatenate(self.nb.vars_of).astype(np.int64)
        mv = self.marginals(bel, vn, vv[:, None]).numpy()
        f_var = dict(zip(zip(vn.tolist(), vv.tolist(), strict=True), (mv * phi[vv]).sum(1).tolist(), strict=True))

        def region_energy(i: int, r: int) -> float:
            return (sum(e_pair[(i, int(a))] for a in fam.region_factors[r])
                    + sum(f_var[(i, int(v))] for v in fam.region_vars[r]))

        h = np.zeros(len(fam.counting))
        e = np.zeros(len(fam.counting))
        tab = []
        for r in range(len(fam.counting)):
            owner = int(fam.owner[r])
            if owner >= 0:
                h[r] = bel.node_entropy[owner]
                e[r] = region_energy(owner, r)
            else:
                if len(fam.region_vars[r]) > REGION_TABLE_LIMIT:
                    raise LoopyCapError(
                        f"a CVM region has {len(fam.region_vars[r])} variables (limit {REGION_TABLE_LIMIT}); "
                        f"use a smaller --radius")
                e[r] = float(np.mean([region_energy(int(i), r) for i in fam.sources[r]]))
                tab.append(r)
        sizes = np.array([len(fam.region_vars[r]) for r in tab], dtype=np.int64)
        for k in np.unique(sizes):
            regs = np.array(tab, dtype=np.int64)[sizes == k]
            nodes = np.concatenate([fam.sources[r] for r in regs])
            owner = np.repeat(np.arange(len(regs)), [len(fam.sources[r]) for r in regs])
            rv = np.stack([fam.region_vars[r] for r in regs])
            marg = self.marginals(bel, nodes, rv[owner])
            b = torch.zeros(len(regs), 1 << int(k), dtype=torch.float64).index_add_(0, torch.from_numpy(owner), marg)
            b = (b / b.sum(1, keepdim=True)).numpy()
            h[regs] = -np.where(b > 0, b * np.log(np.where(b > 0, b, 1.0)), 0.0).sum(1)
        graph = self.model.graph_of_var[np.array([v[0] for v in fam.region_vars], dtype=np.int64)] \
            if len(fam.region_vars) else np.zeros(0, dtype=np.int64)
        np.add.at(entropy, graph, fam.counting * h)
        np.add.at(energy, graph, fam.counting * e)
        return entropy, entropy + energy


def _mc_weights(ext: torch.Tensor, incoming: np.ndarray, X: np.ndarray) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Importance weights of own-law samples X (S, s) under the incoming messages of positions 1..s−1.

    Returns (ln Σ_{samples with x_0 = b} w  for b = 0, 1  (2,), ESS, ln w (S,)).
    """
    if len(X) == 0:
        return torch.full((2,), -math.inf, dtype=ext.dtype), 0.0, torch.zeros(0, dtype=ext.dtype)
    contrib = ext[torch.from_numpy(incoming)]  # (s-1, 2)
    bits = torch.from_numpy(X[:, 1:].astype(np.float64))
    lw = contrib[:, 0].sum() + bits @ (contrib[:, 1] - contrib[:, 0])
    x0 = torch.from_numpy(X[:, 0].astype(np.int64))
    out = torch.stack([torch.logsumexp(lw[x0 == b], 0) if bool((x0 == b).any()) else lw.new_tensor(-math.inf)
                       for b in (0, 1)])
    return out, effective_sample_size(lw.numpy()), lw


def estimate_log_z(solver: KCNSolver, sol: Solution) -> tuple[np.ndarray, Beliefs]:
    """CVM ln Z per graph (B,) at a solution, and the beliefs used."""
    bel = solver.beliefs(sol)
    _, log_z = solver.cvm(bel, sol.beta)
    return log_z, bel


__all__ = ["Beliefs", "KCNSolver", "LoopyCapError", "Solution", "build_neighbourhoods", "estimate_log_z",
           "split_components"]
