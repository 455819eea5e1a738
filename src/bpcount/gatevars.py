"""Variables that Tseitin AND/OR gate definitions determine, and the *inputs* that determine them.

A clause (o ∨ m_1 ∨ … ∨ m_k) together with every binary clause (¬o ∨ ¬m_i) says
o ↔ ¬m_1 ∧ … ∧ ¬m_k: once its inputs have values, o has one value in every model (an OR gate is
the same pattern under polarity). This is the AND/OR detection of :mod:`bpcount.gategraph` (torch,
on a batched factor graph built first), here in numpy on a residual's flat arrays, as the search
probes (:mod:`bpcount.probe`) hold them.

If the definitions' input → output graph has no cycle, every model is fixed by the values of the
variables no definition outputs (the circuit's inputs): the outputs follow in topological order. A
cycle of definitions can leave several consistent values (o1 = a ∧ o2, o2 = b ∧ o1), so cycles are
broken: while the graph has a strongly connected component with more than one variable, one
definition per such component is dropped (the one with the most inputs, ties to the highest output
variable) and its output counts as an input. Each output keeps one definition: its first clause.

The probes branch on inputs where they can. Deciding an internal gate picks one side with probability
1/2 whatever the share of the models it holds (an AND of 8 inputs is true in 1/256 of the input
assignments), so the probe's weights, and its variance, grow; deciding inputs lets unit propagation
set the gates. On the 40 train residuals of ``benchmarks/results/probe_work.md`` (fifteenth session,
2 s, seeds 0–2) this took the probes' RMSE of ln count from 1.04 / 0.89 / 1.55 to 1.09 / 0.60 /
0.48; XOR triples as definitions too made misc/min-6s (mostly ternary clauses) worse: errors
−0.14 / −0.12 / −0.22 became +1.9 / −11.1 / −8.3.
"""

from __future__ import annotations

import numpy as np

from bpcount.simplify import index_ranges

#: Longest clause examined as the long clause of an AND/OR gate (as bpcount.gategraph.MAX_GATE_WIDTH).
MAX_GATE_WIDTH = 16

#: Rounds of cycle breaking (one definition per cyclic component each); past them every definition
#: still on a cycle is dropped (a valid, smaller set).
MAX_CYCLE_ROUNDS = 10_000


def _literal_code(lits: np.ndarray) -> np.ndarray:
    """0-based literal codes: 2·(|l| − 1) + (l < 0); the negation of code c is c ^ 1."""
    return 2 * (np.abs(lits) - 1) + (lits < 0)


def and_definitions(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The AND/OR gate definitions of a CNF, one per output variable (its first clause).

    Args:
        num_vars: variables 1..num_vars; ``lits`` (E,) signed literals; ``clause_ptr`` (C+1,) CSR
            clause offsets (no duplicate literals, no tautologies: a simplifier residual).

    Returns:
        (out_var (D,), in_ptr (D+1,), in_var (I,)): 0-based output variable of each definition and
        the CSR list of its input variables (0-based), definitions ordered by output variable.
    """
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    size = np.diff(clause_ptr)
    code = _literal_code(lits)
    n_lit = 2 * num_vars
    binary = np.flatnonzero(size == 2)
    eligible = np.flatnonzero((size >= 2) & (size <= MAX_GATE_WIDTH))
    if not len(binary) or not len(eligible):
        return empty, np.zeros(1, dtype=np.int64), empty
    a, b = code[clause_ptr[binary]], code[clause_ptr[binary] + 1]
    bin_key = np.unique(np.minimum(a, b) * n_lit + np.maximum(a, b))
    # every ordered pair (e, f) of edges of one eligible clause: e repeated k times, f over the clause
    k = size[eligible]
    e_start = clause_ptr[eligible]
    edges = index_ranges(e_start, k)
    k_of_edge = np.repeat(k, k)
    e = np.repeat(edges, k_of_edge)
    f = index_ranges(np.repeat(e_start, k), k_of_edge)
    keep = e != f
    e, f = e[keep], f[keep]
    ne, nf = code[e] ^ 1, code[f] ^ 1
    key = np.minimum(ne, nf) * n_lit + np.maximum(ne, nf)
    pos = np.minimum(np.searchsorted(bin_key, key), len(bin_key) - 1)
    hits = np.bincount(e, weights=(bin_key[pos] == key), minlength=len(lits))
    is_out = np.zeros(len(lits), dtype=bool)
    is_out[edges] = hits[edges] == k_of_edge - 1
    out_edge = np.flatnonzero(is_out)
    out_var_all = np.abs(lits[out_edge]) - 1
    _, first = np.unique(out_var_all, return_index=True)  # the first clause defining each output
    out_edge = out_edge[first]
    clause_of_edge = np.repeat(np.arange(len(size)), size)
    cl = clause_of_edge[out_edge]
    members = index_ranges(clause_ptr[cl], size[cl])
    owner = np.repeat(np.arange(len(cl)), size[cl])
    inputs = members != out_edge[owner]
    in_var = np.abs(lits[members[inputs]]) - 1
    in_ptr = np.concatenate([[0], np.cumsum(size[cl] - 1)])
    return np.abs(lits[out_edge]) - 1, in_ptr, in_var


def acyclic_outputs(num_vars: int, out_var: np.ndarray, in_ptr: np.ndarray, in_var: np.ndarray) -> np.ndarray:
    """(num_vars,) bool, 0-based: the outputs of the definitions kept once cycles are broken
    (module docstring); every model is a function of the variables left False."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n_def = len(out_var)
    n_in = np.diff(in_ptr)
    def_of_input = np.repeat(np.arange(n_def), n_in)
    priority = n_in * num_vars + out_var  # dropped first: most inputs, then the highest output
    active = np.ones(n_def, dtype=bool)
    for round_ in range(MAX_CYCLE_ROUNDS + 1):
        use = active[def_of_input]
        graph = csr_matrix((np.ones(int(use.sum())), (in_var[use], out_var[def_of_input[use]])),
                           shape=(num_vars, num_vars))
        _, label = connected_components(graph, directed=True, connection="strong")
        cyclic = active & (np.bincount(label, minlength=num_vars)[label[out_var]] > 1)
        if not cyclic.any():
            break
        if round_ == MAX_CYCLE_ROUNDS:
            active &= ~cyclic
            break
        ids = np.flatnonzero(cyclic)
        ids = ids[np.lexsort((-priority[ids], label[out_var[ids]]))]  # by component, highest first
        first = np.ones(len(ids), dtype=bool)
        first[1:] = label[out_var[ids[1:]]] != label[out_var[ids[:-1]]]
        active[ids[first]] = False
    defined = np.zeros(num_vars, dtype=bool)
    defined[out_var[active]] = True
    return defined


def gate_outputs(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray) -> np.ndarray:
    """(num_vars,) bool, 0-based: variables an acyclic set of the formula's AND/OR definitions
    determines (:func:`and_definitions`, then :func:`acyclic_outputs`)."""
    return acyclic_outputs(num_vars, *and_definitions(num_vars, lits, clause_ptr))


__all__ = ["MAX_CYCLE_ROUNDS", "MAX_GATE_WIDTH", "acyclic_outputs", "and_definitions", "gate_outputs"]
