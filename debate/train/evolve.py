"""Evolve: debate, export, train, evaluate, and again with the trained model as the debaters.

One evolution round, as in DTE's pipeline (``dte/core/pipeline.py``):

1. the current model debates fresh training questions (``hf:MODEL`` debaters, the scenario's protocol);
2. the debates become training data (``dte`` for GRPO, or the method's format), labelled by consensus;
3. the current model is trained on it, into a new model directory;
4. the new model is evaluated alone on held-out questions;
5. with ``judge`` set, the judge evolves too (Self-Rationalization, ``debate.train.judging``): the
   current judge samples K rationales and verdicts on each of the round's debates, the pairs its own
   majority verdict makes (the ``judge`` export with ``reference="self"``, never gold) train it with
   DPO, and the new judge samples the next round (and is the scenario's judge, where it has one).

The data's prompts and the evaluation's are one solver prompt: the scenario's
round 0 (its ``debater.system`` and ``debater.first_round``, after its
``prompts``, and its answer format), the prompt the model meets as a debater.

The new model is the next round's debater whatever its score (DTE keeps
training the same model). The loop stops after ``max_rounds``, or once the
held-out gain over the best model so far stays below ``min_gain`` for
``patience`` consecutive rounds (DTE's ``convergence_threshold`` 0.01 and
``patience`` 2), or when a round yields no training data.

Everything is kept: ``OUT/baseline`` (the base model's evaluation), and per
round ``OUT/round-N/{debates,data,model,eval}`` (and ``OUT/round-N/judge/{judged,data,model,eval}``,
with the held-out debates every judge is scored on in ``OUT/judge-baseline``); ``OUT/evolution.json`` and
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
from debate.export.base import Rounds
from debate.export.prompts import scenario_solver_options
from debate.messages import SamplingParams
from debate.scenario import Scenario
from debate.train.common import REPORT_FILE, TrainReport, read_train_report
from debate.train.config import Device, LoraSettings, Method, settings_for
from debate.train.evaluate import GREEDY, EvalReport, evaluate, model_backend
from debate.train.judging import JUDGE_SAMPLING, JudgeAccuracy, judge_run
from debate.train.rewards import RewardFunction

EXPORT_FORMAT: dict[str, str] = {"grpo": "dte", "sft": "sft", "dpo": "dpo", "kto": "kto"}
"""The data each training method learns from."""


JUDGE_BACKEND = "judge"
"""The backend name the scenario's judge is served under while the judge evolves."""


class JudgeEvolution(BaseModel):
    """Evolving the judge as well as the debaters (Self-Rationalization; see ``debate.train.judging``).

    Every judge (the starting one, then each round's) is also scored on held-out debates: the starting
    model's debates on the scenario over the first ``eval_limit`` questions of ``eval_data``, judged
    greedily, scored against gold (``JudgeAccuracy``).
    """

    model_config = ConfigDict(extra="forbid")

    model: Path | None = None
    """The starting judge model directory; default: the debaters' starting model."""
    samples: int = Field(default=8, ge=2)
    """Rationales and verdicts sampled per judged debate round."""
    sampling: SamplingParams = JUDGE_SAMPLING
    """How they are sampled (hot, with log-probabilities); held-out judging uses it at temperature 0."""
    rounds: Rounds = "final"
    """Which rounds of each debate the judge reads (one verdict per round)."""
    export: dict[str, Any] = Field(default_factory=dict)
    """Options of the ``judge`` export (e.g. ``judge_prompt``, ``max_pairs_per_group``); the reference is
    always the judge's own majority (``self``)."""
    train: dict[str, Any] = Field(default_factory=dict)
    """DPO settings of the judge (``debate.train.config.DPOSettings``); ``lora`` as for the debaters."""

    @field_validator("sampling", mode="before")
    @classmethod
    def _partial_sampling(cls, sampling: Any) -> Any:
        """``{"temperature": 0.7}`` changes only the temperature of ``JUDGE_SAMPLING``."""
        if isinstance(sampling, dict):
            return {**JUDGE_SAMPLING.model_dump(), **sampling}
        return sampling

    @field_validator("export")
    @classmethod
    def _self_reference_only(cls, export: dict[str, Any]) -> dict[str, Any]:
        if export.get("reference", "self") != "self":
            raise ValueError(
                f"reference: the judge evolves on its own majority verdict ('self'), not {export['reference']!r}"
            )
        return export


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
    judge: JudgeEvolution | None = None
    """Evolve the judge too (``debate evolve --evolve-judge``); ``None``: only the debaters evolve."""

    @field_validator("eval_sampling", mode="before")
    @classmethod
    def _greedy_unless_told(cls, sampling: Any) -> Any:
        """``{"max_tokens": 160}`` stays greedy: a partial table changes only what it names."""
        if isinstance(sampling, dict):
            return {**GREEDY.model_dump(), **sampling}
        return sampling


class JudgeRoundReport(BaseModel):
    """The judge's step of one round."""

    model_config = ConfigDict(extra="forbid")

    judge_model: str
    """The judge that sampled this round's verdicts."""
    model: str | None = None
    """The judge trained on them (``None``: no pairs, the judge stays)."""
    judged: int = 0
    pairs: int = 0
    self_agreement: float | None = None
    """Mean share of samples that gave the judge's majority verdict, over the debates that made pairs."""
    majority_accuracy: float | None = None
    """How often that majority was the gold answer: reported, never used to make the pairs."""
    train_loss: float | None = None
    accuracy: JudgeAccuracy | None = None
    """The trained judge on the held-out debates."""


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
    judge: JudgeRoundReport | None = None


class EvolutionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]
    baseline: EvalReport | None = None
    judge_baseline: JudgeAccuracy | None = None
    """The starting judge on the held-out debates (when the judge evolves)."""
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
    judge_options = judge_export_options(settings, solver.answer)
    if settings.judge is not None:
        get_exporter("judge").parse_options(judge_options)
        judge_train_settings(settings, settings.model, settings.out, settings.out)
        if debate_scenario.judge is not None:
            judge_agent = debate_scenario.judge.model_copy(update={"backend": JUDGE_BACKEND})
            debate_scenario = debate_scenario.model_copy(update={"judge": judge_agent})
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

    def debates(model: Path, judge: Path, items: Any, directory: Path, seed: int) -> None:
        backends = backend(model)
        if settings.judge is not None and debate_scenario.judge is not None:
            backends = {"default": backends, JUDGE_BACKEND: backend(judge)}
        run_dataset(
            debate_scenario,
            items,
            directory,
            backends=backends,
            options=RunOptions(
                seed=seed,
                concurrency=settings.concurrency,
                progress=settings.progress,  # type: ignore[arg-type]
            ),
        )

    def judge_held_out(judge: Path, directory: Path) -> JudgeAccuracy:
        assert settings.judge is not None
        return judge_run(
            out / "judge-baseline" / "debates",
            backend(judge),
            directory,
            samples=1,
            sampling=settings.judge.sampling.model_copy(update={"temperature": 0.0}),
            rounds=settings.judge.rounds,
            options=judge_options,
            seed=settings.seed,
            concurrency=settings.concurrency,
        ).accuracy

    current = Path(settings.model)
    current_judge = Path(settings.judge.model or settings.model) if settings.judge else current
    report.baseline = held_out(settings.model, out / "baseline")
    if settings.judge is not None:
        held_out_items = islice(load_items(settings.eval_data), settings.eval_limit)
        debates(current, current_judge, held_out_items, out / "judge-baseline" / "debates", settings.seed)
        report.judge_baseline = judge_held_out(current_judge, out / "judge-baseline" / "judged")
    report.write(out)
    best = report.baseline.accuracy or 0.0
    stale = 0
    for number in range(1, settings.max_rounds + 1):
        directory = out / f"round-{number}"
        start = (number - 1) * settings.questions_per_round
        questions = list(islice(load_items(settings.train_data), start, start + settings.questions_per_round))
        round_report = RoundReport(round=number, debater_model=str(current), questions=len(questions))
        report.rounds.append(round_report)
        if not questions:
            report.stop_reason = f"no questions left in {settings.train_data} for round {number}"
            break
        debates(current, current_judge, questions, directory / "debates", settings.seed + number)
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
        if settings.judge is not None:
            round_report.judge = evolve_judge(settings, current_judge, directory, judge_options, backend)
            if round_report.judge.model is not None:
                current_judge = Path(round_report.judge.model)
                round_report.judge.accuracy = judge_held_out(current_judge, directory / "judge" / "eval")
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


def judge_export_options(settings: EvolveSettings, answer: str) -> dict[str, Any]:
    """The judge export's options: the solver's answer format, ``judge.export``, and the judge's own majority."""
    export = settings.judge.export if settings.judge is not None else {}
    return {"answer": answer, **export, "reference": "self"}


def judge_train_settings(settings: EvolveSettings, model: Path, data: Path, out: Path) -> Any:  # noqa: ANN401
    """DPO settings of one round's judge: ``judge.train`` with the round's judge, data and output."""
    lora = settings.lora.model_dump() if settings.lora is not None else None
    judge_train = settings.judge.train if settings.judge is not None else {}
    return settings_for(
        "dpo",
        _quiet_unless_bars(settings, {"lora": lora, **judge_train, "model": model, "data": data, "out": out}),
    )


def evolve_judge(
    settings: EvolveSettings,
    judge: Path,
    directory: Path,
    options: dict[str, Any],
    backend: Callable[[Path], Backend | str],
) -> JudgeRoundReport:
    """The judge's step of a round: sample it on the round's debates, export its self-agreement pairs, DPO.

    A trained judge already in ``directory/judge/model`` is reused (resume).
    """
    from debate.train import train

    assert settings.judge is not None
    work = directory / "judge"
    judged = judge_run(
        directory / "debates",
        backend(judge),
        work / "judged",
        samples=settings.judge.samples,
        sampling=settings.judge.sampling,
        rounds=settings.judge.rounds,
        options=options,
        seed=settings.seed,
        concurrency=settings.concurrency,
    )
    exported = export_run(work / "judged", "judge", work / "data", **options)
    step = JudgeRoundReport(
        judge_model=str(judge),
        judged=judged.judged,
        pairs=exported.rows,
        self_agreement=exported.mean_agreement,
        majority_accuracy=exported.pseudo_label_accuracy,
    )
    if exported.rows == 0:
        return step
    model = work / "model"
    trained = (
        read_train_report(model)
        if (model / REPORT_FILE).is_file()
        else train(judge_train_settings(settings, judge, work / "data", model))
    )
    step.model, step.train_loss = trained.out, trained.train_loss
    return step


def train_settings(settings: EvolveSettings, model: Path, data: Path, out: Path) -> Any:  # noqa: ANN401
    """The training settings of one round: ``settings.train`` with the round's model, data and output."""
    lora = settings.lora.model_dump() if settings.lora is not None else None
    return settings_for(
        settings.method,
        _quiet_unless_bars(
            settings, {"lora": lora, **settings.train, "model": model, "data": data, "out": out}
        ),
    )


def _quiet_unless_bars(settings: EvolveSettings, train: dict[str, Any]) -> dict[str, Any]:
    """In a log (``--progress log``, or no terminal) the trainer prints its log lines, not a redrawn bar."""
    from debate.runner.progress import resolve_mode

    if resolve_mode(settings.progress) == "bar":  # type: ignore[arg-type]
        return train
    return {**train, "trl": {"disable_tqdm": True, **train.get("trl", {})}}


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
    if report.judge_baseline is not None:
        lines += ["", *render_judge_rows(report)]
    lines += [
        "",
        f"Best: {'the base model' if report.best_round == 0 else f'round {report.best_round}'} (`{report.best_model}`).",
        f"Stopped: {report.stop_reason or 'still running'}.",
        "",
    ]
    return "\n".join(lines)


def render_judge_rows(report: EvolutionReport) -> list[str]:
    """The judge's table: the starting judge, then each round's (held-out judge accuracy with its 95% interval)."""

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    def accuracy(scored: JudgeAccuracy | None) -> str:
        if scored is None or scored.accuracy is None:
            return "—"
        estimate = scored.accuracy
        return f"{percent(estimate.value)} [{100 * estimate.low:.1f}, {100 * estimate.high:.1f}] (n={estimate.n})"

    lines = [
        "## Judge",
        "",
        "| round | debates judged | pairs | self-agreement | majority right (gold, reported only) | "
        "train loss | held-out judge acc. [95% CI] |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| base | | | | | | {accuracy(report.judge_baseline)} |",
    ]
    for entry in report.rounds:
        if entry.judge is None:
            continue
        step = entry.judge
        loss = f"{step.train_loss:.4f}" if step.train_loss is not None else "—"
        lines.append(
            f"| {entry.round} | {step.judged} | {step.pairs} | {percent(step.self_agreement)} | "
            f"{percent(step.majority_accuracy)} | {loss} | {accuracy(step.accuracy)} |"
        )
    return lines
