"""Packaging: every sub-package is installed, and the default model ships as package data."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"bpcount"} | {
        "bpcount." + ".".join(p.parent.relative_to(REPO / "src" / "bpcount").parts)
        for p in (REPO / "src" / "bpcount").rglob("__init__.py")
        if p.parent != REPO / "src" / "bpcount"
    }
    assert found | {"bpcount.pretrained"} == listed


def test_pretrained_resources_resolve():
    import importlib.resources

    root = importlib.resources.files("bpcount.pretrained")
    assert (root / "__init__.py").is_file()
