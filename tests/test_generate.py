"""Generator families: structure, determinism per seed, satisfiability where promised."""

from __future__ import annotations

import math

import pytest

from bpcount.cnf import read_dimacs
from bpcount.generate import (
    DEFAULTS,
    FAMILIES,
    coerce_params,
    family_of_path,
    generate,
    make_formula,
)


def sat(clauses) -> bool:
    from pysat.solvers import Solver

    with Solver(name="cadical153", bootstrap_with=clauses) as s:
        return bool(s.solve())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_deterministic_per_seed_and_index(family):
    a = make_formula(family, 3, 1)
    b = make_formula(family, 3, 1)
    c = make_formula(family, 4, 1)
    assert a.num_vars == b.num_vars and a.clauses() == b.clauses()
    assert a.clauses() != c.clauses()
    assert a.num_clauses > 0


def test_dqmr_structure_and_evidence():
    d, s, obs = 12, 10, 0.5
    for seed in range(5):
        f = make_formula("dqmr", seed, 0, diseases=d, symptoms=s, parents=4, observed=obs)
        cl = f.clauses()
        assert f.num_vars == d + s
        assert len(cl) == 5 * s + round(obs * s)
        for j in range(s):
            sv = d + j + 1
            block = cl[5 * j: 5 * j + 5]
            parents = sorted(-c[0] for c in block[:4])
            assert all(c[1] == sv and len(c) == 2 for c in block[:4])
            assert block[4][0] == -sv and sorted(block[4][1:]) == parents and len(set(parents)) == 4
            assert all(1 <= p <= d for p in parents)
        units = cl[5 * s:]
        assert all(len(u) == 1 and d < abs(u[0]) <= d + s for u in units)
        assert sat(cl)  # evidence comes from one sampled world


def test_kcnf_shape_and_sat_only():
    f = make_formula("kcnf", 0, 0, n=40, k=3, ratio=4.0)
    assert f.num_vars == 40 and f.num_clauses == 160
    assert all(len(c) == 3 and len({abs(x) for x in c}) == 3 for c in f.clauses())
    for i in range(3):
        assert sat(make_formula("kcnf", 1, i, n=30, k=3, ratio=4.6, sat_only=1).clauses())


def test_grid_and_cnfgen_families_satisfiable():
    for i in range(3):
        g = make_formula("grid", 0, i, rows=4, cols=5, determinism=0.8, evidence=4)
        assert g.num_vars == 20 and sat(g.clauses())
    for fam in ("tseitin", "kxor", "coloring"):
        assert sat(make_formula(fam, 0, 0).clauses())


def test_tseitin_count_is_a_power_of_two():
    pytest.importorskip("pyganak")
    from bpcount.compare.worker import ganak_count

    f = make_formula("tseitin", 0, 0, nodes=10, degree=3)
    log2 = ganak_count(f)["ln_count"] / math.log(2)
    assert log2 == pytest.approx(round(log2)) and round(log2) >= 15 - 10 + 1  # E − V + components


def test_generate_files_keep_free_variables_and_names(tmp_path):
    out = generate("kcnf", out=tmp_path, count=3, seed=5, n=30, k=3, ratio=0.3)
    assert [g.path.name for g in out] == [f"kcnf_s5_{i:05d}.cnf" for i in range(3)]
    f = read_dimacs(out[0].path)
    used = {abs(x) for x in f.lits.tolist()}
    assert f.num_vars == 30 and len(used) < 30  # 9 clauses cannot touch every variable
    again = generate("kcnf", out=tmp_path / "again", count=2, seed=5, n=30, k=3, ratio=0.3)
    assert again[1].path.read_text() == out[1].path.read_text()
    assert family_of_path(out[0].path) == "kcnf" and family_of_path("x/foo.cnf") == ""


def test_coerce_params():
    assert coerce_params("kcnf", {"n": "12", "ratio": "2.5"})["n"] == 12
    assert set(DEFAULTS["dqmr"]) == {"diseases", "symptoms", "parents", "observed", "prior"}
    with pytest.raises(ValueError, match="no parameter 'm'"):
        coerce_params("kcnf", {"m": "3"})
    with pytest.raises(ValueError, match="unknown family"):
        coerce_params("nope", {})
