"""Critique data: a wrong answer, then its critique and the correct refinement.

A row is a chat whose user turn shows the question and a solution that gave a
wrong answer (quoted as untrusted text), and whose assistant turn critiques it
and writes the corrected solution. Rows come from refinements in ``rounds``
that reached the debate's answer (the label, ``label="final"`` by default)
after reading a response with another answer:

- critic + refiner protocols: the wrong draft, then the critic's critique
  followed by the refiner's rewrite (``critic`` names the critic);
- round-based protocols (RCR, simultaneous): the wrong response the debater
  read (its own previous one first, else a peer's), then the debater's new
  response, which in RCR reflects on and critiques it before refining.

Responses that were already right, and refinements that stayed wrong, give
no row. A question without any such correction is skipped as
``no correction``; all-agree debates therefore give none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from debate.agents.prompting import quote_untrusted
from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import PseudoLabel, answer_messages, item_id
from debate.export.prompts import assistant
from debate.messages import Message, MessageKind
from debate.transcript import DebateResult

CRITIQUE_PROMPT = """{context}Question: {question}

Proposed solution:
{draft}

Find the mistakes in the proposed solution, then write the corrected, complete solution. {answer_instruction}"""


class CritiqueOptions(LabeledOptions):
    """``LabeledOptions`` plus ``critique_prompt``, the user template (placeholders as the solver's, and ``{draft}``)."""

    critique_prompt: str = CRITIQUE_PROMPT


def corrections(
    result: DebateResult, label: PseudoLabel, options: LabeledOptions
) -> Iterator[tuple[Message, Message, Message | None]]:
    """(wrong response, right refinement, critique or None) for each refinement in ``rounds`` that fixed a wrong answer."""
    by_id = {message.id: message for message in result.transcript.messages}
    answers = {message.id for message in answer_messages(result)}
    for refinement in options.responses(result):
        if refinement.answer != label.answer:
            continue
        read = [by_id[message_id] for message_id in refinement.responds_to if message_id in by_id]
        wrong = next(
            (m for m in read if m.id in answers and m.answer is not None and m.answer != label.answer), None
        )
        if wrong is None:
            continue
        critique = next((m for m in read if m.kind is MessageKind.CRITIQUE), None)
        yield wrong, refinement, critique


def critique_rows(
    results: Iterable[DebateResult], options: CritiqueOptions, report: ExportReport
) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        found = list(corrections(result, label, options))
        if not found:
            report.skip("no correction")
            continue
        as_critic = options.model_copy(
            update={"prompt": options.prompt.model_copy(update={"user": options.critique_prompt})}
        )
        for wrong, refinement, critique in found:
            prompt = as_critic.solver_prompt(result, draft=quote_untrusted(wrong.text, agent=wrong.author))
            reply = (
                f"{critique.text.strip()}\n\n{refinement.text}" if critique is not None else refinement.text
            )
            yield {
                "messages": prompt + assistant(reply),
                "answer": label.answer,
                "wrong_answer": wrong.answer,
                "round": refinement.round,
                "author": refinement.author,
                "critic": critique.author if critique is not None else "",
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


EXPORTER = Exporter(
    name="critique",
    summary="Each row is a conversation (`messages`): a question and a solution with a wrong answer "
    "(`wrong_answer`), then a critique of it and the corrected solution reaching the debate's answer (`answer`).",
    trainer="debate train --method sft (SFTTrainer)",
    options=CritiqueOptions,
    columns={
        "messages": "chat",
        "answer": "string",
        "wrong_answer": "string",
        "round": "int",
        "author": "string",
        "critic": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=critique_rows,
    row_kind=lambda row: "critic and refiner" if row["critic"] else "self-refinement",
)
