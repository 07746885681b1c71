"""The export report and the dataset card (``README.md``) written beside every exported dataset.

Training data made from debates is only as good as the debates' agreement,
so the card says how much data there is, why questions were left out, how
often the debaters agreed, and, where the run had gold answers, how often
the pseudo-label (decided without them) was right. ``export.json`` holds the
same numbers for programs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from debate.export.labels import PseudoLabel
from debate.transcript import DebateResult


class ExportReport(BaseModel):
    """Counts of one export; exporters fill it as they go."""

    model_config = ConfigDict(extra="forbid")

    format: str
    sources: list[str] = Field(default_factory=list)
    scenarios: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    debates: int = 0
    """Debate results read (failed ones included)."""
    labeled: int = 0
    """Questions with a usable pseudo-label (or reference answer, for judge data)."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Questions left out, by reason."""
    rows: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    """Candidate rows left out after the exporter (duplicates, too long), by reason."""
    counts: dict[str, int] = Field(default_factory=dict)
    """What the format counts besides rows (pairs, desirable and undesirable examples, right verdicts, ...)."""
    agreement_sum: float = 0.0
    agreement_checked: int = 0
    unanimous: int = 0
    gold_checked: int = 0
    gold_correct: int = 0

    # -- filled by exporters -----------------------------------------------------------

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def record_label(self, result: DebateResult, label: PseudoLabel) -> None:
        """A question got a pseudo-label: add its agreement, and check the label against gold if there is one."""
        self.labeled += 1
        self.agreement_checked += 1
        self.agreement_sum += label.agreement
        self.unanimous += int(label.unanimous)
        if result.gold is not None:
            self.gold_checked += 1
            self.gold_correct += int(label.answer == result.gold)

    # -- derived -----------------------------------------------------------------------

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_agreement(self) -> float | None:
        """Mean share of last-round answers that agree with the label, over labeled questions."""
        return self.agreement_sum / self.agreement_checked if self.agreement_checked else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unanimous_rate(self) -> float | None:
        return self.unanimous / self.agreement_checked if self.agreement_checked else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pseudo_label_accuracy(self) -> float | None:
        """Share of labeled questions with gold whose pseudo-label equals gold; None without gold."""
        return self.gold_correct / self.gold_checked if self.gold_checked else None


def render_card(report: ExportReport, *, summary: str, trainer: str, columns: Mapping[str, str]) -> str:
    """The dataset card as Markdown with Hugging Face front matter."""
    percent = _percent
    lines = [
        "---",
        f"pretty_name: debate {report.format} export",
        "tags:",
        "- debate",
        "- synthetic",
        f"- {report.format}",
        "---",
        "",
        f"# Debate training data: `{report.format}`",
        "",
        summary,
        "",
        f"Made by `debate export` from {', '.join(f'`{source}`' for source in report.sources) or 'debate results'}"
        + (
            f" (scenario {', '.join(f'`{name}`' for name in report.scenarios)})." if report.scenarios else "."
        ),
        f"Read it with `{trainer}`.",
        "",
        "## Counts",
        "",
        "| | |",
        "|---|---:|",
        f"| debates read | {report.debates} |",
        f"| questions labeled | {report.labeled} |",
        f"| rows written | {report.rows} |",
    ]
    lines += [f"| {name} | {value} |" for name, value in sorted(report.counts.items())]
    lines += [f"| skipped: {reason} | {value} |" for reason, value in sorted(report.skipped.items())]
    lines += [f"| dropped: {reason} | {value} |" for reason, value in sorted(report.dropped.items())]
    lines += [
        "",
        "## Agreement",
        "",
        f"- mean agreement with the label in the last round: {percent(report.mean_agreement)}",
        f"- unanimous last rounds: {percent(report.unanimous_rate)}",
        "",
        "## Pseudo-label accuracy",
        "",
    ]
    if report.pseudo_label_accuracy is None:
        lines.append(
            "No labeled question had a gold answer, so the labels could not be checked."
            if report.labeled
            else "No question got a label (see the skipped counts above), so there was nothing to check."
        )
    else:
        lines.append(
            f"Against the gold answers (never used to make the data): {percent(report.pseudo_label_accuracy)} "
            f"of {report.gold_checked} labeled questions."
        )
    lines += ["", "## Columns", ""]
    lines += [f"- `{name}` ({kind})" for name, kind in columns.items()]
    lines += [
        "",
        "## Options",
        "",
        "```json",
        json.dumps(report.options, indent=2, sort_keys=True),
        "```",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_from_disk",
        "dataset = load_from_disk(DIR)  # or: load_dataset('json', data_files=f'{DIR}/data.jsonl')",
        "```",
        "",
    ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
