"""Smoke test of benchmarks/batch.py (formulas per second by method and device)."""

from __future__ import annotations


def test_batch_script_writes_one_row_per_method_and_counts_every_formula(tmp_path, batch_script):
    out = tmp_path / "batch.md"
    assert batch_script.main(["--out", str(out), "--devices", "cpu", "--count", "3", "--batch-sizes", "2",
                              "--sets", "0", "--default-count", "0"]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| kcnf")]
    methods = [name for name, _ in batch_script.METHODS]
    assert [r.split(" | ")[3] for r in rows] == methods  # one engine row per method
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        formulas, mode, seconds, per_second = int(cells[1]), cells[2], float(cells[6]), float(cells[7])
        assert formulas == (3 if mode == "engine" else 2)
        # seconds are printed to 0.01 s and rates to 0.1/s: the rate must match within that rounding
        low, high = formulas / (seconds + 0.005), formulas / max(seconds - 0.005, 1e-9)
        assert low - 0.05 <= per_second <= high + 0.05
        assert "failed" not in r
        if mode == "engine":
            assert cells[8] == "0"  # exact stages off: nothing is decided exactly
