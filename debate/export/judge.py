"""Judge data: preference pairs between judge rationales that led to the right and to the wrong verdict.

As in Self-Rationalization (Trivedi et al., 2024), a judge improves by
preferring its own rationales that ended in a right verdict over those that
ended in a wrong one, on the same input. Each verdict (the judge's whole
text: rationale, then verdict) is checked against a ``reference``:

- ``gold`` (default): the item's gold answer; debates without one are skipped (``no gold``).
- ``majority``: the debaters' last-round majority, ground-truth free (ties and
  low agreement are skipped, as for every pseudo-label).
- ``self``: the judge's own majority verdict over the verdicts on the same
  input, ground-truth free (the self-rationalization loop: ``debate judge``
  samples the judge K times per debate). A group whose verdicts all agree
  (``judge unanimous``) or whose top verdicts tie (``judge tie``) gives no pair.

A verdict sampled ``n`` times (``Message.samples``) counts as ``n`` verdicts on
its input. The prompt is a canonical judging chat built from what the verdict
read (the question and the responses it ``responds_to``, each quoted as
untrusted text; ``judge_prompt`` rewords it). Verdicts are grouped by ``pair_by``:

- ``input`` (default, as in the paper): the same prompt. Pairs need several
  verdicts on identical input: samples of one verdict, or the same debates
  judged in several runs (``debate export RUN_A RUN_B ...``).
- ``question``: the same question, whatever the responses; the prompt of a
  pair is the chosen verdict's. Looser, but it pairs verdicts across rounds.

In a group, each wrong verdict is paired with a right one in turn, the most
confident right one first (highest mean token log-probability, where the
verdicts have log-probabilities; else in order), at most
``max_pairs_per_group`` pairs. Unparsed verdicts are counted and never paired;
groups whose verdicts were all right or all wrong give no pair.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from debate.export.base import Exporter, ExportOptions, Row
from debate.export.card import ExportReport
from debate.export.labels import PseudoLabel, item_id, majority_answer, pseudo_label
from debate.export.prompts import Chat, JudgePrompt, assistant, judge_chat
from debate.messages import Message
from debate.transcript import DebateResult


class JudgeOptions(ExportOptions):
    """``ExportOptions`` plus ``reference``, ``min_agreement`` (for ``reference="majority"``),
    ``pair_by``, ``max_pairs_per_group`` and ``judge_prompt``; ``rounds`` picks the verdicts."""

    reference: Literal["gold", "majority", "self"] = "gold"
    min_agreement: float = Field(default=0.5, ge=0.0, le=1.0)
    pair_by: Literal["input", "question"] = "input"
    max_pairs_per_group: int | None = Field(default=None, ge=1)
    judge_prompt: JudgePrompt = Field(default_factory=JudgePrompt)


@dataclass
class JudgedVerdict:
    verdict: Message
    prompt: Chat
    result: DebateResult
    reference: str | None
    """What the verdict is checked against; under ``reference="self"``, set once its group is complete."""


def judging_prompt(
    result: DebateResult, responses: Sequence[Message], round: int, options: JudgeOptions
) -> Chat:
    """The judging chat on ``responses``: what verdicts are grouped and trained on, and what ``debate judge`` asks."""
    return judge_chat(
        result.transcript.question,
        responses,
        result.transcript.context,
        answer=options.answer,
        context_fields=options.context_fields,
        round=round,
        prompt=options.judge_prompt,
    )


def sampled_verdicts(verdict: Message) -> list[Message]:
    """A verdict sampled ``n`` times is ``n`` verdicts on the same input (its own text first)."""
    return [
        verdict.model_copy(
            update={
                "text": sample.text,
                "answer": sample.answer,
                "parse_error": sample.parse_error,
                "confidence": sample.confidence,
                "logprobs": sample.logprobs,
                "samples": [],
            }
        )
        for sample in verdict.samples
    ] or [verdict]


def reference_answer(result: DebateResult, options: JudgeOptions, report: ExportReport) -> str | None:
    """The answer verdicts are checked against, or None (counted as skipped, with the reason)."""
    if options.reference == "gold":
        if result.gold is None:
            report.skip("no gold")
            return None
        report.labeled += 1
        return result.gold
    label = pseudo_label(result, source="majority", min_agreement=options.min_agreement)
    if label.skip_reason is not None:
        report.skip(label.skip_reason)
        return None
    report.record_label(result, label)
    return label.answer


def self_reference(group: Sequence[JudgedVerdict], report: ExportReport) -> str | None:
    """The judge's own majority verdict in ``group``, or None when its verdicts all agree or tie.

    Gold is read only by ``report.record_label``, for the card's accuracy figure.
    """
    answer, reason = majority_answer([judged.verdict for judged in group])
    if answer is None:
        report.skip(f"judge {reason}")
        return None
    agreeing = sum(judged.verdict.answer == answer for judged in group)
    if agreeing == len(group):
        report.skip("judge unanimous")
        return None
    report.record_label(group[0].result, PseudoLabel(answer, agreement=agreeing / len(group)))
    return answer


def confidence(judged: JudgedVerdict) -> float:
    """How sure the judge was of its whole text (mean token log-probability); 0 without log-probabilities."""
    logprobs = judged.verdict.logprobs
    return logprobs.mean_logprob if logprobs is not None else 0.0


def judge_rows(results: Iterable[DebateResult], options: JudgeOptions, report: ExportReport) -> Iterator[Row]:
    groups: dict[str, list[JudgedVerdict]] = {}
    for result in results:
        report.debates += 1
        if result.failed:
            report.skip("failed debate")
            continue
        verdicts = options.select_rounds(result.transcript.verdicts())
        if not verdicts:
            report.skip("no verdict")
            continue
        reference = None
        if options.reference != "self":
            reference = reference_answer(result, options, report)
            if reference is None:
                continue
        by_id = {message.id: message for message in result.transcript.messages}
        for verdict in verdicts:
            read = [by_id[message_id] for message_id in verdict.responds_to if message_id in by_id]
            prompt = judging_prompt(result, read, verdict.round, options)
            key = json.dumps(prompt) if options.pair_by == "input" else result.transcript.question
            for sample in sampled_verdicts(verdict):
                if sample.answer is None:
                    report.count("unparsed verdicts")
                    continue
                groups.setdefault(key, []).append(JudgedVerdict(sample, prompt, result, reference))
    right_name, wrong_name = (
        ("verdicts with the judge's majority", "verdicts against the judge's majority")
        if options.reference == "self"
        else ("right verdicts", "wrong verdicts")
    )
    for group in groups.values():
        if options.reference == "self":
            majority = self_reference(group, report)
            if majority is None:
                continue
            for judged in group:
                judged.reference = majority
        right = sorted((j for j in group if j.verdict.answer == j.reference), key=confidence, reverse=True)
        wrong = [judged for judged in group if judged.verdict.answer != judged.reference]
        for name, verdicts in ((right_name, right), (wrong_name, wrong)):
            if verdicts:
                report.count(name, len(verdicts))
        if not (right and wrong):
            report.count("groups without a right and a wrong verdict")
            continue
        for index, loser in enumerate(wrong[: options.max_pairs_per_group]):
            winner = right[index % len(right)]
            yield {
                "prompt": winner.prompt,
                "chosen": assistant(winner.verdict.text),
                "rejected": assistant(loser.verdict.text),
                "reference": winner.reference,
                "chosen_verdict": winner.verdict.answer,
                "rejected_verdict": loser.verdict.answer,
                "chosen_debate_id": winner.result.debate_id,
                "rejected_debate_id": loser.result.debate_id,
                "item_id": item_id(winner.result),
            }


EXPORTER = Exporter(
    name="judge",
    summary="Each row is a preference pair of judge outputs on a judging prompt (`prompt`): a rationale and "
    "verdict that matched the reference answer (`chosen`) and one that did not (`rejected`); the reference is "
    "gold, the debaters' majority, or the judge's own majority verdict (`reference` column).",
    trainer="debate train --method dpo (DPOTrainer)",
    options=JudgeOptions,
    columns={
        "prompt": "chat",
        "chosen": "chat",
        "rejected": "chat",
        "reference": "string",
        "chosen_verdict": "string",
        "rejected_verdict": "string",
        "chosen_debate_id": "string",
        "rejected_debate_id": "string",
        "item_id": "string",
    },
    rows=judge_rows,
)
