"""The report's plots, drawn with matplotlib into PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global
state, no display needed). matplotlib is an optional extra, imported only
when a plot is drawn, so ``debate`` works without it. A plot whose data is
missing (no gold answers, no stated confidences, a single run) is left out
rather than drawn empty.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from debate.report.data import RunReport

INSTALL_HINT = "the report's plots need matplotlib: pip install 'debate[report]'"


@dataclass(frozen=True)
class Plot:
    """One figure: ``name`` is its file name stem under ``plots/``."""

    name: str
    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error


def render_plots(runs: Sequence[RunReport]) -> list[Plot]:
    """Every plot the runs have data for: per-round and calibration plots, and with several runs the cost plots."""
    require_matplotlib()
    plots = [
        per_round_plot(
            runs, "accuracy_by_round", "Accuracy by round", lambda run: run.summary.accuracy_per_round
        ),
        per_round_plot(
            runs,
            "agreement_by_round",
            "Agreement (consensus) by round",
            lambda run: run.summary.consensus_per_round,
        ),
        calibration_plot(runs),
    ]
    if len(runs) > 1:
        plots += [
            tradeoff_plot(
                runs, "accuracy_vs_tokens", "Tokens per question", lambda run: run.tokens_per_question
            ),
            tradeoff_plot(
                runs, "accuracy_vs_cost", "Cost per question (USD)", lambda run: run.cost_per_question
            ),
            tradeoff_plot(
                runs, "accuracy_vs_seconds", "Seconds per question", lambda run: run.seconds_per_question
            ),
        ]
    return [plot for plot in plots if plot is not None]


def per_round_plot(
    runs: Sequence[RunReport], name: str, title: str, values: Callable[[RunReport], list[float]]
) -> Plot | None:
    series = [(run, values(run)) for run in runs if values(run)]
    if not series:
        return None
    figure, axes = new_figure()
    for run, points in series:
        axes.plot(range(len(points)), points, marker="o", label=legend_label(run, runs))
    axes.set(title=title, xlabel="round", ylabel="share of debates", ylim=(-0.02, 1.02))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize="small")
    return Plot(name, title, to_png(figure))


def calibration_plot(runs: Sequence[RunReport]) -> Plot | None:
    """Accuracy of final-round debater answers per stated-confidence bin, against the diagonal."""
    scored = [run for run in runs if run.calibration is not None]
    if not scored:
        return None
    title = "Confidence calibration (final-round debaters)"
    figure, axes = new_figure()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for run in scored:
        assert run.calibration is not None
        bins = run.calibration.bins
        axes.plot(
            [b.mean_confidence for b in bins],
            [b.accuracy for b in bins],
            marker="o",
            label=f"{legend_label(run, runs)} (ECE {run.calibration.ece:.3f}, n={run.calibration.n})",
        )
    axes.set(title=title, xlabel="stated confidence", ylabel="accuracy", xlim=(0, 1), ylim=(-0.02, 1.02))
    axes.legend(fontsize="small")
    return Plot("calibration", title, to_png(figure))


def tradeoff_plot(
    runs: Sequence[RunReport], name: str, xlabel: str, spend: Callable[[RunReport], float | None]
) -> Plot | None:
    """Accuracy against what it cost, one labelled point per run."""
    points = [
        (run, spend(run)) for run in runs if run.summary.accuracy is not None and spend(run) is not None
    ]
    if not points:
        return None
    title = f"Accuracy vs {xlabel.lower()}"
    figure, axes = new_figure()
    for run, x in points:
        axes.scatter([x], [run.summary.accuracy], label=legend_label(run, runs))
    axes.set(title=title, xlabel=xlabel, ylabel="accuracy", ylim=(-0.02, 1.08))
    # below the axes: labels never cover points or squeeze the plot
    figure.legend(loc="outside lower center", fontsize="small", ncols=1)
    return Plot(name, title, to_png(figure))


def legend_label(run: RunReport, runs: Sequence[RunReport]) -> str:
    """Protocol and model, plus the run's label when several runs share them."""
    if sum(other.name == run.name for other in runs) > 1:
        label = run.label if len(run.label) <= 30 else "…" + run.label[-29:]
        return f"{label}: {run.name}"
    return run.name


def new_figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def to_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
