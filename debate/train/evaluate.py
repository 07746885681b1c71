"""Single-agent evaluation: one model answers each question alone, greedily, and is scored against gold.

DTE's claim is about the trained model on its own, without a debate at test
time, so evaluation is a one-debater, one-round scenario run by the ordinary
runner: the model reads exactly the solver prompt its training data used
(``debate.export.prompts``: the framework's, or a debate scenario's round-0
prompt given as ``prompt``), and the evaluation leaves a run directory
(``results.jsonl``, ``manifest.json``) like any other run, plus ``eval.json``
with the accuracy, overall and per group (GSM-Plus ``perturbation_type``).
Items without gold do not count; items answered without a valid answer
(``no_answer``) and failed ones count as wrong, each counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, computed_field

from debate.agents.backends import Backend
from debate.agents.roles import Debater
from debate.datasets import Item
from debate.export.prompts import PromptTemplates
from debate.messages import SamplingParams
from debate.scenario import Scenario
from debate.transcript import Outcome, load_results

EVAL_FILE = "eval.json"

GREEDY = SamplingParams(temperature=0.0, max_tokens=512)
"""Evaluation's default sampling: greedy, so that a score is reproducible."""


class Accuracy(BaseModel):
    # ``accuracy`` is computed: written into eval.json for its readers, ignored when it is read back.
    model_config = ConfigDict(extra="ignore")

    scored: int = 0
    """Items with a gold answer."""
    correct: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    def add(self, correct: bool) -> None:
        self.scored += 1
        self.correct += int(correct)


class EvalReport(BaseModel):
    """Accuracy of one model on one item set; saved as ``eval.json`` in the evaluation's run directory."""

    model_config = ConfigDict(extra="forbid")

    model: str
    run_dir: str
    items: int = 0
    no_answer: int = 0
    """Items the model answered without a valid answer (scored wrong)."""
    failed: int = 0
    """Items whose model call failed for good (scored wrong; see ``debate.transcript.Outcome``)."""
    overall: Accuracy = Field(default_factory=Accuracy)
    groups: dict[str, Accuracy] = Field(default_factory=dict)
    """Accuracy per value of the metadata field ``group_by``."""
    group_by: str | None = None

    @property
    def accuracy(self) -> float | None:
        return self.overall.accuracy


def single_agent_scenario(
    *, answer: str = "number", sampling: SamplingParams = GREEDY, prompt: PromptTemplates | None = None
) -> Scenario:
    """One solver, one round: the model alone, asked with the solver ``prompt`` (default: the framework's)."""
    return Scenario(
        name="single-agent",
        agents=[Debater("solver", sampling=sampling)],
        protocol="simultaneous",
        rounds=1,
        stop="fixed",
        answer=answer,
        prompts=(prompt or PromptTemplates()).overrides(),
    )


def model_backend(
    model: str | Path | Backend, device: str = "auto", max_batch_size: int | None = None
) -> Backend | str:
    """A backend for ``model``: a model directory becomes an ``hf:`` URI; URIs and backends pass through.

    ``max_batch_size`` caps the sequences the in-process model generates at once (the backend's default
    when ``None``); a small model on a CPU is fast only in large batches.
    """
    if isinstance(model, Path) or (isinstance(model, str) and Path(model).is_dir()):
        batching = f"&max_batch_size={max_batch_size}" if max_batch_size is not None else ""
        return f"hf:{Path(model).resolve()}?device={device}{batching}"
    return model


def evaluate(
    model: str | Path | Backend,
    items: Iterable[Item],
    out: str | Path,
    *,
    answer: str = "number",
    prompt: PromptTemplates | None = None,
    sampling: SamplingParams = GREEDY,
    context_fields: Sequence[str] = (),
    group_by: str | None = "perturbation_type",
    concurrency: int = 16,
    device: str = "auto",
    progress: str = "off",
) -> EvalReport:
    """Ask ``model`` every item alone and score it; ``out`` becomes the evaluation's run directory.

    ``model`` is a model directory, a backend URI or a backend. ``prompt`` is
    the solver prompt the training data used (``ExportOptions.prompt``; for a
    debate scenario's own, ``PromptTemplates.of_scenario``); ``sampling`` is
    greedy unless given. Context fields not in ``context_fields`` are removed
    from the items first, as exports do. Rerunning with the same ``out``
    resumes (finished items are not asked again).
    """
    from debate.runner import RunOptions, run_dataset

    kept = set(context_fields)
    shown = (
        item.model_copy(update={"context": {k: v for k, v in item.context.items() if k in kept}})
        for item in items
    )
    run_dataset(
        single_agent_scenario(answer=answer, sampling=sampling, prompt=prompt),
        shown,
        out,
        backends=model_backend(model, device),
        options=RunOptions(concurrency=concurrency, progress=progress),  # type: ignore[arg-type]
    )
    report = score_run(out, model=str(getattr(model, "name", model)), group_by=group_by)
    (Path(out) / EVAL_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return report


def score_run(run_dir: str | Path, *, model: str, group_by: str | None = "perturbation_type") -> EvalReport:
    """Accuracy of the results in ``run_dir`` (items without an answer, failed ones included, count as wrong)."""
    report = EvalReport(model=model, run_dir=str(run_dir), group_by=group_by)
    from debate.runner import RunDir

    for result in load_results(RunDir(run_dir).results):
        report.items += 1
        report.no_answer += int(result.outcome is Outcome.NO_ANSWER)
        report.failed += int(result.outcome is Outcome.FAILED)
        correct = result.correct
        if correct is None:
            continue
        report.overall.add(correct)
        if group_by is not None and result.metadata.get(group_by) is not None:
            report.groups.setdefault(str(result.metadata[group_by]), Accuracy()).add(correct)
    return report


def read_eval(out: str | Path) -> EvalReport:
    """The ``eval.json`` of an earlier evaluation."""
    return EvalReport.model_validate_json((Path(out) / EVAL_FILE).read_text(encoding="utf-8"))
