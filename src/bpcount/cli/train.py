"""``bpcount train --labels CSV [DATA_DIR...]``: train a BPNN on labelled formulas.

A thin wrapper over :func:`bpcount.bpnn.train.train`: options are gathered into one
:class:`~bpcount.bpnn.train.TrainConfig`. Progress bars and logs go to stderr; stdout gets one
summary line per file written (best checkpoint, last checkpoint, results CSV).
"""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from bpcount.cli.common import verbosity_options
from bpcount.elimination import DEFAULT_MAX_WIDTH
from bpcount.sat import DEFAULT_ENUM_MODELS
from bpcount.search import DEFAULT_SEARCH_BUDGET


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data_dirs", nargs=-1, metavar="[DATA_DIR]...", type=click.Path(file_okay=False, exists=True))
@click.option("--labels", required=True, type=click.Path(dir_okay=False, exists=True),
              help="CSV with columns file, ln_count (optional: family, split, exact_seconds). File paths "
                   "are relative to the CSV's folder or to a DATA_DIR.")
@click.option("--extra-labels", "extra_labels", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="More labels CSVs whose formulas are only trained on, never validated on (e.g. "
                   "OUT/labels.csv of `bpcount generate --label`). Repeatable.")
@click.option("--out", "out_dir", default="runs/bpnn", show_default=True, type=click.Path(file_okay=False),
              help="Folder for results.csv, last.pt and best.pt.")
@click.option("--epochs", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Formulas per optimiser step.")
@click.option("--lr", type=click.FloatRange(min=0.0, min_open=True), default=3e-3, show_default=True)
@click.option("--lr-schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine", show_default=True)
@click.option("--loss", type=click.Choice(["mse", "mse-per-var", "mse-scaled", "huber"]), default="mse",
              show_default=True,
              help="MSE on ln Z; MSE of ln Z per variable; mse-scaled: squared error / max(1, n_vars/100) "
                   "(plain MSE on small formulas, per-variable weight on large ones); or Huber (δ = 1 nat).")
@click.option("--split", type=click.Choice(["auto", "column", "random", "easy-hard"]), default="auto",
              show_default=True, help="auto: the CSV's split column if present, else random (per family).")
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.2, show_default=True)
@click.option("--family", "families", multiple=True, help="Train only on these families (repeatable).")
@click.option("--patience", type=click.IntRange(min=0), default=20, show_default=True,
              help="Early stopping after this many epochs without a better validation RMSE (0: never).")
@click.option("--max-minutes", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Wall-time budget: stop after the epoch that crosses it.")
@click.option("--layers", type=click.IntRange(min=1), default=5, show_default=True, help="BPNN-D layers K.")
@click.option("--tied", is_flag=True, help="One shared damping operator (iterated to convergence at inference).")
@click.option("--damping", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.5, show_default=True)
@click.option("--warmup-iters", type=click.IntRange(min=0), default=0, show_default=True,
              help="Plain BP iterations before the learned layers.")
@click.option("--gate-features", is_flag=True,
              help="Give the readout structural flags: AND/OR gate outputs and XOR triples (circuit CNFs).")
@click.option("--gate-base", is_flag=True,
              help="Readout base: the Bethe ln Z of BP on the gate factor graph (Tseitin gates and XOR "
                   "triples merged into single factors) instead of the clause-level Bethe value.")
@click.option("--base-when-converged", is_flag=True,
              help="--gate-base: output the gate-BP value itself where gate BP converged (not clamped); "
                   "the readout corrects only the other formulas.")
@click.option("--gate-iters", type=click.IntRange(min=1), default=500, show_default=True,
              help="--gate-base: most damped gate-BP iterations (the solver of --method bp).")
@click.option("--convergence-feature", is_flag=True,
              help="Give the readout a per-formula flag: messages still moving after the last layer.")
@click.option("--hidden", type=click.IntRange(min=1), default=32, show_default=True, help="Readout MLP width.")
@click.option("--max-edges", type=click.IntRange(min=1), default=None, help="Skip formulas larger than this.")
@click.option("--exact-max-vars", type=click.IntRange(0, 24), default=20, show_default=True,
              help="Components this small are counted exactly by the simplifier (not trained on).")
@click.option("--exact-width", "exact_max_width", type=click.IntRange(0, 26), default=DEFAULT_MAX_WIDTH,
              show_default=True,
              help="Components of elimination width at most this are counted exactly (not trained on; 0 disables).")
@click.option("--enum-models", type=click.IntRange(min=0), default=DEFAULT_ENUM_MODELS, show_default=True,
              help="Skip formulas with at most this many models: counting enumerates those exactly "
                   "(bpcount --enum-models). 0 trains on them too.")
@click.option("--search-budget", type=click.FloatRange(min=0.0), default=DEFAULT_SEARCH_BUDGET, show_default=True,
              help="Skip formulas the exact search decides within this many seconds (reference-machine "
                   "work, as bpcount --search-budget): counting decides them exactly. 0 trains on them too.")
@click.option("--skip-base-below-bound/--keep-base-below-bound", default=True, show_default=True,
              help="--gate-base: neither train nor validate on formulas whose gate-BP base is below their "
                   "exact part ln_offset (counting answers that bound there, never the model).")
@click.option("--equivalences/--no-equivalences", default=True, show_default=True,
              help="Simplify with equivalent-literal substitution. Stored in the checkpoint: counting with "
                   "the model simplifies the same way.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes that read, simplify and run the exact stages on the formulas before "
                   "training (0: one per CPU). The exact stages' budgets are work (same decisions at any load, up "
                   "to their wall-clock limits of 5x the budget).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--ema", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Validate and save an exponential moving average of the weights with this decay per "
                   "step (e.g. 0.99); 0 disables.")
@click.option("--resume", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Continue from a training checkpoint (e.g. OUT/last.pt).")
@click.option("--init", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Fine-tune: start a fresh run (new optimiser, epoch 1) from this checkpoint's weights and "
                   "model config (the model options above are then ignored, except --gate-iters where given: "
                   "the gate-BP base's iterations are a solver setting, not a weight), e.g. pretrained/default.pt.")
@verbosity_options
def train_command(data_dirs, labels, extra_labels, out_dir, epochs, batch_size, lr, lr_schedule, loss, split, val_fraction,
                  families, patience, max_minutes, layers, tied, damping, warmup_iters, gate_features, convergence_feature, gate_base, gate_iters, base_when_converged, hidden, max_edges, exact_max_vars, exact_max_width, enum_models, search_budget, skip_base_below_bound, equivalences, jobs, seed, dtype, device,
                  ema, resume, init, verbose, quiet) -> None:
    """Train a BPNN on labelled CNF formulas (regression of ln model count)."""
    from bpcount.bpnn.model import BPNNConfig
    from bpcount.bpnn.train import TrainConfig, train

    given = click.get_current_context().get_parameter_source("gate_iters") == ParameterSource.COMMANDLINE

    model = BPNNConfig(num_layers=layers, tied=tied, damping=damping, warmup_iters=warmup_iters,
                       gate_features=gate_features, convergence_feature=convergence_feature,
                       gate_base=gate_base, gate_iters=gate_iters, base_when_converged=base_when_converged,
                       edge_hidden=hidden, clause_hidden=hidden, var_hidden=hidden)
    config = TrainConfig(labels=labels, extra_labels=tuple(extra_labels), data_dirs=tuple(data_dirs), out_dir=out_dir, model=model, epochs=epochs,
                         batch_size=batch_size, lr=lr, lr_schedule=lr_schedule, loss=loss, split=split,
                         val_fraction=val_fraction, families=tuple(families), patience=patience,
                         max_minutes=max_minutes, max_edges=max_edges, exact_max_vars=exact_max_vars,
                         exact_max_width=exact_max_width, enum_models=enum_models, search_budget=search_budget, skip_base_below_bound=skip_base_below_bound, equivalences=equivalences, jobs=jobs, seed=seed, dtype=dtype, device=device, ema=ema, resume=resume, init=init,
                         init_gate_iters=gate_iters if init and given else None, progress=not quiet)
    try:
        result = train(config)
    except (ValueError, FileNotFoundError) as exc:
        click.echo(f"bpcount train: error: {exc}", err=True)
        sys.exit(3)
    skipped = ", ".join(f"{v} {k}" for k, v in sorted(result.skipped.items())) or "none"
    click.echo(f"c skipped: {skipped}", err=True)
    click.echo(f"best\t{result.best_path}\tval_rmse={result.best_val:.6g}\tepoch={result.best_epoch}")
    click.echo(f"last\t{result.last_path}")
    click.echo(f"results\t{result.results_csv}")
