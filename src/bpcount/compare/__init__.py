"""``bpcount compare``: run bpcount and peer counters on the same formulas and judge every answer.

Library entry point :func:`compare` (keyword-only options in :class:`CompareOptions`) returns a
:class:`Comparison`; :func:`write_outputs` writes the per-formula CSV, the markdown summary and the
plots. Modules: :mod:`.runner` (child processes with time and memory limits), :mod:`.worker`
(pyganak / pyapproxmc in a child), :mod:`.prep` (unprojected, free-variable-safe clauses),
:mod:`.parse` (peer output parsers), :mod:`.counters`, :mod:`.summary`, :mod:`.plots`.

Scope: unweighted model counting. The peers are handed plain clauses (weights dropped), while bpcount
would estimate a weighted count for a file with ``c p weight`` lines, so weighted inputs are not
meaningful here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bpcount.compare.counters import Counter, CounterSettings, make_counter
from bpcount.compare.summary import CounterInfo, FormulaRow, csv_rows, summary_markdown

DEFAULT_COUNTERS = ("bp", "approxmc", "ganak")


@dataclass(frozen=True)
class CompareOptions:
    counters: tuple[str, ...] = DEFAULT_COUNTERS
    settings: CounterSettings = field(default_factory=CounterSettings)
    labels: str | None = None  # labels CSV (bench format: file relative to the CSV's folder, ln_count)
    split: str | None = None  # keep only inputs whose label row has this split
    family: str | None = None  # keep only inputs whose label row has this family
    limit: int | None = None  # first N inputs after filtering
    binaries: dict[str, str] = field(default_factory=dict)  # binary counter name -> executable path


@dataclass
class Comparison:
    rows: list[FormulaRow]
    infos: list[CounterInfo]
    unreadable: list[str] = field(default_factory=list)  # inputs that could not be read or parsed

    @property
    def exact_counters(self) -> list[str]:
        """Exact counters, pyganak first: the reference order."""
        names = [i.name for i in self.infos if i.kind == "exact"]
        return sorted(names, key=lambda n: (n != "ganak", names.index(n)))

    def summary(self) -> str:
        return summary_markdown(self.rows, self.infos, self.exact_counters)


def select_inputs(inputs: Iterable[str], options: CompareOptions) -> tuple[list[str], dict[str, dict]]:
    """Expanded input paths after the split / family / limit filters, and the label rows by path."""
    from bpcount.estimate import expand_inputs
    from bpcount.labels import read_labels

    inputs = list(inputs)
    paths = [p for p in expand_inputs(inputs) if p != "-"]
    labels = read_labels(options.labels) if options.labels else {}
    if labels:  # labelled files below an input folder that the *.cnf* glob misses (e.g. *.dimacs.gz)
        seen = {str(Path(p).resolve()) for p in paths}
        dirs = [Path(i).resolve() for i in inputs if i != "-" and Path(i).is_dir()]
        extra = sorted(k for k in labels if k not in seen and Path(k).is_file()
                       and any(Path(k).is_relative_to(d) for d in dirs))
        paths += extra
    if (options.split or options.family) and not labels:
        raise ValueError("--split / --family need --labels")
    if options.split:
        paths = [p for p in paths if labels.get(str(Path(p).resolve()), {}).get("split") == options.split]
    if options.family:
        paths = [p for p in paths if labels.get(str(Path(p).resolve()), {}).get("family") == options.family]
    if options.limit is not None:
        paths = paths[: options.limit]
    return paths, labels


def compare(inputs: Iterable[str], *, options: CompareOptions = CompareOptions(), progress: bool = False,
            log=None) -> Comparison:
    """Run every counter in ``options.counters`` on every input (see the module docstring)."""
    from bpcount.generate import family_of_path

    paths, labels = select_inputs(inputs, options)
    counters: list[Counter] = [make_counter(n, options.settings, binaries=options.binaries)
                               for n in options.counters]
    rows = []
    for p in paths:
        lab = labels.get(str(Path(p).resolve()), {})
        rows.append(FormulaRow(p, family=lab.get("family") or family_of_path(p),
                               label_ln=lab.get("ln_count") if lab.get("status", "ok") == "ok" else None))
    for c in counters:
        if log:
            log(f"bpcount compare: running {c.name} on {len(paths)} formulas")
        for row, ans in zip(rows, c.count_all(paths, options.settings, progress=progress)):
            row.answers[c.name] = ans
    unreadable = _fill_sizes(rows, labels)
    infos = [CounterInfo(c.name, c.kind, c.epsilon) for c in counters]
    return Comparison(rows, infos, unreadable)


def _fill_sizes(rows: list[FormulaRow], labels: dict[str, dict]) -> list[str]:
    """Fill n_vars / n_clauses (from the labels, else by reading); return the unreadable inputs."""
    from bpcount.cnf import DimacsError, read_dimacs

    bad = []
    for row in rows:
        lab = labels.get(str(Path(row.file).resolve()))
        if lab and lab.get("n_vars"):
            row.n_vars, row.n_clauses = int(lab["n_vars"]), int(lab["n_clauses"])
            continue
        try:
            f = read_dimacs(row.file)
            row.n_vars, row.n_clauses = f.num_vars, f.num_clauses
        except (DimacsError, OSError) as exc:
            bad.append(f"{row.file}: {exc}")
    return bad


def write_outputs(result: Comparison, out: str | Path, *, plots: bool = True) -> list[Path]:
    """``out/results.csv``, ``out/summary.md`` and (``plots``) ``out/cactus.png``, ``out/error.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fields, recs = csv_rows(result.rows, result.infos, result.exact_counters)
    written = [out / "results.csv", out / "summary.md"]
    with open(written[0], "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    written[1].write_text(result.summary())
    if plots:
        from bpcount.compare.plots import cactus_plot, error_plot

        written.append(cactus_plot(result.rows, result.infos, out / "cactus.png"))
        written.append(error_plot(result.rows, result.infos, result.exact_counters, out / "error.png"))
    return written
