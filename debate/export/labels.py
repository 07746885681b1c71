"""Pseudo-labels: what a debate concluded, decided without the gold answer.

DTE trains on debates without ground truth: the answer the debaters converged
on is the label. Every exporter asks this module the same two questions:
which messages carry an answer, and what the debate's answer is (with how many
of the final-round answers agree with it).

The rules, in one place:

- Answer-carrying messages are the arguments and refinements of debaters and
  refiners; critiques, questions and verdicts are not.
- ``source="majority"`` (DTE): the most frequent parsed answer of the last round
  that has answers. A tie for first place is no consensus: the question is
  skipped (reason ``tie``), never broken by agent order as the live vote does.
- ``source="final"``: the debate's own ``final_answer``, i.e. the judge's
  verdict when a judge decided, else the scenario's vote.
- ``source="gold"``: the item's gold answer, only for formats that offer it
  (``LabelOrGold``) and only when the user asks; debates without one are
  skipped (reason ``no gold``). Every other source leaves gold unread.
- ``agreement`` is the share of last-round answer messages equal to the label;
  an abstention (unparsed answer) counts as disagreeing. Questions below
  ``min_agreement`` are skipped (reason ``low agreement``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from debate.messages import Message, MessageKind, Role
from debate.transcript import DebateResult

LabelSource = Literal["majority", "final"]
LabelOrGold = Literal["majority", "final", "gold"]
"""The label sources of formats that may be labelled by gold answers when the user asks."""

ANSWER_ROLES = frozenset({Role.DEBATER, Role.REFINER})
ANSWER_KINDS = frozenset({MessageKind.ARGUMENT, MessageKind.REFINEMENT})


def answer_messages(result: DebateResult) -> list[Message]:
    """The messages that put forward an answer, in transcript order."""
    return [m for m in result.transcript.messages if m.role in ANSWER_ROLES and m.kind in ANSWER_KINDS]


def last_round(messages: Sequence[Message]) -> list[Message]:
    """The answer messages of the latest round that has any."""
    if not messages:
        return []
    final = max(message.round for message in messages)
    return [message for message in messages if message.round == final]


@dataclass(frozen=True)
class PseudoLabel:
    """The debate's answer (``answer``), or why there is none (``skip_reason``)."""

    answer: str | None
    agreement: float = 0.0
    unanimous: bool = False
    """Every last-round answer message gave ``answer`` (no dissent, no abstention)."""
    skip_reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.skip_reason is None


def majority_answer(messages: Sequence[Message]) -> tuple[str | None, str | None]:
    """(strict plurality answer, None) or (None, why not): ``tie`` or ``no parsed answer``."""
    counts = Counter(message.answer for message in messages if message.answer is not None)
    if not counts:
        return None, "no parsed answer"
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, "tie"
    return ranked[0][0], None


def pseudo_label(result: DebateResult, *, source: LabelOrGold, min_agreement: float) -> PseudoLabel:
    """The label of one debate under the rules above; the gold answer is read only for ``source="gold"``."""
    final_round = last_round(answer_messages(result))
    if source == "majority":
        answer, reason = majority_answer(final_round)
    elif source == "final":
        answer, reason = result.final_answer, None if result.final_answer is not None else "no final answer"
    elif source == "gold":
        answer, reason = result.gold, None if result.gold is not None else "no gold"
    else:
        raise ValueError(f"label: unknown label source {source!r}; valid: 'majority', 'final', 'gold'")
    if answer is None:
        return PseudoLabel(None, skip_reason=reason)
    agreeing = sum(message.answer == answer for message in final_round)
    agreement = agreeing / len(final_round) if final_round else 0.0
    unanimous = bool(final_round) and agreeing == len(final_round)
    if agreement < min_agreement:
        return PseudoLabel(answer, agreement, unanimous, skip_reason="low agreement")
    return PseudoLabel(answer, agreement, unanimous)


def item_id(result: DebateResult) -> str:
    """The dataset item's id (the runner stores it in metadata), else the debate id."""
    return str(result.metadata.get("item_id") or result.debate_id)
