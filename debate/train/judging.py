"""The self-improving judge's model-facing steps: sample a judge on finished debates, and score it.

Self-Rationalization (Trivedi et al., 2024) improves a judge without gold
answers. The judge reads the same debate K times and writes a rationale and a
verdict each time; its majority verdict decides which of its own rationales
are preferred (those that agree with it) over which (those that do not), and
DPO on those pairs gives the next judge. ``judge_run`` is the sampling step,
``debate export --format judge --set reference=self`` (``debate.export.judge``)
turns its output into the pairs, ``debate train --method dpo`` trains, and
``debate evolve --evolve-judge`` repeats the three every round.

``judge_run`` reads a run directory and writes another: each debate again,
with one more verdict (author ``SELF_JUDGE``) per judged round, holding all
K samples (``Message.samples``). The judge is asked with the export's judging
chat (``debate.export.judge.judging_prompt``): the question and the round's
responses, quoted as untrusted text, so the pairs are trained on exactly
what was sampled. Gold answers are never shown to the judge nor used to make
pairs; ``contested_verdict_accuracy`` reads them to score the judge, for reporting.

**Judge accuracy**: over the verdicts on *contested* responses (at least two
different parsed answers among the responses the judge read) whose gold
answer is one of them, the share whose verdict is the gold answer. A verdict
naming none of the contested answers, or none at all, is wrong (``outside``
counts them). The verdict is the message's first sample: with greedy
sampling and ``samples=1``, the judge's one answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from debate.agents.backends import Backend, ChatMessage, ChatRequest, ChatResponse, resolve_backend
from debate.answers import answer_parser, safe_parse
from debate.export import get_exporter
from debate.export.base import Rounds
from debate.export.judge import JudgeOptions, judging_prompt
from debate.export.labels import answer_messages
from debate.logprobs import summarize_logprobs
from debate.messages import Message, MessageKind, Role, Sample, SamplingParams, message_id
from debate.metrics import Estimate, bootstrap_ci
from debate.runner.redaction import redact
from debate.runner.runner import failure_reason
from debate.train.evaluate import model_backend
from debate.transcript import DebateResult, load_results, save_results

SELF_JUDGE = "self_judge"
"""The author of the verdicts ``judge_run`` adds."""

JUDGING_FILE = "judging.json"
RESULTS_FILE = "results.jsonl"

JUDGE_SAMPLING = SamplingParams(temperature=1.0, max_tokens=512, logprobs=True)
"""Sampling for self-rationalization: hot enough for the samples to disagree, with log-probabilities so
that the most confident agreeing rationale is chosen first."""


class JudgeAccuracy(BaseModel):
    """How often the judge picked the gold answer among the contested ones (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid")

    verdicts: int = 0
    contested: int = 0
    """Verdicts on responses with at least two different parsed answers."""
    scored: int = 0
    """Contested verdicts whose gold answer was among the responses' answers."""
    correct: int = 0
    outside: int = 0
    """Scored verdicts that named none of the contested answers (unparsed ones included)."""
    accuracy: Estimate | None = None
    """``correct / scored`` with its 95% bootstrap interval (2,000 resamples, seed 0)."""


class JudgingReport(BaseModel):
    """What ``judge_run`` did; saved as ``judging.json`` beside the judged results."""

    model_config = ConfigDict(extra="forbid")

    source: str
    model: str
    samples: int
    sampling: SamplingParams
    rounds: Rounds
    options: dict[str, Any]
    """The judge export options that made the prompt (``answer``, ``context_fields``, ``judge_prompt``)."""
    judged: int = 0
    """Debates in the output, each with its new verdicts."""
    failed: int = 0
    """Verdicts the judge's backend did not give: recorded without an answer, the error as ``parse_error``."""
    skipped: dict[str, int] = Field(default_factory=dict)
    accuracy: JudgeAccuracy = Field(default_factory=JudgeAccuracy)
    wall_time_s: float = 0.0


def judge_run(
    source: str | Path,
    judge: str | Path | Backend,
    out: str | Path,
    *,
    samples: int = 8,
    sampling: SamplingParams = JUDGE_SAMPLING,
    rounds: Rounds = "final",
    options: Mapping[str, Any] | None = None,
    seed: int | None = 0,
    concurrency: int = 64,
    device: str = "auto",
    max_batch_size: int | None = None,
) -> JudgingReport:
    """Sample ``judge`` ``samples`` times on each debate of the run ``source``; ``out`` gets the judged run.

    ``judge`` is a model directory, a backend URI or a backend. ``rounds`` picks
    the debate rounds to judge (``final``: the last round with answers; one
    verdict per round). ``options`` are the judge export's (``answer``,
    ``context_fields``, ``judge_prompt``): pass the same to the export. With a
    ``seed``, each request's seed derives from it and the debate, so a rerun
    samples the same texts. Rerunning with the same ``out`` resumes: judged
    debates are not asked again; other settings than the first run's are refused.
    """
    from debate.export import results_path
    from debate.runner.seeding import agent_seed

    started = time.perf_counter()
    parsed = get_exporter("judge").parse_options(options or {})
    assert isinstance(parsed, JudgeOptions)
    sampling = sampling.model_copy(update={"n": samples})
    backend = resolve_backend(model_backend(judge, device, max_batch_size))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = JudgingReport(
        source=str(source),
        model=str(getattr(judge, "name", judge)),
        samples=samples,
        sampling=sampling,
        rounds=rounds,
        options=parsed.model_dump(mode="json", include={"answer", "context_fields", "judge_prompt"}),
    )
    results_file = out / RESULTS_FILE
    done = _resume(out, report)
    parser = answer_parser(parsed.answer)

    def request(result: DebateResult, round_: int, responses: list[Message]) -> ChatRequest:
        chat = judging_prompt(result, responses, round_, parsed)
        own_seed = {"seed": agent_seed(seed, f"{result.debate_id}/{round_}")} if seed is not None else {}
        return ChatRequest(
            messages=[ChatMessage.model_validate(turn) for turn in chat],
            sampling=sampling.model_copy(update=own_seed),
            agent=SELF_JUDGE,
            debate_id=result.debate_id,
            round=round_,
        )

    def verdict(
        request: ChatRequest, response: ChatResponse | Exception, responses: list[Message]
    ) -> Message:
        failure = None
        if isinstance(response, Exception):  # kept: a request that always fails must not stop every rerun
            report.failed += 1
            failure = f"judge failed: {redact(failure_reason(response))}"
            response = ChatResponse(text="")
        first, *_ = parsed_samples = [
            _sample(completion.text, completion.logprobs, parser) for completion in response.completions()
        ]
        return Message(
            id=message_id(request.debate_id, request.round, SELF_JUDGE, MessageKind.VERDICT),
            debate_id=request.debate_id,
            round=request.round,
            author=SELF_JUDGE,
            role=Role.JUDGE,
            kind=MessageKind.VERDICT,
            text=first.text,
            answer=None if failure else first.answer,
            parse_error=failure or first.parse_error,
            confidence=first.confidence,
            visible_to=[SELF_JUDGE],
            responds_to=[message.id for message in responses],
            model=response.model,
            sampling=request.sampling,
            usage=response.usage,
            latency_s=response.latency_s,
            logprobs=first.logprobs,
            samples=parsed_samples if len(parsed_samples) > 1 else [],
        )

    async def judge_all(pending: list[DebateResult]) -> None:
        for start in range(0, len(pending), concurrency):
            chunk = pending[start : start + concurrency]
            jobs = [
                (result, round_, responses)
                for result in chunk
                for round_, responses in _judged(result, rounds)
            ]
            requests = [request(result, round_, responses) for result, round_, responses in jobs]
            responses_ = await _answers_or_errors(backend, requests) if requests else []
            added: dict[str, list[Message]] = {}
            for (result, _, responses), asked, answer in zip(jobs, requests, responses_, strict=True):
                added.setdefault(result.debate_id, []).append(verdict(asked, answer, responses))
            judged = [_with_verdicts(result, added[result.debate_id]) for result in chunk]
            save_results(results_file, judged, append=True)
            report.judged += len(judged)

    pending: list[DebateResult] = []
    for result in load_results(results_path(source)):
        if result.debate_id in done:
            continue
        if result.failed:
            _skip(report, "failed debate")
        elif not _judged(result, rounds):
            _skip(report, "no responses to judge")
        else:
            pending.append(result)
    asyncio.run(judge_all(pending))
    report.accuracy = contested_verdict_accuracy(load_results(results_file))
    report.wall_time_s += time.perf_counter() - started
    (out / JUDGING_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return report


async def _answers_or_errors(backend: Backend, requests: list[ChatRequest]) -> list[ChatResponse | Exception]:
    """One answer per request; where the backend fails (after its own retries), each request is asked alone
    and the ones it fails on get their error: one bad request must not stop the judging of the others."""
    try:
        return list(await backend.generate(requests))
    except Exception as error:  # noqa: BLE001 - recorded as a failed verdict
        if len(requests) == 1:
            return [error]
        alone = await asyncio.gather(*(_answers_or_errors(backend, [request]) for request in requests))
        return [answer for [answer] in alone]


def contested_verdict_accuracy(results: Iterable[DebateResult], *, author: str = SELF_JUDGE) -> JudgeAccuracy:
    """The accuracy of ``author``'s verdicts (see the module's docstring), with a 95% bootstrap interval."""
    accuracy = JudgeAccuracy()
    right = verdict_scores(results, author=author, counts=accuracy)
    accuracy.correct = sum(right.values())
    accuracy.accuracy = bootstrap_ci([float(value) for value in right.values()]) if right else None
    return accuracy


def verdict_scores(
    results: Iterable[DebateResult], *, author: str = SELF_JUDGE, counts: JudgeAccuracy | None = None
) -> dict[str, bool]:
    """Verdict id -> whether it named the gold answer, for every scored verdict of ``author``.

    Ids are the same when two judges judge the same debates, so two judges compare verdict by verdict.
    """
    counts = counts if counts is not None else JudgeAccuracy()
    scores: dict[str, bool] = {}
    for result in results:
        by_id = {message.id: message for message in result.transcript.messages}
        for verdict in result.transcript.verdicts():
            if verdict.author != author:
                continue
            counts.verdicts += 1
            contested = {by_id[i].answer for i in verdict.responds_to if i in by_id} - {None}
            if len(contested) < 2:
                continue
            counts.contested += 1
            if result.gold not in contested:
                continue
            counts.scored += 1
            counts.outside += int(verdict.answer not in contested)
            scores[verdict.id] = verdict.answer == result.gold
    return scores


def _judged(result: DebateResult, rounds: Rounds) -> list[tuple[int, list[Message]]]:
    """(round, the round's responses) for each round the judge reads."""
    responses = answer_messages(result)
    numbers = sorted({message.round for message in responses})
    if rounds == "final":
        numbers = numbers[-1:]
    elif rounds != "all":
        numbers = [number for number in numbers if number in rounds]
    return [(number, [m for m in responses if m.round == number]) for number in numbers]


def _sample(text: str, logprobs: Any, parser: Any) -> Sample:  # noqa: ANN401 - TokenLogprobs, AnswerParser
    parsed = safe_parse(parser, text)
    return Sample(
        text=text,
        answer=parsed.answer,
        parse_error=parsed.reason,
        confidence=parsed.confidence,
        logprobs=summarize_logprobs(logprobs, text=text, answer=parsed.answer),
    )


def _with_verdicts(result: DebateResult, verdicts: list[Message]) -> DebateResult:
    transcript = result.transcript.model_copy(update={"messages": [*result.transcript.messages, *verdicts]})
    return result.model_copy(update={"transcript": transcript})


def _skip(report: JudgingReport, reason: str) -> None:
    report.skipped[reason] = report.skipped.get(reason, 0) + 1


def _resume(out: Path, report: JudgingReport) -> set[str]:
    """The debate ids ``out`` already holds, or none (a fresh start); refuses a directory judged otherwise."""
    earlier_file, results_file = out / JUDGING_FILE, out / RESULTS_FILE
    if not earlier_file.is_file():
        results_file.write_text("", encoding="utf-8")
        earlier_file.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return set()
    earlier = JudgingReport.model_validate_json(earlier_file.read_text(encoding="utf-8"))
    for field in ("source", "model", "samples", "sampling", "rounds", "options"):
        if getattr(earlier, field) != getattr(report, field):
            raise ValueError(
                f"{field}: {out} was judged with {field}={getattr(earlier, field)!r}, this run asks for "
                f"{getattr(report, field)!r}; use another --out"
            )
    report.wall_time_s = earlier.wall_time_s
    done = {result.debate_id for result in load_results(results_file)} if results_file.is_file() else set()
    report.judged = len(done)
    return done


def read_judging(out: str | Path) -> JudgingReport:
    """The ``judging.json`` of an earlier ``judge_run``."""
    return JudgingReport.model_validate_json((Path(out) / JUDGING_FILE).read_text(encoding="utf-8"))
