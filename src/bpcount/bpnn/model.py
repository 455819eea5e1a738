"""Belief Propagation Neural Network (BPNN) for ln Z of CNF formulas (docs: bpnn.md §3, §4, §8).

Two parts, both on the flat batched factor graph of :mod:`bpcount.graph` and both reusing the
message functions of :mod:`bpcount.bp` (one implementation per concept):

* **BPNN-D** (:class:`DampingOperator`, :meth:`BPNN.propagate`): each layer k computes the plain BP
  candidate λ̃ = clause_to_var(var_to_clause(λ)) and then

      λ^k = λ̃ + δ · H_k(λ^{k−1} − λ̃),     H_k(d) = a_k·d + m_k(d) − m_k(0),

  a per-edge scalar operator on the falsifying-frame message difference. H_k(0) = 0 by construction,
  so every BP fixed point is a fixed point of every layer; with a_k = 1 and m_k's last layer zero
  (the initialisation) H_k is the identity and the layer *is* damped BP (``bp.damp``). Layers are
  untied (K operators) or tied (one operator, iterated; see :mod:`bpcount.bpnn.infer`).

* **BPNN-B** (:class:`Readout`): a learned Bethe free energy over the trajectory λ^1..λ^K,

      ln Ẑ = ln_offset + max(0, 1 + 10(θ + φ·s))·(Bethe(λ^K) − ln_offset) + Σ_a g_a + Σ_i g_i,

  where g_a pools per-edge embeddings of each clause (mean and max, DeepSets) together with clause
  terms, and g_i maps per-variable terms; both are "linear + MLP" with zero-initialised outputs and
  θ, φ start at 0 (s ∈ {0, 1} flags a Bethe value that is certainly an artefact, see
  :func:`bethe_suspect`), so an untrained model returns exactly BP's Bethe ln Z of the last layer. All
  edge features live in the literal's falsifying frame and pooling is symmetric, so the output is
  invariant, by construction, to literal order, clause order, variable renaming and polarity flips
  (no k! averaging, no clause-width limit). MLP inputs are bounded (probabilities, entropies in
  units of ln 2, log-degrees); the raw, unbounded Bethe terms enter only linearly.

Imports only torch and bpcount.bp / bpcount.graph. No host synchronisation inside ``forward``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bpcount.bp import (
    LN2,
    LOG_MESSAGE_FLOOR,
    bethe_terms,
    clause_to_var,
    segment_sum,
    var_to_clause,
)
from bpcount.bpnn.structure import GateFeatures, gate_features
from bpcount.gatebp import solve_gate_bp
from bpcount.gategraph import GateGraph, build_gate_graph
from bpcount.graph import FactorGraphBatch, select

#: Number of per-layer edge features (see :func:`layer_features`).
EDGE_FEATURES = 4
#: Number of per-layer clause features given to the clause MLP.
CLAUSE_FEATURES = 2
#: Number of per-layer variable features given to the variable MLP.
VAR_FEATURES = 2
#: Number of per-layer Bethe terms on the linear paths (clause: H(b_a) clipped to [0, k_a ln 2],
#: ln Z_a clamped at :data:`LOG_ZA_CLAMP`; variable: (1 − d_i)·H(b_i), E_b[ln φ_i]).
LINEAR_TERMS = 2
#: ln Z_a of a clause BP believes nearly falsified can reach ln(1e−30) ≈ −69 (bp.LOG_CLAUSE_MARGIN);
#: on the readout's linear path it is clamped here so that such artefacts stay bounded.
LOG_ZA_CLAMP = -20.0
#: Structural inputs with ``gate_features`` (bpcount.bpnn.structure): per edge (is the gate's output
#: literal), per clause (in an AND/OR gate, in an XOR triple), per variable (gate output, in an XOR
#: triple). The linear paths also get a constant 1 so that "ln 2 per variable that no gate
#: determines" is exactly expressible.
GATE_EDGE_FEATURES = 1
GATE_CLAUSE_FEATURES = 2
GATE_VAR_FEATURES = 2
#: ``convergence_feature``: a formula counts as unconverged when its last layer still moved some
#: message by more than this (log-space). At a BP fixed point every layer is the identity (H(0) = 0),
#: so the flag separates formulas where the Bethe value is a fixed point's from oscillating ones.
UNCONVERGED_TOL = 1e-3
#: The Bethe base enters as max(0, 1 + BETHE_GATE_SCALE·θ)·(Bethe − offset) with θ initialised to
#: 0. Adam moves θ by about the learning rate per step, so the scale lets training turn the often
#: useless non-converged Bethe value down within a few hundred steps; the clamp lets it switch the
#: base off *exactly* (a non-converged Bethe value of −3,000 nats times a jittering gate would
#: otherwise swing large formulas by hundreds of nats per step). The readout's linear path keeps
#: clipped Bethe terms, so a cleaned Bethe value remains expressible.
BETHE_GATE_SCALE = 10.0


@dataclass(frozen=True)
class BPNNConfig:
    """Architecture of a :class:`BPNN` (stored verbatim in checkpoints as ``model_config``)."""

    num_layers: int = 5  # K BPNN-D layers (reference: 5, untied); also the readout's trajectory length
    tied: bool = False  # one shared H for all layers; inference may then iterate to convergence
    damping: float = 0.5  # δ, weight of the old message (bpcount convention; reference α = 1 − δ)
    warmup_iters: int = 0  # plain damped BP iterations (no grad) before the learned layers
    h_hidden: int = 8  # hidden width of H's residual MLP m_k (scalar → h → scalar)
    edge_hidden: int = 32  # width of the per-edge embedding φ
    clause_hidden: int = 32  # width of the clause MLP ρ
    var_hidden: int = 32  # width of the variable MLP
    gate_features: bool = False  # give the readout the structural gate flags of bpnn/structure.py
    convergence_feature: bool = False  # give the readout a per-formula "messages still moving" flag
    gate_base: bool = False  # the readout's base is the Bethe ln Z of BP on the gate factor graph
    # (bpcount.gategraph / gatebp; exact on tree circuits), not the clause-level Bethe value
    gate_iters: int = 500  # gate_base: most gate-BP iterations (as `--method bp`; no gradients)
    base_when_converged: bool = False  # gate_base: where gate BP converged (and was not clamped) the
    # output is its Bethe value exactly; the learned readout corrects only the other formulas
    message_dtype: str | None = None  # "float32" | "float64": BPNN-D message precision whatever the
    # graph's (a model trained with float32 messages should run with them: non-converged trajectories
    # with saturated messages differ between precisions); None: the graph's dtype
    max_iters: int = 200  # tied mode at inference: iterate until max |Δλ| < tol or this many layers
    tol: float = 1e-6  # convergence tolerance on max |Δλ| (also the `converged` flag of untied runs)


@dataclass(frozen=True)
class BPNNOutput:
    """Result of :meth:`BPNN.forward`; per-formula tensors have shape (B,).

    * ``log_z``: float64 BPNN estimate of ln Z, including ``graph.ln_offset``.
    * ``bethe_log_z``: float64 Bethe ln Z of the last layer's messages (what plain BP would report).
    * ``residual``: max |λ^K − λ^{K−1}| per formula (graph dtype).
    * ``lam``: (E,) last layer's messages.
    * ``base_used``: (B,) bool, the output *is* the converged gate-BP base (``base_when_converged``);
      all False otherwise.
    * ``base_raw``: (B,) float64 gate-BP Bethe ln Z before its projection (:attr:`GateBase.raw`), or
      None (no gate base, or a cached one).
    """

    log_z: torch.Tensor
    bethe_log_z: torch.Tensor
    residual: torch.Tensor
    lam: torch.Tensor
    base_used: torch.Tensor
    base_raw: torch.Tensor | None = None


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                         nn.Linear(hidden, d_out))


def _finite_grad(grad: torch.Tensor) -> torch.Tensor:
    """Backward hook: zero non-finite gradient entries.

    log1mexp(c) has an infinite derivative at c = 0 (a clause whose other literals are all surely
    false, i.e. a saturated message); the value is then floored by ``clause_to_var`` and the
    chain rule gives 0·inf = NaN for the whole clause. Such messages carry no usable gradient, so
    their gradient is set to 0 instead of poisoning the batch. Only active when training.
    """
    return torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)


def _zero_last(seq: nn.Sequential) -> None:
    nn.init.zeros_(seq[-1].weight)
    nn.init.zeros_(seq[-1].bias)


class DampingOperator(nn.Module):
    """H(d) = a·d + m(d) − m(0) on per-edge scalars d (E,) → (E,); H(0) = 0 exactly.

    Initialised to the identity (a = 1, m's output layer zero), i.e. plain damping.
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.mlp = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        _zero_last(self.mlp)

    def forward(self, d_in: torch.Tensor) -> torch.Tensor:
        d = d_in.to(self.scale.dtype)
        zero = self.mlp(d.new_zeros(1, 1)).squeeze()
        h = (self.scale * d + self.mlp(d.unsqueeze(-1)).squeeze(-1) - zero).to(d_in.dtype)
        d = d_in
        # m(d) − m(0) at d = 0 can differ from 0 by an ulp (different matmul kernels for the
        # batch and the single row); pin it so that H(0) = 0 holds exactly, not approximately
        return torch.where(d == 0, torch.zeros_like(h), h)


def layer_features(graph: FactorGraphBatch, lam: torch.Tensor) -> dict[str, torch.Tensor]:
    """Readout features of one layer's messages λ (E,), all float64 (names: shape).

    * ``edge`` (E, 4): exp ℓ_e = n_{i→a}(f_e), exp λ_e, H(n_{i→a})/ln 2, exp c_e (others all false);
    * ``clause`` (C, 2): p*_a = exp S_a, clipped H(b_a)/(k_a ln 2);
    * ``var`` (V, 2): H(b_i)/ln 2, |tanh(L_i/2)| (polarity-free belief bias; the readout adds
      ln(1 + d_i) and the occurrence imbalance |#neg − #pos|/d_i);
    * ``clause_lin`` (C, 2): H(b_a) clipped to [0, k_a ln 2], ln Z_a clamped at LOG_ZA_CLAMP;
    * ``var_lin`` (V, 2): (1 − d_i) H(b_i), E_{b_i}[ln φ_i];
    * ``bethe`` (B,): the Bethe ln Z (:func:`bpcount.bp.bethe_log_z`, same terms).

    The unbounded Bethe terms (``clause_lin``, ``var_lin``, ``bethe`` and the clipped clause
    entropy, whose derivative carries 1/Z_a and explodes for near-falsified clauses) are detached
    from the messages: the readout's weights on them still learn, but gradients reach the BPNN-D
    layers only through the bounded features.

    Every feature is unchanged when a variable's polarity is flipped everywhere (the falsifying
    frame moves with the literal), and node features do not depend on ids.
    """
    t = bethe_terms(graph, lam)
    g = graph
    clause = g.clause_of_edge
    lam64 = lam.to(torch.float64)
    size = g.clause_size.to(torch.float64)
    degree = g.var_degree.to(torch.float64)
    others = (t.clause_log_pstar[clause] - t.edge_ell).clamp(max=0.0)
    edge = torch.stack([t.edge_ell.exp(), lam64.exp(), t.edge_entropy / LN2, others.exp()], dim=-1)
    h_raw = t.clause_entropy.detach()
    h_clip = torch.minimum(h_raw.clamp(min=0.0), size * LN2)
    clause_feat = torch.stack([t.clause_log_pstar.exp(), h_clip / (size * LN2)], dim=-1)
    var_feat = torch.stack([t.var_entropy / LN2, torch.tanh(0.5 * t.var_logit).abs()], dim=-1)
    clause_lin = torch.stack([h_clip, t.clause_log_z.detach().clamp(min=LOG_ZA_CLAMP)], dim=-1)
    var_lin = torch.stack([(1.0 - degree) * t.var_entropy, t.var_energy], dim=-1).detach()
    bethe = g.ln_offset.clone()
    bethe.index_add_(0, g.graph_of_clause, h_raw)
    bethe.index_add_(0, g.graph_of_var, var_lin.sum(-1))
    return {"edge": edge, "clause": clause_feat, "var": var_feat, "clause_lin": clause_lin,
            "var_lin": var_lin, "bethe": bethe}


def bethe_suspect(graph: FactorGraphBatch, last: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B,) float64 in {0, 1}: 1 where the last layer's Bethe value is certainly an artefact.

    That is, some clause has ln Z_a ≤ LOG_ZA_CLAMP (BP believes it nearly falsified, and the value
    is driven by bp.LOG_CLAUSE_MARGIN), or the Bethe ln-count per residual variable leaves
    [0, ln 2] by more than 0.05 nats (impossible for an unweighted count). The readout gates the
    Bethe base separately on these formulas, so it can drop it there and keep it elsewhere.
    """
    g = graph
    B = g.num_graphs
    bad_clause = (last["clause_lin"][:, 1] <= LOG_ZA_CLAMP).to(torch.float64)
    any_bad = bad_clause.new_zeros(B).scatter_reduce(0, g.graph_of_clause, bad_clause, reduce="amax")
    nvars = segment_sum(torch.ones_like(g.graph_of_var, dtype=torch.float64), g.graph_of_var, B).clamp(min=1.0)
    density = (last["bethe"] - g.ln_offset) / nvars
    off = ((density < -0.05) | (density > LN2 + 0.05)).to(torch.float64)
    return torch.maximum(any_bad, off).detach()


@dataclass(frozen=True)
class GateBase:
    """Per-formula gate-BP reading, each (B,) float64 (:func:`gate_base`).

    * ``log_z``: Bethe ln Z on the gate factor graph (incl. ``ln_offset``), projected onto the
      feasible range [ln_offset, ln_offset + Σ_i ln(w_i + w̄_i)] (lower end only when unweighted).
    * ``clamped``: 1 where that projection moved the value (the Bethe value was an artefact).
    * ``unconverged``: 1 where the last iteration still moved a message by more than
      :data:`UNCONVERGED_TOL`.
    * ``raw``: the Bethe ln Z before that projection (None when read from cached rows).
    """

    log_z: torch.Tensor
    clamped: torch.Tensor
    unconverged: torch.Tensor
    raw: torch.Tensor | None = None

    def stack(self) -> torch.Tensor:
        """(B, 3) float64, for caching one formula's row (see :meth:`from_rows`)."""
        return torch.stack([self.log_z, self.clamped, self.unconverged], dim=-1)

    @staticmethod
    def from_rows(rows: torch.Tensor) -> GateBase:
        return GateBase(rows[:, 0], rows[:, 1], rows[:, 2])

    @property
    def trusted(self) -> torch.Tensor:
        """(B,) bool: gate BP converged and its value needed no projection."""
        return torch.maximum(self.unconverged, self.clamped) == 0


def gate_base(graph: FactorGraphBatch, iters: int, damping: float) -> GateBase:
    """Gate BP in float64, no gradients: the solver of ``bpcount --method bp``
    (:func:`bpcount.gatebp.solve_gate_bp`: up to ``iters`` damped iterations, converged formulas
    frozen, a slower restart where the messages end in a contradiction), then its Bethe ln Z
    projected onto the feasible range. Each formula's value depends on that formula only, not on
    the rest of its batch."""
    g = graph if graph.dtype == torch.float64 else graph.to(dtype=torch.float64)
    with torch.no_grad():
        gg = build_gate_graph(g)

        def make_graph(idx: list[int]) -> GateGraph:
            return gg if len(idx) == g.num_graphs else build_gate_graph(select(g, idx))

        res = solve_gate_bp(make_graph, g.num_graphs, damping=damping, max_iters=iters)
        log_z = res.log_z
        moving = torch.where(torch.isfinite(res.residual), res.residual, torch.zeros_like(res.residual))
        totals = torch.logaddexp(g.log_phi[:, 0], g.log_phi[:, 1])
        upper = g.ln_offset + segment_sum(totals, g.graph_of_var, g.num_graphs)
        weighted = segment_sum((g.log_phi != 0).any(-1).to(torch.float64), g.graph_of_var, g.num_graphs) > 0
        lower = torch.where(weighted, torch.full_like(upper, -torch.inf), g.ln_offset)
        clamped_z = torch.minimum(torch.maximum(log_z, lower), upper)
        return GateBase(log_z=clamped_z, clamped=(clamped_z != log_z).to(torch.float64),
                        unconverged=(moving > UNCONVERGED_TOL).to(torch.float64), raw=log_z)


class Readout(nn.Module):
    """BPNN-B: trajectory features of K layers → ln Ẑ per formula (B,) float64."""

    def __init__(self, cfg: BPNNConfig):
        super().__init__()
        K = cfg.num_layers
        gates = cfg.gate_features
        ge, gc, gv = (GATE_EDGE_FEATURES, GATE_CLAUSE_FEATURES, GATE_VAR_FEATURES) if gates else (0, 0, 0)
        u = 1 if cfg.convergence_feature else 0
        self.phi = _mlp(EDGE_FEATURES * K + ge, cfg.edge_hidden, cfg.edge_hidden)
        self.rho = _mlp(2 * cfg.edge_hidden + CLAUSE_FEATURES * K + 1 + gc + u, cfg.clause_hidden, 1)
        self.var_mlp = _mlp(VAR_FEATURES * K + 2 + gv + u, cfg.var_hidden, 1)
        self.clause_lin = nn.Linear(LINEAR_TERMS * K + (gc + 1 if gates else 0), 1, bias=False)
        self.var_lin = nn.Linear(LINEAR_TERMS * K + (gv + 1 if gates else 0), 1, bias=False)
        self.base_when_converged = cfg.gate_base and cfg.base_when_converged
        self.bethe_gate = nn.Parameter(torch.zeros(()))
        self.bethe_suspect_gate = nn.Parameter(torch.zeros(()))
        if cfg.convergence_feature:
            self.bethe_unconverged_gate = nn.Parameter(torch.zeros(()))
        if cfg.gate_base:
            self.gate_unconverged_gate = nn.Parameter(torch.zeros(()))
        for lin in (self.clause_lin, self.var_lin):
            nn.init.zeros_(lin.weight)
        _zero_last(self.rho)
        _zero_last(self.var_mlp)

    def forward(self, graph: FactorGraphBatch, feats: list[dict[str, torch.Tensor]],
                gates: GateFeatures | None = None, unconverged: torch.Tensor | None = None,
                base: GateBase | None = None) -> torch.Tensor:
        """``feats``: K dicts from :func:`layer_features` (oldest first); ``gates``: the structural
        flags (required iff the config has ``gate_features``); ``unconverged``: (B,) float64 {0, 1}
        (required iff ``convergence_feature``); ``base``: the gate-BP reading (required iff
        ``gate_base``; it then replaces the last layer's Bethe value as the base, its ``clamped``
        flag replaces :func:`bethe_suspect` and its ``unconverged`` flag has its own gate).
        Returns (B,) float64."""
        g = graph
        dt = self.phi[0].weight.dtype
        extra_edge, extra_clause, extra_var = [], [], []
        if unconverged is not None:
            extra_clause = [unconverged[g.graph_of_clause].unsqueeze(-1)]
            extra_var = [unconverged[g.graph_of_var].unsqueeze(-1)]
        lin_clause, lin_var = [], []
        if gates is not None:
            one_c = torch.ones(g.num_clauses, 1, dtype=torch.float64, device=g.device)
            one_v = torch.ones(g.num_vars, 1, dtype=torch.float64, device=g.device)
            extra_edge = [gates.edge_output.unsqueeze(-1)]
            gc = torch.stack([gates.clause_gate, gates.clause_xor], dim=-1)
            gv = torch.stack([gates.var_gate, gates.var_xor], dim=-1)
            extra_clause, extra_var = extra_clause + [gc], extra_var + [gv]
            lin_clause, lin_var = [gc, one_c], [gv, one_v]
        edge = torch.cat([f["edge"] for f in feats] + extra_edge, dim=-1).to(dt)  # (E, 4K [+1])
        emb = self.phi(edge)  # (E, h)
        cnt = g.clause_size.to(dt).clamp(min=1.0).unsqueeze(-1)
        mean = segment_sum(emb, g.clause_of_edge, g.num_clauses) / cnt  # (C, h)
        mx = emb.new_full((g.num_clauses, emb.shape[1]), -torch.inf)
        mx = mx.scatter_reduce(0, g.clause_of_edge.unsqueeze(-1).expand_as(emb), emb, reduce="amax")
        mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
        log_k = torch.log(g.clause_size.to(dt)).unsqueeze(-1)
        clause_in = torch.cat([mean, mx] + [f["clause"].to(dt) for f in feats] + [log_k]
                              + [x.to(dt) for x in extra_clause], dim=-1)
        degree = g.var_degree.to(dt)
        log_d = torch.log1p(degree).unsqueeze(-1)
        # |#negative − #positive| / d_i: occurrence imbalance, unchanged by a polarity flip
        imbalance = (segment_sum(g.sign_of_edge.to(dt), g.var_of_edge, g.num_vars).abs()
                     / degree.clamp(min=1.0)).unsqueeze(-1)
        var_in = torch.cat([f["var"].to(dt) for f in feats] + [log_d, imbalance] + [x.to(dt) for x in extra_var],
                           dim=-1)

        clause_lin = torch.cat([f["clause_lin"] for f in feats] + lin_clause, dim=-1)  # (C, 2K [+3]) float64
        var_lin = torch.cat([f["var_lin"] for f in feats] + lin_var, dim=-1)  # (V, 2K [+3]) float64
        w_c = self.clause_lin.weight.to(torch.float64).squeeze(0)
        w_v = self.var_lin.weight.to(torch.float64).squeeze(0)
        g_clause = self.rho(clause_in).squeeze(-1).to(torch.float64) + clause_lin @ w_c  # (C,)
        g_var = self.var_mlp(var_in).squeeze(-1).to(torch.float64) + var_lin @ w_v  # (V,)

        if base is None:
            base_z, suspect = feats[-1]["bethe"], bethe_suspect(g, feats[-1])
        else:
            base_z, suspect = base.log_z, base.clamped
        theta = self.bethe_gate.to(torch.float64)
        phi = self.bethe_suspect_gate.to(torch.float64)
        logit = theta + phi * suspect
        if base is not None:
            logit = logit + self.gate_unconverged_gate.to(torch.float64) * base.unconverged
        if unconverged is not None:
            logit = logit + self.bethe_unconverged_gate.to(torch.float64) * unconverged
        gate = (1.0 + BETHE_GATE_SCALE * logit).clamp(min=0.0)
        out = g.ln_offset + gate * (base_z - g.ln_offset)
        out = out.index_add(0, g.graph_of_clause, g_clause)
        out = out.index_add(0, g.graph_of_var, g_var)
        if self.base_when_converged and base is not None:
            out = torch.where(base.trusted, base_z, out)
        return out


class BPNN(nn.Module):
    """BPNN-D layers + BPNN-B readout. ``forward(graph)`` → :class:`BPNNOutput`."""

    def __init__(self, config: BPNNConfig = BPNNConfig()):
        super().__init__()
        if config.num_layers < 1:
            raise ValueError(f"num_layers must be ≥ 1, got {config.num_layers}")
        if not 0.0 <= config.damping < 1.0:
            raise ValueError(f"damping must be in [0, 1), got {config.damping}")
        self.config = config
        n_ops = 1 if config.tied else config.num_layers
        self.ops = nn.ModuleList(DampingOperator(config.h_hidden) for _ in range(n_ops))
        self.readout = Readout(config)

    def message_graph(self, graph: FactorGraphBatch) -> FactorGraphBatch:
        """``graph`` in the configured message precision (itself when none is configured)."""
        name = self.config.message_dtype
        if name is None:
            return graph
        dtype = {"float32": torch.float32, "float64": torch.float64}[name]
        return graph if graph.dtype == dtype else graph.to(dtype=dtype)

    def layer(self, graph: FactorGraphBatch, lam: torch.Tensor, k: int) -> torch.Tensor:
        """One BPNN-D layer: λ (E,) → λ' (E,), with operator k (any k in tied mode)."""
        ell, _ = var_to_clause(graph, lam)
        if ell.requires_grad:
            ell.register_hook(_finite_grad)
        cand = clause_to_var(graph, ell)
        op = self.ops[0] if self.config.tied else self.ops[k]
        new = cand + self.config.damping * op(lam - cand)
        return new.clamp(min=LOG_MESSAGE_FLOOR, max=0.0)

    def warmup(self, graph: FactorGraphBatch, lam: torch.Tensor | None = None) -> torch.Tensor:
        """``warmup_iters`` plain damped BP iterations from uniform (or ``lam``), without gradients."""
        lam = graph.log_phi.new_zeros(graph.num_edges) if lam is None else lam
        with torch.no_grad():
            for _ in range(self.config.warmup_iters):
                ell, _ = var_to_clause(graph, lam)
                lam = torch.lerp(clause_to_var(graph, ell), lam, self.config.damping)
        return lam

    def propagate(self, graph: FactorGraphBatch, lam: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Warm-up, then the K layers; returns [λ^0, λ^1, ..., λ^K], each (E,)."""
        traj = [self.warmup(graph, lam)]
        for k in range(self.config.num_layers):
            traj.append(self.layer(graph, traj[-1], k))
        return traj

    def read(self, graph: FactorGraphBatch, traj: list[torch.Tensor], base: GateBase | None = None) -> BPNNOutput:
        """Readout on the last K+1 messages of a trajectory (the last K feed BPNN-B). With
        ``gate_base``, ``base`` may be given precomputed (training caches it); else it is computed."""
        K = self.config.num_layers
        feats = [layer_features(graph, lam) for lam in traj[-K:]]
        gates = gate_features(graph) if self.config.gate_features else None
        delta = (traj[-1] - traj[-2]).abs()
        residual = delta.new_zeros(graph.num_graphs).scatter_reduce(
            0, graph.graph_of_edge, delta, reduce="amax", include_self=True)
        unconverged = None
        if self.config.convergence_feature:
            unconverged = (residual.detach() > UNCONVERGED_TOL).to(torch.float64)
        if self.config.gate_base and base is None:
            base = gate_base(graph, self.config.gate_iters, self.config.damping)
        log_z = self.readout(graph, feats, gates, unconverged, base if self.config.gate_base else None)
        base_used = torch.zeros(graph.num_graphs, dtype=torch.bool, device=graph.device)
        if self.readout.base_when_converged and base is not None:
            base_used = base.trusted
        return BPNNOutput(log_z=log_z, bethe_log_z=feats[-1]["bethe"], residual=residual, lam=traj[-1],
                          base_used=base_used, base_raw=None if base is None else base.raw)

    def forward(self, graph: FactorGraphBatch, base: GateBase | None = None) -> BPNNOutput:
        """Estimate ln Z for every formula of ``graph`` (K unrolled layers, no host sync; the gate
        graph of ``gate_base`` is built once, before the loop)."""
        if self.config.gate_base and base is None:
            base = gate_base(graph, self.config.gate_iters, self.config.damping)
        graph = self.message_graph(graph)
        return self.read(graph, self.propagate(graph), base)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["BPNN", "BPNNConfig", "BPNNOutput", "DampingOperator", "GateBase", "Readout", "gate_base", "layer_features",
           "num_parameters"]
