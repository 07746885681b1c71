"""Stance data (DEBATUNE): each side's strongest statements for a stance it was assigned, as SFT conversations.

DEBATUNE (Li et al., 2024) teaches a model to argue a given stance on a
question convincingly, from debates between two debaters on opposite sides.
A debate gives stance data when it has exactly two debaters whose first
arguments hold different answers (their stances): assigned in ``debate`` and
``debate_sequential``, where the protocol records each side's answer on its
arguments, and taken by the affirmative and the negative in ``mad``. Other
debates are skipped (``no opposite stances``).

**Strongest statements.** A side that gave up its stance (a later argument
with another answer, as a convinced MAD negative does) conceded and gives
none (counted as ``sides that gave up their stance``). Of a side that held
it, the strongest statement is its argument of the latest round it spoke in
(``rounds="final"``, the default): written last, having read the whole
opposing case and answered it. ``rounds="all"`` keeps every round's.
``sides="both"`` (default) exports both sides, each its own row, so the
model learns to argue either way; ``sides="winner"`` keeps only the side the
debate's final answer (the judge's verdict) agreed with. Gold answers are
never read; the card's accuracy is the winner's against gold where the run had
gold and only under ``sides="winner"``.

**The prompt** is the solver chat with ``stance_prompt`` as its user turn,
naming the position to argue (``{position}``); the completion is the
statement, as the debater wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from debate.export.base import Exporter, ExportOptions, Rounds, Row
from debate.export.card import ExportReport
from debate.export.labels import item_id
from debate.export.prompts import assistant
from debate.messages import Message, MessageKind, Role
from debate.transcript import DebateResult

STANCE_PROMPT = """{context}Question: {question}

Your position: {position}

Argue for your position as convincingly as you can: give your strongest reasons and answer the best \
objections to it. {answer_instruction}"""


class StanceOptions(ExportOptions):
    """``ExportOptions`` (``rounds="final"`` by default) plus ``sides`` and ``stance_prompt`` (the user template)."""

    rounds: Rounds = "final"
    sides: Literal["both", "winner"] = "both"
    stance_prompt: str = STANCE_PROMPT


def stances(result: DebateResult) -> dict[str, tuple[str, list[Message]]] | None:
    """Debater -> (its stance, its arguments), when exactly two debaters took different first answers."""
    arguments: dict[str, list[Message]] = {}
    for message in result.transcript.messages:
        if message.role is Role.DEBATER and message.kind is MessageKind.ARGUMENT:
            arguments.setdefault(message.author, []).append(message)
    if len(arguments) != 2:
        return None
    first, second = (said[0].answer for said in arguments.values())
    if first is None or second is None or first == second:
        return None
    return {
        author: (stance, said)
        for (author, said), stance in zip(arguments.items(), (first, second), strict=True)
    }


def stance_rows(
    results: Iterable[DebateResult], options: StanceOptions, report: ExportReport
) -> Iterator[Row]:
    as_advocate = options.model_copy(
        update={"prompt": options.prompt.model_copy(update={"user": options.stance_prompt})}
    )
    for result in results:
        report.debates += 1
        if result.failed:
            report.skip("failed debate")
            continue
        sides = stances(result)
        if sides is None:
            report.skip("no opposite stances")
            continue
        winner = result.final_answer
        if options.sides == "winner":
            if winner not in {stance for stance, _ in sides.values()}:
                report.skip("no winning side")
                continue
            if result.gold is not None:
                report.gold_checked += 1
                report.gold_correct += int(winner == result.gold)
        report.labeled += 1
        for author, (stance, said) in sides.items():
            if options.sides == "winner" and stance != winner:
                continue
            if any(message.answer != stance for message in said):
                report.count("sides that gave up their stance")
                continue
            statements = options.select_rounds(said)
            if not statements:
                report.count("sides without a statement in the chosen rounds")
                continue
            opponent = next(other for name, (other, _) in sides.items() if name != author)
            prompt = as_advocate.solver_prompt(result, position=stance)
            for statement in statements:
                yield {
                    "messages": prompt + assistant(statement.text),
                    "stance": stance,
                    "opponent_stance": opponent,
                    "won": stance == winner,
                    "round": statement.round,
                    "author": author,
                    "debate_id": result.debate_id,
                    "item_id": item_id(result),
                }


EXPORTER = Exporter(
    name="stance",
    summary="Each row is a conversation (`messages`): a question and a position to argue (`stance`), then a "
    "debater's strongest statement for that position against the opposite one (`opponent_stance`).",
    trainer="debate train --method sft (SFTTrainer)",
    options=StanceOptions,
    columns={
        "messages": "chat",
        "stance": "string",
        "opponent_stance": "string",
        "won": "bool",
        "round": "int",
        "author": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=stance_rows,
    row_kind=lambda row: "winning side" if row["won"] else "losing side",
)
