"""AIDSAFE data: the refined, policy-embedded chain of thought (SFT) and refined-over-flawed pairs (DPO).

An ``aidsafe`` debate (``debate.protocols.aidsafe``) ends with the refiner's
refinement of the deliberated chain of thought: numbered thoughts citing the
policy, the response, and the decision (``comply`` or ``refuse``) as answer.

**The label** is the debate's final answer (``label="final"``, the refined
decision) by default; ``label="gold"`` (only when asked) reads the item's gold
decision, and a debate whose refined decision is not the label gives no row
(``refined decision is not the label``). A debate without a refinement (not
run under ``aidsafe``) is skipped (``no refinement``).

- ``aidsafe`` (``EXPORTER``, SFT): ``messages`` is the request as the user
  turn, after a system prompt (``SYSTEM``) that asks for numbered thoughts
  over a safety policy it does not show (the trained model is to have learnt
  the policy), and the refined text as the assistant turn.
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
from typing import Literal, NamedTuple

from pydantic import Field

from debate.answers import AnswerFormat
from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import LabelOrGold, item_id
from debate.export.prompts import PromptTemplates, assistant
from debate.messages import Message, Role
from debate.protocols.aidsafe import chain_turns, without_completion_mark
from debate.transcript import DebateResult

_THOUGHT = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)


SYSTEM = """You are an AI assistant that follows a safety policy. Before you reply, reason over the policy: \
write numbered thoughts after a line 'Thoughts:', each naming the rule it applies, then your reply after a line \
'Response:'. Finally give your decision, 'comply' if you help with the request or 'refuse' if you decline. \
{answer_instruction}"""
USER = "{context}{question}"


class AidsafeOptions(LabeledOptions):
    """``LabeledOptions`` (``label`` may also be ``gold``); the prompt is ``SYSTEM`` and the request itself."""

    label: LabelOrGold = "final"  # type: ignore[assignment]
    min_agreement: float = Field(default=0.0, ge=0.0, le=1.0)
    answer: AnswerFormat = "text"
    prompt: PromptTemplates = Field(default_factory=lambda: PromptTemplates(system=SYSTEM, user=USER))


class AidsafePairOptions(AidsafeOptions):
    """``AidsafeOptions`` plus ``rejected``: which flawed chains to reject (``both``, ``belief``, ``unrefined``)."""

    rejected: Literal["both", "belief", "unrefined"] = "both"


def refined_results(
    results: Iterable[DebateResult], options: AidsafeOptions, report: ExportReport
) -> Iterator[tuple[DebateResult, Message]]:
    """Each labelled debate with its refinement, when that gave the label; the others counted as skipped."""
    for result, label in labeled_results(results, options, report):
        refined = next((m for m in reversed(result.transcript.messages) if m.role is Role.REFINER), None)
        if refined is None:
            report.skip("no refinement")
        elif refined.answer != label.answer:
            report.skip("refined decision is not the label")
        else:
            yield result, refined


class Rejected(NamedTuple):
    source: Literal["belief", "unrefined"]
    text: str
    answer: str | None
    belief: str = ""


def rejected_texts(result: DebateResult, refined: Message, options: AidsafePairOptions) -> list[Rejected]:
    """The flawed chains ``options.rejected`` asks for: belief-augmented refinements, then the unrefined chain."""
    by_id = {message.id: message for message in result.transcript.messages}
    found = []
    if options.rejected in ("both", "belief"):
        for branch in result.transcript.branches:
            if branch.of == refined.id and branch.continuation == "belief":
                belief = by_id[branch.steered_by].text.strip() if branch.steered_by in by_id else ""
                found.append(Rejected("belief", branch.message.text, branch.message.answer, belief))
    chain = chain_turns(result.transcript.messages)
    if options.rejected in ("both", "unrefined") and chain:
        found.append(Rejected("unrefined", without_completion_mark(chain[-1].text), chain[-1].answer))
    return found


def thoughts(text: str) -> int:
    """How many numbered thoughts a chain of thought holds."""
    return len(_THOUGHT.findall(text))


def refined_rows(
    results: Iterable[DebateResult], options: AidsafeOptions, report: ExportReport
) -> Iterator[Row]:
    for result, refined in refined_results(results, options, report):
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
    for result, refined in refined_results(results, options, report):
        found = rejected_texts(result, refined, options)
        pairs = [rejected for rejected in found if rejected.text.strip() != refined.text.strip()]
        report.count("rejected texts equal to the refined one", len(found) - len(pairs))
        if not pairs:
            report.skip("nothing to reject")
            continue
        prompt = options.solver_prompt(result)
        for rejected in pairs:
            yield {
                "prompt": prompt,
                "chosen": assistant(refined.text),
                "rejected": assistant(rejected.text),
                "rejected_from": rejected.source,
                "belief": rejected.belief,
                "answer": refined.answer,
                "rejected_answer": rejected.answer,
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
