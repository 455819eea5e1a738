"""Ising networks: edge-list input/output and the :class:`IsingNetwork` container.

Edge-list format: one edge ``u v [J]`` per line (whitespace separated, ``#`` or ``%`` comments,
blank lines ignored); node labels are integers, relabelled to 0..n−1 in ascending order. Missing
J means 1. Self-loops are dropped, duplicate edges keep the first coupling. A fields file holds
``node h`` lines with the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpcount.loopy.model import DiscreteModel, ising_model


@dataclass(frozen=True)
class IsingNetwork:
    """H(s) = −Σ_{(i,j)} J_ij s_i s_j − Σ_i h_i s_i over spins s ∈ {−1, +1}^n.

    * ``num_nodes``: n.
    * ``edges``: (m, 2) int64, i < j, no duplicates.
    * ``couplings``: (m,) float64, J.
    * ``fields``: (n,) float64, h.
    * ``labels``: (n,) int64, original node labels.
    """

    num_nodes: int
    edges: np.ndarray
    couplings: np.ndarray
    fields: np.ndarray
    labels: np.ndarray

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def zero_field(self) -> bool:
        return not np.any(self.fields)

    def model(self) -> DiscreteModel:
        """The β = 1 factor model (spin s = 2x − 1)."""
        return ising_model(self.num_nodes, self.edges, self.couplings, self.fields)

    def energy(self, spins: np.ndarray) -> np.ndarray:
        """H for spins of shape (..., n) with values ±1; returns shape (...,)."""
        s = np.asarray(spins, dtype=np.float64)
        pair = (s[..., self.edges[:, 0]] * s[..., self.edges[:, 1]]) @ self.couplings
        return -pair - s @ self.fields


def network_from_edges(num_nodes: int, edges, couplings=None, fields=None) -> IsingNetwork:
    """Canonicalise (drop self-loops and duplicates, orient i < j) into an :class:`IsingNetwork`."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    J = np.ones(len(edges)) if couplings is None else np.asarray(couplings, dtype=np.float64)
    keep = edges[:, 0] != edges[:, 1]
    edges, J = np.sort(edges[keep], axis=1), J[keep]
    _, first = np.unique(edges, axis=0, return_index=True)
    first = np.sort(first)
    h = np.zeros(num_nodes) if fields is None else np.asarray(fields, dtype=np.float64)
    return IsingNetwork(num_nodes, edges[first], J[first], h, np.arange(num_nodes))


def read_edgelist(path: str | Path, fields_path: str | Path | None = None) -> IsingNetwork:
    """Read an edge list (and optionally a fields file); raises ValueError naming file and line."""
    rows, weights = [], []
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line or line.startswith("%"):
            continue
        tok = line.split()
        if len(tok) not in (2, 3):
            raise ValueError(f"{path}:{lineno}: expected 'u v [J]', got {line!r}")
        try:
            rows.append((int(tok[0]), int(tok[1])))
            weights.append(float(tok[2]) if len(tok) == 3 else 1.0)
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: {err}") from None
    if not rows:
        raise ValueError(f"{path}: no edges")
    raw = np.array(rows, dtype=np.int64)
    field_items: dict[int, float] = {}
    if fields_path is not None:
        for lineno, line in enumerate(Path(fields_path).read_text().splitlines(), 1):
            line = line.split("#")[0].strip()
            if not line:
                continue
            tok = line.split()
            if len(tok) != 2:
                raise ValueError(f"{fields_path}:{lineno}: expected 'node h', got {line!r}")
            field_items[int(tok[0])] = float(tok[1])
    labels = np.unique(np.concatenate([raw.reshape(-1), np.array(list(field_items), dtype=np.int64)]))
    idx = np.searchsorted(labels, raw)
    h = np.zeros(len(labels))
    for lab, val in field_items.items():
        h[np.searchsorted(labels, lab)] = val
    net = network_from_edges(len(labels), idx, np.array(weights), h)
    return IsingNetwork(net.num_nodes, net.edges, net.couplings, net.fields, labels)


def write_edgelist(net: IsingNetwork, path: str | Path) -> None:
    """Write ``u v J`` lines with the network's labels."""
    lab = net.labels
    with open(path, "w") as fh:
        for (u, v), J in zip(net.edges, net.couplings, strict=True):
            fh.write(f"{lab[u]} {lab[v]} {J:g}\n")
