"""Static HTML reports of run directories: ``debate report RUN_DIR [RUN_DIR ...]`` in Python.

::

    from debate.report import write_report

    index = write_report(["runs/rcr", "runs/simultaneous"], "reports/compare")
    # open reports/compare/index.html in a browser: no server, no network

The report is one self-contained ``index.html`` (summary, plots, every debate
with filters and search) plus the plots as PNG files under ``plots/``. It only
reads run directories. Plots need matplotlib (``pip install 'debate[report]'``).
See docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from debate.report.data import RunReport, build_run_report, judge_accuracy_per_protocol, load_run, load_runs
from debate.report.page import render_page
from debate.report.plots import Plot, render_plots

INDEX = "index.html"
PLOTS = "plots"

__all__ = [
    "Plot",
    "RunReport",
    "build_run_report",
    "load_run",
    "load_runs",
    "render_page",
    "render_plots",
    "write_report",
]


def write_report(run_dirs: Sequence[Path | str], out: Path | str) -> Path:
    """Write the report of ``run_dirs`` (one run, or several to compare) into ``out``; returns its index.html."""
    if isinstance(run_dirs, str | Path):
        raise TypeError("run_dirs: expected a list of run directories, got a single path; wrap it in a list")
    runs = load_runs(run_dirs)
    plots = render_plots(runs)
    out = Path(out)
    (out / PLOTS).mkdir(parents=True, exist_ok=True)
    for plot in plots:
        (out / PLOTS / f"{plot.name}.png").write_bytes(plot.png)
    index = out / INDEX
    index.write_text(render_page(runs, plots, judge_accuracy_per_protocol(runs)), encoding="utf-8")
    return index
