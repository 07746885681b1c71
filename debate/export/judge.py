"""Judge data: preference pairs between judge rationales that led to the right and to the wrong verdict.

As in Self-Rationalization (Trivedi et al., 2024), a judge improves by
preferring its own rationales that ended in a right verdict over those that
ended in a wrong one, on the same input. Each verdict (the judge's whole
text: rationale, then verdict) is checked against a ``reference``:

- ``gold`` (default): the item's gold answer; debates without one are skipped (``no gold``).
- ``majority``: the debaters' last-round majority, ground-truth free (ties and
  low agreement are skipped, as for every pseudo-label).

The prompt is a canonical judging chat built from what the verdict read (the
question and the responses it ``responds_to``, each quoted as untrusted text).
Verdicts are grouped by ``pair_by``:

- ``input`` (default, as in the paper): the same prompt. Pairs need several
  verdicts on identical input, e.g. the same debates judged in several runs
  (``debate export RUN_A RUN_B ...``).
- ``question``: the same question, whatever the responses; the prompt of a
  pair is the chosen verdict's. Looser, but it pairs verdicts across rounds.

In a group, each wrong verdict is paired with a right one in turn, at most
``max_pairs_per_group`` pairs. Unparsed verdicts are counted and never paired;
groups whose verdicts were all right or all wrong give no pair.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from debate.export.base import Exporter, ExportOptions, Row
from debate.export.card import ExportReport
from debate.export.labels import item_id, pseudo_label
from debate.export.prompts import Chat, assistant, judge_chat
from debate.messages import Message
from debate.transcript import DebateResult


class JudgeOptions(ExportOptions):
    """``ExportOptions`` plus ``reference``, ``min_agreement`` (for ``reference="majority"``),
    ``pair_by`` and ``max_pairs_per_group``; ``rounds`` picks the verdicts."""

    reference: Literal["gold", "majority"] = "gold"
    min_agreement: float = Field(default=0.5, ge=0.0, le=1.0)
    pair_by: Literal["input", "question"] = "input"
    max_pairs_per_group: int | None = Field(default=None, ge=1)


@dataclass
class JudgedVerdict:
    verdict: Message
    prompt: Chat
    result: DebateResult


@dataclass
class VerdictGroup:
    reference: str
    right: list[JudgedVerdict] = field(default_factory=list)
    wrong: list[JudgedVerdict] = field(default_factory=list)


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


def judge_rows(results: Iterable[DebateResult], options: JudgeOptions, report: ExportReport) -> Iterator[Row]:
    groups: dict[str, VerdictGroup] = {}
    for result in results:
        report.debates += 1
        if result.failed:
            report.skip("failed debate")
            continue
        messages = result.transcript.messages
        verdicts = options.select_rounds(result.transcript.verdicts())
        if not verdicts:
            report.skip("no verdict")
            continue
        reference = reference_answer(result, options, report)
        if reference is None:
            continue
        by_id = {message.id: message for message in messages}
        for verdict in verdicts:
            if verdict.answer is None:
                report.count("unparsed verdicts")
                continue
            read = [by_id[message_id] for message_id in verdict.responds_to if message_id in by_id]
            prompt = judge_chat(
                result.transcript.question,
                read,
                result.transcript.context,
                answer=options.answer,
                context_fields=options.context_fields,
                round=verdict.round,
            )
            key = json.dumps(prompt) if options.pair_by == "input" else result.transcript.question
            group = groups.setdefault(key, VerdictGroup(reference))
            right = verdict.answer == reference
            (group.right if right else group.wrong).append(JudgedVerdict(verdict, prompt, result))
            report.count("right verdicts" if right else "wrong verdicts")
    for group in groups.values():
        if not (group.right and group.wrong):
            report.count("groups without a right and a wrong verdict")
            continue
        for index, loser in enumerate(group.wrong[: options.max_pairs_per_group]):
            winner = group.right[index % len(group.right)]
            yield {
                "prompt": winner.prompt,
                "chosen": assistant(winner.verdict.text),
                "rejected": assistant(loser.verdict.text),
                "reference": group.reference,
                "chosen_verdict": winner.verdict.answer,
                "rejected_verdict": loser.verdict.answer,
                "chosen_debate_id": winner.result.debate_id,
                "rejected_debate_id": loser.result.debate_id,
                "item_id": item_id(winner.result),
            }


EXPORTER = Exporter(
    name="judge",
    summary="Each row is a preference pair of judge outputs on a judging prompt (`prompt`): a rationale and "
    "verdict that matched the reference answer (`chosen`) and one that did not (`rejected`).",
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
