"""Ising side: T_c from the linearised map, exact elimination, Wolff, generators, edge lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from bpcount.ising import (
    clique_projection_network,
    critical_temperature,
    exact_curve,
    kcn_curve,
    log_partition,
    network_from_edges,
    read_edgelist,
    wolff_curve,
)
from bpcount.loopy.engine import KCNSolver

POWER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "power494.txt"


def brute_log_z(net, beta):
    n = net.num_nodes
    s = 2 * ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1) - 1
    lw = -beta * net.energy(s)
    m = lw.max()
    return m + np.log(np.exp(lw - m).sum())


def random_graph(rng, n, p):
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return network_from_edges(n, edges)


def hashimoto_radius(net):
    """ρ of the non-backtracking matrix, built independently of the engine."""
    arcs = [(i, j) for i, j in net.edges] + [(j, i) for i, j in net.edges]
    index = {a: t for t, a in enumerate(arcs)}
    rows, cols = [], []
    for (u, v), t in index.items():
        for (x, w), t2 in index.items():
            if x == v and w != u:
                rows.append(t)
                cols.append(t2)
    B = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(arcs), len(arcs))).toarray()
    return float(np.max(np.abs(np.linalg.eigvals(B))))


def test_tc_r0_is_nonbacktracking():
    rng = np.random.default_rng(0)
    net = random_graph(rng, 30, 0.12)
    tc = critical_temperature(KCNSolver(net.model(), 0))
    rho = hashimoto_radius(net)
    assert abs(tc - 1.0 / np.arctanh(1.0 / rho)) < 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_exact_elimination_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    net = random_graph(rng, 12, 0.3)
    net = network_from_edges(12, net.edges, rng.normal(0, 1, net.num_edges), rng.normal(0, 0.5, 12))
    for beta in (0.3, 1.1):
        assert abs(log_partition(net, beta) - brute_log_z(net, beta)) < 1e-10


def test_exact_curve_energy_and_heat_capacity():
    rng = np.random.default_rng(1)
    net = random_graph(rng, 10, 0.35)
    T = 1.3
    pt = exact_curve(net, np.array([T]))[0]
    n = net.num_nodes
    s = 2 * ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1) - 1
    E = net.energy(s)
    w = np.exp(-(E - E.min()) / T)
    w /= w.sum()
    u = w @ E
    assert abs(pt.energy - u / n) < 1e-7
    assert abs(pt.heat_capacity - (w @ E**2 - u**2) / T**2 / n) < 1e-5


def test_wolff_matches_exact_on_small_graph():
    rng = np.random.default_rng(2)
    net = random_graph(rng, 12, 0.3)
    T = np.array([1.5, 3.0])
    mc = wolff_curve(net, T, sweeps=3000, burn_in=100, seed=3)
    ex = exact_curve(net, T)
    for a, b in zip(mc, ex, strict=True):
        assert abs(a.energy - b.energy) < 5 * a.energy_err + 5e-3
        assert abs(a.heat_capacity - b.heat_capacity) < 0.1 * b.heat_capacity + 0.02


def test_kcn_exact_on_clique_cactus_curve():
    # K4–K3–K4 glued at single nodes: every block is a clique, swallowed whole at r = 1 (kcn.md §6)
    edges = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    edges += [(3, 4), (4, 5), (3, 5)]
    edges += [(a, b) for a in (5, 6, 7, 8) for b in (5, 6, 7, 8) if a < b]
    net = network_from_edges(9, edges)
    T = np.array([2.0, 3.0, 4.0])
    curve = kcn_curve(net, T, 1, tol=1e-12, max_iters=4000)
    ex = exact_curve(net, T)
    # zero field, T above the finite-size ordering: m = 0 and u, s, ln Z exact
    for k, e in enumerate(ex):
        assert abs(curve.energy[k] - e.energy) < 1e-8
        assert abs(curve.log_z[k] - e.log_z) < 1e-8


def test_clique_projection_generator():
    net = clique_projection_network(400, 3, 0.1, seed=1)
    assert 0.5 * 400 < net.num_nodes <= 400
    deg = np.bincount(net.edges.reshape(-1), minlength=net.num_nodes)
    assert deg.min() >= 1 and net.edges[:, 0].max() < net.num_nodes
    assert len(np.unique(net.edges, axis=0)) == net.num_edges


def test_read_edgelist_relabels_and_weights(tmp_path):
    f = tmp_path / "g.txt"
    f.write_text("# c\n10 20 0.5\n20 30\n30 10 2\n10 10\n")
    h = tmp_path / "h.txt"
    h.write_text("20 0.25\n")
    net = read_edgelist(f, h)
    assert net.num_nodes == 3 and net.num_edges == 3
    assert sorted(net.couplings.tolist()) == [0.5, 1.0, 2.0]
    assert net.fields.tolist() == [0.0, 0.25, 0.0]
    with pytest.raises(ValueError, match="g2.txt:1"):
        (tmp_path / "g2.txt").write_text("1 2 3 4\n")
        read_edgelist(tmp_path / "g2.txt")


def power_grid():
    if not POWER.exists():
        pytest.skip(f"{POWER} not available")
    return read_edgelist(POWER)


def test_power_grid_neighbourhood_sizes():
    net = power_grid()
    assert (net.num_nodes, net.num_edges) == (494, 586)
    for r, mean, mx in ((0, 3.37, 10), (2, 3.53, 11), (3, 3.75, 15), (4, 4.04, 15)):
        sizes = KCNSolver(net.model(), r).nb.sizes
        assert abs(sizes.mean() - mean) < 0.005 and sizes.max() == mx


@pytest.mark.parametrize("radius,expected", [(0, 2.2142), (1, 1.9348)])
def test_power_grid_tc(radius, expected):
    net = power_grid()
    assert abs(critical_temperature(KCNSolver(net.model(), radius)) - expected) < 1e-3
