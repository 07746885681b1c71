"""AIDSAFE data: the refined, policy-embedded chain of thought (SFT) and refined-over-flawed pairs (DPO).

An ``aidsafe`` debate (``debate.protocols.aidsafe``) ends with the refiner's
refinement of the deliberated chain of thought: numbered thoughts citing the
policy, the response, and the decision (``comply`` or ``refuse``) as answer.

**The label** is the debate's final answer (``label="final"``, the refined
decision) by default; ``label="gold"`` (only when asked) reads the item's gold
decision, and a debate whose refined decision is not the label gives no row
(``refined decision is not the label``). A debate without a refinement (not
run under ``aidsafe``) is skipped (``no refinement``).

- ``aidsafe`` (``EXPORTER``, SFT): ``messages`` is the solver chat (the
  question alone: the trained model is to reason over the policy without
  being shown it) and the refined text as the assistant turn.
- ``aidsafe_dpo`` (``PAIRS_EXPORTER``, DPO): the same prompt, the refined text
  ``chosen``, and ``rejected`` one of (``rejected_from``): ``belief``, the
  refiner's continuation that took the ear-whisperer's false belief as true
  (the paper's belief augmentation; the belief is in ``belief``), and
  ``unrefined``, the deliberation's final chain before the refiner cleaned it
  (its ``Deliberation: COMPLETE`` line cut). ``rejected`` (``both`` by
  default, or ``belief`` / ``unrefined``) says which to use; a rejected text
  equal to the chosen one gives no pair, and a debate left with none is
  skipped (``nothing to reject``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import Field

from debate.answers import AnswerFormat
from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import LabelOrGold, PseudoLabel, item_id
from debate.export.prompts import assistant
from debate.messages import Message, Role
from debate.protocols.aidsafe import chain_turns, declares_complete
from debate.transcript import DebateResult

_THOUGHT = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)
_COMPLETE_LINE = re.compile(r"^\W*deliberation\s*:\s*\**\s*complete\b.*$\n?", re.IGNORECASE | re.MULTILINE)


class AidsafeOptions(LabeledOptions):
    """``LabeledOptions`` (``label`` may also be ``gold``); questions are asked for a ``text`` answer."""

    label: LabelOrGold = "final"  # type: ignore[assignment]
    min_agreement: float = Field(default=0.0, ge=0.0, le=1.0)
    answer: AnswerFormat = "text"


class AidsafePairOptions(AidsafeOptions):
    """``AidsafeOptions`` plus ``rejected``: which flawed chains to reject (``both``, ``belief``, ``unrefined``)."""

    rejected: Literal["both", "belief", "unrefined"] = "both"


def refinement(result: DebateResult, label: PseudoLabel, report: ExportReport) -> Message | None:
    """The refiner's refinement when it gave the label; otherwise ``None``, counted in ``report`` as skipped."""
    refined = next((m for m in reversed(result.transcript.messages) if m.role is Role.REFINER), None)
    if refined is None:
        report.skip("no refinement")
        return None
    if refined.answer != label.answer:
        report.skip("refined decision is not the label")
        return None
    return refined


def thoughts(text: str) -> int:
    """How many numbered thoughts a chain of thought holds."""
    return len(_THOUGHT.findall(text))


def unrefined_text(chain: Message) -> str:
    """The deliberation's last chain as training text: without the ``Deliberation: COMPLETE`` marker."""
    return _COMPLETE_LINE.sub("", chain.text).rstrip() if declares_complete(chain) else chain.text


def refined_rows(
    results: Iterable[DebateResult], options: AidsafeOptions, report: ExportReport
) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        refined = refinement(result, label, report)
        if refined is None:
            continue
        chain = chain_turns(result.transcript.messages)
        yield {
            "messages": options.solver_prompt(result) + assistant(refined.text),
            "answer": refined.answer,
            "thoughts": thoughts(refined.text),
            "thoughts_removed": thoughts(chain[-1].text) - thoughts(refined.text) if chain else 0,
            "deliberation_turns": len(chain),
            "debate_id": result.debate_id,
            "item_id": item_id(result),
        }


def pair_rows(
    results: Iterable[DebateResult], options: AidsafePairOptions, report: ExportReport
) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        refined = refinement(result, label, report)
        if refined is None:
            continue
        by_id = {message.id: message for message in result.transcript.messages}
        candidates: list[tuple[str, str, str | None, str]] = []  # (source, text, answer, belief)
        if options.rejected in ("both", "belief"):
            for branch in result.transcript.branches:
                if branch.of == refined.id and branch.continuation == "belief":
                    belief = by_id[branch.steered_by].text.strip() if branch.steered_by in by_id else ""
                    candidates.append(("belief", branch.message.text, branch.message.answer, belief))
        chain = chain_turns(result.transcript.messages)
        if options.rejected in ("both", "unrefined") and chain:
            candidates.append(("unrefined", unrefined_text(chain[-1]), chain[-1].answer, ""))
        pairs = [candidate for candidate in candidates if candidate[1].strip() != refined.text.strip()]
        report.count("rejected texts equal to the refined one", len(candidates) - len(pairs))
        if not pairs:
            report.skip("nothing to reject")
            continue
        prompt = options.solver_prompt(result)
        for source, text, answer, belief in pairs:
            yield {
                "prompt": prompt,
                "chosen": assistant(refined.text),
                "rejected": assistant(text),
                "rejected_from": source,
                "belief": belief,
                "answer": refined.answer,
                "rejected_answer": answer,
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


EXPORTER = Exporter(
    name="aidsafe",
    summary="Each row is a conversation (`messages`): a user's request, then the refined policy-embedded chain "
    "of thought and response of an AIDSAFE deliberation, whose decision (`answer`: comply or refuse) is the label.",
    trainer="debate train --method sft (SFTTrainer)",
    options=AidsafeOptions,
    columns={
        "messages": "chat",
        "answer": "string",
        "thoughts": "int",
        "thoughts_removed": "int",
        "deliberation_turns": "int",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=refined_rows,
    row_kind=lambda row: f"decision: {row['answer']}",
)

PAIRS_EXPORTER = Exporter(
    name="aidsafe_dpo",
    summary="Each row is a preference pair on a user's request (`prompt`): the refined chain of thought and "
    "response of an AIDSAFE deliberation (`chosen`) over a flawed one (`rejected`): the refiner's continuation "
    "under the ear-whisperer's false `belief`, or the chain before refinement (`rejected_from`).",
    trainer="debate train --method dpo (DPOTrainer)",
    options=AidsafePairOptions,
    columns={
        "prompt": "chat",
        "chosen": "chat",
        "rejected": "chat",
        "rejected_from": "string",
        "belief": "string",
        "answer": "string",
        "rejected_answer": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=pair_rows,
    row_kind=lambda row: f"rejected from: {row['rejected_from']}",
)
