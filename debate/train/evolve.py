"""Evolve: debate, export, train, evaluate, and again with the trained model as the debaters.

One evolution round, as in DTE's pipeline (``dte/core/pipeline.py``):

1. the current model debates fresh training questions (``hf:MODEL`` debaters, the scenario's protocol);
2. the debates become training data (``dte`` for GRPO, or the method's format), labelled by consensus;
3. the current model is trained on it, into a new model directory;
4. the new model is evaluated alone on held-out questions.

The data's prompts and the evaluation's are one solver prompt: the scenario's
round 0 (its ``debater.system`` and ``debater.first_round``, after its
``prompts``, and its answer format), the prompt the model meets as a debater.

The new model is the next round's debater whatever its score (DTE keeps
training the same model). The loop stops after ``max_rounds``, or once the
held-out gain over the best model so far stays below ``min_gain`` for
``patience`` consecutive rounds (DTE's ``convergence_threshold`` 0.01 and
``patience`` 2), or when a round yields no training data.

Everything is kept: ``OUT/baseline`` (the base model's evaluation), and per
round ``OUT/round-N/{debates,data,model,eval}``; ``OUT/evolution.json`` and
``OUT/evolution.md`` summarise, rewritten after every round. Rerunning the same
call resumes: finished debates and evaluations are not redone, trained
models are reused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from debate.agents.backends import Backend
from debate.answers import AnswerFormat
from debate.export import export_run, get_exporter
from debate.export.prompts import scenario_solver_options
from debate.messages import SamplingParams
from debate.scenario import Scenario
from debate.train.common import REPORT_FILE, TrainReport, read_train_report
from debate.train.config import Device, LoraSettings, Method, settings_for
from debate.train.evaluate import GREEDY, EvalReport, evaluate, model_backend
from debate.train.rewards import RewardFunction

EXPORT_FORMAT: dict[str, str] = {"grpo": "dte", "sft": "sft", "dpo": "dpo", "kto": "kto"}
"""The data each training method learns from."""


class EvolveSettings(BaseModel):
    """One evolution experiment. Defaults: DTE's (``samples_per_round`` 500, 3 rounds, threshold 0.01, patience 2)."""

    model_config = ConfigDict(extra="forbid")

    model: Path
    """The starting model directory."""
    out: Path
    scenario: str = "gsm8k_rcr"
    """Registered scenario name or path to a scenario file (the debate that makes the data)."""
    train_data: str = "gsm8k-train"
    questions_per_round: int = Field(default=500, ge=1)
    """Each round debates the next this many questions of ``train_data`` (fresh questions every round)."""
    eval_data: str = "gsm-plus"
    eval_limit: int | None = Field(default=None, ge=1)
    max_rounds: int = Field(default=3, ge=1)
    min_gain: float = 0.01
    patience: int = Field(default=2, ge=1)
    method: Method = "grpo"
    export: dict[str, Any] = Field(default_factory=dict)
    """Options of the export format (``debate.export``), e.g. ``{"min_agreement": 0.6}``. The solver
    prompt (``prompt``, ``answer``) is the scenario's round 0 unless set here; evaluation asks with it too."""
    train: dict[str, Any] = Field(default_factory=dict)
    """Training settings of ``method`` (``debate.train.config``), e.g. ``{"max_steps": 100}``."""
    lora: LoraSettings | None = Field(default_factory=LoraSettings)
    """As in DTE, each round trains a LoRA adapter (r 128, alpha 256), merged into the round's model;
    ``None`` trains every weight. A ``lora`` table in ``train`` takes precedence."""
    answer: AnswerFormat | None = None
    """The answer format the solver prompt asks for and evaluation scores; default: the scenario's
    (``export.answer``, where set, is the solver prompt's)."""
    eval_sampling: SamplingParams = GREEDY
    """How the model answers the held-out questions; greedy unless ``temperature`` is given."""
    concurrency: int = Field(default=32, ge=1)
    """Debates (and evaluation questions) in flight at once."""
    max_batch_size: int | None = Field(default=None, ge=1)
    """Sequences the in-process model generates at once (``hf:DIR?max_batch_size=``); the backend's
    default when unset. A small model on a CPU wants large batches (and a ``concurrency`` to fill them)."""
    seed: int = 0
    device: Device = "auto"
    progress: str = "off"

    @field_validator("eval_sampling", mode="before")
    @classmethod
    def _greedy_unless_told(cls, sampling: Any) -> Any:
        """``{"max_tokens": 160}`` stays greedy: a partial table changes only what it names."""
        if isinstance(sampling, dict):
            return {**GREEDY.model_dump(), **sampling}
        return sampling


class RoundReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: int
    debater_model: str
    model: str | None = None
    questions: int = 0
    rows: int = 0
    mean_agreement: float | None = None
    pseudo_label_accuracy: float | None = None
    train_loss: float | None = None
    accuracy: float | None = None
    gain: float | None = None
    """Held-out accuracy minus the best accuracy before this round."""


class EvolutionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]
    baseline: EvalReport | None = None
    rounds: list[RoundReport] = Field(default_factory=list)
    best_round: int = 0
    """0: the base model."""
    best_model: str = ""
    stop_reason: str | None = None

    def write(self, out: Path) -> None:
        (out / "evolution.json").write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        (out / "evolution.md").write_text(render_markdown(self), encoding="utf-8")


def evolve(
    settings: EvolveSettings,
    *,
    scenario: Scenario | None = None,
    extra_rewards: Sequence[RewardFunction] = (),
    backend_for: Callable[[Path], Backend | str] | None = None,
) -> EvolutionReport:
    """Run the evolution loop of ``settings`` (``scenario`` overrides ``settings.scenario``).

    ``backend_for`` turns a model directory into the backend that debates and
    is evaluated with it; the default loads it in-process with transformers
    (``hf:DIR``). On a GPU, ``lambda model: f"vllm:{model}"`` uses the vLLM engine.
    """
    from debate.datasets import load_items
    from debate.loading import load_scenario
    from debate.runner import RunOptions, run_dataset

    debate_scenario = scenario or load_scenario(settings.scenario)
    export_format = EXPORT_FORMAT[settings.method]
    export_options = solver_export_options(settings, debate_scenario)
    # a typo fails now, not after hours of debate
    solver = get_exporter(export_format).parse_options(export_options)
    train_settings(settings, settings.model, settings.out, settings.out)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    report = EvolutionReport(settings=settings.model_dump(mode="json"), best_model=str(settings.model))
    backend = backend_for or (lambda model: model_backend(model, settings.device, settings.max_batch_size))

    def held_out(model: Path, directory: Path) -> EvalReport:
        items = islice(load_items(settings.eval_data), settings.eval_limit)
        return evaluate(
            backend(model),
            items,
            directory,
            answer=solver.answer,
            prompt=solver.prompt,
            sampling=settings.eval_sampling,
            concurrency=settings.concurrency,
            device=settings.device,
            progress=settings.progress,
        )

    report.baseline = held_out(settings.model, out / "baseline")
    report.write(out)
    best = report.baseline.accuracy or 0.0
    stale = 0
    current = Path(settings.model)
    for number in range(1, settings.max_rounds + 1):
        directory = out / f"round-{number}"
        start = (number - 1) * settings.questions_per_round
        questions = list(islice(load_items(settings.train_data), start, start + settings.questions_per_round))
        round_report = RoundReport(round=number, debater_model=str(current), questions=len(questions))
        report.rounds.append(round_report)
        if not questions:
            report.stop_reason = f"no questions left in {settings.train_data} for round {number}"
            break
        run_dataset(
            debate_scenario,
            questions,
            directory / "debates",
            backends=backend(current),
            options=RunOptions(
                seed=settings.seed + number,
                concurrency=settings.concurrency,
                progress=settings.progress,  # type: ignore[arg-type]
            ),
        )
        exported = export_run(directory / "debates", export_format, directory / "data", **export_options)
        round_report.rows = exported.rows
        round_report.mean_agreement = exported.mean_agreement
        round_report.pseudo_label_accuracy = exported.pseudo_label_accuracy
        if exported.rows == 0:
            report.stop_reason = (
                f"round {number} produced no training data (see {directory / 'data' / 'README.md'})"
            )
            report.write(out)
            break
        trained = train_round(settings, current, directory, extra_rewards)
        round_report.model = trained.out
        round_report.train_loss = trained.train_loss
        evaluation = held_out(Path(trained.out), directory / "eval")
        accuracy = evaluation.accuracy or 0.0
        round_report.accuracy = evaluation.accuracy
        round_report.gain = accuracy - best
        stale = 0 if round_report.gain >= settings.min_gain else stale + 1
        if accuracy > best:
            best, report.best_round, report.best_model = accuracy, number, trained.out
        current = Path(trained.out)
        report.write(out)
        if stale >= settings.patience:
            report.stop_reason = (
                f"held-out gain below {settings.min_gain} for {settings.patience} round(s) in a row"
            )
            break
    else:
        report.stop_reason = f"max_rounds ({settings.max_rounds}) reached"
    report.write(out)
    return report


def solver_export_options(settings: EvolveSettings, scenario: Scenario) -> dict[str, Any]:
    """``settings.export`` over the scenario's solver prompt: its round-0 templates and answer format.

    What the user sets explicitly wins, key by key (``prompt.system`` alone keeps the scenario's user prompt).
    """
    from debate.config import merge_layers

    answer = settings.answer or settings.export.get("answer")
    return merge_layers(scenario_solver_options(scenario, answer), settings.export)


def train_settings(settings: EvolveSettings, model: Path, data: Path, out: Path) -> Any:  # noqa: ANN401
    """The training settings of one round: ``settings.train`` with the round's model, data and output."""
    lora = settings.lora.model_dump() if settings.lora is not None else None
    return settings_for(
        settings.method, {"lora": lora, **settings.train, "model": model, "data": data, "out": out}
    )


def train_round(
    settings: EvolveSettings, model: Path, directory: Path, extra_rewards: Sequence[RewardFunction]
) -> TrainReport:
    """Train this round's model, or reuse it when an earlier run of the loop already did."""
    from debate.train import train

    out = directory / "model"
    if (out / REPORT_FILE).is_file():
        return read_train_report(out)
    round_settings = train_settings(settings, model, directory / "data", out)
    return train(round_settings, extra_rewards=extra_rewards)


def render_markdown(report: EvolutionReport) -> str:
    """The summary table: one row for the base model, one per round."""

    def percent(value: float | None, signed: bool = False) -> str:
        if value is None:
            return "—"
        return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}%"

    baseline = report.baseline.accuracy if report.baseline else None
    lines = [
        "# Evolution",
        "",
        "| round | questions | rows | agreement | pseudo-label acc. | train loss | held-out acc. | gain (points) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| base | | | | | | {percent(baseline)} | |",
    ]
    for entry in report.rounds:
        loss = f"{entry.train_loss:.4f}" if entry.train_loss is not None else "—"
        lines.append(
            f"| {entry.round} | {entry.questions} | {entry.rows} | {percent(entry.mean_agreement)} | "
            f"{percent(entry.pseudo_label_accuracy)} | {loss} | {percent(entry.accuracy)} | "
            f"{percent(entry.gain, signed=True)} |"
        )
    lines += [
        "",
        f"Best: {'the base model' if report.best_round == 0 else f'round {report.best_round}'} (`{report.best_model}`).",
        f"Stopped: {report.stop_reason or 'still running'}.",
        "",
    ]
    return "\n".join(lines)
