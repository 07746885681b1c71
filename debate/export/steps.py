"""Step-level preference pairs (Step-DPO): the first wrong step of a refuted solution against a right next step.

Step-DPO (Lai et al., 2024) prefers, after a correct prefix of a solution,
a correct next step over the first wrong one. Here the wrong solutions are
the debate's refuted responses and the first wrong step is found by
comparing with the consensus solution; no gold answer is read unless
``label="gold"`` is asked for.

**Steps.** A GSM8K-style worked solution is read as lines: every non-empty
line before its answer line (``#### N``) is one step, and the answer line is
the last step. A response without an answer line is not a worked solution
and gives no pair (counted as ``refuted responses without an answer line``;
a consensus without one skips the question as ``no agreeing worked solution``).
A step's *value* is the last number it states (``6 + 4 = 10`` -> ``10``); a
step without a number has none.

**The first wrong step** of a refuted response (parsed answer other than the
label) is its first step whose value occurs nowhere in the consensus
solution nor in the question: the first number the refuted solution made up.
Steps that state no number are never the wrong one. When every value is
supported the mistake cannot be located (counted as ``refuted responses
without a located wrong step``). A question with refuted responses but no
pair is skipped as ``no step pair``; one where nothing was refuted (all
agreed) as ``nothing refuted``.

**The pair.** The correct prefix is the refuted solution's steps before the
wrong one. ``chosen`` is the prefix followed by the first step of the
consensus solution whose value the prefix has not stated yet (its next new
result; the answer line at the latest), ``rejected`` the prefix followed by
the wrong step. Both completions carry the same prefix, so in DPO's loss the
prefix's log-probabilities cancel between chosen and rejected (for the policy
and the reference alike) and only the two next steps are compared: exactly
Step-DPO's objective, in TRL's plain ``prompt``/``chosen``/``rejected``
columns. ``prefix``, ``chosen_step`` and ``rejected_step`` hold the parts.

The consensus solution is a response that gave the label in the latest round
that has one, the refuted solution's own author's first (a self-correction),
else the first. Labels follow ``debate.export.labels`` (``label="final"`` by
default); ``rounds`` picks the refuted responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import Field

from debate.answers import normalize_number
from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import LabelOrGold, answer_messages, item_id, last_round
from debate.export.prompts import assistant
from debate.messages import Message
from debate.transcript import DebateResult

ANSWER_LINE = re.compile(r"^\s*####")
NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


class StepOptions(LabeledOptions):
    """``LabeledOptions`` (``label`` may also be ``gold``, when asked for) plus ``max_pairs_per_question``."""

    label: LabelOrGold = "final"  # type: ignore[assignment]
    max_pairs_per_question: int | None = Field(default=None, ge=1)


def solution_steps(text: str) -> list[str] | None:
    """The steps of a worked solution (non-empty lines, then the ``#### N`` line), or None without that line."""
    steps: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        steps.append(line.strip())
        if ANSWER_LINE.match(line):
            return steps
    return None


def numbers(text: str) -> list[str]:
    """The numbers ``text`` states, normalised so that ``1,200`` and ``1200.00`` compare equal."""
    return [value for raw in NUMBER.findall(text) if (value := normalize_number(raw)) is not None]


def step_value(step: str) -> str | None:
    """The result a step states: its last number."""
    found = numbers(step)
    return found[-1] if found else None


@dataclass(frozen=True)
class StepPair:
    prefix: list[str]
    chosen_step: str
    rejected_step: str
    wrong_index: int


def first_wrong_step(wrong: list[str], consensus: list[str], question: str) -> StepPair | None:
    """The step pair for a refuted solution against the consensus one, or None when no step is unsupported."""
    supported = set(numbers(question)) | {value for step in consensus for value in numbers(step)}
    for index, step in enumerate(wrong):
        value = step_value(step)
        if value is None or value in supported:
            continue
        prefix = wrong[:index]
        stated = {step_value(done) for done in prefix}
        chosen = next(
            (s for s in consensus if (v := step_value(s)) is not None and v not in stated), consensus[-1]
        )
        return StepPair(prefix, chosen, step, index)
    return None


def joined(steps: Iterable[str]) -> str:
    return "\n".join(steps)


def step_rows(results: Iterable[DebateResult], options: StepOptions, report: ExportReport) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        winners = last_round([m for m in answer_messages(result) if m.answer == label.answer])
        consensus = [(m, steps) for m in winners if (steps := solution_steps(m.text)) is not None]
        refuted = [m for m in options.responses(result) if m.answer not in (None, label.answer)]
        if not consensus:
            report.skip("no agreeing worked solution")
            continue
        if not refuted:
            report.skip("nothing refuted")
            continue
        pairs = list(_pairs(result, refuted, consensus, report))
        if not pairs:
            report.skip("no step pair")
            continue
        report.count("questions with pairs")
        for loser, winner, pair in pairs[: options.max_pairs_per_question]:
            yield {
                "prompt": options.solver_prompt(result, loser.author),  # as the refuted author was asked
                "chosen": assistant(joined([*pair.prefix, pair.chosen_step])),
                "rejected": assistant(joined([*pair.prefix, pair.rejected_step])),
                "prefix": joined(pair.prefix),
                "chosen_step": pair.chosen_step,
                "rejected_step": pair.rejected_step,
                "wrong_step_index": pair.wrong_index,
                "answer": label.answer,
                "rejected_answer": loser.answer,
                "consensus_author": winner.author,
                "rejected_author": loser.author,
                "rejected_round": loser.round,
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


def _pairs(
    result: DebateResult,
    refuted: list[Message],
    consensus: list[tuple[Message, list[str]]],
    report: ExportReport,
) -> Iterator[tuple[Message, Message, StepPair]]:
    """(refuted response, consensus response, step pair) per refuted response whose first wrong step is found."""
    for loser in refuted:
        steps = solution_steps(loser.text)
        if steps is None:
            report.count("refuted responses without an answer line")
            continue
        same_author = [(m, s) for m, s in consensus if m.author == loser.author]
        winner, winner_steps = (same_author or consensus)[0]
        pair = first_wrong_step(steps, winner_steps, result.transcript.question)
        if pair is None:
            report.count("refuted responses without a located wrong step")
            continue
        yield loser, winner, pair


EXPORTER = Exporter(
    name="step_dpo",
    summary="Each row is a step-level preference pair (Step-DPO): the question (`prompt`), then a refuted "
    "solution's correct prefix (`prefix`) continued by the consensus solution's next step (`chosen`) or by "
    "the refuted solution's first wrong step (`rejected`).",
    trainer="debate train --method dpo (DPOTrainer)",
    options=StepOptions,
    columns={
        "prompt": "chat",
        "chosen": "chat",
        "rejected": "chat",
        "prefix": "string",
        "chosen_step": "string",
        "rejected_step": "string",
        "wrong_step_index": "int",
        "answer": "string",
        "rejected_answer": "string",
        "consensus_author": "string",
        "rejected_author": "string",
        "rejected_round": "int",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=step_rows,
)
