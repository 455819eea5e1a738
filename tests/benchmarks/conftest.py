"""Load the benchmark scripts (benchmarks/*.py, not a package) as modules for their smoke tests."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO


def load_script(name: str):
    """benchmarks/<name>.py as a module (registered in sys.modules under bench_<name>); benchmarks/
    goes on sys.path first, as it is for ``python benchmarks/<name>.py``, for the scripts' shared
    helpers (benchmarks/calibration.py)."""
    folder = str(REPO / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    key = f"bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def accuracy_script():
    return load_script("accuracy")


@pytest.fixture(scope="module")
def batch_script():
    return load_script("batch")


@pytest.fixture(scope="module")
def search_work_script():
    return load_script("search_work")


@pytest.fixture(scope="module")
def bound_work_script():
    return load_script("bound_work")


@pytest.fixture(scope="module")
def sat_work_script():
    return load_script("sat_work")


@pytest.fixture(scope="module")
def base_below_bound_script():
    return load_script("base_below_bound")


@pytest.fixture(scope="module")
def probe_work_script():
    return load_script("probe_work")


@pytest.fixture(scope="module")
def probe_budget_script():
    return load_script("probe_budget")


def kcnf_files(folder, count: int, *, seed: int, n: int, ratio: float) -> list[str]:
    """``count`` generated random 3-CNFs (bpcount generate kcnf) written to folder/k<i>.cnf; their paths."""
    from bpcount.generate import make_formula

    files = []
    for i in range(count):
        path = folder / f"k{i}.cnf"
        path.write_text(make_formula("kcnf", seed=seed, index=i, n=n, ratio=ratio).to_dimacs())
        files.append(str(path))
    return files


@pytest.fixture(scope="module")
def probe_groups_script():
    return load_script("probe_groups")


@pytest.fixture(scope="module")
def sat_fallback_script():
    return load_script("sat_fallback")
