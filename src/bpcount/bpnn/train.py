"""Training library behind ``bpcount train``: regression of ln(model count) with a BPNN.

Pipeline: read the labels CSV (columns ``file``, ``ln_count``; optional ``family``, ``split``,
``exact_seconds``) → resolve each file (relative to the CSV's folder, then to each data directory)
→ parse and simplify every formula **once** (cached in memory for the run; UNSAT, unlabelled and
fully exact formulas are skipped and counted) → split → epochs of Adam on shuffled batches → per
epoch: validation RMSE of ln Z (overall and per family), a row in ``results.csv``, ``last.pt``,
and ``best.pt`` when the validation RMSE improved; early stopping after ``patience`` epochs without
improvement.

Formulas of ``extra_labels`` CSVs (e.g. generated families labelled by ``bpcount generate
--label``) are training data only: they never enter validation, so model selection stays on the main
CSV's formulas.

Split rules (``split``): ``column`` uses the CSV's ``split`` column (``train`` / ``val``; every
other value, e.g. ``test`` or ``unlabeled``, is never used); ``random`` draws ``val_fraction`` of
each family with ``seed``; ``easy-hard`` puts the fastest formulas of each family (by
``exact_seconds``) in train and the slowest ``val_fraction`` in validation; ``auto`` is ``column``
when the CSV has a split column, else ``random``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bpcount.bpnn.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from bpcount.bpnn.model import BPNN, BPNNConfig, GateBase, gate_base
from bpcount.elimination import DEFAULT_MAX_WIDTH
from bpcount.graph import build_batch
from bpcount.sat import (
    DEFAULT_ENUM_BUDGET,
    DEFAULT_ENUM_MODELS,
    DEFAULT_SAT_BUDGET,
    enumerate_models,
)
from bpcount.search import DEFAULT_SEARCH_BUDGET, search_log_count
from bpcount.simplify import DEFAULT_EXACT_MAX_VARS, Residual

SPLITS = ("auto", "column", "random", "easy-hard")
LOSSES = ("mse", "mse-per-var", "mse-scaled", "huber")
#: Huber loss: quadratic for |Δ ln Z| below this many nats, linear above, so a few formulas with
#: errors of hundreds of nats (large ISCAS/sketch instances) do not drown the gradient of the rest.
HUBER_DELTA = 1.0

#: ``mse-scaled`` divides a formula's squared error by max(1, n_vars / SCALED_LOSS_VARS): plain MSE
#: up to this size, then the weight falls like 1/n, so an error that grows linearly with the formula
#: (a per-variable bias) costs in proportion to the number of variables instead of its square, and
#: the few 10⁴-variable formulas stop drowning the gradient of the rest.
SCALED_LOSS_VARS = 100.0
BASE_BOUND_TOL = 1e-9  # nats: a gate-BP base this close to ln_offset was projected up to it


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``bpcount train`` needs (stored in checkpoints as ``train_config``)."""

    labels: str  # labels CSV (file, ln_count[, family, split, exact_seconds])
    extra_labels: tuple[str, ...] = ()  # more labels CSVs, training only (never validation), e.g. generated families
    data_dirs: tuple[str, ...] = ()  # extra folders to resolve the CSV's file paths against
    out_dir: str = "runs/bpnn"  # results.csv, last.pt, best.pt
    model: BPNNConfig = field(default_factory=BPNNConfig)
    epochs: int = 100
    batch_size: int = 8  # formulas per optimiser step
    max_batch_edges: int = 200_000  # a batch is closed once it holds this many edges
    lr: float = 3e-3
    lr_schedule: str = "cosine"  # cosine | step | constant
    lr_step: int = 30  # step schedule: epochs per halving
    weight_decay: float = 0.0
    grad_clip: float = 10.0  # max gradient norm (0 disables)
    loss: str = "mse"  # mse on ln Z | mse-per-var: ((ln Ẑ − ln Z) / n_vars)² | mse-scaled (see
    # SCALED_LOSS_VARS) | huber (δ = 1 nat)
    split: str = "auto"  # auto | column | random | easy-hard
    val_fraction: float = 0.2  # random / easy-hard splits, per family
    families: tuple[str, ...] = ()  # restrict to these families (empty: all)
    max_edges: int | None = None  # skip formulas whose residual has more edges
    patience: int = 20  # early stopping: epochs without a better validation RMSE
    max_minutes: float | None = None  # stop after the epoch that crosses this wall-time budget
    seed: int = 0
    dtype: str = "float64"
    device: str = "cpu"
    exact_max_vars: int = DEFAULT_EXACT_MAX_VARS
    exact_max_width: int = DEFAULT_MAX_WIDTH  # components this narrow are counted exactly, not trained on
    enum_models: int = DEFAULT_ENUM_MODELS  # > 0: skip formulas with at most this many models (counting enumerates them,
    # see CountOptions.enum_models), so the model trains on what it will see; 0 keeps them
    search_budget: float = DEFAULT_SEARCH_BUDGET  # > 0: skip formulas the exact search decides in this many
    # seconds of reference-machine work (see CountOptions.search_budget); 0 keeps them
    equivalences: bool = True  # simplify with equivalent-literal substitution (inference repeats the choice)
    ema: float = 0.0  # > 0: validate and save an exponential moving average of the weights,
    # updated after every step with this decay (0 disables; raw weights are kept for --resume)
    jobs: int = 1  # processes that parse, simplify and run the exact stages on the formulas before
    # training (bpcount.parallel; 0: one per CPU); the budgets are work, with wall-clock limits of 5x
    resume: str | None = None  # checkpoint to continue from (its model config wins)
    init: str | None = None  # checkpoint whose weights start a fresh run
    init_gate_iters: int | None = None  # with init: the gate-BP iterations of the fine-tuned model's base
    # (a solver setting, not a weight: e.g. to match `--method bp`); None keeps the checkpoint's
    skip_base_below_bound: bool = True  # gate_base models: neither train nor validate on formulas whose
    # gate-BP base lies below their lower bound (see base_below_bound): counting answers the bound there
    progress: bool = True


@dataclass
class Example:
    """One cached training formula: its simplified residual and label."""

    file: str
    family: str
    ln_count: float
    residual: Residual
    n_vars: int
    exact_seconds: float | None
    split: str = ""
    extra: bool = False  # from an ``extra_labels`` CSV: always trained on, never validated on
    gate_row: torch.Tensor | None = None  # (3,) cached GateBase row (models with ``gate_base``)

    @property
    def num_edges(self) -> int:
        return int(self.residual.clause_ptr[-1])


@dataclass
class TrainResult:
    """Outcome of :func:`train`: paths, best validation RMSE and per-family RMSE, skip counts."""

    best_path: Path
    last_path: Path
    results_csv: Path
    best_val: float
    best_epoch: int
    val_by_family: dict[str, float]
    skipped: dict[str, int]
    num_train: int
    num_val: int
    seconds: float


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def resolve_file(name: str, csv_dir: Path, data_dirs: tuple[str, ...]) -> Path | None:
    """``name`` relative to the CSV folder, else to each data directory (also by base name)."""
    cands = [Path(name), csv_dir / name]
    for d in data_dirs:
        cands += [Path(d) / name, Path(d) / Path(name).name]
    for c in cands:
        if c.is_file():
            return c
    return None


def _float(x: str | None) -> float | None:
    try:
        return float(x) if x not in (None, "") else None
    except ValueError:
        return None


def _read_label_rows(csv_path: Path) -> tuple[list[dict], bool]:
    """Rows of a labels CSV and whether it has a ``split`` column."""
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"file", "ln_count"} <= set(reader.fieldnames):
            raise ValueError(f"{csv_path}: labels CSV needs at least the columns file, ln_count")
        return list(reader), "split" in reader.fieldnames


def load_examples(cfg: TrainConfig) -> tuple[list[Example], dict[str, int], bool]:
    """Read, resolve, parse and simplify every usable row once (``labels``, then ``extra_labels``);
    with ``cfg.jobs`` > 1 in worker processes (:mod:`bpcount.parallel`), in the same order.

    Returns (examples, skipped counts by reason, whether the main CSV has a ``split`` column).
    Rows of ``extra_labels`` CSVs come back with ``extra=True`` and split ``train`` (their own
    split column, if any, is ignored). A row whose preparation fails unexpectedly is skipped and
    counted under ``failed (<exception type>)``.
    """
    from tqdm import tqdm

    from bpcount.parallel import map_ordered, resolve_jobs

    rows, has_split = _read_label_rows(Path(cfg.labels))
    sources = [(row, Path(cfg.labels), False) for row in rows]
    for extra in cfg.extra_labels:
        sources += [(row, Path(extra), True) for row in _read_label_rows(Path(extra))[0]]
    skipped: Counter = Counter()
    out: list[Example] = []
    keep_splits = ("train", "val") if (has_split and cfg.split in ("auto", "column")) else None
    todo = []
    for row, csv_path, extra in sources:
        family = row.get("family") or "all"
        if cfg.families and family not in cfg.families:
            continue
        split = "train" if extra else (row.get("split") or "").strip()
        if keep_splits is not None and split not in keep_splits:
            skipped[f"split {split or '(empty)'}"] += 1
            continue
        todo.append((row, csv_path, extra, family, split, cfg))
    prepared = map_ordered(_prepare_row_safe, todo, resolve_jobs(cfg.jobs), on_error=_prepare_row_failed)
    for ex, reason in tqdm(prepared, total=len(todo), desc="parse+simplify", unit="file",
                           disable=not cfg.progress, file=sys.stderr):
        if ex is None:
            skipped[reason] += 1
        else:
            out.append(ex)
    return out, dict(skipped), has_split


def _prepare_row_safe(job: tuple) -> tuple[Example | None, str | None]:
    """:func:`_prepare_row`, with an unexpected failure turned into a skip reason."""
    try:
        return _prepare_row(job)
    except Exception as exc:  # noqa: BLE001 - one bad formula must not stop training
        return _prepare_row_failed(job, exc)


def _prepare_row_failed(job: tuple, exc: BaseException) -> tuple[None, str]:
    return None, f"failed ({type(exc).__name__})"


def _prepare_row(job: tuple) -> tuple[Example | None, str | None]:
    """One labels row → (its Example, None) or (None, why it is skipped). Module-level: it runs in
    worker processes with ``jobs`` > 1."""
    from bpcount.cnf import DimacsError, read_dimacs
    from bpcount.simplify import simplify

    row, csv_path, extra, family, split, cfg = job
    label = _float(row.get("ln_count"))
    if label is None or math.isnan(label):
        return None, "unlabelled"
    if label == -math.inf:
        return None, "unsat"
    path = resolve_file(row["file"], csv_path.parent, cfg.data_dirs)
    if path is None:
        return None, "missing file"
    try:
        formula = read_dimacs(path)
    except DimacsError:
        return None, "unreadable"
    simp = simplify(formula, exact_max_vars=cfg.exact_max_vars, exact_max_width=cfg.exact_max_width,
                    equivalences=cfg.equivalences)
    if simp.unsat:
        return None, "unsat"
    if simp.residual is None:
        return None, "fully exact"
    r = simp.residual
    if cfg.enum_models > 0:
        found = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=cfg.enum_models,
                                 sat_budget=DEFAULT_SAT_BUDGET, enum_budget=DEFAULT_ENUM_BUDGET)
        if found.ln_count is not None:
            return None, "few models (enumerated)"
    if cfg.search_budget > 0:
        if search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi,
                            budget=cfg.search_budget).ln_count is not None:
            return None, "decided by exact search"
    ex = Example(file=row["file"], family=family, ln_count=label, residual=r, n_vars=formula.num_vars,
                 exact_seconds=_float(row.get("exact_seconds")), split=split, extra=extra)
    if cfg.max_edges is not None and ex.num_edges > cfg.max_edges:
        return None, "too large"
    return ex, None


def split_examples(examples: list[Example], cfg: TrainConfig, has_split: bool) -> tuple[list[Example], list[Example]]:
    """(train, val) by ``cfg.split`` (see the module docstring); deterministic given ``cfg.seed``.

    Examples from ``extra_labels`` always go to train.
    """
    extras = [e for e in examples if e.extra]
    train, val = _split_main([e for e in examples if not e.extra], cfg, has_split)
    return train + extras, val


def _split_main(examples: list[Example], cfg: TrainConfig, has_split: bool) -> tuple[list[Example], list[Example]]:
    rule = cfg.split
    if rule not in SPLITS:
        raise ValueError(f"unknown split rule {rule!r}; expected one of {', '.join(SPLITS)}")
    if rule == "auto":
        rule = "column" if has_split else "random"
    if rule == "column":
        if not has_split:
            raise ValueError(f"{cfg.labels}: --split column needs a 'split' column")
        return [e for e in examples if e.split == "train"], [e for e in examples if e.split == "val"]
    by_family: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        by_family[e.family].append(e)
    rng = np.random.default_rng(cfg.seed)
    train, val = [], []
    for fam in sorted(by_family):
        items = by_family[fam]
        if rule == "random":
            items = [items[i] for i in rng.permutation(len(items))]
        else:
            items = sorted(items, key=lambda e: (e.exact_seconds if e.exact_seconds is not None else math.inf, e.file))
        n_val = int(round(cfg.val_fraction * len(items))) if len(items) > 1 else 0
        cut = len(items) - n_val
        train += items[:cut]
        val += items[cut:]
    return train, val


def make_batches(examples: list[Example], batch_size: int, max_edges: int,
                 rng: np.random.Generator | None) -> list[list[Example]]:
    """Consecutive groups of up to ``batch_size`` formulas / ``max_edges`` edges (shuffled if rng)."""
    order = rng.permutation(len(examples)) if rng is not None else np.arange(len(examples))
    batches, cur, edges = [], [], 0
    for i in order:
        e = examples[int(i)]
        if cur and (len(cur) >= batch_size or edges + e.num_edges > max_edges):
            batches.append(cur)
            cur, edges = [], 0
        cur.append(e)
        edges += e.num_edges
    if cur:
        batches.append(cur)
    return batches


def cache_gate_base(model: BPNN, examples: list[Example], *, device: str = "cpu",
                    max_edges: int = 400_000) -> None:
    """Compute each example's gate-BP base once (``model.config.gate_base``): it has no parameters
    and a fixed iteration count, so it is the same in every epoch and every batch."""
    cfg = model.config
    if not cfg.gate_base:
        return
    todo = [e for e in examples if e.gate_row is None]
    for batch in make_batches(todo, 64, max_edges, None):
        graph = build_batch([e.residual for e in batch], device=device, dtype=torch.float64)
        rows = gate_base(graph, cfg.gate_iters, cfg.damping).stack().cpu()
        for e, row in zip(batch, rows):
            e.gate_row = row


def base_below_bound(example: Example) -> bool:
    """Whether ``example``'s cached gate-BP base was raised to its lower bound ``ln_offset`` (the Bethe
    value said fewer models than the residual's exact part proves). Counting answers the bound on
    such a formula, never the model (:func:`bpcount.estimate._with_engine`), so a model that trains
    on it spends its loss on outputs nobody sees, and validating on it makes the epoch choice hang on
    them (the two val sk formulas of this kind moved the validation RMSE by tens of nats between
    epochs)."""
    if example.gate_row is None:
        return False
    log_z, clamped, _ = example.gate_row.tolist()
    return clamped > 0 and log_z <= example.residual.ln_offset + BASE_BOUND_TOL


def _batch_base(model: BPNN, batch: list[Example], device: str) -> GateBase | None:
    if not model.config.gate_base or any(e.gate_row is None for e in batch):
        return None
    return GateBase.from_rows(torch.stack([e.gate_row for e in batch]).to(device))


def _ema_update(ema_model: BPNN, model: BPNN, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·weights, parameter by parameter (no gradients)."""
    with torch.no_grad():
        for e, p in zip(ema_model.parameters(), model.parameters()):
            e.lerp_(p, 1.0 - decay)


def _loss(pred: torch.Tensor, batch: list[Example], kind: str) -> torch.Tensor:
    target = pred.new_tensor([e.ln_count for e in batch])
    err = pred - target
    if kind == "huber":
        return torch.nn.functional.huber_loss(pred, target, delta=HUBER_DELTA)
    if kind == "mse-per-var":
        err = err / pred.new_tensor([max(e.n_vars, 1) for e in batch])
    elif kind == "mse-scaled":
        err = err / pred.new_tensor([max(1.0, e.n_vars / SCALED_LOSS_VARS) for e in batch]).sqrt()
    elif kind != "mse":
        raise ValueError(f"unknown loss {kind!r}; expected one of {', '.join(LOSSES)}")
    return (err * err).mean()


def predict(model: BPNN, examples: list[Example], *, batch_size: int = 16, max_edges: int = 400_000,
            device: str = "cpu", dtype: torch.dtype = torch.float64) -> np.ndarray:
    """BPNN ln Z for each example (no gradients), in order."""
    out = np.empty(len(examples))
    pos = 0
    model.eval()
    with torch.no_grad():
        for batch in make_batches(examples, batch_size, max_edges, None):
            graph = build_batch([e.residual for e in batch], device=device, dtype=dtype)
            out[pos:pos + len(batch)] = model(graph, _batch_base(model, batch, device)).log_z.cpu().numpy()
            pos += len(batch)
    return out


def rmse_by_family(examples: list[Example], pred: np.ndarray) -> tuple[float, dict[str, float]]:
    """Overall RMSE of ln Z and RMSE per family."""
    err = pred - np.array([e.ln_count for e in examples])
    fams: dict[str, list[float]] = defaultdict(list)
    for e, d in zip(examples, err):
        fams[e.family].append(d)
    overall = float(np.sqrt(np.mean(err ** 2))) if len(err) else math.nan
    return overall, {f: float(np.sqrt(np.mean(np.square(v)))) for f, v in sorted(fams.items())}


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig):
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1), eta_min=cfg.lr * 0.02)
    if cfg.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(cfg.lr_step, 1), gamma=0.5)
    if cfg.lr_schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    raise ValueError(f"unknown lr schedule {cfg.lr_schedule!r}; expected cosine, step or constant")


def train(config: TrainConfig) -> TrainResult:
    """Train a BPNN as described by ``config``; see the module docstring."""
    from tqdm import tqdm

    t_start = time.perf_counter()
    cfg = config
    torch.manual_seed(cfg.seed)
    dtype = {"float64": torch.float64, "float32": torch.float32}[cfg.dtype]
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    resume_ckpt = load_checkpoint(cfg.resume) if cfg.resume else None
    if resume_ckpt is not None:
        model = model_from_checkpoint(resume_ckpt)
    elif cfg.init:
        model = model_from_checkpoint(load_checkpoint(cfg.init))
        if cfg.init_gate_iters is not None:
            model.config = dataclasses.replace(model.config, gate_iters=cfg.init_gate_iters)
    else:
        # a model trained with float32 messages keeps them at inference (BPNNConfig.message_dtype)
        pinned = "float32" if cfg.dtype == "float32" else cfg.model.message_dtype
        model = BPNN(dataclasses.replace(cfg.model, message_dtype=pinned))
    model = model.to(device=cfg.device, dtype=dtype)
    if not 0.0 <= cfg.ema < 1.0:
        raise ValueError(f"ema must be in [0, 1), got {cfg.ema}")
    # with --ema the validated and saved model is the average; without it, the model itself
    ema_model = copy.deepcopy(model) if cfg.ema > 0 else model
    if resume_ckpt is not None and resume_ckpt.get("raw_state_dict"):
        # an EMA run saves the averaged weights as the model and the raw ones beside them
        model.load_state_dict(resume_ckpt["raw_state_dict"])

    examples, skipped, has_split = load_examples(cfg)
    train_set, val_set = split_examples(examples, cfg, has_split)
    if not train_set:
        raise ValueError(f"{cfg.labels}: no usable training formulas (skipped: {skipped})")
    cache_gate_base(model, train_set + val_set, device=cfg.device)
    if model.config.gate_base and cfg.skip_base_below_bound:
        kept_train = [e for e in train_set if not base_below_bound(e)]
        kept_val = [e for e in val_set if not base_below_bound(e)]
        below = len(train_set) + len(val_set) - len(kept_train) - len(kept_val)
        if below:
            skipped["base below bound"] = below
            train_set, val_set = kept_train, kept_val
            if not train_set:
                raise ValueError(f"{cfg.labels}: no usable training formulas (skipped: {skipped})")
    skip_txt = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())) or "none"
    _log(f"bpcount train: {len(train_set)} train, {len(val_set)} val formulas; skipped: {skip_txt}", cfg.progress)

    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = _scheduler(opt, cfg)
    start_epoch, best_val, best_epoch = 1, math.inf, 0
    if resume_ckpt is not None:
        if resume_ckpt.get("optimizer"):
            opt.load_state_dict(resume_ckpt["optimizer"])
        if resume_ckpt.get("scheduler"):
            sched.load_state_dict(resume_ckpt["scheduler"])
        start_epoch = int(resume_ckpt.get("epoch") or 0) + 1
        best_val = float(resume_ckpt["best_val"]) if resume_ckpt.get("best_val") is not None else math.inf
        best_epoch = int(resume_ckpt.get("train_config", {}).get("best_epoch", start_epoch - 1) or 0)

    results_csv = out_dir / "results.csv"
    families = sorted({e.family for e in val_set})
    header = ["epoch", "lr", "train_loss", "train_rmse", "val_rmse"] + [f"val_rmse_{f}" for f in families] + ["seconds"]
    if not (resume_ckpt is not None and results_csv.exists()):
        with open(results_csv, "w", newline="") as fh:
            csv.writer(fh).writerow(header)
    meta = {
        "labels": str(cfg.labels), "data_dirs": list(cfg.data_dirs), "split": cfg.split,
        "num_train": len(train_set), "num_val": len(val_set), "skipped": skipped,
        "extra_labels": list(cfg.extra_labels),
        "train_families": dict(Counter(e.family for e in train_set if not e.extra)),
        "extra_families": dict(Counter(e.family for e in train_set if e.extra)),
        "val_families": dict(Counter(e.family for e in val_set)),
    }
    train_cfg = {**dataclasses.asdict(cfg), **meta}
    rng = np.random.default_rng(cfg.seed + start_epoch)
    best_path, last_path = out_dir / "best.pt", out_dir / "last.pt"
    val_fam: dict[str, float] = {}
    epochs_since_best = 0
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        batches = make_batches(train_set, cfg.batch_size, cfg.max_batch_edges, rng)
        losses, sq_errs = [], []
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", leave=False,
                   disable=not cfg.progress, file=sys.stderr)
        for batch in bar:
            graph = build_batch([e.residual for e in batch], device=cfg.device, dtype=dtype)
            pred = model(graph, _batch_base(model, batch, cfg.device)).log_z
            loss = _loss(pred, batch, cfg.loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if cfg.ema > 0:
                _ema_update(ema_model, model, cfg.ema)
            lv = float(loss.detach())
            losses.append(lv)
            sq_errs += ((pred.detach().cpu().numpy() - np.array([e.ln_count for e in batch])) ** 2).tolist()
            bar.set_postfix(loss=f"{lv:.3g}")
        lr = opt.param_groups[0]["lr"]
        sched.step()
        train_rmse = float(np.sqrt(np.mean(sq_errs)))
        if val_set:
            val_rmse, val_fam = rmse_by_family(val_set, predict(ema_model, val_set, device=cfg.device,
                                                                dtype=dtype))
        else:
            val_rmse, val_fam = train_rmse, {}
        improved = val_rmse < best_val
        if improved:
            best_val, best_epoch, epochs_since_best = val_rmse, epoch, 0
        else:
            epochs_since_best += 1
        secs = time.perf_counter() - t0
        with open(results_csv, "a", newline="") as fh:
            csv.writer(fh).writerow([epoch, f"{lr:.6g}", f"{np.mean(losses):.6g}", f"{train_rmse:.6g}",
                                     f"{val_rmse:.6g}"] + [f"{val_fam.get(f, math.nan):.6g}" for f in families]
                                    + [f"{secs:.2f}"])
        state = dict(optimizer=opt.state_dict(), scheduler=sched.state_dict(), epoch=epoch, best_val=best_val)
        tc = {**train_cfg, "best_epoch": best_epoch}
        epoch_meta = {"val_rmse": val_rmse, "val_rmse_by_family": val_fam, "train_rmse": train_rmse}
        if cfg.ema > 0:
            state["raw_state_dict"] = model.state_dict()
        save_checkpoint(last_path, ema_model, train_config=tc, metadata=epoch_meta, **state)
        if improved:
            save_checkpoint(best_path, ema_model, train_config=tc, metadata=epoch_meta, **state)
        fam_txt = " ".join(f"{f}={v:.3f}" for f, v in val_fam.items())
        _log(f"epoch {epoch}: train rmse {train_rmse:.4f}, val rmse {val_rmse:.4f}{' *' if improved else ''} "
             f"[{fam_txt}] ({secs:.1f}s)", cfg.progress)
        if cfg.max_minutes is not None and time.perf_counter() - t_start > 60.0 * cfg.max_minutes:
            _log(f"time budget of {cfg.max_minutes} min reached after epoch {epoch}", cfg.progress)
            break
        if cfg.patience and epochs_since_best >= cfg.patience:
            _log(f"early stop: no val improvement for {cfg.patience} epochs (best {best_val:.4f} at {best_epoch})",
                 cfg.progress)
            break
    if not best_path.exists():
        save_checkpoint(best_path, model, train_config={**train_cfg, "best_epoch": best_epoch},
                        epoch=best_epoch, best_val=best_val)
    best_fam = load_checkpoint(best_path).get("metadata", {}).get("val_rmse_by_family", val_fam)
    return TrainResult(best_path=best_path, last_path=last_path, results_csv=results_csv, best_val=best_val,
                       best_epoch=best_epoch, val_by_family=best_fam, skipped=skipped,
                       num_train=len(train_set), num_val=len(val_set), seconds=time.perf_counter() - t_start)
