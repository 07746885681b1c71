"""What a report shows, read from run directories in one streaming pass per run.

Run-level numbers come from ``debate.summary`` (the same code that writes
``summary.json``), judge accuracy and calibration from ``debate.metrics``, so
a report never disagrees with the rest of the package. Each debate also
becomes a compact JSON-able record for the browser: short keys, ``None`` and
empty fields left out, and ``responds_to`` ids turned into positions in the
debate's own message list, so that 5,000 debates stay a few megabytes.
The debate's ``context`` (QuALITY passages) is left out for the same reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from debate.messages import Message
from debate.metrics import Calibration, Estimate, JudgedDebate, calibration, judge_accuracy, judged_debate
from debate.runner import RunDir, RunManifest
from debate.summary import RunSummary, SummaryBuilder
from debate.transcript import DebateResult, load_results

DebateRecord = dict[str, Any]
"""One debate for the browser; keys are documented in ``debate_record``."""


class RunReport(BaseModel):
    """One run as the report shows it."""

    model_config = ConfigDict(extra="forbid")

    label: str
    """How the report names the run: its directory name (the path when names clash)."""
    path: str
    scenario: str
    protocol: str
    models: list[str]
    summary: RunSummary
    seconds_per_agent: dict[str, float] = Field(default_factory=dict)
    """Summed model-call latency per agent (``RunSummary`` counts tokens, not time)."""
    seconds_per_model: dict[str, float] = Field(default_factory=dict)
    calibration: Calibration | None = None
    """Final-round debater confidences against gold; ``None`` when no message stated one with gold."""
    judged: list[JudgedDebate] = Field(default_factory=list)
    """Debates with a judge's verdict: ``condition`` is the protocol, ``judge_answer`` the last verdict's answer."""
    debates: list[DebateRecord] = Field(default_factory=list)

    @property
    def name(self) -> str:
        """The run in one line, as plots label it: protocol and model(s); local model paths by their last part."""
        models = [short_model_name(model) for model in self.models]
        return f"{self.protocol} / {', '.join(models) or 'unknown model'}"

    @property
    def tokens_per_question(self) -> float | None:
        return self.summary.total_tokens / self.summary.debates if self.summary.debates else None

    @property
    def seconds_per_question(self) -> float | None:
        return self.summary.wall_time_s / self.summary.debates if self.summary.debates else None

    @property
    def cost_per_question(self) -> float | None:
        if self.summary.total_cost is None or not self.summary.debates:
            return None
        return self.summary.total_cost / self.summary.debates


def load_run(path: str | Path, *, label: str | None = None) -> RunReport:
    """Read one run directory (``results.jsonl`` and, when present, ``manifest.json``)."""
    run_dir = RunDir(path)
    if not run_dir.results.exists():
        raise FileNotFoundError(f"{run_dir.path}: no results.jsonl here; is this a run directory?")
    manifest: RunManifest | None = run_dir.read_manifest()
    return build_run_report(
        load_results(run_dir.results),
        label=label or run_dir.path.resolve().name,
        path=str(run_dir.path),
        manifest=manifest,
    )


def build_run_report(
    results: Iterable[DebateResult],
    *,
    label: str,
    path: str = "",
    manifest: RunManifest | None = None,
) -> RunReport:
    """The report of a stream of results; ``manifest`` gives the protocol and prices."""
    builder = SummaryBuilder(manifest.prices if manifest else None)
    protocol = manifest.protocol if manifest else "unknown"
    scenario = manifest.scenario if manifest else ""
    seconds_per_agent: dict[str, float] = defaultdict(float)
    seconds_per_model: dict[str, float] = defaultdict(float)
    confidences: list[JudgedDebate] = []
    judged: list[JudgedDebate] = []
    debates: list[DebateRecord] = []
    for result in results:
        builder.add(result)
        scenario = scenario or result.transcript.scenario
        for message in result.transcript.messages:
            seconds_per_agent[message.author] += message.latency_s
            seconds_per_model[message.model or "unknown"] += message.latency_s
        confidences.extend(final_round_confidences(result, label))
        verdict = last_verdict(result)
        if verdict is not None and not result.failed:
            judged.append(
                judged_debate(result).model_copy(
                    update={
                        "condition": protocol,
                        "judge_answer": verdict.answer,
                        "confidence": verdict.confidence,
                    }
                )
            )
        debates.append(debate_record(len(debates), result))
    summary = builder.build()
    scored = calibration(confidences) if confidences else None
    return RunReport(
        label=label,
        path=path,
        scenario=scenario,
        protocol=protocol,
        models=models_of(summary, manifest),
        summary=summary,
        seconds_per_agent=dict(seconds_per_agent),
        seconds_per_model=dict(seconds_per_model),
        calibration=scored if scored is not None and scored.n else None,
        judged=judged,
        debates=debates,
    )


def load_runs(paths: Sequence[str | Path]) -> list[RunReport]:
    """Several runs, labelled by directory name (by path where two directories share a name)."""
    if not paths:
        raise ValueError("run_dirs: give at least one run directory")
    names = [Path(path).resolve().name for path in paths]
    return [
        load_run(path, label=name if names.count(name) == 1 else str(path))
        for path, name in zip(paths, names, strict=True)
    ]


def short_model_name(model: str) -> str:
    """``/root/.cache/debate/demo-model`` -> ``demo-model``; hub-style names (``Qwen/Qwen2.5-7B``) stay whole."""
    if model.startswith(("/", "~", ".")):
        return Path(model.rstrip("/")).name or model
    return model


def models_of(summary: RunSummary, manifest: RunManifest | None) -> list[str]:
    """The models that wrote the messages; the manifest's when no message named one."""
    written = sorted(model for model in summary.tokens_per_model if model != "unknown")
    if written or manifest is None:
        return written
    return sorted({agent.model for agent in manifest.agents if agent.model})


def last_verdict(result: DebateResult) -> Message | None:
    """The judge's last verdict: what judge accuracy scores, even where the final answer was aggregated otherwise."""
    verdicts = result.transcript.verdicts()
    return verdicts[-1] if verdicts else None


def final_round_confidences(result: DebateResult, condition: str) -> list[JudgedDebate]:
    """Each final-round debater answer with a stated confidence, as a record ``metrics.calibration`` scores."""
    if result.gold is None or result.failed or not result.transcript.messages:
        return []
    rounds = result.transcript.rounds
    last = next((r for r in reversed(range(rounds)) if result.transcript.debater_answers(r)), None)
    if last is None:
        return []
    return [
        JudgedDebate(condition=condition, gold=result.gold, judge_answer=m.answer, confidence=m.confidence)
        for m in result.transcript.debater_answers(last)
        if m.confidence is not None
    ]


def judge_accuracy_per_protocol(runs: Sequence[RunReport], *, resamples: int = 400) -> dict[str, Estimate]:
    """How often the judge's verdict is the gold answer, per protocol, over every run given.

    The interval is ``metrics``' percentile bootstrap; 400 resamples keep a 5,000-debate report
    under half a second of bootstrapping, at the price of a coarser 95% interval.
    """
    return judge_accuracy([record for run in runs for record in run.judged], resamples=resamples)


def debate_record(index: int, result: DebateResult) -> DebateRecord:
    """A debate for the browser.

    Keys: ``i`` position in the run, ``id``, ``q`` question, ``g`` gold, ``f`` final
    answer, ``o`` outcome (``answered``, ``no_answer``, ``failed``), ``why`` the
    reason for no answer, ``s`` stop reason, ``ok`` correct (absent without gold),
    ``ch`` an answer changed between rounds, ``n`` rounds, ``tok`` tokens,
    ``sec`` wall time, ``m`` messages (see ``message_records``).
    """
    record: DebateRecord = {
        "i": index,
        "id": result.debate_id,
        "q": result.transcript.question,
        "g": result.gold,
        "f": result.final_answer,
        "o": result.outcome.value,
        "why": result.reason,
        "s": result.stop_reason,
        "ok": result.correct,
        "ch": bool(result.dynamics.changes) or None,
        "n": result.transcript.rounds,
        "tok": result.transcript.usage.total_tokens,
        "sec": round(result.wall_time_s, 3),
        "m": message_records(result),
    }
    return {key: value for key, value in record.items() if value is not None}


def message_records(result: DebateResult) -> list[dict[str, Any]]:
    """Messages with keys ``r`` round, ``a`` author, ``o`` role, ``k`` kind, ``t`` text, and when set:
    ``ans`` answer, ``p`` confidence, ``pe`` parse error, ``d`` decision, ``re`` positions of the messages
    it responds to."""
    messages = result.transcript.messages
    position = {message.id: index for index, message in enumerate(messages)}
    records = []
    for message in messages:
        record: dict[str, Any] = {
            "r": message.round,
            "a": message.author,
            "o": message.role.value,
            "k": message.kind.value,
            "t": message.text,
            "ans": message.answer,
            "p": message.confidence,
            "pe": message.parse_error,
            "d": message.decision,
            "re": [position[i] for i in message.responds_to if i in position] or None,
        }
        records.append({key: value for key, value in record.items() if value is not None})
    return records
