"""Belief Propagation Neural Networks: learned damping (BPNN-D) and a learned Bethe readout (BPNN-B).

* :mod:`bpcount.bpnn.model`: the torch module and its :class:`BPNNConfig` (imports torch only);
* :mod:`bpcount.bpnn.checkpoint`: save/load (one file, a dict of plain types);
* :mod:`bpcount.bpnn.infer`: :func:`estimate_graph`, what ``bpcount count --method bpnn`` calls;
* :mod:`bpcount.bpnn.train`: the training library behind ``bpcount train``.
"""
