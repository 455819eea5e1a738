"""Ising models on networks: KCN neighbourhood BP observables, T_c, Wolff and exact baselines."""

from bpcount.ising.critical import critical_temperature, jacobian, spectral_radius
from bpcount.ising.exact import exact_curve, log_partition
from bpcount.ising.generators import clique_projection_network
from bpcount.ising.model import IsingNetwork, network_from_edges, read_edgelist, write_edgelist
from bpcount.ising.observables import IsingCurve, kcn_curve, kcn_point
from bpcount.ising.wolff import MCPoint, wolff_curve

__all__ = ["IsingCurve", "IsingNetwork", "MCPoint", "clique_projection_network", "critical_temperature",
           "exact_curve", "jacobian", "kcn_curve", "kcn_point", "log_partition", "network_from_edges",
           "read_edgelist", "spectral_radius", "wolff_curve", "write_edgelist"]
