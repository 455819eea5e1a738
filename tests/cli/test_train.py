"""``bpcount train``: a tiny end-to-end run through click's CliRunner (a few seconds)."""

from __future__ import annotations

import csv
import re

import numpy as np
import torch
from click.testing import CliRunner

from bpcount.bpnn.checkpoint import load_checkpoint, load_model
from bpcount.cli import cli
from bpcount.cnf import Formula
from tests.conftest import brute_log_count


def _write_dataset(folder, count=10, seed=0):
    """Small random 3-CNFs (12 variables, labelled by brute force) and a labels CSV with splits."""
    rng = np.random.default_rng(seed)
    (folder / "cnf").mkdir()
    rows = []
    for i in range(count):
        n, m = 12, 30
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1] for _ in range(m)]
        f = Formula.from_clauses(clauses, n)
        name = f"f{i}.cnf"
        (folder / "cnf" / name).write_text(f.to_dimacs())
        rows.append({"file": name, "family": "rand", "ln_count": brute_log_count(f),
                     "exact_seconds": i * 0.1})
    rows.append({"file": "missing.cnf", "family": "rand", "ln_count": "", "exact_seconds": ""})
    with open(folder / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return folder / "labels.csv"


def test_train_smoke(tmp_path):
    labels = _write_dataset(tmp_path)
    out = tmp_path / "run"
    args = ["train", str(tmp_path / "cnf"), "--labels", str(labels), "--out", str(out), "--epochs", "3",
            "--batch-size", "4", "--layers", "2", "--hidden", "8", "--split", "easy-hard",
            "--val-fraction", "0.3", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--seed", "1", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(rf"best\t{re.escape(str(out / 'best.pt'))}\tval_rmse=\S+\tepoch=\d", lines[0])
    assert lines[1:] == [f"last\t{out / 'last.pt'}", f"results\t{out / 'results.csv'}"]
    assert "c skipped: 1 unlabelled" in result.stderr
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and "val_rmse_rand" in rows[0]
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["epoch"] == 3 and ckpt["optimizer"] and ckpt["train_config"]["num_train"] == 7
    assert ckpt["train_config"]["num_val"] == 3 and ckpt["model_config"]["num_layers"] == 2
    assert torch.isfinite(torch.tensor(ckpt["best_val"]))
    load_model(out / "best.pt")

    # --resume continues from the saved epoch
    resumed = CliRunner().invoke(cli, [*args[:args.index("--epochs")], "--epochs", "4", "--labels", str(labels),
                                       "--resume", str(out / "last.pt"), "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "-q"])
    assert resumed.exit_code == 0, resumed.output
    assert load_checkpoint(out / "last.pt")["epoch"] == 4
    assert [r["epoch"] for r in csv.DictReader(open(out / "results.csv"))] == ["1", "2", "3", "4"]

    # --init fine-tunes: a fresh run (epoch 1, own results) from the checkpoint's weights and config;
    # the model options given here (--layers 3, --hidden 5) are ignored
    tuned = tmp_path / "tuned"
    init = load_checkpoint(out / "last.pt")
    fine = CliRunner().invoke(cli, ["train", str(tmp_path / "cnf"), "--labels", str(labels), "--out", str(tuned),
                                    "--epochs", "1", "--layers", "3", "--hidden", "5", "--lr", "1e-9",
                                    "--init", str(out / "last.pt"), "--exact-max-vars", "0", "--exact-width", "0",
                                    "--enum-models", "0", "--search-budget", "0", "-q"])
    assert fine.exit_code == 0, fine.output
    ckpt = load_checkpoint(tuned / "last.pt")
    assert ckpt["epoch"] == 1 and ckpt["model_config"] == init["model_config"]
    assert ckpt["train_config"]["init"] == str(out / "last.pt")
    assert ckpt["state_dict"].keys() == init["state_dict"].keys()
    assert all(torch.allclose(ckpt["state_dict"][k].double(), init["state_dict"][k].double(), atol=1e-6)
               for k in init["state_dict"])

    # --gate-iters, where given with --init, replaces the checkpoint's gate-BP iteration count (a solver
    # setting, not a weight); every other model option still comes from the checkpoint
    assert init["model_config"]["gate_iters"] != 7
    regated = CliRunner().invoke(cli, ["train", str(tmp_path / "cnf"), "--labels", str(labels), "--out",
                                       str(tmp_path / "regated"), "--epochs", "1", "--layers", "3", "--lr", "1e-9",
                                       "--gate-iters", "7", "--init", str(out / "last.pt"), "--exact-max-vars", "0",
                                       "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "-q"])
    assert regated.exit_code == 0, regated.output
    assert load_checkpoint(tmp_path / "regated" / "last.pt")["model_config"] == {**init["model_config"], "gate_iters": 7}


def test_train_bad_csv(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,count\na,1\n")
    result = CliRunner().invoke(cli, ["train", "--labels", str(bad), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 3
    assert f"{bad}: labels CSV needs at least the columns file, ln_count" in result.stderr


def test_extra_labels_are_train_only(tmp_path):
    main_dir, extra_dir = tmp_path / "main", tmp_path / "extra"
    main_dir.mkdir()
    extra_dir.mkdir()
    labels = _write_dataset(main_dir, count=6, seed=2)
    extra = _write_dataset(extra_dir, count=5, seed=3)
    rows = list(csv.DictReader(open(extra)))
    for r in rows:  # an extra CSV's split column is ignored: even 'val' rows are trained on
        r["family"], r["split"], r["file"] = "gen", "val", f"cnf/{r['file']}"
    with open(extra, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(main_dir / "cnf"), "--labels", str(labels), "--extra-labels",
                                      str(extra), "--out", str(out), "--epochs", "1", "--layers", "1",
                                      "--hidden", "4", "--split", "random", "--val-fraction", "0.5",
                                      "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "-q"])
    assert result.exit_code == 0, result.output
    tc = load_checkpoint(out / "last.pt")["train_config"]
    assert tc["num_val"] == 3 and tc["val_families"] == {"rand": 3}
    assert tc["train_families"] == {"rand": 3} and tc["extra_families"] == {"gen": 5}
    assert tc["num_train"] == 8 and tc["extra_labels"] == [str(extra)]


def test_ema_and_gate_base_training(tmp_path):
    labels = _write_dataset(tmp_path)
    out = tmp_path / "ema"
    args = ["train", str(tmp_path / "cnf"), "--labels", str(labels), "--out", str(out), "--epochs", "2",
            "--batch-size", "2", "--layers", "2", "--hidden", "8", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--seed", "2",
            "--gate-base", "--gate-iters", "20", "--base-when-converged", "--ema", "0.5", "--lr", "0.05", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["model_config"]["gate_base"] and ckpt["train_config"]["ema"] == 0.5
    raw, avg = ckpt["raw_state_dict"], ckpt["state_dict"]
    # the saved model is the average, not the last raw weights
    assert any(not torch.allclose(raw[k].double(), avg[k].double()) for k in raw)
    load_model(out / "best.pt")
    resumed = CliRunner().invoke(cli, [*args[:args.index("--epochs")], "--epochs", "3", "--resume",
                                       str(out / "last.pt"), *args[args.index("--epochs") + 2:]])
    assert resumed.exit_code == 0, resumed.output
    assert load_checkpoint(out / "last.pt")["epoch"] == 3


def test_formulas_with_few_models_are_skipped(tmp_path):
    """Counting enumerates formulas with ≤ --enum-models models exactly, so training skips them."""
    from bpcount.simplify import exact_log_count

    rng = np.random.default_rng(5)
    (tmp_path / "cnf").mkdir()
    rows = []
    for i in range(12):
        n, m = (12, 34) if i % 2 else (22, 40)  # ~40 models, or ~10^4
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1] for _ in range(m)]
        f = Formula.from_clauses(clauses, n)
        (tmp_path / "cnf" / f"f{i}.cnf").write_text(f.to_dimacs())
        rows.append({"file": f"f{i}.cnf", "family": "rand", "ln_count": exact_log_count(n, f.lits, f.clause_ptr)})
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    few = sum(1 for r in rows if 0 < np.exp(r["ln_count"]) <= 100.5)
    unsat = sum(1 for r in rows if r["ln_count"] == -np.inf)
    assert 2 <= few <= 8
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "cnf"), "--labels", str(tmp_path / "labels.csv"),
                                      "--out", str(out), "--epochs", "1", "--layers", "1", "--hidden", "4",
                                      "--split", "random", "--val-fraction", "0.3", "--exact-max-vars", "0",
                                      "--exact-width", "0", "--enum-models", "100", "--search-budget", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert f"{few} few models (enumerated)" in result.stderr
    tc = load_checkpoint(out / "last.pt")["train_config"]
    assert tc["num_train"] + tc["num_val"] == 12 - few - unsat
    # the exact search decides every satisfiable one of these (tiny) formulas, so nothing is left to train on
    searched = CliRunner().invoke(cli, ["train", str(tmp_path / "cnf"), "--labels", str(tmp_path / "labels.csv"),
                                        "--out", str(tmp_path / "run2"), "--epochs", "1", "--layers", "1",
                                        "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0",
                                        "--search-budget", "10", "-q"])
    assert f"'decided by exact search': {12 - unsat}" in searched.stderr, searched.output
    assert searched.exit_code != 0 and not (tmp_path / "run2" / "last.pt").exists()
