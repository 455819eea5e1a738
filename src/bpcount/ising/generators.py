"""Synthetic clique-projection networks (kcn.md §10).

A regular bipartite configuration model joins n individuals and n groups, every one of degree D
(D·n stubs on each side matched by a random permutation). Each group is projected onto a clique of
its members (repeated members collapse), a fraction p of the resulting edges is deleted at random,
and the largest connected component is kept. With groups of size D ≤ r + 2, KCN(r) swallows every
clique whole and is exact apart from long O(log n) loops.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from bpcount.ising.model import IsingNetwork, network_from_edges


def clique_projection_network(n: int, group_size: int, p_remove: float, *, seed: int = 0) -> IsingNetwork:
    """The largest component of the projected, thinned network (J = 1, h = 0), relabelled 0..n'−1."""
    if n < 1 or group_size < 2 or not 0.0 <= p_remove < 1.0:
        raise ValueError("need n >= 1, group_size >= 2 and 0 <= p_remove < 1")
    rng = np.random.default_rng(seed)
    members = rng.permutation(np.repeat(np.arange(n), group_size)).reshape(n, group_size)
    a, b = np.triu_indices(group_size, 1)
    edges = np.stack([members[:, a].reshape(-1), members[:, b].reshape(-1)], axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    edges = edges[rng.random(len(edges)) >= p_remove]
    adj = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = csgraph.connected_components(adj, directed=False)
    big = np.argmax(np.bincount(label))
    keep = np.nonzero(label == big)[0]
    new_id = np.full(n, -1)
    new_id[keep] = np.arange(len(keep))
    sel = (label[edges[:, 0]] == big)
    return network_from_edges(len(keep), new_id[edges[sel]])
