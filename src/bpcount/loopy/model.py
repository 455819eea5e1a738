"""Binary pairwise/higher-order models as flat arrays: the common input of the KCN engine.

A :class:`DiscreteModel` has ``n`` binary variables (values 0/1) with unary log-weights and factors
given by their scope and a log-table. CNF clauses and Ising couplings are both factors; the engine
never looks at where a factor came from.

Table convention: for a factor with scope ``(v_0, ..., v_{k-1})`` the table entry for the
assignment x is at index ``Σ_q x_{v_q} · 2^q`` (the first scope variable is the lowest bit).
``-inf`` entries are hard zeros (a falsified clause).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcount.graph import FactorGraphBatch


@dataclass(frozen=True)
class DiscreteModel:
    """A factor graph over binary variables.

    * ``num_vars``: n.
    * ``log_phi``: (n, 2) float64, natural-log unary weights (column 0: x = 0, column 1: x = 1).
    * ``factor_ptr``: (F+1,) int64 CSR offsets into ``factor_vars``.
    * ``factor_vars``: (Σk,) int64, the scope of every factor (distinct variables).
    * ``table_ptr``: (F+1,) int64 CSR offsets into ``tables`` (factor a owns 2^k_a entries).
    * ``tables``: (Σ 2^k,) float64 log-tables, index convention in the module docstring.
    * ``graph_of_var``: (n,) int64, which formula/network each variable belongs to.
    * ``num_graphs``: B.
    """

    num_vars: int
    log_phi: np.ndarray
    factor_ptr: np.ndarray
    factor_vars: np.ndarray
    table_ptr: np.ndarray
    tables: np.ndarray
    graph_of_var: np.ndarray
    num_graphs: int = 1

    @property
    def num_factors(self) -> int:
        return len(self.factor_ptr) - 1

    def scope(self, a: int) -> np.ndarray:
        """Variables of factor ``a``, shape (k_a,)."""
        return self.factor_vars[self.factor_ptr[a] : self.factor_ptr[a + 1]]

    def table(self, a: int) -> np.ndarray:
        """Log-table of factor ``a``, shape (2^k_a,)."""
        return self.tables[self.table_ptr[a] : self.table_ptr[a + 1]]

    def scaled(self, beta: float) -> DiscreteModel:
        """The model at inverse temperature β: every log-weight multiplied by β (−inf stays −inf)."""
        with np.errstate(invalid="ignore"):
            tables = np.where(np.isneginf(self.tables), -np.inf, beta * self.tables)
        return DiscreteModel(self.num_vars, beta * self.log_phi, self.factor_ptr, self.factor_vars,
                             self.table_ptr, tables, self.graph_of_var, self.num_graphs)


def clause_table(negated: np.ndarray) -> np.ndarray:
    """Log-table (2^k,) of a hard clause: −inf on the one falsifying assignment, 0 elsewhere.

    ``negated``: (k,) bool, True for a negative literal (whose falsifying value is x = 1).
    """
    k = len(negated)
    falsifying = int(np.sum(negated.astype(np.int64) << np.arange(k)))
    tab = np.zeros(1 << k)
    tab[falsifying] = -np.inf
    return tab


def model_from_graph(graph: FactorGraphBatch) -> DiscreteModel:
    """A :class:`DiscreteModel` of a batch of CNF formulas (hard clauses, unary ``log_phi``).

    Clause a's scope is its literals' variables in edge order; construction loops over clauses in
    Python (once, O(E)).
    """
    var = graph.var_of_edge.cpu().numpy().astype(np.int64)
    neg = graph.fval_of_edge.cpu().numpy().astype(bool)
    ptr = graph.clause_ptr.cpu().numpy().astype(np.int64)
    sizes = np.diff(ptr)
    table_ptr = np.concatenate([[0], np.cumsum(1 << sizes)]).astype(np.int64)
    tables = np.zeros(int(table_ptr[-1]))
    for a in range(len(sizes)):
        tables[table_ptr[a] : table_ptr[a + 1]] = clause_table(neg[ptr[a] : ptr[a + 1]])
    return DiscreteModel(
        num_vars=graph.num_vars,
        log_phi=graph.log_phi.detach().cpu().numpy().astype(np.float64),
        factor_ptr=ptr,
        factor_vars=var,
        table_ptr=table_ptr,
        tables=tables,
        graph_of_var=graph.graph_of_var.cpu().numpy().astype(np.int64),
        num_graphs=graph.num_graphs,
    )


def ising_model(num_nodes: int, edges: np.ndarray, couplings: np.ndarray | None = None,
                fields: np.ndarray | None = None) -> DiscreteModel:
    """Ising model at β = 1 with spins s = 2x − 1: log ψ_ij = J_ij s_i s_j, log φ_i = h_i s_i.

    ``edges``: (m, 2) int node pairs (no self-loops); ``couplings`` (m,) default 1; ``fields`` (n,)
    default 0. Use :meth:`DiscreteModel.scaled` for other temperatures.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    m = len(edges)
    J = np.ones(m) if couplings is None else np.asarray(couplings, dtype=np.float64)
    h = np.zeros(num_nodes) if fields is None else np.asarray(fields, dtype=np.float64)
    # table index = x_i + 2 x_j; s_i s_j = +1 on 00 and 11
    tables = (J[:, None] * np.array([1.0, -1.0, -1.0, 1.0])[None, :]).reshape(-1)
    return DiscreteModel(
        num_vars=num_nodes,
        log_phi=np.stack([-h, h], axis=1),
        factor_ptr=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
        factor_vars=edges.reshape(-1).copy(),
        table_ptr=np.arange(0, 4 * m + 1, 4, dtype=np.int64),
        tables=tables,
        graph_of_var=np.zeros(num_nodes, dtype=np.int64),
    )
