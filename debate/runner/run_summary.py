"""``summary.json``: the run's statistics (``debate.summary``) plus how the run itself went.

The debate statistics come from ``debate.summary.summarize`` over
``results.jsonl`` (streamed), so reports that recompute them from the results
get the same numbers. The fields added here are about the run, not the
debates: how many debates it should hold, whether it is complete, and its
throughput.
"""

from __future__ import annotations

from collections.abc import Mapping

from debate.runner.run_dir import RunDir
from debate.summary import RunSummary, summarize
from debate.transcript import load_results


class RunDirSummary(RunSummary):
    """``RunSummary`` plus run-level fields; ``summary.json`` holds one."""

    expected_debates: int | None = None
    """Items this run covers; ``None`` when unknown."""
    complete: bool = False
    """Every expected debate has a line (failed ones included)."""
    elapsed_s: float = 0.0
    """Wall time of the last invocation (for merged runs: the longest part)."""
    debates_this_session: int = 0
    debates_per_s: float | None = None
    tokens_per_s: float | None = None
    """Tokens of the debates finished by the last invocation, per second of its wall time."""

    def outcomes_line(self) -> str:
        """``12/12 debates, 2 without an answer, 1 failed, accuracy 0.750``: what ``debate run`` and
        ``debate merge`` print (debates without an answer only when there are some)."""
        parts = [f"{self.debates}/{self.expected_debates} debates"]
        if self.no_answer:
            parts.append(f"{self.no_answer} without an answer")
        parts.append(f"{self.failed} failed")
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy:.3f}")
        return ", ".join(parts)


def summarize_run_dir(
    run_dir: RunDir,
    *,
    prices: Mapping[str, tuple[float, float]] | None,
    expected_debates: int | None,
    elapsed_s: float,
    debates_this_session: int,
    tokens_this_session: int,
) -> RunDirSummary:
    """Summarise ``results.jsonl`` (repaired: no torn tail) in one streaming pass."""
    summary = summarize(load_results(run_dir.results) if run_dir.results.exists() else [], prices)
    return run_dir_summary(
        summary,
        expected_debates=expected_debates,
        elapsed_s=elapsed_s,
        debates_this_session=debates_this_session,
        tokens_this_session=tokens_this_session,
    )


def run_dir_summary(
    summary: RunSummary,
    *,
    expected_debates: int | None,
    elapsed_s: float,
    debates_this_session: int,
    tokens_this_session: int,
) -> RunDirSummary:
    """``summary`` (of every line of ``results.jsonl``) with the run-level fields."""
    rate = (lambda amount: amount / elapsed_s) if elapsed_s > 0 else (lambda amount: None)
    return RunDirSummary(
        **summary.model_dump(),
        expected_debates=expected_debates,
        complete=expected_debates is not None and summary.debates >= expected_debates,
        elapsed_s=elapsed_s,
        debates_this_session=debates_this_session,
        debates_per_s=rate(debates_this_session),
        tokens_per_s=rate(tokens_this_session),
    )
