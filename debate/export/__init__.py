"""Training data from debate runs: one exporter per format, TRL's standard dataset formats.

::

    from debate.export import export_run

    report = export_run("runs/rcr", "dte", "data/dte", min_agreement=0.6)
    print(report.rows, report.pseudo_label_accuracy)

Formats (``FORMATS``; ``debate export RUN_DIR --format NAME --out DIR``):

- ``dte``: consensus traces with the pseudo-label (``prompt``/``completion`` + ``answer``): GRPO, SFT.
- ``sft``: the same traces as ``messages`` conversations: SFT.
- ``dpo``: ``prompt``/``chosen``/``rejected``: what the debate settled on over what it overturned.
- ``kto``: ``prompt``/``completion``/``label``: each response, desirable or not.
- ``critique``: ``messages``: a wrong solution, its critique and the corrected solution.
- ``judge``: ``prompt``/``chosen``/``rejected`` between judge rationales with right and wrong verdicts.
- ``step_dpo``: ``prompt``/``chosen``/``rejected``: a refuted solution's correct prefix, then the consensus
  solution's next step over its first wrong step (Step-DPO).
- ``stance``: ``messages``: a position to argue, then a debater's strongest statement for it (DEBATUNE).
- ``pbt``: ``prompt``/``chosen``/``rejected``: accepting correct and resisting wrong persuasion (PBT).
- ``aidsafe``: ``messages``: a request, then the refined policy-embedded chain of thought (AIDSAFE).
- ``aidsafe_dpo``: ``prompt``/``chosen``/``rejected``: the refined chain over a belief-augmented or unrefined one.

Every export writes, into its output directory, the dataset (``save_to_disk``:
load it with ``datasets.load_from_disk``), the same rows as ``data.jsonl``, a
dataset card (``README.md``) and the counts as ``export.json``. Run
directories are only read; the gold answers they hold are used for the card's
accuracy figures, never to label data (judge data with ``reference="gold"``
aside, which says so).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from debate.export.base import Exporter, ExportOptions, LabeledOptions, filter_rows
from debate.export.card import ExportReport, render_card
from debate.export.writer import DATA_FILE, require_datasets, save_dataset, write_jsonl
from debate.transcript import DebateResult, load_results

FORMATS: dict[str, str] = {
    "dte": "debate.export.dte",
    "sft": "debate.export.sft",
    "dpo": "debate.export.preference",
    "kto": "debate.export.kto",
    "critique": "debate.export.critique",
    "judge": "debate.export.judge",
    "step_dpo": "debate.export.steps",
    "stance": "debate.export.stance",
    "pbt": "debate.export.persuasion",
    "aidsafe": "debate.export.aidsafe",
    "aidsafe_dpo": "debate.export.aidsafe:PAIRS_EXPORTER",
}
"""Format name -> module defining ``EXPORTER`` (or ``module:NAME``, for a module defining more than one)."""

REPORT_FILE = "export.json"
CARD_FILE = "README.md"


def get_exporter(format: str) -> Exporter:
    if format not in FORMATS:
        raise ValueError(f"format: unknown export format {format!r}; valid: {', '.join(FORMATS)}")
    module, _, name = FORMATS[format].partition(":")
    return getattr(importlib.import_module(module), name or "EXPORTER")


def results_path(source: str | Path) -> Path:
    """``results.jsonl`` of a run directory (or the results file itself)."""
    # the run directory's layout, imported when exporting rather than with this package
    from debate.runner.run_dir import RESULTS

    path = Path(source)
    if path.is_dir():
        path = path / RESULTS
    if not path.is_file():
        raise FileNotFoundError(f"run directory: {str(source)!r} has no {RESULTS}")
    return path


def export_results(
    results: Iterable[DebateResult],
    format: str,
    out: str | Path,
    *,
    sources: Sequence[str] = (),
    scenarios: Sequence[str] = (),
    **options: Any,
) -> ExportReport:
    """Export any stream of debate results (``export_run`` reads them from run directories)."""
    exporter = get_exporter(format)
    parsed = exporter.parse_options(options)
    require_datasets()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(
        format=format,
        sources=list(sources),
        scenarios=list(scenarios),
        options=parsed.model_dump(mode="json"),
    )
    write_jsonl(
        out / DATA_FILE, filter_rows(exporter.rows(results, parsed, report), exporter, parsed, report)
    )
    save_dataset(out, exporter.columns)
    (out / REPORT_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    card = render_card(report, summary=exporter.summary, trainer=exporter.trainer, columns=exporter.columns)
    (out / CARD_FILE).write_text(card, encoding="utf-8")
    return report


def export_run(
    run_dir: str | Path | Sequence[str | Path], format: str, out: str | Path, **options: Any
) -> ExportReport:
    """Export one run directory (or several, read in order) as ``format`` into ``out``.

    ``options`` are the format's options (``FORMATS[format]``'s ``EXPORTER.options``),
    e.g. ``min_agreement=0.6`` or ``rounds="final"``; an unknown or invalid one
    raises ``ValueError`` naming it and the valid ones.
    """
    sources = [run_dir] if isinstance(run_dir, str | Path) else list(run_dir)
    paths = [results_path(source) for source in sources]
    return export_results(
        chain.from_iterable(load_results(path) for path in paths),
        format,
        out,
        sources=[str(source) for source in sources],
        scenarios=_scenario_names(paths),
        **options,
    )


def _scenario_names(paths: Iterable[Path]) -> list[str]:
    """Scenario names from the runs' manifests, where there is one."""
    from debate.runner.run_dir import MANIFEST

    names: list[str] = []
    for path in paths:
        manifest = path.parent / MANIFEST
        if manifest.is_file():
            name = json.loads(manifest.read_text(encoding="utf-8")).get("scenario")
            if name and name not in names:
                names.append(name)
    return names


def read_report(out: str | Path) -> ExportReport:
    """The ``export.json`` of an earlier export."""
    return ExportReport.model_validate_json((Path(out) / REPORT_FILE).read_text(encoding="utf-8"))


__all__ = [
    "FORMATS",
    "ExportOptions",
    "ExportReport",
    "Exporter",
    "LabeledOptions",
    "export_results",
    "export_run",
    "get_exporter",
    "read_report",
]
