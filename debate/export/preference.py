"""Preference pairs (DPO): what the debate settled on, preferred over what it overturned.

The rule, per question with a usable label (``debate.export.labels``):

- ``chosen``: a response that agrees with the label, from the latest round that
  has one (normally the final round). With ``label="final"`` (the default) and
  a judge, the label is the judge's verdict, so the chosen side is the winner.
- ``rejected``: a response in ``rounds`` whose parsed answer differs from the
  label: an earlier answer that the debate overturned, or the losing side.
  Unparsed responses (abstentions) are never rejected examples: they carry no
  answer to prefer against.
- Each rejected response gets one pair, with the same author's chosen response
  when it has one (a self-correction), else the chosen responses in turn; at
  most ``max_pairs_per_question`` pairs.
- All-agree debates (no response ever gave another answer) have nothing to
  reject and give no pair: skipped as ``nothing overturned``. Ties under
  ``label="majority"`` are skipped before pairing (reason ``tie``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import Field

from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import PseudoLabel, answer_messages, item_id, last_round
from debate.export.prompts import assistant
from debate.messages import Message
from debate.transcript import DebateResult


class PreferenceOptions(LabeledOptions):
    """``LabeledOptions`` plus ``max_pairs_per_question`` (all pairs by default)."""

    max_pairs_per_question: int | None = Field(default=None, ge=1)


def winners_and_losers(
    result: DebateResult, label: PseudoLabel, options: LabeledOptions
) -> tuple[list[Message], list[Message]]:
    """(responses that agree with the label in the latest round that has any, responses the debate overturned)."""
    winners = last_round([message for message in answer_messages(result) if message.answer == label.answer])
    losers = [message for message in options.responses(result) if message.answer not in (None, label.answer)]
    return winners, losers


def preference_rows(
    results: Iterable[DebateResult], options: PreferenceOptions, report: ExportReport
) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        winners, losers = winners_and_losers(result, label, options)
        if not winners:
            report.skip("no agreeing response")
            continue
        if not losers:
            report.skip("nothing overturned")
            continue
        report.count("questions with pairs")
        for index, loser in enumerate(losers[: options.max_pairs_per_question]):
            # the pair is asked as the rejected response's author was, with that author's own winner if any
            same_author = [winner for winner in winners if winner.author == loser.author]
            winner = same_author[0] if same_author else winners[index % len(winners)]
            yield {
                "prompt": options.solver_prompt(result, loser.author),
                "chosen": assistant(winner.text),
                "rejected": assistant(loser.text),
                "answer": label.answer,
                "rejected_answer": loser.answer,
                "chosen_round": winner.round,
                "rejected_round": loser.round,
                "chosen_author": winner.author,
                "rejected_author": loser.author,
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


EXPORTER = Exporter(
    name="dpo",
    summary="Each row is a preference pair: the same question (`prompt`), a response that agrees with the "
    "debate's outcome (`chosen`, answer in `answer`) and a response the debate overturned (`rejected`).",
    trainer="debate train --method dpo (DPOTrainer)",
    options=PreferenceOptions,
    columns={
        "prompt": "chat",
        "chosen": "chat",
        "rejected": "chat",
        "answer": "string",
        "rejected_answer": "string",
        "chosen_round": "int",
        "rejected_round": "int",
        "chosen_author": "string",
        "rejected_author": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=preference_rows,
)
