"""Monte Carlo estimate of ln Z by search probes: random root-to-leaf paths of the exact search.

The exact search (:mod:`bpcount.search`) counts a residual by branching until every component is
narrow enough to eliminate; when its tree is too big for the budget it gives no count. A *probe*
follows one random path down that same tree. At each node it simplifies (units, equivalent
literals, free variables, small components), splits the rest into connected components, counts
each narrow component exactly (variable elimination at the search's width) and, in each component
still too wide, picks the search's branching variable x and follows one side only: x with
probability q, ¬x with 1 − q (q: the share of x's literal weight, 1/2 unweighted). Weighting each
side by 1/(its probability) makes the probe's value Ẑ an unbiased estimate of the count (Knuth's
estimator of a tree's size, here with exact counts at the leaves; components are probed
independently, so their estimates multiply):

    E[Ẑ(C)] = q · Z(C | x)/q + (1 − q) · Z(C | ¬x)/(1 − q) = Z(C).

**SAT-guided.** A side with no model contributes nothing to the count, and a probe that enters one
is wasted (on blasted_squaring7, 96 of 100 unguided probes ended in a contradiction). An incremental
SAT solver, with the decisions taken so far as assumptions, tells whether each side has a model;
when only one has, the probe takes it with probability 1 (SampleSearch, Gogate & Dechter 2011), so
every probe reaches a model and no probe is wasted. Models found along the way are kept and
reused: a kept model that agrees with the path and the side proves that side satisfiable without a
call.

K probes give K independent estimates Ẑ_k; the answer is ln of their mean, with the relative
standard error of that mean as its error figure (from the sample spread; it understates the error
when Ẑ is heavy-tailed and the probes have not yet met the rare large values, which is also why
ln of the mean tends to fall *below* ln Z with few probes). It is an estimate, never a bound.

**Speed.** As in the search, a component that still holds most of the set where its parent's
elimination order got stuck (:data:`bpcount.search.HINT_MIN_STUCK`) is branched there without an
elimination attempt of its own: the attempts took 78 % of the probes' time on blasted_squaring12,
and skipping them raised its probes within 2 s of work from 10 to 42. In such a component the probe
can take a *run* of decisions (``run``) before simplifying again: the stuck set's first variables
by the search's branching score, all chosen before any of their sides is drawn, so the estimator
stays unbiased (a variable implied by the decisions before it is a forced decision). Runs save
simplifications (several milliseconds each on 10⁴ variables; runs of 8 took s38417_7_4 from 5 to 9
probes in 4 s of work) but decide variables that a simplification would have made irrelevant: on the
train split's residuals they raised the random choices per probe on the ISCAS circuits (s15850a
12 → 22) and their errors, so the default (:data:`DEFAULT_RUN`) is one decision per simplification.
Where elimination is refused before its order runs (a clause wider than the width), the stuck set
that the branching step then computes (a full min-degree run: 0.24 s on 20.sk_1_51's 9·10³
variables) is handed to the branches (:func:`bpcount.search._branch`), and a component refused in
the same way branches on its parent's set rather than computing a new one: 20.sk_1_51 went from 2 to
7 probes in 2 s of work. A path is followed iteratively (:func:`_probe_path`), so it may hold as
many decisions as the residual has variables; with the search's recursion and its depth cap
(:data:`bpcount.search.MAX_SEARCH_DEPTH`, 200) no probe of mc2022_track1_131's 7.3·10³-variable
residual finished, whatever the budget.

**Inputs.** Within the set the search would branch in, a probe branches on a variable no Tseitin
AND/OR gate definition determines (the circuit's inputs, :mod:`bpcount.gatevars`) where the set holds
one (``prefer_inputs``; found once per residual, charged as one node). Deciding an internal gate takes each side with probability 1/2 whatever
share of the models it holds (an AND of 8 inputs is true in 1/256 of its input assignments), so the
weights, and the variance of Ẑ, grow; deciding inputs lets unit propagation set the gates. Fifteenth
session, the 40 train residuals at 2 s, the 38 with at least 4 probes, seeds 0/1/2: RMSE of ln count
1.04 / 0.89 / 1.55 → 1.09 / 0.60 / 0.48 (s5378a_15_7: −1.08 / −1.39 / −2.30 → −0.02 / 0.03 / −0.03);
val's blasted_squaring7 over seeds 0–9: |error| at most 4.59 → 0.51. Formulas without gates
(random k-CNF) branch as before.

**Groups.** Where the variable chosen belongs to an exactly-one group (a clause l_1 ∨ … ∨ l_k with
every pair excluded by a binary clause, :mod:`bpcount.onehot`: a one-hot encoding of a k-valued
variable) and the component still holds that group's clause, the probe decides the group at once
(``prefer_groups``): branch i is ¬l_1 ∧ … ∧ ¬l_(i−1) ∧ l_i (the first true literal, which partitions
the models whatever the clause), the SAT oracle tells which branches have models, and the probe
takes one of those n with probability 1/n, at weight n. Deciding the variables one at a time, it
reached the j-th value with probability 2^−j, so on a k-colouring its weights ranged from 2 to 2^k
while the colours hold similar shares of the models. Eighteenth session, 2 s with the
extension, seeds 0–2 (``benchmarks/probe_groups.py``, ``benchmarks/results/probe_groups.md``):
generated 5-, 6- and 7-colourings (``bpcount generate coloring``, 17 with pyganak labels) RMSE of ln
count 0.79 → 0.040 at 2.0 s of mean work instead of 5.3; on the train and val residuals only the
ISCAS circuits hold groups that get decided (3-valued) and change, within their noise.

**Budget.** Probes run one after the other until ``max_probes`` or until the work budget is spent
(reference-machine seconds charged as in the search, :class:`bpcount.search.WorkModel`, the SAT
calls as :class:`bpcount.sat.SatWorkModel`, plus :class:`ProbeWorkModel` per node and per call);
the probe under way when the budget runs out is dropped. When ``budget`` is spent and at least
``min_probes`` have finished but the relative standard error of their mean is above ``target_rse``,
probing goes on (up to ``max_budget``) and stops as soon as it is at most ``target_rse``; at
``max_budget`` all finished probes answer. A formula the budget serves is probed exactly as without
the extension, and one with fewer than ``min_probes`` probes within ``budget`` is left to the engine
as before. The defaults (2 s, then up to 8 s, target 0.2: a standard error of about ln 1.2 = 0.18
nats, the MCC tolerance) were chosen on the train and val splits' residuals over 3 and 4 seeds
(``benchmarks/probe_budget.py``, ``benchmarks/results/probe_budget_*.md``): RMSE of ln count
over the train residuals other than s38417_* (40; see below) 1.40 / 0.69 / 0.48 → 0.47 / 0.49 / 0.43
(seeds 0–2; 16–18 of the 40 answers changed per seed; s15850a_3_2 −5.52 → −0.75 on seed 0), at 3.4
to 3.8 s of mean work instead of 2; on val's four, 0.40 / 0.32 / 0.46 / 0.20 → 0.40 / 0.23 / 0.14 /
0.21 (seeds 0–3). A larger extension (16 s) or target (0.1) changed little for more work.
Extending also where fewer than ``min_probes`` finished within ``budget`` (the ISCAS circuits
s38417_*, 11·10³ variables) was measured and left out: train's two went from the BPNN's −4.0 and
−9.5 to probe answers within −4.3 … +0.6, but val's s38417_3_2 from the BPNN's +0.13 to −2.2 …
−9.3 (``--probe-budget 16`` gives that behaviour). Two caveats. Stopping when the spread is small
is a rule that looks at the values, so the extended mean is no longer exactly unbiased (the
accuracy tables measure the net effect). And the relative standard error understates a
heavy-tailed estimate's error with few probes; on random 3-CNF (``examples/example.cnf``) it stays
near 0.45 however many probes run, so such formulas take the whole ``max_budget``. With a fixed
seed the answer is the same on every machine and under any load unless the backstop ends probing
first (a wall-clock limit of :data:`WALL_LIMIT_FACTOR` × the budget, × the extended one once probing
goes on): on mc2022_track1_141, where the SAT calls take three times the wall time they are charged
(``benchmarks/results/mc2022_floor.md``), the check's backstop stops it at 5.4–5.6 s of its 8 s.

**Check.** Where fewer than ``min_probes`` finish within ``budget`` (``check=True``, the pipeline's
default), probing goes on as in the extension, the probe under way included, and their mean is
kept as ``ln_check``: too few for an answer, the engine still answers, but a check on it
(:func:`overrules`). Below: the probes are unbiased, so by Markov's inequality their values give a
lower bound on ln Z that holds with 95 % confidence (:func:`check_lower_bound`); an engine estimate
under it is overruled. Above: no such bound exists (a few probes' mean tends to run *below* ln Z),
so an engine estimate is overruled only when it is above their mean by more than
:data:`CHECK_MIN_GAP` nats and :data:`CHECK_REL_GAP` of it. Overruled, the probes' mean answers.
The constants were chosen on the train and val splits with smaller budgets than 2 s, which put many
formulas in this case (``benchmarks/probe_budget.py``'s check table,
``benchmarks/results/probe_budget_*.md``, runs of 3 train and 4 val seeds): at 0.1 / 0.25 / 0.5 / 1 /
2 s the probes overruled the BPNN on 47 / 49 / 28 / 9 / 3 train runs and 8 / 8 / 0 / 0 / 0 val runs
and were closer to the label every time (at 2 s, train's s38417 circuits, where the BPNN is 4 and
9.5 nats low: RMSE 7.3 → 5.1 over their 6 runs). A gap in nats alone (2 to 20 tried, ad hoc on the
same runs) also overruled the BPNN where it was closer: on the s38417 circuits (10⁴ variables,
ln Z ≈ 1150) a few probes' mean ran up to 28 nats low (on val's s38417_3_2, where the BPNN is 0.13
high, up to 14). The check was built for three MC2022 formulas (*test*: ``benchmarks/README.md``)
where one probe takes 1–2 s of work and the BPNN was 150–390 nats high. Its wall-clock backstop is
:data:`CHECK_WALL_FACTOR` × ``max_budget``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bpcount.cnf import Formula
from bpcount.gatevars import gate_outputs
from bpcount.onehot import OneHotGroups, exactly_one_groups
from bpcount.sat import DEFAULT_SAT_WORK_MODEL, SOLVER_NAME, SatWorkModel, _load, _Meter
from bpcount.search import (
    DEFAULT_SEARCH_WIDTH,
    DEFAULT_WORK_MODEL,
    HINT_MIN_STUCK,
    WorkModel,
    _branch,
    _carry,
    _Component,
    _eliminate,
    _free_log_count,
    _node,
    _OutOfBudget,
    _State,
    _stuck_scores,
    step_cost,
)

#: Seconds of probing per formula by default (work on the reference machine; 0 turns it off).
DEFAULT_PROBE_BUDGET = 2.0

#: Most work (reference-machine seconds) the probes may spend on a formula whose probes finished
#: within :data:`DEFAULT_PROBE_BUDGET` (at least ``min_probes``) but whose mean is not yet within
#: :data:`DEFAULT_PROBE_TARGET_RSE`: see *Budget* in the module docstring.
DEFAULT_PROBE_MAX_BUDGET = 8.0

#: Where the probes' mean has a relative standard error above this when :data:`DEFAULT_PROBE_BUDGET`
#: is spent, probing goes on (up to :data:`DEFAULT_PROBE_MAX_BUDGET`): see *Budget* in the module
#: docstring.
DEFAULT_PROBE_TARGET_RSE = 0.2

#: Most probes per formula, whatever the budget.
DEFAULT_MAX_PROBES = 1024

#: Fewest finished probes for an answer: with fewer, :func:`probe_log_count` gives none.
DEFAULT_MIN_PROBES = 4

#: Wall-clock backstop as a multiple of the work budget (as the search's).
WALL_LIMIT_FACTOR = 5.0

#: Wall-clock backstop of the check (``check``) as a multiple of ``max_budget``, when that is later than
#: :data:`WALL_LIMIT_FACTOR` × ``budget``: lower than the extension's, since the check runs on every
#: formula the engine answers, and the SAT calls of a small, hard formula can take far longer than
#: their charge (mc2022_track1_141: 9 calls, 6.7 s of work, 40 s of wall time under 5 × 8 s).
CHECK_WALL_FACTOR = 2.0

#: The check on the engine (*Check* in the module docstring): the probes overrule an engine estimate
#: above the probes' ln-mean by more than both this many nats ...
CHECK_MIN_GAP = 5.0

#: ... and this share of the probes' |ln-mean| (0.1: the engine's count above the probes' to the power 1.1).
CHECK_REL_GAP = 0.1

#: The probes also overrule an engine estimate below the lower bound on ln Z that their values give
#: with this confidence (:func:`check_lower_bound`).
CHECK_CONFIDENCE = 0.95

#: Decisions a probe takes in a row, without simplifying between them, in a component whose stuck set
#: (where elimination got stuck) holds at least ``run_min_stuck`` variables (default
#: :data:`bpcount.search.HINT_MIN_STUCK`): see *Speed* in the module docstring. Fourteenth session,
#: the 40 train residuals of ``benchmarks/results/probe_work.md`` at 2 s, seeds 0/1, RMSE of ln count:
#: runs of 8 against 1, blasted (23) 0.62/0.68 against 0.90/0.82, but the ISCAS circuits (s, 6)
#: 2.2/3.4 against 1.9/1.4 (the six both answer), and s38417_7_4 then reached 4 probes, at −33 and −19
#: nats (the engine answers it with runs of 1).
DEFAULT_RUN = 1

#: Branch on the circuit's inputs first (:mod:`bpcount.gatevars`): see *Inputs* in the module
#: docstring.
DEFAULT_PREFER_INPUTS = True

#: Decide an exactly-one group at once where the variable chosen belongs to one (*Groups* above).
DEFAULT_PREFER_GROUPS = True

#: Most solver models kept for the satisfiability checks (the oldest are dropped first).
MAX_KEPT_MODELS = 512


@dataclass(frozen=True)
class ProbeWorkModel:
    """Reference-machine seconds a probe is charged on top of the search's and the SAT solver's own
    work models (fields in seconds): ``node`` per simplification and ``node_edge`` per literal
    occurrence of its formula (the Python around it: the probe builds each child formula, carries
    the stuck set, keeps no cache whose key charges would cover it as in the search), ``sat_call``
    per solver call and ``sat_call_var`` per residual variable of each call (assumptions, reading the
    model back and keeping it). Fitted by ``benchmarks/probe_work.py`` (fourteenth session, on the
    2-core VM): the probes of the residuals the exact stages leave of 40 train formulas, the two
    examples and 14 unlabeled formulas of 5·10³–6.7·10⁴ variables (54 of the 56), at 0.5 and 2 s;
    non-negative least squares on the relative error of each run's charge against its wall time
    (results/probe_work.md): wall time / charge p10 0.83, median 1.04, p90 1.43 over 108 runs (the
    thirteenth session's per-node and per-call terms alone: 0.80, 1.17, 1.67; on the residuals of
    10⁴ variables and more they ran up to 4× their charge). ``node_edge`` came out 0: the search's
    own per-literal node charge covers it."""

    node: float = 1.3e-3
    sat_call: float = 4.5e-5
    node_edge: float = 0.0
    sat_call_var: float = 5.8e-7

    def node_cost(self, edges: int) -> float:
        """Extra charge for one node whose formula has ``edges`` literal occurrences."""
        return self.node + self.node_edge * edges

    def call_cost(self, num_vars: int) -> float:
        """Extra charge for one solver call on a residual of ``num_vars`` variables."""
        return self.sat_call + self.sat_call_var * num_vars


#: The extra charges a probe pays by default.
DEFAULT_PROBE_WORK_MODEL = ProbeWorkModel()


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`probe_log_count`.

    ``ln_count``: ln of the mean of the probes' estimates (nats), None when fewer than
    ``min_probes`` finished (−inf when the formula has no model). ``ln_samples``: each finished
    probe's ln Ẑ_k. ``rel_se``: standard error of the mean / the mean (None with < 2 probes).
    ``random_choices``: decisions, over all probes, where both sides had models (0: every probe
    followed the one forced path, and its value is the exact count). ``sat_calls``; ``work``
    (reference-machine seconds charged); ``seconds`` (wall); ``nodes`` (simplifications) and
    ``node_edges`` (literal occurrences of the formulas they simplified), dropped probes included.
    ``sample_work``: the work charged when each finished probe ended (so the answer a smaller budget
    would give, with the same seed, is that of the probes finished within it). ``ln_check``: with
    ``check``, where ``ln_count`` is None because fewer than ``min_probes`` finished within the
    budget, ln of the mean of every probe finished within ``max_budget`` (nats; None without one):
    not an answer, a check on the engine's (:func:`overrules`).
    """

    ln_count: float | None
    ln_samples: tuple[float, ...]
    rel_se: float | None
    random_choices: int
    sat_calls: int
    work: float
    seconds: float
    nodes: int = 0
    node_edges: int = 0
    sample_work: tuple[float, ...] = ()
    ln_check: float | None = None

    @property
    def probes(self) -> int:
        return len(self.ln_samples)


class _Oracle:
    """Is there a model of the residual under the decisions taken so far plus one more literal?
    Answered from the kept models when one agrees, else by a metered solver call charged to the
    probe state (its model is then kept)."""

    def __init__(self, solver, meter: _Meter, num_vars: int, call_cost: float):
        self.solver, self.meter, self.call_cost = solver, meter, call_cost
        # ring of kept models, (capacity, num_vars): value of root variable i at [:, i-1]; rows [:kept]
        # are filled, the next model goes to row ``slot``; the capacity doubles up to MAX_KEPT_MODELS
        self.models = np.zeros((min(16, MAX_KEPT_MODELS), num_vars), dtype=bool)
        self.kept = self.slot = 0
        self.calls = 0

    def satisfiable(self, path: list[int], lit: int, st: _State) -> bool:
        """Whether path ∧ lit (root literals) has a model of the residual."""
        cube = np.asarray(path + [lit], dtype=np.int64)
        if (self.models[:self.kept, np.abs(cube) - 1] == (cube > 0)).all(axis=1).any():
            return True
        st.charge(self.call_cost)
        self.meter.budget = self.meter.work + max(0.0, st.budget - st.work)  # what is left of the probe budget
        before = self.meter.work
        answer = self.meter.solve(cube.tolist())
        self.calls += 1
        st.charge(self.meter.work - before)
        if answer is None:
            raise _OutOfBudget
        if answer:
            if self.kept == len(self.models) < MAX_KEPT_MODELS:  # full, not at the most yet: grow
                grown = np.zeros((min(2 * len(self.models), MAX_KEPT_MODELS), self.models.shape[1]), dtype=bool)
                grown[:self.kept] = self.models
                self.models, self.slot = grown, self.kept
            self.models[self.slot] = np.asarray(self.solver.get_model()[: self.models.shape[1]]) > 0
            self.slot = (self.slot + 1) % len(self.models)
            self.kept = min(self.kept + 1, len(self.models))
        return answer


@dataclass
class _Walk:
    """One probe: its decisions so far (literals of the residual's variables) and how many of them
    were random choices (both sides had models)."""

    path: list[int]
    work_model: ProbeWorkModel  # the extra charges (per node, per literal of the node's formula)
    run: int = 1  # most decisions in a row in a far too wide component (see _probe_component)
    run_min_stuck: int = HINT_MIN_STUCK  # how wide: variables in the stuck set
    random_choices: int = 0
    node_edges: int = 0  # literal occurrences of the formulas simplified along the way
    inputs: np.ndarray | None = None  # (num_vars + 1,) bool by residual variable: branch there first
    groups: OneHotGroups | None = None  # the residual's exactly-one groups: decided at once


def _probe_path(formula: Formula, st: _State, oracle: _Oracle, walk: _Walk, rng: np.random.Generator) -> float:
    """ln Ẑ of the residual ``formula`` along one random path (−inf: it has no model).

    Iterative, so a path may be as deep as the residual has variables (a recursion, like the search's,
    stops at :data:`bpcount.search.MAX_SEARCH_DEPTH` decisions: mc2022_track1_131's 7.3·10³-variable
    residual needs more on some paths, and no probe of it finished). The pending work is a stack of
    formulas to simplify and components to decide or count; taken last-in first-out, the steps (and
    the random draws) come in the order of a depth-first recursion. The components' estimates
    multiply, so their ln values, the decisions' ln weights and the exact offsets all add up.
    """
    # a pending formula: ("f", formula, root, depth, hint); a pending component: ("c", comp, root, depth, hint).
    # root (num_vars,): the residual's variable (1-based) behind each local variable; hint: where the
    # parent's elimination order got stuck (0-based local variables, degrees), as in the search
    # (bpcount.search.HINT_MIN_STUCK), or None
    total = 0.0
    pending: list[tuple] = [("f", formula, np.arange(1, formula.num_vars + 1, dtype=np.int64), 0, None)]
    while pending:
        kind, item, root, depth, hint = pending.pop()
        if kind == "f":
            walk.node_edges += len(item.lits)
            decided, r, comps, offset = _node(item, st, depth, walk.work_model.node_cost(len(item.lits)))
            if r is None:
                if decided == -math.inf:
                    return -math.inf
                total += decided
                continue
            total += offset
            r_root = root[r.orig_var - 1]
            parts = list(zip(comps, _carry(hint, comps, r.orig_var, item.num_vars)))
            pending.extend(("c", comp, r_root[comp.origin - 1], depth, comp_hint) for comp, comp_hint in reversed(parts))
            continue
        ln, child = _probe_component(item, root, st, oracle, walk, rng, hint)
        if ln == -math.inf:
            return -math.inf
        total += ln
        if child is not None:
            pending.append(("f", child[0], root, depth + 1, child[1]))
    return total


def _choose(rng: np.random.Generator, p_pos: float) -> bool:
    """The side a probe tries first: positive with probability ``p_pos`` (one draw per decision)."""
    return bool(rng.random() < p_pos)


def _probe_component(comp: _Component, root: np.ndarray, st: _State, oracle: _Oracle, walk: _Walk,
                     rng: np.random.Generator, hint: tuple[np.ndarray, np.ndarray] | None
                     ) -> tuple[float, tuple[Formula, tuple[np.ndarray, np.ndarray] | None] | None]:
    """One step on a component: (its ln count, None) when it has no clause or eliminates within the
    width; else (the ln weight of the decisions taken, (the component with them as units, the stuck
    set it carries)) for :func:`_probe_path` to go on with."""
    if len(comp.clause_ptr) == 1:  # variables in no clause
        return _free_log_count(comp.num_vars, comp.log_phi), None
    if hint is not None and len(hint[0]) >= HINT_MIN_STUCK:  # still far too wide: branch there again
        stuck = hint
    else:
        ln, stuck = _eliminate(comp, st)
        if ln is not None:
            return ln, None
        if stuck is None and hint is not None and len(hint[0]):  # refused before its order got stuck
            stuck = hint  # (a clause wider than the width, say): the parent's set, not a new order
    if walk.run > 1 and stuck is not None and len(stuck[0]) >= walk.run_min_stuck:
        xs, stuck = _run_variables(comp, stuck, walk.run)
    else:
        x, stuck = _branch(comp, st, stuck, None if walk.inputs is None else walk.inputs[root])
        options = None if walk.groups is None else _group_clause(comp, x, root, walk.groups)
        if options is not None:
            weight, units = _decide_group(options, root, st, oracle, walk, rng)
            return weight, (comp.with_units(units), stuck)
        xs = [x]
    weight, units = 0.0, []
    for x in xs:
        w, lit = _decide(comp, x, root, st, oracle, walk, rng)
        weight += w
        units.append(lit)
    return weight, (comp.with_units(units), stuck)


def _run_variables(comp: _Component, stuck: tuple[np.ndarray, np.ndarray], run: int
                   ) -> tuple[list[int], tuple[np.ndarray, np.ndarray]]:
    """The ``run`` 1-based variables a probe decides in a row, without simplifying between them: the
    stuck set's first ``run`` by the search's branching score ((clauses it occurs in) × (degree
    there), :func:`bpcount.search._stuck_scores`; ties: the earlier in the set), and the stuck set
    without them. They are fixed before any of the decisions, so each is chosen independently of the
    random sides taken (the estimator stays unbiased); one implied by the decisions before it is a
    forced decision (one side has no model)."""
    left, degree = stuck
    top = np.argsort(-_stuck_scores(comp, stuck), kind="stable")[:run]
    rest = np.ones(len(left), dtype=bool)
    rest[top] = False
    return [int(v) + 1 for v in left[top]], (left[rest], degree[rest])


def _decide(comp: _Component, x: int, root: np.ndarray, st: _State, oracle: _Oracle, walk: _Walk,
            rng: np.random.Generator) -> tuple[float, int]:
    """One decision on the component's 1-based variable ``x``: the side taken (a literal of ``x``),
    recorded on the walk's path, and its ln weight, −ln(its probability) when both sides have models,
    0 when only it has."""
    # probability of the positive side: its share of x's weight (1/2 unweighted)
    p_pos = 0.5 if comp.log_phi is None else float(1.0 / (1.0 + np.exp(comp.log_phi[x - 1, 0] - comp.log_phi[x - 1, 1])))
    first_pos = _choose(rng, p_pos)
    root_first = int(root[x - 1]) if first_pos else -int(root[x - 1])
    if oracle.satisfiable(walk.path, root_first, st):
        both = oracle.satisfiable(walk.path, -root_first, st)
        positive, weight = first_pos, (-math.log(p_pos if first_pos else 1.0 - p_pos) if both else 0.0)
    else:  # only the other side has models (the path itself has some)
        positive, weight, both = not first_pos, 0.0, False
    walk.random_choices += int(both)
    walk.path.append(int(root[x - 1]) if positive else -int(root[x - 1]))
    return weight, (x if positive else -x)


def _group_clause(comp: _Component, x: int, root: np.ndarray, groups: OneHotGroups) -> np.ndarray | None:
    """A clause of the component with at least 3 literals, all of them literals of the exactly-one
    group of the 1-based variable ``x`` (and ``x``'s among them), as (k,) local literals; None when
    ``x`` is in no group or the component holds no such clause."""
    group = groups.group_of_var[root[x - 1]]
    if group < 0:
        return None
    edges = np.flatnonzero(np.abs(comp.lits) == x)
    clauses = np.searchsorted(comp.clause_ptr, edges, side="right") - 1
    for c in clauses[np.diff(comp.clause_ptr)[clauses] >= 3]:  # x's long clauses: few
        local = comp.lits[comp.clause_ptr[c]:comp.clause_ptr[c + 1]]
        var = root[np.abs(local) - 1]
        if ((groups.group_of_var[var] == group) & (groups.literal_of_var[var] == np.sign(local) * var)).all():
            return local
    return None


def _decide_group(options: np.ndarray, root: np.ndarray, st: _State, oracle: _Oracle, walk: _Walk,
                  rng: np.random.Generator) -> tuple[float, list[int]]:
    """One decision on a clause (l_1 ∨ … ∨ l_k) of the component (``options``, local literals): which
    literal is its first true one. The branches ¬l_1 ∧ … ∧ ¬l_(i−1) ∧ l_i partition the component's
    models whatever the clause (in an exactly-one group, l_i alone implies the rest). The probe takes
    one of the n branches that have models, each with probability 1/n (one draw of
    :func:`_choose` per branch passed over, so the probability of each side stays visible to the
    tests), at ln weight ln n (0 when n = 1: a forced decision). Returns the ln weight and the
    branch's literals (local) as units; the path records them as root literals."""
    lits = [int(np.sign(lit)) * int(root[abs(int(lit)) - 1]) for lit in options]
    open_ = [i for i, lit in enumerate(lits) if oracle.satisfiable(walk.path + [-x for x in lits[:i]], lit, st)]
    if not open_:  # the path has models and each of them satisfies the clause
        raise ValueError("internal error: no branch of a clause of a satisfiable component has a model")
    pick = open_[-1]
    for j, i in enumerate(open_[:-1]):
        if _choose(rng, 1.0 / (len(open_) - j)):
            pick = i
            break
    walk.random_choices += int(len(open_) > 1)
    walk.path.extend([-x for x in lits[:pick]] + [lits[pick]])
    return math.log(len(open_)), [-int(x) for x in options[:pick]] + [int(options[pick])]


def ln_mean(ln_samples: list[float] | tuple[float, ...] | np.ndarray) -> float:
    """ln of the mean of exp(``ln_samples``) (nats; not empty): the probes' answer from their values."""
    return float(np.logaddexp.reduce(ln_samples) - math.log(len(ln_samples)))


def relative_standard_error(ln_samples: list[float]) -> float:
    """Relative standard error of the mean of exp(``ln_samples``) (inf with fewer than 2 samples)."""
    if len(ln_samples) < 2:
        return math.inf
    ln = np.asarray(ln_samples, dtype=np.float64)
    ratio = np.exp(ln - ln_mean(ln))  # Ẑ_k / mean
    return float(ratio.std(ddof=1) / math.sqrt(len(ln)))


def check_lower_bound(ln_samples: list[float] | tuple[float, ...], confidence: float = CHECK_CONFIDENCE) -> float:
    """ln of a lower bound on Z that K independent unbiased probes' values ``ln_samples`` (nats) give
    with probability at least ``confidence`` (−inf without samples). By Markov's inequality a
    nonnegative unbiased estimate exceeds c·Z with probability at most 1/c, so (δ = 1 − confidence,
    split between the two by a union bound) ln Z > ln mean − ln(2/δ) and ln Z > min_k ln Ẑ_k −
    ln(2/δ)/K, each with probability ≥ 1 − δ/2. Nominal where a stopping rule looked at the values."""
    if not len(ln_samples):
        return -math.inf
    ln = np.asarray(ln_samples, dtype=np.float64)
    slack = math.log(2.0 / (1.0 - confidence))
    return float(max(ln_mean(ln) - slack, ln.min() - slack / len(ln)))


def overrules(ln_probes: float, ln_lower: float, ln_engine: float) -> bool:
    """Whether the probes' check overrules the engine's estimate ``ln_engine`` (all nats, whole
    formula): the engine is above the probes' ln-mean ``ln_probes`` by more than :data:`CHECK_MIN_GAP`
    and more than :data:`CHECK_REL_GAP` · |``ln_probes``|, or below the probes' lower bound
    ``ln_lower`` (:func:`check_lower_bound`); *Check* in the module docstring."""
    if not (math.isfinite(ln_probes) and math.isfinite(ln_engine)):
        return False
    return ln_engine - ln_probes > max(CHECK_MIN_GAP, CHECK_REL_GAP * abs(ln_probes)) or ln_engine < ln_lower


def probe_log_count(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None,
                    *, budget: float = DEFAULT_PROBE_BUDGET, max_budget: float | None = None,
                    target_rse: float | None = None, check: bool = False, max_probes: int = DEFAULT_MAX_PROBES,
                    min_probes: int = DEFAULT_MIN_PROBES, seed: int = 0, wall_limit: float | None = None,
                    max_width: int = DEFAULT_SEARCH_WIDTH, max_vars: int | None = None,
                    run: int = DEFAULT_RUN, run_min_stuck: int = HINT_MIN_STUCK,
                    prefer_inputs: bool = DEFAULT_PREFER_INPUTS, prefer_groups: bool = DEFAULT_PREFER_GROUPS,
                    work_model: WorkModel = DEFAULT_WORK_MODEL,
                    sat_work_model: SatWorkModel = DEFAULT_SAT_WORK_MODEL,
                    probe_work_model: ProbeWorkModel = DEFAULT_PROBE_WORK_MODEL) -> ProbeResult:
    """Estimate ln Z of a simplified residual by SAT-guided search probes (module docstring).

    Args:
        num_vars: variables 1..num_vars, every one occurring in some clause (a simplifier residual).
        lits: (E,) signed literals; ``clause_ptr``: (C+1,) CSR clause offsets.
        log_weights: (num_vars, 2) ln(w(¬x), w(x)), or None for unweighted counting.
        budget: seconds of work on the reference machine (search steps and SAT calls); 0: off.
        max_budget, target_rse: where at least ``min_probes`` finished within ``budget`` but the
            relative standard error of their mean is above ``target_rse``, probing goes on until it
            is at most ``target_rse`` or until ``max_budget`` of work is spent (None: no extension).
        check: where fewer than ``min_probes`` finished within ``budget``, probing goes on as well
            (same stopping rule; at least ``min_probes`` needed to stop early) and the result's
            ``ln_check`` holds their mean; ``ln_count`` stays None.
        max_probes, min_probes: most probes; fewest finished probes for an answer.
        seed: seed of the random side choices (same seed and budget: same answer everywhere).
        wall_limit: wall-clock seconds after which probing stops (None: :data:`WALL_LIMIT_FACTOR` ×
            ``budget``, and × ``max_budget`` once extended; with ``check``, at least
            :data:`CHECK_WALL_FACTOR` × ``max_budget`` from the start, and no more while too few
            probes finished within ``budget``; ``math.inf``: none).
        max_width, max_vars: elimination width and enumeration size at the nodes (as the search).
        run, run_min_stuck: decisions taken in a row in a component whose stuck set holds at least
            ``run_min_stuck`` variables (1: one decision per simplification everywhere).
        prefer_inputs: branch on variables no AND/OR gate definition determines where the search's
            choice (the stuck set) holds any (:mod:`bpcount.gatevars`; *Inputs* above).
        prefer_groups: where the variable chosen is in an exactly-one group (:mod:`bpcount.onehot`)
            and the component holds the group's clause, decide which of its literals is true at once
            (*Groups* above).
        work_model, sat_work_model, probe_work_model: what each step is charged (module docstring).

    Returns:
        :class:`ProbeResult`.
    """
    from pysat.solvers import Solver

    from bpcount.simplify import DEFAULT_EXACT_MAX_VARS

    t0 = time.monotonic()
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    limit = budget if max_budget is None or budget <= 0 else max(budget, max_budget)  # with the extension
    # wall-clock backstops: before the extension and once in it
    deadline, extended_deadline = ((t0 + wall_limit,) * 2 if wall_limit is not None else
                                   (t0 + WALL_LIMIT_FACTOR * budget, t0 + WALL_LIMIT_FACTOR * limit))
    if check and wall_limit is None:  # the probe under way when ``budget`` runs out may finish
        deadline = max(deadline, t0 + CHECK_WALL_FACTOR * limit)
    st = _State(budget=limit if check else budget, deadline=deadline, max_nodes=1 << 62, max_width=max_width,
                max_vars=DEFAULT_EXACT_MAX_VARS if max_vars is None else max_vars, model=work_model,
                max_depth=num_vars)  # each decision fixes a variable: no path is deeper
    samples: list[float] = []
    sample_work: list[float] = []
    random_choices = node_edges = 0
    weights = None if log_weights is None else np.exp(np.asarray(log_weights, dtype=np.float64))
    formula = Formula(num_vars=num_vars, lits=lits, clause_ptr=clause_ptr, weights=weights)
    rng = np.random.default_rng(seed)
    inputs = None
    if prefer_inputs and budget > 0:  # by residual variable (index 0 unused); charged as one node
        inputs = np.concatenate([[False], ~gate_outputs(num_vars, lits, clause_ptr)])
        st.work += step_cost(work_model, "node", edges=len(lits))
    groups = None
    if prefer_groups and budget > 0:  # charged as one node, as the inputs
        groups = exactly_one_groups(num_vars, lits, clause_ptr)
        groups = groups if groups.any else None
        st.work += step_cost(work_model, "node", edges=len(lits))
    oracle = None
    if budget > 0 and max_probes > 0:
        with Solver(name=SOLVER_NAME) as solver:
            _load(solver, lits, clause_ptr)
            meter = _Meter(solver, budget, sat_work_model, deadline)
            oracle = _Oracle(solver, meter, num_vars, probe_work_model.call_cost(num_vars))
            with meter:
                while len(samples) < max_probes and st.work < st.budget:
                    walk = _Walk([], probe_work_model, run, run_min_stuck, inputs=inputs, groups=groups)
                    try:
                        ln = _probe_path(formula, st, oracle, walk, rng)
                    except _OutOfBudget:
                        break
                    finally:
                        node_edges += walk.node_edges
                    samples.append(ln)
                    sample_work.append(st.work)
                    random_choices += walk.random_choices
                    # enough probes, but their mean not yet within the target: go on past ``budget``
                    # (and once it is within, stop at once); with ``check``, too few within ``budget``
                    # go on as well, at least until there are enough
                    few = check and sum(w <= budget for w in sample_work) < min_probes
                    wide = (len(samples) >= min_probes and target_rse is not None
                            and relative_standard_error(samples) > target_rse)
                    go_on = wide or (few and len(samples) < min_probes)
                    st.budget = limit if go_on else budget
                    if go_on and not few and st.deadline < extended_deadline:
                        st.deadline = extended_deadline
                        meter.move_deadline(extended_deadline)
                    if ln == -math.inf:  # the first call found no model: the count is 0
                        break
    ln_count = rel_se = ln_check = None
    answered = (sum(w <= budget for w in sample_work) if check else len(samples)) >= min_probes
    if samples and (answered or samples[-1] == -math.inf):
        ln_count = ln_mean(samples)
    elif samples and check:
        ln_check = ln_mean(samples)
    if len(samples) >= 2 and ((ln_count is not None and ln_count > -math.inf) or ln_check is not None):
        rel_se = relative_standard_error(samples)
    return ProbeResult(ln_count, tuple(samples), rel_se, random_choices,
                       0 if oracle is None else oracle.calls, st.work, time.monotonic() - t0, st.nodes, node_edges,
                       tuple(sample_work), ln_check)


__all__ = ["CHECK_CONFIDENCE", "CHECK_MIN_GAP", "CHECK_REL_GAP", "CHECK_WALL_FACTOR", "DEFAULT_MAX_PROBES",
           "DEFAULT_MIN_PROBES", "DEFAULT_PREFER_GROUPS", "DEFAULT_PREFER_INPUTS", "DEFAULT_PROBE_BUDGET",
           "DEFAULT_PROBE_MAX_BUDGET", "DEFAULT_PROBE_TARGET_RSE", "DEFAULT_PROBE_WORK_MODEL", "ProbeResult",
           "ProbeWorkModel", "WALL_LIMIT_FACTOR", "check_lower_bound", "ln_mean", "overrules", "probe_log_count",
           "relative_standard_error"]
